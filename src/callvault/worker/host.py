"""The worker host: runs the loops the services offer, knowing nothing of what they do.

A loop is any object with a ``name``, a schedule and a ``step()`` that does one bounded piece of
work and says how much it did (0: nothing was due). Its schedule is two attributes:
``every_seconds`` (0: at every pass of the host; else at most that often, busy or idle) and
``when_idle`` (only in a pass where the loops before it did nothing). The host runs the loops in
the order given, one pass after another; a pass in which no loop did anything is followed by a
wait of ``idle_poll_seconds``, cut short by ``wake`` (set when an API node in the same process
queues work). A step that raises is logged and tried again when it is next due: one service's
failure never stops another's loop, nor the host. ``stop`` ends the host after the current step.

Claiming, leases and backoff are the loops' own (an erasure loop claims with a lease; a sweep
takes a lock or is idempotent): the host only schedules, so part three's loops (redactions,
webhook deliveries) move in without touching it or each other.
"""

from __future__ import annotations

import logging
import threading
import time
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


class WorkerHost:
    def __init__(
        self, loops: Sequence[Loop], idle_poll_seconds: float = 0.5, name: str = "worker"
    ) -> None:
        self.loops = list(loops)
        self.idle_poll_seconds = idle_poll_seconds
        self.name = name
        self.wake = threading.Event()
        self._last_run = [float("-inf")] * len(self.loops)

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
            try:
                done += loop.step()
            except Exception:
                log.exception(
                    "%s: the %s loop failed; it runs again when next due", self.name, loop.name
                )
        return done

    def run(self, stop: threading.Event) -> None:
        log.info("%s started (%s)", self.name, ", ".join(loop.name for loop in self.loops))
        while not stop.is_set():
            if not self.run_pass():
                self.wake.wait(self.idle_poll_seconds)
                self.wake.clear()
        log.info("%s stopped", self.name)


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
