"""`compile`: write a function's forward and backward pass out as plain Python on floats.

``compile(fn)`` runs ``fn`` once on Values (a *trace*), reads the graph that run built, and
writes one Python function doing the same arithmetic on plain floats: the forward pass node by
node, then the backward pass with the chain rule written out, one line per edge::

    g_n = (1 - o * o) * g_o      # o = tanh(n): d o / d n = 1 - o²

That code is what ``backward()`` does, without building a graph: the "hand-derived backward
pass" of a course, generated. It runs several times faster than the engine, and faster than a
hand-written plain-Python step. ``compiled.source`` shows it.

Example:
    >>> from autograd_tiny import Value
    >>> w = Value(2.0, label="w")
    >>> f = compile(lambda x: (w * x).tanh())
    >>> round(f(0.5), 6), round(w.grad, 6)     # the output's number; w.grad += d out / d w
    (0.761594, 0.209987)
    >>> round(f(-1.0), 6), f.traces            # another number: the same code, no new trace
    (-0.964028, 1)

How a call works:

- **Arguments** are floats, Values, ints and (nested) lists, tuples or dicts of them. Floats are
  *inputs*: fn sees them as Values while it is traced, and the code reads the new numbers on
  every call. Values passed as arguments are inputs too, and get their ``.grad``. Ints, bools,
  strings and other objects are *static*: part of the call's shape (ints index lists and count
  loops, which no trace can follow), so another one means another trace. Numbers fn makes itself
  or finds outside (a closure's data) are constants. Values fn finds outside (a model's
  parameters) are read and get their gradients on every call.
- **What it returns.** fn returns a Value (the loss), or a tuple whose first item is the loss
  and the rest anything made of Values and static objects. The call returns the same with
  numbers for Values, and adds the gradients of the loss into ``.grad`` of every leaf Value,
  exactly as ``fn(*args).backward()`` (``[0].backward()``) would: the same float operations in
  the same order (the same numbers, but for the sign of a zero), so ``zero_grad()`` loops work
  unchanged. Inside ``no_grad()``, or compiled with
  ``backward=False``, only the forward pass runs (and fn may return any structure).
- **Guards.** What could make fn build another graph is checked on every call: the shape of
  the arguments, the outcome of every comparison fn made on a Value (``if v > 0``, ``max``),
  and every number fn read out of a Value (``float(v)``, ``v.item()``, printing). Another
  outcome traces again (a few variants are kept). Branches *inside* ops (relu, abs, ...) are
  tested in the generated code itself, forward and backward.
- **Errors.** Wherever the generated code meets an exception (``log(0)``, ``x / 0``, an
  overflow), the call is run again by the engine itself, which raises the engine's own
  DomainError (or returns its IEEE result, such as ``exp(1000) = inf``).
- **Size.** A sum of many terms that all have the same shape (a loss over the examples of a
  batch: the same model applied to each row) is written once, as one example's code inside a
  ``for`` loop over the batch, so the code stays small whatever the batch size.

What compile cannot see, and so does not allow for: ``v.data`` read inside fn (the number is a
constant of the trace; use ``float(v)``, which is guarded, or ``v.detach()``); side effects of
fn (they happen while tracing only); hooks (``register_hook``) on leaves; and a closure that
reaches other Values later (a new model: compile again).
"""

from __future__ import annotations

import builtins
import collections
import functools
import gc
import itertools
import keyword
import math
import numbers
import operator
import re
import sys
import threading
import warnings
from _thread import get_ident
from collections.abc import Callable, Sequence
from typing import Any, overload

from ..engine import Op, Value, topological_order
from ..grad_mode import enable_grad, is_grad_enabled, no_grad
from ..neuron import NeuronOp

__all__ = ["compile", "Compiled", "CompileError"]

ROLL_MIN = 8  # terms of the same shape, at least, for a loop instead of straight-line code
VARIANTS = 8  # traces kept per shape of arguments (one per set of comparison outcomes)


class CompileError(Exception):
    """fn does something compiled code cannot reproduce (calls backward() while traced, ...)."""


# compile(fn) is a Compiled; compile(backward=False) a decorator that makes one
@overload
def compile(fn: Callable, *, backward: bool = True) -> Compiled: ...
@overload
def compile(fn: None = None, *, backward: bool = True) -> Callable[[Callable], Compiled]: ...


def compile(fn: Callable | None = None, *, backward: bool = True) -> Compiled | Callable[[Callable], Compiled]:
    """Compile fn into plain-Python forward and backward code (see the module's documentation).

    Args:
        fn: a function of Values returning the loss (a Value), or a tuple (loss, anything).
        backward: False for a forward pass only (fn may then return any structure).

    Returns:
        a `Compiled` callable: ``compiled(*args)`` returns fn's output as numbers and adds the
        gradients to ``.grad``; ``compiled.source`` is the generated code.

    Example:
        >>> from autograd_tiny import Value
        >>> x = Value(3.0)
        >>> cube = compile(lambda: x * x * x)
        >>> cube(), x.grad
        (27.0, 27.0)
        >>> print(cube.source.splitlines()[0])
        def step(D, A, backward):
    """
    if fn is None:  # @compile(backward=False)
        return functools.partial(compile, backward=backward)
    if not callable(fn):
        raise TypeError(f"compile: expected a function, got {type(fn).__name__}: {fn!r}")
    return Compiled(fn, backward=backward)


class Compiled:
    """What `compile` returns: call it like fn. ``source`` is the code of its last trace,
    ``traces`` the number of times fn was traced, ``fallbacks`` the number of calls the engine
    ran itself (an error or an overflow met in the generated code, an argument it cannot take)."""

    def __init__(self, fn: Callable, backward: bool = True) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.backward = bool(backward)
        self.traces = 0
        self.fallbacks = 0
        self._programs: dict[tuple, list[_Program]] = {}
        self._last: _Program | None = None
        self._warned = False

    @property
    def source(self) -> str:
        """The generated Python code of the most recent trace ('' before the first call)."""
        return self._last.source if self._last is not None else ""

    def __repr__(self) -> str:
        return f"<compiled {getattr(self.fn, '__name__', 'function')} ({self.traces} trace(s))>"

    def __call__(self, *args: Any) -> Any:
        if _active.get(get_ident()) is not None:  # inside another trace: stay eager, so that
            return self.fn(*args)  # the outer trace records the ops
        key, floats, values = _flatten(args)
        grad = self.backward and is_grad_enabled()
        programs = self._programs.setdefault(key, [])
        for i, program in enumerate(programs):
            try:
                out = program.run(floats, values, grad)
            except _Retrace:
                continue  # another outcome of a comparison: try the next variant
            except (ArithmeticError, ValueError):  # a domain error, an overflow: the engine
                return self._eager(args, grad)  # raises its own error, or returns IEEE's result
            if out is _EAGER:
                return self._eager(args, grad)
            if i:
                programs.insert(0, programs.pop(i))  # most recent first
            return out
        program = self._trace(args)
        programs.insert(0, program)
        del programs[VARIANTS:]
        try:
            out = program.run(floats, values, grad)
        except (_Retrace, ArithmeticError, ValueError):
            out = _EAGER  # fn gives another graph on the same arguments (randomness inside)
        return self._eager(args, grad) if out is _EAGER else out

    def _trace(self, args: tuple) -> _Program:
        self.traces += 1
        if self.traces > 2 * VARIANTS and not self._warned:
            self._warned = True
            warnings.warn(
                f"compile: {getattr(self.fn, '__name__', 'fn')} was traced {self.traces} times: comparisons "
                "on Values, or static arguments (ints, objects), change from call to call",
                RuntimeWarning,
                stacklevel=3,
            )
        # The cyclic garbage collector would walk the whole graph again and again while its
        # nodes are read (a 100,000-node trace compiles 3-4 times slower): pause it. Nothing
        # here leaves cycles behind (the engine's graphs have none; _Program breaks its own).
        paused = gc.isenabled()
        gc.disable()
        try:
            program = _Program(self._graph(args), getattr(self.fn, "__name__", "fn"))
        finally:
            if paused:
                gc.enable()
        self._last = program
        return program

    def _graph(self, args: tuple) -> _Graph:
        """Run fn on Values, recording; read the graph it built (freed when this returns)."""
        call = _Arguments(self.fn, args)
        trace = _Trace()
        with enable_grad():
            with _recording(trace):
                start = trace.marker()
                result = self.fn(*call.converted)
            return _Graph(trace, result, start, call, self.backward)

    def _eager(self, args: tuple, grad: bool) -> Any:
        """The call done by the engine itself: fn(*args).backward(), floats given as Values."""
        self.fallbacks += 1
        result = self.fn(*[_floats_as_values(a) for a in args])
        if grad:
            _loss_of(result).backward()
        return _as_numbers(result)


# ---------------------------------------------------------------------- arguments
# A call's arguments become a key (their shape and static values), the list of their floats and
# the list of their Values. A trace is reused for any call with the same key.


def _flatten(args: tuple) -> tuple[tuple, list[float], list[Value]]:
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


def _floats_as_values(x):
    """The argument as fn sees it: every float a new Value (fn is a function of Values)."""
    cls = x.__class__
    if cls is float or isinstance(x, float) and not isinstance(x, bool):
        return Value(float(x))
    if cls is list or cls is tuple:
        return cls([_floats_as_values(v) for v in x])
    if cls is dict:
        return {k: _floats_as_values(v) for k, v in x.items()}
    return x


class _Arguments:
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


