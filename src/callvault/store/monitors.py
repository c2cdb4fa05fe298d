"""Last heartbeat per recorder (``POST /callCapture/v1/monitor``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, delete, insert, select

from callvault.store.engine import write_transaction
from callvault.store.tables import monitors
from callvault.store.types import utcnow


def record(
    engine: Engine, name: str, status: str, reported_at: str | None, version: str | None
) -> None:
    with write_transaction(engine) as conn:
        conn.execute(delete(monitors).where(monitors.c.name == name))
        conn.execute(
            insert(monitors).values(
                name=name,
                status=status,
                reported_at=reported_at,
                software_version=version,
                received_at=utcnow(),
            )
        )


def latest(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(monitors).order_by(monitors.c.name)).mappings().all()
    return [dict(r) for r in rows]
