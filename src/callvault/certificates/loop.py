"""The loop the audit trail offers the worker host (a host of its own in every worker process):
at every pass, chain the events PostgreSQL writers appended unsequenced (``AuditTrail.sequence``,
a batch at a time until none waits), then sign a checkpoint of the head when one is due
(``checkpoints.py``). Its host polls every ``AUDIT_POLL_SECONDS`` and no erasure, redaction or
webhook shares its thread, so an event is ordered and chained within about that much of its
commit (contract §23 asks 2 s; ``bench/audit_sequencer.py`` measures it)."""

from __future__ import annotations

from dataclasses import dataclass

from callvault.audit.trail import SEQUENCE_BATCH
from callvault.certificates.service import CertificateService
from callvault.runtime import Runtime

AUDIT_POLL_SECONDS = 0.25
MAX_BATCHES = 20


@dataclass(frozen=True)
class AuditOptions:
    checkpoint_seconds: float = 10.0


class AuditLoop:
    """Sequences the audit trail and signs its checkpoints; at every pass of its host."""

    name = "audit"
    every_seconds = 0.0
    when_idle = False

    def __init__(self, runtime: Runtime, options: AuditOptions) -> None:
        self.runtime = runtime
        self.options = options
        self.checkpoints = CertificateService(runtime).checkpoints

    def step(self) -> int:
        """Chain what waits (all of it), then the checkpoint if due; returns the work done."""
        trail, engine = self.checkpoints.trail, self.runtime.engine
        done = 0
        for _ in range(MAX_BATCHES):  # then the checkpoint, even under a flood of writes
            moved = trail.sequence(engine)
            done += moved
            if moved < SEQUENCE_BATCH:
                break
        if self.checkpoints.due(self.options.checkpoint_seconds) is not None:
            done += 1
        return done
