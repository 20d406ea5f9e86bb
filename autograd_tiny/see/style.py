r"""How drawings and pages look: the number format, the kinds of values, their colours and shapes.

Every number a drawing or a page shows is written by `format_number`: `DIGITS` (4) significant
digits, ``f"{x:.4g}"``. Every label, and any other text of the user's, is written by `user_text`:
as typed, but visibly, and never so that it breaks Graphviz, a page, or Pillow.

Kinds of values, told apart by shape and colour:

* input: a leaf made by the user (``Value(2.0, label="x")``): rounded, blue;
* param: a leaf in ``params`` (or ``model.parameters()``): bold, amber;
* const: a number written in the expression (the 2 of ``x * 2``): dashed, grey, and no grad:
  a number is not a Value, nothing flows back to it (d(x**c)/dc exists, but c is not something
  backward() could update);
* output: the root: rounded, bold, green;
* neuron: a whole neuron drawn as one box (``collapse='neuron'``): rounded, violet;
* value: any other value (an intermediate result): plain.

Example:
    >>> format_number(0.70710678), data_text(-6.0), grad_text(12345.0), user_text("x\x1b")
    ('0.7071', 'data -6', 'grad 1.234e+04', 'x\\x1b')
"""

from __future__ import annotations

import math
import unicodedata

from ..engine import Value

__all__ = [
    "DIGITS",
    "KIND_NAMES",
    "LEGEND_TEXT",
    "LINE_BREAKS",
    "MAX_TEXT",
    "NUMBERED",
    "OP_STYLE",
    "STYLE",
    "box_style",
    "count",
    "data_text",
    "format_number",
    "grad_text",
    "shade",
    "user_text",
]

DIGITS = 4  # significant digits of every number drawn or shown on a page


def format_number(x: float | Value) -> str:
    """A number as drawings and pages show it: `DIGITS` significant digits (a Value: its data).

    Example:
        >>> format_number(0.70710678), format_number(-6.0), format_number(12345.0)
        ('0.7071', '-6', '1.234e+04')
    """
    return f"{float(x):.{DIGITS}g}"  # float(v) of a Value (a grad after create_graph) is its data


LINE_BREAKS = "\n\r\u2028\u2029"  # each starts a new line of a label ("\r\n" is one break)
MAX_TEXT = 200  # characters of a label shown; Graphviz refuses a quoted string of over 16,384 bytes
DOTTED_CIRCLE = "\u25cc"  # what a combining mark with nothing to sit on is drawn on, as Unicode advises


def user_text(text: str) -> str:
    r"""A label (or a title, or a custom formula's text) as every drawing, page and GIF shows it.

    Shown as typed, except what would not show or would break a renderer: a line break
    (``\n``, ``\r\n``, ``\r``, U+2028, U+2029) starts a new line; any other character that
    Python's ``repr`` escapes (control characters C0, DEL and C1, a tab, lone surrogates,
    invisible format characters such as a BOM or a bidi override, spaces other than ' ',
    unassigned code points) is written as ``repr`` writes it: ``\x1b``, ``\ud800``, ``\ufeff``.
    A combining mark with nothing before it to sit on is drawn on a dotted circle (◌́). Past
    `MAX_TEXT` characters the text is cut, '…' at the end. The value's ``label`` stays as set.

    Example:
        >>> user_text("x\x00"), user_text("a\r\nb"), user_text("\ud800"), user_text("\u0301")
        ('x\\x00', 'a\nb', '\\ud800', '◌́')
        >>> len(user_text("w" * 10_000)), user_text("w" * 10_000)[-2:]
        (200, 'w…')
    """
    text = str(text)
    shown: list[str] = []
    size, i = 0, 0
    carries = False  # whether the last character shown can carry a combining mark
    while i < len(text) and size <= MAX_TEXT:  # a huge text is read no further than shown
        ch = text[i]
        i += 1
        if ch in LINE_BREAKS:
            if ch == "\r" and text.startswith("\n", i):  # one break, as typed on Windows
                i += 1
            piece, carries = "\n", False
        elif not ch.isprintable():
            piece, carries = repr(ch)[1:-1], False  # '\\x1b', as repr writes it
        elif unicodedata.category(ch).startswith("M") and not carries:
            piece, carries = DOTTED_CIRCLE + ch, True
        else:
            piece, carries = ch, True
        shown.append(piece)
        size += len(piece)
    if size > MAX_TEXT:  # cut: as much as fits before the '…', escapes kept whole
        while size + 1 > MAX_TEXT:
            size -= len(shown.pop())
        shown.append("…")
    return "".join(shown)


