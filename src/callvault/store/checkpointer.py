"""SQLite WAL checkpoints in a thread of their own, off the request path.

SQLite folds its WAL back into the database inside whichever commit takes the WAL past
``wal_autocheckpoint`` pages (1,000 by default): that commit writes the pages at their places and
flushes the file before it returns. On a 1,000,000-call store that is 30-45 ms, and it was the
whole p99 of a customer whatIf (bench/preview_latency.py: p99 44-48 ms with it, 13 ms with no
checkpoints at all). Here a thread runs a PASSIVE checkpoint (which neither waits for nor blocks
readers and writers) every half second, and the commits' own threshold is raised to a backstop
they reach only if this thread falls behind or stops. Erasure's TRUNCATE checkpoints, which make
sure no erased page image survives in the WAL (``engine.checkpoint``), are unchanged.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from weakref import WeakKeyDictionary

from sqlalchemy import Engine

log = logging.getLogger(__name__)

# 40 MB of WAL: reached only when the thread cannot keep up (or a reader holds old pages).
BACKSTOP_PAGES = 10_000
INTERVAL_SECONDS = 0.5


class _Checkpoints:
    """What this process knows of one engine's checkpoints."""

    def __init__(self, lock_file: str | None) -> None:
        self.lock_file = lock_file  # None: a database in memory, which no one else shares
        self.last = 0.0  # time.monotonic() of the last one completed


_engines: WeakKeyDictionary[Engine, _Checkpoints] = WeakKeyDictionary()
_engines_guard = threading.Lock()


def _of(engine: Engine) -> _Checkpoints:
    with _engines_guard:
        state = _engines.get(engine)
        if state is None:
            database = engine.url.database or ":memory:"
            lock_file = None if database == ":memory:" else f"{database}-checkpoint"
            state = _engines[engine] = _Checkpoints(lock_file)
        return state


@contextmanager
def checkpoint_lock(engine: Engine, wait: bool = True) -> Iterator[bool]:
    """Held by every checkpoint of ``engine``'s database, by this process's threads and by the
    other processes that share it (``callvault serve`` and ``callvault worker``): SQLite answers
    a second checkpoint "busy" at once, without waiting, while one runs, and an erasure's
    TRUNCATE checkpoint that met a background round was put off to the worker's next retry, its
    erased pages still in the WAL. Yields whether it was taken: with ``wait`` False, False when
    another holds it.

    An flock belongs to the open file, not the process or thread: each call opens the lock file
    anew, so two threads of one process exclude each other as two processes do."""
    lock_file = _of(engine).lock_file
    if lock_file is None:
        yield True
        return
    # A file of its own: an fd opened and closed on the database itself would drop the POSIX
    # locks SQLite holds on it in this process.
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # and with it the flock


def mark_checkpointed(engine: Engine) -> None:
    """Note a completed checkpoint: the background thread skips its next round. A worker
    checkpoints after every batch, and rounds between them only contended: erase_rate.py's
    drain ran at 0.73-0.74x its floor with them, 0.77-0.92x skipping them, 0.71-0.99x before
    the thread existed (two or four runs each, alternated)."""
    _of(engine).last = time.monotonic()


def _idle_for(engine: Engine) -> float:
    return time.monotonic() - _of(engine).last


class BackgroundCheckpointer:
    """Checkpoints ``engine``'s WAL every ``interval`` seconds once started, until closed."""

    def __init__(self, engine: Engine, interval: float = INTERVAL_SECONDS) -> None:
        self.engine = engine
        self.interval = interval
        self.thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self.thread.start()

    def run_once(self) -> None:
        with checkpoint_lock(self.engine, wait=False) as taken:
            if not taken:
                return  # another process (or an erasure) is checkpointing: nothing to add
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        mark_checkpointed(self.engine)

    def close(self) -> None:
        self._stop.set()
        if self.thread is not None:
            self.thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if _idle_for(self.engine) < self.interval:
                continue
            try:
                self.run_once()
            except Exception:
                # The backstop still bounds the WAL; the next round tries again.
                log.warning("background WAL checkpoint failed; will retry", exc_info=True)
