"""Rendering drawings: graphs that used to hang render in seconds; `dot` failing, killed or too slow
is one clear error."""

from __future__ import annotations

import os
import random
import resource
import stat
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import SVG, needs_dot

from autograd_tiny import Value
from autograd_tiny.see.dot import GraphvizNotFoundError, RenderError
from autograd_tiny.see.draw import draw_dot, save_graph

CPU_LIMIT = (
    20.0  # seconds of dot's CPU time per drawing; a few tenths were measured on a shared 2-core machine
)


def benchmark_chain(steps: int) -> Value:
    """The README's benchmark graph, z = tanh(z * c) + x: x and c are used at every step."""
    x, c = Value(0.5, label="x"), Value(0.9, label="c")
    z = x
    for _ in range(steps):
        z = (z * c).tanh() + x
    return z


def sum_of_x(terms: int) -> Value:
    """x + x + ... + x, built one + at a time: x feeds every + of a long chain."""
    x = Value(1.0, label="x")
    y = x
    for _ in range(terms - 1):
        y = y + x
    return y


def random_deep(ops: int, seed: int = 0) -> Value:
    """Each op takes the latest value and one picked at random: a deep graph with long skips."""
    rng = random.Random(seed)
    pool = [Value(rng.uniform(-1, 1), label=f"x{i}") for i in range(3)]
    for _ in range(ops):
        a, b = pool[-1], rng.choice(pool)
        pool.append(rng.choice([a + b, a * b, (a * b).tanh(), a / (b * b + 1.0)]))
    return pool[-1]


def dense_chain(n: int) -> Value:
    """Each value is the sum of all the values before it: n²/2 edges, most of them long."""
    values = [Value(0.1, label="x")]
    for _ in range(n):
        values.append(Value.sum(values))
    return values[-1]


def collapsed_mlp():
    nn = pytest.importorskip("autograd_tiny.nn")
    model = nn.MLP(2, [60, 60, 1], seed=0)
    return model([Value(1.0, label="x1"), Value(-1.0, label="x2")]), {"collapse": "neuron", "model": model}


SHAPES = {  # name: (root, draw_dot options); the first two hung (49 s and over 13 minutes) before
    "benchmark chain, 40 steps": lambda: (benchmark_chain(40), {}),
    "x + x + ... + x, 100 terms": lambda: (sum_of_x(100), {}),
    "benchmark chain at the cap (160 steps)": lambda: (benchmark_chain(160), {}),
    "x + x + ... + x at the cap (499 terms)": lambda: (sum_of_x(499), {}),
    "x + x + ... + x at the cap, top to bottom": lambda: (sum_of_x(499), {"rankdir": "TB"}),
    "random deep graph with long skips, at the cap": lambda: (random_deep(265), {}),
    "all-to-all sums at the edge cap": lambda: (dense_chain(98), {}),
    "collapsed MLP(2, [60, 60, 1])": collapsed_mlp,
}


@needs_dot
@pytest.mark.parametrize("shape", list(SHAPES))
def test_graphs_that_used_to_hang_render_in_seconds(shape, tmp_path):
    """Each graph shape that made dot run for minutes renders within CPU_LIMIT seconds of dot's CPU
    time (120 s of wall time at most), and the SVG has every node the drawing holds."""
    root, options = SHAPES[shape]()
    root.backward()
    drawing = draw_dot(root, timeout=120, **options)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    path = save_graph(drawing, tmp_path / "g.svg")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < CPU_LIMIT, f"{shape}: dot took {cpu:.1f} s of CPU"
    svg = ET.parse(path).getroot()
    drawn = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "node"]
    values, ops, _ = drawing.counts
    assert len(drawn) == values + ops


# ---------------------------------------------------------------------- when dot fails


