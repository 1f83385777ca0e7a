"""Accuracy bands: how much an estimate can be trusted, from how its inputs were sourced."""

from __future__ import annotations

from typing import Final, Literal

Band = Literal["accurate", "medium", "gross"]

# Best first; an estimate is only as good as its weakest input.
BANDS: Final[tuple[Band, ...]] = ("accurate", "medium", "gross")

# Where a parameter count comes from decides its band (PRODUCT.md section 5).
SourceKind = Literal["maker", "registry", "third_party", "name_estimate"]
KIND_BANDS: Final[dict[str, Band]] = {
    "maker": "accurate",
    "registry": "accurate",
    "third_party": "medium",
    "name_estimate": "gross",
}


def lower_band(first: Band, second: Band) -> Band:
    """The less trustworthy of two bands."""
    return BANDS[max(BANDS.index(first), BANDS.index(second))]


def lowered_band(band: Band) -> Band:
    """One step less trustworthy (gross stays gross)."""
    return BANDS[min(BANDS.index(band) + 1, len(BANDS) - 1)]


def as_band(value: str) -> Band:
    """Narrow a stored string (an event field) back to a band; unknown text counts as gross."""
    for band in BANDS:
        if value == band:
            return band
    return "gross"
