"""Purge-request intake over HTTP: requests of 100 call IDs per second, p50/p99 latency,
beside a no-op endpoint on the same server stack measured in the same run.

The server runs in its own process without the purge worker (intake alone is measured); one
client connection sends requests back to back with keep-alive.

    .venv/bin/python bench/purge_intake.py --requests 300
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "tests"))
from callvault.auth.users import create_user  # noqa: E402
from callvault.demo import seed_calls  # noqa: E402
from callvault.runtime import Runtime  # noqa: E402
from callvault.settings import Settings  # noqa: E402
from helpers import free_port, wait_healthy  # noqa: E402


def run(
    client: httpx.Client, path: str, bodies: list[dict[str, object]]
) -> tuple[float, list[float]]:
    latencies = []
    start = time.perf_counter()
    for body in bodies:
        t = time.perf_counter()
        answer = client.post(path, json=body)
        latencies.append(time.perf_counter() - t)
        assert answer.status_code == 200, answer.text
    return len(bodies) / (time.perf_counter() - start), latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        runtime = Runtime.open(Settings(data_dir=data))
        ids = seed_calls(runtime, args.requests * 100, seed=3, batch=5000)
        creds = create_user(runtime.engine, "bench", ["purge"])
        runtime.close()
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "intake_server.py"), str(data), str(port)]
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc)
            token = httpx.post(
                f"{url}/Token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": creds.client_id,
                    "client_secret": creds.client_secret,
                },
            ).json()["access_token"]
            bodies = [{"ids": ids[i : i + 100]} for i in range(0, len(ids), 100)]
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
                run(c, "/bench/noop", bodies[:50])  # warm-up
                floor_rate, floor_lat = run(c, "/bench/noop", bodies)
                rate, lat = run(c, "/purge/v1/calls", bodies)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"{'figure':<40}{'value':>10}{'floor':>10}{'ratio':>8}")
    print(
        f"{'purge requests/s (100 IDs each)':<40}{rate:>10.0f}{floor_rate:>10.0f}"
        f"{rate / floor_rate:>8.2f}"
    )
    print(f"{'  = call IDs accepted/s':<40}{rate * 100:>10.0f}")
    print(
        f"{'p50 latency (ms)':<40}{pct(lat, 50):>10.2f}{pct(floor_lat, 50):>10.2f}"
        f"{pct(lat, 50) / pct(floor_lat, 50):>8.2f}"
    )
    print(
        f"{'p99 latency (ms)':<40}{pct(lat, 99):>10.2f}{pct(floor_lat, 99):>10.2f}"
        f"{pct(lat, 99) / pct(floor_lat, 99):>8.2f}"
    )


if __name__ == "__main__":
    main()
