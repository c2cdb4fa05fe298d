"""Tethr call status: per session ID, and exclusion.

The handlers here are v1's and v2's (``v2_capture``): ``*_route`` declares one for a path, a
body model and a ``Shape``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from callvault.api.deps import CaptureUser, JsonBody, RuntimeDep
from callvault.api.routes.capture import PROBLEMS
from callvault.api.routes.schemas import (
    CallSessionOut,
    CallSessionsOut,
    SessionIdsIn,
    SessionIdsV2In,
)
from callvault.api.routes.shapes import V1, Shape, declared
from callvault.capture.reads import CallReader

router = APIRouter(tags=["status"])

SessionId = Annotated[str, Path(min_length=1)]
SessionIdsBody = SessionIdsIn | SessionIdsV2In


def _distinct(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _post(
    router: APIRouter,
    path: str,
    endpoint: Callable[..., Any],
    body: type[SessionIdsBody],
    **route: Any,
) -> None:
    """Declare ``endpoint`` at ``path``, taking a JSON body of the model ``body``."""
    router.add_api_route(
        path,
        declared(endpoint, body=body),
        methods=["POST"],
        dependencies=[JsonBody],
        responses=PROBLEMS,
        **route,
    )


def statuses_route(
    router: APIRouter, path: str, body: type[SessionIdsBody], shape: Shape, **route: Any
) -> None:
    """Declare the status of up to 100 calls by session ID, in the order given, at ``path``."""

    async def statuses(
        body: SessionIdsBody, runtime: RuntimeDep, _user: CaptureUser
    ) -> dict[str, Any]:
        found = await run_in_threadpool(CallReader(runtime).statuses, body.session_ids)
        return {shape.sessions: [shape.session(s) for s in found]}

    _post(router, path, statuses, body, response_model_exclude_none=True, **route)


def status_route(router: APIRouter, path: str, shape: Shape, **route: Any) -> None:
    """Declare the status of one call by the session ID in ``path``."""

    async def status(
        sessionId: SessionId, runtime: RuntimeDep, _user: CaptureUser
    ) -> dict[str, Any]:
        found = await run_in_threadpool(CallReader(runtime).statuses, [sessionId])
        return shape.session(found[0])

    router.add_api_route(
        path,
        status,
        methods=["GET"],
        response_model_exclude_none=True,
        responses=PROBLEMS,
        **route,
    )


def exclude_route(router: APIRouter, path: str, body: type[SessionIdsBody], **route: Any) -> None:
    """Declare the exclusion of the calls of the session IDs of a body; IDs of no live call are
    ignored."""

    async def exclude(
        body: SessionIdsBody, runtime: RuntimeDep, _user: CaptureUser
    ) -> dict[str, Any]:
        await run_in_threadpool(CallReader(runtime).exclude, _distinct(body.session_ids))
        return {}

    _post(router, path, exclude, body, **route)


statuses_route(
    router,
    "/callCapture/v1/status",
    SessionIdsIn,
    V1,
    operation_id="call_status",
    summary="Status of up to 100 calls by session ID, in the order given",
    response_model=CallSessionsOut,
)
status_route(
    router,
    "/callCapture/v1/status/{sessionId}",
    V1,
    operation_id="call_status_one",
    summary="Status of one call by session ID",
    response_model=CallSessionOut,
)
exclude_route(
    router,
    "/callCapture/v1/status/exclude",
    SessionIdsIn,
    operation_id="exclude_calls",
    summary="Mark calls Excluded; IDs of no live call are ignored",
)
