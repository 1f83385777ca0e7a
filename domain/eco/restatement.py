"""Restating stored estimates: the same inputs under another method, or on a baseline model.

Both are pure functions of the `EcoInputs` an `EcoEstimated` event stored; nothing here reads or
changes the ledger. See docs/methodology.md, "Restatement and baseline comparison".
"""

from __future__ import annotations

import msgspec

from domain.eco.estimates import EcoEstimate, EcoInputs
from domain.eco.methods import estimate
from domain.eco.registry import ModelParams


def on_baseline(inputs: EcoInputs, baseline: ModelParams) -> EcoInputs:
    """The same usage on another model: only the model and its size change.

    Tokens, measured latency, PUE and grid intensity (the provider and region that served the
    request, with their data year) are kept, so a difference comes from the model size alone.
    """
    return msgspec.structs.replace(
        inputs,
        model=baseline.name,
        active_params_b=baseline.active_params_b,
        total_params_b=baseline.total_params_b,
        params_band=baseline.band,
    )


def restate(inputs: EcoInputs, method: str) -> EcoEstimate:
    """The estimate the stored inputs give under `method` (any version in METHODS)."""
    return estimate(inputs, method)


def baseline_estimate(inputs: EcoInputs, baseline: ModelParams, method: str) -> EcoEstimate:
    """The estimate had the same usage run on the baseline model, under `method`."""
    return estimate(on_baseline(inputs, baseline), method)


class EcoSums(msgspec.Struct):
    """Running sums of estimates for one report row."""

    energy_wh: float = 0.0
    carbon_g: float = 0.0
    embodied_carbon_g: float = 0.0

    def add(self, e: EcoEstimate) -> None:
        self.energy_wh += e.energy_wh
        self.carbon_g += e.carbon_g
        self.embodied_carbon_g += e.embodied_carbon_g