# ---------------------------------------------------------------------- tracing
# While fn runs, the tracing thread records what the graph does not show: comparisons made on
# Values, numbers read out of them, leaves fn makes, detach(), and no_grad blocks. It does so
# by wrapping those methods of Value (and no_grad/enable_grad's __enter__/__exit__) for the
# duration of the trace; other threads go straight through to the engine's methods.
# Each record gets a *marker*: a tiny node whose creation stamp says where, among the nodes
# fn made, the record happened.

_MARK_LEAF = Value(0.0)
_active: dict[int, _Trace] = {}  # thread id -> the trace it is recording
_patch_lock = threading.Lock()
_patched = 0


class _Trace:
    """What one traced run of fn did besides building its graph."""

    def __init__(self) -> None:
        self.comparisons: list[tuple] = []  # (x, symbol, y, outcome, marker)
        self.readings: list[tuple] = []  # (value, its number, marker): float(v), v.item(), ...
        self.made: set[Value] = set()  # leaves made with Value(...) inside fn
        self.detached: dict[Value, Value] = {}  # leaf made by detach() -> its source
        self.modes: list[tuple[Value, bool]] = []  # (marker, recording on?) at each switch
        self.marks: set[Value] = set()
        self._stack: list[bool] = []
        self._recording = True

    def marker(self) -> Value:
        mark = _MARK_LEAF * 1.0
        self.marks.add(mark)
        return mark

    def switch(self, enabled: bool | None) -> None:
        """no_grad / enable_grad entered (True/False), or left (None)."""
        if enabled is None:
            self._recording = self._stack.pop()
        else:
            self._stack.append(self._recording)
            self._recording = enabled
        self.modes.append((self.marker(), self._recording))


def _comparison(name: str, symbol: str) -> Callable:
    engine_method = Value.__dict__[name]

    def compare(self, other):
        outcome = engine_method(self, other)
        trace = _active.get(get_ident())
        if trace is not None:
            trace.comparisons.append((self, symbol, other, outcome, trace.marker()))
        return outcome

    return compare


def _reading(name: str) -> Callable:
    engine_method = Value.__dict__[name]

    def read(self, *args):
        trace = _active.get(get_ident())
        if trace is not None:
            trace.readings.append((self, self.data, trace.marker()))
        return engine_method(self, *args)

    return read


def _made(self, *args, **kwargs):
    _ENGINE["__init__"](self, *args, **kwargs)
    trace = _active.get(get_ident())
    if trace is not None:
        trace.made.add(self)


def _detach(self):
    new = _ENGINE["detach"](self)
    trace = _active.get(get_ident())
    if trace is not None:
        trace.detached[new] = self
    return new


def _refuse(what: str, advice: str) -> Callable:
    engine_method = Value.__dict__[what]

    def refuse(self, *args, **kwargs):
        if _active.get(get_ident()) is not None:
            raise CompileError(f"compile: fn calls {what}() while traced; {advice}")
        return engine_method(self, *args, **kwargs)

    return refuse


def _grad_mode(enabled: bool | None) -> Callable:
    engine_method = no_grad.__enter__ if enabled is not None else no_grad.__exit__

    def switch(self, *exc):
        trace = _active.get(get_ident())
        if trace is None:
            return engine_method(self, *exc)
        trace.switch(enabled)  # keep recording, but remember that these nodes pass no gradient
        return None

    return switch


_ENGINE = {name: Value.__dict__[name] for name in ("__init__", "detach")}
_WRAPPERS: list[tuple[type, str, Callable]] = [
    *[(Value, name, _comparison(name, symbol)) for name, symbol in
      [("__lt__", "<"), ("__le__", "<="), ("__gt__", ">"), ("__ge__", ">=")]],
    *[(Value, name, _reading(name)) for name in ("__float__", "item", "__round__", "__format__", "__repr__")],
    (Value, "__init__", _made),
    (Value, "detach", _detach),
    (Value, "backward", _refuse("backward", "return the loss: the compiled call runs backward itself")),
    (Value, "register_hook", _refuse("register_hook", "compiled code does not run hooks")),
    (no_grad, "__enter__", _grad_mode(False)),
    (no_grad, "__exit__", _grad_mode(None)),
    (enable_grad, "__enter__", _grad_mode(True)),
    (enable_grad, "__exit__", _grad_mode(None)),
]  # fmt: skip
_SAVED = [(cls, name, cls.__dict__.get(name)) for cls, name, _ in _WRAPPERS]


class _recording:
    """Inside: this thread records into `trace` (the wrappers are in place while anyone traces)."""

    def __init__(self, trace: _Trace) -> None:
        self.trace = trace

    def __enter__(self) -> None:
        global _patched
        with _patch_lock:
            if _patched == 0:
                for cls, name, wrapper in _WRAPPERS:
                    setattr(cls, name, wrapper)
            _patched += 1
            _active[get_ident()] = self.trace

    def __exit__(self, *exc: object) -> None:
        global _patched
        with _patch_lock:
            del _active[get_ident()]
            _patched -= 1
            if _patched == 0:
                for cls, name, saved in _SAVED:
                    if saved is None:
                        delattr(cls, name)  # inherited again
                    else:
                        setattr(cls, name, saved)


# ---------------------------------------------------------------------- the graph
# The trace as a list of nodes in the order fn made them (so the forward pass runs in the
# engine's order, and the backward pass in its reverse), with every leaf classified.


class _Node:
    """One node of the compiled graph: a leaf, an op, or the copy made by detach()."""

    __slots__ = (
        "how",
        "op",
        "ins",
        "data",
        "label",
        "kind",
        "slot",
        "obj",
        "nograd",
        "wants",
        "reach",
        "users",
        "loop",
        "index",
        "start",
    )

    def __init__(self, how: str, data: float, label: str = "") -> None:
        self.how = how  # 'leaf', 'detach', or what the op is ('+', 'tanh', 'neuron', 'custom', ...)
        self.op: Op | None = None  # the engine's Op (None for leaves and detach copies)
        self.ins: list = []  # the inputs: _Nodes, and floats for numbers written in the expression
        self.data = data  # the number seen while tracing
        self.label = label
        self.kind = ""  # leaves: 'number' (a float argument), 'value' (a Value argument),
        # 'outside' (a Value fn reached: a parameter), 'upstream' (the same, made by an op before
        # fn ran: its graph is followed by the engine), 'constant' (made inside fn, then dropped)
        self.slot = -1  # arguments: the index in the call's floats or Values
        self.obj: Value  # outside / upstream leaves: the Value (other nodes never have one)
        self.nograd = False  # made inside no_grad(): no gradient flows through it
        self.wants = False  # a gradient flows from it to a leaf that keeps it
        self.reach = False  # the loss depends on it
        self.users = 0  # how many op inputs are this node
        self.loop: _Loop | _Folded | None = None  # the loop it is computed in, if any
        self.index = -1  # ops: the position in the graph's list of nodes
        self.start: float | None = None  # a chain of '+' (see _fold_chains): the number sum() starts from, if any


def _op(node: _Node) -> Op:
    """The engine's Op of an op node (the writer never asks a leaf or a detach() copy, which have none)."""
    assert node.op is not None, node.how
    return node.op


def _neuron_op(node: _Node) -> NeuronOp:
    """The engine's op of a neuron node: its activation's name and Op."""
    assert isinstance(node.op, NeuronOp), node.how
    return node.op


def _builtin_ops() -> dict:
    """The engine's own Op objects, found through the public graph view, with their kind."""
    global _BUILTINS
    if _BUILTINS is None:
        with enable_grad():
            x, y = Value(0.5), Value(2.0)
            samples = {
                "+": x + y, "*": x * y, "/": x / y, "**": x**y, "exp": x.exp(), "log": x.log(),
                "tanh": x.tanh(), "sigmoid": x.sigmoid(), "softplus": x.softplus(), "relu": x.relu(),
                "leaky_relu": x.leaky_relu(), "abs": x.abs(), "sin": x.sin(), "cos": x.cos(),
                "sum": Value.sum([x, y]), "logsumexp": Value.logsumexp([x, y]),
            }  # fmt: skip
        _BUILTINS = {node.grad_fn: how for how, node in samples.items()}
    return _BUILTINS


_BUILTINS: dict | None = None


