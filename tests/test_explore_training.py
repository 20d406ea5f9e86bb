"""TrainingRecorder: what it records during a training loop, checked against the model and
closed forms written here, and its errors. What its page does in a browser is in
test_explore_browser.py."""

from __future__ import annotations

import html
import json
import math
import re
import shutil

import pytest
from conftest import mlp_layers

from autograd_tiny import TrainingRecorder, Value, data, losses, nn, no_grad
from autograd_tiny.see.style import format_number


def rounded(x: float):
    """A number as the page carries it: 4 significant digits, nan and inf as text."""
    x = float(format_number(x))
    return x if math.isfinite(x) else repr(x)


def by_hand(weights: list[float], sizes: list[int], x: list[float], t: int) -> tuple[float, dict]:
    """An MLP with ReLU hidden layers and a linear output, and its hinge loss max(0, 1 - t*s),
    with plain floats: the loss, and each neuron 'L.u' -> (its value, d loss / d value)."""
    layers = mlp_layers(weights, sizes, 2)
    values, zs, inputs = [], [], x
    for L, layer in enumerate(layers):
        z = [sum(w * v for w, v in zip(ws, inputs)) + b for ws, b in layer]
        out = z if L == len(layers) - 1 else [max(0.0, v) for v in z]
        zs.append(z)
        values.append(out)
        inputs = out
    s = values[-1][0]
    loss = max(0.0, 1 - t * s)
    upstream = [-t if 1 - t * s > 0 else 0.0]  # d loss / d (each output of the last layer)
    found = {}
    for L in range(len(layers) - 1, -1, -1):
        for u, g in enumerate(upstream):
            found[f"{L + 1}.{u + 1}"] = (values[L][u], g)
        if L:
            slope = [g * (1.0 if z > 0 else 0.0) if L < len(layers) - 1 else g for g, z in zip(upstream, zs[L])]
            upstream = [sum(slope[j] * layers[L][j][0][i] for j in range(len(layers[L]))) for i in range(len(layers[L - 1]))]
    return loss, found


SIZES = [4, 4, 1]


def train(steps=3, every=1, n=16, point=None, record=True, **kwargs):
    """micrograd's loop on a few moons points, with the recorder's one line (each point's loss:
    its hinge loss). Returns the recorder, the model, what each step saw (weights, grads, loss,
    each point's hinge loss by hand), X and the signed labels."""
    X, y = data.moons(n, noise=0.1, seed=0)
    signs = data.signed_labels(y)
    model = nn.MLP(2, SIZES, seed=0)
    recorder = TrainingRecorder(model, X, y, point=point, every=every, grid=6,
                                point_loss=lambda s, i: losses.hinge([s], [signs[i]]), **kwargs)  # fmt: skip
    seen = []
    for _ in range(steps):
        scores = [model(x) for x in X]
        loss = losses.hinge(scores, signs)
        model.zero_grad()
        loss.backward()
        point_losses = [max(0.0, 1 - t * s.data) for s, t in zip(scores, signs)]
        seen.append(([p.data for p in model.parameters()], [p.grad for p in model.parameters()], loss.data, point_losses))
        if record:
            recorder.record(loss, accuracy=0.5)
        for p in model.parameters():
            p.data -= 0.5 * p.grad
    return recorder, model, seen, X, signs


def boxes(recorder, record, i) -> dict:
    """Point i's boxes in a record: the box's name -> [data, grad]."""
    values = record["points"][recorder.followed.index(i)]
    return {name: values[2 * k : 2 * k + 2] for k, name in enumerate(recorder.box_names)}


def neuron_boxes(recorder) -> dict:
    """'L.u' -> the name of neuron L.u's box."""
    view = recorder.view
    return {re.match(r"neuron (\d+\.\d+)", view.who(end)).group(1): view.name(end)
            for end in view.units if view.who(end).startswith("neuron")}  # fmt: skip


# ---------------------------------------------------------------------- what is recorded


