"""Validation of hyperparameters, done once when a loss is built."""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["check_choice", "check_real"]


def check_real(
    value: Any,
    name: str,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_inclusive: bool = False,
    high_inclusive: bool = False,
    owner: str = "",
) -> float:
    """``value`` as a float, or a ValueError/TypeError naming ``name`` and the bound."""
    where = f" for '{owner}'" if owner else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}{where} must be a real number; got {value!r}")
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"{name}{where} must be a number; got nan")
    too_low = number < low if low_inclusive else number <= low
    too_high = number > high if high_inclusive else number >= high
    if too_low or too_high:
        if math.isinf(low) and not math.isinf(high):
            rule = f"{'<=' if high_inclusive else '<'} {high:g}"
        elif math.isinf(high) and not math.isinf(low):
            rule = f"{'>=' if low_inclusive else '>'} {low:g}"
        else:
            left = "[" if low_inclusive else "("
            right = "]" if high_inclusive else ")"
            rule = f"in {left}{low:g}, {high:g}{right}"
        raise ValueError(f"{name}{where} must be {rule}; got {value!r}")
    return number


def check_choice(value: Any, name: str, choices: tuple[Any, ...], *, owner: str = "") -> Any:
    where = f" for '{owner}'" if owner else ""
    if value not in choices:
        raise ValueError(f"{name}{where} must be one of {list(choices)}; got {value!r}")
    return value
