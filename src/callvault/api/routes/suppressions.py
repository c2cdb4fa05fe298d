"""Suppressions (contract §22): thin routes over ``suppressions.service.SuppressionService``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from callvault.api.deps import CaptureUser, JsonBody, SuppressOrAuditUser, SuppressUser
from callvault.api.routes.capture import PROBLEMS
from callvault.api.routes.schemas import (
    SuppressionAskIn,
    SuppressionCheckOut,
    SuppressionIn,
    SuppressionLiftIn,
    SuppressionLookupOut,
    SuppressionOut,
    SuppressionsOut,
)
from callvault.suppressions.service import (
    PAGE_DEFAULT,
    PAGE_MAX,
    Identifiers,
    SuppressionService,
)

router = APIRouter(tags=["suppressions"])

SuppressionId = Annotated[str, Path(min_length=1, max_length=64)]


def _service(request: Request) -> SuppressionService:
    service: SuppressionService = request.app.state.suppression_service
    return service


@router.post(
    "/suppressions/v1",
    operation_id="create_suppression",
    dependencies=[JsonBody],
    status_code=201,
    summary="Suppress callers: captures of their calls store nothing from now on",
    response_model=SuppressionOut,
    responses=PROBLEMS,
)
async def create(
    body: SuppressionIn, request: Request, response: Response, user: SuppressUser
) -> Any:
    suppression = await run_in_threadpool(
        _service(request).create,
        Identifiers(body.phoneNumbers, body.emails),
        body.reason,
        body.reference,
        body.expiresAt,
        user.name,
        user.region,
    )
    response.headers["Location"] = f"/suppressions/v1/{suppression['suppressionId']}"
    return suppression


@router.get(
    "/suppressions/v1",
    operation_id="list_suppressions",
    summary="Suppressions, newest first, a page at a time",
    response_model=SuppressionsOut,
    response_model_exclude_unset=True,  # nextCursor only while more follow
    responses=PROBLEMS,
)
async def list_suppressions(
    request: Request,
    _user: SuppressOrAuditUser,
    state: Annotated[
        str | None,
        Query(
            description="Active, Lifted, Expired or all (the default), any case.",
            pattern="^(?i:active|lifted|expired|all)$",
        ),
    ] = None,
    reference: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Only this reference's.")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=PAGE_MAX, description=f"Suppressions a page, 1–{PAGE_MAX}.")
    ] = PAGE_DEFAULT,
    cursor: Annotated[
        str | None,
        Query(max_length=200, description="A previous page's nextCursor: the page after it."),
    ] = None,
) -> dict[str, Any]:
    return await run_in_threadpool(_service(request).page, state, limit, cursor, reference)


@router.post(
    "/suppressions/v1/lookup",
    operation_id="lookup_suppression",
    dependencies=[JsonBody],
    summary="Whether a caller is suppressed now, and by which suppressions",
    response_model=SuppressionLookupOut,
    responses=PROBLEMS,
)
async def lookup(body: SuppressionAskIn, request: Request, user: SuppressOrAuditUser) -> Any:
    return await run_in_threadpool(
        _service(request).lookup, body.phoneNumber, body.email, user.region
    )


@router.post(
    "/suppressions/v1/check",
    operation_id="check_suppression",
    dependencies=[JsonBody],
    summary="For a recorder, before it records: is this caller suppressed? (yes or no only)",
    response_model=SuppressionCheckOut,
    responses=PROBLEMS,
)
async def check(body: SuppressionAskIn, request: Request, user: CaptureUser) -> Any:
    suppressed = await run_in_threadpool(
        _service(request).check, body.phoneNumber, body.email, user.region
    )
    return {"suppressed": suppressed}


@router.get(
    "/suppressions/v1/{suppressionId}",
    operation_id="get_suppression",
    summary="One suppression (its identifiers are keyed hashes: never shown)",
    response_model=SuppressionOut,
    responses=PROBLEMS,
)
async def get_suppression(
    suppressionId: SuppressionId, request: Request, _user: SuppressOrAuditUser
) -> Any:
    return await run_in_threadpool(_service(request).get, suppressionId)


@router.post(
    "/suppressions/v1/{suppressionId}/lift",
    operation_id="lift_suppression",
    dependencies=[JsonBody],
    summary="Lift a suppression: captures received from now on are stored again",
    response_model=SuppressionOut,
    responses=PROBLEMS,
)
async def lift(
    suppressionId: SuppressionId, body: SuppressionLiftIn, request: Request, user: SuppressUser
) -> Any:
    return await run_in_threadpool(_service(request).lift, suppressionId, body.reason, user.name)
