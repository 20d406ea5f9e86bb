"""Checking gradients worked out by hand: `check_gradients` says which are wrong, and by how much.

For learners doing backpropagation on paper (notebook 10): write the forward pass with Values,
your gradients as numbers, and one call compares every one of them with the engine's
`backward()`, naming each input that is wrong, missing or right.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from .checks import is_real
from .engine import Value
from .functional import value_and_grad

__all__ = ["check_gradients", "GradientCheck", "GradientReport"]


class GradientCheck(NamedTuple):
    """One input's line of a `GradientReport`: your gradient, the correct one and the verdict."""

    name: str
    yours: float | None  # None: not answered yet
    correct: float
    ok: bool

    @property
    def error(self) -> float | None:
        """How far yours is from the correct gradient (None when there is no answer)."""
        return None if self.yours is None else abs(self.yours - self.correct)

    def verdict(self) -> str:
        """'ok', 'no answer yet', or 'WRONG: off by ...' with a hint (a flipped sign, a ratio)."""
        if self.yours is None:
            return "no answer yet"
        if self.ok:
            return "ok"
        hint = ""
        if self.correct != 0 and math.isfinite(self.yours):
            ratio = self.yours / self.correct
            hint = (
                "; the sign is flipped" if abs(ratio + 1) < 1e-6 else f"; {ratio:.4g} times the correct value"
            )
        return f"WRONG: off by {self.error:.4g}{hint}"


class GradientReport(list):
    """The result of `check_gradients`: one `GradientCheck` per input, shown as a table.

    The table gives your answers and the verdicts but not the correct values, so that it does
    not give the exercise away (each line's ``.correct`` has them). ``report.ok`` is True when
    every gradient is right; ``report.wrong`` and ``report.missing`` name the others.
    """

    @property
    def ok(self) -> bool:
        return all(line.ok for line in self)

    @property
    def wrong(self) -> list[str]:
        return [line.name for line in self if line.yours is not None and not line.ok]

    @property
    def missing(self) -> list[str]:
        return [line.name for line in self if line.yours is None]

    def __repr__(self) -> str:
        width = max(len("input"), *(len(line.name) for line in self))
        rows = [f"{'input':<{width}}  {'yours':>12}  verdict"]
        for line in self:
            yours = "-" if line.yours is None else f"{line.yours:.6g}"
            rows.append(f"{line.name:<{width}}  {yours:>12}  {line.verdict()}")
        summary = f"{sum(line.ok for line in self)} of {len(self)} right"
        if self.wrong:
            summary += f"; wrong: {', '.join(self.wrong)}"
        if self.missing:
            summary += f"; no answer yet: {', '.join(self.missing)}"
        return "\n".join(rows + [summary])


def check_gradients(
    f: Callable[..., Value],
    inputs: Mapping[str, float] | Sequence[float],
    yours: Mapping[str, float | None] | Sequence[float | None],
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> GradientReport:
    """Compare gradients found by hand with the ones `backward()` finds, input by input.

    Args:
        f: the forward pass, a function of Values that returns one Value.
        inputs: where to differentiate: a dict ``{name: number}`` (f is called with those
            keyword arguments) or a list of numbers (f is called with them in order; they
            are named ``x[0]``, ``x[1]``, ...).
        yours: your gradient of f for each input, in the same form; None (or a missing
            name) means "not answered yet".
        rtol, atol: a gradient is right when it is within ``atol + rtol * |correct|``.

    Returns:
        A `GradientReport`: it prints as a table with a verdict per input (ok, no answer
        yet, or how far off and how many times the correct value); ``.ok`` is True when
        all are right, ``.wrong`` and ``.missing`` name the others.

    Example:
        >>> check_gradients(lambda x, y: x * y + y, {"x": 2.0, "y": 3.0}, {"x": 3.0, "y": -3.0})
        input         yours  verdict
        x                 3  ok
        y                -3  WRONG: off by 6; the sign is flipped
        1 of 2 right; wrong: y
    """
    names, values = _names_and_values("inputs", inputs)
    answers = _answers(yours, names)

    def call(*args: Value) -> Value:  # value_and_grad passes inputs by position
        return f(**dict(zip(names, args))) if isinstance(inputs, Mapping) else f(*args)

    _, correct = value_and_grad(call, argnums=tuple(range(len(values))))(*values)
    report = GradientReport()
    for name, mine, right in zip(names, answers, correct):
        ok = mine is not None and abs(mine - right) <= atol + rtol * abs(right)
        report.append(GradientCheck(name, mine, right, ok))
    return report


def _names_and_values(what: str, given) -> tuple[list[str], list[float]]:
    if isinstance(given, Mapping):
        names, values = [str(k) for k in given], list(given.values())
    elif isinstance(given, Sequence) and not isinstance(given, str):
        names, values = [f"x[{i}]" for i in range(len(given))], list(given)
    else:
        raise TypeError(
            f"check_gradients: {what} must be a dict of numbers or a list of numbers, got {given!r}"
        )
    if not names:
        raise ValueError(f"check_gradients: {what} is empty; give at least one input")
    for name, v in zip(names, values):
        if not is_real(v):
            raise TypeError(f"check_gradients: {what} {name} must be a number, got {type(v).__name__}: {v!r}")
    return names, [float(v) for v in values]


def _answers(yours, names: list[str]) -> list[float | None]:
    if isinstance(yours, Mapping):
        extra = [k for k in yours if k not in names]
        if extra:
            raise ValueError(
                f"check_gradients: yours has {extra[0]!r}, which is not an input (inputs: {names})"
            )
        given = [yours.get(name) for name in names]
    elif isinstance(yours, Sequence) and not isinstance(yours, str):
        if len(yours) != len(names):
            raise ValueError(f"check_gradients: {len(names)} inputs but {len(yours)} gradients in yours")
        given = list(yours)
    else:
        raise TypeError(f"check_gradients: yours must be a dict or a list of gradients, got {yours!r}")
    for name, g in zip(names, given):
        if g is not None and g.__class__ is not Value and not is_real(g):
            raise TypeError(f"check_gradients: your gradient for {name} must be a number or None, got {g!r}")
    return [None if g is None else float(g) for g in given]  # a Value counts as its number