def count(n: int, noun: str, nouns: str | None = None) -> str:
    """`n` and the noun, singular for one, plural otherwise (`nouns`, or the noun with an s).

    Example:
        >>> count(1, "step"), count(2, "step"), count(0, "leaf", "leaves"), count(1, "leaf", "leaves")
        ('1 step', '2 steps', '0 leaves', '1 leaf')
    """
    return f"{n} {noun}" if n == 1 else f"{n} {nouns or noun + 's'}"


def data_text(x: float) -> str:
    """The data field of a value's box: 'data 0.7071'."""
    return f"data {format_number(x)}"


def grad_text(x: float) -> str:
    """The grad field of a value's box: 'grad 1'."""
    return f"grad {format_number(x)}"


STYLE: dict[str, dict[str, str]] = {
    "input": {"shape": "Mrecord", "style": "filled", "fillcolor": "#dbeafe", "color": "#2563eb"},
    "param": {"shape": "record", "style": "filled,bold", "fillcolor": "#fef3c7", "color": "#d97706"},
    "const": {"shape": "record", "style": "filled,dashed", "fillcolor": "#f3f4f6",
              "color": "#9ca3af", "fontcolor": "#4b5563"},
    "value": {"shape": "record", "style": "filled", "fillcolor": "#ffffff", "color": "#6b7280"},
    "output": {"shape": "Mrecord", "style": "filled,bold", "fillcolor": "#dcfce7",
               "color": "#16a34a", "penwidth": "2"},
    "neuron": {"shape": "Mrecord", "style": "filled", "fillcolor": "#ede9fe", "color": "#7c3aed"},
}  # fmt: skip
OP_STYLE = {"shape": "ellipse", "style": "filled", "fillcolor": "#f5f5f4", "color": "#78716c",
            "fontsize": "10", "margin": "0.04,0.02", "width": "0.3", "height": "0.3"}  # fmt: skip
NUMBERED = {"color": "#b91c1c", "fontcolor": "#b91c1c"}  # an op with its backward step
KIND_NAMES = {"input": "input", "param": "parameter", "const": "constant", "value": "value",
              "output": "output", "neuron": "neuron"}  # fmt: skip
LEGEND_TEXT = {
    "input": "a Value you made",
    "param": "a parameter (params= or model=)",
    "const": "a number written in the expression: no grad",
    "neuron": "a whole neuron, weights and bias inside",
    "value": "a value an op computed",
    "output": "the value drawn",
}


def shade(t: float) -> str:
    """White (t=0) to orange-red (t=1): how large |grad| is next to the largest one.

    Example:
        >>> shade(0.0), shade(1.0)
        ('#ffffff', '#fb923c')
    """
    if not math.isfinite(t):
        t = 1.0
    lo, hi = (255, 255, 255), (251, 146, 60)
    r, g, b = (round(a + (c - a) * t) for a, c in zip(lo, hi))
    return f"#{r:02x}{g:02x}{b:02x}"


def box_style(kind: str, grad: float | None, top: float | None, again: bool) -> dict[str, str]:
    """Graphviz attributes of a value's box: its kind's look, filled by |grad| / `top` when
    shading (a constant keeps its grey: it has no grad), dotted when drawn again."""
    style = dict(STYLE[kind])
    if top is not None and grad is not None:
        style["fillcolor"] = shade(abs(grad) / top)
    if again:
        style["style"] = style["style"].replace(",dashed", "") + ",dotted"
    return style
