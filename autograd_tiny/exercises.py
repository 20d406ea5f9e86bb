"""Checking gradients worked out by hand: which are wrong, by how much, and where the chain broke.

For learners doing backpropagation on paper (notebook 10): write the forward pass with Values,
your gradients as numbers, and one call compares every one of them with the engine's
`backward()`, naming each input that is wrong, missing or right. Give the gradients of values
inside the graph too (by their labels, or the Values themselves), and the report names the first
edge, in the order backward() takes them, where a right gradient upstream became a wrong one
downstream: the local derivative there, and the likely mistake.

`typical_mistakes` lists the answers the usual slips give on one edge (the upstream gradient
forgotten, the += forgotten, the sign flipped, the output used where the rule has an input);
the explorer's practice pages use it too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from .checks import is_real
from .engine import Value, topological_order
from .full_backward import gradients

__all__ = [
    "ANSWER_ATOL",
    "ANSWER_RTOL",
    "EdgeFinding",
    "GradientCheck",
    "GradientReport",
    "Mistake",
    "check_gradients",
    "swapped_rules",
    "typical_mistakes",
]


class GradientCheck(NamedTuple):
    """One input's line of a `GradientReport`: your gradient, the correct one and the verdict."""

    name: str
    yours: float | None  # None: not answered yet
    correct: float
    ok: bool

    @property
    def error(self) -> float | None:
        """How far yours is from the correct gradient (None when there is no answer)."""
        return None if self.yours is None else abs(self.yours - self.correct)

    def verdict(self) -> str:
        """'ok', 'no answer yet', or 'WRONG: off by ...' with a hint (a flipped sign, a ratio)."""
        if self.yours is None:
            return "no answer yet"
        if self.ok:
            return "ok"
        hint = ""
        if self.correct != 0 and math.isfinite(self.yours):
            ratio = self.yours / self.correct
            hint = (
                "; the sign is flipped" if abs(ratio + 1) < 1e-6 else f"; {ratio:.4g} times the correct value"
            )
        return f"WRONG: off by {self.error:.4g}{hint}"


class Mistake(NamedTuple):
    """An answer a typical slip gives on one edge, and what the slip is."""

    kind: str  # 'upstream', 'accumulate', 'sign', 'output' or 'flat'
    answer: float  # the input's grad after the edge, as the slip gives it
    says: str  # the slip, in words


def typical_mistakes(
    local: float | None,
    upstream: float,
    before: float,
    *,
    node_name: str = "out",
    input_name: str = "x",
    flat: str = "the op",
    swapped: Sequence[tuple[float, str]] = (),
) -> list[Mistake]:
    """The answers the usual slips give for an input's grad after its edge adds ``local ×
    upstream`` to `before`, each different from the right one and from the others.

    The slips: the upstream gradient forgotten (``before + local``); the ``+=`` forgotten, the
    contribution replacing what was there (``local × upstream``); the sign flipped; the rule
    evaluated with the output where it has an input or the reverse (`swapped`, from
    `swapped_rules`); and where no gradient flows (`local` None: `flat` is flat there), the
    gradient passed through as if the local derivative were 1.

    Example:
        >>> a = Value(3.0)
        >>> t = a.tanh()
        >>> slips = typical_mistakes(t.local_grads[0], 2.0, 0.5, swapped=swapped_rules(t, 0))
        >>> [(m.kind, round(m.answer, 4)) for m in slips]
        [('upstream', 0.5099), ('accumulate', 0.0197), ('sign', 0.4803), ('output', -15.5)]
    """
    up = float(upstream)
    found: list[Mistake] = []
    seen = [before + (local * up if local is not None else 0.0)]  # the right answer first

    def add(kind: str, answer: float, says: str) -> None:
        if math.isfinite(answer) and all(not _close(answer, other) for other in seen):
            seen.append(answer)
            found.append(Mistake(kind, answer, says))

    if local is None:
        add("flat", before + up, f"{flat} is flat here: nothing flows back along this edge, "
                                 f"so {input_name}.grad stays as it was")  # fmt: skip
        return found
    add("upstream", before + local, f"forgot to multiply the local derivative by the upstream gradient, "
                                    f"{node_name}.grad = {up:.4g}")  # fmt: skip
    add("accumulate", local * up, f"forgot to add to what {input_name}.grad already held ({before:.4g}): "
                                  "backward adds (+=), it does not replace")  # fmt: skip
    add("sign", before - local * up, "the sign is flipped")
    for alt, says in swapped:
        add("output", before + alt * up, says)
    return found


