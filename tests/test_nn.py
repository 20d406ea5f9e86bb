"""Tests of autograd_tiny.nn: Neuron, Layer, MLP and user Modules against PyTorch and closed
forms; parameters, names, state_dict; save/load, 0.1's files, and hostile model files."""

import gc
import json
import math
import os
import random
import re
from pathlib import Path

import pytest
from conftest import flat

from autograd_tiny import Value
from autograd_tiny.engine import topological_order
from autograd_tiny.neuron import NeuronOp
from autograd_tiny.nn import MLP, Layer, Module, Neuron, load
from autograd_tiny.optim import SGD

DATA = Path(__file__).resolve().parent / "data"

ACTIVATIONS = ["relu", "tanh", "sigmoid", "linear", "leaky_relu"]

# the activations in closed form, on floats
CLOSED_FORM = {
    "relu": lambda z: max(z, 0.0),
    "tanh": math.tanh,
    "sigmoid": lambda z: 1 / (1 + math.exp(-z)),
    "linear": lambda z: z,
    "leaky_relu": lambda z: z if z > 0 else 0.01 * z,
}


# ---------------------------------------------------------------------- against PyTorch


def _torch_mlp(model, torch):
    """The same MLP in torch float64: leaf tensors holding our weights, and its forward function."""
    F = torch.nn.functional
    acts = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda z: z,
            "leaky_relu": lambda z: F.leaky_relu(z, 0.01)}  # fmt: skip
    params = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in model.state_dict().items()}
    names = [layer.activation for layer in model.layers]

    def forward(x):
        h = x
        for i, act in enumerate(names):
            h = acts[act](params[f"layers.{i}.weight"] @ h + params[f"layers.{i}.bias"])
        return h

    return params, forward


def _grads(model):
    """Our parameters' gradients by state_dict key, in row-major order, read from named_parameters."""
    out = {}
    for name, p in model.named_parameters():
        key, index = re.fullmatch(r"(.*?)((?:\[\d+\])*)", name).groups()
        out.setdefault(key, []).append((tuple(int(i) for i in re.findall(r"\d+", index)), p.grad))
    return {key: [g for _, g in sorted(pairs)] for key, pairs in out.items()}


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("output_activation", ["linear", "sigmoid", "tanh"])
def test_mlp_matches_torch_outputs_and_gradients(activation, output_activation, fused):
    """An MLP's outputs and the gradients of every weight, bias and input equal torch float64's."""
    torch = pytest.importorskip("torch")
    model = MLP(3, [5, 4, 2], activation=activation, output_activation=output_activation, seed=1, fused=fused)
    for p in model.parameters():  # non-zero biases, so they count too
        p.data += 0.1
    x_numbers = [0.7, -1.3, 0.4]
    coeffs = [1.5, -0.75]
    x = [Value(v) for v in x_numbers]
    outs = model(x)
    loss = Value.sum([o * c for o, c in zip(outs, coeffs)])
    loss.backward()

    params, forward = _torch_mlp(model, torch)
    t_x = torch.tensor(x_numbers, dtype=torch.float64, requires_grad=True)
    t_out = forward(t_x)
    (t_out * torch.tensor(coeffs, dtype=torch.float64)).sum().backward()

    assert [o.data for o in outs] == pytest.approx(t_out.tolist(), rel=1e-12, abs=1e-14)
    grads = _grads(model)
    for name, t_param in params.items():
        assert grads[name] == pytest.approx(flat(t_param.grad.tolist()), rel=1e-12, abs=1e-14), name
    assert [v.grad for v in x] == pytest.approx(t_x.grad.tolist(), rel=1e-12, abs=1e-14)


# ---------------------------------------------------------------------- fused and per-op graphs


def _build(fused):
    model = MLP(2, [4, 3, 1], activation="tanh", seed=7, fused=fused)
    x = [Value(0.3), Value(-0.8)]
    out = model(x)
    out.backward()
    return model, x, out


def test_fused_and_per_op_graphs_give_the_same_values_and_gradients():
    """fused=True (one dot node per neuron) and fused=False (micrograd's * and + nodes) agree on everything."""
    fused, x_f, out_f = _build(True)
    plain, x_p, out_p = _build(False)
    assert out_f.data == out_p.data  # the same sums in the same order: bit for bit
    for a, b in zip(fused.parameters(), plain.parameters()):
        assert a.data == b.data and a.grad == pytest.approx(b.grad, rel=1e-13, abs=1e-300)
    assert [v.grad for v in x_f] == pytest.approx([v.grad for v in x_p], rel=1e-15)


def test_fused_graph_is_one_dot_node_per_neuron_and_per_op_graph_shows_every_op():
    """The fused graph has one 'dot' node per neuron (activation inside); the per-op graph has '*' and '+' and no 'dot'."""
    _, _, out_f = _build(True)
    _, _, out_p = _build(False)
    ops_f = [n.op for n in topological_order(out_f)]
    ops_p = [n.op for n in topological_order(out_p)]
    neurons = [isinstance(n.grad_fn, NeuronOp) for n in topological_order(out_f)]
    assert len(ops_f) == 4 + 3 + 1 and all(neurons)
    assert "dot" not in ops_p
    assert ops_p.count("*") == 2 * 4 + 4 * 3 + 3 * 1  # one product per weight
    assert ops_p.count("+") == 4 * 2 + 3 * 4 + 1 * 3  # nin - 1 sums and the bias, per neuron
    assert len(ops_p) > 2 * len(ops_f)


