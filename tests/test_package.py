"""The package as a whole: a light, instant import, and docstring examples that stay true."""

import doctest
import importlib
import pkgutil
import subprocess
import sys

import pytest

import autograd_tiny

# Every module of the package has examples, but the command line (tested by running it) and the
# subpackages' __init__ files, which only say what the package holds.
MODULES = sorted(
    m.name.removeprefix("autograd_tiny.")
    for m in pkgutil.walk_packages(autograd_tiny.__path__, "autograd_tiny.")
    if not m.ispkg and m.name not in ("autograd_tiny.cli", "autograd_tiny.__main__")
)


def test_import_pulls_in_nothing_heavy():
    """`import autograd_tiny` loads neither matplotlib, tqdm, torch, numpy nor graphviz's renderer."""
    code = (
        "import sys, autograd_tiny; "
        "heavy = [m for m in ('matplotlib', 'tqdm', 'torch', 'numpy', 'graphviz', 'IPython') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    """Every runnable example in a module's docstrings gives the output it shows."""
    module = importlib.import_module(f"autograd_tiny.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