class _Graph:
    """The trace read into nodes: leaves, ops in creation order, guards, outputs, loss.

    It keeps no Value but the leaves fn reached outside its arguments: the rest of the trace's
    graph is freed once this is built.
    """

    def __init__(self, trace: _Trace, result: Any, start: Value, call: _Arguments, backward: bool) -> None:
        self.trace, self.call = trace, call
        self.leaves: list[_Node] = []
        self.nodes: list[_Node] = []  # ops (and detach copies) in creation order
        self._of: dict[Value, _Node] = {}
        self._pending: list[tuple[Value, _Node]] = []  # leaves fn made: constants, or kept?
        self._detached_of = collections.defaultdict(list)  # source -> the leaves detach() made
        for new, source in trace.detached.items():
            self._detached_of[source].append(new)
        loss = _loss_of(result) if backward else None
        marks_at = self._read(_creation_order(trace, result, start), start)
        self.guards = self._guards(trace, marks_at)
        self.outputs = _map_values(result, self._value)
        self.loss = self._value(loss) if loss is not None else None
        del loss
        self._classify_made_leaves(trace, result)
        del self.trace, self.call, self._of, self._pending, self._detached_of
        if self.loss is not None and self.loss.nograd:
            raise RuntimeError("backward: the loss was computed inside no_grad(), so it has no graph; "
                               "compute it outside no_grad() to get gradients")  # fmt: skip
        self._mark_reach()

    def _read(self, order: list[Value], start: Value) -> dict[Value, int]:
        """Nodes for the ops fn made, in creation order; returns where each marker fell."""
        trace = self.trace
        marks, switches = trace.marks, dict(trace.modes)
        kinds = _builtin_ops()
        of, nodes, detached_of = self._of, self.nodes, self._detached_of
        marks_at: dict[Value, int] = {}
        recording = True
        begin = order.index(start) + 1  # what comes before was made before fn ran: 'upstream'
        for v in itertools.islice(order, begin, None):
            if v in marks:
                marks_at[v] = len(nodes)
                recording = switches.get(v, recording)
                continue
            op = v.grad_fn
            node = _Node(
                kinds.get(op) or ("neuron" if isinstance(op, NeuronOp) else "custom"), v.data, v.label
            )
            node.op = op
            wants = False
            ins = []
            for p in v.parents:
                if p.__class__ is Value:
                    p = of.get(p) or self._input(p)
                    p.users += 1
                    wants = wants or p.wants
                else:
                    p = float(p)  # a number written in the expression
                ins.append(p)
            node.ins = ins
            if recording:
                node.wants = wants
            else:  # made inside no_grad(): no gradient flows through it
                node.nograd = True
            node.index = len(nodes)
            of[v] = node
            nodes.append(node)
            if v in detached_of:
                for new in detached_of[v]:
                    self._detach(new, node)
        return marks_at

    def _value(self, v: Value) -> _Node:
        return self._of.get(v) or self._input(v)

    def _input(self, p: Value) -> _Node:
        """The node of a Value that no op of fn made: a leaf (or a detach() copy)."""
        if p in self.trace.detached:
            return self._detach(p, self._value(self.trace.detached[p]))
        node = _Node("leaf", p.data, p.label)
        call = self.call
        if p in call.float_slot:
            node.kind, node.slot = "number", call.float_slot[p]
        elif p in call.value_slot:
            node.kind, node.slot = "value", call.value_slot[p]
        elif p.grad_fn is not None:
            node.kind, node.obj = "upstream", p
        elif p in self.trace.made:
            node.kind = "made"  # decided below: a constant, or a Value kept outside
            self._pending.append((p, node))
        else:
            node.kind, node.obj = "outside", p
        if not node.label:
            node.label = call.names.get(p, "")
        node.wants = node.kind in ("value", "outside", "upstream")
        self._of[p] = node
        self.leaves.append(node)
        return node

    def _detach(self, new: Value, source: _Node) -> _Node:
        node = self._of.get(new)
        if node is None:
            node = _Node("detach", new.data, new.label)
            node.ins = [source]
            source.users += 1
            node.index = len(self.nodes)
            self._of[new] = node
            self.nodes.append(node)
        return node

    def _guards(self, trace: _Trace, marks_at: dict) -> list[tuple]:
        """(x, symbol, y, outcome, position): checked before the node at `position` is computed."""
        guards = []
        for x, symbol, y, outcome, mark in trace.comparisons:
            y = self._value(y) if y.__class__ is Value else float(y)
            guards.append((self._value(x), symbol, y, outcome, marks_at[mark]))
        for v, number, mark in trace.readings:
            guards.append((self._value(v), "same", number, True, marks_at[mark]))
        return guards

    def _classify_made_leaves(self, trace: _Trace, result: Any) -> None:
        """A leaf fn made (Value(...) inside fn) is a constant if fn dropped it: then nobody can
        see or change it again. One that something still holds (a parameter fn made on its
        first call, say) is read on every call, as a Value from outside.

        A leaf was dropped if every reference to it is one we know of: the graph's edges, our
        records, fn's result. CPython counts references; elsewhere every such leaf is kept.
        """
        if not self._pending:
            return
        known = collections.Counter(id(v) for v in _each(result, Value))
        for x, _, y, _, _ in trace.comparisons:
            known.update((id(x), id(y)))
        known.update(id(v) for v, _, _ in trace.readings)
        for new, source in trace.detached.items():
            known.update((id(new), id(source)))
        detached = collections.Counter(id(n.ins[0]) for n in self.nodes if n.how == "detach")
        counts = getattr(sys, "getrefcount", None)
        for leaf, node in self._pending:
            # references: the graph's edges, our records, trace.made, self._of, _pending's
            # tuple, `leaf` here and getrefcount's argument
            edges = node.users - detached[id(node)]  # a detach() copy is no edge of the graph
            dropped = counts is not None and counts(leaf) - 5 <= edges + known[id(leaf)]
            if dropped:
                node.kind = "constant"
            else:
                node.kind, node.obj, node.wants = "outside", leaf, True
        del leaf, node
        if any(n.wants for _, n in self._pending):  # a kept leaf: who depends on it wants gradients
            for node in self.nodes:
                if not node.wants and not node.nograd and node.how != "detach":
                    node.wants = any(p.__class__ is _Node and p.wants for p in node.ins)

    def _mark_reach(self) -> None:
        """Which nodes the loss depends on through a gradient: the backward pass visits those."""
        if self.loss is None or not self.loss.wants:
            return
        self.loss.reach = True
        for node in reversed(self.nodes):
            if node.reach and node.how != "detach":
                for p in node.ins:
                    if p.__class__ is _Node and p.wants:
                        p.reach = True


def _creation_order(trace: _Trace, result: Any, start: Value) -> list[Value]:
    """Every node fn made (and the markers) in creation order, after the nodes made before it:
    the engine's topological order of one node joining everything the trace needs."""
    roots = [start, *_each(result, Value), *(m for m, _ in trace.modes)]
    for x, _, y, _, mark in trace.comparisons:
        roots += [v for v in (x, y) if v.__class__ is Value] + [mark]
    for v, _, mark in trace.readings:
        roots += [v, mark]
    roots += trace.detached.values()
    order = topological_order(Value.sum(roots))
    order.pop()  # the node joining the roots
    return order


def _loss_of(result: Any) -> Value:
    """The Value backward() starts from: fn's result, or the first item of a tuple result."""
    if isinstance(result, Value):
        return result
    if isinstance(result, tuple) and result and isinstance(result[0], Value):
        return result[0]
    raise CompileError(
        f"compile: fn must return the loss (a Value) or a tuple (loss, ...); it returned "
        f"{type(result).__name__}; use compile(fn, backward=False) for a forward pass only"
    )


def _each(x, cls: type):
    """The objects of class cls in x, a nested structure of lists, tuples and dicts."""
    if isinstance(x, cls):
        yield x
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _each(v, cls)
    elif isinstance(x, dict):
        for v in x.values():
            yield from _each(v, cls)


def _map_values(x, fn: Callable):
    """x with every Value replaced by fn(Value); floats refused (they cannot be recomputed)."""
    if isinstance(x, Value):
        return fn(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_map_values(v, fn) for v in x)
    if isinstance(x, dict):
        return {k: _map_values(v, fn) for k, v in x.items()}
    if isinstance(x, float):
        raise CompileError(
            f"compile: fn returned the number {x!r}, not a Value, so compiled code cannot recompute "
            "it on the next call; return the Value itself"
        )
    return _Static(x)


class _Static:
    """An object fn returned as it is (an int, a string, ...): returned unchanged."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj


def _as_numbers(x):
    if isinstance(x, Value):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(_as_numbers(v) for v in x)
    if isinstance(x, dict):
        return {k: _as_numbers(v) for k, v in x.items()}
    return x


# ---------------------------------------------------------------------- loops
# A sum (or logsumexp) over many terms that all have the same shape, such as a loss averaged
# over the examples of a batch, is written once: one term's code inside a loop over the terms.
# A term is the part of the graph only that term uses (the model applied to one example, its
# loss); what the terms share (the parameters) stays outside. Two terms have the same shape if
# their parts are the same ops wired the same way to the same shared nodes; their own leaves
# (the example's numbers) and the numbers in their expressions may differ: those become
# columns the loop walks through.


class _Template:
    """A term's own nodes (the first term of a shape), and what each of their inputs is."""

    def __init__(self, root: _Node) -> None:
        own = _own_nodes(root)
        self.ops = sorted((n for n in own if n.how != "leaf"), key=_position)  # creation order
        self.holes = [] if self.ops else [root]  # the term's own leaves
        local = {n: j for j, n in enumerate(self.ops)}
        hole_at: dict[_Node, int] = {}
        self.inputs: list[list[tuple]] = []  # per op: ('n', j) own op, ('h', k) own leaf,
        self.const_slots: list[tuple[_Node, int]] = []  # ('s', node) shared, ('c',) a number
        self.usable = True
        for node in reversed(self.ops):  # the root first: the order `match` walks
            specs: list[tuple] = []
            for i, p in enumerate(node.ins):
                if p.__class__ is not _Node:
                    specs.append(("c",))
                    self.const_slots.append((node, i))
                elif p in local:
                    specs.append(("n", local[p]))
                elif p in own:
                    self.usable = self.usable and p.kind != "upstream"
                    if p not in hole_at:
                        hole_at[p] = len(self.holes)
                        self.holes.append(p)
                    specs.append(("h", hole_at[p]))
                else:
                    specs.append(("s", p))
            self.inputs.append(specs)
        if not self.ops:
            self.usable = root.how == "leaf" and root.kind != "upstream"

    def match(self, root: _Node) -> tuple[list, list, list] | None:
        """The term at root as (its ops, its own leaves, its numbers), if it has this shape."""
        if not self.ops:
            hole = self.holes[0]
            same = root.how == "leaf" and root.kind == hole.kind and root.users == hole.users
            return ([], [root], []) if same else None
        ops: list = [None] * len(self.ops)
        ops[-1] = root
        holes: list = [None] * len(self.holes)
        consts: list[float] = []
        for j, specs in zip(range(len(self.ops) - 1, -1, -1), self.inputs):
            t, u = self.ops[j], ops[j]
            if (u.how != t.how or u.op is not t.op or u.nograd is not t.nograd or u.users != t.users
                    or len(u.ins) != len(specs)):  # fmt: skip
                return None  # (equal use counts make sure nothing outside the term uses it)
            for spec, p in zip(specs, u.ins):
                tag = spec[0]
                if tag == "c":
                    if p.__class__ is _Node:
                        return None
                    consts.append(p)
                elif tag == "s":
                    if p is not spec[1]:
                        return None
                elif p.__class__ is not _Node:
                    return None
                else:
                    into, k = (ops, spec[1]) if tag == "n" else (holes, spec[1])
                    if into[k] is None:
                        model = self.ops[k] if tag == "n" else self.holes[k]
                        if (
                            (p.how == "leaf") != (tag == "h")
                            or p.kind != model.kind
                            or p.users != model.users
                        ):
                            return None
                        into[k] = p
                    elif into[k] is not p:
                        return None
        return ops, holes, consts


