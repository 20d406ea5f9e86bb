"""The fused neuron node (neuron.py): its views in argument order, its gradients, the tuples a layer
shares, and its clear errors. Every expected number is a closed form or a central difference."""

from __future__ import annotations

import math

import pytest

from autograd_tiny import Value
from autograd_tiny.engine import topological_order
from autograd_tiny.neuron import neuron, neuron_inputs
from autograd_tiny.nn import MLP, Layer, Neuron


def _slope(activation, z):
    if activation == "relu":
        return 1.0 if z > 0 else 0.0
    if activation == "tanh":
        return 1 - math.tanh(z) ** 2
    if activation == "sigmoid":
        s = 1 / (1 + math.exp(-z))
        return s * (1 - s)
    return 1.0


ACT = {"relu": lambda z: max(z, 0.0), "tanh": math.tanh, "sigmoid": lambda z: 1 / (1 + math.exp(-z)), None: lambda z: z}


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", None])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shared", [True, False])
def test_neuron_node_views_and_gradients_match_the_closed_form(activation, bias, shared):
    """A neuron node's parents, local derivatives and gradients are the closed form's, in the order (w..., x..., b)."""
    wn, xn, bn = [0.5, -1.25, 2.0], [1.5, 0.25, -0.75], 0.3
    for sign in (1.0, -1.0):  # both sides of relu's kink
        w = [Value(sign * v) for v in wn]
        x = [Value(v) for v in xn]
        b = Value(bn) if bias else None
        out = neuron(w, x, b, activation, inputs=neuron_inputs(x) if shared else None)
        z = sum(sign * a * c for a, c in zip(wn, xn)) + (bn if bias else 0.0)
        s = _slope(activation, z)
        assert out.data == pytest.approx(ACT[activation](z), rel=1e-12)
        assert out.parents == (*w, *x, *([b] if bias else []))
        expected = [s * v for v in xn] + [s * sign * v for v in wn] + ([s] if bias else [])
        got = [0.0 if d is None else d for d in out.local_grads]
        assert got == pytest.approx(expected, rel=1e-12, abs=0.0)
        out.backward()
        grads = [v.grad for v in (*w, *x, *([b] if bias else []))]
        assert grads == pytest.approx(expected, rel=1e-12, abs=0.0)


def test_a_layer_shares_its_inputs_and_each_input_gets_every_neurons_share():
    """Each input of a layer gets the sum of every neuron's weight on it, through the tuple the neurons share."""
    layer = Layer(3, 4, activation="linear", seed=3)
    x = [Value(v) for v in (0.5, -1.0, 2.0)]
    out = Value.sum(layer(x))
    out.backward()
    for i, xi in enumerate(x):  # d sum_j (w_j · x + b_j) / d x_i = sum_j w_j[i]
        assert xi.grad == pytest.approx(sum(n.w[i].data for n in layer.neurons), rel=1e-12)
    for n in layer.neurons:
        assert [v.grad for v in n.w] == pytest.approx([0.5, -1.0, 2.0], rel=1e-12)
        assert n.b.grad == 1.0


def test_a_neuron_whose_weights_or_bias_were_replaced_sends_gradients_to_the_new_values():
    """Replacing a weight in the list or the bias attribute sends the next gradients to the new Values."""
    n = Neuron(2, activation="linear", seed=0)
    n([1.0, 2.0]).backward()  # the neuron keeps (w..., b) from this call
    old_w0, old_b = n.w[0], n.b
    n.zero_grad()
    old_w0.grad = old_b.grad = 0.0
    n.w[0] = Value(3.0)  # replaced in the list
    n.b = Value(-1.0)  # replaced as an attribute
    out = n([1.5, 2.0])
    assert out.data == pytest.approx(3.0 * 1.5 + n.w[1].data * 2.0 - 1.0, rel=1e-12)
    out.backward()
    assert (n.w[0].grad, n.w[1].grad, n.b.grad) == (1.5, 2.0, 1.0)
    assert (old_w0.grad, old_b.grad) == (0.0, 0.0)  # the old Values are out of the graph


def test_topological_order_walks_a_neurons_shared_inputs():
    """The walk finds the interior nodes among a neuron's shared inputs, and backward reaches through them."""
    a = Value(1.0)
    x = [a * 2, a.tanh()]
    model_out = neuron([Value(0.5), Value(-0.5)], x, Value(0.1), None, inputs=neuron_inputs(x))
    order = topological_order(model_out)
    assert set(order) == {x[0], x[1], model_out} and order[-1] is model_out
    model_out.backward()
    assert a.grad == pytest.approx(0.5 * 2 - 0.5 * (1 - math.tanh(1.0) ** 2), rel=1e-12)


def test_mlp_gradients_match_central_differences_through_the_shared_tuples():
    """An MLP's gradients agree with central differences of its summed outputs."""
    model = MLP(2, [4, 3, 1], activation="tanh", seed=5)
    X = [[0.3, -0.2], [1.1, 0.4]]

    def loss_of(numbers):
        for p, v in zip(model.parameters(), numbers):
            p.data = v
        return Value.sum([model(x) for x in X])

    base = [p.data for p in model.parameters()]
    loss = loss_of(base)
    model.zero_grad()
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    h = 1e-6
    for i in range(0, len(base), 5):
        up, down = list(base), list(base)
        up[i] += h
        down[i] -= h
        numeric = (loss_of(up).data - loss_of(down).data) / (2 * h)
        assert grads[i] == pytest.approx(numeric, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize(
    "w, x, b, named",
    [
        ([Value(1.0)], [2.0], None, "inputs must be Values"),
        ([1.0], [Value(2.0)], None, "weights and bias must be Values"),
        ([Value(1.0)], [Value(2.0)], 3.0, "weights and bias must be Values"),
    ],
)
def test_neuron_names_a_number_where_a_value_belongs(w, x, b, named):
    """A number where neuron() wants a Value is a TypeError that says which group it was in."""
    with pytest.raises(TypeError, match=f"neuron: {named}.*got float"):
        neuron(w, x, b, "relu")


def test_second_derivatives_of_a_neuron_with_numbers_among_its_inputs():
    """Second derivatives through Value.dot with numbers among its inputs match the closed form."""
    a, b = Value(0.2), Value(0.4)
    y = Value.dot([a, 3.0], [1.0, b], activation="tanh")  # tanh(a + 3b), numbers kept as numbers
    y.backward(create_graph=True)
    t = math.tanh(0.2 + 1.2)
    assert (a.grad.data, b.grad.data) == pytest.approx((1 - t * t, 3 * (1 - t * t)), rel=1e-12)
    da = a.grad
    a.grad = b.grad = 0.0
    da.backward()  # d/da and d/db of d y / d a = 1 - tanh²(a + 3b)
    assert (a.grad, b.grad) == pytest.approx((-2 * t * (1 - t * t), -6 * t * (1 - t * t)), rel=1e-12)
