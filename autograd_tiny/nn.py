"""Neural networks from Values: `Neuron`, `Layer` and `MLP`, each a `Module`.

As in micrograd, a neuron computes ``activation(w · x + b)``, a layer is a list of neurons and
an MLP is a list of layers. ``MLP(2, [16, 16, 1])`` has two ReLU hidden layers of 16 neurons
and one linear output, like micrograd's.

Your own networks subclass `Module` (autograd_tiny/module.py, also importable from here) as in
PyTorch: whatever Values and Modules you assign to attributes are its parameters and
sub-modules, with nothing else to write. `load` rebuilds a saved Neuron, Layer or MLP (the
file format is autograd_tiny/serialization.py's).

By default (``fused=True``) a whole neuron is ONE graph node: `Value.dot` with the activation
inside it, instead of a ``*`` node per weight, a chain of ``+`` nodes and an activation node.
The numbers and gradients are the same, the graph is many times smaller, hence faster.
``fused=False`` builds micrograd's per-op graph, for drawings that show every operation.

Example:
    >>> from autograd_tiny.nn import MLP
    >>> model = MLP(2, [16, 16, 1], seed=0)
    >>> model
    MLP(2, [16, 16, 1], activation='relu', output_activation='linear')
    >>> score = model([0.5, -1.0])  # one output: a Value
    >>> score.backward()
    >>> len(model.parameters())
    337
"""

from __future__ import annotations

import math
import numbers
import os
import random
from collections.abc import Callable, Sequence
from typing import Any

from . import serialization
from .checks import check_bool, check_choice, check_int, describe, make_rng
from .engine import Value
from .module import Module
from .neuron import NEURONS, NeuronOp, neuron, neuron_inputs

__all__ = ["Module", "Neuron", "Layer", "MLP", "load", "ACTIVATIONS"]

ACTIVATIONS: dict[str, Callable[[Value], Value] | None] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "leaky_relu": Value.leaky_relu,  # slope 0.01, as PyTorch
    "linear": None,  # no activation: the weighted sum itself
}

# A fused neuron is ONE node, the primitive of `Value.dot(..., activation=...)`, for the
# activations the engine can apply inside it; leaky_relu follows as a node of its own.
_FUSED: dict[str, tuple[NeuronOp, Callable[[Value], Value] | None]] = {
    "relu": (NEURONS["relu"], None),
    "tanh": (NEURONS["tanh"], None),
    "sigmoid": (NEURONS["sigmoid"], None),
    "linear": (NEURONS[None], None),
    "leaky_relu": (NEURONS[None], Value.leaky_relu),
}

# The gain of fan-in scaling per activation (PyTorch's calculate_gain): weights are drawn from
# uniform(-a, a) with a = gain * sqrt(3 / fan_in), so their variance is gain² / fan_in.
_GAIN = {
    "relu": math.sqrt(2.0),
    "leaky_relu": math.sqrt(2.0 / (1 + 0.01**2)),
    "tanh": 5 / 3,
    "sigmoid": 1.0,
    "linear": 1.0,
}

_INITS = ("kaiming", "uniform")