def swapped_rules(
    node: Value, i: int, node_name: str = "out", input_names: Sequence[str] | None = None
) -> list[tuple[float, str]]:
    """The local derivative of node's i-th input as the engine's rule gives it with the output
    put where the rule has an input, or the input where it has the output; and the slip in
    words, with the inputs called `input_names` (by default the rule's own: x, y).

    Example:
        >>> a = Value(2.0, label="a")
        >>> swapped_rules(a.exp(), 0, "e", ["a"])   # exp's rule is out: with a in its place, 2
        [(2.0, 'used the input a = 2 where the rule has the output e')]
    """
    op = node.grad_fn
    if op is None:
        return []
    args = [p.data if isinstance(p, Value) else float(p) for p in node.parents]
    fixed = not op.each and len(op.inputs) == len(args)
    names = list(input_names or (op.inputs if fixed else [f"input {k + 1}" for k in range(len(args))]))
    trials = [(args[:k] + [node.data] + args[k + 1 :], node.data,
               f"used the output {node_name} = {node.data:.4g} where the rule has the input {names[k]}")
              for k in range(len(args))]  # fmt: skip
    trials.append((args, args[i], f"used the input {names[i]} = {args[i]:.4g} where the rule has the output "
                                  f"{node_name}"))  # fmt: skip
    found = []
    for inputs, out, says in trials:
        try:
            alt = op.rule(*inputs, out)[i]
        except (ArithmeticError, ValueError, TypeError, IndexError):
            continue
        if isinstance(alt, (int, float)) and not isinstance(alt, bool) and alt != node.local_grads[i]:
            found.append((float(alt), says))
    return found


ANSWER_RTOL, ANSWER_ATOL = 1e-3, 1e-6  # an answer to 4 significant digits passes


def _close(a: float, b: float) -> bool:
    """Equal as far as an answer to 4 significant digits can tell: relative 1e-3, or 1e-6 near 0."""
    return abs(a - b) <= max(ANSWER_RTOL * abs(b), ANSWER_ATOL)


class EdgeFinding(NamedTuple):
    """Where the chain first broke: the edge from `upstream`, whose gradient is right, into
    `value`, whose gradient is wrong."""

    value: str  # the value whose gradient is the first wrong one, in backward order
    upstream: str  # the node it gets its gradient from along this edge ('' when it cannot tell which)
    local: float | None  # the local derivative d upstream / d value there (None: no gradient flows)
    upstream_grad: float  # the upstream node's gradient, answered right (or the output's, 1)
    mistake: str  # the likely slip, or ''

    def __str__(self) -> str:
        if not self.upstream:
            return (f"The first wrong gradient, in backward order, is {self.value}'s: the gradients of the values "
                    f"it gets its gradient from are right, so the slip is on the edges into {self.value}: add up "
                    "what each brings.")  # fmt: skip
        grad = f"{self.upstream}.grad = {self.upstream_grad:.6g} is right"
        local = "no gradient flows (it is flat there)" if self.local is None else f"is {self.local:.6g} here"
        said = (f"The first wrong edge, in backward order: {self.upstream} → {self.value}. {grad}; the local "
                f"derivative ∂{self.upstream}/∂{self.value} {local}, so {self.value}.grad gains "
                f"{0.0 if self.local is None else self.local * self.upstream_grad:.6g} along it.")  # fmt: skip
        return said + (f" Likely mistake: {self.mistake}." if self.mistake else "")