# ---------------------------------------------------------------------- Neuron, Layer, MLP


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("fused", [True, False])
def test_neuron_computes_activation_of_weighted_sum(activation, fused):
    """A neuron's output is act(w . x + b), computed here in floats."""
    n = Neuron(3, activation, seed=2, fused=fused)
    n.b.data = -0.2
    for x in ([1.0, 2.0, -0.5], [-3.0, 0.1, 0.2]):
        z = sum(w.data * xi for w, xi in zip(n.w, x)) + n.b.data
        assert n(x).data == pytest.approx(CLOSED_FORM[activation](z), rel=1e-14, abs=1e-15)


def test_neuron_gradient_is_input_times_activation_slope():
    """d relu(w . x + b) / d w[i] = x[i] when the neuron is active, and d / d b = 1."""
    n = Neuron(2, "relu", seed=0)
    n.w[0].data, n.w[1].data, n.b.data = 0.5, 0.25, 0.1
    n([2.0, -1.0]).backward()
    assert [n.w[0].grad, n.w[1].grad, n.b.grad] == [2.0, -1.0, 1.0]


def test_micrograd_mlp_shape():
    """MLP(2, [16, 16, 1]) has 337 parameters, ReLU hidden layers, a linear output, and returns one Value."""
    model = MLP(2, [16, 16, 1], seed=0)
    assert len(model.parameters()) == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1
    assert [layer.activation for layer in model.layers] == ["relu", "relu", "linear"]
    out = model([0.1, 0.2])
    assert isinstance(out, Value)
    assert out.op == "dot"  # linear output: no activation node on top


def test_mlp_returns_a_list_for_several_outputs_and_accepts_values():
    """With several output neurons the MLP returns a list; inputs may be numbers or Values."""
    model = MLP(2, [3, 4], seed=0)
    out = model([Value(1.0), 2])
    assert isinstance(out, list) and len(out) == 4 and all(isinstance(v, Value) for v in out)


def test_layer_returns_one_output_per_neuron():
    """A Layer of nout neurons returns nout Values, each its neuron's output."""
    layer = Layer(2, 3, activation="sigmoid", seed=0)
    out = layer([0.5, -0.5])
    assert [v.data for v in out] == [n([0.5, -0.5]).data for n in layer.neurons]
    assert len(layer.parameters()) == 3 * (2 + 1)


def test_inputs_are_shared_leaves_converted_once():
    """Numbers given to an MLP become one leaf each, shared by every first-layer neuron."""
    model = MLP(2, [3, 1], seed=0)
    out = model([0.5, 0.25])
    firsts = [node for node in topological_order(out) if isinstance(node.grad_fn, NeuronOp) and len(node.parents) == 5]
    assert len(firsts) == 3
    assert len({id(v) for node in firsts for v in node.parents[2:4]}) == 2


@pytest.mark.parametrize("x", [[1.0], [1.0, 2.0, 3.0], 1.0, "ab"])
def test_mlp_rejects_the_wrong_number_of_inputs(x):
    """Too few or too many inputs, or a non-list, raise a ValueError naming the MLP and the count."""
    with pytest.raises(ValueError, match="MLP: expected .*2 inputs"):
        MLP(2, [3, 1], seed=0)(x)


def test_mlp_rejects_non_numeric_inputs():
    """A string among the inputs raises a TypeError saying what it got."""
    with pytest.raises(TypeError, match="str"):
        MLP(2, [1], seed=0)([1.0, "x"])


def test_zero_grad_clears_every_parameter():
    """zero_grad sets every parameter's grad back to 0 after a backward pass."""
    model = MLP(2, [3, 1], seed=0)
    model([1.0, -1.0]).backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_repr_reads_like_the_constructor_call():
    """The repr of each module shows its architecture."""
    assert repr(MLP(2, [16, 16, 1], seed=0)) == "MLP(2, [16, 16, 1], activation='relu', output_activation='linear')"
    assert repr(Layer(3, 2, activation="tanh", seed=0)) == "Layer(nin=3, nout=2, activation='tanh')"
    assert repr(Neuron(4, "sigmoid", seed=0)) == "Neuron(nin=4, activation='sigmoid')"


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((0, [1]), {}, "nin"),
        ((2, []), {}, "nouts"),
        ((2, [3, 0]), {}, "layer size"),
        ((2, [3, 1.5]), {}, "layer size"),
        ((2, "16"), {}, "nouts"),
        ((2, [1]), {"activation": "softmax"}, "activation must be one of 'relu', .*, got 'softmax'"),
        ((2, [1]), {"output_activation": "gelu"}, "output_activation must be one of .*, got 'gelu'"),
        ((2, [1]), {"init": "xavier"}, "init must be one of 'kaiming', 'uniform', got 'xavier'"),
        ((2, [1]), {"seed": 1, "rng": random.Random(1)}, "not both"),
    ],
)
def test_mlp_rejects_bad_arguments(args, kwargs, match):
    """Bad sizes, unknown activations or inits, and a seed with an rng raise a ValueError saying which."""
    with pytest.raises(ValueError, match=match):
        MLP(*args, **kwargs)


# ---------------------------------------------------------------------- initialisation


