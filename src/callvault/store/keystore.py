"""The key store: wrapped per-call data keys, in a database of their own.

Kept apart from the calls database so that restoring a backup of the calls never brings a
destroyed key back, and so it can have a much shorter backup retention than the calls.
Its schema is three tables, created on open (no migration history needed yet): ``data_keys``,
``staged_keys`` (a redaction's new data key until it takes the old one's place) and
``signing_keys``, the Ed25519 keys that sign certificates of erasure (the private key only
wrapped by the master key, like a data key; the public key in clear, since it is published).

On SQLite ``data_keys`` is a ``WITHOUT ROWID`` table, one B-tree keyed by call ID. Key stores
made before that (a rowid table beside an index of call IDs: two pages written per destroyed
key) are rebuilt once as they open, in one transaction (``_one_b_tree``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    insert,
    select,
)

from callvault.store.engine import among, checkpoint, is_sqlite, make_engine, write_transaction
from callvault.store.types import UTCDateTime, utcnow

keystore_metadata = MetaData()

data_keys = Table(
    "data_keys",
    keystore_metadata,
    Column("call_id", String(32), primary_key=True),
    Column("wrapped", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Erasure deletes keys at random call IDs: with a rowid, each also left a page of the call
    # ID index to rewrite (1.92 pages a key against 1.01, bench/README.md "Erasure").
    sqlite_with_rowid=False,
)

# A redaction's new data key (contract §21), from the moment its new audio is written until the
# swap moves it into ``data_keys`` in place of the call's old key (one transaction of this
# store: the old key is destroyed as the new one takes its place), or a failed redaction drops it.
staged_keys = Table(
    "staged_keys",
    keystore_metadata,
    Column("redaction_id", String(32), primary_key=True),
    Column("call_id", String(32), nullable=False),
    Column("wrapped", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

signing_keys = Table(
    "signing_keys",
    keystore_metadata,
    # Ascending: the highest is the current key (a rotation adds one; none is ever removed).
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("kid", String(64), nullable=False, unique=True),
    # The raw 32-byte Ed25519 private key, sealed under the master key, bound to its kid.
    Column("wrapped", LargeBinary, nullable=False),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Every capture puts a key and every read gets one: built once (see store/purges.py).
_PUT = insert(data_keys)
_GET = select(data_keys.c.wrapped).where(data_keys.c.call_id == bindparam("call_id"))


@dataclass(frozen=True)
class StoredSigningKey:
    kid: str
    wrapped: bytes
    public_key: bytes
    created_at: datetime


def _one_b_tree(engine: Engine) -> None:
    """Rebuild a SQLite ``data_keys`` of the rowid layout as ``WITHOUT ROWID``, keys intact.

    One write transaction: another process opening the store at the same moment waits and then
    finds it rebuilt. ``secure_delete`` zeroes the old table's pages as it is dropped, and the
    checkpoint takes them out of the WAL."""
    if not is_sqlite(engine):
        return
    with write_transaction(engine) as conn:
        sql = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'data_keys'"
        ).scalar()
        if sql is None or "WITHOUT ROWID" in str(sql).upper():
            return
        conn.exec_driver_sql("ALTER TABLE data_keys RENAME TO data_keys_rowid")
        data_keys.create(conn)
        conn.exec_driver_sql(
            "INSERT INTO data_keys (call_id, wrapped, created_at) "
            "SELECT call_id, wrapped, created_at FROM data_keys_rowid ORDER BY call_id"
        )
        conn.exec_driver_sql("DROP TABLE data_keys_rowid")
    checkpoint(engine)


class KeyStore:
    def __init__(
        self, url: str, background_checkpoints: bool = False, statement_timeout_seconds: float = 0
    ) -> None:
        self.engine: Engine = make_engine(url, background_checkpoints, statement_timeout_seconds)
        _one_b_tree(self.engine)
        keystore_metadata.create_all(self.engine)

    def put(self, call_id: str, wrapped: bytes) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(_PUT, {"call_id": call_id, "wrapped": wrapped, "created_at": utcnow()})

    def put_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Bulk-store wrapped keys (``call_id``, ``wrapped``, ``created_at``): one insert, one
        transaction (``demo.seed_calls``)."""
        with write_transaction(self.engine) as conn:
            conn.execute(_PUT, rows)

    def get(self, call_id: str) -> bytes | None:
        with self.engine.connect() as conn:
            row = conn.execute(_GET, {"call_id": call_id}).first()
        return None if row is None else bytes(row[0])

    def get_many(self, call_ids: Iterable[str]) -> dict[str, bytes]:
        """The wrapped keys of those calls that still have one, in one query."""
        ids = list(call_ids)
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(data_keys.c.call_id, data_keys.c.wrapped).where(data_keys.c.call_id.in_(ids))
            )
            return {call_id: bytes(wrapped) for call_id, wrapped in rows}

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

    def owners_created_before(self, cutoff: datetime, after: str, limit: int) -> list[str]:
        """Up to ``limit`` call IDs after ``after`` (in ID order) whose key was made before
        ``cutoff``: the orphan sweeper's pages."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(data_keys.c.call_id)
                    .where(data_keys.c.created_at < cutoff, data_keys.c.call_id > after)
                    .order_by(data_keys.c.call_id)
                    .limit(limit)
                ).scalars()
            )

    def destroy(self, call_ids: Iterable[str]) -> int:
        """Delete the wrapped keys: from here on every copy of those calls' data is unreadable."""
        ids = list(call_ids)
        if not ids:
            return 0
        with write_transaction(self.engine) as conn:
            result = conn.execute(delete(data_keys).where(among(data_keys.c.call_id, ids)))
        return result.rowcount

    def stage(self, redaction_id: str, call_id: str, wrapped: bytes) -> None:
        """Keep a redaction's new data key beside the call's current one (replacing any an
        earlier attempt of the same redaction staged)."""
        with write_transaction(self.engine) as conn:
            conn.execute(delete(staged_keys).where(staged_keys.c.redaction_id == redaction_id))
            conn.execute(
                insert(staged_keys).values(
                    redaction_id=redaction_id, call_id=call_id, wrapped=wrapped, created_at=utcnow()
                )
            )

    def staged(self, redaction_id: str) -> bytes | None:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(staged_keys.c.wrapped).where(staged_keys.c.redaction_id == redaction_id)
            ).scalar()
        return None if found is None else bytes(found)

    def swap_in(self, redaction_id: str, call_id: str) -> bool:
        """In one transaction: the staged key becomes the call's data key, and the old one is
        gone (its row deleted, the new one written in its place). False when nothing was staged
        (an earlier attempt swapped it in already, or it was dropped)."""
        with write_transaction(self.engine) as conn:
            wrapped = conn.execute(
                select(staged_keys.c.wrapped).where(
                    staged_keys.c.redaction_id == redaction_id, staged_keys.c.call_id == call_id
                )
            ).scalar()
            if wrapped is None:
                return False
            conn.execute(delete(data_keys).where(data_keys.c.call_id == call_id))
            conn.execute(
                _PUT, {"call_id": call_id, "wrapped": bytes(wrapped), "created_at": utcnow()}
            )
            conn.execute(delete(staged_keys).where(staged_keys.c.redaction_id == redaction_id))
        return True

    def drop_staged(self, redaction_id: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(delete(staged_keys).where(staged_keys.c.redaction_id == redaction_id))

    def add_signing_key(self, kid: str, wrapped: bytes, public_key: bytes) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                insert(signing_keys).values(
                    kid=kid, wrapped=wrapped, public_key=public_key, created_at=utcnow()
                )
            )

    def signing_keys(self) -> list[StoredSigningKey]:
        """Every signing key ever made, oldest first: the last is the current one."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(signing_keys).order_by(signing_keys.c.seq)).all()
        return [
            StoredSigningKey(r.kid, bytes(r.wrapped), bytes(r.public_key), r.created_at)
            for r in rows
        ]

    def current_signing_key(self) -> StoredSigningKey | None:
        with self.engine.connect() as conn:
            r = conn.execute(
                select(signing_keys).order_by(signing_keys.c.seq.desc()).limit(1)
            ).first()
        if r is None:
            return None
        return StoredSigningKey(r.kid, bytes(r.wrapped), bytes(r.public_key), r.created_at)

    def checkpoint(self) -> bool:
        return checkpoint(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
