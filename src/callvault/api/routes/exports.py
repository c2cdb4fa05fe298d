"""Subject access exports (contract §20): thin routes over ``exports.service.ExportService``.

Their bodies are declared here rather than in ``schemas.py``: no other endpoint shares them.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from callvault.api.authfirst import bearer_token
from callvault.api.deps import ExportOrAuditUser, ExportUser, JsonBody, require
from callvault.api.responses import TethrJSONResponse
from callvault.api.routes.calls import RevocableStream
from callvault.api.routes.capture import PROBLEMS
from callvault.api.routes.purge import WhatIf, refuse_unknown_query, what_if_of
from callvault.api.routes.schemas import Identifier, OneSpellingBody
from callvault.auth.permissions import Permission
from callvault.errors import Unauthenticated
from callvault.exports.service import PAGE_DEFAULT, PAGE_MAX, ExportAsk, ExportService
from callvault.text import REFERENCE_PATTERN

router = APIRouter(tags=["exports"])

ExportId = Annotated[str, Path(min_length=1, max_length=64)]
PACKAGE_PATH = "/exports/v1/{exportId}/package"
_BINARY = {"schema": {"type": "string", "format": "binary"}}
# A link that does not work (any more), or an export no longer Ready: 410 (contract §20).
GONE_PROBLEMS = {**PROBLEMS, 410: {**PROBLEMS[404], "description": "The link does not work"}}
_NO_CREDENTIALS = (
    "give the download link's token (?token=…, from the export's downloadUrl) or send "
    "`Authorization: Bearer <token>` of an API user with the `export` permission"
)


class ExportIn(OneSpellingBody):
    """Whose calls to export (contract §20). Unknown keys are refused: a misspelt identifier
    would otherwise export fewer calls than asked for."""

    model_config = ConfigDict(extra="forbid")
    _refused_means: ClassVar[str] = "no export was made"
    _what_if_in_query: ClassVar[bool] = True

    phoneNumbers: list[StrictStr] = Field(
        default_factory=list,
        max_length=1000,
        description="The caller's phone numbers, any format (matched as a customer purge does).",
    )
    emails: list[StrictStr] = Field(
        default_factory=list, max_length=1000, description="The caller's e-mail addresses."
    )
    callIds: list[Identifier] = Field(default_factory=list, max_length=1000)
    sessionIds: list[Identifier] = Field(default_factory=list, max_length=1000)
    startedAfter: StrictStr | None = Field(
        default=None, description="Only calls started at or after (narrows; names no one)."
    )
    startedBefore: StrictStr | None = Field(
        default=None, description="Only calls started before (narrows; names no one)."
    )
    reference: StrictStr | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=REFERENCE_PATTERN,
        description="The privacy program's ticket it answers (1–200 printable characters).",
    )
    recipients: list[StrictStr] = Field(
        default_factory=list,
        max_length=10,
        description="age X25519 public keys (age1…): the package is encrypted to them.",
    )


class ExportOut(BaseModel):
    exportId: str
    createdAt: str
    requestedBy: str
    reference: str | None
    calls: int = Field(description="How many calls the export covers (fixed when made).")
    state: str = Field(description="Ready, Expired or Revoked.")
    expiresAt: str
    downloads: int
    maxDownloads: int
    downloadUrl: str | None = Field(
        default=None,
        description="Only in the answer that made the export: the link (works without an API "
        "token) until expiresAt and for maxDownloads downloads.",
    )


class ExportPreviewItemOut(BaseModel):
    callId: str
    sessionId: str
    startTime: str | None


class ExportPreviewOut(BaseModel):
    calls: int
    items: list[ExportPreviewItemOut]


class ExportsOut(BaseModel):
    exports: list[ExportOut]
    nextCursor: str | None = Field(
        default=None, description="While more exports follow: give it back as ?cursor=."
    )


def _service(request: Request) -> ExportService:
    service: ExportService = request.app.state.export_service
    return service


@router.post(
    "/exports/v1",
    operation_id="create_export",
    dependencies=[JsonBody],
    status_code=201,
    summary="Export a caller's recordings as one signed package (whatIf: say which calls)",
    response_model=ExportOut,
    response_model_exclude_unset=True,
    responses={
        200: {"model": ExportPreviewOut, "description": "whatIf: the calls it would cover"},
        **PROBLEMS,
    },
)
async def create(
    body: ExportIn, request: Request, response: Response, user: ExportUser, whatIf: WhatIf = None
) -> Any:
    what_if = what_if_of(request)
    refuse_unknown_query(request, frozenset(), flags=("whatif",))
    ask = ExportAsk(
        phone_numbers=body.phoneNumbers,
        emails=body.emails,
        call_ids=body.callIds,
        session_ids=body.sessionIds,
        started_after=body.startedAfter,
        started_before=body.startedBefore,
        reference=body.reference,
        recipients=body.recipients,
    )
    result = await run_in_threadpool(_service(request).create, ask, what_if, user.name, user.region)
    if what_if:  # the preview's own shape, not the resource's
        return TethrJSONResponse(result, status_code=200)
    response.headers["Location"] = f"/exports/v1/{result['exportId']}"
    return result


@router.get(
    "/exports/v1",
    operation_id="list_exports",
    summary="Exports, newest first, a page at a time",
    response_model=ExportsOut,
    response_model_exclude_unset=True,
    responses=PROBLEMS,
)
async def list_exports(
    request: Request,
    _user: ExportOrAuditUser,
    reference: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Only this reference's.")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=PAGE_MAX, description=f"Exports a page, 1–{PAGE_MAX}.")
    ] = PAGE_DEFAULT,
    cursor: Annotated[
        str | None,
        Query(max_length=200, description="A previous page's nextCursor: the page after it."),
    ] = None,
) -> dict[str, Any]:
    return await run_in_threadpool(_service(request).page, limit, cursor, reference)


@router.get(
    "/exports/v1/{exportId}",
    operation_id="get_export",
    summary="One export (without its link)",
    response_model=ExportOut,
    response_model_exclude_unset=True,
    responses=PROBLEMS,
)
async def get_export(exportId: ExportId, request: Request, _user: ExportOrAuditUser) -> Any:
    return await run_in_threadpool(_service(request).get, exportId)


@router.post(
    "/exports/v1/{exportId}/revoke",
    operation_id="revoke_export",
    summary="Revoke an export: its link answers 410 from now on",
    response_model=ExportOut,
    response_model_exclude_unset=True,
    responses=PROBLEMS,
)
async def revoke(exportId: ExportId, request: Request, user: ExportUser) -> Any:
    return await run_in_threadpool(_service(request).revoke, exportId, user.name)


_export_user = require(Permission.EXPORT)


@router.get(
    PACKAGE_PATH,
    operation_id="download_export",
    summary="The package, streamed: by the link's token, or a bearer token holding `export`",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/zip": _BINARY, "application/octet-stream": _BINARY}},
        **GONE_PROBLEMS,
    },
)
async def download(
    exportId: ExportId,
    request: Request,
    token: Annotated[
        str | None,
        # No length limit: a token of any length that is not the link's is the one 410.
        Query(description="The link's token (from downloadUrl)."),
    ] = None,
) -> StreamingResponse:
    service = _service(request)
    if token is not None:
        package = await run_in_threadpool(service.download_by_link, exportId, token)
    else:
        credentials = bearer_token(request.scope)
        if credentials is None:
            raise Unauthenticated(_NO_CREDENTIALS)
        # AuthenticateFirst let this path through without a bearer token; with one it checked
        # it, and ``require`` checks the permission (403 without `export`).
        user = await _export_user(request, request.app.state.runtime, None)
        package = await run_in_threadpool(service.download_by_user, exportId, user.name)
    # The audio download's stream: a purge of the call being sent ends it with a reset, no byte
    # of that call's audio after (contract §19, §24).
    return RevocableStream(
        package.chunks,
        package.still_readable,
        media_type=package.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{package.filename}"',
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )
