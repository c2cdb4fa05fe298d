"""The loop capture offers the worker host: when the host is idle, at most every interval, sweep
away what a crash between capture's durable writes left behind (``orphans.py``; each worker host
does, it is idempotent)."""

from __future__ import annotations

from callvault.capture.orphans import OrphanSweeper
from callvault.runtime import Runtime


class OrphanLoop:
    name = "orphans"
    when_idle = True

    def __init__(
        self, runtime: Runtime, every_seconds: float = 300.0, grace_seconds: float = 600.0
    ) -> None:
        self.every_seconds = every_seconds
        self.sweeper = OrphanSweeper(runtime, grace_seconds)

    def step(self) -> int:
        """One sweep; returns how many keys, blobs and temporaries it removed."""
        return self.sweeper.sweep().total
