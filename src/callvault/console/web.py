"""What every console page shares: rendering, security headers, session and CSRF checks.

Security model (docs/console.md says it at length):

- the session cookie (``callvault_session``) is ``HttpOnly``, ``SameSite=Strict``, ``Path=/console``
  and ``Secure`` when the request came over HTTPS; its value is a random session ID whose SHA-256
  alone is stored (``auth/sessions.py``);
- every state-changing form carries the session's CSRF token (``csrf``), compared in constant
  time; the login form, before any session exists, carries a double-submit token of its own
  cookie (``callvault_login``);
- every answer carries a Content-Security-Policy that allows nothing but this server (no inline
  script or style, no frames, forms post only here), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: no-referrer``, and pages ``Cache-Control: no-store`` (a preview page holds
  a phone number in its form).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from callvault import __version__
from callvault.auth.permissions import Permission, grants
from callvault.auth.sessions import ConsoleSession, ConsoleSessions
from callvault.errors import (
    CallvaultError,
    PermissionDenied,
    RateLimited,
    UnsupportedMediaType,
)
from callvault.ratelimit import RateLimiter, retry_after_header

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


class LoginRequired(Exception):
    """No live session: a page sends the browser to the login page."""


# (label, path, permissions any of which shows it).
NAVIGATION: list[tuple[str, str, tuple[Permission, ...]]] = [
    ("Customer lookup", f"{PREFIX}/lookup", (Permission.PURGE,)),
    ("Purge requests", f"{PREFIX}/requests", (Permission.PURGE, Permission.AUDIT)),
    ("Legal holds", f"{PREFIX}/holds", (Permission.HOLD, Permission.AUDIT)),
    ("Retention", f"{PREFIX}/retention", (Permission.RETENTION, Permission.AUDIT)),
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


def error_page(request: Request, exc: CallvaultError) -> Response:
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = retry_after_header(exc.retry_after)
    return render(
        request,
        "error.html",
        {"title": exc.title, "status": exc.status, "detail": exc.detail},
        status=exc.status,
        headers=headers,
    )


def redirect(path: str) -> Response:
    """A 303 to a path of this server: a relative Location, never built from Host (§19)."""
    return RedirectResponse(path, status_code=303, headers=PAGE_HEADERS)


class ConsoleRoute(APIRoute):
    """Console routes answer HTML: a domain error becomes an error page with its status, a
    missing session a trip to the login page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                if request.method == "GET" and "hx-request" not in request.headers:
                    return redirect(f"{PREFIX}/login")
                # htmx (a live progress poll) follows HX-Redirect to the login page.
                return render(
                    request,
                    "error.html",
                    {
                        "title": "Signed out",
                        "status": 401,
                        "detail": "your console session has ended; log in again",
                    },
                    status=401,
                    headers={"HX-Redirect": f"{PREFIX}/login"},
                )
            except CallvaultError as exc:
                return error_page(request, exc)
            except RequestValidationError:
                detail = "a value in the address or the form is not valid; go back and retry"
                return render(
                    request,
                    "error.html",
                    {"title": "Bad Request", "status": 400, "detail": detail},
                    status=400,
                )

        return route


def sessions(request: Request) -> ConsoleSessions:
    found: ConsoleSessions = request.app.state.console_sessions
    return found


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
