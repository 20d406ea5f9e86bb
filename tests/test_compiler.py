"""compile(): the generated code against the engine (an independent implementation of the same
arithmetic) and against closed forms; guards, new arguments, errors, user text, and scale."""

import ast
import contextlib
import io
import math
import subprocess
import sys
import textwrap
import tokenize

import pytest
from graphs import KINDS, STEPS, programs, run
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_tiny
from autograd_tiny import DomainError, Value, no_grad
from autograd_tiny.compiler import CompileError, compile
from autograd_tiny.data import moons, signed_labels
from autograd_tiny.losses import hinge, l2, mse
from autograd_tiny.nn import MLP
from autograd_tiny.primitives import primitive


def close(a, b, rel=1e-10, abs_=1e-12):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= abs_ + rel * abs(b)


def eager(fn, *args):
    """fn(*args).backward() by the engine: the loss's number."""
    out = fn(*args)
    out.backward()
    return out.data


# ---------------------------------------------------------------------- micrograd's demo


def test_demo_matches_the_engine_over_50_sgd_steps_while_relus_flip():
    """micrograd's demo (MLP(2, [16, 16, 1]), hinge + L2, SGD) trained side by side, eager and
    compiled from the same weights: every loss within 1e-12 and every gradient within 1e-10 at
    each of 50 steps, while the relus of the hidden layers switch on and off, with one trace."""
    X, labels = moons(100, noise=0.1, seed=0)
    y = signed_labels(labels)
    ours, theirs = (
        MLP(2, [16, 16, 1], init="uniform", seed=1337),
        MLP(2, [16, 16, 1], init="uniform", seed=1337),
    )

    def loss(model):
        return hinge([model(x) for x in X], y) + l2(model.parameters(), 1e-4)

    def active(model):  # which hidden neurons are on, for each point
        return [tuple(n(x).data > 0 for n in model.layers[0].neurons) for x in X]

    step = compile(lambda: loss(ours))
    first = active(theirs)
    for k in range(50):
        theirs.zero_grad()
        expected = eager(loss, theirs)
        ours.zero_grad()
        got = step()
        assert abs(got - expected) <= 1e-12, k
        for p, q in zip(ours.parameters(), theirs.parameters()):
            assert abs(p.grad - q.grad) <= 1e-10, k
        lr = 1.0 - 0.9 * k / 100
        for model in (ours, theirs):
            for p in model.parameters():
                p.data -= lr * p.grad
    flipped = sum(a != b for a, b in zip(first, active(theirs)))
    assert flipped > 0
    assert step.traces == 1 and step.fallbacks == 0
    assert step.source.count("\n") < 2500  # 100 points, written as one point's code in a loop


def test_micrograd_neuron_gradients_match_closed_forms():
    """The neuron of micrograd's lecture, compiled: o = tanh(x1 w1 + x2 w2 + b), with every
    gradient as calculus gives it (do/dn = 1 - o², do/dw1 = x1 (1 - o²), ...)."""
    x1, x2, w1, w2 = (
        Value(2.0, label="x1"),
        Value(0.0, label="x2"),
        Value(-3.0, label="w1"),
        Value(1.0, label="w2"),
    )
    b = Value(6.8813735870195432, label="b")
    neuron = compile(lambda: (x1 * w1 + x2 * w2 + b).tanh())
    o = neuron()
    n = 2.0 * -3.0 + 0.0 * 1.0 + 6.8813735870195432
    assert close(o, math.tanh(n))
    slope = 1 - math.tanh(n) ** 2
    for v, expected in [(x1, -3.0 * slope), (w1, 2.0 * slope), (x2, 1.0 * slope), (w2, 0.0), (b, slope)]:
        assert close(v.grad, expected, abs_=1e-15), v.label


def test_labels_that_are_safe_names_become_variables():
    """Variables are named after labels that are safe identifiers, and the backward pass shows
    each rule: here tanh's, as 1 - o * o."""
    x, w = Value(0.5, label="x"), Value(-1.0, label="w")

    def neuron():
        n = x * w
        n.label = "n"
        o = n.tanh()
        o.label = "o"
        return o

    compiled = compile(neuron)
    compiled()
    text = compiled.source
    assert "n = x * w" in text and "o = tanh(n)" in text
    assert "g_n = (1 - o * o) * g_o" in text


# ---------------------------------------------------------------------- every op


@settings(max_examples=150, deadline=None)
@given(programs(), st.lists(st.floats(-2, 2, allow_nan=False), min_size=4, max_size=4))
def test_random_graphs_over_every_op_match_the_engine(program, other):
    """Random graphs over every op (shared nodes, constants, relu/abs/leaky branches, fused
    neurons, a custom primitive): compiled once, then called at the traced leaves and at other
    leaves, the output and every leaf gradient are the engine's, with no new trace."""
    compiled = compile(lambda *xs: run(program, xs))
    for numbers in (program[0], other[: len(program[0])]):
        ours, theirs = [Value(v) for v in numbers], [Value(v) for v in numbers]
        got = compiled(*ours)
        assert close(got, eager(lambda *xs: run(program, xs), *theirs))
        for a, b in zip(ours, theirs):
            assert close(a.grad, b.grad), program
    assert compiled.traces == 1 and compiled.fallbacks == 0


