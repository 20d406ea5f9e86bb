"""`Module`, the base of every network, and the state it finds in its attributes.

As in PyTorch, a network is a class with a ``forward``, and what it learns is what its
attributes hold. Assigning is enough: a `Value`, a `Module`, or a list, tuple or dict of them
(at any depth) belongs to the module, with nothing to register. One walk over the attributes
(`_walk`) finds it all, and every method reads that walk: `parameters`, `named_parameters`,
`children`, `modules`, `zero_grad`, `state_dict`, `load_state_dict`, `save`, `load` and the
repr. The walk keeps its own stack, so modules nested 5,000 deep, lists nested as deep, and
modules that refer back to each other are fine.

Example:
    >>> from autograd_tiny import Value
    >>> class Line(Module):
    ...     def __init__(self):
    ...         self.w, self.b = Value(2.0), Value(0.5)
    ...     def forward(self, x):
    ...         return self.w * x + self.b
    >>> line = Line()
    >>> line(3.0).data, line.state_dict()
    (6.5, {'w': 2.0, 'b': 0.5})
"""

from __future__ import annotations

import numbers
import os
import types
from collections.abc import Callable, Iterator
from itertools import chain
from operator import attrgetter
from typing import Any, NamedTuple

from . import serialization
from .checks import check_real, describe
from .engine import Value

__all__ = ["Module"]

# Attribute values that never hold parameters: Module does not even note their names.
_PLAIN = {str, bool, int, float, type(None), types.FunctionType, types.BuiltinFunctionType, types.MethodType}


