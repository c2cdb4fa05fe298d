"""A cap on request bodies, enforced while they stream in (Content-Length can be absent or lie)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callvault.api.problems import problem


class BodyLimitMiddleware:
    """Rejects bodies over ``limit`` bytes with 413; paths in ``exempt`` enforce their own limit."""

    def __init__(self, app: ASGIApp, limit: int, exempt: frozenset[str]) -> None:
        self.app = app
        self.limit = limit
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        detail = f"the request body is larger than the limit of {self.limit} bytes"
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await problem(413, "Content Too Large", "too-large", detail)(scope, receive, send)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # An HTTPException: FastAPI's body reader passes it through (any other
                    # exception there becomes a 400 "error parsing the body").
                    raise HTTPException(413, detail)
            return message

        await self.app(scope, limited, send)
