"""Certificates of redaction (contract §21) and their evidence (§23): signed with the same keys
as certificates of erasure, verified by the same verifier and CLI, issued only once Redacted."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import time
import zipfile

import httpx
import jwt
import pytest

from audiogen import pattern, wav_file
from callvault.client import verify_certificate
from callvault.client._exceptions import CertificateError
from callvault.redactions.loop import RedactionLoop
from helpers import call_info, post_call

pytestmark = [pytest.mark.settings(run_worker=False)]

CLI = [sys.executable, "-m", "callvault.cli.main"]
CAPTURED = wav_file(7, 8, pattern(8000 * 3))  # μ-law, 3 s


@pytest.fixture
def tokens(live) -> dict[str, str]:
    return {p: live.token(p) for p in ("capture", "redact", "audit", "hold")}


def asked(live, tokens) -> tuple[str, str]:
    with live.client(tokens["capture"]) as client:
        answer = post_call(client, call_info(f"c-{time.monotonic_ns()}"), CAPTURED)
        call_id = answer.json()["callId"]
    with live.client(tokens["redact"]) as client:
        answer = client.post(
            f"/calls/v1/{call_id}/redactions",
            json={
                "ranges": [{"startMs": 500, "endMs": 1500}, {"startMs": 2000, "endMs": 2500}],
                "reason": "pci",
                "reference": "PCI-7",
            },
        )
    assert answer.status_code == 202, answer.text
    return call_id, answer.json()["redactionId"]


def test_a_certificate_of_redaction_is_issued_once_redacted_and_verifies(live, tokens, tmp_path):
    call_id, rid = asked(live, tokens)
    path = f"/calls/v1/{call_id}/redactions/{rid}"
    with live.client(tokens["audit"]) as client:
        early = client.get(f"{path}/certificate")
        assert early.status_code == 409
        assert "Redacting" in early.json()["detail"]
        assert client.get(f"{path}/evidence").status_code == 409
    assert RedactionLoop(live.runtime).step() == 1
    with live.client(tokens["audit"]) as client:
        answer = client.get(f"{path}/certificate")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/jose"
        jws = answer.text
        assert client.get(f"{path}/certificate").text == jws  # issued once, kept
        assert client.get(f"/calls/v1/{'0' * 32}/redactions/{rid}/certificate").status_code == 404
        issued = client.get("/audit/v1/events?action=certificate.issued").json()["events"]
        zipped = client.get(f"{path}/evidence")
    assert [e["requestId"] for e in issued] == [rid]
    keys = httpx.get(f"{live.url}/.well-known/jwks.json").json()
    assert jwt.get_unverified_header(jws)["typ"] == "redaction-certificate+jwt"
    claims = verify_certificate(jws, keys, expected_request_id=rid)
    assert claims["redactionId"] == rid
    assert claims["callId"] == call_id
    assert claims["ranges"] == [{"startMs": 500, "endMs": 1500}, {"startMs": 2000, "endMs": 2500}]
    assert (claims["reason"], claims["reference"], claims["state"]) == ("pci", "PCI-7", "Redacted")
    assert claims["oldDataKeyDestroyed"] is True
    assert claims["blobObjectsDeleted"] == 1
    for name in ("audioSha256Before", "audioSha256After"):
        assert len(claims[name]) == 64
        assert claims[name] == claims[name].lower()
    assert claims["audioSha256Before"] != claims["audioSha256After"]
    # The audio as captured (its SHA-256 sealed with it then).
    assert claims["audioSha256Before"] == hashlib.sha256(CAPTURED).hexdigest()
    assert claims["requestedAt"].endswith("Z")
    assert claims["completedAt"].endswith("Z")
    assert claims["audit"]["firstSeq"] < claims["audit"]["lastSeq"]

    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        assert sorted(archive.namelist()) == [
            "audit-events.jsonl",
            "certificate.html",
            "certificate.jws",
            "chain.jsonl",  # to the signed checkpoint (tests/certificates/test_checkpoints.py)
            "checkpoint.jws",
            "jwks.json",
        ]
        assert archive.read("certificate.jws").decode() == jws
        assert json.loads(archive.read("jwks.json")) == keys
        events = [json.loads(line) for line in archive.read("audit-events.jsonl").splitlines()]
        html = archive.read("certificate.html").decode()
    assert {"redaction.requested", "call.redacted"} <= {e["action"] for e in events}
    assert rid in html
    assert "PCI-7" in html
    assert "Caller" not in html  # the call's people are never in evidence

    (tmp_path / "cert.jws").write_text(jws)
    (tmp_path / "jwks.json").write_text(json.dumps(keys))
    run = subprocess.run(
        [
            *CLI,
            "certificate",
            "verify",
            str(tmp_path / "cert.jws"),
            "--jwks",
            str(tmp_path / "jwks.json"),
            "--expect-request",
            rid,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "valid certificate of redaction" in run.stdout
    assert "2 ranges erased: 0.5-1.5 s, 2-2.5 s" in run.stdout
    assert "old data key destroyed: yes" in run.stdout

    header, payload, signature = jws.split(".")
    forged = json.loads(jwt.utils.base64url_decode(payload))
    forged["ranges"] = [{"startMs": 0, "endMs": 1}]
    body = jwt.utils.base64url_encode(json.dumps(forged).encode()).decode()
    with pytest.raises(CertificateError, match="signature"):
        verify_certificate(f"{header}.{body}.{signature}", keys)
    with pytest.raises(CertificateError, match="not of the expected"):
        verify_certificate(jws, keys, expected_request_id="0" * 32)


def test_a_failed_redaction_has_no_certificate(live, tokens):
    call_id, rid = asked(live, tokens)
    with live.client(tokens["hold"]) as client:
        placed = client.post(
            "/holds/v1", json={"matter": "M", "reason": "litigation", "callIds": [call_id]}
        )
        assert placed.status_code == 201
    RedactionLoop(live.runtime).step()
    with live.client(tokens["audit"]) as client:
        answer = client.get(f"/calls/v1/{call_id}/redactions/{rid}/certificate")
    assert answer.status_code == 409
    assert "Failed" in answer.json()["detail"]
