"""The retention loop retention offers the worker host: at every interval, busy or idle, sweep for
calls past their policy and queue their erasure (each worker host does; on PostgreSQL one at a
time, the others skip)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from callvault.retention.service import RetentionService
from callvault.runtime import Runtime

if TYPE_CHECKING:  # prometheus_client loads with the API (api/app.py) only
    from callvault.metrics import Metrics


class RetentionLoop:
    name = "retention"
    when_idle = False

    def __init__(
        self, runtime: Runtime, every_seconds: float = 60.0, metrics: Metrics | None = None
    ) -> None:
        self.every_seconds = every_seconds
        self.metrics = metrics
        self.service = RetentionService(runtime)

    def step(self) -> int:
        """One sweep; returns how many calls it queued for erasure."""
        outcome = self.service.sweep()
        if outcome.queued and self.metrics is not None:
            self.metrics.retention_queued.inc(outcome.queued)
        return outcome.queued
