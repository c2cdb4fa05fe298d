"""The console's suppressions page (contract §17, §22): the list for ``suppress`` or ``audit``; a
caller suppressed, looked up or a suppression lifted, each with the API's permission.

Thin, like ``routes.py``: every rule (normalization, keyed hashes, expiry, the 409 of a second
lift, the audit events) is ``SuppressionService``'s, the one the API calls. Phone numbers and
addresses travel only in POST bodies: a lookup answers the page itself, never a redirect that
would carry the number in a URL.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from callvault.auth.permissions import Permission
from callvault.auth.sessions import ConsoleSession
from callvault.console import web
from callvault.console.web import PREFIX, checked_form, needs, redirect, render
from callvault.suppressions.service import PAGE_MAX, Identifiers, SuppressionService

router = APIRouter(
    prefix=f"{PREFIX}/suppressions", include_in_schema=False, route_class=web.ConsoleRoute
)

Viewer = Annotated[ConsoleSession, Depends(needs(Permission.SUPPRESS, Permission.AUDIT))]
Editor = Annotated[ConsoleSession, Depends(needs(Permission.SUPPRESS))]
SuppressionId = Annotated[str, Path(min_length=1, max_length=64)]
STATES = ("all", "Active", "Lifted", "Expired")


def _service(request: Request) -> SuppressionService:
    service: SuppressionService = request.app.state.suppression_service
    return service


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


async def _page(
    request: Request,
    state: str = "all",
    cursor: str | None = None,
    found: dict[str, Any] | None = None,
) -> Response:
    page = await run_in_threadpool(_service(request).page, state, PAGE_MAX, cursor)
    return render(
        request,
        "suppressions.html",
        {
            "suppressions": page["suppressions"],
            "next_cursor": page.get("nextCursor"),
            "state": state,
            "states": STATES,
            "found": found,
        },
    )


@router.get("")
async def suppressions_page(
    request: Request,
    session: Viewer,
    state: Annotated[str, Query(max_length=16)] = "all",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    return await _page(request, state or "all", cursor)


@router.post("")
async def suppress(request: Request, session: Editor) -> Response:
    fields = await checked_form(request, session)
    principal = session.principal
    await run_in_threadpool(
        _service(request).create,
        Identifiers(_lines(fields.get("phones", "")), _lines(fields.get("emails", ""))),
        fields.get("reason", ""),
        fields.get("reference", "").strip() or None,
        fields.get("expiresAt", "").strip() or None,
        principal.name,
        principal.region,
    )
    return redirect(f"{PREFIX}/suppressions")


@router.post("/lookup")
async def lookup(request: Request, session: Viewer) -> Response:
    fields = await checked_form(request, session)
    phone = fields.get("phone", "").strip() or None
    email = fields.get("email", "").strip() or None
    found = await run_in_threadpool(
        _service(request).lookup, phone, email, session.principal.region
    )
    return await _page(request, found=found)


@router.post("/{suppressionId}/lift")
async def lift(request: Request, suppressionId: SuppressionId, session: Editor) -> Response:
    fields = await checked_form(request, session)
    await run_in_threadpool(
        _service(request).lift, suppressionId, fields.get("reason", ""), session.principal.name
    )
    return redirect(f"{PREFIX}/suppressions")
