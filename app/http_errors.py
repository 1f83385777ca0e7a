"""Every error leaves the gateway in one shape: `{"error": {message, type, code, param, metadata}}`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException

from domain.errors import GatewayError

log = logging.getLogger("lowrouter.http")
_encode = msgspec.json.Encoder().encode

_HTTP_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_denied",
               404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 429: "rate_limited"}


def error_body(error: GatewayError) -> bytes:
    return _encode(error.body())


def plain_error_body(status: int, message: str, error_type: str | None = None) -> bytes:
    return _encode({"error": {"message": message, "type": error_type or _HTTP_TYPES.get(status, "error"),
                              "code": status, "param": None, "metadata": {}}})


def error_headers(error: GatewayError, headers: dict[str, str] | None,
                  balance_now: Callable[[], dict[str, str]] | None = None) -> dict[str, str]:
    """The headers of an error answer: those of the request so far, the balance after the failed
    request released its reservation, and `Retry-After` when the error names one."""
    out = dict(headers or {})
    if balance_now is not None:
        out.update(balance_now())
    if error.retry_after is not None:
        out["Retry-After"] = str(error.retry_after)
    return out


def error_response(error: GatewayError, headers: dict[str, str] | None = None,
                   balance_now: Callable[[], dict[str, str]] | None = None) -> Response[bytes]:
    return Response(error_body(error), status_code=error.status, media_type="application/json",
                    headers=error_headers(error, headers, balance_now))


def plain_error(status: int, message: str, error_type: str | None = None) -> Response[bytes]:
    return Response(plain_error_body(status, message, error_type), status_code=status, media_type="application/json")


def on_gateway_error(request: Request[Any, Any, Any], exc: GatewayError) -> Response[bytes]:
    return error_response(exc, getattr(request.state, "lowrouter_headers", None),
                          getattr(request.state, "lowrouter_balance", None))


def on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    if status == 413:
        return plain_error(413, "request body too large")
    detail = exc.detail if isinstance(exc.detail, str) else "request failed"
    if status == 400 and "JSON" in detail:
        detail = "malformed JSON in request body"
    return plain_error(status, detail)


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return plain_error(500, "internal error", "internal_error")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    GatewayError: on_gateway_error,
    HTTPException: on_http_exception,
    Exception: on_unexpected,
}
