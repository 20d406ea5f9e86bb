"""The notebooks teach true things: each is run top to bottom and its numbers are compared with
independent values (closed forms, central differences, the same sums redone with plain floats,
published figures, and training replayed in PyTorch float64 when it is installed).

How it is organised, so that another notebook is easy to add:

* `LESSONS` lists the notebooks the structural tests cover (outputs committed, checks few and at
  the end). Add a notebook's name there.
* `run_notebook(name, fetch)` executes a notebook once with nbclient and returns the executed
  notebook and the values of the expressions in `fetch`, evaluated in the notebook's final state
  (`after=` takes values right after a given cell, for names that a later cell reuses). Each
  notebook has a module-scoped fixture calling it once, followed by its tests (a section per
  notebook, in order).
* The oracles are written here, from the formulas, never from the notebook's own output.
"""

import itertools
import json
import math
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

LESSONS = [
    "01_values_and_backward",
    "02_drawing_graphs",
    "03_train_moons",
    "04_learning_rate",
    "05_higher_order",
    "06_multiclass",
    "08_forward_and_reverse_mode",
    "09_activations_and_gradients",
    "10_backprop_by_hand",
    "11_handwritten_digits",
]

_MARKER = "values fetched for tests/test_notebooks.py: "


def run_notebook(name: str, fetch: dict[str, str], after: dict[str, dict[str, str]] | None = None):
    """Execute notebooks/<name>.ipynb, then evaluate each expression of `fetch` in its final state.

    `after` maps a piece of a code cell's source to more expressions, evaluated right after that
    cell (the only one containing it) has run: for values a later cell overwrites, as lessons reuse
    names such as `x` and `loss`.

    Returns (the executed notebook, {key: value}); the values travel as JSON, so the expressions
    must give numbers, strings, lists or dicts of them.
    """
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)

    def as_dict(exprs):
        return "{" + ", ".join(f"{key!r}: {expr}" for key, expr in exprs.items()) + "}"

    for text, exprs in (after or {}).items():
        hits = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and text in c.source]
        assert len(hits) == 1, f"{name}: {len(hits)} code cells contain {text!r}"
        snapshot = (
            "import json as _json\n_fetched = globals().get('_fetched', {})\n"
            f"_fetched.update(_json.loads(_json.dumps({as_dict(exprs)})))"  # a copy, as it is now
        )
        nb.cells.insert(hits[0] + 1, nbformat.v4.new_code_cell(snapshot))
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import json as _json\n"
            f"print({_MARKER!r} + _json.dumps({{**globals().get('_fetched', {{}}), **{as_dict(fetch)}}}))"
        )
    )
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()
    printed = "".join(out.get("text", "") for out in nb.cells[-1].outputs if out.output_type == "stream")
    return nb, json.loads(printed.split(_MARKER, 1)[1])


def read(name: str):
    nbformat = pytest.importorskip("nbformat")
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def central_difference(f, args, i, h=1e-6):
    hi, lo = list(args), list(args)
    hi[i] += h
    lo[i] -= h
    return (f(*hi) - f(*lo)) / (2 * h)


def displayed_text(cell) -> str:
    """What a code cell shows: its printed text and the plain-text form of its results."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.data.get("text/plain", ""))
    return "".join(parts)


def mlp_forward(state, x, activation):
    """The hidden layers' outputs of an nn.MLP, from its state_dict, with plain floats."""
    act = {"relu": lambda z: max(z, 0.0), "tanh": math.tanh, "sigmoid": lambda z: 1 / (1 + math.exp(-z))}[
        activation
    ]
    n_layers = len([k for k in state if k.endswith(".weight")])
    hidden, h = [], x
    for i in range(n_layers):
        z = [
            sum(w * v for w, v in zip(row, h)) + b
            for row, b in zip(state[f"layers.{i}.weight"], state[f"layers.{i}.bias"])
        ]
        h = z if i == n_layers - 1 else [act(v) for v in z]
        hidden.append(h)
    return hidden  # the last entry is the linear output layer's


def std(xs):
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))


# ---------------------------------------------------------------------- every notebook in LESSONS


@pytest.mark.parametrize("name", LESSONS)
def test_committed_with_outputs_from_one_run(name):
    """Every code cell is committed executed, numbered 1, 2, 3, ... from one top-to-bottom run."""
    counts = [cell.execution_count for cell in read(name).cells if cell.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))


@pytest.mark.parametrize("name", LESSONS)
def test_checks_are_few_marked_and_last(name):
    """At most two code cells assert, after a 'Checks' heading, and no lesson cell follows them."""
    cells = read(name).cells
    asserting = [
        i for i, c in enumerate(cells) if c.cell_type == "code" and re.search(r"^\s*assert\b", c.source, re.M)
    ]
    assert len(asserting) <= 2
    if asserting:
        heading = max(
            i
            for i, c in enumerate(cells)
            if c.cell_type == "markdown" and re.search(r"^#+ Checks", c.source, re.M)
        )
        assert heading < asserting[0]
        later_code = [i for i, c in enumerate(cells) if i > heading and c.cell_type == "code"]
        assert later_code == asserting


# ---------------------------------------------------------------------- 01 values and backward


@pytest.fixture(scope="module")
def nb01():
    return run_notebook(
        "01_values_and_backward",
        {
            "numeric": "[numeric_dx, numeric_dy]",
            "by_hand": "[df_dx, df_dy]",
            "bug_report": "bug_report",
            "twice": "[x.data, first, second, after_zero_grad]",
            "micrograd_twice": "x_grad",
            "neuron": "[[v.data for v in (x1, w1, x2, w2, b)], by_backward, grads()]",
            "mlp": "[model.state_dict(), X, y, loss_step()]",
        },
        after={
            "c.backward()": {"first_graph": "[a.data, b.data, a.grad, b.grad]"},
            "out.backward()": {"chain": "[x0, y0, out.data, x.grad, y.grad]"},
            "g += 10.0 / f": {"micrograd": "[g.data, a.grad, b.grad]"},
        },
    )


def test_01_first_graph_gradients_are_the_hand_derivatives(nb01):
    """For c = ab + a, backward gives dc/da = b + 1 and dc/db = a."""
    _, got = nb01
    a, b, da, db = got["first_graph"]
    assert (da, db) == pytest.approx((b + 1, a), abs=1e-15)


def test_01_chain_rule_by_hand_and_backward_match_the_closed_form(nb01):
    """log(xy + e^x)'s gradient, by hand and by backward, equals the closed form and central differences."""
    _, got = nb01
    x, y, value, dx, dy = got["chain"]

    def f(x, y):
        return math.log(x * y + math.exp(x))

    closed = [(y + math.exp(x)) / (x * y + math.exp(x)), x / (x * y + math.exp(x))]
    numeric = [central_difference(f, [x, y], i) for i in range(2)]
    assert value == pytest.approx(f(x, y), rel=1e-15)
    assert [dx, dy] == pytest.approx(closed, rel=1e-14)
    assert got["by_hand"] == pytest.approx(closed, rel=1e-14)
    assert closed == pytest.approx(numeric, rel=1e-8)
    assert got["numeric"] == pytest.approx(closed, rel=1e-6)  # the notebook's own estimate


