"""Signed checkpoints of the audit chain (contract §23): listed at GET /audit/v1/checkpoints,
JWS on the certificate keys, named by certificates, shipped in evidence, and checked offline with
nothing but the JWKS."""

from __future__ import annotations

import html
import io
import json
import subprocess
import zipfile

import jwt
import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from callvault.audit.trail import AuditEvent, AuditTrail, chain_hash, event_json
from callvault.cli.main import app as cli
from callvault.client import CertificateError, verify_chain, verify_checkpoint, verify_evidence
from callvault.store.engine import write_transaction
from callvault.store.tables import audit_events
from helpers import finished_purge

pytestmark = pytest.mark.both_backends


def _purged(live) -> str:
    return finished_purge(live, "cp-1")


def test_a_certificate_names_a_signed_checkpoint_that_covers_its_events(live):
    request_id = _purged(live)
    with live.client(live.token("audit")) as client:
        certificate = client.get(f"/purge/v1/requests/{request_id}/certificate").text
        jwks = client.get("/.well-known/jwks.json").json()
        page = client.get("/audit/v1/checkpoints").json()
        events = client.get("/audit/v1/events", params={"limit": 1000}).json()["events"]
    audit = jwt.decode(certificate, options={"verify_signature": False})["audit"]
    listed = {c["seq"]: c for c in page["checkpoints"]}
    assert audit["checkpointSeq"] in listed
    assert audit["checkpointSeq"] >= audit["lastSeq"]
    assert page.get("nextCursor") is None
    checkpoint = listed[audit["checkpointSeq"]]
    header = jwt.get_unverified_header(checkpoint["jws"])
    assert header["typ"] == "audit-checkpoint+jwt"
    assert header["alg"] == "EdDSA"
    claims = verify_checkpoint(checkpoint["jws"], jwks)
    assert set(claims) == {"iss", "iat", "seq", "hash"}
    assert (claims["seq"], claims["hash"]) == (checkpoint["seq"], checkpoint["hash"])
    assert checkpoint["signedAt"].endswith("Z")
    # The chain from the first event recomputes, with no secret, to the signed hash.
    upto = [e for e in events if e["seq"] <= claims["seq"]]
    assert verify_chain(upto, checkpoint["jws"], jwks)[str(claims["seq"])] == claims["hash"]
    # A changed event anywhere below it no longer reaches the signed hash.
    forged = [dict(e) for e in upto]
    forged[0]["actor"] = "mallory"
    with pytest.raises(CertificateError, match="event 1 was altered"):
        verify_chain(forged, checkpoint["jws"], jwks)
    # Nor does a checkpoint signed by other keys.
    with pytest.raises(CertificateError, match="no key with kid"):
        verify_checkpoint(checkpoint["jws"], {"keys": []})


