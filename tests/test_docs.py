"""The documentation's pages tell the truth: their examples run and print what they say, their
doctests pass, the command line prints what the page shows, the guided reading quotes sections of
engine.py that exist, and their links lead somewhere. (The built site itself, in a browser, is
tests/test_docs_site.py.)"""

import contextlib
import doctest
import io
import math
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md"))
ENGINE = ROOT / "autograd_tiny" / "engine.py"


def page(name: str) -> str:
    return (DOCS / name).read_text()


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def promised(block: str) -> list[str]:
    """What a block's comments say it prints, in order: the text after `# prints`."""
    return [p.strip() for p in re.findall(r"# prints (.*)$", block, flags=re.M)]


def run_session(blocks: list[str], tmp_path) -> tuple[dict, list[list[str]]]:
    """Run the blocks in order in one namespace, in an empty folder, as one reader's session;
    return the namespace and each block's printed lines."""
    namespace: dict = {}
    printed = []
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        for block in blocks:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(block, "docs", "exec"), namespace)
            printed.append(out.getvalue().splitlines())
    finally:
        os.chdir(old)
    return namespace, printed


# ---------------------------------------------------------------------- the tour


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tour")
    blocks = python_blocks(page("tour.md"))
    namespace, printed = run_session(blocks, folder)
    return blocks, namespace, printed, folder


def test_every_tour_block_prints_what_its_comments_say(tour):
    """Each block of the tour prints exactly the lines its `# prints` comments promise, and most promise something."""
    blocks, _, printed, _ = tour
    for block, lines in zip(blocks, printed):
        assert lines == promised(block)
    assert sum(bool(promised(b)) for b in blocks) >= 6


def test_tour_numbers_match_closed_forms(tour):
    """The tour's printed gradients are calculus: the hook's 0.5 * 10 * 2x at 3, the Hessian of Rosenbrock's function at (1, 1)."""
    blocks, ns, printed, _ = tour
    assert ns["x"].grad == 0.5 * 10 * 2 * 3.0
    hessian_block = next(i for i, b in enumerate(blocks) if "hessian(" in b)
    assert printed[hessian_block][0] == str([[802.0, -400.0], [-400.0, 200.0]])
    x = 0.7
    assert ns["first"] == pytest.approx(math.cos(x) * x**3 + 3 * x**2 * math.sin(x), rel=1e-12)
    assert ns["second"] == pytest.approx(-math.sin(x) * x**3 + 6 * x**2 * math.cos(x) + 6 * x * math.sin(x), rel=1e-12)


def test_tour_files_are_written(tour):
    """The tour's drawing, explorer page and training view are written where it says, each holding its graph."""
    _, ns, _, folder = tour
    assert "x1" in (folder / "neuron.dot").read_text()
    assert (folder / "backward.html").read_text().startswith("<!DOCTYPE html>")
    assert (folder / "training.html").stat().st_size > 10_000
    assert (folder / "scorer.json").exists() and (folder / "opt.json").exists()


def test_tour_compiled_step_trains_like_the_engine(tour):
    """The compiled training loop of the tour classifies the moons as the engine's loop does, and its source is Python."""
    _, ns, _, _ = tour
    model, X, y = ns["model"], ns["X"], ns["y"]
    predictions = [int(model(x).data > 0) for x in X]
    assert ns["data"].accuracy(predictions, y) == 1.0
    compile(ns["source"], "generated", "exec")  # it parses as Python


# ---------------------------------------------------------------------- doctests in the pages