class Module:
    """The base of every network: it finds its parameters and sub-modules in its attributes.

    Assign a `Value`, a `Module`, or a list, tuple or dict of them (at any depth) to an
    attribute, and it belongs to the module: `parameters`, `named_parameters`, `children`,
    `modules`, `zero_grad`, `state_dict`, `load_state_dict`, `save` and `load` all see it. An
    assignment only notes the attribute's name; these methods look at what the attributes hold
    when called (so ``self.layers.append(...)`` counts too), in the order they were first given
    something other than a number, string, None or function. Calling ``super().__init__()`` is
    allowed (as in PyTorch) but not needed: Module has nothing to set up.

    Define ``forward`` (calling the module calls it) or ``__call__``. Numbers, strings and
    containers of them are data, left alone. What cannot be named in order is refused with a
    TypeError rather than left out of training and saving: a set holding Values or Modules, a
    dict key in front of them that is not a name, and a Value or Module that is only reachable
    through the attributes of some other kind of object (make that object a Module). Such an
    object is looked into one level: its attributes, and the lists, tuples, dicts and sets they
    hold.

    Names are PyTorch's: dots separate sub-modules, list positions and dict keys
    (``layers.0.weight``, ``heads.en``); a list or tuple holding only Values (or lists of them)
    is one tensor, and brackets index the numbers within it (``layers.0.weight[3][1]``). A
    Value reachable twice (tied weights) is one parameter, saved under each of its names; a
    Module reachable twice (a shared layer) is walked once.

    Example:
        >>> from autograd_tiny import Value
        >>> from autograd_tiny.nn import Layer
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
    # How a class names its state when its attributes' names are not the ones to save under:
    # `_state_names` renames attributes holding Values (a Neuron's w is saved as 'weight'), and
    # the sub-modules in the list attribute `_stacked` are rows of one table (a Layer's neuron i
    # gives row i of the layer's 'weight'), as PyTorch's Linear saves them.
    _state_names: dict[str, str] = {}
    _stacked: str | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        # Note the names here rather than read self.__dict__ later: from Python 3.11 on,
        # reading __dict__ turns an object's compact attribute storage into a dict for good,
        # and every later `self.w` in the forward pass gets slower (7% for an MLP). Numbers,
        # strings and functions cannot hold parameters; a name set to one is noted only if it
        # is set to something else later.
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
        """Every parameter once, attribute by attribute, sub-modules in place (for an MLP: neuron
        by neuron, weights then bias, as micrograd orders them)."""
        params = _plain_parameters(self)
        if params is None:  # something beyond Values, Modules and flat lists of them: the walk
            params = [v for _, _, tensor in _walk(self).entries for v in _leaves(tensor)]
        return list(dict.fromkeys(params))  # a Value held twice (tied weights) counts once

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(name, parameter) for every parameter, in the order of `parameters`; a tied Value
        goes by the first of its names.

        Example:
            >>> from autograd_tiny.nn import Neuron
            >>> Neuron(2, seed=0).named_parameters()[0][0]
            'weight[0]'
        """
        found = _walk(self)
        names: dict[Value, str] = {}
        for key, tensor in _tensors(found).items():
            for value, index in _indexed(tensor):
                names.setdefault(value, key + index)
        params = list(dict.fromkeys(v for _, _, t in found.entries for v in _leaves(t)))
        return [(names[p], p) for p in params]

    def named_children(self) -> list[tuple[str, Module]]:
        """(name, module) for the sub-modules held directly, e.g. ``('layers.0', Layer(...))``."""
        return [(frame.name, frame.module) for frame in _walk(self, descend=False).frames[1:]]

    def children(self) -> list[Module]:
        """The sub-modules held directly (not their own sub-modules)."""
        return [child for _, child in self.named_children()]

    def named_modules(self) -> list[tuple[str, Module]]:
        """(dotted name, module) for this module (named ``''``) and every module inside it,
        parents before children."""
        return [(frame.name, frame.module) for frame in _walk(self).frames]

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
        entries with its name as prefix. `Neuron` and `Layer` name theirs as PyTorch's Linear
        does: ``weight`` (one row per neuron) and ``bias``.

        Example:
            >>> from autograd_tiny.nn import Neuron
            >>> Neuron(2, seed=0, init="uniform").state_dict()["bias"]
            0.0
        """
        return {key: _numbers(tensor) for key, tensor in _tensors(_walk(self)).items()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Copy the numbers of `state_dict` into the parameters.

        Everything is checked first (the same keys, the same shapes, finite real numbers); on
        any problem a `ValueError` names it and no parameter is changed.
        """
        if not isinstance(state_dict, dict):
            raise ValueError(f"load_state_dict: expected a dict, got {type(state_dict).__name__}")
        tensors = _tensors(_walk(self))
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

    # ------------------------------------------------------------------ files

    def save(self, path: str | os.PathLike) -> None:
        """Write the parameters (and, for the built-ins, the architecture) to a readable JSON file.

        The write is atomic: a crash leaves the old file or the complete new one. Read it back
        with `load` into a module of the same structure, or with `autograd_tiny.nn.load` for
        a built-in, which rebuilds it. See `autograd_tiny.serialization` for the format.

        Example:
            >>> import os, tempfile
            >>> from autograd_tiny.nn import Neuron
            >>> path = os.path.join(tempfile.mkdtemp(), "neuron.json")
            >>> a, b = Neuron(3, seed=0), Neuron(3, seed=1)
            >>> a.save(path)
            >>> b.load(path).state_dict() == a.state_dict()
            True
        """
        serialization.save(self, path)

    def load(self, path: str | os.PathLike, *, max_bytes: int = serialization.MAX_FILE_BYTES,
             max_parameters: int = serialization.MAX_PARAMETERS) -> Module:
        """Copy the parameters saved in `path` into this module and return it.

        The file must hold the same names and shapes (and, for a built-in of the same class,
        the same architecture). Everything is checked first: on any problem a `ValueError`
        names it and nothing changes. The caps are `autograd_tiny.nn.load`'s.
        """
        serialization.load_into(self, path, max_bytes=max_bytes, max_parameters=max_parameters)
        return self

    def _config(self) -> dict[str, Any] | None:
        """The arguments that rebuild a built-in, shown by its repr (None for other modules)."""
        return None

    def _architecture(self) -> dict[str, Any] | None:
        """What a model file records to rebuild this module: a built-in's `_config`; None for
        other modules, subclasses of the built-ins included (`nn.load` cannot build those)."""
        return self._config() if "_config" in type(self).__dict__ else None

    def __repr__(self) -> str:
        # PyTorch's layout, one line per sub-module, written without recursion: a module seen
        # before (shared, or a back-reference) shows as Name(...), as Python shows [...].
        lines: list[str] = []
        shown: set[int] = set()
        stack: list[Any] = [(0, "", self)]  # (depth, name, module), or a closing line
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                lines.append(item)
                continue
            depth, name, module = item
            pad, cls = "  " * depth, type(module).__name__
            head = f"{pad}({name}): " if depth else ""
            if depth and type(module).__repr__ is not Module.__repr__:
                lines.append(head + repr(module).replace("\n", "\n" + pad))
                continue
            config = module._config()
            if config is not None:
                lines.append(f"{head}{cls}({', '.join(f'{k}={v!r}' for k, v in config.items())})")
            elif id(module) in shown:
                lines.append(f"{head}{cls}(...)")
            else:
                shown.add(id(module))
                try:
                    children = module.named_children()
                except TypeError:  # what the module holds is refused; its methods say why, not its repr
                    children = []
                if not children:
                    lines.append(f"{head}{cls}()")
                    continue
                lines.append(f"{head}{cls}(")
                stack.append(f"{pad})")
                stack.extend((depth + 1, child_name, child) for child_name, child in reversed(children))
        return "\n".join(lines)


