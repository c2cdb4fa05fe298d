"""``GET /purge/v1/requests``: the purge requests, newest first, without their items, paged
(contract §6).

Every list of the API pages alike: ``?limit=`` (1–100, default 50) and ``?cursor=`` from the
``nextCursor`` of the page before, absent on the last page. The query is read here, by hand,
so that a wrong value is answered in this API's words (never a validation library's), and a
parameter this list does not know, or one given twice, is a 400 rather than ignored.

A cursor is the position of the last request of a page: its ``createdAt`` in microseconds since
1970 and its ``requestId`` (``<micros>-<requestId>``). Pages are keyset pages, so a request made
while a client pages does not shift the pages that follow; and any cursor the documented pattern
allows is a position, so a well-formed one is never refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from callvault.api.deps import PurgeOrAuditUser
from callvault.api.routes.capture import PROBLEMS
from callvault.api.routes.schemas import PurgeRequestFields
from callvault.errors import BadInput
from callvault.purge.service import PurgeService
from callvault.store.purges import REQUEST_KINDS, REQUEST_STATES
from callvault.text import REFERENCE_PATTERN

router = APIRouter(tags=["purge"])

PATH = "/purge/v1/requests"
DEFAULT_LIMIT, MAX_LIMIT = 50, 100
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CURSOR = re.compile(r"[0-9]{1,17}-[0-9a-f]{32}")
LIMIT = re.compile(r"[0-9]{1,3}")


def _any_case(words: tuple[str, ...]) -> str:
    """A JSON Schema pattern matching ``words`` in any case (its regexes have no flags)."""
    return (
        "^(" + "|".join("".join(f"[{c.lower()}{c.upper()}]" for c in word) for word in words) + ")$"
    )


PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "state",
        "in": "query",
        "required": False,
        "description": "Only requests in this state (any case): " + ", ".join(REQUEST_STATES),
        "schema": {"type": "string", "pattern": _any_case(REQUEST_STATES)},
    },
    {
        "name": "kind",
        "in": "query",
        "required": False,
        "description": "Only requests of this kind (any case): " + ", ".join(REQUEST_KINDS),
        "schema": {"type": "string", "pattern": _any_case(REQUEST_KINDS)},
    },
    {
        "name": "reference",
        "in": "query",
        "required": False,
        "description": "Only requests made for this reference (exact): the ticket they answer.",
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": 200,
            "pattern": REFERENCE_PATTERN,
        },
    },
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": f"Requests per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
    },
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "The `nextCursor` of the page before; none for the first page.",
        "schema": {"type": "string", "pattern": f"^{CURSOR.pattern}$"},
    },
]
KNOWN = tuple(p["name"] for p in PARAMETERS)


class PurgeRequestSummaryOut(PurgeRequestFields):
    itemCount: int = Field(description="How many items the request has (IDs asked, or calls).")


class PurgeRequestsPageOut(BaseModel):
    requests: list[PurgeRequestSummaryOut]
    nextCursor: str | None = Field(
        default=None, description="Absent on the last page; else pass it as `?cursor=`."
    )


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> str:
    for word in allowed:
        if word.lower() == value.lower():
            return word
    raise BadInput(f"{name} must be one of {', '.join(allowed)} (any case), not {_shown(value)}")


def _limit(value: str) -> int:
    if LIMIT.fullmatch(value) and 1 <= int(value) <= MAX_LIMIT:
        return int(value)
    raise BadInput(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {_shown(value)}")


def _position(cursor: str) -> tuple[datetime, str]:
    if CURSOR.fullmatch(cursor):
        micros, request_id = cursor.split("-")
        return EPOCH + timedelta(microseconds=int(micros)), request_id
    raise BadInput(
        "cursor is not one this list gives: pass the nextCursor of the page before, or no "
        "cursor for the first page"
    )


def cursor_of(created_at: datetime, request_id: str) -> str:
    return f"{(created_at - EPOCH) // timedelta(microseconds=1)}-{request_id}"


def _query(request: Request) -> dict[str, str]:
    """The query's parameters, each known and given once; a 400 otherwise."""
    given: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key not in KNOWN:
            near = [k for k in KNOWN if k == key.lower()]
            hint = f"; did you mean `{near[0]}`?" if near else ""
            raise BadInput(
                f"`{key}` is not a parameter of this list (it takes {', '.join(KNOWN)}){hint}"
            )
        if key in given:
            raise BadInput(f"{key} is given more than once; give it once")
        given[key] = value
    return given


@router.get(
    PATH,
    operation_id="list_purge_requests",
    summary="Purge requests, newest first, without their items (previews left out), paged",
    response_model=PurgeRequestsPageOut,
    response_model_exclude_unset=True,
    responses=PROBLEMS,
    openapi_extra={"parameters": PARAMETERS},
)
async def list_requests(request: Request, _user: PurgeOrAuditUser) -> dict[str, Any]:
    query = _query(request)
    state = _one_of("state", query["state"], REQUEST_STATES) if "state" in query else None
    kind = _one_of("kind", query["kind"], REQUEST_KINDS) if "kind" in query else None
    limit = _limit(query["limit"]) if "limit" in query else DEFAULT_LIMIT
    after = _position(query["cursor"]) if "cursor" in query else None
    service: PurgeService = request.app.state.purge_service
    rows, last = await run_in_threadpool(
        service.requests_page, state, kind, limit, after, query.get("reference")
    )
    page: dict[str, Any] = {"requests": rows}
    if last is not None:
        page["nextCursor"] = cursor_of(*last)
    return page
