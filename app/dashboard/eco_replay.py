"""Eco impact of a range, and the same usage replayed against a baseline model.

Recorded figures are the sums of each request's `EcoEstimated`. The comparison re-estimates each
model × provider × region group's tokens twice with `domain.eco` under the same method and with
no measured latency — once with the group's own model and site, once with the baseline model at
its first endpoint — so both sides are computed the same way. The default method is linear in
tokens when no latency is given, so one estimate per group equals the sum of per-request ones.
"""

from __future__ import annotations

import msgspec

from domain.catalogue import Catalogue
from domain.eco import DEFAULT_METHOD, EcoCatalogue, estimate
from projections.dashboard_queries import EcoGroup


class EcoSummary(msgspec.Struct, frozen=True):
    energy_wh: float
    carbon_g: float
    tokens: int
    estimated_requests: int
    requests: int

    @property
    def carbon_per_1k_g(self) -> float:
        return self.carbon_g / self.tokens * 1000 if self.tokens else 0.0

    @property
    def energy_per_1k_wh(self) -> float:
        return self.energy_wh / self.tokens * 1000 if self.tokens else 0.0


class Replay(msgspec.Struct, frozen=True):
    baseline: str
    baseline_site: str
    actual_energy_wh: float
    actual_carbon_g: float
    baseline_energy_wh: float
    baseline_carbon_g: float
    tokens_compared: int
    tokens_left_out: int

    @property
    def saved_carbon_g(self) -> float:
        return self.baseline_carbon_g - self.actual_carbon_g

    @property
    def saved_energy_wh(self) -> float:
        return self.baseline_energy_wh - self.actual_energy_wh


def summarise(groups: list[EcoGroup]) -> EcoSummary:
    """Recorded totals; tokens count only requests that have an estimate, so per-1K is honest."""
    estimated = [g for g in groups if g.estimated_requests]
    tokens = sum(g.prompt_tokens + g.completion_tokens for g in estimated)
    return EcoSummary(sum(g.energy_wh for g in groups), sum(g.carbon_g for g in groups), tokens,
                      sum(g.estimated_requests for g in groups), sum(g.requests for g in groups))


def replay(groups: list[EcoGroup], baseline_id: str, catalogue: Catalogue, eco: EcoCatalogue,
           method: str = DEFAULT_METHOD) -> Replay | None:
    """The range's usage under the baseline model; None when the baseline has no known size."""
    model = catalogue.model(baseline_id)
    if model is None or eco.params_for(model.eco_name) is None:
        return None
    site = catalogue.endpoints_for(model)[0]
    actual_e = actual_c = base_e = base_c = 0.0
    compared = left_out = 0
    for g in groups:
        tokens = g.prompt_tokens + g.completion_tokens
        used = catalogue.model(g.model)
        mine = None if used is None else eco.inputs_for(used.eco_name, g.provider, g.region, g.prompt_tokens,
                                                        g.completion_tokens, None)
        theirs = eco.inputs_for(model.eco_name, site.provider, site.region, g.prompt_tokens, g.completion_tokens,
                                None)
        if mine is None or theirs is None:
            left_out += tokens
            continue
        a, b = estimate(mine, method), estimate(theirs, method)
        actual_e, actual_c = actual_e + a.energy_wh, actual_c + a.carbon_g
        base_e, base_c = base_e + b.energy_wh, base_c + b.carbon_g
        compared += tokens
    return Replay(baseline_id, f"{site.provider}@{site.region}", actual_e, actual_c, base_e, base_c, compared,
                  left_out)