# ---------------------------------------------------------------------- the walk


class _Frame(NamedTuple):
    """A module found by the walk, and where its state goes."""

    module: Module
    name: str  # its dotted name from the walk's root: '' for the root, 'layers.0', 'encoder.neurons.2'
    key: str  # what the state_dict keys of its entries start with, e.g. 'layers.0.'
    at: tuple[int, ...]  # where its entries sit inside those keys (a Layer's neuron i: (i,))


class _Found(NamedTuple):
    """What a module holds: every module once, parents before children, and the state entries
    (key, index, Value or nested lists of Values), both in attribute order."""

    frames: list[_Frame]
    entries: list[tuple[str, tuple[int, ...], Any]]


def _walk(root: Module, descend: bool = True) -> _Found:
    """Everything `root`'s attributes hold, in order, with an explicit stack.

    With ``descend=False`` the sub-modules are listed (as frames) but not walked into.
    Modules and containers reached twice are walked once; a tensor reached twice is an entry
    under each name. Raises TypeError for what cannot be named in order (see `Module`).
    """
    frames = [_Frame(root, "", "", ())]
    entries: list[tuple[str, tuple[int, ...], Any]] = []
    hidden: list[tuple[_Frame, str, Any, str, Any]] = []  # (frame, path, object, path inside, item)
    seen = {id(root)} if descend else set()  # (a module holding itself has itself as a child)
    # pending items, the next one last: (frame, path from the frame's module, object, where a
    # row of a stacked table goes or None)
    stack: list[tuple[_Frame, str, Any, tuple | None]] = _attributes(frames[0])
    while stack:
        frame, path, obj, row = stack.pop()
        kind = type(obj)
        if kind in _PLAIN:
            continue
        if kind is Value or isinstance(obj, Value):
            entries.append((frame.key + frame.module._state_names.get(path, path), frame.at, obj))
        elif isinstance(obj, Module):
            key, index = (frame.key + path + ".", frame.at) if row is None else row
            if id(obj) in seen:
                if row is not None:  # a row of a table held twice: its numbers fill this row too
                    entries += [(key + k, index + i, t) for k, i, t in _walk(obj, descend=False).entries]
                continue
            seen.add(id(obj))
            child = _Frame(obj, f"{frame.name}.{path}" if frame.name else path, key, index)
            frames.append(child)
            if descend:
                stack += _attributes(child)
        elif isinstance(obj, (list, tuple)):
            holds = _sort_out(obj)
            if holds == "tensor":
                entries.append((frame.key + frame.module._state_names.get(path, path), frame.at, obj))
            elif holds == "mixed" and id(obj) not in seen:
                seen.add(id(obj))
                stacked = path == frame.module._stacked
                stack += [(frame, f"{path}.{i}", x, (frame.key, (*frame.at, i)) if stacked else None)
                          for i, x in reversed(list(enumerate(obj)))]
        elif isinstance(obj, dict):
            if id(obj) not in seen and _holds(obj):
                seen.add(id(obj))
                for k, x in reversed(list(obj.items())):
                    if not _is_name(k) and _holds(x):
                        raise TypeError(f"{_owner(frame)}: {path!r} holds a {type(x).__name__} under the key "
                                        f"{describe(k)}: the keys in front of Values and Modules must be names "
                                        "(strings without '.', '[' or ']'), as their state_dict keys are made of them")
                    stack.append((frame, f"{path}.{k}", x, None))
        elif isinstance(obj, (set, frozenset)):
            if _holds(obj):
                raise TypeError(f"{_owner(frame)}: {path!r} is a set holding Values or Modules, which has no "
                                "order to name or save them by: use a list")
        else:
            hidden += [(frame, path, obj, inner, x) for inner, x in _inside(obj)]
    if descend:
        _refuse_hidden(frames, entries, hidden)
    return _Found(frames, entries)


