"""compile and int arguments (compiler/ints.py): an int fn uses as a number (a class label) is an
input of the code, read anew on every call; one fn uses as a Python int traces again for each
new value, as before. Every expected number is the engine's own (eager) run on the same
arguments, or a closed form."""

from __future__ import annotations

import random
import warnings

import pytest

from autograd_tiny import Value, compile, data
from autograd_tiny.losses import cross_entropy, hinge, l2
from autograd_tiny.nn import MLP


def eager(fn, *args):
    """fn(*args).backward() by the engine, floats given as Values: (the loss, or the result)."""
    from autograd_tiny.compiler.arguments import floats_as_values

    result = fn(*[floats_as_values(a) for a in args])
    loss = result[0] if isinstance(result, tuple) else result
    loss.backward()
    return result


def grads(model):
    return [p.grad for p in model.parameters()]


def test_a_minibatch_step_with_new_labels_every_call_is_traced_once_and_matches_eager():
    """A compiled softmax cross-entropy step on the digits, 20 batches of 16 with different
    labels: one trace, and the loss and every gradient the engine's to 1e-12 on each batch."""
    X, y = data.digits(scaled=True)
    ours, twin = MLP(64, [12, 10], seed=3), MLP(64, [12, 10], seed=3)
    step = compile(lambda xb, yb: cross_entropy([ours(x) for x in xb], yb) + l2(ours.parameters(), 1e-4))
    order = list(range(len(X)))
    random.Random(0).shuffle(order)
    seen = set()
    for b in range(20):
        batch = order[16 * b:16 * b + 16]
        xb, yb = [X[i] for i in batch], [y[i] for i in batch]
        seen.add(tuple(yb))
        ours.zero_grad()
        twin.zero_grad()
        loss = step(xb, yb)
        expected = cross_entropy([twin(x) for x in xb], yb) + l2(twin.parameters(), 1e-4)
        expected.backward()
        assert loss == pytest.approx(expected.data, abs=1e-12)
        assert grads(ours) == pytest.approx(grads(twin), abs=1e-12)
    assert len(seen) == 20 and step.traces == 1 and step.fallbacks == 0
    assert "for " in step.source and "pick(" in step.source  # one sample's code in a loop, the label an input


def test_hinge_labels_are_numbers_of_the_call_too():
    """hinge's ``s * -y`` with -1/+1 labels passed as arguments: one trace for any labels, the
    engine's loss and gradients, and the label check (|y| = 1) still made on every call."""
    X, labels = data.moons(40, noise=0.1, seed=0)
    ours, twin = MLP(2, [8, 1], seed=1), MLP(2, [8, 1], seed=1)
    step = compile(lambda xb, yb: hinge([ours(x) for x in xb], yb))
    rng = random.Random(1)
    for _ in range(6):
        yb = [rng.choice((-1, 1)) for _ in X]
        ours.zero_grad()
        twin.zero_grad()
        assert step(X, yb) == eager(lambda xb: hinge([twin(x) for x in xb], yb), X).data
        assert grads(ours) == grads(twin)
    assert step.traces == 1 and "for " in step.source
    with pytest.raises(ValueError, match="hinge: labels must be -1 or \\+1, got 2"):
        step(X, [2] * len(X))


def test_an_int_used_as_a_python_int_traces_again_and_is_right():
    """An int fn uses to index a list, in range() or as a dict key is part of the call's shape:
    each new value traces again (each kept: coming back to one does not), and every result is
    the engine's."""
    w = Value(1.5)
    by_index = compile(lambda xs, k: w * xs[k])
    xs = [0.5, -2.0, 3.0]
    for k in (0, 2, 1, 2, 0):
        w.grad = 0.0
        assert by_index(xs, k) == 1.5 * xs[k] and w.grad == xs[k]
    assert by_index.traces == 3
    counted = compile(lambda x, n: Value.sum([w * x * float(i) for i in range(n)]))
    assert counted(2.0, 3) == 1.5 * 2.0 * 3 and counted(2.0, 5) == 1.5 * 2.0 * 10 and counted.traces == 2
    table = {3: 0.25, 7: -1.0}
    keyed = compile(lambda x, k: w * x * table[k])
    assert keyed(2.0, 3) == 0.75 and keyed(2.0, 7) == -3.0 and keyed(4.0, 3) == 1.5 and keyed.traces == 2


def test_a_comparison_on_an_int_is_a_guard():
    """``if y > 2`` on an int argument: the code checks the comparison on every call; another
    outcome traces again, the same outcome with another number does not."""
    w = Value(2.0)
    f = compile(lambda x, y: w * x * y if y > 2 else w * x - y)
    assert f(1.0, 3) == 6.0 and f(1.0, 1) == 1.0 and f(1.0, 5) == 10.0 and f(1.0, 0) == 2.0
    assert f.traces == 2
    assert f(1.0, True) == 1.0 and f.traces == 3  # a bool is static, as before
    from fractions import Fraction

    g = compile(lambda x, y: w * x if (y == True, y < Fraction(5, 2)) == (True, True) else w)  # noqa: E712
    assert g(3.0, 1) == 6.0 and g(3.0, 2) == 2.0 and g(3.0, 3) == 2.0  # 1 == True, as Python says
    assert g(5.0, 1) == 10.0 and g.traces == 3  # compared with a Fraction: the int itself, static