_position = operator.attrgetter("index")


def _own_nodes(root: _Node) -> set[_Node]:
    """root and the nodes only root uses: a node is root's once every use of it is."""
    own = {root}
    remaining: dict[_Node, int] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        for p in node.ins:
            if p.__class__ is _Node:
                left = remaining.get(p, p.users) - 1
                remaining[p] = left
                if left == 0:
                    own.add(p)
                    if p.how != "leaf":
                        stack.append(p)
    return own


class _Loop:
    """Terms of `total` (positions in total.ins) computed by one template inside a for loop."""

    def __init__(self, total: _Node, template: _Template, positions: list[int], terms: list[tuple]) -> None:
        self.total = total
        self.positions = positions
        self.template = template.ops  # the code of every term
        self.root = total.ins[positions[0]]
        self.holes = template.holes
        self.hole_columns = [[term[1][k] for term in terms] for k in range(len(template.holes))]
        self.const_slots = template.const_slots
        self.const_columns = [[term[2][c] for term in terms] for c in range(len(template.const_slots))]
        self.size = len(terms)
        self.exports: dict[_Node, list[_Node | None]] = {}  # template node -> the same node of each term
        # filled in by the writer: the loop's variables and their columns, the columns of the
        # terms' own Values, the saved numbers of each term for the backward loop, ...
        self.names: list[str] = []
        self.columns: list[str] = []
        self.objects: dict[_Node, str] = {}
        self.export_names: dict[_Node, str] = {}
        self.locals: set[str] = set()
        self.pos: str | None = None
        self.saved: str | None = None
        self.saved_start: list | None = None
        self.saved_spot: list | None = None


class _Folded:
    """The `loop` of a '+' node folded into a chain: written by the chain's last node."""


_FOLDED = _Folded()


def _fold_chains(graph: _Graph, outputs: set, guarded: set) -> None:
    """Python's sum(), and `total = total + term` in a loop, make a chain of '+' nodes, one per
    term. Fold each long chain into its last node, which then holds the terms (as Value.sum
    would), so that they can become a loop; the code still adds them one by one, in order."""
    for last in reversed(graph.nodes):
        if last.how != "+" or last.loop is not None:
            continue
        links, terms, node = [last], [], last
        while True:
            i = _previous_link(node, outputs, guarded)
            if i is None:
                break
            terms.append(node.ins[1 - i])
            node = node.ins[i]
            links.append(node)
        a, b = node.ins  # the chain's first node: sum() starts it with 0 + the first term
        init = a if a.__class__ is not _Node else b if b.__class__ is not _Node else None
        first = [t for t in (a, b) if t.__class__ is _Node]
        terms = first + terms[::-1]
        if len(terms) < ROLL_MIN or any(t.__class__ is not _Node for t in terms):
            continue
        for node in links[1:]:
            node.loop = _FOLDED
        last.how, last.ins, last.start = "chain", terms, init


def _previous_link(node: _Node, outputs: set, guarded: set) -> int | None:
    """Which input of a '+' node is the previous node of a chain of '+' (used by it alone)."""
    for i, p in enumerate(node.ins):
        if (p.__class__ is _Node and p.how == "+" and p.users == 1 and p.nograd is node.nograd
                and p not in outputs and p not in guarded):  # fmt: skip
            return i
    return None


def _plan_loops(graph: _Graph) -> list[_Loop]:
    loops: list[_Loop] = []
    guarded = {n for x, _, y, _, _ in graph.guards for n in (x, y) if n.__class__ is _Node}
    outputs = set(_each(graph.outputs, _Node))
    _fold_chains(graph, outputs, guarded)
    for total in reversed(graph.nodes):
        terms = total.ins
        if total.how not in ("sum", "logsumexp", "chain") or total.loop is not None or len(terms) < ROLL_MIN:
            continue
        if any(t.__class__ is not _Node or t.users != 1 for t in terms):
            continue
        shapes: list[tuple[_Template, list[int], list]] = []  # template, positions, matches
        for q, t in enumerate(terms):
            for template, positions, matches in shapes:
                found = template.match(t)
                if found is not None:
                    positions.append(q)
                    matches.append(found)
                    break
            else:
                if len(shapes) < VARIANTS:
                    template = _Template(t)
                    if template.usable:
                        shapes.append((template, [q], [template.match(t)]))
        for template, positions, matches in shapes:
            if len(positions) < ROLL_MIN:
                continue
            if guarded and any(
                guarded.intersection(ops) or guarded.intersection(holes) for ops, holes, _ in matches
            ):
                continue  # a comparison inside a term: straight-line code checks it
            loop = _Loop(total, template, positions, matches)
            for ops, holes, _ in matches:
                for node in ops:
                    node.loop = loop
                for node in holes:
                    node.loop = loop
            if any(node.loop is loop for node in outputs):  # outputs inside terms: the loop collects them
                for k, (ops, holes, _) in enumerate(matches):
                    for same, node in (*zip(template.ops, ops), *zip(template.holes, holes)):
                        if node in outputs:
                            loop.exports.setdefault(same, [None] * loop.size)[k] = node
            loops.append(loop)
    return loops


# ---------------------------------------------------------------------- writing the code

_RULES = {  # the local derivatives, as comments in the backward pass
    "+": "d/dx = 1, d/dy = 1",
    "*": "d/dx = y, d/dy = x",
    "/": "d/dx = 1/y, d/dy = -out/y",
    "**": "d/dx = y x**(y-1), d/dy = out log(x)",
    "exp": "d/dx = out",
    "log": "d/dx = 1/x",
    "tanh": "d/dx = 1 - out**2",
    "sigmoid": "d/dx = out (1 - out)",
    "softplus": "the engine's rule (sigmoid)",
    "relu": "d/dx = 1 where out > 0; where out = 0, nothing flows",
    "leaky_relu": "d/dx = 1 (x > 0) or slope; d/dslope = 0 or x",
    "abs": "d/dx = sign(x)",
    "sin": "d/dx = cos(x)",
    "cos": "d/dx = -sin(x)",
    "sum": "1 for each input",
    "chain": "1 for each term (through every +)",
    "logsumexp": "softmax: e**(x_i - out) for each input",
    "custom": "its rule, computed in the forward pass",
}

# the names the code itself uses (its arguments, its namespace, its loop variables)
_FIXED = {"D", "A", "E", "backward", "step", "data_of", "grad_of", "exp", "log", "tanh", "sin", "cos", "inf",
          "nan", "Retrace", "backward_through", "reduce", "add", "pos", "p", "g", "shape"}  # fmt: skip
_RESERVED = frozenset(keyword.kwlist) | frozenset(dir(builtins)) | _FIXED


def _safe_name(label: str) -> bool:
    """A label usable as a variable: a short ASCII identifier, no keyword, none of our names."""
    return (
        isinstance(label, str) and 0 < len(label) <= 24 and label.isascii() and label.isidentifier()
        and not keyword.iskeyword(label) and not label.startswith(("_", "g_")) and label not in _RESERVED
    )  # fmt: skip


def _literal(x: float) -> str:
    x = float(x)
    if x != x:
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "(-inf)"
    text = repr(x)
    return f"({text})" if text.startswith("-") else text


def _quote(text: str, limit: int = 40) -> str:
    """User text in a comment: escaped (no line break can end the comment), and short."""
    text = str(text)
    return ascii(text if len(text) <= limit else text[: limit - 3] + "...")


