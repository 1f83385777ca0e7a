"""Reads the eco data files bundled in `domain.data` and builds the eco catalogue from them."""

from __future__ import annotations

from importlib.resources import files

from domain.eco import EcoCatalogue, load_catalogue

DATA_PACKAGE = "domain.data"


def read_bundled_text(filename: str) -> str:
    """The text of one bundled data file (models.toml or grid.toml)."""
    return files(DATA_PACKAGE).joinpath(filename).read_text(encoding="utf-8")


def load_bundled_catalogue() -> EcoCatalogue:
    """The eco catalogue from the bundled files; raises EcoDataError if they are malformed."""
    return load_catalogue(read_bundled_text("models.toml"), read_bundled_text("grid.toml"))
