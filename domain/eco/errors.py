"""Errors of the eco domain: bad data files and unknown methodology versions."""

from __future__ import annotations


class EcoDataError(ValueError):
    """Eco data (a data file or an operator setting) is malformed; the message names the entry."""


class UnknownMethodError(ValueError):
    """No estimation method is registered under that version string."""