def test_records_the_loss_weights_and_gradients_of_each_step():
    """Each record holds the loss, and the weights and gradients backward() left, as shown (4 digits)."""
    recorder, _, seen, _, _ = train(steps=3)
    assert len(recorder) == 3 and recorder.steps == [1, 2, 3]
    for record, loss, (weights, grads, value, _) in zip(recorder.records, recorder.losses, seen, strict=True):
        assert loss == value
        assert record["weights"] == [rounded(w) for w in weights]
        assert record["grads"] == [rounded(g) for g in grads]


def test_every_points_graph_holds_its_loss_and_gradients_at_every_step():
    """At every recorded step, every point's boxes hold its hinge loss and each neuron's value on
    the point and d(point loss)/d(value), as the closed form with plain floats gives them."""
    recorder, _, seen, X, signs = train(steps=4, every=2)
    names = neuron_boxes(recorder)
    root = recorder.view.name(recorder.view.root)
    assert recorder.followed == list(range(len(X))) and len(names) == sum(SIZES)
    for record in recorder.records:
        weights = seen[record["step"] - 1][0]
        for i, x in enumerate(X):
            loss, neurons = by_hand(weights, SIZES, x, signs[i])
            shown = boxes(recorder, record, i)
            assert shown[root] == [rounded(loss), 1.0]
            for where, (value, grad) in neurons.items():
                assert shown[names[where]][0] == rounded(value)
                assert shown[names[where]][1] == pytest.approx(rounded(grad), rel=1e-3, abs=1e-12)


def test_the_last_step_is_recorded_whatever_every_is():
    """every=4 over 7 steps keeps steps 1 and 5 and the last, 7: its weights, gradients and points'
    boxes are step 7's (closed forms), and making it leaves the model's weights as they were."""
    recorder, model, seen, X, signs = train(steps=7, every=4)
    after = [p.data for p in model.parameters()]
    assert recorder.steps == [1, 5, 7] and len(recorder) == 3
    last = recorder.records[-1]
    weights, grads, _, _ = seen[6]
    assert last["step"] == 7 and last["weights"] == [rounded(w) for w in weights]
    assert last["grads"] == [rounded(g) for g in grads]
    loss, _ = by_hand(weights, SIZES, X[3], signs[3])
    assert boxes(recorder, last, 3)[recorder.view.name(recorder.view.root)][0] == rounded(loss)
    assert [p.data for p in model.parameters()] == after
    assert recorder.page_data()["at"] == [1, 5, 7]


def test_every_keeps_one_step_in_k_and_the_loss_of_every_step():
    """every=2 keeps steps 1, 3, 5 whole, and the loss of every step."""
    recorder, _, seen, _, _ = train(steps=5, every=2)
    assert recorder.steps == [1, 3, 5] and len(recorder) == 3
    assert recorder.losses == [value for _, _, value, _ in seen]
    assert recorder.records[1]["weights"] == [rounded(w) for w in seen[2][0]]


def test_the_boundary_is_the_models_score_over_the_plane():
    """Each cell of the recorded grid has the sign of the model's score at that grid point (rows
    from the top, columns from the left), and saturates at ±20."""
    recorder, model, _, _, _ = train(steps=1, record=False)
    loss = losses.hinge([model(x) for x in recorder.X], data.signed_labels(recorder.y))
    loss.backward()
    recorder.record(loss)
    x0, x1, y0, y1 = recorder.bounds
    n = recorder.grid
    cells = recorder.records[0]["boundary"]
    assert len(cells) == n * n
    with no_grad():
        for k, cell in enumerate(cells):
            row, col = divmod(k, n)
            s = model([x0 + (x1 - x0) * col / (n - 1), y1 - (y1 - y0) * row / (n - 1)]).data
            assert -20 <= cell <= 20
            if cell:
                assert (cell > 0) == (s > 0)


# ---------------------------------------------------------------------- the point followed


def expected_point(seen, steps) -> int:
    """Of the points whose hinge loss is not 0 at the first recorded step, the one whose loss is
    not 0 at the most recorded steps (the first such, on a tie)."""
    alive = [[seen[s - 1][3][i] != 0 for s in steps] for i in range(len(seen[0][3]))]
    pool = [i for i, a in enumerate(alive) if a[0]]
    return max(pool, key=lambda i: (sum(alive[i]), -i))


