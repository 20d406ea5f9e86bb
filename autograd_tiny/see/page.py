"""The page kit the explorer and the training view share: one self-contained HTML file.

A page is its body (HTML the caller escapes), its data as JSON inside a script element, the
scripts and the style sheet of see/assets/ inlined, and a Content-Security-Policy that allows
no request and runs only the page's own script. User text (labels, formula texts) is data:
``html.escape`` in the body, `script_json` in the data, and the scripts put it in the document
with ``textContent`` only. Jupyter shows a page in a sandboxed iframe (`iframe`).

Example:
    >>> document = page("a & b", "explorer", "<main></main>", {"label": "</script>"})
    >>> "<title>a &amp; b</title>" in document, document.count("<script")
    (True, 2)
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from typing import Any

from .style import format_number

__all__ = [
    "MARGIN",
    "asset",
    "controls",
    "frame_height",
    "iframe",
    "number",
    "page",
    "script_json",
    "svg_element",
]

MARGIN = 40  # points above and below a drawing on a page, where edge labels may go


def number(x: Any) -> list[str]:
    """A number for a page: [as drawings show it (`format_number`), its exact repr].

    JSON has no nan or inf, and the page must not round what it shows twice, so both are text.

    Example:
        >>> number(2 / 3), number(float("inf"))
        (['0.6667', '0.6666666666666666'], ['inf', 'inf'])
    """
    x = float(x)
    return [format_number(x), repr(x)]


def page(title: str, script: str | tuple[str, ...], body: str, data: Any) -> str:
    """A whole page: `body` (HTML, escaped by the caller), `data` embedded as JSON for the
    script assets/`script`.js (after common.js; several scripts in order, for a tuple), the
    shared style sheet. Nothing is fetched: the Content-Security-Policy allows no request and
    runs only this page's script."""
    css = asset("page.css")
    scripts = (script,) if isinstance(script, str) else script
    js = asset("common.js") + "".join(asset(f"{name}.js") for name in scripts)
    policy = (
        f"default-src 'none'; script-src {_hash(js)}; style-src {_hash(css)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{css}</style>
</head><body>
{body}
<script type="application/json" id="page-data">{script_json(data)}</script>
<script>{js}</script>
</body></html>
"""


def script_json(data: Any) -> str:
    """`data` as JSON that is safe inside a <script> element: no '<', '>' or '&' (so no
    '</script>' nor '<!--'), and no U+2028/U+2029 (line breaks to some JavaScript parsers).

    Example:
        >>> script_json({"label": "</script>"})
        '{"label":"\\\\u003c/script\\\\u003e"}'
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                        ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(ch, escaped)
    return text


def asset(name: str) -> str:
    """A script or style sheet shipped in autograd_tiny/see/assets/."""
    from importlib import resources

    # one name per step: Python 3.10's Traversable.joinpath takes one (3.11's take several)
    text = (resources.files(__package__) / "assets" / name).read_text(encoding="utf-8")
    if "</script" in text.lower() or "</style" in text.lower() or "<!--" in text:
        raise RuntimeError(f"explore: the asset {name} would end its element early")
    return text


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def controls(steps: int, start: int, speeds: tuple[tuple[int, str], ...]) -> str:
    """The toolbar common.js drives: jump to the first or last step, previous and next, play at
    a speed (milliseconds per step, the second one chosen), a slider, the step counter. Left
    open: the caller adds its own buttons, then closes it with </div>."""
    options = "".join(
        f'<option value="{ms}"{" selected" if i == 1 else ""}>{name}</option>'
        for i, (ms, name) in enumerate(speeds)
    )
    return f"""<div class="controls" role="toolbar" aria-label="steps">
<button id="first" type="button" title="the first step (Home)">|◀</button>
<button id="prev" type="button" title="previous step (←)">◀</button>
<button id="play" type="button" title="play or pause (space)">play</button>
<button id="next" type="button" title="next step (→)">▶</button>
<button id="last" type="button" title="the last step (End)">▶|</button>
<label>speed <select id="speed">{options}</select></label>
<input id="scrub" type="range" min="0" max="{steps - 1}" value="{start}" aria-label="step">
<span id="counter"></span>"""


def svg_element(svg: str) -> tuple[str, tuple[float, float]]:
    """Graphviz's SVG document as an element to put in a page, and its size in points.

    Drops the XML prologue and doctype and the fixed width and height (the page scales it),
    and adds `MARGIN` above and below.
    """
    svg = svg[svg.index("<svg") :]
    found = re.match(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"\s+viewBox="([-\d. ]+)"', svg)
    if found is None:
        raise RuntimeError(
            "explore: Graphviz's SVG does not start as expected (<svg width=.. height=.. viewBox=..)"
        )
    w, h = float(found.group(1)), float(found.group(2)) + 2 * MARGIN
    x0, y0, vw, vh = (float(v) for v in found.group(3).split())
    head = (
        f'<svg data-width="{w:g}" data-height="{h:g}" data-margin="{MARGIN}" '
        f'viewBox="{x0:g} {y0 - MARGIN:g} {vw:g} {vh + 2 * MARGIN:g}"'
    )
    body = re.sub(
        r"<!--.*?-->\n?", "", svg[found.end() :], flags=re.DOTALL
    )  # Graphviz's comments: the names again
    return head + body, (w, h)


def iframe(document: str, height: int) -> str:
    """The page in an iframe (srcdoc): its script runs apart from the notebook's, in
    JupyterLab, the classic Notebook and VS Code alike, and its ids clash with nothing."""
    return (
        f'<div><iframe srcdoc="{html.escape(document, quote=True)}" sandbox="allow-scripts" '
        f'style="width: 100%; height: {height}px; border: 1px solid #e7e5e4; border-radius: 4px" '
        'title="autograd_tiny explorer">'
        # what shows where iframes are stripped (an untrusted notebook, GitHub's viewer)
        "This view needs a trusted notebook: run the cell again, or save the page with .save() "
        "and open it in a browser.</iframe></div>"
    )


def frame_height(size: tuple[float, float]) -> int:
    """The iframe's height in pixels for a drawing of `size` points: tall enough for the
    drawing scaled to the frame's width, within 420 to 820."""
    w, h = size
    graph = h * min(1.0, 880 / max(w, 1.0)) * 4 / 3  # points to pixels, scaled to the frame's width
    return int(min(820, max(420, 260 + graph)))
