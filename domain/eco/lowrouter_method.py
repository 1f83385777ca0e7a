"""The older published LowRouter formula, kept so history can be compared across methods."""

from __future__ import annotations

from typing import Final

from domain.eco.estimates import EcoEstimate, EcoInputs, complete_estimate

VERSION: Final = "lowrouter-2025"

ALPHA_WH_PER_BILLION_PARAMS: Final = 8.91e-5
BETA_WH: Final = 1.43e-3


def estimate_lowrouter(inputs: EcoInputs) -> EcoEstimate:
    """energy_wh = (alpha * P_active + beta) * completion tokens; no PUE, no embodied share."""
    per_token_wh = ALPHA_WH_PER_BILLION_PARAMS * inputs.active_params_b + BETA_WH
    return complete_estimate(inputs, per_token_wh * inputs.completion_tokens, 0.0, VERSION)
