"""Neural networks from Values: `Module`, and the built-in `Neuron`, `Layer` and `MLP`.

As in micrograd, a neuron computes ``activation(w · x + b)``, a layer is a list of neurons and
an MLP is a list of layers. ``MLP(2, [16, 16, 1])`` has two ReLU hidden layers of 16 neurons
and one linear output, like micrograd's.

Your own networks subclass `Module` as in PyTorch: whatever Values and Modules you assign to
attributes are its parameters and sub-modules, with nothing else to write.

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
import types
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .checks import check_bool, check_choice, check_int, check_real, describe, make_rng
from .engine import Value
from .neuron import NEURONS, NeuronOp, neuron, neuron_inputs
from .serialization import MAX_FILE_BYTES, MAX_PARAMETERS, read_model_file, write_model_file

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

# Attribute values that never hold parameters: Module does not even note their names.
_PLAIN = {str, bool, int, float, type(None), types.FunctionType, types.BuiltinFunctionType, types.MethodType}


# ---------------------------------------------------------------------- Module


class Module:
    """The base of every network: it finds its parameters and sub-modules in its attributes.

    Assign a `Value`, a `Module`, or a list or tuple of them (lists of lists of Values too) to
    an attribute, and it belongs to the module: `parameters`, `named_parameters`, `children`,
    `modules`, `zero_grad`, `state_dict`, `load_state_dict`, `save` and `load` all see it.
    An assignment only notes the attribute's name; these methods look at what the attributes
    hold when called (so ``self.layers.append(...)`` counts too), in the order they were first
    given something other than a number, string, None or function. Calling
    ``super().__init__()`` is allowed (as in PyTorch) but not needed: Module has nothing to set
    up.

    Define ``forward`` (calling the module calls it) or ``__call__``. Anything else you store
    (numbers, strings, dicts of numbers) is left alone; a dict holding Values or Modules is an
    error, since it would not be saved: use a list or attributes. A list counts as Values or
    Modules by its first item, and then must hold nothing else.

    Names are PyTorch's: dots separate sub-modules (``layers.0.weight``), brackets index the
    numbers within a list (``layers.0.weight[3][1]``). A Value or Module reachable twice (tied
    weights, a shared layer) counts once.

    Example:
        >>> from autograd_tiny import Value
        >>> class Affine(Module):
        ...     def __init__(self):
        ...         self.hidden = Layer(2, 3, seed=0)
        ...         self.scale = Value(2.0)
        ...     def forward(self, x):
        ...         return Value.sum(self.hidden(x)) * self.scale
        >>> net = Affine()
        >>> len(net.parameters()), [name for name, _ in net.named_parameters()][-2:]
        (10, ['hidden.bias[2]', 'scale'])
        >>> net([1.0, 2.0]).backward()
        >>> net.scale.grad != 0
        True
    """

    _attribute_names: dict[str, None] | None = None  # per instance once an attribute is set

    def __setattr__(self, name: str, value: Any) -> None:
        # Note the names here rather than read self.__dict__ later: from Python 3.11 on,
        # reading __dict__ turns an object's compact attribute storage into a dict for good,
        # and every later `self.w` in the forward pass gets slower (7% for an MLP). Numbers,
        # strings and functions cannot hold parameters; a name set to one is noted only if it
        # is set to a Value, Module or container later.
        object.__setattr__(self, name, value)
        if type(value) not in _PLAIN and not isinstance(getattr(type(self), name, None), property):
            names = self._attribute_names
            if names is None:
                names = {}
                object.__setattr__(self, "_attribute_names", names)
            names[name] = None

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        if self._attribute_names is not None:
            self._attribute_names.pop(name, None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """What calling the module computes: define it in your subclass, as in PyTorch."""
        raise NotImplementedError(f"{type(self).__name__}: define forward(self, ...) to call the module")

    # ------------------------------------------------------------------ what it holds

    def parameters(self) -> list[Value]:
        """Every parameter once, attribute by attribute (for an MLP: neuron by neuron, weights
        then bias, as micrograd orders them)."""
        params: list[Value] = []
        _gather(self, params, set())
        return list(dict.fromkeys(params))  # a Value held twice (tied weights) counts once

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(name, parameter) for every parameter, in the order of `parameters`.

        Example:
            >>> Neuron(2, seed=0).named_parameters()[0][0]
            'weight[0]'
        """
        names: dict[Value, str] = {}
        for key, tensor in self._tensors().items():
            for value, index in _indexed(tensor):
                names.setdefault(value, key + index)
        return [(names[p], p) for p in self.parameters()]

    def named_children(self) -> list[tuple[str, Module]]:
        """(name, module) for the sub-modules held directly, e.g. ``('layers.0', Layer(...))``."""
        found: list[tuple[str, Module]] = []
        seen: set[int] = set()
        for name, kind, value in _members(self):
            if kind == "module":
                pairs = [(name, value)]
            elif kind == "modules":
                pairs = [(f"{name}.{i}", m) for i, m in enumerate(value)]
            else:
                continue
            for child_name, child in pairs:
                if id(child) not in seen:
                    seen.add(id(child))
                    found.append((child_name, child))
        return found

    def children(self) -> list[Module]:
        """The sub-modules held directly (not their own sub-modules)."""
        return [child for _, child in self.named_children()]

    def named_modules(self) -> list[tuple[str, Module]]:
        """(dotted name, module) for this module (named ``''``) and every module inside it."""
        found: list[tuple[str, Module]] = []
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [("", self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            found.append((name, module))
            prefix = f"{name}." if name else ""
            children = module.named_children()
            stack.extend((prefix + child_name, child) for child_name, child in reversed(children))
        return found

    def modules(self) -> list[Module]:
        """This module and every module inside it, parents before children."""
        return [module for _, module in self.named_modules()]

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0 (call it before each ``backward()``)."""
        for p in self.parameters():
            p.grad = 0.0

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """The parameters' numbers by name (a copy: plain floats, nested lists for lists of Values).

        A Value attribute gives one number, a list of Values a list, a sub-module its own
        entries with its name as prefix. `Neuron` and `Layer` group theirs as PyTorch's Linear
        does: ``weight`` (one row per neuron) and ``bias``.

        Example:
            >>> Neuron(2, seed=0, init="uniform").state_dict()["bias"]
            0.0
        """
        return {name: _numbers(tensor) for name, tensor in self._tensors().items()}

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
            raise ValueError(f"load_state_dict: missing key {missing[0]!r} "
                             f"(expected {describe(list(tensors))})")
        if unexpected:
            raise ValueError(f"load_state_dict: unexpected key {describe(unexpected[0])} "
                             f"(expected {describe(list(tensors))})")
        new: dict[Value, tuple[str, float]] = {}
        for name, tensor in tensors.items():
            _match(name, tensor, state_dict[name], new)
        for p, (_, x) in new.items():  # all checked: now change the model
            p.data = x

    def _tensors(self) -> dict[str, Any]:
        """The parameters by state_dict name, each a Value or nested lists of Values."""
        tensors: dict[str, Any] = {}
        _name_tensors(self, "", tensors, set())
        return tensors

    def _grouped(self) -> tuple[dict[str, Any], tuple[str, ...]]:
        """Tensors this class names itself rather than by attribute, and the attributes they
        cover (`Neuron` and `Layer` keep 0.1's ``weight`` and ``bias``)."""
        return {}, ()

    # ------------------------------------------------------------------ files

    def save(self, path: str | os.PathLike) -> None:
        """Write the parameters (and, for the built-ins, the architecture) to a readable JSON file.

        The write is atomic: a crash leaves the old file or the complete new one. Read it back
        with `load` into a module of the same structure, or with `autograd_tiny.nn.load` for
        a built-in, which rebuilds it. See `autograd_tiny.serialization` for the format.

        Example:
            >>> import os, tempfile
            >>> path = os.path.join(tempfile.mkdtemp(), "neuron.json")
            >>> a, b = Neuron(3, seed=0), Neuron(3, seed=1)
            >>> a.save(path)
            >>> b.load(path).state_dict() == a.state_dict()
            True
        """
        write_model_file(path, type(self).__name__, self._architecture(), self.state_dict())

    def load(self, path: str | os.PathLike, *, max_bytes: int = MAX_FILE_BYTES,
             max_parameters: int = MAX_PARAMETERS) -> Module:
        """Copy the parameters saved in `path` into this module and return it.

        The file must hold the same names and shapes (and, for a built-in of the same class,
        the same architecture). Everything is checked first: on any problem a `ValueError`
        names it and nothing changes. The caps are `autograd_tiny.nn.load`'s.
        """
        where = os.fspath(path)
        saved = read_model_file(where, max_bytes=max_bytes, max_parameters=max_parameters)
        mine = self._architecture()
        if saved.class_name == type(self).__name__ and saved.architecture is not None and mine is not None:
            theirs = {k: v for k, v in saved.architecture.items() if k != "fused"}
            if theirs != mine:
                raise ValueError(f"load: {where} holds {saved.class_name} {describe(theirs)}, not {self!r}")
        try:
            self.load_state_dict(saved.parameters)
        except ValueError as err:
            raise ValueError(f"load: {where}: {err}") from None
        return self

    def _config(self) -> dict[str, Any] | None:
        """The arguments that rebuild a built-in (None for other modules)."""
        return None

    def _architecture(self) -> dict[str, Any] | None:
        return self._config() if type(self) in _BUILT_INS.values() else None

    def __repr__(self) -> str:
        config = self._config()
        if config is not None:
            return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in config.items())})"
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in self.named_children()]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)" if lines else f"{type(self).__name__}()"


