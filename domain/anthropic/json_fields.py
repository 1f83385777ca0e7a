"""Typed reads of decoded JSON values, failing with a `TranslationError` that names the field."""

from __future__ import annotations

import json
from typing import Any

from domain.anthropic.errors import TranslationError

JSONObject = dict[str, Any]


def as_object(value: Any, field: str) -> JSONObject:
    """`value` as a JSON object, or a TranslationError naming `field`."""
    if not isinstance(value, dict):
        raise TranslationError(field, "must be an object")
    return value


def as_list(value: Any, field: str) -> list[Any]:
    """`value` as a JSON array, or a TranslationError naming `field`."""
    if not isinstance(value, list):
        raise TranslationError(field, "must be an array")
    return value


def as_str(value: Any, field: str) -> str:
    """`value` as a string, or a TranslationError naming `field`."""
    if not isinstance(value, str):
        raise TranslationError(field, "must be a string")
    return value


def as_int(value: Any, field: str) -> int:
    """`value` as an integer (booleans refused), or a TranslationError naming `field`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TranslationError(field, "must be an integer")
    return value


def count(value: Any) -> int:
    """A token count from a usage object: missing, null or malformed counts as zero."""
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return value


def compact_json(value: Any) -> str:
    """JSON text without spaces, non-ASCII kept: the way OpenAI writes tool-call arguments."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def parse_arguments(arguments: Any, field: str) -> JSONObject:
    """An OpenAI tool call's `arguments` string decoded to the object Anthropic calls `input`.

    An empty string means no arguments; anything that is not a JSON object is refused.
    """
    if isinstance(arguments, dict):
        return arguments
    text = as_str(arguments, field)
    if not text.strip():
        return {}
    try:
        decoded = json.loads(text)
    except ValueError as exc:
        raise TranslationError(field, f"is not valid JSON ({exc.args[0]})") from None
    if not isinstance(decoded, dict):
        raise TranslationError(field, "must encode a JSON object")
    return decoded