class _Writer:
    """Writes the step function of a graph: inputs, forward pass, backward pass, outputs."""

    def __init__(self, graph: _Graph, loops: list[_Loop], fn_name: str) -> None:
        self.graph = graph
        self.loops_of: dict[_Node, list[_Loop]] = collections.defaultdict(list)
        for loop in loops:
            self.loops_of[loop.total].append(loop)
        self.lines: list[list] = []  # [indent, text]: text is None for an unused placeholder
        self.depth = 1
        self.taken: set[str] = set(_RESERVED)
        self.counters: collections.Counter = collections.Counter()
        self.namespace: dict[str, Any] = {
            "exp": math.exp, "log": math.log, "tanh": math.tanh, "sin": math.sin, "cos": math.cos,
            "inf": math.inf, "nan": math.nan, "data_of": operator.attrgetter("data"),
            "grad_of": operator.attrgetter("grad"), "Retrace": _Retrace,
            "backward_through": _backward_through,
            "reduce": functools.reduce, "add": operator.add,
        }  # fmt: skip
        self._registered: dict[int, str] = {id(math.tanh): "tanh"}  # the engine's tanh is math's
        self.val: dict[_Node, str] = {}  # node -> its forward value: a variable or a number
        self.grad: dict[_Node, str] = {}  # node -> the variable of its gradient
        self.helper: dict[_Node, str] = {}  # custom ops -> the variable of their local derivatives
        self.inited: set[_Node] = set()  # nodes whose gradient variable has a value
        self.const_of: dict[tuple[_Node, int], str] = {}  # numbers that vary from term to term
        self.terms: dict[_Node, str] = {}  # a total computed by loops -> the list of its terms
        self.slopes: dict[_Node, str] = {}  # a logsumexp total -> its local derivatives
        self.merged: dict[_Node, str] = {}  # a total of several loops -> what its terms keep
        self.exports: list[str] = []  # lists of per-term outputs, returned after the outputs
        self.outside: list[Value] = []  # Values the code reads: E[0], E[1], ...
        self.grad_objects: list[Value] = []  # Values whose .grad the code reads and writes
        self._write(fn_name)
        self.namespace["E"] = tuple(self.outside)

    # -------------------------------------------------------------- names and lines

    def fresh(self, prefix: str) -> str:
        while True:
            name = f"{prefix}{self.counters[prefix]}"
            self.counters[prefix] += 1
            if name not in self.taken:
                self.taken.add(name)
                return name

    def name(self, node: _Node, prefix: str, label: bool = True) -> str:
        """A new variable for node: its label if that is a safe, free name, else prefix + number."""
        if label and _safe_name(node.label) and node.label not in self.taken:
            self.taken.add(node.label)
            name = node.label
        else:
            name = self.fresh(prefix)
        self.val[node] = name
        self.grad[node] = "g_" + name  # no variable starts with g_, so these never collide
        return name

    def register(self, obj: Any, wanted: str, numbered: bool = False) -> str:
        """obj in the namespace of the code, under a free name (its own, like 'sigmoid', or a
        numbered one, like 'H0'): the code never holds user text, only names."""
        name = self._registered.get(id(obj))
        if name is None:
            if numbered:
                name = self.fresh(wanted)
            elif _safe_name(wanted) and wanted not in self.taken:
                name = wanted
            else:
                name = self.fresh("op")
            self.taken.add(name)
            self.namespace[name] = obj
            self._registered[id(obj)] = name
        return name

    def v(self, node: _Node) -> str:
        return self.val[node]

    def arg(self, node: _Node, i: int) -> str:
        """The code for input i of node: a variable, or a number written out."""
        p = node.ins[i]
        if p.__class__ is _Node:
            return self.v(p)
        name = self.const_of.get((node, i))
        return _literal(p) if name is None else name

    def number(self, node: _Node, i: int) -> float | None:
        """Input i of node if it is a number known now (the same in every term), else None."""
        p = node.ins[i]
        if p.__class__ is _Node:
            return p.data if p.how == "leaf" and p.kind == "constant" and p.loop is None else None
        return None if (node, i) in self.const_of else p

    def line(self, text: str, comment: str = "") -> None:
        self.lines.append([self.depth, f"{text}  # {comment}" if comment else text])

    def placeholder(self) -> list:
        spot = [self.depth, None]
        self.lines.append(spot)
        return spot

    def wrapped(self, head: str, items: list[str], tail: str, comment: str = "") -> None:
        """head + items joined by commas + tail, over several lines if long (never one huge line)."""
        for depth, text in _wrap(head, items, tail, comment):
            self.lines.append([self.depth + depth, text])

    @property
    def source(self) -> str:
        out = []
        for depth, text in self.lines:
            if isinstance(text, list):  # a placeholder filled with several lines
                out += ["    " * (depth + d) + t + "\n" for d, t in text]
            elif text is not None:
                out.append("    " * depth + text + "\n" if text else "\n")
        return "".join(out)

    # -------------------------------------------------------------- the whole function

    def _write(self, fn_name: str) -> None:
        graph = self.graph
        self.depth = 0
        self.line("def step(D, A, backward):")
        self.depth = 1
        self.line('"""The forward pass, then (if backward) the backward pass, on plain floats.')
        self.line("")
        self.line("D: the numbers passed as arguments; A: the Values passed as arguments.")
        self.line('"""')
        self.line(f"# written by autograd_tiny.compile from the function {_quote(fn_name)}")
        self._inputs()
        self.line("")
        self.line("# ---------------------------------------------------------------- forward pass")
        self._forward_pass()
        returned = [
            self.val[node] for node in _each(graph.outputs, _Node) if node.loop is None
        ] + self.exports
        outputs = f"({', '.join(returned)},)" if returned else "()"
        if graph.loss is not None and graph.loss.reach:
            self.line("if not backward:")
            self.lines.append([2, f"return {outputs}"])
            self.line("")
            self.line("# ---------------------------------------------------------------- backward pass")
            self._backward_pass(graph.loss)
        self.line(f"return {outputs}")

    def _inputs(self) -> None:
        leaves = [leaf for leaf in self.graph.leaves if leaf.loop is None]
        for leaf in leaves:
            if leaf.kind == "constant":
                self.val[leaf] = _literal(leaf.data)
        kinds = [
            ("number", "x", "the numbers passed as arguments"),
            ("value", "a", "the Values passed as arguments"),
            ("outside", "p", "the Values fn reached outside its arguments (parameters)"),
            ("upstream", "u", "Values made by ops before fn ran (the engine follows their graphs)"),
        ]
        for kind, prefix, what in kinds:
            group = [leaf for leaf in leaves if leaf.kind == kind]
            if not group:
                continue
            self.line("")
            self.line(f"# {what}")
            names = [self.name(leaf, prefix) for leaf in group]
            if kind in ("number", "value"):
                where = [leaf.slot for leaf in group]
            else:
                where = list(range(len(self.outside), len(self.outside) + len(group)))
                self.outside += [leaf.obj for leaf in group]
            source = {"number": "D", "value": "A"}.get(kind, "E")
            if len(group) <= 6:
                for name, k, leaf in zip(names, where, group):
                    label = f"label {_quote(leaf.label)}" if leaf.label and leaf.label != name else ""
                    self.line(f"{name} = {source}[{k}]" + ("" if kind == "number" else ".data"), label)
            else:
                every = source == "E" and where == list(range(len(self.outside)))
                items = (
                    source
                    if every
                    else f"{self.register(operator.itemgetter(*where), 'ITEMS', True)}({source})"
                )
                self.wrapped("(", names, f") = {items}" if kind == "number" else f") = map(data_of, {items})")

    # -------------------------------------------------------------- forward

    def _forward_pass(self) -> None:
        graph = self.graph
        guards_at = collections.defaultdict(list)
        for k, guard in enumerate(graph.guards):
            guards_at[guard[4]].append((k, guard))
        for i, node in enumerate(graph.nodes):
            for k, guard in guards_at.pop(i, ()):
                self._guard(k, guard)
            if node.loop is None:
                if node in self.loops_of:
                    self._loops_forward(node)
                self._forward(node)
        for pending in guards_at.values():
            for k, guard in pending:
                self._guard(k, guard)

    def _guard(self, k: int, guard: tuple) -> None:
        x, symbol, y, outcome, _ = guard
        a = self.v(x) if x.__class__ is _Node else _literal(x)
        if symbol == "same":  # fn read the number out of the Value: it must be the same number
            test = f"{a} != {a}" if y != y else f"{a} == {_literal(y)}"
            why = "fn read this number while traced"
        else:
            test = f"{a} {symbol} {self.v(y) if y.__class__ is _Node else _literal(y)}"
            why = f"fn compared these while traced ({outcome})"
        self.line(f"if {'not ' if outcome else ''}({test}):", f"{why}: else trace again")
        self.lines.append([self.depth + 1, f"raise Retrace({k})"])

    def _forward(self, node: _Node) -> None:
        how = node.how
        o = self.val[node] if node in self.val else self.name(node, "v")
        comment = _describe(node, o)
        if node in self.terms:  # a total whose terms loops computed
            lst = self.terms[node]
            if how == "sum":
                self.line(f"{o} = sum({lst})", comment)
            elif how == "chain":  # the chain's additions, one by one, in order
                start = "" if node.start is None else f", {_literal(node.start)}"
                self.line(f"{o} = reduce(add, {lst}{start})", comment)
            else:
                self.line(f"{o} = {self.register(_op(node).fn, 'logsumexp')}(*{lst})", comment)
            return
        a = [self.arg(node, i) for i in range(len(node.ins))]
        if how in ("+", "*", "/"):
            self.line(f"{o} = {a[0]} {how} {a[1]}", comment)
        elif how == "**":
            x, y = self.number(node, 0), self.number(node, 1)
            if (y is not None and math.isfinite(y) and y.is_integer()) or (
                x is not None and 0 < x < math.inf
            ):
                self.line(f"{o} = {a[0]} ** {a[1]}", comment)  # here ** is the engine's pow
            else:
                self.line(f"{o} = {self.register(_op(node).fn, 'power')}({a[0]}, {a[1]})", comment)
        elif how in ("exp", "log", "tanh", "sin", "cos"):  # math's (an error sends the call to the engine)
            self.line(f"{o} = {how}({a[0]})", comment)
        elif how in ("sigmoid", "softplus"):
            self.line(f"{o} = {self.register(_op(node).fn, how)}({a[0]})", comment)
        elif how == "relu":
            self.line(f"{o} = 0.0 if {a[0]} <= 0.0 else {a[0]}", comment)
        elif how == "leaky_relu":
            self.line(f"{o} = {a[0]} if {a[0]} > 0.0 else {a[1]} * {a[0]}", comment)
        elif how == "abs":
            self.line(f"{o} = abs({a[0]})", comment)
        elif how == "sum":  # the engine's sum(xs): the same additions in the same order
            self.wrapped(f"{o} = sum((", a, ",))" if len(a) == 1 else "))", comment)
        elif how == "chain":
            start = "" if node.start is None else f", {_literal(node.start)}"
            self.wrapped(f"{o} = reduce(add, (", a, f"){start})", comment)
        elif how == "logsumexp":
            self.wrapped(f"{o} = {self.register(_op(node).fn, 'logsumexp')}(", a, ")", comment)
        elif how == "neuron":
            self._neuron_forward(node, o, a, comment)
        elif how == "detach":
            self.line(f"{o} = {a[0]}", comment)
        else:  # a custom primitive: its function, and its rule now, as the engine does
            op = _op(node)
            f = self.register(op.fn, str(op.name))
            r = self.register(op.rule, f"{f}_rule")
            d = self.helper.get(node) or self.fresh("d")  # (a loop names it beforehand)
            self.helper[node] = d
            self.line(f"{o} = {f}({', '.join(a)})", comment)
            self.line(f"{d} = {r}({', '.join([*a, o])})", "its local derivatives")

    def _neuron_forward(self, node: _Node, o: str, a: list[str], comment: str) -> None:
        n = len(a) // 2
        products = [f"{a[i]} * {a[n + i]}" for i in range(n)]  # as the engine's sum(map(mul, w, x))
        bias = f" + {a[2 * n]}" if len(a) % 2 else ""
        op = _neuron_op(node)
        act = op.activation
        z = o if act is None else self.fresh("z")
        if n <= 2:  # sum() of two floats is their + (the sign of a zero aside)
            self.line(f"{z} = {' + '.join(products) or '0'}{bias}", comment)
        else:
            self.wrapped(f"{z} = sum((", products, f")){bias}", comment)
        if act == "relu":
            self.line(f"{o} = 0.0 if {z} <= 0.0 else {z}")
        elif op.act is not None:
            self.line(f"{o} = {self.register(op.act.fn, op.act.name)}({z})")

    # -------------------------------------------------------------- backward

    def _backward_pass(self, loss: _Node) -> None:
        graph = self.graph
        leaves = [leaf for leaf in graph.leaves if leaf.reach and leaf.loop is None]
        self.line("# the leaves' gradients so far: backward() adds to them")
        for leaf in leaves:
            if leaf.kind == "value":
                self.line(f"{self.grad[leaf]} = A[{leaf.slot}].grad")
        outside = [leaf for leaf in leaves if leaf.kind == "outside"]
        self.grad_objects += [leaf.obj for leaf in outside]
        if len(outside) <= 6:
            for leaf in outside:
                self.line(f"{self.grad[leaf]} = E[{self.outside.index(leaf.obj)}].grad")
        else:
            self._outside_grads = self.register(tuple(leaf.obj for leaf in outside), "EG", True)
            self.wrapped(
                "(", [self.grad[leaf] for leaf in outside], f") = map(grad_of, {self._outside_grads})"
            )
        for leaf in leaves:
            if leaf.kind == "upstream":  # made by an op: backward() starts those from 0
                self.line(f"{self.grad[leaf]} = 0.0")
        self.inited.update(leaves)
        self.line("")
        if loss.how == "leaf":
            self.line(f"{self.grad[loss]} += 1.0", "the loss is a leaf: d loss / d loss = 1")
        else:
            self.line(f"{self.grad[loss]} = 1.0", "d loss / d loss")
            self.inited.add(loss)
        for node in reversed(graph.nodes):
            if node.loop is None and node.reach and node.wants:
                self._backward(node)
                if node in self.loops_of:
                    self._loops_backward(node)
        self._write_grads(leaves, outside)

    def _write_grads(self, leaves: list[_Node], outside: list[_Node]) -> None:
        self.line("")
        self.line("# the new gradients")
        for leaf in leaves:
            if leaf.kind == "value":
                self.line(f"A[{leaf.slot}].grad = {self.grad[leaf]}")
        if len(outside) <= 6:
            for leaf in outside:
                self.line(f"E[{self.outside.index(leaf.obj)}].grad = {self.grad[leaf]}")
        else:
            self.wrapped(
                f"for p, g in zip({self._outside_grads}, (", [self.grad[leaf] for leaf in outside], ")):"
            )
            self.lines.append([self.depth + 1, "p.grad = g"])
        upstream = [leaf for leaf in leaves if leaf.kind == "upstream"]
        if upstream:
            objects = self.register(tuple(leaf.obj for leaf in upstream), "UP", True)
            self.wrapped(f"backward_through({objects}, (", [self.grad[leaf] for leaf in upstream], ",))")

    def _add(self, cond: str | None, items: list, otherwise: Sequence = ()) -> None:
        """Add each (input, expression) to that input's gradient: if cond, else `otherwise`."""
        items = [(p, e) for p, e in items if p.__class__ is _Node and p.wants]
        otherwise = [(p, e) for p, e in otherwise if p.__class__ is _Node and p.wants]
        if cond is None:
            for p, e in items:
                g = self.grad[p]
                self.line(f"{g} += {e}" if p in self.inited else f"{g} = {e}")
                self.inited.add(p)
            return
        for p, _ in (*items, *otherwise):
            if p not in self.inited:  # backward() starts every gradient at 0
                self.line(f"{self.grad[p]} = 0.0")
                self.inited.add(p)
        if items:
            self.line(f"if {cond}:")
        elif otherwise:
            self.line(f"if not ({cond}):")
        for p, e in items or otherwise:
            self.lines.append([self.depth + 1, f"{self.grad[p]} += {e}"])
        if items and otherwise:
            self.line("else:")
            for p, e in otherwise:
                self.lines.append([self.depth + 1, f"{self.grad[p]} += {e}"])

    def _backward(self, node: _Node) -> None:
        how, ins = node.how, node.ins
        if node not in self.inited:
            self.line(f"{self.grad[node]} = 0.0", "no gradient arrived here")
            self.inited.add(node)
        g, o = self.grad[node], self.v(node)
        self.line(f"# {_describe(node, o)}; {_rule(node)}")
        if node in self.terms:  # a total computed by loops: the terms outside them, here
            lst = self.terms[node]
            rest = [(q, p) for q, p in enumerate(ins) if p.loop is None]
            if how in ("sum", "chain"):
                self._add(None, [(p, g) for _, p in rest])
            else:
                d = self.slopes[node] = self.fresh("d")
                self.line(f"{d} = {self.register(_op(node).rule, 'logsumexp_rule')}(*{lst}, {o})")
                self._add(None, [(p, f"{d}[{q}] * {g}") for q, p in rest])
            return
        a = [self.arg(node, i) for i in range(len(ins))]
        if how in ("+", "sum", "chain"):
            self._add(None, [(p, g) for p in ins])
        elif how == "*":
            self._add(None, [(ins[0], f"{a[1]} * {g}"), (ins[1], f"{a[0]} * {g}")])
        elif how == "/":
            self._add(None, [(ins[0], f"(1 / {a[1]}) * {g}"), (ins[1], f"(-{o} / {a[1]}) * {g}")])
        elif how == "**":
            self._pow_backward(node, g, o, a)
        elif how == "exp":
            self._add(None, [(ins[0], f"{o} * {g}")])
        elif how == "log":
            self._add(None, [(ins[0], f"(1 / {a[0]}) * {g}")])
        elif how == "tanh":
            self._add(None, [(ins[0], f"(1 - {o} * {o}) * {g}")])
        elif how == "sigmoid":
            self._add(None, [(ins[0], f"({o} * (1 - {o})) * {g}")])
        elif how == "relu":
            self._add(f"{o} != 0.0", [(ins[0], g)])  # relu's output is 0 exactly where it is flat
        elif how == "leaky_relu":
            self._add(f"{a[0]} > 0.0", [(ins[0], g), (ins[1], f"0.0 * {g}")],
                      [(ins[0], f"{a[1]} * {g}"), (ins[1], f"{a[0]} * {g}")])  # fmt: skip
        elif how == "abs":
            self._add(None, [(ins[0], f"(1.0 if {a[0]} > 0.0 else -1.0 if {a[0]} < 0.0 else 0.0) * {g}")])
        elif how in ("softplus", "sin", "cos"):  # the engine's rule itself
            rule = self.register(_op(node).rule, f"{how}_rule")
            self._add(None, [(ins[0], f"{rule}({a[0]}, {o})[0] * {g}")])
        elif how == "logsumexp":
            d = self.fresh("d")
            self.wrapped(f"{d} = {self.register(_op(node).rule, 'logsumexp_rule')}(", [*a, o], ")")
            self._add(None, [(p, f"{d}[{i}] * {g}") for i, p in enumerate(ins)])
        elif how == "neuron":
            self._neuron_backward(node, g, o, a)
        elif how == "custom":
            d = self.helper[node]
            for i, p in enumerate(ins):
                self._add(f"{d}[{i}] is not None", [(p, f"{d}[{i}] * {g}")])

    def _pow_backward(self, node: _Node, g: str, o: str, a: list[str]) -> None:
        x, y = self.number(node, 0), self.number(node, 1)
        if y is not None:  # x ** number: y x**(y-1); x ** 0 is flat, nothing flows
            if y != 0:
                slope = (
                    f"{_literal(y)} * {a[0]}"
                    if y - 1 == 1
                    else f"{_literal(y)} * {a[0]} ** {_literal(y - 1)}"
                )
                self._add(None, [(node.ins[0], f"({slope}) * {g}")])
        elif x is not None:  # number ** y: out log(x), 0 at x = 0, nan below
            if x > 0:
                self._add(None, [(node.ins[1], f"({o} * {_literal(math.log(x))}) * {g}")])
            else:
                self._add(None, [(node.ins[1], f"{_literal(0.0 if x == 0 else math.nan)} * {g}")])
        else:
            d = self.fresh("d")
            self.line(f"{d} = {self.register(_op(node).rule, 'power_rule')}({a[0]}, {a[1]}, {o})")
            for i in (0, 1):
                self._add(f"{d}[{i}] is not None", [(node.ins[i], f"{d}[{i}] * {g}")])

    def _neuron_backward(self, node: _Node, g: str, o: str, a: list[str]) -> None:
        ins = node.ins
        n = len(ins) // 2
        act = _neuron_op(node).activation
        cond, s = None, ""
        if act == "relu":
            cond = f"{o} != 0.0"  # a flat relu passes nothing to any input
        elif act in ("tanh", "sigmoid"):
            slope = self.fresh("s")
            self.line(
                f"{slope} = " + (f"1 - {o} * {o}" if act == "tanh" else f"{o} * (1 - {o})"), f"{act}'(z)"
            )
            s = f"{slope} * "
        items = [(ins[i], f"{s}{a[n + i]} * {g}") for i in range(n)]  # d/dw[i] = act'(z) x[i]
        items += [(ins[n + i], f"{s}{a[i]} * {g}") for i in range(n)]  # d/dx[i] = act'(z) w[i]
        if len(ins) % 2:
            items.append((ins[2 * n], f"{s}{g}" if s else g))
        self._add(cond, items)

    # -------------------------------------------------------------- loops

    def _loops_forward(self, total: _Node) -> None:
        loops = self.loops_of[total]
        lst = self.terms[total] = self.fresh("T")
        whole = len(loops) == 1 and loops[0].positions == list(range(len(total.ins)))
        self.line("")
        if not whole:
            self.line(f"{lst} = [0.0] * {len(total.ins)}", "the terms, filled in below")
        if (
            len(loops) > 1
            and all(t.loop is not None for t in total.ins)
            and total.reach
            and total.wants
            and not any(h.reach and h.kind in ("value", "outside") for loop in loops for h in loop.holes)
        ):
            # terms of several shapes, all in loops: the backward pass walks them in one loop
            shared = self.merged[total] = self.fresh("S")
            self.line(f"{shared} = [None] * {len(total.ins)}", "what each term keeps for the backward pass")
        for loop in loops:
            self._loop_forward(loop, lst, whole)
        if not whole:
            for q, t in enumerate(total.ins):
                if t.loop is None:
                    self.line(f"{lst}[{q}] = {self.v(t)}")

    def _loop_forward(self, loop: _Loop, lst: str, whole: bool) -> None:
        n = loop.size
        loop.names, loop.columns, loop.objects = [], [], {}
        self.line(f"# {n} terms of the same shape: the code of one, run for each")
        for hole, column in zip(loop.holes, loop.hole_columns):
            loop.names.append(self.name(hole, "h", label=False))
            loop.columns.append(self._hole_column(loop, hole, column))
        for (node, i), column in zip(loop.const_slots, loop.const_columns):
            if any(c != column[0] and not (c != c and column[0] != column[0]) for c in column):
                name = self.const_of[(node, i)] = self.fresh("c")  # a number that varies
                loop.names.append(name)
                loop.columns.append(self.register(tuple(column), "C", True))
        loop.pos = None
        if not whole or loop.total.how == "logsumexp":
            loop.pos = self.register(tuple(loop.positions), "POS", True)
        for node in loop.template:
            self.name(node, "t", label=False)
            if node.how == "custom":
                self.helper[node] = self.fresh("d")
        loop.locals = {self.val[node] for node in (*loop.template, *loop.holes)} | set(loop.names)
        loop.locals |= {self.helper[node] for node in loop.template if node in self.helper}
        root = self.val[loop.root]
        for template_node in loop.exports:
            name = loop.export_names[template_node] = self.fresh("X")
            self.exports.append(name)
        if not loop.template and whole:  # the terms are leaves: the list is their column
            self.line(f"{lst} = list({loop.columns[0]})")
            for name in loop.export_names.values():
                self.line(f"{name} = {lst}", "an output of each term")
            loop.saved = None
            return
        for name in loop.export_names.values():
            self.line(f"{name} = []", "an output of each term")
        if whole:
            self.line(f"{lst} = []")
        loop.saved = None
        if loop.total in self.merged:
            loop.saved = self.merged[loop.total]
        elif loop.root.wants and loop.total.reach:
            loop.saved = self.fresh("S")
            loop.saved_start = self.placeholder()
        names, columns = list(loop.names), list(loop.columns)
        if loop.pos and not whole:
            names.append("pos")
            columns.append(loop.pos)
        what = []
        if loop.holes:
            what.append("h: the term's own leaves")
        if any(name.startswith("c") for name in names):
            what.append("c: its numbers that differ from term to term")
        self._for(names, columns, n, comment="; ".join(what))
        self.depth += 1
        for node in loop.template:
            self._forward(node)
        self.line(f"{lst}.append({root})" if whole else f"{lst}[pos] = {root}")
        for template_node, name in loop.export_names.items():
            self.line(f"{name}.append({self.val[template_node]})")
        loop.saved_spot = self.placeholder() if loop.saved else None
        self.depth -= 1

    def _hole_column(self, loop: _Loop, hole: _Node, column: list[_Node]) -> str:
        """The code's list of a term leaf's numbers, one per term."""
        kind = hole.kind
        if kind == "constant":
            return self.register(tuple(leaf.data for leaf in column), "H", True)
        name = self.fresh("H")
        if kind == "number":
            slots = [leaf.slot for leaf in column]
            step = slots[1] - slots[0] if len(slots) > 1 else 1
            if step > 0 and all(b - a == step for a, b in zip(slots, slots[1:])):
                stride = f":{step}" if step > 1 else ""
                self.line(f"{name} = D[{slots[0]}:{slots[-1] + 1}{stride}]")
            else:
                self.line(f"{name} = list({self.register(operator.itemgetter(*slots), 'ITEMS', True)}(D))")
            return name
        if kind == "value":
            objects = self.fresh("O")
            getter = self.register(operator.itemgetter(*[leaf.slot for leaf in column]), "ITEMS", True)
            self.line(f"{objects} = {getter}(A)")
        else:
            objects = self.register(tuple(leaf.obj for leaf in column), "O", True)
            if hole.reach:
                self.grad_objects += [leaf.obj for leaf in column]
        loop.objects[hole] = objects
        self.line(f"{name} = list(map(data_of, {objects}))")
        return name

    def _for(
        self, names: list[str], columns: list[str], n: int, reverse: bool = False, comment: str = ""
    ) -> None:
        if reverse:
            columns = [f"reversed({c})" for c in columns]
        if not names:
            self.line(f"for _ in range({n}):", comment)
        elif len(names) == 1:
            self.line(f"for {names[0]} in {columns[0]}:", comment)
        else:
            self.line(f"for {', '.join(names)} in zip({', '.join(columns)}):", comment)

    def _loops_backward(self, total: _Node) -> None:
        """Back through the terms computed by loops, last first, as backward() goes."""
        loops = [loop for loop in self.loops_of[total] if loop.root.wants]
        if not loops:
            return
        self.line(
            f"# back through the {sum(loop.size for loop in loops)} terms, last first, as backward() goes"
        )
        for loop in loops:
            for node in loop.template:  # the gradients the terms add to (shared nodes) start here
                for p in node.ins:
                    if p.__class__ is _Node and p.wants and p.loop is not loop and p not in self.inited:
                        self.line(f"{self.grad[p]} = 0.0")
                        self.inited.add(p)
        if total in self.merged:
            self._merged_backward(total, loops)
        else:
            for loop in loops:
                self._loop_backward(loop)

    def _merged_backward(self, total: _Node, loops: list[_Loop]) -> None:
        """One loop over terms of several shapes, each term by the code of its shape: the
        parameters' gradients add up in the engine's order (shape loops one after the other
        would add the same numbers in another order)."""
        kinds = [0] * len(total.ins)
        for k, loop in enumerate(loops):
            for q in loop.positions:
                kinds[q] = k
        shapes = self.register(tuple(kinds), "SHAPE", True)
        kept = self.fresh("kept")
        lst = self.merged[total]
        if total.how == "logsumexp":
            self.line(
                f"for pos, shape, {kept} in zip(range({len(kinds) - 1}, -1, -1), reversed({shapes}), "
                f"reversed({lst})):"
            )
        else:
            self.line(f"for shape, {kept} in zip(reversed({shapes}), reversed({lst})):")
        self.depth += 1
        for k, loop in enumerate(loops):
            self.line(f"{'if' if k == 0 else 'elif'} shape == {k}:")
            self.depth += 1
            unpack = self.placeholder()
            saved = self._term_backward(loop, [])
            if saved:
                assert loop.saved_spot is not None  # the forward loop of a merged total's terms keeps a spot
                packed = f"({', '.join(saved)},)" if len(saved) > 1 else saved[0]
                loop.saved_spot[1] = (
                    _wrap(f"{lst}[pos] = (", saved, ",)") if len(saved) > 1 else f"{lst}[pos] = {packed}"
                )
                unpack[1] = _wrap("(", saved, f",) = {kept}") if len(saved) > 1 else f"{saved[0]} = {kept}"
            self.depth -= 1
        self.depth -= 1

    def _loop_backward(self, loop: _Loop) -> None:
        total = loop.total
        holes = [h for h in loop.holes if h.reach and h.kind in ("value", "outside")]
        collected = {h: self.fresh("GH") for h in holes}
        objects = {h: self.fresh("o") for h in holes}
        for h in holes:
            self.line(f"{collected[h]} = []", "the new gradients of the terms' own leaves")
        header = self.placeholder()
        self.depth += 1
        unpack = self.placeholder()
        for h in holes:
            self.line(f"{self.grad[h]} = {objects[h]}.grad")
        saved = self._term_backward(loop, holes)
        for h in holes:
            self.line(f"{collected[h]}.append({self.grad[h]})")
        self.depth -= 1
        names, columns = [], []
        if saved and loop.saved:  # the numbers the forward loop kept for this
            assert loop.saved_start is not None and loop.saved_spot is not None  # placed with loop.saved
            packed = f"({', '.join(saved)},)" if len(saved) > 1 else saved[0]
            loop.saved_start[1] = f"{loop.saved} = []"
            loop.saved_spot[1] = (
                _wrap(f"{loop.saved}.append((", saved, ",))")
                if len(saved) > 1
                else f"{loop.saved}.append({packed})"
            )
            if len(saved) > 1:
                kept = self.fresh("kept")
                names.append(kept)
                unpack[1] = _wrap("(", saved, f",) = {kept}")
            else:
                names.append(saved[0])
            columns.append(loop.saved)
        else:  # no forward loop: what it reads are the loop's columns themselves
            for name in saved:
                names.append(name)
                columns.append(loop.columns[loop.names.index(name)])
        for h in holes:
            names.append(objects[h])
            columns.append(loop.objects[h])
        if total.how == "logsumexp":
            assert loop.pos is not None  # the forward loop of a logsumexp's terms names their positions
            names.append("pos")
            columns.append(loop.pos)
        depth, self.depth = self.depth, header[0]
        self._for(names, columns, loop.size, reverse=True)
        self.depth = depth
        header[1] = self.lines.pop()[1]
        for h in holes:
            self.line(f"for p, g in zip(reversed({loop.objects[h]}), {collected[h]}):")
            self.lines.append([self.depth + 1, "p.grad = g"])

    def _term_backward(self, loop: _Loop, holes: list[_Node]) -> list[str]:
        """One term's backward pass (the template's); returns the names it reads from the
        forward pass, which the forward loop must keep."""
        body = len(self.lines)
        total = loop.total
        self.inited.difference_update(loop.template)
        self.inited.update(holes)
        g_total = self.grad[total]
        slope = f"{self.slopes[total]}[pos] * {g_total}" if total.how == "logsumexp" else g_total
        root = loop.root
        if root in self.inited:
            self.line(f"{self.grad[root]} += {slope}")
        else:
            self.line(f"{self.grad[root]} = {slope}", "d total / d term, times the total's gradient")
            self.inited.add(root)
        for node in reversed(loop.template):
            if node.reach and node.wants:
                self._backward(node)
        used = {word for _, text in self.lines[body:] for word in _WORD.findall(text.split("#")[0])}
        return sorted(used & loop.locals, key=_natural)


