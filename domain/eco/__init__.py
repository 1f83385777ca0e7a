"""Energy and carbon estimation: model sizes, grid intensities, versioned methods, pure arithmetic."""

from domain.eco.accuracy import BANDS, KIND_BANDS, Band, lower_band, lowered_band
from domain.eco.catalogue import EcoCatalogue
from domain.eco.errors import EcoDataError, UnknownMethodError
from domain.eco.estimates import EcoEstimate, EcoInputs
from domain.eco.grid import CountryIntensity, GridIntensity, ProviderSite, Region
from domain.eco.loader import GridData, load_catalogue, load_grid, load_models
from domain.eco.methods import DEFAULT_METHOD, METHODS, Method, estimate
from domain.eco.registry import ModelParams, ModelRegistry

__all__ = [
    "BANDS",
    "DEFAULT_METHOD",
    "KIND_BANDS",
    "METHODS",
    "Band",
    "CountryIntensity",
    "EcoCatalogue",
    "EcoDataError",
    "EcoEstimate",
    "EcoInputs",
    "GridData",
    "GridIntensity",
    "Method",
    "ModelParams",
    "ModelRegistry",
    "ProviderSite",
    "Region",
    "UnknownMethodError",
    "estimate",
    "load_catalogue",
    "load_grid",
    "load_models",
    "lower_band",
    "lowered_band",
]
