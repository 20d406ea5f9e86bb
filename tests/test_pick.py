"""pick(x[0], ..., x[n-1], k) = x[k], the selection op: row[label] as one node of the graph, whose
local derivatives are one-hot. Every expected number is a closed form or a central difference."""

from __future__ import annotations

import math

import pytest

from autograd_tiny import DomainError, Value, grad, jvp
from autograd_tiny.engine import PICK, apply
from autograd_tiny.losses import cross_entropy
from autograd_tiny.see.explorer import edge_formula
from autograd_tiny.see.trace import walk


def central(fn, args, i, h=1e-5):
    up, down = list(args), list(args)
    up[i] += h
    down[i] -= h
    return (fn(*up) - fn(*down)) / (2 * h)


def f(x, y, k):
    """A function through pick whose picked entry depends on x and y in a different way for each k."""
    return apply(PICK, [x * x, y.sin() * x, (x * y).tanh(), k]) * y


def f_floats(x, y, k):
    return [x * x, math.sin(y) * x, math.tanh(x * y)][k] * y


@pytest.mark.parametrize("k", [0, 1, 2])
def test_backward_through_pick_gives_the_picked_entrys_gradient(k):
    """backward() through pick gives the gradient of the entry the label picks, central
    differences of the function on floats, and nothing to the other entries."""
    a, b = 0.7, -1.3
    x, y = Value(a), Value(b)
    out = f(x, y, k)
    out.backward()
    assert out.data == f_floats(a, b, k)
    assert x.grad == pytest.approx(central(lambda p, q: f_floats(p, q, k), (a, b), 0), rel=1e-8)
    assert y.grad == pytest.approx(central(lambda p, q: f_floats(p, q, k), (a, b), 1), rel=1e-8)
    row = [Value(v) for v in (0.5, -2.0, 3.0)]
    apply(PICK, [*row, k]).backward()
    assert [v.grad for v in row] == [1.0 if j == k else 0.0 for j in range(3)]


@pytest.mark.parametrize("k", [0, 1, 2])
def test_second_derivatives_through_pick(k):
    """grad(grad(f)) through pick, and backward(create_graph=True), give the second derivative
    of the picked entry (central differences of the first derivative's closed form)."""
    a, b = 0.7, -1.3
    dfdx = grad(lambda p, q: f(p, q, k), argnums=0)
    d2 = grad(lambda p, q: dfdx(p, q), argnums=0)(a, b)
    first = [lambda p, q: 2 * p * q, lambda p, q: math.sin(q) * q,
             lambda p, q: (1 - math.tanh(p * q) ** 2) * q * q][k]  # fmt: skip
    assert d2 == pytest.approx(central(first, (a, b), 0), rel=1e-6, abs=1e-9)
    x, y = Value(a), Value(b)
    f(x, y, k).backward(create_graph=True)
    assert isinstance(x.grad, Value) and x.grad.data == pytest.approx(first(a, b), rel=1e-12)
    x_grad = x.grad
    x.grad = y.grad = 0.0
    x_grad.backward()
    assert x.grad == pytest.approx(d2, rel=1e-12)


def test_a_label_given_as_a_value_picks_the_same_entry_in_every_mode():
    """The index may be a Value (it gets no gradient): first and second order pick the same
    entry as a plain number does, although a Value's own == compares identity."""
    x = Value(0.6)
    k = Value(1.0)
    out = apply(PICK, [x * 3.0, x * x, x.exp(), k])
    out.backward(create_graph=True)
    assert out.data == 0.6 * 0.6 and float(x.grad) == pytest.approx(1.2, rel=1e-12) and float(k.grad) == 0.0
    second = x.grad
    x.grad = 0.0
    second.backward()
    assert x.grad == pytest.approx(2.0, rel=1e-12)


@pytest.mark.parametrize("k", [0, 1, 2])
def test_forward_mode_through_pick(k):
    """jvp through pick: the directional derivative of the picked entry (central differences)."""
    a, b = 0.7, -1.3
    value, tangent = jvp(lambda p, q: f(p, q, k), [a, b], [1.0, -0.5])
    g = lambda p, q: f_floats(p, q, k)  # noqa: E731
    assert value == f_floats(a, b, k)
    assert tangent == pytest.approx(central(g, (a, b), 0) - 0.5 * central(g, (a, b), 1), rel=1e-7)


@pytest.mark.parametrize("k", [2.5, -1, 3, 3.0, math.nan, math.inf, -math.inf, 1e300])
def test_an_index_that_is_no_position_is_a_domain_error_naming_pick_and_the_number(k):
    """An index that is not a whole number from 0 to n - 1 raises DomainError, which names pick
    and the offending number; as a Value it does too; in ieee_results it gives nan."""
    row = [Value(0.5), Value(-2.0), Value(3.0)]
    for index in (k, Value(float(k))):
        with pytest.raises(DomainError, match=r"^pick: the index must be a whole number from 0 to 2, got ") as error:
            apply(PICK, [*row, index])
        assert repr(float(k)) in str(error.value)
    from autograd_tiny.ieee import ieee_results, pick

    with ieee_results():
        assert math.isnan(pick(0.5, -2.0, 3.0, k))
    with pytest.raises(ValueError, match="pick: needs at least one value"):
        pick(1.0)


def test_cross_entropy_is_logsumexp_minus_the_picked_logit():
    """cross_entropy's term is logsumexp(row) - pick(row, label): the same value as the closed
    form, the gradient softmax - one-hot, and a pick node in its graph."""
    logits = [Value(v) for v in (1.0, -0.5, 2.0, 0.3)]
    loss = cross_entropy(logits, 2)
    loss.backward()
    z = [1.0, -0.5, 2.0, 0.3]
    total = sum(math.exp(v) for v in z)
    assert loss.data == pytest.approx(math.log(total) - z[2], rel=1e-14)
    expected = [math.exp(v) / total - (1.0 if j == 2 else 0.0) for j, v in enumerate(z)]
    assert [v.grad for v in logits] == pytest.approx(expected, rel=1e-12)
    assert "pick" in [v.op for v in walk(loss).nodes]


def test_the_explorer_shows_the_one_hot_entry_of_each_edge():
    """The explorer's formula for an edge of pick is the branch that applies: 1.0 for the
    label's entry, 0.0 for the others and for the label itself."""
    row = [Value(v) for v in (1.0, -0.5, 2.0)]
    out = apply(PICK, [*row, 1])
    inputs = walk(out).inputs[out]
    assert [edge_formula(out, i, inputs) for i in range(4)] == ["0.0", "1.0", "0.0", "0.0"]
