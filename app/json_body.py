"""A request body read as a JSON object, or the 400 that says why it is not one."""

from __future__ import annotations

from typing import Any

import msgspec

from domain.errors import InvalidRequestError

_decode = msgspec.json.Decoder().decode


def decode_body(body: bytes) -> dict[str, Any]:
    """The body's JSON object; `InvalidRequestError` for malformed JSON (nesting too deep for the
    decoder included) or JSON that is not an object."""
    try:
        raw = _decode(body)
    except msgspec.DecodeError as e:
        raise InvalidRequestError(f"malformed JSON in request body: {e}") from None
    except RecursionError:
        raise InvalidRequestError("malformed JSON in request body: nested too deeply") from None
    if not isinstance(raw, dict):
        raise InvalidRequestError("the request body must be a JSON object")
    return raw
