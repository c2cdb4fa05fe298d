"""Engines for SQLite (the embedded default) and PostgreSQL, configured for safe erasure.

SQLite connections run in WAL mode with ``secure_delete=ON`` (deleted content is zeroed, not left
in free pages) and foreign keys on. pysqlite's own transaction handling is switched off so that a
write transaction can start with ``BEGIN IMMEDIATE``: taking the write lock up front means two
writers queue on ``busy_timeout`` instead of failing with a lock-upgrade deadlock.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import ARRAY, Boolean, Connection, Engine, any_, bindparam, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement

from callvault.files import ensure_private_file
from callvault.store.checkpointer import BACKSTOP_PAGES, checkpoint_lock, mark_checkpointed

BUSY_TIMEOUT_MS = 30_000
CHECKPOINT_WAIT_MS = 250


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


# PostgreSQL's SQLSTATEs of a server that cannot serve now but may in a moment: connection
# exceptions (08), insufficient resources (53: too many connections, disk full), operator
# intervention (57P: shutting down, starting up), and a transaction that lost a serialization
# or deadlock race (40001, 40P01).
_PG_TRANSIENT_PREFIXES = ("08", "53", "57P", "40001", "40P01")


def is_transient(exc: BaseException) -> bool:
    """True when a database error means "not now" rather than "never": the database is down
    or unreachable, restarting, busy or locked, or every pooled connection is taken. Any other
    error (a bad statement, a limit of the engine, a missing table) is a fault to fix."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True  # the connection dropped
    sqlite_error = getattr(exc.orig, "sqlite_errorname", None)
    if sqlite_error is not None:
        return str(sqlite_error).startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
    if exc.statement is None and isinstance(exc, OperationalError):
        return True  # no connection could be made (no statement yet: the connect)
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_PG_TRANSIENT_PREFIXES)


CONNECT_TIMEOUT_SECONDS = 10


