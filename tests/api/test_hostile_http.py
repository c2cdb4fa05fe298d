"""Hostile clients at the HTTP layer (issue 12, contract §19), over real sockets to real uvicorn:
authentication before the body, framing that cannot smuggle a second request, bounded headers,
and bounded connections."""

from __future__ import annotations

import signal
import socket
import time
from dataclasses import dataclass

import h11
import httpx
import pytest

from callvault.api.app import create_app
from callvault.runtime import Runtime
from callvault.settings import Settings
from helpers import LiveServer, serve_in_thread, start_serve

SOCKET_TIMEOUT = 20.0  # a deadline for a hung test, never an assertion on timing


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def _read_answers(sock: socket.socket) -> tuple[list[Answer], bool]:
    """Every response the server writes until it closes (True) or goes quiet (False)."""
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=1 << 20)
    # Parse responses to requests we wrote by hand: tell the parser a GET went out each time.
    conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    conn.send(h11.EndOfMessage())
    answers: list[Answer] = []
    current: h11.Response | None = None
    body = bytearray()
    closed = False
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                closed = True
                break
            if not data:
                closed = True
                break
            conn.receive_data(data)
            continue
        if isinstance(event, h11.Response):
            current, body = event, bytearray()
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            assert current is not None
            headers = {k.decode().lower(): v.decode("latin-1") for k, v in current.headers}
            answers.append(Answer(current.status_code, headers, bytes(body)))
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                closed = sock.recv(1) == b""
                break
            conn.start_next_cycle()
            conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
            conn.send(h11.EndOfMessage())
    return answers, closed


def exchange(
    port: int, data: bytes, quiet_after: float = SOCKET_TIMEOUT
) -> tuple[list[Answer], bool]:
    """Write ``data`` on a fresh connection, then read every answer until the server closes the
    connection (closed True) or sends nothing for ``quiet_after`` seconds (closed False)."""
    with socket.create_connection(("127.0.0.1", port), timeout=quiet_after) as sock:
        sock.sendall(data)
        return _read_answers(sock)


