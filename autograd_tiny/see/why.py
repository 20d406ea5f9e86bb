"""Why is this right? A card for every edge of an explorer page's backward pass.

Each card says, for the edge from an input into the node that used it: the op's rule, from
the engine's table (so it is the code that runs; a custom primitive's formula is the user's
text, shown as written and never run); the values it is evaluated at; the local derivative;
and a check of it, a central difference of the op's function computed here, in Python, when
the page is built, with the step size used. The page shows a card when its edge is clicked or
focused (`explorer.js`).

Example:
    >>> from autograd_tiny import Value
    >>> from autograd_tiny.see.explorer import explore
    >>> a = Value(3.0, label="a")
    >>> page = explore(a * a)
    >>> card = page.cards["v0->v1op#0"]
    >>> ["".join(p if isinstance(p, str) else p[0] for p in line) for line in card["lines"]][1:3]
    ["The rule of * in the engine's table: ∂out/∂x = y", 'Evaluated at x: a = 3, y: a = 3, out: mul1 = 9']
    >>> abs(card["check"]["estimate"] - 3.0) < 1e-6
    True
"""

from __future__ import annotations

import math
from typing import Any

from ..engine import Value
from ..neuron import NeuronOp
from .page import number
from .style import user_text

__all__ = ["cards", "central_difference", "why_card"]

STEP = 1e-6  # the central difference's step, relative to the input's size (at least this much)


def cards(graph: Any, steps: list[dict]) -> dict[str, dict]:
    """The card of every edge the backward steps go along, by the edge's 'title#k'."""
    found = {}
    for step in steps:
        if step["phase"] != "backward":
            continue
        for f in step["flows"]:
            if f["edge"] is not None:
                found[f"{f['edge'][0]}#{f['edge'][1]}"] = why_card(graph, step, f)
    return found


def why_card(graph: Any, step: dict, f: dict) -> dict:
    """One edge's card: ``lines`` (text and numbers, as the explanation's), ``locked`` (how many
    of them a practice page shows before the step is answered: the rule and the values, not the
    derivative), and ``check`` (the central difference's step and estimate, and the rule's value)."""
    end, m, i = step["node"], f["member"], f["index"]
    who = f["name"] if f["wrt"] == f["name"] else f"{f['name']}, as {f['wrt']}"
    lines: list[list] = [[f"Why this edge: {who} → {step['name']}"]]
    if not isinstance(f["input"], Value):
        lines.append([f"{f['name']} is a number written in the expression, not a Value: it has no .grad, "
                      "so nothing flows back to it."])  # fmt: skip
        return {"lines": lines, "locked": len(lines), "check": None}
    lines += _rule_lines(graph, end, m, i, f)
    locked = len(lines)
    local = f["local"] if f["local"] is not None else 0.0
    if f["local"] is None:
        lines.append(["No gradient flows along this edge here: the rule gives None (the op is flat)."])
    else:
        lines.append([f"local derivative {f['partial']} = ", number(local)])
    check = central_difference(graph, end, m, i)
    if check is None:
        lines.append(["(No numeric check here: the function cannot be evaluated a step h either side.)"])
    else:
        gap = abs(check["estimate"] - local) / max(abs(local), 1e-300)
        agree = f", the rule's value to {gap:.1e} relative" if local else ""
        lines.append([f"Check, by a central difference with h = {check['h']:.1e}: (f(x + h) − f(x − h)) / 2h = ",
                      number(check["estimate"]), agree])  # fmt: skip
        check["local"] = local
    return {"lines": lines, "locked": locked, "check": check}