class Neuron(Module):
    """activation(w · x + b): `nin` weights and a bias.

    Args:
        nin: number of inputs.
        activation: 'relu', 'tanh', 'sigmoid', 'leaky_relu' or 'linear'.
        seed: an int, or a `random.Random` to draw the weights from; with None (the default),
            Python's global `random`, as in micrograd (so ``random.seed(...)`` makes it
            repeatable). ``rng=`` is an older name for a `random.Random` seed, and still works.
        init: 'kaiming' (default): uniform(-a, a) with a = gain * sqrt(3 / nin), the variance
            that keeps activations from growing or shrinking from layer to layer; 'uniform':
            micrograd's uniform(-1, 1). The bias starts at 0 either way.
        fused: compute w · x + b as one `Value.dot` node (default) or as micrograd's chain of
            ``*`` and ``+`` nodes (same numbers; for drawings).

    Example:
        >>> n = Neuron(2, activation="linear", seed=0)
        >>> n.w[0].data, n.w[1].data = 2.0, -1.0
        >>> n([3.0, 1.0]).data
        5.0
    """

    _state_names = {"w": "weight", "b": "bias"}  # saved as PyTorch's Linear names its own

    def __init__(
        self,
        nin: int,
        activation: str = "relu",
        *,
        seed: int | random.Random | None = None,
        rng: random.Random | None = None,
        init: str = "kaiming",
        fused: bool = True,
    ) -> None:
        check_int("Neuron", "nin", nin)
        check_choice("Neuron", "activation", activation, ACTIVATIONS)
        check_choice("Neuron", "init", init, _INITS)
        draw = _seeded("Neuron", seed, rng)
        bound = 1.0 if init == "uniform" else _GAIN[activation] * math.sqrt(3.0 / nin)
        self.w = [Value(draw.uniform(-bound, bound)) for _ in range(nin)]
        self.b = Value(0.0)
        self.activation = activation
        self.fused = check_bool("Neuron", "fused", fused)
        self._act = ACTIVATIONS[activation]

    def _fire(self, x: list[Value]) -> Value:
        """The fused neuron on inputs that are already Values (checked by the caller)."""
        op, after = _FUSED[self.activation]
        out = neuron(self.w, x, self.b, op, params=self._params())
        return out if after is None else after(out)

    _kept: tuple | None = None  # (list(w), (*w, b)) from the last call: see _params

    def _params(self) -> tuple:
        """(w..., b) as one tuple, for the neuron's node (neuron.py). A speed-up: the same tuple
        serves every call while w and b hold the same Values (list == list compares identities
        first, so the check is quick)."""
        kept = self._kept
        if kept is None or kept[0] != self.w or kept[1][-1] is not self.b:
            kept = (list(self.w), (*self.w, self.b))
            object.__setattr__(self, "_kept", kept)  # not a member: the parameters are w and b
        return kept[1]

    def __call__(self, x: Sequence[Value | float]) -> Value:
        if self.fused:
            return self._fire(_as_values("Neuron", x, len(self.w)))
        else:  # micrograd's graph: w[0]*x[0] + w[1]*x[1] + ... + b, one node per op
            if len(x) != len(self.w):
                raise ValueError(f"Neuron: expected {len(self.w)} inputs, got {len(x)}")
            out = self.w[0] * x[0]
            for wi, xi in zip(self.w[1:], x[1:]):
                out = out + wi * xi
            out = out + self.b
        return out if self._act is None else self._act(out)

    def _config(self) -> dict[str, Any]:
        return {"nin": len(self.w), "activation": self.activation}

    @staticmethod
    def _shapes(arch: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        arch = _check_architecture("Neuron", arch, ("nin",), ("activation", "fused"))
        return {"weight": (arch["nin"],), "bias": ()}


class Layer(Module):
    """`nout` neurons that all see the same `nin` inputs.

    Calling it returns the list of the neurons' outputs. The other arguments are `Neuron`'s.

    Example:
        >>> layer = Layer(3, 2, activation="tanh", seed=0)
        >>> len(layer([1.0, 2.0, 3.0])), len(layer.parameters())
        (2, 8)
    """

    _stacked = "neurons"  # saved as PyTorch's Linear: neuron i's weights are row i of 'weight'

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "relu",
        *,
        seed: int | random.Random | None = None,
        rng: random.Random | None = None,
        init: str = "kaiming",
        fused: bool = True,
    ) -> None:
        check_int("Layer", "nin", nin)
        check_int("Layer", "nout", nout)
        check_choice("Layer", "activation", activation, ACTIVATIONS)
        draw = _seeded("Layer", seed, rng)
        self.neurons = [Neuron(nin, activation, seed=draw, init=init, fused=fused) for _ in range(nout)]
        self.activation = activation

    def __call__(self, x: Sequence[Value | float]) -> list[Value]:
        return self._fire(_as_values("Layer", x, len(self.neurons[0].w)))

    def _fire(self, x: list[Value]) -> list[Value]:
        """The layer on inputs that are already Values (checked by the caller)."""
        if not self.neurons[0].fused:
            return [n(x) for n in self.neurons]
        shared = neuron_inputs(x)  # x and its numbers, read once for every neuron of the layer
        act, after = _FUSED[self.activation]
        outs = [neuron(n.w, x, n.b, act, inputs=shared, params=n._params()) for n in self.neurons]
        return outs if after is None else [after(o) for o in outs]

    def _config(self) -> dict[str, Any]:
        return {"nin": len(self.neurons[0].w), "nout": len(self.neurons), "activation": self.activation}

    @staticmethod
    def _shapes(arch: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        arch = _check_architecture("Layer", arch, ("nin", "nout"), ("activation", "fused"))
        return {"weight": (arch["nout"], arch["nin"]), "bias": (arch["nout"],)}


class MLP(Module):
    """A multi-layer perceptron: layers of sizes `nouts`, fed one after the other.

    Args:
        nin: number of inputs.
        nouts: the size of each layer, the last one being the output.
        activation: the hidden layers' activation (default 'relu').
        output_activation: the last layer's (default 'linear', as micrograd).
        seed, init, fused: as for `Neuron`; one generator draws all the weights, layer by
            layer, neuron by neuron (with ``init='uniform'`` and ``seed=random.Random(s)``
            the weights are those of micrograd's ``MLP`` after ``random.seed(s)``).

    Calling it on a list of `nin` numbers or Values returns a Value if the last layer has one
    neuron, else a list of Values.

    Example:
        >>> model = MLP(2, [4, 3], seed=0)
        >>> len(model([1.0, 2.0]))
        3
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        output_activation: str = "linear",
        *,
        seed: int | random.Random | None = None,
        rng: random.Random | None = None,
        init: str = "kaiming",
        fused: bool = True,
    ) -> None:
        check_int("MLP", "nin", nin)
        _check_sizes("MLP", nouts)
        check_choice("MLP", "activation", activation, ACTIVATIONS)
        check_choice("MLP", "output_activation", output_activation, ACTIVATIONS)
        draw = _seeded("MLP", seed, rng)
        sizes = [nin, *nouts]
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation if i < len(nouts) - 1 else output_activation,
                  seed=draw, init=init, fused=fused)
            for i in range(len(nouts))
        ]  # fmt: skip
        self.activation = activation
        self.output_activation = output_activation

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        x = _as_values("MLP", x, len(self.layers[0].neurons[0].w))  # once, not per neuron
        for layer in self.layers:
            x = layer._fire(x)
        return x[0] if len(x) == 1 else x

    def _config(self) -> dict[str, Any]:
        return {
            "nin": len(self.layers[0].neurons[0].w),
            "nouts": [len(layer.neurons) for layer in self.layers],
            "activation": self.activation,
            "output_activation": self.output_activation,
        }

    @staticmethod
    def _shapes(arch: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        optional = ("activation", "output_activation", "fused")
        arch = _check_architecture("MLP", arch, ("nin", "nouts"), optional)
        sizes = [arch["nin"], *arch["nouts"]]
        shapes: dict[str, tuple[int, ...]] = {}
        for i in range(len(arch["nouts"])):
            shapes[f"layers.{i}.weight"] = (sizes[i + 1], sizes[i])
            shapes[f"layers.{i}.bias"] = (sizes[i + 1],)
        return shapes

    def __repr__(self) -> str:
        c = self._config()
        return (f"MLP({c['nin']}, {c['nouts']}, activation={c['activation']!r}, "
                f"output_activation={c['output_activation']!r})")  # fmt: skip


_BUILT_INS: dict[str, type[Neuron] | type[Layer] | type[MLP]] = {"Neuron": Neuron, "Layer": Layer, "MLP": MLP}


def load(path: str | os.PathLike, *, max_bytes: int = serialization.MAX_FILE_BYTES,
         max_parameters: int = serialization.MAX_PARAMETERS) -> Module:
    """A new `Neuron`, `Layer` or `MLP` built from a file written by `Module.save`.

    The file's size and number of parameters are capped (`max_bytes`, `max_parameters`), and
    the architecture is checked against the parameters in the file before anything is built.
    A file that does not match (bad JSON, a missing key, wrong shapes, NaN or infinite
    numbers, an unknown version) raises a `ValueError` that names the problem. Your own
    modules load with ``YourNet().load(path)``.

    Example:
        >>> import os, tempfile
        >>> model = MLP(2, [3, 1], seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.json")
        >>> model.save(path)
        >>> load(path).state_dict() == model.state_dict()
        True
    """
    return serialization.build(path, _BUILT_INS, max_bytes=max_bytes, max_parameters=max_parameters)


# ---------------------------------------------------------------------- helpers


def _seeded(owner: str, seed: Any, rng: Any) -> Any:
    """The generator of `seed`, read by `make_rng`; ``rng=`` is an older name for a
    random.Random given as seed, and still works."""
    if rng is None:
        return make_rng(owner, seed)
    if seed is not None:
        raise ValueError(f"{owner}: give a seed or an rng, not both")
    if not isinstance(rng, random.Random) and rng is not random:
        raise TypeError(f"{owner}: rng must be a random.Random, got {type(rng).__name__}")
    return rng


def _check_architecture(owner: str, arch: dict[str, Any], required: tuple[str, ...],
                        optional: tuple[str, ...]) -> dict[str, Any]:
    """The arguments of a saved built-in, checked strictly (types included) without building it."""
    for key in required:
        if key not in arch:
            raise ValueError(f"{owner}: missing {key!r}")
    for key in arch:
        if key not in required + optional:
            raise ValueError(f"{owner}: unexpected argument {describe(key)}")
    for key in ("nin", "nout"):
        if key in arch:
            check_int(owner, key, arch[key])
    if "nouts" in arch:
        _check_sizes(owner, arch["nouts"])
    for key in ("activation", "output_activation"):
        if key in arch:
            check_choice(owner, key, arch[key], ACTIVATIONS)
    if "fused" in arch:
        check_bool(owner, "fused", arch["fused"])
    return arch


def _check_sizes(owner: str, nouts: Any) -> None:
    if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
        raise ValueError(f"{owner}: nouts must be a non-empty list of layer sizes, got {describe(nouts)}")
    for size in nouts:
        check_int(owner, "each layer size in nouts", size)


def _as_values(cls: str, x: Any, nin: int) -> list[Value]:
    """The inputs as Values, made once per call so that every neuron shares them."""
    if isinstance(x, (Value, numbers.Real, str, bytes)):
        raise ValueError(f"{cls}: expected a list of {nin} inputs, got {describe(x)}")
    x = [v if isinstance(v, Value) else Value(v) for v in x]
    if len(x) != nin:
        raise ValueError(f"{cls}: expected {nin} inputs, got {len(x)}")
    return x
