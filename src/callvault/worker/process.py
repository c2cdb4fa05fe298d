"""The worker process's wiring: which loops each worker host runs, in which order, and with what
settings. The one module that names the services' loops (``<service>/loop.py``).

Each worker host runs, at every pass: the erasure loop (purge), the redaction loop (one redaction
a pass, redactions), the retention sweep when its interval is due (retention), and, in a pass
where none of them did anything, the orphan sweep when its interval is due (capture). Beside each
worker host, a host of its own sends the webhook deliveries that are due (webhooks), so that a
slow receiver never delays an erasure. One more host per process orders and chains the audit
trail's events and signs its checkpoints (certificates), on a short poll of its own so that
an event is sequenced within a fraction of a second of its commit whatever the others are doing.
``callvault serve`` runs ``worker_concurrency`` hosts of
each kind in threads beside the API; ``callvault worker`` runs them alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from callvault.capture.loop import OrphanLoop
from callvault.certificates.loop import AUDIT_POLL_SECONDS, AuditLoop, AuditOptions
from callvault.purge.loop import ErasureLoop, ErasureOptions
from callvault.redactions.loop import RedactionLoop, RedactionOptions
from callvault.retention.loop import RetentionLoop
from callvault.runtime import Runtime
from callvault.settings import Settings
from callvault.webhooks.loop import DeliveryLoop, DeliveryOptions
from callvault.worker.host import HostThreads, Loop, WorkerHost

if TYPE_CHECKING:  # prometheus_client loads with the API (api/app.py) only
    from callvault.metrics import Metrics


@dataclass(frozen=True)
class WorkerOptions:
    erasure: ErasureOptions = field(default_factory=ErasureOptions)
    idle_poll_seconds: float = 0.5
    sweep_interval_seconds: float = 300.0
    orphan_grace_seconds: float = 600.0
    retention_interval_seconds: float = 60.0
    webhooks: DeliveryOptions = field(default_factory=DeliveryOptions)
    redaction: RedactionOptions = field(default_factory=RedactionOptions)
    audit: AuditOptions = field(default_factory=AuditOptions)


def worker_options(settings: Settings) -> WorkerOptions:
    return WorkerOptions(
        erasure=ErasureOptions(
            batch_size=settings.purge_batch_size,
            lease_seconds=settings.purge_lease_seconds,
            max_attempts=settings.purge_max_attempts,
        ),
        retention_interval_seconds=settings.retention_interval_seconds,
        webhooks=DeliveryOptions(
            retry_seconds=settings.webhook_retry_seconds,
            lease_seconds=settings.webhook_lease_seconds,
        ),
        redaction=RedactionOptions(lease_seconds=settings.redaction_lease_seconds),
        audit=AuditOptions(checkpoint_seconds=settings.audit_checkpoint_seconds),
    )


def service_loops(
    runtime: Runtime, options: WorkerOptions, metrics: Metrics | None = None
) -> list[Loop]:
    return [
        ErasureLoop(runtime, options.erasure, metrics),
        RedactionLoop(runtime, options.redaction),
        RetentionLoop(runtime, options.retention_interval_seconds, metrics),
        OrphanLoop(runtime, options.sweep_interval_seconds, options.orphan_grace_seconds),
    ]


def worker_host(
    runtime: Runtime, options: WorkerOptions, metrics: Metrics | None = None, name: str = "worker"
) -> WorkerHost:
    return WorkerHost(service_loops(runtime, options, metrics), options.idle_poll_seconds, name)


def delivery_host(runtime: Runtime, options: WorkerOptions, name: str = "webhooks") -> WorkerHost:
    """Webhook deliveries run in a host (a thread) of their own: a receiver that answers slowly,
    or not at all, holds its delivery for up to the attempt's deadline, and erasure must never
    wait behind it."""
    return WorkerHost([DeliveryLoop(runtime, options.webhooks)], options.idle_poll_seconds, name)


def audit_host(runtime: Runtime, options: WorkerOptions, name: str = "audit") -> WorkerHost:
    """The audit trail's sequencer and checkpoint signer, in a host of its own (one a
    process): a long erasure batch never delays the ordering of events."""
    return WorkerHost([AuditLoop(runtime, options.audit)], AUDIT_POLL_SECONDS, name)


class WorkerThreads(HostThreads):
    """``count`` worker hosts in threads of this process, as many webhook hosts, and one audit
    host."""

    def __init__(
        self, runtime: Runtime, options: WorkerOptions, count: int, metrics: Metrics | None
    ) -> None:
        super().__init__(
            [worker_host(runtime, options, metrics, f"worker-{i}") for i in range(count)]
            + [delivery_host(runtime, options, f"webhooks-{i}") for i in range(count)]
            + [audit_host(runtime, options)]
        )
