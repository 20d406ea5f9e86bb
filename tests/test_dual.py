"""Forward mode: dual numbers and jvp, against reverse-mode gradients and closed forms."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_tiny import DomainError, Dual, Value, grad, jvp, primitive


@primitive(derivatives=lambda x, out: (1 / (1 + abs(x)) ** 2,))
def softsign(x):
    return x / (1 + abs(x))


# One random program, run on Values (reverse mode) or on Duals (forward mode): every op.
STEPS = [
    lambda a, b, c: a + b, lambda a, b, c: a - c, lambda a, b, c: a * b, lambda a, b, c: a / (1 + b * b),
    lambda a, b, c: (1 + a * a) ** b.tanh(), lambda a, b, c: a**3, lambda a, b, c: 2.0 ** a.sin(),
    lambda a, b, c: a.exp().tanh(), lambda a, b, c: (1 + a * a).log(), lambda a, b, c: (1 + b * b).sqrt(),
    lambda a, b, c: a.sigmoid(), lambda a, b, c: a.softplus(), lambda a, b, c: a.relu(),
    lambda a, b, c: a.leaky_relu(0.1), lambda a, b, c: a.abs(), lambda a, b, c: a.cos(),
    lambda a, b, c: Value.sum([a, b, 1.5]), lambda a, b, c: Value.mean([a, c]),
    lambda a, b, c: Value.logsumexp([a, b, c]), lambda a, b, c: Value.dot([a, b], [c, 0.5], 0.1, "tanh"),
    lambda a, b, c: Value.dot([a, b], [b, c], None, "relu"), lambda a, b, c: softsign(a * c), lambda a, b, c: -a,
]


def program(choices):
    def f(x, y, z):
        nodes = [x, y, z]
        for op, i, j, m in choices:
            nodes.append(STEPS[op](nodes[i % len(nodes)], nodes[j % len(nodes)], nodes[m % len(nodes)]))
        return nodes[-1] + nodes[-2] * 0.5

    return f


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, len(STEPS) - 1), st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)),
             min_size=1, max_size=10),
    st.lists(st.floats(-1.5, 1.5, allow_nan=False), min_size=3, max_size=3),
    st.lists(st.floats(-1, 1, allow_nan=False), min_size=3, max_size=3),
)
def test_jvp_equals_the_gradient_dotted_with_the_direction(choices, point, direction):
    """On random graphs over every op, jvp's tangent equals grad(f) · v from reverse mode."""
    f = program(choices)
    value, tangent = jvp(f, point, direction)
    g = grad(f, argnums=(0, 1, 2))(*point)
    want = sum(gi * vi for gi, vi in zip(g, direction))
    with_values = f(*[Value(p) for p in point]).data
    assert value == pytest.approx(with_values, rel=1e-12, abs=1e-12)
    assert tangent == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_jvp_of_a_list_gives_a_column_of_the_jacobian():
    """For f(x, y) = [x*y, sin x], the direction (1, 0) gives [y, cos x]."""
    values, tangents = jvp(lambda x, y: [x * y, x.sin()], [2.0, 3.0], [1.0, 0.0])
    assert values == [6.0, math.sin(2.0)] and tangents == [3.0, math.cos(2.0)]


def test_dual_arithmetic_matches_closed_forms():
    """d/dx of x**x at 2 is x**x (log x + 1); d/dx of 1/x is -1/x**2."""
    x = Dual(2.0, 1.0)
    y = x**x
    assert y.primal == 4.0 and y.tangent == pytest.approx(4.0 * (math.log(2.0) + 1), rel=1e-15)
    assert (1 / x).tangent == -0.25 and (3 - x).tangent == -1.0 and (x / 4).tangent == 0.25


def test_jvp_checks_its_arguments_and_domains():
    """Mismatched lengths are a ValueError; a domain error is the engine's DomainError."""
    with pytest.raises(ValueError, match="jvp: 2 primals but 1 tangents"):
        jvp(lambda x, y: x * y, [1.0, 2.0], [1.0])
    with pytest.raises(DomainError, match="log"):
        jvp(lambda x: x.log(), [-1.0], [1.0])
    with pytest.raises(TypeError, match="jvp: the function must return"):
        jvp(lambda x: "x", [1.0], [1.0])
