"""Group commit: concurrent callers share commits, see each other's writes in order, and one
failing caller cannot fail the others. Real SQLite, real threads."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Connection, event

from callvault.store.engine import make_engine
from callvault.store.group_commit import GroupCommitter
from helpers import commit_durability


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
    yield engine
    engine.dispose()


def _hold(committer: GroupCommitter) -> None:
    """Pretend a leader is busy, so callers queue and wait (to arrange a batch)."""
    with committer._cond:
        committer._leading = True


def _let_go(committer: GroupCommitter) -> None:
    with committer._cond:
        committer._leading = False
        committer._cond.notify_all()


def _rows(engine):
    with engine.connect() as conn:
        return dict(conn.exec_driver_sql("SELECT k, v FROM t").all())


def test_a_lone_caller_commits_and_gets_its_result(engine):
    committer = GroupCommitter(engine)
    assert committer.run(lambda c: c.exec_driver_sql("INSERT INTO t VALUES (1, 'a')").rowcount) == 1
    assert _rows(engine) == {1: "a"}


def test_concurrent_callers_share_commits(engine):
    commits = []
    event.listen(engine, "commit", lambda conn: commits.append(1))
    committer = GroupCommitter(engine)
    gate = threading.Barrier(32)

    def insert(k: int) -> int:
        def unit(conn: Connection) -> int:
            conn.exec_driver_sql("INSERT INTO t VALUES (?, ?)", (k, f"v{k}"))
            return k * 10

        gate.wait()
        return committer.run(unit)

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(insert, range(32)))
    assert results == [k * 10 for k in range(32)]
    assert _rows(engine) == {k: f"v{k}" for k in range(32)}
    assert len(commits) < 32  # fewer commits than callers: some were shared


def test_a_unit_sees_the_writes_of_the_units_before_it(engine):
    committer = GroupCommitter(engine)
    seen: list[int] = []
    _hold(committer)  # queue both units before anyone may lead

    def first(conn: Connection) -> None:
        conn.exec_driver_sql("INSERT INTO t VALUES (1, 'first')")

    def second(conn: Connection) -> None:
        seen.append(conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one())

    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(committer.run, first)
        while len(committer._queue) < 1:
            time.sleep(0.001)
        b = pool.submit(committer.run, second)
        while len(committer._queue) < 2:
            time.sleep(0.001)
        _let_go(committer)
        a.result(), b.result()
    assert seen == [1]


def test_one_failing_unit_fails_only_its_caller(engine):
    committer = GroupCommitter(engine)
    _hold(committer)

    def good(k: int):
        return lambda conn: conn.exec_driver_sql("INSERT INTO t VALUES (?, 'ok')", (k,)) and k

    def bad(conn: Connection) -> None:
        conn.exec_driver_sql("INSERT INTO t VALUES (99, 'partial')")
        raise ValueError("this caller's own mistake")

    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(committer.run, good(1))
        while len(committer._queue) < 1:
            time.sleep(0.001)
        broken = pool.submit(committer.run, bad)
        while len(committer._queue) < 2:
            time.sleep(0.001)
        last = pool.submit(committer.run, good(2))
        while len(committer._queue) < 3:
            time.sleep(0.001)
        _let_go(committer)
        assert first.result() == 1
        assert last.result() == 2
        with pytest.raises(ValueError, match="own mistake"):
            broken.result()
    assert _rows(engine) == {1: "ok", 2: "ok"}  # nothing of the failed unit


def test_a_failure_outside_the_units_fails_every_caller_once(engine):
    """A commit that cannot happen (here: the batch's finishing step fails) is reported to every
    caller of the batch, without re-running each unit alone behind the lock."""
    runs: list[int] = []

    def finish(conn: Connection, results: list[object]) -> None:
        raise OSError("disk full")

    committer = GroupCommitter(engine, finish=finish)
    _hold(committer)  # hold everyone until all three are queued

    def unit(k: int):
        def run(conn: Connection) -> int:
            runs.append(k)
            return k

        return run

    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(committer.run, unit(k)) for k in range(3)]
        while len(committer._queue) < 3:
            time.sleep(0.001)
        _let_go(committer)
        for future in futures:
            with pytest.raises(OSError, match="disk full"):
                future.result()
    assert sorted(runs) == [0, 1, 2]  # each unit ran once: no one-by-one retry


def test_finish_runs_once_per_batch_after_every_unit(engine):
    """The batch's closing step (the audit append) runs after all units, in their transaction."""
    calls: list[list[object]] = []

    def finish(conn: Connection, results: list[object]) -> None:
        count = conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one()
        calls.append([*results, count])

    committer = GroupCommitter(engine, finish=finish)
    _hold(committer)

    def unit(k: int):
        return lambda conn: conn.exec_driver_sql("INSERT INTO t VALUES (?, 'x')", (k,)) and k

    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(committer.run, unit(k)) for k in range(3)]
        while len(committer._queue) < 3:
            time.sleep(0.001)
        _let_go(committer)
        assert sorted(f.result() for f in futures) == [0, 1, 2]
    assert len(calls) == 1
    assert sorted(calls[0][:3]) == [0, 1, 2]
    assert calls[0][3] == 3


def test_a_relaxed_committer_runs_its_units_without_the_flush(engine):
    assert GroupCommitter(engine).run(commit_durability) == "durable"
    assert GroupCommitter(engine, durable=False).run(commit_durability) == "relaxed"
