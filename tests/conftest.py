"""Helpers shared by the tests."""

from __future__ import annotations

import inspect
import sys

import pytest


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