def _rule_lines(graph: Any, end: Value, m: Value, i: int, f: dict) -> list[list]:
    """The rule this edge's local derivative comes from, and the values it is evaluated at."""
    op = m.grad_fn
    assert op is not None
    if m is not end:  # a node inside a neuron box: the chain rule through the box
        return [
            [f"Inside the box, the chain rule: the local derivative of {f['name']} is the product of the "
             "local derivatives of the nodes along the way from it to the box's output."],
            ["Evaluated at ", f"{f['name']} = ", number(f["input"].data), ", the box's output = ", number(end.data)],
        ]  # fmt: skip
    args = graph.inputs[end]
    if isinstance(op, NeuronOp):
        n = len(args) // 2
        group = "w" if i < n else "x" if i < 2 * n else "b"
        act = op.act.formulas[0] if op.act is not None and op.act.formulas else None
        slope = f", where s = {op.activation}'(z) = {act} (z = w·x + b)" if act else ", where s = 1 (no activation)"
        formula = (op.formulas or ("", "", ""))["wxb".index(group)]
        rule = f"The rule of a {op.name} node in the engine's table: ∂out/∂{group} = {formula}{slope}"
        at: list = ["Evaluated at "]
        if group != "b":
            at += ["w = ", number(args[i % n].data), ", x = ", number(args[n + i % n].data), ", "]
        return [[rule], [*at, "z = ", number(_z(args)), ", out = ", number(end.data)]]
    k = 0 if op.each else i
    name = op.inputs[0] if op.each else (op.inputs[i] if i < len(op.inputs) else f"input {i + 1}")
    text = op.formulas[k] if op.formulas and k < len(op.formulas) else None
    if text is None:
        rule = (f"{op.name} is a custom primitive without a formula text: its local derivative is what the "
                "derivative function you gave computes")  # fmt: skip
    elif op.from_formulas:
        rule = f"The rule of {op.name} in the engine's table: ∂out/∂{name} = {text}"
    else:
        rule = f"{op.name}'s formula, your text as written (never run): ∂out/∂{name} = {user_text(text)}"
    lines = [[rule]]
    if text is not None and op.from_formulas and f["formula"] not in (None, text):
        lines.append([f"Here the branch {f['formula']} applies."])
    pairs = [(name, args[i])] if op.each else list(zip(op.inputs, args))
    at = ["Evaluated at "]
    for j, (rule_name, q) in enumerate([*pairs, ("out", end)]):  # 'x: a = 3', the rule's x standing for a
        who = graph.who(q) if isinstance(q, Value) else rule_name
        at += [", " if j else "", f"{rule_name} = " if who == rule_name else f"{rule_name}: {who} = ", number(q.data)]
    lines.append(at)
    return lines


def _z(args: list) -> float:
    n = len(args) // 2
    return sum(args[k].data * args[n + k].data for k in range(n)) + (args[2 * n].data if len(args) % 2 else 0.0)


def central_difference(graph: Any, end: Value, m: Value, i: int) -> dict | None:
    """d end / d (the i-th input of m, where m is end or a node inside its box), by a central
    difference of the ops' functions: that one input moved by ±h, the nodes after it in the
    box recomputed. None where the function cannot be evaluated there (outside its domain).

    Returns {'h': the step, 'estimate': the derivative's estimate, 'at': the input's value}.
    """
    x = graph.inputs[m][i].data
    h = STEP * max(1.0, abs(x))
    members = graph.units[end][::-1]  # forward order
    try:
        up, down = (_recompute(graph, members, m, i, x + d) for d in (h, -h))
    except (ArithmeticError, ValueError, TypeError):
        return None
    estimate = (up - down) / (2 * h)
    if not math.isfinite(estimate):
        return None
    return {"h": h, "estimate": estimate, "at": x}


def _recompute(graph: Any, members: list, m: Value, i: int, t: float) -> float:
    """The box's output with m's i-th input set to t, the nodes after it recomputed in order."""
    values: dict = {}
    for node in members:
        args = [values.get(q, q.data) for q in graph.inputs[node]]
        if node is m:
            args[i] = t
        values[node] = float(node.grad_fn.fn(*args))
    return values[members[-1]]