@pytest.mark.settings(audit_checkpoint_seconds=60)  # the workers' loop signs none meanwhile
def test_checkpoints_page_as_every_list_does_and_refuse_bad_queries(live):
    trail = AuditTrail(live.runtime.keys.audit_chain_key)
    checkpoints = live.app_state.certificate_service.checkpoints
    for n in range(3):
        with write_transaction(live.runtime.engine) as conn:
            trail.append(conn, [AuditEvent("test.event", "tester", details={"n": n})])
        checkpoints.sign_head()
    with live.client(live.token("audit")) as client:
        first = client.get("/audit/v1/checkpoints", params={"limit": 2}).json()
        assert [c["seq"] for c in first["checkpoints"]] == [1, 2]
        rest = client.get(
            "/audit/v1/checkpoints", params={"limit": 2, "cursor": first["nextCursor"]}
        ).json()
        assert [c["seq"] for c in rest["checkpoints"]] == [3]
        assert rest.get("nextCursor") is None
        # Any cursor of digits the schema allows is a position, the largest included.
        beyond = client.get("/audit/v1/checkpoints", params={"cursor": "9" * 19}).json()
        assert beyond["checkpoints"] == []
        after = client.get("/audit/v1/checkpoints", params={"after": 2}).json()
        assert [c["seq"] for c in after["checkpoints"]] == [3]
        for bad in (
            {"limit": 0},
            {"limit": 101},
            {"cursor": "x1"},
            {"cursor": ""},
            {"after": -1},
            {"seq": 1},
        ):
            answer = client.get("/audit/v1/checkpoints", params=bad)
            assert answer.status_code == 400, (bad, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
    with live.client(live.token("purge")) as client:
        assert client.get("/audit/v1/checkpoints").status_code == 403
    with live.client() as client:
        assert client.get("/audit/v1/checkpoints").status_code == 401


def test_evidence_carries_the_chain_to_a_checkpoint_and_verifies_offline(live, tmp_path):
    request_id = _purged(live)
    with live.client(live.token("audit")) as client:
        answer = client.get(f"/purge/v1/requests/{request_id}/evidence")
    assert answer.status_code == 200, answer.text
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert {"chain.jsonl", "checkpoint.jws"} <= set(archive.namelist())
    archive.extractall(tmp_path)
    summary = verify_evidence(tmp_path)
    assert (summary.kind, summary.subject) == ("erasure", request_id)
    request_events = (tmp_path / "audit-events.jsonl").read_text().splitlines()
    assert summary.events_proven == len(request_events)
    chain = [json.loads(line) for line in (tmp_path / "chain.jsonl").read_text().splitlines()]
    assert chain[0]["seq"] == json.loads(request_events[0])["seq"]
    assert chain[-1]["seq"] == summary.checkpoint_seq

    # The page's standard-library recipe runs in the unpacked folder and ends at the same hash.
    page = (tmp_path / "certificate.html").read_text()
    recipe = html.unescape(
        page.split("standard library alone", 1)[1].split("<pre>", 1)[1].split("</pre>")[0]
    )
    run = subprocess.run(
        ["bash", "-c", "set -e\n" + recipe], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert f"chain ends at event {chain[-1]['seq']} with hash {chain[-1]['hash']}" in run.stdout
    assert f'"seq": {chain[-1]["seq"]}' in run.stdout  # the checkpoint's claims, read with jq

    # The command-line check, then the same after one byte of the chain changes.
    result = CliRunner().invoke(cli, ["audit", "verify-evidence", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"certificate of erasure {request_id}" in result.output
    chain[0]["details"] = {**chain[0]["details"], "note": "edited"}
    (tmp_path / "chain.jsonl").write_text("".join(json.dumps(e) + "\n" for e in chain))
    result = CliRunner().invoke(cli, ["audit", "verify-evidence", str(tmp_path)])
    assert result.exit_code == 1
    assert f"event {chain[0]['seq']} was altered" in result.output


def test_verify_catches_a_chain_rewritten_under_its_signed_checkpoints(live):
    """Someone who can write the database rewrites the chain consistently and drops the keyed
    macs: the chain alone looks whole, the signed checkpoint does not match it."""
    _purged(live)
    checkpoints = live.app_state.certificate_service.checkpoints
    signed = checkpoints.sign_head()
    assert signed is not None
    good, problem = checkpoints.verify()  # the workers' audit loop may have signed one too
    assert good >= 1
    assert problem is None
    rows = [dict(r) for r in AuditTrail.iter_rows(live.runtime.engine)]
    prev = "0" * 64
    with live.runtime.engine.begin() as conn:
        for row in rows:
            if row["seq"] == 1:
                row["actor"] = "mallory"
            digest = chain_hash(event_json({**row, "prev_hash": prev}))
            conn.execute(
                update(audit_events)
                .where(audit_events.c.seq == row["seq"])
                .values(actor=row["actor"], prev_hash=prev, hash=digest, mac=None)
            )
            prev = digest
    assert AuditTrail(live.runtime.keys.audit_chain_key).verify(live.runtime.engine)[1] is None
    checked, problem = checkpoints.verify()
    assert checked == 0  # event 1 changed: no checkpoint's head recomputes any more
    first = checkpoints.page(0, 1)[0]
    assert problem == (
        f"event {first.seq} is not the one its signed checkpoint names: the chain was rewritten"
    )
