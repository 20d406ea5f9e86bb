"""Neural networks from Values: `Module`, `Neuron`, `Layer`, `MLP`, and saving them to JSON.

As in micrograd, a neuron computes ``activation(w · x + b)``, a layer is a list of neurons and
an MLP is a list of layers. ``MLP(2, [16, 16, 1])`` has two ReLU hidden layers of 16 neurons
and one linear output, like micrograd's.

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

import json
import math
import numbers
import os
import random
from typing import Any, Callable, Sequence

from ._files import write_atomically
from .engine import Value, neuron

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
_FUSED: dict[str, tuple[str | None, Callable[[Value], Value] | None]] = {
    "relu": ("relu", None),
    "tanh": ("tanh", None),
    "sigmoid": ("sigmoid", None),
    "linear": (None, None),
    "leaky_relu": (None, Value.leaky_relu),
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


# ---------------------------------------------------------------------- Module


class Module:
    """The base of everything with parameters: `parameters`, `zero_grad`, `state_dict`, `save`.

    A subclass defines ``__call__`` and ``_tensors()`` (its parameters by name, as nested
    lists of Values) and ``_config()`` (the arguments that rebuild it).
    """

    def parameters(self) -> list[Value]:
        """All the parameters, in a fixed order (the order of `state_dict`)."""
        return []

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0 (call it before each ``backward()``)."""
        for p in self.parameters():
            p.grad = 0.0

    # ------------------------------------------------------------------ state

    def _tensors(self) -> dict[str, Any]:
        return {}

    def _config(self) -> dict[str, Any]:
        return {}

    def state_dict(self) -> dict[str, Any]:
        """The parameters' numbers by name (a copy: plain floats, nested lists for matrices).

        Example:
            >>> Neuron(2, seed=0, init="uniform").state_dict()["bias"]
            0.0
        """
        return {name: _numbers(values) for name, values in self._tensors().items()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Copy the numbers of `state_dict` into the parameters.

        Everything is checked first (the same keys, the same shapes, finite real numbers); on
        any problem a `ValueError` names it and no parameter is changed.
        """
        if not isinstance(state_dict, dict):
            raise ValueError(f"load_state_dict: expected a dict, got {type(state_dict).__name__}")
        tensors = self._tensors()
        missing = [k for k in tensors if k not in state_dict]
        unexpected = [k for k in state_dict if k not in tensors]
        if missing:
            raise ValueError(f"load_state_dict: missing key {missing[0]!r} (expected {list(tensors)})")
        if unexpected:
            raise ValueError(f"load_state_dict: unexpected key {unexpected[0]!r} (expected {list(tensors)})")
        pairs: list[tuple[Value, float]] = []
        for name, values in tensors.items():
            _match(name, values, state_dict[name], pairs)
        for p, x in pairs:  # all checked: now change the model
            p.data = x

    # ------------------------------------------------------------------ files

    def save(self, path: str | os.PathLike) -> None:
        """Write the architecture and the parameters to a readable JSON file, atomically.

        The file is written next to `path` under a temporary name, then renamed over it, so a
        crash never leaves a half-written file. Read it back with `autograd_tiny.nn.load`.
        """
        name = type(self).__name__
        if name not in _CLASSES:
            raise TypeError(f"save: only {', '.join(_CLASSES)} can be saved, not {name}")
        state = self.state_dict()
        for key, values in state.items():
            bad = [x for x in _flat(values) if not math.isfinite(x)]
            if bad:
                raise ValueError(f"save: parameter {key!r} holds {bad[0]!r}; only finite numbers can be saved")
        lines = ["{", '  "format": "autograd_tiny",', '  "version": 1,', f'  "class": {json.dumps(name)},']
        lines.append(f'  "architecture": {json.dumps(self._config())},')
        lines.append('  "parameters": {')
        for i, (key, values) in enumerate(state.items()):
            comma = "," if i < len(state) - 1 else ""
            lines.append(f"    {json.dumps(key)}: {_json_matrix(values)}{comma}")
        lines += ["  }", "}", ""]
        write_atomically(path, "\n".join(lines))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._config().items())
        return f"{type(self).__name__}({args})"


# ---------------------------------------------------------------------- Neuron, Layer, MLP


class Neuron(Module):
    """activation(w · x + b): `nin` weights and a bias.

    Args:
        nin: number of inputs.
        activation: 'relu', 'tanh', 'sigmoid', 'leaky_relu' or 'linear'.
        rng: a random.Random to draw the weights from; or
        seed: a seed for a new one. With neither, Python's global `random` is used, as in
            micrograd (so ``random.seed(...)`` makes it repeatable).
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

    def __init__(
        self,
        nin: int,
        activation: str = "relu",
        *,
        rng: random.Random | None = None,
        seed: int | None = None,
        init: str = "kaiming",
        fused: bool = True,
    ) -> None:
        _check_size("Neuron", "nin", nin)
        _check_choice("Neuron", "activation", activation, ACTIVATIONS)
        _check_choice("Neuron", "init", init, _INITS)
        rng = _make_rng("Neuron", rng, seed)
        bound = 1.0 if init == "uniform" else _GAIN[activation] * math.sqrt(3.0 / nin)
        self.w = [Value(rng.uniform(-bound, bound)) for _ in range(nin)]
        self.b = Value(0.0)
        self.activation = activation
        self.fused = bool(fused)
        self._act = ACTIVATIONS[activation]
        self._op, self._after = _FUSED[activation]

    def _fire(self, x: list[Value]) -> Value:
        """The fused neuron on inputs that are already Values (checked by the caller)."""
        out = neuron(self.w, x, self.b, self._op)
        return out if self._after is None else self._after(out)

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

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]

    def _tensors(self) -> dict[str, Any]:
        return {"weight": self.w, "bias": self.b}

    def _config(self) -> dict[str, Any]:
        return {"nin": len(self.w), "activation": self.activation}


