"""Drawing computation graphs with Graphviz: `draw_dot`, and `save_graph` to write a drawing.

`draw_dot` walks the graph once (`trace.walk`), plans what to show (`sketch.sketch`: boxes, op
nodes, edges), bounds the layout's work (`layout.lay_out`), and writes the plan as a
``graphviz.Digraph``, styled by kind of value (`style`). Rendering runs ``dot`` with a time
limit (`dot.RenderError`).

Only `draw_dot` and `save_graph` need the ``graphviz`` package, imported when first called;
rendering to svg/png/pdf needs the Graphviz program ``dot`` as well, the ``.dot`` source never.

Example:
    >>> from autograd_tiny import Value
    >>> x = Value(1.0, label="x")
    >>> y = (x * 2 + 1).relu()
    >>> y.backward()
    >>> 'v0 [label="{ x | data 1 | grad 2 }"' in draw_dot(y).source
    True
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._files import write_atomically
from ..engine import Value
from .dot import RENDER_TIMEOUT, check_timeout, run_dot
from .layout import lay_out
from .sketch import Sketch, sketch
from .style import KIND_NAMES, LEGEND_TEXT, NUMBERED, OP_STYLE, box_style, count, format_number, shade
from .trace import walk

if TYPE_CHECKING:  # pragma: no cover
    import graphviz

__all__ = ["SUFFIX_FORMATS", "digraph", "draw_dot", "save_graph"]


def draw_dot(
    root: Value,
    *,
    rankdir: str = "LR",
    format: str = "svg",
    show_grad: bool = True,
    color_by_grad: bool = False,
    number_backward: bool = False,
    collapse: str | None = None,
    expand_dot: bool = False,
    params: Iterable[Value] | None = None,
    model: Any = None,
    legend: bool = False,
    max_nodes: int | None = 1000,
    timeout: float | None = RENDER_TIMEOUT,
) -> graphviz.Digraph:
    """Draw the graph that computed `root` as a `graphviz.Digraph` (rendered inline by Jupyter).

    Save it with ``save_graph(drawing, "graph.svg")`` (or .png .pdf .dot); outside Jupyter
    ``drawing.view()`` opens it. Node names are stable, for tools built on the drawing: the
    box of the i-th value of ``trace(root)[0]`` is ``v{i}``, and the op node that made it
    ``v{i}op`` (a copy of a value drawn again beside a far use is ``v{i}again{k}``).

    Args:
        root: the output value.
        rankdir: 'LR' (left to right, the default), 'TB', 'RL' or 'BT'.
        format: what ``.render()`` and ``.pipe()`` produce: 'svg', 'png', 'pdf', ...
        show_grad: show each value's ``grad`` beside its ``data`` (a constant has none).
        color_by_grad: fill each value with a shade proportional to |grad| / max |grad|
            (the border still tells its kind; a constant stays grey: it has no grad).
        number_backward: number the op nodes 1, 2, ... in the order ``backward()`` visits
            them (reverse topological order): follow the chain rule step by step. With
            ``collapse``, a neuron box counts as one step; with ``expand_dot``, an expanded
            node's step goes on its last op (the activation, or the last ``+`` of a 'dot').
        collapse: 'neuron' draws each neuron (a 'tanh(w·x+b)'-like node, or a 'dot' node and
            the activation after it, or with ``model`` a per-op neuron) as one box, its
            weights and bias folded in: a whole MLP stays readable.
        expand_dot: draw each neuron node as its products w*x and a chain of + (bias last),
            as a per-op graph would be (each piece's grad is the node's z grad); a node with
            an activation inside also gets the box z = w·x + b (grad act'(z) * the node's
            grad) and its activation. Unexpanded, such a node's op reads 'tanh(w·x+b)'.
        params: leaves to mark as parameters (e.g. ``model.parameters()``).
        model: anything with ``parameters()``: the same as ``params=model.parameters()``.
        legend: add a key of the kinds of value (and of the step numbers and the shading,
            when shown).
        max_nodes: refuse (`GraphTooLargeError`) to draw more nodes than this, or more edges
            than 5 times this; counting stops soon after the cap. None: no cap.
        timeout: seconds the Graphviz program ``dot`` may take to render the drawing
            (`RenderError` past it); None: no limit.

    Example:
        >>> x = Value(1.0, label="x")
        >>> y = (x * 2 + 1).relu()
        >>> y.backward()
        >>> g = draw_dot(y)
        >>> "grad 2" in g.source, g.source.count("->")
        (True, 8)
    """
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_dot: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    if collapse not in (None, "neuron"):
        raise ValueError(f"draw_dot: collapse must be None or 'neuron', got {collapse!r}")
    if collapse and expand_dot:
        raise ValueError("draw_dot: collapse='neuron' and expand_dot=True contradict each other")
    if max_nodes is not None and (
        isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1
    ):
        raise ValueError(f"draw_dot: max_nodes must be a positive whole number or None, got {max_nodes!r}")
    check_timeout("draw_dot", timeout)
    if not isinstance(root, Value):
        raise TypeError(f"draw_dot: root must be a Value, got {type(root).__name__}: {root!r}")
    chosen = set(params) if params is not None else set()
    if model is not None:
        chosen.update(model.parameters())
    plan = sketch(
        walk(root, max_nodes=max_nodes, collapse=collapse), params=chosen, model=model, show_grad=show_grad,
        collapse=collapse, expand_dot=expand_dot, number_backward=number_backward, max_nodes=max_nodes,
    )  # fmt: skip
    return digraph(plan, rankdir=rankdir, format=format, color_by_grad=color_by_grad,
                   number_backward=number_backward, legend=legend, timeout=timeout)  # fmt: skip


def digraph(
    plan: Sketch,
    *,
    rankdir: str = "LR",
    format: str = "svg",
    color_by_grad: bool = False,
    number_backward: bool = False,
    legend: bool = False,
    timeout: float | None = RENDER_TIMEOUT,
) -> graphviz.Digraph:
    """The ``graphviz.Digraph`` of a planned drawing (options as `draw_dot`'s).

    First bounds the layout's work (`layout.lay_out`, once per plan), which may add to the
    plan copies of values drawn again beside far uses: the plan's boxes and edges are final
    once drawn. The edges in ``plan.labels`` carry their lines as a label.
    """
    from graphviz import nohtml

    limits = lay_out(plan)
    graph = _drawing_class()(
        format=format,
        graph_attr={"rankdir": rankdir, "bgcolor": "white", "nodesep": "0.2", "ranksep": "0.3", **limits},
        node_attr={"fontname": "Helvetica", "fontsize": "11", "height": "0.3"},
        edge_attr={"color": "#57534e", "arrowsize": "0.6"},
    )
    graph.timeout = timeout
    graph.counts = (len(plan.boxes), len(plan.ops), len(plan.edges))
    grads = [abs(b.grad) for b in plan.boxes if b.grad is not None and math.isfinite(b.grad)]
    top = (max(grads, default=0.0) or 1.0) if color_by_grad else None
    for box in plan.boxes:
        again = box.copy_of is not None
        tip = KIND_NAMES[box.kind] + (", drawn again beside this use" if again else "")
        shown = ["again", *box.fields] if again else box.fields
        graph.node(box.name, _record(shown, rankdir, box.stacked), tooltip=tip,
                   **box_style(box.kind, box.grad, top, again))  # fmt: skip
    for name, text, step, slots in plan.ops:
        label = text if step is None else f"{step}: {text}"
        style = OP_STYLE | (NUMBERED if step is not None else {})
        if slots:  # a record: a slot per input, then the op
            label, style = _slotted(label, slots, rankdir), style | {"shape": "Mrecord"}
        graph.node(name, nohtml(label), tooltip="operation", **style)  # '<lambda>' is text, not HTML
    for k, (tail, head, slot) in enumerate(plan.edges):
        lines = plan.labels.get(k)
        graph.edge(tail, f"{head}:{slot}" if slot else head, **(_edge_label(lines) if lines else {}))
    if plan.neuron_at:  # keep each layer's neurons in their order, top to bottom
        graph.attr(ordering="out")
    if legend:
        _legend(graph, plan, steps=number_backward, top=top)
    return graph


EDGE_LABEL = {"fontname": "Helvetica", "fontsize": "9", "fontcolor": "#9a3412"}


def _edge_label(lines: list[str]) -> dict[str, str]:
    """An edge's label, laid out by Graphviz with the graph (so it sits on its own edge and
    covers no node and no other label): lines in a box. The tooltip gives its label a group of
    its own in the SVG (id 'a_edgeN-label'), which a page can show or hide."""
    rows = "".join(f"<TR><TD>{html.escape(line)}</TD></TR>" for line in lines)
    table = (f'<TABLE BORDER="0" CELLPADDING="2" CELLSPACING="0"><TR><TD>'  # room around the box
             f'<TABLE BORDER="1" COLOR="#fdba74" BGCOLOR="#fffbeb" CELLBORDER="0" CELLPADDING="1" '
             f'CELLSPACING="0">{rows}</TABLE></TD></TR></TABLE>')  # fmt: skip
    return {"label": f"<{table}>", "labeltooltip": "local derivative × the node's grad = what the input's grad gains",
            **EDGE_LABEL}  # fmt: skip


def _record(fields: list[str], rankdir: str, stacked: bool = False) -> str:
    """Fields side by side (or, for a neuron box, one above the other)."""
    text = " | ".join(_escape(f) for f in fields)
    return "{ " + text + " }" if (rankdir in ("LR", "RL")) != stacked else text


def _escape(text: str) -> str:
    """A record field's text as Graphviz will show it: its syntax characters escaped, '&' too
    (Graphviz reads '&amp;' or '&alpha;' in a record as an entity), each line break a line (a
    label's text is `style.user_text`'s: its only line breaks are '\\n')."""
    for ch in '\\{}|<>"':
        text = text.replace(ch, "\\" + ch)
    text = text.replace("&", "&amp;")
    return text.replace("\n", "\\n")


def _slotted(text: str, slots: list[str], rankdir: str) -> str:
    """An op's record: its inputs' slots (ports named as the slots) on the side edges come from."""
    column = "{ " + " | ".join(f"<{_escape(slot)}> {_escape(slot)}" for slot in slots) + " }"
    return (
        f"{{ {column} | {_escape(text)} }}"
        if rankdir in ("LR", "TB")
        else f"{{ {_escape(text)} | {column} }}"
    )


def _legend(graph, plan: Sketch, *, steps: bool, top: float | None) -> None:
    """A key, one table: the kinds of value drawn, and what step numbers and shading mean."""
    kinds = {b.kind for b in plan.boxes}
    rows = [_key_row(KIND_NAMES[k], box_style(k, None, None, False), LEGEND_TEXT[k])
            for k in LEGEND_TEXT if k in kinds]  # fmt: skip
    again = next((b for b in plan.boxes if b.copy_of is not None), None)
    if again is not None:
        rows.append(_key_row("again", box_style(again.kind, None, None, True),
                             "a value drawn again, beside a use far from it"))  # fmt: skip
    if steps:
        rows.append(_key_row("k: op", OP_STYLE | NUMBERED, "step k of backward(), from the output (1) back"))
    if top is not None:
        shades = "".join(_key_cell(f"|grad| {format_number(top * t)}", {"fillcolor": shade(t), "color": "#6b7280"})
                         for t in (0.0, 0.5, 1.0))  # fmt: skip
        rows.append('<TR><TD COLSPAN="2" ALIGN="LEFT">fill: |grad|, from 0 (white) to the largest</TD></TR>')
        rows.append(f'<TR><TD COLSPAN="2"><TABLE BORDER="0" CELLSPACING="4"><TR>{shades}</TR></TABLE></TD></TR>')
    table = "".join(rows)
    graph.node(
        "legend", f'<<TABLE BORDER="1" COLOR="#d6d3d1" STYLE="rounded" CELLBORDER="0" CELLSPACING="3" '
        f'CELLPADDING="2"><TR><TD COLSPAN="2"><B>key</B></TD></TR>{table}</TABLE>>',
        shape="plaintext", fontsize="10", tooltip="key",
    )  # fmt: skip


def _key_row(sample: str, style: dict[str, str], meaning: str) -> str:
    return f'<TR>{_key_cell(sample, style)}<TD ALIGN="LEFT">{html.escape(meaning)}</TD></TR>'


def _key_cell(text: str, style: dict[str, str]) -> str:
    """A sample of a node's look as a table cell: fill, border colour, width, rounding, dashes."""
    look = style.get("style", "") + ("rounded" if style.get("shape") in ("Mrecord", "ellipse") else "")
    cell_style = next((s for s in ("dashed", "dotted", "rounded") if s in look), None)
    attrs = {"BORDER": "2" if "bold" in look else "1", "COLOR": style.get("color", "#6b7280"),
             "BGCOLOR": style.get("fillcolor", "#ffffff"), "STYLE": cell_style}  # fmt: skip
    cell = " ".join(f'{k}="{v}"' for k, v in attrs.items() if v)
    font = style.get("fontcolor")
    body = html.escape(text) if font is None else f'<FONT COLOR="{font}">{html.escape(text)}</FONT>'
    return f"<TD {cell}>{body}</TD>"


