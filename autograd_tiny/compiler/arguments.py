"""A call's arguments, flattened: which are inputs (read anew on every call) and which are static.

A call's arguments become a *key* (their shape and their static values), the list of their
floats and the list of their Values. A trace is reused for any call with the same key: floats
and Values are the trace's inputs, everything else (ints, strings, other objects) is static,
part of the call's shape, so another one means another trace.

Example:
    >>> from autograd_tiny import Value
    >>> v = Value(2.0)
    >>> key, floats, values = flatten(([0.5, 1.5], v, 3))
    >>> floats, values == [v]
    ([0.5, 1.5], True)
    >>> flatten(([0.5, 1.5], Value(-1.0), 3))[0] == key, flatten(([0.5, 1.5], v, 4))[0] == key
    (True, False)
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

from ..engine import Value

__all__ = ["flatten", "floats_as_values", "as_numbers", "each", "Arguments"]


def flatten(args: tuple) -> tuple[tuple, list[float], list[Value]]:
    """(key, floats, Values) of a call's arguments: see the module's documentation."""
    key: list = []
    floats: list[float] = []
    values: list[Value] = []
    _walk(args, key, floats, values)
    if len(values) > 1:
        ids = list(map(id, values))
        if len(set(ids)) < len(ids):  # the same Value twice: one leaf, not two
            first: dict[int, int] = {}
            key.append(("same", tuple(first.setdefault(i, k) for k, i in enumerate(ids))))
    return tuple(key), floats, values


def _walk(x, key: list, floats: list, values: list) -> None:
    cls = x.__class__
    if cls is float:
        key.append("f")
        floats.append(x)
    elif cls is Value:
        key.append("V")
        values.append(x)
    elif cls is list or cls is tuple:
        if all(v.__class__ is float for v in x):  # a row of numbers, the common case
            key.append((cls, len(x), "f"))
            floats.extend(x)
        else:
            key.append((cls, len(x)))
            for v in x:
                _walk(v, key, floats, values)
    elif cls is dict:
        key.append((dict, tuple(x)))
        for v in x.values():
            _walk(v, key, floats, values)
    elif isinstance(x, float) and not isinstance(x, bool):
        key.append("f")
        floats.append(float(x))
    elif x is None or isinstance(x, (numbers.Number, str, bytes)):
        key.append((cls, x))  # static: compared by value
    else:
        key.append((cls, _Same(x)))  # static: compared by identity


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
    """The arguments as fn sees them while traced: each float a new Value, each Value a stand-in
    (so that a Value fn also reaches by another path is told apart from the argument)."""

    def __init__(self, fn: Callable, args: tuple) -> None:
        self.float_slot: dict[Value, int] = {}  # the Value made for a float -> its index in floats
        self.value_slot: dict[Value, int] = {}  # a stand-in -> its index in values
        self.names: dict[Value, str] = {}  # fn's parameter names, for arguments that are numbers
        self._standins: dict[int, Value] = {}
        self._values = 0
        self.converted = tuple(self._convert(a) for a in args)
        for name, a in zip(_parameter_names(fn, len(args)), self.converted):
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
            self.float_slot[v] = len(self.float_slot)
            return v
        if cls is list or cls is tuple:
            return cls([self._convert(v) for v in x])
        if cls is dict:
            return {k: self._convert(v) for k, v in x.items()}
        return x


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
