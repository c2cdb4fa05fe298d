"""The seed's three purge endpoints, and purge-request tracking (callvault's extension)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from callvault.api.deps import JsonBody, PurgeOrAuditUser, PurgeUser, RuntimeDep
from callvault.api.routes.capture import PROBLEMS
from callvault.api.routes.schemas import (
    PurgeCustomerIn,
    PurgeIdsIn,
    PurgeOut,
    PurgeRequestOut,
    spells_what_if,
)
from callvault.errors import BadInput
from callvault.purge.service import PurgeResult, PurgeService

router = APIRouter(tags=["purge"])

# The accepted spellings, in any case: anything else that may mean a preview is a 400, never
# read as "not a preview" (contract §19).
_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})

# Exactly the values `what_if_of` accepts (any case), so the schema says the same.
_WHAT_IF_PATTERN = (
    r"^("
    + "|".join(
        sorted(
            "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in w)
            for w in _TRUE | _FALSE
        )
    )
    + r")$"
)

WhatIf = Annotated[
    str | None,
    Query(
        alias="whatIf",
        description="`true` (or `1`, any case): report what would be purged, change nothing. "
        "Given twice, empty, any other value, or spelled otherwise (`what_if`, `whatIf[]`): 400.",
        json_schema_extra={"pattern": _WHAT_IF_PATTERN},
    ),
]


def what_if_of(request: Request) -> bool:
    """The one ``whatIf`` of the query, fail safe: every doubt is a 400, nothing purged."""
    values = []
    for key, value in request.query_params.multi_items():
        if not spells_what_if(key):
            continue
        # The name is matched case-insensitively, like the JSON keys (`whatif`, `WhatIf`).
        if key.lower() != "whatif":
            raise BadInput(f"`{key}` is not a parameter; preview with `whatIf=true`")
        values.append(value)
    if not values:
        return False
    if len(values) > 1:
        raise BadInput("whatIf is given more than once; give it once, true or false")
    value = values[0].lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadInput(f"whatIf must be true or false (or 1 or 0), not {values[0]!r}")


def purge_service(request: Request) -> PurgeService:
    service: PurgeService = request.app.state.purge_service
    return service


def count_result(result: PurgeResult, request: Request) -> None:
    """The purge metrics of an answered request (v1 and v2 alike)."""
    metrics = request.app.state.metrics
    metrics.purge_requests.labels(result.kind, str(result.what_if).lower()).inc()
    for item in result.items:
        metrics.purge_items.labels(item.status).inc()


def _answer(result: PurgeResult, request: Request, response: Response) -> dict[str, Any]:
    count_result(result, request)
    if not result.what_if:
        response.headers["Location"] = f"/purge/v1/requests/{result.request_id}"
    answer: dict[str, Any] = {
        "items": [i.to_json() for i in result.items],
        "requestId": result.request_id,
    }
    if result.confirm_token is not None:
        answer["confirmToken"] = result.confirm_token
    return answer


@router.post(
    "/purge/v1/calls",
    operation_id="purge_calls",
    dependencies=[JsonBody],
    summary="Purge calls by call ID (1 to 100)",
    response_model=PurgeOut,
    response_model_exclude_unset=True,
    responses=PROBLEMS,
)
async def purge_calls(
    body: PurgeIdsIn,
    request: Request,
    response: Response,
    user: PurgeUser,
    whatIf: WhatIf = None,
) -> dict[str, Any]:
    what_if = what_if_of(request)
    result = await run_in_threadpool(
        purge_service(request).purge_calls, body.ids, what_if, user.name
    )
    return _answer(result, request, response)


@router.post(
    "/purge/v1/calls/sessions",
    operation_id="purge_sessions",
    dependencies=[JsonBody],
    summary="Purge calls by session ID (1 to 100)",
    response_model=PurgeOut,
    response_model_exclude_unset=True,
    responses=PROBLEMS,
)
async def purge_sessions(
    body: PurgeIdsIn,
    request: Request,
    response: Response,
    user: PurgeUser,
    whatIf: WhatIf = None,
) -> dict[str, Any]:
    what_if = what_if_of(request)
    result = await run_in_threadpool(
        purge_service(request).purge_sessions, body.ids, what_if, user.name
    )
    return _answer(result, request, response)


@router.post(
    "/purge/v1/calls/customer",
    operation_id="purge_customer",
    dependencies=[JsonBody],
    summary="Purge every call of a customer phone number",
    response_model=PurgeOut,
    response_model_exclude_unset=True,
    responses=PROBLEMS,
)
async def purge_customer(
    body: PurgeCustomerIn,
    request: Request,
    response: Response,
    user: PurgeUser,
    whatIf: WhatIf = None,
    confirm: Annotated[
        str | None,
        Query(
            max_length=200,
            description="The confirmToken of a whatIf of this number by this user: the purge "
            "is accepted only for exactly the calls that preview showed.",
        ),
    ] = None,
) -> dict[str, Any]:
    what_if = what_if_of(request)
    result = await run_in_threadpool(
        purge_service(request).purge_customer,
        body.phoneNumber,
        what_if,
        user.name,
        confirm=confirm,
        region=user.region,
    )
    return _answer(result, request, response)


@router.get(
    "/purge/v1/requests/{requestId}",
    operation_id="get_purge_request",
    summary="A purge request with per-item progress",
    response_model=PurgeRequestOut,
    responses=PROBLEMS,
)
async def get_request(
    requestId: Annotated[str, Path(min_length=1)],
    request: Request,
    runtime: RuntimeDep,
    _user: PurgeOrAuditUser,
) -> dict[str, Any]:
    return await run_in_threadpool(purge_service(request).request, requestId)


@router.post(
    "/purge/v1/requests/{requestId}/cancel",
    operation_id="cancel_purge_request",
    summary="Within its grace window, restore a purge request's calls (Cancelled)",
    response_model=PurgeRequestOut,
    responses=PROBLEMS,
)
async def cancel_request(
    requestId: Annotated[str, Path(min_length=1)], request: Request, user: PurgeUser
) -> dict[str, Any]:
    return await run_in_threadpool(purge_service(request).cancel, requestId, user.name)