def _wrap(head: str, items: list[str], tail: str, comment: str = "") -> list[tuple[int, str]]:
    """Lines (relative indent, text) of head + items joined by commas + tail, short ones."""
    text = head + ", ".join(items) + tail
    if len(text) <= 100:
        return [(0, f"{text}  # {comment}" if comment else text)]
    lines = [(0, f"{head}  # {comment}" if comment else head)]
    row = ""
    for item in items:
        if row and len(row) + len(item) > 90:
            lines.append((1, row.rstrip()))
            row = ""
        row += item + ", "
    lines.append((1, row.rstrip()))
    lines.append((0, tail.lstrip(",")))  # the rows end with a comma already
    return lines


_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def _natural(name: str) -> tuple:
    head = name.rstrip("0123456789")
    return (head, int(name[len(head) :] or 0))


def _describe(node: _Node, name: str) -> str:
    """A comment for a node: what it is, and its label when the variable is not named after it."""
    if node.how == "neuron":
        act = _neuron_op(node).activation
        text = f"a neuron, {act}(w·x+b)" if act else "a neuron, w·x+b"
        text += f" of {len(node.ins) // 2} input(s)"
    elif node.how == "custom":
        text = f"custom primitive {_quote(_op(node).name)}"
    elif node.how == "detach":
        text = "detach(): the same number, no gradient"
    elif node.how == "chain":
        text = f"{len(node.ins)} '+' nodes in a chain, as Python's sum() makes"
    else:
        text = f"'{node.how}'"
    if node.nograd:
        text += ", under no_grad"
    if node.label and node.label != name:
        text += f", label {_quote(node.label)}"
    return f"{name}: {text}"