@settings(max_examples=60, deadline=None)
@given(programs(max_steps=8), st.sampled_from(["Value.sum", "Value.mean", "sum", "Value.logsumexp"]))
def test_random_terms_of_a_batch_match_the_engine(program, total):
    """A random graph as the code of each point of a batch (its leaves: a parameter times the
    point's number), the points' results summed four ways: one term's code in a loop, and the
    engine's loss and parameter gradients for two batches, with one trace."""
    totals = {
        "Value.sum": Value.sum,
        "Value.mean": Value.mean,
        "sum": sum,
        "Value.logsumexp": Value.logsumexp,
    }

    def loss(params, X):
        return totals[total]([run(program, [p * x for p in params]) for x in X])

    ours, theirs = [Value(v) for v in program[0]], [Value(v) for v in program[0]]
    compiled = compile(lambda X: loss(ours, X))
    for X in ([0.3 * i - 1.4 for i in range(10)], [0.7 - 0.2 * i for i in range(10)]):
        for p, q in zip(ours, theirs):
            p.grad = q.grad = 0.0
        assert close(compiled(X), eager(loss, theirs, [Value(x) for x in X]))
        assert all(close(p.grad, q.grad) for p, q in zip(ours, theirs)), program
    assert compiled.traces == 1 and compiled.fallbacks == 0 and "for " in compiled.source


@pytest.mark.parametrize("kind", KINDS)
def test_each_op_compiles_and_matches_the_engine(kind):
    """Each op alone (twice, chained), at points on both sides of its kinks: the generated code
    runs it (no call left to the engine) and agrees with the engine."""
    program = ([0.7, -0.4], [(kind, 0, 1, 1.3), (kind, 2, 0, -0.7)], [2, 3])
    compiled = compile(lambda a, b: run(program, [a, b]))
    for numbers in ([0.7, -0.4], [-1.1, 0.9], [2.5, 1.5]):
        ours, theirs = [Value(v) for v in numbers], [Value(v) for v in numbers]
        assert close(compiled(*ours), eager(lambda *xs: run(program, xs), *theirs)), kind
        assert all(close(a.grad, b.grad) for a, b in zip(ours, theirs)), kind
    assert compiled.traces == 1 and compiled.fallbacks == 0


def test_custom_primitive_is_called_through_its_op():
    """A primitive made with engine.primitive runs its own function and rule from the compiled
    code (taken from the namespace, not written into the source)."""

    @primitive(derivatives=lambda x, out: (1 / (1 + abs(x)) ** 2,))
    def softsign(x):
        return x / (1 + abs(x))

    w = Value(0.8)
    compiled = compile(lambda x: softsign(w * x))
    for x in (1.5, -2.0):
        w.grad = 0.0
        out = compiled(x)
        z = 0.8 * x
        assert close(out, z / (1 + abs(z)))
        assert close(w.grad, x / (1 + abs(z)) ** 2)
    assert "softsign(" in compiled.source and compiled.fallbacks == 0


# ---------------------------------------------------------------------- unusual shapes


@primitive(derivatives=lambda x, out: (1 / (1 + abs(x)) ** 2,))
def _softsign(x):
    return x / (1 + abs(x))


def _cases():
    """(name, fn of (params, args), args): fn builds its graph from a list of parameters."""
    n = 20
    xs = [0.37 * i - 3.1 for i in range(n)]
    return [
        ("logsumexp of a batch",
         lambda p, a: Value.logsumexp([(p[0] * x).tanh() for x in a[0]]), (xs,)),
        ("one parameter per term",
         lambda p, a: Value.sum([q * q * x for q, x in zip(p, a[0])]), (xs,)),
        ("two shapes and a few others",
         lambda p, a: Value.sum([(p[0] * x).relu() for x in a[0]] + [(p[1] * x).exp() for x in a[1]]
                                + [p[0].sigmoid() * x for x in a[2]]), (xs, xs[:12], xs[:3])),
        ("a custom primitive in each term",
         lambda p, a: Value.mean([_softsign(p[0] * x + p[1]) for x in a[0]]), (xs,)),
        ("terms with nothing of their own",
         lambda p, a: Value.sum([p[0] * 2.0 for _ in range(12)]), ()),
        ("leaves picked out of order",
         lambda p, a: Value.sum([a[0][i] * a[0][(7 * i + 3) % n] * p[0] for i in range(n)]), (xs,)),
        ("dicts in and out",
         lambda p, a: (a[0]["w"] * p[0] + a[0]["b"], {"w": a[0]["w"]}), ({"w": 0.5, "b": -1.5},)),
        ("the loss is an argument",
         lambda p, a: a[0], (0.75,)),
        ("number ** Value",
         lambda p, a: (0.0 ** (p[0] * p[0] + 1)) + 2.0 ** p[1] + (-2.0) ** (p[0] * 0 + 2.0), ()),
        ("a comparison in every term",
         lambda p, a: Value.sum([(p[0] * x).relu() if p[0] * x > 1 else p[1] * x for x in a[0]]), (xs,)),
    ]  # fmt: skip


