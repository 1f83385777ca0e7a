"""Charges recomputed from their recorded price, prices against the list, eco from its inputs."""

from __future__ import annotations

from typing import Any

import msgspec

from domain.charge_audit import charge_mismatch, eco_mismatch, expected_charge, price_list_mismatch
from domain.eco import EcoInputs, estimate

PRICE = {"prompt": 10_000, "completion": 20_000, "cached_prompt": 5_000, "platform_fee": 1_000}


def usage(**overrides: Any) -> dict[str, Any]:
    base = {"model": "fake/fake", "prompt_tokens": 1000, "completion_tokens": 500, "cached_tokens": 200,
            "price": PRICE, "cost_micro": 0}
    base.update(overrides)
    return base


def test_the_expected_charge_applies_the_cached_rate_and_the_fee_to_every_token() -> None:
    # 800 × 10000 + 200 × 5000 + 500 × 20000 + 1500 × 1000 = 20,500,000 milli → 20,500 micro
    assert expected_charge(usage()) == 20_500


def test_a_charge_equal_to_its_recorded_price_passes_and_one_micro_credit_more_does_not() -> None:
    assert charge_mismatch(usage(cost_micro=20_500)) is None
    why = charge_mismatch(usage(cost_micro=20_501))
    assert why is not None and "20501" in why and "20500" in why


def test_a_generation_without_a_price_must_cost_nothing() -> None:
    assert charge_mismatch(usage(price=None, cost_micro=0)) is None
    assert charge_mismatch(usage(price=None, cost_micro=5)) is not None


def test_a_recorded_price_other_than_the_listed_one_is_named() -> None:
    listed = {"fake/fake": dict(PRICE)}
    assert price_list_mismatch(usage(), listed) is None
    why = price_list_mismatch(usage(price={**PRICE, "completion": 21_000}), listed)
    assert why is not None and "21000" in why
    unknown = price_list_mismatch(usage(model="gone/model"), listed)
    assert unknown is not None and "not in the price list" in unknown


def eco_event(**estimate_overrides: Any) -> dict[str, Any]:
    inputs = EcoInputs(model="m", active_params_b=8.0, total_params_b=8.0, params_band="accurate", prompt_tokens=10,
                       completion_tokens=100, latency_s=0.5, pue=1.2, grid_gco2_per_kwh=300.0, grid_year=2024,
                       grid_source="t", grid_band="medium")
    est = msgspec.to_builtins(estimate(inputs))
    return {"methodology_version": est["methodology_version"], "inputs": msgspec.to_builtins(inputs),
            "estimate": {**est, **estimate_overrides}}


def test_an_eco_estimate_recomputes_from_its_stored_inputs() -> None:
    assert eco_mismatch(eco_event()) is None


def test_an_edited_carbon_figure_does_not_recompute() -> None:
    why = eco_mismatch(eco_event(carbon_g=0.5))
    assert why is not None and "carbon_g" in why


def test_an_unknown_methodology_is_reported_not_raised() -> None:
    event = eco_event()
    event["methodology_version"] = "made-up-1"
    why = eco_mismatch(event)
    assert why is not None and "made-up-1" in why
