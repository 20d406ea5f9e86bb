"""The documentation site, built and read as a learner would: `mkdocs build --strict` succeeds with no
warning, and a real Chromium (Debian's, driven by Playwright) opens every built page over a
loopback server, with every request that would leave the machine aborted and counted.

It checks that no page raises a JavaScript error or asks for anything outside; that the math is
rendered; that the drawing-graphs lesson has an explorer that steps with ArrowRight; that each
lesson says what it teaches and offers its notebook, with every live page the notebook made; that
the reference page of `Value` lists `backward` with its docstring; and that search finds "chain
rule". The build runs the notebooks (about a minute; less when .cache/lessons/ has them).
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import needs_browser

from autograd_tiny import Value

ROOT = Path(__file__).resolve().parent.parent
MISSING = [name for name in ("mkdocs", "material", "mkdocstrings", "nbclient", "playwright")
           if importlib.util.find_spec(name) is None]  # fmt: skip
pytestmark = [
    pytest.mark.skipif(bool(MISSING), reason=f"the docs extra is not installed ({', '.join(MISSING)}): "
                                             "pip install -e '.[docs]'"),  # fmt: skip
    *needs_browser,  # (the browser fixture is conftest's)
    pytest.mark.skipif(shutil.which("dot") is None, reason="the lessons draw graphs with the Graphviz program 'dot'"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site, built with --strict into a fresh folder."""
    folder = tmp_path_factory.mktemp("site") / "site"
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(folder)],
                         cwd=ROOT, capture_output=True, text=True, timeout=900,
                         env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert not re.search(r"^(WARNING|ERROR)\b", run.stderr, flags=re.M), run.stderr[-3000:]
    return folder


@pytest.fixture(scope="module")
def server(site):
    """A loopback HTTP server for the built site; yields its base URL."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class Tab:
    """A page of the site in a fresh context, recording errors, failed requests and requests to outside."""

    def __init__(self, browser, base: str):
        self.base = base
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.problems: list[str] = []
        self.outside: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)  # fmt: skip
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}")
                     if r.url.startswith(base) else None)  # fmt: skip

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.base) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self, path: str):
        self.page.goto(self.base + path, wait_until="load")
        self.page.wait_for_load_state("networkidle")
        return self.page

    def close(self):
        self.context.close()


@pytest.fixture
def tab(browser, server):
    t = Tab(browser, server)
    yield t
    t.close()


def pages(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))


def test_every_page_loads_with_no_error_and_no_request_outside(site, browser, server):
    """Every built page (lessons, reading, guide, reference) loads in Chromium with no JS error, no failed local request and nothing fetched from outside."""
    paths = pages(site)
    assert len(paths) >= 25
    lessons = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
    assert {f"lessons/{name}.html" for name in lessons} <= set(paths)
    for path in paths:
        t = Tab(browser, server)
        try:
            t.open(path)
            t.page.wait_for_timeout(200)  # MathJax and the explorers' scripts settle
            assert t.problems == [], (path, t.problems)
            assert t.outside == [], (path, t.outside)
        finally:
            t.close()


def test_math_is_rendered_offline(tab):
    """The lessons' and the reading's math ($a \\cdot a$, $d(a^2)/da = 2a$) is typeset by the MathJax shipped with the site."""
    for path in ("lessons/02_drawing_graphs.html", "reading.html"):
        page = tab.open(path)
        page.wait_for_function("() => document.querySelectorAll('.arithmatex mjx-container').length > 0")
        unrendered = page.evaluate("[...document.querySelectorAll('.arithmatex')].filter(e => !e.querySelector('mjx-container')).length")
        assert unrendered == 0, path
    assert tab.outside == [] and tab.problems == []


def test_the_drawing_lesson_has_an_explorer_that_steps_with_arrow_right(tab):
    """In the drawing-graphs lesson, an explorer steps forward with ArrowRight: its step goes from 0 to 1 and its explanation changes."""
    page = tab.open("lessons/02_drawing_graphs.html")
    frame_element = page.locator("iframe[srcdoc]").first
    frame_element.scroll_into_view_if_needed()
    frame = frame_element.content_frame
    frame.locator("#explanation").wait_for()
    before = frame.locator("#explanation").text_content()
    assert frame.locator("#scrub").input_value() == "0"
    frame.locator("#explanation").click()  # focus the explorer, as a learner clicks it
    page.keyboard.press("ArrowRight")
    assert frame.locator("#scrub").input_value() == "1"
    assert frame.locator("#explanation").text_content() != before
    page.keyboard.press("ArrowRight")
    assert frame.locator("#scrub").input_value() == "2"
    assert tab.outside == [] and tab.problems == []


def test_each_lesson_says_what_it_teaches_and_offers_its_notebook(tab, site):
    """Each lesson page opens with what it teaches and a download of its notebook, and holds every live page the notebook made."""
    sys.path.insert(0, str(ROOT / "docs" / "hooks"))
    try:
        import lessons  # the site's hook: the executed notebooks, from its cache
    finally:
        sys.path.remove(str(ROOT / "docs" / "hooks"))
    for notebook in lessons.notebooks():
        page = tab.open(f"lessons/{notebook.stem}.html")
        header = page.locator(".admonition").first.text_content()
        assert "What you will learn:" in header, notebook.name
        link = page.locator(f'a[download][href="{notebook.name}"]')
        assert link.count() == 1, notebook.name
        downloaded = tab.context.request.get(tab.base + f"lessons/{notebook.name}")
        assert downloaded.ok and json.loads(downloaded.body())["cells"], notebook.name
        executed = lessons._execute(notebook)
        live = sum("<iframe" in out.get("data", {}).get("text/html", "")
                   for cell in executed.cells for out in cell.get("outputs", []))  # fmt: skip
        assert page.locator(".lesson-output iframe").count() == live, notebook.name
        if "practice=True" in notebook.read_text():  # the practice pages, in the backprop-by-hand lesson
            assert live > 0, notebook.name
    assert tab.outside == [] and tab.problems == []


def test_the_value_reference_lists_backward_with_its_docstring(tab):
    """The reference page of Value has an entry for `backward` that shows its signature and its docstring's first line."""
    page = tab.open("reference/value.html")
    entry = page.locator('xpath=//*[@id="autograd_tiny.Value.backward"]/ancestor::div[contains(@class, "doc-object")][1]')
    assert entry.count() == 1
    text = " ".join(entry.text_content().split())
    first_line = inspect.getdoc(Value.backward).splitlines()[0].replace("``", "")
    assert first_line in text
    assert "create_graph" in text and "gradient" in text


def test_search_finds_the_chain_rule(tab):
    """Typing "chain rule" in the search box lists pages that speak of it, from the site's own index."""
    page = tab.open("index.html")
    page.locator("input.md-search__input").click()
    page.keyboard.type("chain rule", delay=30)
    results = page.locator(".md-search-result__item")
    results.first.wait_for(timeout=15_000)
    assert results.count() >= 2
    assert "chain rule" in page.locator(".md-search-result").text_content().lower()
    assert tab.outside == [] and tab.problems == []