def test_01_gradcheck_reports_the_cut_graph(nb01):
    """x * x.data at 3: gradcheck quotes backward's x = 3 against the true slope 2x = 6."""
    _, got = nb01
    message = got["bug_report"]
    assert message.startswith("gradcheck: d f / d x[0] at [3.0]")
    wrong, numeric = map(
        float, re.search(r"backward gives (\S+), central differences give (\S+)$", message).groups()
    )
    assert wrong == 3.0 and numeric == pytest.approx(2 * 3.0, rel=1e-8)


def micrograd_readme_expression(a, b):
    """micrograd's README example with plain floats (relu as max(0, .))."""
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + max(b + a, 0.0)
    d = d + 3 * d + max(b - a, 0.0)
    e = c - d
    f = e**2
    return f / 2.0 + 10.0 / f


def test_01_micrograd_readme_numbers(nb01):
    """g and its gradients equal the float expression, its central differences and micrograd's numbers."""
    _, got = nb01
    g, da, db = got["micrograd"]
    point = [-4.0, 2.0]
    assert g == pytest.approx(micrograd_readme_expression(*point), rel=1e-14)
    numeric = [central_difference(micrograd_readme_expression, point, i) for i in range(2)]
    assert [da, db] == pytest.approx(numeric, rel=1e-7)
    for ours, printed in zip((g, da, db), (24.7041, 138.8338, 645.5773)):
        assert abs(ours - printed) <= 5e-5  # micrograd prints 4 decimals


def test_01_backward_twice_accumulates_on_leaves_only(nb01):
    """y = x^3 at 3: one backward gives 3x^2, two give 6x^2, zero_grad resets; micrograd's rules give 8x^2."""
    _, got = nb01
    x, first, second, after_zero_grad = got["twice"]
    assert (first, second, after_zero_grad) == (3 * x**2, 2 * 3 * x**2, 3 * x**2)
    # micrograd's second call: the stale interior grad of x*x (x) plus x again gives 2x on x*x,
    # so x gets x^2 (the x side) + 2x * 2x (through x*x): 3x^2 + 5x^2 in all
    assert got["micrograd_twice"] == 8 * x**2


def test_01_compiled_neuron_gives_backward_floats_and_tanh_closed_form(nb01):
    """The compiled step's gradients are backward's floats, which equal (1 - o^2) times the other factor."""
    _, got = nb01
    (x1, w1, x2, w2, b), by_backward, compiled = got["neuron"]
    assert compiled == by_backward
    slope = 1 - math.tanh(x1 * w1 + x2 * w2 + b) ** 2
    assert by_backward == pytest.approx(
        [w1 * slope, x1 * slope, w2 * slope, x2 * slope, slope], rel=1e-12, abs=1e-15
    )


def test_01_compiled_mlp_loss_is_the_mean_squared_error(nb01):
    """The compiled MLP(2, [3, 1]) loss is the mean squared error computed with floats from its weights."""
    _, got = nb01
    state, X, y, loss = got["mlp"]
    outputs = [mlp_forward(state, x, "relu")[-1][0] for x in X]
    assert loss == pytest.approx(sum((o - t) ** 2 for o, t in zip(outputs, y)) / len(y), rel=1e-13)


# ---------------------------------------------------------------------- 02 drawing graphs


@pytest.fixture(scope="module")
def nb02():
    return run_notebook(
        "02_drawing_graphs",
        {
            "relu_trace": "[x.data, y.data, x.grad]",
            "neuron": "{v.label: [v.data, v.grad] for v in (x1, x2, w1, w2, b)}",
            "o_and_n": "[o.data, n.grad, s.grad]",
            "walk": "{v.label: grads[v] for v in (x1, x2, w1, w2, b, n, s)}",
            "mlp": "[len(model.parameters()), len(nodes), out.data, model.state_dict(), drawing.source]",
            "weights": "[[w.data for w in neuron.w] + [neuron.b.data] for neuron in (per_op, fused)]",
            "inputs": "[v.data for v in inputs_fused]",
            "outputs": "[o_per_op.data, o_fused.data]",
            "grads": (
                "[[w.grad for w in nrn.w] + [v.grad for v in xs] + [nrn.b.grad]"
                " for nrn, xs in ((per_op, inputs_per_op), (fused, inputs_fused))]"
            ),
            "values": "[len(trace(o_per_op)[0]), len(trace(o_fused)[0])]",
            "sources": "[draw_dot(o_per_op, model=per_op).source, expanded.source]",
        },
    )


def test_02_relu_trace_is_micrograd_s(nb02):
    """(x * 2 + 1).relu() at x = 1 is 3 with slope 2, since 2x + 1 > 0."""
    _, got = nb02
    x, y, dx = got["relu_trace"]
    assert (y, dx) == (max(2 * x + 1, 0.0), 2.0)


def test_02_neuron_gradients_by_backward_and_by_hand_walk(nb02):
    """tanh(x1 w1 + x2 w2 + b): backward and the hand walk give the closed form, as central differences do."""
    _, got = nb02
    data = {k: v[0] for k, v in got["neuron"].items()}

    def o(x1, x2, w1, w2, b):
        return math.tanh(x1 * w1 + x2 * w2 + b)

    names = ["x1", "x2", "w1", "w2", "b"]
    args = [data[k] for k in names]
    slope = 1 - o(*args) ** 2
    closed = {
        "x1": data["w1"] * slope,
        "x2": data["w2"] * slope,
        "w1": data["x1"] * slope,
        "w2": data["x2"] * slope,
        "b": slope,
    }
    for i, k in enumerate(names):
        assert closed[k] == pytest.approx(central_difference(o, args, i), rel=1e-8, abs=1e-10)
        assert got["neuron"][k][1] == pytest.approx(closed[k], rel=1e-12, abs=1e-15)
        assert got["walk"][k] == pytest.approx(closed[k], rel=1e-12, abs=1e-15)
    o_data, n_grad, s_grad = got["o_and_n"]
    assert o_data == pytest.approx(1 / math.sqrt(2), rel=1e-12)
    assert [n_grad, s_grad, got["walk"]["n"], got["walk"]["x1*w1 + x2*w2"]] == pytest.approx(
        [slope] * 4, rel=1e-12
    )


def test_02_mlp_is_drawn_one_box_per_neuron(nb02):
    """MLP(2, [4, 4, 1]): 37 parameters, 48 values, a box per neuron, the output of a float forward pass."""
    _, got = nb02
    n_params, n_values, out, state, source = got["mlp"]
    assert n_params == (2 + 1) * 4 + (4 + 1) * 4 + (4 + 1) * 1
    assert n_values == n_params + 2 + (4 + 4 + 1)  # parameters, the two inputs, one node per neuron
    assert out == pytest.approx(mlp_forward(state, [2.0, -1.0], "relu")[-1][0], rel=1e-12)
    for name in [f"neuron {i}.{j}" for i, size in enumerate([4, 4, 1], start=1) for j in range(1, size + 1)]:
        assert name in source


