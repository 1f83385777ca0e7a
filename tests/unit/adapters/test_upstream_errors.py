"""Upstream error statuses map to the gateway's errors, and keys quoted by an upstream never pass on."""

from __future__ import annotations

import pytest

from adapters.providers.http_errors import UpstreamRateLimitedError, error_for_status, redact
from domain.errors import UpstreamBadResponseError, UpstreamRejectedError


@pytest.mark.parametrize(("status", "kind", "retryable"), [
    (500, UpstreamBadResponseError, True), (503, UpstreamBadResponseError, True),
    (429, UpstreamRateLimitedError, True), (401, UpstreamBadResponseError, True),
    (400, UpstreamRejectedError, False), (404, UpstreamRejectedError, False),
])
def test_each_upstream_status_becomes_the_documented_error(status: int, kind: type, retryable: bool) -> None:
    error = error_for_status(status, b'{"error": {"message": "nope"}}')
    assert type(error) is kind and error.retryable is retryable and error.upstream_status == status
    assert "nope" in error.message


def test_a_key_quoted_in_an_upstream_error_is_redacted() -> None:
    body = b'{"error": {"message": "Incorrect API key provided: sk-proj-AbCdEf123456789. Bearer xyz987654321"}}'
    error = error_for_status(401, body)
    assert "AbCdEf123456789" not in error.message and "xyz987654321" not in error.message
    assert error.message.count("[redacted]") == 2


def test_redaction_leaves_ordinary_text_alone() -> None:
    text = "model gpt-4o-mini is overloaded, try again in 3 s (task-queue full)"
    assert redact(text) == text
