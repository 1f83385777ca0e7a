"""What an estimate consumes and what it produces; both are stored with the EcoEstimated event."""

from __future__ import annotations

import msgspec

from domain.eco.accuracy import as_band, lower_band


class EcoInputs(msgspec.Struct, frozen=True):
    """Everything one estimate used, so it can be recomputed later under another method."""

    model: str
    active_params_b: float
    total_params_b: float
    params_band: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float | None
    pue: float
    grid_gco2_per_kwh: float
    grid_year: int
    grid_source: str
    grid_band: str


class EcoEstimate(msgspec.Struct, frozen=True):
    """Energy and carbon of one request under one methodology version."""

    energy_wh: float
    carbon_g: float
    carbon_per_1k_tokens_g: float
    embodied_carbon_g: float
    accuracy: str
    methodology_version: str


def usage_carbon_g(energy_wh: float, grid_gco2_per_kwh: float) -> float:
    """Grams CO2e for the electricity used: Wh * g/kWh / 1000."""
    return energy_wh * grid_gco2_per_kwh / 1000


def complete_estimate(
    inputs: EcoInputs, energy_wh: float, embodied_carbon_g: float, methodology_version: str
) -> EcoEstimate:
    """Turn a method's energy figure into the full estimate every method reports the same way."""
    carbon_g = usage_carbon_g(energy_wh, inputs.grid_gco2_per_kwh)
    tokens = inputs.prompt_tokens + inputs.completion_tokens
    per_1k = carbon_g / tokens * 1000 if tokens > 0 else 0.0
    return EcoEstimate(
        energy_wh=energy_wh,
        carbon_g=carbon_g,
        carbon_per_1k_tokens_g=per_1k,
        embodied_carbon_g=embodied_carbon_g,
        accuracy=lower_band(as_band(inputs.params_band), as_band(inputs.grid_band)),
        methodology_version=methodology_version,
    )