# ---------------------------------------------------------------------- the drawing's class

_Drawing = None


def _drawing_class():
    """graphviz.Digraph that renders with a time limit and one-line errors, and says what it is."""
    global _Drawing
    if _Drawing is None:
        import graphviz

        class Drawing(graphviz.Digraph):
            """A drawing made by `draw_dot`: a graphviz.Digraph whose rendering (pipe, render,
            view, Jupyter's inline SVG) runs ``dot`` within ``timeout`` seconds."""

            timeout: float | None = RENDER_TIMEOUT
            counts = (0, 0, 0)  # values, ops, edges

            def pipe(self, format=None, renderer=None, formatter=None, neato_no_op=None, quiet=False, *,
                     engine=None, encoding=None):  # fmt: skip
                kind = ":".join(f for f in (format or self.format, renderer, formatter) if f)
                options = [f"-K{engine or self.engine}", f"-T{kind}"] + (
                    [f"-n{neato_no_op:d}"] if neato_no_op else []
                )
                data = run_dot(
                    options, self.source, self.timeout, "draw_dot: cannot render the drawing", quiet
                )
                return data if encoding is None else data.decode(encoding)

            def render(self, filename=None, directory=None, view=False, cleanup=False, format=None,
                       renderer=None, formatter=None, neato_no_op=None, quiet=False, quiet_view=False, *,
                       outfile=None, engine=None, raise_if_result_exists=False, overwrite_source=False):  # fmt: skip
                # graphviz's render (the source saved, the picture beside it), through pipe()
                if outfile is not None:
                    format = format or Path(outfile).suffix.lstrip(".").lower() or None
                    outfile = Path(outfile) if directory is not None else Path(self.directory, outfile)
                    filename = filename if filename is not None else outfile.with_suffix(".gv")
                source = Path(self.save(filename, directory=directory))
                kind = format or self.format
                suffix = ".".join(f for f in (formatter, renderer, kind) if f)
                out = Path(outfile) if outfile is not None else source.with_name(f"{source.name}.{suffix}")
                if raise_if_result_exists and out.exists():
                    raise graphviz.FileExistsError(f"output file exists: {os.fspath(out)!r}")
                if out.resolve() == source.resolve() and not overwrite_source:
                    raise ValueError(f"draw_dot: the picture {os.fspath(out)!r} would replace its DOT source")
                write_atomically(out, self.pipe(kind, renderer, formatter, neato_no_op, quiet, engine=engine))
                if cleanup:
                    os.remove(source)
                if view or quiet_view:
                    graphviz.view(out, quiet=quiet_view)
                return os.fspath(out)

            def copy(self):
                twin = super().copy()
                twin.timeout, twin.counts = self.timeout, self.counts
                return twin

            def __repr__(self) -> str:
                counted = ", ".join(
                    count(n, what) for n, what in zip(self.counts, ("value", "operation", "edge"))
                )
                return (
                    f"<draw_dot drawing: {counted}; "
                    "save_graph(drawing, 'graph.svg') saves it (.svg .png .pdf .dot), "
                    "drawing.view() opens it, Jupyter shows it inline>"
                )

        _Drawing = Drawing
    return _Drawing


