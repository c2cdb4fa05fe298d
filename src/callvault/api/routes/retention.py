"""Retention policies (contract §15): thin routes over ``retention.service.RetentionService``."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from callvault.api.deps import JsonBody, RetentionOrAuditUser, RetentionUser
from callvault.api.routes.capture import PROBLEMS
from callvault.api.routes.purge import WhatIf, refuse_unknown_query, what_if_of
from callvault.api.routes.schemas import (
    ForecastOut,
    RetentionPoliciesOut,
    RetentionPolicyIn,
    RetentionPolicyOut,
)
from callvault.retention.service import RetentionService

router = APIRouter(tags=["retention"])

PolicyName = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="1 to 64 letters, digits, `_` or `-`.",
    ),
]


def _service(request: Request) -> RetentionService:
    service: RetentionService = request.app.state.retention_service
    return service


@router.put(
    "/retention/v1/policies/{name}",
    operation_id="put_retention_policy",
    dependencies=[JsonBody],
    summary="Create or change a retention policy; it applies to the calls already stored",
    response_model=RetentionPolicyOut,
    response_model_exclude_unset=True,
    responses=PROBLEMS,
)
async def put_policy(
    name: PolicyName,
    body: RetentionPolicyIn,
    request: Request,
    user: RetentionUser,
    whatIf: WhatIf = None,
    confirm: Annotated[
        str | None,
        Query(
            max_length=200,
            description="The confirmToken of this change's own whatIf: needed when it would "
            "expire more calls than the saving user's confirmation threshold.",
        ),
    ] = None,
) -> Any:
    what_if = what_if_of(request)
    refuse_unknown_query(request, frozenset({"confirm"}), flags=("whatif",))
    return await run_in_threadpool(
        partial(
            _service(request).put,
            name,
            body.maxAgeDays,
            body.direction,
            user.name,
            what_if,
            confirm=confirm,
            confirm_above=user.confirm_above,
        )
    )


@router.get(
    "/retention/v1/policies",
    operation_id="list_retention_policies",
    summary="Retention policies, by name",
    response_model=RetentionPoliciesOut,
    responses=PROBLEMS,
)
async def list_policies(request: Request, _user: RetentionOrAuditUser) -> dict[str, Any]:
    return {"policies": await run_in_threadpool(_service(request).list)}


@router.delete(
    "/retention/v1/policies/{name}",
    operation_id="delete_retention_policy",
    status_code=204,
    response_class=Response,
    summary="Delete a retention policy",
    responses=PROBLEMS,
)
async def delete_policy(name: PolicyName, request: Request, user: RetentionUser) -> Response:
    await run_in_threadpool(_service(request).delete, name, user.name)
    return Response(status_code=204)


@router.get(
    "/retention/v1/forecast",
    operation_id="retention_forecast",
    summary="Calls retention will erase on each coming day, what is overdue, what holds keep",
    response_model=ForecastOut,
    responses=PROBLEMS,
)
async def forecast(
    request: Request,
    _user: RetentionOrAuditUser,
    days: Annotated[int, Query(ge=1, le=366, description="Days from today (UTC).")] = 30,
) -> Any:
    return await run_in_threadpool(_service(request).forecast, days)