def test_02_fused_and_per_op_neurons_agree_with_the_closed_form(nb02):
    """Both neurons give o = tanh(w.x + b) and the gradients (1 - o^2) x_i, (1 - o^2) w_i, 1 - o^2;
    both drawings of the neuron op by op have 6n + 2 arrows."""
    _, got = nb02
    per_op_weights, fused_weights = got["weights"]
    assert per_op_weights == fused_weights
    *w, b = fused_weights
    x = got["inputs"]
    z = sum(wi * xi for wi, xi in zip(w, x)) + b
    o = math.tanh(z)
    slope = 1 - o * o
    closed = [slope * xi for xi in x] + [slope * wi for wi in w] + [slope]
    assert got["outputs"] == pytest.approx([o, o], rel=1e-13)
    for grads in got["grads"]:
        assert grads == pytest.approx(closed, rel=1e-12)
    n = len(w)
    assert got["values"] == [(2 * n + 1) + (2 * n + 1), (2 * n + 1) + 1]  # leaves + ops; leaves + one node
    per_op_source, expanded_source = got["sources"]
    assert per_op_source.count("->") == expanded_source.count("->") == 6 * n + 2
    assert f"data {z:.4g} | grad {slope:.4g}" in expanded_source


# ---------------------------------------------------------------------- 03 train moons


def hinge_l2(state, X, labels, alpha):
    """micrograd's loss with plain floats: mean hinge of the scores plus alpha * sum of squared parameters."""
    scores = [mlp_forward(state, x, "relu")[-1][0] for x in X]
    squares = sum(
        v * v
        for values in state.values()
        for row in values
        for v in (row if isinstance(row, list) else [row])
    )
    return sum(max(0.0, 1 - t * s) for s, t in zip(scores, labels)) / len(X) + alpha * squares


def torch_mlp(torch, state):
    """An nn.MLP's state_dict as float64 PyTorch (weight, bias) pairs that require grad."""
    n_layers = len([k for k in state if k.endswith(".weight")])
    return [
        (
            torch.tensor(state[f"layers.{i}.weight"], dtype=torch.float64, requires_grad=True),
            torch.tensor(state[f"layers.{i}.bias"], dtype=torch.float64, requires_grad=True),
        )
        for i in range(n_layers)
    ]


def torch_forward(torch, layers, X):
    """ReLU hidden layers and a linear output layer, one row of outputs per point."""
    h = torch.tensor(X, dtype=torch.float64)
    for i, (W, b) in enumerate(layers):
        h = h @ W.T + b
        if i < len(layers) - 1:
            h = torch.relu(h)
    return h


@pytest.fixture(scope="module")
def nb03():
    return run_notebook(
        "03_train_moons",
        {
            "X": "X",
            "y": "y",
            "ALPHA": "ALPHA",
            "start": "nn.MLP(2, [16, 16, 1], seed=0).state_dict()",
            "end": "model.state_dict()",
            "n_params": "len(model.parameters())",
            "by_hand": "by_hand",
            "history": "history",
            "rates": "rates",
            "final_accuracy": "final_accuracy",
        },
    )


def test_03_parameter_count_and_micrograd_schedule(nb03):
    """MLP(2, [16, 16, 1]) has (2+1)16 + (16+1)16 + (16+1) parameters; step k uses lr = 1 - 0.9 k / 100."""
    _, got = nb03
    assert got["n_params"] == (2 + 1) * 16 + (16 + 1) * 16 + (16 + 1) * 1 == 337
    assert got["rates"] == pytest.approx([1.0 - 0.9 * k / 100 for k in range(100)], abs=1e-12)


def test_03_first_loss_and_final_accuracy_with_floats(nb03):
    """The first loss is hinge + L2 of the seeded weights, and the trained weights classify all 100 points."""
    _, got = nb03
    X, y = got["X"], got["y"]
    signed = [1 if label else -1 for label in y]
    first = hinge_l2(got["start"], X, signed, got["ALPHA"])
    assert got["history"]["loss"][0] == pytest.approx(first, rel=1e-12)
    assert got["by_hand"] == pytest.approx(first, rel=1e-12)
    scores = [mlp_forward(got["end"], x, "relu")[-1][0] for x in X]
    accuracy = sum((s > 0) == bool(label) for s, label in zip(scores, y)) / len(y)
    assert accuracy == got["final_accuracy"] == 1.0
    assert got["history"]["loss"][-1] < got["history"]["loss"][0] / 10


