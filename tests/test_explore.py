"""The explorer's steps and pages, in Python: numbers against closed forms and against the
engine's own backward(), the order of the steps, escaping of user text, caps and errors.

What the page does in a browser is in test_explore_browser.py.
"""

from __future__ import annotations

import base64
import doctest
import hashlib
import html
import importlib
import json
import math
import os
import random
import re

import pytest
from conftest import needs_dot

from autograd_tiny import Value, explore, nn, primitive
from autograd_tiny.engine import topological_order
from autograd_tiny.formulas import FORMULA_NAMES
from autograd_tiny.see.explorer import replay
from autograd_tiny.see.page import script_json
from autograd_tiny.see.trace import GraphTooLargeError, trace

explore_module = importlib.import_module("autograd_tiny.see.explorer")
trace_module = importlib.import_module("autograd_tiny.see.trace")
B = 6.8813735870195432  # the lecture neuron's bias: n = atanh(1/sqrt(2)), o = 1/sqrt(2)
HOSTILE = "</script><script>alert(1)</script>"


def lecture_neuron():
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(B, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b, "n": n}


def phases(page):
    return [s["phase"] for s in page.steps]


def by_phase(page, phase):
    return [s for s in page.steps if s["phase"] == phase]


# ---------------------------------------------------------------------- numbers


def test_a_value_used_twice_accumulates():
    """a * a at 3: the backward step adds 3 to a.grad twice, 0 -> 3 -> 6 = d(a²)/da = 2a."""
    a = Value(3.0, label="a")
    page = explore(a * a)
    assert phases(page) == ["start", "forward", "seed", "backward", "done"]
    (step,) = by_phase(page, "backward")
    flows = step["flows"]
    assert [f["input"] for f in flows] == [a, a]
    assert [(f["local"], f["upstream"], f["contribution"]) for f in flows] == [(3.0, 1.0, 3.0)] * 2
    assert [(f["before"], f["after"]) for f in flows] == [(0.0, 3.0), (3.0, 6.0)]
    assert flows[-1]["after"] == 2 * a.data


def test_lecture_neuron_steps_match_closed_forms():
    """micrograd's neuron: each backward step's local derivative, upstream grad and contribution
    equal the closed forms (tanh' = 1 - o², + passes it on, * multiplies by the other input)."""
    o, _ = lecture_neuron()
    page = explore(o)
    slope = 1 - math.tanh(2 * -3 + 0 * 1 + B) ** 2  # 0.5
    expected = {  # input label -> (local derivative, upstream grad)
        "n": (slope, 1.0), "b": (1.0, slope), "x1": (-3.0, slope), "w1": (2.0, slope),
        "x2": (1.0, slope), "w2": (0.0, slope),
    }  # fmt: skip
    seen = set()
    for step in by_phase(page, "backward"):
        for f in step["flows"]:
            label = f["input"].label
            if label in expected:
                local, up = expected[label]
                assert f["local"] == pytest.approx(local, abs=1e-12)
                assert f["upstream"] == pytest.approx(up, abs=1e-12)
                assert f["contribution"] == pytest.approx(local * up, abs=1e-12)
                assert f["before"] == 0.0  # each is used once
                seen.add(label)
    assert seen == set(expected)


def test_backward_steps_visit_nodes_in_backward_order():
    """Without collapsing, the backward steps are the nodes of topological_order(root), reversed,
    and the forward steps the same nodes in order."""
    o, _ = lecture_neuron()
    page = explore(o)
    order = topological_order(o)
    assert [s["node"] for s in by_phase(page, "backward")] == order[::-1]
    assert [s["node"] for s in by_phase(page, "forward")] == order


