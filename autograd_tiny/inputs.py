"""What an op takes as input: Values, and real numbers, which become floats.

Anything else is a clear TypeError that names the op and the culprit, but for another kind
of number that does ops itself, a kind in `HANDS_OFF` (a dual number, in forward mode; compile's
stand-in for an int argument, although it passes for a real number): `as_inputs` then raises
`Handoff`, and the op hands the whole computation over to that kind (``kind.apply(op, ...)``);
`number_of` says None, so that a Value's ``+`` hands over to the other operand's.

Example:
    >>> as_float("Value", 3)
    3.0
    >>> as_float("Value", "3")
    Traceback (most recent call last):
    ...
    TypeError: Value: expected a real number, got str: '3'
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

from .checks import describe

__all__ = ["as_float", "number_of", "compared", "as_inputs", "Handoff", "HANDS_OFF", "describe"]

# Kinds of numbers that do Value's ops themselves, each registered by its own module: dual.Dual,
# and compile's stand-in for an int argument (compiler/ints.py), which passes for a real number
# but whose ops must reach the graph as the ops of an input.
HANDS_OFF: set[type] = set()


def as_float(op: str, x: Any) -> float:
    """x as a float: any real number (bools and ints too); a clear TypeError otherwise."""
    if x.__class__ is float:
        return x
    if not isinstance(x, numbers.Real):
        raise TypeError(f"{op}: expected a real number, got {type(x).__name__}: {describe(x)}")
    try:
        return float(x)
    except OverflowError:
        raise ValueError(f"{op}: the number {describe(x)} is too large for a float") from None


def number_of(x: Any, value_class: Any) -> float | None:
    """A Value's number, or a real number as a float; None for anything else (the caller decides)."""
    if x.__class__ is value_class:
        return x.data
    if x.__class__ is float:
        return x
    if type(x) in HANDS_OFF:
        return None
    return as_float("Value", x) if isinstance(x, numbers.Real) else None


def compared(x: Any, value_class: type) -> float:
    """The number a Value is compared with; a TypeError naming x if it is not a Value or a number."""
    if (y := number_of(x, value_class)) is None:
        raise TypeError(f"comparison: expected a Value or a number, got {type(x).__name__}: {describe(x)}")
    return y


def as_inputs(op: str, values: Iterable, value_class: type) -> tuple:
    """The inputs of an op as a tuple: Values stay, numbers become floats, anything else fails.

    Example:
        >>> as_inputs("sum", [1, 2.5], float)
        (1.0, 2.5)
    """
    if isinstance(values, (value_class, str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{op}: expected a list of Values or numbers, got {type(values).__name__}: {describe(values)}")
    values = list(values)
    out = []
    for v in values:
        if v.__class__ is value_class or v.__class__ is float:
            out.append(v)
        elif type(v) in HANDS_OFF:
            raise Handoff(type(v), values)
        elif isinstance(v, numbers.Real):
            out.append(as_float(op, v))
        else:
            raise TypeError(f"{op}: expected a Value or a number, got {type(v).__name__}: {describe(v)}")
    return tuple(out)


class Handoff(Exception):
    """An input is another kind of number that does ops itself (`HANDS_OFF`): it takes over."""

    def __init__(self, kind: Any, values: list) -> None:
        super().__init__(kind)
        self.kind, self.values = kind, values
