"""Legal holds (contract §12): thin routes over ``holds.service.HoldService``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from callvault.api.deps import HoldOrAuditUser, HoldUser, JsonBody
from callvault.api.routes.capture import PROBLEMS
from callvault.api.routes.schemas import HoldIn, HoldOut, HoldReleaseIn, HoldsOut
from callvault.holds.service import PAGE_DEFAULT, PAGE_MAX, HoldScope, HoldService
from callvault.text import REFERENCE_PATTERN

router = APIRouter(tags=["holds"])

# Active | Released | all, in any case (spelt out: JSON Schema regexes have no flags).
_STATES = (
    "^("
    + "|".join(
        "".join(f"[{c.lower()}{c.upper()}]" for c in word) for word in ("active", "released", "all")
    )
    + ")$"
)

HoldId = Annotated[str, Path(min_length=1, max_length=64)]


def _service(request: Request) -> HoldService:
    service: HoldService = request.app.state.hold_service
    return service


@router.post(
    "/holds/v1",
    operation_id="place_hold",
    dependencies=[JsonBody],
    status_code=201,
    summary="Place a legal hold: the calls it covers cannot be erased until it is released",
    response_model=HoldOut,
    responses=PROBLEMS,
)
async def place(body: HoldIn, request: Request, response: Response, user: HoldUser) -> Any:
    scope = HoldScope(
        call_ids=body.callIds,
        session_ids=body.sessionIds,
        phone_numbers=body.phoneNumbers,
        started_after=body.startedAfter,
        started_before=body.startedBefore,
    )
    hold = await run_in_threadpool(
        _service(request).place,
        body.matter,
        body.reason,
        scope,
        user.name,
        user.region,
        body.reference,
    )
    response.headers["Location"] = f"/holds/v1/{hold['holdId']}"
    return hold


@router.get(
    "/holds/v1",
    operation_id="list_holds",
    summary="Legal holds, newest first, a page at a time",
    response_model=HoldsOut,
    response_model_exclude_unset=True,  # nextCursor only while more follow
    responses=PROBLEMS,
)
async def list_holds(
    request: Request,
    _user: HoldOrAuditUser,
    state: Annotated[
        str | None,
        Query(
            description="Active (default), Released or all.", pattern="^(?i:active|released|all)$"
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=PAGE_MAX, description=f"Holds a page, 1–{PAGE_MAX}.")
    ] = PAGE_DEFAULT,
    cursor: Annotated[
        str | None,
        Query(max_length=200, description="A previous page's nextCursor: the page after it."),
    ] = None,
    reference: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            pattern=REFERENCE_PATTERN,
            description="Only holds placed for this reference (exact).",
        ),
    ] = None,
) -> dict[str, Any]:
    return await run_in_threadpool(_service(request).page, state, limit, cursor, reference)


@router.get(
    "/holds/v1/{holdId}",
    operation_id="get_hold",
    summary="One legal hold, with the live calls it covers now",
    response_model=HoldOut,
    responses=PROBLEMS,
)
async def get_hold(holdId: HoldId, request: Request, _user: HoldOrAuditUser) -> Any:
    return await run_in_threadpool(_service(request).get, holdId)


@router.post(
    "/holds/v1/{holdId}/release",
    operation_id="release_hold",
    dependencies=[JsonBody],
    summary="Release a legal hold; held erasures it alone stopped resume",
    response_model=HoldOut,
    responses=PROBLEMS,
)
async def release(holdId: HoldId, body: HoldReleaseIn, request: Request, user: HoldUser) -> Any:
    return await run_in_threadpool(_service(request).release, holdId, body.reason, user.name)
