"""Tests of autograd_tiny.bridge: to_torch and from_torch keep outputs and gradients to 1e-12 in
float64, refuse what they cannot carry with a clear error, and compare_gradients prints the truth.
Only the comparisons with torch need torch."""

import io
import random
import subprocess
import sys

import pytest
from conftest import flat

from autograd_tiny import Value, compare_gradients, from_torch, to_torch
from autograd_tiny.bridge import GradientComparison
from autograd_tiny.nn import MLP, Layer, Module, Neuron

ACTIVATIONS = ["relu", "tanh", "sigmoid", "leaky_relu", "linear"]
X = [[0.7, -1.3, 0.4], [-0.2, 0.5, 1.1], [1.5, 0.3, -0.8], [0.0, -0.6, 0.25]]


def _nudge(model):
    """Non-zero biases, so that they count."""
    for p in model.parameters():
        p.data += 0.1
    return model


def _outputs(model, X):
    rows = [model(x) for x in X]
    return [r if isinstance(r, list) else [r] for r in rows]


def _assert_same_network(torch, model, net):
    """Our model and the torch net give the same outputs on X, and the same gradient of the same
    weighted sum of outputs for every parameter (matched through state_dict keys)."""
    outs = _outputs(model, X)
    t_out = net(torch.tensor(X, dtype=torch.float64))
    assert [v.data for row in outs for v in row] == pytest.approx(t_out.flatten().tolist(), rel=1e-12, abs=1e-14)
    rng = random.Random(0)
    weights = [[rng.uniform(-1, 1) for _ in row] for row in outs]
    model.zero_grad()
    Value.sum([v * w for row, ws in zip(outs, weights) for v, w in zip(row, ws)]).backward()
    (t_out * torch.tensor(weights, dtype=torch.float64)).sum().backward()
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    for i, layer in enumerate(model.layers):
        ours_w = [[w.grad for w in n.w] for n in layer.neurons]
        ours_b = [n.b.grad for n in layer.neurons]
        assert flat(ours_w) == pytest.approx(flat(linears[i].weight.grad.tolist()), rel=1e-12, abs=1e-14)
        assert ours_b == pytest.approx(linears[i].bias.grad.tolist(), rel=1e-12, abs=1e-14)


# ---------------------------------------------------------------------- to_torch