def test_03_training_matches_pytorch(nb03):
    """100 SGD steps of hinge + L2 in PyTorch float64 from the same weights give the same losses, accuracies
    and weights."""
    torch = pytest.importorskip("torch")
    _, got = nb03
    X, y = got["X"], got["y"]
    labels = torch.tensor([1.0 if label else -1.0 for label in y], dtype=torch.float64)
    layers = torch_mlp(torch, got["start"])
    params = [p for layer in layers for p in layer]
    optimizer = torch.optim.SGD(params, lr=1.0)
    losses, accuracies = [], []
    for k in range(100):
        for group in optimizer.param_groups:
            group["lr"] = 1.0 - 0.9 * k / 100  # micrograd's schedule
        scores = torch_forward(torch, layers, X)[:, 0]
        loss = torch.clamp(1 - labels * scores, min=0).mean() + got["ALPHA"] * sum(
            (p**2).sum() for p in params
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        accuracies.append(((scores > 0) == (labels > 0)).double().mean().item())
    assert got["history"]["loss"] == pytest.approx(losses, rel=1e-9)
    assert got["history"]["train accuracy"] == accuracies
    for i, (W, b) in enumerate(layers):
        assert [w for row in got["end"][f"layers.{i}.weight"] for w in row] == pytest.approx(
            W.detach().flatten().tolist(), rel=1e-9, abs=1e-12
        )
        assert got["end"][f"layers.{i}.bias"] == pytest.approx(b.detach().tolist(), rel=1e-9, abs=1e-12)


# ---------------------------------------------------------------------- 04 learning rate


def tanh_net(state):
    """MLP(1, [8, 1], activation="tanh")'s parameters from its state_dict, as flat lists (w1, b1, w2, b2)."""
    return (
        [row[0] for row in state["layers.0.weight"]],
        list(state["layers.0.bias"]),
        list(state["layers.1.weight"][0]),
        state["layers.1.bias"][0],
    )


def tanh_net_loss_and_grad(params, xs, ts):
    """Mean squared error of the 1-8-1 tanh network, and its gradient by a backward pass written by hand."""
    w1, b1, w2, b2 = params
    loss, g_w1, g_b1, g_w2, g_b2 = 0.0, [0.0] * len(w1), [0.0] * len(w1), [0.0] * len(w1), 0.0
    for x, t in zip(xs, ts):
        h = [math.tanh(w * x + b) for w, b in zip(w1, b1)]
        out = sum(v * hj for v, hj in zip(w2, h)) + b2
        loss += (out - t) ** 2 / len(xs)
        g_out = 2 * (out - t) / len(xs)
        g_b2 += g_out
        for j, hj in enumerate(h):
            g_w2[j] += g_out * hj
            g_z = g_out * w2[j] * (1 - hj * hj)
            g_w1[j] += g_z * x
            g_b1[j] += g_z
    return loss, (g_w1, g_b1, g_w2, g_b2)


def step(params, grads, lr):
    w1, b1, w2, b2 = params
    g_w1, g_b1, g_w2, g_b2 = grads
    return (
        [p - lr * g for p, g in zip(w1, g_w1)],
        [p - lr * g for p, g in zip(b1, g_b1)],
        [p - lr * g for p, g in zip(w2, g_w2)],
        b2 - lr * g_b2,
    )


def bisect(f, lo, hi, steps=200):
    """A root of f between lo and hi, where f changes sign."""
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if (f(mid) > 0) == (f(lo) > 0) else (lo, mid)
    return (lo + hi) / 2


@pytest.fixture(scope="module")
def nb04():
    return run_notebook(
        "04_learning_rate",
        {
            "xs": "xs",
            "ts": "ts",
            "start": "new_model().state_dict()",
            "lr": "lr",
            "changes": "[predicted_change, actual_change]",
            "rates": "rates",
            "runs": "runs",
            "catch_up": "catch_up",
            "paths": "[[x0, path] for x0, path in paths.items()]",
            "roots": "roots",
            "grid_minima": "grid_minima",
        },
    )


def test_04_hand_backward_agrees_with_central_differences(nb04):
    """This file's backward pass for the 1-8-1 tanh network equals central differences (so it can referee)."""
    _, got = nb04
    params = tanh_net(got["start"])
    flat = [*params[0], *params[1], *params[2], params[3]]

    def loss(*flat):
        return tanh_net_loss_and_grad((flat[0:8], flat[8:16], flat[16:24], flat[24]), got["xs"], got["ts"])[0]

    _, grads = tanh_net_loss_and_grad(params, got["xs"], got["ts"])
    assert [*grads[0], *grads[1], *grads[2], grads[3]] == pytest.approx(
        [central_difference(loss, flat, i) for i in range(25)], rel=1e-6, abs=1e-9
    )


def test_04_one_step_lowers_the_loss_by_about_lr_times_the_squared_gradient(nb04):
    """The predicted change -lr |g|^2 and the actual one are as recomputed with floats, and within 10%."""
    _, got = nb04
    params, lr = tanh_net(got["start"]), got["lr"]
    before, grads = tanh_net_loss_and_grad(params, got["xs"], got["ts"])
    after, _ = tanh_net_loss_and_grad(step(params, grads, lr), got["xs"], got["ts"])
    predicted = -lr * sum(g * g for group in grads for g in (group if isinstance(group, list) else [group]))
    assert got["changes"] == pytest.approx([predicted, after - before], rel=1e-9)
    assert after < before and abs((after - before) - predicted) < 0.1 * abs(predicted)


def test_04_three_learning_rates_replayed_with_floats(nb04):
    """Each run's losses equal gradient descent replayed with floats; too low is slow, too high diverges."""
    _, got = nb04
    replayed = {}
    for name, lr in got["rates"].items():
        params, history = tanh_net(got["start"]), []
        for _ in range(100):
            loss, grads = tanh_net_loss_and_grad(params, got["xs"], got["ts"])
            params = step(params, grads, lr)
            history.append(loss)
            if not loss < 1e3:
                break
        replayed[name] = history
        assert got["runs"][name] == pytest.approx(history, rel=1e-9), name
    low, good, high = replayed["too low"], replayed["about right"], replayed["too high"]
    assert len(low) == len(good) == 100
    assert all(b <= a for a, b in itertools.pairwise(low))
    assert good[-1] < low[-1] / 3
    catch_up = next(k for k, loss in enumerate(good, start=1) if loss <= low[-1])
    assert got["catch_up"] == catch_up <= 20
    assert len(high) < 100 and high[-1] > 1e3 * high[0]


def test_04_gradient_descent_ends_in_the_valley_downhill_from_its_start(nb04):
    """x^4 - 3x^2 + x: descent from 0 ends in the deep valley, from 0.5 in the shallow one (by bisection)."""
    _, got = nb04

    def slope(x):
        return 4 * x**3 - 6 * x + 1

    roots = [bisect(slope, -2, -1), bisect(slope, 0, 0.5), bisect(slope, 0.5, 2)]
    assert got["roots"] == pytest.approx(roots, rel=1e-12)
    assert len(got["grid_minima"]) == 2
    assert got["grid_minima"] == pytest.approx([roots[0], roots[2]], abs=1e-4)
    ends = {}
    for x0, path in got["paths"]:
        x, replayed = x0, [x0]
        for _ in range(100):
            x = x - 0.05 * slope(x)
            replayed.append(x)
        assert path == pytest.approx(replayed, rel=1e-12, abs=1e-15)
        ends[x0] = path[-1]
    assert ends[0.0] == pytest.approx(roots[0], abs=1e-6)
    assert ends[0.5] == pytest.approx(roots[2], abs=1e-6)

    def f(x):
        return x**4 - 3 * x**2 + x

    assert f(roots[2]) > f(roots[0]) + 2


# ---------------------------------------------------------------------- 05 higher order


def rosenbrock_gradient(x, y):
    return [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)]


def rosenbrock_hessian(x, y):
    return [[2 - 400 * y + 1200 * x * x, -400 * x], [-400 * x, 200.0]]


@pytest.fixture(scope="module")
def nb05():
    return run_notebook(
        "05_higher_order",
        {
            "derivatives": "[[x, df(x), d2f(x), d3f(x)] for x in (-1.0, 0.0, 0.5, 2.0, -2.5, 1.3)]",
            "cube": "[x.data, dy_dx.data, x.grad]",
            "hessians": "[[p, H(*p)] for p in [(-1.2, 1.0), (0.5, -0.3), (1.0, 1.0), (0.3, 2.0)]]",
            "curvatures": "[lam_max, lam_min]",
            "newton": "newton_path",
            "gd": "[len(gd_path) - 1, gd_path[-1], rate]",
            "TOL": "TOL",
        },
    )


def test_05_repeated_grad_gives_the_closed_form_derivatives(nb05):
    """grad, grad(grad), grad(grad(grad)) of e^x sin x are e^x (sin + cos), 2 e^x cos, 2 e^x (cos - sin)."""
    _, got = nb05
    for x, d1, d2, d3 in got["derivatives"]:
        e = math.exp(x)
        closed = [e * (math.sin(x) + math.cos(x)), 2 * e * math.cos(x), 2 * e * (math.cos(x) - math.sin(x))]
        assert [d1, d2, d3] == pytest.approx(closed, rel=1e-12, abs=1e-14), x


def test_05_create_graph_gives_the_second_derivative_of_a_cube(nb05):
    """For y = x^3 at 3, the first backward gives 3x^2 and the backward of that gradient gives 6x."""
    _, got = nb05
    x, first, second = got["cube"]
    assert (first, second) == (3 * x**2, 6 * x)


def test_05_hessians_match_the_closed_form_and_central_differences(nb05):
    """Rosenbrock's Hessian at four points equals the closed form and central differences of the gradient."""
    _, got = nb05
    for point, H in got["hessians"]:
        assert H == [pytest.approx(row, rel=1e-12, abs=1e-12) for row in rosenbrock_hessian(*point)]
        for i in range(2):
            for j in range(2):
                numeric = central_difference(lambda *p, i=i: rosenbrock_gradient(*p)[i], point, j)
                assert H[i][j] == pytest.approx(numeric, rel=1e-6, abs=1e-6)


