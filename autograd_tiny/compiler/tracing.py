"""Tracing: run fn once on Values and record what its graph alone does not show.

The graph fn builds says which ops it ran on which inputs. It does not say which way fn's own
``if``s went, which numbers fn read out of Values, which leaves fn made, which nodes it made
and dropped, nor where no_grad() blocks began and ended. To record those, this module wraps
these methods while a trace runs (and only then; other threads go straight through to the
engine's methods, and the engine's own are put back when the last trace ends):

- ``Value.__lt__``, ``__le__``, ``__gt__``, ``__ge__``: the outcome of every comparison fn
  makes on a Value, which the compiled code checks on every call (a guard); a comparison with
  an int argument's stand-in is left to the stand-in (ints.py), which records it itself;
- ``Value.__float__``, ``item``, ``__round__``, ``__format__``, ``__repr__``: every number
  fn reads out of a Value, also checked on every call;
- ``Value.__init__``: the leaves fn makes (constants, or parameters it keeps); ``Value(y)`` of
  an int argument's stand-in is a leaf that stands for the call's number, as the stand-in does;
- ``Value.detach``: which node each detach() copy was made from;
- ``Value.__del__`` (which the engine does not define): the nodes fn makes and drops, kept
  alive until the trace is read, so that the compiled code computes them too and raises
  where the engine raises (``(x.log(), x * 2)[1]`` at x = 0 is a DomainError);
- ``Value.leaky_relu``: a slope that is an int argument's stand-in is handed to it, as ``+``
  hands it over (the engine checks the slope first);
- ``Value.backward`` and ``Value.register_hook``: refused with a `CompileError`;
- ``no_grad`` and ``enable_grad``'s ``__enter__``/``__exit__``: where the mode switches (the
  trace keeps recording, and remembers that those nodes pass no gradient).

Each record gets a *marker*: a tiny node whose creation stamp says where, among the nodes fn
made, the record happened.

Example:
    >>> from autograd_tiny import Value
    >>> x, trace = Value(2.0), Trace()
    >>> with recording(trace):
    ...     y = x * 3.0 if x > 1 else x
    ...     y = (x.log(), y)[1]  # log(x) is made, and dropped
    >>> [(symbol, outcome) for _, symbol, _, outcome, _ in trace.comparisons], len(trace.dropped)
    ([('>', True)], 1)
"""

from __future__ import annotations

import threading
from _thread import get_ident
from collections.abc import Callable

from ..engine import LEAKY_RELU, Value
from ..grad_mode import enable_grad, no_grad
from ..inputs import HANDS_OFF

__all__ = ["CompileError", "Trace", "recording", "is_tracing", "current"]


class CompileError(Exception):
    """fn does something compiled code cannot reproduce (calls backward() while traced, ...)."""


_MARK_LEAF = Value(0.0)
_active: dict[int, Trace] = {}  # thread id -> the trace it is recording
_patch_lock = threading.Lock()
_patched = 0


def is_tracing() -> bool:
    """True while this thread runs fn for a trace."""
    return _active.get(get_ident()) is not None


def current() -> Trace | None:
    """The trace this thread is recording, if any."""
    return _active.get(get_ident())


class Trace:
    """What one traced run of fn did besides building its graph."""

    def __init__(self) -> None:
        self.comparisons: list[tuple] = []  # (x, symbol, y, outcome, marker)
        self.readings: list[tuple] = []  # (value, its number, marker): float(v), v.item(), ...
        self.static_slots: set[int] = set()  # the call's numbers fn used as Python ints (ints.py)
        self.made: set[Value] = set()  # leaves made with Value(...) inside fn
        self.detached: dict[Value, Value] = {}  # leaf made by detach() -> its source
        self.dropped: list[Value] = []  # nodes fn made and dropped
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
        if type(other) in HANDS_OFF:  # an int argument's stand-in: it records the comparison itself
            return NotImplemented
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


def _leaky_relu(self, slope=0.01):
    if type(slope) in HANDS_OFF and _active.get(get_ident()) is not None:
        return type(slope).apply(LEAKY_RELU, [self, slope])  # (an int argument's stand-in: its leaf)
    return _ENGINE["leaky_relu"](self, slope)


def _made(self, *args, **kwargs):
    trace = _active.get(get_ident())
    if trace is not None and args and type(args[0]) in HANDS_OFF:  # Value(y) of an int argument's stand-in:
        args = (args[0].number_of(self), *args[1:])  # a leaf that is the call's number (nn turns inputs into Values)
    _ENGINE["__init__"](self, *args, **kwargs)
    if trace is not None:
        trace.made.add(self)


def _detach(self):
    new = _ENGINE["detach"](self)
    trace = _active.get(get_ident())
    if trace is not None:
        trace.detached[new] = self
    return new


def _dropped(self):
    trace = _active.get(get_ident())
    if trace is not None and self.grad_fn is not None:
        trace.dropped.append(self)  # alive again, until the trace is read


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


_ENGINE = {name: Value.__dict__[name] for name in ("__init__", "detach", "leaky_relu")}
_WRAPPERS: list[tuple[type, str, Callable]] = [
    *[(Value, name, _comparison(name, symbol)) for name, symbol in
      [("__lt__", "<"), ("__le__", "<="), ("__gt__", ">"), ("__ge__", ">=")]],
    *[(Value, name, _reading(name)) for name in ("__float__", "item", "__round__", "__format__", "__repr__")],
    (Value, "__init__", _made),
    (Value, "detach", _detach),
    (Value, "leaky_relu", _leaky_relu),
    (Value, "__del__", _dropped),
    (Value, "backward", _refuse("backward", "return the loss: the compiled call runs backward itself")),
    (Value, "register_hook", _refuse("register_hook", "compiled code does not run hooks")),
    (no_grad, "__enter__", _grad_mode(False)),
    (no_grad, "__exit__", _grad_mode(None)),
    (enable_grad, "__enter__", _grad_mode(True)),
    (enable_grad, "__exit__", _grad_mode(None)),
]  # fmt: skip
_SAVED = [(cls, name, cls.__dict__.get(name)) for cls, name, _ in _WRAPPERS]


class recording:
    """Inside: this thread records into `trace` (the wrappers are in place while anyone traces)."""

    def __init__(self, trace: Trace) -> None:
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
                        delattr(cls, name)  # inherited again (or, for __del__, none)
                    else:
                        setattr(cls, name, saved)
