"""The console's "Download evidence" on a finished request (contract §23)."""

from __future__ import annotations

import io
import time
import zipfile

from helpers import call_info, post_call


def test_a_finished_request_offers_its_evidence(live, console_as):
    with live.client(live.token("capture")) as client:
        call_id = post_call(client, call_info("console-ev")).json()["callId"]
    with live.client(live.token("purge")) as client:
        rid = client.post("/purge/v1/calls", json={"ids": [call_id]}).json()["requestId"]
        deadline = time.monotonic() + 60
        while client.get(f"/purge/v1/requests/{rid}").json()["state"] == "Purging":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    console = console_as("audit")
    page = console.http.get(f"/console/requests/{rid}")
    assert page.status_code == 200
    assert 'id="evidence"' in page.text
    assert "Download evidence" in page.text
    download = console.http.get(f"/console/requests/{rid}/evidence")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    assert sorted(names) == [
        "audit-events.jsonl",
        "certificate.html",
        "certificate.jws",
        "chain.jsonl",
        "checkpoint.jws",
        "jwks.json",
    ]
    assert console.http.get("/console/requests/nope/evidence").status_code == 404


def test_references_are_asked_and_shown(live, console_as):
    """A reference typed on the hold form is kept and shown (contract §23)."""
    console = console_as("hold", "audit")
    placed = console.post(
        "/console/holds",
        matter="Doe v. Acme",
        reason="notice",
        callIds="some-call",
        reference="DSR-2026-0142",
    )
    assert placed.status_code in (302, 303), placed.text[:300]
    page = console.http.get(placed.headers["location"])
    assert 'id="reference"' in page.text
    assert "DSR-2026-0142" in page.text
    bad = console.post("/console/holds", matter="m", reason="r", callIds="c", reference="tab\there")
    assert bad.status_code == 400