class GradientReport(list):
    """The result of `check_gradients`: one `GradientCheck` per answer, shown as a table.

    The table gives your answers and the verdicts but not the correct values, so that it does
    not give the exercise away (each line's ``.correct`` has them). ``report.ok`` is True when
    every gradient is right; ``report.wrong`` and ``report.missing`` name the others;
    ``report.first_wrong`` says where the chain first broke, when it can tell (an `EdgeFinding`).
    """

    first_wrong: EdgeFinding | None = None

    @property
    def ok(self) -> bool:
        return all(line.ok for line in self)

    @property
    def wrong(self) -> list[str]:
        return [line.name for line in self if line.yours is not None and not line.ok]

    @property
    def missing(self) -> list[str]:
        return [line.name for line in self if line.yours is None]

    def __repr__(self) -> str:
        width = max(len("input"), *(len(line.name) for line in self))
        rows = [f"{'input':<{width}}  {'yours':>12}  verdict"]
        for line in self:
            yours = "-" if line.yours is None else f"{line.yours:.6g}"
            rows.append(f"{line.name:<{width}}  {yours:>12}  {line.verdict()}")
        summary = f"{sum(line.ok for line in self)} of {len(self)} right"
        if self.wrong:
            summary += f"; wrong: {', '.join(self.wrong)}"
        if self.missing:
            summary += f"; no answer yet: {', '.join(self.missing)}"
        rows.append(summary)
        if self.first_wrong is not None:
            rows.append(str(self.first_wrong))
        return "\n".join(rows)


