"""How drawings and pages look: the number format, the kinds of values, their colours and shapes.

Every number a drawing or a page shows is written by `format_number`: `DIGITS` (4) significant
digits, ``f"{x:.4g}"``.

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
    >>> format_number(0.70710678), data_text(-6.0), grad_text(12345.0)
    ('0.7071', 'data -6', 'grad 1.234e+04')
"""

from __future__ import annotations

import math

from ..engine import Value

__all__ = [
    "DIGITS",
    "KIND_NAMES",
    "LEGEND_TEXT",
    "NUMBERED",
    "OP_STYLE",
    "STYLE",
    "box_style",
    "count",
    "data_text",
    "format_number",
    "grad_text",
    "shade",
]

DIGITS = 4  # significant digits of every number drawn or shown on a page


def format_number(x: float | Value) -> str:
    """A number as drawings and pages show it: `DIGITS` significant digits (a Value: its data).

    Example:
        >>> format_number(0.70710678), format_number(-6.0), format_number(12345.0)
        ('0.7071', '-6', '1.234e+04')
    """
    return f"{float(x):.{DIGITS}g}"  # float(v) of a Value (a grad after create_graph) is its data


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