def random_graph(rng: random.Random):
    """A random expression over three labelled leaves, with every kind of op, a value reused."""
    leaves = [Value(rng.uniform(0.2, 2.0), label=name) for name in "xyz"]
    pool = list(leaves)
    for _ in range(rng.randint(3, 12)):
        a, b = rng.choice(pool), rng.choice(pool)
        kind = rng.randrange(9)
        if kind == 0:
            v = a + b
        elif kind == 1:
            v = a * b
        elif kind == 2:
            v = a / (b.abs() + 1.0)
        elif kind == 3:
            v = (a.abs() + 0.5) ** b.tanh()
        elif kind == 4:
            v = a.tanh() * 2.0
        elif kind == 5:
            v = (a - 0.7).relu() + b.sigmoid()
        elif kind == 6:
            v = Value.sum([a, b, 1.5])
        elif kind == 7:
            v = Value.dot([a, b], [b, 2.0], bias=a, activation=rng.choice([None, "relu", "tanh"]))
        else:
            v = Value.logsumexp([a, b.sin(), b.exp().log()])
        pool.append(v)
    return pool[-1], leaves


@pytest.mark.parametrize("seed", range(25))
def test_final_gradients_are_exactly_backwards(seed):
    """For random graphs, the gradients the page ends with are bit for bit those of backward(),
    and building the page leaves every .grad as it was."""
    root, leaves = random_graph(random.Random(seed))
    before = {v: v.grad for v in trace(root)[0] if isinstance(v, Value)}
    page = explore(root)
    assert {v: v.grad for v in before} == before
    final = {}
    for step in by_phase(page, "backward"):
        for f in step["flows"]:
            if f["local"] is not None:
                final[f["input"]] = f["after"]
    root.backward()
    for leaf in leaves:
        assert final.get(leaf, 0.0) == leaf.grad
    assert replay(root)[root] == 1.0


def test_collapsed_mlp_parameter_gradients_equal_backward():
    """An MLP drawn one box per neuron: one backward step per neuron (and per op of the loss),
    and each weight's flow is x·act'(z) × upstream, ending at the gradient backward() gives."""
    model = nn.MLP(2, [3, 3, 1], seed=1)
    out = model([Value(0.5, label="x1"), Value(-1.5, label="x2")])
    loss = (out - 1.0) ** 2
    page = explore(loss, model=model)
    steps = by_phase(page, "backward")
    neuron_steps = [s for s in steps if s["node"].op.endswith("(w·x+b)") or s["node"].op == "dot"]
    assert len(neuron_steps) == 7
    final = {}
    for s in neuron_steps:
        node = s["node"]
        n = (len(node.parents) - 1) // 2
        w, x = node.parents[:n], node.parents[n : 2 * n]
        z = sum(wi.data * xi.data for wi, xi in zip(w, x)) + node.parents[-1].data
        slope = 1.0 if node.op == "dot" else float(z > 0)
        for f in s["flows"]:
            if f["input"] in w:
                i = w.index(f["input"])
                if slope == 0.0:
                    assert f["local"] is None  # relu below 0: nothing flows
                else:
                    assert f["local"] == pytest.approx(x[i].data * slope, rel=1e-12)
                    final[f["input"]] = f["after"]
    loss.backward()
    for p, g in final.items():
        assert g == p.grad


def test_per_op_neurons_collapse_into_one_step_each():
    """fused=False builds each neuron from * and + nodes: collapsed, each neuron is one step, and
    the weights end with backward()'s gradients (to rounding: the box sums its paths)."""
    model = nn.MLP(2, [2, 1], seed=3, fused=False, activation="tanh")
    out = model([Value(0.3, label="x1"), Value(-0.8, label="x2")])
    page = explore(out, model=model)
    steps = by_phase(page, "backward")
    assert len(steps) == 3
    out.backward()
    final = {f["input"]: f["after"] for s in steps for f in s["flows"] if f["local"] is not None}
    for p in model.parameters():
        assert final[p] == pytest.approx(p.grad, rel=1e-12, abs=1e-15)


def test_numbers_and_flat_regions_pass_nothing():
    """A number in the expression and relu below 0 get no gradient: their flows say so."""
    x = Value(-2.0, label="x")
    y = (x * 3.0).relu()
    steps = by_phase(explore(y), "backward")
    relu_flow = steps[0]["flows"][0]
    assert relu_flow["local"] is None
    times = steps[1]["flows"]
    assert times[0]["local"] == 3.0 and times[0]["after"] == 0.0  # upstream 0 from the flat relu
    assert times[1]["local"] is None and not isinstance(times[1]["input"], Value)
    text = json.dumps(steps[0]["text"])
    assert "flat" in text
    assert "number" in json.dumps(steps[1]["text"])