def test_uniform_init_draws_micrograds_weights_in_micrograds_order():
    """init='uniform' draws uniform(-1, 1) layer by layer, neuron by neuron, weight by weight; biases are 0."""
    model = MLP(2, [3, 2], init="uniform", seed=random.Random(1337))
    rng = random.Random(1337)
    expected = [[[rng.uniform(-1, 1) for _ in range(nin)] for _ in range(nout)] for nin, nout in [(2, 3), (3, 2)]]
    sd = model.state_dict()
    assert [sd["layers.0.weight"], sd["layers.1.weight"]] == expected
    assert sd["layers.0.bias"] == [0.0] * 3 and sd["layers.1.bias"] == [0.0] * 2


def test_seed_and_rng_are_reproducible():
    """The same seed gives the same weights, a Random seeded alike gives them too (as seed= or 0.1's rng=),
    another seed differs."""
    a = MLP(2, [4, 1], seed=3).state_dict()
    assert a == MLP(2, [4, 1], seed=3).state_dict()
    assert a == MLP(2, [4, 1], seed=random.Random(3)).state_dict()
    assert a == MLP(2, [4, 1], rng=random.Random(3)).state_dict()
    assert a != MLP(2, [4, 1], seed=4).state_dict()


def test_without_seed_the_global_random_is_used():
    """With neither seed nor rng, random.seed makes the weights repeatable, as in micrograd."""
    state = random.getstate()
    try:
        random.seed(42)
        a = MLP(2, [4, 1]).state_dict()
        random.seed(42)
        b = MLP(2, [4, 1]).state_dict()
    finally:
        random.setstate(state)
    assert a == b


@pytest.mark.parametrize("activation, gain", [("relu", math.sqrt(2)), ("tanh", 5 / 3), ("linear", 1.0)])
def test_default_init_scales_by_fan_in(activation, gain):
    """Default weights lie in +-gain*sqrt(3/nin) and have variance about gain²/nin (uniform's variance a²/3)."""
    nin = 200
    layer = Layer(nin, 100, activation=activation, seed=0)
    ws = [w.data for n in layer.neurons for w in n.w]
    bound = gain * math.sqrt(3 / nin)
    assert max(abs(w) for w in ws) <= bound
    variance = sum(w * w for w in ws) / len(ws)
    assert variance == pytest.approx(gain**2 / nin, rel=0.03)
    assert all(n.b.data == 0.0 for n in layer.neurons)


# ---------------------------------------------------------------------- state_dict


def test_state_dict_holds_plain_float_copies_with_the_layer_shapes():
    """state_dict maps layers.i.weight to nout x nin lists and layers.i.bias to nout lists of floats, copied."""
    model = MLP(3, [4, 2], seed=0)
    sd = model.state_dict()
    assert list(sd) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert [len(sd["layers.0.weight"]), len(sd["layers.0.weight"][0]), len(sd["layers.1.bias"])] == [4, 3, 2]
    assert sd["layers.0.weight"][1][2] == model.layers[0].neurons[1].w[2].data
    sd["layers.0.weight"][1][2] = 99.0
    assert model.layers[0].neurons[1].w[2].data != 99.0


def test_load_state_dict_copies_numbers_into_the_model():
    """After load_state_dict, a model with other weights computes what the original computes."""
    a, b = MLP(2, [3, 1], seed=0), MLP(2, [3, 1], seed=1)
    b.load_state_dict(a.state_dict())
    assert b([0.3, -0.7]).data == a([0.3, -0.7]).data


def _bad_state_dicts():
    good = MLP(2, [2, 1], seed=0).state_dict()

    def changed(**edits):
        sd = json.loads(json.dumps(good))
        for key, value in edits.items():
            key = key.replace("_", ".")  # layers_0_bias -> layers.0.bias
            if value is None:
                del sd[key]
            else:
                sd[key] = value
        return sd

    return [
        (changed(layers_0_bias=None), "missing key 'layers.0.bias'"),
        ({**good, "extra": [1.0]}, "unexpected key 'extra'"),
        (changed(layers_0_bias=[0.0, 0.0, 0.0]), r"'layers.0.bias' should have 2 entries"),
        (changed(layers_0_weight=[[1.0, 2.0], [3.0]]), r"'layers.0.weight\[1\]' should have 2"),
        (changed(layers_1_weight=[3.0]), r"'layers.1.weight\[0\]' should be a list"),
        (changed(layers_1_bias=[math.nan]), r"'layers.1.bias\[0\]' must be a finite number, got nan"),
        (changed(layers_1_bias=[math.inf]), r"'layers.1.bias\[0\]' must be a finite number, got inf"),
        (changed(layers_1_bias=[10**400]), r"'layers.1.bias\[0\]' must be a finite number, got 1000"),
        (changed(layers_1_bias=["0.5"]), r"'layers.1.bias\[0\]' must be a number, got str: '0.5'"),
        (changed(layers_1_bias=[True]), r"'layers.1.bias\[0\]' must be a number, got bool: True"),
        ([1, 2], "expected a dict"),
    ]


@pytest.mark.parametrize("bad, match", _bad_state_dicts())
def test_load_state_dict_rejects_a_mismatch_and_leaves_the_model_unchanged(bad, match):
    """Missing or extra keys, wrong shapes, NaN, inf and non-numbers raise a clear ValueError; nothing changes."""
    model = MLP(2, [2, 1], seed=5)
    before = model.state_dict()
    with pytest.raises(ValueError, match=match):
        model.load_state_dict(bad)
    assert model.state_dict() == before