def _rule(node: _Node) -> str:
    """The local derivatives of a node, for the comment above its lines in the backward pass."""
    if node.how != "neuron":
        return _RULES.get(node.how, "")
    act = _neuron_op(node).activation
    if act == "relu":
        return "where relu is on (out > 0): d/dw_i = x_i, d/dx_i = w_i, d/db = 1; where off, nothing flows"
    if act is None:
        return "d/dw_i = x_i, d/dx_i = w_i, d/db = 1"
    slope = {"tanh": "1 - out**2", "sigmoid": "out (1 - out)"}[act]
    return f"d/dw_i = s x_i, d/dx_i = s w_i, d/db = s, with s = {act}'(z) = {slope}"


# ---------------------------------------------------------------------- running


class _Retrace(Exception):
    """Raised by the generated code when a comparison fn made while traced comes out otherwise."""


_EAGER = object()  # run() says: this call is for the engine itself


class _Program:
    """One trace's generated code, compiled, with what a call needs around it."""

    def __init__(self, graph: _Graph, fn_name: str) -> None:
        loops = _plan_loops(graph)
        writer = _Writer(graph, loops, fn_name)
        self.source = writer.source
        namespace = writer.namespace
        exec(builtins.compile(self.source, f"<compiled {fn_name}>", "exec"), namespace)
        self.step = namespace["step"]
        self.outside = frozenset(map(id, writer.outside))
        self.grad_objects = writer.grad_objects
        self._outputs = _output_builder(graph.outputs, loops, writer.exports)
        for loop in loops:  # a loop and its nodes refer to each other: undo that, for refcounting
            loop.__dict__.clear()

    def run(self, floats: list[float], values: list[Value], grad: bool) -> Any:
        if values:
            if self.outside and not self.outside.isdisjoint(map(id, values)):
                return _EAGER  # an argument fn also reaches another way: one leaf, two roles
            if any(v.grad_fn is not None for v in values):
                return _EAGER  # an argument made by an op: the engine follows its graph
            if grad:
                _plain_grads(values)
        if grad:
            _plain_grads(self.grad_objects)
        return self._outputs(self.step(floats, values, grad))


