"""How an upstream's HTTP error status becomes one of the gateway's `UpstreamError`s."""

from __future__ import annotations

import re
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


# Anything shaped like a credential: provider keys (sk-…, sk-ant-…, gsk_…, xai-…), our own keys, and
# bearer tokens. Upstreams sometimes quote the key they were given in their error message.
_SECRET = re.compile(r"(?i)(bearer\s+\S+|\b(?:sk|gsk|xai|lr-sk|lr-ctl|pk|rk)[-_][A-Za-z0-9_\-*.]{6,})")


def redact(text: str) -> str:
    """The text with anything shaped like a key replaced, so it can reach clients, logs and events."""
    return _SECRET.sub("[redacted]", text)


def upstream_message(decoded: Any) -> str:
    """The upstream's own error message, if it sent one in a known shape (truncated, keys redacted)."""
    if isinstance(decoded, dict):
        err = decoded.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return redact(str(err["message"])[:300])
        if isinstance(err, str):
            return redact(err[:300])
        if isinstance(decoded.get("message"), str):
            return redact(str(decoded["message"])[:300])
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
