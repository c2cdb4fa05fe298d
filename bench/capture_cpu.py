"""Where a capture's server time goes: wall time and each server thread's CPU per capture.

    .venv/bin/python bench/capture_cpu.py [--store DIR] [--calls N] [--captures N]

run_all.py's capture row (256 KiB calls, one connection, the bench server pinned to one core),
with every thread's user and system CPU read from ``/proc/PID/task/*/stat`` before and after the
captures. When CPU per capture is close to its wall time, the server's one core is the bound,
not the disk: the event loop's thread carries HTTP, the multipart parser and the stack; the
thread pool carries encryption, the blob, the commits and the processing that follows each
capture. The captured calls are erased afterwards, so a kept store is left as found.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from loadgen import load
from million_store import ensure_store, settings_for
from run_all import CAPTURE_BYTES, Server, _erase_captured, _multipart, _ok, _token

from callvault.auth.users import create_user
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, default=Path("/var/tmp/callvault-bench"))
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--captures", type=int, default=1000)
    args = parser.parse_args()

    ensure_store(args.store, args.calls, say=False)
    runtime = Runtime.open(settings_for(args.store))
    try:
        creds = create_user(runtime.engine, f"bench-cpu-{time.time_ns()}", ["capture"])
    finally:
        runtime.close()
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
