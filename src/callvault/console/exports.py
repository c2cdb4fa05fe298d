"""The console's exports page (contract §17, §20): the list for ``export`` or ``audit``; an
export made (from a customer lookup, "Export" beside "Purge", or from this page's form) or
revoked with ``export``.

Thin, like ``routes.py``: every rule (resolution, limits, the link, the audit events) is
``ExportService``'s, the one the API calls. Phone numbers and addresses travel only in POST
bodies; the page that answers the making of an export shows its download link, this once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from callvault.auth.permissions import Permission
from callvault.auth.sessions import ConsoleSession
from callvault.console import web
from callvault.console.web import PREFIX, checked_form, needs, redirect, render
from callvault.exports.service import PAGE_MAX, ExportAsk, ExportService

router = APIRouter(
    prefix=f"{PREFIX}/exports", include_in_schema=False, route_class=web.ConsoleRoute
)

Viewer = Annotated[ConsoleSession, Depends(needs(Permission.EXPORT, Permission.AUDIT))]
Maker = Annotated[ConsoleSession, Depends(needs(Permission.EXPORT))]
ExportId = Annotated[str, Path(min_length=1, max_length=64)]


def _service(request: Request) -> ExportService:
    service: ExportService = request.app.state.export_service
    return service


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


@router.get("")
async def exports_page(
    request: Request,
    session: Viewer,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    reference: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    page = await run_in_threadpool(_service(request).page, PAGE_MAX, cursor, reference or None)
    return render(
        request,
        "exports.html",
        {
            "exports": page["exports"],
            "next_cursor": page.get("nextCursor"),
            "reference": reference or "",
        },
    )


@router.post("")
async def create(request: Request, session: Maker) -> Response:
    fields = await checked_form(request, session)
    principal = session.principal
    ask = ExportAsk(
        phone_numbers=_lines(fields.get("phones", "")) + _lines(fields.get("phone", "")),
        emails=_lines(fields.get("emails", "")),
        started_after=fields.get("startedAfter", "").strip() or None,
        started_before=fields.get("startedBefore", "").strip() or None,
        reference=fields.get("reference", "").strip() or None,
        recipients=_lines(fields.get("recipients", "")),
    )
    made = await run_in_threadpool(
        _service(request).create, ask, False, principal.name, principal.region
    )
    # The link is shown on this answer only (it is stored as a hash): no redirect to it.
    return render(request, "export_made.html", {"export": made}, status=201)


@router.post("/{exportId}/revoke")
async def revoke(request: Request, exportId: ExportId, session: Maker) -> Response:
    await checked_form(request, session)
    await run_in_threadpool(_service(request).revoke, exportId, session.principal.name)
    return redirect(f"{PREFIX}/exports")