# ---------------------------------------------------------------------- your own Modules


class Net(Module):
    """A user network: a Layer, a list of Neurons, a list of Values, a Value and an MLP."""

    def __init__(self, seed=0, call_super=True):
        if call_super:
            super().__init__()
        self.encoder = Layer(3, 4, activation="tanh", seed=seed)
        self.blocks = [Neuron(4, "sigmoid", seed=seed + 1), Neuron(4, "leaky_relu", seed=seed + 2)]
        self.mix = [Value(0.5), Value(-1.5)]
        self.scale = Value(2.0)
        self.head = MLP(2, [3, 1], activation="relu", seed=seed + 3)
        self.note = "data, not a parameter"
        self.sizes = [3, 4, 2]

    def forward(self, x):
        h = self.encoder(x)
        z = [block(h) for block in self.blocks]
        return self.head([z[0] * self.mix[0], z[1] * self.mix[1]]) * self.scale


NET_KEYS = ["encoder.weight", "encoder.bias", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight",
            "blocks.1.bias", "mix", "scale", "head.layers.0.weight", "head.layers.0.bias",
            "head.layers.1.weight", "head.layers.1.bias"]


def _torch_net(net, torch):
    """Net's forward pass in torch float64, written from its state_dict: the oracle."""
    F = torch.nn.functional
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in net.state_dict().items()}

    def forward(x):
        h = torch.tanh(t["encoder.weight"] @ x + t["encoder.bias"])
        z0 = torch.sigmoid(t["blocks.0.weight"] @ h + t["blocks.0.bias"])
        z1 = F.leaky_relu(t["blocks.1.weight"] @ h + t["blocks.1.bias"], 0.01)
        g = torch.relu(t["head.layers.0.weight"] @ torch.stack([z0 * t["mix"][0], z1 * t["mix"][1]])
                       + t["head.layers.0.bias"])
        return (t["head.layers.1.weight"] @ g + t["head.layers.1.bias"])[0] * t["scale"]

    return t, forward


@pytest.mark.parametrize("call_super", [True, False])
def test_user_module_matches_torch_outputs_and_gradients(call_super):
    """A subclass holding a Layer, a list of Neurons, a list of Values, a Value and an MLP computes
    torch's output and every parameter's gradient, with or without super().__init__()."""
    torch = pytest.importorskip("torch")
    net = Net(seed=4, call_super=call_super)
    for p in net.parameters():
        p.data += 0.05  # non-zero biases
    x = [0.3, -1.1, 0.8]
    out = net(x)
    out.backward()
    t, forward = _torch_net(net, torch)
    t_out = forward(torch.tensor(x, dtype=torch.float64))
    t_out.backward()
    assert out.data == pytest.approx(t_out.item(), rel=1e-12)
    grads = _grads(net)
    assert list(grads) == NET_KEYS
    for key, tensor in t.items():
        assert grads[key] == pytest.approx(flat(tensor.grad.tolist()), rel=1e-12, abs=1e-15), key


def test_user_module_collects_what_its_attributes_hold():
    """parameters, named_parameters, children, modules and state_dict see every Value and Module
    assigned to an attribute, and nothing else."""
    net = Net()
    expected = (net.encoder.parameters() + net.blocks[0].parameters() + net.blocks[1].parameters()
                + net.mix + [net.scale] + net.head.parameters())
    assert net.parameters() == expected
    assert len(expected) == (4 * 3 + 4) + 2 * (4 + 1) + 2 + 1 + (3 * 2 + 3) + (3 + 1)
    names = [name for name, _ in net.named_parameters()]
    assert names[:2] == ["encoder.weight[0][0]", "encoder.weight[0][1]"]
    at = names.index("scale")
    assert names[at - 2 : at + 4] == ["mix[0]", "mix[1]", "scale", "head.layers.0.weight[0][0]",
                                      "head.layers.0.weight[0][1]", "head.layers.0.bias[0]"]
    assert names[-2:] == ["head.layers.1.weight[0][2]", "head.layers.1.bias[0]"]
    assert "blocks.1.bias" in names and len(set(names)) == len(names) == len(expected)
    assert [name for name, _ in net.named_children()] == ["encoder", "blocks.0", "blocks.1", "head"]
    assert net.children() == [net.encoder, *net.blocks, net.head]
    modules = net.named_modules()
    assert [name for name, _ in modules][:5] == ["", "encoder", "encoder.neurons.0", "encoder.neurons.1",
                                                "encoder.neurons.2"]
    assert len(modules) == 1 + (1 + 4) + 2 + (1 + 2 + 3 + 1)
    assert net.modules()[0] is net
    assert list(net.state_dict()) == NET_KEYS
    assert net.state_dict()["mix"] == [0.5, -1.5] and net.state_dict()["scale"] == 2.0


def test_named_parameters_name_every_number_by_its_state_dict_key_and_position():
    """Each name is a state_dict key and an index, and points at the number stored there."""
    net = Net(seed=1)
    state = net.state_dict()
    for name, p in net.named_parameters():
        key, index = re.fullmatch(r"(.*?)((?:\[\d+\])*)", name).groups()
        value = state[key]
        for i in re.findall(r"\d+", index):
            value = value[int(i)]
        assert value == p.data, name


