"""The callvault SDK: purge, capture and status against callvault or a Tethr instance.

Needs only httpx (and cryptography with PyJWT, to verify certificates of erasure):
``pip install callvault`` (no server extra) is enough to use it.
"""

from __future__ import annotations

from callvault.client._audit_chain import (
    EvidenceSummary,
    verify_chain,
    verify_checkpoint,
    verify_evidence,
)
from callvault.client._certificates import verify_certificate
from callvault.client._client import AsyncClient, Client
from callvault.client._exceptions import (
    APIError,
    AuthenticationError,
    BadRequestError,
    CallvaultError,
    CertificateError,
    ConfirmationRequiredError,
    ConflictError,
    ExportError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TimeoutWaiting,
    TransportError,
    UnsupportedMediaTypeError,
)
from callvault.client._exports import ExportSummary, verify_export
from callvault.client._models import (
    AuditRecord,
    CallStatus,
    Export,
    ExportPreview,
    ForecastDay,
    Hold,
    Progress,
    PurgeItem,
    PurgeRequest,
    PurgeRequestSummary,
    PurgeResult,
    Redaction,
    RedactionPreview,
    RedactionSuggestion,
    RetentionForecast,
    RetentionPolicy,
    Suppression,
    Webhook,
    WebhookAttempt,
)
from callvault.client._retry import Retrying, RetryPolicy

__all__ = [
    "APIError",
    "AsyncClient",
    "AuditRecord",
    "AuthenticationError",
    "BadRequestError",
    "CallStatus",
    "CallvaultError",
    "CertificateError",
    "Client",
    "ConfirmationRequiredError",
    "ConflictError",
    "EvidenceSummary",
    "Export",
    "ExportError",
    "ExportPreview",
    "ExportSummary",
    "ForecastDay",
    "Hold",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Progress",
    "PurgeItem",
    "PurgeRequest",
    "PurgeRequestSummary",
    "PurgeResult",
    "RateLimitError",
    "Redaction",
    "RedactionPreview",
    "RedactionSuggestion",
    "RetentionForecast",
    "RetentionPolicy",
    "RetryPolicy",
    "Retrying",
    "ServerError",
    "Suppression",
    "TimeoutWaiting",
    "TransportError",
    "UnsupportedMediaTypeError",
    "Webhook",
    "WebhookAttempt",
    "verify_certificate",
    "verify_chain",
    "verify_checkpoint",
    "verify_evidence",
    "verify_export",
]
