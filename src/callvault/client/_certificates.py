"""Verifying a certificate of erasure offline: a compact JWS signed with Ed25519 (contract §14).

Only the JWKS of the instance is needed (``GET /.well-known/jwks.json``, or a saved copy), not
the instance itself:

>>> claims = verify_certificate(
...     open("cert.jws").read(), json.load(open("jwks.json")), expected_request_id=request_id
... )
>>> claims["state"], [i["status"] for i in claims["items"]]
('Complete', ['Purged'])
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import jwt

from callvault.client._exceptions import CertificateError

TYPE = "erasure-certificate+jwt"
REDACTION_TYPE = "redaction-certificate+jwt"  # contract §21: a time range of a call erased
# Not ``method``: a certificate of a request that erased nothing claims none (contract §14).
REQUIRED = ["iss", "jti", "iat", "requestId", "kind", "state", "items", "audit"]
REQUIRED_OF = {
    TYPE: REQUIRED,
    REDACTION_TYPE: [
        "iss",
        "jti",
        "iat",
        "redactionId",
        "callId",
        "ranges",
        "audioSha256Before",
        "audioSha256After",
        "oldDataKeyDestroyed",
        "audit",
    ],
}
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


def _canonical(segment: str) -> bool:
    """True when ``segment`` is the one base64url spelling of its bytes: the last character of a
    segment has spare bits a lenient decoder ignores, so a changed character could otherwise
    decode to the same bytes (and a changed byte must always fail verification)."""
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return False
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == segment


def is_loopback_host(host: str) -> bool:
    """True for this machine only: ``localhost``, 127.0.0.0/8 and ``::1`` (brackets allowed)."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def insecure_jwks_url(url: str) -> str | None:
    """Why a key set must not be fetched from ``url`` (plain ``http://`` to a host other than
    this machine: whoever is on the path could hand over their own keys, and a forged
    certificate would verify), or None when it may be. Says so before anything is sent."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "http" or is_loopback_host(parts.hostname or ""):
        return None
    return (
        f"refusing the key set at {url}: plain http:// from another host than this machine "
        "can be swapped on the way, and a forged certificate would then verify; use https://, "
        "a saved JWKS file, or say it is safe (--insecure-jwks; SDK: insecure=True)"
    )


def check_expected(
    claims: dict[str, Any], expected_request_id: str | None, expected_issuer: str | None
) -> None:
    """CertificateError unless a verified certificate's ``requestId`` and ``iss`` are those
    expected (each checked when given, matched exactly)."""
    # A certificate of redaction names its redaction where one of erasure names its request.
    named = claims.get("requestId", claims.get("redactionId"))
    if expected_request_id is not None and named != expected_request_id:
        raise CertificateError(
            f"a certificate of request {named!r}, not of the expected "
            f"request {expected_request_id!r}"
        )
    if expected_issuer is not None and claims.get("iss") != expected_issuer:
        raise CertificateError(
            f"a certificate issued by {claims.get('iss')!r}, not by the expected issuer "
            f"{expected_issuer!r}"
        )


def verify_jws(
    jws: str,
    jwks: dict[str, Any] | str,
    *,
    types: Mapping[str, list[str]],
    what: str,
    error: type[CertificateError] = CertificateError,
) -> dict[str, Any]:
    """The claims of a compact JWS (EdDSA) of one of ``types`` (its ``typ`` -> the claims it
    must carry) once its signature checks out against the key of ``jwks`` its header's ``kid``
    names; raises ``error`` saying why otherwise. Used for certificates of erasure and of
    redaction and for export manifests alike (the same keys sign them all)."""
    noun = what.split()[0]
    text = jws.strip()
    parts = text.split(".")
    if len(parts) != 3 or not all(_SEGMENT.fullmatch(p) for p in parts):
        raise error("not a compact JWS (three base64url parts joined by dots)")
    if not all(_canonical(p) for p in parts):
        raise error("a part of the JWS is not canonical base64url: it was altered")
    try:
        keys = json.loads(jwks) if isinstance(jwks, str) else jwks
        header = jwt.get_unverified_header(text)
    except (ValueError, jwt.PyJWTError) as exc:
        raise error(f"unreadable {noun} or JWKS: {exc}") from exc
    typ = header.get("typ")
    if header.get("alg") != "EdDSA" or not isinstance(typ, str) or typ not in types:
        raise error(f"not a {what} (alg EdDSA, typ {' or '.join(types)})")
    required = types[typ]
    kid = header.get("kid")
    matching = [
        k
        for k in (keys.get("keys", []) if isinstance(keys, dict) else [])
        if isinstance(k, dict) and k.get("kid") == kid
    ]
    if not matching:
        raise error(f"the JWKS has no key with kid {kid!r}: not signed by this instance")
    jwk = matching[0]
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise error(f"key {kid!r} of the JWKS is not an Ed25519 key")
    try:
        key = jwt.PyJWK(jwk, algorithm="EdDSA")
        claims: dict[str, Any] = jwt.decode(
            text,
            key,
            algorithms=["EdDSA"],
            # A signed statement stays valid for good: no expiry, and a verifier whose clock runs
            # behind the issuer's must not refuse it for an `iat` in its future.
            options={"verify_iat": False, "verify_aud": False, "require": required},
        )
    except jwt.InvalidSignatureError as exc:
        raise error(f"the signature does not match (key {kid}): altered") from exc
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise error(f"the {noun} does not verify: {exc}") from exc
    return claims


def verify_certificate(
    jws: str,
    jwks: dict[str, Any] | str,
    *,
    expected_request_id: str | None = None,
    expected_issuer: str | None = None,
) -> dict[str, Any]:
    """The claims of ``jws`` once its signature checks out against the key of ``jwks`` (a JWK
    Set, as a dict or JSON text) that its header's ``kid`` names; raises CertificateError
    saying why otherwise. Surrounding whitespace (a saved file's newline) is ignored.

    A signature proves who issued a certificate, not that it is the one wanted: give
    ``expected_request_id`` and/or ``expected_issuer`` (the instance's
    ``CALLVAULT_INSTANCE_NAME``) and a valid certificate of another request or instance raises
    CertificateError too."""
    claims = verify_jws(jws, jwks, types=REQUIRED_OF, what="certificate of erasure or redaction")
    check_expected(claims, expected_request_id, expected_issuer)
    return claims