def test_a_leaf_has_no_steps_to_take():
    """Exploring a leaf gives only the start, saying there is nothing to propagate."""
    page = explore(Value(1.0, label="lonely"))
    assert phases(page) == ["start"]
    assert "leaf" in json.dumps(page.steps[0]["text"])


# ---------------------------------------------------------------------- formulas
# The explanation of each edge shows the formula of the engine's rule table for it, and the
# value of the local derivative, which must match a central difference of the op's function.


def central_difference(op, datas: list[float], i: int, h: float = 1e-6) -> float:
    """d op.fn / d (its i-th input) at `datas`, by a central difference."""
    up, down = list(datas), list(datas)
    up[i] += h
    down[i] -= h
    return (op.fn(*up) - op.fn(*down)) / (2 * h)


def backward_flows(page):
    """(node, i, flow) for every edge of every backward step, i the input's position."""
    found = []
    for step in by_phase(page, "backward"):
        node = step["node"]
        inputs = list(node.parents)
        seen: dict = {}
        for f in step["flows"]:
            k = seen[id(f["input"])] = next(  # the next position of this input among the node's
                j for j in range(seen.get(id(f["input"]), -1) + 1, len(inputs))
                if inputs[j] is f["input"] or (not isinstance(inputs[j], Value) and inputs[j] == f["input"].data)
            )
            found.append((node, k, f))
    return found


def line_of(page, step_node, who: str) -> list:
    """The explanation line, in the page's data, of the input named `who` at the backward step of `step_node`."""
    data = page.page_data()
    name = page.graph.name(step_node)
    (step,) = [s for s in data["steps"] if s["phase"] == "backward" and s["node"] == name]
    (line,) = [line for line in step["text"][1:] if any(f"added to {who}.grad: " in part for part in line)]
    return line


@pytest.mark.parametrize("make", [
    lambda a, b: a * b,
    lambda a, b: a / b,
    lambda a, b: a**b,
], ids=["a*b", "a/b", "x**y"])  # fmt: skip
def test_formulas_are_the_rule_tables(make):
    """For *, / and **, each input's line shows its formula from op.formulas (of a conditional,
    the branch that applies: here x > 0 and y != 0), written in the graph's names, and the local
    derivative's value, equal to a central difference of the op's function; the page's data
    carries the same line."""
    a, b = Value(1.7, label="a"), Value(2.3, label="b")
    out = make(a, b)
    page = explore(out)
    op = out.grad_fn
    flows = backward_flows(page)
    assert [k for _, k, _ in flows] == [0, 1]
    for _, i, f in flows:
        table = op.formulas[i]
        assert f["formula"] == table or (" if " in table and f["formula"] in table)
        names = dict(zip(op.inputs, (a.data, b.data)), out=out.data)
        assert eval(f["formula"], dict(FORMULA_NAMES), names) == pytest.approx(f["local"], rel=1e-12)
        assert f["local"] == pytest.approx(central_difference(op, [a.data, b.data], i), rel=1e-7)
        line = line_of(page, out, f["input"].label)
        assert line[:2] == [f"local derivative ∂{page.graph.who(out)}/∂{f['input'].label} = ", f"{f['shown']} = "]
        assert float(line[2][1]) == f["local"]
    if op.name == "**":
        assert [f["formula"] for _, _, f in flows] == ["y * pow(x, y - 1)", "out * log(x)"]
        assert [f["shown"] for _, _, f in flows] == ["b * pow(a, b - 1)", "pow1 * log(a)"]
    else:
        assert [f["formula"] for _, _, f in flows] == list(op.formulas)


def test_relu_shows_the_branch_that_applies():
    """relu's formula is a conditional: where it passes the gradient the line shows the branch 1.0;
    where it is flat the flow carries no local derivative and the line says so."""
    x = Value(1.5, label="x")
    on = explore(x.relu())
    (step,) = by_phase(on, "backward")
    assert x.relu().grad_fn.formulas[0] == "None if out <= 0 else 1.0"
    assert step["flows"][0]["formula"] == "1.0" and step["flows"][0]["local"] == 1.0
    off = explore((x * -1.0).relu())
    flat = by_phase(off, "backward")[0]["flows"][0]
    assert flat["formula"] == "None" and flat["local"] is None


