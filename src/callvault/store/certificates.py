"""Queries of certificates of erasure and of the audit events a certificate restates."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from callvault.store.tables import audit_events, certificates
from callvault.store.types import utcnow

ISSUED = "certificate.issued"


def by_basis(conn: Connection, request_id: str, basis: str) -> str | None:
    """The certificate already issued for this request saying exactly this, if any."""
    return conn.execute(
        select(certificates.c.jws).where(
            certificates.c.request_id == request_id, certificates.c.basis == basis
        )
    ).scalar()


def by_jti(conn: Connection, request_id: str, jti: str) -> str | None:
    return conn.execute(
        select(certificates.c.jws).where(
            certificates.c.request_id == request_id, certificates.c.jti == jti
        )
    ).scalar()


def insert_certificate(
    conn: Connection, jti: str, request_id: str, basis: str, kid: str, jws: str
) -> None:
    conn.execute(
        insert(certificates).values(
            jti=jti, request_id=request_id, basis=basis, kid=kid, jws=jws, issued_at=utcnow()
        )
    )


def request_events(conn: Connection, request_id: str) -> list[Any]:
    """The request's audit events but its certificates' own (a certificate cannot name the
    event that records it), oldest first: seq, hash, action, call_id, details (parsed)."""
    rows = conn.execute(
        select(
            audit_events.c.seq,
            audit_events.c.hash,
            audit_events.c.action,
            audit_events.c.call_id,
            audit_events.c.details,
        )
        .where(audit_events.c.request_id == request_id, audit_events.c.action != ISSUED)
        .order_by(audit_events.c.seq)
    ).all()
    return list(rows)


def erasures_of(conn: Connection, call_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The ``call.erased`` details of these calls, whichever request's job erased them (a call
    asked for by two requests is erased once, on the first one's behalf)."""
    if not call_ids:
        return {}
    rows = conn.execute(
        select(audit_events.c.call_id, audit_events.c.details).where(
            audit_events.c.action == "call.erased", audit_events.c.call_id.in_(list(call_ids))
        )
    ).all()
    return {r.call_id: json.loads(r.details) for r in rows}
