"""`autograd-tiny graph`: safe expressions, values and gradients against closed form, drawings, errors."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from conftest import SVG, needs_dot

from autograd_tiny.cli import main
from autograd_tiny.expr import ExprError, parse


@pytest.fixture(autouse=True)
def in_tmp(monkeypatch, tmp_path):
    """Every in-process run works in its own folder: without -o, `graph` draws to graph.svg there."""
    monkeypatch.chdir(tmp_path)


def run(capsys, *argv):
    """Run the CLI in-process: (exit status, {name: number} printed, stderr lines)."""
    status = main(["graph", *argv])
    captured = capsys.readouterr()
    printed = {}
    for line in captured.out.splitlines():
        if " = " in line:
            name, value = line.split(" = ")
            printed[name] = float(value)
    return status, printed, captured.err.splitlines()


def sech2(z):
    return 1 - math.tanh(z) ** 2


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


# expression, inputs, closed-form output, closed-form gradient of each input
CASES = [
    ("tanh(x*w + b)", {"x": 1, "w": -2, "b": 0.5}, math.tanh(-1.5),
     {"x": -2 * sech2(-1.5), "w": 1 * sech2(-1.5), "b": sech2(-1.5)}),
    ("(x*2+1).relu()", {"x": 1}, 3.0, {"x": 2.0}),
    ("x*x*x - 2/y", {"x": 1.5, "y": 4}, 1.5**3 - 0.5, {"x": 3 * 1.5**2, "y": 2 / 16}),
    ("log(x) * exp(y) + x**y", {"x": 2, "y": 0.5}, math.log(2) * math.exp(0.5) + 2**0.5,
     {"x": math.exp(0.5) / 2 + 0.5 * 2**-0.5, "y": math.log(2) * math.exp(0.5) + 2**0.5 * math.log(2)}),
    ("sqrt(x) + abs(y) + sin(x)*cos(y)", {"x": 4, "y": -1}, 2 + 1 + math.sin(4) * math.cos(-1),
     {"x": 0.25 + math.cos(4) * math.cos(-1), "y": -1 - math.sin(4) * math.sin(-1)}),
    ("sigmoid(x) + softplus(y) + leaky_relu(x, 0.1) + (-x).leaky_relu(slope=0.2)", {"x": -2, "y": 1},
     sigmoid(-2) + math.log1p(math.e) - 0.2 + 2, {"x": sigmoid(-2) * sigmoid(2) + 0.1 - 1, "y": sigmoid(1)}),
    ("-x + +y - 3", {"x": 1, "y": 2}, -2.0, {"x": -1.0, "y": 1.0}),
    ("2**x", {"x": 3}, 8.0, {"x": 8 * math.log(2)}),
    ("leaky_relu(slope=0.2, x=x) + x.leaky_relu(slope=0.3)", {"x": -2}, -0.4 - 0.6, {"x": 0.5}),
    ("-x**2 + 2**-y", {"x": 3, "y": 1}, -9 + 0.5, {"x": -6.0, "y": -0.5 * math.log(2)}),
    ("x**y**2", {"x": 2, "y": 1.5}, 2**2.25, {"x": 2.25 * 2**1.25, "y": 2**2.25 * math.log(2) * 3.0}),
    ("ｘ*2 + 𝐱*3 + x", {"ｘ": 1, "𝐱": 1, "x": 1}, 6.0, {"ｘ": 2.0, "𝐱": 3.0, "x": 1.0}),
    ("*".join(["x"] * 5000), {"x": 1.0001}, 1.0001**5000, {"x": 5000 * 1.0001**4999}),
    ("+".join(["x"] * 5000), {"x": 0.5}, 2500.0, {"x": 5000.0}),
]  # fmt: skip


@pytest.mark.parametrize("text, inputs, out, grads", CASES, ids=[c[0][:40] for c in CASES])
def test_values_and_gradients_match_closed_form(capsys, text, inputs, out, grads):
    """The printed output and every input's gradient equal the closed-form derivatives."""
    status, printed, err = run(capsys, text, *(f"{k}={v}" for k, v in inputs.items()), "--no-draw")
    assert status == 0 and err == []
    assert printed["out"] == pytest.approx(out, rel=1e-9)
    assert {k[: -len(".grad")] for k in printed if k != "out"} == set(grads)
    for name, g in grads.items():
        assert printed[f"{name}.grad"] == pytest.approx(g, rel=1e-9, abs=1e-12)