def _plain_parameters(root: Module) -> list[Value] | None:
    """`_walk`'s Values in its order (tied ones repeated), or None if any attribute holds more
    than a Value, a Module or a flat list of either.

    An optimization, and the only other reader of the attributes: `parameters` runs at every
    training step (zero_grad, the update), and for this plain case, which is all the built-ins
    are made of, it costs 40% of the walk's instructions (0.67 M against 1.6 M for the demo's
    MLP(2, [16, 16, 1]), 1.5% of its training step). Anything else goes to `_walk`, which holds
    the rules.
    """
    params: list[Value] = []
    seen = {id(root)}
    stack = [_values_of(root)]
    while stack:
        for value in stack[-1]:
            kind = type(value)
            if kind is Value:
                params.append(value)
            elif kind in _PLAIN:
                continue
            elif kind is list and set(map(type, value)) == _VALUE:
                params.extend(value)
            elif kind is list and not value:
                continue
            elif isinstance(value, Module):
                if id(value) not in seen:
                    seen.add(id(value))
                    stack.append(_values_of(value))
                    break  # its parameters come in place, before the next attribute
            elif kind is list and value and all(issubclass(k, Module) for k in set(map(type, value))):
                if id(value) not in seen:
                    seen.add(id(value))
                    stack.append(iter(value))
                    break
            else:
                return None
        else:
            stack.pop()
    return params


_VALUE = {Value}


def _values_of(module: Module) -> Iterator[Any]:
    return iter([getattr(module, name, None) for name in module._attribute_names or ()])


def _attributes(frame: _Frame) -> list[tuple[_Frame, str, Any, tuple | None]]:
    """The walk's items for a module's attributes, last first."""
    module = frame.module
    return [(frame, name, getattr(module, name, None), None) for name in reversed(module._attribute_names or ())]


