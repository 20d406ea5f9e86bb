"""The README tells the truth and stays a front door: its two commands come first, its code blocks
print what they say, its learning path lists every notebook, and its links lead somewhere."""

import contextlib
import io
import math
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)
SETUP = "python3 -m venv .venv && .venv/bin/pip install -e '.[all]' && .venv/bin/autograd-tiny train"
TEST = "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/python -m pytest --nbmake tests notebooks"


def run_block(code: str, tmp_path) -> tuple[dict, list[str]]:
    """Run a block as written, in an empty folder; return its namespace and the lines it printed."""
    namespace: dict = {}
    out = io.StringIO()
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README.md", "exec"), namespace)
    finally:
        os.chdir(old)
    return namespace, out.getvalue().splitlines()


def promised(block: str) -> list[str]:
    """What a block's comments say it prints: the text after `# prints`, up to a comma."""
    return [p.split(",")[0].strip() for p in re.findall(r"# prints (.*)$", block, flags=re.M)]


def test_the_two_commands_are_the_first_commands_word_for_word():
    """The first two indented command lines are the set-up-and-train and the test commands, as .ci/run looks them up."""
    commands = re.findall(r"^ {4}(\S.*)$", README, flags=re.M)
    assert commands[:2] == [SETUP, TEST]
    # .ci/run takes the first indented line matching each of these: they must be the same two lines
    for pattern, want in (("autograd-tiny train", SETUP), ("-m pytest", TEST)):
        assert next(c for c in commands if re.search(rf"python3 -m venv .*{re.escape(pattern)}", c)) == want


def test_micrograd_example_prints_what_its_comments_say(tmp_path):
    """micrograd's README example prints micrograd's published numbers (24.7041, 138.8338, 645.5773)."""
    block = next(b for b in BLOCKS if "g += 10.0 / f" in b)
    _, printed = run_block(block, tmp_path)
    assert promised(block) == ["24.7041", "138.8338", "645.5773"]
    assert printed == promised(block)


def test_every_block_promises_what_it_prints(tmp_path):
    """Every python block of the README says in `# prints` comments what it prints, and prints exactly that."""
    assert len(BLOCKS) >= 2
    for block in BLOCKS:
        _, printed = run_block(block, tmp_path)
        assert promised(block), f"a README block shows no output to check:\n{block}"
        assert printed == promised(block)


def test_tour_block_matches_calculus_and_saves_a_page(tmp_path):
    """The tour's numbers are the closed forms (2a + 1 - tanh(a)^2 at 3; d2(x^3)/dx2 = 6x at 2) and its page holds the graph."""
    block = next(b for b in BLOCKS if "explore(" in b)
    ns, printed = run_block(block, tmp_path)
    assert float(printed[0]) == pytest.approx(2 * 3 + 1 - math.tanh(3) ** 2, abs=5e-5)
    assert float(printed[1]) == pytest.approx(6 * 2.0)
    page = (tmp_path / "backward.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "a*a" in page
    assert ns["a"].grad == pytest.approx(2 * 3 + 1 - math.tanh(3) ** 2, rel=1e-12)


def test_the_learning_path_lists_every_notebook_once_in_order():
    """The learning path has one line per notebook in notebooks/, in order, each linking the notebook's file."""
    section = README[README.index("## The learning path"):README.index("## A short tour")]
    linked = re.findall(r"^- \[[^\]]+\]\(notebooks/([^)]+\.ipynb)\): \S", section, flags=re.M)
    on_disk = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
    assert [name[:2] for name in linked] == sorted({name[:2] for name in linked})
    assert set(on_disk) <= set(linked), "a notebook without its line in the README's learning path"
    assert linked == on_disk, "a line in the learning path links a notebook that is not there"


def test_the_learning_path_names_the_explorer_and_the_practice_pages():
    """The learning path ends with the explorer and the practice pages, with the calls that make them."""
    section = README[README.index("## The learning path"):README.index("## A short tour")]
    assert "`explore(root)`" in section
    assert "`explore(root, practice=True)`: practise the backward pass on your own graph, checked edge by edge" in section


def test_every_relative_link_and_picture_exists():
    """Every link and picture of the README that points into the repository names a file that exists."""
    targets = re.findall(r"\]\(([^)\s]+)\)", README)
    local = [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t)]
    assert local
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing


def test_the_readme_is_a_front_door():
    """At most about 200 lines, in this order: what it is, the commands, micrograd's example, the
    learning path, a tour, the reference, the site, and the license and data at the end."""
    assert len(README.splitlines()) <= 200
    intro = next(p for p in README.split("\n\n") if "autograd_tiny is a" in p)
    text = " ".join(line for line in intro.splitlines() if not line.startswith("<!--"))
    assert len(re.findall(r"[.!?](\s|$)", text)) == 3, "what it is, in three sentences"
    order = ["autograd_tiny is a", "![", "## Start here", "## The micrograd example", "## The learning path",
             "## A short tour", "## Reference", "## The documentation site", "## License and data"]
    positions = [README.index(marker) for marker in order]
    assert positions == sorted(positions)


def test_the_site_command_builds_with_the_docs_extra():
    """The README's one command for the site installs the `docs` extra, which pyproject.toml defines, and runs mkdocs."""
    command = next(c for c in re.findall(r"^ {4}(\S.*)$", README, flags=re.M) if "mkdocs" in c)
    assert "pip install -e '.[docs]'" in command and command.endswith("mkdocs serve")
    assert re.search(r"^docs = \[", (ROOT / "pyproject.toml").read_text(), flags=re.M)
    assert (ROOT / "mkdocs.yml").exists()