# ---------------------------------------------------------------------- finding what a module holds


def _members(module: Module) -> list[tuple[str, str, Any]]:
    """(attribute, kind, value) for each attribute holding parameters or modules (see `_kind`)."""
    found = []
    for name, value in _attributes(module):
        if type(value) not in _PLAIN:
            kind = _kind(module, name, value)
            if kind is not None:
                found.append((name, kind, value))
    return found


def _attributes(module: Module) -> list[tuple[str, Any]]:
    """(name, value) of the attributes that may hold parameters, in the order first assigned."""
    return [(name, getattr(module, name, None)) for name in module._attribute_names or ()]


def _kind(module: Module, name: str, value: Any) -> str | None:
    """'value', 'tensor' (nested lists of Values), 'module', 'modules' (a list of Modules), or
    None for an attribute that holds none of these."""
    if isinstance(value, Value):
        return "value"
    if isinstance(value, Module):
        return "module"
    if isinstance(value, (list, tuple)):
        return _list_kind(module, name, value)
    if isinstance(value, dict) and any(isinstance(v, (Value, Module)) for v in value.values()):
        raise TypeError(f"{type(module).__name__}: attribute {name!r} is a dict holding Values or Modules, "
                        "which are not collected (nor saved): use a list or one attribute each")
    return None




