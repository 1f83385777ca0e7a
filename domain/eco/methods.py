"""The table of estimation methods by version string, and the one entry point that uses it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from domain.eco import ecologits_method, lowrouter_method
from domain.eco.errors import UnknownMethodError
from domain.eco.estimates import EcoEstimate, EcoInputs

Method = Callable[[EcoInputs], EcoEstimate]

METHODS: Final[dict[str, Method]] = {
    ecologits_method.VERSION: ecologits_method.estimate_ecologits,
    lowrouter_method.VERSION: lowrouter_method.estimate_lowrouter,
}
DEFAULT_METHOD: Final[str] = ecologits_method.VERSION


def estimate(inputs: EcoInputs, method: str = DEFAULT_METHOD) -> EcoEstimate:
    """Estimate energy and carbon with the named method (the default unless told otherwise)."""
    try:
        chosen = METHODS[method]
    except KeyError:
        known = ", ".join(sorted(METHODS))
        raise UnknownMethodError(f"unknown eco methodology {method!r} (known: {known})") from None
    return chosen(inputs)
