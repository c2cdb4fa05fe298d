"""Dependencies shared by routes: the instance's runtime and the authenticated principal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from callvault.api.authfirst import MISSING, PRINCIPAL_KEY
from callvault.auth.permissions import Permission, grants
from callvault.auth.tokens import Principal, authenticate
from callvault.errors import (
    BadInput,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    UnsupportedMediaType,
)
from callvault.ratelimit import RateLimiter, retry_after_header
from callvault.runtime import Runtime

# auto_error=False: a missing header must become our 401 problem, not FastAPI's 403.
_bearer = HTTPBearer(auto_error=False, description="An access token from POST /Token.")


# The dependencies here are ``async def`` though they block on nothing: FastAPI runs a plain
# ``def`` dependency in the thread pool, a hop that cost more than the no-op request itself.
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def require(*permissions: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency that authenticates the bearer token and checks for any of ``permissions``
    (none named: any authenticated user)."""

    async def dependency(
        request: Request,
        runtime: RuntimeDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        # AuthenticateFirst has checked the token already (before the body was read).
        principal: Principal | None = getattr(request.state, PRINCIPAL_KEY, None)
        if principal is None:
            if credentials is None or not credentials.credentials.strip():
                raise Unauthenticated(MISSING)
            token = credentials.credentials.strip()
            principal = await run_in_threadpool(authenticate, runtime.engine, token)
        limiter: RateLimiter = request.app.state.user_limiter
        wait = limiter.acquire(principal.user_id)
        if wait is not None:
            raise RateLimited(
                f"this API user is over {limiter.per_minute} requests a minute; "
                f"retry in {retry_after_header(wait)} s",
                wait,
            )
        if permissions and not any(grants(principal.permissions, p) for p in permissions):
            needed = " or ".join(f"`{p.value}`" for p in permissions)
            raise PermissionDenied(f"this API user lacks the {needed} permission needed here")
        return principal

    return dependency


AnyUser = Annotated[Principal, Depends(require())]
CaptureUser = Annotated[Principal, Depends(require(Permission.CAPTURE))]
ReadUser = Annotated[Principal, Depends(require(Permission.READ))]
PurgeUser = Annotated[Principal, Depends(require(Permission.PURGE))]
PurgeOrAuditUser = Annotated[Principal, Depends(require(Permission.PURGE, Permission.AUDIT))]
# Cancel: the service decides whose request each may cancel (purge/service.py, may_cancel).
PurgeOrRetentionUser = Annotated[
    Principal, Depends(require(Permission.PURGE, Permission.RETENTION))
]
AuditUser = Annotated[Principal, Depends(require(Permission.AUDIT))]
HoldUser = Annotated[Principal, Depends(require(Permission.HOLD))]
HoldOrAuditUser = Annotated[Principal, Depends(require(Permission.HOLD, Permission.AUDIT))]
RetentionUser = Annotated[Principal, Depends(require(Permission.RETENTION))]
RetentionOrAuditUser = Annotated[
    Principal, Depends(require(Permission.RETENTION, Permission.AUDIT))
]
SuppressUser = Annotated[Principal, Depends(require(Permission.SUPPRESS))]
SuppressOrAuditUser = Annotated[Principal, Depends(require(Permission.SUPPRESS, Permission.AUDIT))]
ExportUser = Annotated[Principal, Depends(require(Permission.EXPORT))]
ExportOrAuditUser = Annotated[Principal, Depends(require(Permission.EXPORT, Permission.AUDIT))]
RedactUser = Annotated[Principal, Depends(require(Permission.REDACT))]
RedactOrAuditUser = Annotated[Principal, Depends(require(Permission.REDACT, Permission.AUDIT))]
AdminUser = Annotated[Principal, Depends(require(Permission.ADMIN))]


async def require_json(request: Request) -> None:
    """JSON endpoints take JSON: another declared Content-Type is a 415 (none at all is let be,
    as some recorders omit it)."""
    declared = request.headers.get("content-type")
    if declared is None:
        return
    media = declared.split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(
            f"this endpoint takes application/json, not {media or 'an empty Content-Type'}"
        )


JsonBody = Depends(require_json)


def only_query(request: Request, *known: str) -> None:
    """An unknown query parameter is a 400 (contract §19): a misspelt option is not ignored."""
    for key in request.query_params:
        if key not in known:
            takes = ", ".join(known) if known else "no query parameter"
            raise BadInput(f"`{key}` is not a parameter of this endpoint (it takes {takes})")
