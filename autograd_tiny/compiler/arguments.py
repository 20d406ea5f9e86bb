"""A call's arguments, flattened: which are inputs (read anew on every call) and which are static.

A call's arguments become a *key* (their shape and their static values), the list of their
numbers and the list of their Values. A trace is reused for any call with the same key: floats,
ints and Values are the trace's inputs; everything else (bools, strings, other objects) is
static, part of the call's shape, so another one means another trace. An int is a number of the
call while fn uses it as one (a class label in ``pick(*row, label)``, ``s * -y``); fn sees it as
a stand-in that records how it is used (ints.py), and one that fn uses as a Python int
(``range(n)``, ``row[label]``) is static after all: the program then files its calls under that
int's value (see program.py).

Example:
    >>> from autograd_tiny import Value
    >>> v = Value(2.0)
    >>> key, numbers, values = flatten(([0.5, 1.5], v, 3))
    >>> numbers, values == [v]
    ([0.5, 1.5, 3.0], True)
    >>> flatten(([0.5, 1.5], Value(-1.0), 4))[0] == key, flatten(([0.5, 1.5], v, True))[0] == key
    (True, False)
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import Any

from ..engine import Value
from .ints import EXACT, TracedInt

__all__ = ["flatten", "Paths", "floats_as_values", "as_numbers", "each", "Arguments"]


class Paths:
    """Where each part of a call's arguments is, as fn's parameters name it (``yb[3]``): of each
    element of the key, of each number and of each Value, in the order `flatten` lists them."""

    def __init__(self) -> None:
        self.key: list[str] = []
        self.numbers: list[str] = []
        self.values: list[str] = []


def flatten(args: tuple, names: list[str] | None = None) -> tuple[tuple, list[float], list[Value]]:
    """(key, numbers, Values) of a call's arguments: see the module's documentation. Given the
    parameters' names, the paths too: (key, numbers, Values, `Paths`)."""
    key: list = []
    floats: list[float] = []
    values: list[Value] = []
    paths = None if names is None else Paths()
    _walk(args, key, floats, values, paths, names)
    if len(values) > 1:
        ids = list(map(id, values))
        if len(set(ids)) < len(ids):  # the same Value twice: one leaf, not two
            first: dict[int, int] = {}
            key.append(("same", tuple(first.setdefault(i, k) for k, i in enumerate(ids))))
            if paths is not None:
                paths.key.append("the same Value passed twice")
    if paths is not None:
        return tuple(key), floats, values, paths  # type: ignore[return-value]
    return tuple(key), floats, values


def _walk(x, key: list, floats: list, values: list, paths: Paths | None, path: Any) -> None:
    """x into the key, the numbers and the Values; with paths, where each is (path: x's own,
    or for the call's arguments, the parameters' names)."""
    cls = x.__class__
    if cls is float:
        key.append("f")
        floats.append(x)
    elif cls is Value:
        key.append("V")
        values.append(x)
    elif cls is int and -EXACT < x < EXACT:
        key.append("i")
        floats.append(float(x))
    elif cls is list or cls is tuple or cls is dict:
        items = x.items() if cls is dict else enumerate(x)
        if cls is dict:
            key.append((dict, tuple(x)))
        elif all(v.__class__ is float for v in x):  # a row of numbers, the common case
            key.append((cls, len(x), "f"))
            floats.extend(x)
            items = ()
        elif all(v.__class__ is int and -EXACT < v < EXACT for v in x):  # a row of labels
            key.append((cls, len(x), "i"))
            floats.extend(map(float, x))
            items = ()
        else:
            key.append((cls, len(x)))
        if paths is None:
            for _, v in items:
                _walk(v, key, floats, values, None, None)
            return
        paths.key.append(path if isinstance(path, str) else "the arguments")
        if not items:  # a row: its numbers
            paths.numbers += [_child(path, k) for k in range(len(x))]
        for k, v in items:
            _walk(v, key, floats, values, paths, _child(path, k))
        return
    elif isinstance(x, float) and not isinstance(x, bool):
        key.append("f")
        floats.append(float(x))
    elif x is None or isinstance(x, (numbers.Number, str, bytes)):
        key.append((cls, x))  # static: compared by value
    else:
        key.append((cls, _Same(x)))  # static: compared by identity
    if paths is not None:
        paths.key.append(path)
        if key[-1] in ("f", "i"):
            paths.numbers.append(path)
        elif key[-1] == "V":
            paths.values.append(path)


