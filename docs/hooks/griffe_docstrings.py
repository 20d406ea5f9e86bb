"""A Griffe extension for the API reference: a docstring's examples (``>>>`` lines and what they
print) are shown as Python code, not read as Markdown (where ``>>>`` is a quote and ``x[0][1]`` a
link). The package writes them under ``Example:``, which Griffe shows as a box of Markdown, or
straight into the text.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object


def fence_examples(text: str) -> str:
    """Each example (a ``>>>`` line and the lines after it, up to a blank one, as doctest reads
    it) inside a ```pycon fence, indented as the example is."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].lstrip().startswith(">>>"):
            out.append(lines[i])
            i += 1
            continue
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        start = i
        while i < len(lines) and lines[i].strip():
            i += 1
        out += ["", f"{indent}```pycon", *lines[start:i], f"{indent}```", ""]
    return "\n".join(out)


OPERATOR = re.compile(r"(?<=[\w)\]])(\*+)(?=[\w(\[])")  # w[0]*x[0], e**x: arithmetic, not emphasis


def plain_operators(text: str) -> str:
    """Outside code (``spans`` and fences), ``*`` between operands is arithmetic and ``][`` is
    indexing (``x[0][1]``, not a link): escape them, so Markdown shows them as written."""
    out: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced or line.lstrip().startswith("```"):
            out.append(line)
            continue
        pieces = re.split(r"(`+[^`]*`+)", line)  # odd pieces are code spans
        for k in range(0, len(pieces), 2):
            pieces[k] = OPERATOR.sub(lambda m: "\\*" * len(m.group(1)), pieces[k]).replace("][", "]&#91;")
        out.append("".join(pieces))
    return "\n".join(out)


class DoctestsAsCode(Extension):
    """Fence the examples of every docstring and keep its arithmetic plain, before it is parsed."""

    def on_object(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain_operators(fence_examples(obj.docstring.value))
