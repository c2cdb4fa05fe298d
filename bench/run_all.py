"""Every benchmark of issue 7 in one run, on a 1,000,000-call store, printed as one table.

Each figure stands beside a floor measured in the same run on the same machine, and the ratio:

- purge intake: requests of 100 call IDs per second over HTTP, beside a no-op endpoint on the same
  server stack (uvicorn, FastAPI, the same auth dependency and body model, no purge work);
- customer whatIf for a number with 20 calls among the million: p50/p99 over HTTP, beside the
  no-op's p50/p99 with the same client;
- capture of 256 KiB calls (parse, encrypt, fsync, commit) beside writing and fsyncing the same
  bytes to files;
- server RSS with the million calls stored, and its peak while a 1 GiB upload streams, beside its
  RSS at start;
- erasure: the backlog the intake figure accepted (100,000 calls) drained by a purge worker, beside
  the bare floor (the same key, row, index and blob deletes in a plain loop).

Targets are issue 18's (a ratio to the floor and an absolute figure where it names both; issue
35 retired them, they are still printed). Then issue 35's rows, from scale_out_erase.py (fresh
small stores, PostgreSQL + S3 beside embedded, and the small embedded end to end), and the CPU
seconds per 1,000 calls of every process in them (``--scale-calls 0`` leaves them out).
The server runs in its own process pinned to CPU 0 (`taskset`), so server figures are on one
core; the load generator (bench/loadgen.py, raw sockets) runs on the other. The store is kept in
``--store`` and topped up to ``--calls`` live calls at the start of each run.

    .venv/bin/python bench/run_all.py                     # the full run (builds the store first)
    .venv/bin/python bench/run_all.py --calls 100000 --requests 200 --upload-mb 256   # quicker
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import select

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "tests"))
from capture_rss import CHUNK, _kib, upload  # noqa: E402
from erase_rate import floor as bare_erase  # noqa: E402
from loadgen import LoadResult, capture_request, load, post_json  # noqa: E402
from million_store import TARGET_CALLS, TARGET_PHONE, ensure_store, settings_for  # noqa: E402
from rows import Row, table  # noqa: E402
from scale_out_erase import cpu_table, measure_all  # noqa: E402

from callvault.auth.users import create_user  # noqa: E402
from callvault.purge.loop import ErasureLoop, ErasureOptions  # noqa: E402
from callvault.purge.service import PurgeService  # noqa: E402
from callvault.runtime import Runtime  # noqa: E402
from callvault.store.tables import calls  # noqa: E402
from helpers import free_port, wait_healthy  # noqa: E402

CAPTURE_BYTES = 256 * 1024


def _sample_ids(runtime: Runtime, count: int, seed: int) -> list[str]:
    with runtime.engine.connect() as conn:
        live = (
            conn.execute(
                select(calls.c.call_id).where(
                    calls.c.status == "Complete", calls.c.session_id.like("bulk-%")
                )
            )
            .scalars()
            .all()
        )
    return random.Random(seed).sample(list(live), count)


def _multipart(n: int, audio: bytes, token: str) -> bytes:
    return capture_request(f"cap-{time.time_ns()}-{n}", audio, token)


def _disk_floor(folder: Path, audio: bytes, count: int) -> float:
    """Files per second: write the same bytes to a new file, fsync it, rename it and fsync the
    directory, as the blob store does for each capture."""
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for n in range(count):
        tmp = folder / f"{n}.tmp"
        with open(tmp, "wb") as handle:
            handle.write(audio)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.rename(folder / f"{n}.bin")
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    rate = count / (time.perf_counter() - start)
    shutil.rmtree(folder)
    return rate


class Server:
    """The bench server (bench/intake_server.py) on CPU 0, with its PID for RSS readings."""

    def __init__(self, store: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "CALLVAULT_RATE_LIMIT_PER_MINUTE": "0"}
        self.proc = subprocess.Popen(
            [
                "taskset",
                "-c",
                "0",
                sys.executable,
                str(BENCH / "intake_server.py"),
                str(store / "data"),
                str(self.port),
            ],
            env=env,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        wait_healthy(self.url, self.proc)

    def rss_mb(self, field: str = "VmRSS") -> float:
        return _kib(self.proc.pid, field) / 1024

    def reset_peak(self) -> None:
        # Writing 5 to clear_refs resets VmHWM (the peak RSS) to the current RSS (Linux >= 4.0).
        Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


def _token(url: str, client_id: str, secret: str) -> str:
    answer = httpx.post(
        f"{url}/Token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def _ok(result: LoadResult, what: str) -> None:
    if set(result.statuses) != {200}:
        raise SystemExit(f"{what}: unexpected statuses {result.statuses}")


def _erase_captured(runtime: Runtime) -> None:
    """Purge the calls this run captured (untimed): the kept store must not grow a GiB a run."""
    with runtime.engine.connect() as conn:
        captured = (
            conn.execute(
                select(calls.c.session_id).where(
                    calls.c.session_id.like("cap-%") | calls.c.session_id.like("big-%")
                )
            )
            .scalars()
            .all()
        )
    service = PurgeService(runtime)
    for i in range(0, len(captured), 100):
        service.purge_sessions(captured[i : i + 100], False, "bench")
    ErasureLoop(runtime, ErasureOptions()).drain()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, default=Path("/var/tmp/callvault-bench"))
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=1000, help="intake requests (100 IDs)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--whatif", type=int, default=500, help="customer whatIf requests")
    parser.add_argument("--captures", type=int, default=300)
    parser.add_argument("--upload-mb", type=int, default=1024)
    parser.add_argument("--floor-calls", type=int, default=20_000)
    parser.add_argument(
        "--scale-calls",
        type=int,
        default=4000,
        help="issue 35's rows (scale_out_erase.py): calls a configuration; 0 leaves them out",
    )
    parser.add_argument("--e2e-calls", type=int, default=3000, help="small end-to-end store")
    args = parser.parse_args()

    rows: list[Row] = []
    print(f"store {args.store}: topping up to {args.calls:,} calls", flush=True)
    built = ensure_store(args.store, args.calls)
    if built.added >= 1000:
        rows.append(Row(f"store build: calls/s ({built.added:,} added)", built.rate, None))

    backlog = args.requests * 100
    runtime = Runtime.open(settings_for(args.store))
    try:
        ids = _sample_ids(runtime, backlog + args.floor_calls, seed=time.time_ns())
        creds = create_user(runtime.engine, f"bench-{time.time_ns()}", ["purge", "capture"])
    finally:
        runtime.close()
    intake_ids, floor_ids = ids[:backlog], ids[backlog:]

    server = Server(args.store)
    try:
        start_rss = server.rss_mb()
        token = _token(server.url, creds.client_id, creds.client_secret)
        port = server.port

        print("intake", flush=True)
        bodies = [{"ids": intake_ids[i : i + 100]} for i in range(0, backlog, 100)]
        noop = [post_json("/bench/noop", b, token) for b in bodies]
        real = [post_json("/purge/v1/calls", b, token) for b in bodies]
        _ok(load(port, noop[:100], args.connections), "warm-up")
        floor = load(port, noop, args.connections)
        _ok(floor, "no-op")
        intake = load(port, real, args.connections)
        _ok(intake, "intake")
        rows.append(
            Row(
                f"purge intake: req/s of 100 IDs ({args.connections} conns)",
                intake.rate,
                floor.rate,
                ">= 500 req/s, >= 0.5x",
                intake.rate >= 500 and intake.rate >= 0.5 * floor.rate,
            )
        )
        rows.append(Row("  intake p50 ms", intake.pct_ms(50), floor.pct_ms(50)))
        rows.append(
            Row(
                "  intake p99 ms",
                intake.pct_ms(99),
                floor.pct_ms(99),
                "<= 50 ms",
                intake.pct_ms(99) <= 50,
            )
        )

        print("customer whatIf", flush=True)
        preview = post_json(
            "/purge/v1/calls/customer?whatIf=true", {"phoneNumber": TARGET_PHONE}, token
        )
        one = post_json("/bench/noop", {"ids": [intake_ids[0]]}, token)
        _ok(load(port, [preview] * 50, 1), "whatIf warm-up")
        wf_floor = load(port, [one] * args.whatif, 1)
        _ok(wf_floor, "no-op")
        whatif = load(port, [preview] * args.whatif, 1)
        _ok(whatif, "whatIf")
        check = httpx.post(
            f"{server.url}/purge/v1/calls/customer?whatIf=true",
            json={"phoneNumber": TARGET_PHONE},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        if len(check["items"]) != TARGET_CALLS:
            raise SystemExit(f"whatIf found {len(check['items'])} calls, not {TARGET_CALLS}")
        rows.append(
            Row(
                f"customer whatIf p50 ms ({TARGET_CALLS} of {built.calls:,} calls)",
                whatif.pct_ms(50),
                wf_floor.pct_ms(50),
                "<= 2 ms",
                whatif.pct_ms(50) <= 2,
            )
        )
        rows.append(Row("  customer whatIf p99 ms", whatif.pct_ms(99), wf_floor.pct_ms(99)))

        stored_rss = server.rss_mb()
        rows.append(
            Row(
                f"server RSS MB, {built.calls:,} calls stored",
                stored_rss,
                start_rss,
                "< 200 MB",
                stored_rss < 200,
            )
        )

        print("capture", flush=True)
        audio = os.urandom(CAPTURE_BYTES)
        captures = [_multipart(n, audio, token) for n in range(args.captures)]
        _ok(load(port, captures[:20], 1), "capture warm-up")
        cap = load(port, captures[20:], 1)
        _ok(cap, "capture")
        with tempfile.TemporaryDirectory(dir=args.store) as tmp:
            disk = _disk_floor(Path(tmp) / "floor", audio, args.captures - 20)
        rows.append(
            Row(
                "capture: 256 KiB calls/s (1 conn)",
                cap.rate,
                disk,
                ">= 0.5x disk write",
                cap.rate >= 0.5 * disk,
            )
        )

        print(f"{args.upload_mb} MB upload", flush=True)
        server.reset_peak()
        before = server.rss_mb()
        size = args.upload_mb * 1024 * 1024
        seconds = upload(server.url, token, f"big-{time.time_ns()}", size, os.urandom(CHUNK))
        mbps = size / seconds / 1e6
        peak = server.rss_mb("VmHWM")
        rows.append(
            Row(
                f"server peak RSS MB during {args.upload_mb} MiB upload",
                peak,
                before,
                "< 200 MB, flat",
                peak < 200,
            )
        )
        rows.append(Row("  upload MB/s", mbps, None))
    finally:
        server.stop()

    print(f"erasure of the {backlog:,}-call backlog", flush=True)
    runtime = Runtime.open(settings_for(args.store))
    try:
        floor_rate = bare_erase(runtime, floor_ids, 1000)
        started = time.perf_counter()
        erased = ErasureLoop(runtime, ErasureOptions(batch_size=1000)).drain()
        seconds = time.perf_counter() - started
        if erased != backlog:
            raise SystemExit(f"erased {erased} calls, expected {backlog}")
        _erase_captured(runtime)
    finally:
        runtime.close()
    rate = erased / seconds
    rows.append(
        Row(
            f"erasure calls/s ({backlog:,} backlog, {built.calls:,} store)",
            rate,
            floor_rate,
            ">= 5,000/s, >= 0.5x",
            rate >= 5000 and rate >= 0.5 * floor_rate,
        )
    )
    rows.append(
        Row(f"  backlog drained in s ({backlog:,} calls)", seconds, None, "< 60 s", seconds < 60)
    )

    cpu = ""
    if args.scale_calls:
        print("scale-out (PostgreSQL + S3) and the small end to end", flush=True)
        scale = measure_all(args.scale_calls, [1, 2], ["unversioned"], 1, 400, 256, args.e2e_calls)
        rows += scale.rows
        cpu = "\n" + cpu_table(scale.runs)

    print()
    print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}; server pinned to CPU 0"
    )
    print(table(rows, width=60))
    print(cpu)


if __name__ == "__main__":
    main()