@pytest.mark.parametrize("name, fn, args", _cases(), ids=[c[0] for c in _cases()])
def test_unusual_shapes_match_the_engine(name, fn, args):
    """Sums of many kinds (a logsumexp over a batch, a parameter per term, terms of two shapes
    and leftovers, a custom primitive per term, terms with no leaf of their own, leaves read out
    of order, comparisons inside terms), dict arguments and results, a leaf as the loss:
    every output and every gradient are the engine's, with the generated code doing the work."""
    ours, theirs = [Value(0.1 * k - 0.4) for k in range(20)], [Value(0.1 * k - 0.4) for k in range(20)]
    compiled = compile(lambda *a: fn(ours, a))
    for p in ours:  # a gradient left as a Value by backward(create_graph=True) becomes its number
        p.grad = Value(0.25)
    got = compiled(*args)
    for p in theirs:
        p.grad = Value(0.25)
    result = fn(theirs, [_floats_as_values(a) for a in args])
    loss = result[0] if isinstance(result, tuple) else result
    loss.backward()
    expected = result[0].data if isinstance(result, tuple) else result.data
    assert close(got[0] if isinstance(got, tuple) else got, expected)
    if isinstance(result, tuple):
        assert got[1] == {"w": 0.5}
    assert all(close(p.grad, q.grad) for p, q in zip(ours, theirs)), name
    assert compiled.fallbacks == 0 and compiled.traces == 1


def _floats_as_values(x):
    if isinstance(x, float):
        return Value(x)
    if isinstance(x, list):
        return [_floats_as_values(v) for v in x]
    if isinstance(x, dict):
        return {k: _floats_as_values(v) for k, v in x.items()}
    return x


# ---------------------------------------------------------------------- arguments


def test_new_numbers_give_new_answers_without_a_trace():
    """Numbers passed as arguments are inputs: a new batch of points and targets of the same
    shape gives the engine's loss and gradients, with the first trace."""
    ours, theirs = MLP(2, [8, 1], seed=3), MLP(2, [8, 1], seed=3)
    compiled = compile(lambda X, t: mse([ours(x) for x in X], t))
    for seed in range(3):
        X, labels = moons(30, noise=0.1, seed=seed)
        targets = [float(v) for v in labels]
        ours.zero_grad()
        theirs.zero_grad()
        assert close(compiled(X, targets), eager(lambda: mse([theirs(x) for x in X], targets)))
        assert all(close(p.grad, q.grad) for p, q in zip(ours.parameters(), theirs.parameters()))
    assert compiled.traces == 1 and compiled.fallbacks == 0


def test_another_batch_size_traces_again():
    """The shape of the arguments is part of the trace: another batch size traces again."""
    model = MLP(2, [4, 1], seed=0)
    compiled = compile(lambda X: Value.mean([model(x) for x in X]))
    X, _ = moons(20, seed=0)
    compiled(X)
    compiled(X[:10])
    compiled(X)
    assert compiled.traces == 2
    assert close(compiled(X[:10]), Value.mean([model(x) for x in X[:10]]).data)


def test_values_passed_as_arguments_get_their_gradients():
    """Values passed as arguments are inputs too: other Value objects next call get their own
    gradients without a trace; the same Value passed twice is one leaf (traced apart)."""
    compiled = compile(lambda a, b: (a * b + a).tanh())
    for x, y in [(0.2, -0.3), (1.5, 0.4)]:
        a, b = Value(x), Value(y)
        compiled(a, b)
        t = math.tanh(x * y + x)
        assert close(a.grad, (1 - t * t) * (y + 1)) and close(b.grad, (1 - t * t) * x)
    assert compiled.traces == 1
    a = Value(0.5)
    compiled(a, a)
    t = math.tanh(0.75)
    assert close(a.grad, (1 - t * t) * (2 * 0.5 + 1)) and compiled.traces == 2


def test_a_list_of_values_passed_as_argument_becomes_a_loop():
    """Many Values passed in a list: their terms run in a loop, each Value gets its own gradient
    (new Value objects next call, no new trace), and fn may return them too."""
    w = Value(1.5)
    compiled = compile(lambda xs: (Value.sum([(x * w).tanh() for x in xs]), xs))
    for shift in (0.0, 0.3):
        xs = [Value(0.1 * i - 1 + shift) for i in range(20)]
        w.grad = 0.0
        total, back = compiled(xs)
        ts = [math.tanh(x.data * 1.5) for x in xs]
        assert close(total, sum(ts)) and back == [x.data for x in xs]
        assert all(close(x.grad, (1 - t * t) * 1.5) for x, t in zip(xs, ts))
        assert close(w.grad, sum((1 - t * t) * x.data for x, t in zip(xs, ts)))
    assert compiled.traces == 1 and compiled.fallbacks == 0 and "for " in compiled.source
    leaves = compile(lambda xs: (Value.sum(xs), xs))
    xs = [Value(float(i)) for i in range(10)]
    assert leaves(xs) == (45.0, [float(i) for i in range(10)]) and all(x.grad == 1.0 for x in xs)
    assert leaves.fallbacks == 0


