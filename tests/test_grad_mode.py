"""Grad mode: no_grad and enable_grad per thread, new threads always recording, and gc_paused."""

import gc
import math
import random
import threading

import pytest

from autograd_tiny import Value, gc_paused, no_grad
from autograd_tiny.grad_mode import is_grad_enabled

# ---------------------------------------------------------------------- threads


def _graph_grad(x0: float) -> float:
    x = Value(x0)
    (x * x * x + x.tanh()).backward()
    return x.grad


def _want(x0: float) -> float:
    return 3 * x0 * x0 + 1 - math.tanh(x0) ** 2


def test_no_grad_in_one_thread_does_not_stop_another_thread_recording():
    """While thread A sits inside no_grad, thread B's graphs are recorded and correct."""
    inside, done = threading.Event(), threading.Event()

    def sleeper():
        with no_grad():
            inside.set()
            done.wait(5)

    a = threading.Thread(target=sleeper)
    a.start()
    inside.wait(5)
    try:
        results = [(x0, _graph_grad(x0)) for x0 in (0.3, -1.2, 2.0)]
    finally:
        done.set()
        a.join()
    assert all(g == pytest.approx(_want(x0), rel=1e-14) for x0, g in results)


def test_backward_in_a_loop_in_one_thread_leaves_another_threads_graphs_right():
    """One thread calls backward() over and over; graphs built in another thread stay right."""
    stop = threading.Event()
    y = (Value(0.5) * 2).tanh()

    def looper():
        while not stop.is_set():
            y.backward()

    a = threading.Thread(target=looper)
    a.start()
    rng = random.Random(0)
    try:
        results = [(x0, _graph_grad(x0)) for x0 in (rng.uniform(-2, 2) for _ in range(300))]
    finally:
        stop.set()
        a.join()
    assert all(g == pytest.approx(_want(x0), rel=1e-14) for x0, g in results)


def test_overlapping_no_grad_blocks_in_two_threads_leave_grad_mode_on():
    """Two threads enter and leave no_grad in an interleaved order; afterwards both record."""
    order = []
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def a():
        with no_grad():
            a_in.set()
            b_in.wait(5)
        a_out.set()
        order.append(("a", is_grad_enabled()))

    def b():
        a_in.wait(5)
        with no_grad():
            b_in.set()
            a_out.wait(5)
        order.append(("b", is_grad_enabled()))

    ts = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(order) == [("a", True), ("b", True)] and is_grad_enabled()
    assert (Value(1.0) * 2).parents != ()


def _suspended_in_no_grad():
    """A generator that stops inside ``with no_grad():`` and stays there until closed."""
    with no_grad():
        yield is_grad_enabled()


@pytest.mark.parametrize("how", ["generator left open", "exception inside the block", "block still open"])
def test_a_new_thread_starts_recording_whatever_dead_threads_left(how):
    """A thread that ended inside no_grad (a suspended generator, a block it never left) leaves no
    trace: every later thread starts with grad on and records graphs, as in PyTorch."""
    kept = []

    def dies_inside():
        if how == "generator left open":
            gen = _suspended_in_no_grad()
            assert next(gen) is False
            kept.append(gen)  # suspended inside the block, closed only later, in another thread
        elif how == "exception inside the block":
            with pytest.raises(KeyError):
                with no_grad():
                    raise KeyError("inside")
        else:
            block = no_grad()
            block.__enter__()  # entered and never left: the thread ends inside it
            kept.append(block)

    for _ in range(20):  # thread idents are reused: some later thread gets the dead one's ident
        t = threading.Thread(target=dies_inside)
        t.start()
        t.join()
    seen = []

    def later():
        x = Value(0.7)
        y = x * x
        y.backward()
        seen.append((is_grad_enabled(), y.parents == (x, x), x.grad))

    for _ in range(20):
        t = threading.Thread(target=later)
        t.start()
        t.join()
    assert seen == [(True, True, pytest.approx(1.4, rel=1e-15))] * 20
    assert is_grad_enabled()
    for k in kept:  # closing the dead thread's block, here: no error, and this thread's mode is untouched
        if how == "generator left open":
            k.close()
        else:
            k.__exit__(None, None, None)
    assert is_grad_enabled() and (Value(1.0) * 2).parents != ()


def test_a_generator_closed_in_another_thread_restores_only_its_own_thread():
    """A generator suspended inside no_grad in thread A, closed in thread B, leaves B recording and
    puts A back as it was."""
    gen = _suspended_in_no_grad()
    in_a, b_done = threading.Event(), threading.Event()
    states = {}

    def a():
        states["a inside"] = next(gen)
        in_a.set()
        b_done.wait(5)
        states["a after"] = is_grad_enabled()

    def b():
        in_a.wait(5)
        gen.close()  # the block's exit runs here, in thread B
        states["b after"] = is_grad_enabled()
        b_done.set()

    ts = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
    assert states == {"a inside": False, "b after": True, "a after": True}


# ---------------------------------------------------------------------- gc_paused


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_gc_paused_switches_the_collector_off_and_back_on(collector_on):
    """Nested blocks keep the collector off until the outer one ends."""
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block is still running
    assert gc.isenabled()


def test_gc_paused_leaves_a_collector_that_was_off_off(collector_on):
    """A collector the user switched off stays off after the block."""
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_gc_paused_as_a_decorator_and_after_an_error(collector_on):
    """As @gc_paused() and @gc_paused, and after an exception, the collector comes back on."""
    @gc_paused()
    def build(n):
        assert not gc.isenabled()
        x = Value(0.5)
        z = x
        for _ in range(n):
            z = (z * 0.5).tanh() + x
        z.backward()
        return x.grad

    # the chain's derivative by hand: z_k = tanh(z_{k-1} / 2) + x
    def by_hand(n):
        z, dz = 0.5, 1.0
        for _ in range(n):
            t = math.tanh(z * 0.5)
            z, dz = t + 0.5, (1 - t * t) * 0.5 * dz + 1.0
        return dz

    assert build(50) == pytest.approx(by_hand(50), rel=1e-12)
    assert gc.isenabled()

    @gc_paused  # without parentheses, as no_grad
    def off():
        return gc.isenabled()

    assert off() is False and gc.isenabled()
    with pytest.raises(RuntimeError, match="inside"):
        with gc_paused():
            raise RuntimeError("inside the block")
    assert gc.isenabled()


def test_gc_paused_blocks_in_two_threads_end_when_the_last_one_ends(collector_on):
    """Blocks that overlap in two threads switch the collector back on only when both have ended."""
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = []

    def first():
        with gc_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second():
        first_in.wait(5)
        with gc_paused():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.isenabled())  # the first block has ended, this one has not

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [False]
    assert gc.isenabled()