@needs_dot
def test_writes_an_svg_with_the_graph(capsys, tmp_path):
    """-o neuron.svg draws 4 inputs, 3 ops and the output with 4-digit data and grads from closed form."""
    path = tmp_path / "neuron.svg"
    status, printed, _ = run(capsys, "tanh(x*w + b)", "x=1", "w=-2", "b=0.5", "-o", str(path))
    assert status == 0
    root = ET.fromstring(path.read_bytes())
    nodes = [g for g in root.iter(f"{SVG}g") if g.get("class") == "node"]
    edges = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]
    assert len(nodes) == 6 + 3 and len(edges) == 3 + 3 + 2  # x w b x*w x*w+b out; *, +, tanh
    texts = [[t.text for t in g.iter(f"{SVG}text")] for g in nodes]
    g = sech2(-1.5)
    for row in (["x", "data 1", f"grad {-2 * g:.4g}"], ["w", "data -2", f"grad {g:.4g}"],
                ["b", "data 0.5", f"grad {g:.4g}"], [f"data {math.tanh(-1.5):.4g}", "grad 1"]):  # fmt: skip
        assert row in texts


def test_dot_output_and_drawing_options(capsys, tmp_path):
    """-o g.dot writes DOT source with the chosen rankdir, numbered ops, and x*x as two edges."""
    path = tmp_path / "g.dot"
    status, printed, _ = run(capsys, "x*x", "x=3", "-o", str(path), "--rankdir", "TB", "--number-backward",
                             "--hide-grad")  # fmt: skip
    assert status == 0 and printed == {"out": 9.0, "x.grad": 6.0}
    source = path.read_text()
    assert "rankdir=TB" in source and '"1: *"' in source and "grad" not in source
    assert source.count("v0 -> v1op") == 2


ERRORS = [
    (["tanh(x*w + b)", "x=1", "w=-2"], "column 12: no value for 'b'"),
    (["tanh(x)", "x=abc"], "bad value for 'x': 'abc' is not a number"),
    (["tanh(x)", "x"], "input 1 is 'x'; give inputs as NAME=NUMBER"),
    (["tanh(x)", "x=1", "x=2"], "'x' is given twice"),
    (["tanh(x)", "x=1", "q=2"], "unknown name 'q'"),
    (["log(x)", "x=-1"], "column 1, in 'log(x)': log: argument must be > 0, got -1.0"),
    (["x + 1/(x-1)", "x=1"], "column 5, in '1/(x-1)': div: division by zero"),
    (["x +", "x=1"], "at the end: expected a number, a name or '(' after '+'"),
    (["tanh(x", "x=1"], "at the end: '(' at column 5 was never closed"),
    (["foo(x)", "x=1"], "column 1: unknown function 'foo'"),
    (["x // 2", "x=1"], "column 3: operator '//' is not allowed"),
    (["x", "x=1", "-o", "g.jpg"], "cannot tell the format of 'g.jpg'"),
    (["", "x=1"], "the expression is empty"),
    # keyword arguments are bound as Python binds them, or refused: never read as another argument
    (["leaky_relu(slope=x)", "x=-2"], "column 11: leaky_relu() is missing its argument 'x'"),
    (["x.leaky_relu(x=2)", "x=-2"], "column 14: leaky_relu() got two values for 'x'"),
    (["leaky_relu(x, 0.1, slope=0.2)", "x=-2"], "column 20: leaky_relu() got two values for 'slope'"),
    (["tanh(y=x)", "x=1"], "column 6: tanh() has no argument 'y' (its arguments: x)"),
    (["leaky_relu(x, slope=x)", "x=1"], "leaky_relu: the slope must be a number, not depend on the inputs"),
    # non-finite numbers, in the inputs or in the expression, as `train` refuses them
    (["x", "x=nan"], "input 1: 'x' must be a finite number, got 'nan'"),
    (["x", "x=-inf"], "input 1: 'x' must be a finite number, got '-inf'"),
    (["x", "x=1e309"], "input 1: 'x' must be a finite number, got '1e309'"),
    (["x * 1e309", "x=1"], "column 5: the number 1e309 is too large for a float"),
    (["x + " + "9" * 400, "x=1"], "column 5: the number 999"),
    # names as written: a compatibility form of x is a name of its own, never x
    (["ｘ*2", "x=3"], "unknown name 'x' (given as x=...); the expression uses ｘ"),
    (["ｘ*2 + x"], "column 1: no value for 'ｘ'; give it as ｘ=NUMBER"),
    (["𝐱 + x", "x=3"], "column 1: no value for '𝐱'"),
    (["x*2", "--max-nodes", "0", "x=1"], "--max-nodes must be at least 1, got 0"),
    (["x*2", "x=1", "--bogus", "y=2"], "unrecognized arguments: --bogus y=2"),
]