def test_a_closed_form_module_gets_the_chain_rule_gradients():
    """For f = a*x + b0*b1 held as a Value and a tuple of Values, df/da = x, df/db0 = b1, df/db1 = b0."""

    class Affine(Module):
        def __init__(self):
            self.a = Value(2.0)
            self.bs = (Value(3.0), Value(-0.5))

        def forward(self, x):
            return self.a * x + self.bs[0] * self.bs[1]

    m = Affine()
    out = m(1.75)
    out.backward()
    assert out.data == 2.0 * 1.75 + 3.0 * -0.5
    assert [p.grad for p in m.parameters()] == [1.75, -0.5, 3.0]
    assert [name for name, _ in m.named_parameters()] == ["a", "bs[0]", "bs[1]"]
    m.zero_grad()
    assert [p.grad for p in m.parameters()] == [0.0, 0.0, 0.0]


def test_sgd_trains_a_user_module():
    """An optimizer takes a subclass's parameters (0.1 gave it none) and fits y = 3x - 1 by SGD."""

    class Line(Module):
        def __init__(self):
            self.w, self.b = Value(0.0), Value(0.0)

        def forward(self, x):
            return self.w * x + self.b

    line = Line()
    opt = SGD(line.parameters(), 0.1)
    xs = [-1.0, 0.0, 1.0, 2.0]
    for _ in range(500):
        opt.zero_grad()
        Value.mean([(line(x) - (3 * x - 1)) ** 2 for x in xs]).backward()
        opt.step()
    assert line.w.data == pytest.approx(3.0, abs=1e-9) and line.b.data == pytest.approx(-1.0, abs=1e-9)


def test_tied_and_shared_parameters_count_once():
    """A Value held twice and a Module reachable twice appear once in parameters and modules."""

    class Tied(Module):
        def __init__(self):
            self.shared = Neuron(2, seed=0)
            self.again = self.shared
            self.w = Value(1.0)
            self.ws = [self.w, Value(2.0)]

    m = Tied()
    assert m.parameters() == [*m.shared.w, m.shared.b, m.w, m.ws[1]]
    assert [name for name, _ in m.named_parameters()] == ["shared.weight[0]", "shared.weight[1]", "shared.bias",
                                                          "w", "ws[1]"]
    assert m.modules() == [m, m.shared]


def test_load_state_dict_refuses_different_numbers_for_one_tied_value():
    """The same Value under two keys must get the same number; otherwise nothing changes."""

    class Tied(Module):
        def __init__(self):
            self.w = Value(1.0)
            self.ws = [self.w]

    m = Tied()
    with pytest.raises(ValueError, match="'w' and 'ws\\[0\\]' are the same parameter"):
        m.load_state_dict({"w": 5.0, "ws": [6.0]})
    assert m.w.data == 1.0
    m.load_state_dict({"w": 5.0, "ws": [5.0]})
    assert m.w.data == 5.0


def test_a_module_that_refers_to_itself_or_its_parent_is_walked_once():
    """Back references (a child holding its parent) make no infinite recursion: each module once."""

    class Child(Module):
        def __init__(self, parent):
            self.parent = parent
            self.v = Value(1.0)

    class Parent(Module):
        def __init__(self):
            self.me = self
            self.child = Child(self)
            self.u = Value(2.0)

    p = Parent()
    assert p.parameters() == [p.child.v, p.u]
    assert p.modules() == [p, p.child]
    assert list(p.state_dict()) == ["child.v", "u"]


def test_modules_added_later_and_appended_to_lists_are_seen():
    """Nothing is registered at assignment: what the attributes hold when asked is what counts."""

    class Growing(Module):
        def __init__(self):
            self.layers = []

    g = Growing()
    assert g.parameters() == [] and g.state_dict() == {}
    g.layers.append(Neuron(2, seed=0))
    g.extra = Value(4.0)
    assert g.parameters() == [*g.layers[0].w, g.layers[0].b, g.extra]
    assert list(g.state_dict()) == ["layers.0.weight", "layers.0.bias", "extra"]


def test_reassigned_and_deleted_attributes_are_followed():
    """An attribute set to None then to a Module counts (from then on, so after those set earlier); a
    deleted one no longer does; a property is not mistaken for an attribute."""

    class Swapping(Module):
        def __init__(self):
            self.head = None
            self.w = Value(1.0)

        @property
        def both(self):
            return [self.w, self.w]

        @both.setter
        def both(self, value):
            self.w = value

    m = Swapping()
    m.both = Value(2.0)
    m.head = Neuron(1, seed=0)
    assert m.parameters() == [m.w, *m.head.w, m.head.b] and list(m.state_dict()) == ["w", "head.weight", "head.bias"]
    del m.head
    assert m.parameters() == [m.w] and list(m.state_dict()) == ["w"]


def test_a_subclass_of_a_built_in_keeps_its_extra_parameters():
    """A Layer subclass that adds a Value gets it in parameters and state_dict, beside weight and bias."""

    class GainLayer(Layer):
        def __init__(self):
            super().__init__(2, 2, seed=0)
            self.gain = Value(1.5)

    layer = GainLayer()
    assert layer.parameters()[-1] is layer.gain and len(layer.parameters()) == 7
    assert list(layer.state_dict()) == ["weight", "bias", "gain"]


