"""The evidence of a purge request (contract §23): one ZIP with the certificate, its key set, the
request's audit events and the certificate in words, checked offline from the unpacked folder."""

from __future__ import annotations

import html
import io
import json
import re
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from callvault.client import verify_certificate
from helpers import call_info, post_call

pytestmark = pytest.mark.both_backends

ROOT = Path(__file__).resolve().parents[2]


def _finished(live, sessions: list[str]) -> tuple[str, list[str]]:
    with live.client(live.token("capture")) as client:
        ids = [post_call(client, call_info(s)).json()["callId"] for s in sessions]
    with live.client(live.token("purge")) as client:
        request_id = client.post("/purge/v1/calls", json={"ids": [*ids, "no-such-call"]}).json()[
            "requestId"
        ]
        deadline = time.monotonic() + 60
        while client.get(f"/purge/v1/requests/{request_id}").json()["state"] == "Purging":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    return request_id, ids


def test_the_evidence_zip_holds_what_a_regulator_checks_offline(live, tmp_path):
    request_id, ids = _finished(live, ["ev-1", "ev-2"])
    with live.client(live.token("audit")) as client:
        answer = client.get(f"/purge/v1/requests/{request_id}/evidence")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/zip"
        assert f'filename="evidence-{request_id}.zip"' in answer.headers["content-disposition"]
        certificate = client.get(f"/purge/v1/requests/{request_id}/certificate").text
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert sorted(archive.namelist()) == [
        "audit-events.jsonl",
        "certificate.html",
        "certificate.jws",
        "chain.jsonl",  # to the signed checkpoint (tests/certificates/test_checkpoints.py)
        "checkpoint.jws",
        "jwks.json",
    ]
    archive.extractall(tmp_path)
    jws = (tmp_path / "certificate.jws").read_text()
    assert jws == certificate  # the same certificate as GET …/certificate, byte for byte
    keys = json.loads((tmp_path / "jwks.json").read_text())
    claims = verify_certificate(jws, keys, expected_request_id=request_id)
    assert claims["erasedCount"] == 2

    events = [
        json.loads(line) for line in (tmp_path / "audit-events.jsonl").read_text().splitlines()
    ]
    assert {e["requestId"] for e in events} == {request_id}
    actions = [e["action"] for e in events]
    assert actions[0] == "purge.requested"
    assert actions.count("call.erased") == 2
    assert all(isinstance(e["details"], dict) and e["hash"] for e in events)

    page = (tmp_path / "certificate.html").read_text()
    assert request_id in page
    assert "2 calls were erased" in page
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", page)
    for call_id in ids:
        assert call_id in page
    assert "NotFound" in page
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)

    # The page's openssl commands are the README's, and they verify in the unpacked folder.
    shell = html.unescape(
        page.split("OpenSSL 3 alone", 1)[1].split("<pre>", 1)[1].split("</pre>")[0]
    )
    readme = (ROOT / "README.md").read_text().split("#### Verify with openssl alone", 1)[1]
    assert shell.strip() == re.search(r"```sh\n(.*?)```", readme, re.DOTALL).group(1).strip()
    run = subprocess.run(
        ["bash", "-c", "set -e\n" + shell], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert "Signature Verified Successfully" in run.stdout


def test_evidence_follows_the_certificates_rules(live):
    with live.client(live.token("capture")) as client:
        call_id = post_call(client, call_info("ev-held")).json()["callId"]
    with live.client(live.token("purge")) as client:
        preview = client.post("/purge/v1/calls", params={"whatIf": "true"}, json={"ids": [call_id]})
        rid = preview.json()["requestId"]
        assert client.get(f"/purge/v1/requests/{rid}/evidence").status_code == 404
        assert client.get("/purge/v1/requests/nope/evidence").status_code == 404
    with live.client(live.token("capture")) as client:
        assert client.get(f"/purge/v1/requests/{rid}/evidence").status_code == 403


@pytest.mark.settings(purge_grace_seconds=3600)
def test_no_evidence_for_a_purging_or_cancelled_request(live):
    with live.client(live.token("capture")) as client:
        call_id = post_call(client, call_info("ev-grace")).json()["callId"]
    with live.client(live.token("purge")) as client:
        rid = client.post("/purge/v1/calls", json={"ids": [call_id]}).json()["requestId"]
        assert client.get(f"/purge/v1/requests/{rid}/evidence").status_code == 409
        assert client.post(f"/purge/v1/requests/{rid}/cancel").status_code == 200
        cancelled = client.get(f"/purge/v1/requests/{rid}/evidence")
        assert cancelled.status_code == 409
        assert "nothing was erased" in cancelled.json()["detail"]
