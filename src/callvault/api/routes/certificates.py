"""Certificates of erasure and the JWKS that verifies them (contract §14)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from callvault.api.deps import PurgeOrAuditUser
from callvault.api.routes.capture import PROBLEMS
from callvault.certificates.evidence import EvidenceService
from callvault.certificates.service import CertificateService

router = APIRouter(tags=["certificates"])

JWKS_PATH = "/.well-known/jwks.json"


class JwkOut(BaseModel):
    kty: str
    crv: str
    x: str
    kid: str
    alg: str
    use: str


class JwksOut(BaseModel):
    keys: list[JwkOut]


def _service(request: Request) -> CertificateService:
    service: CertificateService = request.app.state.certificate_service
    return service


@router.get(
    "/purge/v1/requests/{requestId}/certificate",
    operation_id="get_purge_certificate",
    summary="The certificate of erasure of a finished purge request (a compact JWS, EdDSA)",
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
    requestId: Annotated[str, Path(min_length=1)],
    request: Request,
    user: PurgeOrAuditUser,
    jti: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            description="A certificate issued before (its `jti`), when the request changed since.",
        ),
    ] = None,
) -> Response:
    jws = await run_in_threadpool(_service(request).certificate, requestId, jti, user.name)
    return Response(jws, media_type="application/jose")


@router.get(
    "/purge/v1/requests/{requestId}/evidence",
    operation_id="get_purge_evidence",
    summary="The evidence of a finished purge request: certificate, key set, audit events and "
    "the certificate in words (a ZIP)",
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
    requestId: Annotated[str, Path(min_length=1)], request: Request, user: PurgeOrAuditUser
) -> Response:
    service: EvidenceService = request.app.state.evidence_service
    found = await run_in_threadpool(service.purge_request, requestId, user.name)
    return Response(
        found.content,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )


@router.get(
    JWKS_PATH,
    operation_id="jwks",
    summary="Every public key that ever signed a certificate (no token)",
    response_model=JwksOut,
)
async def jwks(request: Request) -> dict[str, Any]:
    return await run_in_threadpool(_service(request).jwks)