def test_05_curvatures_at_the_minimum_are_the_eigenvalues(nb05):
    """The curvatures at (1, 1) are 501 +- sqrt(301^2 + 400^2), the roots of det(H - lambda I)."""
    _, got = nb05
    closed = [501 + math.sqrt(301**2 + 400**2), 501 - math.sqrt(301**2 + 400**2)]
    assert got["curvatures"] == pytest.approx(closed, rel=1e-12)
    (a, b), (c, d) = rosenbrock_hessian(1.0, 1.0)
    for lam in closed:
        assert (a - lam) * (d - lam) - b * c == pytest.approx(0.0, abs=1e-9)


def test_05_newton_and_gradient_descent_replayed_with_floats(nb05):
    """Newton's path and gradient descent's step count equal a replay with floats; Newton converges
    quadratically in a handful of steps, descent a thousand times slower, at the rate 1 - lr * lambda_min."""
    _, got = nb05
    tol = got["TOL"]

    def distance(p):
        return math.hypot(p[0] - 1, p[1] - 1)

    p, newton = (-1.2, 1.0), [[-1.2, 1.0]]
    while distance(p) > tol and len(newton) <= 50:
        (gx, gy), ((a, b), (c, d)) = rosenbrock_gradient(*p), rosenbrock_hessian(*p)
        det = a * d - b * c
        p = (p[0] - (d * gx - b * gy) / det, p[1] - (a * gy - c * gx) / det)
        newton.append(list(p))
    assert len(got["newton"]) == len(newton) <= 9
    for ours, replayed in zip(got["newton"], newton):
        assert ours == pytest.approx(replayed, rel=1e-9, abs=1e-12)
    errors = [distance(p) for p in newton]
    assert errors[-1] < tol and errors[-1] < 10 * errors[-2] ** 2

    p, steps = (-1.2, 1.0), 0
    while distance(p) > tol and steps < 100_000:
        gx, gy = rosenbrock_gradient(*p)
        p, steps = (p[0] - 1e-3 * gx, p[1] - 1e-3 * gy), steps + 1
    gd_steps, gd_end, rate = got["gd"]
    assert gd_steps == steps > 1000 * (len(newton) - 1)
    assert gd_end == pytest.approx(list(p), abs=1e-12)
    assert rate == pytest.approx(1 - 1e-3 * (501 - math.sqrt(301**2 + 400**2)), abs=1e-5)


# ---------------------------------------------------------------------- 06 multiclass


def cross_entropy(logits, label):
    """-log softmax(logits)[label] with plain floats, the largest logit subtracted first."""
    top = max(logits)
    return top + math.log(sum(math.exp(z - top) for z in logits)) - logits[label]


@pytest.fixture(scope="module")
def nb06():
    return run_notebook(
        "06_multiclass",
        {
            "split": "[X_train, y_train, X_test, y_test]",
            "start": "nn.MLP(2, [16, 16, 3], seed=0).state_dict()",
            "end": "model.state_dict()",
            "history": "history",
            "accuracies": "[train_accuracy, test_accuracy]",
        },
        after={
            "big = losses.cross_entropy(": {
                "example": "[[v.data for v in z], [v.grad for v in z], label, loss.data, big.data]"
            }
        },
    )


def test_06_cross_entropy_gradient_is_softmax_minus_one_hot(nb06):
    """For logits (2, -1, 0.5) and class 2 the loss is -log p_2 and its gradient p - onehot, as central
    differences say; logits (1000, 0, 0) give log(1 + 2 e^-1000), 0 in floats."""
    _, got = nb06
    z, grads, label, loss, big = got["example"]
    probs = [math.exp(v) / sum(math.exp(u) for u in z) for v in z]
    assert loss == pytest.approx(-math.log(probs[label]), rel=1e-14)
    closed = [p - (j == label) for j, p in enumerate(probs)]
    assert grads == pytest.approx(closed, rel=1e-12, abs=1e-15)
    assert closed == pytest.approx(
        [central_difference(lambda *z: cross_entropy(z, label), z, j) for j in range(3)], rel=1e-7
    )
    assert big == pytest.approx(math.log1p(2 * math.exp(-1000.0)), abs=1e-300)


def test_06_first_loss_and_accuracies_with_floats(nb06):
    """The first loss is the seeded network's cross-entropy; the trained one's accuracies are as printed,
    at least 90% held out."""
    _, got = nb06
    X_train, y_train, X_test, y_test = got["split"]
    first = sum(cross_entropy(mlp_forward(got["start"], x, "relu")[-1], c) for x, c in zip(X_train, y_train))
    assert got["history"]["loss"][0] == pytest.approx(first / len(X_train), rel=1e-12)

    def accuracy(X, y):
        predicted = [max(range(3), key=mlp_forward(got["end"], x, "relu")[-1].__getitem__) for x in X]
        return sum(p == c for p, c in zip(predicted, y)) / len(y)

    assert got["accuracies"] == [accuracy(X_train, y_train), accuracy(X_test, y_test)]
    assert got["accuracies"][1] >= 0.90
    assert got["history"]["loss"][-1] < got["history"]["loss"][0] / 10