@pytest.mark.parametrize("steps, every", [(6, 1), (9, 4), (12, 5)])
def test_the_default_point_has_a_loss_at_the_first_step_and_keeps_it_longest(steps, every):
    """With no point=, the view follows a point whose loss is not 0 at the first step: of those,
    the one whose loss stays other than 0 at the most recorded steps; its sentence says so."""
    recorder, _, seen, _, _ = train(steps=steps, every=every, n=24)
    page = recorder.page_data()
    point = expected_point(seen, recorder.steps)
    assert page["point"] == point and page["open"] == 0
    held = sum(seen[s - 1][3][point] != 0 for s in recorder.steps)
    assert f"stays other than 0 at {held} of the {len(recorder)} recorded steps" in page["why"]
    assert "its loss is not 0 at step 1" in page["why"]


def test_a_point_asked_for_is_followed_and_any_other_can_be():
    """point=5 with a point_loss of (output, i): the view starts at point 5 and can follow every point."""
    recorder, *_ = train(steps=2, point=5)
    page = recorder.page_data()
    assert page["point"] == 5 and page["followed"] == list(range(16)) and "(point=5)" in page["why"]


def test_a_point_loss_of_the_output_alone_follows_that_one_point():
    """A point_loss taking the output alone is the loss of `point`: only that point is recorded,
    and the page says why it cannot follow others; without point= it is a clear error."""
    X, y = data.moons(12, seed=0)
    signs = data.signed_labels(y)
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match=r"point_loss takes the model's output alone.*say which with point="):
        TrainingRecorder(model, X, y, point_loss=lambda s: losses.hinge([s], [signs[4]]))
    recorder = TrainingRecorder(model, X, y, point=4, grid=3, point_loss=lambda s: losses.hinge([s], [signs[4]]))
    loss = losses.hinge([model(x) for x in X], signs)
    loss.backward()
    recorder.record(loss)
    page = recorder.page_data()
    assert page["followed"] == [4] and len(recorder.records[0]["points"]) == 1
    assert "the only point this view can follow" in page["why"]


def test_follow_bounds_the_points_recorded():
    """follow=5 of 16 points records 5 points spread over X, and the one asked for."""
    recorder, *_ = train(steps=1, follow=5, point=7)
    assert recorder.followed == [0, 3, 6, 7, 9, 12] and len(recorder.records[0]["points"]) == 6
    assert "pale: points not recorded" in recorder.html


def test_without_point_loss_every_point_shows_the_models_output():
    """No point_loss: each point's graph ends at the model's output, whose grad is 1; the first
    point is followed, and the page says why."""
    X, y = data.moons(10, seed=0)
    model = nn.MLP(2, [3, 1], seed=0)
    recorder = TrainingRecorder(model, X, y, grid=3)
    loss = losses.hinge([model(x) for x in X], data.signed_labels(y))
    loss.backward()
    recorder.record(loss)
    page = recorder.page_data()
    root = page["root"]
    with no_grad():
        outputs = [model(x).data for x in X]
    assert [values[2 * root : 2 * root + 2] for values in page["steps"][0]["points"]] == [
        [rounded(s), 1.0] for s in outputs
    ]
    assert page["point"] == 0 and page["what"] == "output" and "gradient with respect to itself is 1" in page["why"]


# ---------------------------------------------------------------------- the drawing and its words


def test_page_data_maps_each_weight_to_its_edge():
    """Each weight rides the edge it scales: w[j] of neuron L.u on the edge from neuron (L-1).j (or
    from input x_j, for the first layer) into neuron L.u; every weight exactly once."""
    recorder, model, *_ = train(steps=1)
    view = recorder.view
    box = {f"neuron {k}": name for k, name in neuron_boxes(recorder).items()}
    box.update({v.label: view.name(v) for v in view.nodes if getattr(v, "label", "") in ("x1", "x2")})
    params = model.parameters()
    expected = set()
    for L, layer in enumerate(model.layers, start=1):
        for u, neuron in enumerate(layer.neurons, start=1):
            head = box[f"neuron {L}.{u}"]
            for j, w in enumerate(neuron.w, start=1):
                tail = box[f"x{j}"] if L == 1 else box[f"neuron {L - 1}.{j}"]
                expected.add((f"{tail}->{head}", params.index(w), head))
    found = [(title, k, head) for title, _, k, head in recorder.page_data()["edges"]]
    assert len(found) == len(set(found)) == len(expected)
    assert set(found) == expected


