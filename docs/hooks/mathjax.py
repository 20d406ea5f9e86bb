"""MkDocs hook: MathJax's files shipped with the site, so that math renders offline.

They come from the pip package django-static-mathjax (MathJax 3.2.2, Apache-2.0; it needs no
Django to be read from): the one combined script with every TeX extension, so nothing is fetched
on demand, its fonts, which it finds beside itself, and its license.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

SCRIPT = "tex-chtml-full.js"  # named in mkdocs.yml's extra_javascript, under assets/mathjax/
FONTS = "output/chtml/fonts/woff-v2"


def _mathjax() -> Path:
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise PluginError("MathJax is missing: pip install -e '.[docs]' (it comes with django-static-mathjax)")
    return Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax"


def on_files(files: Files, config) -> Files:
    """Add the script, its fonts and its license under assets/mathjax/."""
    root = _mathjax()
    es5 = root / "es5"
    wanted = [(es5 / SCRIPT, SCRIPT), (root / "LICENSE", "LICENSE")]
    wanted += [(font, f"{FONTS}/{font.name}") for font in sorted((es5 / FONTS).glob("*.woff"))]
    for path, name in wanted:
        if not path.is_file():
            raise PluginError(f"MathJax is incomplete: {path} is missing")
        files.append(File.generated(config, f"assets/mathjax/{name}", abs_src_path=str(path)))
    return files
