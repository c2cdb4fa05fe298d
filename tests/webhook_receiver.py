"""A webhook receiver over a real socket, for the webhook tests: a tiny HTTP server in a thread
that verifies every delivery with the ``standardwebhooks`` library, as a privacy program would.

``answer`` is the status it replies with (204); ``hold`` (an Event, when set by the test) keeps
a request waiting until it is set, to catch a worker mid-send. What arrived is in ``received``
(verified) and ``refused`` (failed verification: the tests assert it stays empty).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Delivery:
    message_id: str
    body: bytes
    payload: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Receiver:
    port: int = 0
    secret: str | None = None
    answer: int = 204
    hold: threading.Event | None = None
    received: list[Delivery] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    waiting: int = 0  # requests kept waiting by ``hold`` now
    arrived: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks?ticket-system=1"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if receiver.hold is not None:
                    with receiver.arrived:
                        receiver.waiting += 1
                        receiver.arrived.notify_all()
                    receiver.hold.wait()
                    with receiver.arrived:
                        receiver.waiting -= 1
                try:
                    assert receiver.secret is not None
                    payload = Webhook(receiver.secret).verify(body, headers)
                except (WebhookVerificationError, AssertionError, ValueError) as exc:
                    with receiver.arrived:
                        receiver.refused.append(repr(exc))
                        receiver.arrived.notify_all()
                    self.send_response(400)
                    self.end_headers()
                    return
                with receiver.arrived:
                    receiver.received.append(
                        Delivery(headers["webhook-id"], body, payload, headers)
                    )
                    receiver.arrived.notify_all()
                self.send_response(receiver.answer)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> None:
        """Until ``predicate(self)`` holds (checked at every arrival), else fail."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: predicate(self), timeout):
                raise AssertionError(f"receiver: condition not met; got {self.types()}")

    def types(self) -> list[str]:
        return [d.payload["type"] for d in self.received]

    def by_message(self) -> dict[str, list[Delivery]]:
        found: dict[str, list[Delivery]] = {}
        for d in self.received:
            found.setdefault(d.message_id, []).append(d)
        return found

    def bodies(self) -> bytes:
        return b"\n".join(d.body + json.dumps(d.headers).encode() for d in self.received)
