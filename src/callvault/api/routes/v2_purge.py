"""Tethr v2 purge (``Tethr.Sdk``'s TethrInteraction, contract §16): the v1 purge service with v2's
key names. Same kinds (calls, sessions, customer), guards, holds, audit and certificates; one
request per call of an endpoint, phones and e-mails of one customer included."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from callvault.api.deps import JsonBody, PurgeUser
from callvault.api.responses import TethrJSONResponse
from callvault.api.routes.capture import PROBLEMS
from callvault.api.routes.purge import WhatIf, answer, purge_service, what_if_of
from callvault.api.routes.schemas import PurgeCustomerV2In, PurgeIdsV2In, PurgeV2Out
from callvault.purge.service import PurgeItem

router = APIRouter(tags=["tethr v2"])


@router.post(
    "/interactions/v2/purge",
    operation_id="purge_interactions_v2",
    dependencies=[JsonBody],
    summary="Purge calls by call ID (1 to 100), Tethr v2",
    response_model=PurgeV2Out,
    response_model_exclude_unset=True,
    responses=PROBLEMS,
)
async def purge_ids(
    body: PurgeIdsV2In,
    request: Request,
    user: PurgeUser,
    whatIf: WhatIf = None,
) -> TethrJSONResponse:
    what_if = what_if_of(request)
    result = await run_in_threadpool(
        purge_service(request).purge_calls,
        body.ids,
        what_if,
        user.name,
        body.allowIncompleteInteraction,
    )
    return answer(result, request, PurgeItem.to_v2_json)


@router.post(
    "/interactions/v2/purge/sessions",
    operation_id="purge_sessions_v2",
    dependencies=[JsonBody],
    summary="Purge calls by session ID (1 to 100), Tethr v2",
    response_model=PurgeV2Out,
    response_model_exclude_unset=True,
    responses=PROBLEMS,
)
async def purge_sessions(
    body: PurgeIdsV2In,
    request: Request,
    user: PurgeUser,
    whatIf: WhatIf = None,
) -> TethrJSONResponse:
    what_if = what_if_of(request)
    result = await run_in_threadpool(
        purge_service(request).purge_sessions,
        body.ids,
        what_if,
        user.name,
        body.allowIncompleteInteraction,
    )
    return answer(result, request, PurgeItem.to_v2_json)


@router.post(
    "/interactions/v2/purge/customer",
    operation_id="purge_customer_v2",
    dependencies=[JsonBody],
    summary="Purge every call of a customer, by phone numbers and e-mail addresses, Tethr v2",
    response_model=PurgeV2Out,
    response_model_exclude_unset=True,
    responses=PROBLEMS,
)
async def purge_customer(
    body: PurgeCustomerV2In,
    request: Request,
    user: PurgeUser,
    whatIf: WhatIf = None,
    confirm: Annotated[
        str | None,
        Query(
            max_length=200,
            description="The confirmToken of a whatIf of these phones and e-mails by this "
            "user: the purge is accepted only for exactly the calls that preview showed.",
        ),
    ] = None,
) -> TethrJSONResponse:
    what_if = what_if_of(request)
    result = await run_in_threadpool(
        lambda: purge_service(request).purge_customer_ids(
            body.phoneNumbers or [],
            body.emails or [],
            what_if,
            user.name,
            confirm=confirm,
            region=user.region,
            allow_incomplete=body.allowIncompleteInteraction,
        )
    )
    return answer(result, request, PurgeItem.to_v2_json)