def check_gradients(
    f: Callable[..., Value] | Value,
    inputs: Mapping[str, float] | Sequence[float] | Mapping[Any, float | None],
    yours: Mapping[Any, float | None] | Sequence[float | None] | None = None,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> GradientReport:
    """Compare gradients found by hand with the ones `backward()` finds, one by one.

    Args:
        f: the forward pass, a function of Values that returns one Value; or the output Value
            of a graph you built (then `inputs` is your answers, and `yours` is left out).
        inputs: where to differentiate: a dict ``{name: number}`` (f is called with those
            keyword arguments, Values labelled by their names) or a list of numbers (f is
            called with them in order; they are named ``x[0]``, ``x[1]``, ...).
        yours: your gradient of f for each input, in the same form; None (or a missing
            name) means "not answered yet". A dict may also give the gradient of values
            inside the graph, by the labels f gives them; for a graph you built, by their
            labels or the Values themselves.
        rtol, atol: a gradient is right when it is within ``atol + rtol * |correct|``.

    Returns:
        A `GradientReport`: it prints as a table with a verdict per answer (ok, no answer
        yet, or how far off and how many times the correct value); ``.ok`` is True when
        all are right, ``.wrong`` and ``.missing`` name the others. When an answer is wrong
        and the gradients it flows from are right (answered, or the output's own), it names
        that edge, its local derivative and the likely slip (``.first_wrong``).

    Example:
        >>> check_gradients(lambda x, y: x * y + y, {"x": 2.0, "y": 3.0}, {"x": 3.0, "y": -3.0})
        input         yours  verdict
        x                 3  ok
        y                -3  WRONG: off by 6; the sign is flipped
        1 of 2 right; wrong: y

        A graph of your own, with answers inside it:

        >>> x, w = Value(2.0, label="x"), Value(-1.0, label="w")
        >>> n = x * w
        >>> n.label = "n"
        >>> o = n.tanh()
        >>> slope = 1 - o.data**2                      # tanh'(n), 0.0707
        >>> check_gradients(o, {n: slope, "x": -1.0, "w": 2 * slope})
        input         yours  verdict
        n         0.0706508  ok
        x                -1  WRONG: off by 0.9293; 14.15 times the correct value
        w          0.141302  ok
        2 of 3 right; wrong: x
        The first wrong edge, in backward order: n → x. n.grad = 0.0706508 is right; the local
        derivative ∂n/∂x is -1 here, so x.grad gains -0.0706508 along it. Likely mistake: forgot
        to multiply the local derivative by the upstream gradient, n.grad = 0.07065.
    """
    if isinstance(f, Value):
        if yours is not None:
            raise TypeError("check_gradients: for a graph you built, give check_gradients(root, yours): no inputs")
        root, leaves = f, []
        yours = inputs
    else:
        names, values = _names_and_values("inputs", inputs)
        leaves = [Value(v, label=name) for name, v in zip(names, values)]
        root = f(**dict(zip(names, leaves))) if isinstance(inputs, Mapping) else f(*leaves)
        if not isinstance(root, Value):
            raise TypeError(f"check_gradients: f must return a Value, got {type(root).__name__}: {root!r}")
    targets, answers = _answers(yours, leaves, root)
    correct = gradients(root, [v for _, v in targets])
    report = GradientReport()
    checked = {}
    for (name, v), mine, right in zip(targets, answers, correct):
        ok = mine is not None and abs(mine - right) <= atol + rtol * abs(right)
        report.append(GradientCheck(name, mine, float(right), ok))
        if mine is not None:
            checked[v] = (name, mine, float(right), ok)
    report.first_wrong = _first_wrong_edge(root, checked)
    return report


def _first_wrong_edge(root: Value, checked: dict) -> EdgeFinding | None:
    """The first wrong answer in backward order whose upstream gradients are known to be right
    (answered right, or the output's own), and the edge into it that the numbers point at. None
    when no wrong answer has its upstream checked (answer more values inside the graph)."""
    order = topological_order(root)[::-1]
    leaves = list(dict.fromkeys(p for v in order for p in v.parents if isinstance(p, Value) and not p.parents))
    consumers: dict[Value, list[tuple[Value, int]]] = {}
    for v in order:
        for i, p in enumerate(v.parents):
            if isinstance(p, Value):
                consumers.setdefault(p, []).append((v, i))
    grads = dict(zip(order, gradients(root, order)))
    for v in order + leaves:
        if v not in checked or checked[v][3]:
            continue
        edges = consumers.get(v, [])
        if not all(m is root or (m in checked and checked[m][3]) for m, _ in edges):
            continue  # an upstream gradient wrong, or not answered: the chain broke further up, or cannot be told
        name, mine, right, _ = checked[v]
        return _which_edge(v, name, mine, right, edges, grads, checked, root) or EdgeFinding(name, "", None, 0.0, "")
    return None


def _which_edge(v, name, mine, right, edges, grads, checked, root) -> EdgeFinding | None:
    """Of the edges into v (their upstream gradients right), the one a typical slip on it
    explains, or the only one."""
    contributions = [(m.local_grads[i] or 0.0) * grads[m] for m, i in edges]
    for k, (m, i) in enumerate(edges):
        upstream = _value_name(m, root, checked)
        finding = EdgeFinding(name, upstream, m.local_grads[i], float(grads[m]), "")
        others = right - contributions[k]
        if len(edges) > 1 and _close(mine, others):
            return finding._replace(mistake=f"left out the edge from {upstream}: a value used more than once "
                                             "gets the sum of its edges")  # fmt: skip
        names = [_value_name(p, root, checked) if isinstance(p, Value) else f"{p:g}" for p in m.parents]
        slips = typical_mistakes(m.local_grads[i], grads[m], 0.0, node_name=upstream, input_name=name,
                                 flat=m.op, swapped=swapped_rules(m, i, upstream, names))  # fmt: skip
        for slip in slips:
            if slip.kind != "accumulate" and _close(mine, others + slip.answer):
                return finding._replace(mistake=slip.says)
    if len(edges) == 1:
        m, i = edges[0]
        return EdgeFinding(name, _value_name(m, root, checked), m.local_grads[i], float(grads[m]), "")
    return None


def _value_name(v: Value, root: Value, checked: dict) -> str:
    """How the report calls a value: its name in the answers, its label, or what made it."""
    if v in checked:
        return checked[v][0]
    if v.label:
        return v.label
    return "the output" if v is root else f"the {v.op} node"


def _names_and_values(what: str, given) -> tuple[list[str], list[float]]:
    if isinstance(given, Mapping):
        names, values = [str(k) for k in given], list(given.values())
    elif isinstance(given, Sequence) and not isinstance(given, str):
        names, values = [f"x[{i}]" for i in range(len(given))], list(given)
    else:
        raise TypeError(
            f"check_gradients: {what} must be a dict of numbers or a list of numbers, got {given!r}"
        )
    if not names:
        raise ValueError(f"check_gradients: {what} is empty; give at least one input")
    for name, v in zip(names, values):
        if not is_real(v):
            raise TypeError(f"check_gradients: {what} {name} must be a number, got {type(v).__name__}: {v!r}")
    return names, [float(v) for v in values]


def _answers(yours, leaves: list[Value], root: Value) -> tuple[list[tuple[str, Value]], list[float | None]]:
    """What is answered: (name, Value) pairs, the inputs first in their order, then the values
    inside the graph the answers name; and the answers (None: not answered yet)."""
    named = [(leaf.label, leaf) for leaf in leaves]
    if isinstance(yours, Mapping):
        labels = _labels(root)
        answers = dict.fromkeys(leaves)
        extra = []
        for key, g in yours.items():
            v = _find(key, leaves, labels, root)
            if v not in answers:
                extra.append((key if isinstance(key, str) else v.label or repr(v), v))
            answers[v] = _number(key, g)
        targets = named + extra
        return targets, [answers[v] for _, v in targets]
    if isinstance(yours, Sequence) and not isinstance(yours, str) and leaves:
        if len(yours) != len(leaves):
            raise ValueError(f"check_gradients: {len(leaves)} inputs but {len(yours)} gradients in yours")
        return named, [_number(leaf.label, g) for leaf, g in zip(leaves, yours)]
    what = "a dict or a list of gradients" if leaves else "a dict of gradients, by label or Value"
    raise TypeError(f"check_gradients: yours must be {what}, got {yours!r}")


def _labels(root: Value) -> dict[str, list[Value]]:
    found: dict[str, list[Value]] = {}
    for v in _all_values(root):
        if v.label:
            found.setdefault(v.label, []).append(v)
    return found


def _find(key, leaves: list[Value], labels: dict[str, list[Value]], root: Value) -> Value:
    """The Value an answer's key names: an input, a label in the graph, or a Value of it."""
    if isinstance(key, Value):
        if any(key is v for v in _all_values(root)):
            return key
        raise ValueError(f"check_gradients: yours has a Value that is not in the graph: {key!r}")
    for leaf in leaves:
        if leaf.label == key:
            return leaf
    found = labels.get(key, [])
    if len(found) > 1:
        raise ValueError(f"check_gradients: yours has {key!r}, the label of {len(found)} values; "
                         "give the Value itself, or one label per value")  # fmt: skip
    if not found:
        known = [leaf.label for leaf in leaves] or sorted(labels)
        where = "an input or a label in the graph" if leaves else "a label in the graph"
        raise ValueError(f"check_gradients: yours has {key!r}, which is not {where} (inputs: {known})"
                         if leaves else f"check_gradients: yours has {key!r}, which is not {where} "
                         f"(labels: {known})")  # fmt: skip
    return found[0]


def _all_values(root: Value) -> list[Value]:
    """Every Value of root's graph, leaves included, each once."""
    order = topological_order(root)
    return list(dict.fromkeys([root, *order, *(p for v in order for p in v.parents if isinstance(p, Value))]))


def _number(name, g) -> float | None:
    if g is None:
        return None
    if g.__class__ is not Value and not is_real(g):
        raise TypeError(f"check_gradients: your gradient for {name} must be a number or None, got {g!r}")
    return float(g)  # a Value counts as its number
