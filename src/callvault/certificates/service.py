"""Certificates of erasure (contract §14): a signed, stored statement of what a purge request
erased, verifiable offline by anyone with the instance's JWKS.

Issued lazily, on the first fetch once the request is no longer ``Purging``: what the certificate
says (its claims without ``jti`` and ``iat``) is hashed into a *basis*, and a certificate is
stored once per request and basis (a unique constraint, and on PostgreSQL the request's row
lock, settle concurrent fetches). Every later fetch finds the stored bytes. When the request's
state changes (a held item released and erased), its claims change, so the next fetch issues a
new certificate; the old one stays fetchable by ``jti``. Issuing appends ``certificate.issued``
with the SHA-256 of the JWS in the same transaction as the row.

Signing keys are Ed25519, kept in the key store: the private key only sealed by the master key,
bound to its ``kid`` (the RFC 7638 thumbprint of the public key). The newest key signs; a
rotation adds a key and every public key ever made stays in the JWKS. Each issue reads the
current key from the key store, so a rotation by another process counts from the next issue.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.certificates.checkpoints import Checkpoints
from callvault.errors import Conflict, NotFound
from callvault.ids import new_request_id
from callvault.purge.service import request_resource
from callvault.runtime import Runtime
from callvault.store import audit as audit_store
from callvault.store import certificates as store
from callvault.store import purges
from callvault.store import redactions as redaction_store
from callvault.store.engine import write_transaction
from callvault.store.keystore import StoredSigningKey
from callvault.text import is_clean

TYPE = "erasure-certificate+jwt"
REDACTION_TYPE = "redaction-certificate+jwt"
METHOD = "cryptographic erase (NIST SP 800-88 Purge), then deletion"
REDACTION_METHOD = (
    "ranges replaced by digital silence; the audio re-encrypted under a new data key; the old "
    "data key destroyed (cryptographic erase, NIST SP 800-88 Purge), then the old audio deleted"
)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def thumbprint(public_key: bytes) -> str:
    """RFC 7638 JWK thumbprint of an Ed25519 public key: its ``kid``."""
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": b64url(public_key)}, separators=(",", ":")
    )
    return b64url(hashlib.sha256(canonical.encode()).digest())


def jwk(public_key: bytes, kid: str) -> dict[str, str]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url(public_key),
        "kid": kid,
        "alg": "EdDSA",
        "use": "sig",
    }


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey
    wrapped: bytes


class CertificateService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.trail = AuditTrail(runtime.keys.audit_chain_key)
        self.checkpoints = Checkpoints(runtime, self.trail, self.sign)
        self._first_key = threading.Lock()  # one first key per process (others: one more key)

    # -- keys ------------------------------------------------------------------------------

    def _purpose(self, kid: str) -> str:
        return f"signing-key:{kid}"

    def rotate(self) -> str:
        """Start a new signing key (the next certificate uses it); returns its kid."""
        private = Ed25519PrivateKey.generate()
        public = private.public_key().public_bytes_raw()
        kid = thumbprint(public)
        wrapped = self.runtime.keys.seal_record(private.private_bytes_raw(), self._purpose(kid))
        self.runtime.keystore.add_signing_key(kid, wrapped, public)
        return kid

    def _open(self, stored: StoredSigningKey) -> SigningKey:
        raw = self.runtime.keys.open_record(stored.wrapped, self._purpose(stored.kid))
        private = Ed25519PrivateKey.from_private_bytes(raw)
        if private.public_key().public_bytes_raw() != stored.public_key:
            raise ValueError(f"signing key {stored.kid} does not match its public key")
        return SigningKey(stored.kid, private, stored.wrapped)

    def signing_key(self) -> SigningKey:
        """The current signing key, made on first use."""
        stored = self.runtime.keystore.current_signing_key()
        if stored is None:
            with self._first_key:
                if self.runtime.keystore.current_signing_key() is None:
                    self.rotate()
            stored = self.runtime.keystore.current_signing_key()
            assert stored is not None
        return self._open(stored)

    def jwks(self) -> dict[str, Any]:
        """Every public signing key ever made, oldest first (one is made on first use)."""
        stored = self.runtime.keystore.signing_keys()
        if not stored:
            self.signing_key()
            stored = self.runtime.keystore.signing_keys()
        return {"keys": [jwk(s.public_key, s.kid) for s in stored]}

    def sign(self, claims: dict[str, Any], typ: str) -> str:
        """A compact JWS of ``claims`` on the current signing key (the same JWKS verifies it),
        header ``typ``: what an access export's manifest is signed with (contract §20)."""
        key = self.signing_key()
        return jwt.encode(
            claims, key.private_key, algorithm="EdDSA", headers={"kid": key.kid, "typ": typ}
        )

    # -- certificates ----------------------------------------------------------------------

    def certificate(self, request_id: str, jti: str | None = None, actor: str = "") -> str:
        """The request's certificate (issued now if what it says is new), or with ``jti`` one
        issued before."""
        if not is_clean(request_id) or len(request_id) > 64:
            raise NotFound("no purge request with that requestId")
        engine = self.runtime.engine
        if jti is not None:
            with engine.connect() as conn:
                self._head(conn, request_id)
                found = store.by_jti(conn, request_id, jti) if is_clean(jti) else None
            if found is None:
                raise NotFound(f"request {request_id!r} has no certificate with jti {jti!r}")
            return found
        self._sequenced(request_id)
        with engine.connect() as conn:
            claims, basis = self._claims(conn, request_id)
            found = store.by_basis(conn, request_id, basis)
        if found is not None:
            return found
        key = self.signing_key()
        try:
            with write_transaction(engine) as conn:
                purges.lock_request(conn, request_id)  # PostgreSQL: one issuer at a time
                claims, basis = self._claims(conn, request_id)
                found = store.by_basis(conn, request_id, basis)
                if found is not None:
                    return found
                jws, jti = self._sign(claims, key)
                store.insert_certificate(conn, jti, request_id, basis, key.kid, jws)
                details = {
                    "sha256": hashlib.sha256(jws.encode()).hexdigest(),
                    "jti": jti,
                    "kid": key.kid,
                    "state": claims["state"],
                }
                event = AuditEvent(
                    "certificate.issued", actor or "unknown", request_id, None, None, details
                )
                self.trail.append(conn, [event])
        except IntegrityError:  # another node issued the same certificate first: theirs
            with engine.connect() as conn:
                claims, basis = self._claims(conn, request_id)
                found = store.by_basis(conn, request_id, basis)
            if found is None:
                raise
            return found
        return jws

    def _sequenced(self, request_id: str) -> None:
        """Before a certificate is read or issued: every committed event chained (PostgreSQL
        sequences them shortly after their commit) and a signed checkpoint covering the
        request's events, so that the certificate names it."""
        engine = self.runtime.engine
        self.trail.catch_up(engine)
        with engine.connect() as conn:
            events = store.request_events(conn, request_id)
        if events:
            self.checkpoints.covering(events[-1].seq)

    def _sign(self, claims: dict[str, Any], key: SigningKey, typ: str = TYPE) -> tuple[str, str]:
        jti = new_request_id()
        payload = {"iss": claims["iss"], "jti": jti, "iat": int(time.time())}
        payload.update((k, v) for k, v in claims.items() if k != "iss")
        jws = jwt.encode(
            payload, key.private_key, algorithm="EdDSA", headers={"kid": key.kid, "typ": typ}
        )
        return jws, jti

    # -- certificates of redaction (contract §21) -------------------------------------------

    def redaction_certificate(self, call_id: str, redaction_id: str, actor: str = "") -> str:
        """The certificate of a Redacted redaction: issued on the first fetch and kept (the
        same table, keyed by the redaction's ID), signed with the same keys as certificates of
        erasure, ``typ`` ``redaction-certificate+jwt``. 409 while Redacting or once Failed."""
        if not is_clean(redaction_id) or len(redaction_id) > 64 or not is_clean(call_id):
            raise NotFound("no redaction with that redactionId")
        engine = self.runtime.engine
        self._sequenced(redaction_id)
        with engine.connect() as conn:
            claims, basis = self._redaction_claims(conn, call_id, redaction_id)
            found = store.by_basis(conn, redaction_id, basis)
        if found is not None:
            return found
        key = self.signing_key()
        try:
            with write_transaction(engine) as conn:
                found = store.by_basis(conn, redaction_id, basis)
                if found is not None:
                    return found
                jws, jti = self._sign(claims, key, REDACTION_TYPE)
                store.insert_certificate(conn, jti, redaction_id, basis, key.kid, jws)
                details = {
                    "sha256": hashlib.sha256(jws.encode()).hexdigest(),
                    "jti": jti,
                    "kid": key.kid,
                    "state": claims["state"],
                }
                event = AuditEvent(
                    "certificate.issued", actor or "unknown", redaction_id, call_id, None, details
                )
                self.trail.append(conn, [event])
        except IntegrityError:  # another node issued it first: theirs
            with engine.connect() as conn:
                found = store.by_basis(conn, redaction_id, basis)
            if found is None:
                raise
            return found
        return jws

    def _redaction_claims(
        self, conn: Connection, call_id: str, redaction_id: str
    ) -> tuple[dict[str, Any], str]:
        row = redaction_store.get_redaction(conn, redaction_id)
        if row is None or row.call_id != call_id:
            raise NotFound(f"no redaction {redaction_id!r} of call {call_id!r}")
        if row.state == redaction_store.REDACTING:
            raise Conflict(
                "the redaction is still Redacting: its certificate is issued once it is done; "
                f"poll GET /calls/v1/{call_id}/redactions/{redaction_id} until it is Redacted"
            )
        if row.state == redaction_store.FAILED:
            raise Conflict(
                f"the redaction Failed ({row.error}): nothing was erased, so there is no "
                "certificate of redaction"
            )
        events = [
            e for e in store.request_events(conn, redaction_id) if e.action != "certificate.issued"
        ]
        claims: dict[str, Any] = {
            "iss": self.runtime.settings.instance_name,
            "redactionId": row.redaction_id,
            "callId": row.call_id,
            "sessionId": row.session_id,
            "state": row.state,
            "ranges": [{"startMs": a, "endMs": b} for a, b in row.ranges],
            "redactedMs": sum(b - a for a, b in row.ranges),
            "reason": row.reason,
            "reference": row.reference,
            "requestedBy": row.requested_by,
            "requestedAt": _iso(row.created_at),
            "completedAt": _iso(row.completed_at),
            "audioSha256Before": row.audio_sha256_before,
            "audioSha256After": row.audio_sha256_after,
            "oldDataKeyDestroyed": row.old_key_destroyed,
            "blobObjectsDeleted": row.blob_objects_deleted,
            "method": REDACTION_METHOD,
            "audit": _audit_claim(conn, events),
        }
        said = {k: v for k, v in claims.items() if k != "iss"}
        canonical = json.dumps(said, sort_keys=True, separators=(",", ":"))
        return claims, hashlib.sha256(canonical.encode()).hexdigest()

    @staticmethod
    def _head(conn: Connection, request_id: str) -> Any:
        found = purges.read_request(conn, request_id)
        if found is None:
            raise NotFound(f"no purge request with requestId {request_id!r}")
        head, _items = found
        if head.what_if:
            raise NotFound("a whatIf preview erased nothing: it has no certificate")
        return found

    def _claims(self, conn: Connection, request_id: str) -> tuple[dict[str, Any], str]:
        """What the certificate says (all but jti and iat) and its basis: the SHA-256 (hex) of
        that without iss."""
        head, items = self._head(conn, request_id)
        if head.state == "Cancelled":
            raise Conflict(
                "the request was Cancelled within its grace window: nothing was erased, so "
                "there is no certificate of erasure"
            )
        if head.state == "Purging":
            raise Conflict(
                "the request is still Purging: its certificate is issued once it is final; "
                f"poll GET /purge/v1/requests/{request_id} until its state is no longer Purging"
            )
        resource = request_resource(head, items)
        events = store.request_events(conn, request_id)
        erased = {e.call_id: json.loads(e.details) for e in events if e.action == "call.erased"}
        purged = [i["callId"] for i in resource["items"] if i["status"] == "Purged"]
        missing = [c for c in purged if c not in erased]
        erased.update(store.erasures_of(conn, missing))
        failed = [i["callId"] for i in resource["items"] if i["status"] == "Error" and i["callId"]]
        keys_left = self.runtime.keystore.existing(failed)
        erased_count = sum(1 for i in resource["items"] if i["status"] == "Purged")
        claims: dict[str, Any] = {
            "iss": self.runtime.settings.instance_name,
            "requestId": resource["requestId"],
            "kind": resource["kind"],
            "requestedBy": resource["requestedBy"],
            "requestedAt": resource["createdAt"],
            "completedAt": resource["completedAt"],
            "state": resource["state"],
            "erasedCount": erased_count,
        }
        if erased_count:  # a method is claimed only for what it erased
            claims["method"] = METHOD
        claims.update(_subjects(head.phone_hash, events))
        if resource.get("suppressionId") is not None:
            claims["suppressionId"] = resource["suppressionId"]  # contract §22
        if resource.get("reference") is not None:
            claims["reference"] = resource["reference"]  # contract §23
        claims["items"] = [
            _item(i, erased.get(i["callId"]) if i["callId"] else None, keys_left)
            for i in resource["items"]
        ]
        claims["audit"] = _audit_claim(conn, events)
        # What the request says, not who says it: a node with another instance name must find
        # the certificate already issued, not issue a second one.
        said = {k: v for k, v in claims.items() if k != "iss"}
        canonical = json.dumps(said, sort_keys=True, separators=(",", ":"))
        return claims, hashlib.sha256(canonical.encode()).hexdigest()


