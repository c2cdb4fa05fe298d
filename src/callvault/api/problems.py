"""RFC 9457 problem details: the one place domain errors become HTTP responses.

Every problem is sent as ``application/problem+json``, but to a Tethr endpoint (contract §8):
Tethr's C++ client reads an answer's body only when its type is exactly
``application/json; charset=utf-8`` and otherwise reports "Unexpected content type" without the
status. So a request to a Tethr endpoint (``TETHR_PREFIXES``) that does not name
``application/problem+json`` in its ``Accept`` (no ``Accept``, ``*/*``, ``application/json``)
gets the same body as ``application/json; charset=utf-8``, status kept. The choice is made
when the response is sent (``NegotiatedProblem``), so the problems of the middleware
(authenticate-first 401s, body-limit 413s) and of every exception handler follow it alike;
``api.protocol`` asks ``problem_media_type`` too for the one protocol-level answer that knows
its request (431).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from callvault.api.responses import ProblemResponse, TethrJSONResponse
from callvault.errors import CallvaultError, RateLimited, Unauthenticated
from callvault.ratelimit import retry_after_header
from callvault.store.engine import is_transient

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://callvault.dev/problems/"
# The errors a database raises; those that store.engine.is_transient calls passing (down,
# restarting, locked, every pooled connection taken) are a 503, the rest a 500 as before.
DATABASE_ERRORS = (DBAPIError, PoolTimeout)
DATABASE_RETRY_AFTER_SECONDS = 5
_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})

PROBLEM_JSON = ProblemResponse.media_type
TETHR_JSON = TethrJSONResponse.media_type
# The Tethr endpoints (contract §2–5, §10, §16): a path equal to one of these or under it.
TETHR_PREFIXES = (
    "/Token",
    "/callCapture/v1",
    "/purge/v1/calls",
    "/capture/v2",
    "/interactions/v2",
)

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}


def is_tethr_path(path: str) -> bool:
    """True for a path of a Tethr endpoint (``/purge/v1/calls/customer``; not
    ``/purge/v1/requests/…``, which is callvault's own)."""
    return any(path == p or path.startswith(p + "/") for p in TETHR_PREFIXES)


def names_problem_json(accept: str | None) -> bool:
    """True when an ``Accept`` value names ``application/problem+json`` with a weight above 0
    (RFC 9110 §12.5.1). Wildcards (``*/*``, ``application/*``) do not name it."""
    for media_range in (accept or "").split(","):
        media_type, *params = (part.strip() for part in media_range.split(";"))
        if media_type.lower() != PROBLEM_JSON:
            continue
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 1.0
        if weight > 0:
            return True
    return False


def problem_media_type(path: str, accept: str | None) -> str:
    """The content type of a problem answering a request for ``path`` with this ``Accept``."""
    if is_tethr_path(path) and not names_problem_json(accept):
        return TETHR_JSON
    return PROBLEM_JSON


def _accept_of(scope: Scope) -> str | None:
    values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"accept"]
    return ", ".join(values) if values else None


class NegotiatedProblem(ProblemResponse):
    """A problem whose content type is chosen, when it is sent, by the request it answers."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope.get("type") == "http" and is_tethr_path(path):
            media_type = problem_media_type(path, _accept_of(scope)).encode()
            self.raw_headers = [
                (k, media_type if k == b"content-type" else v) for k, v in self.raw_headers
            ]
            self.raw_headers.append((b"vary", b"Accept"))  # the type depends on it here
        await super().__call__(scope, receive, send)


def document_tethr_problems(openapi: dict[str, Any]) -> dict[str, Any]:
    """Lists ``application/json; charset=utf-8`` beside every problem answer of a Tethr
    endpoint in the OpenAPI document (in place): both are what such an endpoint may send."""
    for path, operations in openapi.get("paths", {}).items():
        if not is_tethr_path(path):
            continue
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for answer in operation.get("responses", {}).values():
                content = answer.get("content", {})
                if PROBLEM_JSON in content and TETHR_JSON not in content:
                    content[TETHR_JSON] = content[PROBLEM_JSON]
    return openapi


def problem(
    status: int,
    title: str,
    slug: str,
    detail: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """RFC 9457 problem details; ``extra`` members (e.g. ``matched``) extend the body. Sent as
    ``application/problem+json``, or as Tethr JSON to a Tethr client (``NegotiatedProblem``)."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update(extra or {})
    return NegotiatedProblem(body, status_code=status, headers=headers or None)


