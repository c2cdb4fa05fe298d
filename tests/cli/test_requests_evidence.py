"""``callvault requests evidence ID -o FILE`` (contract §23): the evidence ZIP of a request."""

from __future__ import annotations

import time
import zipfile

from helpers import call_info, post_call


def test_cli_requests_evidence_writes_the_zip(live, cli_as, tmp_path):
    with live.client(live.token("capture")) as client:
        call_id = post_call(client, call_info("cli-ev")).json()["callId"]
    with live.client(live.token("purge")) as client:
        rid = client.post("/purge/v1/calls", json={"ids": [call_id]}).json()["requestId"]
        deadline = time.monotonic() + 60
        while client.get(f"/purge/v1/requests/{rid}").json()["state"] == "Purging":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    cli = cli_as("audit")
    target = tmp_path / "ev.zip"
    saved = cli("requests", "evidence", rid, "-o", str(target))
    assert saved.returncode == 0, saved.stderr
    assert str(target) in saved.stderr
    assert "certificate.html" in zipfile.ZipFile(target).namelist()
    missing = cli("requests", "evidence", "no-such-request", "-o", str(tmp_path / "x.zip"))
    assert missing.returncode == 1
    assert not (tmp_path / "x.zip").exists()
