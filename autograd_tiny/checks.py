"""Argument checks shared by the modules, each raising one clear line that names the culprit.

Every check takes ``owner`` (who is asking, e.g. ``"SGD"`` or ``"MLP"``) and ``name`` (the
argument), so that the message reads ``SGD: lr must be >= 0, got -0.1``. Values in messages go
through `describe`, which shortens huge numbers and deep structures.

Example:
    >>> check_real("SGD", "lr", 0.1, low=0)
    0.1
    >>> check_real("SGD", "lr", -1, low=0)
    Traceback (most recent call last):
    ...
    ValueError: SGD: lr must be >= 0, got -1.0
"""

from __future__ import annotations

import math
import numbers
import random
import reprlib
from collections.abc import Collection
from typing import Any, TypeVar

__all__ = ["describe", "check_real", "check_int", "check_bool", "check_choice", "make_rng"]

T = TypeVar("T")

_SHORT = reprlib.Repr()
_SHORT.maxlevel = 3  # deep nesting prints as [[[...]]], never a RecursionError
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = 6
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlong = 30


def describe(value: Any) -> str:
    """A short repr for error messages: 4,000-digit numbers and deep lists are cut with '...'.

    Example:
        >>> describe(10**100)
        '1000000000000...0000000000000'
        >>> describe([[[[1]]]])
        '[[[[...]]]]'
    """
    return _SHORT.repr(value)


def check_real(owner: str, name: str, value: Any, low: float = -math.inf, high: float = math.inf,
               high_open: bool = False) -> float:
    """`value` as a finite float in [low, high] (or [low, high) when `high_open`), else ValueError.

    Bools are refused: ``True`` is not a learning rate.

    Example:
        >>> check_real("Adam", "betas[0]", 0.9, low=0, high=1, high_open=True)
        0.9
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{owner}: {name} must be a number, got {type(value).__name__}: {describe(value)}")
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"{owner}: {name} must be a finite number, got {describe(value)}")
    if number < low or number > high or (high_open and number == high):
        if high == math.inf:
            allowed = f">= {low:g}"
        else:
            allowed = f"in [{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{owner}: {name} must be {allowed}, got {number!r}")
    return number


def check_int(owner: str, name: str, value: Any, least: int = 1) -> int:
    """`value` as an int >= `least`, else ValueError (bools and 2.0 are refused).

    Example:
        >>> check_int("MLP", "nin", 2)
        2
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < least:
        raise ValueError(f"{owner}: {name} must be an int >= {least}, got {describe(value)}")
    return int(value)


def check_bool(owner: str, name: str, value: Any) -> bool:
    """`value` if it is True or False; anything else (``"no"``, 0, None) is a ValueError.

    Example:
        >>> check_bool("SGD", "nesterov", False)
        False
    """
    if value is not True and value is not False:
        raise ValueError(f"{owner}: {name} must be True or False, got {describe(value)}")
    return value


def check_choice(owner: str, name: str, value: T, options: Collection[T]) -> T:
    """`value` if it is one of `options`, else a ValueError listing them.

    Example:
        >>> check_choice("mse", "reduction", "sum", ("mean", "sum", "none"))
        'sum'
    """
    if not isinstance(value, str) or value not in options:
        choices = ", ".join(map(repr, options))
        raise ValueError(f"{owner}: unknown {name} {describe(value)} (choose from {choices})")
    return value


def make_rng(owner: str, seed: int | random.Random | None) -> Any:
    """The random generator a function draws from: the one convention for seeds.

    Args:
        owner: who is asking, for the error message.
        seed: an int (a new ``random.Random(seed)``), a `random.Random` to draw from (shared
            with the caller), or None for Python's global `random` module, as micrograd uses
            (so ``random.seed(...)`` makes it repeatable).

    Example:
        >>> make_rng("MLP", 3).random() == random.Random(3).random()
        True
    """
    if seed is None or seed is random:  # (the module itself, when passed down to a sub-module)
        return random
    if isinstance(seed, random.Random):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"{owner}: seed must be an int or a random.Random, "
                        f"got {type(seed).__name__}: {describe(seed)}")
    return random.Random(seed)