def _sort_out(items: list | tuple) -> str:
    """'tensor' if `items` holds only Values, in lists and tuples at any depth; 'data' if it holds
    no Value, Module or other object that might hold one; 'mixed' otherwise (then the walk takes
    its items one by one). Looks level by level, so that a long list of data costs little."""
    if set(map(type, items)) == _VALUE:  # the usual case, a flat list of Values, at C speed
        return "tensor"
    level, seen = items, {id(items)}
    values = plain = False
    while level:
        kinds = set(map(type, level))
        nested = []
        for kind in kinds:
            if issubclass(kind, Value):
                values = True
            elif issubclass(kind, (list, tuple)):
                nested.append(kind)
            elif kind in _PLAIN or issubclass(kind, (str, bytes, numbers.Number)):
                plain = True
            else:
                return "mixed"  # a Module, a dict, a set, some object: look at each item
        if not nested:
            break
        inner = level if len(nested) == len(kinds) else [x for x in level if isinstance(x, (list, tuple))]
        ids = set(map(id, inner))
        if ids & seen:
            return "mixed"  # a list that holds itself: taken item by item, each container once
        seen |= ids
        level = list(chain.from_iterable(inner))
    if values:
        return "mixed" if plain else "tensor"
    return "data"


def _holds(x: Any) -> bool:
    """Whether `x` is or holds a Value or a Module (anything the walk would collect or refuse)."""
    if type(x) in _PLAIN:
        return False
    if isinstance(x, (Value, Module)):
        return True
    if isinstance(x, (list, tuple, set, frozenset)):
        return _sort_out(list(x)) != "data"
    if isinstance(x, dict):
        return _sort_out(list(x.values())) != "data"
    return any(True for _ in _inside(x))


def _is_name(key: Any) -> bool:
    return isinstance(key, str) and key != "" and not any(c in key for c in ".[]")


def _owner(frame: _Frame) -> str:
    return type(frame.module).__name__


def _inside(obj: Any) -> Iterator[tuple[str, Any]]:
    """(path, item) for each Value and Module that another kind of object holds in its
    attributes, directly or in lists, tuples, dicts and sets (at any depth). One level only: the
    objects those hold are not looked into, so that a module holding, say, a logger does not
    walk everything the logger can reach."""
    stack = [(name, x) for name, x in reversed(_object_attributes(obj))]
    seen: set[int] = set()
    while stack:
        path, x = stack.pop()
        if isinstance(x, (Value, Module)):
            yield path, x
        elif isinstance(x, (list, tuple, dict, set, frozenset)) and id(x) not in seen:
            seen.add(id(x))
            items = [(f"{path}[{k!r}]", v) for k, v in x.items()] if isinstance(x, dict) else \
                    [(f"{path}[{i}]", v) for i, v in enumerate(x)]
            if _sort_out([v for _, v in items]) != "data":
                stack += reversed(items)


def _object_attributes(x: Any) -> list[tuple[str, Any]]:
    """The attributes of a plain object: its __dict__ and its __slots__ (none for a class, a
    function or a module of code)."""
    if isinstance(x, (type, types.ModuleType, types.FunctionType, types.MethodType)):
        return []
    found = list(getattr(x, "__dict__", {}).items())
    for cls in type(x).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and hasattr(x, name):
                found.append((name, getattr(x, name)))
    return found


def _refuse_hidden(frames: list[_Frame], entries: list, hidden: list[tuple[_Frame, str, Any, str, Any]]) -> None:
    """A TypeError for a Value or Module found only inside another kind of object: it would be
    neither trained nor saved. One that the walk also collects elsewhere is fine."""
    if not hidden:
        return
    modules = {id(frame.module) for frame in frames}
    params = {id(v) for _, _, tensor in entries for v in _leaves(tensor)}
    for frame, path, holder, inner, x in hidden:
        if id(x) not in (modules if isinstance(x, Module) else params):
            what, cls = type(x).__name__, type(holder).__name__
            raise TypeError(f"{_owner(frame)}: '{path}.{inner}' is a {what} inside a {cls}, which is not "
                            f"collected (nor saved): make {cls} a Module, or keep the {what} in an attribute, "
                            "a list, a tuple or a dict")


# ---------------------------------------------------------------------- tensors: Values in nested lists


