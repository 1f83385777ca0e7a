"""The eco catalogue built from the bundled data: lookups, grid fallbacks and estimate inputs."""

from __future__ import annotations

import tomllib
from importlib.resources import files

import pytest

from adapters.eco_data import load_bundled_catalogue
from domain.eco import EcoCatalogue, EcoDataError, estimate


@pytest.fixture(scope="module")
def catalogue() -> EcoCatalogue:
    return load_bundled_catalogue()


def test_unknown_model_gives_no_inputs_and_no_routing_carbon(catalogue: EcoCatalogue) -> None:
    assert catalogue.inputs_for("acme/mystery-model-9000", "openai", "us-east", 10, 10, 1.0) is None
    assert catalogue.carbon_per_1k_tokens("acme/mystery-model-9000", "openai", "us-east") is None


@pytest.mark.parametrize(
    ("upstream_name", "canonical"),
    [
        ("meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b"),
        ("llama-3.1-8b-instant", "llama-3.1-8b"),
        ("llama3.1:8b", "llama-3.1-8b"),
        ("LLAMA-3.1-8B", "llama-3.1-8b"),
        ("groq/llama-3.3-70b-versatile", "llama-3.3-70b"),
        ("openai/gpt-4o", "gpt-4o"),
        ("together/Qwen/Qwen3-235B-A22B", "qwen3-235b-a22b"),
        ("simulator/small", "simulator/small"),
    ],
)
def test_models_are_found_by_alias_case_insensitively_and_after_a_provider_prefix(
    catalogue: EcoCatalogue, upstream_name: str, canonical: str
) -> None:
    params = catalogue.params_for(upstream_name)
    assert params is not None
    assert params.name == canonical


def test_required_models_are_all_registered(catalogue: EcoCatalogue) -> None:
    required = [
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "o3-mini",
        "claude-3-5-haiku",
        "claude-sonnet-4",
        "claude-3-7-sonnet",
        "claude-opus-4",
        "mistral-small",
        "mistral-large",
        "mistral-medium",
        "open-mistral-nemo",
        "mixtral-8x7b",
        "mixtral-8x22b",
        "codestral",
        "llama-3.1-8b",
        "llama-3.1-70b",
        "llama-3.1-405b",
        "llama-3.2-1b",
        "llama-3.2-3b",
        "llama-3.3-70b",
        "llama-4-scout",
        "llama-4-maverick",
        "qwen2.5-7b",
        "qwen2.5-72b",
        "qwen3-8b",
        "qwen3-32b",
        "qwen3-235b-a22b",
        "gemma-2-9b",
        "gemma-2-27b",
        "gemma-3-4b",
        "gemma-3-12b",
        "gemma-3-27b",
        "deepseek-v3",
        "deepseek-r1",
        "simulator/small",
        "simulator/large",
    ]
    missing = [name for name in required if catalogue.params_for(name) is None]
    assert missing == []


def test_simulator_small_is_an_accurate_eight_billion_parameter_model(catalogue: EcoCatalogue) -> None:
    params = catalogue.params_for("simulator/small")
    assert params is not None
    assert (params.active_params_b, params.band, params.source) == (
        8.0,
        "accurate",
        "LowRouter simulator definition",
    )


def test_eu_west_is_the_population_weighted_average_of_its_countries(catalogue: EcoCatalogue) -> None:
    grid_file = tomllib.loads(files("domain.data").joinpath("grid.toml").read_text(encoding="utf-8"))
    weights = grid_file["regions"]["eu-west"]["weights"]
    assert set(weights) == {"FRA", "DEU", "NLD", "IRL"}
    values = {code: grid_file["countries"][code]["gco2_per_kwh"] for code in weights}
    expected = sum(values[c] * weights[c] for c in weights) / sum(weights.values())
    grid = catalogue.grid_for("openai", "eu-west")
    assert grid.gco2_per_kwh == pytest.approx(expected, rel=1e-12)
    # Weighting matters: the plain mean of the four countries would differ.
    assert grid.gco2_per_kwh != pytest.approx(sum(values.values()) / 4, rel=1e-3)


