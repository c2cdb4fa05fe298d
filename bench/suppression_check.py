"""Suppressions (contract §22): a check's time does not tell its answer, and capture does not slow
down with the size of the list.

    .venv/bin/python bench/suppression_check.py [--checks N] [--captures N] [--suppressions N]

In process, on fresh embedded stores in a temporary directory, through the whole ASGI stack
(Starlette's TestClient: routing, token check, body model, service, SQL; no sockets), with the
per-user rate limit off:

1. ``POST /suppressions/v1/check`` for a suppressed number and for an unsuppressed one,
   ``--checks`` times each (default 1,000), interleaved (one of each in turn, so the machine's
   drift touches both alike). The floor is the same for two unsuppressed numbers: the difference
   between two series that must not differ is the noise; the suppressed-unsuppressed difference
   is held against it.
2. ``POST /callCapture/v1/archive`` of a 16 KiB call of a caller no suppression names, on a store
   with ``--suppressions`` active suppressions (default 100,000) and on one with none,
   ``--captures`` times each (default 300), interleaved between the two stores. The ratio of the
   medians is the capture path's cost of the list; the contract's target is within 5%.
"""

from __future__ import annotations

import argparse
import io
import json
import secrets
import statistics
import tempfile
import time
import wave
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import insert
from starlette.testclient import TestClient

from callvault.api.app import create_app
from callvault.auth.users import create_user
from callvault.runtime import Runtime
from callvault.settings import Settings
from callvault.store.engine import write_transaction
from callvault.store.tables import suppression_digests, suppressions
from callvault.store.types import utcnow

SUPPRESSED = "+15125550100"
UNSUPPRESSED = ("+15125550101", "+15125550102")


def _wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x01\x02" * int(seconds * rate))
    return out.getvalue()


@contextmanager
def _instance(root: Path, name: str) -> Iterator[tuple[TestClient, Runtime, dict[str, str]]]:
    settings = Settings(data_dir=root / name, rate_limit_per_minute=0, run_worker=False)
    runtime = Runtime.open(settings)
    try:
        creds = create_user(runtime.engine, "bench", ["capture", "suppress"])
        with TestClient(create_app(settings, runtime)) as client:
            token = client.post(
                "/Token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": creds.client_id,
                    "client_secret": creds.client_secret,
                },
            ).json()["access_token"]
            yield client, runtime, {"Authorization": f"Bearer {token}"}
    finally:
        runtime.close()


def _fill(runtime: Runtime, count: int, batch: int = 10_000) -> None:
    """``count`` active suppressions of one random digest each (as many as a list can hold)."""
    now = utcnow()
    for start in range(0, count, batch):
        rows, digests = [], []
        for _ in range(min(batch, count - start)):
            sid = secrets.token_hex(16)
            rows.append(
                {
                    "suppression_id": sid,
                    "state": "Active",
                    "identifiers": 1,
                    "created_by": "bench",
                    "created_at": now,
                    "expires_at": None,
                    "lifted_by": None,
                    "lifted_at": None,
                    "reference": None,
                    "request_id": None,
                    "sealed_texts": b"-",
                }
            )
            digests.append({"digest": secrets.token_bytes(32), "suppression_id": sid})
        with write_transaction(runtime.engine) as conn:
            conn.execute(insert(suppressions), rows)
            conn.execute(insert(suppression_digests), digests)


def _ms(values: list[float]) -> str:
    q = statistics.quantiles(values, n=10)
    return f"median {statistics.median(values):.3f} ms, p90 {q[8]:.3f} ms"


def checks(root: Path, n: int) -> None:
    with _instance(root, "checks") as (client, _runtime, headers):
        made = client.post(
            "/suppressions/v1",
            json={"phoneNumbers": [SUPPRESSED], "reason": "bench"},
            headers=headers,
        )
        assert made.status_code == 201, made.text
        asks = {"suppressed": SUPPRESSED, "unsuppressed": UNSUPPRESSED[0], "floor": UNSUPPRESSED[1]}
        times: dict[str, list[float]] = {name: [] for name in asks}
        for phone in asks.values():  # warm up each
            client.post("/suppressions/v1/check", json={"phoneNumber": phone}, headers=headers)
        order = list(asks.items())
        for i in range(n):
            for name, phone in order[i % 3 :] + order[: i % 3]:  # each first in turn
                start = time.perf_counter()
                answer = client.post(
                    "/suppressions/v1/check", json={"phoneNumber": phone}, headers=headers
                )
                times[name].append((time.perf_counter() - start) * 1000)
                assert answer.json() == {"suppressed": name == "suppressed"}
    med = {name: statistics.median(values) for name, values in times.items()}
    noise = abs(med["unsuppressed"] - med["floor"])
    diff = med["suppressed"] - med["unsuppressed"]
    print(f"check, {n:,} calls each (interleaved):")
    for name in asks:
        print(f"  {name:>12}: {_ms(times[name])}")
    print(
        f"  suppressed - unsuppressed: {diff:+.3f} ms ({diff / med['unsuppressed']:+.1%}); "
        f"floor (two unsuppressed numbers): {noise:.3f} ms ({noise / med['unsuppressed']:.1%})"
    )


def captures(root: Path, n: int, listed: int) -> None:
    audio = _wav(1.0)  # 16 KiB
    with ExitStack() as stack:
        empty = stack.enter_context(_instance(root, "empty"))
        full = stack.enter_context(_instance(root, "full"))
        started = time.perf_counter()
        _fill(full[1], listed)
        filled = time.perf_counter() - started
        times: dict[str, list[float]] = {"none": [], "listed": []}
        stores = [("none", empty), ("listed", full)]
        for i in range(n + 5):
            # Each store goes first every other round: neither always follows the other's fsync.
            for name, (client, _rt, headers) in stores if i % 2 else stores[::-1]:
                info = {
                    "sessionId": f"bench-{i}",
                    "startTime": "2026-01-01T00:00:00Z",
                    "contacts": [{"type": "Customer", "phoneNumber": UNSUPPRESSED[0]}],
                }
                files = {
                    "info": (None, json.dumps(info).encode(), "application/json"),
                    "data": ("call.wav", audio, "audio/wav"),
                }
                start = time.perf_counter()
                answer = client.post("/callCapture/v1/archive", files=files, headers=headers)
                took = (time.perf_counter() - start) * 1000
                assert answer.status_code == 200, answer.text
                if i >= 5:  # the first few warm up
                    times[name].append(took)
    ratio = statistics.median(times["listed"]) / statistics.median(times["none"])
    print(
        f"capture of a 16 KiB call, {n:,} each (interleaved between the two stores; "
        f"{listed:,} suppressions written in {filled:.1f} s):"
    )
    print(f"  {'none':>12}: {_ms(times['none'])}")
    print(f"  {f'{listed:,}':>12}: {_ms(times['listed'])}")
    print(f"  ratio: {ratio:.3f} (target: within 5%, <= 1.05)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--captures", type=int, default=300)
    parser.add_argument("--suppressions", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        checks(Path(tmp), args.checks)
        captures(Path(tmp), args.captures, args.suppressions)


if __name__ == "__main__":
    main()
