"""The eco catalogue: model sizes, grid intensities and PUEs, turned into estimate inputs."""

from __future__ import annotations

from collections.abc import Mapping

from domain.eco.accuracy import lowered_band
from domain.eco.errors import EcoDataError
from domain.eco.estimates import EcoInputs
from domain.eco.grid import WORLD, CountryIntensity, GridIntensity, ProviderSite, Region, region_intensity
from domain.eco.methods import DEFAULT_METHOD, estimate
from domain.eco.registry import ModelParams, ModelRegistry

DEFAULT_PROVIDER = "default"
LOCAL_REGION = "local"


class EcoCatalogue:
    """Everything needed to estimate a request's footprint, built from the two data files."""

    def __init__(
        self,
        models: ModelRegistry,
        countries: Mapping[str, CountryIntensity],
        regions: Mapping[str, Region],
        providers: Mapping[str, ProviderSite],
    ) -> None:
        self.models = models
        self.countries: dict[str, CountryIntensity] = dict(countries)
        self.regions: dict[str, Region] = {name.lower(): region for name, region in regions.items()}
        self.providers: dict[str, ProviderSite] = {name.lower(): site for name, site in providers.items()}

    def with_local_country(self, country: str) -> EcoCatalogue:
        """A copy where the `local` region (the operator's machine) uses one country's grid."""
        if country not in self.countries:
            raise EcoDataError(f"regions.{LOCAL_REGION}: no grid intensity for country {country!r}")
        source = f"operator setting: local region runs in {country}"
        regions = dict(self.regions)
        regions[LOCAL_REGION] = Region(name=LOCAL_REGION, weights=((country, 1.0),), weights_source=source)
        return EcoCatalogue(self.models, self.countries, regions, self.providers)

    def params_for(self, model_name: str) -> ModelParams | None:
        """Parameters by canonical name or alias, case-insensitive, also after the first "/"."""
        return self.models.find(model_name)

    def grid_for(self, provider: str, region: str) -> GridIntensity:
        """The region's intensity; else the provider's home region, one band lower; else WOR.

        The data never changes while the catalogue lives, so each answer is kept.
        """
        cache: dict[tuple[str, str], GridIntensity] = self.__dict__.setdefault("_grid_cache", {})
        found = cache.get((provider, region))
        if found is None:
            found = cache[(provider, region)] = self._grid_for(provider, region)
        return found

    def _grid_for(self, provider: str, region: str) -> GridIntensity:
        known = self.regions.get(region.strip().lower())
        if known is not None:
            return region_intensity(known, self.countries)
        site = self.providers.get(provider.strip().lower())
        if site is not None and site.home_region is not None:
            home = region_intensity(self.regions[site.home_region.lower()], self.countries)
            return GridIntensity(
                region=home.region,
                countries=home.countries,
                gco2_per_kwh=home.gco2_per_kwh,
                year=home.year,
                source=home.source,
                band=lowered_band(home.band),
            )
        world = self.countries[WORLD]
        return GridIntensity(
            region=WORLD,
            countries=(WORLD,),
            gco2_per_kwh=world.gco2_per_kwh,
            year=world.year,
            source=world.source,
            band="gross",
        )

    def pue_for(self, provider: str) -> float:
        """The provider's data-centre PUE, or the default one."""
        site = self.providers.get(provider.strip().lower()) or self.providers[DEFAULT_PROVIDER]
        return site.pue

    def inputs_for(
        self,
        model_name: str,
        provider: str,
        region: str,
        prompt_tokens: int,
        completion_tokens: int,
        latency_s: float | None,
    ) -> EcoInputs | None:
        """All inputs of an estimate for one request; None when the model's size is unknown."""
        params = self.params_for(model_name)
        if params is None:
            return None
        grid = self.grid_for(provider, region)
        return EcoInputs(
            model=params.name,
            active_params_b=params.active_params_b,
            total_params_b=params.total_params_b,
            params_band=params.band,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_s=latency_s,
            pue=self.pue_for(provider),
            grid_gco2_per_kwh=grid.gco2_per_kwh,
            grid_year=grid.year,
            grid_source=grid.source,
            grid_band=grid.band,
        )

    def carbon_per_1k_tokens(self, model_name: str, provider: str, region: str) -> float | None:
        """Grams CO2e per 1,000 completion tokens under the default method, for routing."""
        inputs = self.inputs_for(model_name, provider, region, 0, 1000, None)
        if inputs is None:
            return None
        return estimate(inputs, DEFAULT_METHOD).carbon_g