def test_the_stand_in_passes_for_an_int_and_int_arithmetic_stays_a_number_of_the_call():
    """While traced, fn sees an int that passes isinstance(y, int); int arithmetic on it (2 * y -
    1) stays a number of the call. An int fn returns is the call's own: the int itself, so
    another one traces again."""
    w = Value(0.5)
    kinds = []

    def f(x, y):
        kinds.append(isinstance(y, int) and not isinstance(y, bool))
        return w * x * (2 * y - 1)

    compiled = compile(f)
    assert compiled(2.0, 1) == 1.0 and compiled(2.0, 0) == -1.0 and compiled(3.0, 4) == 10.5
    assert compiled.traces == 1 and kinds == [True]
    assert w.grad == 2.0 * 1 + 2.0 * -1 + 3.0 * 7
    returned = compile(lambda x, y: (w * x, -y))
    assert returned(1.0, 2) == (0.5, -2) and returned(1.0, 3) == (0.5, -3) and returned.traces == 2


def test_an_int_read_as_a_number_is_static():
    """float(y), y // 2 and printing need the int itself: another one traces again, and the
    numbers are right; an int too large for a float to hold exactly is static as before."""
    w = Value(1.0)
    f = compile(lambda x, y: w * x * float(y // 2))
    assert f(1.0, 4) == 2.0 and f(1.0, 5) == 2.0 and f(1.0, 7) == 3.0 and f.traces == 3
    big = compile(lambda x, y: w * x * (y - 2**60))
    assert big(1.0, 2**60 + 1) == 1.0 and big(1.0, 2**60 + 3) == 3.0 and big.traces == 2


def test_int_inputs_of_a_model_are_numbers_of_the_call():
    """The raw digits (ints 0-16) into an MLP, which makes each input a Value: one trace for
    every batch, and the engine's gradients."""
    X, y = data.digits()
    ours, twin = MLP(64, [6, 10], seed=0), MLP(64, [6, 10], seed=0)
    step = compile(lambda xb, yb: cross_entropy([ours(x) for x in xb], yb))
    for b in range(4):
        xb, yb = X[8 * b:8 * b + 8], y[8 * b:8 * b + 8]
        ours.zero_grad()
        twin.zero_grad()
        assert step(xb, yb) == eager(lambda: cross_entropy([twin(x) for x in xb], yb)).data
        assert grads(ours) == grads(twin)
    assert step.traces == 1


def test_an_int_slope_of_leaky_relu_is_a_number_of_the_call():
    """leaky_relu's slope given as an int argument: read anew on every call."""
    w = Value(0.5)
    f = compile(lambda x, slope: (w * x).leaky_relu(slope))
    assert f(-1.0, 1) == -0.5 and f(-1.0, 3) == -1.5 and f(2.0, 3) == 1.0 and f.traces == 1
    assert w.grad == -1.0 * 1 + -1.0 * 3 + 2.0


def test_the_warning_names_the_argument_that_keeps_changing():
    """Retracing over and over warns, naming the argument behind it: its path in the call."""
    w = Value(1.0)
    f = compile(lambda xb, yb: Value.sum([w * x for x in xb]) * [1.0, 2.0, 3.0, 4.0, 5.0][yb[3] % 5])
    with pytest.warns(RuntimeWarning, match=r"traced 17 times, 16 of them because yb\[3\] changed, an int fn uses "
                                            r"as a Python int"):  # fmt: skip
        for k in range(17):
            f([1.0, 2.0], [0, 0, 0, k])
    g = compile(lambda x: Value.sum([w * x for t in range(10) if x > t]))  # 11 outcomes, 8 variants kept
    with pytest.warns(RuntimeWarning, match=r"because the outcome of a comparison on x changed"):
        for k in range(20):
            g(k % 11 - 0.5)
    h = compile(lambda xb: Value.sum([w * x for x in xb]))
    with pytest.warns(RuntimeWarning, match=r"because the shape of xb changed"):
        for k in range(17):
            h([1.0] * (k + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        labels = compile(lambda xb, yb: cross_entropy([[w * x, w] for x in xb], yb))
        for k in range(40):
            labels([0.5, 1.5], [k % 2, (k // 2) % 2])  # labels are numbers of the call: no warning
    assert labels.traces == 1


def test_train_on_the_digits_compiled_gives_the_eager_run(tmp_path, monkeypatch):
    """`train --data digits --compile` for an epoch (43 minibatches, new labels every step) writes
    the same losses, accuracies and model, number for number, as the eager run, and traces once
    per batch size (32, and the last batch's 4)."""
    import json

    from autograd_tiny import cli
    from autograd_tiny.compiler import program

    made = []
    real = program.compile

    def counting(fn=None, **kwargs):
        compiled = real(fn, **kwargs)
        made.append(compiled)
        return compiled

    monkeypatch.setattr("autograd_tiny.compiler.compile", counting)
    runs = []
    for extra in ([], ["--compile"]):
        out = tmp_path / f"run{len(runs)}"
        assert cli.main(["train", "--data", "digits", "--epochs", "1", "--out", str(out), *extra]) == 0
        runs.append((json.loads((out / "run.json").read_text()), (out / "model.json").read_text()))
    (plain, plain_model), (compiled, compiled_model) = runs
    assert plain["history"] == compiled["history"] and plain_model == compiled_model
    assert [c.traces for c in made] == [2] and made[0].fallbacks == 0