def test_neuron_node_shows_its_group_formulas_and_the_activation_slope():
    """A tanh(w·x+b) node: each weight's line shows "s * x", each input's "s * w", the bias's "s"
    (op.formulas, in the edge's names: "s * x1" for w1), with values equal to central
    differences of the node's function; the step says s = tanh'(z) with tanh's own formula from
    the table and its value 1 - tanh(z)²."""
    w = [Value(0.5, label="w1"), Value(-1.0, label="w2")]
    x = [Value(1.5, label="x1"), Value(0.25, label="x2")]
    bias = Value(0.1, label="c")
    out = Value.dot(w, x, bias=bias, activation="tanh")
    op = out.grad_fn
    page = explore(out)
    datas = [v.data for v in out.parents]
    groups = {"w1": 0, "w2": 0, "x1": 1, "x2": 1, "c": 2}
    flows = backward_flows(page)
    assert len(flows) == 5
    for _, i, f in flows:
        assert f["formula"] == op.formulas[groups[f["input"].label]]
        assert f["local"] == pytest.approx(central_difference(op, datas, i), rel=1e-7)
    shown = {f["input"].label: f["shown"] for _, _, f in flows}
    assert shown == {"w1": "s * x1", "w2": "s * x2", "x1": "s * w1", "x2": "s * w2", "c": "s"}
    for _, _, f in flows:
        assert line_of(page, out, f["input"].label)[1] == f"{f['shown']} = "
    z = 0.5 * 1.5 - 1.0 * 0.25 + 0.1
    (step,) = by_phase(page, "backward")
    said = "".join(part if isinstance(part, str) else part[0] for part in step["text"][0])
    formula = op.act.formulas[0].replace("out", "neuron1")
    found = re.search(rf"s = tanh'\(z\), the slope of tanh at z = w·x \+ b: {re.escape(formula)} = (\S+)\)", said)
    assert found and float(found.group(1)) == pytest.approx(1 - math.tanh(z) ** 2, rel=1e-3)


def test_a_custom_primitive_without_formula_shows_the_value_only():
    """A custom primitive with no formula text: each line shows the local derivative's value (a
    central difference of its function) and no formula, never a made-up d<op>/d<input>."""

    @primitive(derivatives=lambda x, y, out: (y * out, x * out))
    def exp_of_product(x, y):
        return math.exp(x * y)

    a, b = Value(0.3, label="a"), Value(-0.7, label="b")
    out = exp_of_product(a, b)
    page = explore(out)
    for _, i, f in backward_flows(page):
        assert f["formula"] is None
        assert f["local"] == pytest.approx(central_difference(out.grad_fn, [0.3, -0.7], i), rel=1e-7)
        line = line_of(page, out, f["input"].label)
        assert line[0] == f"local derivative ∂exp_of_product1/∂{f['input'].label} = "
        assert float(line[1][1]) == f["local"]
    assert "exp_of_product/d" not in json.dumps(page.page_data())


@needs_dot
def test_a_user_formula_text_is_shown_escaped():
    """A custom primitive's formula text is the user's: shown as written, in the page's data and
    explanation, and never markup (the page keeps its own two scripts, the JSON escapes '<')."""

    @primitive(derivatives=lambda x, y, out: (y, x), formula=[HOSTILE, "x"])
    def times(x, y):
        return x * y

    a, b = Value(3.0, label="a"), Value(2.0, label="b")
    out = times(a, b)
    page = explore(out)
    assert [f["formula"] for _, _, f in backward_flows(page)] == [HOSTILE, "x"]
    assert line_of(page, out, "a")[:2] == ["local derivative ∂times1/∂a = ", f"{HOSTILE} = "]
    document = page.html
    assert document.count("<script") == 2 and "<script>alert" not in document
    assert HOSTILE in json.dumps(json.loads(page_scripts(document)[0]), ensure_ascii=False)


