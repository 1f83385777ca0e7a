"""The tokens a request is charged for: the upstream's own counts when they are counts, else the
gateway's estimate, marked as such (docs/api.md says which counts are taken)."""

from __future__ import annotations

from typing import Any

from domain.pricing import TokenUsage
from domain.tokens import tokens_for_chars


def read_usage(upstream: dict[str, Any] | None, fallback_prompt: int, completion_chars: int) -> tuple[TokenUsage, bool]:
    """Tokens from the upstream's usage, or estimated (and marked so) when it sent none or its
    counts are not counts (docs/api.md)."""
    usage = upstream.get("usage") if upstream else None
    if isinstance(usage, dict):
        sent = usage.get("completion_tokens")
        completion = None if sent is None else _count(sent)  # the one count an upstream may not leave out
        prompt = _count(usage.get("prompt_tokens"))
        if completion is not None and prompt is not None:
            details = usage.get("prompt_tokens_details")
            cached = _count(details.get("cached_tokens")) if isinstance(details, dict) else 0
            return TokenUsage(prompt, completion, min(cached or 0, prompt)), False
    # No usage, or counts that are not counts (an upstream's bug): estimated, and marked so.
    return TokenUsage(fallback_prompt, tokens_for_chars(completion_chars)), True


# More tokens than any model reads or writes in one request (contexts are at most a few million):
# a count above it is an upstream's bug, and would otherwise be charged up to the whole balance.
MAX_PLAUSIBLE_TOKENS = 100_000_000


def _count(value: object) -> int | None:
    """A token count as the upstream sent it, or None if it is not one (`null` counts as 0)."""
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_PLAUSIBLE_TOKENS:
        return value
    return None
