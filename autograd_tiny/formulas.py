"""The language the rules are written in: each op's formulas, and the rule made from them.

A formula is Python text in the op's inputs (``x``, ``y``) and its output (``out``), such as
``1 - out * out`` for tanh. An op of any number of inputs has one formula for them all, in ``x``
(the input at hand), ``i`` (its position), ``xs`` (all the inputs, in order) and ``out``: pick's
``1.0 if i == xs[-1] else 0.0`` is 1 for the input the last one points to, else 0 (a position
compares by number with a Value too, whose own ``==`` is identity). `rule_from` turns an op's
formulas into one function,
``rule(*inputs, out)``, that computes them all. ``backward()`` evaluates it on floats, in the
forward pass; ``backward(create_graph=True)`` evaluates it on Values, so that the gradient is
itself a graph. So a formula may use only what works on both: + - * / **, comparisons, and the
functions of `FORMULA_NAMES` (exp, log, sigmoid, sin, cos, pow, sign; nan and inf), which on a
float are the IEEE functions of ieee.py and on a Value its method.

Example:
    >>> rule = rule_from(("x", "y"), ("y", "x"), each=False)   # the rule of x * y
    >>> rule(2.0, 3.0, 6.0)
    (3.0, 2.0)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from . import ieee

__all__ = ["FORMULA_NAMES", "rule_from"]


def _float_or(method: str, on_float: Callable[[float], float]) -> Callable[[Any], Any]:
    def fn(v: Any) -> Any:
        return on_float(v) if v.__class__ is float else getattr(v, method)()

    fn.__name__ = method
    return fn


def _pow(x: Any, y: Any) -> Any:
    """x ** y: IEEE on numbers (0 ** -0.5 is inf), the op on a Value."""
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        return ieee.ieee_pow(float(x), float(y))
    return x**y


def _sign(x: Any) -> float:
    """1, -1 or 0: the slope of |x| (0 at 0, as PyTorch); a number even for a Value."""
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0


FORMULA_NAMES: dict[str, Any] = {
    "exp": _float_or("exp", ieee.exp),
    "log": _float_or("log", ieee.log),
    "sigmoid": _float_or("sigmoid", ieee.sigmoid),
    "sin": _float_or("sin", ieee.sin),
    "cos": _float_or("cos", ieee.cos),
    "pow": _pow,
    "sign": _sign,
    "nan": math.nan,
    "inf": math.inf,
}


def rule_from(inputs: tuple[str, ...], formulas: tuple[str, ...], each: bool) -> Callable[..., tuple]:
    """The function ``rule(*inputs, out)`` that computes the formulas, one per input; with
    `each`, one formula for every input of an op of any number of inputs, in ``x``, ``i``,
    ``xs`` and ``out``. The text must be the engine's own: it is compiled as code.

    Example:
        >>> pick = rule_from(("x",), ("1.0 if i == xs[-1] else 0.0",), each=True)
        >>> pick(0.5, -1.0, 2.0, 1.0, -1.0)   # x[0], x[1], x[2], then k = 1, then out
        (0.0, 1.0, 0.0, 0.0)
    """
    if not each:
        source = f"lambda {', '.join(inputs)}, out: ({', '.join(formulas)},)"
    elif formulas[0] in ("0.0", "1.0"):  # the same number for every input (sum): no loop
        source = f"lambda *xs_out: ({formulas[0]},) * (len(xs_out) - 1)"
    elif not re.search(r"\b(i|xs)\b", formulas[0]):  # x and out alone (logsumexp): no positions
        source = f"lambda *xs_out: (lambda out: tuple([{formulas[0]} for x in xs_out[:-1]]))(xs_out[-1])"
    else:
        source = (f"lambda *xs_out: (lambda xs, out: tuple([{formulas[0]} for i, x in positions(xs, out)]))"
                  "(xs_out[:-1], xs_out[-1])")
    return eval(source, {**FORMULA_NAMES, "positions": _positions})


class _Position(int):
    """``i`` in a formula: an input's position, which == compares by number with a Value too."""

    __slots__ = ()

    def __eq__(self, other: Any) -> bool:
        return int(self) == (other if other.__class__ in (int, float) else float(other))

    def __ne__(self, other: Any) -> bool:
        return not self == other

    __hash__ = int.__hash__


_POSITIONS: list[_Position] = []


def _positions(xs: tuple, out: Any) -> Any:
    """(i, x) for each input x: on floats plain ints, on Values positions that compare by number."""
    if out.__class__ is float:
        return enumerate(xs)
    while len(_POSITIONS) < len(xs):
        _POSITIONS.append(_Position(len(_POSITIONS)))
    return zip(_POSITIONS, xs)
