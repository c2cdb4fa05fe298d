"""What every console page shares: rendering, security headers, session and CSRF checks.

Security model (docs/console.md says it at length):

- the session cookie (``callvault_session``) is ``HttpOnly``, ``SameSite=Strict``, ``Path=/console``
  and ``Secure`` when the request came over HTTPS; its value is a random session ID whose SHA-256
  alone is stored (``auth/sessions.py``);
- every state-changing form carries the session's CSRF token (``csrf``), compared in constant
  time; the login form, before any session exists, carries a double-submit token of its own
  cookie (``callvault_login``);
- every answer under ``/console/`` is a page, never JSON: a domain error, a value the address or
  form gets wrong, an unknown path (``Unrouted``), a method a path does not take and a fault are
  ``error.html`` with their status;
- every answer carries a Content-Security-Policy that allows nothing but this server (no inline
  script or style, no frames, forms post only here), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: no-referrer``, and pages ``Cache-Control: no-store`` (a preview page holds
  a phone number in its form).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from callvault import __version__
from callvault.auth.permissions import Permission, grants
from callvault.auth.sessions import ConsoleSession, ConsoleSessions
from callvault.errors import (
    CallvaultError,
    PermissionDenied,
    RateLimited,
    UnsupportedMediaType,
)
from callvault.ratelimit import RateLimiter, client_address, retry_after_header
from callvault.store.engine import is_transient

log = logging.getLogger(__name__)

PREFIX = "/console"
SESSION_COOKIE = "callvault_session"
LOGIN_COOKIE = "callvault_login"
FORM_TYPE = "application/x-www-form-urlencoded"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
PAGE_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-store"}
# What a page shows where a value is absent (a release time of an active hold), never nothing.
ABSENT = "—"
DATABASE_RETRY_AFTER_SECONDS = 5
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    # The templates ship with the package: no stat of each one at every render (on the loop).
    auto_reload=False,
)


def iso_utc(value: Any) -> str | None:
    """A time as people read it here: ISO 8601 UTC to the second (``2026-12-07T08:00:00Z``), from
    a ``datetime`` or an ISO 8601 string; None when there is none or it is no time."""
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(moment, datetime):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the store's times are UTC
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc(value: Any) -> Markup:
    """The ``utc`` filter: a ``<time>`` of ``iso_utc`` (kept on one line by the style sheet),
    ``ABSENT`` when there is no time, and anything else escaped as it is rather than a page
    failing."""
    if value is None or value == "":
        return escape(ABSENT)
    shown = iso_utc(value)
    if shown is None:
        return escape(str(value))
    return Markup('<time datetime="{0}">{0}</time>').format(shown)


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return iso_utc(value) or str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def as_json(value: Any) -> str:
    """A value written as JSON (``true``, ``null``, ``"text"``, ``{"a": 1}``): how an audit
    event's ``details`` are shown, the way the API gives them, never a language's repr."""
    return json.dumps(value, ensure_ascii=False, default=_json_default)


_env.filters["utc"] = utc
_env.filters["json"] = as_json


class LoginRequired(Exception):
    """No live session: a page sends the browser to the login page."""


# (label, path, permissions any of which shows it).
NAVIGATION: list[tuple[str, str, tuple[Permission, ...]]] = [
    ("Customer lookup", f"{PREFIX}/lookup", (Permission.PURGE,)),
    ("Purge requests", f"{PREFIX}/requests", (Permission.PURGE, Permission.AUDIT)),
    ("Legal holds", f"{PREFIX}/holds", (Permission.HOLD, Permission.AUDIT)),
    ("Retention", f"{PREFIX}/retention", (Permission.RETENTION, Permission.AUDIT)),
    ("Suppressions", f"{PREFIX}/suppressions", (Permission.SUPPRESS, Permission.AUDIT)),
    ("Exports", f"{PREFIX}/exports", (Permission.EXPORT, Permission.AUDIT)),
    ("Audit trail", f"{PREFIX}/audit", (Permission.AUDIT,)),
]


def may(session: ConsoleSession | None, *permissions: Permission) -> bool:
    return session is not None and any(
        grants(session.principal.permissions, p) for p in permissions
    )


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    session: ConsoleSession | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    session = session or getattr(request.state, "console_session", None)
    nav = [
        {"label": label, "href": href, "current": request.url.path.startswith(href)}
        for label, href, perms in NAVIGATION
        if may(session, *perms)
    ]
    html = _env.get_template(template).render(
        {
            "session": session,
            "user": session.principal if session else None,
            "csrf": session.csrf_token if session else "",
            "nav": nav,
            "version": __version__,
            "may": lambda *p: may(session, *(Permission(x) for x in p)),
            **(context or {}),
        }
    )
    return HTMLResponse(html, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})


def page_of_error(
    request: Request,
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The error page (``error.html``): a title, a sentence for a person, the status kept."""
    return render(
        request,
        "error.html",
        {"title": title, "status": status, "detail": detail},
        status=status,
        headers=headers,
    )


