"""The estimation methods: coefficients, carbon arithmetic, accuracy and the method table."""

from __future__ import annotations

import pytest

from domain.eco import DEFAULT_METHOD, METHODS, EcoInputs, UnknownMethodError, estimate
from domain.eco.ecologits_method import required_gpu_count


def make_inputs(
    *,
    active: float = 70.0,
    total: float = 70.0,
    prompt: int = 0,
    completion: int = 1000,
    latency: float | None = None,
    grid: float = 400.0,
    params_band: str = "accurate",
    grid_band: str = "accurate",
) -> EcoInputs:
    return EcoInputs(
        model="m",
        active_params_b=active,
        total_params_b=total,
        params_band=params_band,
        prompt_tokens=prompt,
        completion_tokens=completion,
        latency_s=latency,
        pue=1.2,
        grid_gco2_per_kwh=grid,
        grid_year=2025,
        grid_source="test",
        grid_band=grid_band,
    )


def test_lowrouter_formula_reproduces_its_published_coefficients_exactly() -> None:
    result = estimate(make_inputs(active=70, completion=1000), "lowrouter-2025")
    assert result.energy_wh == ((8.91e-5 * 70) + 1.43e-3) * 1000
    assert result.methodology_version == "lowrouter-2025"


def test_lowrouter_formula_counts_completion_tokens_only_and_ignores_pue() -> None:
    with_prompt = estimate(make_inputs(active=8, prompt=5000, completion=10), "lowrouter-2025")
    assert with_prompt.energy_wh == pytest.approx((8.91e-5 * 8 + 1.43e-3) * 10)
    assert with_prompt.embodied_carbon_g == 0.0


def test_carbon_is_energy_times_grid_intensity_over_one_thousand() -> None:
    result = estimate(make_inputs(grid=250.0), "lowrouter-2025")
    assert result.carbon_g == pytest.approx(result.energy_wh * 250.0 / 1000)


def test_carbon_per_1k_tokens_spreads_carbon_over_prompt_and_completion_tokens() -> None:
    result = estimate(make_inputs(prompt=3000, completion=1000))
    assert result.carbon_per_1k_tokens_g == pytest.approx(result.carbon_g / 4000 * 1000)


def test_zero_tokens_give_zero_energy_and_zero_per_1k_carbon() -> None:
    for method in METHODS:
        result = estimate(make_inputs(prompt=0, completion=0), method)
        assert result.energy_wh == 0.0
        assert result.carbon_per_1k_tokens_g == 0.0


def test_accuracy_is_the_lower_of_the_parameter_band_and_the_grid_band() -> None:
    assert estimate(make_inputs(params_band="accurate", grid_band="medium")).accuracy == "medium"
    assert estimate(make_inputs(params_band="gross", grid_band="medium")).accuracy == "gross"
    assert estimate(make_inputs(params_band="accurate", grid_band="accurate")).accuracy == "accurate"


def test_default_method_is_the_ecologits_one_and_every_method_is_keyed_by_its_version() -> None:
    assert DEFAULT_METHOD == "ecologits-0.11"
    for version in METHODS:
        assert estimate(make_inputs(), version).methodology_version == version
    assert estimate(make_inputs()).methodology_version == DEFAULT_METHOD


def test_an_unknown_method_is_refused_by_name() -> None:
    with pytest.raises(UnknownMethodError, match=r"ecologits-0\.99"):
        estimate(make_inputs(), "ecologits-0.99")


def test_gpu_count_follows_model_memory_rounded_up_to_a_power_of_two() -> None:
    assert required_gpu_count(8) == 1  # 19.2 GB fits one 80 GB GPU
    assert required_gpu_count(70) == 4  # 168 GB needs 3 GPUs, rounded up to 4
    assert required_gpu_count(405) == 16  # 972 GB needs 13 GPUs, rounded up to 16