def _audit_claim(conn: Connection, events: list[Any]) -> dict[str, Any]:
    """Where the certificate's events sit in the audit chain: the first and last ``seq``, the
    last one's ``hash``, and the signed checkpoint that covers them (``checkpointSeq``: the
    first at or after the last event; the issuer signs one first when none does yet)."""
    if not events:
        return {"firstSeq": None, "lastSeq": None, "headHash": None, "checkpointSeq": None}
    return {
        "firstSeq": events[0].seq,
        "lastSeq": events[-1].seq,
        "headHash": events[-1].hash,
        "checkpointSeq": audit_store.covering_seq(conn, events[-1].seq),
    }


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _subjects(phone_hash: str | None, events: list[Any]) -> dict[str, Any]:
    """A customer request's ``customerPhoneHash`` (its first phone number's keyed hash, when it
    named one) and ``subjectHashes`` (each phone number and address it named, by the keyed hash
    its ``purge.requested`` audit event keeps); nothing for a request by IDs."""
    if phone_hash is None:
        return {}
    requested = next((e for e in events if e.action == "purge.requested"), None)
    details = json.loads(requested.details) if requested is not None else {}
    subjects = details.get("subjectHashes")
    if subjects is None:
        # Accepted before requests kept their subjects: certified as then, by the one hash,
        # unless it named several values (then that hash is of the set, not of a phone number).
        return {} if "customerHashes" in details else {"customerPhoneHash": phone_hash}
    claims: dict[str, Any] = {}
    phones = [s["hash"] for s in subjects if s["type"] == "phone"]
    if phones:
        claims["customerPhoneHash"] = phones[0]
    claims["subjectHashes"] = [{"type": s["type"], "hash": s["hash"]} for s in subjects]
    return claims


def _item(
    item: dict[str, Any], erased: dict[str, Any] | None, keys_left: set[str]
) -> dict[str, Any]:
    if item["status"] == "Purged":
        destroyed = True
    elif item["status"] == "Error" and item["callId"]:
        destroyed = item["callId"] not in keys_left  # an erasure that gave up after the key went
    else:
        destroyed = False
    return {
        "callId": item["callId"],
        "sessionId": item["sessionId"],
        "status": item["status"],
        "erasedAt": item["erasedAt"],
        "audioBytes": erased.get("audioBytes") if erased else None,
        "dataKeyDestroyed": bool(erased.get("dataKeyDestroyed", destroyed))
        if erased
        else destroyed,
        "blobObjectsDeleted": erased.get("blobObjectsDeleted") if erased else None,
        "holdIds": item["holdIds"],
    }
