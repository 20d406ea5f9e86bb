"""Grad mode: whether operations record the graph, per thread; and pausing the cyclic collector.

As in PyTorch, the mode belongs to a thread: `no_grad` in one thread leaves the others
recording, and a new thread always starts recording, whatever threads before it left behind.
The engine asks `is_grad_enabled()` only while some thread is inside `no_grad` (`OFF` is
not empty), so the common case costs one test per operation.

Example:
    >>> from autograd_tiny import Value
    >>> with no_grad():
    ...     y = Value(2.0) * 3
    >>> y.parents, is_grad_enabled()
    ((), True)
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["no_grad", "enable_grad", "is_grad_enabled", "OFF", "gc_paused"]


class _ThreadMode:
    """One thread's mode: recording or not, and the thread it belongs to."""

    __slots__ = ("recording", "thread")

    def __init__(self) -> None:
        self.recording = True
        self.thread = threading.current_thread()


_local = threading.local()  # .mode: this thread's _ThreadMode, made on first use
OFF: set[_ThreadMode] = set()  # the modes of the threads inside no_grad now
_lock = threading.Lock()  # for OFF and the blocks' saved modes, shared by threads


def _mode() -> _ThreadMode:
    try:
        return _local.mode
    except AttributeError:  # a thread's first question: it records
        _local.mode = mode = _ThreadMode()
        return mode


def is_grad_enabled() -> bool:
    """True when operations in this thread record the graph (the default).

    Example:
        >>> with no_grad():
        ...     is_grad_enabled()
        False
    """
    return _mode().recording


class _GradMode:
    """A context manager and decorator that turns recording on or off in the current thread."""

    _recording = True
    _saved: list[tuple[_ThreadMode, bool]]

    def __new__(cls, fn: Callable | None = None) -> Any:
        mode = super().__new__(cls)
        mode._saved = []
        return mode if fn is None else mode(fn)  # `@no_grad` without parentheses

    def __enter__(self) -> None:
        mode = _mode()
        with _lock:
            self._saved.append((mode, mode.recording))
            mode.recording = self._recording
            _update(mode)

    def __exit__(self, *exc: object) -> None:
        # The mode this block changed is put back, even when the block ends in another thread
        # (a generator suspended inside it, closed elsewhere): the latest of this thread's, or
        # else the latest of all.
        mine = _mode()
        with _lock:
            i = next((i for i in range(len(self._saved) - 1, -1, -1) if self._saved[i][0] is mine), -1)
            mode, before = self._saved.pop(i)
            mode.recording = before
            _update(mode)

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)

        return wrapped


def _update(mode: _ThreadMode) -> None:
    """OFF follows `mode` (the caller holds _lock); threads that ended inside no_grad leave it."""
    if mode.recording:
        OFF.discard(mode)
    else:
        OFF.add(mode)
    for dead in [m for m in OFF if not m.thread.is_alive()]:
        OFF.discard(dead)


class no_grad(_GradMode):
    """Compute values without recording a graph, in this thread: for evaluation and updates.

    Works as ``with no_grad():``, as ``@no_grad()`` and as ``@no_grad``. Other threads keep
    recording.

    Example:
        >>> from autograd_tiny import Value
        >>> w = Value(2.0)
        >>> with no_grad():
        ...     y = w * 3
        >>> y.data, y.parents
        (6.0, ())
    """

    _recording = False


class enable_grad(_GradMode):
    """Record graphs again inside a `no_grad` block (this thread only).

    Example:
        >>> from autograd_tiny import Value
        >>> with no_grad():
        ...     with enable_grad():
        ...         y = Value(2.0) * 3
        >>> y.op
        '*'
    """

    _recording = True


# ---------------------------------------------------------------------- an opt-in knob: the collector
# Reference counting frees a dropped graph (a graph is never a reference cycle), but Python's
# cyclic garbage collector does not know that: it scans every node again and again while a
# big graph grows, about a third of the time of building one. `gc_paused` switches it off for
# a block, when you ask. Nothing in autograd_tiny does it for you.

_pause_lock = threading.Lock()
_pauses = 0  # blocks inside gc_paused, in all threads
_collector_was_on = False


class gc_paused:
    """Switch Python's cyclic garbage collector off for a block; back on after, if it was on.

    Building a big graph gets faster: the chain ``tanh(z * c) + x`` by about 30%, forward and
    backward together by about 20% (benchmarks/bench_engine.py). Graphs need no collector:
    reference counting frees them. The collector is process-wide, so the pause is too: other
    threads' reference cycles wait until the last block ends (``gc.collect()`` still works
    inside). Works as ``with gc_paused():``, as ``@gc_paused()`` and as ``@gc_paused``; blocks
    may nest and overlap across threads.

    Example:
        >>> import gc
        >>> with gc_paused():
        ...     gc.isenabled()
        False
    """

    def __new__(cls, fn: Callable | None = None) -> Any:
        pause = super().__new__(cls)
        return pause if fn is None else pause(fn)  # `@gc_paused` without parentheses

    def __enter__(self) -> None:
        global _pauses, _collector_was_on
        with _pause_lock:
            if _pauses == 0:
                _collector_was_on = gc.isenabled()
                gc.disable()
            _pauses += 1

    def __exit__(self, *exc: object) -> None:
        global _pauses
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _collector_was_on:
                gc.enable()

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return wrapped
