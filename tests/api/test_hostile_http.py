"""Hostile clients at the HTTP layer (issue 12, contract §19), over real sockets to real uvicorn:
authentication before the body, framing that cannot smuggle a second request, bounded headers,
and bounded connections."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import h11
import pytest

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
    import httpx

    headers = {"Content-Type": "text/plain"}
    if authorization:
        headers["Authorization"] = authorization
    answer = httpx.post(f"{live.url}{path}", content=b"hello", headers=headers)
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.headers["content-type"] == "application/problem+json"


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
    assert answers[0].headers["content-type"] == "application/problem+json"


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