def test_explore_walks_the_graph_once(monkeypatch):
    """explore reads each value's inputs once, and asks the engine for backward's order once: the
    drawing, the steps and the replayed gradients all come from one trace."""
    model = nn.MLP(2, [4, 4, 1], seed=0)
    loss = (model([Value(0.5, label="x1"), Value(-1.5, label="x2")]) - 1.0) ** 2
    values = {id(v) for v in trace(loss)[0] if isinstance(v, Value)}
    reads = []
    original = Value.parents
    monkeypatch.setattr(Value, "parents", property(lambda self: reads.append(id(self)) or original.fget(self)))
    orders = []
    monkeypatch.setattr(trace_module, "topological_order", lambda root: orders.append(root) or topological_order(root))
    page = explore(loss, model=model)
    page.page_data()
    assert sorted(reads) == sorted(values)  # each value's inputs, once
    assert orders == [loss]


# ---------------------------------------------------------------------- the page


def page_scripts(document: str) -> list[str]:
    return re.findall(r"<script[^>]*>(.*?)</script>", document, flags=re.DOTALL)


@needs_dot
def test_hostile_label_is_data_everywhere():
    """A label that tries to close the script and open another stays text: the page holds exactly
    its own two script elements, the JSON escapes '<', and the SVG and title escape it too."""
    x = Value(2.0, label=HOSTILE)
    page = explore(x * x, title=HOSTILE + " & <b>")
    document = page.html
    assert document.count("<script") == 2 and len(page_scripts(document)) == 2
    assert "<script>alert" not in document
    assert "alert(1)" in document  # it is there, as text
    data = json.loads(page_scripts(document)[0])
    assert HOSTILE in json.dumps(data, ensure_ascii=False)  # the data round-trips the label
    assert (
        "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;" in document
    )  # <title> and <h1>


def test_script_json_has_nothing_that_ends_a_script():
    """script_json escapes < > & and U+2028/2029, and parses back to the same data."""
    data = {"label": HOSTILE + "<!-- & \u2028\u2029 -->", "n": [1.5, -2]}
    text = script_json(data)
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in text
    assert json.loads(text) == data


@needs_dot
def test_page_is_self_contained_with_a_matching_content_security_policy():
    """The page refers to nothing outside itself, and its CSP allows no request and exactly the
    page's own script (its sha-256) and style."""
    a = Value(3.0, label="a")
    document = explore(a * a).html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", document)
    assert "http://" not in document.replace("http://www.w3.org/", "")
    assert "https://" not in document
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', document).group(1)
    assert "default-src 'none'" in policy
    code = page_scripts(document)[1]
    digest = base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy
    style = re.search(r"<style>(.*?)</style>", document, flags=re.DOTALL).group(1)
    assert base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode() in policy


@needs_dot
def test_repr_html_is_the_page_in_a_sandboxed_iframe():
    """In Jupyter the page is an iframe whose srcdoc, unescaped, is the page itself."""
    a = Value(3.0, label="a")
    page = explore(a * a)
    frame = page._repr_html_()
    assert frame.startswith("<div><iframe ") and 'sandbox="allow-scripts"' in frame
    srcdoc = re.search(r'srcdoc="([^"]*)"', frame).group(1)
    assert html.unescape(srcdoc) == page.html


@needs_dot
def test_save_writes_the_page(tmp_path):
    """save() writes the whole page to the path and returns it."""
    a = Value(3.0, label="a")
    page = explore(a * a)
    path = page.save(tmp_path / "page.html")
    assert path.read_text(encoding="utf-8") == page.html


def test_save_to_a_missing_folder_fails_and_leaves_nothing(tmp_path, monkeypatch):
    """A save that cannot write raises OSError and leaves no file behind."""
    a = Value(3.0, label="a")
    page = explore(a * a)
    monkeypatch.setattr(type(page), "html", property(lambda self: "<!DOCTYPE html>"))
    with pytest.raises(OSError):
        page.save(tmp_path / "missing" / "page.html")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- caps and errors


