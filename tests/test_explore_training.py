"""TrainingRecorder: what it records during a training loop, checked against the model and the
engine, and its errors. What its page does in a browser is in test_explore_browser.py."""

from __future__ import annotations

import html
import json
import re
import shutil

import pytest

from autograd_tiny import TrainingRecorder, Value, data, losses, nn, no_grad
from autograd_tiny.full_backward import gradients
from autograd_tiny.see.style import format_number


def train(steps=3, every=1, point=0, **kwargs):
    """micrograd's loop on a few moons points, with the recorder's one line."""
    X, y = data.moons(16, noise=0.1, seed=0)
    signs = data.signed_labels(y)
    model = nn.MLP(2, [4, 4, 1], seed=0)
    recorder = TrainingRecorder(
        model,
        X,
        y,
        point=point,
        every=every,
        grid=6,
        point_loss=lambda s: losses.hinge([s], [signs[point]]),
        **kwargs,
    )
    seen = []
    for _ in range(steps):
        loss = losses.hinge([model(x) for x in X], signs)
        model.zero_grad()
        loss.backward()
        seen.append(([p.data for p in model.parameters()], [p.grad for p in model.parameters()], loss.data))
        recorder.record(loss, accuracy=0.5)
        for p in model.parameters():
            p.data -= 0.5 * p.grad
    return recorder, model, seen, X, signs


def test_records_the_loss_weights_and_gradients_of_each_step():
    """Each record holds the loss, and the weights and gradients backward() left, as shown (4 digits)."""
    recorder, _, seen, _, _ = train(steps=3)
    assert len(recorder) == 3 and recorder.steps == [1, 2, 3]
    for record, loss, (weights, grads, value) in zip(recorder.records, recorder.losses, seen, strict=True):
        assert loss == value
        assert record["weights"] == [float(format_number(w)) for w in weights]
        assert record["grads"] == [float(format_number(g)) for g in grads]


def one_record(point=0):
    """A model, its loss on a few moons points, backward, and one record (no update after it)."""
    X, y = data.moons(16, noise=0.1, seed=0)
    signs = data.signed_labels(y)
    model = nn.MLP(2, [4, 4, 1], seed=2)
    recorder = TrainingRecorder(
        model, X, y, point=point, grid=7, point_loss=lambda s: losses.hinge([s], [signs[point]])
    )
    loss = losses.hinge([model(x) for x in X], signs)
    loss.backward()
    recorder.record(loss)
    return recorder, model, X, signs


def test_the_points_graph_holds_its_loss_and_gradients():
    """The point's graph: its loss is the hinge of that point, max(0, 1 - y·s), and each first-layer
    neuron's box holds its output and d(point loss)/d(output) as engine.gradients computes them."""
    recorder, model, X, signs = one_record(point=3)
    x1, x2 = Value(X[3][0]), Value(X[3][1])
    hidden = [n([x1, x2]) for n in model.layers[0].neurons]
    score = model.layers[2](model.layers[1](hidden))[0]
    point_loss = losses.hinge([score], [signs[3]])
    expected = gradients(point_loss, hidden)
    graph = recorder.graph
    boxes = recorder.records[0]["boxes"]
    assert boxes[graph.name(graph.root)][0] == float(format_number(max(0.0, 1 - signs[3] * score.data)))
    for j in range(4):
        (end,) = [end for end in graph.units if graph.who(end) == f"neuron 1.{j + 1} (relu)"]
        assert boxes[graph.name(end)] == [
            float(format_number(hidden[j].data)),
            float(format_number(expected[j])),
        ]


def test_the_boundary_is_the_models_score_over_the_plane():
    """Each cell of the recorded grid has the sign of the model's score at that grid point (rows
    from the top, columns from the left), and saturates at ±20."""
    recorder, model, _, _ = one_record()
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


def test_every_keeps_one_step_in_k():
    """every=2 keeps steps 1, 3, 5 whole, and the loss of every step."""
    recorder, _, seen, _, _ = train(steps=5, every=2)
    assert recorder.steps == [1, 3, 5] and len(recorder) == 3
    assert recorder.losses == [value for _, _, value in seen]
    assert recorder.records[1]["weights"] == [float(format_number(w)) for w in seen[2][0]]


def test_max_steps_is_a_clear_error():
    """Recording past max_steps raises a ValueError saying how to record fewer."""
    with pytest.raises(
        ValueError, match=r"already 2 steps recorded \(max_steps\); record one step in k with every=k"
    ):
        train(steps=3, max_steps=2)


@pytest.mark.parametrize("kwargs, match", [
    ({"point": 99}, "point must be an index into X (0 to 15), got 99"),
    ({"grid": 1}, "grid must be an int >= 2, got 1"),
    ({"every": 0}, "every must be an int >= 1, got 0"),
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


def test_a_view_needs_a_recorded_step():
    """Asking for the page before any record() says what to do."""
    X, y = data.moons(8, seed=0)
    recorder = TrainingRecorder(nn.MLP(2, [2, 1], seed=0), X, y)
    with pytest.raises(ValueError, match=r"no step recorded yet; call record\(loss\)"):
        _ = recorder.html


def test_page_data_maps_each_weight_to_its_edge():
    """Each weight rides the edge it scales: w[j] of neuron L.u on the edge from neuron (L-1).j (or
    from input x_j, for the first layer) into neuron L.u; every weight exactly once."""
    recorder, model, *_ = train(steps=1)
    graph = recorder.graph
    box = {graph.who(end): graph.name(end) for end in graph.units}
    box.update({v.label: graph.name(v) for v in graph.nodes if getattr(v, "label", "") in ("x1", "x2")})
    params = model.parameters()
    expected = set()
    for L, layer in enumerate(model.layers, start=1):
        act = "relu" if L < len(model.layers) else "linear"
        for u, neuron in enumerate(layer.neurons, start=1):
            head = box[f"neuron {L}.{u} ({act})"]
            for j, w in enumerate(neuron.w, start=1):
                tail = box[f"x{j}"] if L == 1 else box[f"neuron {L - 1}.{j} (relu)"]
                expected.add((f"{tail}->{head}", params.index(w)))
    found = [(title, k) for title, _, k in recorder.page_data()["edges"]]
    assert len(found) == len(set(found)) == len(expected)
    assert set(found) == expected


LIVE = """
from autograd_tiny import TrainingRecorder, data, losses, nn

X, y = data.moons(12, seed=0)
signs = data.signed_labels(y)
model = nn.MLP(2, [3, 1], seed=0)
recorder = TrainingRecorder(model, X, y, grid=4, live=True, refresh=1000.0)
for k in range(3):
    loss = losses.hinge([model(x) for x in X], signs)
    model.zero_grad()
    loss.backward()
    recorder.record(loss)
    for p in model.parameters():
        p.data -= 0.1 * p.grad
"""


def test_live_view_in_a_notebook_ends_with_every_step(tmp_path):
    """live=True in a Jupyter kernel: the view appears at the first record and, when the cell
    ends, is refreshed in place to hold every recorded step (here the throttle allows no other)."""
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
    assert len(json.loads(data_json.group(1))["steps"]) == 3


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


def test_page_data_needs_a_recorded_step():
    """page_data() before any record() is the same clear error as the page itself."""
    X, y = data.moons(8, seed=0)
    recorder = TrainingRecorder(nn.MLP(2, [2, 1], seed=0), X, y)
    with pytest.raises(ValueError, match=r"no step recorded yet; call record\(loss\)"):
        recorder.page_data()