class Layer(Module):
    """`nout` neurons that all see the same `nin` inputs.

    Calling it returns the list of the neurons' outputs. The other arguments are `Neuron`'s.

    Example:
        >>> layer = Layer(3, 2, activation="tanh", seed=0)
        >>> len(layer([1.0, 2.0, 3.0])), len(layer.parameters())
        (2, 8)
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "relu",
        *,
        rng: random.Random | None = None,
        seed: int | None = None,
        init: str = "kaiming",
        fused: bool = True,
    ) -> None:
        _check_size("Layer", "nin", nin)
        _check_size("Layer", "nout", nout)
        rng = _make_rng("Layer", rng, seed)
        self.neurons = [Neuron(nin, activation, rng=rng, init=init, fused=fused) for _ in range(nout)]
        self.activation = activation

    def __call__(self, x: Sequence[Value | float]) -> list[Value]:
        return self._fire(_as_values("Layer", x, len(self.neurons[0].w)))

    def _fire(self, x: list[Value]) -> list[Value]:
        """The layer on inputs that are already Values (checked by the caller)."""
        if not self.neurons[0].fused:
            return [n(x) for n in self.neurons]
        xd = [v.data for v in x]  # read once for every neuron of the layer
        act, after = _FUSED[self.activation]
        outs = [neuron(n.w, x, n.b, act, xd) for n in self.neurons]
        return outs if after is None else [after(o) for o in outs]

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def _tensors(self) -> dict[str, Any]:
        return {"weight": [n.w for n in self.neurons], "bias": [n.b for n in self.neurons]}

    def _config(self) -> dict[str, Any]:
        return {"nin": len(self.neurons[0].w), "nout": len(self.neurons), "activation": self.activation}


class MLP(Module):
    """A multi-layer perceptron: layers of sizes `nouts`, fed one after the other.

    Args:
        nin: number of inputs.
        nouts: the size of each layer, the last one being the output.
        activation: the hidden layers' activation (default 'relu').
        output_activation: the last layer's (default 'linear', as micrograd).
        seed, rng, init, fused: as for `Neuron`; one generator draws all the weights, layer by
            layer, neuron by neuron (with ``init='uniform'`` and ``rng=random.Random(s)``
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
        seed: int | None = None,
        rng: random.Random | None = None,
        init: str = "kaiming",
        fused: bool = True,
    ) -> None:
        _check_size("MLP", "nin", nin)
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
            raise ValueError(f"MLP: nouts must be a non-empty list of layer sizes, got {nouts!r}")
        for size in nouts:
            _check_size("MLP", "each layer size in nouts", size)
        _check_choice("MLP", "activation", activation, ACTIVATIONS)
        _check_choice("MLP", "output_activation", output_activation, ACTIVATIONS)
        rng = _make_rng("MLP", rng, seed)
        sizes = [nin, *nouts]
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation if i < len(nouts) - 1 else output_activation,
                  rng=rng, init=init, fused=fused)
            for i in range(len(nouts))
        ]  # fmt: skip
        self.activation = activation
        self.output_activation = output_activation

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        x = _as_values("MLP", x, len(self.layers[0].neurons[0].w))  # once, not per neuron
        for layer in self.layers:
            x = layer._fire(x)
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def _tensors(self) -> dict[str, Any]:
        return {f"layers.{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer._tensors().items()}

    def _config(self) -> dict[str, Any]:
        return {
            "nin": len(self.layers[0].neurons[0].w),
            "nouts": [len(layer.neurons) for layer in self.layers],
            "activation": self.activation,
            "output_activation": self.output_activation,
        }

    def __repr__(self) -> str:
        c = self._config()
        return (f"MLP({c['nin']}, {c['nouts']}, activation={c['activation']!r}, "
                f"output_activation={c['output_activation']!r})")  # fmt: skip


_CLASSES: dict[str, type[Module]] = {"Neuron": Neuron, "Layer": Layer, "MLP": MLP}


def load(path: str | os.PathLike) -> Module:
    """A new model built from a file written by `Module.save`: its architecture, then its parameters.

    A file that does not match (bad JSON, a missing key, wrong shapes, NaN or infinite numbers)
    raises a `ValueError` that names the problem.

    Example:
        >>> import os, tempfile
        >>> model = MLP(2, [3, 1], seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.json")
        >>> model.save(path)
        >>> load(path).state_dict() == model.state_dict()
        True
    """
    where = os.fspath(path)
    try:
        with open(where, encoding="utf-8") as f:
            doc = json.loads(f.read(), parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise ValueError(f"load: {where} is not valid JSON ({err})") from None
    except ValueError as err:  # NaN or Infinity in the file, or text that is not UTF-8
        raise ValueError(f"load: {where}: {err}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"load: {where} should hold a JSON object, got {type(doc).__name__}")
    for key in ("format", "class", "architecture", "parameters"):
        if key not in doc:
            raise ValueError(f"load: {where} has no {key!r} entry")
    if doc["format"] != "autograd_tiny":
        raise ValueError(f"load: {where} is not an autograd_tiny model (format {doc['format']!r})")
    cls = _CLASSES.get(doc["class"]) if isinstance(doc["class"], str) else None
    if cls is None:
        raise ValueError(f"load: {where}: unknown class {doc['class']!r} (expected one of {list(_CLASSES)})")
    config = doc["architecture"]
    if not isinstance(config, dict):
        raise ValueError(f"load: {where}: 'architecture' should be an object, got {config!r}")
    try:
        model = cls(**config, seed=0)
    except (TypeError, ValueError) as err:
        raise ValueError(f"load: {where}: bad architecture {config!r}: {err}") from None
    try:
        model.load_state_dict(doc["parameters"])
    except ValueError as err:
        raise ValueError(f"load: {where}: {err}") from None
    return model


# ---------------------------------------------------------------------- helpers


def _check_size(cls: str, what: str, n) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{cls}: {what} must be an int >= 1, got {n!r}")


def _check_choice(cls: str, what: str, choice, options) -> None:
    if choice not in options:
        raise ValueError(f"{cls}: unknown {what} {choice!r} (choose from {', '.join(map(repr, options))})")


def _make_rng(cls: str, rng, seed):
    if rng is not None and seed is not None:
        raise ValueError(f"{cls}: give a seed or an rng, not both")
    if rng is not None:
        if not isinstance(rng, random.Random) and rng is not random:
            raise TypeError(f"{cls}: rng must be a random.Random, got {type(rng).__name__}")
        return rng
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"{cls}: seed must be an int, got {type(seed).__name__}: {seed!r}")
        return random.Random(seed)
    return random  # the module's global generator (random.uniform), as micrograd uses


def _as_values(cls: str, x, nin: int) -> list[Value]:
    """The inputs as Values, made once per call so that every neuron shares them."""
    if isinstance(x, (Value, numbers.Real)) or isinstance(x, (str, bytes)):
        raise ValueError(f"{cls}: expected a list of {nin} inputs, got {x!r}")
    x = [v if isinstance(v, Value) else Value(v) for v in x]
    if len(x) != nin:
        raise ValueError(f"{cls}: expected {nin} inputs, got {len(x)}")
    return x


def _numbers(values):
    """Nested lists of Values as nested lists of floats."""
    return values.data if isinstance(values, Value) else [_numbers(v) for v in values]


def _flat(values):
    if isinstance(values, list):
        for v in values:
            yield from _flat(v)
    else:
        yield values


def _match(name: str, params, given, pairs: list) -> None:
    """Check that `given` has the shape of `params` and holds finite real numbers; collect pairs."""
    if isinstance(params, Value):
        if isinstance(given, bool) or not isinstance(given, numbers.Real):
            raise ValueError(f"load_state_dict: {name!r} should be a number, got {type(given).__name__}: {given!r}")
        try:
            x = float(given)
        except OverflowError:  # an int too large for a float
            x = math.inf
        if not math.isfinite(x):
            raise ValueError(f"load_state_dict: {name!r} is {given!r}; parameters must be finite numbers")
        pairs.append((params, x))
        return
    if not isinstance(given, (list, tuple)):
        raise ValueError(f"load_state_dict: {name!r} should be a list of {len(params)}, got {type(given).__name__}: {given!r}")
    if len(given) != len(params):
        raise ValueError(f"load_state_dict: {name!r} should have {len(params)} entries, got {len(given)}")
    for i, (p, g) in enumerate(zip(params, given)):
        _match(f"{name}[{i}]", p, g, pairs)


def _json_matrix(values) -> str:
    """A number, a list on one line, or a list of lists with one row per line."""
    if isinstance(values, list) and values and isinstance(values[0], list):
        rows = ",\n      ".join(json.dumps(row) for row in values)
        return f"[\n      {rows}\n    ]"
    return json.dumps(values)


def _reject_constant(name: str):
    raise ValueError(f"the file holds {name}; parameters must be finite numbers")
