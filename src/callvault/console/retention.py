"""The console's retention page (contract §15, §17): the policies and their forecast for
``retention`` or ``audit``; a policy previewed, then saved, or deleted, for ``retention`` alone.

Thin, like ``routes.py``: every rule (names, ranges, directions, what ``expiredNow`` counts, the
audit events) is ``RetentionService``'s, the one the API calls. The console adds one guard of its
own, the same as for a customer purge: a policy is saved from its preview, and when it would
erase calls now, only after the person typed how many (a policy is retroactive by design).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from callvault.auth.permissions import Permission
from callvault.auth.sessions import ConsoleSession
from callvault.console import web
from callvault.console.web import PREFIX, checked_form, needs, redirect, render
from callvault.errors import BadInput
from callvault.retention.service import MAX_FORECAST_DAYS, RetentionService
from callvault.store.retention import DIRECTIONS

router = APIRouter(
    prefix=f"{PREFIX}/retention", include_in_schema=False, route_class=web.ConsoleRoute
)

RetentionViewer = Annotated[ConsoleSession, Depends(needs(Permission.RETENTION, Permission.AUDIT))]
RetentionEditor = Annotated[ConsoleSession, Depends(needs(Permission.RETENTION))]
PolicyName = Annotated[str, Path(min_length=1, max_length=64)]
Policy = tuple[str, int, str | None]  # name, maxAgeDays, direction as a form gives them

DEFAULT_DAYS = 30
CHART_WIDTH, CHART_HEIGHT = 720, 160


def _service(request: Request) -> RetentionService:
    service: RetentionService = request.app.state.retention_service
    return service


def chart(days: list[dict[str, Any]]) -> dict[str, Any]:
    """Bars of the forecast as SVG geometry: attributes, not inline styles, so the strict CSP
    holds. The tallest bar fills the chart; a day without calls has a hairline bar."""
    top = max((d["calls"] for d in days), default=0) or 1
    width = CHART_WIDTH / max(len(days), 1)
    bars = []
    for i, day in enumerate(days):
        height = max(1.0, (CHART_HEIGHT - 20) * day["calls"] / top)
        bars.append(
            {
                "date": day["date"],
                "calls": day["calls"],
                "x": round(i * width + width * 0.1, 2),
                "y": round(CHART_HEIGHT - 16 - height, 2),
                "width": round(width * 0.8, 2),
                "height": round(height, 2),
            }
        )
    return {"bars": bars, "width": CHART_WIDTH, "height": CHART_HEIGHT, "top": top}


def _day_label(iso: str) -> str:
    """A forecast day as its row reads: the ISO 8601 date and its weekday, ``2026-12-07 (Mon)``."""
    return f"{iso} ({date.fromisoformat(iso).strftime('%a')})"


async def _page(
    request: Request,
    days: int = DEFAULT_DAYS,
    preview: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    service = _service(request)

    def read() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        return service.list(), service.forecast(days)

    policies, forecast = await run_in_threadpool(read)
    for day in forecast["days"]:
        day["label"] = _day_label(day["date"])
    return render(
        request,
        "retention.html",
        {
            "policies": policies,
            "forecast": forecast,
            "chart": chart(forecast["days"]),
            "days": days,
            "max_days": MAX_FORECAST_DAYS,
            "directions": DIRECTIONS,
            "preview": preview,
            "error": error,
        },
        status=status,
    )


@router.get("")
async def retention_page(
    request: Request,
    session: RetentionViewer,
    days: Annotated[int, Query(ge=1, le=MAX_FORECAST_DAYS)] = DEFAULT_DAYS,
) -> Response:
    return await _page(request, days)


def _whole(value: str, what: str) -> int:
    """A form's whole number (digits only: ``1e3``, ``30.5`` or ``-1`` are not one), of at most
    nine digits, so no hostile length reaches ``int``."""
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise BadInput(f"{what} must be a whole number of at most 9 digits")
    return int(value)


def _policy_fields(fields: dict[str, str]) -> Policy:
    name = fields.get("name", "").strip()
    max_age_days = _whole(fields.get("maxAgeDays", ""), "the maximum age in days")
    direction = fields.get("direction", "").strip() or None
    return name, max_age_days, direction


async def _put(
    request: Request, session: ConsoleSession, policy: Policy, what_if: bool
) -> dict[str, Any]:
    name, max_age_days, direction = policy
    answer: dict[str, Any] = await run_in_threadpool(
        _service(request).put, name, max_age_days, direction, session.principal.name, what_if
    )
    return answer


async def _preview(
    request: Request,
    session: ConsoleSession,
    policy: Policy,
    error: str | None = None,
    status: int = 200,
) -> Response:
    previewed = await _put(request, session, policy, what_if=True)
    return await _page(request, preview=previewed, error=error, status=status)


@router.post("/preview")
async def preview_policy(request: Request, session: RetentionEditor) -> Response:
    fields = await checked_form(request, session)
    return await _preview(request, session, _policy_fields(fields))


@router.post("/save")
async def save_policy(request: Request, session: RetentionEditor) -> Response:
    fields = await checked_form(request, session)
    policy = _policy_fields(fields)
    expected = _whole(fields.get("expected", ""), "the previewed count")
    if expected and fields.get("typed", "").strip() != str(expected):
        message = f"To save, type the number of calls this policy erases now ({expected})."
        return await _preview(request, session, policy, message, 400)
    # More calls past the policy than the person saw (they aged, or were captured late): show
    # the new count instead of saving a change whose effect nobody looked at.
    now = (await _put(request, session, policy, what_if=True))["expiredNow"]
    if now > expected:
        message = (
            f"{now} calls are past this policy now, more than the preview showed ({expected}); "
            "check the new count and save again."
        )
        return await _preview(request, session, policy, message, 409)
    await _put(request, session, policy, what_if=False)
    return redirect(f"{PREFIX}/retention")


@router.post("/{name}/delete")
async def delete_policy(request: Request, name: PolicyName, session: RetentionEditor) -> Response:
    await checked_form(request, session)
    await run_in_threadpool(_service(request).delete, name, session.principal.name)
    return redirect(f"{PREFIX}/retention")