def test_static_arguments_and_closure_numbers():
    """Ints are static (another int traces again), other objects are static by identity (a
    new one traces again); numbers found in a closure are constants. Tracing over and over
    warns."""
    scale = [2.0]
    compiled = compile(lambda x, n: Value.sum([x * k for k in range(n)]) * scale[0])
    assert compiled(1.5, 3) == (0 + 1.5 + 3.0) * 2.0
    assert compiled(2.0, 3) == (0 + 2.0 + 4.0) * 2.0 and compiled.traces == 1
    assert compiled(2.0, 4) == (0 + 2.0 + 4.0 + 6.0) * 2.0 and compiled.traces == 2
    small, large = MLP(1, [1], seed=0), MLP(1, [1], seed=1)
    by_model = compile(lambda model, x: model([x]))
    assert close(by_model(small, 0.5), small([0.5]).data) and close(by_model(large, 0.5), large([0.5]).data)
    assert by_model(small, -0.5) == small([-0.5]).data and by_model.traces == 2
    with pytest.warns(RuntimeWarning, match="traced 17 times"):
        for n in range(17):
            compiled(1.0, n + 5)


def test_argument_that_is_also_a_parameter_is_left_to_the_engine():
    """A Value passed as an argument that fn also reaches another way (a parameter), or one made
    by an op, is one leaf in two roles: the engine itself runs that call, correctly."""
    w = Value(3.0)
    compiled = compile(lambda a: a * w)
    compiled(Value(2.0))
    assert compiled(w) == 9.0 and w.grad == 6.0 + 2.0  # 2.0 from the first call
    p = Value(2.0)
    assert compiled(p * 1.5) == 9.0 and p.grad == 1.5 * 3.0
    assert compiled.fallbacks == 2


# ---------------------------------------------------------------------- guards


def test_a_changed_comparison_traces_again():
    """`if x > 0` in fn: the outcome seen while tracing is checked on every call; the other
    outcome traces the other branch, and both branches stay cached."""
    w = Value(2.0)

    def f(x):
        return (x * w).log() if x > 0 else (x * x + w).exp()

    compiled = compile(f)
    for x, branch in [(1.5, "log"), (3.0, "log"), (-1.0, "exp"), (0.5, "log"), (-2.0, "exp")]:
        w.grad = 0.0
        out = compiled(x)
        if branch == "log":
            assert close(out, math.log(x * 2.0)) and close(w.grad, 1 / 2.0)
        else:
            assert close(out, math.exp(x * x + 2.0)) and close(w.grad, math.exp(x * x + 2.0))
    assert compiled.traces == 2


def test_max_and_float_are_guarded():
    """max() over Values and float(v) inside fn are guarded: a new winner, or a new number read
    out of a Value, traces again instead of reusing a stale answer."""
    ws = [Value(0.3), Value(-0.2)]
    biggest = compile(lambda x: max(w * x for w in ws) * 2)
    assert close(biggest(1.5), 0.9) and close(biggest(-1.5), 0.6) and biggest.traces == 2
    read = compile(lambda x: x * float(x * ws[0]))
    assert close(read(2.0), 2.0 * 0.6) and close(read(3.0), 3.0 * 0.9) and read.traces == 2


def test_relu_branches_are_tested_at_run_time():
    """relu, abs and leaky_relu choose their branch in the generated code, forward and backward:
    inputs on the other side of 0 need no new trace."""
    w = Value(1.0)
    compiled = compile(lambda x: (w * x).relu() + (w * x).abs() + (w * x).leaky_relu(0.1))
    for x, grad in [(2.0, 2.0 + 2.0 + 2.0), (-2.0, 0.0 + 2.0 + 0.1 * -2.0)]:
        w.grad = 0.0
        compiled(x)
        assert close(w.grad, grad)
    assert compiled.traces == 1 and "if " in compiled.source


# ---------------------------------------------------------------------- what fn may do


def test_no_grad_and_detach_inside_fn_pass_no_gradient():
    """Numbers computed inside no_grad() or by detach() inside fn are recomputed on every call
    and pass no gradient, as the engine does."""
    w = Value(0.5)

    def f(x):
        with no_grad():
            scale = x * w + 1
        return x * w * scale + w * (x * w).detach()

    compiled = compile(f)
    for x in (2.0, -3.0):
        w.grad = 0.0
        expected = x * 0.5 * (x * 0.5 + 1) + 0.5 * x * 0.5
        assert close(compiled(x), expected)
        assert close(w.grad, x * (x * 0.5 + 1) + x * 0.5)
    assert compiled.traces == 1


def test_parameter_made_inside_fn_is_read_every_call():
    """A leaf fn makes and keeps (a parameter made on the first call) is read on every call; a
    leaf fn makes and drops is a constant."""

    class Lazy:
        w = None

    lazy = Lazy()

    def f(x):
        if lazy.w is None:
            lazy.w = Value(0.5)
        return x * lazy.w * Value(3.0)

    compiled = compile(f)
    assert compiled(2.0) == 3.0 and lazy.w.grad == 6.0
    lazy.w.data = 1.0
    assert compiled(2.0) == 6.0 and lazy.w.grad == 12.0 and compiled.traces == 1