def test_06_adam_training_matches_pytorch(nb06):
    """100 full-batch Adam steps (lr 0.05) in PyTorch float64 from the same weights give the same losses
    and weights."""
    torch = pytest.importorskip("torch")
    _, got = nb06
    X_train, y_train, _, _ = got["split"]
    layers = torch_mlp(torch, got["start"])
    optimizer = torch.optim.Adam([p for layer in layers for p in layer], lr=0.05)
    labels = torch.tensor(y_train)
    losses = []
    for _ in range(100):
        loss = torch.nn.functional.cross_entropy(torch_forward(torch, layers, X_train), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert got["history"]["loss"] == pytest.approx(losses, rel=1e-7)
    for i, (W, b) in enumerate(layers):
        assert [w for row in got["end"][f"layers.{i}.weight"] for w in row] == pytest.approx(
            W.detach().flatten().tolist(), rel=1e-6, abs=1e-9
        )
        assert got["end"][f"layers.{i}.bias"] == pytest.approx(b.detach().tolist(), rel=1e-6, abs=1e-9)


# ---------------------------------------------------------------------- 08 forward and reverse mode


@pytest.fixture(scope="module")
def nb08():
    return run_notebook(
        "08_forward_and_reverse_mode",
        {
            "point": "[x0, y0]",
            "reverse": "list(reverse)",
            "forward": "list(forward)",
            "v": "list(v)",
            "along_v": "jvp(f, [x0, y0], v)[1]",
            "problem": "least_squares(5)[1:]",
            "gradient_reverse": "gradient_reverse(*least_squares(5)[:2])",
            "gradient_forward": "gradient_forward(*least_squares(5)[:2])",
            "theta0": "theta0",
            "path_forward": "sensitivities_forward(theta0, 40)",
            "path_reverse": "sensitivities_reverse(theta0, 40)",
            "jacobian": "J",
            "composed": "[composed.data]",
            "hypot": "[length.data, x.grad, y.grad]",
            "messages": "messages",
        },
    )


def test_08_jvp_and_grad_both_give_the_closed_form(nb08):
    """Both modes give (2xy + y cos xy, x^2 + x cos xy), and jvp along v gives that gradient dotted with v."""
    _, got = nb08
    x, y = got["point"]
    closed = [2 * x * y + y * math.cos(x * y), x * x + x * math.cos(x * y)]
    assert got["reverse"] == pytest.approx(closed, rel=1e-13)
    assert got["forward"] == pytest.approx(closed, rel=1e-13)
    assert got["along_v"] == pytest.approx(sum(c * vi for c, vi in zip(closed, got["v"])), rel=1e-13)


def test_08_least_squares_gradient_matches_its_formula_and_central_differences(nb08):
    """Both modes' gradient of the mean squared error is (2/K) sum r_k a_k, as central differences say."""
    _, got = nb08
    w, A, t = got["problem"]

    def loss(*w):
        return sum((sum(wi * ai for wi, ai in zip(w, a)) - tk) ** 2 for a, tk in zip(A, t)) / len(A)

    residuals = [sum(wi * ai for wi, ai in zip(w, a)) - tk for a, tk in zip(A, t)]
    closed = [2 / len(A) * sum(r * a[j] for r, a in zip(residuals, A)) for j in range(len(w))]
    numeric = [central_difference(loss, w, j) for j in range(len(w))]
    for mode in ("gradient_reverse", "gradient_forward"):
        assert got[mode] == pytest.approx(closed, rel=1e-12, abs=1e-12)
        assert got[mode] == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_08_pendulum_sensitivities_match_central_differences(nb08):
    """d theta_k / d theta0 along 40 steps, by either mode and by jacobian, equals central differences."""
    _, got = nb08

    def path(theta0, steps=40, h=0.1):
        theta, omega, out = theta0, 0.0, []
        for _ in range(steps):
            omega -= h * math.sin(theta)
            theta += h * omega
            out.append(theta)
        return out

    t0, eps = got["theta0"], 1e-6
    numeric = [(a - b) / (2 * eps) for a, b in zip(path(t0 + eps), path(t0 - eps))]
    assert got["path_forward"] == pytest.approx(numeric, rel=1e-6, abs=1e-8)
    assert got["path_reverse"] == pytest.approx(numeric, rel=1e-6, abs=1e-8)
    assert [row[0] for row in got["jacobian"]] == pytest.approx(numeric[:4], rel=1e-6)


def test_08_hypot_primitive_survives_where_the_composition_overflows(nb08):
    """At (3e200, 4e200) the composed length is inf, the primitive gives 5e200 and the gradient (x/r, y/r)."""
    _, got = nb08
    assert got["composed"] == [math.inf]
    r, dx, dy = got["hypot"]
    assert r == pytest.approx(5e200, rel=1e-15)
    assert (dx, dy) == pytest.approx((0.6, 0.8), rel=1e-15)


def test_08_gradcheck_messages_quote_the_true_derivatives(nb08):
    """gradcheck's messages name the wrong derivative and quote values equal to the closed forms."""
    _, got = nb08
    numbers = r"backward gives (\S+), central differences give (\S+)$"
    # hypot with x / out in place of y / out: d/dy at (3, -4) is -4/5, the slip says 3/5
    message = got["messages"]["hypot_copy_paste"]
    assert message.startswith("gradcheck: d f / d x[1] at [3.0, -4.0]")
    wrong, numeric = map(float, re.search(numbers, message).groups())
    assert wrong == pytest.approx(3 / 5) and numeric == pytest.approx(-4 / 5, rel=1e-6)
    # e^(-x^2/2)'' = (x^2 - 1) e^(-x^2/2); the cut rule differentiates -x * const instead: -e^(-x^2/2)
    message = got["messages"]["bell_math_exp"]
    assert message.startswith("gradcheck: d2 f / d x[0] d x[0] at [0.7]")
    wrong, numeric = map(float, re.search(numbers, message).groups())
    bell = math.exp(-(0.7**2) / 2)
    assert wrong == pytest.approx(-bell, rel=1e-12) and numeric == pytest.approx(
        (0.7**2 - 1) * bell, rel=1e-6
    )
    assert got["messages"]["bell"] == "passes"


# ---------------------------------------------------------------------- 09 activations and gradients


@pytest.fixture(scope="module")
def nb09():
    return run_notebook(
        "09_activations_and_gradients",
        {
            "chain_grads": "chain_grads",
            "stacks": "stacks",
            "X": "X",
            "T": "T",
            "sigmoid_state": "deep['sigmoid']['model'].state_dict()",
            "sigmoid_grads": (
                "{i: [n.w[0].grad for n in deep['sigmoid']['model'].layers[i].neurons[:3]] for i in (0, 7)}"
            ),
            "sigmoid_rms": "[rms(g) for g in deep['sigmoid']['weight_gradients']]",
            "X_moons": "X_moons",
            "y_moons": "y_moons",
            "damaged_state": "model.state_dict()",  # the last run of the dead-ReLU cell is the damaged one
            "frozen": "frozen",
            "runs": (
                "{k: {f: r[f] for f in ('first_layer_dead', 'unchanged', 'dead_at_end', 'accuracy')}"
                " for k, r in runs.items()}"
            ),
            "states": "{f'{a} {i}': run['model'].state_dict() for (a, i), run in configs.items()}",
            "spreads": (
                "{f'{a} {i}': [statistics.pstdev(x) for x in run['activations']]"
                " for (a, i), run in configs.items()}"
            ),
        },
    )


def test_09_a_chain_gradient_is_the_product_of_its_layer_factors(nb09):
    """d a_20 / d a_l read from backward equals the product of w * act'(z_k) over the layers above l."""
    _, got = nb09
    slope = {
        "sigmoid": lambda z: (1 / (1 + math.exp(-z))) * (1 - 1 / (1 + math.exp(-z))),
        "tanh": lambda z: 1 - math.tanh(z) ** 2,
        "relu": lambda z: 1.0 if z > 0 else 0.0,
    }
    apply = {"sigmoid": lambda z: 1 / (1 + math.exp(-z)), "tanh": math.tanh, "relu": lambda z: max(z, 0.0)}
    for name, (act, w, b) in got["stacks"].items():
        a, factors = 0.5, []
        for _ in range(20):
            z = w * a + b
            factors.append(w * slope[act](z))
            a = apply[act](z)
        expected = [math.prod(factors[layer:]) for layer in range(21)]
        assert got["chain_grads"][name] == pytest.approx(expected, rel=1e-12), name
    assert got["chain_grads"]["sigmoid, w = 1"][0] < 1e-12 and got["chain_grads"]["tanh, w = 2"][0] < 1e-12


def test_09_sigmoid_gradients_vanish_towards_the_input(nb09):
    """Sigmoid net weight gradients equal central differences, and are 10^4 times smaller in layer 1."""
    _, got = nb09
    state, X, T = got["sigmoid_state"], got["X"], got["T"]

    def loss_with(layer, neuron, value):
        s = {k: [list(r) if isinstance(r, list) else r for r in v] for k, v in state.items()}
        s[f"layers.{layer}.weight"][neuron][0] = value
        outs = [mlp_forward(s, x, "sigmoid")[-1][0] for x in X]
        return sum((o - t) ** 2 for o, t in zip(outs, T)) / len(T)

    for layer in (0, 7):
        for neuron, grad in enumerate(got["sigmoid_grads"][str(layer)]):
            w = state[f"layers.{layer}.weight"][neuron][0]
            h = 1e-5
            numeric = (loss_with(layer, neuron, w + h) - loss_with(layer, neuron, w - h)) / (2 * h)
            assert grad == pytest.approx(numeric, rel=1e-3, abs=1e-10)
    assert got["sigmoid_rms"][-1] > 10_000 * got["sigmoid_rms"][0]


def test_09_dead_relus_stay_dead_and_cost_accuracy(nb09):
    """Neurons killed by the big step keep their weights and z <= 0 on every point; the accuracy drops."""
    _, got = nb09
    state, X, y = got["damaged_state"], got["X_moons"], got["y_moons"]
    damaged = got["runs"]["one step of lr = 30 first"]
    assert damaged["first_layer_dead"] and damaged["unchanged"]
    W, B = state["layers.0.weight"], state["layers.0.bias"]
    for j in damaged["first_layer_dead"]:
        assert W[j] + [B[j]] == got["frozen"][str(j)]
        assert all(W[j][0] * p[0] + W[j][1] * p[1] + B[j] <= 0 for p in X)
    dead_now = [j for j in range(16) if all(W[j][0] * p[0] + W[j][1] * p[1] + B[j] <= 0 for p in X)]
    assert len(dead_now) == damaged["dead_at_end"][0]
    accuracy = sum((mlp_forward(state, p, "relu")[-1][0] > 0) == bool(label) for p, label in zip(X, y)) / len(
        X
    )
    assert accuracy == pytest.approx(damaged["accuracy"])
    assert got["runs"]["healthy"]["accuracy"] >= 0.95 and accuracy < got["runs"]["healthy"]["accuracy"] - 0.2


def test_09_activation_spread_grows_as_predicted_by_the_weight_variance(nb09):
    """Redone with floats: ReLU activations spread sqrt(32/6) times more per layer with uniform(-1, 1),
    about 1 times with fan-in scaling; tanh with uniform(-1, 1) saturates over a third of every layer."""
    _, got = nb09
    X = got["X"]
    for config, per_layer in (("relu uniform", math.sqrt(32 / 6)), ("relu kaiming", 1.0)):
        hidden = [mlp_forward(got["states"][config], x, "relu")[:-1] for x in X]
        spread = [std([v for h in hidden for v in h[layer]]) for layer in range(8)]
        assert spread == pytest.approx(got["spreads"][config], rel=1e-9)
        growth = (spread[-1] / spread[0]) ** (1 / 7)
        assert growth == pytest.approx(per_layer, rel=0.15), config
    hidden = [mlp_forward(got["states"]["tanh uniform"], x, "tanh")[:-1] for x in X]
    for layer in range(8):
        values = [v for h in hidden for v in h[layer]]
        assert sum(abs(v) > 0.97 for v in values) / len(values) > 1 / 3


# ---------------------------------------------------------------------- 10 backprop by hand


@pytest.fixture(scope="module")
def nb10():
    return run_notebook(
        "10_backprop_by_hand",
        {
            **{f"solution_{k}": f"solution_{k}" for k in range(1, 7)},
            "neuron": "neuron_backward_solution([0.4, -0.7, 1.2], [1.0, 0.5, -0.3], 0.1, TARGET)",
            "TARGET": "TARGET",
            "softmax": "cross_entropy_backward_solution([1.0, -0.5, 2.0, 0.3], LABEL)",
            "LABEL": "LABEL",
            "batch": "batch_backward_solution(ROWS, LABELS)",
            "ROWS": "ROWS",
            "LABELS": "LABELS",
            "solution_10": "solution_10",
            "attempt_report": "repr(check_gradients(o, attempt))",
        },
    )


EXPRESSIONS = {  # the exercises' functions and points, in floats
    1: (lambda a, b: a * a * b + 3 * b, {"a": 2.0, "b": -1.0}),
    2: (lambda x, y: x * y / (x + y), {"x": 2.0, "y": 3.0}),
    3: (lambda w, x: math.log(1 + math.exp(w * x)), {"w": -2.0, "x": 0.5}),
    4: (lambda p, q: p**q, {"p": 2.0, "q": 3.0}),
    5: (lambda x, y, z: z * math.tanh(x * y + z), {"x": 0.5, "y": -1.0, "z": 0.8}),
    6: (lambda x, y: max(x - y, 0.0) + abs(x * y), {"x": 1.5, "y": 2.0}),
}


@pytest.mark.parametrize("k", sorted(EXPRESSIONS))
def test_10_expression_solutions_match_central_differences(nb10, k):
    """Each solution of exercises 1-6 equals the central-difference slopes of the expression in floats."""
    _, got = nb10
    f, point = EXPRESSIONS[k]
    names, args = list(point), list(point.values())
    numeric = {name: central_difference(f, args, i) for i, name in enumerate(names)}
    assert got[f"solution_{k}"] == pytest.approx(numeric, rel=1e-7, abs=1e-9)


def test_10_neuron_solution_matches_central_differences(nb10):
    """The neuron's backward pass gives central differences' d/d(w, x, b) of (tanh(w.x + b) - t)^2."""
    _, got = nb10
    t = got["TARGET"]

    def loss(w0, w1, w2, x0, x1, x2, b):
        return (math.tanh(w0 * x0 + w1 * x1 + w2 * x2 + b) - t) ** 2

    args = [0.4, -0.7, 1.2, 1.0, 0.5, -0.3, 0.1]
    d_w, d_x, d_b = got["neuron"]
    numeric = [central_difference(loss, args, i) for i in range(7)]
    assert [*d_w, *d_x, d_b] == pytest.approx(numeric, rel=1e-7, abs=1e-9)


def test_10_softmax_cross_entropy_solutions_match_central_differences(nb10):
    """The softmax cross-entropy gradients, for one row and for a batch mean, equal central differences."""
    _, got = nb10

    def ce(z, label):
        return -math.log(math.exp(z[label]) / sum(math.exp(v) for v in z))

    z = [1.0, -0.5, 2.0, 0.3]
    numeric = [central_difference(lambda *z: ce(z, got["LABEL"]), z, j) for j in range(4)]
    assert got["softmax"] == pytest.approx(numeric, rel=1e-7, abs=1e-9)
    assert abs(sum(got["softmax"])) < 1e-15  # the notebook's "they add up to 0"

    rows, labels = got["ROWS"], got["LABELS"]
    flat = [v for row in rows for v in row]

    def mean_loss(*flat):
        return sum(ce(flat[3 * n : 3 * n + 3], label) for n, label in enumerate(labels)) / len(labels)

    numeric = [central_difference(mean_loss, flat, i) for i in range(len(flat))]
    assert [v for row in got["batch"] for v in row] == pytest.approx(numeric, rel=1e-7, abs=1e-9)


def test_10_chain_solution_matches_central_differences_and_the_slip_is_found(nb10):
    """Exercise 10's gradients of o = tanh(x*w + b) at (1.5, -2, 0.5) for every value, from o down,
    equal central differences (and the closed forms 1 and tanh' for o and n); the worked attempt,
    tanh' taken at the input, is pinned to the edge o -> n."""
    _, got = nb10

    def o(x, w, b):
        return math.tanh(x * w + b)

    point = [1.5, -2.0, 0.5]
    numeric = {name: central_difference(o, point, i) for i, name in enumerate("xwb")}
    s = 1 - o(*point) ** 2
    expected = {"o": 1.0, "n": s, "xw": s, **numeric}
    assert got["solution_10"] == pytest.approx(expected, rel=1e-7, abs=1e-9)
    assert "The first wrong edge, in backward order: o → n." in got["attempt_report"]
    assert "used the input n = -2.5 where the rule has the output o" in got["attempt_report"]


def test_10_exercises_run_as_committed_and_say_no_answer_yet(nb10):
    """Every exercise cell ends with one check_gradients call that reports each input as not answered yet."""
    executed, _ = nb10
    for nb in (read("10_backprop_by_hand"), executed):  # as committed, and as run here
        exercises = [
            c
            for c in nb.cells
            if c.cell_type == "code" and ("answer_" in c.source or "your turn" in c.source)
        ]
        assert len(exercises) == 10
        for cell in exercises:
            assert cell.source.strip().splitlines()[-1].startswith("check_gradients(")
            shown = displayed_text(cell)
            lines = shown.strip().splitlines()
            assert re.fullmatch(r"0 of (\d+) right; no answer yet: .*", lines[-1])
            assert len(lines) - 2 == int(re.match(r"0 of (\d+)", lines[-1]).group(1))
            assert all(line.endswith("no answer yet") for line in lines[1:-1])


def test_10_solutions_are_collapsed_at_the_end(nb10):
    """After the 'Solutions' heading come 10 code cells, hidden by default, each checked all right."""
    cells = read("10_backprop_by_hand").cells
    heading = next(
        i
        for i, c in enumerate(cells)
        if c.cell_type == "markdown" and re.search(r"^## Solutions", c.source, re.M)
    )
    solutions = cells[heading + 1 :]
    assert len(solutions) == 10
    for cell in solutions:
        assert cell.cell_type == "code" and cell.metadata["jupyter"]["source_hidden"] is True
        assert re.search(r"(\d+) of \1 right$", displayed_text(cell).strip())
    assert not any(c.metadata.get("jupyter", {}).get("source_hidden") for c in cells[:heading])


# ---------------------------------------------------------------------- 11 handwritten digits


@pytest.fixture(scope="module")
def nb11():
    return run_notebook(
        "11_handwritten_digits",
        {
            "split": "[X_train, y_train, X_test, y_test]",
            "start": "nn.MLP(64, [32, 10], seed=0).state_dict()",
            "first_epoch": "first_epoch",
            "eager": "[eager_losses, model.state_dict(), eager_accuracy]",
            "compiled": "[twin.state_dict(), test_accuracy, step.traces, len(compiled_seconds)]",
            "judged": "[predicted, matrix, wrong]",
            "one": "[k, loss_of_one_sample.data]",
        },
        after={"picked = next(": {"picked": "[y_train[0], list(picked.local_grads), loss.data]"}},
    )


def digit_of(state, x):
    """The class an MLP's state_dict gives a digit, with plain floats: its largest logit."""
    logits = mlp_forward(state, x, "relu")[-1]
    return max(range(len(logits)), key=logits.__getitem__)


def test_11_the_first_losses_with_floats(nb11):
    """The first image's loss is its cross-entropy under the seeded weights, with pick's one-hot
    derivatives; the first minibatch's loss is the mean of its images' cross-entropies."""
    _, got = nb11
    X_train, y_train, _, _ = got["split"]
    label, local, loss = got["picked"]
    assert loss == pytest.approx(cross_entropy(mlp_forward(got["start"], X_train[0], "relu")[-1], label), rel=1e-12)
    assert local == [1.0 if j == label else 0.0 for j in range(10)] + [None]
    batch = got["first_epoch"][0]
    first = sum(cross_entropy(mlp_forward(got["start"], X_train[i], "relu")[-1], y_train[i]) for i in batch)
    assert got["eager"][0][0] == pytest.approx(first / len(batch), rel=1e-12)
    assert [len(b) for b in got["first_epoch"]] == [32] * 42 + [4]
    assert sorted(i for b in got["first_epoch"] for i in b) == list(range(len(X_train)))


def test_11_the_eager_epoch_matches_pytorch_and_compiled_is_the_same(nb11):
    """The eager epoch's 43 Adam steps (lr 0.02) replayed in PyTorch float64 give the same losses and
    weights; the compiled run traced twice (batches of 32 and of 4) for its five epochs."""
    torch = pytest.importorskip("torch")
    _, got = nb11
    X_train, y_train, _, _ = got["split"]
    layers = torch_mlp(torch, got["start"])
    optimizer = torch.optim.Adam([p for layer in layers for p in layer], lr=0.02)
    losses = []
    for batch in got["first_epoch"]:
        logits = torch_forward(torch, layers, [X_train[i] for i in batch])
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor([y_train[i] for i in batch]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    eager_losses, eager_end, _ = got["eager"]
    assert eager_losses == pytest.approx(losses, rel=1e-7)
    for i, (W, b) in enumerate(layers):
        assert [w for row in eager_end[f"layers.{i}.weight"] for w in row] == pytest.approx(
            W.detach().flatten().tolist(), rel=1e-6, abs=1e-9
        )
        assert eager_end[f"layers.{i}.bias"] == pytest.approx(b.detach().tolist(), rel=1e-6, abs=1e-9)
    _, _, traces, epochs = got["compiled"]
    assert traces == 2 and epochs == 5


def test_11_accuracy_confusion_matrix_and_mistakes_with_floats(nb11):
    """The trained network's test predictions, recomputed with plain floats from its weights, give
    the printed accuracies, the confusion matrix and the list of mistakes; at least 94% after five
    epochs, and the explored image's loss is its cross-entropy."""
    _, got = nb11
    _, _, X_test, y_test = got["split"]
    end, test_accuracy, _, _ = got["compiled"]
    predicted = [digit_of(end, x) for x in X_test]
    predicted_, matrix, wrong = got["judged"]
    assert predicted == predicted_
    assert test_accuracy == sum(p == t for p, t in zip(predicted, y_test)) / len(y_test) >= 0.94
    eager_predicted = [digit_of(got["eager"][1], x) for x in X_test]
    assert got["eager"][2] == sum(p == t for p, t in zip(eager_predicted, y_test)) / len(y_test)
    expected = [[sum(1 for p, t in zip(predicted, y_test) if (t, p) == (r, c)) for c in range(10)] for r in range(10)]
    assert matrix == expected
    assert wrong == [i for i in range(len(y_test)) if predicted[i] != y_test[i]]
    k, loss = got["one"]
    assert loss == pytest.approx(cross_entropy(mlp_forward(end, X_test[k], "relu")[-1], y_test[k]), rel=1e-12)
