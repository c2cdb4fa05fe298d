"""Where a server's time goes under one kind of load: py-spy samples the bench server
(bench/intake_server.py, pinned to CPU 0) while bench/loadgen.py drives it, and the hottest
frames are printed, inclusive and self.

    .venv/bin/python bench/profile_server.py noop|intake|whatif|capture [--store DIR] [--gil]

``--gil`` samples only the thread holding the GIL (where the CPU goes); without it every
thread's stack is sampled, waiting ones included (where the time goes: commits, fsyncs, locks),
and threads idling in the thread pool or the event loop's select are left out. ``--store`` uses
a kept store (bench/million_store.py's, e.g. /var/tmp/callvault-bench) instead of a fresh
2,000-call one. py-spy is in the ``bench`` extra (pip install -e '.[bench]').
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "tests"))
from loadgen import load, post_json  # noqa: E402
from million_store import TARGET_PHONE, settings_for  # noqa: E402
from run_all import Server, _multipart, _sample_ids, _token  # noqa: E402

from callvault.auth.users import create_user  # noqa: E402
from callvault.demo import seed_calls  # noqa: E402
from callvault.runtime import Runtime  # noqa: E402

IDLE = ("Queue.get (queue.py", "select (selectors.py")


def _requests(what: str, ids: list[str], token: str, count: int) -> tuple[list[bytes], int]:
    if what == "noop":
        bodies = [{"ids": ids[(i * 100) % (len(ids) - 100) :][:100]} for i in range(count)]
        return [post_json("/bench/noop", b, token) for b in bodies], 16
    if what == "intake":
        return [
            post_json("/purge/v1/calls", {"ids": ids[i * 100 : i * 100 + 100]}, token)
            for i in range(count)
        ], 16
    if what == "whatif":
        body = {"phoneNumber": TARGET_PHONE}
        return [post_json("/purge/v1/calls/customer?whatIf=true", body, token)] * count, 1
    audio = os.urandom(256 * 1024)
    return [_multipart(n, audio, token) for n in range(count)], 1


def summarise(raw: Path, top: int) -> str:
    total, own, inclusive = 0, collections.Counter[str](), collections.Counter[str]()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if any(marker in stack for marker in IDLE):
            continue
        frames = stack.split(";")
        total += int(n)
        own[frames[-1]] += int(n)
        for frame in {f.rsplit(":", 1)[0] for f in frames}:
            inclusive[frame] += int(n)
    lines = [f"{total} samples", "-- inclusive"]
    lines += [f"{100 * v / total:5.1f}% {f}" for f, v in inclusive.most_common(top)]
    lines += ["-- self"] + [f"{100 * v / total:5.1f}% {f}" for f, v in own.most_common(20)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["noop", "intake", "whatif", "capture", "erase"])
    parser.add_argument("--store", type=Path, help="a kept store (default: a fresh small one)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--gil", action="store_true")
    parser.add_argument("--top", type=int, default=60)
    parser.add_argument("--out", type=Path, default=Path("build/profiles"))
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    if args.what == "erase":
        if args.store is None:
            parser.error("erase profiles the queue of a kept store: give --store")
        erase(args.store, args.out, args.top)
        return
    scratch = Path(tempfile.mkdtemp(dir="/var/tmp"))
    store = args.store or scratch
    runtime = Runtime.open(settings_for(store))
    try:
        need = args.requests * 100 if args.what == "intake" else 2000
        if args.store is None:
            # A fresh store: the calls just seeded (run_all's sampler picks its "bulk-" ones).
            ids = seed_calls(runtime, max(2000, need), seed=3, batch=5000)[:need]
        else:
            ids = _sample_ids(runtime, need, seed=time.time_ns())
        creds = create_user(runtime.engine, f"profile-{time.time_ns()}", ["purge", "capture"])
    finally:
        runtime.close()
    args.out.mkdir(parents=True, exist_ok=True)
    raw = args.out / f"{args.what}{'-gil' if args.gil else ''}.txt"
    server = Server(store)  # run_all's: bench/intake_server.py on CPU 0, rate limit off
    port = server.port
    try:
        token = _token(server.url, creds.client_id, creds.client_secret)
        requests, connections = _requests(args.what, ids, token, args.requests)
        if args.what != "intake":
            load(port, requests[:50], connections)  # warm-up (an intake would use up its IDs)
        spy = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "-p",
                str(server.proc.pid),
                "-o",
                str(raw),
                "-f",
                "raw",
                "-r",
                "200",
                "--gil" if args.gil else "--idle",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)
        result = load(port, requests, connections)
        spy.send_signal(2)
        spy.wait(timeout=60)
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    print(
        f"{args.what}: {result.rate:,.1f} req/s, p50 {result.pct_ms(50):.2f} ms, "
        f"p99 {result.pct_ms(99):.2f} ms, statuses {result.statuses}"
    )
    print(summarise(raw, args.top))
    if args.what == "intake" and args.store is not None:
        erase(args.store, args.out, args.top)


def erase(store: Path, out: Path, top: int) -> None:
    """Drain the store's purge queue under py-spy (all threads, waiting included): what the
    intake accepted is erased, so a kept store is left as found and run_all's worker meets
    only its own backlog."""
    raw = out / "erase.txt"
    drain = (
        "import sys, pathlib; from million_store import settings_for; "
        "from callvault.runtime import Runtime; "
        "from callvault.purge.loop import ErasureLoop, ErasureOptions; "
        "rt = Runtime.open(settings_for(pathlib.Path(sys.argv[1]))); "
        "print('erased', ErasureLoop(rt, ErasureOptions(batch_size=1000)).drain()); rt.close()"
    )
    spy = str(Path(sys.executable).parent / "py-spy")
    command = [spy, "record", "-o", str(raw), "-f", "raw", "-r", "200", "--idle", "--"]
    env = {**os.environ, "PYTHONPATH": str(BENCH)}
    subprocess.run([*command, sys.executable, "-c", drain, str(store)], check=True, env=env)
    print("erasure of the queue (ErasureLoop.drain)")
    print(summarise(raw, top))


if __name__ == "__main__":
    main()