def _plain_grads(values: list[Value]) -> None:
    """As backward() does: a gradient left as a Value by backward(create_graph=True) becomes its number."""
    for v in values:
        if v.grad.__class__ is Value:
            v.grad = v.grad.data


def _output_builder(outputs: Any, loops: list[_Loop], exports: list[str]) -> Callable:
    """A function from the generated code's returned tuple to fn's structure, with numbers: the
    tuple holds the outputs computed outside loops, then each loop's list of a per-term output."""
    if isinstance(outputs, _Node) and outputs.loop is None:
        return operator.itemgetter(0)
    flat = [node for node in _each(outputs, _Node) if node.loop is None]
    at: dict[_Node, int | tuple[int, int]] = {node: k for k, node in enumerate(flat)}
    lists = {name: len(flat) + k for k, name in enumerate(exports)}
    for loop in loops:
        for template, column in loop.exports.items():
            for k, node in enumerate(column):
                if node is not None:  # (None: this term's node is no output)
                    at[node] = (lists[loop.export_names[template]], k)

    def plan(x):
        if x.__class__ is _Node:
            return ("at", at[x])
        if isinstance(x, _Static):
            return ("same", x.obj)
        if isinstance(x, dict):
            return ("dict", {k: plan(v) for k, v in x.items()})
        return ("seq", type(x), [plan(v) for v in x])

    shape = plan(outputs)

    def build(result, part=shape):
        tag = part[0]
        if tag == "at":
            where = part[1]
            return result[where] if where.__class__ is int else result[where[0]][where[1]]
        if tag == "same":
            return part[1]
        if tag == "dict":
            return {k: build(result, v) for k, v in part[1].items()}
        return part[1](build(result, v) for v in part[2])

    return build


def _backward_through(nodes: tuple, grads: tuple) -> None:
    """backward() through graphs made before fn ran: Values made by ops that fn reached. The
    engine's chain rule over their recorded local derivatives, as one backward() would go."""
    with enable_grad():
        order = topological_order(Value.sum(nodes))
    order.pop()
    for node in order:
        node.grad = 0.0
    for node, g in zip(nodes, grads):
        node.grad += g
    for node in reversed(order):
        g = node.grad
        for p, d in zip(node.parents, node.local_grads):
            if d is not None and p.__class__ is Value:
                p.grad += d * g
