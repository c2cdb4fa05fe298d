"""The erasure loop purge offers the worker host: claim due jobs with a lease, erase, and retry
failures with backoff.

Runs in every worker host (``worker/``), in a thread beside the API (``callvault serve``) or on its
own (``callvault worker``), as many at once as needed: claiming is one statement, so two loops
never hold the same job, and a job whose loop died is claimed again when its lease runs out.
"""

from __future__ import annotations

import contextlib
import logging
import random
import secrets
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.leases import heartbeat
from callvault.purge.eraser import Eraser
from callvault.runtime import Runtime
from callvault.store import purges
from callvault.store.engine import vacuum, write_transaction

if TYPE_CHECKING:  # prometheus_client loads with the API (api/app.py) only
    from callvault.metrics import Metrics

log = logging.getLogger(__name__)

ERASED_TABLES = ("calls", "customer_phones", "purge_jobs")


@dataclass(frozen=True)
class ErasureOptions:
    batch_size: int = 1000
    lease_seconds: float = 30.0
    max_attempts: int = 8
    max_backoff_seconds: float = 300.0
    vacuum_interval_seconds: float = 60.0
    vacuum_idle_seconds: float = 5.0


def backoff(attempt: int, cap: float) -> float:
    """Capped exponential backoff with full jitter (seconds before the next attempt)."""
    return float(random.uniform(0.5, 1.0) * min(cap, 0.5 * 2**attempt))


class ErasureLoop:
    """Erases what purges queued; at every pass of its host."""

    name = "erasure"
    every_seconds = 0.0
    when_idle = False

    def __init__(
        self, runtime: Runtime, options: ErasureOptions, metrics: Metrics | None = None
    ) -> None:
        self.runtime = runtime
        self.options = options
        self.metrics = metrics
        self.worker_id = f"{socket.gethostname()}:{secrets.token_hex(4)}"
        self.eraser = Eraser(runtime, self.worker_id)
        self.trail = AuditTrail(runtime.keys.audit_chain_key)
        self._last_vacuum = time.monotonic()

    def step(self) -> int:
        """One batch, then the checkpoints a failed batch left to write (the host's step)."""
        try:
            claimed = self.run_once()
        finally:
            if self.eraser.pending_checkpoints:
                self.eraser.retry_checkpoints()
        return claimed

    def run_once(self) -> int:
        """Claim and erase one batch; returns how many jobs were claimed."""
        opts = self.options
        jobs = purges.claim(
            self.runtime.engine, self.worker_id, opts.batch_size, opts.lease_seconds
        )
        if not jobs:
            return 0
        started = time.perf_counter()
        with self._heartbeat([j.call_id for j in jobs]):
            outcome = self.eraser.erase(jobs)
        elapsed = time.perf_counter() - started
        if self.metrics is not None and outcome.erased:
            self.metrics.calls_erased.inc(len(outcome.erased))
            self.metrics.bytes_erased.inc(outcome.bytes_erased)
            self.metrics.erase_batch_seconds.observe(elapsed)
        if outcome.erased:
            self._vacuum_if_due(drained=len(jobs) < opts.batch_size)
        by_id = {j.call_id: j for j in jobs}
        if outcome.failed:
            # Once a batch, never per call: what failed, not whose (no personal value here).
            reasons = sorted(set(outcome.failed.values()))
            log.warning(
                "erasure of %d of %d claimed calls failed (%s); each is retried with backoff",
                len(outcome.failed),
                len(jobs),
                "; ".join(reasons[:3]),
            )
        for call_id, error in outcome.failed.items():
            self._failed(by_id[call_id], error)
        return len(jobs)

    def _vacuum_if_due(self, drained: bool) -> None:
        """Vacuum the erased rows' tables when the queue runs dry, and at least every interval
        during a long backlog (a no-op on SQLite)."""
        now = time.monotonic()
        since = now - self._last_vacuum
        # Small batches arrive back to back while a purge is being accepted: vacuuming after
        # each would cost more than the erasure itself.
        if since < (
            self.options.vacuum_idle_seconds if drained else self.options.vacuum_interval_seconds
        ):
            return
        self._last_vacuum = now
        try:
            vacuum(self.runtime.engine, ERASED_TABLES)
            vacuum(self.runtime.keystore.engine, ("data_keys",))
        except Exception:
            log.warning("vacuum after erasure failed; autovacuum will catch up", exc_info=True)

    def _heartbeat(self, call_ids: list[str]) -> contextlib.AbstractContextManager[None]:
        """Renew the batch's lease every third of it while erasing, so a slow batch (a big
        blob store delete) is not taken over by another worker while this one is alive."""
        lease = self.options.lease_seconds
        return heartbeat(
            lambda: purges.extend_lease(self.runtime.engine, self.worker_id, call_ids, lease),
            lease,
            "purge-heartbeat",
        )

    def _failed(self, job: purges.Job, error: str) -> None:
        if self.metrics is not None:
            self.metrics.erase_failures.inc()
        if job.attempts < self.options.max_attempts:
            delay = backoff(job.attempts, self.options.max_backoff_seconds)
            purges.retry_later(self.runtime.engine, self.worker_id, job.call_id, error, delay)
            return
        message = f"erasure failed {job.attempts} times ({error}); purge the call again to retry"
        with write_transaction(self.runtime.engine) as conn:
            purges.give_up(conn, job.call_id, message)
            details = {"error": error, "attempts": job.attempts}
            self.trail.append(
                conn,
                [
                    AuditEvent(
                        "call.erase_failed",
                        job.requested_by,
                        job.request_id,
                        job.call_id,
                        job.session_id,
                        details,
                    )
                ],
            )

    def drain(self) -> int:
        """Erase until nothing is due (tests, benchmarks)."""
        total = 0
        while claimed := self.run_once():
            total += claimed
        if self.eraser.pending_checkpoints:
            self.eraser.retry_checkpoints()
        return total
