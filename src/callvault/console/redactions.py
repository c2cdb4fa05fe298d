"""The console's call page (contract §17, §21), reached from the customer lookup: the call's
audio drawn as a waveform (an SVG drawn here, no script, no remote asset), the DTMF suggestions
marked on it, ranges chosen, previewed (``whatIf``), then redacted; and the call's redactions.

Thin, like ``routes.py``: every rule is ``RedactionService``'s, the one the API calls; the page
needs ``redact`` (``audit`` never reads audio or suggestions).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from callvault.auth.permissions import Permission
from callvault.auth.sessions import ConsoleSession
from callvault.console import web
from callvault.console.web import PREFIX, checked_form, needs, redirect, render
from callvault.errors import BadInput, CallvaultError
from callvault.redactions.service import REASONS, RedactionService

router = APIRouter(prefix=f"{PREFIX}/calls", include_in_schema=False, route_class=web.ConsoleRoute)

Redactor = Annotated[ConsoleSession, Depends(needs(Permission.REDACT))]
CallId = Annotated[str, Path(min_length=1, max_length=64)]
WIDTH, HEIGHT = 600, 120


def _service(request: Request) -> RedactionService:
    service: RedactionService = request.app.state.redaction_service
    return service


def parse_ranges(text: str) -> list[dict[str, int]]:
    """One range a line, ``START-END`` in seconds (``62.5-80``); a 400 naming the bad line."""
    ranges = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        parts = line.replace("–", "-").split("-")
        try:
            start, end = (round(float(p) * 1000) for p in parts)
        except ValueError:
            raise BadInput(
                f"line {n} ({line!r}) is not START-END in seconds, e.g. 62.5-80"
            ) from None
        ranges.append({"startMs": start, "endMs": end})
    return ranges


def _seconds(ranges: list[dict[str, int]]) -> str:
    return "\n".join(f"{r['startMs'] / 1000:g}-{r['endMs'] / 1000:g}" for r in ranges)


def waveform(
    peaks: list[tuple[float, float]],
    duration_ms: int,
    suggestions: list[dict[str, Any]],
    chosen: list[dict[str, int]],
) -> dict[str, Any]:
    """What the template draws: one vertical bar a column (its min to max), and the marked
    spans as x and width in the SVG's units."""
    middle = HEIGHT / 2
    bars = " ".join(
        f"M{x} {middle - high * middle:.1f}V{middle - low * middle + 0.5:.1f}"
        for x, (low, high) in enumerate(peaks)
    )

    def span(r: dict[str, Any]) -> dict[str, Any]:
        x = WIDTH * r["startMs"] / max(duration_ms, 1)
        w = max(WIDTH * (r["endMs"] - r["startMs"]) / max(duration_ms, 1), 1.0)
        return {**r, "x": round(x, 1), "w": round(w, 1)}

    return {
        "width": WIDTH,
        "height": HEIGHT,
        "bars": bars,
        "suggested": [span(s) for s in suggestions],
        "chosen": [span(r) for r in chosen],
    }


async def _page(
    request: Request,
    session: ConsoleSession,
    call_id: str,
    chosen: list[dict[str, int]] | None = None,
    preview: dict[str, Any] | None = None,
    error: str | None = None,
    fields: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    found = await run_in_threadpool(
        _service(request).overview, call_id, session.principal.name, WIDTH
    )
    marked = preview["ranges"] if preview else (chosen or [])
    return render(
        request,
        "call.html",
        {
            "call": found,
            "wave": waveform(found["peaks"], found["durationMs"], found["suggestions"], marked),
            "preview": preview,
            "ranges_text": _seconds(preview["ranges"]) if preview else _seconds(chosen or []),
            "reasons": REASONS,
            "fields": fields or {},
            "error": error,
        },
        status=status,
    )


@router.get("/{callId}")
async def call_page(request: Request, callId: CallId, session: Redactor) -> Response:
    return await _page(request, session, callId)


@router.post("/{callId}/preview")
async def preview(request: Request, callId: CallId, session: Redactor) -> Response:
    fields = await checked_form(request, session)
    try:
        chosen = parse_ranges(fields.get("ranges", ""))
        shown = await run_in_threadpool(
            _service(request).redact,
            callId,
            chosen,
            fields.get("reason", ""),
            fields.get("reference", "").strip() or None,
            session.principal.name,
            True,
        )
    except CallvaultError as exc:
        if exc.status == 404:
            raise
        return await _page(
            request, session, callId, error=exc.detail, fields=fields, status=exc.status
        )
    return await _page(request, session, callId, chosen, shown, fields=fields)


@router.post("/{callId}/redact")
async def redact(request: Request, callId: CallId, session: Redactor) -> Response:
    fields = await checked_form(request, session)
    try:
        chosen = parse_ranges(fields.get("ranges", ""))
        await run_in_threadpool(
            _service(request).redact,
            callId,
            chosen,
            fields.get("reason", ""),
            fields.get("reference", "").strip() or None,
            session.principal.name,
            False,
        )
    except CallvaultError as exc:
        if exc.status == 404:
            raise
        return await _page(
            request, session, callId, error=exc.detail, fields=fields, status=exc.status
        )
    return redirect(f"{PREFIX}/calls/{callId}/redacted")


@router.get("/{callId}/redacted")
async def redacted(request: Request, callId: CallId, session: Redactor) -> Response:
    """After the POST: the call's redactions (its audio is not read while one is under way)."""
    found = await run_in_threadpool(_service(request).page, callId, None, 50, None)
    return render(request, "call_redactions.html", {"callId": callId, **found})
