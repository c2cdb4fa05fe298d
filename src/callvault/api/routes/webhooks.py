"""Webhooks (contract §23): thin routes over ``webhooks.service.WebhookService``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from callvault.api.deps import AdminUser, JsonBody, only_query
from callvault.api.routes.capture import PROBLEMS
from callvault.api.routes.schemas import (
    WebhookCreatedOut,
    WebhookDeliveriesOut,
    WebhookIn,
    WebhookOut,
    WebhooksOut,
)
from callvault.webhooks.service import PAGE_DEFAULT, PAGE_MAX, WebhookService

router = APIRouter(tags=["webhooks"])

WebhookId = Annotated[str, Path(min_length=1, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX, description=f"Items a page, 1–{PAGE_MAX}.")]
Cursor = Annotated[
    str | None,
    Query(max_length=200, description="A previous page's nextCursor: the page after it."),
]


def _service(request: Request) -> WebhookService:
    service: WebhookService = request.app.state.webhook_service
    return service


@router.post(
    "/webhooks/v1",
    operation_id="create_webhook",
    dependencies=[JsonBody],
    status_code=201,
    summary="Register a webhook: events are POSTed to it, signed (Standard Webhooks)",
    response_model=WebhookCreatedOut,
    responses=PROBLEMS,
)
async def create(body: WebhookIn, request: Request, response: Response, user: AdminUser) -> Any:
    only_query(request)
    webhook = await run_in_threadpool(_service(request).create, body.url, body.events, user.name)
    response.headers["Location"] = f"/webhooks/v1/{webhook['webhookId']}"
    return webhook


@router.get(
    "/webhooks/v1",
    operation_id="list_webhooks",
    summary="Webhooks, newest first, a page at a time",
    response_model=WebhooksOut,
    response_model_exclude_unset=True,  # nextCursor only while more follow
    responses=PROBLEMS,
)
async def list_webhooks(
    request: Request, _user: AdminUser, limit: Limit = PAGE_DEFAULT, cursor: Cursor = None
) -> Any:
    only_query(request, "limit", "cursor")
    return await run_in_threadpool(_service(request).page, limit, cursor)


@router.get(
    "/webhooks/v1/{webhookId}",
    operation_id="get_webhook",
    summary="One webhook (its secret is never shown again)",
    response_model=WebhookOut,
    responses=PROBLEMS,
)
async def get(webhookId: WebhookId, request: Request, _user: AdminUser) -> Any:
    only_query(request)
    return await run_in_threadpool(_service(request).get, webhookId)


@router.delete(
    "/webhooks/v1/{webhookId}",
    operation_id="delete_webhook",
    status_code=204,
    summary="Remove a webhook: nothing more is sent to it",
    responses=PROBLEMS,
)
async def delete(webhookId: WebhookId, request: Request, user: AdminUser) -> Response:
    only_query(request)
    await run_in_threadpool(_service(request).delete, webhookId, user.name)
    return Response(status_code=204)


@router.get(
    "/webhooks/v1/{webhookId}/deliveries",
    operation_id="list_webhook_deliveries",
    summary="A webhook's delivery log: each attempt, its status or error, the next try",
    response_model=WebhookDeliveriesOut,
    response_model_exclude_unset=True,
    responses=PROBLEMS,
)
async def deliveries(
    webhookId: WebhookId,
    request: Request,
    _user: AdminUser,
    limit: Limit = PAGE_DEFAULT,
    cursor: Cursor = None,
) -> Any:
    only_query(request, "limit", "cursor")
    return await run_in_threadpool(_service(request).deliveries, webhookId, limit, cursor)
