"""Grid carbon intensity: per-country annual averages, gateway regions, and data-centre PUE."""

from __future__ import annotations

import msgspec

from domain.eco.accuracy import Band

WORLD = "WOR"


class CountryIntensity(msgspec.Struct, frozen=True):
    """Annual average carbon intensity of one country's electricity (ISO 3166-1 alpha-3, or WOR)."""

    code: str
    gco2_per_kwh: float
    year: int
    source: str


class Region(msgspec.Struct, frozen=True):
    """A gateway region: the countries its data centres may sit in, weighted by population."""

    name: str
    weights: tuple[tuple[str, float], ...]
    weights_source: str


class ProviderSite(msgspec.Struct, frozen=True):
    """What we assume about a provider's data centres: PUE, and a home region if known."""

    provider: str
    pue: float
    source: str
    home_region: str | None = None


class GridIntensity(msgspec.Struct, frozen=True):
    """The intensity an estimate uses for one (provider, region), with its provenance."""

    region: str
    countries: tuple[str, ...]
    gco2_per_kwh: float
    year: int
    source: str
    band: Band


def region_band(region: Region) -> Band:
    """One country is `accurate`; a multi-country average `medium`; the world average `gross`."""
    codes = [code for code, _ in region.weights]
    if WORLD in codes:
        return "gross"
    return "accurate" if len(codes) == 1 else "medium"


def region_intensity(region: Region, countries: dict[str, CountryIntensity]) -> GridIntensity:
    """The population-weighted average intensity of a region's countries."""
    total_weight = sum(weight for _, weight in region.weights)
    members = [countries[code] for code, _ in region.weights]
    value = sum(countries[code].gco2_per_kwh * weight for code, weight in region.weights) / total_weight
    sources = tuple(dict.fromkeys(member.source for member in members))
    return GridIntensity(
        region=region.name,
        countries=tuple(code for code, _ in region.weights),
        gco2_per_kwh=value,
        # The oldest year is the honest vintage of a blend.
        year=min(member.year for member in members),
        source="; ".join(sources),
        band=region_band(region),
    )
