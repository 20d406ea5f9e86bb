"""The notebooks teach true things: each is run top to bottom and its numbers are compared with
independent values (closed forms, central differences, the same sums redone with plain floats).

How it is organised, so that another notebook is easy to add:

* `LESSONS` lists the notebooks the structural tests cover (outputs committed, checks few and at
  the end). Add a notebook's name there.
* `run_notebook(name, fetch)` executes a notebook once with nbclient and returns the executed
  notebook and the values of the expressions in `fetch`, evaluated in the notebook's final state.
  Each notebook has a module-scoped fixture calling it once, followed by its tests (a section per
  notebook, in order).
* The oracles are written here, from the formulas, never from the notebook's own output.
"""

import json
import math
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

LESSONS = [
    "08_forward_and_reverse_mode",
    "09_activations_and_gradients",
    "10_backprop_by_hand",
]

_MARKER = "values fetched for tests/test_notebooks.py: "


def run_notebook(name: str, fetch: dict[str, str]):
    """Execute notebooks/<name>.ipynb, then evaluate each expression of `fetch` in its final state.

    Returns (the executed notebook, {key: value}); the values travel as JSON, so the expressions
    must give numbers, strings, lists or dicts of them.
    """
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    items = ", ".join(f"{key!r}: {expr}" for key, expr in fetch.items())
    nb.cells.append(
        nbformat.v4.new_code_cell(f"import json as _json\nprint({_MARKER!r} + _json.dumps({{{items}}}))")
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


def test_10_exercises_run_as_committed_and_say_no_answer_yet(nb10):
    """Every exercise cell ends with one check_gradients call that reports each input as not answered yet."""
    executed, _ = nb10
    for nb in (read("10_backprop_by_hand"), executed):  # as committed, and as run here
        exercises = [
            c
            for c in nb.cells
            if c.cell_type == "code" and ("answer_" in c.source or "your turn" in c.source)
        ]
        assert len(exercises) == 9
        for cell in exercises:
            assert cell.source.strip().splitlines()[-1].startswith("check_gradients(")
            shown = displayed_text(cell)
            lines = shown.strip().splitlines()
            assert re.fullmatch(r"0 of (\d+) right; no answer yet: .*", lines[-1])
            assert len(lines) - 2 == int(re.match(r"0 of (\d+)", lines[-1]).group(1))
            assert all(line.endswith("no answer yet") for line in lines[1:-1])


def test_10_solutions_are_collapsed_at_the_end(nb10):
    """After the 'Solutions' heading come 9 code cells, hidden by default, each checked all right."""
    cells = read("10_backprop_by_hand").cells
    heading = next(
        i
        for i, c in enumerate(cells)
        if c.cell_type == "markdown" and re.search(r"^## Solutions", c.source, re.M)
    )
    solutions = cells[heading + 1 :]
    assert len(solutions) == 9
    for cell in solutions:
        assert cell.cell_type == "code" and cell.metadata["jupyter"]["source_hidden"] is True
        assert re.search(r"(\d+) of \1 right$", displayed_text(cell).strip())
    assert not any(c.metadata.get("jupyter", {}).get("source_hidden") for c in cells[:heading])