def database_error(exc: Exception) -> Response:
    """A database that cannot serve now (``is_transient``) is a 503 with Retry-After: the
    server's trouble, not the client's, and passing, so the client retries rather than reports
    a bug. Any other database error is a fault: 500. Logged either way, without the statement's
    values (``hide_parameters`` on the engines)."""
    if not is_transient(exc):
        return unexpected(exc)
    log.error("the database is unavailable", exc_info=exc)
    return problem(
        503,
        "Service Unavailable",
        "storage-unavailable",
        "the database is unavailable or too busy to answer now; retry in "
        f"{DATABASE_RETRY_AFTER_SECONDS} s",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


def unexpected(exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc)
    return problem(500, "Internal Server Error", "internal", "an unexpected error occurred")


def error_response(exc: CallvaultError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = retry_after_header(exc.retry_after)
    return problem(exc.status, exc.title, exc.slug, exc.detail, exc.extra, headers)


# Pydantic's words for the common faults ("List should have at most 100 items after
# validation, not 101", "Input should be a valid string") said as a person would, with the limit.
_TYPE_NAMES = {
    "string_type": "a string",
    "list_type": "a list",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a JSON object",
    "model_type": "a JSON object",
    "model_attributes_type": "a JSON object",
    "float_type": "a number",
    "float_parsing": "a number",
}


def _plural(count: Any, one: str) -> str:
    return f"{count} {one}" if count == 1 else f"{count} {one}s"


def _plain_words(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in _TYPE_NAMES:
        return f"must be {_TYPE_NAMES[kind]}"
    if kind == "missing":
        return "is required"
    if kind == "too_long" and ctx.get("field_type") not in ("List", "Tuple", "Set"):
        return f"at most {_plural(ctx.get('max_length'), 'character')}"
    if kind == "string_pattern_mismatch":
        return f"must match the pattern {ctx.get('pattern')}"
    if kind == "too_long":
        return (
            f"at most {_plural(ctx.get('max_length'), 'item')} "
            f"(this one has {ctx.get('actual_length')}); send the rest in another request"
        )
    if kind == "too_short":
        return f"at least {_plural(ctx.get('min_length'), 'item')}"
    if kind == "string_too_long":
        return f"at most {_plural(ctx.get('max_length'), 'character')}"
    if kind == "string_too_short":
        return f"at least {_plural(ctx.get('min_length'), 'character')}"
    return str(error.get("msg", "is invalid")).removeprefix("Value error, ")


def _where(loc: Sequence[Any]) -> str:
    """``("body", "ids", 0)`` → ``ids[0]``."""
    where = ""
    for part in loc:
        if part in ("body", "path", "query"):
            continue
        if isinstance(part, int):
            where += f"[{part}]"
        else:
            where += f".{part}" if where else str(part)
    return where


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:10]:
        if error.get("type") == "json_invalid":
            return "the request body is not valid JSON; send a JSON object"
        loc = _where(error.get("loc", ()))
        message = _plain_words(error)
        parts.append(f"{loc}: {message}" if loc else message)
    return "; ".join(parts) or "the request is invalid"


def _allowed_methods(request: Request) -> str:
    # RFC 9110 §15.5.6: a 405's Allow lists every method of the resource; Starlette names only
    # those of the first route whose path matched (GET and POST of one path are two routes).
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.scope["path"]):
            methods.update(m.upper() for m in operations if m.upper() in _METHODS)
    return ", ".join(sorted(methods))


_HTTP_TITLES = {
    404: ("Not Found", "not-found"),
    405: ("Method Not Allowed", "method-not-allowed"),
    413: ("Content Too Large", "too-large"),
}


def install(app: FastAPI) -> None:
    build_openapi = app.openapi  # FastAPI's: cached, built anew when the routes change
    documented: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        document = build_openapi()
        if not documented or documented[0] is not document:
            documented[:] = [document_tethr_problems(document)]
        return document

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(CallvaultError)
    async def _domain(_request: Request, exc: CallvaultError) -> Response:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        return problem(400, "Bad Request", "bad-request", _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title, slug = _HTTP_TITLES.get(exc.status_code, ("Error", "http-error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such endpoint; see /openapi.json for the API"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
        return problem(exc.status_code, title, slug, detail, headers=headers)

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _exc: ClientDisconnect) -> Response:
        # Not an error of ours: one line, no traceback. The answer reaches no one.
        log.info(
            "client disconnected before its request was read: %s %s",
            request.method,
            request.url.path,
        )
        return problem(400, "Bad Request", "client-disconnected", "the client disconnected")

    @app.exception_handler(DataError)
    async def _data(_request: Request, exc: DataError) -> Response:
        # A value the database refuses (a backstop: input validation should catch it first).
        log.warning("database refused a value: %s", type(exc.orig).__name__)
        detail = "a value in the request cannot be stored (invalid characters or too long)"
        return problem(400, "Bad Request", "bad-request", detail)

    for kind in DATABASE_ERRORS:

        @app.exception_handler(kind)
        async def _database(_request: Request, exc: Exception) -> Response:
            return database_error(exc)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> Response:
        return unexpected(exc)