def _list_kind(module: Module, name: str, items: list | tuple) -> str | None:
    if not items:
        return None
    if set(map(type, items)) == _ONLY_VALUES:  # the usual case, a flat list of Values, at C speed
        return "tensor"
    first = items
    while isinstance(first, (list, tuple)) and first:
        first = first[0]
    if isinstance(first, Module):
        if all(isinstance(m, Module) for m in items):
            return "modules"
    elif isinstance(first, Value):
        if all(isinstance(v, Value) for v in _leaves(items)):
            return "tensor"
    else:
        return None  # numbers, strings...: data, not parameters
    raise TypeError(f"{type(module).__name__}: attribute {name!r} mixes {type(first).__name__}s with other "
                    "things; a list holds only Values (or lists of them) or only Modules")


_ONLY_VALUES = {Value}


def _leaves(tensor: Any) -> Iterator[Any]:
    """The items of nested lists, depth first, without recursion."""
    stack = [tensor]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(reversed(x))
        else:
            yield x


def _gather(module: Module, params: list[Value], visited: set[int]) -> None:
    """Append `module`'s parameters to `params`, attribute by attribute, sub-modules in place."""
    visited.add(id(module))
    for name in module._attribute_names or ():  # `_members`, inlined, with shortcuts: it runs every step
        value: Any = getattr(module, name, None)
        if type(value) is Value:  # a bias
            params.append(value)
            continue
        if type(value) is list and set(map(type, value)) == _ONLY_VALUES:  # a neuron's weights
            params.extend(value)
            continue
        kind = _kind(module, name, value)
        if kind == "value":
            params.append(value)
        elif kind == "tensor":
            params.extend(value if isinstance(value[0], Value) else _leaves(value))
        elif kind is not None:
            for child in (value,) if kind == "module" else value:
                if id(child) not in visited:
                    _gather(child, params, visited)


