"""The README tells the truth: its code blocks run as written and print what they say."""

import ast
import contextlib
import io
import json
import math
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import central, needs_dot

from autograd_tiny import Value

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def run_block(code: str, tmp_path) -> tuple[dict, str, dict]:
    """Run a block as written; return its names, what it printed, and the value of each of its
    top-level expression lines (as a notebook shows them), by the line's text."""
    tree = ast.parse(code)
    for i, node in enumerate(tree.body):
        if isinstance(node, ast.Expr) and not _is_print(node.value):
            text = ast.get_source_segment(code, node)
            tree.body[i] = ast.Expr(ast.Call(ast.Name("_show", ast.Load()), [ast.Constant(text), node.value], []))
    ast.fix_missing_locations(tree)
    shown: dict = {}
    namespace: dict = {"_show": shown.__setitem__}
    out = io.StringIO()
    with contextlib.redirect_stdout(out), _chdir(tmp_path):
        exec(compile(tree, "README.md", "exec"), namespace)
    return namespace, out.getvalue(), shown


def _is_print(call) -> bool:
    return isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print"


def _shown(shown: dict, start: str):
    """The value of the one expression line that starts with `start`."""
    (value,) = [v for text, v in shown.items() if text.startswith(start)]
    return value


@contextlib.contextmanager
def _chdir(path):
    import os

    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def test_the_readme_has_its_code_blocks():
    """The README shows the micrograd example, a drawing, training and higher-order derivatives."""
    assert len(BLOCKS) >= 4


# ---------------------------------------------------------------------- each block's claims, checked
# Each function checks what one block says (in its comments and the text around it) against
# numbers worked out here independently: closed forms, plain-float arithmetic, central differences.


def _micrograd_example(ns, printed, shown, tmp_path):
    """It prints micrograd's published numbers, which plain-float arithmetic and central
    differences give too."""
    def g(a, b):
        c = a + b
        d = a * b + b**3
        c += c + 1
        c += 1 + c + (-a)
        d += d * 2 + max(b + a, 0.0)
        d += 3 * d + max(b - a, 0.0)
        f = (c - d) ** 2
        return f / 2.0 + 10.0 / f

    assert printed.split() == ["24.7041", "138.8338", "645.5773"]  # micrograd's README
    assert f"{g(-4.0, 2.0):.4f}" == "24.7041"
    assert f"{central(lambda a: g(a, 2.0), -4.0):.4f}" == "138.8338"
    assert f"{central(lambda b: g(-4.0, b), 2.0):.4f}" == "645.5773"


def _pytorch_and_jax_tools(ns, printed, shown, tmp_path):
    """softsign's rule passes gradcheck, jvp gives x sin y and its x-derivative sin y, the
    pullback, Jacobian and Hessian-vector product are the closed forms' (x*y, x+y, x; x²y), the
    hook makes x.grad 0.5 * 10 * 6, the print shows 9.00 9.0 9.0 9, and no_grad records no graph."""
    assert _shown(shown, "gradcheck(") is True
    assert ns["softsign"](Value(-3.0)).data == -3.0 / (1 + 3.0)
    assert _shown(shown, "jvp(") == pytest.approx((2.0 * math.sin(0.5), math.sin(0.5)), rel=1e-15)
    assert list(ns["out"]) == [2.0 * 3.0, 2.0 + 3.0]
    assert tuple(ns["pullback"]([1, 0])) == (3.0, 2.0)
    assert _shown(shown, "jacobian(") == [[3.0, 2.0], [1.0, 1.0], [1.0, 0.0]]
    assert _shown(shown, "hvp(") == [2 * 2.0 * 1.0 + 2 * 1.0 * 0.0, 2 * 1.0 * 1.0]  # [[2y, 2x], [2x, 0]] @ v
    assert ns["x"].grad == 0.5 * 10 * (2 * 3.0)
    assert printed == "9.00 9.0 9.0 9\n"
    doubled = ns["evaluate"](Value(4.0))
    assert doubled.data == 8.0 and doubled.parents == ()


def _drawing(ns, printed, shown, tmp_path):
    """The lecture neuron's bias makes o = tanh(-6 + b) = 1/sqrt(2), so do/dw1 = x1 * (1 - o²) = 1,
    and the drawing is written as an SVG file."""
    assert ns["o"].data == pytest.approx(1 / math.sqrt(2), rel=1e-15)
    assert ns["w1"].grad == pytest.approx(2.0 * (1 - 0.5), rel=1e-12) and ns["w2"].grad == 0.0
    assert "<svg" in (tmp_path / "neuron.svg").read_text()


