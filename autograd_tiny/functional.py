"""Derivatives as functions, in the style of JAX: `grad`, `value_and_grad`, `hessian`, `gradcheck`,
`vjp`, `jacobian` and `hvp` (`jvp`, forward mode, is in `dual`).

They are thin layers over the engine's backward pass. `grad(f)` is a new function that returns
df/dx; because the gradient it computes is itself recorded as a graph when asked, `grad(grad(f))`
is the second derivative.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

from .engine import Value
from .full_backward import gradients
from .grad_mode import enable_grad, is_grad_enabled, no_grad

__all__ = ["grad", "value_and_grad", "hessian", "gradcheck", "GradcheckError", "vjp", "jacobian", "hvp"]


def _as_input(arg) -> Value:
    """A fresh node to differentiate with respect to.

    A number becomes a new leaf. A Value (as when grad is nested inside grad) becomes a new
    node that passes its gradient on to it, so the outer derivative still reaches it.
    """
    if isinstance(arg, Value):
        return arg + 0.0  # a node of our own in front of the caller's Value
    if isinstance(arg, numbers.Real):
        return Value(float(arg))
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
        call = list(args)  # what f gets
        nested = any(isinstance(call[i], Value) for i in nums) and is_grad_enabled()
        inputs = [_as_input(call[i]) for i in nums]
        for i, x in zip(nums, inputs):
            call[i] = x
        for i, a in enumerate(call):  # other numbers become Values too, so methods work on them
            if i not in nums and isinstance(a, numbers.Real):
                call[i] = Value(float(a))
        with enable_grad():
            out = f(*call)
        if isinstance(out, numbers.Real):
            out = Value(out)  # a constant: every derivative is 0
        if not isinstance(out, Value):
            raise TypeError(f"grad: the function must return a Value or a number, got {type(out).__name__}")
        grads = gradients(out, inputs, create_graph=nested)
        value = out if nested else out.data
        if not nested:
            grads = [float(g) for g in grads]
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
            row = grad(lambda *a, i=i: first(*a)[i], argnums=tuple(range(n)))(*args)
            rows.append([float(v) for v in row])
        return rows

    return wrapped


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
    args = [float(x) for x in inputs]
    n = len(args)
    everything = tuple(range(n))

    def value(*a):
        with no_grad():
            return float(f(*[Value(x) for x in a]))

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


# ---------------------------------------------------------------------- vjp, jacobian, hvp


def vjp(f: Callable[..., Value | Sequence[Value]], *primals: float) -> tuple:
    """f's value at `primals`, and a function that pulls an output cotangent back to the inputs.

    ``out, pullback = vjp(f, *x)``; ``pullback(c)`` returns ``c @ J(x)`` (one number per
    input), J being f's Jacobian: reverse mode, one backward pass per call. For a function
    returning a list of Values, ``c`` is a list of the same length.

    Example:
        >>> out, pullback = vjp(lambda x, y: [x * y, x + y], 2.0, 3.0)
        >>> out, pullback([1.0, 0.0]), pullback([0.0, 1.0])
        ([6.0, 5.0], (3.0, 2.0), (1.0, 1.0))
    """
    inputs = [_as_input(x) for x in primals]
    with enable_grad():
        out = f(*inputs)
    outs: list[Any] = list(out) if isinstance(out, (list, tuple)) else [out]
    for o in outs:
        if not isinstance(o, (Value, numbers.Real)):
            raise TypeError(f"vjp: the function must return a Value or a list of Values, got {type(o).__name__}")

    def pullback(cotangent) -> tuple:
        cs = list(cotangent) if isinstance(out, (list, tuple)) else [cotangent]
        if len(cs) != len(outs):
            raise ValueError(f"vjp: {len(outs)} outputs but a cotangent of {len(cs)}")
        total = Value.dot([o if isinstance(o, Value) else Value(float(o)) for o in outs], cs)
        return tuple(float(g) for g in gradients(total, inputs))

    values = [float(o) if isinstance(o, Value) else o for o in outs]
    return (values if isinstance(out, (list, tuple)) else values[0]), pullback


def jacobian(f: Callable[..., Value | Sequence[Value]]) -> Callable[..., list]:
    """The matrix of first derivatives of f: ``jacobian(f)(*x)[i][j]`` is d out[i] / d x[j].

    For a function returning one Value the result is its gradient, a list. The mode is chosen
    by shape, as each pass gives a whole line of the matrix: forward mode (`jvp`, one column
    per input) when there are no more inputs than outputs, reverse mode (`vjp`, one row per
    output) when there are more inputs than outputs.

    Example:
        >>> jacobian(lambda x, y: [x * y, x + y, x])(2.0, 3.0)
        [[3.0, 2.0], [1.0, 1.0], [1.0, 0.0]]
    """
    from .dual import jvp  # forward mode lives in its own module

    def wrapped(*args):
        n = len(args)
        out, pullback = vjp(f, *args)
        single = not isinstance(out, list)
        m = 1 if single else len(out)
        if n <= m:  # forward mode: one pass per input gives a column
            columns = []
            for j in range(n):
                _, tangent = jvp(f, args, [1.0 if k == j else 0.0 for k in range(n)])
                columns.append([tangent] if single else tangent)
            rows = [[columns[j][i] for j in range(n)] for i in range(m)]
        else:  # reverse mode: one pass per output gives a row
            rows = [list(pullback(1.0 if single else [1.0 if k == i else 0.0 for k in range(m)])) for i in range(m)]
        return rows[0] if single else rows

    return wrapped


def hvp(f: Callable[..., Value], primals: Sequence[float], vector: Sequence[float]) -> list[float]:
    """The Hessian of f at `primals` times `vector`, without forming the Hessian.

    It is the gradient of ``grad(f) · vector``: reverse mode over reverse mode, through
    ``create_graph`` (two backward passes, whatever the number of inputs).

    Example:
        >>> hvp(lambda x, y: x * x * y, [1.0, 2.0], [1.0, 0.0])  # H = [[2y, 2x], [2x, 0]]
        [4.0, 2.0]
    """
    primals, vector = list(primals), list(vector)
    if len(primals) != len(vector):
        raise ValueError(f"hvp: {len(primals)} primals but a vector of {len(vector)}")
    everything = tuple(range(len(primals)))
    first = grad(f, argnums=everything)

    def directional(*x):
        return Value.dot(list(first(*x)), vector)

    return list(grad(directional, argnums=everything)(*primals))
