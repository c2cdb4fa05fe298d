"""uvicorn's h11 protocol, hardened against hostile clients (contract §19).

h11, not httptools: Tethr's C++ SDK sends ``Transfer-Encoding: chunked`` together with
``Content-Length``, which httptools rejects and h11 reads as RFC 9112 says (chunked wins). What
uvicorn's ``H11Protocol`` lacks, this subclass adds:

- **No smuggling.** A request that carries both headers is answered with ``Connection: close``
  and its connection closed: bytes after its chunked terminator are never read as another
  request (RFC 9112 §6.1).
- **A bounded head.** Request line plus headers of at most 64 KiB, or a 431 problem. h11 enforces
  its limit only on a head still incomplete, so a larger head that arrived in one read passed.
- **A header timeout.** A request head must arrive whole within ``header_timeout`` seconds of the
  connection opening (the first request) or of its own first byte (every later one): else a 408
  problem. A connection that sends nothing at all is closed after ``header_timeout``, without an
  answer. It never counts from the previous answer: between requests a kept-alive connection is
  idle, not late, and closes after ``keep_alive_seconds`` (contract §10: .NET pools idle
  connections 100–120 s and does not retry a call sent on one the server closed; the default
  130 s outlasts it). The connection cap bounds what idle connections can hold.
- **A connection cap.** Over ``max_connections`` open connections, a new one is answered 503
  with ``Retry-After`` and closed.
- **Problem details.** uvicorn's own answer to a request it cannot parse is ``text/plain``; here it
  is ``application/problem+json`` like every other error, or, for a 431 whose head was read whole
  and names a Tethr endpoint, whatever ``problems.problem_media_type`` says that request gets
  (contract §8: ``application/json; charset=utf-8`` unless it asks for problem+json). The other
  answers of this layer (400 for a head that does not parse, 408, 503 at the cap) answer no
  request that could be read, so they name no endpoint and stay ``application/problem+json``.

An error answer is followed by a lingering close (our side shut, what the client still sends read
and dropped for a moment), so that a client still writing gets the answer rather than a reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import unquote

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from callvault.api.problems import PROBLEM_BASE, PROBLEM_JSON, problem_media_type
from callvault.settings import Settings

MAX_HEAD_BYTES = 64 * 1024
# The ASGI scope extension through which a response ends its connection with a reset.
RESET_EXTENSION = "callvault.reset"
LINGER_SECONDS = 2.0
_TITLES = {
    400: ("Bad Request", "bad-request"),
    408: ("Request Timeout", "request-timeout"),
    431: ("Request Header Fields Too Large", "headers-too-large"),
    501: ("Not Implemented", "not-implemented"),
    503: ("Service Unavailable", "unavailable"),
}


def _is_ambiguous(request: h11.Request) -> bool:
    names = {name for name, _ in request.headers}
    return b"transfer-encoding" in names and b"content-length" in names


class _GuardedConnection(h11.Connection):
    """h11's server connection that also bounds a complete head, remembers the error it raised,
    and closes after answering a request framed both ways."""

    def __init__(self, max_head_bytes: int) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size=max_head_bytes)
        self.max_head_bytes = max_head_bytes
        self.error: h11.RemoteProtocolError | None = None
        self.refused_head: h11.Request | None = None  # a whole head refused for its size
        self.close_after_response = False
        self.on_head: Callable[[], None] | None = None  # called when a whole head is read

    def next_event(self) -> h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]:
        reading_head = self.their_state is h11.IDLE
        before = len(self.trailing_data[0]) if reading_head else 0
        try:
            event = super().next_event()
        except h11.RemoteProtocolError as exc:
            self.error = exc
            raise
        if isinstance(event, h11.Request):
            if before - len(self.trailing_data[0]) > self.max_head_bytes:
                self.refused_head = event
                self.error = h11.RemoteProtocolError(
                    "request line and headers are larger than 64 KiB", error_status_hint=431
                )
                raise self.error
            self.close_after_response = _is_ambiguous(event)
            if self.on_head is not None:
                self.on_head()
        return event

    def send_with_data_passthrough(self, event: h11.Event) -> list[bytes] | None:
        # `send` goes through here too.
        if isinstance(event, h11.Response) and self.close_after_response:
            headers = [(k, v) for k, v in event.headers.raw_items() if k.lower() != b"connection"]
            event = h11.Response(
                status_code=event.status_code,
                headers=[*headers, (b"connection", b"close")],
                reason=event.reason,
            )
        return super().send_with_data_passthrough(event)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's ``H11Protocol`` with the guards above; configure it with ``http_protocol``."""

    header_timeout: float = 10.0
    max_connections: int | None = None
    keep_alive_seconds: float | None = None  # None: uvicorn's ``timeout_keep_alive``

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.keep_alive_seconds is not None:
            self.timeout_keep_alive = self.keep_alive_seconds  # type: ignore[assignment]
        self.guarded = _GuardedConnection(MAX_HEAD_BYTES)
        self.guarded.on_head = self._head_arrived
        self.conn = self.guarded
        self._head_timer: asyncio.TimerHandle | None = None
        self._lingering = False
        self._answered = False  # a response has been completed on this connection
        self._timing_body = False

    # -- connection life

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        full = self.max_connections is not None and len(self.connections) >= self.max_connections
        super().connection_made(transport)
        if full:
            self.logger.warning(
                "connection refused: %d connections are open", len(self.connections)
            )
            self._answer_and_close(
                503,
                f"the server holds its maximum of {self.max_connections} connections; retry",
                retry_after="1",
            )
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # what a refused client still sends is dropped
        super().data_received(data)
        self._settle()

    def eof_received(self) -> None:
        if self._lingering:
            self.transport.close()

    def on_response_complete(self) -> None:
        self._answered = True
        super().on_response_complete()  # arms uvicorn's keep-alive timer; reads what is pipelined
        self._settle()

    # -- a reset on demand (api/downloads.py)

    def handle_events(self) -> None:
        super().handle_events()
        cycle = self.cycle
        if cycle is None:
            return
        scope = cast(dict[str, Any], cycle.scope)
        extensions = scope.setdefault("extensions", {})
        # The cycle's task is only scheduled yet: it sees the extension when it starts.
        extensions.setdefault(RESET_EXTENSION, self.reset)

    def reset(self) -> None:
        """End the connection with a TCP reset (``SO_LINGER`` 0): the kernel discards what it
        has not sent, and the client reads no more of the response. The cut is intended, so
        uvicorn is told the client is gone rather than log an incomplete response as an error."""
        if self.transport.is_closing():
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()  # a request body reader, if any, learns it at once
        self.transport.abort()

    # -- the header timeout

    def _arm_head_timer(self, for_body: bool = False) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)
        self._timing_body = for_body  # timing the unread body of an answered request

    def _settle(self) -> None:
        """The timer the connection's state calls for, after what was read or answered:

        - between requests, nothing of the next one read: idle, uvicorn's keep-alive timer (on
          a new connection that has sent nothing, the header timer armed at its opening);
        - a head begun and not whole: the header timer, from the connection's opening for its
          first request, else from the head's first byte (the first read that found it begun);
        - answered while the request's body still arrives (an early 401 or 413): the header
          timer too, so an unread body cannot hold the connection (it closes, nothing to say);
        - a request being served: neither (the read timeout of uploads is the app's).
        """
        if self.transport.is_closing() or self._lingering:
            return
        their, ours = self.conn.their_state, self.conn.our_state
        if their is h11.IDLE and ours is h11.IDLE:
            if self.conn.trailing_data[0]:
                if self._head_timer is None or self._timing_body:
                    self._unset_keepalive_if_required()
                    self._arm_head_timer()
            elif self._answered:
                self._cancel_head_timer()  # a body read to its end after its answer: idle now
                if self.timeout_keep_alive_task is None:
                    self.timeout_keep_alive_task = self.loop.call_later(
                        self.timeout_keep_alive, self.timeout_keep_alive_handler
                    )
        elif ours is h11.DONE and their is h11.SEND_BODY and self._head_timer is None:
            self._arm_head_timer(for_body=True)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_arrived(self) -> None:
        self._cancel_head_timer()

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self._lingering:
            return
        started = self.conn.their_state is h11.IDLE and bool(self.conn.trailing_data[0])
        if started and self.conn.our_state is h11.IDLE:
            self._answer_and_close(
                408, f"the request headers did not arrive within {self.header_timeout:g} s"
            )
        else:  # nothing asked: nobody to answer
            self.transport.close()

    # -- error answers

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request h11 cannot parse, as a problem (431 for a large head)."""
        error = self.guarded.error
        status = error.error_status_hint if error is not None else 400
        status = status if status in _TITLES else 400
        detail = (
            "request line and headers are larger than 64 KiB"
            if status == 431
            else f"the request is not valid HTTP/1.1: {str(error)[:200]}"
            if error is not None
            else "the request is not valid HTTP/1.1"
        )
        self._answer_and_close(status, detail, media_type=_media_type(self.guarded.refused_head))

    def _answer_and_close(
        self,
        status: int,
        detail: str,
        retry_after: str | None = None,
        media_type: str = PROBLEM_JSON,
    ) -> None:
        self._cancel_head_timer()
        title, slug = _TITLES[status]
        body = json.dumps(
            {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
        ).encode()
        headers = [
            (b"content-type", media_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        if retry_after is not None:
            headers.append((b"retry-after", retry_after.encode()))
        try:
            self.transport.write(
                self.conn.send(h11.Response(status_code=status, headers=headers, reason=title))
                or b""
            )
            self.transport.write(self.conn.send(h11.Data(data=body)) or b"")
            self.transport.write(self.conn.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError:  # a response had started: nothing more can be said
            self.transport.close()
            return
        self._linger()

    def _linger(self) -> None:
        """Shut our side, drop what still comes for a moment, then close (a client still
        writing would otherwise meet a reset and lose the answer)."""
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()


def _media_type(head: h11.Request | None) -> str:
    """The type of a problem answering ``head`` (None: no request was read)."""
    if head is None:
        return PROBLEM_JSON
    path = unquote(head.target.partition(b"?")[0].decode("latin-1"))  # as uvicorn routes it
    accept = [v.decode("latin-1") for k, v in head.headers if k == b"accept"]
    return problem_media_type(path, ", ".join(accept) if accept else None)


def http_protocol(settings: Settings) -> type[GuardedH11Protocol]:
    """The protocol class for ``uvicorn.run(http=...)``, with the instance's limits."""

    class Configured(GuardedH11Protocol):
        header_timeout = settings.header_timeout_seconds
        max_connections = settings.max_connections
        keep_alive_seconds = settings.keep_alive_seconds

    return Configured
