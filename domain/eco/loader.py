"""Parse and validate the two eco data files (TOML text in, typed objects out, no file I/O)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

import msgspec

from domain.eco.accuracy import KIND_BANDS
from domain.eco.catalogue import DEFAULT_PROVIDER, EcoCatalogue
from domain.eco.errors import EcoDataError
from domain.eco.grid import WORLD, CountryIntensity, ProviderSite, Region
from domain.eco.registry import ModelParams, ModelRegistry, normalise_name


class GridData(msgspec.Struct, frozen=True):
    """The contents of grid.toml: countries, regions and provider sites."""

    countries: dict[str, CountryIntensity]
    regions: dict[str, Region]
    providers: dict[str, ProviderSite]


def _parse(text: str, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EcoDataError(f"{what}: not valid TOML ({exc})") from exc


def _tables(document: Mapping[str, Any], section: str) -> dict[str, dict[str, Any]]:
    raw = document.get(section)
    if not isinstance(raw, dict) or not raw:
        raise EcoDataError(f"[{section}] is missing or empty")
    for name, body in raw.items():
        if not isinstance(body, dict):
            raise EcoDataError(f"{section}.{name}: must be a table")
    return raw


def _check_keys(entry: str, body: Mapping[str, Any], required: set[str], optional: set[str]) -> None:
    missing = sorted(required - body.keys())
    if missing:
        raise EcoDataError(f"{entry}: missing {', '.join(missing)}")
    unknown = sorted(body.keys() - required - optional)
    if unknown:
        raise EcoDataError(f"{entry}: unknown field(s) {', '.join(unknown)}")


def _positive(entry: str, body: Mapping[str, Any], key: str) -> float:
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EcoDataError(f"{entry}: {key} must be a number, got {value!r}")
    if value <= 0:
        raise EcoDataError(f"{entry}: {key} must be positive, got {value!r}")
    return float(value)


def _text(entry: str, body: Mapping[str, Any], key: str) -> str:
    value = body[key]
    if not isinstance(value, str) or not value.strip():
        raise EcoDataError(f"{entry}: {key} must be a non-empty string")
    return value.strip()


def load_models(text: str) -> tuple[ModelParams, ...]:
    """The model registry from models.toml, checked entry by entry."""
    document = _parse(text, "models.toml")
    models: list[ModelParams] = []
    claimed: dict[str, str] = {}
    for name, body in _tables(document, "models").items():
        entry = f"models.{name}"
        _check_keys(entry, body, {"total_params_b", "active_params_b", "moe", "kind", "source"}, {"aliases"})
        total = _positive(entry, body, "total_params_b")
        active = _positive(entry, body, "active_params_b")
        if active > total:
            raise EcoDataError(f"{entry}: active_params_b ({active}) exceeds total_params_b ({total})")
        moe = body["moe"]
        if not isinstance(moe, bool):
            raise EcoDataError(f"{entry}: moe must be true or false")
        if not moe and active != total:
            raise EcoDataError(f"{entry}: a dense model (moe = false) must have active == total")
        kind = _text(entry, body, "kind")
        if kind not in KIND_BANDS:
            raise EcoDataError(f"{entry}: kind must be one of {', '.join(KIND_BANDS)}, got {kind!r}")
        aliases = body.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
            raise EcoDataError(f"{entry}: aliases must be a list of non-empty strings")
        for key in (name, *aliases):
            owner = claimed.setdefault(normalise_name(key), name)
            if owner != name:
                raise EcoDataError(f"{entry}: name {key!r} is already used by models.{owner}")
        models.append(
            ModelParams(
                name=name,
                total_params_b=total,
                active_params_b=active,
                moe=moe,
                kind=kind,
                source=_text(entry, body, "source"),
                band=KIND_BANDS[kind],
                aliases=tuple(aliases),
            )
        )
    return tuple(models)


def _countries(document: Mapping[str, Any]) -> dict[str, CountryIntensity]:
    countries: dict[str, CountryIntensity] = {}
    for code, body in _tables(document, "countries").items():
        entry = f"countries.{code}"
        _check_keys(entry, body, {"gco2_per_kwh", "year", "source"}, set())
        year = body["year"]
        if isinstance(year, bool) or not isinstance(year, int) or not 1990 <= year <= 2100:
            raise EcoDataError(f"{entry}: year must be a four-digit year, got {year!r}")
        countries[code] = CountryIntensity(
            code=code,
            gco2_per_kwh=_positive(entry, body, "gco2_per_kwh"),
            year=year,
            source=_text(entry, body, "source"),
        )
    if WORLD not in countries:
        raise EcoDataError(f"countries.{WORLD}: the world fallback is required")
    return countries


def _regions(document: Mapping[str, Any], countries: Mapping[str, CountryIntensity]) -> dict[str, Region]:
    regions: dict[str, Region] = {}
    for name, body in _tables(document, "regions").items():
        entry = f"regions.{name}"
        _check_keys(entry, body, {"weights", "weights_source"}, set())
        weights = body["weights"]
        if not isinstance(weights, dict) or not weights:
            raise EcoDataError(f"{entry}: weights must name at least one country")
        for code in weights:
            if code not in countries:
                raise EcoDataError(f"{entry}: unknown country {code!r} (not in [countries])")
            _positive(entry, weights, code)
        regions[name.lower()] = Region(
            name=name.lower(),
            weights=tuple((code, float(weight)) for code, weight in weights.items()),
            weights_source=_text(entry, body, "weights_source"),
        )
    return regions


def _providers(document: Mapping[str, Any], regions: Mapping[str, Region]) -> dict[str, ProviderSite]:
    providers: dict[str, ProviderSite] = {}
    for name, body in _tables(document, "providers").items():
        entry = f"providers.{name}"
        _check_keys(entry, body, {"pue", "source"}, {"home_region"})
        pue = _positive(entry, body, "pue")
        if pue < 1.0:
            raise EcoDataError(f"{entry}: pue cannot be below 1.0, got {pue}")
        home = body.get("home_region")
        if home is not None and (not isinstance(home, str) or home.lower() not in regions):
            raise EcoDataError(f"{entry}: home_region {home!r} is not a known region")
        providers[name.lower()] = ProviderSite(
            provider=name.lower(), pue=pue, source=_text(entry, body, "source"), home_region=home
        )
    if DEFAULT_PROVIDER not in providers:
        raise EcoDataError(f"providers.{DEFAULT_PROVIDER}: a default PUE is required")
    return providers


def load_grid(text: str) -> GridData:
    """Countries, regions and provider PUEs from grid.toml, cross-checked against each other."""
    document = _parse(text, "grid.toml")
    countries = _countries(document)
    regions = _regions(document, countries)
    return GridData(countries, regions, _providers(document, regions))


def load_catalogue(models_text: str, grid_text: str) -> EcoCatalogue:
    """The eco catalogue from the text of models.toml and grid.toml."""
    grid = load_grid(grid_text)
    return EcoCatalogue(ModelRegistry(load_models(models_text)), grid.countries, grid.regions, grid.providers)
