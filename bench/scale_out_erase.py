"""Issue 35's scale-out targets, each beside the embedded store or a bare floor measured in the
same run, with the CPU seconds every process spent per 1,000 calls (so a reader can predict a
bigger machine: a process's figure times the rate wanted is the cores it needs).

Rows:

- erasure on PostgreSQL + S3 with 1 and 2 ``callvault worker`` processes (``--workers``), beside
  the embedded store (SQLite + folder, one worker process): each configuration gets a fresh store
  of ``--calls`` synthetic calls; once its workers run, the clock starts, every call is accepted
  for purge (100 IDs a request, in the bench process) and the clock stops when the queue is empty.
  Targets: 1 worker >= 0.5x embedded; 2 workers >= 1.5x one (where the CPU table shows the
  machine had room); the workers' CPU per erased call <= 1.5x the embedded worker's;
- a worker's first erasure: from the spawn of ``callvault worker`` (a purge of one call already
  queued) to that call erased, on both backends. Target <= 1 s;
- capture of ``--capture-kib`` KiB calls over 8 connections to ``callvault serve --no-worker``,
  PostgreSQL + S3 beside embedded. Target >= 0.8x;
- end to end on a small embedded store: ``--e2e-calls`` calls (3,000) stored, then, against
  ``callvault serve`` (its worker in the same process, as a user runs it), from the first of the
  purge requests (100 session IDs each, over HTTP) until ``POST /callCapture/v1/status`` says
  ``NotFound`` for every one; beside the bare floor of the same key, row and index deletes and
  file unlinks in a plain loop on an identical store (erase_rate.py's floor). Target >= 0.25x.

CPU is read from /proc at the start and the end of each measured phase: a process's utime +
stime, its reaped children's (cutime + cstime: PostgreSQL's backends that exited) and its live
descendants' (PostgreSQL's backends, SeaweedFS's threads are its own); the bench process counts
its own threads only. Throwaway PostgreSQL and SeaweedFS servers run on loopback
(tests/servers.py), PostgreSQL with fsync and synchronous_commit off (the test cluster's
settings), so its commits cost no flush while the embedded store's do.

``--threads`` gives each PostgreSQL + S3 worker process that many threads (``callvault worker
--concurrency``). ``--buckets`` picks the S3 bucket's versioning: unversioned (S3's default; the
version recorded as ``null``), versioned (each call's version ID kept at capture), or both.

    .venv/bin/python bench/scale_out_erase.py [--calls 4000] [--workers 1,2,4] [--buckets both]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "tests"))
from erase_rate import _store as bare_store  # noqa: E402
from erase_rate import floor as bare_floor  # noqa: E402
from loadgen import capture_request, load  # noqa: E402
from rows import Row, table  # noqa: E402

from callvault.auth.users import create_user  # noqa: E402
from callvault.crypto import generate_master_key  # noqa: E402
from callvault.demo import seed_calls  # noqa: E402
from callvault.purge.service import PurgeService  # noqa: E402
from callvault.runtime import Runtime  # noqa: E402
from callvault.settings import Settings  # noqa: E402
from callvault.store import purges  # noqa: E402
from helpers import free_port, wait_healthy  # noqa: E402
from servers import start_postgres, start_seaweedfs  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
CONNECTIONS = 8
E2E_BATCH = 100


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(parent, []).append(int(entry.name))
    return tree


def cpu_seconds(pid: int, tree: bool = True) -> float:
    """CPU seconds of ``pid`` (all its threads); with ``tree``, also of its reaped children
    (cutime + cstime) and of its live descendants (each with its own reaped children)."""
    children = _children() if tree else {}
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, then cutime, cstime (fields 14-17 of proc(5))
        ticks = int(fields[11]) + int(fields[12])
        if tree:
            ticks += int(fields[13]) + int(fields[14])
        total += ticks / TICKS
        todo += children.get(current, [])
    return total


@dataclass
class Run:
    """One measured phase: how many calls in how long, and each process's CPU seconds."""

    label: str
    calls: int
    seconds: float
    cpu: dict[str, float]

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    def per_1000(self, name: str) -> float:
        return self.cpu[name] / self.calls * 1000

    def workers_per_1000(self) -> float:
        return sum(self.per_1000(n) for n in self.cpu if n.startswith("worker"))

    @property
    def busy(self) -> float:
        """Share of the machine's cores the watched processes used while the clock ran."""
        return sum(self.cpu.values()) / self.seconds / CORES


