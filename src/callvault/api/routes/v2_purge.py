"""Tethr v2 purge (``Tethr.Sdk``'s TethrInteraction, contract §16): v1's purge handlers with v2's
models and key names. Same kinds (calls, sessions, customer), guards, holds, audit and
certificates; one request per call of an endpoint, phones and e-mails of one customer included."""

from __future__ import annotations

from fastapi import APIRouter

from callvault.api.routes.purge import PurgeAsk, by_call_ids, by_session_ids, purge_route
from callvault.api.routes.schemas import PurgeCustomerV2In, PurgeIdsV2In, PurgeV2Out
from callvault.api.routes.shapes import V2
from callvault.auth.tokens import Principal
from callvault.purge.service import PurgeResult, PurgeService

router = APIRouter(tags=["tethr v2"])


def by_customer_ids(
    service: PurgeService, body: PurgeCustomerV2In, user: Principal, ask: PurgeAsk
) -> PurgeResult:
    return service.purge_customer_ids(
        body.phoneNumbers or [],
        body.emails or [],
        ask.what_if,
        user.name,
        confirm=ask.confirm,
        region=user.region,
        allow_incomplete=body.allowIncompleteInteraction,
        confirm_above=user.confirm_above,
        suppress=ask.suppress,
        reference=ask.reference,
    )


purge_route(
    router,
    "/interactions/v2/purge",
    PurgeIdsV2In,
    by_call_ids,
    V2,
    operation_id="purge_interactions_v2",
    summary="Purge calls by call ID (1 to 100), Tethr v2",
    response_model=PurgeV2Out,
)
purge_route(
    router,
    "/interactions/v2/purge/sessions",
    PurgeIdsV2In,
    by_session_ids,
    V2,
    operation_id="purge_sessions_v2",
    summary="Purge calls by session ID (1 to 100), Tethr v2",
    response_model=PurgeV2Out,
)
purge_route(
    router,
    "/interactions/v2/purge/customer",
    PurgeCustomerV2In,
    by_customer_ids,
    V2,
    confirm="The confirmToken of a whatIf of these phones and e-mails by this user: the purge "
    "is accepted only for exactly the calls that preview showed.",
    operation_id="purge_customer_v2",
    summary="Purge every call of a customer, by phone numbers and e-mail addresses, Tethr v2",
    response_model=PurgeV2Out,
)