def _has_attribute_dict(obj) -> bool:
    """Whether obj's attributes live in a dict of their own (rather than CPython 3.11+'s compact storage)."""
    return any(isinstance(r, dict) and "activation" in r for r in gc.get_referents(obj))


def test_finding_parameters_keeps_the_attributes_compact():
    """parameters, state_dict, names, children, zero_grad and repr never read a module's __dict__, which
    would turn its compact attribute storage into a dict and slow every later forward pass (by 7%)."""
    fresh = Neuron(2, seed=0)
    vars(fresh)
    if not _has_attribute_dict(fresh):
        pytest.skip("the check cannot see the attribute dict on this Python")
    if _has_attribute_dict(Neuron(2, seed=0)):
        pytest.skip("this Python keeps every object's attributes in a dict: there is no compact storage to keep")
    model = MLP(2, [3, 1], seed=0)
    model.parameters(), model.named_parameters(), model.modules(), model.children(), repr(model)
    model.load_state_dict(model.state_dict())
    model.zero_grad()
    assert not any(_has_attribute_dict(m) for m in model.modules())


def test_calling_a_module_without_forward_says_what_to_define():
    """A subclass with no forward raises NotImplementedError naming the class and forward."""

    class Empty(Module):
        pass

    with pytest.raises(NotImplementedError, match="Empty: define forward"):
        Empty()(1.0)
    assert repr(Empty()) == "Empty()"


def test_repr_of_a_user_module_lists_its_children():
    """A user module's repr shows each sub-module under its name, as PyTorch's does."""
    text = repr(Net())
    assert text.splitlines()[0] == "Net("
    assert "  (encoder): Layer(nin=3, nout=4, activation='tanh')" in text
    assert "  (head): MLP(2, [3, 1], activation='relu', output_activation='linear')" in text


# ---------------------------------------------------------------------- save and load


@pytest.mark.parametrize(
    "model",
    [
        MLP(2, [5, 3], activation="tanh", output_activation="sigmoid", seed=0),
        Layer(3, 2, activation="leaky_relu", seed=0),
        Neuron(4, "linear", seed=0),
    ],
    ids=["MLP", "Layer", "Neuron"],
)
def test_save_then_load_rebuilds_the_same_model(model, tmp_path):
    """load(path) returns a model of the same class and architecture, with exactly the same numbers."""
    for p in model.parameters():
        p.data += 0.125  # biases too
    path = tmp_path / "model.json"
    model.save(path)
    copy = load(path)
    assert type(copy) is type(model) and repr(copy) == repr(model)
    assert copy.state_dict() == model.state_dict()
    x = [0.3, -0.2, 0.9, 0.1][: model._config()["nin"]]
    out_a, out_b = model(x), copy(x)
    if isinstance(out_a, list):
        assert [v.data for v in out_a] == [v.data for v in out_b]
    else:
        assert out_a.data == out_b.data


def test_saved_file_is_readable_json_with_architecture_and_parameters(tmp_path):
    """The file is JSON holding the class, the architecture and the parameters, one weight row per line."""
    model = MLP(2, [3, 1], seed=0)
    path = tmp_path / "m.json"
    model.save(str(path))
    text = path.read_text()
    doc = json.loads(text)
    assert doc["class"] == "MLP" and doc["version"] == 1
    assert doc["architecture"] == {"nin": 2, "nouts": [3, 1], "activation": "relu", "output_activation": "linear"}
    assert doc["parameters"] == model.state_dict()
    assert len(text.splitlines()) > 10  # not one long line


def test_a_user_module_saves_and_loads_into_a_new_instance(tmp_path):
    """save/load is one symmetric pair for any Module: a Net with other weights becomes the saved one."""
    a, b = Net(seed=1), Net(seed=7)
    path = tmp_path / "net.json"
    a.save(path)
    assert json.loads(path.read_text())["architecture"] is None
    assert b.load(path) is b
    assert b.state_dict() == a.state_dict()
    assert b([0.1, 0.2, 0.3]).data == a([0.1, 0.2, 0.3]).data


def test_nn_load_explains_that_a_user_module_is_built_by_its_own_code(tmp_path):
    """nn.load cannot build a user's class: the error says to make one and call its .load(path)."""
    Net().save(tmp_path / "net.json")
    with pytest.raises(ValueError, match=r"holds a 'Net'.*make one and call its \.load\(path\)"):
        load(tmp_path / "net.json")


def test_loading_into_a_module_of_another_structure_changes_nothing(tmp_path):
    """A file of another shape, or a built-in of another architecture, is refused and the model is unchanged."""
    MLP(2, [3, 1], activation="relu", seed=0).save(tmp_path / "relu.json")
    other_shape, other_act = MLP(2, [4, 1], seed=1), MLP(2, [3, 1], activation="tanh", seed=1)
    before = (other_shape.state_dict(), other_act.state_dict())
    with pytest.raises(ValueError, match=r"holds MLP .*'nouts': \[3, 1\].*, not MLP\(2, \[4, 1\]"):
        other_shape.load(tmp_path / "relu.json")
    with pytest.raises(ValueError, match="activation.*'relu'"):
        other_act.load(tmp_path / "relu.json")
    with pytest.raises(ValueError, match="missing key 'encoder.weight'"):
        Net().load(tmp_path / "relu.json")
    assert (other_shape.state_dict(), other_act.state_dict()) == before


