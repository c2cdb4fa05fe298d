"""Test helpers shared by every test module (importable: ``tests`` is on pytest's pythonpath)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from callvault.api.protocol import http_protocol
from callvault.auth.users import create_user
from callvault.runtime import Runtime
from callvault.settings import Settings

# httpx parses the CA bundle into a new TLS context for every Client it makes, about 50 ms each
# here (a sixth of a purge test's time went there). The helpers make thousands of clients, nearly
# all for plain HTTP on 127.0.0.1, so they share one context; a test of TLS passes its own.
TLS = ssl.create_default_context()


@dataclass
class LiveServer:
    url: str
    runtime: Runtime
    port: int
    app_state: Any = None

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, verify=TLS)

    def user(self, *permissions: str, name: str | None = None) -> tuple[str, str]:
        creds = create_user(
            self.runtime.engine, name or f"user-{time.monotonic_ns()}", list(permissions)
        )
        return creds.client_id, creds.client_secret

    def token(self, *permissions: str, name: str | None = None) -> str:
        client_id, secret = self.user(*permissions, name=name)
        answer = httpx.post(
            f"{self.url}/Token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
            verify=TLS,
            # The same patience as client(): httpx's default 5 s read timeout failed two whole
            # runs on one slow SQLite commit while the other pytest worker was busy.
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token


class PromptServer(uvicorn.Server):
    """uvicorn's server, stopping as soon as ``should_exit`` is set rather than at its next tick.

    uvicorn looks at ``should_exit`` every 100 ms and, on the way out, sleeps another 100 ms
    before it waits (in 100 ms steps) for open connections to finish: about 0.15 s of every
    test's teardown was sleep, ~2,000 live servers a run. Here setting ``should_exit`` wakes the
    loop at once, and the shutdown does what uvicorn's does (stop accepting, ask every
    connection to close, wait for each to finish its answer and for its tasks, then the app's
    lifespan shutdown) looking every 5 ms."""

    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None
    _exit = False

    @property  # type: ignore[override]
    def should_exit(self) -> bool:
        return self._exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._exit = value
        loop, wake = self._loop, self._wake
        if value and loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(wake.set)

    async def main_loop(self) -> None:
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        state = self.server_state
        while (state.connections or state.tasks) and not self.force_exit:
            await asyncio.sleep(0.005)
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


def serve_in_thread(
    app: Any, settings: Settings | None = None
) -> tuple[uvicorn.Server, threading.Thread, int]:
    """``app`` on real uvicorn in a thread, with the HTTP protocol ``serve`` uses (its limits
    from ``settings``, or the defaults)."""
    protocol = http_protocol(settings or Settings(data_dir=Path("unused")))
    # proxy_headers off, as `serve` runs it: uvicorn's default would take X-Forwarded-For from
    # 127.0.0.1 (every test client) as the client's address; the app alone decides, by
    # CALLVAULT_FORWARDED_ALLOW_IPS.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, http=protocol, log_level="warning", proxy_headers=False
    )
    server = PromptServer(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "server thread died during startup"
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    port: int = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, port


def wav_read_from_its_middle(seconds: float = 1.0) -> bytes:
    """A WAV whose ``data`` chunk comes between 600 and 300 KB of other chunks: its duration
    cannot be read from the ends capture keeps as the audio streams in (its parser reads a chunk
    header from the middle), so its call stays ``Concluded`` until the processing after the
    answer reads the stored audio back."""
    audio = wav_bytes(seconds)
    fmt_end = audio.index(b"data")

    def junk(size: int) -> bytes:
        return b"junk" + size.to_bytes(4, "little") + b"\x00" * size

    # Another 300 KB chunk after the audio, so that even a short one's header is in the middle.
    body = audio[12:fmt_end] + junk(600_000) + audio[fmt_end:] + junk(300_000)
    return b"RIFF" + (len(body) + 4).to_bytes(4, "little") + b"WAVE" + body


def wav_bytes(seconds: float = 1.0, rate: int = 8000, marker: bytes = b"") -> bytes:
    """A mono 16-bit WAV; ``marker`` bytes are embedded in the samples so scans can find them."""
    frames = int(seconds * rate)
    payload = (
        (marker * (2 * frames // max(len(marker), 1) + 1))[: 2 * frames]
        if marker
        else (b"\x01\x02" * frames)
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(payload)
    return out.getvalue()


def call_info(session_id: str, **overrides: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "sessionId": session_id,
        "startTime": "2024-01-01T04:23:00Z",
        "endTime": "2024-01-01T04:24:00.62859Z",
        "direction": "Inbound",
        "contacts": [
            {"type": "Agent", "channel": 0, "firstName": "Alice", "referenceId": "agent-7"},
            {
                "type": "Customer",
                "channel": 1,
                "phoneNumber": "(512) 555-1234",
                "firstName": "Bob",
                "lastName": "Caller",
            },
        ],
        "metadata": {"ticket": "T-1"},
    }
    info.update(overrides)
    return info


def post_call(
    client: httpx.Client,
    info: dict[str, Any] | bytes,
    audio: bytes | None = None,
    content_type: str = "audio/wav",
) -> httpx.Response:
    raw = info if isinstance(info, bytes) else json.dumps(info).encode()
    files = {
        "info": (None, raw, "application/json"),
        "data": ("call.wav", audio if audio is not None else wav_bytes(), content_type),
    }
    return client.post("/callCapture/v1/archive", files=files)


def post_v2_call(
    client: httpx.Client, info: dict[str, Any], audio: bytes | None = None
) -> httpx.Response:
    """Upload through Tethr v2's ``POST /capture/v2/call`` (answers ``{"id"}``)."""
    files = {
        "info": (None, json.dumps(info).encode(), "application/json"),
        "data": (None, audio if audio is not None else wav_bytes(), "audio/wav"),
    }
    return client.post("/capture/v2/call", files=files)