def _name_tensors(module: Module, prefix: str, tensors: dict[str, Any], visited: set[int]) -> None:
    visited.add(id(module))
    grouped, covered = module._grouped()
    for name, tensor in grouped.items():
        tensors[prefix + name] = tensor
    for name, kind, value in _members(module):
        if name in covered:
            continue
        if kind == "value":
            tensors[prefix + name] = value
        elif kind == "tensor":
            tensors[prefix + name] = _as_lists(value)
        else:
            named = [(name, value)] if kind == "module" else [(f"{name}.{i}", m) for i, m in enumerate(value)]
            for child_name, child in named:
                if id(child) not in visited:
                    _name_tensors(child, f"{prefix}{child_name}.", tensors, visited)


def _as_lists(tensor: Any) -> Any:
    return [_as_lists(x) for x in tensor] if isinstance(tensor, (list, tuple)) else tensor


def _indexed(tensor: Any, index: str = "") -> Iterator[tuple[Value, str]]:
    """(Value, '[i][j]') for each Value in nested lists."""
    if isinstance(tensor, Value):
        yield tensor, index
    else:
        for i, item in enumerate(tensor):
            yield from _indexed(item, f"{index}[{i}]")


def _numbers(values: Any) -> Any:
    """Nested lists of Values as nested lists of floats."""
    return values.data if isinstance(values, Value) else [_numbers(v) for v in values]


def _match(name: str, params: Any, given: Any, new: dict[Value, tuple[str, float]]) -> None:
    """Check that `given` has the shape of `params` and holds finite real numbers; collect them."""
    if isinstance(params, Value):
        x = check_real("load_state_dict", repr(name), given)
        if params in new and new[params][1] != x:  # one Value under two names (tied weights)
            raise ValueError(f"load_state_dict: {new[params][0]!r} and {name!r} are the same parameter "
                             f"but get different numbers ({new[params][1]!r}, {x!r})")
        new[params] = (name, x)
        return
    if not isinstance(given, (list, tuple)):
        raise ValueError(f"load_state_dict: {name!r} should be a list of {len(params)}, "
                         f"got {type(given).__name__}: {describe(given)}")
    if len(given) != len(params):
        raise ValueError(f"load_state_dict: {name!r} should have {len(params)} entries, got {len(given)}")
    for i, (p, g) in enumerate(zip(params, given)):
        _match(f"{name}[{i}]", p, g, new)


# ---------------------------------------------------------------------- Neuron, Layer, MLP