def _child(path: Any, k: Any) -> str:
    """The path of item k of what is at path (of the call's arguments: the parameter's name)."""
    if isinstance(path, str):
        return f"{path}[{k!r}]"
    return path[k] if k < len(path) else f"arg{k}"


class _Same:
    """An object in a key, compared by identity (a model, say): the key keeps it alive, so its
    id is never another object's."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return other.__class__ is _Same and other.obj is self.obj


def floats_as_values(x):
    """The argument as fn sees it when the engine runs it: every float a new Value."""
    cls = x.__class__
    if cls is float or isinstance(x, float) and not isinstance(x, bool):
        return Value(float(x))
    if cls is list or cls is tuple:
        return cls([floats_as_values(v) for v in x])
    if cls is dict:
        return {k: floats_as_values(v) for k, v in x.items()}
    return x


def as_numbers(x):
    """fn's result as the call returns it: every Value its number."""
    if isinstance(x, Value):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(as_numbers(v) for v in x)
    if isinstance(x, dict):
        return {k: as_numbers(v) for k, v in x.items()}
    return x


def each(x, cls: type):
    """The objects of class cls in x, a nested structure of lists, tuples and dicts."""
    if isinstance(x, cls):
        yield x
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from each(v, cls)
    elif isinstance(x, dict):
        for v in x.values():
            yield from each(v, cls)


class Arguments:
    """The arguments as fn sees them while traced: each float a new Value, each int a stand-in
    that records how fn uses it (ints.py), each Value a stand-in (so that a Value fn also
    reaches by another path is told apart from the argument); and where each is (`Paths`)."""

    def __init__(self, fn: Callable, args: tuple) -> None:
        self.float_slot: dict[Value, int] = {}  # the Value made for a number -> its index in the numbers
        self.value_slot: dict[Value, int] = {}  # a stand-in -> its index in values
        self.names: dict[Value, str] = {}  # fn's parameter names, for arguments that are numbers
        self._standins: dict[int, Value] = {}
        self._values = 0
        self._numbers = 0
        names = _parameter_names(fn, len(args))
        self.paths: Paths = flatten(args, names)[3]  # type: ignore[misc]
        self.converted = tuple(self._convert(a) for a in args)
        for name, a in zip(names, self.converted):
            if a.__class__ is Value:
                self.names[a] = a.label or name

    def _convert(self, x):
        cls = x.__class__
        if cls is Value:
            standin = self._standins.get(id(x))
            if standin is None:
                standin = self._standins[id(x)] = Value(x.data, x.label)
                self.value_slot[standin] = self._values
            self._values += 1
            return standin
        if cls is float or isinstance(x, float) and not isinstance(x, bool):
            v = Value(float(x))
            self.float_slot[v] = self._numbers
            self._numbers += 1
            return v
        if cls is int and -EXACT < x < EXACT:
            slot = self._numbers
            self._numbers += 1
            return TracedInt(x, frozenset((slot,)), functools.partial(self._leaf, x, slot),
                             functools.partial(self._adopt, slot))
        if cls is list or cls is tuple:
            return cls([self._convert(v) for v in x])
        if cls is dict:
            return {k: self._convert(v) for k, v in x.items()}
        return x

    def _leaf(self, number: int, slot: int) -> Value:
        """The leaf an int argument is in the graph, once fn computes with it: a number of the call."""
        v = Value(float(number))
        self._adopt(slot, v)
        return v

    def _adopt(self, slot: int, v: Value) -> None:
        """v stands for the call's number at slot (an int argument, made a Value)."""
        self.float_slot[v] = slot
        self.names[v] = self.paths.numbers[slot]


def _parameter_names(fn: Callable, n: int) -> list[str]:
    import inspect  # only here: it is slow to import

    try:
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    return [params[i].name if i < len(params) else f"arg{i}" for i in range(n)]
