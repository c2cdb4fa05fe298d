"""Domain errors: services raise these; one table in ``api.problems`` maps them to HTTP.

Hierarchy::

    CallvaultError
    ├── BadInput              400  the request is malformed or breaks a rule
    ├── Unauthenticated       401  no, bad, expired or revoked credentials
    ├── PermissionDenied      403  valid credentials without the needed permission
    ├── NotFound              404  no such resource (or not visible any more)
    ├── Conflict              409  the request clashes with what is stored
    ├── RequestTimeout        408  the body stopped arriving
    ├── TooLarge              413  body or part over the configured limit
    ├── UnsupportedMediaType  415  wrong Content-Type
    ├── Gone                  410  a link that no longer works (expired, used up, revoked)
    ├── RateLimited           429  too many requests; ``retry_after`` seconds
    └── StorageUnavailable    503  the blob store or database failed; nothing was stored
"""

from __future__ import annotations

from typing import Any


class CallvaultError(Exception):
    """Base of every error a client can cause; ``detail`` tells the client what to fix."""

    status = 400
    title = "Bad Request"
    slug = "bad-request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
        # Members a problem-details body carries beside type/title/status/detail.
        self.extra: dict[str, Any] = {}


class BadInput(CallvaultError):
    pass


class Unauthenticated(CallvaultError):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class PermissionDenied(CallvaultError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(CallvaultError):
    status, title, slug = 404, "Not Found", "not-found"


class Conflict(CallvaultError):
    status, title, slug = 409, "Conflict", "conflict"


class TooLarge(CallvaultError):
    status, title, slug = 413, "Content Too Large", "too-large"


class UnsupportedMediaType(CallvaultError):
    status, title, slug = 415, "Unsupported Media Type", "unsupported-media-type"


class RateLimited(CallvaultError):
    status, title, slug = 429, "Too Many Requests", "rate-limited"

    def __init__(self, detail: str, retry_after: float) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class RequestTimeout(CallvaultError):
    status, title, slug = 408, "Request Timeout", "request-timeout"


class StorageUnavailable(CallvaultError):
    status, title, slug = 503, "Service Unavailable", "storage-unavailable"


class Gone(CallvaultError):
    status, title, slug = 410, "Gone", "gone"
