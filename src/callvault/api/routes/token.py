"""``POST /Token``: OAuth 2.0 client credentials, answered exactly as Tethr does."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, unquote_plus

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from callvault.api.deps import RuntimeDep
from callvault.api.problems import PROBLEM_SCHEMA
from callvault.api.responses import TethrJSONResponse
from callvault.auth.tokens import InvalidClient, issue_token
from callvault.ratelimit import RateLimiter, retry_after_header
from callvault.text import is_clean

router = APIRouter(tags=["token"])

_TOKEN_OK = {
    "type": "object",
    "required": ["access_token", "token_type", "expires_in"],
    "properties": {
        "access_token": {"type": "string"},
        "token_type": {"type": "string", "enum": ["bearer"]},
        "expires_in": {"type": "integer"},
    },
}
_OAUTH_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}


def _oauth_error(error: str, description: str, status: int = 400, **headers: str) -> Response:
    # RFC 6749 §5.2: these errors are not problem details, and must not be cached.
    body = {"error": error, "error_description": description}
    return TethrJSONResponse(
        body, status_code=status, headers={"Cache-Control": "no-store", **headers}
    )


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    client_id, _, secret = decoded.partition(":")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    return unquote_plus(client_id), unquote_plus(secret)


@router.post(
    "/Token",
    operation_id="issue_token",
    summary="Exchange client credentials for an access token",
    responses={
        200: {"content": {"application/json": {"schema": _TOKEN_OK}}},
        400: {"content": {"application/json": {"schema": _OAUTH_ERROR}}},
        401: {"content": {"application/json": {"schema": _OAUTH_ERROR}}},
        429: {
            "content": {"application/json": {"schema": _OAUTH_ERROR}},
            "headers": {"Retry-After": {"schema": {"type": "string"}, "required": True}},
        },
        # The body limit middleware answers before this route: a problem, not an OAuth error.
        413: {"content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["client_credentials"]},
                            "client_id": {"type": "string"},
                            "client_secret": {"type": "string"},
                        },
                    }
                }
            },
        }
    },
)
async def token(request: Request, runtime: RuntimeDep) -> Response:
    limiter: RateLimiter = request.app.state.token_limiter
    wait = limiter.acquire(request.client.host if request.client else "unknown")
    if wait is not None:  # slows down secret guessing from one address
        return _oauth_error(
            "temporarily_unavailable",
            "too many token requests from this address; retry later",
            429,
            **{"Retry-After": retry_after_header(wait)},
        )
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return _oauth_error("invalid_request", "send the form as application/x-www-form-urlencoded")
    try:
        fields = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
    except UnicodeDecodeError:
        return _oauth_error("invalid_request", "the form is not valid UTF-8")
    grant = fields.get("grant_type")
    if grant is None:
        return _oauth_error("invalid_request", "grant_type is required (client_credentials)")
    if grant != "client_credentials":
        return _oauth_error("unsupported_grant_type", "only client_credentials is supported")
    basic = _basic_credentials(request.headers.get("authorization"))
    if basic is not None and ("client_id" in fields or "client_secret" in fields):
        # RFC 6749 §2.3: one authentication method per request; picking one would hide the other.
        return _oauth_error(
            "invalid_request",
            "send the client credentials once: in the Basic header or in the form, not both",
        )
    client_id, secret = basic or (fields.get("client_id", ""), fields.get("client_secret", ""))
    if not (is_clean(client_id) and is_clean(secret)):
        client_id, secret = "", ""  # cannot match any client; answered like any wrong secret
    try:
        issued = await run_in_threadpool(
            issue_token, runtime.engine, client_id, secret, runtime.settings.token_ttl_seconds
        )
    except InvalidClient:
        if basic is not None:
            return _oauth_error(
                "invalid_client",
                "unknown client or wrong secret",
                401,
                **{"WWW-Authenticate": 'Basic realm="callvault"'},
            )
        return _oauth_error("invalid_client", "unknown client or wrong secret")
    return TethrJSONResponse(
        {
            "access_token": issued.access_token,
            "token_type": "bearer",
            "expires_in": issued.expires_in,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
