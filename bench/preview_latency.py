"""Customer whatIf latency over HTTP, alone: run_all.py's whatIf row without the rest of the run.

    .venv/bin/python bench/preview_latency.py [--store DIR] [--calls N] [--requests N] [--rounds N]

The same server (bench/intake_server.py on CPU 0), number and load as run_all.py: one connection,
``--requests`` previews of the UK number that has 20 calls of the store, each round beside the
no-op endpoint's p50 on the same connection count. Several rounds show the spread, which on a
shared 2-core machine is wide: compare builds by alternating them, not by one run each.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import httpx
from loadgen import load, post_json
from million_store import TARGET_CALLS, TARGET_PHONE, bench_user, ensure_store
from run_all import Server, _ok, _token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, default=Path("/var/tmp/callvault-bench"))
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    built = ensure_store(args.store, args.calls)
    creds = bench_user(args.store, "bench-preview", ["purge"])
    server = Server(args.store)
    try:
        token = _token(server.url, creds.client_id, creds.client_secret)
        preview = post_json(
            "/purge/v1/calls/customer?whatIf=true", {"phoneNumber": TARGET_PHONE}, token
        )
        noop = post_json("/bench/noop", {"ids": ["call-bench-noop"]}, token)
        _ok(load(server.port, [preview] * 50, 1), "whatIf warm-up")
        found = httpx.post(
            f"{server.url}/purge/v1/calls/customer?whatIf=true",
            json={"phoneNumber": TARGET_PHONE},
            headers={"Authorization": f"Bearer {token}"},
        ).json()["items"]
        if len(found) != TARGET_CALLS:
            raise SystemExit(f"whatIf found {len(found)} calls, not {TARGET_CALLS}")
        print(f"customer whatIf, {TARGET_CALLS} of {built.calls:,} calls, one connection")
        for _ in range(args.rounds):
            floor = load(server.port, [noop] * args.requests, 1)
            _ok(floor, "no-op")
            whatif = load(server.port, [preview] * args.requests, 1)
            _ok(whatif, "whatIf")
            print(
                f"  whatIf p50 {whatif.pct_ms(50):.2f} ms, p99 {whatif.pct_ms(99):.2f} ms; "
                f"no-op p50 {floor.pct_ms(50):.2f} ms"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
