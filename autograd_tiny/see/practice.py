"""Practice: an explorer page's backward pass as questions, checked edge by edge.

`explore(root, practice=True)` shows the forward pass as always, then hides the gradients: at
each backward step the page asks, for every edge into the node whose gradient is now known,
the input's ``.grad`` after that edge adds its contribution. One box per edge, in edge order,
so a value used twice is asked twice (``a * a`` at 3: 3, then 6). An answer passes within a
relative 1e-3 (an absolute 1e-6 near 0): 4 significant digits. A wrong one is explained at its
edge: the rule and its local derivative there, and the likely slip, from the answers the usual
slips give (`exercises.typical_mistakes`).

This module writes the questions and every sentence about them; the page's script
(assets/practice.js) compares numbers and shows what is written here.

Example:
    >>> from autograd_tiny import Value
    >>> from autograd_tiny.see.explorer import explore
    >>> a = Value(3.0, label="a")
    >>> page = explore(a * a, practice=True)
    >>> [(q["name"], q["answer"]) for q in page.questions["3"]["inputs"]]
    [('a', 3.0), ('a', 6.0)]
"""

from __future__ import annotations

import math
from typing import Any

from ..engine import Value
from ..exercises import ANSWER_ATOL, ANSWER_RTOL, swapped_rules, typical_mistakes
from .page import number
from .style import format_number

__all__ = ["TOLERANCE", "questions"]

TOLERANCE = {"rel": ANSWER_RTOL, "abs": ANSWER_ATOL}  # what the page accepts as right
PROMPT = ("Your turn: what is each input's .grad once its edge has added its contribution? "
          "One box per edge, in order; Enter checks.")  # fmt: skip


def questions(graph: Any, steps: list[dict]) -> dict[str, dict]:
    """The questions of each backward step, by the step's index (as text: a JSON key).

    Each: ``prompt`` (lines for the explanation while the step is open), ``right`` (the line
    for a right answer) and ``inputs``, one per edge whose input is drawn, in edge order: the
    input's ``name`` as drawn, the ``edge`` ('title#k'), what the box asks (``label``), the
    ``answer``, what a wrong answer is told (``wrong``: the edge, the rule, its local
    derivative), the ``mistakes`` (answer, the slip in words) and a ``hint`` for any other
    wrong answer. A step with nothing to ask has no questions.
    """
    found = {}
    for k, step in enumerate(steps):
        if step["phase"] != "backward":
            continue
        asked = [f for f in step["flows"] if _askable(graph, f)]
        if not asked:  # nothing to ask (numbers, or weights inside a box): the step shows as always
            continue
        node = step["name"]
        found[str(k)] = {
            "prompt": [step["text"][0], [PROMPT]],
            "right": [f"{f['name']}.grad = {format_number(f['after'])}" for f in asked],
            "inputs": [_question(graph, step, node, f) for f in asked],
        }
    return found


def _askable(graph: Any, f: dict) -> bool:
    """An edge is asked about when its input is a Value drawn as a box, and its answer a number."""
    return (isinstance(f["input"], Value) and graph.is_drawn(f["input"]) and f["edge"] is not None
            and math.isfinite(f["after"]))  # fmt: skip


def _question(graph: Any, step: dict, node: str, f: dict) -> dict:
    name = f["name"]
    edge = f"The edge {name} → {node}" + (f" ({name} as {f['wrt']})" if f["wrt"] != name else "")
    op = step["node"].op or "the op"
    wrong: list[str | list[str]]  # a line of text and numbers
    if f["local"] is None:
        wrong = [f"{edge}: the rule gives no gradient here ({op} is flat), so nothing is added to {name}.grad."]
    else:
        rule = f"{f['partial']} = {f['shown']}" if f["shown"] else f["partial"]
        wrong = [f"{edge}: the rule gives {rule}, which is ", number(f["local"]),
                 f" here; {name}.grad gains it × {node}.grad."]  # fmt: skip
    on_op = f["member"] is step["node"]  # not inside a neuron box, where the rule is the box's chain
    names = [graph.who(p) for p in graph.inputs[f["member"]]]
    swapped = swapped_rules(f["member"], f["index"], node, names) if on_op else []
    slips = typical_mistakes(f["local"], f["upstream"], f["before"], node_name=node, input_name=name,
                             flat=op, swapped=swapped)  # fmt: skip
    return {
        "name": name,
        "edge": f"{f['edge'][0]}#{f['edge'][1]}",
        "label": f"{name}.grad after the edge {name} → {node}" + (f" (as {f['wrt']})" if f["wrt"] != name else ""),
        "answer": f["after"],
        "wrong": wrong,
        "mistakes": [[s.answer, s.says] for s in slips],
        "hint": f"{name}.grad after this edge = what it held before + the local derivative × {node}.grad.",
    }
