"""Authentication before anything else: a request without a valid bearer token is answered 401
before its body is read or its content type judged (contract §19).

FastAPI reads and parses a JSON body, and runs route-level dependencies such as the content-type
check, before the dependency that checks the token, so an anonymous client could make the server
parse a megabyte (or learn a 415) per request. This pure-ASGI middleware checks the token first
and leaves the principal in the request state, where ``deps.require`` takes it up (one lookup per
request).
"""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from callvault.api.problems import DATABASE_ERRORS, database_error, error_response
from callvault.auth.tokens import Principal, authenticate
from callvault.errors import Unauthenticated
from callvault.runtime import Runtime

PRINCIPAL_KEY = "principal"
MISSING = "send `Authorization: Bearer <token>`; get a token from POST /Token"


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer`` header (scheme in any case), else None."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


def _routed(scope: Scope) -> bool:
    """True when a route of the app takes this method and path."""
    return any(route.matches(scope)[0] is Match.FULL for route in scope["app"].router.routes)


# Matching every route's pattern was a tenth of a no-op request's CPU, and the router does it
# again; the answer depends only on the method and path, so it is remembered. Bounded, so a
# client sending random paths costs itself a rematch rather than the server its memory.
ROUTE_CACHE_SIZE = 4096


class AuthenticateFirst:
    """Answers 401 to every request outside ``open_paths`` that has no valid bearer token."""

    def __init__(
        self,
        app: ASGIApp,
        open_paths: frozenset[str],
        session_prefix: str | None = None,
        link_paths: re.Pattern[str] | None = None,
    ) -> None:
        self.app = app
        self.open_paths = open_paths
        # Paths a link's own token opens (an export's package, contract §20): without a bearer
        # token they go on to their route, which checks the link; with one, it is checked here.
        self.link_paths = link_paths
        # The console (contract §17) authenticates by its session cookie, in its own routes.
        self.session_prefix = session_prefix
        self._routed: dict[tuple[str, str], bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] in self.open_paths
            or self._console(scope["path"])
            or self._link(scope)
            or not self._is_routed(scope)  # 404 or 405, answered without reading the body either
        ):
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        try:
            if token is None:
                raise Unauthenticated(MISSING)
            runtime: Runtime = scope["app"].state.runtime
            principal: Principal = await run_in_threadpool(authenticate, runtime.engine, token)
        except Unauthenticated as exc:
            # The body is left unread: uvicorn discards it (or the client, waiting for a
            # 100 Continue, never sends it).
            await error_response(exc)(scope, receive, send)
            return
        except DATABASE_ERRORS as exc:
            # Outside FastAPI's exception handlers, so mapped here as they map it.
            await database_error(exc)(scope, receive, send)
            return
        scope.setdefault("state", {})[PRINCIPAL_KEY] = principal
        await self.app(scope, receive, send)

    def _link(self, scope: Scope) -> bool:
        return (
            self.link_paths is not None
            and self.link_paths.fullmatch(scope["path"]) is not None
            and bearer_token(scope) is None
        )

    def _is_routed(self, scope: Scope) -> bool:
        key = (scope["method"], scope["path"])
        known = self._routed.get(key)
        if known is None:
            known = _routed(scope)
            if len(self._routed) >= ROUTE_CACHE_SIZE:
                self._routed.clear()
            self._routed[key] = known
        return known

    def _console(self, path: str) -> bool:
        prefix = self.session_prefix
        return prefix is not None and (path == prefix or path.startswith(prefix + "/"))