def head(method: str, path: str, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# --------------------------------------------------------------------- authenticate first

JSON_PATHS = ["/purge/v1/calls", "/purge/v1/calls/customer", "/callCapture/v1/status"]


@pytest.mark.parametrize("path", JSON_PATHS)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic YTpi"])
def test_no_valid_token_and_a_wrong_content_type_is_401_not_415(live, path, authorization):
    headers = {"Content-Type": "text/plain"}
    if authorization:
        headers["Authorization"] = authorization
    answer = httpx.post(f"{live.url}{path}", content=b"hello", headers=headers)
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"] == "Bearer"
    # Tethr endpoints, and httpx names no problem+json in its Accept: Tethr JSON (§8).
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert answer.json()["status"] == 401


@pytest.mark.parametrize("path", [*JSON_PATHS, "/callCapture/v1/archive"])
def test_no_token_is_answered_before_the_body_is_sent(live, path):
    # Headers announce a megabyte that never comes: the 401 must not wait for it.
    request = head(
        "POST",
        path,
        "Content-Type: application/json",
        "Content-Length: 1000000",
        "Authorization: Bearer not-a-token",
    )
    with socket.create_connection(("127.0.0.1", live.port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(request)
        answers, _closed = _read_answers_until_one(sock)
    assert [a.status for a in answers] == [401]
    assert answers[0].headers["content-type"] == "application/json; charset=utf-8"  # §8


def _read_answers_until_one(sock: socket.socket) -> tuple[list[Answer], bool]:
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    conn.send(h11.EndOfMessage())
    response: h11.Response | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = sock.recv(65536)  # a server waiting for the body times out here
            if not data:
                return [], True
            conn.receive_data(data)
        elif isinstance(event, h11.Response):
            response = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            assert response is not None
            headers = {k.decode().lower(): v.decode("latin-1") for k, v in response.headers}
            return [Answer(response.status_code, headers, bytes(body))], False


# --------------------------------------------------------------------------- framing


def _chunked(body: bytes) -> bytes:
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


def test_chunked_with_content_length_is_answered_then_closed(live):
    """Bytes after the chunked terminator are never read as a second request (RFC 9112 §6.1)."""
    token = live.token("purge")
    body = b'{"ids": ["no-such-call"]}'
    first = head(
        "POST",
        "/purge/v1/calls?whatIf=true",
        f"Authorization: Bearer {token}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Transfer-Encoding: chunked",
    )
    smuggled = head("GET", "/healthz")
    answers, closed = exchange(live.port, first + _chunked(body) + smuggled)
    assert [a.status for a in answers] == [200]  # read as chunked, as Tethr's C++ client needs
    assert answers[0].headers["connection"] == "close"
    assert closed


def test_plain_keep_alive_still_serves_a_second_request(live):
    body = b'{"ids": ["no-such-call"]}'
    token = live.token("purge")
    first = head(
        "POST",
        "/purge/v1/calls?whatIf=true",
        f"Authorization: Bearer {token}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    )
    with socket.create_connection(("127.0.0.1", live.port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(first + body + head("GET", "/healthz", "Connection: close"))
        answers, closed = _read_answers(sock)
    assert [a.status for a in answers] == [200, 200]
    assert closed


# --------------------------------------------------------------------------- header size


@pytest.mark.parametrize("size", [70_000, 130_000, 300_000])
def test_a_header_block_over_64_kib_is_431_problem(live, size):
    filler = "X-Filler: " + "a" * (size - 100)
    answers, closed = exchange(live.port, head("GET", "/healthz", filler))
    assert [a.status for a in answers] == [431]
    assert answers[0].headers["content-type"] == "application/problem+json"
    assert b"64 KiB" in answers[0].body
    assert closed


def test_a_header_block_under_64_kib_is_served(live):
    filler = "X-Filler: " + "a" * 60_000
    answers, _ = exchange(live.port, head("GET", "/healthz", filler, "Connection: close"))
    assert [a.status for a in answers] == [200]


def test_a_malformed_request_is_a_400_problem(live):
    answers, closed = exchange(live.port, b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n")
    assert [a.status for a in answers] == [400]
    assert answers[0].headers["content-type"] == "application/problem+json"
    assert closed


# ----------------------------------------------------------------- timeouts and the cap


@pytest.fixture
def guarded(tmp_path):
    """A server with a 1 s header timeout and room for 3 connections."""
    settings = Settings(data_dir=tmp_path / "data", header_timeout_seconds=1.0, max_connections=3)
    runtime = Runtime.open(settings)
    server, thread, port = serve_in_thread(create_app(settings, runtime), settings)
    yield LiveServer(url=f"http://127.0.0.1:{port}", runtime=runtime, port=port)
    server.should_exit = True
    thread.join(timeout=20)
    runtime.close()


def test_headers_that_do_not_arrive_in_time_get_408_and_close(guarded):
    answers, closed = exchange(guarded.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    assert [a.status for a in answers] == [408]
    assert answers[0].headers["content-type"] == "application/problem+json"
    assert closed


def test_a_silent_connection_is_closed(guarded):
    answers, closed = exchange(guarded.port, b"")
    assert answers == []
    assert closed


def test_the_header_timeout_applies_to_each_request_of_a_connection(guarded):
    with socket.create_connection(("127.0.0.1", guarded.port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(head("GET", "/healthz") + b"GET /healthz HTTP/1.1\r\n")
        answers, closed = _read_answers(sock)
    assert [a.status for a in answers] == [200, 408]
    assert closed


def test_connections_over_the_cap_get_503_and_close(guarded):
    held = []
    try:
        for _ in range(3):  # each one answered, so the server has surely counted it
            sock = socket.create_connection(("127.0.0.1", guarded.port), timeout=SOCKET_TIMEOUT)
            held.append(sock)
            sock.sendall(head("GET", "/healthz"))
            assert _read_answers_until_one(sock)[0][0].status == 200
        answers, closed = exchange(guarded.port, head("GET", "/healthz"))
        assert [a.status for a in answers] == [503]
        assert answers[0].headers["content-type"] == "application/problem+json"
        assert "retry-after" in answers[0].headers
        assert closed
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + SOCKET_TIMEOUT  # a freed place is taken again
    while True:
        answers, _ = exchange(guarded.port, head("GET", "/healthz", "Connection: close"))
        if [a.status for a in answers] == [200]:
            break
        assert time.monotonic() < deadline, answers


def test_callvault_serve_runs_the_guarded_protocol_with_its_settings(tmp_path):
    env = {
        "CALLVAULT_HEADER_TIMEOUT_SECONDS": "1",
        "CALLVAULT_MAX_CONNECTIONS": "2",
        "CALLVAULT_KEEP_ALIVE_SECONDS": "4",
    }
    proc, url = start_serve(tmp_path / "data", env)
    try:
        port = int(url.rsplit(":", 1)[1])
        answers, closed = exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        assert [a.status for a in answers] == [408]
        assert closed
        answers, closed = exchange(port, head("GET", "/healthz", "X-Filler: " + "a" * 70_000))
        assert [a.status for a in answers] == [431]
        # Kept alive past the header timeout (contract §10): a second call after a pause.
        with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT) as sock:
            sock.sendall(head("GET", "/healthz"))
            assert _read_answers_until_one(sock)[0][0].status == 200
            time.sleep(2)
            sock.sendall(head("GET", "/healthz", "Connection: close"))
            answers, closed = _read_answers(sock)
        assert [a.status for a in answers] == [200]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
