"""The two ways a translation can fail: input that has no meaning on the other side, or an
upstream stream that reported an error mid-way."""

from __future__ import annotations


class TranslationError(ValueError):
    """The input cannot be expressed in the other wire format; `field` names the culprit.

    The gateway answers 400 when this comes from a client request and 502 when it comes from an
    upstream response.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class UpstreamStreamError(Exception):
    """An Anthropic upstream sent an `error` event after the stream had started."""

    def __init__(self, message: str, *, error_type: str = "api_error") -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type