def v2_customer_info(
    session_id: str, phone: str | None = None, email: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """A Tethr v2 info whose Customer participant has this phone and/or e-mail address."""
    customer: dict[str, Any] = {"type": "Customer", "channel": 1, "firstName": "Quinn"}
    if phone:
        customer["phoneNumber"] = phone
    if email:
        customer["email"] = email
    info: dict[str, Any] = {
        "sessionId": session_id,
        "utcStart": "2024-03-01T10:00:00Z",
        "participants": [{"type": "Agent", "channel": 0}, customer],
        "audio": {"format": "wav"},
    }
    info.update(overrides)
    return info


def finished_purge(live: LiveServer, session_id: str) -> str:
    """The requestId of a purge of one call captured as ``session_id``, once it is final."""
    with live.client(live.token("capture")) as client:
        call_id = post_call(client, call_info(session_id)).json()["callId"]
    with live.client(live.token("purge")) as client:
        request_id = client.post("/purge/v1/calls", json={"ids": [call_id]}).json()["requestId"]
        deadline = time.monotonic() + 60
        while client.get(f"/purge/v1/requests/{request_id}").json()["state"] == "Purging":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    return str(request_id)


def chained(runtime: Runtime) -> Runtime:
    """Every audit event committed so far sequenced into the chain (PostgreSQL's writers append
    unsequenced; the workers' audit loop chains them within a fraction of a second, and every
    reader of the API first): for a test that reads ``audit_events`` directly."""
    from callvault.audit.trail import AuditTrail

    AuditTrail(runtime.keys.audit_chain_key).catch_up(runtime.engine)
    return runtime


def files_under(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        if path.is_file():
            yield path


BENCH = Path(__file__).resolve().parent.parent / "bench"


def run_bench(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``bench/<script>`` with the suite's Python, from bench/ (its scripts import each
    other), its output captured; the caller asserts on it."""
    return subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=BENCH,
    )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(url: str, proc: Any = None, deadline: float = 30, verify: Any = TLS) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/healthz", verify=verify, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} did not become healthy")


def blob_objects(runtime: Runtime) -> list[str]:
    """Everything the blob store holds: files (temporaries too), or S3 versions, delete markers
    and unfinished multipart uploads."""
    from callvault.blobs.folder import FolderBlobStore
    from callvault.blobs.s3 import S3BlobStore

    store = runtime.blobs
    if isinstance(store, FolderBlobStore):
        return [p.relative_to(store.root).as_posix() for p in files_under(store.root)]
    assert isinstance(store, S3BlobStore)
    found = [f"{key}@{version}" for key, version, _ in store.iter_all_versions()]
    uploads = store.client.list_multipart_uploads(Bucket=store.bucket, Prefix=store.prefix).get(
        "Uploads", []
    )
    return found + [f"upload:{u['Key']}" for u in uploads]


def sealed_details(runtime: Runtime, call_id: str) -> tuple[Any, dict[str, Any]]:
    """A call's row and its details document, opened with its data key (the audio's digests
    among them: ``capture/sealed.py``)."""
    from callvault.capture.sealed import open_details
    from callvault.crypto import CallCipher
    from callvault.store import calls as call_store

    with runtime.engine.connect() as conn:
        row = call_store.get_call(conn, call_id)
    wrapped = runtime.keystore.get(call_id)
    assert row is not None
    assert wrapped is not None
    cipher = CallCipher(call_id, runtime.keys.unwrap(call_id, wrapped))
    return row, open_details(cipher, row.sealed)


def forget_digests(runtime: Runtime, call_id: str) -> None:
    """The call as stored before its audio's digests were sealed with its details."""
    from sqlalchemy import update

    from callvault.capture.sealed import seal_document
    from callvault.crypto import CallCipher
    from callvault.store.tables import calls

    _, document = sealed_details(runtime, call_id)
    del document["audioDigests"]
    wrapped = runtime.keystore.get(call_id)
    assert wrapped is not None
    cipher = CallCipher(call_id, runtime.keys.unwrap(call_id, wrapped))
    with runtime.engine.begin() as conn:
        conn.execute(
            update(calls)
            .where(calls.c.call_id == call_id)
            .values(sealed=seal_document(cipher, document))
        )


def digests_of(audio: bytes) -> Any:
    """The ``AudioDigests`` of ``audio``, as capture and redaction seal them."""
    import hashlib

    from callvault.capture.sealed import AudioDigests

    return AudioDigests(
        len(audio), hashlib.sha256(audio).hexdigest(), hashlib.sha512(audio).hexdigest()
    )


def stored_bytes(runtime: Runtime) -> bytes:
    """Every byte the instance stores: the files of the embedded store; or, for PostgreSQL + S3,
    every row of both databases and every version of every object."""
    from sqlalchemy import MetaData, select

    if runtime.engine.dialect.name == "sqlite":
        return b"".join(p.read_bytes() for p in files_under(runtime.settings.data_dir))
    parts: list[bytes] = []
    for engine in (runtime.engine, runtime.keystore.engine):
        tables = MetaData()
        tables.reflect(engine)
        with engine.connect() as conn:
            for table in tables.sorted_tables:
                for row in conn.execute(select(table)):
                    for value in row:
                        parts.append(value if isinstance(value, bytes) else str(value).encode())
    from callvault.blobs.s3 import S3BlobStore

    store = runtime.blobs
    assert isinstance(store, S3BlobStore)
    for key, version, marker in store.iter_all_versions():
        if not marker:
            body = store.client.get_object(
                Bucket=store.bucket, Key=store.prefix + key, VersionId=version
            )["Body"].read()
            parts.append(body)
    return b"\n".join(parts)


def start_serve(data_dir: Path, env: dict[str, str] | None = None) -> tuple[Any, str]:
    """`callvault serve` on the embedded store in ``data_dir``, in its own process (so that it
    can be SIGKILLed), with a 1 s purge lease so a killed worker's jobs come back quickly;
    ``env`` adds environment variables (settings)."""
    import os
    import subprocess
    import sys

    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "callvault.cli.main",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--purge-lease-seconds",
            "1",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc)
    return proc, url