def test_save_replaces_atomically_and_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    """If the final rename fails, the old file is intact and no temporary file is left behind."""
    path = tmp_path / "m.json"
    MLP(2, [2, 1], seed=0).save(path)
    before = path.read_text()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        MLP(2, [2, 1], seed=1).save(path)
    assert path.read_text() == before
    assert os.listdir(tmp_path) == ["m.json"]


def test_save_refuses_non_finite_parameters(tmp_path):
    """A NaN parameter raises a ValueError naming it, and no file is written."""
    model = MLP(2, [2, 1], seed=0)
    model.layers[1].neurons[0].b.data = math.nan
    with pytest.raises(ValueError, match="layers.1.bias"):
        model.save(tmp_path / "m.json")
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------- files written by 0.1


def _plain_forward(doc, x):
    """An MLP/Layer/Neuron forward pass in plain floats, from a file's numbers: the oracle."""
    acts = {"relu": lambda z: max(z, 0.0), "tanh": math.tanh, "sigmoid": lambda z: 1 / (1 + math.exp(-z)),
            "linear": lambda z: z, "leaky_relu": lambda z: z if z > 0 else 0.01 * z}
    arch, params = doc["architecture"], doc["parameters"]
    if doc["class"] == "Neuron":
        z = sum(w * xi for w, xi in zip(params["weight"], x)) + params["bias"]
        return [acts[arch.get("activation", "relu")](z)]
    if doc["class"] == "Layer":
        layers = [(params["weight"], params["bias"], arch.get("activation", "relu"))]
    else:
        n = len(arch["nouts"])
        layers = [(params[f"layers.{i}.weight"], params[f"layers.{i}.bias"],
                   arch["activation"] if i < n - 1 else arch["output_activation"]) for i in range(n)]
    h = x
    for W, B, act in layers:
        h = [acts[act](sum(w * v for w, v in zip(row, h)) + b) for row, b in zip(W, B)]
    return h


@pytest.mark.parametrize("name", ["mlp_v0.1.json", "layer_v0.1.json", "neuron_v0.1.json"])
def test_files_saved_by_0_1_still_load_compute_and_save_the_same(name, tmp_path):
    """A model file written by autograd_tiny 0.1 loads with its numbers, computes what its numbers say,
    and saves back byte for byte."""
    path = DATA / name
    doc = json.loads(path.read_text())
    model = load(path)
    assert type(model).__name__ == doc["class"] and model.state_dict() == doc["parameters"]
    x = [0.4, -0.9, 0.25][: doc["architecture"]["nin"]]
    out = model(x)
    out = out if isinstance(out, list) else [out]
    assert [v.data for v in out] == pytest.approx(_plain_forward(doc, x), rel=1e-13, abs=1e-15)
    model.save(tmp_path / name)
    assert (tmp_path / name).read_bytes() == path.read_bytes()


# ---------------------------------------------------------------------- hostile model files


def _good_doc():
    model = MLP(2, [2, 1], seed=0)
    return {
        "format": "autograd_tiny",
        "version": 1,
        "class": "MLP",
        "architecture": model._config(),
        "parameters": model.state_dict(),
    }


def _without(key):
    doc = _good_doc()
    del doc[key]
    return json.dumps(doc)


def _with(**changes):
    doc = _good_doc()
    doc.update(changes)
    return json.dumps(doc)


def _arch(**changes):
    arch = {**_good_doc()["architecture"], **changes}
    return _with(architecture={k: v for k, v in arch.items() if v is not None})


@pytest.mark.parametrize(
    "text, match",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (_without("parameters"), "no 'parameters'"),
        (_without("architecture"), "no 'architecture'"),
        (_without("version"), "no 'version'"),
        (_with(format="other"), "not an autograd_tiny model"),
        (_with(version=2), "unknown version 2"),
        (_with(version="1"), "unknown version '1'"),
        (_with(version=True), "unknown version True"),
        (_with(extra=1), "unexpected entry 'extra'"),
        (_with(**{"class": "Transformer"}), "holds a 'Transformer', which nn.load cannot build"),
        (_arch(nouts=None), "bad architecture.*missing 'nouts'"),
        (_arch(activation="swish"), "bad architecture.*activation must be one of .*, got 'swish'"),
        (_arch(fused="no"), "bad architecture.*fused must be True or False, got 'no'"),
        (_arch(fused=1), "bad architecture.*fused must be True or False, got 1"),
        (_arch(nin=2.0), "bad architecture.*nin must be an int"),
        (_arch(nin=True), "bad architecture.*nin must be an int"),
        (_arch(init="xavier"), "bad architecture.*unexpected argument 'init'"),
        (_arch(nin=3), r"'layers.0.weight' should be a list of 2 x 3"),
        (_with(parameters={"layers.0.weight": [[0.0, 0.0], [0.0, 0.0]]}), "the parameters should be"),
        (_with().replace('"layers.1.bias": [0.0]', '"layers.1.bias": [NaN]'), "NaN"),
        (_with().replace('"layers.1.bias": [0.0]', '"layers.1.bias": [-Infinity]'), "Infinity"),
        (_with().replace('"layers.1.bias": [0.0]', '"layers.1.bias": [1e999]'), "'layers.1.bias' holds inf"),
        (_with().replace('"layers.1.bias": [0.0]', '"layers.1.bias": [[0.0]]'), r"'layers.1.bias' should be a list of 1"),
        (_with().replace('"layers.1.bias": [0.0]', '"layers.1.bias": ["0"]'), "holds str '0', not a number"),
        (_with().replace('"layers.1.bias": [0.0]', '"layers.1.bias": [true]'), "holds bool True, not a number"),
    ],
)
def test_load_rejects_a_bad_file_with_a_clear_error(tmp_path, text, match):
    """Bad JSON, missing or extra entries, unknown versions and classes, loosely typed architectures,
    wrong shapes and non-finite numbers each get a one-line ValueError."""
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as info:
        load(path)
    assert "\n" not in str(info.value)