def test_values_made_before_fn_ran_are_followed_by_the_engine():
    """A Value made by an op before compile (w * 3 computed outside fn) is read as it is, and
    its gradient flows on through its own graph, as in fn().backward()."""
    w, w2 = Value(0.7), Value(0.7)
    u, u2 = w * 3.0, w2 * 3.0
    v, v2 = u.tanh(), u2.tanh()
    compiled = compile(lambda x: v * x + u)
    assert close(compiled(2.0), eager(lambda: v2 * 2.0 + u2))
    assert close(w.grad, w2.grad) and close(u.grad, u2.grad) and compiled.fallbacks == 0


def test_outputs_besides_the_loss_come_back_as_numbers():
    """fn may return (loss, other Values): the call returns numbers in the same structure, and
    differentiates the loss only; the per-point scores come back from inside the loop."""
    X, labels = moons(40, noise=0.1, seed=0)
    y = signed_labels(labels)
    ours, theirs = MLP(2, [8, 1], seed=3), MLP(2, [8, 1], seed=3)
    compiled = compile(lambda: (hinge(scores := [ours(x) for x in X], y), scores, "tag"))
    loss, scores, tag = compiled()
    expected = [theirs(x) for x in X]
    assert close(loss, eager(lambda: hinge(expected, y))) and tag == "tag"
    assert isinstance(scores, list) and all(close(s, e.data) for s, e in zip(scores, expected))
    assert all(close(p.grad, q.grad) for p, q in zip(ours.parameters(), theirs.parameters()))
    assert compiled.fallbacks == 0 and "for " in compiled.source


def test_pythons_sum_is_a_loop_too():
    """micrograd's way, Python's sum() over the points (a chain of '+' nodes) and over the
    squared parameters: the same numbers as the engine over SGD steps, and code as short for
    300 points as for 30 (the chain's terms are one point's code in a loop)."""
    X, labels = moons(300, noise=0.1, seed=0)
    y = signed_labels(labels)

    def loss(model, n):
        losses = [(1 + -yi * model(x)).relu() for x, yi in zip(X[:n], y[:n])]
        return sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in model.parameters())

    sizes = []
    for n in (30, 300):
        ours, theirs = MLP(2, [8, 8, 1], seed=0), MLP(2, [8, 8, 1], seed=0)
        step = compile(lambda: loss(ours, n))
        for _ in range(3):
            ours.zero_grad()
            theirs.zero_grad()
            assert close(step(), eager(loss, theirs, n))
            assert all(close(p.grad, q.grad) for p, q in zip(ours.parameters(), theirs.parameters()))
            for model in (ours, theirs):
                for p in model.parameters():
                    p.data -= 0.5 * p.grad
        sizes.append(step.source.count("\n"))
        assert step.fallbacks == 0 and "reduce(add, " in step.source
    assert sizes[0] == sizes[1]


def test_a_partial_sum_fn_returns_stays_a_node():
    """A partial sum that fn also returns (or compares) is not folded away: it is computed and
    returned as the engine computes it."""
    xs = [Value(float(i)) for i in range(12)]

    def f():
        half = sum(x * x for x in xs[:6])
        return half + sum(x * x for x in xs[6:]), half

    total, half = compile(f)()
    assert half == sum(float(i * i) for i in range(6)) and total == sum(float(i * i) for i in range(12))
    assert all(x.grad == 2 * x.data for x in xs)


def test_several_shapes_of_terms_give_several_loops():
    """A cross-entropy that indexes each row by a Python int (row[label]) uses a different logit
    per class: terms of three shapes, a forward loop each, and one backward loop over all the
    terms in the engine's order, so that the loss and every gradient are the engine's to the
    last bit."""
    X, labels = moons(60, noise=0.1, seed=1)
    labels = [(i + label) % 3 for i, label in enumerate(labels)]
    ours, theirs = MLP(2, [8, 3], seed=2), MLP(2, [8, 3], seed=2)

    def indexed(model):
        return Value.mean([Value.logsumexp(row) - row[label] for row, label in zip(map(model, X), labels)])

    compiled = compile(lambda: indexed(ours))
    assert compiled() == eager(lambda: indexed(theirs))
    assert [p.grad for p in ours.parameters()] == [q.grad for q in theirs.parameters()]
    assert compiled.source.count("in zip(") >= 3 and "if shape == 0:" in compiled.source
    assert compiled.fallbacks == 0


def test_train_command_gives_the_same_run_compiled(tmp_path):
    """`autograd-tiny train --compile` writes the same losses, accuracies and model, number for
    number, as the engine's run: micrograd's recipe, and three classes with Adam."""
    import json

    from autograd_tiny.cli import main

    for options in (["--samples", "80", "--steps", "15"],
                    ["--data", "spirals", "--samples", "90", "--steps", "10"]):  # fmt: skip
        runs = []
        for extra in ([], ["--compile"]):
            out = tmp_path / f"run{len(runs)}{options[1]}"
            assert main(["train", *options, "--out", str(out), *extra]) == 0
            runs.append((json.loads((out / "run.json").read_text()), (out / "model.json").read_text()))
        (plain, plain_model), (compiled, compiled_model) = runs
        assert plain["history"] == compiled["history"] and plain_model == compiled_model