def test_the_drawing_folds_the_loss_into_one_node():
    """The drawing has the model's boxes, one 'point_loss' node and the loss's box: none of the
    hinge's own operations (relu, the label's product)."""
    recorder, *_ = train(steps=1)
    source = recorder.view.drawing.source
    assert source.count("point_loss") == 1 and "relu" not in re.sub(r"neuron \S+ \(relu\)", "", source)
    assert len(recorder.box_names) == 2 + sum(SIZES) + 1  # x1, x2, the neurons, the loss


def test_captions_say_only_what_is_drawn():
    """The curve's caption names the accuracy only when one was recorded, and the marks of
    non-finite losses only when there are some."""
    X, y = data.moons(8, seed=0)
    signs = data.signed_labels(y)
    for accuracy, last_loss in ((None, 0.5), (0.75, float("nan"))):
        model = nn.MLP(2, [2, 1], seed=0)
        recorder = TrainingRecorder(model, X, y, grid=3, point_loss=lambda s, i: losses.hinge([s], [signs[i]]))
        loss = losses.hinge([model(x) for x in X], signs)
        loss.backward()
        recorder.record(loss, accuracy=accuracy)
        recorder.record(last_loss, accuracy=accuracy)
        caption = re.search(r"<figcaption>(.*?)</figcaption>", recorder.html).group(1)
        assert ("accuracy" in caption) == (accuracy is not None)
        assert ("nan or inf" in caption) == (not math.isfinite(last_loss))


# ---------------------------------------------------------------------- nan and inf


def page_json(recorder) -> dict:
    """The page's data as the browser parses it (strict JSON: no NaN or Infinity literals)."""
    text = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', recorder.html, re.DOTALL)
    return json.loads(text.group(1), parse_constant=lambda name: pytest.fail(f"{name} in the page's JSON"))


def run_with(n=12, *, loss_at=None, accuracy_at=None, weights_at=None, X=None, steps=3, every=2):
    """A short run whose step 2 is given a loss, an accuracy or weights (a function of the model).
    Returns the recorder and the weights each step recorded."""
    X = X or data.moons(n, seed=0)[0]
    y = data.moons(n, seed=0)[1]
    signs = data.signed_labels(y)
    model = nn.MLP(2, [3, 1], seed=0)
    recorder = TrainingRecorder(model, X, y, grid=4, every=every, point_loss=lambda s, i: losses.hinge([s], [signs[i]]))
    seen = []
    for step in range(1, steps + 1):
        loss = losses.hinge([model(x) for x in X], signs)
        model.zero_grad()
        loss.backward()
        if step == 2 and weights_at is not None:
            weights_at(model)
        seen.append([p.data for p in model.parameters()])
        recorder.record(loss_at if step >= 2 and loss_at is not None else loss,
                        accuracy=accuracy_at if step >= 2 else 0.5)  # fmt: skip
        for p in model.parameters():
            p.data -= 0.1 * p.grad
    return recorder, seen


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_loss_that_is_not_finite_is_recorded_and_saved(value, tmp_path):
    """A nan, inf or -inf loss (a Value or a float): record and save do not raise, and the page's
    JSON carries it as text the page reads back; the explanation shows it as such."""
    for loss in (value, Value(value)):
        recorder, _ = run_with(loss_at=loss)
        recorder.save(tmp_path / "t.html")
        page = page_json(recorder)
        assert page["losses"][1:] == [repr(value)] * 2
        assert page["steps"][-1]["text"][0][1] == [repr(value), repr(value)]


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_an_accuracy_that_is_not_finite_is_recorded_and_saved(value, tmp_path):
    """A nan or inf accuracy saves, is carried as text, and is said as such, not as a percentage."""
    recorder, _ = run_with(accuracy_at=value)
    recorder.save(tmp_path / "t.html")
    page = page_json(recorder)
    assert page["accuracies"] == [0.5, repr(value), repr(value)]
    assert f"training accuracy {value!r}" in page["steps"][-1]["text"][0][2]


