"""Running the code: `compile`, `Compiled`, and the guards, retraces and fallbacks of a call.

A call flattens its arguments into a key, and runs the code of a trace made for that key (a few
variants are kept, one per set of comparison outcomes). The code checks its guards; one that
fails raises `Retrace`, and the next variant, or a new trace, is tried. An error met in the
code (a domain error, an overflow) sends the call to the engine itself, which raises its own
error or returns IEEE's result.

Example:
    >>> from autograd_tiny import Value
    >>> w = Value(2.0)
    >>> f = compile(lambda x: (w * x).relu() if x > 0 else w * x * x)
    >>> f(1.5), f(-1.0), f(0.5), f.traces      # x > 0 is a guard: the other outcome traces again
    (3.0, 2.0, 1.0, 2)
    >>> f(0.0), f.fallbacks                    # the engine itself, for an error (none here)
    (0.0, 0)
"""

from __future__ import annotations

import builtins
import collections
import functools
import gc
import operator
import warnings
from collections.abc import Callable
from typing import Any, overload

from ..engine import Value
from ..grad_mode import is_grad_enabled
from .arguments import as_numbers, each, flatten, floats_as_values
from .graph import Graph, Node, Static, loss_of, traced
from .loops import Loop, plan_loops
from .tracing import is_tracing
from .writer import Retrace, Writer

__all__ = ["compile", "Compiled", "VARIANTS"]

VARIANTS = 8  # traces kept per shape of arguments (one per set of comparison outcomes)


# compile(fn) is a Compiled; compile(backward=False) a decorator that makes one
@overload
def compile(fn: Callable, *, backward: bool = True) -> Compiled: ...
@overload
def compile(fn: None = None, *, backward: bool = True) -> Callable[[Callable], Compiled]: ...


