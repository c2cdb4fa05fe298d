"""SQLite WAL checkpoints in a thread of their own: a commit never folds the WAL back itself."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from callvault.runtime import Runtime
from callvault.settings import Settings
from callvault.store.checkpointer import BACKSTOP_PAGES, BackgroundCheckpointer, checkpoint_lock
from callvault.store.engine import checkpoint, make_engine, write_transaction

# One commit of this many 4 KiB pages passes SQLite's default threshold (1,000 pages), below
# which a commit never checkpoints, and stays under the backstop.
PAGES = 1_500


def _write_pages(engine, pages: int = PAGES) -> None:
    with write_transaction(engine) as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS filler (b BLOB)"))
        for _ in range(pages):
            conn.execute(text("INSERT INTO filler VALUES (:b)"), {"b": os.urandom(4000)})


def _database_bytes(path: Path) -> int:
    return path.stat().st_size


def test_a_plain_engine_checkpoints_in_the_commit(tmp_path):
    """The behaviour this module moves off the request path, shown on an engine without it."""
    path = tmp_path / "plain.db"
    engine = make_engine(f"sqlite:///{path}")
    _write_pages(engine)
    assert _database_bytes(path) > PAGES * 4000  # the commit wrote the pages in place
    engine.dispose()


def test_a_commit_leaves_the_wal_to_the_checkpointer_which_folds_it(tmp_path):
    path = tmp_path / "calls.db"
    engine = make_engine(f"sqlite:///{path}", background_checkpoints=True)
    checkpointer = BackgroundCheckpointer(engine)  # not started: run by hand below
    _write_pages(engine)
    assert _database_bytes(path) < PAGES * 4000  # still only in the WAL
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM filler").scalar() == PAGES
    checkpointer.run_once()
    assert _database_bytes(path) > PAGES * 4000
    engine.dispose()


def test_the_commits_own_threshold_is_only_a_backstop(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}", background_checkpoints=True)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == BACKSTOP_PAGES
    engine.dispose()


def test_a_runtime_checkpoints_both_databases_in_the_background_and_stops_on_close(tmp_path):
    runtime = Runtime.open(Settings(data_dir=tmp_path / "data"))
    try:
        for engine in (runtime.engine, runtime.keystore.engine):
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == BACKSTOP_PAGES
        threads = [c.thread for c in runtime.checkpointers]
        assert len(threads) == 2
        assert all(t is not None and t.is_alive() for t in threads)
        path = tmp_path / "data" / "callvault.db"
        _write_pages(runtime.engine)
        deadline = time.monotonic() + 30
        while _database_bytes(path) < PAGES * 4000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _database_bytes(path) > PAGES * 4000
    finally:
        runtime.close()
    assert not any(t is not None and t.is_alive() for t in threads)


@pytest.mark.both_backends
def test_postgresql_needs_no_checkpointer(settings):
    runtime = Runtime.open(settings)
    try:
        expected = 2 if settings.database_url is None else 0
        assert len(runtime.checkpointers) == expected
    finally:
        runtime.close()


def test_a_failing_checkpoint_is_logged_and_retried(tmp_path, caplog):
    engine = make_engine(f"sqlite:///{tmp_path / 'b.db'}", background_checkpoints=True)
    checkpointer = BackgroundCheckpointer(engine, interval=0.01)
    calls: list[int] = []

    def failing() -> None:
        calls.append(1)
        raise OSError("disk gone")

    checkpointer.run_once = failing  # type: ignore[method-assign]
    checkpointer.start()
    deadline = time.monotonic() + 30
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    checkpointer.close()
    assert len(calls) >= 3  # the thread survived the first failure
    assert "checkpoint" in caplog.text
    engine.dispose()


def _waits_while_held(held_by, checkpointing) -> None:
    """While a round of ``held_by``'s holds the lock, a round of ``checkpointing``'s would skip
    and its erasure checkpoint waits (SQLite alone would answer busy), then succeeds."""
    done = threading.Event()
    results: list[bool] = []

    def erasure_checkpoint() -> None:
        results.append(checkpoint(checkpointing, attempts=1))
        done.set()

    with checkpoint_lock(held_by) as taken:
        assert taken
        with checkpoint_lock(checkpointing, wait=False) as second:
            assert not second
        thread = threading.Thread(target=erasure_checkpoint)
        thread.start()
        assert not done.wait(0.3)
    thread.join(timeout=30)
    assert results == [True]


def test_erasures_checkpoint_waits_for_the_background_one_instead_of_finding_it_busy(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}", background_checkpoints=True)
    _write_pages(engine, 10)
    _waits_while_held(engine, engine)
    engine.dispose()


def test_no_background_round_while_erasure_checkpoints_anyway(tmp_path):
    """A worker checkpoints after every batch: a background round then would only contend."""
    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}", background_checkpoints=True)
    _write_pages(engine, 10)
    checkpointer = BackgroundCheckpointer(engine, interval=2.0)
    rounds: list[int] = []
    checkpointer.run_once = lambda: rounds.append(1)  # type: ignore[method-assign]
    checkpointer.start()
    end = time.monotonic() + 5
    while time.monotonic() < end:
        assert checkpoint(engine)
        time.sleep(0.1)
    checkpointer.close()
    assert rounds == []
    engine.dispose()


def test_a_checkpoint_waits_for_another_processs_round_on_the_same_database(tmp_path):
    """Two engines on one file stand for `callvault serve` and a separate `callvault worker`:
    the lock file beside the database orders their checkpoints."""
    path = tmp_path / "shared.db"
    serve = make_engine(f"sqlite:///{path}", background_checkpoints=True)
    worker = make_engine(f"sqlite:///{path}", background_checkpoints=True)
    _write_pages(serve, 10)
    _waits_while_held(serve, worker)
    assert stat.S_IMODE((tmp_path / "shared.db-checkpoint").stat().st_mode) == 0o600
    serve.dispose()
    worker.dispose()
