"""Derivatives as functions, in the style of JAX: `grad`, `value_and_grad`, `hessian`, `gradcheck`.

They are thin layers over the engine's backward pass. `grad(f)` is a new function that returns
df/dx; because the gradient it computes is itself recorded as a graph when asked, `grad(grad(f))`
is the second derivative.
"""

from __future__ import annotations

import math
import numbers
from typing import Callable, Sequence

from .engine import Value, enable_grad, gradients, is_grad_enabled, no_grad

__all__ = ["grad", "value_and_grad", "hessian", "gradcheck", "GradcheckError"]


def _as_input(arg) -> Value:
    """A fresh node to differentiate with respect to.

    A number becomes a new leaf. A Value (as when grad is nested inside grad) becomes a new
    node that passes its gradient on to it, so the outer derivative still reaches it.
    """
    if isinstance(arg, Value):
        return arg + 0.0  # a node of our own in front of the caller's Value
    if isinstance(arg, numbers.Real):
        return Value(arg)
    raise TypeError(f"grad: arguments to differentiate must be numbers or Values, got {type(arg).__name__}: {arg!r}")


def _argnums(argnums, nargs: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not -nargs <= i < nargs:
            raise ValueError(f"grad: argnums {argnums!r} out of range for {nargs} arguments")
    return tuple(i % nargs for i in nums)


def value_and_grad(f: Callable[..., Value], argnums: int | Sequence[int] = 0) -> Callable:
    """A function that returns ``(f(*args), df/dargs)``.

    Args:
        f: a function of numbers or Values that returns a Value (or a number).
        argnums: which positional argument(s) to differentiate with respect to. The other
            number arguments are passed as constant Values; anything else is passed as is.

    Returns:
        A function returning ``(value, gradient)``; the gradient is a tuple when argnums is a
        sequence. Called on numbers it returns numbers; called on Values (inside another
        `grad`) it returns Values, so derivatives nest.

    Example:
        >>> value_and_grad(lambda x, y: x * y + y, argnums=(0, 1))(2.0, 3.0)
        (9.0, (3.0, 3.0))
    """

    def wrapped(*args):
        nums = _argnums(argnums, len(args))
        args = list(args)
        nested = any(isinstance(args[i], Value) for i in nums) and is_grad_enabled()
        inputs = [_as_input(args[i]) for i in nums]
        for i, x in zip(nums, inputs):
            args[i] = x
        for i, a in enumerate(args):  # other numbers become Values too, so methods work on them
            if i not in nums and isinstance(a, numbers.Real):
                args[i] = Value(a)
        with enable_grad():
            out = f(*args)
        if isinstance(out, numbers.Real):
            out = Value(out)  # a constant: every derivative is 0
        if not isinstance(out, Value):
            raise TypeError(f"grad: the function must return a Value or a number, got {type(out).__name__}")
        grads = gradients(out, inputs, create_graph=nested)
        value = out if nested else out.data
        if not nested:
            grads = [g.data if isinstance(g, Value) else g for g in grads]
        return value, (grads[0] if isinstance(argnums, int) else tuple(grads))

    return wrapped


def grad(f: Callable[..., Value], argnums: int | Sequence[int] = 0) -> Callable:
    """The derivative of `f` as a function: `value_and_grad` without the value.

    Example:
        >>> df = grad(lambda x: x ** 3)
        >>> df(2.0), grad(df)(2.0)
        (12.0, 12.0)
    """
    vg = value_and_grad(f, argnums)
    return lambda *args: vg(*args)[1]


def hessian(f: Callable[..., Value]) -> Callable[..., list[list[float]]]:
    """The matrix of second derivatives of a function of several scalars.

    Example:
        >>> hessian(lambda x, y: x * x * y)(1.0, 2.0)
        [[4.0, 2.0], [2.0, 0.0]]
    """

    def wrapped(*args):
        n = len(args)
        first = grad(f, argnums=tuple(range(n)))
        rows = []
        for i in range(n):
            row = grad(lambda *a: first(*a)[i], argnums=tuple(range(n)))(*args)
            rows.append([_plain(v) for v in row])
        return rows

    return wrapped


def _plain(v):
    return v.data if isinstance(v, Value) else v


# ---------------------------------------------------------------------- gradcheck


class GradcheckError(AssertionError):
    """An analytic derivative disagrees with its finite-difference estimate."""


def _numeric_grad(f: Callable[..., float], args: list[float], i: int, eps: float) -> float:
    hi, lo = list(args), list(args)
    hi[i] += eps
    lo[i] -= eps
    return (f(*hi) - f(*lo)) / (2 * eps)


def gradcheck(
    f: Callable[..., Value],
    inputs: Sequence[float],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    second_order: bool = False,
) -> bool:
    """Check f's gradient (and optionally its Hessian) against central differences.

    Args:
        f: a function of ``len(inputs)`` scalars that returns a Value.
        inputs: the point to check at.
        eps: the finite-difference step.
        atol, rtol: the allowed difference, ``atol + rtol * |numeric|``.
        second_order: also check every second derivative.

    Returns:
        True; raises `GradcheckError` naming the first derivative that disagrees.

    Example:
        >>> gradcheck(lambda x, y: (x * y).tanh(), [0.3, -0.7], second_order=True)
        True
    """
    args = [float(_plain(x)) for x in inputs]
    n = len(args)
    everything = tuple(range(n))

    def value(*a):
        with no_grad():
            return _plain(f(*[Value(x) for x in a]))

    analytic = grad(f, argnums=everything)(*args)
    for i in range(n):
        numeric = _numeric_grad(value, args, i, eps)
        _compare(f"d f / d x[{i}]", analytic[i], numeric, atol, rtol, args)
    if second_order:
        hess = hessian(f)(*args)
        for i in range(n):
            di = lambda *a, i=i: grad(f, argnums=everything)(*a)[i]  # noqa: E731
            for j in range(n):
                numeric = _numeric_grad(di, args, j, eps)
                _compare(f"d2 f / d x[{i}] d x[{j}]", hess[i][j], numeric, atol, rtol, args)
    return True


def _compare(what: str, analytic: float, numeric: float, atol: float, rtol: float, at) -> None:
    if math.isnan(analytic) or not abs(analytic - numeric) <= atol + rtol * abs(numeric):
        raise GradcheckError(
            f"gradcheck: {what} at {at}: backward gives {analytic!r}, central differences give {numeric!r}"
        )