def test_load_rejects_a_file_that_is_not_text(tmp_path):
    """Bytes that are not UTF-8 raise a ValueError naming the file."""
    path = tmp_path / "bin.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="bin.json is not UTF-8"):
        load(path)


def test_an_absurd_architecture_is_refused_before_anything_is_built(tmp_path, monkeypatch):
    """A small file claiming nin = 10,000,000 (0.1 spent 117 s and 12 GB on it) fails at once without
    building a single neuron, and so does an honest model above the parameter cap."""
    built = []
    real_init = Neuron.__init__

    def counting_init(self, *args, **kwargs):
        built.append(1)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(Neuron, "__init__", counting_init)
    path = tmp_path / "liar.json"
    path.write_text(_arch(nin=10_000_000))
    with pytest.raises(ValueError, match="'layers.0.weight' should be a list of 2 x 10000000"):
        load(path)
    huge = tmp_path / "huge.json"
    huge.write_text(_arch(nouts=[10**6, 10**6]))
    with pytest.raises(ValueError, match="'layers.0.weight' should be a list of 1000000 x 2"):
        load(huge)
    MLP(2, [2, 1], seed=0).save(tmp_path / "fine.json")
    built.clear()
    with pytest.raises(ValueError, match="holds more than 5 parameters"):
        load(tmp_path / "fine.json", max_parameters=5)
    assert built == []


@pytest.mark.parametrize("where", ["document", "architecture", "parameters"])
def test_deeply_nested_json_is_a_value_error_never_a_recursion_error(tmp_path, where):
    """100,000 nested lists anywhere in a file, or 900 inside the parameters, raise a short ValueError."""
    deep = "[" * 100_000 + "]" * 100_000
    text = {"document": deep,
            "architecture": _arch(nouts="@").replace('"@"', deep),
            "parameters": _with().replace('"layers.1.bias": [0.0]', '"layers.1.bias": ' + "[" * 900 + "]" * 900)}[where]
    path = tmp_path / "deep.json"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        load(path)
    assert len(str(info.value)) < 400


def test_an_error_about_a_huge_number_shows_it_shortened(tmp_path):
    """A 4,000-digit number in a file is named in a few dozen characters, not 4,000."""
    path = tmp_path / "big.json"
    path.write_text(_arch(nin=int("7" * 4000)))
    with pytest.raises(ValueError, match=r"7777\.\.\.7777") as info:
        load(path)
    assert len(str(info.value)) < 400
    path.write_text(_with().replace('"layers.1.bias": [0.0]', '"layers.1.bias": [' + "9" * 4000 + "]"))
    with pytest.raises(ValueError, match=r"'layers.1.bias' holds 9+\.\.\.9+; parameters must be finite") as info:
        load(path)
    assert len(str(info.value)) < 400


def test_a_file_above_the_size_cap_is_refused_before_parsing(tmp_path):
    """A file larger than max_bytes raises a ValueError saying so (and how to raise the cap), from
    nn.load and from model.load alike."""
    MLP(2, [3, 1], seed=0).save(tmp_path / "m.json")
    with pytest.raises(ValueError, match="larger than 100 bytes.*max_bytes="):
        load(tmp_path / "m.json", max_bytes=100)
    with pytest.raises(ValueError, match="holds more than 12 parameters"):
        MLP(2, [3, 1], seed=1).load(tmp_path / "m.json", max_parameters=12)


def test_fused_false_in_a_file_builds_an_unfused_model(tmp_path):
    """"fused": false is honoured (a strict bool), and gives the same numbers."""
    path = tmp_path / "unfused.json"
    path.write_text(_arch(fused=False))
    model = load(path)
    assert all(n.fused is False for layer in model.layers for n in layer.neurons)


@pytest.mark.parametrize("keep", [0.0, 0.3, 0.9, "all but the closing brace"])
def test_a_truncated_file_is_a_clear_error_and_changes_nothing(tmp_path, keep):
    """A model file cut short anywhere (as a copy interrupted mid-way) raises 'not valid JSON' from
    nn.load and from model.load, and the model keeps its numbers."""
    path = tmp_path / "m.json"
    MLP(2, [4, 1], seed=0).save(path)
    raw = path.read_bytes()
    path.write_bytes(raw[: raw.rindex(b"}")] if isinstance(keep, str) else raw[: int(len(raw) * keep)])
    model = MLP(2, [4, 1], seed=1)
    before = model.state_dict()
    with pytest.raises(ValueError, match="is not valid JSON"):
        load(path)
    with pytest.raises(ValueError, match="is not valid JSON"):
        model.load(path)
    assert model.state_dict() == before