@contextmanager
def watched(watch: dict[str, tuple[int, bool]], result: dict[str, float]) -> Iterator[None]:
    """CPU seconds each process (name: (pid, with its tree)) spent inside the block."""
    before = {name: cpu_seconds(pid, tree) for name, (pid, tree) in watch.items()}
    yield
    for name, (pid, tree) in watch.items():
        result[name] = cpu_seconds(pid, tree) - before[name]


def _store_flags(settings: Settings) -> list[str]:
    flags = ["--data-dir", str(settings.data_dir)]
    for flag, value in (
        ("--database-url", settings.database_url),
        ("--keystore-url", settings.keystore_url),
        ("--blob-url", settings.blob_url),
        ("--s3-endpoint-url", settings.s3_endpoint_url),
    ):
        if value:
            flags += [flag, value]
    return flags


def _env(settings: Settings) -> dict[str, str]:
    env = {**os.environ, "CALLVAULT_RATE_LIMIT_PER_MINUTE": "0"}
    if settings.master_key:
        env["CALLVAULT_MASTER_KEY"] = settings.master_key
    return env


def _callvault(*args: str) -> list[str]:
    return [sys.executable, "-m", "callvault.cli.main", *args]


@dataclass
class Worker:
    """A ``callvault worker`` process; ``started`` is set when its first host logs that it runs
    (its stderr is read by a thread, so the pipe never fills)."""

    proc: subprocess.Popen[str]
    started: threading.Event = field(default_factory=threading.Event)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if " started (" in line:
                self.started.set()
            elif " WARNING " in line or " ERROR " in line:
                sys.stderr.write(line)


def spawn_worker(settings: Settings, threads: int) -> Worker:
    args = _callvault("worker", "--log-level", "info", "--concurrency", str(threads))
    proc = subprocess.Popen(
        args + _store_flags(settings), env=_env(settings), stderr=subprocess.PIPE, text=True
    )
    worker = Worker(proc)
    threading.Thread(target=worker._read, daemon=True).start()
    return worker


def _wait(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.005)


def measure_erasure(
    label: str,
    settings: Settings,
    calls: int,
    workers: int,
    servers: dict[str, int],
    threads: int = 1,
) -> tuple[Run, tuple[float, float]]:
    """Erasure by ``workers`` worker processes; and the seconds from their spawn to the first
    call erased (one call's purge queued before they start) with the CPU seconds the workers had
    used by then (on a busy machine the first grows with the load, the second hardly)."""
    runtime = Runtime.open(settings)
    ids = seed_calls(runtime, calls + 1, seed=1, audio_bytes=2048)
    probe, ids = ids[0], ids[1:]
    service = PurgeService(runtime)
    service.purge_calls([probe], False, "bench")
    spawned = time.perf_counter()
    procs = [spawn_worker(settings, threads) for _ in range(workers)]
    cpu: dict[str, float] = {}
    try:
        _wait(lambda: not purges.queue_stats(runtime.engine).depth, "the first erasure")
        first = time.perf_counter() - spawned
        first_cpu = sum(cpu_seconds(w.proc.pid) for w in procs) / len(procs)
        for worker in procs:  # every worker polling before the clock starts
            _wait(worker.started.is_set, "the workers to start")
        watch = {f"worker {n + 1}": (w.proc.pid, True) for n, w in enumerate(procs)}
        watch |= {name: (pid, True) for name, pid in servers.items()}
        watch["bench (accepts)"] = (os.getpid(), False)
        with watched(watch, cpu):
            start = time.perf_counter()
            for at in range(0, len(ids), 100):
                service.purge_calls(ids[at : at + 100], False, "bench")
            _wait(lambda: not purges.queue_stats(runtime.engine).depth, "the queue to drain")
            elapsed = time.perf_counter() - start
    finally:
        for worker in procs:
            worker.proc.terminate()
        for worker in procs:
            worker.proc.wait(timeout=30)
        runtime.close()
    return Run(label, len(ids), elapsed, cpu), (first, first_cpu)


