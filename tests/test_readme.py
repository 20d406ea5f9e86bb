"""The README tells the truth: its code blocks run as written and print what they say."""

import contextlib
import io
import math
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def run_block(code: str, tmp_path) -> tuple[dict, str]:
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out), _chdir(tmp_path):
        exec(compile(code, "README.md", "exec"), namespace)
    return namespace, out.getvalue()


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


def test_micrograd_example_prints_what_its_comments_say(tmp_path):
    """micrograd's README example prints micrograd's published numbers (24.7041, 138.8338, 645.5773)."""
    block = next(b for b in BLOCKS if "g += 10.0 / f" in b)
    _, printed = run_block(block, tmp_path)
    promised = re.findall(r"# prints ([-\d.]+)", block)
    assert promised == ["24.7041", "138.8338", "645.5773"]
    assert printed.split() == promised


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_every_block_runs(index, tmp_path):
    """Each python block of the README runs without error as written."""
    namespace, _ = run_block(BLOCKS[index], tmp_path)
    assert namespace


def test_training_block_learns_the_moons(tmp_path):
    """The four-step training loop of the README classifies every training point correctly."""
    block = next(b for b in BLOCKS if "# 4. update" in b)
    ns, _ = run_block(block, tmp_path)
    scores = [ns["model"](x).data for x in ns["X"]]
    assert all((s > 0) == (label > 0) for s, label in zip(scores, ns["labels"]))


def test_higher_order_block_values(tmp_path):
    """The higher-order block's claims hold against the closed forms it stands for."""
    block = next(b for b in BLOCKS if "hessian(" in b)
    ns, _ = run_block(block, tmp_path)
    x = 0.7
    assert ns["grad"](ns["f"])(x) == pytest.approx(math.cos(x) * x**3 + 3 * x**2 * math.sin(x), rel=1e-12)
    assert ns["hessian"](lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2)(1.0, 1.0) == [[802, -400], [-400, 200]]


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
