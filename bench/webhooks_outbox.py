"""Webhooks (contract §23): what the outbox costs the erasure path, and how fast one worker sends.

    .venv/bin/python bench/webhooks_outbox.py [--requests N] [--deliveries N]

In process, on fresh embedded stores in a temporary directory:

1. The write path. ``--requests`` purge requests of one call each (default 300) are accepted and
   erased (``PurgeService.purge_calls`` then ``ErasureLoop.run_once`` until the queue is empty)
   on a store with no webhook and on one with three webhooks subscribed to ``purge.completed``
   (each settled request then writes three deliveries in the erasure's transaction). Rounds
   alternate between the stores; the medians of the per-request times are compared.
2. Sending. ``--deliveries`` deliveries (default 500) are sent by one ``DeliveryLoop`` to a
   local receiver that answers 204 (``http.server``, threads), each signed with
   ``standardwebhooks``: deliveries a second, claim, sign, POST and log included.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.demo import seed_calls
from callvault.purge.loop import ErasureLoop, ErasureOptions
from callvault.purge.service import PurgeService
from callvault.runtime import Runtime
from callvault.settings import Settings
from callvault.store.engine import write_transaction
from callvault.webhooks.loop import DeliveryLoop, DeliveryOptions
from callvault.webhooks.service import WebhookService


def _erase_round(runtime: Runtime, call_ids: list[str]) -> list[float]:
    purges, erasure, times = PurgeService(runtime), ErasureLoop(runtime, ErasureOptions()), []
    for call_id in call_ids:
        started = time.perf_counter()
        purges.purge_calls([call_id], False, "bench")
        while erasure.run_once():
            pass
        times.append(time.perf_counter() - started)
    return times


def write_path(root: Path, requests: int) -> None:
    stores: dict[str, Runtime] = {}
    calls: dict[str, list[str]] = {}
    for name, webhooks in (("no webhook", 0), ("3 webhooks", 3)):
        runtime = Runtime.open(Settings(data_dir=root / name.replace(" ", "-")))
        for _ in range(webhooks):
            WebhookService(runtime).create("https://hooks.example/x", ["purge.completed"], "b")
        stores[name] = runtime
        calls[name] = seed_calls(runtime, requests, seed=1, audio_bytes=1024)
    times: dict[str, list[float]] = {name: [] for name in stores}
    rounds = 5
    size = requests // rounds
    for r in range(rounds):
        for name, runtime in stores.items():
            times[name] += _erase_round(runtime, calls[name][r * size : (r + 1) * size])
    base = statistics.median(times["no webhook"])
    for name, found in times.items():
        median = statistics.median(found)
        print(
            f"write path, {name}: {len(found)} requests, median {median * 1000:.2f} ms "
            f"(accept + erase one call), {median / base:.3f}x"
        )
    for runtime in stores.values():
        runtime.close()


class _Answer204(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def sending(root: Path, deliveries: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer204)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    runtime = Runtime.open(Settings(data_dir=root / "sending"))
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    WebhookService(runtime).create(url, ["hold.released"], "bench")
    trail = AuditTrail(runtime.keys.audit_chain_key)
    event = AuditEvent("hold.released", "bench", details={"holdId": "h", "resumedCalls": 0})
    with write_transaction(runtime.engine) as conn:
        trail.append(conn, [event] * deliveries)
    loop = DeliveryLoop(runtime, DeliveryOptions(batch_size=100))
    started = time.perf_counter()
    sent = 0
    while done := loop.step():
        sent += done
    elapsed = time.perf_counter() - started
    print(f"sending: {sent} deliveries in {elapsed:.2f} s, {sent / elapsed:.0f}/s (one worker)")
    loop.close()
    runtime.close()
    server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--deliveries", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write_path(Path(tmp), args.requests)
        sending(Path(tmp), args.deliveries)


if __name__ == "__main__":
    main()