def fake_dot(tmp_path, monkeypatch, script: str):
    """Put a program named `dot` running `script` (sh) first on PATH."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    program = folder / "dot"
    program.write_text("#!/bin/sh\n" + script + "\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")


def small_drawing(**options):
    x = Value(2.0, label="x")
    y = (x * 3).tanh()
    y.backward()
    return draw_dot(y, **options)


def attempts(drawing, tmp_path):
    """Every way a drawing gets rendered: save_graph, pipe, render and Jupyter's inline SVG."""
    return {
        "save_graph": lambda: save_graph(drawing, tmp_path / "g.svg"),
        "pipe": lambda: drawing.pipe(),
        "render": lambda: drawing.render(tmp_path / "r"),
        "jupyter": lambda: drawing._repr_mimebundle_(),
    }


@pytest.mark.skipif(os.name != "posix", reason="the fake dot is a shell script")
@pytest.mark.parametrize(
    "script, reason",
    [
        ("cat >/dev/null; echo 'Error: <stdin>: syntax error in line 3' >&2; exit 1",
         "failed (exit status 1): Error: <stdin>: syntax error in line 3"),
        ("cat >/dev/null; kill -KILL $$", "was killed by signal SIGKILL"),
        ("cat >/dev/null; kill -SEGV $$", "was killed by signal SIGSEGV"),
    ],
)  # fmt: skip
def test_dot_failing_or_killed_is_one_line_naming_it(tmp_path, monkeypatch, script, reason):
    """When dot exits with an error or is killed, every rendering path raises one RenderError line
    saying so (and what dot said), and no picture or temporary file is left."""
    drawing = small_drawing()
    fake_dot(tmp_path, monkeypatch, script)
    for way, attempt in attempts(drawing, tmp_path).items():
        with pytest.raises(RenderError) as caught:
            attempt()
        message = str(caught.value)
        assert "\n" not in message and f"Graphviz's dot {reason}" in message, (way, message)
        assert not isinstance(caught.value, GraphvizNotFoundError)
    assert str(pytest.raises(RenderError, attempts(drawing, tmp_path)["save_graph"]).value).startswith(
        "save_graph: cannot write g.svg: "
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "r"]  # r: the DOT source render saves first


@pytest.mark.skipif(os.name != "posix", reason="the fake dot is a shell script")
def test_dot_past_its_time_limit_is_stopped(tmp_path, monkeypatch):
    """A dot that would run for a minute is stopped at draw_dot's timeout (0.5 s) with one line saying
    so and how to allow more time; nothing is written."""
    drawing = small_drawing(timeout=0.5)
    fake_dot(tmp_path, monkeypatch, "cat >/dev/null; exec sleep 60")
    for way, attempt in attempts(drawing, tmp_path).items():
        start = time.monotonic()
        with pytest.raises(RenderError) as caught:
            attempt()
        assert time.monotonic() - start < 30, way  # stopped, not waited for
        message = str(caught.value)
        assert "\n" not in message and "ran for more than 0.5 s and was stopped" in message, (way, message)
        assert "timeout=None" in message
    assert not (tmp_path / "g.svg").exists()


def test_timeout_must_be_a_positive_number():
    """draw_dot refuses a timeout that is not a positive number of seconds, naming the value."""
    for bad in (0, -1.0, "10", True):
        with pytest.raises(ValueError, match=f"timeout must be a positive number.*{bad!r}"):
            small_drawing(timeout=bad)


def test_graphviz_not_found_is_a_render_error():
    """GraphvizNotFoundError is a RenderError, so one except clause catches every rendering failure."""
    assert issubclass(GraphvizNotFoundError, RenderError) and issubclass(RenderError, RuntimeError)


@needs_dot
def test_render_writes_the_source_and_the_picture(tmp_path):
    """drawing.render(name) saves the DOT source as name and the picture as name.svg (or outfile=)."""
    drawing = small_drawing()
    out = drawing.render(tmp_path / "g")
    assert out == os.fspath(tmp_path / "g.svg")
    assert (tmp_path / "g").read_text().startswith("digraph")
    assert ET.parse(out).getroot().tag == f"{SVG}svg"
    png = drawing.render(outfile=tmp_path / "h.png")
    assert Path(png).read_bytes().startswith(b"\x89PNG") and (tmp_path / "h.gv").exists()
