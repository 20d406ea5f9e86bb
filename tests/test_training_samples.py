"""TrainingRecorder on samples that are not points of the plane (the 8x8 handwritten digits):
what it records and draws, checked against an MLP computed here with plain floats, and its
errors. What the page does in a browser is in test_training_samples_browser.py."""

from __future__ import annotations

import math
import random
import re

import pytest
from conftest import mlp_layers

from autograd_tiny import TrainingRecorder, data, losses, nn, optim
from autograd_tiny.see.style import format_number
from autograd_tiny.see.trace import GraphTooLargeError

HIDDEN = 8  # a small hidden layer keeps these tests quick; the browser tests use the CLI's 32


def by_hand(weights: list[float], sizes: list[int], x: list[float], t: int) -> dict:
    """MLP(len(x), sizes) with ReLU hidden layers and a linear output, then softmax cross-entropy
    with class t, in plain floats: the hidden values, the logits, the probabilities, the loss,
    and d loss / d (each output) and d loss / d (each hidden value)."""
    (hidden, output) = mlp_layers(weights, sizes, len(x))
    h = [max(0.0, sum(w * v for w, v in zip(ws, x)) + b) for ws, b in hidden]
    z = [sum(w * v for w, v in zip(ws, h)) + b for ws, b in output]
    top = max(z)
    e = [math.exp(v - top) for v in z]
    p = [v / sum(e) for v in e]
    dz = [pk - (k == t) for k, pk in enumerate(p)]  # d loss / d z_k = p_k - [k is the class]
    dh = [sum(dz[k] * output[k][0][j] for k in range(len(z))) for j in range(len(h))]
    return {"hidden": h, "logits": z, "p": p, "loss": -math.log(p[t]), "dz": dz, "dh": dh}


def digits_run(n=200, steps=11, every=5, hidden=HIDDEN, **kwargs):
    """Adam on minibatches of 32 of the first n digits (pixels / 16), recorded with each digit's
    cross-entropy. Returns the recorder, the weights at each step, X and y."""
    X, y = data.digits(scaled=True)
    X, y = X[:n], y[:n]
    model = nn.MLP(64, [hidden, 10], seed=0)
    opt = optim.Adam(model.parameters(), lr=0.02)
    recorder = TrainingRecorder(model, X, y, every=every,
                                point_loss=lambda out, i: losses.cross_entropy(out, y[i]), **kwargs)  # fmt: skip
    rng = random.Random(0)
    seen = []
    for _ in range(steps):
        batch = rng.sample(range(n), 32)
        loss = losses.cross_entropy([model(X[i]) for i in batch], [y[i] for i in batch])
        opt.zero_grad()
        loss.backward()
        seen.append([p.data for p in model.parameters()])
        recorder.record(loss, accuracy=0.5)
        opt.step()
    return recorder, seen, X, y


@pytest.fixture(scope="module")
def run():
    return digits_run()


def close(shown: float, exact: float) -> bool:
    """A number as the page carries it (4 significant digits) against its exact value."""
    return shown == pytest.approx(exact, rel=1e-3, abs=1e-12)


def test_the_first_two_digits_of_each_class_are_followed(run):
    """By default 20 digits are recorded: the first two of each class in X, ordered by class."""
    recorder, _, _, y = run
    expected = [i for c in range(10) for i in [k for k, t in enumerate(y) if t == c][:2]]
    assert recorder.followed == expected and len(expected) == 20
    assert not recorder.plane and "boundary" not in recorder.records[0]


def test_each_digits_class_probabilities_are_the_softmax_of_its_outputs(run):
    """At every recorded step, each followed digit's probabilities are the softmax of the
    model's 10 outputs computed here in plain floats from that step's weights."""
    recorder, seen, X, y = run
    assert recorder.steps == [1, 6, 11]
    for record in recorder.records:
        weights = seen[record["step"] - 1]
        assert record["weights"] == [float(format_number(w)) for w in weights]
        for j, i in enumerate(recorder.followed):
            p = by_hand(weights, [HIDDEN, 10], X[i], y[i])["p"]
            shown = record["probabilities"][j]
            assert len(shown) == 10 and all(close(a, b) for a, b in zip(shown, p)), (record["step"], i)