def make_engine(
    url: str, background_checkpoints: bool = False, statement_timeout_seconds: float = 0
) -> Engine:
    """``background_checkpoints``: a ``checkpointer.BackgroundCheckpointer`` will fold this
    SQLite database's WAL, so a commit does so only past its backstop.

    ``statement_timeout_seconds`` (PostgreSQL; 0: none): every statement, every wait for a lock,
    and every transaction left idle by its client is cut after this long, and a connection
    attempt after ``CONNECT_TIMEOUT_SECONDS``, so no remote call can hold a worker (and the jobs
    it leases) forever: it fails, and the job is retried (issue 35's stall). Migrations and
    VACUUM, which may rightly take long on a big store, lift it for their own statements
    (``unbounded``).

    ``hide_parameters``: a database error's message, logged with its traceback, names the
    statement but not the values bound to it (a hold's reason, a name)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        connect_args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        if statement_timeout_seconds > 0:
            ms = max(1, int(statement_timeout_seconds * 1000))
            connect_args["options"] = (
                f"-c statement_timeout={ms} -c lock_timeout={ms} "
                f"-c idle_in_transaction_session_timeout={ms}"
            )
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=20,
            hide_parameters=True,
            connect_args=connect_args,
        )
    if parsed.database and parsed.database != ":memory:":
        # Made 0600 before SQLite opens it: SQLite creates its -wal and -shm with the same mode.
        ensure_private_file(Path(parsed.database))
    engine = create_engine(
        url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "secure_delete=ON",
            "foreign_keys=ON",
            "synchronous=FULL",
            f"busy_timeout={BUSY_TIMEOUT_MS}",
            *([f"wal_autocheckpoint={BACKSTOP_PAGES}"] if background_checkpoints else []),
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


@contextmanager
def write_transaction(engine: Engine, durable: bool = True) -> Iterator[Connection]:
    """A transaction that intends to write: on SQLite it takes the write lock at BEGIN.

    ``durable=False`` is for writes that may be lost to a power failure or an OS crash, never to
    a crash of the process, because redoing them or doing without them is harmless (a call's
    Concluded -> Complete, redone at start; a preview's record). Its COMMIT skips the flush to
    disk: SQLite's ``synchronous=NORMAL`` writes the WAL without fsync, PostgreSQL's
    ``synchronous_commit=off`` lets the WAL writer flush it within a moment. Both logs are
    sequential, so the next durable commit flushes the relaxed ones before it too: what is lost
    is a tail, never a relaxed write while a later durable one survives.
    """
    with engine.connect() as conn:
        relax_sqlite = not durable and is_sqlite(engine)
        if relax_sqlite:
            _sqlite_synchronous(conn, "NORMAL")
        try:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                if not durable and not relax_sqlite:
                    conn.exec_driver_sql("SET LOCAL synchronous_commit TO off")
                yield conn
        finally:
            if relax_sqlite:
                try:
                    _sqlite_synchronous(conn, "FULL")
                except Exception:
                    # Never back in the pool relaxed: a durable commit must stay durable.
                    conn.invalidate()
                    raise


def _sqlite_synchronous(conn: Connection, level: str) -> None:
    # On the DBAPI connection, outside any transaction: through SQLAlchemy the PRAGMA would
    # autobegin one, and SQLite applies the level to the transactions that start after it.
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA synchronous={level}")


def checkpoint(engine: Engine, attempts: int = 3, pause: float = 0.05) -> bool:
    """Fold the SQLite WAL back into the database and truncate it, so no old page image survives.

    Returns False when readers kept it from completing (SQLite reports that as ``busy`` rather
    than raising): the caller must try again later. Always True on other engines.
    """
    if not is_sqlite(engine):
        return True
    for attempt in range(attempts):
        with checkpoint_lock(engine), engine.connect() as conn:
            # A TRUNCATE checkpoint waits busy_timeout for readers; briefly, here: a blocked
            # checkpoint is retried later rather than holding up erasure for half a minute.
            conn.exec_driver_sql(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
            try:
                busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()[0]
            finally:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if not busy:
            mark_checkpointed(engine)
            return True
        if attempt + 1 < attempts:
            time.sleep(pause)
    return False


def vacuum(engine: Engine, tables: tuple[str, ...]) -> None:
    """PostgreSQL keeps deleted rows as dead tuples until VACUUM; reclaim them after erasure.

    (What VACUUM cannot reach — WAL segments, replicas, backups — holds only ciphertext whose key
    is destroyed.) A no-op on SQLite, where ``secure_delete`` and the checkpoint do this job.
    """
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        unbounded(conn)
        try:
            for table in tables:
                conn.exec_driver_sql(f"VACUUM {table}")
        finally:
            conn.exec_driver_sql("RESET statement_timeout; RESET lock_timeout")


def unbounded(conn: Connection, local: bool = False) -> None:
    """Lift the statement and lock timeouts (PostgreSQL) for work that may rightly take long:
    a migration of a big store, a VACUUM. ``local``: for the current transaction only (a
    session-wide one must be RESET before the connection goes back to the pool)."""
    if conn.dialect.name != "postgresql":
        return
    scope = "LOCAL " if local else ""
    conn.exec_driver_sql(f"SET {scope}statement_timeout = 0")
    conn.exec_driver_sql(f"SET {scope}lock_timeout = 0")


class Among(ColumnElement[bool]):
    """``column IN (values)``: on PostgreSQL one array parameter, ``column = ANY(:values)``; on
    SQLite an expanding ``IN``.

    An erasure batch names up to 1,000 calls in each of its statements. As an expanding ``IN``
    on PostgreSQL each is rendered at every execution into 1,000 placeholders with a cast each,
    too long for psycopg's query cache (split again each time) or a prepared statement, and
    parsed by the server each time: about half a PostgreSQL worker's CPU per erased call
    (bench/README.md, "PostgreSQL + S3 worker CPU"). As one array it is a short statement that
    psycopg prepares once.

    Not cached by SQLAlchemy (the values are rendered into fresh parameters at each
    compilation); compiling it costs less than rendering the expanding list did.
    """

    inherit_cache = False
    type = Boolean()

    def __init__(self, column: ColumnElement[Any], values: Iterable[Any]) -> None:
        self.column = column
        self.values = list(values)


@compiles(Among)
def _among_in(element: Among, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column.in_(element.values), **kw))


@compiles(Among, "postgresql")
def _among_any(element: Among, compiler: Any, **kw: Any) -> str:
    array = bindparam(None, element.values, type_=ARRAY(element.column.type))
    return str(compiler.process(element.column == any_(array), **kw))


def among(column: ColumnElement[Any], values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN values`` as each database runs a long list best (``Among``)."""
    return Among(column, values)
