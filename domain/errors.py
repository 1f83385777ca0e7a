"""The gateway's error tree: every failure a client can see, with its HTTP status and stable type.

    GatewayError
    ├── InvalidRequestError            400 invalid_request_error
    │   └── UnknownModelError          400 unknown_model
    ├── AuthenticationError            401 authentication_error
    ├── InsufficientCreditsError       402 insufficient_credits
    ├── PermissionDeniedError          403 permission_denied
    ├── NotFoundError                  404 not_found
    ├── PayloadTooLargeError           413 payload_too_large
    ├── RateLimitedError               429 rate_limited
    ├── UpstreamError                  (failures of one upstream attempt; see below)
    │   ├── UpstreamRejectedError      400 upstream_rejected (the upstream refused the request itself)
    │   ├── UpstreamBadResponseError   502 upstream_bad_response
    │   ├── UpstreamUnavailableError   503 upstream_unavailable
    │   └── UpstreamTimeoutError       504 upstream_timeout
    └── NoUpstreamAvailableError       503 no_upstream_available

`UpstreamError` subclasses describe one failed attempt; the router decides from `retryable`
whether another candidate may be tried. When no attempt succeeds the last one's status is
what the client sees (or 503 when no candidate was eligible at all).
"""

from __future__ import annotations

from typing import Any, ClassVar


class GatewayError(Exception):
    """Base of every error a client can see."""

    status: ClassVar[int] = 500
    type: ClassVar[str] = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        metadata: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.metadata = metadata or {}
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        """The OpenAI-shaped error object, with the HTTP status as `code`."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "code": self.status,
                "param": self.param,
                "metadata": self.metadata,
            }
        }


class InvalidRequestError(GatewayError):
    status = 400
    type = "invalid_request_error"


class UnknownModelError(InvalidRequestError):
    type = "unknown_model"


class AuthenticationError(GatewayError):
    status = 401
    type = "authentication_error"


class InsufficientCreditsError(GatewayError):
    status = 402
    type = "insufficient_credits"


class PermissionDeniedError(GatewayError):
    status = 403
    type = "permission_denied"


class NotFoundError(GatewayError):
    status = 404
    type = "not_found"


class PayloadTooLargeError(GatewayError):
    status = 413
    type = "payload_too_large"


class RateLimitedError(GatewayError):
    status = 429
    type = "rate_limited"


class UpstreamError(GatewayError):
    """One upstream attempt failed; `retryable` says whether the next candidate may be tried."""

    status = 502
    type = "upstream_error"

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        upstream_status: int | None = None,
        cause: str = "error",
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.upstream_status = upstream_status
        self.cause = cause


class UpstreamRejectedError(UpstreamError):
    status = 400
    type = "upstream_rejected"


class UpstreamBadResponseError(UpstreamError):
    status = 502
    type = "upstream_bad_response"


class UpstreamUnavailableError(UpstreamError):
    status = 503
    type = "upstream_unavailable"


class UpstreamTimeoutError(UpstreamError):
    status = 504
    type = "upstream_timeout"


class InternalError(GatewayError):
    """A fault of the gateway's own code while serving a request (the details go to the log only)."""

    status = 500
    type = "internal_error"


class NoUpstreamAvailableError(GatewayError):
    status = 503
    type = "no_upstream_available"