def test_each_neuron_box_holds_its_value_and_gradient(run):
    """Every hidden and output neuron's box, and the loss's, hold the plain-float values and
    gradients of the digit's cross-entropy (d loss / d z_k = p_k - [k is the class])."""
    recorder, seen, X, y = run
    view = recorder.view
    names = {re.match(r"(?:class \d+: )?neuron (\d+\.\d+)", view.who(end)).group(1): view.name(end)
             for end in view.units if "neuron" in view.who(end)}  # fmt: skip
    assert len(names) == HIDDEN + 10
    record = recorder.records[-1]
    for i in recorder.followed[::7]:
        values = record["points"][recorder.followed.index(i)]
        box = {name: values[2 * k : 2 * k + 2] for k, name in enumerate(recorder.box_names)}
        want = by_hand(seen[record["step"] - 1], [HIDDEN, 10], X[i], y[i])
        for u in range(HIDDEN):
            data_, grad = box[names[f"1.{u + 1}"]]
            assert close(data_, want["hidden"][u]) and close(grad, want["dh"][u])
        for k in range(10):
            data_, grad = box[names[f"2.{k + 1}"]]
            assert close(data_, want["logits"][k]) and close(grad, want["dz"][k])
        assert close(box[view.name(view.root)][0], want["loss"])


def test_the_graph_draws_the_inputs_as_one_box_and_names_each_outputs_class(run):
    """The drawing has no box per pixel: one box stands for the 64 inputs, with an edge to each
    hidden neuron; each output's box says its class; the hidden layer's weights are mapped to pixels."""
    recorder, *_ = run
    source = recorder.view.drawing.source
    assert not re.search(r'label="?\{?\s*x\d+ \|', source)  # no x1 ... x64 boxes
    assert len(re.findall(r"^\s*inputs -> ", source, re.M)) == HIDDEN
    assert "x1 … x64" in source
    for k in range(10):
        assert f"class {k}: neuron 2.{k + 1} (linear)" in source
    pixels = recorder.page_data()["pixels"]
    params = recorder.model.parameters()
    for u, neuron in enumerate(recorder.model.layers[0].neurons):
        (name,) = [recorder.view.name(end) for end in recorder.view.units
                   if recorder.view.who(end) == f"neuron 1.{u + 1} (relu)"]  # fmt: skip
        assert pixels[name] == [next(k for k, p in enumerate(params) if p is w) for w in neuron.w]
    assert len(pixels) == HIDDEN


def test_the_default_digit_is_the_one_whose_class_probability_rises_most(run):
    """With no point=, the view follows the digit whose class's probability (by hand, as the
    page rounds it) rises the most from the first recorded step to the last, and says so."""
    recorder, seen, X, y = run
    first, last = recorder.steps[0], recorder.steps[-1]

    def chance(step, i):
        return float(format_number(by_hand(seen[step - 1], [HIDDEN, 10], X[i], y[i])["p"][y[i]]))

    best = max(recorder.followed, key=lambda i: (chance(last, i) - chance(first, i), -recorder.followed.index(i)))
    page = recorder.page_data()
    assert page["point"] == best
    assert page["why"] == (
        f"Why this sample: of the 20 followed, it is the one whose class's probability rises the most from step "
        f"{first} to step {last}: from {format_number(chance(first, best))} to {format_number(chance(last, best))}."
    )


