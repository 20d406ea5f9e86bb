"""Your own primitive operations: a function on floats and its derivative rule, as one op.

Composing an op from Values' operations needs no rule at all: backward finds the derivative
through the pieces. A primitive of your own is for when one node should stand for the whole
function (to see it as one box, for numerical stability, or to try out a rule of your own):
you give its function on floats and its rule, and every tool takes it as it takes the
engine's own ops: backward, second derivatives, forward mode, compile, drawings and the
explorer.
"""

from __future__ import annotations

import functools
import inspect
import numbers
from collections.abc import Callable, Sequence

from .engine import Op, Value, apply
from .inputs import describe

__all__ = ["primitive"]

Number = int | float


def primitive(
    derivatives: Callable, formula: str | Sequence[str] | None = None
) -> Callable[[Callable], Callable[..., Value]]:
    """Make a function on floats into an op of its own, with your derivative rule.

    The decorated function computes the output from plain floats. ``derivatives(*inputs,
    out)`` returns one local derivative per input, written with operations that work on floats
    and on Values (``+ - * / **``, ``abs``, Value methods), so that second derivatives work.
    The op accepts Values and numbers, and drawings show it under the function's name.
    `gradcheck` tells you if the rule is wrong.

    Args:
        derivatives: the rule, ``derivatives(*inputs, out) -> (d out / d input, ...)``.
        formula: optionally, the rule as text for people to read (one per input, in the
            names of the function's parameters and ``out``), shown by the explorer. It is
            only shown, never run.

    Example:
        >>> @primitive(derivatives=lambda x, out: (1 / (1 + abs(x)) ** 2,), formula="1 / (1 + |x|)**2")
        ... def softsign(x):
        ...     return x / (1 + abs(x))
        >>> x = Value(1.0)
        >>> y = softsign(x)
        >>> y.backward()
        >>> y.data, x.grad, y.op, y.grad_fn.formulas
        (0.5, 0.25, 'softsign', ('1 / (1 + |x|)**2',))
    """
    if not callable(derivatives):
        raise TypeError(f"primitive: derivatives must be a function, got {type(derivatives).__name__}")
    texts = (formula,) if isinstance(formula, str) else formula
    if texts is not None and not (isinstance(texts, Sequence) and all(isinstance(t, str) for t in texts)):
        raise TypeError(f"primitive: formula must be a string or a list of strings, got {describe(formula)}")

    def make(fn: Callable) -> Callable[..., Value]:
        name = getattr(fn, "__name__", "primitive")
        if not (isinstance(name, str) and name.isprintable() and name):
            raise ValueError(f"primitive: the function's name names the op, so it must be printable text, got {name!r}")
        names = _parameter_names(fn)
        if texts is not None and (names is None or len(texts) != len(names)):
            raise TypeError(f"primitive {name!r}: formula gives {len(texts)} text(s), for the inputs {names}")
        op = Op(name, _checked_forward(name, fn), _checked_rule(name, derivatives), inputs=names, texts=texts)

        @functools.wraps(fn)
        def run(*inputs: Value | Number) -> Value:
            return apply(op, inputs)

        run.op = op  # type: ignore[attr-defined]
        return run

    return make


def _parameter_names(fn: Callable) -> tuple[str, ...] | None:
    """The names of fn's positional parameters, None if it takes any number (*args) or has no signature."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    return tuple(p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def _checked_forward(name: str, fn: Callable) -> Callable:
    def forward(*xs: float) -> float:
        out = fn(*xs)
        if isinstance(out, bool) or not isinstance(out, numbers.Real):
            raise TypeError(f"{name}: the function must return a real number, got {type(out).__name__}: {out!r}")
        return float(out)

    return forward


def _checked_rule(name: str, rule: Callable) -> Callable:
    def checked(*args):
        local = rule(*args)
        if not isinstance(local, (tuple, list)) or len(local) != len(args) - 1:
            raise TypeError(
                f"{name}: derivatives must return a tuple of {len(args) - 1} local derivative(s), got {local!r}"
            )
        return tuple(local)

    return checked
