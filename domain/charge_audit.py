"""Recomputing what the ledger recorded: a charge from its recorded price, an eco estimate from its inputs.

Pure functions over one stored event's fields; each returns a message when the recomputation
disagrees with what was stored, and None when it agrees.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import msgspec

from domain.catalogue import Price
from domain.eco import EcoInputs, UnknownMethodError, estimate
from domain.pricing import TokenUsage, cost_micro

PRICE_FIELDS = ("prompt", "completion", "cached_prompt", "platform_fee")


def expected_charge(usage: Mapping[str, Any]) -> int:
    """The charge a `UsageRecorded` should carry: its tokens at its recorded price (0 without a price)."""
    price = usage.get("price")
    if not price:
        return 0
    tokens = TokenUsage(usage["prompt_tokens"], usage["completion_tokens"], usage["cached_tokens"])
    listed = Price(prompt=price["prompt"], completion=price["completion"], cached_prompt=price["cached_prompt"])
    return cost_micro(tokens, listed, price.get("platform_fee", 0))


def charge_mismatch(usage: Mapping[str, Any]) -> str | None:
    """Why the recorded charge is not its tokens at its recorded price; None when it is."""
    try:
        expected = expected_charge(usage)
    except (KeyError, TypeError) as e:
        return f"the recorded price {usage.get('price')!r} cannot be applied: {e!r}"
    if expected == usage["cost_micro"]:
        return None
    return (f"charged {usage['cost_micro']} micro-credits but {usage['prompt_tokens']} prompt "
            f"({usage['cached_tokens']} cached) + {usage['completion_tokens']} completion tokens at the recorded "
            f"price {dict(usage['price'] or {})} cost {expected}")


def price_list_mismatch(usage: Mapping[str, Any], price_list: Mapping[str, Mapping[str, int]]) -> str | None:
    """Why the recorded price is not the listed price of the model; None when it is (or nothing was priced)."""
    price = usage.get("price")
    if not price:
        return None
    model = usage.get("model")
    listed = price_list.get(model or "")
    if listed is None:
        return f"model {model!r} is not in the price list"
    recorded = {k: price.get(k, 0) for k in PRICE_FIELDS}
    wanted = {k: listed.get(k, 0) for k in PRICE_FIELDS}
    if recorded == wanted:
        return None
    return f"recorded price {recorded} for {model} differs from the price list {wanted}"


def eco_mismatch(eco: Mapping[str, Any], rel_tol: float = 1e-9) -> str | None:
    """Why an `EcoEstimated` does not recompute from its stored inputs; None when it does."""
    method = eco["methodology_version"]
    try:
        inputs = msgspec.convert(eco["inputs"], EcoInputs)
        again: dict[str, Any] = msgspec.to_builtins(estimate(inputs, method))
    except UnknownMethodError:
        return f"unknown methodology version {method!r}: the estimate cannot be recomputed"
    except msgspec.ValidationError as e:
        return f"the stored inputs are not valid estimate inputs: {e}"
    stored = eco["estimate"]
    differ = [k for k, v in again.items() if not _same(stored.get(k), v, rel_tol)]
    if not differ:
        return None
    return "recomputed under {} differs in {}".format(
        method, ", ".join(f"{k} (stored {stored.get(k)!r}, recomputed {again[k]!r})" for k in differ))


def _same(stored: Any, again: Any, rel_tol: float) -> bool:
    if isinstance(again, float) and isinstance(stored, int | float) and not isinstance(stored, bool):
        return math.isclose(stored, again, rel_tol=rel_tol, abs_tol=1e-15)
    return bool(stored == again)
