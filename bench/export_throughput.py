"""Access export (contract §20): throughput against its floor, and peak server memory.

1. Throughput. A fresh embedded store gets ``--calls`` calls (default 1,000) of one customer,
   ``--audio-kib`` KiB of audio each (default 256). The floor reads and decrypts the same blobs in
   a plain loop (data key unwrapped, blob opened, every chunk authenticated and decrypted: what
   any read of the audio costs). The export streams the customer's package in process
   (``ExportService.download_by_user``: details opened, audio decrypted and zipped, its hashes
   taken from the sealed details, the bytes sent hashed for the audit event) and, the same
   package, over HTTP from ``callvault serve`` on loopback. Target: the export at least half
   the floor's MB/s.
2. Memory. One call of ``--big-mib`` MiB (default 1024) is exported over HTTP from ``callvault
   serve``; the server's peak RSS (VmHWM, reset through ``/proc/PID/clear_refs`` first) is
   compared with its RSS just before. Target: flat, at most 50 MB above it.

    .venv/bin/python bench/export_throughput.py [--calls 1000] [--audio-kib 256] [--big-mib 1024]

Both parts together take about a minute here.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from callvault.auth.users import create_user  # noqa: E402
from callvault.certificates.service import CertificateService  # noqa: E402
from callvault.crypto import CallCipher  # noqa: E402
from callvault.demo import seed_calls  # noqa: E402
from callvault.exports.service import ExportAsk, ExportService  # noqa: E402
from callvault.runtime import Runtime  # noqa: E402
from callvault.settings import Settings  # noqa: E402
from callvault.store import calls as call_store  # noqa: E402
from helpers import free_port, wait_healthy  # noqa: E402

PHONE = "+15125550100"
PIECE = 256 * 1024


def _kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def floor(runtime: Runtime, call_ids: list[str]) -> tuple[float, int]:
    """Seconds and plaintext bytes of reading and decrypting every call's audio in a loop."""
    total = 0
    began = time.perf_counter()
    for call_id in call_ids:
        with runtime.engine.connect() as conn:
            row = call_store.get_call(conn, call_id)
        assert row is not None
        wrapped = runtime.keystore.get(call_id)
        assert wrapped is not None
        cipher = CallCipher(call_id, runtime.keys.unwrap(call_id, wrapped))
        handle, size = runtime.blobs.open(row.blob_key)
        with cipher.audio_reader(handle, size) as audio:
            while piece := audio.read(PIECE):
                total += len(piece)
    return time.perf_counter() - began, total


def in_process(runtime: Runtime) -> tuple[float, int]:
    certificates = CertificateService(runtime)
    service = ExportService(runtime, certificates.sign)
    made = service.create(ExportAsk(phone_numbers=[PHONE]), False, "bench")
    began = time.perf_counter()
    total = sum(len(c) for c in service.download_by_user(made["exportId"], "bench").chunks)
    return time.perf_counter() - began, total


def serve(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "CALLVAULT_DATA_DIR": str(data_dir),
        "CALLVAULT_RATE_LIMIT_PER_MINUTE": "0",
        "CALLVAULT_EXPORT_MAX_DOWNLOADS": "100",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "callvault.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc, deadline=120)  # a loaded machine starts it slowly
    return proc, url


def token(url: str, runtime: Runtime) -> str:
    creds = create_user(runtime.engine, f"bench-{time.monotonic_ns()}", ["export"])
    answer = httpx.post(
        f"{url}/Token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        },
    )
    return str(answer.json()["access_token"])


def download(url: str, bearer: str, pid: int | None = None) -> tuple[float, int, int, int]:
    """Seconds, bytes, RSS before (KiB) and peak RSS during (KiB) of one export's download."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {bearer}"}) as client:
        made = client.post("/exports/v1", json={"phoneNumbers": [PHONE]}, timeout=60).json()
        before = peak = 0
        if pid is not None:
            before = _kib(pid, "VmRSS")
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        total = 0
        began = time.perf_counter()
        with client.stream("GET", made["downloadUrl"], timeout=600) as response:
            assert response.status_code == 200, response.status_code
            for chunk in response.iter_bytes(PIECE):
                total += len(chunk)
        seconds = time.perf_counter() - began
        if pid is not None:
            peak = _kib(pid, "VmHWM")
    return seconds, total, before, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--audio-kib", type=int, default=256)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2, help="Alternated floor/export passes.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir="/var/tmp") as folder:
        data_dir = Path(folder) / "many"
        runtime = Runtime.open(Settings(data_dir=data_dir))
        ids = seed_calls(
            runtime, args.calls, phones=[PHONE], audio_bytes=args.audio_kib * 1024, seed=1
        )
        floor(runtime, ids)  # warm the page cache and the key store
        # Alternated, the best of each kept: a busy machine slows one pass, not the figure.
        floor_rate = export_rate = 0.0
        for _ in range(args.rounds):
            seconds, total = floor(runtime, ids)
            floor_rate = max(floor_rate, total / seconds)
            seconds, total = in_process(runtime)
            export_rate = max(export_rate, total / seconds)
        proc, url = serve(data_dir)
        try:
            http_s, http_b, _, _ = download(url, token(url, runtime))
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
        runtime.close()
        mb = 1e6
        print(f"{args.calls} calls of {args.audio_kib} KiB, one customer")
        print(f"  floor (read + decrypt loop)  {floor_rate / mb:8.1f} MB/s")
        print(
            f"  export, in process           {export_rate / mb:8.1f} MB/s  "
            f"({export_rate / floor_rate:.2f}x the floor)"
        )
        print(
            f"  export, HTTP download        {http_b / http_s / mb:8.1f} MB/s  "
            f"({http_b / http_s / floor_rate:.2f}x the floor)"
        )

        big_dir = Path(folder) / "big"
        runtime = Runtime.open(Settings(data_dir=big_dir))
        seed_calls(runtime, 1, phones=[PHONE], audio_bytes=args.big_mib * 1024 * 1024, seed=2)
        proc, url = serve(big_dir)
        try:
            bearer = token(url, runtime)
            seconds, total, before, peak = download(url, bearer, proc.pid)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
        runtime.close()
        print(f"one call of {args.big_mib} MiB over HTTP ({total / 2**20:.0f} MiB sent)")
        print(f"  throughput                   {total / seconds / mb:8.1f} MB/s")
        print(f"  server RSS before            {before / 1024:8.1f} MiB")
        print(
            f"  server peak RSS during       {peak / 1024:8.1f} MiB  "
            f"(+{(peak - before) / 1024:.1f} MiB)"
        )


if __name__ == "__main__":
    main()
