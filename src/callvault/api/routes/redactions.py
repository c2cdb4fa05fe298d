"""Redactions (contract §21): thin routes over ``redactions.service.RedactionService``."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from callvault.api.deps import JsonBody, RedactOrAuditUser, RedactUser
from callvault.api.routes.capture import PROBLEMS
from callvault.api.routes.purge import WhatIf, refuse_unknown_query, what_if_of
from callvault.api.routes.schemas import (
    RedactionIn,
    RedactionOut,
    RedactionPreviewOut,
    RedactionsOut,
    SuggestionsOut,
)
from callvault.certificates.evidence import EvidenceService
from callvault.certificates.service import CertificateService
from callvault.redactions.service import PAGE_DEFAULT, PAGE_MAX, RedactionService

router = APIRouter(tags=["redactions"])

CallId = Annotated[str, Path(min_length=1, max_length=64)]
RedactionId = Annotated[str, Path(min_length=1, max_length=64)]
Reference = Annotated[
    str | None, Query(min_length=1, max_length=200, description="Only this reference's.")
]
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX, description=f"Redactions a page, 1–{PAGE_MAX}.")]
Cursor = Annotated[
    str | None,
    Query(max_length=200, description="A previous page's nextCursor: the page after it."),
]


def _service(request: Request) -> RedactionService:
    service: RedactionService = request.app.state.redaction_service
    return service


@router.post(
    "/calls/v1/{callId}/redactions",
    operation_id="redact_call",
    dependencies=[JsonBody],
    status_code=202,
    summary="Erase time ranges of a call's audio (replaced by silence), keep the call",
    response_model=RedactionOut | RedactionPreviewOut,
    responses={200: {"model": RedactionPreviewOut, "description": "whatIf"}, **PROBLEMS},
)
async def redact(
    callId: CallId,
    body: RedactionIn,
    request: Request,
    response: Response,
    user: RedactUser,
    whatIf: WhatIf = None,
) -> Any:
    what_if = what_if_of(request)
    refuse_unknown_query(request, frozenset(), flags=("whatif",))
    answer = await run_in_threadpool(
        partial(
            _service(request).redact,
            callId,
            [{"startMs": r.startMs, "endMs": r.endMs} for r in body.ranges],
            body.reason,
            body.reference,
            user.name,
            what_if,
        )
    )
    if what_if:
        response.status_code = 200
    else:
        response.headers["Location"] = (
            f"/calls/v1/{answer['callId']}/redactions/{answer['redactionId']}"
        )
    return answer


@router.get(
    "/calls/v1/{callId}/redactions",
    operation_id="list_call_redactions",
    summary="A call's redactions, newest first, a page at a time",
    response_model=RedactionsOut,
    response_model_exclude_unset=True,
    responses=PROBLEMS,
)
async def list_call_redactions(
    callId: CallId,
    request: Request,
    _user: RedactOrAuditUser,
    reference: Reference = None,
    limit: Limit = PAGE_DEFAULT,
    cursor: Cursor = None,
) -> Any:
    return await run_in_threadpool(_service(request).page, callId, reference, limit, cursor)


@router.get(
    "/calls/v1/{callId}/redactions/suggestions",
    operation_id="redaction_suggestions",
    summary="Ranges of the call where DTMF tones were keyed (a card number), never the digits",
    response_model=SuggestionsOut,
    responses=PROBLEMS,
)
async def suggestions(callId: CallId, request: Request, user: RedactUser) -> Any:
    return await run_in_threadpool(_service(request).suggestions, callId, user.name)


@router.get(
    "/calls/v1/{callId}/redactions/{redactionId}",
    operation_id="get_redaction",
    summary="One redaction",
    response_model=RedactionOut,
    responses=PROBLEMS,
)
async def get_redaction(
    callId: CallId, redactionId: RedactionId, request: Request, _user: RedactOrAuditUser
) -> Any:
    return await run_in_threadpool(_service(request).get_json, callId, redactionId)


@router.get(
    "/redactions/v1",
    operation_id="list_redactions",
    summary="Every call's redactions, newest first, a page at a time",
    response_model=RedactionsOut,
    response_model_exclude_unset=True,
    responses=PROBLEMS,
)
async def list_redactions(
    request: Request,
    _user: RedactOrAuditUser,
    reference: Reference = None,
    limit: Limit = PAGE_DEFAULT,
    cursor: Cursor = None,
) -> Any:
    return await run_in_threadpool(_service(request).page, None, reference, limit, cursor)


@router.get(
    "/calls/v1/{callId}/redactions/{redactionId}/certificate",
    operation_id="get_redaction_certificate",
    summary="The certificate of redaction of a Redacted redaction (a compact JWS, EdDSA)",
    response_class=Response,
    responses={
        200: {
            "description": "The certificate: header.payload.signature, base64url",
            "content": {"application/jose": {"schema": {"type": "string"}}},
        },
        **PROBLEMS,
    },
)
async def certificate(
    callId: CallId, redactionId: RedactionId, request: Request, user: RedactOrAuditUser
) -> Response:
    service: CertificateService = request.app.state.certificate_service
    jws = await run_in_threadpool(service.redaction_certificate, callId, redactionId, user.name)
    return Response(jws, media_type="application/jose")


@router.get(
    "/calls/v1/{callId}/redactions/{redactionId}/evidence",
    operation_id="get_redaction_evidence",
    summary="The evidence of a redaction: certificate, key set, audit events and the "
    "certificate in words (a ZIP)",
    response_class=Response,
    responses={
        200: {
            "description": "certificate.jws, jwks.json, audit-events.jsonl, certificate.html",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        },
        **PROBLEMS,
    },
)
async def evidence(
    callId: CallId, redactionId: RedactionId, request: Request, user: RedactOrAuditUser
) -> Response:
    service: EvidenceService = request.app.state.evidence_service
    found = await run_in_threadpool(service.redaction, callId, redactionId, user.name)
    return Response(
        found.content,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )
