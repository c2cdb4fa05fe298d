"""The per-call hold check with 1,000 full-size active holds against none (contract §12).

    .venv/bin/python bench/holds_check.py [--calls N] [--holds N] [--entries N] [--rounds N]
                                          [--requests N]

In process, on a fresh embedded store in a temporary directory: ``--calls`` seeded calls, then the
check every purge, whatIf, capture and status answer asks (``store.holds.covering``: which active
holds cover these calls) timed for 100 call IDs and for 1 call ID with no hold, then again with
``--holds`` active holds, each naming ``--entries`` call IDs, session IDs and phone digests (the
contract's full size: 1,000 of each; none of them matching, the worst case: every pair is asked
and answered no). Prints the medians and their ratio.

The contract's rule is about what a client waits for: with 1,000 active full-size holds, a purge
or whatIf of 100 IDs, a capture and a status answer stay within 2x their time with none. So the
same store is also served by the app on real uvicorn (a thread; no erasure worker) and each is
timed over HTTP on one kept-alive connection, ``--requests`` times before the holds and after:
a whatIf of 100 call IDs, a purge of one fresh call (a real acceptance), a capture of a small
WAV, a status of one session. Medians and the after/before ratio of each, in one run.
"""

from __future__ import annotations

import argparse
import io
import json
import secrets
import statistics
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn

from callvault.api.app import create_app
from callvault.auth.users import create_user
from callvault.demo import seed_calls
from callvault.runtime import Runtime
from callvault.settings import Settings
from callvault.store import holds
from callvault.store.engine import write_transaction
from callvault.store.types import utcnow


def _median_ms(runtime: Runtime, ids: list[str], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        with runtime.engine.connect() as conn:
            start = time.perf_counter()
            holds.covering(conn, ids)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _place(runtime: Runtime, count: int, entries: int) -> None:
    def filler(prefix: str) -> list[str]:
        return [f"{prefix}-{secrets.token_hex(8)}" for _ in range(entries)]

    for _ in range(count):
        with write_transaction(runtime.engine) as conn:
            holds.insert_hold(
                conn,
                {
                    "hold_id": secrets.token_hex(16),
                    "matter": "",
                    "reason": "",
                    "state": holds.ACTIVE,
                    "created_by": "bench",
                    "created_at": utcnow(),
                    "started_after": None,
                    "started_before": None,
                    "has_entries": True,
                    "sealed_scope": b"-",
                },
                filler("call"),
                filler("session"),
                [secrets.token_bytes(32) for _ in range(entries)],
            )


def _wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x01\x02" * 8000)
    return out.getvalue()


class _Endpoints:
    """The app over real HTTP on the runtime's store, and the four requests the rule names."""

    def __init__(self, runtime: Runtime, ids: list[str]) -> None:
        self.runtime, self.ids = runtime, ids
        app = create_app(runtime.settings, runtime)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", http="h11")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        creds = create_user(runtime.engine, "bench-holds", ["admin"])
        url = f"http://127.0.0.1:{port}"
        token = httpx.post(
            f"{url}/Token",
            data={
                "grant_type": "client_credentials",
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
            },
        ).json()["access_token"]
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
        self.audio = _wav()
        self.captured = 0
        self.spare = seed_calls(runtime, 4000, seed=99, session_prefix="spare-")  # one per purge

    def close(self) -> None:
        self.http.close()
        self.server.should_exit = True
        self.thread.join(10)

    def _ok(self, answer: httpx.Response) -> None:
        if answer.status_code != 200:
            raise SystemExit(f"{answer.request.url}: {answer.status_code} {answer.text[:300]}")

    def whatif(self) -> None:
        self._ok(self.http.post("/purge/v1/calls?whatIf=true", json={"ids": self.ids[:100]}))

    def purge(self) -> None:
        self._ok(self.http.post("/purge/v1/calls", json={"ids": [self.spare.pop()]}))

    def capture(self) -> None:
        self.captured += 1
        info = {
            "sessionId": f"bench-holds-{secrets.token_hex(8)}",
            "startTime": "2024-01-01T04:23:00Z",
            "endTime": "2024-01-01T04:24:00Z",
            "direction": "Inbound",
            "contacts": [{"type": "Customer", "channel": 1, "phoneNumber": "+15125550100"}],
        }
        files = {
            "info": (None, json.dumps(info).encode(), "application/json"),
            "data": ("call.wav", self.audio, "audio/wav"),
        }
        self._ok(self.http.post("/callCapture/v1/archive", files=files))

    def status(self) -> None:
        self._ok(self.http.post("/callCapture/v1/status", json={"CallSessionIds": ["demo-0"]}))

    def timed(self, requests: int) -> dict[str, float]:
        asks: dict[str, Callable[[], None]] = {
            "whatIf of 100 IDs": self.whatif,
            "purge of 1 call": self.purge,
            "capture": self.capture,
            "status": self.status,
        }
        medians = {}
        for name, ask in asks.items():
            for _ in range(5):  # warm-up
                ask()
            times = []
            for _ in range(requests):
                start = time.perf_counter()
                ask()
                times.append((time.perf_counter() - start) * 1000)
            medians[name] = statistics.median(times)
        return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--holds", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runtime = Runtime.open(
            Settings(data_dir=Path(tmp) / "data", run_worker=False, rate_limit_per_minute=0)
        )
        endpoints = None
        try:
            ids = seed_calls(runtime, args.calls, seed=7)
            endpoints = _Endpoints(runtime, ids)
            asks = {"100 IDs": ids[:100], "1 ID": ids[:1]}
            before = {name: _median_ms(runtime, asked, args.rounds) for name, asked in asks.items()}
            served_before = endpoints.timed(args.requests)
            started = time.perf_counter()
            _place(runtime, args.holds, args.entries)
            placed = time.perf_counter() - started
            after = {name: _median_ms(runtime, asked, args.rounds) for name, asked in asks.items()}
            served_after = endpoints.timed(args.requests)
        finally:
            if endpoints is not None:
                endpoints.close()
            runtime.close()
    print(
        f"{args.calls:,} calls; {args.holds:,} active holds of {args.entries:,} call IDs, "
        f"session IDs and phones each (placed in {placed:.1f} s)"
    )
    for name in asks:
        ratio = after[name] / before[name]
        print(
            f"  hold check, {name}: {before[name]:.3f} ms with no hold, "
            f"{after[name]:.3f} ms with them: {ratio:.2f}x"
        )
    print(f"over HTTP, median of {args.requests} requests each (the contract: within 2x)")
    for name, ms in served_before.items():
        print(
            f"  {name}: {ms:.2f} ms with no hold, {served_after[name]:.2f} ms with them: "
            f"{served_after[name] / ms:.2f}x"
        )


if __name__ == "__main__":
    main()
