"""How an upstream's HTTP error status becomes one of the gateway's `UpstreamError`s."""

from __future__ import annotations

from typing import Any

import msgspec

from domain.errors import (
    UpstreamBadResponseError,
    UpstreamError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)


class UpstreamRateLimitedError(UpstreamUnavailableError):
    status = 429
    type = "upstream_rate_limited"


def upstream_message(decoded: Any) -> str:
    """The upstream's own error message, if it sent one in a known shape (truncated)."""
    if isinstance(decoded, dict):
        err = decoded.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])[:300]
        if isinstance(err, str):
            return err[:300]
        if isinstance(decoded.get("message"), str):
            return str(decoded["message"])[:300]
    return "no message"


def error_for_status(status: int, raw: bytes) -> UpstreamError:
    """5xx, 429, 401/403 and 408 may be retried elsewhere; other 4xx are the request's own fault."""
    try:
        message = upstream_message(msgspec.json.decode(raw)) if raw else "no message"
    except msgspec.DecodeError:
        message = "no message"
    text = f"upstream answered HTTP {status}: {message}"
    if status == 429:
        return UpstreamRateLimitedError(text, retryable=True, upstream_status=status, cause="rate_limited")
    if status >= 500:
        return UpstreamBadResponseError(text, retryable=True, upstream_status=status, cause="server_error")
    if status in (401, 403, 407, 408):
        return UpstreamBadResponseError(text, retryable=True, upstream_status=status, cause="upstream_auth")
    return UpstreamRejectedError(text, retryable=False, upstream_status=status, cause="rejected")
