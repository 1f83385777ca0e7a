"""Money: every amount is an integer of micro-credits (1 credit = 1,000,000), never a float sum."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MICRO = 1_000_000


def to_micro(credits: Decimal | int | str | float) -> int:
    """Credits as given by a person or a config file → micro-credits, rounded half up."""
    try:
        value = Decimal(str(credits))
    except InvalidOperation as e:
        raise ValueError(f"not a number of credits: {credits!r}") from e
    if not value.is_finite():
        raise ValueError(f"not a finite number of credits: {credits!r}")
    return int((value * MICRO).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_credits(micro: int) -> Decimal:
    """Micro-credits → an exact Decimal number of credits."""
    return Decimal(micro) / MICRO


def credits_number(micro: int) -> float:
    """Micro-credits as a JSON number of credits (exact to six decimals when printed)."""
    return round(micro / MICRO, 6)
