"""Numbers at the edges: the ops' functions on floats, as IEEE 754 arithmetic has them.

Python raises where IEEE arithmetic gives an answer: ``math.exp(1000)`` is an OverflowError,
not ``inf``; ``0.0 ** -1`` a ZeroDivisionError, not ``inf``. The engine's ops follow IEEE
instead (too large is ``inf``), but for one thing: an expression of yours that leaves an op's
domain (``log(0)``, ``x / 0``, ``0 ** -1``, ``sqrt(-1)``) raises `DomainError`, which names the
op and the number. While ``backward(create_graph=True)`` evaluates the rules (inside
`ieee_results`), the same cases give IEEE's ``inf`` or ``nan``, so that a derivative at the
edge of a domain is an honest infinity, not an error.

Example:
    >>> exp(1000.0), log(1.0)
    (inf, 0.0)
    >>> div(1.0, 0.0)
    Traceback (most recent call last):
    ...
    autograd_tiny.ieee.DomainError: div: division by zero (1.0 / 0.0)
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["DomainError", "ieee_results", "domain_error", "div", "power", "ieee_pow", "exp", "log", "sigmoid",
           "softplus", "relu", "leaky_relu", "sin", "cos", "logsumexp", "total", "pick"]  # fmt: skip


class DomainError(ValueError):
    """An operation got an input outside its domain, e.g. ``log(-1.0)`` or ``x / 0``."""


# ---------------------------------------------------------------------- domain errors, or IEEE results

_edge = threading.local()  # .depth: how many `ieee_results` blocks this thread is inside


class ieee_results:
    """Inside this block, in this thread, an input outside an op's domain gives IEEE's result
    (``log(0) = -inf``) instead of a `DomainError`: for evaluating rules at the edge.

    Example:
        >>> with ieee_results():
        ...     log(0.0)
        -inf
    """

    def __enter__(self) -> None:
        _edge.depth = getattr(_edge, "depth", 0) + 1

    def __exit__(self, *exc: object) -> None:
        _edge.depth -= 1


def domain_error(message: str, ieee: Callable[[], Any]) -> Any:
    """Raise `DomainError(message)`, or return ``ieee()`` inside `ieee_results`."""
    if getattr(_edge, "depth", 0):
        return ieee()
    raise DomainError(message)


# ---------------------------------------------------------------------- the ops on floats


def div(x: float, y: float) -> float:
    """x / y; `DomainError` for y = 0 (IEEE: ±inf, or nan for 0 / 0)."""
    if y == 0:
        return domain_error(f"div: division by zero ({x!r} / {y!r})", lambda: _ieee_div(x, y))
    return x / y


def _ieee_div(x: float, y: float) -> float:
    if y != 0:
        return x / y
    if x == 0 or x != x:
        return math.nan
    return math.copysign(math.inf, x) * math.copysign(1.0, y)


def power(x: float, y: float) -> float:
    """x ** y; `DomainError` for 0 to a negative power and for a negative base with a
    non-integer exponent (IEEE: inf and nan); an overflow is inf."""
    if x == 0 and y < 0:
        return domain_error(f"pow: 0 cannot be raised to a negative power ({x!r} ** {y!r})", lambda: ieee_pow(x, y))
    if -math.inf < x < 0 and math.isfinite(y) and not y.is_integer():
        return domain_error(f"pow: negative base with a non-integer exponent ({x!r} ** {y!r})", lambda: math.nan)
    return ieee_pow(x, y)


def ieee_pow(x: float, y: float) -> float:
    """x ** y as IEEE says: 0 ** -1 is inf, overflow is inf, (-8) ** 0.5 is nan."""
    odd = y.is_integer() and math.isfinite(y) and int(y) % 2 == 1
    try:
        out = x**y
    except ZeroDivisionError:  # 0 ** negative
        return -math.inf if odd and math.copysign(1.0, x) < 0 else math.inf
    except OverflowError:
        return -math.inf if x < 0 and odd else math.inf
    return math.nan if isinstance(out, complex) else out


def exp(x: float) -> float:
    """e ** x, inf past e ** 709."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def log(x: float) -> float:
    """The natural logarithm; `DomainError` unless x > 0 (IEEE: -inf at 0, nan below)."""
    if not x > 0:
        if x != x:  # nan in, nan out
            return x
        return domain_error(f"log: argument must be > 0, got {x!r}", lambda: -math.inf if x == 0 else math.nan)
    return math.log(x)


def sigmoid(x: float) -> float:
    """1 / (1 + e ** -x), without overflow for any float."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    if x != x:
        return x
    e = math.exp(x)  # x < 0: e ** x cannot overflow
    return e / (1.0 + e)


def softplus(x: float) -> float:
    """log(1 + e ** x) = max(x, 0) + log(1 + e ** -|x|): the exponent is never positive."""
    if x != x:
        return x
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def relu(x: float) -> float:
    """max(x, 0); relu(nan) is nan."""
    return 0.0 if x <= 0 else x


def leaky_relu(x: float, slope: float) -> float:
    """x if x > 0 else slope * x."""
    return x if x > 0 else slope * x


def sin(x: float) -> float:
    """Sine; nan for an infinite argument (math.sin raises)."""
    return math.nan if math.isinf(x) else math.sin(x)


def cos(x: float) -> float:
    """Cosine; nan for an infinite argument (math.cos raises)."""
    return math.nan if math.isinf(x) else math.cos(x)


def logsumexp(*xs: float) -> float:
    """log(e ** x[0] + e ** x[1] + ...), shifted by the largest x so that nothing overflows."""
    if not xs:
        raise ValueError("logsumexp: needs at least one value, got none")
    if any(x != x for x in xs):  # nan wins, whatever the order
        return math.nan
    top = max(xs)
    if math.isinf(top):  # all -inf, or some +inf: the answer is top itself
        return top
    return top + math.log(math.fsum([math.exp(x - top) for x in xs]))


def total(*xs: float) -> float:
    """x[0] + x[1] + ..., added left to right (as Python's sum); 0.0 for none."""
    return sum(xs) if xs else 0.0


def pick(*xs: float) -> float:
    """pick(x[0], ..., x[n-1], k) = x[k]: the input at the position the last input gives (a row of
    logits and its class label: row[label]); `DomainError` unless k is a whole number from 0 to
    n - 1 (IEEE: nan).

    Example:
        >>> pick(0.5, -1.0, 2.0, 1)
        -1.0
    """
    if len(xs) < 2:
        raise ValueError(f"pick: needs at least one value and then the index, got {len(xs)} input(s)")
    *row, k = xs
    if not (float(k).is_integer() and 0 <= k < len(row)):
        return domain_error(f"pick: the index must be a whole number from 0 to {len(row) - 1}, got {k!r}",
                            lambda: math.nan)
    return row[int(k)]
