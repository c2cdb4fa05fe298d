"""RFC 9457 problem details: the one place domain errors become HTTP responses."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from callvault.api.responses import ProblemResponse
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


def problem(
    status: int,
    title: str,
    slug: str,
    detail: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """RFC 9457 problem details; ``extra`` members (e.g. ``matched``) extend the body."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update(extra or {})
    return ProblemResponse(body, status_code=status, headers=headers or None)


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


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:10]:
        loc = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        if error.get("type") == "json_invalid":
            return "the request body is not valid JSON; send a JSON object"
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
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
