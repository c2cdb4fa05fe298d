"""A small HTTP/1.1 load generator over raw keep-alive sockets (asyncio), for the benchmarks.

Why not httpx: at a thousand requests a second a Python HTTP client costs as much CPU as the
server it measures, and on a two-core machine the two compete. Here every request is serialised
before the clock starts and a response is read by its Content-Length alone, so nearly all the
CPU left goes to the server under test. Responses must not be chunked (callvault's never are).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadResult:
    rate: float  # requests completed per second
    latencies: list[float]  # seconds, one per request
    statuses: dict[int, int]

    def pct_ms(self, q: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000


def post_json(path: str, body: object, token: str, host: str = "127.0.0.1") -> bytes:
    payload = json.dumps(body, separators=(",", ":")).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def _worker(
    port: int, queue: list[bytes], latencies: list[float], statuses: dict[int, int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while queue:
            request = queue.pop()
            start = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            latencies.append(time.perf_counter() - start)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _run(port: int, requests: Sequence[bytes], connections: int) -> LoadResult:
    queue = list(reversed(requests))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = time.perf_counter()
    await asyncio.gather(*(_worker(port, queue, latencies, statuses) for _ in range(connections)))
    elapsed = time.perf_counter() - start
    return LoadResult(len(requests) / elapsed, latencies, statuses)


def load(port: int, requests: Sequence[bytes], connections: int = 1) -> LoadResult:
    """Send ``requests`` over ``connections`` keep-alive connections; each connection sends its
    next request as soon as the previous answer arrived (a closed loop)."""
    return asyncio.run(_run(port, requests, connections))


def capture_request(
    session_id: str, audio: bytes, token: str, boundary: str = "benchb0undary"
) -> bytes:
    """A whole ``POST /callCapture/v1/archive`` (multipart: ``info``, then ``data``)."""
    info = json.dumps(
        {
            "sessionId": session_id,
            "startTime": "2024-05-01T12:00:00Z",
            "direction": "Inbound",
            "contacts": [{"type": "Customer", "phoneNumber": "+15125550100", "firstName": "Ann"}],
        }
    )
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="info"\r\n'
            f"Content-Type: application/json\r\n\r\n{info}\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="data"; filename="a.wav"\r\n'
            "Content-Type: audio/wav\r\n\r\n"
        ).encode()
        + audio
        + f"\r\n--{boundary}--\r\n".encode()
    )
    head = (
        f"POST /callCapture/v1/archive HTTP/1.1\r\nHost: bench\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body
