"""The SDK's side of contract §14 (issue 32 item 8): a verifier can insist on a request and an
issuer (``expected_request_id``, ``expected_issuer``), and the key set it fetches from an
instance over plain ``http://`` is refused unless the instance is this machine (before any
request is made) or the caller says ``insecure=True``."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from callvault.client import AsyncClient, CertificateError, Client, verify_certificate

TYPE = "erasure-certificate+jwt"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signed(**claims: object) -> tuple[str, dict]:
    """A certificate signed by a fresh key, and the JWKS that holds that key."""
    key = Ed25519PrivateKey.generate()
    x = b64url(key.public_key().public_bytes_raw())
    kid = b64url(hashlib.sha256(x.encode()).digest())
    payload = {
        "iss": "cv.example",
        "jti": "j1",
        "iat": 1796630400,
        "requestId": "r-wanted",
        "kind": "calls",
        "requestedBy": "ops",
        "requestedAt": "2026-12-07T07:59:58Z",
        "completedAt": "2026-12-07T07:59:59Z",
        "state": "Complete",
        "erasedCount": 1,
        "method": "cryptographic erase (NIST SP 800-88 Purge), then deletion",
        "items": [{"callId": "c1", "status": "Purged"}],
        "audit": {"firstSeq": 1, "lastSeq": 2, "headHash": "ab"},
        **claims,
    }
    jws = jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": kid, "typ": TYPE})
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}
    return jws, {"keys": [jwk]}


def test_a_certificate_of_the_expected_request_and_issuer_verifies():
    jws, keys = signed()
    claims = verify_certificate(
        jws, keys, expected_request_id="r-wanted", expected_issuer="cv.example"
    )
    assert claims["requestId"] == "r-wanted"
    assert verify_certificate(jws, keys)["iss"] == "cv.example"  # neither asked: not checked


@pytest.mark.parametrize(
    ("expectation", "said", "wanted"),
    [
        ({"expected_request_id": "r-other"}, "r-wanted", "r-other"),
        ({"expected_issuer": "cv.elsewhere"}, "cv.example", "cv.elsewhere"),
    ],
)
def test_a_valid_certificate_of_another_request_or_issuer_fails(expectation, said, wanted):
    jws, keys = signed()
    with pytest.raises(CertificateError) as raised:
        verify_certificate(jws, keys, **expectation)
    assert said in str(raised.value)
    assert wanted in str(raised.value)


def test_an_expected_issuer_is_matched_exactly():
    jws, keys = signed(iss="cv.example.evil")
    for near in ("cv.example", "CV.EXAMPLE.EVIL", " cv.example.evil"):
        with pytest.raises(CertificateError):
            verify_certificate(jws, keys, expected_issuer=near)


def recorder(seen: list[str]) -> httpx.MockTransport:
    jwks = {"keys": []}

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=jwks)

    return httpx.MockTransport(answer)


@pytest.mark.parametrize("url", ["http://203.0.113.7:8000", "http://callvault.example"])
def test_a_key_set_over_plain_http_from_another_host_is_refused_before_any_request(url):
    seen: list[str] = []
    with Client(url, token="t", transport=recorder(seen)) as cv:
        with pytest.raises(CertificateError) as raised:
            cv.get_jwks()
        assert "http://" in str(raised.value)
        assert seen == []
        assert cv.get_jwks(insecure=True) == {"keys": []}  # said so: fetched
    assert seen == [f"{url}/.well-known/jwks.json"]


def test_the_async_client_refuses_it_too():
    seen: list[str] = []

    async def run() -> None:
        async with AsyncClient("http://203.0.113.7", token="t", transport=recorder(seen)) as cv:
            with pytest.raises(CertificateError):
                await cv.get_jwks()
            assert seen == []
            assert await cv.get_jwks(insecure=True) == {"keys": []}

    asyncio.run(run())
    assert len(seen) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://127.8.9.10",
        "http://localhost:8000",
        "http://[::1]:8000",
        "https://callvault.example",
    ],
)
def test_loopback_and_https_key_sets_are_fetched(url):
    seen: list[str] = []
    with Client(url, token="t", transport=recorder(seen)) as cv:
        assert cv.get_jwks() == {"keys": []}
    assert len(seen) == 1
    assert json.dumps(seen)  # the request went out