def _tensors(found: _Found) -> dict[str, Any]:
    """The state's layout: each state_dict key with its Value or nested lists of Values."""
    tensors: dict[str, Any] = {}
    for key, index, tensor in found.entries:
        tensor = _nested(tensor)  # a copy, lists all the way down
        if not index:
            if key in tensors:
                raise TypeError(f"two parameters are named {key!r}: rename one attribute")
            tensors[key] = tensor
            continue
        rows = tensors.setdefault(key, [])
        for i in index[:-1]:
            rows = rows[i] if isinstance(rows, list) and i < len(rows) else None
        if not isinstance(rows, list) or index[-1] != len(rows):
            raise TypeError(f"{key!r}: row {list(index)} does not follow the rows before it")
        rows.append(tensor)
    return tensors


_number = attrgetter("data")


def _numbers(tensor: Any) -> Any:
    """A tensor's numbers: a float, or nested lists of floats."""
    if type(tensor) is list and set(map(type, tensor)) == _VALUE:  # a flat list, the usual case
        return [v.data for v in tensor]
    return _nested(tensor, _number)


def _nested(tensor: Any, leaf: Callable[[Value], Any] | None = None) -> Any:
    """A Value, or nested lists or tuples of them, as nested lists of leaf(Value) (of the Values
    themselves when `leaf` is None), without recursion."""
    if not isinstance(tensor, (list, tuple)):
        return tensor if leaf is None else leaf(tensor)
    out: list = []
    stack = [(tensor, out)]
    while stack:
        items, copy = stack.pop()
        if set(map(type, items)) == _VALUE:  # a row of Values, the usual case
            copy.extend(items if leaf is None else map(leaf, items))
            continue
        for x in items:
            if isinstance(x, (list, tuple)):
                inner: list = []
                copy.append(inner)
                stack.append((x, inner))
            else:
                copy.append(x if leaf is None else leaf(x))
    return out


def _leaves(tensor: Any) -> list[Value]:
    """The Values of a tensor, in order, without recursion."""
    if not isinstance(tensor, (list, tuple)):
        return [tensor]
    if set(map(type, tensor)) == _VALUE:
        return list(tensor)
    found: list[Value] = []
    stack = [tensor]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(reversed(x))
        else:
            found.append(x)
    return found


def _indexed(tensor: Any) -> Iterator[tuple[Value, str]]:
    """(Value, '[i][j]') for each Value of a tensor, in order, without recursion."""
    stack = [(tensor, "")]
    while stack:
        x, index = stack.pop()
        if isinstance(x, list):
            stack.extend((item, f"{index}[{i}]") for i, item in reversed(list(enumerate(x))))
        else:
            yield x, index


def _match(name: str, tensor: Any, given: Any, new: dict[Value, tuple[str, float]]) -> None:
    """Check that `given` has the shape of `tensor` and holds finite real numbers; collect them."""
    stack = [(name, tensor, given)]
    while stack:
        where, params, numbers_ = stack.pop()
        if isinstance(params, Value):
            x = check_real("load_state_dict", repr(where), numbers_)
            if params in new and new[params][1] != x:  # one Value under two names (tied weights)
                raise ValueError(f"load_state_dict: {new[params][0]!r} and {where!r} are the same parameter "
                                 f"but get different numbers ({new[params][1]!r}, {x!r})")
            new[params] = (where, x)
            continue
        if not isinstance(numbers_, (list, tuple)):
            raise ValueError(f"load_state_dict: {where!r} should be a list of {len(params)}, "
                             f"got {type(numbers_).__name__}: {describe(numbers_)}")
        if len(numbers_) != len(params):
            raise ValueError(f"load_state_dict: {where!r} should have {len(params)} entries, got {len(numbers_)}")
        stack.extend((f"{where}[{i}]", p, g) for i, (p, g) in reversed(list(enumerate(zip(params, numbers_)))))
