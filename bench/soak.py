"""Soak: concurrent capture, status and purge traffic against one server for a bounded time.

Starts `callvault serve` (embedded store) on loopback, runs --clients threads per kind of traffic
for --seconds, and prints requests, errors and p50/p99 latency per endpoint. 5xx must be zero.

    .venv/bin/python bench/soak.py --seconds 60 --clients 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from helpers import call_info, free_port, wait_healthy, wav_bytes  # noqa: E402


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.codes: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.lock = threading.Lock()

    def record(self, name: str, started: float, status: int) -> None:
        with self.lock:
            self.latency[name].append(time.perf_counter() - started)
            self.codes[name][status] += 1


def worker(kind: str, url: str, token: str, stats: Stats, until: float, me: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    captured: list[str] = []
    n = 0
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        while time.monotonic() < until:
            n += 1
            started = time.perf_counter()
            if kind == "capture":
                session = f"soak-{me}-{n}"
                files = {
                    "info": (None, json.dumps(call_info(session)).encode(), "application/json"),
                    "data": ("a.wav", wav_bytes(0.5), "audio/wav"),
                }
                answer = client.post("/callCapture/v1/archive", files=files)
                stats.record("POST archive", started, answer.status_code)
            elif kind == "status":
                ids = [f"soak-{k}-{n % 50}" for k in range(4)]
                answer = client.post("/callCapture/v1/status", json={"CallSessionIds": ids})
                stats.record("POST status", started, answer.status_code)
                if answer.status_code == 200:
                    captured = [
                        s["sessionId"]
                        for s in answer.json()["callSessions"]
                        if s.get("callId")  # absent, not null, when NotFound
                    ]
            else:
                ids = [f"soak-{me % 2}-{k}" for k in range(n * 3, n * 3 + 3)] + captured[:2]
                what_if = "?whatIf=true" if n % 2 else ""
                answer = client.post(f"/purge/v1/calls/sessions{what_if}", json={"ids": ids})
                stats.record("POST purge sessions", started, answer.status_code)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        cli = [sys.executable, "-m", "callvault.cli.main"]
        creds = json.loads(
            subprocess.run(
                [*cli, "users", "create", "soak", "-p", "admin", "--json", "--data-dir", str(data)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        port = free_port()
        proc = subprocess.Popen(
            [*cli, "serve", "--port", str(port), "--data-dir", str(data), "--log-level", "warning"],
            env={**os.environ, "CALLVAULT_RATE_LIMIT_PER_MINUTE": "0"},
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc)
            token = httpx.post(
                f"{url}/Token", data={"grant_type": "client_credentials", **creds}
            ).json()["access_token"]
            stats = Stats()
            until = time.monotonic() + args.seconds
            threads = [
                threading.Thread(target=worker, args=(kind, url, token, stats, until, i))
                for kind in ("capture", "status", "purge")
                for i in range(args.clients)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"soak: {args.seconds:g} s, {args.clients} client(s) per kind of traffic")
    print(f"{'endpoint':<24}{'requests':>9}{'5xx':>6}{'4xx':>6}{'p50 ms':>9}{'p99 ms':>9}")
    server_errors = 0
    for name, values in sorted(stats.latency.items()):
        codes = stats.codes[name]
        fives = sum(v for c, v in codes.items() if c >= 500)
        fours = sum(v for c, v in codes.items() if 400 <= c < 500)
        server_errors += fives
        q = statistics.quantiles(values, n=100) if len(values) > 1 else [values[0]] * 99
        print(
            f"{name:<24}{len(values):>9}{fives:>6}{fours:>6}{q[49] * 1000:>9.1f}"
            f"{q[98] * 1000:>9.1f}"
        )
    sys.exit(1 if server_errors else 0)


if __name__ == "__main__":
    main()
