"""Argument checks shared by the modules, each raising one clear line that names the culprit.

Every check takes ``owner`` (who is asking, e.g. ``"SGD"`` or ``"MLP"``) and ``name`` (the
argument), and every message has one form, ``OWNER: NAME must be WHAT, got VALUE``, e.g.
``SGD: lr must be >= 0, got -0.1``. Values in messages go through `describe`, which shortens
huge numbers and deep structures. `is_real` is the one test for "a real number, not a bool",
for code that checks data rather than arguments; `make_rng` is the one convention for seeds.

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
from typing import Any, NoReturn, TypeVar

__all__ = ["describe", "is_real", "check_real", "check_int", "check_bool", "check_choice", "make_rng"]

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


def is_real(value: Any) -> bool:
    """Whether `value` is a real number and not a bool (``True`` is an int to Python, not here).

    Example:
        >>> is_real(2), is_real(0.5), is_real(True), is_real("1")
        (True, True, False, False)
    """
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_real(owner: str, name: str, value: Any, low: float = -math.inf, high: float = math.inf, *,
               low_open: bool = False, high_open: bool = False) -> float:
    """`value` as a finite float in [low, high] (an end is left out when `low_open` or
    `high_open`), else ValueError. Bools are refused: ``True`` is not a learning rate.

    Example:
        >>> check_real("Adam", "betas[0]", 0.9, low=0, high=1, high_open=True)
        0.9
    """
    if not is_real(value):
        _refuse(owner, name, "a number", f"{type(value).__name__}: {describe(value)}")
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        number = math.inf
    if not math.isfinite(number):
        _refuse(owner, name, "a finite number", describe(value))
    if number < low or number > high or (low_open and number == low) or (high_open and number == high):
        if high == math.inf:
            allowed = f"{'>' if low_open else '>='} {low:g}"
        else:
            allowed = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        _refuse(owner, name, allowed, repr(number))
    return number


def check_int(owner: str, name: str, value: Any, least: int = 1, most: int | None = None) -> int:
    """`value` as an int in [least, most] (no upper end when `most` is None), else ValueError
    (bools and 2.0 are refused).

    Example:
        >>> check_int("MLP", "nin", 2)
        2
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not least <= int(value):
        _refuse(owner, name, f"an int >= {least}" if most is None else f"an int in [{least}, {most}]",
                describe(value))
    if most is not None and int(value) > most:
        _refuse(owner, name, f"an int in [{least}, {most}]", describe(value))
    return int(value)


def check_bool(owner: str, name: str, value: Any) -> bool:
    """`value` if it is True or False; anything else (``"no"``, 0, None) is a ValueError.

    Example:
        >>> check_bool("SGD", "nesterov", False)
        False
    """
    if value is not True and value is not False:
        _refuse(owner, name, "True or False", describe(value))
    return value


def check_choice(owner: str, name: str, value: T, options: Collection[T]) -> T:
    """`value` if it is one of `options`, else a ValueError listing them.

    Example:
        >>> check_choice("mse", "reduction", "sum", ("mean", "sum", "none"))
        'sum'
    """
    if not isinstance(value, str) or value not in options:
        _refuse(owner, name, f"one of {', '.join(map(repr, options))}", describe(value))
    return value


def make_rng(owner: str, seed: int | random.Random | None) -> Any:
    """The random generator a function draws from: the one convention for seeds.

    Everything random (initial weights, datasets, splits) takes one argument, ``seed``, read
    here. Defaults differ by purpose: the datasets default to seed 0 (the same data every
    time), the networks to None (micrograd's global generator).

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
        _refuse(owner, "seed", "an int or a random.Random", f"{type(seed).__name__}: {describe(seed)}", TypeError)
    return random.Random(seed)


def _refuse(owner: str, name: str, what: str, got: str, error: type[Exception] = ValueError) -> NoReturn:
    """Raise the one error form: 'OWNER: NAME must be WHAT, got VALUE'."""
    raise error(f"{owner}: {name} must be {what}, got {got}")