def error_page(request: Request, exc: CallvaultError) -> Response:
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = retry_after_header(exc.retry_after)
    return page_of_error(request, exc.status, exc.title, exc.detail, headers)


def redirect(path: str) -> Response:
    """A 303 to a path of this server: a relative Location, never built from Host (§19)."""
    return RedirectResponse(path, status_code=303, headers=PAGE_HEADERS)


# Titles of the HTTP errors Starlette raises itself (a body over the limit, a form it cannot read).
_HTTP_TITLES = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
}


def _fault_page(request: Request, exc: Exception) -> Response:
    """A failure of the server's (the database, a bug): logged with its traceback, and a page
    that says so and what to do; a passing database outage is a 503 to retry."""
    if isinstance(exc, DataError):
        log.warning("database refused a value: %s", type(exc.orig).__name__)
        detail = "a value in the form cannot be stored (invalid characters or too long)"
        return page_of_error(request, 400, "Bad Request", detail)
    if isinstance(exc, DBAPIError | PoolTimeout) and is_transient(exc):
        log.error("the database is unavailable", exc_info=exc)
        detail = (
            "the database is unavailable or too busy to answer now; "
            f"retry in {DATABASE_RETRY_AFTER_SECONDS} s"
        )
        headers = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
        return page_of_error(request, 503, "Service Unavailable", detail, headers)
    log.error("unhandled error on a console page", exc_info=exc)
    detail = (
        "something went wrong on the server and nothing more was done; retry, and if it "
        "happens again tell your administrator the time it happened"
    )
    return page_of_error(request, 500, "Internal Server Error", detail)


# Every console route made, so that a 405 page can say which methods a path takes.
CONSOLE_ROUTES: list[APIRoute] = []


