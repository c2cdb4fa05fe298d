"""Verifying a certificate of erasure offline: a compact JWS signed with Ed25519 (contract §14).

Only the JWKS of the instance is needed (``GET /.well-known/jwks.json``, or a saved copy), not
the instance itself:

>>> claims = verify_certificate(open("cert.jws").read(), json.load(open("jwks.json")))
>>> claims["state"], [i["status"] for i in claims["items"]]
('Complete', ['Purged'])
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

import jwt

from callvault.client._exceptions import CertificateError

TYPE = "erasure-certificate+jwt"
# Not ``method``: a certificate of a request that erased nothing claims none (contract §14).
REQUIRED = ["iss", "jti", "iat", "requestId", "kind", "state", "items", "audit"]
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


def verify_certificate(jws: str, jwks: dict[str, Any] | str) -> dict[str, Any]:
    """The claims of ``jws`` once its signature checks out against the key of ``jwks`` (a JWK
    Set, as a dict or JSON text) that its header's ``kid`` names; raises CertificateError
    saying why otherwise. Surrounding whitespace (a saved file's newline) is ignored."""
    text = jws.strip()
    parts = text.split(".")
    if len(parts) != 3 or not all(_SEGMENT.fullmatch(p) for p in parts):
        raise CertificateError("not a compact JWS (three base64url parts joined by dots)")
    if not all(_canonical(p) for p in parts):
        raise CertificateError("a part of the JWS is not canonical base64url: it was altered")
    try:
        keys = json.loads(jwks) if isinstance(jwks, str) else jwks
        header = jwt.get_unverified_header(text)
    except (ValueError, jwt.PyJWTError) as exc:
        raise CertificateError(f"unreadable certificate or JWKS: {exc}") from exc
    if header.get("alg") != "EdDSA" or header.get("typ") != TYPE:
        raise CertificateError(f"not a certificate of erasure (alg EdDSA, typ {TYPE})")
    kid = header.get("kid")
    matching = [
        k
        for k in (keys.get("keys", []) if isinstance(keys, dict) else [])
        if isinstance(k, dict) and k.get("kid") == kid
    ]
    if not matching:
        raise CertificateError(f"the JWKS has no key with kid {kid!r}: not signed by this instance")
    jwk = matching[0]
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise CertificateError(f"key {kid!r} of the JWKS is not an Ed25519 key")
    try:
        key = jwt.PyJWK(jwk, algorithm="EdDSA")
        claims: dict[str, Any] = jwt.decode(
            text,
            key,
            algorithms=["EdDSA"],
            # A certificate stays valid for good: no expiry, and a verifier whose clock runs
            # behind the issuer's must not refuse it for an `iat` in its future.
            options={"verify_iat": False, "verify_aud": False, "require": REQUIRED},
        )
    except jwt.InvalidSignatureError as exc:
        raise CertificateError(f"the signature does not match (key {kid}): altered") from exc
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise CertificateError(f"the certificate does not verify: {exc}") from exc
    return claims
