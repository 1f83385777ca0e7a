"""Token usage in both vocabularies.

Anthropic counts fresh, cache-read and cache-written input tokens separately; OpenAI's
`prompt_tokens` is their sum, with the cache reads repeated in `prompt_tokens_details`.
"""

from __future__ import annotations

from typing import Any

from domain.anthropic.json_fields import JSONObject, count


def openai_usage_from_anthropic(usage: Any) -> JSONObject:
    """The OpenAI `usage` object for an Anthropic `usage` object (missing counts are zero)."""
    fields = usage if isinstance(usage, dict) else {}
    cache_read = count(fields.get("cache_read_input_tokens"))
    prompt_tokens = (
        count(fields.get("input_tokens")) + cache_read + count(fields.get("cache_creation_input_tokens"))
    )
    completion_tokens = count(fields.get("output_tokens"))
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cache_read},
    }


def reports_usage(usage: Any) -> bool:
    """Whether an Anthropic `usage` object holds both counts, input and output (without them the
    upstream did not say what it read or wrote: the gateway estimates instead of charging zero)."""
    if not isinstance(usage, dict):
        return False
    return all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
               for n in (usage.get("input_tokens"), usage.get("output_tokens")))


def anthropic_usage_from_openai(usage: Any) -> JSONObject:
    """The Anthropic `usage` object for an OpenAI `usage` object (missing counts are zero).

    OpenAI does not report cache writes, so `cache_creation_input_tokens` is always 0.
    """
    fields = usage if isinstance(usage, dict) else {}
    details = fields.get("prompt_tokens_details")
    cached = count(details.get("cached_tokens")) if isinstance(details, dict) else 0
    return {
        "input_tokens": max(count(fields.get("prompt_tokens")) - cached, 0),
        "output_tokens": count(fields.get("completion_tokens")),
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": 0,
    }