def test_the_page_carries_the_followed_digits_and_their_classes(run):
    """The page's data: the followed digits' pixels and classes, the 8 x 8 shape, the grey scale
    from the lowest to the highest pixel, and each output's box in class order."""
    recorder, _, X, y = run
    page = recorder.page_data()
    assert page["kind"] == "samples" and tuple(page["shape"]) == (8, 8)
    assert page["samples"] == [X[i] for i in recorder.followed]  # sixteenths: exact in 4 digits
    assert page["labels"] == [y[i] for i in recorder.followed] and page["classes"] == [str(k) for k in range(10)]
    assert page["ink"] == [0.0, 1.0]
    titles = {box.name: box.fields[0] for box in recorder.view.plan.boxes}
    assert [titles[name] for name in page["outputs"]] == [f"class {k}: neuron 2.{k + 1} (linear)" for k in range(10)]


def test_point_and_follow_choose_the_digits_recorded():
    """follow=3 records the first of classes 0, 1, 2; point= adds the digit asked for and is followed first."""
    recorder, _, _, y = digits_run(n=60, steps=1, follow=3, point=45)
    firsts = [y.index(c) for c in (0, 1, 2)]
    assert recorder.followed == sorted([*firsts, 45], key=lambda i: (y[i], i))
    assert recorder.page_data()["point"] == 45
    assert recorder.page_data()["why"] == "This is the sample asked for (point=45)."


def test_samples_of_one_output_are_drawn_without_probabilities():
    """Three inputs and one output (a hinge loss): a row of three grey cells, no probabilities, the output box as is."""
    X = [[0.1 * i, 1.0 - 0.1 * i, (-1) ** i] for i in range(8)]
    y = [i % 2 for i in range(8)]
    signs = data.signed_labels(y)
    model = nn.MLP(3, [4, 1], seed=0)
    recorder = TrainingRecorder(model, X, y, point_loss=lambda s, i: losses.hinge([s], [signs[i]]))
    loss = losses.hinge([model(x) for x in X], signs)
    loss.backward()
    recorder.record(loss)
    page = recorder.page_data()
    assert page["shape"] == (1, 3) and page["outputs"] == [] and "probabilities" not in page["steps"][0]
    assert recorder.followed == [0, 2, 4, 6, 1, 3, 5, 7] and "class 0:" not in recorder.view.drawing.source
    assert "x1 … x3" in recorder.view.drawing.source and "a row of 3 grey cells" in recorder.html


def test_labels_that_are_not_output_indices_are_a_clear_error():
    """With 10 outputs, a label outside 0-9 cannot mark a class: a ValueError naming it."""
    X, y = data.digits(scaled=True)
    y = [t + 1 for t in y[:30]]
    model = nn.MLP(64, [4, 10], seed=0)
    recorder = TrainingRecorder(model, X[:30], y, point_loss=lambda out, i: losses.cross_entropy(out, y[i] % 10))
    with pytest.raises(ValueError, match=r"each label must be the index of its class's output \(0 to 9\); got 10"):
        recorder.record(1.0)


def test_a_layer_too_wide_to_read_is_a_clear_error():
    """A hidden layer of 300 neurons draws past the cap of 400 nodes' edges: GraphTooLargeError naming the recorder."""
    X, y = data.digits(scaled=True)
    model = nn.MLP(64, [300, 10], seed=0)
    recorder = TrainingRecorder(model, X[:20], y[:20], point_loss=lambda out, i: losses.cross_entropy(out, y[i]))
    with pytest.raises(GraphTooLargeError, match=r"TrainingRecorder: the sample's graph is too large to show"):
        recorder.record(1.0)


@pytest.mark.parametrize("X, y, words", [
    ([[1.0, 2.0, 3.0], [1.0, 2.0]], [0, 1], "got 2 samples of 2/3 inputs and 2 labels"),
    ([[1.0, 2.0, 3.0]], [0, 1], "got 1 sample of 3 inputs and 2 labels"),
    ([[]], [0], "got 1 sample of 0 inputs and 1 label"),
])  # fmt: skip
def test_samples_of_different_sizes_are_a_clear_error(X, y, words):
    """Samples of several sizes, or not one label each, or empty: a ValueError saying what it got."""
    with pytest.raises(ValueError, match=re.escape(words)):
        TrainingRecorder(nn.MLP(3, [2, 1], seed=0), X, y)