def test_forward_only_and_no_grad_calls_leave_gradients_alone():
    """compile(fn, backward=False) and calls inside no_grad() run the forward pass only; a
    forward-only fn may return any structure of Values."""
    model = MLP(2, [4, 2], seed=0)
    X, _ = moons(5, seed=0)
    scores = compile(lambda X: [model(x) for x in X], backward=False)
    assert scores(X) == [[v.data for v in model(x)] for x in X]
    loss = compile(lambda: Value.sum(model(X[0])))
    with no_grad():
        loss()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_nested_compiled_functions():
    """A compiled function called while another is traced runs eagerly inside that trace."""
    w = Value(1.5)
    inner = compile(lambda x: (x * w).tanh())
    outer = compile(lambda x: inner(x) * 2)
    assert close(outer(0.4), 2 * math.tanh(0.6)) and close(w.grad, 2 * 0.4 * (1 - math.tanh(0.6) ** 2))


def test_what_cannot_be_compiled_says_so():
    """fn calling backward(), registering a hook or returning a bare float raises CompileError,
    one line naming the problem; so does a loss-less result when backward is wanted."""
    x = Value(2.0)
    with pytest.raises(CompileError, match="backward"):
        compile(lambda: (x * x).backward())()
    with pytest.raises(CompileError, match="register_hook"):
        compile(lambda: (x * x).register_hook(print))()
    with pytest.raises(CompileError, match="returned the number"):
        compile(lambda: (x * x, 1.5))()
    with pytest.raises(CompileError, match="must return the loss"):
        compile(lambda: [x * x])()
    with pytest.raises(TypeError, match="compile: expected a function"):
        compile(3)
    with pytest.raises(RuntimeError, match="inside no_grad"):
        compile(lambda: no_grad()(lambda: x * x)())()


# ---------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "fn, good, bad",
    [
        (lambda x: x.log(), 2.0, -1.0),
        (lambda x: 1.0 / x, 2.0, 0.0),
        (lambda x: x.sqrt(), 2.0, -4.0),
        (lambda x: x**-1, 2.0, 0.0),
        (lambda x: x**0.5, 2.0, -4.0),
    ],
    ids=["log", "div", "sqrt", "pow-negative", "pow-fraction"],
)
def test_domain_errors_are_the_engines(fn, good, bad):
    """An argument outside an op's domain, met by the generated code on a later call, raises the
    engine's own DomainError with the engine's own message."""
    compiled = compile(fn)
    compiled(good)
    with pytest.raises(DomainError) as ours:
        compiled(bad)
    with pytest.raises(DomainError) as engine:
        fn(Value(bad))
    assert str(ours.value) == str(engine.value)


def test_overflow_gives_the_engines_ieee_result():
    """exp(1000) overflows math.exp; the call is rerun by the engine, which gives inf."""
    w = Value(1.0)
    compiled = compile(lambda x: (w * x).exp())
    assert compiled(1.0) == math.e
    assert compiled(1000.0) == math.inf and w.grad == math.inf and compiled.fallbacks == 1


@primitive(derivatives=lambda x, out: (1.0,))
def _fragile(x):
    """A custom primitive whose function raises for a negative number (not a DomainError)."""
    if x < 0:
        raise RuntimeError(f"fragile: {x!r} is negative")
    return x


def _outcome(run, values):
    """run(): ('raised', the exception's type, its message), or ('ok', the number run returns,
    the gradients of `values` after it)."""
    for v in values:
        v.grad = 0.0
    try:
        out = run()
    except Exception as error:  # the point is to compare whatever is raised
        return ("raised", type(error), str(error))
    return ("ok", out, [v.grad for v in values])


def _same_outcome(a, b):
    if a[0] != b[0] or a[0] == "raised":
        return a == b
    return close(a[1], b[1]) and all(close(x, y) for x, y in zip(a[2], b[2]))


_W = Value(0.5)


