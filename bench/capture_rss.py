"""Peak server memory while a large call is captured (issue: 500 MB upload, RSS under 200 MB).

Starts `callvault serve` on a fresh data dir, measures its idle RSS (the floor), streams one
upload of --size-mb MB of audio with chunked framing, then reads the server's peak RSS (VmHWM)
and compares the upload rate with writing the same bytes straight to disk (the disk floor).

    .venv/bin/python bench/capture_rss.py --size-mb 500
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from helpers import free_port, wait_healthy  # noqa: E402

CHUNK = 1024 * 1024


def _kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def _body(boundary: str, info: bytes, size: int, block: bytes) -> Iterator[bytes]:
    yield (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="info"\r\n'
            "Content-Type: application/json\r\n\r\n"
        ).encode()
        + info
        + (
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="data"; '
            'filename="big.wav"\r\nContent-Type: audio/wav\r\n\r\n'
        ).encode()
    )
    sent = 0
    while sent < size:
        piece = block[: min(CHUNK, size - sent)]
        sent += len(piece)
        yield piece
    yield f"\r\n--{boundary}--\r\n".encode()


def upload(url: str, token: str, session_id: str, size: int, block: bytes) -> float:
    """Stream one capture of ``size`` audio bytes (chunked); the seconds it took."""
    info = json.dumps(
        {
            "sessionId": session_id,
            "startTime": "2024-01-01T00:00:00Z",
            "contacts": [{"type": "Agent"}],
        }
    ).encode()
    boundary = "benchboundary"
    start = time.perf_counter()
    answer = httpx.post(
        f"{url}/callCapture/v1/archive",
        content=_body(boundary, info, size, block),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        timeout=1200,
    )
    answer.raise_for_status()
    return time.perf_counter() - start


def disk_floor(path: Path, size: int, block: bytes) -> float:
    start = time.perf_counter()
    with open(path, "wb") as handle:
        written = 0
        while written < size:
            written += handle.write(block[: min(CHUNK, size - written)])
        handle.flush()
        os.fsync(handle.fileno())
    elapsed = time.perf_counter() - start
    path.unlink()
    return size / elapsed / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=500)
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024
    block = os.urandom(CHUNK)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        cli = [sys.executable, "-m", "callvault.cli.main"]
        creds = json.loads(
            subprocess.run(
                [
                    *cli,
                    "users",
                    "create",
                    "bench",
                    "-p",
                    "capture",
                    "--json",
                    "--data-dir",
                    str(data),
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        port = free_port()
        proc = subprocess.Popen(
            [*cli, "serve", "--port", str(port), "--data-dir", str(data), "--log-level", "warning"]
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc)
            idle = _kib(proc.pid, "VmRSS")
            token = httpx.post(
                f"{url}/Token", data={"grant_type": "client_credentials", **creds}
            ).json()["access_token"]
            elapsed = upload(url, token, "big-1", size, block)
            peak = _kib(proc.pid, "VmHWM")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        floor = disk_floor(Path(tmp) / "floor.bin", size, block)
    rate = size / elapsed / 1e6
    print(f"{'figure':<34}{'value':>12}{'floor':>12}{'ratio':>8}")
    print(
        f"{'server peak RSS (MB), ' + str(args.size_mb) + ' MB upload':<34}"
        f"{peak / 1024:>12.1f}{idle / 1024:>12.1f}{peak / idle:>8.2f}"
    )
    print(
        f"{'capture rate (MB/s) vs disk write':<34}{rate:>12.1f}{floor:>12.1f}{rate / floor:>8.2f}"
    )
    print(f"peak RSS under 200 MB: {'yes' if peak / 1024 < 200 else 'NO'}")


if __name__ == "__main__":
    main()