def commit_durability(conn: Any) -> str:
    """What a COMMIT on ``conn`` would do now: "durable" (flushed) or "relaxed" (not flushed);
    SQLite's synchronous level, PostgreSQL's synchronous_commit."""
    if conn.dialect.name == "sqlite":
        level = conn.exec_driver_sql("PRAGMA synchronous").scalar()
        return {1: "relaxed", 2: "durable"}[level]
    setting = conn.exec_driver_sql("SELECT current_setting('synchronous_commit')").scalar()
    return "relaxed" if setting == "off" else "durable"


def durable_by_default(engine: Any) -> None:
    """The throwaway test cluster runs with synchronous_commit=off for speed; this test's
    database is made durable again, so that what a relaxed transaction changes can be seen."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            name = conn.exec_driver_sql("SELECT current_database()").scalar()
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit TO on')
        engine.dispose()


def slow_download(port: int, token: str, call_id: str) -> tuple[socket.socket, bytes]:
    """Start GET /audio on a socket with a tiny receive window; returns it and the bytes that
    arrived first (headers and the start of the body)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"GET /calls/v1/{call_id}/audio HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: Bearer {token}\r\n\r\n".encode()
    )
    received = b""
    while b"\r\n\r\n" not in received or len(received) < 64 * 1024:
        piece = sock.recv(8192)
        assert piece, "the download ended before it began"
        received += piece
    return sock, received