@pytest.mark.parametrize(
    "fn, good, bad",
    [
        (lambda x: (x.log(), x * 2)[1], 1.0, 0.0),
        (lambda x: ((_W * x).log(), _W * x * 2)[1], 1.0, -3.0),
        (lambda x: (1.0 / x, x + 1)[1], 2.0, 0.0),
        (lambda x: (_W / (x * 1.0), x + _W)[1], 2.0, 0.0),
        (lambda x: (x ** -1.5, x * 3)[1], 2.0, 0.0),
        (lambda x: ((x * _W) ** _W, x * 3)[1], 2.0, -1.0),  # a negative base, a fractional power
        (lambda x: (x.sqrt(), x - 1)[1], 4.0, -4.0),
        (lambda x: (_fragile(x), x * 2)[1], 1.0, -1.0),
        (lambda x: ((x * 3).log().exp(), x)[1] * _W, 1.0, -2.0),  # an unused chain
        (lambda x: ((x * 2).log(), _W * x)[1] if x > -5 else _W, 1.0, -1.0),  # beside a guard
    ],
    ids=["log", "log-of-product", "div", "div-values", "pow-of-0", "pow-negative-base", "sqrt", "custom",
         "unused-chain", "beside-a-guard"],
)
@pytest.mark.parametrize("mode", ["backward", "forward-only", "no_grad"])
def test_unused_nodes_raise_where_the_engine_raises(fn, good, bad, mode):
    """A node fn makes and drops (its result unused) is computed by the compiled code all the
    same, so that an argument outside its op's domain raises exactly as the engine raises it
    (the same exception and message), while arguments inside give the engine's numbers."""
    compiled = compile(fn, backward=mode != "forward-only")
    grad_mode = no_grad if mode == "no_grad" else contextlib.nullcontext

    def engine(x):
        if mode == "backward":
            return eager(fn, Value(x))
        with grad_mode():
            return fn(Value(x)).data

    def ours(x):
        with grad_mode():
            return compiled(x)

    for x in (good, bad, good, good * 3, bad):
        got, expected = _outcome(lambda: ours(x), [_W]), _outcome(lambda: engine(x), [_W])
        assert _same_outcome(got, expected), (x, got, expected)
    assert expected[0] == "raised"


def test_unused_nodes_inside_a_rolled_loop_raise_where_the_engine_raises():
    """Nodes each term of a batch makes and drops (a log of a product, a division) are
    computed inside the loop that rolls the terms: the loop is still one term's code, the
    numbers and gradients are the engine's, and a point that takes one of those nodes out of
    its domain raises the engine's own error."""
    ours, theirs = Value(0.5), Value(0.5)

    def loss(w, X):
        terms = []
        for x in X:
            (w * x).log()  # made and dropped
            _ = (w + x) / (x - 1.0)  # made, dropped on the next point
            terms.append((w * x).tanh() * x)
        return Value.sum(terms)

    compiled = compile(lambda X: loss(ours, X))
    for X in ([0.1 * i + 0.15 for i in range(12)], [0.2 * i + 0.3 for i in range(12)]):
        ours.grad = theirs.grad = 0.0
        assert close(compiled(X), eager(loss, theirs, [Value(x) for x in X]))
        assert close(ours.grad, theirs.grad)
    assert compiled.fallbacks == 0 and compiled.traces == 1
    assert "for " in compiled.source and compiled.source.count("log(") == 1  # one term's code
    for bad, error in [(-1.0, "log: argument must be > 0"), (1.0, "div: division by zero")]:
        X = [0.1 * i + 0.15 for i in range(12)]
        X[5] = bad
        with pytest.raises(DomainError, match=error) as ours_error:
            compiled(X)
        with pytest.raises(DomainError) as engine_error:
            loss(theirs, [Value(x) for x in X])
        assert str(ours_error.value) == str(engine_error.value)


# Steps that may leave their op's domain; the random programs below drop most of their nodes.
RISKY = {
    "risky_log": lambda a, b, c: a.log(),
    "risky_div": lambda a, b, c: c / a,
    "risky_pow": lambda a, b, c: a ** -1.5,
    "risky_sqrt": lambda a, b, c: (a - b).sqrt(),
    "risky_custom": lambda a, b, c: _fragile(a * c),
}


def _run_risky(program, xs):
    _, steps, outputs = program
    nodes = list(xs)
    for kind, i, j, c in steps:
        nodes.append((RISKY.get(kind) or STEPS[kind])(nodes[i], nodes[j], c))
    return Value.sum([nodes[k] for k in outputs])


@settings(max_examples=200, deadline=None)
@given(
    programs(kinds=KINDS + sorted(RISKY)),
    st.lists(st.lists(st.sampled_from([0.0, -1.0, 0.5, 1.5, -0.25, 2.0]), min_size=4, max_size=4), min_size=3, max_size=3),
)
def test_random_graphs_with_unused_nodes_raise_where_the_engine_raises(program, inputs):
    """Random graphs over every op and steps that may leave their op's domain (log, division,
    0 to a negative power, sqrt, a custom primitive that raises), most of their nodes unused:
    called at several leaves, the compiled function raises the engine's error exactly where the
    engine raises, and otherwise gives the engine's output and leaf gradients."""
    compiled = compile(lambda *xs: _run_risky(program, xs))
    for numbers in [program[0], *(row[: len(program[0])] for row in inputs)]:
        ours, theirs = [Value(v) for v in numbers], [Value(v) for v in numbers]
        got = _outcome(lambda: compiled(*ours), ours)
        expected = _outcome(lambda: eager(lambda *xs: _run_risky(program, xs), *theirs), theirs)
        assert _same_outcome(got, expected), (program, numbers, got, expected)


# ---------------------------------------------------------------------- user text


