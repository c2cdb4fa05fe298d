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

import logging
import threading
import time
from weakref import WeakKeyDictionary

from sqlalchemy import Engine

log = logging.getLogger(__name__)

# 40 MB of WAL: reached only when the thread cannot keep up (or a reader holds old pages).
BACKSTOP_PAGES = 10_000
INTERVAL_SECONDS = 0.5


class _Checkpoints:
    """What this process knows of one engine's checkpoints."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last = 0.0  # time.monotonic() of the last one completed


_engines: WeakKeyDictionary[Engine, _Checkpoints] = WeakKeyDictionary()
_engines_guard = threading.Lock()


def _of(engine: Engine) -> _Checkpoints:
    with _engines_guard:
        state = _engines.get(engine)
        if state is None:
            state = _engines[engine] = _Checkpoints()
        return state


def checkpoint_lock(engine: Engine) -> threading.Lock:
    """The lock every checkpoint of ``engine`` in this process holds. SQLite answers a second
    checkpoint "busy" at once, without waiting, while one runs: an erasure's TRUNCATE checkpoint
    that met a background round was put off to the worker's next retry."""
    return _of(engine).lock


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
        with checkpoint_lock(self.engine), self.engine.connect() as conn:
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