# ---------------------------------------------------------------------- saving


SUFFIX_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}


def save_graph(graph: graphviz.Digraph, path: str | os.PathLike) -> Path:
    """Write a drawing to `path`, the format chosen by its suffix: .svg .png .pdf or .dot.

    ``.dot`` (the Graphviz source) needs no Graphviz program; the others run ``dot``, within
    the drawing's ``timeout`` (`RENDER_TIMEOUT` for a Digraph not made by `draw_dot`), and
    raise `GraphvizNotFoundError`, saying how to install it, when it is missing, or
    `RenderError` when it fails or runs too long. The file appears complete or not at all.

    Example:
        >>> import tempfile, pathlib
        >>> x = Value(1.0, label="x")
        >>> out = save_graph(draw_dot(x.tanh()), pathlib.Path(tempfile.mkdtemp()) / "g.dot")
        >>> out.read_text().startswith("digraph")
        True
    """
    path = Path(path)
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"save_graph: cannot tell the format of {str(path)!r} from its suffix; "
            "use .svg, .png, .pdf or .dot"
        )
    if fmt == "dot":
        data = graph.source.encode("utf-8")
    else:
        timeout = getattr(graph, "timeout", RENDER_TIMEOUT)
        data = run_dot([f"-T{fmt}"], graph.source, timeout, f"save_graph: cannot write {path.name}")
    write_atomically(path, data)
    return path
