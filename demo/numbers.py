"""What a client sends as a number, read one way everywhere.

An API client (or a page edited by hand) may send None, text, NaN or infinity where a widget
would send a number; `int()` of those raises TypeError, ValueError or OverflowError, and a
typo such as 1e19 passes every check but the last. The demo's handlers and widgets read such
values through these three helpers instead of each its own way."""

from __future__ import annotations

import math


def finite(value: object) -> float | None:
    """`value` as a finite float; None for None, text that is no number, NaN and ±infinity."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def clamped(value: object, minimum: float | None, maximum: float | None,
            fallback: float | None) -> float | None:
    """`value` within [minimum, maximum] (a bound may be None); an infinity goes to the bound on
    its side where there is one; `fallback` for what is no number at all."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return fallback
    if math.isnan(number):
        return fallback
    if minimum is not None:
        number = max(number, minimum)
    if maximum is not None:
        number = min(number, maximum)
    return number if math.isfinite(number) else fallback


def whole_in(value: object, minimum: int, maximum: int, what: str) -> int:
    """`value` as an int in [minimum, maximum], or a ValueError that names `what` (a setting
    refuses what it cannot honour instead of clamping it)."""
    number = finite(value)
    if number is None or number != int(number) or not minimum <= number <= maximum:
        raise ValueError(f"{what} must be a whole number from {minimum} to {maximum}, "
                         f"got {value}")
    return int(number)
