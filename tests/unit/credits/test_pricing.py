"""The price of a request, checked against hand-computed values (integers of micro-credits)."""

from __future__ import annotations

from domain.catalogue import Price
from domain.money import to_credits, to_micro
from domain.pricing import TokenUsage, affordable_output_tokens, cost_micro, worst_case_micro

# 0.15 / 0.60 / 0.075 credits per 1K prompt / completion / cached prompt tokens, and a 0.01 fee.
PRICE = Price(prompt=150_000, completion=600_000, cached_prompt=75_000)
FEE = 10_000


def test_prompt_and_completion_tokens_are_priced_separately_with_the_fee_on_each() -> None:
    # 1000 × (0.15 + 0.01) / 1000 + 500 × (0.60 + 0.01) / 1000 = 0.16 + 0.305 = 0.465 credits
    assert cost_micro(TokenUsage(1000, 500), PRICE, FEE) == 465_000


def test_cached_prompt_tokens_are_charged_at_the_cached_rate() -> None:
    # 234 × 0.16/1K + 1000 × (0.075 + 0.01)/1K + 567 × 0.61/1K = 0.03744 + 0.085 + 0.34587 = 0.46831
    assert cost_micro(TokenUsage(1234, 567, cached_tokens=1000), PRICE, FEE) == 468_310


def test_cached_tokens_beyond_the_prompt_are_not_discounted_twice() -> None:
    # all 100 prompt tokens cached: 100 × 0.085/1K = 0.0085 credits, nothing for the extra 50
    assert cost_micro(TokenUsage(100, 0, cached_tokens=150), PRICE, FEE) == 8_500


def test_a_fraction_of_a_micro_credit_is_rounded_up() -> None:
    # one prompt token at 0.0015 per 1K is 1.5 micro-credits → 2
    assert cost_micro(TokenUsage(1, 0), Price(prompt=1_500, completion=0, cached_prompt=0), 0) == 2


def test_a_request_with_no_tokens_is_free() -> None:
    assert cost_micro(TokenUsage(0, 0), PRICE, FEE) == 0


def test_the_worst_case_is_the_whole_prompt_uncached_and_every_allowed_output_token() -> None:
    # 14 × 0.16/1K + 50 × 0.61/1K = 0.00224 + 0.0305 = 0.03274 credits
    assert worst_case_micro(14, 50, PRICE, FEE) == 32_740


def test_the_affordable_max_tokens_is_the_largest_whose_worst_case_fits() -> None:
    # 0.03274 credits buy 14 prompt + 50 completion tokens exactly; one micro-credit less, 49
    assert affordable_output_tokens(32_740, 14, PRICE, FEE) == 50
    assert affordable_output_tokens(32_739, 14, PRICE, FEE) == 49
    assert worst_case_micro(14, 49, PRICE, FEE) <= 32_739 < worst_case_micro(14, 50, PRICE, FEE)


def test_nothing_is_affordable_when_the_prompt_alone_does_not_fit() -> None:
    assert affordable_output_tokens(2_000, 14, PRICE, FEE) == 0


def test_credits_convert_to_micro_credits_exactly_and_back() -> None:
    assert to_micro("12.345678") == 12_345_678
    assert str(to_credits(12_345_678)) == "12.345678"
    assert to_micro("0.1") + to_micro("0.2") == to_micro("0.3")