def _serve(settings: Settings, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    args = _callvault("serve", "--port", str(port), "--log-level", "warning", *extra)
    proc = subprocess.Popen(args + _store_flags(settings), env=_env(settings))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, deadline=300)  # a loaded machine starts a server slowly
    except BaseException:
        proc.kill()  # never left running on a store the run is about to delete
        proc.wait()
        raise
    return proc, url


def _user(settings: Settings) -> tuple[str, str]:
    runtime = Runtime.open(settings)
    try:
        creds = create_user(runtime.engine, f"bench-{time.time_ns()}", ["capture", "purge"])
    finally:
        runtime.close()
    return creds.client_id, creds.client_secret


def _token(url: str, client: tuple[str, str]) -> str:
    answer = httpx.post(
        f"{url}/Token",
        data={
            "grant_type": "client_credentials",
            "client_id": client[0],
            "client_secret": client[1],
        },
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def measure_capture(
    label: str, settings: Settings, captures: int, kib: int, servers: dict[str, int]
) -> Run:
    """Captures of ``kib`` KiB over 8 connections to ``callvault serve --no-worker``."""
    client = _user(settings)
    proc, url = _serve(settings, "--no-worker")
    cpu: dict[str, float] = {}
    try:
        token = _token(url, client)
        audio = os.urandom(kib * 1024)
        stamp = time.time_ns()
        requests = [capture_request(f"cap-{stamp}-{n}", audio, token) for n in range(captures)]
        port = int(url.rsplit(":", 1)[1])
        warm = CONNECTIONS * 2
        load(port, requests[:warm], CONNECTIONS)
        watch = {"API": (proc.pid, True)}
        watch |= {name: (pid, True) for name, pid in servers.items()}
        watch["bench (loadgen)"] = (os.getpid(), False)
        with watched(watch, cpu):
            result = load(port, requests[warm:], CONNECTIONS)
        if set(result.statuses) != {200}:
            raise SystemExit(f"{label}: capture answered {result.statuses}")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    count = captures - warm
    return Run(label, count, count / result.rate, cpu)


def measure_end_to_end(base: Path, calls: int) -> tuple[Run, float]:
    """``calls`` calls purged by requests of 100 session IDs over HTTP until the status of every
    one is ``NotFound``, against ``callvault serve`` (worker inside); and the bare floor's rate."""
    floor_runtime, floor_ids = bare_store(base / "e2e-floor", calls)
    real_runtime, _ = bare_store(base / "e2e", calls)  # the same seed: sessions demo-0, demo-1…
    real_runtime.close()
    try:
        floor_rate = bare_floor(floor_runtime, floor_ids, 1000)
    finally:
        floor_runtime.close()
    settings = Settings(data_dir=base / "e2e")
    client = _user(settings)
    proc, url = _serve(settings)
    sessions = [f"demo-{n}" for n in range(calls)]
    cpu: dict[str, float] = {}
    try:
        with httpx.Client(base_url=url, timeout=60) as http:
            http.headers["Authorization"] = f"Bearer {_token(url, client)}"
            watch = {"API + worker": (proc.pid, True), "bench (client)": (os.getpid(), False)}
            with watched(watch, cpu):
                start = time.perf_counter()
                for at in range(0, calls, E2E_BATCH):
                    chunk = sessions[at : at + E2E_BATCH]
                    answer = http.post("/purge/v1/calls/sessions", json={"ids": chunk})
                    answer.raise_for_status()
                    if {i["status"] for i in answer.json()["items"]} != {"Purging"}:
                        raise SystemExit(f"purge answered {answer.text[:300]}")
                pending = sessions
                while pending:
                    left = []
                    for at in range(0, len(pending), E2E_BATCH):
                        chunk = pending[at : at + E2E_BATCH]
                        answer = http.post("/callCapture/v1/status", json={"CallSessionIds": chunk})
                        answer.raise_for_status()
                        left += [
                            s["sessionId"]
                            for s in answer.json()["callSessions"]
                            if s["status"] != "NotFound"
                        ]
                    pending = left
                    if pending:
                        time.sleep(0.01)
                elapsed = time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return Run("embedded end to end (HTTP)", calls, elapsed, cpu), floor_rate


@dataclass
class Results:
    rows: list[Row]
    runs: list[Run]


def measure_all(
    calls: int,
    workers: list[int],
    buckets: list[str],
    threads: int,
    captures: int,
    capture_kib: int,
    e2e_calls: int,
) -> Results:
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        os.environ.setdefault(name, value)
    rows: list[Row] = []
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        if e2e_calls:
            e2e, floor_rate = measure_end_to_end(base, e2e_calls)
            runs.append(e2e)
        embedded_settings = Settings(data_dir=base / "embedded")
        embedded, embedded_first = measure_erasure(
            "embedded, 1 worker", embedded_settings, calls, 1, {}
        )
        runs.append(embedded)
        embedded_capture = measure_capture(
            "embedded capture (8 conns)", embedded_settings, captures, capture_kib, {}
        )
        pg = start_postgres(base / "pg")
        s3 = start_seaweedfs(base / "s3")
        key = generate_master_key()
        servers = {"PostgreSQL": pg.process_id, "SeaweedFS": s3.process.pid}
        erasure: dict[tuple[str, int], tuple[Run, tuple[float, float]]] = {}
        try:
            for kind in buckets:
                bucket = f"callvault-bench-{kind}"
                if kind == "versioned":
                    s3.new_bucket(bucket)
                else:
                    s3.client().create_bucket(Bucket=bucket)
                for n in workers:
                    database = f"{kind}_{n}"
                    pg.execute(f"CREATE DATABASE cv_{database}")
                    pg.execute(f"CREATE DATABASE ks_{database}")
                    settings = Settings(
                        data_dir=base / f"pg-{database}",
                        database_url=pg.url(f"cv_{database}"),
                        keystore_url=pg.url(f"ks_{database}"),
                        blob_url=f"s3://{bucket}/run-{n}",
                        s3_endpoint_url=s3.endpoint,
                        master_key=key,
                    )
                    label = f"PG + S3 {kind}, {n} worker{'s' if n > 1 else ''}"
                    label += f" x {threads} threads" if threads > 1 else ""
                    erasure[kind, n] = measure_erasure(label, settings, calls, n, servers, threads)
                    runs.append(erasure[kind, n][0])
                    if n == workers[0] and kind == buckets[0]:
                        pg_capture = measure_capture(
                            f"PG + S3 {kind} capture (8 conns)",
                            settings,
                            captures,
                            capture_kib,
                            servers,
                        )
        finally:
            s3.stop()
            pg.stop()
        runs += [embedded_capture, pg_capture]

    rows.append(Row(f"erasure calls/s, embedded, 1 worker ({calls:,} calls)", embedded.rate, None))
    for kind in buckets:
        one = erasure.get((kind, 1))
        for n in workers:
            run = erasure[kind, n][0]
            if n == 1:
                rows.append(
                    Row(
                        f"  PG + S3 ({kind}), 1 worker vs embedded",
                        run.rate,
                        embedded.rate,
                        ">= 0.5x",
                        run.rate >= 0.5 * embedded.rate,
                    )
                )
            elif one is not None:
                target = ">= 1.5x one" if n == 2 else ""
                rows.append(
                    Row(
                        f"  PG + S3 ({kind}), {n} workers vs 1 (machine {run.busy:.0%} busy)",
                        run.rate,
                        one[0].rate,
                        target,
                        run.rate >= 1.5 * one[0].rate if n == 2 else None,
                    )
                )
        if one is not None:
            rows.append(
                Row(
                    f"  worker CPU ms a call, PG + S3 ({kind}) 1 vs embedded",
                    one[0].workers_per_1000(),
                    embedded.workers_per_1000(),
                    "<= 1.5x",
                    one[0].workers_per_1000() <= 1.5 * embedded.workers_per_1000(),
                )
            )
    rows.append(
        Row(
            f"capture {capture_kib} KiB calls/s, embedded ({CONNECTIONS} conns)",
            embedded_capture.rate,
            None,
        )
    )
    rows.append(
        Row(
            f"  PG + S3 ({buckets[0]}) vs embedded",
            pg_capture.rate,
            embedded_capture.rate,
            ">= 0.8x",
            pg_capture.rate >= 0.8 * embedded_capture.rate,
        )
    )
    firsts = [("embedded", embedded_first)]
    if (buckets[0], workers[0]) in erasure:
        firsts.append(("PG + S3", erasure[buckets[0], workers[0]][1]))
    for backend, (first, first_cpu) in firsts:
        rows.append(
            Row(f"first erasure s after worker spawn, {backend}", first, None, "<= 1 s", first <= 1)
        )
        rows.append(Row(f"  worker CPU s by then, {backend}", first_cpu, None))
    if e2e_calls:
        rows.append(
            Row(
                f"end to end calls/s, embedded ({e2e_calls:,} calls, HTTP)",
                e2e.rate,
                floor_rate,
                ">= 0.25x bare floor",
                e2e.rate >= 0.25 * floor_rate,
            )
        )
    return Results(rows, runs)


def cpu_table(runs: list[Run]) -> str:
    """CPU seconds per 1,000 calls of every process of each measured phase."""
    lines = [
        f"CPU seconds per 1,000 calls, by process ({CORES} cores; 'wall' is the elapsed seconds"
        " per 1,000 calls: a process using one whole core would show that figure)",
        f"{'configuration':<40}{'calls/s':>9}{'wall':>7}  processes; total; machine busy",
    ]
    for run in runs:
        each = ", ".join(f"{name} {run.per_1000(name):.3f}" for name in run.cpu)
        total = sum(run.cpu.values()) / run.calls * 1000
        lines.append(
            f"{run.label:<40}{run.rate:>9,.0f}{1000 / run.rate:>7.3f}  {each}; total {total:.3f};"
            f" {run.busy:.0%}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=4000, help="calls erased a configuration")
    parser.add_argument("--workers", default="1,2", help="worker processes, comma-separated")
    parser.add_argument(
        "--buckets",
        choices=["versioned", "unversioned", "both"],
        default="unversioned",
        help="S3 bucket versioning to measure (unversioned is S3's default)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="threads of each PostgreSQL + S3 worker process"
    )
    parser.add_argument("--captures", type=int, default=400, help="captures a backend")
    parser.add_argument("--capture-kib", type=int, default=256)
    parser.add_argument("--e2e-calls", type=int, default=3000, help="0: no end-to-end row")
    args = parser.parse_args()
    kinds = ["unversioned", "versioned"] if args.buckets == "both" else [args.buckets]
    workers = sorted({int(n) for n in args.workers.split(",")})
    results = measure_all(
        args.calls, workers, kinds, args.threads, args.captures, args.capture_kib, args.e2e_calls
    )
    print(f"\nmachine: {CORES} cores; load average {os.getloadavg()[0]:.1f} at the end")
    print(table(results.rows, width=60))
    print()
    print(cpu_table(results.runs))


if __name__ == "__main__":
    main()