def inf_weight(model):
    model.parameters()[0].data = math.inf


def nan_weights(model):
    for p in model.parameters():
        p.data = math.nan


def huge_weights(model):
    for p in model.parameters():
        p.data = 1e308 if p.data > 0 else -1e308


@pytest.mark.parametrize("diverge", [inf_weight, nan_weights, huge_weights])
def test_weights_that_diverge_are_recorded_and_saved(diverge, tmp_path):
    """A weight at inf, every weight nan, or weights so large the outputs overflow: save works,
    the weights are recorded as they are (nan and inf as text), the boundary's nan cells are
    None, and every number in the page is finite or such a text."""
    recorder, seen = run_with(weights_at=diverge)
    recorder.save(tmp_path / "t.html")
    page = page_json(recorder)
    assert page["steps"][-1]["weights"] == [rounded(w) for w in seen[-1]]
    values = [v for values in page["steps"][-1]["points"] for v in values]
    if diverge is huge_weights:  # finite weights, outputs past the largest float
        assert all(math.isfinite(w) for w in seen[-1]) and {"inf", "-inf"} & set(values)
    else:
        assert any(not math.isfinite(w) for w in seen[-1])
    cells = page["steps"][-1]["boundary"]
    assert all(c is None or -20 <= c <= 20 for c in cells)
    if diverge is nan_weights:
        assert cells == [None] * 16 and "grey where the output is nan" in recorder.html
        neurons = [recorder.box_names.index(name) for name in neuron_boxes(recorder).values()]
        assert all(values[2 * k] == "nan" for values in page["steps"][-1]["points"] for k in neurons)


@pytest.mark.parametrize("where", [(3, 0), (0, 1), (5, 0)])
@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_a_point_that_is_not_finite_is_recorded_and_saved(where, value, tmp_path):
    """A nan or inf coordinate in X: the boundary's range comes from the finite points, the
    point is carried as text (not drawn), and its graph's numbers are recorded as they come."""
    X, y = data.moons(12, seed=0)
    X = [list(x) for x in X]
    i, axis = where
    X[i][axis] = value
    recorder, _ = run_with(X=X)
    recorder.save(tmp_path / "t.html")
    page = page_json(recorder)
    finite = [x[axis] for x in X if math.isfinite(x[axis])]
    assert min(finite) > page["bounds"][2 * axis] and max(finite) < page["bounds"][2 * axis + 1]
    assert page["points"][i][axis] == repr(value)
    assert "1 point with a nan or inf coordinate not drawn" in recorder.html
    assert page["point"] != i


# ---------------------------------------------------------------------- errors


def test_max_steps_is_a_clear_error():
    """Recording past max_steps raises a ValueError saying how to record fewer."""
    with pytest.raises(
        ValueError, match=r"already 2 steps recorded \(max_steps\); record one step in k with every=k"
    ):
        train(steps=3, max_steps=2)


@pytest.mark.parametrize("kwargs, match", [
    ({"point": 99}, "point must be an index into X (0 to 15) or None, got 99"),
    ({"point": True}, "point must be an index into X (0 to 15) or None, got True"),
    ({"grid": 1}, "grid must be an int >= 2, got 1"),
    ({"every": 0}, "every must be an int >= 1, got 0"),
    ({"follow": 0}, "follow must be an int >= 1, got 0"),
    ({"follow": 2.5}, "follow must be an int >= 1, got 2.5"),
])  # fmt: skip
def test_bad_arguments_are_clear_errors(kwargs, match):
    """Out-of-range options raise a ValueError naming the option and the value."""
    X, y = data.moons(16, seed=0)
    with pytest.raises(ValueError, match=match.replace("(", r"\(").replace(")", r"\)")):
        TrainingRecorder(nn.MLP(2, [2, 1], seed=0), X, y, **kwargs)