def _explorer(ns, printed, shown, tmp_path):
    """y = a² + tanh(a) at 3 is 9 + tanh 3; the page is one HTML file and the GIF has a frame for
    each of the graph's three operations at least."""
    from PIL import Image

    assert ns["y"].data == pytest.approx(9 + math.tanh(3.0), rel=1e-15)
    assert (tmp_path / "backward.html").read_text().startswith("<!DOCTYPE html>")
    with Image.open(tmp_path / "backward.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames >= 3


def _training_loop(ns, printed, shown, tmp_path):
    """signed_labels turns 0/1 into -1/+1, and after 100 steps every training point is on its side."""
    assert ns["labels"] == [2 * t - 1 for t in ns["y"]]
    scores = [ns["model"](x).data for x in ns["X"]]
    assert all((s > 0) == (label > 0) for s, label in zip(scores, ns["labels"]))


def _training_view(ns, printed, shown, tmp_path):
    """The recorded run is saved as one HTML page, and the loop trained the model as the one above does."""
    assert (tmp_path / "training.html").read_text().startswith("<!DOCTYPE html>")
    scores = [ns["model"](x).data for x in ns["X"]]
    assert sum((s > 0) == (label > 0) for s, label in zip(scores, ns["labels"])) >= 0.95 * len(scores)


def _own_modules(ns, printed, shown, tmp_path):
    """Scorer has (2+1)*8 + (8+1)*8 weights and biases in its MLP, 8+1 in its head and one
    temperature: 106, the first named body.layers.0.weight[0][0]; the saved file loads into a new
    Scorer and the optimizer's state into a new Adam."""
    assert printed.split() == [str((2 + 1) * 8 + (8 + 1) * 8 + (8 + 1) + 1), "body.layers.0.weight[0][0]"]
    copy = ns["Scorer"]()
    copy.load(tmp_path / "scorer.json")
    assert copy.state_dict() == ns["model"].state_dict() != ns["Scorer"]().state_dict()
    model = ns["Scorer"]()
    opt = ns["optim"].Adam([{"params": model.body.parameters(), "lr": 0.01},
                            {"params": model.head.parameters() + [model.temperature]}], lr=0.05)
    opt.load_state_dict(json.loads((tmp_path / "opt.json").read_text()))
    assert opt.state_dict() == ns["opt"].state_dict()


def _higher_order(ns, printed, shown, tmp_path):
    """f'(0.7) and f''(0.7) of f = sin(x) x³ are the closed forms', Rosenbrock's Hessian at (1, 1)
    is [[802, -400], [-400, 200]], and gradcheck passes."""
    x = 0.7
    assert _shown(shown, "grad(f)") == pytest.approx(math.cos(x) * x**3 + 3 * x**2 * math.sin(x), rel=1e-12)
    second = -math.sin(x) * x**3 + 6 * x**2 * math.cos(x) + 6 * x * math.sin(x)
    assert _shown(shown, "grad(grad(f))") == pytest.approx(second, rel=1e-12)
    assert _shown(shown, "hessian(") == [[802, -400], [-400, 200]]
    assert _shown(shown, "gradcheck(") is True


def _compiled(ns, printed, shown, tmp_path):
    """The compiled step computes the loss the engine computes on the same weights, it trained the
    model, and the block prints the code it runs."""
    nn_, losses, data = ns["nn"], ns["losses"], ns["data"]
    model, X, y = ns["model"], ns["X"], ns["y"]
    eager = losses.hinge([model(x) for x in X], data.signed_labels(y)) + losses.l2(model.parameters(), 1e-4)
    assert ns["step"]() == pytest.approx(eager.data, rel=1e-12)
    assert isinstance(model, nn_.MLP)
    assert all((model(x).data > 0) == (label == 1) for x, label in zip(X, y))
    assert printed == ns["step"].source + "\n"


# (a text only that block holds, its check, whether it runs Graphviz's dot)
CLAIMS = [
    ("g += 10.0 / f", _micrograd_example, False),
    ("@primitive(", _pytorch_and_jax_tools, False),
    ("save_graph(", _drawing, True),
    ("save_animation(", _explorer, True),
    ("# 4. update", _training_loop, False),
    ("TrainingRecorder(", _training_view, False),
    ("class Scorer(nn.Module)", _own_modules, False),
    ("hessian(", _higher_order, False),
    ("step = compile(", _compiled, False),
]


def _check_of(block: str):
    found = [(check, dot) for marker, check, dot in CLAIMS if marker in block]
    return found[0] if len(found) == 1 else (None, False)


def test_every_block_has_its_claims_checked():
    """Each python block of the README is matched by exactly one check below (a new block needs one)."""
    assert [_check_of(block)[0] is not None for block in BLOCKS] == [True] * len(BLOCKS)
    assert len({_check_of(block)[0] for block in BLOCKS}) == len(BLOCKS)


@pytest.mark.parametrize(
    "index", [pytest.param(i, marks=needs_dot) if _check_of(b)[1] else i for i, b in enumerate(BLOCKS)]
)
def test_every_block_runs_and_shows_what_it_says(index, tmp_path):
    """Each python block of the README runs as written, and what it prints and computes is what
    its comments and text claim, checked against numbers worked out independently."""
    check, _ = _check_of(BLOCKS[index])
    namespace, printed, shown = run_block(BLOCKS[index], tmp_path)
    claimed = re.findall(r"^\s*print\(.*\)\s*#\s*(.*)$", BLOCKS[index], flags=re.M)  # print(...)  # 9.00 ...
    if claimed and len(printed.splitlines()) == len(claimed):
        assert all(line in comment for line, comment in zip(printed.splitlines(), claimed))
    check(namespace, printed, shown, tmp_path)


def test_graph_command_prints_what_the_readme_shows(tmp_path):
    """`autograd-tiny graph` prints the lines the README shows (the drawing written as .dot here)."""
    shown = re.search(r"```\n\$ (autograd-tiny graph .*?)\n(.*?)```", README, flags=re.S)
    command, output = shown.group(1), shown.group(2)
    argv = shlex.split(command)[2:]
    argv[argv.index("-o") + 1] = "neuron.dot"  # no need for the dot program here
    run = subprocess.run(
        [sys.executable, "-m", "autograd_tiny", "graph", *argv], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert run.returncode == 0, run.stderr
    want = output.strip().replace("neuron.svg", "neuron.dot").splitlines()
    assert run.stdout.strip().splitlines() == want
    assert (tmp_path / "neuron.dot").exists()
