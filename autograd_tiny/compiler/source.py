"""Source: the text of the generated code, its names and its namespace.

The code is a list of lines, each with its indent, written top to bottom (a placeholder can be
filled in later, when what goes there is known). Its variables get short fresh names (``v0``,
``t3``), or a label where that is a safe identifier. The objects it needs (functions, tuples of
Values) are put into its namespace under safe names, so that the code holds names and numbers
only, never user text: labels and other user text appear in comments alone, escaped on one line.

Example:
    >>> source = Source(reserved=frozenset({"D"}), namespace={})
    >>> x = source.fresh("x")
    >>> source.line(f"{x} = D[0]", comment=quote("a label\\nwith a line break"))
    >>> source.line(f"return {source.register(abs, 'abs')}({x}) * {literal(-0.5)}")
    >>> print(source.text, end="")
    x0 = D[0]  # 'a label\\nwith a line break'
    return abs(x0) * (-0.5)
"""

from __future__ import annotations

import builtins
import collections
import keyword
import math
import re
from typing import Any

__all__ = ["Source", "identifier", "literal", "quote", "wrap", "natural", "WORD"]


def identifier(text: Any) -> bool:
    """A name the code may use: a short ASCII identifier, no keyword, not starting with _ or g_
    (the gradients' variables are g_ + a variable's name)."""
    return (
        isinstance(text, str) and 0 < len(text) <= 24 and text.isascii() and text.isidentifier()
        and not keyword.iskeyword(text) and not text.startswith(("_", "g_"))
    )  # fmt: skip


def literal(x: float) -> str:
    """A float as code that gives it back (nan and inf are names of the namespace)."""
    x = float(x)
    if x != x:
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "(-inf)"
    text = repr(x)
    return f"({text})" if text.startswith("-") else text


def quote(text: str, limit: int = 40) -> str:
    """User text in a comment: escaped (no line break can end the comment), and short."""
    text = str(text)
    return ascii(text if len(text) <= limit else text[: limit - 3] + "...")


def wrap(head: str, items: list[str], tail: str, comment: str = "") -> list[tuple[int, str]]:
    """Lines (relative indent, text) of head + items joined by commas + tail, short ones."""
    text = head + ", ".join(items) + tail
    if len(text) <= 100:
        return [(0, f"{text}  # {comment}" if comment else text)]
    lines = [(0, f"{head}  # {comment}" if comment else head)]
    row = ""
    for item in items:
        if row and len(row) + len(item) > 90:
            lines.append((1, row.rstrip()))
            row = ""
        row += item + ", "
    lines.append((1, row.rstrip()))
    lines.append((0, tail.lstrip(",")))  # the rows end with a comma already
    return lines


WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def natural(name: str) -> tuple:
    """A sort key for names: t2 before t10."""
    head = name.rstrip("0123456789")
    return (head, int(name[len(head) :] or 0))


class Source:
    """The lines of the code being written, the names it has taken and its namespace.

    Args:
        reserved: names the code uses for itself (never given to a variable or an object).
        namespace: the objects the code starts with, by name.
    """

    def __init__(self, reserved: frozenset, namespace: dict[str, Any]) -> None:
        self.lines: list[list] = []  # [indent, text]: text is None for an unused placeholder
        self.depth = 0
        self.taken: set[str] = set(keyword.kwlist) | set(dir(builtins)) | reserved | set(namespace)
        self.counters: collections.Counter = collections.Counter()
        self.namespace = dict(namespace)
        self._registered: dict[int, str] = {}

    def fresh(self, prefix: str) -> str:
        """A new name: prefix + the next number not taken."""
        while True:
            name = f"{prefix}{self.counters[prefix]}"
            self.counters[prefix] += 1
            if name not in self.taken:
                self.taken.add(name)
                return name

    def register(self, obj: Any, wanted: str, numbered: bool = False) -> str:
        """obj in the namespace of the code, under a free name: the one wanted (like 'sigmoid')
        if it is free, else a numbered one (like 'H0'); Python's own builtin under its name."""
        name = self._registered.get(id(obj))
        if name is None:
            if getattr(builtins, wanted, None) is obj:
                return wanted
            if numbered:
                name = self.fresh(wanted)
            elif identifier(wanted) and wanted not in self.taken:
                name = wanted
                self.taken.add(name)
            else:
                name = self.fresh(f"{wanted}_" if identifier(wanted) else "op")
            self.namespace[name] = obj
            self._registered[id(obj)] = name
        return name

    def line(self, text: str, comment: str = "") -> None:
        self.lines.append([self.depth, f"{text}  # {comment}" if comment else text])

    def placeholder(self) -> list:
        """An empty line to fill in later: set its [1] to a text, or to a list of (indent, text)."""
        spot = [self.depth, None]
        self.lines.append(spot)
        return spot

    def wrapped(self, head: str, items: list[str], tail: str, comment: str = "") -> None:
        """head + items joined by commas + tail, over several lines if long (never one huge line)."""
        for depth, text in wrap(head, items, tail, comment):
            self.lines.append([self.depth + depth, text])

    @property
    def text(self) -> str:
        out = []
        for depth, text in self.lines:
            if isinstance(text, list):  # a placeholder filled with several lines
                out += ["    " * (depth + d) + t + "\n" for d, t in text]
            elif text is not None:
                out.append("    " * depth + text + "\n" if text else "\n")
        return "".join(out)