@pytest.mark.parametrize("name", [p.relative_to(DOCS).as_posix() for p in PAGES if "```pycon" in p.read_text()])
def test_page_doctests_pass(name, tmp_path, monkeypatch):
    """Every ```pycon example on the page gives the output it shows (one doctest session per page)."""
    text = "\n".join(re.findall(r"```pycon\n(.*?)```", page(name), flags=re.S))
    monkeypatch.chdir(tmp_path)
    test = doctest.DocTestParser().get_doctest(text, {}, name, name, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out = io.StringIO()
    runner.run(test, out=out.write)
    assert runner.failures == 0, out.getvalue()
    assert runner.tries >= 5


def test_the_edges_page_shows_every_case_it_names():
    """At the edges has a worked example under every heading but the last (model files: test_files.py and test_nn.py)."""
    sections = re.split(r"^## ", page("edges.md"), flags=re.M)[1:]
    assert len(sections) >= 12
    for section in sections[:-1]:
        assert "```pycon" in section, section.splitlines()[0]


# ---------------------------------------------------------------------- PyTorch


def test_the_pytorch_page_bridge_example_runs(tmp_path, capsys):
    """The PyTorch page's block runs as written, prints the side-by-side table, and brings the same model back."""
    pytest.importorskip("torch")
    (block,) = [b for b in python_blocks(page("pytorch.md")) if "to_torch" in b]
    ns, printed = run_session([block], tmp_path)
    assert any("largest difference" in line for line in printed[0])
    assert ns["back"].state_dict() == ns["model"].state_dict()


def test_the_pytorch_install_command_is_the_one_the_bridge_names():
    """The install command on the PyTorch page is the CPU build of the version the bridge asks for and pyproject pins."""
    command = re.search(r"^ {4}(python3 -m venv .*torch.*)$", page("pytorch.md"), flags=re.M).group(1)
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in command
    assert '"torch==2.13.0"' in (ROOT / "pyproject.toml").read_text()
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in (ROOT / "autograd_tiny" / "bridge.py").read_text()


# ---------------------------------------------------------------------- the command line


def test_graph_command_prints_what_the_cli_page_shows(tmp_path):
    """`autograd-tiny graph` prints the lines the page shows (the drawing written as .dot here)."""
    shown = re.search(r"```\n\$ (autograd-tiny graph .*?)\n(.*?)```", page("cli.md"), flags=re.S)
    command, output = shown.group(1), shown.group(2)
    argv = shlex.split(command)[2:]
    argv[argv.index("-o") + 1] = "neuron.dot"  # no need for the dot program here
    run = subprocess.run([sys.executable, "-m", "autograd_tiny", "graph", *argv], capture_output=True, text=True,
                         cwd=tmp_path, timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines() == output.strip().replace("neuron.svg", "neuron.dot").splitlines()
    # and the numbers are calculus: out = tanh(x*w + b), d out/dx = (1 - out^2) * w
    out = math.tanh(1 * -2 + 0.5)
    assert float(run.stdout.split()[2]) == pytest.approx(out, abs=1e-10)
    assert float(run.stdout.split()[5]) == pytest.approx((1 - out**2) * -2, abs=1e-10)


def test_the_cli_page_asks_for_every_subcommand_help():
    """The page has a place for each subcommand's full --help (the site's build writes it there), and its examples parse."""
    from autograd_tiny.cli import build_parser

    text = page("cli.md")
    subcommands = build_parser()._subparsers._group_actions[0].choices  # argparse keeps them here
    for name in subcommands:
        assert f"<!-- autograd-tiny {name} --help -->" in text
    for line in re.findall(r"^\$ autograd-tiny (train.*?)(?:\s+#.*)?$", text, flags=re.M):
        args = build_parser().parse_args(shlex.split(line))
        assert args.command == "train"


# ---------------------------------------------------------------------- speed


def test_the_speed_page_names_benchmarks_that_exist():
    """Every `python benchmarks/...` command on the speed page names a script of benchmarks/, and each script is named."""
    named = set(re.findall(r"python (benchmarks/bench_\w+\.py)", page("speed.md")))
    assert named == {p.relative_to(ROOT).as_posix() for p in (ROOT / "benchmarks").glob("bench_*.py")}


# ---------------------------------------------------------------------- the guided reading


SECTION = re.compile(r'^--8<-- "autograd_tiny/engine\.py:([a-z][-_0-9a-z]*)"$', flags=re.M)


def engine_section(name: str) -> str:
    """The lines between `--8<-- [start:name]` and `--8<-- [end:name]` (or the end of the file), as snippets reads them."""
    lines = ENGINE.read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if f"--8<-- [start:{name}]" in line]
    ends = [i for i, line in enumerate(lines) if f"--8<-- [end:{name}]" in line]
    assert len(starts) == 1, f"engine.py has {len(starts)} starts of the section {name!r}"
    end = ends[0] if ends else len(lines)
    return "\n".join(line for line in lines[starts[0] + 1:end] if "--8<--" not in line)


def test_the_reading_quotes_the_engine_in_its_reading_order():
    """The guided reading quotes, in order, the sections of engine.py for the rules, Value, recording, the walk and backward."""
    quoted = SECTION.findall(page("reading.md"))
    assert quoted == ["rules", "value", "record", "walk", "backward"]
    lines = ENGINE.read_text().splitlines()
    starts = [next(i for i, line in enumerate(lines) if f"[start:{name}]" in line) for name in quoted]
    assert starts == sorted(starts)


@pytest.mark.parametrize("name", ["rules", "value", "record", "walk", "backward"])
def test_each_quoted_section_holds_what_the_reading_says(name):
    """Each quoted section exists in engine.py and holds the code the page talks about."""
    text = engine_section(name)
    expected = {
        "rules": ["class Op:", 'MUL        = Op("*"', "BUILTIN_OPS = ("],
        "value": ["class Value:", "def __add__", "ADD.rule(", "record(ADD"],
        "record": ["def record(", "def _unary(", "def _binary(", "def apply("],
        "walk": ["def topological_order("],
        "backward": ["def backpropagate(", "parent.grad += local * g  # the chain rule"],
    }[name]
    for piece in expected:
        assert piece in text, f"{piece!r} is not in the section {name!r}"
    other_sections = {"rules": "class Value:", "value": "def exp(", "record": "def topological_order(",
                      "walk": "def backpropagate("}  # fmt: skip
    if name in other_sections:
        assert other_sections[name] not in text, f"the section {name!r} runs on into the next part"


def test_every_section_a_page_quotes_exists():
    """Every snippet a page quotes from the package names a section that engine.py (or the README) marks."""
    for path in PAGES:
        for file, name in re.findall(r'^--8<-- "([^":]+):([a-z][-_0-9a-z]*)"$', path.read_text(), flags=re.M):
            text = (ROOT / file).read_text()
            assert f"--8<-- [start:{name}]" in text, f"{path.name} quotes {file}:{name}, which is not marked"


# ---------------------------------------------------------------------- links


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_every_relative_link_of_a_page_exists(path):
    """A page's links and pictures that point inside the site name files that exist (lessons are made by the build)."""
    for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        where = (path.parent / target.split("#")[0]).resolve()
        if where.parent == DOCS / "lessons":
            assert (ROOT / "notebooks" / f"{where.stem}.ipynb").exists(), target
        else:
            assert where.exists(), f"{path.name}: {target}"


# ---------------------------------------------------------------------- the hooks' pure parts


def hook(name: str):
    pytest.importorskip("mkdocs")
    sys.path.insert(0, str(DOCS / "hooks"))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(DOCS / "hooks"))