@pytest.mark.parametrize("output_activation", ["linear", "sigmoid"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_to_torch_gives_the_same_outputs_and_gradients(activation, output_activation):
    """An MLP carried to torch computes the same outputs and gradients on a batch, to 1e-12."""
    torch = pytest.importorskip("torch")
    model = _nudge(MLP(3, [5, 4, 2], activation=activation, output_activation=output_activation, seed=1))
    net = to_torch(model)
    assert all(p.dtype == torch.float64 for p in net.parameters())
    _assert_same_network(torch, model, net)


def test_to_torch_builds_linear_and_activation_modules():
    """The Sequential holds a Linear per layer, each followed by its activation (none for linear)."""
    torch = pytest.importorskip("torch")
    net = to_torch(MLP(2, [3, 3, 3, 1], activation="leaky_relu", output_activation="tanh", seed=0))
    assert [type(m).__name__ for m in net] == ["Linear", "LeakyReLU", "Linear", "LeakyReLU", "Linear", "LeakyReLU",
                                               "Linear", "Tanh"]
    assert net[1].negative_slope == 0.01
    assert [type(m).__name__ for m in to_torch(MLP(2, [3, 1], seed=0))] == ["Linear", "ReLU", "Linear"]
    assert isinstance(net, torch.nn.Sequential)


def test_to_torch_carries_a_layer_and_a_neuron():
    """A Layer and a Neuron become a Linear (and activation) with their numbers."""
    torch = pytest.importorskip("torch")
    layer, neuron = Layer(3, 2, activation="tanh", seed=2), _nudge(Neuron(3, "sigmoid", seed=3))
    x = torch.tensor(X, dtype=torch.float64)
    assert flat(to_torch(layer)(x).tolist()) == pytest.approx([v.data for r in X for v in layer(r)], rel=1e-12)
    assert to_torch(neuron)(x)[:, 0].tolist() == pytest.approx([neuron(r).data for r in X], rel=1e-12)


def test_to_torch_leaves_torchs_random_generator_alone():
    """Building the torch net draws no random numbers: torch's generator state is unchanged."""
    torch = pytest.importorskip("torch")
    before = torch.get_rng_state()
    to_torch(MLP(2, [8, 1], seed=0))
    assert torch.equal(torch.get_rng_state(), before)


def test_to_torch_refuses_a_module_whose_computation_it_does_not_know():
    """A user's Module (even a subclass of MLP) is a TypeError: its forward could be anything."""

    class Mine(MLP):
        pass

    with pytest.raises(TypeError, match="to_torch: converts a Neuron, Layer or MLP .*not Mine"):
        to_torch(Mine(2, [1], seed=0))
    with pytest.raises(TypeError, match="not Module"):
        to_torch(Module())


# ---------------------------------------------------------------------- from_torch


def _torch_mlp(torch, activation_modules, sizes, seed):
    gen = torch.Generator().manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        linear = torch.nn.Linear(a, b, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.rand(b, a, generator=gen, dtype=torch.float64) * 2 - 1)
            linear.bias.copy_(torch.rand(b, generator=gen, dtype=torch.float64) - 0.5)
        layers.append(linear)
        if activation_modules[i] is not None:
            layers.append(activation_modules[i])
    return torch.nn.Sequential(*layers)


@pytest.mark.parametrize("hidden", ["ReLU", "Tanh", "Sigmoid", "LeakyReLU", None])
def test_from_torch_gives_the_same_outputs_and_gradients(hidden):
    """A torch Sequential carried here computes the same outputs and gradients, to 1e-12."""
    torch = pytest.importorskip("torch")
    make = (lambda: None) if hidden is None else getattr(torch.nn, hidden)
    net = _torch_mlp(torch, [make(), make(), torch.nn.Sigmoid()], [3, 6, 4, 2], seed=5)
    model = from_torch(net)
    expected = {"ReLU": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid", "LeakyReLU": "leaky_relu", None: "linear"}
    assert (model.activation, model.output_activation) == (expected[hidden], "sigmoid")
    _assert_same_network(torch, model, net)


def test_from_torch_skips_identity_and_takes_float32_weights_exactly():
    """Identity modules are skipped; float32 weights become the same numbers as float64."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Linear(2, 3), torch.nn.Identity(), torch.nn.Tanh(),
                              torch.nn.Linear(3, 1))
    model = from_torch(net)
    assert repr(model) == "MLP(2, [3, 1], activation='tanh', output_activation='linear')"
    assert model.state_dict()["layers.0.weight"] == net[1].weight.double().tolist()
    assert model.state_dict()["layers.1.bias"] == net[4].bias.double().tolist()


def test_to_torch_then_from_torch_is_the_same_model():
    """The round trip keeps the architecture and every number."""
    pytest.importorskip("torch")
    model = _nudge(MLP(3, [4, 4, 2], activation="sigmoid", output_activation="tanh", seed=9))
    back = from_torch(to_torch(model))
    assert repr(back) == repr(model) and back.state_dict() == model.state_dict()


def _bad_nets(torch):
    nn = torch.nn
    return [
        (nn.Linear(2, 1), TypeError, "expected a torch.nn.Sequential"),
        (nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.1), nn.Linear(3, 1)), ValueError,
         r"layer 1 \(Dropout\) has no autograd_tiny counterpart"),
        (nn.Sequential(nn.ReLU(), nn.Linear(2, 1)), ValueError, r"layer 0 \(ReLU\) must follow a Linear"),
        (nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Tanh()), ValueError, r"layer 2 \(Tanh\) must follow a Linear"),
        (nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(0.2)), ValueError, "slope 0.2; autograd_tiny's leaky_relu has 0.01"),
        (nn.Sequential(nn.Linear(2, 3, bias=False)), ValueError, r"layer 0 \(Linear\) has no bias"),
        (nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 1)), ValueError, r"layer 1 \(Linear\) takes 4 inputs"),
        (nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 1)), ValueError,
         "hidden layers use different activations"),
        (nn.Sequential(nn.Sequential(nn.Linear(2, 1))), ValueError, r"layer 0 \(Sequential\) has no"),
        (nn.Sequential(), ValueError, "no Linear layer"),
    ]


def test_from_torch_refuses_what_an_mlp_cannot_hold_naming_the_layer():
    """Other layers, activations out of place, another leaky slope, no bias, mismatched sizes, mixed hidden
    activations and an empty Sequential each raise one clear error naming the layer."""
    torch = pytest.importorskip("torch")
    for net, error, match in _bad_nets(torch):
        with pytest.raises(error, match=match):
            from_torch(net)


# ---------------------------------------------------------------------- compare_gradients


@pytest.mark.parametrize("loss, outputs, y", [
    ("mse", 1, [0.5, -1.0, 2.0, 0.0]),
    ("hinge", 1, [1, -1, -1, 1]),
    ("bce_with_logits", 1, [1.0, 0.0, 0.25, 1.0]),
    ("cross_entropy", 3, [0, 2, 1, 2]),
])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_compare_gradients_prints_every_parameter_and_they_agree(loss, outputs, y, reduction):
    """The table has one row per parameter with our name and torch's, and both sides agree to 1e-12."""
    pytest.importorskip("torch")
    model = _nudge(MLP(3, [4, outputs], activation="tanh", seed=4))
    out = io.StringIO()
    result = compare_gradients(model, X, y, loss=loss, reduction=reduction, file=out)
    lines = out.getvalue().splitlines()
    n = len(model.parameters())
    assert len(result.rows) == n and len(lines) == n + 3
    assert lines[2].split()[:2] == ["layers.0.weight[0][0]", "0.weight[0,"]
    assert {r[0] for r in result.rows} == {name for name, _ in model.named_parameters()}
    assert result.max_difference < 1e-12
    # and the gradients are the loss's: our own backward of the same loss (no torch involved)
    model.zero_grad()
    fn = __import__("autograd_tiny.losses", fromlist=[loss]).__dict__[loss]
    rows = _outputs(model, X)
    ours = fn(rows if loss == "cross_entropy" else [r[0] for r in rows], y, reduction=reduction)
    ours.backward()
    assert {name: g for name, _, g, _ in result.rows} == {name: p.grad for name, p in model.named_parameters()}
    assert result.loss == ours.data


def test_gradient_comparison_reports_the_largest_gap():
    """max_difference is the largest gap among loss, outputs and gradients, and the table shows each row's."""
    result = GradientComparison(1.0, 1.0, [0.5], [0.5], [("w", "0.weight[0, 0]", 0.25, 0.5), ("b", "0.bias[0]", 1.0, 1.0)])
    assert result.max_difference == 0.25
    table = result.table()
    assert "0.25" in table.splitlines()[2] and table.splitlines()[-1].endswith("0.25")


def test_the_bridge_imports_torch_only_when_called_and_says_how_to_get_it():
    """import autograd_tiny does not import torch; without torch, to_torch raises an ImportError saying what to install."""
    code = ("import sys; sys.modules['torch'] = None; import autograd_tiny\n"
            "try:\n    autograd_tiny.to_torch(autograd_tiny.nn.MLP(2, [1], seed=0))\n"
            "except ImportError as err:\n    print(err)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ("to_torch needs PyTorch: "
                                  "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu")
