"""Tests of autograd_tiny.nn: Neuron, Layer, MLP against PyTorch and closed forms; state_dict; save/load."""

import json
import math
import os
import random

import pytest

from autograd_tiny import Value
from autograd_tiny import nn as nn_module
from autograd_tiny.engine import NeuronOp, topological_order
from autograd_tiny.nn import MLP, Layer, Module, Neuron, load

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
    """Our parameters' gradients, shaped as the state_dict."""
    out = {}
    for name, values in model._tensors().items():
        out[name] = [v.grad for v in values] if isinstance(values[0], Value) else [[v.grad for v in row] for row in values]
    return out


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
        assert _flat(grads[name]) == pytest.approx(_flat(t_param.grad.tolist()), rel=1e-12, abs=1e-14), name
    assert [v.grad for v in x] == pytest.approx(t_x.grad.tolist(), rel=1e-12, abs=1e-14)


def _flat(x):
    return [y for item in x for y in _flat(item)] if isinstance(x, list) else [x]


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
    neurons = [isinstance(n.primitive, NeuronOp) for n in topological_order(out_f)]
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
    firsts = [node for node in topological_order(out) if isinstance(node.primitive, NeuronOp) and len(node.parents) == 5]
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
        ((2, [1]), {"activation": "softmax"}, "activation 'softmax'"),
        ((2, [1]), {"output_activation": "gelu"}, "output_activation 'gelu'"),
        ((2, [1]), {"init": "xavier"}, "init 'xavier'"),
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
    model = MLP(2, [3, 2], init="uniform", rng=random.Random(1337))
    rng = random.Random(1337)
    expected = [[[rng.uniform(-1, 1) for _ in range(nin)] for _ in range(nout)] for nin, nout in [(2, 3), (3, 2)]]
    sd = model.state_dict()
    assert [sd["layers.0.weight"], sd["layers.1.weight"]] == expected
    assert sd["layers.0.bias"] == [0.0] * 3 and sd["layers.1.bias"] == [0.0] * 2


def test_seed_and_rng_are_reproducible():
    """The same seed gives the same weights, a Random seeded alike gives them too, another seed differs."""
    a = MLP(2, [4, 1], seed=3).state_dict()
    assert a == MLP(2, [4, 1], seed=3).state_dict()
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
        (changed(layers_1_bias=[math.nan]), r"'layers.1.bias\[0\]' is nan"),
        (changed(layers_1_bias=[math.inf]), r"'layers.1.bias\[0\]' is inf"),
        (changed(layers_1_bias=[10**400]), r"'layers.1.bias\[0\]' is 1000"),
        (changed(layers_1_bias=["0.5"]), r"'layers.1.bias\[0\]' should be a number"),
        (changed(layers_1_bias=[True]), r"'layers.1.bias\[0\]' should be a number"),
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
    assert doc["class"] == "MLP"
    assert doc["architecture"] == {"nin": 2, "nouts": [3, 1], "activation": "relu", "output_activation": "linear"}
    assert doc["parameters"] == model.state_dict()
    assert len(text.splitlines()) > 10  # not one long line


def test_save_replaces_atomically_and_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    """If the final rename fails, the old file is intact and no temporary file is left behind."""
    path = tmp_path / "m.json"
    MLP(2, [2, 1], seed=0).save(path)
    before = path.read_text()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(nn_module.os, "replace", broken_replace)
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


def test_save_refuses_other_modules(tmp_path):
    """A Module subclass that load could not rebuild cannot be saved."""

    class Custom(Module):
        pass

    with pytest.raises(TypeError, match="Custom"):
        Custom().save(tmp_path / "c.json")


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


@pytest.mark.parametrize(
    "text, match",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (_without("parameters"), "no 'parameters'"),
        (_without("architecture"), "no 'architecture'"),
        (_with(format="other"), "not an autograd_tiny model"),
        (_with(**{"class": "Transformer"}), "unknown class 'Transformer'"),
        (_with(architecture={"nin": 2}), "bad architecture"),
        (_with(architecture={"nin": 2, "nouts": [2, 1], "activation": "swish"}), "bad architecture"),
        (_with(architecture={"nin": 3, "nouts": [2, 1]}), r"'layers.0.weight\[0\]' should have 3"),
        (_with(parameters={"layers.0.weight": [[0.0, 0.0], [0.0, 0.0]]}), "missing key"),
        (_with().replace('"layers.1.bias": [0.0]', '"layers.1.bias": [NaN]'), "NaN"),
        (_with().replace('"layers.1.bias": [0.0]', '"layers.1.bias": [-Infinity]'), "Infinity"),
        (_with().replace('"layers.1.bias": [0.0]', '"layers.1.bias": [1e999]'), "is inf"),
    ],
)
def test_load_rejects_a_bad_file_with_a_clear_error(tmp_path, text, match):
    """Bad JSON, missing entries, unknown classes, bad architectures, wrong shapes and NaN each get a clear ValueError."""
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        load(path)


def test_load_rejects_a_file_that_is_not_text(tmp_path):
    """Bytes that are not UTF-8 raise a ValueError naming the file."""
    path = tmp_path / "bin.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="bin.json"):
        load(path)