def test_labels_and_names_never_reach_the_code():
    """Labels (and a function's name) are user text: placed in comments only, escaped so that no
    newline, quote or Unicode line separator can end the comment. The code runs unchanged."""
    evil = "x\nimport os; os.system('echo PWNED')"
    a = Value(1.5, label=evil)
    b = Value(2.5, label="'''\"\"\"\\\r\n\u2028\u0085PWNED\x00")

    def f():
        t = a * b
        t.label = "y\r\n__import__('os').system('echo PWNED')"
        return t.tanh()

    f.__name__ = "f\nPWNED = 1"
    compiled = compile(f)
    assert close(compiled(), math.tanh(3.75)) and close(a.grad, 2.5 * (1 - math.tanh(3.75) ** 2))
    tokens = list(tokenize.generate_tokens(io.StringIO(compiled.source).readline))
    code = [t.string for t in tokens if t.type != tokenize.COMMENT]
    assert not any("PWNED" in s or "os" == s for s in code)
    assert all(t.start[0] == t.end[0] for t in tokens if t.type == tokenize.COMMENT)
    assert "\u2028" not in compiled.source and "\x00" not in compiled.source


def test_unsafe_or_clashing_labels_are_not_used_as_names():
    """A label becomes a variable only if it is a short ASCII identifier, no keyword, no name the
    code uses (sum, exp, D, ...) and not taken: fullwidth 'ｘ' would normalize to 'x'."""
    labels = ["x", "ｘ", "sum", "exp", "class", "D", "x", "g_x", "_y", "a" * 30, "p", "g", "E", "shape"]
    vals = [Value(1.0 + k, label=label) for k, label in enumerate(labels)]

    def f():
        total = vals[0] * 1.0
        for v in vals[1:]:
            total = total * 0.5 + v.tanh()
        return total.exp()

    compiled = compile(f)
    got = compiled()
    expected = [Value(1.0 + k) for k in range(len(labels))]
    assert close(got, eager(_chain, expected))
    assert all(close(v.grad, e.grad) for v, e in zip(vals, expected))
    tree = ast.parse(compiled.source)
    assigned = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
    assert assigned.count("x") == 1
    assert not set(assigned) & {"ｘ", "sum", "exp", "class", "D", "_y", "a" * 30, "E", "shape"}
    loop_targets = [
        n.id
        for f in ast.walk(tree)
        if isinstance(f, ast.For)
        for n in ast.walk(f.target)
        if isinstance(n, ast.Name)
    ]
    assert assigned.count("p") == loop_targets.count("p")  # the code's own loop variable only


def _chain(vals):
    total = vals[0] * 1.0
    for v in vals[1:]:
        total = total * 0.5 + v.tanh()
    return total.exp()


# ---------------------------------------------------------------------- scale


SCALE = {
    "mlp": """
        from autograd_tiny.data import moons, signed_labels
        from autograd_tiny.losses import hinge, l2
        from autograd_tiny.nn import MLP
        X, labels = moons(1000, noise=0.1, seed=0)
        y = signed_labels(labels)
        model = MLP(2, [16, 16, 1], seed=0)
        fn = lambda: hinge([model(x) for x in X], y) + l2(model.parameters(), 1e-4)
        args = ()
    """,
    "sum": """
        xs = [Value(float(i % 7), label="x") for i in range(100_000)]
        fn = lambda: Value.sum(xs)
        args = ()
    """,
    "sum of terms": """
        w = Value(0.5)
        fn = lambda data: Value.sum([(w * x - 1.0) ** 2 for x in data])
        args = ([(i % 13) / 13 for i in range(100_000)],)
    """,
}


@pytest.mark.parametrize("case", list(SCALE))
def test_large_graphs_compile_small_fast_and_lean(case):
    """MLP(2, [16, 16, 1]) on 1,000 points and sums of 100,000 terms compile (trace, write,
    compile(), first call) in a fresh process within generous time and 300 MB of peak memory,
    into code of a few thousand lines at most (benchmarks/bench_compile.py has the figures)."""
    code = textwrap.dedent(SCALE[case]) + textwrap.dedent("""
        import resource, time
        start = time.process_time()
        compiled = compile(fn)
        out = compiled(*args)
        seconds = time.process_time() - start
        assert compiled.traces == 1 and compiled.fallbacks == 0
        try:  # this process's own peak (ru_maxrss would include the parent's, on Linux)
            with open("/proc/self/status") as status:
                peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
        except OSError:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(seconds, peak, compiled.source.count(chr(10)), out)
    """)
    prelude = "from autograd_tiny import Value\nfrom autograd_tiny.compiler import compile\n"
    done = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    seconds, peak, lines, out = done.stdout.split()
    assert float(seconds) < 10 and float(peak) < 300 and int(lines) < 3000
    assert math.isfinite(float(out))


def test_docstring_examples_run():
    """The docstring examples of the compiler and of each of its stages give the outputs they show."""
    import doctest
    import importlib

    for stage in ("", ".arguments", ".ints", ".tracing", ".graph", ".loops", ".formulas", ".source", ".node_code", ".writer",
                  ".program"):  # fmt: skip
        module = importlib.import_module(f"autograd_tiny.compiler{stage}")
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, stage


def test_exported_from_the_package():
    """autograd_tiny.compile is the compiler, and `from autograd_tiny import *` keeps Python's compile."""
    namespace: dict = {}
    exec("from autograd_tiny import *", namespace)
    assert autograd_tiny.compile is compile and "compile" not in namespace
