"""``POST /Token``: OAuth 2.0 client credentials, answered exactly as Tethr does.

Throttling (contract §2). Tethr's C++ client asks for a new token before every call, so a busy
recorder, or every recorder behind one NAT address, asks for many; guessing secrets is what a
limit here must stop. So two token buckets (``callvault.ratelimit``), per node:

- **failed attempts per client address** (``CALLVAULT_TOKEN_RATE_LIMIT_PER_MINUTE``, 600): every
  400 or 401 this route answers (wrong or unknown credentials, a malformed request) spends one.
  Once an address has spent its bucket, *every* request from it is 429 with ``Retry-After``
  before its credentials are looked at, good ones too: were good credentials still answered 200,
  a throttled guesser would learn from each answer whether its guess was right, and the throttle
  would stop nothing. A guesser locks out only its own address (and whoever shares it, behind
  one NAT); a good client elsewhere is not touched.
- **tokens issued per client_id** (``CALLVAULT_TOKEN_ISSUE_RATE_LIMIT_PER_MINUTE``, 6000: 100 a
  second, bursts of 1000): bounds the tokens one API user can make the store hold. Checked before
  the credentials (spending nothing), spent after a success, so a guesser naming a client_id
  never uses up that client's allowance; concurrent requests of one client may pass it by as
  many as are in flight. Its 429 is no failed attempt.
"""

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
from callvault.runtime import Runtime
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
    address = request.client.host if request.client else "unknown"
    failures: RateLimiter = request.app.state.token_failures
    wait = failures.waiting(address)
    if wait is not None:  # refused before the credentials are checked: no oracle (see above)
        return _oauth_error(
            "temporarily_unavailable",
            "too many failed token requests from this address; retry after "
            f"{retry_after_header(wait)} s",
            429,
            **{"Retry-After": retry_after_header(wait)},
        )
    answer = await _exchange(request, runtime)
    if answer.status_code in (400, 401):
        failures.acquire(address)
    return answer


async def _exchange(request: Request, runtime: Runtime) -> Response:
    """The token request judged: a token, an OAuth error, or 429 for a client over its
    allowance of tokens."""
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
    issues: RateLimiter = request.app.state.token_issues
    wait = issues.waiting(client_id)
    if wait is not None:
        return _oauth_error(
            "temporarily_unavailable",
            f"too many tokens for this client: at most {issues.per_minute} a minute; a token "
            f"lasts {runtime.settings.token_ttl_seconds} s and can be reused; retry after "
            f"{retry_after_header(wait)} s",
            429,
            **{"Retry-After": retry_after_header(wait)},
        )
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
    issues.acquire(client_id)
    return TethrJSONResponse(
        {
            "access_token": issued.access_token,
            "token_type": "bearer",
            "expires_in": issued.expires_in,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
