"""Our reimplementation of the EcoLogits method against the ecologits package itself, offline."""

from __future__ import annotations

import json
import socket
from importlib.resources import files
from typing import Any

import pytest
from ecologits.impacts.llm import compute_llm_impacts
from ecologits.utils.range_value import RangeValue

from adapters.eco_data import load_bundled_catalogue
from domain.eco import EcoInputs, estimate


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def inputs(
    active: float, total: float, tokens: int, latency: float | None, pue: float, grid: float
) -> EcoInputs:
    return EcoInputs(
        model="case",
        active_params_b=active,
        total_params_b=total,
        params_band="accurate",
        prompt_tokens=50,
        completion_tokens=tokens,
        latency_s=latency,
        pue=pue,
        grid_gco2_per_kwh=grid,
        grid_year=2025,
        grid_source="test",
        grid_band="accurate",
    )


# (active B, total B, completion tokens, measured latency s or None, PUE, grid gCO2e/kWh)
CASES = [
    pytest.param(8.03, 8.03, 500, None, 1.2, 384.4, id="llama-3.1-8b, estimated latency"),
    pytest.param(70.55, 70.55, 1000, 5.0, 1.115, 41.44, id="llama-3.1-70b, short measured latency"),
    pytest.param(405.85, 405.85, 120, 30.0, 1.56, 458.29, id="llama-3.1-405b, 16 GPUs"),
    pytest.param(88.0, 440.0, 300, 4.2, 1.2, 384.4, id="gpt-4o midpoint, MoE"),
    pytest.param(12.9, 46.7, 200, 500.0, 1.16, 35.26, id="mixtral-8x7b, long measured latency is capped"),
    pytest.param(37.0, 671.0, 2000, None, 1.56, 525.34, id="deepseek-v3, 32 GPUs"),
    pytest.param(1.23, 1.23, 1, 0.05, 1.0, 207.0, id="llama-3.2-1b, one token"),
]


def ecologits_impacts(case: EcoInputs) -> Any:
    return compute_llm_impacts(
        model_active_parameter_count=case.active_params_b,
        model_total_parameter_count=case.total_params_b,
        output_token_count=case.completion_tokens,
        if_electricity_mix_adpe=0.0,
        if_electricity_mix_pe=0.0,
        if_electricity_mix_gwp=case.grid_gco2_per_kwh / 1000,
        if_electricity_mix_wue=0.0,
        datacenter_pue=case.pue,
        datacenter_wue=0.0,
        request_latency=case.latency_s,
    )


@pytest.mark.parametrize(("active", "total", "tokens", "latency", "pue", "grid"), CASES)
def test_default_method_energy_agrees_with_ecologits_within_one_percent(
    active: float, total: float, tokens: int, latency: float | None, pue: float, grid: float
) -> None:
    case = inputs(active, total, tokens, latency, pue, grid)
    theirs_wh = ecologits_impacts(case).energy.value * 1000
    ours = estimate(case)
    assert ours.methodology_version == "ecologits-0.11"
    assert ours.energy_wh == pytest.approx(theirs_wh, rel=0.01)


@pytest.mark.parametrize(("active", "total", "tokens", "latency", "pue", "grid"), CASES)
def test_default_method_carbon_matches_ecologits_usage_and_embodied_gwp(
    active: float, total: float, tokens: int, latency: float | None, pue: float, grid: float
) -> None:
    case = inputs(active, total, tokens, latency, pue, grid)
    theirs = ecologits_impacts(case)
    ours = estimate(case)
    assert ours.carbon_g == pytest.approx(theirs.usage.gwp.value * 1000, rel=0.01)
    assert ours.embodied_carbon_g == pytest.approx(theirs.embodied.gwp.value * 1000, rel=0.01)
    assert ours.embodied_carbon_g > 0


def ecologits_data(name: str) -> Any:
    return json.loads(files("ecologits").joinpath("data", name).read_text(encoding="utf-8"))


def test_registry_entries_sit_inside_the_ecologits_ranges_they_cite() -> None:
    catalogue = load_bundled_catalogue()
    theirs = {(m["provider"], m["name"]): m["architecture"] for m in ecologits_data("models.json")["models"]}
    cited = {
        "gpt-4o": ("openai", "gpt-4o"),
        "gpt-4.1-nano": ("openai", "gpt-4.1-nano"),
        "o3-mini": ("openai", "o3-mini"),
        "mistral-large": ("mistralai", "mistral-large-latest"),
        "mixtral-8x22b": ("huggingface_hub", "mistralai/Mixtral-8x22B-Instruct-v0.1"),
        "llama-3.1-405b": ("huggingface_hub", "meta-llama/Meta-Llama-3.1-405B-Instruct"),
    }
    for ours_name, key in cited.items():
        params = catalogue.params_for(ours_name)
        assert params is not None and params.kind == "registry"
        raw = theirs[key]["parameters"]
        active = raw["active"] if isinstance(raw, dict) and "active" in raw else raw
        total = raw["total"] if isinstance(raw, dict) and "total" in raw else raw
        for ours_value, their_value in ((params.active_params_b, active), (params.total_params_b, total)):
            if isinstance(their_value, dict):
                span = RangeValue(min=their_value["min"], max=their_value["max"])
                assert ours_value == pytest.approx(span.mean), ours_name
            else:
                assert ours_value == pytest.approx(their_value), ours_name


def test_country_intensities_equal_the_ecologits_electricity_mixes() -> None:
    catalogue = load_bundled_catalogue()
    mixes = {m["name"]: m["gwp"] for m in ecologits_data("electricity_mixes.json")["electricity_mixes"]}
    assert len(catalogue.countries) >= 10
    for code, country in catalogue.countries.items():
        assert country.gco2_per_kwh == pytest.approx(mixes[code] * 1000, abs=0.01), code
