"""The tokens a request is charged for: the upstream's counts when they are counts, else an estimate."""

from __future__ import annotations

from typing import Any

import pytest

from domain.pricing import TokenUsage
from domain.tokens import tokens_for_chars
from domain.upstream_usage import read_usage

ESTIMATE = (TokenUsage(11, tokens_for_chars(40)), True)


def test_the_upstreams_counts_are_taken_as_they_are() -> None:
    usage = {"prompt_tokens": 12, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": 4}}
    assert read_usage({"usage": usage}, 11, 40) == (TokenUsage(12, 7, 4), False)


def test_a_missing_or_null_prompt_count_counts_as_zero() -> None:
    assert read_usage({"usage": {"completion_tokens": 7}}, 11, 40) == (TokenUsage(0, 7, 0), False)
    usage = {"completion_tokens": 7, "prompt_tokens": None}
    assert read_usage({"usage": usage}, 11, 40) == (TokenUsage(0, 7, 0), False)


@pytest.mark.parametrize("usage", [
    None,
    {"prompt_tokens": 12},
    {"prompt_tokens": 12, "completion_tokens": None},
    {"prompt_tokens": 12, "completion_tokens": "7"},
    {"prompt_tokens": "many", "completion_tokens": 7},
    {"prompt_tokens": 12, "completion_tokens": True},
    {"prompt_tokens": -3, "completion_tokens": 7},
    {"prompt_tokens": 12, "completion_tokens": 7.5},
])
def test_counts_that_are_not_counts_give_the_estimate_marked_as_such(usage: Any) -> None:
    assert read_usage({"usage": usage}, 11, 40) == ESTIMATE


def test_more_cached_tokens_than_prompt_tokens_are_capped_at_the_prompt() -> None:
    usage = {"prompt_tokens": 5, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": 9}}
    assert read_usage({"usage": usage}, 11, 40) == (TokenUsage(5, 7, 5), False)


def test_a_cached_count_that_is_not_a_count_is_taken_as_none_cached() -> None:
    usage = {"prompt_tokens": 12, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": "x"}}
    assert read_usage({"usage": usage}, 11, 40) == (TokenUsage(12, 7, 0), False)