class ConsoleRoute(APIRoute):
    """Console routes answer HTML, whatever happens: a domain error becomes an error page with
    its status, a missing session a trip to the login page, a method the path does not take a
    405 page, a fault a 500 page (never the API's JSON problem)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        CONSOLE_ROUTES.append(self)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                if request.method == "GET" and "hx-request" not in request.headers:
                    return redirect(f"{PREFIX}/login")
                # htmx (a live progress poll) follows HX-Redirect to the login page.
                return page_of_error(
                    request,
                    401,
                    "Signed out",
                    "your console session has ended; log in again",
                    headers={"HX-Redirect": f"{PREFIX}/login"},
                )
            except CallvaultError as exc:
                return error_page(request, exc)
            except RequestValidationError:
                detail = "a value in the address or the form is not valid; go back and retry"
                return page_of_error(request, 400, "Bad Request", detail)
            except HTTPException as exc:
                title = _HTTP_TITLES.get(exc.status_code, "Error")
                detail = exc.detail if exc.detail and exc.detail != title else title
                return page_of_error(
                    request, exc.status_code, title, detail, dict(exc.headers or {})
                )
            except ClientDisconnect:
                raise  # nobody is there to read a page
            except Exception as exc:
                return _fault_page(request, exc)

        return route

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A method this path does not take: FastAPI would raise a 405 the API's handler turns
        # into JSON, before any route handler of ours runs.
        if self.methods and scope["method"] not in self.methods:
            response = await unrouted(Request(scope, receive))
            await response(scope, receive, send)
            return
        await super().handle(scope, receive, send)


class Unrouted(ConsoleRoute):
    """The console's last resort, at ``/console/{path:path}``: a path no console route takes.

    It matches only partially (``Match.PARTIAL``, as a path whose method is wrong does), so any
    route that takes the request wins over it wherever the router lists it, and it is chosen
    only when no route of the app takes the path: then its page says 404, or 405 when some
    console route takes the path with another method (a router's own answer would be JSON)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        return (Match.NONE, {}) if match is Match.NONE else (Match.PARTIAL, child)


def allowed_methods(path: str) -> list[str]:
    """The methods the console's routes take at ``path``, for a 405's ``Allow``."""
    methods: set[str] = set()
    for route in CONSOLE_ROUTES:
        if not isinstance(route, Unrouted) and route.path_regex.match(path):
            methods.update(route.methods or ())
    return sorted(methods)


async def unrouted(request: Request) -> Response:
    """The page of a console path or method no route takes: 404, or 405 with ``Allow``. The
    person's session, when there is one, gives the page its navigation (and counts against its
    rate limit like any page)."""
    try:
        await run_in_threadpool(signed_in, request)
    except LoginRequired:
        pass
    except RateLimited as exc:
        return error_page(request, exc)
    allowed = allowed_methods(request.url.path)
    if allowed:
        return page_of_error(
            request,
            405,
            "Method Not Allowed",
            "this console address does not take that kind of request; use the page's own "
            "links and buttons",
            {"Allow": ", ".join(allowed)},
        )
    return page_of_error(
        request,
        404,
        "Not Found",
        "there is no such console page; it may have moved, or the address was mistyped",
    )


def sessions(request: Request) -> ConsoleSessions:
    found: ConsoleSessions = request.app.state.console_sessions
    return found


def address_of(request: Request) -> str:
    """The client's address, which login failures are counted by: the peer's, or when the peer
    is a trusted proxy (CALLVAULT_FORWARDED_ALLOW_IPS) the one its X-Forwarded-For gives."""
    peer = request.client.host if request.client else "unknown"
    trusted = request.app.state.runtime.settings.trusted_proxies
    return client_address(peer, request.headers.getlist("x-forwarded-for"), trusted)


def current_session(request: Request) -> ConsoleSession | None:
    return sessions(request).resume(request.cookies.get(SESSION_COOKIE))


def signed_in(request: Request) -> ConsoleSession:
    """The live session, rate-limited as the API user it is (one bucket for both faces)."""
    session = current_session(request)
    if session is None:
        raise LoginRequired
    limiter: RateLimiter = request.app.state.user_limiter
    wait = limiter.acquire(session.principal.user_id)
    if wait is not None:
        raise RateLimited(
            f"over {limiter.per_minute} requests a minute; retry in {retry_after_header(wait)} s",
            wait,
        )
    request.state.console_session = session
    return session


def needs(*permissions: Permission) -> Callable[..., ConsoleSession]:
    """A dependency: the signed-in session, which must hold any of ``permissions`` (the ones
    the page's API route needs)."""

    def dependency(session: Annotated[ConsoleSession, Depends(signed_in)]) -> ConsoleSession:
        if not may(session, *permissions):
            needed = " or ".join(f"`{p.value}`" for p in permissions)
            raise PermissionDenied(f"this page needs the {needed} permission")
        return session

    return dependency


async def form_of(request: Request) -> dict[str, str]:
    """A form post's fields (URL-encoded only: nothing is spooled to disk); repeated names keep
    their last value, except where a route reads ``getlist``."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != FORM_TYPE:
        raise UnsupportedMediaType(f"console forms are posted as {FORM_TYPE}")
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def checked_form(request: Request, session: ConsoleSession) -> dict[str, str]:
    """The fields of a state-changing form whose CSRF token is the session's, else 403."""
    fields = await form_of(request)
    if not session.csrf_ok(fields.get("csrf")):
        raise PermissionDenied(
            "this form's security token is missing or out of date; reload the page and retry"
        )
    return fields


def login_token_ok(request: Request, given: str | None) -> bool:
    cookie = request.cookies.get(LOGIN_COOKIE)
    if not cookie or not given:
        return False
    return hmac.compare_digest(cookie.encode(), given.encode("utf-8", "replace"))


def cookie_options(request: Request) -> dict[str, Any]:
    return {
        "httponly": True,
        "samesite": "strict",
        "secure": request.url.scheme == "https",
        "path": PREFIX,
    }
