"""Kept-alive connections survive a pause (contract §10 "Kept-alive connections", §19, issue 33).

.NET keeps an idle pooled connection up to 100–120 s and sends the next call on it without
retrying, so a server that closes idle connections sooner fails that call. The idle keep-alive
timeout is ``CALLVAULT_KEEP_ALIVE_SECONDS`` (default 130), and the header timeout counts from the
first byte of a request, or from the opening of a connection that has sent nothing yet: never
from the end of the previous answer, which would close an idle kept-alive connection after
``CALLVAULT_HEADER_TIMEOUT_SECONDS``.

Small values keep the tests fast: a header timeout of 1 s, a keep-alive of 4 s, pauses of 2 s
(longer than the header timeout, shorter than the keep-alive). Every exchange is on a real
socket to real uvicorn running the protocol ``callvault serve`` runs.
"""

from __future__ import annotations

import select
import socket
import time
from pathlib import Path

import pytest

from api.test_hostile_http import SOCKET_TIMEOUT, _read_answers, _read_answers_until_one, head
from callvault.api.app import create_app
from callvault.api.protocol import http_protocol
from callvault.runtime import Runtime
from callvault.settings import Settings
from helpers import LiveServer, serve_in_thread

HEADER_TIMEOUT = 1.0
KEEP_ALIVE = 4
PAUSE = 2.0  # longer than the header timeout (and than 1 s), shorter than the keep-alive


@pytest.fixture
def kept(tmp_path):
    settings = Settings(
        data_dir=tmp_path / "data",
        header_timeout_seconds=HEADER_TIMEOUT,
        keep_alive_seconds=KEEP_ALIVE,
    )
    runtime = Runtime.open(settings)
    server, thread, port = serve_in_thread(create_app(settings, runtime), settings)
    yield LiveServer(url=f"http://127.0.0.1:{port}", runtime=runtime, port=port)
    server.should_exit = True
    thread.join(timeout=20)
    runtime.close()


def status_request(token: str, session_id: str) -> bytes:
    """A status call as a pooled .NET client sends it: keep-alive, no Connection header."""
    body = ('{"CallSessionIds": ["' + session_id + '"]}').encode()
    return (
        head(
            "POST",
            "/callCapture/v1/status",
            f"Authorization: Bearer {token}",
            "Content-Type: application/json; charset=utf-8",
            f"Content-Length: {len(body)}",
        )
        + body
    )


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server has closed its side (EOF, or a reset, waiting to be read)."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except ConnectionResetError:
        return True


def seconds_until_closed(sock: socket.socket, limit: float) -> float:
    started = time.monotonic()
    sock.settimeout(limit)
    try:
        data = sock.recv(1)
    except ConnectionResetError:
        data = b""
    assert data == b"", f"the server sent {data!r} instead of closing"
    return time.monotonic() - started


def test_a_call_after_a_pause_reuses_the_kept_alive_connection(kept):
    token = kept.token("capture")
    with socket.create_connection(("127.0.0.1", kept.port), timeout=SOCKET_TIMEOUT) as sock:
        local = sock.getsockname()
        sock.sendall(status_request(token, "first"))
        first, _ = _read_answers_until_one(sock)
        assert [a.status for a in first] == [200]
        assert first[0].headers.get("connection") != "close"
        time.sleep(PAUSE)  # the old defaults closed it here: 5 s keep-alive, 1 s header timeout
        assert not closed_by_server(sock), "an idle kept-alive connection was closed early"
        sock.sendall(status_request(token, "second"))
        second, _ = _read_answers_until_one(sock)
        assert [a.status for a in second] == [200]
        assert b'"sessionId":"second"' in second[0].body.replace(b" ", b"")
        assert sock.getsockname() == local  # one connection carried both calls
        # Idle again: closed after the keep-alive, not after the header timeout.
        idle = seconds_until_closed(sock, KEEP_ALIVE + 10)
    assert KEEP_ALIVE - 0.5 <= idle < KEEP_ALIVE + 5, idle


def test_half_a_request_line_after_a_pause_gets_408_from_its_first_byte(kept):
    with socket.create_connection(("127.0.0.1", kept.port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(head("GET", "/healthz"))
        assert [a.status for a in _read_answers_until_one(sock)[0]] == [200]
        time.sleep(PAUSE)
        sock.sendall(b"GET /heal")  # then nothing
        started = time.monotonic()
        answers, closed = _read_answers(sock)
        waited = time.monotonic() - started
    assert [a.status for a in answers] == [408]
    assert closed
    # Counted from that first byte, not from the previous answer (which was 2 s before).
    assert HEADER_TIMEOUT - 0.3 <= waited < HEADER_TIMEOUT + 3, waited


def test_half_a_request_line_on_a_new_connection_gets_408(kept):
    with socket.create_connection(("127.0.0.1", kept.port), timeout=SOCKET_TIMEOUT) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /callCapture/v1/sta")
        answers, closed = _read_answers(sock)
        waited = time.monotonic() - started
    assert [a.status for a in answers] == [408]
    assert closed
    assert waited < HEADER_TIMEOUT + 3, waited


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(kept):
    with socket.create_connection(("127.0.0.1", kept.port), timeout=SOCKET_TIMEOUT) as sock:
        waited = seconds_until_closed(sock, KEEP_ALIVE + 10)
    assert HEADER_TIMEOUT - 0.3 <= waited < KEEP_ALIVE, waited  # the header timeout, not later


def test_the_defaults_outlast_dotnets_idle_pool(tmp_path):
    settings = Settings(data_dir=Path(tmp_path / "data"))
    assert settings.keep_alive_seconds == 130  # .NET pools idle connections 100–120 s
    assert settings.header_timeout_seconds == 10
    protocol = http_protocol(settings)
    assert protocol.keep_alive_seconds == 130
    assert protocol.header_timeout == 10


def test_a_connection_answered_before_its_body_is_kept_alive_once_the_body_is_read(kept):
    """A 401 goes out before the body is read (authenticate first); once the client has sent
    the body, the connection is idle like any other and serves a call after a pause."""
    body = b'{"ids": ["x"]}'
    request = head(
        "POST",
        "/purge/v1/calls",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    )
    with socket.create_connection(("127.0.0.1", kept.port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(request)
        assert [a.status for a in _read_answers_until_one(sock)[0]] == [401]
        sock.sendall(body)
        time.sleep(PAUSE)
        assert not closed_by_server(sock)
        sock.sendall(head("GET", "/healthz"))
        assert [a.status for a in _read_answers_until_one(sock)[0]] == [200]


def test_a_body_still_trickling_after_its_answer_cannot_hold_the_connection(kept):
    request = head(
        "POST", "/purge/v1/calls", "Content-Type: application/json", "Content-Length: 100000"
    )
    with socket.create_connection(("127.0.0.1", kept.port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(request)
        assert [a.status for a in _read_answers_until_one(sock)[0]] == [401]
        started = time.monotonic()
        while not closed_by_server(sock):
            assert time.monotonic() - started < KEEP_ALIVE + 5, "the connection was held"
            try:
                sock.sendall(b"x")  # a byte now and then: the body never ends
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.2)
        waited = time.monotonic() - started
    assert waited < HEADER_TIMEOUT + 3, waited
