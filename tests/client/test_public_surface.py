"""The SDK's public names and its one status → error mapping, pinned."""

from __future__ import annotations

import pytest

import callvault.client as sdk
from callvault.client import (
    APIError,
    AuthenticationError,
    BadRequestError,
    CallvaultError,
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
from callvault.client._exceptions import error_class

PUBLIC = [
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


def test_all_is_pinned_and_sorted() -> None:
    assert sdk.__all__ == PUBLIC
    assert sorted(sdk.__all__) == sdk.__all__


def test_every_public_name_exists() -> None:
    for name in sdk.__all__:
        assert getattr(sdk, name).__name__ == name


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (413, PayloadTooLargeError),
        (415, UnsupportedMediaTypeError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
    ],
)
def test_error_class_maps_status(status: int, cls: type[APIError]) -> None:
    assert error_class(status) is cls


@pytest.mark.parametrize("status", [402, 405, 418, 422])
def test_other_statuses_map_to_api_error(status: int) -> None:
    assert error_class(status) is APIError


def test_hierarchy() -> None:
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
        RateLimitError,
        ServerError,
    ):
        assert issubclass(cls, APIError)
    for cls in (APIError, TransportError, TimeoutWaiting):
        assert issubclass(cls, CallvaultError)
    assert not issubclass(TransportError, APIError)
    assert not issubclass(TimeoutWaiting, APIError)
