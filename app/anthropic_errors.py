"""Errors on the Anthropic surface: Anthropic's shape, the same HTTP status as everywhere else.

The Anthropic SDK reads `error.type` and `error.message`; the gateway's own stable type, `code`,
`param` and `metadata` ride along in a top-level `lowrouter` block.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response

from domain.errors import GatewayError

_encode = msgspec.json.Encoder().encode

# Anthropic's error types by HTTP status (https://docs.anthropic.com/en/api/errors).
ANTHROPIC_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
                         403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                         429: "rate_limit_error", 500: "api_error", 502: "api_error", 503: "overloaded_error",
                         504: "timeout_error"}


def anthropic_error_body(error: GatewayError) -> dict[str, Any]:
    """`{"type": "error", "error": {"type", "message"}}` plus the gateway's details."""
    return {
        "type": "error",
        "error": {"type": ANTHROPIC_ERROR_TYPES.get(error.status, "api_error"), "message": error.message},
        "lowrouter": {"type": error.type, "code": error.status, "param": error.param, "metadata": error.metadata},
    }


def anthropic_error_response(error: GatewayError, headers: dict[str, str] | None = None) -> Response[bytes]:
    out = dict(headers or {})
    if error.retry_after is not None:
        out["Retry-After"] = str(error.retry_after)
    return Response(_encode(anthropic_error_body(error)), status_code=error.status, media_type="application/json",
                    headers=out)
