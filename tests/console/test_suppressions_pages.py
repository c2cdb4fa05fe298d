"""The console's suppressions page and "also suppress" on the purge form (contract §17, §22),
over real HTTP, through the one ``SuppressionService`` the API uses."""

from __future__ import annotations

import time

from console_helpers import hidden
from helpers import call_info, post_call

PAGE = "/console/suppressions"


def test_suppress_look_up_and_lift_in_the_console(live, console_as):
    console = console_as("suppress")
    page = console.http.get(PAGE)
    assert page.status_code == 200
    assert 'href="/console/suppressions"' in page.text  # in the navigation
    made = console.post(
        PAGE, phones="(512) 555-0190\n", emails="", reason="objected", reference="DSR-9"
    )
    assert made.status_code == 303, made.text[:300]
    listed = console.http.get(PAGE).text
    assert "DSR-9" in listed
    assert "555-0190" not in listed  # only keyed hashes are kept: nothing to show
    found = console.post(f"{PAGE}/lookup", phone="+15125550190", email="")
    assert found.status_code == 200
    assert "<strong>Suppressed</strong>" in found.text
    assert "555" not in found.url.path
    with live.client(live.token("audit")) as api:
        [sid] = [s["suppressionId"] for s in api.get("/suppressions/v1").json()["suppressions"]]
    lifted = console.post(f"{PAGE}/{sid}/lift", reason="consented")
    assert lifted.status_code == 303
    again = console.post(f"{PAGE}/lookup", phone="+15125550190", email="")
    assert "Not suppressed" in again.text
    bad = console.post(PAGE, phones="12", emails="", reason="objected")
    assert bad.status_code == 400
    assert "honeNumbers[0] is not a complete phone number" in bad.text


def test_a_viewer_without_suppress_sees_no_form_and_cannot_post(live, console_as):
    auditor = console_as("audit")
    page = auditor.http.get(PAGE)
    assert page.status_code == 200
    assert 'id="suppress-form"' not in page.text
    refused = auditor.post(PAGE, phones="+15125550191", emails="", reason="x")
    assert refused.status_code == 403
    assert console_as("purge").http.get(PAGE).status_code == 403


def test_also_suppress_on_the_purge_form(live, console_as):
    with live.client(live.token("capture")) as client:
        info = call_info("con-1", contacts=[{"type": "Customer", "phoneNumber": "+15125550192"}])
        assert post_call(client, info).status_code == 200
        deadline = time.monotonic() + 30
        while client.get("/callCapture/v1/status/con-1").json()["status"] != "Complete":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    plain = console_as("purge")
    preview = plain.post("/console/lookup", phone="+15125550192")
    assert 'id="also-suppress"' not in preview.text
    console = console_as("purge", "suppress")
    preview = console.post("/console/lookup", phone="+15125550192")
    assert 'id="also-suppress"' in preview.text
    fields = {n: hidden(preview.text, n) for n in ("phone", "confirm", "expected")}
    refused = plain.post("/console/purge", **fields, typed="1", suppress="on")
    assert refused.status_code == 403
    done = console.post("/console/purge", **fields, typed="1", suppress="on")
    assert done.status_code == 303, done.text[:300]
    request_id = done.headers["location"].rsplit("/", 1)[1]
    with live.client(live.token("audit")) as api:
        doc = api.get(f"/purge/v1/requests/{request_id}").json()
        assert doc["suppressionId"]
        found = api.post("/suppressions/v1/lookup", json={"phoneNumber": "+15125550192"}).json()
        assert found["suppressionIds"] == [doc["suppressionId"]]
