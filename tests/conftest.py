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


def central(f, x, h=1e-5):
    """Central difference of a float function (the independent oracle)."""
    return (f(x + h) - f(x - h)) / (2 * h)


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
