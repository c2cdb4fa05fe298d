"""Errors raised by the callvault SDK.

Hierarchy::

    CallvaultError
    ├── TransportError                the server could not be reached or did not answer in time
    ├── TimeoutWaiting                wait_for_purge ran out of time (requests still Purging)
    ├── CertificateError              a certificate of erasure does not verify (and why)
    └── APIError                      the server answered with an error (status_code, detail, …)
        ├── BadRequestError           400
        ├── AuthenticationError       401, and a refused /Token
        ├── PermissionDeniedError     403
        ├── NotFoundError             404
        ├── ConflictError             409
        │   └── ConfirmationRequiredError  a customer purge needs (another) preview's token
        ├── PayloadTooLargeError      413
        ├── UnsupportedMediaTypeError 415
        ├── RateLimitError            429 (``retry_after`` seconds)
        └── ServerError               5xx
"""

from __future__ import annotations

from typing import Any


class CallvaultError(Exception):
    """Base of every error the SDK raises."""


class TransportError(CallvaultError):
    """Connecting, sending or receiving failed (after the retries that were safe)."""


class CertificateError(CallvaultError):
    """A certificate of erasure that does not verify: malformed, altered, or signed by no key
    of the JWKS it was checked against. The message says which."""


class ExportError(CertificateError):
    """An access export's package that does not verify: its manifest's signature, a file's
    size or SHA-256, a file missing or extra, or it cannot be decrypted. The message says
    which."""


class TimeoutWaiting(CallvaultError):
    """Purge requests were still running when the wait's timeout ran out."""

    def __init__(self, message: str, pending: list[str]) -> None:
        super().__init__(message)
        self.pending = pending


class APIError(CallvaultError):
    """The server answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        detail: str | None = None,
        request_id: str | None = None,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.detail = detail
        self.request_id = request_id
        self.body = body
        self.retry_after = retry_after
        # A bulk purge stopped part way: what the server accepted before this error (a
        # PurgeResult), else None.
        self.partial: Any = None


class BadRequestError(APIError):
    pass


class AuthenticationError(APIError):
    pass


class PermissionDeniedError(APIError):
    pass


class NotFoundError(APIError):
    pass


class ConflictError(APIError):
    pass


class ConfirmationRequiredError(ConflictError):
    """A customer purge that would erase ``matched`` calls needs the ``confirm_token`` of a
    whatIf preview of the same number (or the token given no longer fits: preview anew)."""

    @property
    def matched(self) -> int:
        return int(self.body.get("matched", 0)) if isinstance(self.body, dict) else 0


class PayloadTooLargeError(APIError):
    pass


class UnsupportedMediaTypeError(APIError):
    pass


class RateLimitError(APIError):
    pass


class ServerError(APIError):
    pass


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    429: RateLimitError,
}


def error_class(status_code: int, body: Any = None) -> type[APIError]:
    """The one mapping from an HTTP status (and problem body) to the error raised for it."""
    if status_code >= 500:
        return ServerError
    if status_code == 409 and isinstance(body, dict) and "matched" in body:
        return ConfirmationRequiredError
    return _BY_STATUS.get(status_code, APIError)