def test_several_outputs_need_a_point_loss():
    """A model with several outputs and no point_loss: a TypeError saying to pass one."""
    X, y = data.moons(8, seed=0)
    model = nn.MLP(2, [3], seed=0)
    recorder = TrainingRecorder(model, X, y, grid=3)
    with pytest.raises(TypeError, match="pass point_loss="):
        recorder.record(1.0)


def test_a_point_loss_that_changes_shape_between_points_is_a_clear_error():
    """A point_loss computing other operations for some points cannot share one drawing: a ValueError."""
    X, y = data.moons(8, seed=0)
    model = nn.MLP(2, [3, 1], seed=0)
    recorder = TrainingRecorder(model, X, y, grid=3, point_loss=lambda s, i: s * 2 if i % 2 else s.tanh())
    with pytest.raises(ValueError, match="the point's graph changed shape between steps or points"):
        recorder.record(1.0)


def test_a_view_needs_a_recorded_step():
    """Asking for the page before any record() says what to do."""
    X, y = data.moons(8, seed=0)
    recorder = TrainingRecorder(nn.MLP(2, [2, 1], seed=0), X, y)
    with pytest.raises(ValueError, match=r"no step recorded yet; call record\(loss\)"):
        _ = recorder.html


def test_page_data_needs_a_recorded_step():
    """page_data() before any record() is the same clear error as the page itself."""
    X, y = data.moons(8, seed=0)
    recorder = TrainingRecorder(nn.MLP(2, [2, 1], seed=0), X, y)
    with pytest.raises(ValueError, match=r"no step recorded yet; call record\(loss\)"):
        recorder.page_data()


def test_a_point_graph_too_large_to_draw_is_a_clear_error():
    """A point's graph with too many weight edges raises GraphTooLargeError naming the recorder, with draw_dot's counts."""
    from autograd_tiny.see.trace import GraphTooLargeError

    X, y = data.moons(8, seed=0)
    model = nn.MLP(2, [60, 60, 1], seed=0)  # one edge per weight: past 5 x max_nodes = 2,000
    recorder = TrainingRecorder(model, X, y, grid=3)
    out = model(X[0])
    out.backward()
    with pytest.raises(GraphTooLargeError, match="TrainingRecorder: the point's graph is too large to show") as info:
        recorder.record(out)
    assert info.value.max_nodes == 400 and info.value.edges == 2 * 60 + 60 * 60 + 60 * 1


# ---------------------------------------------------------------------- live, in Jupyter

LIVE = """
from autograd_tiny import TrainingRecorder, data, losses, nn

X, y = data.moons(12, seed=0)
signs = data.signed_labels(y)
model = nn.MLP(2, [3, 1], seed=0)
recorder = TrainingRecorder(model, X, y, grid=4, every=2, live=True, refresh=1000.0,
                            point_loss=lambda s, i: losses.hinge([s], [signs[i]]))
for k in range(4):
    loss = losses.hinge([model(x) for x in X], signs)
    model.zero_grad()
    loss.backward()
    recorder.record(loss)
    for p in model.parameters():
        p.data -= 0.1 * p.grad
"""


def test_live_view_in_a_notebook_ends_with_every_step(tmp_path):
    """live=True in a Jupyter kernel: the view appears at the first record and, when the cell
    ends, is refreshed in place to hold every kept step and the last (steps 1, 3 and 4 of 4 with
    every=2), opening at the first (here the throttle allows no other refresh)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    if shutil.which("dot") is None:
        pytest.skip("the Graphviz program 'dot' lays the view out")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(LIVE)])
    nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    shown = [o for o in nb.cells[0].outputs if o.output_type == "display_data"]
    assert len(shown) == 1
    document = html.unescape(re.search(r'srcdoc="([^"]*)"', shown[0]["data"]["text/html"]).group(1))
    data_json = re.search(
        r'<script type="application/json" id="page-data">(.*?)</script>', document, re.DOTALL
    )
    page = json.loads(data_json.group(1))
    assert page["at"] == [1, 3, 4] and page["open"] == 0
