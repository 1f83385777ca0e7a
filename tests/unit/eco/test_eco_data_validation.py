"""Malformed eco data is refused with one error that names the offending entry."""

from __future__ import annotations

import pytest

from domain.eco import EcoDataError, load_grid, load_models

GOOD_MODEL = """
[models.tiny]
total_params_b = 8
active_params_b = 8
moe = false
kind = "maker"
source = "Maker model card"
"""

GRID_TAIL = """
[providers.default]
pue = 1.5
source = "Survey"
"""


def grid(countries: str, regions: str) -> str:
    return countries + regions + GRID_TAIL


LOCAL = '[regions.local]\nweights = { WOR = 1 }\nweights_source = "x"\n'

WORLD = """
[countries.WOR]
gco2_per_kwh = 450
year = 2024
source = "Ember"
"""


def test_well_formed_files_load() -> None:
    (model,) = load_models(GOOD_MODEL)
    assert (model.name, model.band) == ("tiny", "accurate")
    data = load_grid(grid(WORLD, LOCAL))
    assert data.regions["local"].weights == (("WOR", 1.0),)


def test_a_negative_parameter_count_is_refused_naming_the_model() -> None:
    text = GOOD_MODEL.replace("total_params_b = 8", "total_params_b = -8")
    with pytest.raises(EcoDataError, match=r"models\.tiny: total_params_b must be positive"):
        load_models(text)


def test_a_zero_grid_intensity_is_refused_naming_the_country() -> None:
    text = grid(WORLD.replace("= 450", "= 0"), LOCAL)
    with pytest.raises(EcoDataError, match=r"countries\.WOR: gco2_per_kwh must be positive"):
        load_grid(text)


def test_a_model_without_source_is_refused_naming_it() -> None:
    text = GOOD_MODEL.replace('source = "Maker model card"\n', "")
    with pytest.raises(EcoDataError, match=r"models\.tiny: missing source"):
        load_models(text)


def test_a_country_with_a_blank_source_is_refused_naming_it() -> None:
    text = grid(WORLD.replace('"Ember"', '"  "'), LOCAL)
    with pytest.raises(EcoDataError, match=r"countries\.WOR: source must be a non-empty string"):
        load_grid(text)


def test_more_active_than_total_parameters_is_refused_naming_the_model() -> None:
    text = GOOD_MODEL.replace("moe = false", "moe = true").replace(
        "active_params_b = 8", "active_params_b = 9"
    )
    with pytest.raises(EcoDataError, match=r"models\.tiny: active_params_b \(9.0\) exceeds total_params_b"):
        load_models(text)


def test_a_region_with_no_country_is_refused_naming_it() -> None:
    text = grid(WORLD, '[regions.eu-west]\nweights = {}\nweights_source = "Eurostat"\n')
    with pytest.raises(EcoDataError, match=r"regions\.eu-west: weights must name at least one country"):
        load_grid(text)


def test_a_region_naming_an_unknown_country_is_refused_naming_both() -> None:
    text = grid(WORLD, '[regions.eu-west]\nweights = { FRA = 68.4 }\nweights_source = "Eurostat"\n')
    with pytest.raises(EcoDataError, match=r"regions\.eu-west: unknown country 'FRA'"):
        load_grid(text)


def test_a_non_positive_population_weight_is_refused_naming_the_region() -> None:
    text = grid(WORLD, '[regions.local]\nweights = { WOR = 0 }\nweights_source = "x"\n')
    with pytest.raises(EcoDataError, match=r"regions\.local: WOR must be positive"):
        load_grid(text)


def test_an_alias_claimed_by_two_models_is_refused_naming_both() -> None:
    text = GOOD_MODEL + GOOD_MODEL.replace("models.tiny", "models.other") + 'aliases = ["TINY"]\n'
    with pytest.raises(EcoDataError, match=r"models\.other: name 'TINY' is already used by models\.tiny"):
        load_models(text)


def test_an_unknown_source_kind_is_refused_naming_the_model() -> None:
    with pytest.raises(EcoDataError, match=r"models\.tiny: kind must be one of"):
        load_models(GOOD_MODEL.replace('"maker"', '"rumour"'))


def test_a_pue_below_one_is_refused_naming_the_provider() -> None:
    with pytest.raises(EcoDataError, match=r"providers\.default: pue cannot be below 1\.0"):
        load_grid(grid(WORLD, LOCAL).replace("pue = 1.5", "pue = 0.9"))


def test_a_missing_world_fallback_is_refused() -> None:
    text = grid(WORLD.replace("countries.WOR", "countries.FRA"), LOCAL.replace("WOR", "FRA"))
    with pytest.raises(EcoDataError, match=r"countries\.WOR: the world fallback is required"):
        load_grid(text)