class Neuron(Module):
    """activation(w · x + b): `nin` weights and a bias.

    Args:
        nin: number of inputs.
        activation: 'relu', 'tanh', 'sigmoid', 'leaky_relu' or 'linear'.
        seed: an int, or a `random.Random` to draw the weights from; with None (the default),
            Python's global `random`, as in micrograd (so ``random.seed(...)`` makes it
            repeatable). ``rng=`` is 0.1's name for a `random.Random` and still works.
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
        seed: int | random.Random | None = None,
        rng: random.Random | None = None,
        init: str = "kaiming",
        fused: bool = True,
    ) -> None:
        check_int("Neuron", "nin", nin)
        check_choice("Neuron", "activation", activation, ACTIVATIONS)
        check_choice("Neuron", "init", init, _INITS)
        draw = _generator("Neuron", seed, rng)
        bound = 1.0 if init == "uniform" else _GAIN[activation] * math.sqrt(3.0 / nin)
        self.w = [Value(draw.uniform(-bound, bound)) for _ in range(nin)]
        self.b = Value(0.0)
        self.activation = activation
        self.fused = check_bool("Neuron", "fused", fused)
        self._act = ACTIVATIONS[activation]
        self._op, self._after = _FUSED[activation]

    def _fire(self, x: list[Value]) -> Value:
        """The fused neuron on inputs that are already Values (checked by the caller)."""
        out = neuron(self.w, x, self.b, self._op, params=self._params())
        return out if self._after is None else self._after(out)

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

    def _grouped(self) -> tuple[dict[str, Any], tuple[str, ...]]:
        return {"weight": self.w, "bias": self.b}, ("w", "b")

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
        draw = _generator("Layer", seed, rng)
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

    def _grouped(self) -> tuple[dict[str, Any], tuple[str, ...]]:
        return {"weight": [n.w for n in self.neurons], "bias": [n.b for n in self.neurons]}, ("neurons",)

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
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
            raise ValueError(f"MLP: nouts must be a non-empty list of layer sizes, got {describe(nouts)}")
        for size in nouts:
            check_int("MLP", "each layer size in nouts", size)
        check_choice("MLP", "activation", activation, ACTIVATIONS)
        check_choice("MLP", "output_activation", output_activation, ACTIVATIONS)
        draw = _generator("MLP", seed, rng)
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


def load(path: str | os.PathLike, *, max_bytes: int = MAX_FILE_BYTES,
         max_parameters: int = MAX_PARAMETERS) -> Module:
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
    where = os.fspath(path)
    saved = read_model_file(where, max_bytes=max_bytes, max_parameters=max_parameters)
    cls = _BUILT_INS.get(saved.class_name)
    if cls is None or saved.architecture is None:
        raise ValueError(f"load: {where} holds a {describe(saved.class_name)}, which nn.load cannot build "
                         f"(it builds {', '.join(_BUILT_INS)}): make one and call its .load(path)")
    try:
        shapes = cls._shapes(saved.architecture)
    except ValueError as err:
        raise ValueError(f"load: {where}: bad architecture {describe(saved.architecture)}: {err}") from None
    # The file holds at most max_parameters numbers (read_model_file counted them): parameters
    # of exactly the architecture's shapes mean that building it costs no more than that.
    if list(saved.parameters) != list(shapes):
        raise ValueError(f"load: {where}: the parameters should be {describe(list(shapes))} for the "
                         f"architecture {describe(saved.architecture)}, the file has "
                         f"{describe(list(saved.parameters))}")
    for key, shape in shapes.items():
        if not _has_shape(saved.parameters[key], shape):
            raise ValueError(f"load: {where}: parameter {key!r} should be {_shape_words(shape)} "
                             f"for the architecture {describe(saved.architecture)}")
    model = cls(**saved.architecture, seed=0)  # sizes checked: building is cheap now
    try:
        model.load_state_dict(saved.parameters)
    except ValueError as err:
        raise ValueError(f"load: {where}: {err}") from None
    return model


# ---------------------------------------------------------------------- helpers


def _generator(owner: str, seed: Any, rng: Any) -> Any:
    """The generator from `seed` (the convention of `autograd_tiny.checks.make_rng`), or 0.1's `rng`."""
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
        nouts = arch["nouts"]
        if not isinstance(nouts, list) or not nouts:
            raise ValueError(f"{owner}: nouts must be a non-empty list of layer sizes, got {describe(nouts)}")
        for size in nouts:
            check_int(owner, "each layer size in nouts", size)
    for key in ("activation", "output_activation"):
        if key in arch:
            check_choice(owner, key, arch[key], ACTIVATIONS)
    if "fused" in arch:
        check_bool(owner, "fused", arch["fused"])
    return arch


def _has_shape(values: Any, shape: tuple[int, ...]) -> bool:
    """Whether nested lists `values` are exactly `shape` (numbers are checked by load_state_dict)."""
    if not shape:
        return not isinstance(values, list)
    if not isinstance(values, list) or len(values) != shape[0]:
        return False
    return all(_has_shape(v, shape[1:]) for v in values)


def _shape_words(shape: tuple[int, ...]) -> str:
    return "a number" if not shape else "a list of " + " x ".join(map(describe, shape))


def _as_values(cls: str, x: Any, nin: int) -> list[Value]:
    """The inputs as Values, made once per call so that every neuron shares them."""
    if isinstance(x, (Value, numbers.Real)) or isinstance(x, (str, bytes)):
        raise ValueError(f"{cls}: expected a list of {nin} inputs, got {describe(x)}")
    x = [v if isinstance(v, Value) else Value(v) for v in x]
    if len(x) != nin:
        raise ValueError(f"{cls}: expected {nin} inputs, got {len(x)}")
    return x
