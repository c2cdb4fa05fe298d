"""Prometheus metrics, one registry per app instance (no module globals: tests build many)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from callvault.store.audit import oldest_pending_at
from callvault.store.purges import queue_stats
from callvault.store.types import utcnow


class _QueueCollector(Collector):
    """Queue depth and age, read from the database at scrape time (true across all workers)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = queue_stats(self.engine)
        yield GaugeMetricFamily(
            "callvault_purge_queue_depth",
            "Calls accepted for erasure, not yet erased.",
            stats.depth,
        )
        yield GaugeMetricFamily(
            "callvault_purge_jobs_failed", "Erasures that gave up (items in Error).", stats.failed
        )
        yield GaugeMetricFamily(
            "callvault_purge_oldest_pending_seconds",
            "Age of the oldest erasure still pending.",
            stats.oldest_age_seconds,
        )
        waiting = oldest_pending_at(self.engine)
        yield GaugeMetricFamily(
            "callvault_audit_oldest_unsequenced_seconds",
            "Age of the oldest audit event written but not yet ordered and chained by the "
            "sequencer (PostgreSQL; 0 when none waits). Bounded by about 2 s while a worker runs.",
            0.0 if waiting is None else max((utcnow() - waiting).total_seconds(), 0.0),
        )


class Metrics:
    def __init__(self, engine: Engine | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.purge_requests = Counter(
            "callvault_purge_requests", "Purge requests accepted.", ["kind", "what_if"], registry=r
        )
        self.purge_items = Counter(
            "callvault_purge_items", "Purge request items by status.", ["status"], registry=r
        )
        self.calls_erased = Counter("callvault_calls_erased", "Calls erased.", registry=r)
        self.bytes_erased = Counter(
            "callvault_audio_bytes_erased", "Audio bytes erased.", registry=r
        )
        self.erase_failures = Counter(
            "callvault_erase_failures", "Failed erasure attempts of a call.", registry=r
        )
        self.retention_queued = Counter(
            "callvault_retention_queued",
            "Calls the retention sweep queued for erasure (past their policy's age).",
            registry=r,
        )
        self.erase_batch_seconds = Histogram(
            "callvault_erase_batch_seconds", "Time to erase one claimed batch.", registry=r
        )
        self.customer_numbers_unindexed = Counter(
            "callvault_customer_numbers_unindexed",
            "Customer phone numbers captured that could not be indexed: no customer purge or hold "
            "finds their calls by them (`callvault calls unindexed` lists the calls).",
            registry=r,
        )
        self.http_requests = Counter(
            "callvault_http_requests",
            "HTTP requests by route and status.",
            ["route", "status"],
            registry=r,
        )
        if engine is not None:
            r.register(_QueueCollector(engine))