@pytest.mark.parametrize("argv, message", ERRORS, ids=[e[1][:30] for e in ERRORS])
def test_errors_are_one_line_with_their_place(capsys, tmp_path, argv, message):
    """Each bad input exits with status 2 and one stderr line naming the problem and where it is."""
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert len(err) == 1 and err[0].startswith("autograd-tiny: error: graph")
    assert message in err[0]
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize(
    "text, message",
    [
        ("__import__('os')", "unknown function '__import__'"),
        ("x.__class__", "attribute access '.__class__'"),
        ("x.__class__()", "unknown method '.__class__()'"),
        ("x.data", "attribute access '.data'"),
        ("lambda: 1", "a lambda is not allowed"),
        ("(lambda: 1)()", "a lambda is not allowed"),
        ("tanh(x)(1)", "only the known functions can be called"),
        ("x[0]", "a subscript"),
        ("[x][0]", "a subscript"),
        ("'rm -rf'", "only numbers are allowed, got a string"),
        ("x if x else 1", "'if ... else'"),
        ("x < 1", "a comparison"),
        ("open('f')", "unknown function 'open'"),
        ("tanh", "'tanh' is a function"),
        ("x.tanh", "'.tanh' is a method: call it"),
        ("tanh(x, y=1)", "tanh() has no argument 'y'"),
        ("tanh(x, x)", "tanh() takes 1 argument (x), got 2"),
        ("x.tanh(1)", "tanh() takes no arguments, got 1"),
        ("tanh(*x)", "'*' unpacking is not allowed"),
        ("(x := 2)", "':='"),
        ("f'{x}'", "only numbers are allowed, got a string"),
        ("1j * x", "only real numbers are allowed, got 1j"),
        ("True + x", "only numbers are allowed, got True"),
        ("2x", "a name right after the number 2; to multiply, write 2*x"),
        ("x = 1", "'=' only names an argument"),
        ("x, y", "',' outside a call"),
        ("x y", "expected an operator before 'y'"),
        ("x)", "unmatched ')'"),
        ("x $ y", "unexpected character '$'"),
        ("x\u200b", "unexpected character U+200B (ZERO WIDTH SPACE)"),
        ("x\x00", "unexpected character U+0000"),
        ("x\ud800", "unexpected character U+D800 (half of a surrogate pair"),
        ("x\udcff", "unexpected character U+DCFF (the byte 0xFF: the text is not valid UTF-8)"),
        ("(" * 51 + "x" + ")" * 51, "parentheses and calls nested more than 50 deep"),
        ("tanh(" * 51 + "x" + ")" * 51, "parentheses and calls nested more than 50 deep"),
    ],
)
def test_the_grammar_rejects_everything_else(text, message):
    """Anything outside numbers, names, + - * / ** and known functions is an ExprError saying what and where."""
    with pytest.raises(ExprError, match="^(column|line|at).*" + re.escape(message)):
        parse(text)


def test_where_counts_characters_not_bytes():
    """Columns count characters, so non-ASCII names before the mistake do not shift it."""
    with pytest.raises(ExprError, match=r"^column 9: unexpected character '\$'"):
        parse("αβ + γδ $")
    with pytest.raises(ExprError, match=r"^line 2, column 3: unexpected character '\$'"):
        parse("x +\ny $")


