"""The worker process's wiring: each host runs every service's loop, with the settings'
values."""

from __future__ import annotations

from callvault.capture.loop import OrphanLoop
from callvault.certificates.loop import AUDIT_POLL_SECONDS, AuditLoop
from callvault.purge.loop import ErasureLoop
from callvault.redactions.loop import RedactionLoop
from callvault.retention.loop import RetentionLoop
from callvault.settings import Settings
from callvault.webhooks.loop import DeliveryLoop
from callvault.worker.process import (
    WorkerOptions,
    WorkerThreads,
    delivery_host,
    worker_host,
    worker_options,
)


def test_the_settings_reach_each_loop(tmp_path):
    options = worker_options(
        Settings(
            data_dir=tmp_path,
            purge_batch_size=7,
            purge_lease_seconds=9,
            purge_max_attempts=3,
            retention_interval_seconds=11,
            webhook_retry_seconds=2.5,
            webhook_lease_seconds=13,
            audit_checkpoint_seconds=17,
        )
    )
    assert (options.erasure.batch_size, options.erasure.lease_seconds) == (7, 9)
    assert options.erasure.max_attempts == 3
    assert options.retention_interval_seconds == 11
    assert (options.webhooks.retry_seconds, options.webhooks.lease_seconds) == (2.5, 13)
    assert options.audit.checkpoint_seconds == 17


def test_a_host_runs_erasure_redaction_then_retention_then_orphans_when_idle(runtime):
    host = worker_host(runtime, WorkerOptions(retention_interval_seconds=5))
    erasure, redaction, retention, orphans = host.loops
    assert isinstance(erasure, ErasureLoop)
    assert (erasure.every_seconds, erasure.when_idle) == (0.0, False)
    assert isinstance(redaction, RedactionLoop)
    assert (redaction.every_seconds, redaction.when_idle) == (0.0, False)
    assert isinstance(retention, RetentionLoop)
    assert (retention.every_seconds, retention.when_idle) == (5, False)
    assert isinstance(orphans, OrphanLoop)
    assert orphans.when_idle


def test_webhook_deliveries_have_a_host_of_their_own(runtime):
    """A receiver that hangs holds its delivery's host, never an erasure."""
    host = delivery_host(runtime, WorkerOptions())
    (webhooks,) = host.loops
    assert isinstance(webhooks, DeliveryLoop)
    assert (webhooks.every_seconds, webhooks.when_idle) == (0.0, False)


def test_threads_are_one_host_each(runtime):
    threads = WorkerThreads(runtime, WorkerOptions(), 3, None)
    assert [h.name for h in threads.hosts] == [
        "worker-0",
        "worker-1",
        "worker-2",
        "webhooks-0",
        "webhooks-1",
        "webhooks-2",
        "audit",  # one a process: the sequencer and checkpoint signer (certificates/loop.py)
    ]
    assert len({id(h.loops[0]) for h in threads.hosts}) == 7
    assert isinstance(threads.hosts[-1].loops[0], AuditLoop)
    assert threads.hosts[-1].idle_poll_seconds == AUDIT_POLL_SECONDS
    assert not any(isinstance(loop, DeliveryLoop) for h in threads.hosts[:3] for loop in h.loops)


def test_a_worker_start_imports_neither_alembic_nor_the_http_client_nor_ffmpeg(tmp_path):
    """What a worker process loads before its first claim is most of the time to its first
    erasure (bench/README.md): Alembic, httpx, PyAV and prometheus_client wait until an upgrade,
    a webhook delivery, a redaction or the API's metrics need them."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from callvault.runtime import Runtime\n"
        "from callvault.settings import Settings\n"
        "from callvault.worker.process import worker_host, worker_options\n"
        "runtime = Runtime.open(Settings(data_dir=Path(sys.argv[1])))\n"
        "worker_host(runtime, worker_options(runtime.settings)).run_pass()\n"
        "runtime.close()\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(loaded & {'alembic', 'httpx', 'av', 'prometheus_client'}))\n"
    )
    first = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr  # the first start migrates the new store
    again = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "[]", again.stdout
