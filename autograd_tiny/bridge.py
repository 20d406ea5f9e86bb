"""The bridge to PyTorch: carry an MLP there and back, and compare gradients side by side.

For learners who outgrow scalars. `to_torch` turns a `Neuron`, `Layer` or `MLP` into a
float64 ``torch.nn.Sequential`` of ``Linear`` and activation modules with the same weights;
`from_torch` does the reverse; `compare_gradients` runs the same loss through both and prints
every parameter's gradient in two columns. In float64 the numbers agree to about 1e-15.

torch is imported only when one of these functions is called: autograd_tiny does not need it.
(``pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu`` installs the
CPU-only build, without the gigabytes of CUDA libraries.)

Example (needs torch):
    >>> from autograd_tiny import nn, to_torch, from_torch
    >>> model = nn.MLP(2, [4, 1], seed=0)
    >>> net = to_torch(model)   # doctest: +SKIP
    >>> net                     # doctest: +SKIP
    Sequential(
      (0): Linear(in_features=2, out_features=4, bias=True)
      (1): ReLU()
      (2): Linear(in_features=4, out_features=1, bias=True)
    )
    >>> from_torch(net).state_dict() == model.state_dict()   # doctest: +SKIP
    True
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, NamedTuple, TextIO

from . import losses
from .checks import check_choice
from .engine import Value
from .nn import MLP, Layer, Module, Neuron

__all__ = ["to_torch", "from_torch", "compare_gradients", "GradientComparison"]

# our activation -> the name of torch's module (None: no module, a plain Linear)
_TORCH_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "leaky_relu": "LeakyReLU",
                      "linear": None}
_LOSSES = ("mse", "hinge", "bce_with_logits", "cross_entropy")
_CPU_WHEELS = "https://download.pytorch.org/whl/cpu"  # PyTorch's index of CPU-only builds


def to_torch(model: Module) -> Any:
    """The same network as a float64 ``torch.nn.Sequential``: a ``Linear`` per layer, each
    followed by its activation module (none for 'linear'), holding the same weights.

    Calling it on a batch ``torch.tensor(X, dtype=torch.float64)`` of shape (n, nin) gives an
    (n, nout) tensor: the outputs of the model, one row per example. Torch's random generator
    is not touched.

    Example:
        >>> net = to_torch(MLP(2, [3, 1], activation="tanh", seed=0))   # doctest: +SKIP
        >>> [type(m).__name__ for m in net]                            # doctest: +SKIP
        ['Linear', 'Tanh', 'Linear']
    """
    layers = _linear_layers("to_torch", model)
    torch = _import_torch("to_torch")
    modules = []
    for neurons, activation in layers:
        # skip_init: no random initial weights (they are overwritten), so torch's generator is untouched
        linear = torch.nn.utils.skip_init(torch.nn.Linear, len(neurons[0].w), len(neurons),
                                          dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor([[w.data for w in n.w] for n in neurons], dtype=torch.float64))
            linear.bias.copy_(torch.tensor([n.b.data for n in neurons], dtype=torch.float64))
        modules.append(linear)
        name = _TORCH_ACTIVATIONS[activation]
        if name == "LeakyReLU":
            modules.append(torch.nn.LeakyReLU(0.01))
        elif name is not None:
            modules.append(getattr(torch.nn, name)())
    return torch.nn.Sequential(*modules)


def from_torch(module: Any) -> MLP:
    """An `MLP` with the weights of a ``torch.nn.Sequential`` of ``Linear``, ``ReLU``, ``Tanh``,
    ``Sigmoid``, ``LeakyReLU`` (slope 0.01) and ``Identity`` modules.

    Each Linear may be followed by one activation. The hidden layers must share one (an MLP
    has one activation for its hidden layers and one for its output). Anything else is a
    `ValueError` naming the layer.

    Example:
        >>> from torch.nn import Linear, Sequential, Tanh                          # doctest: +SKIP
        >>> from_torch(Sequential(Linear(2, 8), Tanh(), Linear(8, 1)))              # doctest: +SKIP
        MLP(2, [8, 1], activation='tanh', output_activation='linear')
    """
    torch = _import_torch("from_torch")
    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(f"from_torch: expected a torch.nn.Sequential of Linear and activation modules, "
                         f"got {type(module).__name__}")
    by_name = {name: ours for ours, name in _TORCH_ACTIVATIONS.items() if name is not None}
    layers: list[dict[str, Any]] = []
    for name, m in module.named_children():
        kind = type(m).__name__
        where = f"from_torch: layer {name} ({kind})"
        if isinstance(m, torch.nn.Linear):
            if m.bias is None:
                raise ValueError(f"{where} has no bias; every autograd_tiny neuron has one")
            if layers and m.in_features != len(layers[-1]["bias"]):
                raise ValueError(f"{where} takes {m.in_features} inputs, "
                                 f"the layer before gives {len(layers[-1]['bias'])}")
            layers.append({"nin": m.in_features, "weight": m.weight.detach().tolist(),
                           "bias": m.bias.detach().tolist(), "activation": "linear"})
        elif isinstance(m, torch.nn.Identity):
            continue
        elif kind in by_name and type(m) is getattr(torch.nn, kind):
            if not layers or layers[-1]["activation"] != "linear":
                raise ValueError(f"{where} must follow a Linear layer (one activation per layer)")
            if kind == "LeakyReLU" and m.negative_slope != 0.01:
                raise ValueError(f"{where} has slope {m.negative_slope!r}; "
                                 "autograd_tiny's leaky_relu has 0.01")
            layers[-1]["activation"] = by_name[kind]
        else:
            raise ValueError(f"{where} has no autograd_tiny counterpart (use Linear, ReLU, Tanh, Sigmoid, "
                             "LeakyReLU, Identity)")
    if not layers:
        raise ValueError("from_torch: the Sequential has no Linear layer")
    hidden = {layer["activation"] for layer in layers[:-1]}
    if len(hidden) > 1:
        used = ", ".join(sorted(hidden))
        raise ValueError(f"from_torch: the hidden layers use different activations ({used}); "
                         "an MLP has one for its hidden layers and one for its output")
    sizes = [len(layer["bias"]) for layer in layers]
    model = MLP(layers[0]["nin"], sizes, hidden.pop() if hidden else "relu", layers[-1]["activation"], seed=0)
    state = {}
    for i, layer in enumerate(layers):
        state[f"layers.{i}.weight"], state[f"layers.{i}.bias"] = layer["weight"], layer["bias"]
    model.load_state_dict(state)
    return model


class GradientComparison(NamedTuple):
    """What `compare_gradients` found: both losses, both outputs, and one row per parameter
    (our name, torch's name, our gradient, torch's gradient).

    Example:
        >>> found = GradientComparison(0.5, 0.5, [1.0], [1.0], [("bias", "0.bias[0]", 0.25, 0.125)])
        >>> found.max_difference
        0.125
        >>> print(found.table().splitlines()[-1])
        largest difference (loss, 1 outputs, 1 gradients): 0.12
    """

    loss: float
    torch_loss: float
    outputs: list[float]
    torch_outputs: list[float]
    rows: list[tuple[str, str, float, float]]

    @property
    def max_difference(self) -> float:
        """The largest absolute difference between the two sides: loss, outputs and gradients."""
        pairs = [(self.loss, self.torch_loss), *zip(self.outputs, self.torch_outputs),
                 *((a, b) for _, _, a, b in self.rows)]
        return max(abs(a - b) for a, b in pairs)

    def table(self) -> str:
        """The side-by-side table that `compare_gradients` prints."""
        width = max(len("parameter"), *(len(r[0]) for r in self.rows))
        twidth = max(len("in torch"), *(len(r[1]) for r in self.rows))
        lines = [f"loss: autograd_tiny {self.loss:.15g}, torch {self.torch_loss:.15g}",
                 f"{'parameter':<{width}}  {'in torch':<{twidth}}  {'autograd_tiny grad':>22}  "
                 f"{'torch grad':>22}  {'|difference|':>12}"]
        for ours_name, torch_name, a, b in self.rows:
            lines.append(f"{ours_name:<{width}}  {torch_name:<{twidth}}  "
                         f"{a:>22.15g}  {b:>22.15g}  {abs(a - b):>12.2g}")
        lines.append(f"largest difference (loss, {len(self.outputs)} outputs, {len(self.rows)} gradients): "
                     f"{self.max_difference:.2g}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def compare_gradients(model: Module, X: Sequence[Sequence[float]], y: Sequence[Any], loss: str = "mse",
                      reduction: str = "mean", *, show: bool = True,
                      file: TextIO | None = None) -> GradientComparison:
    """Run the same loss on the same batch here and in PyTorch (float64), and print every
    parameter's gradient side by side.

    Args:
        model: a `Neuron`, `Layer` or `MLP` (its grads are overwritten).
        X: the inputs, one list of numbers per example.
        y: the targets: numbers for 'mse', -1/+1 for 'hinge', probabilities for
            'bce_with_logits', class indices for 'cross_entropy'.
        loss: one of 'mse', 'hinge', 'bce_with_logits', 'cross_entropy' (`autograd_tiny.losses`).
        reduction: 'mean' or 'sum'.
        show: print the table (to `file`, default stdout).

    Returns:
        A `GradientComparison`; its ``max_difference`` is the largest gap found.

    Example:
        >>> model = MLP(2, [3, 1], seed=0)
        >>> X, y = [[0.5, -1.0], [1.0, 2.0]], [1.0, -1.0]
        >>> result = compare_gradients(model, X, y, show=False)   # doctest: +SKIP
        >>> result.max_difference < 1e-12                         # doctest: +SKIP
        True
    """
    check_choice("compare_gradients", "loss", loss, _LOSSES)
    check_choice("compare_gradients", "reduction", reduction, ("mean", "sum"))
    net = to_torch(model)  # checks the model, imports torch
    import torch

    # here
    model.zero_grad()
    rows_out = [out if isinstance(out, list) else [out] for out in (model(x) for x in X)]
    if loss == "cross_entropy":
        ours = losses.cross_entropy(rows_out, list(y), reduction=reduction)
    elif any(len(row) != 1 for row in rows_out):
        raise ValueError(f"compare_gradients: {loss} needs one output per example, "
                         f"the model gives {len(rows_out[0])}")
    else:
        ours = getattr(losses, loss)([row[0] for row in rows_out], list(y), reduction=reduction)
    assert isinstance(ours, Value)  # reduction 'mean' or 'sum': one Value
    ours.backward()

    # in torch
    t_out = net(torch.tensor([list(x) for x in X], dtype=torch.float64))
    theirs = _torch_loss(torch, loss, t_out, list(y), reduction)
    theirs.backward()

    names = {p: name for name, p in model.named_parameters()}
    rows = []
    for (neurons, _), (index, linear) in zip(_linear_layers("compare_gradients", model), _linears(net)):
        for r, n in enumerate(neurons):
            for c, w in enumerate(n.w):
                theirs_grad = linear.weight.grad[r, c].item()
                rows.append((names[w], f"{index}.weight[{r}, {c}]", float(w.grad), theirs_grad))
        for r, n in enumerate(neurons):
            rows.append((names[n.b], f"{index}.bias[{r}]", float(n.b.grad), linear.bias.grad[r].item()))
    outputs = [v.data for row in rows_out for v in row]
    result = GradientComparison(ours.data, theirs.item(), outputs, t_out.detach().flatten().tolist(), rows)
    if show:
        print(result.table(), file=file or sys.stdout)
    return result


# ---------------------------------------------------------------------- helpers


def _import_torch(owner: str) -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError(f"{owner} needs PyTorch: "
                          f"pip install torch==2.13.0 --index-url {_CPU_WHEELS}") from None
    return torch


def _linear_layers(owner: str, model: Module) -> list[tuple[list[Neuron], str]]:
    """(neurons, activation) per layer of a built-in network."""
    if type(model) is MLP:
        return [(layer.neurons, layer.activation) for layer in model.layers]
    if type(model) is Layer:
        return [(model.neurons, model.activation)]
    if type(model) is Neuron:
        return [([model], model.activation)]
    raise TypeError(f"{owner}: converts a Neuron, Layer or MLP (whose computation it knows), "
                    f"not {type(model).__name__}")


def _linears(net: Any) -> list[tuple[str, Any]]:
    import torch

    return [(name, m) for name, m in net.named_children() if isinstance(m, torch.nn.Linear)]


def _torch_loss(torch: Any, loss: str, out: Any, y: list, reduction: str) -> Any:
    """torch's counterpart of our loss on a batch of outputs of shape (n, k)."""
    F = torch.nn.functional
    if loss == "cross_entropy":
        return F.cross_entropy(out, torch.tensor(y, dtype=torch.long), reduction=reduction)
    out = out[:, 0]  # one output per example (checked on our side)
    target = torch.tensor(y, dtype=torch.float64)
    if loss == "mse":
        return F.mse_loss(out, target, reduction=reduction)
    if loss == "bce_with_logits":
        return F.binary_cross_entropy_with_logits(out, target, reduction=reduction)
    margins = torch.relu(1 - target * out)  # hinge
    return margins.mean() if reduction == "mean" else margins.sum()
