"""The callvault SDK: purge, capture and status against callvault or a Tethr instance.

Needs only httpx: ``pip install callvault`` (no server extra) is enough to use it.
"""

from __future__ import annotations

from callvault.client._client import AsyncClient, Client
from callvault.client._exceptions import (
    APIError,
    AuthenticationError,
    BadRequestError,
    CallvaultError,
    ConfirmationRequiredError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TimeoutWaiting,
    TransportError,
    UnsupportedMediaTypeError,
)
from callvault.client._models import (
    CallStatus,
    Hold,
    Progress,
    PurgeItem,
    PurgeRequest,
    PurgeResult,
)
from callvault.client._retry import Retrying, RetryPolicy

__all__ = [
    "APIError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "CallStatus",
    "CallvaultError",
    "Client",
    "ConfirmationRequiredError",
    "ConflictError",
    "Hold",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Progress",
    "PurgeItem",
    "PurgeRequest",
    "PurgeResult",
    "RateLimitError",
    "RetryPolicy",
    "Retrying",
    "ServerError",
    "TimeoutWaiting",
    "TransportError",
    "UnsupportedMediaTypeError",
]
