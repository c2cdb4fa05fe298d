"""The worker host schedules loops it knows nothing about: order, intervals, idle-only loops,
failures that stop nothing, waking, and a clean stop."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from callvault.worker.host import HostThreads, WorkerHost


@dataclass
class FakeLoop:
    """A loop that does ``work`` units at each step until it runs out (a real loop's shape)."""

    name: str
    work: list[int] = field(default_factory=list)
    every_seconds: float = 0.0
    when_idle: bool = False
    fail: bool = False
    steps: int = 0
    log: list[str] | None = None

    def step(self) -> int:
        self.steps += 1
        if self.log is not None:
            self.log.append(self.name)
        if self.fail:
            raise RuntimeError(f"{self.name} is broken")
        return self.work.pop(0) if self.work else 0


def test_loops_run_in_order_and_their_work_is_added():
    log: list[str] = []
    host = WorkerHost([FakeLoop("a", [2], log=log), FakeLoop("b", [3], log=log)])
    assert host.run_pass() == 5
    assert log == ["a", "b"]
    assert host.run_pass() == 0


def test_an_idle_loop_runs_only_in_a_pass_where_the_loops_before_it_did_nothing():
    busy = FakeLoop("erasure", [1, 1])
    idle = FakeLoop("orphans", when_idle=True)
    host = WorkerHost([busy, idle])
    host.run_pass()
    host.run_pass()
    assert idle.steps == 0
    host.run_pass()  # the erasure loop has run dry
    assert idle.steps == 1


def test_a_loop_with_an_interval_runs_at_most_that_often():
    periodic = FakeLoop("retention", every_seconds=0.2)
    host = WorkerHost([periodic])
    for _ in range(5):
        host.run_pass()
    assert periodic.steps == 1
    time.sleep(0.25)
    host.run_pass()
    assert periodic.steps == 2


def test_a_failing_loop_stops_neither_the_others_nor_itself(caplog):
    broken = FakeLoop("broken", fail=True)
    healthy = FakeLoop("healthy", [4])
    host = WorkerHost([broken, healthy], name="worker-7")
    assert host.run_pass() == 4
    host.run_pass()
    assert broken.steps == 2
    assert healthy.steps == 2
    assert "worker-7: the broken loop failed" in caplog.text


def test_a_waiting_host_is_woken_and_stops_cleanly():
    work = FakeLoop("erasure")
    threads = HostThreads([WorkerHost([work], idle_poll_seconds=60)])
    threads.start()
    try:
        deadline = time.monotonic() + 10
        while work.steps == 0:  # the first pass, then a wait of a minute
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.05)
        before = work.steps
        work.work.append(1)
        threads.notify()
        while work.steps < before + 2:  # woken: the pass that finds the work, and one more
            assert time.monotonic() < deadline, "notify did not wake the host"
            time.sleep(0.01)
    finally:
        started = time.monotonic()
        threads.close(timeout=10)
    assert time.monotonic() - started < 5
    assert not any(t.is_alive() for t in threads.threads)


def test_run_returns_once_stopped():
    host = WorkerHost([FakeLoop("erasure")], idle_poll_seconds=0.01)
    stop = threading.Event()
    thread = threading.Thread(target=host.run, args=(stop,))
    thread.start()
    stop.set()
    thread.join(5)
    assert not thread.is_alive()


@dataclass
class StuckLoop:
    """A loop whose step waits on something that does not come (a lock, a remote call)."""

    release: threading.Event
    name: str = "erasure"
    every_seconds: float = 0.0
    when_idle: bool = False

    def step(self) -> int:
        self.wait_for_the_blob_store()
        return 1

    def wait_for_the_blob_store(self) -> None:
        self.release.wait(30)


def test_a_step_that_makes_no_progress_says_once_what_it_waits_on(caplog):
    caplog.set_level("INFO", logger="callvault.worker.host")
    release = threading.Event()
    host = WorkerHost([StuckLoop(release)], name="worker-3", stall_warning_seconds=0.2)
    stop = threading.Event()
    thread = threading.Thread(target=host.run, args=(stop,), name="worker-3")
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while "no progress" not in caplog.text:
            assert time.monotonic() < deadline, "a stuck step was never reported"
            time.sleep(0.02)
        time.sleep(0.6)  # several more watchdog rounds: still one warning
    finally:
        stop.set()
        release.set()
        thread.join(10)
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    message = warnings[0].getMessage()
    assert "worker-3: the erasure loop has made no progress for" in message
    # Where it waits: the innermost frames of the host's thread, by function name.
    assert "wait_for_the_blob_store" in message
    assert "worker-3: the erasure loop moved again after" in caplog.text


def test_a_step_that_ends_in_time_is_not_reported(caplog):
    host = WorkerHost([FakeLoop("erasure", [1, 1])], stall_warning_seconds=5)
    stop = threading.Event()
    thread = threading.Thread(target=host.run, args=(stop,))
    thread.start()
    time.sleep(0.2)
    stop.set()
    thread.join(5)
    assert "no progress" not in caplog.text