def test_a_graph_too_large_is_refused_with_a_clear_message():
    """An MLP drawn op by op is more than max_nodes: the error names explore, the count and the way out."""
    model = nn.MLP(2, [16, 16, 1], seed=0, fused=False)
    out = model([0.5, -1.0])
    with pytest.raises(
        GraphTooLargeError, match=r"explore: .*\(\d+ nodes to draw, more than max_nodes=500\); pass model="
    ):
        explore(out)
    assert explore(out, model=model).steps  # one box per neuron fits


def test_a_huge_graph_is_refused_before_any_drawing(monkeypatch):
    """Counting stops at the cap: a graph beyond MAX_VALUES is refused with its own message."""
    monkeypatch.setattr(explore_module, "MAX_VALUES", 50)
    z = Value(0.5, label="x")
    for _ in range(60):
        z = z * 0.9 + 0.1
    with pytest.raises(GraphTooLargeError, match="explore: the graph has more than 50 values"):
        explore(z)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"collapse": "layer"}, ValueError, "explore: collapse must be None or 'neuron', got 'layer'"),
    ({"max_nodes": 0}, ValueError, "explore: max_nodes must be a positive int or None, got 0"),
    ({"max_nodes": True}, ValueError, "max_nodes must be a positive int or None, got True"),
])  # fmt: skip
def test_bad_options_are_one_line_errors(kwargs, error, match):
    """Bad options raise an error naming explore, the option and the value."""
    with pytest.raises(error, match=re.escape(match)):
        explore(Value(1.0) * 2, **kwargs)


def test_root_must_be_a_value():
    """explore(3.0) is a TypeError that names what it got."""
    with pytest.raises(TypeError, match="explore: root must be a Value, got float: 3.0"):
        explore(3.0)


def test_docstring_examples_run():
    """The runnable examples in the explorer's modules give the output they show."""
    for name in ("explorer", "animation", "training_view"):
        module = importlib.import_module(f"autograd_tiny.see.{name}")
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0


def test_graph_html_to_a_missing_folder_is_one_line(tmp_path, capsys):
    """`graph --html` into a folder that does not exist: exit 2, one line naming the file."""
    from autograd_tiny.cli import main

    target = tmp_path / "missing" / "page.html"
    assert main(["graph", "x*x", "x=3", "--html", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"autograd-tiny: error: graph: cannot write {str(target)!r}: No such file or directory"]


@pytest.mark.skipif(os.name != "posix", reason="the fake dot is a shell script")
def test_a_failing_dot_is_one_render_error_line(tmp_path, monkeypatch, capsys):
    """When Graphviz's dot is killed, the page, the training view and the animation each raise
    one RenderError line saying what was being done and what happened to dot; `train --html`
    says so and writes everything else."""
    from autograd_tiny import TrainingRecorder, data, losses, save_animation
    from autograd_tiny.cli import main
    from autograd_tiny.see.dot import RenderError

    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "dot").write_text("#!/bin/sh\ncat >/dev/null; kill -KILL $$\n")
    (folder / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    a = Value(3.0, label="a")
    X, y = data.moons(8, seed=0)
    model = nn.MLP(2, [2, 1], seed=0)
    recorder = TrainingRecorder(model, X, y, grid=4)
    loss = losses.hinge([model(x) for x in X], data.signed_labels(y))
    loss.backward()
    recorder.record(loss)
    for attempt in (lambda: explore(a * a).html, lambda: recorder.html,
                    lambda: save_animation(a * a, tmp_path / "a.gif")):  # fmt: skip
        with pytest.raises(RenderError) as caught:
            attempt()
        message = str(caught.value)
        assert "\n" not in message and "Graphviz's dot was killed by signal SIGKILL" in message
        assert message.startswith("explore: cannot lay out the graph: ")
    out = tmp_path / "run"
    argv = ["train", "--samples", "20", "--hidden", "4", "--steps", "2", "--html", "--out", str(out)]
    assert main(argv) == 0
    assert "no training.html: explore: cannot lay out the graph" in capsys.readouterr().err
    assert (out / "run.json").exists() and not (out / "training.html").exists()
    assert not (tmp_path / "a.gif").exists()
