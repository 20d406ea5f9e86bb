"""Bounding the work of Graphviz's layout: far uses drawn again, and iteration limits.

Graphviz's dot lays a graph out in columns (ranks, left to right). An edge that crosses k
columns becomes a chain of k hidden "bend" nodes, and its x-placement step (network simplex)
costs about (nodes + bends) per iteration: `z = tanh(z*c) + x` at 40 steps has 240 nodes but
about 9,500 bends (x and c are used in every step), and took 23 s to draw; x+x+...+x with 100
terms ran for minutes (dot 2.43). Capping the iterations alone (nslimit) is not enough near the
node cap: the bends still cost minutes. Drawing each far use of such a value again, beside the
use, and scaling the iterations to the graph's size brought every graph shape we tried under
the cap to a few seconds of dot's time (tests/test_viz_render.py), while small drawings keep
their layout exactly (their iterations are never reached).

Example:
    >>> from autograd_tiny import Value
    >>> from autograd_tiny.see.sketch import sketch
    >>> from autograd_tiny.see.trace import walk
    >>> x = Value(1.0, label="x")
    >>> y = x
    >>> for _ in range(99):
    ...     y = y + x
    >>> plan = sketch(walk(y))
    >>> limits = lay_out(plan)
    >>> sorted(limits), sum(box.copy_of == "v0" for box in plan.boxes) > 0
    (['nslimit', 'nslimit1'], True)
"""

from __future__ import annotations

from .sketch import Box, Sketch

__all__ = ["BEND_BUDGET", "LAYOUT_WORK", "NEAR", "NO_LIMIT", "lay_out"]

BEND_BUDGET = 2000  # bends before far uses are drawn again
NEAR = 4  # a use at most this many columns away keeps its edge
LAYOUT_WORK = 1e8  # iterations x (nodes + bends) that dot's network simplex may spend: about 1 s
NO_LIMIT = 1000  # a limit of 1000 x (number of nodes) iterations is never reached: leave it out


def lay_out(plan: Sketch) -> dict[str, str]:
    """Plan the layout: draw far uses again while the bends exceed `BEND_BUDGET`; return the
    Graphviz settings that bound dot's iterations (small graphs never reach them). Planned
    once: a plan laid out before keeps its copies and limits."""
    if plan.limits is not None:
        return plan.limits
    rank = _ranks(plan)
    spans = [rank[head] - rank[tail] - 1 for tail, head, _ in plan.edges]
    bends = sum(spans)
    if bends > BEND_BUDGET:
        bends = _draw_again(plan, spans, bends)
    n, e = plan.size(), len(plan.edges)
    # dot's iteration limits are nslimit x (number of nodes): ranking works on the nodes and
    # edges, x-placement on an auxiliary graph of about 2 (nodes + bends) + edges nodes.
    limits = {"nslimit": LAYOUT_WORK / ((2 * (n + bends) + e) * n), "nslimit1": LAYOUT_WORK / ((n + e) * n)}
    plan.limits = {k: f"{limit:.2f}" for k, limit in limits.items() if limit < NO_LIMIT}
    return plan.limits


def _ranks(plan: Sketch) -> dict[str, int]:
    """Each node's column in a longest-path layering: an upper bound on dot's edge lengths."""
    rank = dict.fromkeys([b.name for b in plan.boxes] + [op[0] for op in plan.ops], 0)
    waiting = dict.fromkeys(rank, 0)
    heads: dict[str, list[str]] = {}
    for tail, head, _ in plan.edges:
        heads.setdefault(tail, []).append(head)
        waiting[head] += 1
    ready = [n for n, k in waiting.items() if k == 0]
    for n in ready:  # the list grows as nodes become ready
        for head in heads.get(n, ()):
            rank[head] = max(rank[head], rank[n] + 1)
            waiting[head] -= 1
            if waiting[head] == 0:
                ready.append(head)
    return rank


def _draw_again(plan: Sketch, spans: list[int], bends: int) -> int:
    """Give far uses of the values with the longest edges a copy of the value beside them,
    until the bends fit the budget; returns the bends left."""
    far: dict[str, list[int]] = {}  # a value's name -> its edges longer than NEAR
    for k, (tail, _, _) in enumerate(plan.edges):
        if spans[k] > NEAR:
            far.setdefault(tail, []).append(k)
    boxes = {box.name: box for box in plan.boxes}
    for tail in sorted(far, key=lambda t: -sum(spans[k] for k in far[t])):
        if bends <= BEND_BUDGET:
            break
        box = boxes.get(tail)
        if box is None:  # op nodes feed only their own value, one column on
            continue
        for j, k in enumerate(far[tail], start=1):
            copy = Box(f"{tail}again{j}", box.kind, box.fields, box.grad, box.stacked)
            copy.copy_of = tail
            plan.boxes.append(copy)
            _, head, role = plan.edges[k]
            plan.edges[k] = (copy.name, head, role)
            bends -= spans[k]
    return bends