def test_errors_from_a_real_process_have_no_traceback(tmp_path):
    """Run as a program, a bad expression prints one line and exits 2, with no Traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "autograd_tiny", "graph", "log(x) + __import__('os')", "x=1"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    assert "column 10: unknown function '__import__'" in done.stderr


def test_without_the_dot_program(tmp_path):
    """With no `dot` on PATH: -o g.dot works, -o g.svg is one line saying how to install Graphviz, no -o a note."""
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PATH"} | {"PATH": str(empty)}
    cmd = [sys.executable, "-m", "autograd_tiny", "graph", "tanh(x*w + b)", "x=1", "w=-2", "b=0.5"]
    ok = subprocess.run([*cmd, "-o", "g.dot"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
    bad = subprocess.run([*cmd, "-o", "g.svg"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and len(bad.stderr.splitlines()) == 1
    hints = ("apt-get install graphviz", "brew install graphviz", "conda install graphviz", "-o graph.dot")
    for hint in hints:
        assert hint in bad.stderr
    assert not (tmp_path / "g.svg").exists()
    default = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert default.returncode == 0 and default.stdout.startswith("out = ") and "x.grad = " in default.stdout
    assert default.stderr.startswith("autograd-tiny: note: no drawing in graph.svg: the Graphviz program 'dot'")
    assert len(default.stderr.splitlines()) == 1 and not (tmp_path / "graph.svg").exists()


@needs_dot
def test_without_o_it_draws_to_graph_svg_and_says_so(capsys, tmp_path):
    """With no -o, the drawing goes to graph.svg in the current folder, and the last line says so."""
    status = main(["graph", "x*y + 1", "x=2", "y=3"])
    out = capsys.readouterr().out.splitlines()
    assert status == 0 and out[-1] == "wrote graph.svg"
    root = ET.fromstring((tmp_path / "graph.svg").read_bytes())
    assert root.tag == f"{SVG}svg" and list(tmp_path.iterdir()) == [tmp_path / "graph.svg"]


def test_no_draw_prints_the_numbers_and_writes_nothing(capsys, tmp_path):
    """--no-draw prints the output and gradients and leaves the folder empty."""
    status, printed, err = run(capsys, "x*y + 1", "x=2", "y=3", "--no-draw")
    assert status == 0 and err == [] and printed == {"out": 7.0, "x.grad": 3.0, "y.grad": 2.0}
    assert list(tmp_path.iterdir()) == []


def test_inputs_may_come_after_options(capsys):
    """Options between or before the inputs are read as options, and every NAME=NUMBER as an input."""
    status, printed, _ = run(capsys, "x*y", "-o", "g.dot", "x=2", "--hide-grad", "y=5")
    assert status == 0 and printed == {"out": 10.0, "x.grad": 5.0, "y.grad": 2.0}


@pytest.mark.parametrize("option", ["-o", "--output=g.svg", "--no-draw", "--rankdir"])
def test_options_after_a_double_dash_get_a_hint(capsys, option):
    """After '--' everything is the expression or an input: an option there is refused with that hint."""
    status, _, err = run(capsys, "--", "-x", "x=1", option)
    assert status == 2 and len(err) == 1
    assert f"input 2 is {option!r}: after '--', every argument is the expression or an input" in err[0]


TOO_BIG = "+".join(["x"] * 600)  # 1,199 values and operations: more than the default --max-nodes 1000


def test_too_many_nodes_suggests_only_what_the_command_line_has(capsys, tmp_path):
    """A graph over --max-nodes: with -o, a one-line error; by default, a one-line note and exit 0; both name CLI options only."""
    status, printed, err = run(capsys, TOO_BIG, "x=1", "-o", "big.svg")
    assert status == 2 and printed["x.grad"] == 600.0 and len(err) == 1
    assert "--max-nodes 1000" in err[0] and "raise --max-nodes" in err[0]
    assert "max_nodes=" not in err[0] and "collapse" not in err[0] and "draw_dot" not in err[0]
    status, printed, err = run(capsys, TOO_BIG, "x=1")
    assert status == 0 and printed["out"] == 600.0 and len(err) == 1
    assert err[0].startswith("autograd-tiny: note: no drawing in graph.svg: the graph has more than --max-nodes 1000")
    assert list(tmp_path.iterdir()) == []


def test_a_long_expression_is_shortened_in_errors(capsys):
    """An error about a 10,000-character expression quotes it cut to a few dozen characters, not whole."""
    text = "*".join(["x"] * 4999) + "*"
    status, _, err = run(capsys, text, "x=1")
    assert status == 2 and len(err) == 1 and len(err[0]) < 200
    assert "at the end: expected a number, a name or '(' after '*'" in err[0] and " ... " in err[0]


@pytest.mark.parametrize("argv", [["-o", "g.svg"], ["--html", "g.html", "--no-draw"]])
def test_a_failing_dot_is_one_line_and_status_2(tmp_path, argv):
    """When Graphviz's dot fails, the command says so in one line naming the file, exit 2, no traceback."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dot").write_text("#!/bin/sh\necho 'Error: broken layout' >&2\nexit 1\n")
    (fake / "dot").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    cmd = [sys.executable, "-m", "autograd_tiny", "graph", "x*y", "x=1", "y=2", *argv]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1 and "Error: broken layout" in done.stderr
    assert done.stderr.startswith("autograd-tiny: error: graph: ") and "g." in done.stderr
    assert not (tmp_path / argv[1]).exists()
