"""Certificates of erasure (contract §14) over real HTTP, on both backends."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from callvault.certificates.service import CertificateService
from callvault.client import Client, verify_certificate
from callvault.client._exceptions import CallvaultError
from helpers import call_info, post_call, stored_bytes, wav_bytes

pytestmark = pytest.mark.both_backends

METHOD = "cryptographic erase (NIST SP 800-88 Purge), then deletion"
PHONE = "+1 512 555 0173"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def capture(live, sessions: list[str], phone: str = "(512) 555-0100") -> dict[str, str]:
    ids = {}
    with live.client(live.token("capture")) as client:
        for sid in sessions:
            contacts = [{"type": "Customer", "phoneNumber": phone}]
            answer = post_call(client, call_info(sid, contacts=contacts), wav_bytes(0.5))
            assert answer.status_code == 200, answer.text
            ids[sid] = answer.json()["callId"]
    return ids


def settled(client: httpx.Client, request_id: str, states=("Complete", "Held", "Failed")) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        doc = client.get(f"/purge/v1/requests/{request_id}").json()
        if doc["state"] in states:
            return doc
        time.sleep(0.05)
    raise AssertionError(f"request {request_id} did not reach {states}: {doc}")


def jwks(live) -> dict[str, Any]:
    answer = httpx.get(f"{live.url}/.well-known/jwks.json")  # no token
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def fetch(live, token: str, request_id: str, jti: str | None = None) -> httpx.Response:
    with live.client(token) as client:
        params = {"jti": jti} if jti else None
        return client.get(f"/purge/v1/requests/{request_id}/certificate", params=params)


def events(live, request_id: str) -> list[dict]:
    with live.client(live.token("audit")) as client:
        found = client.get("/audit/v1/events", params={"limit": 1000}).json()["events"]
    return [e for e in found if e["requestId"] == request_id]


def purge(live, token: str, ids: list[str]) -> dict:
    with live.client(token) as client:
        answer = client.post("/purge/v1/calls", json={"ids": ids})
        assert answer.status_code == 200, answer.text
        return settled(client, answer.json()["requestId"])


def test_claims_equal_the_request_resource_and_the_bytes_never_change(live):
    ids = capture(live, ["c1", "c2"])
    token = live.token("purge")
    resource = purge(live, token, [ids["c1"], ids["c2"], "no-such-call"])
    assert resource["state"] == "Complete"
    request_id = resource["requestId"]

    answer = fetch(live, token, request_id)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/jose"
    jws = answer.text
    header = json.loads(base64.urlsafe_b64decode(jws.split(".")[0] + "=="))
    assert header["alg"] == "EdDSA"
    assert header["typ"] == "erasure-certificate+jwt"
    keys = jwks(live)
    assert [k["kid"] for k in keys["keys"]] == [header["kid"]]
    assert {k["kty"] for k in keys["keys"]} == {"OKP"}
    assert {k["crv"] for k in keys["keys"]} == {"Ed25519"}
    claims = verify_certificate(jws, keys)

    assert claims["iss"] == socket.gethostname()
    assert claims["jti"]
    assert isinstance(claims["iat"], int)
    assert claims["method"] == METHOD
    assert claims["erasedCount"] == 2
    assert "customerPhoneHash" not in claims
    assert "subjectHashes" not in claims
    for claim, field in (
        ("requestId", "requestId"),
        ("kind", "kind"),
        ("requestedBy", "requestedBy"),
        ("requestedAt", "createdAt"),
        ("completedAt", "completedAt"),
        ("state", "state"),
    ):
        assert claims[claim] == resource[field], claim
    erased = {e["callId"]: e["details"] for e in events(live, request_id)}
    assert len(claims["items"]) == len(resource["items"])
    for item, given in zip(claims["items"], resource["items"], strict=True):
        for name in ("callId", "sessionId", "status", "erasedAt", "holdIds"):
            assert item[name] == given[name], name
        if given["status"] == "Purged":
            details = erased[given["callId"]]
            assert item["audioBytes"] == details["audioBytes"] > 0
            assert item["blobObjectsDeleted"] == details["blobObjectsDeleted"] >= 1
            assert item["dataKeyDestroyed"] is True
        else:
            assert given["status"] == "NotFound"
            assert (item["audioBytes"], item["blobObjectsDeleted"]) == (None, None)
            assert item["dataKeyDestroyed"] is False

    trail = [e for e in events(live, request_id) if e["action"] != "certificate.issued"]
    audit = dict(claims["audit"])
    # The signed checkpoint that covers them (tests/certificates/test_checkpoints.py checks it).
    assert audit.pop("checkpointSeq") >= trail[-1]["seq"]
    assert audit == {
        "firstSeq": trail[0]["seq"],
        "lastSeq": trail[-1]["seq"],
        "headHash": trail[-1]["hash"],
    }

    # Issued once: the same bytes to every later fetch, by purge or audit, through the SDK too.
    assert fetch(live, token, request_id).text == jws
    assert fetch(live, live.token("audit"), request_id).text == jws
    client_id, secret = live.user("audit")
    with Client(live.url, client_id=client_id, client_secret=secret) as cv:
        assert cv.get_certificate(request_id) == jws
        assert cv.get_certificate(request_id, jti=claims["jti"]) == jws
        assert cv.get_jwks() == keys
    issued = [e for e in events(live, request_id) if e["action"] == "certificate.issued"]
    assert len(issued) == 1
    assert issued[0]["details"]["sha256"] == hashlib.sha256(jws.encode()).hexdigest()
    assert issued[0]["details"]["jti"] == claims["jti"]


def test_a_customer_certificate_carries_the_audit_trails_phone_hash(live):
    capture(live, ["p1"], phone=PHONE)
    with live.client(live.token("purge")) as client:
        answer = client.post("/purge/v1/calls/customer", json={"phoneNumber": PHONE})
        request_id = answer.json()["requestId"]
        settled(client, request_id)
    jws = fetch(live, live.token("purge"), request_id).text
    claims = verify_certificate(jws, jwks(live))
    requested = [e for e in events(live, request_id) if e["action"] == "purge.requested"]
    assert claims["customerPhoneHash"] == requested[0]["details"]["phoneHash"]
    assert claims["subjectHashes"] == [{"type": "phone", "hash": claims["customerPhoneHash"]}]
    assert claims["kind"] == "customer"
    decoded = base64.urlsafe_b64decode(jws.split(".")[1] + "==")
    # Whole forms of the number: a fragment such as "555" turns up in random hex IDs.
    for form in (b"5125550173", b"512 555 0173", b"555 0173", b"555-0173", b"(512)"):
        assert form not in decoded, form


def test_bad_requests_are_problem_details(live):
    ids = capture(live, ["b1"])
    token = live.token("purge")
    with live.client(token) as client:
        preview = client.post("/purge/v1/calls?whatIf=true", json={"ids": [ids["b1"]]}).json()
    done = purge(live, token, [ids["b1"]])
    for request_id, jti, status in (
        ("no-such-request", None, 404),
        (preview["requestId"], None, 404),
        (done["requestId"], "no-such-jti", 404),
    ):
        answer = fetch(live, token, request_id, jti)
        assert answer.status_code == status, (request_id, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"]
    assert fetch(live, live.token("capture"), done["requestId"]).status_code == 403
    anonymous = httpx.get(f"{live.url}/purge/v1/requests/{done['requestId']}/certificate")
    assert anonymous.status_code == 401


@pytest.mark.settings(purge_grace_seconds=3600)
def test_no_certificate_while_purging(live):
    ids = capture(live, ["g1"])
    token = live.token("purge")
    with live.client(token) as client:
        request_id = client.post("/purge/v1/calls", json={"ids": [ids["g1"]]}).json()["requestId"]
    answer = fetch(live, token, request_id)
    assert answer.status_code == 409
    assert answer.headers["content-type"] == "application/problem+json"
    assert "Purging" in answer.json()["detail"]
    assert not [e for e in events(live, request_id) if e["action"] == "certificate.issued"]


def test_a_released_hold_gets_a_new_certificate_and_the_old_one_stays(live):
    ids = capture(live, ["h1", "h2"])
    with live.client(live.token("hold")) as client:
        hold = client.post(
            "/holds/v1", json={"matter": "M", "reason": "R", "callIds": [ids["h1"]]}
        ).json()
    token = live.token("purge")
    held = purge(live, token, [ids["h1"], ids["h2"]])
    assert held["state"] == "Held"
    first = fetch(live, token, held["requestId"]).text
    old = verify_certificate(first, jwks(live))
    assert old["state"] == "Held"
    assert old["items"][0]["status"] == "Held"
    assert old["items"][0]["holdIds"] == [hold["holdId"]]
    assert old["items"][0]["dataKeyDestroyed"] is False

    with live.client(live.token("hold")) as client:
        released = client.post(f"/holds/v1/{hold['holdId']}/release", json={"reason": "done"})
        assert released.status_code == 200
    with live.client(token) as client:
        settled(client, held["requestId"], ("Complete",))
    second = fetch(live, token, held["requestId"]).text
    new = verify_certificate(second, jwks(live))
    assert new["jti"] != old["jti"]
    assert new["state"] == "Complete"
    assert new["items"][0]["status"] == "Purged"
    assert new["items"][0]["dataKeyDestroyed"] is True
    assert fetch(live, token, held["requestId"]).text == second
    assert fetch(live, token, held["requestId"], old["jti"]).text == first
    issued = [e for e in events(live, held["requestId"]) if e["action"] == "certificate.issued"]
    assert [e["details"]["jti"] for e in issued] == [old["jti"], new["jti"]]


def _store_options(settings) -> list[str]:
    options = ["--data-dir", str(settings.data_dir)]
    for flag, value in (
        ("--database-url", settings.database_url),
        ("--keystore-url", settings.keystore_url),
        ("--blob-url", settings.blob_url),
        ("--s3-endpoint-url", settings.s3_endpoint_url),
    ):
        if value:
            options += [flag, value]
    return options


def test_rotation_while_serving_keeps_old_certificates_verifiable(live, settings):
    ids = capture(live, ["r1", "r2"])
    token = live.token("purge")
    first_request = purge(live, token, [ids["r1"]])["requestId"]
    first = fetch(live, token, first_request).text

    env = {**os.environ}
    if settings.master_key:
        env["CALLVAULT_MASTER_KEY"] = settings.master_key
    rotated = subprocess.run(
        [
            sys.executable,
            "-m",
            "callvault.cli.main",
            "keys",
            "rotate-signing-key",
            *_store_options(settings),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert rotated.returncode == 0, rotated.stderr

    second_request = purge(live, token, [ids["r2"]])["requestId"]
    second = fetch(live, token, second_request).text
    keys = jwks(live)
    kids = [
        json.loads(base64.urlsafe_b64decode(j.split(".")[0] + "=="))["kid"] for j in (first, second)
    ]
    assert kids[0] != kids[1]
    assert sorted(k["kid"] for k in keys["keys"]) == sorted(kids)
    assert kids[1] in rotated.stdout + rotated.stderr
    assert verify_certificate(first, keys)["requestId"] == first_request
    assert verify_certificate(second, keys)["requestId"] == second_request
    assert fetch(live, token, first_request).text == first
    # The kid selects the key: the old certificate does not verify with the new key alone.
    newest = {"keys": [k for k in keys["keys"] if k["kid"] == kids[1]]}
    with pytest.raises(CallvaultError):
        verify_certificate(first, newest)


def test_the_signing_key_is_never_stored_in_clear(live):
    ids = capture(live, ["f1"])
    token = live.token("purge")
    request_id = purge(live, token, [ids["f1"]])["requestId"]
    assert fetch(live, token, request_id).status_code == 200
    signing = CertificateService(live.runtime).signing_key()
    raw = signing.private_key.private_bytes_raw()
    public = signing.private_key.public_key().public_bytes_raw()
    disk = stored_bytes(live.runtime)
    for name, value in (
        ("raw private key", raw),
        ("base64url of it", b64url(raw).encode()),
        ("base64 of it", base64.b64encode(raw)),
        ("hex of it", raw.hex().encode()),
    ):
        assert value not in disk, f"{name} found in the store"
    # The scan can find what is there: the wrapped key and the public key.
    assert signing.wrapped in disk
    assert public in disk or b64url(public).encode() in disk


def test_a_node_with_another_instance_name_finds_the_certificate_already_issued(live):
    """Issued once per request state, whichever node is asked: the instance name is who says
    it, not what is said."""
    token = live.token("purge", "capture")
    ids = capture(live, ["iss-1"])
    with live.client(token) as client:
        request_id = purge(live, token, [ids["iss-1"]])["requestId"]
        settled(client, request_id)
    first = CertificateService(live.runtime).certificate(request_id, actor="a")
    original = live.runtime.settings
    live.runtime.settings = original.model_copy(update={"instance_name": "node-b"})
    try:
        second = CertificateService(live.runtime).certificate(request_id, actor="b")
    finally:
        live.runtime.settings = original
    assert second == first
    issued = [e for e in events(live, request_id) if e["action"] == "certificate.issued"]
    assert len(issued) == 1