def test_docstring_examples_become_code_and_arithmetic_stays_plain():
    """In the API pages, a docstring's >>> lines are fenced as code (indented ones too), and w[0]*x[0] or e**x is not emphasis."""
    pytest.importorskip("griffe")
    sys.path.insert(0, str(DOCS / "hooks"))
    try:
        from griffe_docstrings import fence_examples, plain_operators
    finally:
        sys.path.remove(str(DOCS / "hooks"))
    fenced = fence_examples("Text.\n\nExample:\n    >>> x = 1\n    >>> x\n    1\n\nAfter.")
    assert "    ```pycon\n    >>> x = 1\n    >>> x\n    1\n    ```" in fenced and fenced.endswith("After.")
    assert plain_operators("w[0]*x[0] and e**v, **bold**, `a*b`") == "w[0]\\*x[0] and e\\*\\*v, **bold**, `a*b`"
    assert plain_operators("m[i][j]") == "m[i]&#91;j]"


def test_a_notebook_becomes_a_lesson_page():
    """A notebook's text, code, hidden code, outputs and links become the lesson page's Markdown, with its header."""
    nbformat = pytest.importorskip("nbformat")
    lessons = hook("lessons")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 1. A title\n\nSee [the next](02_next.ipynb), ![a gif](../docs/x.gif) "
                                      "and [a script](../benchmarks/b.py)."),  # fmt: skip
        nbformat.v4.new_code_cell("print(1 < 2)", outputs=[nbformat.v4.new_output("stream", text="True & <b>\n")]),
        nbformat.v4.new_code_cell("answer = 42", metadata={"jupyter": {"source_hidden": True}}),
        nbformat.v4.new_code_cell("page", outputs=[nbformat.v4.new_output(
            "display_data", data={"text/html": "<iframe srcdoc='x'></iframe>", "text/plain": "page"})]),
    ]  # fmt: skip
    markdown, pictures, outputs = lessons.lesson(nb, "01_title", "what it teaches.", {"01_title", "02_next"})
    assert markdown.startswith("# 1. A title\n\n!!! abstract")
    assert "**What you will learn:** What it teaches." in markdown
    assert "[01_title.ipynb](01_title.ipynb){: download }" in markdown
    assert "[the next](02_next.md)" in markdown and "![a gif](../x.gif)" in markdown
    assert "a script." in markdown and "benchmarks" not in markdown  # not on the site: its text only
    assert '??? note "The code' in markdown and "    answer = 42" in markdown
    assert list(outputs.values()) == ['<div class="lesson-output"><pre class="lesson-stdout">True &amp; &lt;b&gt;</pre></div>',
                                      "<div class=\"lesson-output\"><iframe srcdoc='x'></iframe></div>"]  # fmt: skip
    assert all(key in markdown for key in outputs)
    assert pictures == {}
