"""Helpers shared by the tests: a marker hook, and helpers several test files import with
``from conftest import ...``."""

from __future__ import annotations

import inspect
import shutil
import sys

import pytest

# A test that runs Graphviz's `dot` program is skipped where it is not installed.
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz program 'dot' is needed")

# The SVG namespace, as ElementTree spells tags: f"{SVG}g".
SVG = "{http://www.w3.org/2000/svg}"


# Chromium, driven by Playwright, for the page tests: the system's browser (never a downloaded
# one), started once for the whole session; tests that need it take the `browser` fixture.
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
needs_browser = [
    pytest.mark.skipif(sync_playwright is None, reason="Playwright is not installed (pip install playwright)"),
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for every page test of the session."""
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def painted(monkeypatch) -> list[str]:
    """Every text Pillow paints from now on, in order."""
    ImageDraw = pytest.importorskip("PIL.ImageDraw")
    texts = []
    paint = ImageDraw.ImageDraw.text

    def text(self, xy, words, *args, **kwargs):
        texts.append(words)
        return paint(self, xy, words, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", text)
    return texts


def central(f, x, h=1e-5):
    """Central difference of a float function (the independent oracle)."""
    return (f(x + h) - f(x - h)) / (2 * h)


def mlp_layers(weights: list[float], sizes: list[int], fan_in: int) -> list[list[tuple[list[float], float]]]:
    """An MLP's parameters() (each neuron's weights, then its bias, layer by layer) as layers of (w, b)."""
    layers, k = [], 0
    for size in sizes:
        layer = []
        for _ in range(size):
            layer.append((weights[k : k + fan_in], weights[k + fan_in]))
            k += fan_in + 1
        layers.append(layer)
        fan_in = size
    assert k == len(weights)
    return layers


def flat(x):
    """Nested lists as one flat list, in row-major order."""
    return [y for item in x for y in flat(item)] if isinstance(x, list) else [x]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that imports PyTorch (``pytest.importorskip("torch")``, in its body or at the top of
    its module) gets the marker ``torch``: CI runs the suite before PyTorch is installed, as a
    newcomer would, then installs it and runs ``pytest -m torch``."""
    wanted = 'importorskip("torch")'
    for item in items:
        function = getattr(item, "function", None)
        module = sys.modules.get(getattr(function, "__module__", ""), None)
        try:
            in_body = wanted in inspect.getsource(function)
            at_top = any(line.startswith("torch = ") and wanted in line for line in inspect.getsource(module).splitlines())
        except (OSError, TypeError):
            continue
        if in_body or at_top:
            item.add_marker(pytest.mark.torch)
