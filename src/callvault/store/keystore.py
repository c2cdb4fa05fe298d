"""The key store: wrapped per-call data keys, in a database of their own.

Kept apart from the calls database so that restoring a backup of the calls never brings a
destroyed key back, and so it can have a much shorter backup retention than the calls.
Its schema is one table, created on open (no migration history needed yet).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Column, Engine, LargeBinary, MetaData, String, Table, delete, insert, select

from callvault.store.engine import checkpoint, make_engine, write_transaction
from callvault.store.types import UTCDateTime, utcnow

keystore_metadata = MetaData()

data_keys = Table(
    "data_keys",
    keystore_metadata,
    Column("call_id", String(32), primary_key=True),
    Column("wrapped", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)


class KeyStore:
    def __init__(self, url: str) -> None:
        self.engine: Engine = make_engine(url)
        keystore_metadata.create_all(self.engine)

    def put(self, call_id: str, wrapped: bytes) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                insert(data_keys).values(call_id=call_id, wrapped=wrapped, created_at=utcnow())
            )

    def get(self, call_id: str) -> bytes | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(data_keys.c.wrapped).where(data_keys.c.call_id == call_id)
            ).first()
        return None if row is None else bytes(row[0])

    def existing(self, call_ids: Iterable[str]) -> set[str]:
        """Which of the calls still have their data key (a hold can save only those)."""
        ids = list(call_ids)
        if not ids:
            return set()
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    select(data_keys.c.call_id).where(data_keys.c.call_id.in_(ids))
                ).scalars()
            )

    def destroy(self, call_ids: Iterable[str]) -> int:
        """Delete the wrapped keys: from here on every copy of those calls' data is unreadable."""
        ids = list(call_ids)
        if not ids:
            return 0
        with write_transaction(self.engine) as conn:
            result = conn.execute(delete(data_keys).where(data_keys.c.call_id.in_(ids)))
        return result.rowcount

    def checkpoint(self) -> bool:
        return checkpoint(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
