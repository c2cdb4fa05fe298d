"""Signed checkpoints of the audit chain (contract §23, "An audit trail anyone can check").

A checkpoint is a compact JWS on the certificate keys (the same JWKS verifies certificates,
export manifests and these), header ``typ`` ``audit-checkpoint+jwt``, claims ``{"iss", "iat",
"seq", "hash"}``: "the chain's event ``seq`` has this ``hash``". Because every event's hash covers
the one before it, a checkpoint vouches for the whole chain up to ``seq``: anyone with the JWKS
and the events recomputes the hashes (audit/trail.py states the canonical form) and compares the
last one with the signed ``hash``, with no secret of the instance. Checkpoints are made

- by the audit loop (``certificates/loop.py``, in every worker process) when the chain's head has
  moved and the newest checkpoint is ``CALLVAULT_AUDIT_CHECKPOINT_SECONDS`` old (default 10, so
  one at least every 60 s while events arrive, as the contract asks);
- on demand, when a certificate or an evidence ZIP needs one covering its events
  (``covering``): the head is signed then, so a certificate always names its checkpoint.

Two nodes signing the same head at once: the table's key (``seq``) keeps the first; the second
reads it back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import RowMapping
from sqlalchemy.exc import IntegrityError

from callvault.audit.trail import AuditTrail
from callvault.runtime import Runtime
from callvault.store import audit as audit_store
from callvault.store.engine import write_transaction
from callvault.store.types import utcnow

CHECKPOINT_TYPE = "audit-checkpoint+jwt"


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    jws: str
    signed_at: Any

    @classmethod
    def of(cls, row: RowMapping) -> Checkpoint:
        return cls(row["seq"], row["hash"], row["jws"], row["signed_at"])

    def json(self) -> dict[str, Any]:
        """The public shape (``GET /audit/v1/checkpoints``)."""
        return {
            "seq": self.seq,
            "hash": self.hash,
            "signedAt": self.signed_at.isoformat().replace("+00:00", "Z"),
            "jws": self.jws,
        }


class Checkpoints:
    """Made by the certificate service, which hands in its trail and its signer (the same keys
    sign certificates and checkpoints)."""

    def __init__(
        self, runtime: Runtime, trail: AuditTrail, sign: Callable[[dict[str, Any], str], str]
    ) -> None:
        self.runtime = runtime
        self.trail = trail
        self._sign = sign

    def sign_head(self) -> Checkpoint | None:
        """A checkpoint of the chain's head (after chaining every committed event), made now
        unless one already covers it; None while the trail is empty."""
        engine = self.runtime.engine
        self.trail.catch_up(engine)
        head = audit_store.head_of(engine)
        if head is None:
            return None
        seq, digest = head
        found = audit_store.covering_checkpoint(engine, seq)
        if found is not None:
            return Checkpoint.of(found)
        claims = {
            "iss": self.runtime.settings.instance_name,
            "iat": int(time.time()),
            "seq": seq,
            "hash": digest,
        }
        jws = self._sign(claims, CHECKPOINT_TYPE)
        kid = str(jwt.get_unverified_header(jws)["kid"])
        try:
            with write_transaction(engine) as conn:
                audit_store.insert_checkpoint(conn, seq, digest, utcnow(), kid, jws)
        except IntegrityError:  # another node signed this head first: theirs
            pass
        found = audit_store.covering_checkpoint(engine, seq)
        assert found is not None
        return Checkpoint.of(found)

    def covering(self, seq: int) -> Checkpoint:
        """The first checkpoint at or after event ``seq`` (signed now if none is yet)."""
        found = audit_store.covering_checkpoint(self.runtime.engine, seq)
        if found is not None:
            return Checkpoint.of(found)
        signed = self.sign_head()
        if signed is None or signed.seq < seq:
            raise LookupError(f"audit event {seq} is not in the chain")
        return signed

    def due(self, every_seconds: float) -> Checkpoint | None:
        """The audit loop's checkpoint: the head, when it moved since the newest checkpoint and
        that one is ``every_seconds`` old (or there is none); else None."""
        engine = self.runtime.engine
        head = audit_store.head_of(engine)
        if head is None:
            return None
        latest = audit_store.latest_checkpoint(engine)
        if latest is not None:
            if latest["seq"] >= head[0]:
                return None
            if (utcnow() - latest["signed_at"]).total_seconds() < every_seconds:
                return None
        return self.sign_head()

    def verify(self) -> tuple[int, str | None]:
        """Check every stored checkpoint: its signature against the instance's public keys and
        its ``hash`` against the chain's event ``seq`` now. Returns (checkpoints checked, None)
        or (count before, what is wrong): a chain rewritten consistently by someone without the
        keys no longer matches the heads signed before."""
        keys = {
            k.kid: Ed25519PublicKey.from_public_bytes(k.public_key)
            for k in self.runtime.keystore.signing_keys()
        }
        engine, checked, after = self.runtime.engine, 0, 0
        while page := self.page(after, 500):
            for checkpoint in page:
                try:
                    kid = str(jwt.get_unverified_header(checkpoint.jws).get("kid"))
                    claims = jwt.decode(
                        checkpoint.jws,
                        keys[kid],
                        algorithms=["EdDSA"],
                        options={"verify_iat": False},
                    )
                except (KeyError, jwt.PyJWTError) as exc:
                    return checked, f"checkpoint {checkpoint.seq} does not verify: {exc}"
                if (claims.get("seq"), claims.get("hash")) != (checkpoint.seq, checkpoint.hash):
                    return checked, f"checkpoint {checkpoint.seq} does not say what it signed"
                if audit_store.event_hash(engine, checkpoint.seq) != checkpoint.hash:
                    return checked, (
                        f"event {checkpoint.seq} is not the one its signed checkpoint names: "
                        "the chain was rewritten"
                    )
                checked += 1
            after = page[-1].seq
        return checked, None

    def page(self, after: int, limit: int) -> list[Checkpoint]:
        """Checkpoints after ``seq`` ``after``, oldest first."""
        rows = audit_store.checkpoints_after(self.runtime.engine, after, limit)
        return [Checkpoint.of(row) for row in rows]
