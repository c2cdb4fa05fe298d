"""The worker host: runs the loops the services offer, knowing nothing of what they do.

A loop is any object with a ``name``, a schedule and a ``step()`` that does one bounded piece of
work and says how much it did (0: nothing was due). Its schedule is two attributes:
``every_seconds`` (0: at every pass of the host; else at most that often, busy or idle) and
``when_idle`` (only in a pass where the loops before it did nothing). The host runs the loops in
the order given, one pass after another; a pass in which no loop did anything is followed by a
wait of ``idle_poll_seconds``, cut short by ``wake`` (set when an API node in the same process
queues work). A step that raises is logged and tried again when it is next due: one service's
failure never stops another's loop, nor the host. ``stop`` ends the host after the current step.

A step that runs for ``stall_warning_seconds`` (30 s) without ending is reported, once, by a
watchdog thread: which loop, for how long, and where its thread waits (the innermost frames of its
stack, by module and function: the lock, the statement, the remote call), then again when it moves.
A worker holding due work that says nothing for minutes is the worst failure an erasure service
can have; the remote calls under a step are bounded (``CALLVAULT_DB_STATEMENT_TIMEOUT_SECONDS``,
``CALLVAULT_S3_TIMEOUT_SECONDS``), so a report is followed by an error or by progress, never by
silence.

Claiming, leases and backoff are the loops' own (an erasure loop claims with a lease; a sweep
takes a lock or is idempotent): the host only schedules, so part three's loops (redactions,
webhook deliveries) move in without touching it or each other.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from typing import Protocol

log = logging.getLogger(__name__)


class Loop(Protocol):
    """What a service offers the worker host (structurally: a service need not import this)."""

    @property
    def name(self) -> str: ...

    @property
    def every_seconds(self) -> float: ...

    @property
    def when_idle(self) -> bool: ...

    def step(self) -> int:
        """Do one bounded piece of work; return how much was done (0: nothing was due)."""
        ...


STALL_WARNING_SECONDS = 30.0


def waiting_in(thread_id: int | None, depth: int = 4) -> str:
    """Where a thread is now: its innermost frames as ``module.function:line``, innermost
    last (names and line numbers only: never a value, so never a personal one)."""
    frame = sys._current_frames().get(thread_id) if thread_id is not None else None
    if frame is None:
        return "(thread not running)"
    stack = traceback.extract_stack(frame)[-depth:]
    return " > ".join(
        f"{_module_of(entry.filename)}.{entry.name}:{entry.lineno}" for entry in stack
    )


def _module_of(filename: str) -> str:
    parts = filename.replace("\\", "/").split("/")
    for anchor in ("callvault", "site-packages"):
        if anchor in parts:
            tail = parts[len(parts) - parts[::-1].index(anchor) :]
            if anchor == "callvault":
                tail = ["callvault", *tail]
            return ".".join(tail).removesuffix(".py")
    return parts[-1].removesuffix(".py")


class WorkerHost:
    def __init__(
        self,
        loops: Sequence[Loop],
        idle_poll_seconds: float = 0.5,
        name: str = "worker",
        stall_warning_seconds: float = STALL_WARNING_SECONDS,
    ) -> None:
        self.loops = list(loops)
        self.idle_poll_seconds = idle_poll_seconds
        self.name = name
        self.stall_warning_seconds = stall_warning_seconds
        self.wake = threading.Event()
        self._last_run = [float("-inf")] * len(self.loops)
        # The step running now (its loop's name, when it started), read by the watchdog.
        self._step: tuple[str, float] | None = None
        self._thread_id: int | None = None

    def loop(self, name: str) -> Loop:
        """The loop of that name (tests, benchmarks)."""
        for loop in self.loops:
            if loop.name == name:
                return loop
        raise KeyError(name)

    def run_pass(self) -> int:
        """Run every loop that is due, in order; returns the work done by all of them."""
        done = 0
        for number, loop in enumerate(self.loops):
            if loop.when_idle and done:
                continue
            now = time.monotonic()
            if loop.every_seconds and now - self._last_run[number] < loop.every_seconds:
                continue
            self._last_run[number] = now
            self._step = (loop.name, now)
            try:
                done += loop.step()
            except Exception:
                log.exception(
                    "%s: the %s loop failed; it runs again when next due", self.name, loop.name
                )
            finally:
                self._step = None
        return done

    def run(self, stop: threading.Event) -> None:
        log.info("%s started (%s)", self.name, ", ".join(loop.name for loop in self.loops))
        self._thread_id = threading.get_ident()
        finished = threading.Event()
        watchdog = threading.Thread(
            target=self._watch, args=(finished,), name=f"{self.name}-watchdog", daemon=True
        )
        watchdog.start()
        try:
            while not stop.is_set():
                if not self.run_pass():
                    self.wake.wait(self.idle_poll_seconds)
                    self.wake.clear()
        finally:
            finished.set()
            watchdog.join()
        log.info("%s stopped", self.name)

    def _watch(self, finished: threading.Event) -> None:
        """Report a step that has run ``stall_warning_seconds`` without ending: once, saying
        where it waits; then once more when it ends."""
        reported: tuple[str, float] | None = None
        while True:
            stopping = finished.wait(min(1.0, self.stall_warning_seconds / 4))
            step = None if stopping else self._step
            if reported is not None and step != reported:
                log.info(
                    "%s: the %s loop moved again after %.1f s",
                    self.name,
                    reported[0],
                    time.monotonic() - reported[1],
                )
                reported = None
            if stopping:
                return
            if step is None or step == reported:
                continue
            running = time.monotonic() - step[1]
            if running >= self.stall_warning_seconds:
                reported = step
                log.warning(
                    "%s: the %s loop has made no progress for %.1f s; it waits in %s",
                    self.name,
                    step[0],
                    running,
                    waiting_in(self._thread_id),
                )


class HostThreads:
    """Worker hosts, each in a thread of this process, stopped together."""

    def __init__(self, hosts: Sequence[WorkerHost]) -> None:
        self.hosts = list(hosts)
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=h.run, args=(self.stop,), name=h.name, daemon=True)
            for h in self.hosts
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def notify(self) -> None:
        """Work was queued: every host looks now rather than at its next poll."""
        for host in self.hosts:
            host.wake.set()

    def close(self, timeout: float = 30) -> None:
        self.stop.set()
        self.notify()
        for thread in self.threads:
            thread.join(timeout)