def test_an_unknown_region_of_an_unknown_provider_falls_back_to_the_world_with_a_gross_band(
    catalogue: EcoCatalogue,
) -> None:
    known = catalogue.grid_for("groq", "us-east")
    fallback = catalogue.grid_for("groq", "mars-north-1")
    assert known.band == "accurate"
    assert fallback.region == "WOR"
    assert fallback.band == "gross"
    assert fallback.gco2_per_kwh == catalogue.countries["WOR"].gco2_per_kwh


def test_an_unknown_region_of_a_provider_with_a_home_region_uses_it_one_band_lower(
    catalogue: EcoCatalogue,
) -> None:
    home = catalogue.grid_for("openai", "us-east")
    assumed = catalogue.grid_for("openai", "somewhere-new")
    assert assumed.gco2_per_kwh == home.gco2_per_kwh
    assert (home.band, assumed.band) == ("accurate", "medium")


def test_world_fallback_lowers_the_accuracy_of_the_estimate(catalogue: EcoCatalogue) -> None:
    placed = catalogue.inputs_for("llama-3.1-8b", "groq", "us-east", 10, 100, None)
    unplaced = catalogue.inputs_for("llama-3.1-8b", "groq", "nowhere", 10, 100, None)
    assert placed is not None and unplaced is not None
    assert estimate(placed).accuracy == "accurate"
    assert estimate(unplaced).accuracy == "gross"


def test_local_region_is_the_world_average_until_the_operator_names_a_country(
    catalogue: EcoCatalogue,
) -> None:
    assert catalogue.grid_for("simulator", "local").countries == ("WOR",)
    configured = catalogue.with_local_country("FRA").grid_for("simulator", "local")
    assert configured.countries == ("FRA",)
    assert configured.band == "accurate"


def test_pue_is_the_providers_own_or_the_default(catalogue: EcoCatalogue) -> None:
    assert catalogue.pue_for("openai") == 1.20
    assert catalogue.pue_for("Mistral") == 1.16
    assert catalogue.pue_for("some-new-provider") == catalogue.pue_for("default")


def test_inputs_record_everything_the_estimate_used(catalogue: EcoCatalogue) -> None:
    inputs = catalogue.inputs_for("mixtral-8x7b-32768", "mistral", "eu-north", 120, 80, 1.5)
    assert inputs is not None
    grid = catalogue.grid_for("mistral", "eu-north")
    assert (inputs.model, inputs.active_params_b, inputs.total_params_b) == ("mixtral-8x7b", 12.9, 46.7)
    assert (inputs.prompt_tokens, inputs.completion_tokens, inputs.latency_s) == (120, 80, 1.5)
    assert (inputs.pue, inputs.grid_gco2_per_kwh, inputs.grid_year) == (1.16, grid.gco2_per_kwh, grid.year)
    assert (inputs.params_band, inputs.grid_band) == ("accurate", "medium")


def test_routing_carbon_is_per_thousand_completion_tokens_and_ranks_cleaner_grids_lower(
    catalogue: EcoCatalogue,
) -> None:
    north = catalogue.carbon_per_1k_tokens("llama-3.3-70b", "together", "eu-north")
    east = catalogue.carbon_per_1k_tokens("llama-3.3-70b", "together", "us-east")
    inputs = catalogue.inputs_for("llama-3.3-70b", "together", "us-east", 0, 1000, None)
    assert north is not None and east is not None and inputs is not None
    assert east == pytest.approx(estimate(inputs).carbon_g)
    assert north < east


def test_naming_an_unknown_country_for_the_local_region_is_refused(catalogue: EcoCatalogue) -> None:
    with pytest.raises(EcoDataError, match=r"regions\.local: no grid intensity for country 'XYZ'"):
        catalogue.with_local_country("XYZ")