def compile(fn: Callable | None = None, *, backward: bool = True) -> Compiled | Callable[[Callable], Compiled]:
    """Compile fn into plain-Python forward and backward code (see autograd_tiny.compiler's documentation).

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
        self._static: dict[tuple, tuple[int, ...]] = {}  # a shape -> the ints fn used as Python ints in it
        self._last: _Program | None = None
        self._last_shape: tuple | None = None
        self._last_floats: list[float] = []
        self._causes: collections.Counter = collections.Counter()  # why fn was traced again, in words
        self._warned = False

    @property
    def source(self) -> str:
        """The generated Python code of the most recent trace ('' before the first call)."""
        return self._last.source if self._last is not None else ""

    def __repr__(self) -> str:
        return f"<compiled {getattr(self.fn, '__name__', 'function')} ({self.traces} trace(s))>"

    def __call__(self, *args: Any) -> Any:
        if is_tracing():  # inside another trace: stay eager, so that
            return self.fn(*args)  # the outer trace records the ops
        shape, floats, values = flatten(args)
        grad = self.backward and is_grad_enabled()
        programs = self._programs.get(self._key(shape, floats)) or []
        failed = None
        for i, program in enumerate(programs):
            try:
                out = program.run(floats, values, grad)
            except Retrace as retrace:
                failed = program.causes[retrace.args[0]]
                continue  # another outcome of a comparison: try the next variant
            except (ArithmeticError, ValueError):  # a domain error, an overflow: the engine
                return self._eager(args, grad)  # raises its own error, or returns IEEE's result
            if out is _EAGER:
                return self._eager(args, grad)
            if i:
                programs.insert(0, programs.pop(i))  # most recent first
            return out
        program = self._trace(args, shape, floats, failed)
        programs = self._programs.setdefault(self._key(shape, floats), [])
        programs.insert(0, program)
        del programs[VARIANTS:]
        try:
            out = program.run(floats, values, grad)
        except (Retrace, ArithmeticError, ValueError):
            out = _EAGER  # fn gives another graph on the same arguments (randomness inside)
        return self._eager(args, grad) if out is _EAGER else out

    def _key(self, shape: tuple, floats: list[float]) -> tuple:
        """Where a call's programs are filed: its shape, and the ints fn used as Python ints in it."""
        static = self._static.get(shape)
        return ("static ints", shape, tuple([floats[j] for j in static])) if static else shape

    def _trace(self, args: tuple, shape: tuple, floats: list[float], failed: str | None) -> _Program:
        self.traces += 1
        # The cyclic garbage collector would walk the whole graph again and again while its
        # nodes are read (a 100,000-node trace compiles 3-4 times slower): pause it. Nothing
        # here leaves cycles behind (the engine's graphs have none; _Program breaks its own).
        paused = gc.isenabled()
        gc.disable()
        try:
            graph = traced(self.fn, args, self.backward)
            program = _Program(graph, getattr(self.fn, "__name__", "fn"))
        finally:
            if paused:
                gc.enable()
        cause = f"the outcome of {failed} changed" if failed else self._why_new(shape, floats, graph)
        known = self._static.get(shape, ())
        if not program.static_slots <= set(known):  # ints fn uses as Python ints: file calls by them
            self._static[shape] = tuple(sorted(program.static_slots.union(known)))
        self._last, self._last_shape, self._last_floats = program, shape, floats
        if cause is not None:
            self._causes[cause] += 1
        if self.traces > 2 * VARIANTS and not self._warned:
            self._warned = True
            cause, times = self._causes.most_common(1)[0]
            warnings.warn(
                f"compile: {getattr(self.fn, '__name__', 'fn')} was traced {self.traces} times, "
                f"{times} of them because {cause}",
                RuntimeWarning,
                stacklevel=3,
            )
        return program

    def _why_new(self, shape: tuple, floats: list[float], graph: Graph) -> str | None:
        """Why no program fitted a call, in words that name an argument (None for the first)."""
        if self._last_shape is None:
            return None
        paths = graph.paths
        if shape != self._last_shape:
            old = self._last_shape
            at = next((k for k, (a, b) in enumerate(zip(shape, old)) if a != b), min(len(shape), len(old)))
            where = paths.key[at] if at < len(paths.key) else "the arguments"
            return f"the shape of {where} changed (a list's length, or an argument's type or static value)"
        changed = [j for j in self._static.get(shape, ()) if floats[j] != self._last_floats[j]]
        if changed:
            names = ", ".join(paths.numbers[j] for j in changed[:3]) + (", ..." if len(changed) > 3 else "")
            return f"{names} changed, an int fn uses as a Python int (an index, range(), a dict key, int())"
        return "a comparison, or a number fn read, changed"

    def _eager(self, args: tuple, grad: bool) -> Any:
        """The call done by the engine itself: fn(*args).backward(), floats given as Values."""
        self.fallbacks += 1
        result = self.fn(*[floats_as_values(a) for a in args])
        if grad:
            loss_of(result).backward()
        return as_numbers(result)


_EAGER = object()  # run() says: this call is for the engine itself


class _Program:
    """One trace's generated code, compiled, with what a call needs around it."""

    def __init__(self, graph: Graph, fn_name: str) -> None:
        loops = plan_loops(graph)
        writer = Writer(graph, loops, fn_name)
        self.source = writer.text
        namespace = writer.namespace
        exec(builtins.compile(self.source, f"<compiled {fn_name}>", "exec"), namespace)
        self.step = namespace["step"]
        self.causes = graph.causes  # what each guard is about, for the warning
        self.static_slots = graph.static_slots
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


def _output_builder(outputs: Any, loops: list[Loop], exports: list[str]) -> Callable:
    """A function from the generated code's returned tuple to fn's structure, with numbers: the
    tuple holds the outputs computed outside loops, then each loop's list of a per-term output."""
    if isinstance(outputs, Node) and outputs.loop is None:
        return operator.itemgetter(0)
    flat = [node for node in each(outputs, Node) if node.loop is None]
    at: dict[Node, int | tuple[int, int]] = {node: k for k, node in enumerate(flat)}
    lists = {name: len(flat) + k for k, name in enumerate(exports)}
    for loop in loops:
        for template, column in loop.exports.items():
            for k, node in enumerate(column):
                if node is not None:  # (None: this term's node is no output)
                    at[node] = (lists[loop.export_names[template]], k)

    def plan(x):
        if x.__class__ is Node:
            return ("at", at[x])
        if isinstance(x, Static):
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
