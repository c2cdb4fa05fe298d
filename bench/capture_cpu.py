"""Where a capture's server time goes: wall time and each server thread's CPU per capture.

    .venv/bin/python bench/capture_cpu.py [--store DIR] [--calls N] [--captures N] [--steps]

run_all.py's capture row (256 KiB calls, one connection, the bench server pinned to one core),
with every thread's user and system CPU read from ``/proc/PID/task/*/stat`` before and after the
captures. When CPU per capture is close to its wall time, the server's one core is the bound,
not the disk: the event loop's thread carries HTTP, the multipart parser and the stack; the
thread pool carries encryption, the blob, the commits and the processing that follows each
capture. The captured calls are erased afterwards, so a kept store is left as found.

``--steps`` leaves HTTP out: the same uploads go straight into ``CaptureService.capture`` (64 KiB
chunks) and each call is then processed (``CallReader.process``, as the route's background task
does), in one process, with the wall and thread CPU time of each step the thread pool runs.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from loadgen import load
from million_store import bench_user, ensure_store, settings_for
from run_all import CAPTURE_BYTES, Server, _erase_captured, _multipart, _ok, _token

from callvault.capture.reads import CallReader
from callvault.capture.service import CaptureService
from callvault.runtime import Runtime

TICKS = os.sysconf("SC_CLK_TCK")
WARM_UP = 20


def thread_cpu(pid: int) -> dict[str, tuple[float, float]]:
    """User and system CPU seconds of each live thread of ``pid``, by thread ID."""
    seconds = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()
        seconds[task.name] = (int(fields[11]) / TICKS, int(fields[12]) / TICKS)
    return seconds


class StepClock:
    """Wall and thread CPU seconds of each named step, summed over its calls."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name][0] += time.perf_counter() - wall
                self.seconds[name][1] += time.thread_time() - cpu

        return timed


def _upload(request: bytes) -> tuple[str, bytes]:
    """The Content-Type and body of one of run_all.py's capture requests."""
    head, _, body = request.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-type":
            return value.strip().decode(), body
    raise ValueError("no Content-Type")


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 64 * 1024):
        yield body[start : start + 64 * 1024]


def steps(store: Path, captures: int) -> None:
    """Capture and process ``captures`` calls in process, each thread-pool step timed."""
    runtime = Runtime.open(settings_for(store))
    try:
        service, reader, clock = CaptureService(runtime), CallReader(runtime), StepClock()
        audio = os.urandom(CAPTURE_BYTES)
        uploads = [_upload(_multipart(n, audio, "-")) for n in range(WARM_UP + captures)]
        for method, label in (
            ("_check_session", "session check"),
            ("_put_key", "key store put and commit"),
            ("_store", "row, digests, audit and commit"),
        ):
            setattr(service, method, clock.wrap(label, getattr(service, method)))
        process = clock.wrap("processing (duration, Complete)", reader.process)
        blobs, opened = runtime.blobs, runtime.blobs.writer

        def writer(key: str, *, sync: bool = True) -> Any:
            blob = opened(key, sync=sync)
            for method, label in (
                ("write", "blob write (the encryption runs before, untimed)"),
                ("commit", "blob fsync, rename, folder fsync"),
            ):
                setattr(blob, method, clock.wrap(label, getattr(blob, method)))
            return blob

        setattr(blobs, "writer", writer)  # noqa: B010 (mypy refuses assigning to a method)

        async def run(batch: list[tuple[str, bytes]]) -> None:
            for content_type, body in batch:
                process(await service.capture(content_type, _chunks(body), "bench-capture-cpu"))

        asyncio.run(run(uploads[:WARM_UP]))
        clock.seconds.clear()
        wall, cpu = time.perf_counter(), time.process_time()
        asyncio.run(run(uploads[WARM_UP:]))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"{captures:,} captures of {CAPTURE_BYTES // 1024} KiB in process, then processed")
        print(
            f"  {1000 * wall / captures:.2f} ms a capture, {1000 * cpu / captures:.2f} ms of CPU "
            "(all threads)"
        )
        print(f"{'wall ms':>9} {'cpu ms':>8}  step (thread pool, per capture)")
        for name, (step_wall, step_cpu) in sorted(clock.seconds.items(), key=lambda kv: -kv[1][0]):
            print(f"{1000 * step_wall / captures:9.3f} {1000 * step_cpu / captures:8.3f}  {name}")
        _erase_captured(runtime)
    finally:
        runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, default=Path("/var/tmp/callvault-bench"))
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--captures", type=int, default=1000)
    parser.add_argument("--steps", action="store_true", help="in process, each step timed")
    args = parser.parse_args()

    ensure_store(args.store, args.calls, say=False)
    if args.steps:
        steps(args.store, args.captures)
        return
    creds = bench_user(args.store, "bench-capture-cpu", ["capture"])
    server = Server(args.store)
    try:
        token = _token(server.url, creds.client_id, creds.client_secret)
        audio = os.urandom(CAPTURE_BYTES)
        requests = [_multipart(n, audio, token) for n in range(WARM_UP + args.captures)]
        _ok(load(server.port, requests[:WARM_UP], 1), "warm-up")
        main_thread = str(server.proc.pid)  # the event loop runs on the process's first thread
        before, began = thread_cpu(server.proc.pid), time.perf_counter()
        result = load(server.port, requests[WARM_UP:], 1)
        wall, after = time.perf_counter() - began, thread_cpu(server.proc.pid)
        _ok(result, "capture")
    finally:
        server.stop()
    runtime = Runtime.open(settings_for(args.store))
    try:
        _erase_captured(runtime)
    finally:
        runtime.close()

    n = args.captures
    loop = [0.0, 0.0]
    others = [0.0, 0.0]
    for tid, (user, system) in after.items():
        user0, system0 = before.get(tid, (0.0, 0.0))
        share = loop if tid == main_thread else others
        share[0] += user - user0
        share[1] += system - system0
    total = sum(loop) + sum(others)
    print(f"{n:,} captures of {CAPTURE_BYTES // 1024} KiB, one connection, server on one core")
    print(
        f"  {n / wall:,.1f} captures/s: {1000 * wall / n:.2f} ms a capture, "
        f"{1000 * total / n:.2f} ms of it server CPU ({100 * total / wall:.0f}% of the core)"
    )
    print(
        f"  event loop thread: {1000 * loop[0] / n:.2f} ms user, {1000 * loop[1] / n:.2f} ms system"
    )
    print(
        f"  other threads:     {1000 * others[0] / n:.2f} ms user, "
        f"{1000 * others[1] / n:.2f} ms system"
    )


if __name__ == "__main__":
    main()
