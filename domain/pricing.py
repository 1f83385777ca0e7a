"""The price of a request: tokens × (upstream price + platform fee), per 1K tokens, in micro-credits."""

from __future__ import annotations

import msgspec

from domain.catalogue import Price


class TokenUsage(msgspec.Struct, frozen=True):
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def cost_micro(usage: TokenUsage, price: Price, fee_per_1k: int) -> int:
    """Credits charged for `usage`, rounded up to the next micro-credit.

    Cached prompt tokens are charged at the cached rate; the platform fee applies to every token.
    """
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    milli = (
        (usage.prompt_tokens - cached) * price.prompt
        + cached * price.cached_prompt
        + usage.completion_tokens * price.completion
        + usage.total_tokens * fee_per_1k
    )
    return _ceil_div(milli, 1000)


def worst_case_micro(prompt_tokens: int, max_output_tokens: int, price: Price, fee_per_1k: int) -> int:
    """The most a request can cost: the whole prompt uncached and every allowed output token."""
    return cost_micro(TokenUsage(prompt_tokens, max_output_tokens), price, fee_per_1k)


def affordable_output_tokens(available_micro: int, prompt_tokens: int, price: Price, fee_per_1k: int) -> int:
    """The largest `max_tokens` whose worst case fits in `available_micro` (0 when none does)."""
    per_1k_out = price.completion + fee_per_1k
    left = available_micro * 1000 - prompt_tokens * (price.prompt + fee_per_1k)
    if left <= 0:
        return 0
    if per_1k_out <= 0:
        return 1 << 31
    return left // per_1k_out
