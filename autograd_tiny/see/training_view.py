"""Watch a model learn: record the steps of a training loop, then step and scrub through them.

A `TrainingRecorder` takes one line in the loop, after ``loss.backward()`` (so the weights are
those of this step's forward pass and the gradients those the optimizer is about to use)::

    recorder = TrainingRecorder(model, X, y, point_loss=lambda s, i: losses.hinge([s], [signs[i]]))
    for k in range(100):
        loss = ...
        model.zero_grad()
        loss.backward()
        recorder.record(loss, accuracy=acc)
        optimizer.step()
    recorder            # in Jupyter: the view; recorder.save("training.html") writes it

The view opens at the first step and ends at the last one the loop ran, whatever ``every`` is.
It shows the loss curve (click it to jump to a step), the decision boundary at that step, and
one training point's graph drawn one box per neuron: each neuron's value on that point and the
gradient of the point's loss with respect to it (replayed from the engine's local derivatives,
as `explore` does). Every point's graph is recorded at every kept step, so a click on a point
in the boundary picture follows it; by default the view follows a point whose loss is not 0 at
the first step, and says why. The weights are the edges: the selected neuron's in colour
(orange positive, blue negative, thicker when larger), listed with their gradients in the whole
loss; the others thin and grey. ``live=True`` shows the view while the loop runs and refreshes
it as steps come in. A run that diverges is recorded too: nan and inf are shown as such.

Example:
    >>> from autograd_tiny import nn, losses, data
    >>> X, y = data.moons(20, seed=0)
    >>> model = nn.MLP(2, [4, 1], seed=0)
    >>> recorder = TrainingRecorder(model, X, y, grid=8)
    >>> loss = losses.hinge([model(x) for x in X], data.signed_labels(y))
    >>> loss.backward()
    >>> recorder.record(loss)
    >>> len(recorder), recorder.losses == [loss.data]
    (1, True)
"""

from __future__ import annotations

import html
import inspect
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._files import write_atomically
from ..engine import Value, topological_order
from ..grad_mode import enable_grad, no_grad
from ..neuron import NeuronOp
from .dot import layout
from .explorer import Graph, drawn_graph, replay, too_many_values
from .page import controls, iframe, number, page, svg_element
from .plot import padded
from .sketch import Box, Sketch
from .style import format_number
from .trace import Constant, GraphTooLargeError, TooManyValues, Trace

__all__ = ["TrainingRecorder"]

# What the page says around the followed point's numbers (its script puts them in).
TEXT = {
    "loss": "its loss",
    "output": "the model's output",
    "zero": "So no gradient flows back from it: every grad below is 0.",
    "picked": "You picked this point in the picture.",
    "click": "Click any point in the picture to follow it instead.",
}
LOSS_NODE = "point_loss"  # the node standing for what the point's loss does with the model's outputs
RESERVED = "-0.0001234"  # boxes are laid out wide enough for a number this long
RANKSEP = "1.2"  # inches between columns: room for a layer's weights to fan out
MIN_SCALE = 0.9  # the page never draws the graph smaller than 0.9 px per point: text stays >= 11 px


class TrainingRecorder:
    """Records a training run for a page that replays it: loss, boundary, every point's graph.

    Args:
        model: the model being trained (a callable from ``[x1, x2]`` to a Value or a list of
            Values, with ``parameters()``: an `nn.MLP`).
        X, y: the training points (two-dimensional) and their class labels.
        point: the point the view follows first (an index into X); None: a point whose loss
            is not 0 at the first step, the one that keeps a loss longest.
        point_loss: the loss of one point as a function of the model's output on it and the
            point's index (``lambda s, i: losses.hinge([s], [signs[i]])``); None: the output
            itself. A function of the output alone is the loss of `point` only: the view then
            follows that point alone.
        grid: the decision boundary is the model evaluated on grid x grid points.
        every: keep one step in `every` whole, and always the last (the loss of every step is kept).
        max_steps: refuse to keep more steps than this whole, the last aside (a page must stay light).
        follow: record the graphs of at most this many points (all of X when it has no more;
            else this many, spread over X): each costs a forward and backward pass per kept step.
        live: in Jupyter, show the view now and refresh it while steps come in.
        refresh: at most one live refresh per this many seconds (and one when the cell ends).
    """

    def __init__(self, model: Any, X: Sequence[Sequence[float]], y: Sequence[int], *, point: int | None = None,
                 point_loss: Callable[..., Value] | None = None, grid: int = 20, every: int = 1,
                 max_steps: int = 1000, follow: int = 200, live: bool = False,
                 refresh: float = 1.0) -> None:  # fmt: skip
        if not callable(model) or not hasattr(model, "parameters"):
            raise TypeError(
                f"TrainingRecorder: model must be callable with parameters(), got {type(model).__name__}"
            )
        if len(X) != len(y) or not X or any(len(x) != 2 for x in X):
            raise ValueError(
                f"TrainingRecorder: need as many labels as two-dimensional points, got {len(X)} and {len(y)}"
            )
        if point is not None and (isinstance(point, bool) or not isinstance(point, int) or not 0 <= point < len(X)):
            raise ValueError(
                f"TrainingRecorder: point must be an index into X (0 to {len(X) - 1}) or None, got {point!r}"
            )
        for name, value, least in (("grid", grid, 2), ("every", every, 1), ("max_steps", max_steps, 1),
                                   ("follow", follow, 1)):  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"TrainingRecorder: {name} must be an int >= {least}, got {value!r}")
        self.by_index = point_loss is None or _takes_index(point_loss)
        if self.by_index:  # the points whose graphs are recorded
            self.followed = _spread(len(X), follow, point)
        elif point is None:
            raise ValueError(
                "TrainingRecorder: point_loss takes the model's output alone, so it is the loss of one "
                "point: say which with point=, or give it the point's index too (lambda output, i: ...) "
                "to follow any point"
            )
        else:
            self.followed = [point]
        self.model, self.X, self.y = model, [list(map(float, x)) for x in X], list(y)
        self.point, self.point_loss, self.grid, self.every, self.max_steps = point, point_loss, grid, every, max_steps
        self.params = list(model.parameters())
        self.bounds = _plane(self.X)
        self.losses: list[float] = []  # at every step
        self.accuracies: list[float | None] = []
        self.calls = 0
        self.graph: Graph | None = None  # the point's graph as the explorer draws it
        self.view: Graph | None = None  # as this view draws it (see `_view_plan`)
        self.box_names: list[str] = []  # the boxes drawn, in the order each point's numbers come
        self._boxes: list[tuple[tuple[int, ...], bool]] = []  # each box's path from the root, has a grad
        self._ops: list[str] = []  # the ops of every point's graph, in backward's order reversed
        self._kept: list[dict] = []  # one step in `every`, whole
        self._last: tuple | None = None  # the latest step, when not kept: (step, weights, grads)
        self._tail: dict | None = None  # ... and its record, made when a page is
        self._svg: tuple[str, tuple[float, float]] | None = None
        self.live, self.refresh = live, refresh
        self._handle: Any = None
        self._shown_at = 0.0
        self._running = False

    def __len__(self) -> int:
        return len(self._kept) + (self._last is not None)

    def __repr__(self) -> str:
        return (
            f"<TrainingRecorder: {len(self)} steps recorded of {self.calls}; "
            ".save('training.html') writes the view>"
        )

    @property
    def steps(self) -> list[int]:
        """The training step of each record, counted from 1: one in `every`, and the last."""
        return [r["step"] for r in self._kept] + ([self._last[0]] if self._last is not None else [])

    @property
    def records(self) -> list[dict]:
        """Each recorded step: its training step, the weights and gradients (as the page shows
        them: 4 significant digits, nan and inf as text), each followed point's boxes, the boundary."""
        return self._kept + ([self._last_record()] if self._last is not None else [])

    # ------------------------------------------------------------------ recording

    def record(self, loss: Value | float, accuracy: float | None = None) -> None:
        """Keep this step: the loss, the weights and their gradients (call it after
        ``loss.backward()``, before the optimizer's step), the points' graphs, the boundary."""
        value = float(loss)
        self.calls += 1
        self.losses.append(value)
        self.accuracies.append(None if accuracy is None else float(accuracy))
        state = (self.calls, [p.data for p in self.params], [float(p.grad) for p in self.params])
        self._tail = None
        if (self.calls - 1) % self.every:
            self._last = state  # the run may end here: kept until the next step comes
        else:
            if len(self._kept) >= self.max_steps:
                raise ValueError(
                    f"TrainingRecorder: already {self.max_steps} steps recorded (max_steps); "
                    "record one step in k with every=k, or raise max_steps"
                )
            self._last = None
            self._kept.append(self._capture(*state))
        if self.live:
            self._running = True
            self._refresh_live(force=False)

    def _capture(self, step: int, weights: list[float], grads: list[float]) -> dict:
        """A record of the model as it is now (its weights are those of `step`)."""
        return {
            "step": step,
            "weights": [shown(w) for w in weights],
            "grads": [shown(g) for g in grads],
            "points": [self._point_boxes(i) for i in self.followed],
            "boundary": self._boundary(),
        }

    def _last_record(self) -> dict:
        """The record of the latest step when `every` did not keep it, made from its weights: the
        model holds them for as long as that takes, then gets its own back."""
        if self._tail is None:
            step, weights, grads = self._last  # type: ignore[misc]
            now = [p.data for p in self.params]
            try:
                for p, w in zip(self.params, weights):
                    p.data = w
                self._tail = self._capture(step, weights, grads)
            finally:
                for p, w in zip(self.params, now):
                    p.data = w
        return self._tail

    def _root(self, i: int) -> Value:
        """Point i's graph: the model on it, then its loss."""
        x1, x2 = self.X[i]
        with enable_grad():
            out = self.model([Value(x1, label="x1"), Value(x2, label="x2")])
            if self.point_loss is None:
                root = out
            else:
                root = self.point_loss(out, i) if self.by_index else self.point_loss(out)
        if not isinstance(root, Value):
            raise TypeError(
                "TrainingRecorder: the model gives several outputs; pass point_loss= "
                "(the loss of one point as a function of them) to pick one value to follow"
            )
        return root

    def _point_boxes(self, i: int) -> list[float | str | None]:
        """Point i's graph at the current weights: each drawn box's data and grad, in turn."""
        root = self._root(i)
        if self.graph is None:
            self._draw(root)
        traced = _interior(root)
        if [v.op for v in traced.nodes] != self._ops:
            raise ValueError(
                "TrainingRecorder: the point's graph changed shape between steps or points; "
                "the model and point_loss must compute the same operations every time"
            )
        grads = replay(traced)
        values: list[float | str | None] = []
        for path, has_grad in self._boxes:
            v = root
            for k in path:
                v = v.parents[k]
            data = v.data if isinstance(v, Value) else float(v)
            values += [shown(data), shown(grads.get(v, 0.0)) if has_grad else None]
        return values

    def _draw(self, root: Value) -> None:
        """Plan the drawing from the first point's graph: every point's has the same shape."""
        try:
            self.graph = drawn_graph(root, collapse="neuron", model=self.model, max_nodes=400)
        except TooManyValues as err:
            raise too_many_values("TrainingRecorder", err) from None
        except GraphTooLargeError as err:
            raise GraphTooLargeError(
                f"TrainingRecorder: the point's graph is too large to show ({err})",
                max_nodes=err.max_nodes, nodes=err.nodes, exact=err.exact, edges=err.edges,
            ) from None
        plan = _view_plan(self.graph)
        self.view = Graph(plan, self.model)
        drawing = self.view.drawing  # (made once, then kept: these settings stay on it)
        drawing.attr(ranksep=RANKSEP)
        for name, *_ in plan.ops:  # as large as the boxes' text
            drawing.node(name, fontsize="12")
        drawn = _drawn_values(plan)
        self.box_names = [box.name for _, box in drawn]
        paths = _paths(plan.trace)
        self._boxes = [(paths[v], box.grad is not None) for v, box in drawn]
        self._ops = [v.op for v in plan.trace.order]

    def _boundary(self) -> list[int | None]:
        """The model over a grid, rows from the top, as colours: several outputs give the
        winning class; one output (a score) its shade from -20 (class 0's colour) through 0
        (white) to 20, saturated at a typical |score| (the 90th percentile, as the PNGs).
        None where the model's output is nan (+-inf saturate)."""
        x0, x1, y0, y1 = self.bounds
        n = self.grid
        outs = []
        with no_grad():
            for j in range(n):
                b = y1 - (y1 - y0) * j / (n - 1)
                outs += [self.model([x0 + (x1 - x0) * i / (n - 1), b]) for i in range(n)]
        if not isinstance(outs[0], Value):
            return [None if any(math.isnan(o.data) for o in out) else max(range(len(out)), key=lambda c: out[c].data)
                    for out in outs]  # fmt: skip
        finite = [abs(out.data) for out in outs if math.isfinite(out.data)]
        spread = sorted(finite)[int(0.9 * (len(finite) - 1))] if finite else 1.0
        return [None if math.isnan(s) else round(20 * max(-1.0, min(1.0, s / (spread or 1.0))))
                for s in (out.data for out in outs)]  # fmt: skip

    # ------------------------------------------------------------------ the view

    @property
    def html(self) -> str:
        """The view as one self-contained page."""
        self._drawn()  # a clear error before the first record
        return page("Training, step by step", "training", self._body(), self.page_data())

    def save(self, path: str | os.PathLike) -> Path:
        """Write the view to `path` as one HTML file that works offline; returns the path."""
        path = Path(path)
        write_atomically(path, self.html)
        return path

    def _repr_html_(self) -> str:
        document = self.html
        return iframe(document, height=min(1300, 560 + int(self._picture()[1][1])))

    def _drawn(self) -> Graph:
        """The point's graph as drawn, planned at the first record(); a clear error before any step is recorded."""
        if not len(self) or self.view is None:
            raise ValueError("TrainingRecorder: no step recorded yet; call record(loss) in the training loop")
        return self.view

    def _picture(self) -> tuple[str, tuple[float, float]]:
        """The point's graph as an inline SVG element, and its size (laid out once)."""
        if self._svg is None:
            self._svg = svg_element(layout(self._drawn().drawing.source, "svg").decode("utf-8"))
        return self._svg

    def page_data(self) -> dict:
        """What the page's script reads: every recorded step, the points, the weights' edges."""
        view = self._drawn()
        records = self.records
        index = {p: k for k, p in enumerate(self.params)}
        neurons = {}
        for end, members in view.units.items():
            if view.has_op_node(end):
                continue
            rows = []
            for m in members:
                for p in view.inputs[m]:
                    if p in index:
                        rows.append([view.who(p), index[p]])
            neurons[view.name(end)] = {"title": view.neuron_title(end), "params": rows}
        classes = sorted(set(self.y))
        point, why = self._chosen(records)
        names = self.box_names
        return {
            "steps": [self._step(k, records) for k in range(len(records))],
            "open": len(records) - 1 if self._running else 0,  # live, mid-run: the latest step
            "losses": [exact(v) for v in self.losses],
            "accuracies": [None if a is None else exact(a) for a in self.accuracies],
            "at": [r["step"] for r in records],
            "bounds": self.bounds,
            "grid": self.grid,
            "classes": [str(c) for c in classes],
            "points": [[exact(x[0]), exact(x[1]), classes.index(c)] for x, c in zip(self.X, self.y)],
            "followed": self.followed,
            "point": point,
            "why": why,
            "boxes": names,
            "root": names.index(view.name(view.root)),
            "what": "output" if self.point_loss is None else "loss",
            "text": TEXT,
            "minScale": MIN_SCALE,
            "edges": _weight_edges(view, index),
            "copies": view.copies,
            "neurons": neurons,
        }

    def _chosen(self, records: list[dict]) -> tuple[int, str]:
        """The point the view follows first, and why (a sentence)."""
        if not self.by_index:
            return self.followed[0], (
                f"This is the point asked for (point={self.point}); point_loss takes the model's output "
                "alone, so it is the only point this view can follow."
            )
        if self.point is not None:
            return self.point, f"This is the point asked for (point={self.point})."
        if self.point_loss is None:
            return self.followed[0], (
                "This is the first point: without point_loss= each point's graph ends at the model's "
                "output, whose gradient with respect to itself is 1, so every point shows gradients."
            )
        root = 2 * self.box_names.index(self._drawn().name(self._drawn().root))
        alive = {i: [_not_zero(r["points"][j][root]) for r in records] for j, i in enumerate(self.followed)}
        first = [i for i in self.followed if alive[i][0]]
        pool = first or [i for i in self.followed if any(alive[i])]
        total, start = len(records), records[0]["step"]
        if not pool:
            return self.followed[0], (
                f"This is the first point: no point's loss is other than 0 at any of the {total} recorded "
                "steps, so no gradient flows back through any of them."
            )
        best = max(pool, key=lambda i: (sum(alive[i]), -i))
        held = f"{sum(alive[best])} of the {total} recorded steps"
        if first:
            return best, (
                f"Why this point: its loss is not 0 at step {start}, and it stays other than 0 at {held}, "
                "as many as any point's does."
            )
        return best, (
            f"Why this point: no point's loss is other than 0 at step {start}; this one's is at {held}, "
            "as many as any point's."
        )

    def _step(self, k: int, records: list[dict]) -> dict:
        record = records[k]
        step = record["step"]
        value, accuracy = self.losses[step - 1], self.accuracies[step - 1]
        line = [f"Training step {step} (recorded {k + 1} of {len(records)}): loss ", number(value)]
        if accuracy is not None:
            line += [f", training accuracy {accuracy:.0%}" if math.isfinite(accuracy) else
                     f", training accuracy {accuracy!r}"]  # fmt: skip
        if k:
            before = records[k - 1]["step"]
            line += [", from ", number(self.losses[before - 1]), f" at step {before}"]
        line += ["."]
        return {
            "text": [line],
            "weights": record["weights"],
            "grads": record["grads"],
            "points": record["points"],
            "boundary": record["boundary"],
        }

    def _body(self) -> str:
        return f"""<main class="training">
<header><h1>Training, step by step</h1>
<p class="hint">→ / ← step, space plays, Home / End jump; click the loss curve to jump there, a point
in the picture to follow it, and a neuron to see its weights and their gradients.</p></header>
{controls(len(self), 0, ((900, "slow"), (300, "normal"), (80, "fast")))}
</div>
<div class="story"><div id="explanation" aria-live="polite"></div></div>
<div class="top">
<figure><svg id="loss-curve" viewBox="0 0 380 220" role="img" aria-label="loss curve"></svg>
<figcaption>{html.escape(self._curve_caption())}</figcaption></figure>
<figure><canvas id="boundary" width="260" height="220"></canvas>
<figcaption>{html.escape(self._boundary_caption())}</figcaption></figure>
<aside id="details"></aside>
</div>
<figure class="graph"><figcaption>{html.escape(self._graph_caption())}</figcaption>
<div id="graph">{self._picture()[0]}</div></figure>
</main>"""

    def _graph_caption(self) -> str:
        """What the point's graph draws, and only that."""
        of = "the point's loss" if self.point_loss is not None else "the model's output"
        text = (
            "The followed point's graph, one box per neuron: its value on the point (data) and the "
            f"gradient of {of} with respect to that value (grad). "
        )
        if self._drawn().name(self._drawn().root) + "op" in self._drawn().drawn:
            text += f"{LOSS_NODE} stands for the operations that make the point's loss from the model's output. "
        return text + (
            "The thin grey lines are the weights; the selected neuron's incoming ones are in colour "
            "(orange positive, blue negative, thicker when larger) and listed above with their gradients "
            "in the whole loss: each step moves every weight against its gradient. Click a neuron to "
            "select it."
        )

    def _curve_caption(self) -> str:
        """What the loss curve draws, and only that."""
        parts = ["loss (black line) at every step"]
        if any(a is not None and math.isfinite(a) for a in self.accuracies):
            parts.append("training accuracy (green, dashed; 0 to 100% on the right)")
        text = " and ".join(parts)
        if not all(math.isfinite(v) for v in self.losses):
            text += "; red at the top: steps whose loss is nan or inf"
        return text + "; the red line is the step shown: click to jump"

    def _boundary_caption(self) -> str:
        """What the boundary picture draws, and only that."""
        if len(set(self.y)) > 2:
            text = "the class the model picks over the plane"
        else:
            text = "the model's output over the plane (blue below 0, orange above)"
        text += "; the points in their classes' colours, the one followed ringed in red"
        if any(cell is None for r in self.records for cell in r["boundary"]):
            text += "; grey where the output is nan"
        hidden = sum(not all(map(math.isfinite, x)) for x in self.X)
        if hidden:
            text += f"; {_count(hidden, 'point')} with a nan or inf coordinate not drawn"
        if len(self.followed) < len(self.X):
            text += f"; pale: points not recorded (follow={len(self.followed)})"
        if len(self.followed) > 1:
            text += "; click a point to follow it"
        return text

    # ------------------------------------------------------------------ live, in Jupyter

    def show(self) -> None:
        """Show the view in Jupyter now (again, refreshed, if it is already shown)."""
        self._running = False
        self._refresh_live(force=True)

    def _refresh_live(self, force: bool) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import HTML, display
        except ImportError:
            return
        shell = get_ipython()
        if shell is None or not len(self):
            return
        now = time.monotonic()
        if not force and self._handle is not None and now - self._shown_at < self.refresh:
            return
        self._shown_at = now
        content = HTML(self._repr_html_())
        if self._handle is None:
            self._handle = display(content, display_id=True)
            # one last refresh when the cell that trains ends, whatever step it ends on
            shell.events.register("post_execute", self._after_cell)
        else:
            self._handle.update(content)

    def _after_cell(self) -> None:
        from IPython import get_ipython
        from IPython.display import HTML

        shell = get_ipython()
        if shell is not None:
            shell.events.unregister("post_execute", self._after_cell)
        self._running = False  # the run is over: the view opens at its first step
        if self._handle is not None:
            self._handle.update(HTML(self._repr_html_()))


def shown(x: float) -> float | str:
    """A number as the page shows it (4 significant digits, as drawings), compact in JSON:
    a number, or 'nan', 'inf', '-inf' as text (JSON has none of them).

    Example:
        >>> shown(2 / 3), shown(float("-inf"))
        (0.6667, '-inf')
    """
    x = float(format_number(x))
    return x if math.isfinite(x) else repr(x)


def exact(x: float) -> float | str:
    """A number for the page's JSON as it is, or 'nan', 'inf', '-inf' as text (the page's
    `Page.value` reads them back).

    Example:
        >>> exact(0.1), exact(float("nan"))
        (0.1, 'nan')
    """
    return x if math.isfinite(x) else repr(x)


def _not_zero(x: float | str | None) -> bool:
    """Whether a recorded number is finite and not 0."""
    return isinstance(x, float) and x != 0.0


def _takes_index(point_loss: Callable) -> bool:
    """Whether point_loss can be called as point_loss(output, i)."""
    try:
        inspect.signature(point_loss).bind(None, 0)
    except TypeError:
        return False
    except ValueError:  # no signature to read (some built-ins): call it as documented
        return True
    return True


def _spread(n: int, follow: int, point: int | None) -> list[int]:
    """The points to record: all n if they are at most `follow`, else `follow` spread over them
    (and `point`)."""
    if n <= follow:
        return list(range(n))
    chosen = {k * n // follow for k in range(follow)}
    return sorted(chosen | ({point} if point is not None else set()))


def _plane(X: list[list[float]]) -> list[float]:
    """x0, x1, y0, y1: the points' range, padded, over their finite coordinates."""
    bounds: list[float] = []
    for axis in (0, 1):
        values = [x[axis] for x in X if math.isfinite(x[axis])]
        bounds += padded(values) if values else (-1.0, 1.0)
    return bounds


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _view_plan(graph: Graph) -> Sketch:
    """The point's graph as the view draws it, from the explorer's plan: the model's part as
    drawn there (a box per neuron and its inputs), then what the point's loss does with the
    model's outputs folded into one node, `LOSS_NODE`, before the loss's box. Each box is laid
    out with its data above its grad, wide enough for `RESERVED`."""
    old = graph.plan
    root = graph.name(graph.root)
    tails: dict[str, list[str]] = {}
    for tail, head, _ in old.edges:
        tails.setdefault(head, []).append(tail)
    model = set()  # the neurons' boxes and everything that feeds them
    todo = [graph.name(end) for end in old.neuron_at]
    while todo:
        name = todo.pop()
        if name not in model:
            model.add(name)
            todo += tails.get(name, [])
    plan = Sketch(old.trace)
    plan.name, plan.hidden, plan.neuron_at = old.name, old.hidden, old.neuron_at
    for box in old.boxes:
        if box.name in model or box.name == root:
            fields = box.fields[:]
            at = len(fields) - (2 if box.grad is not None else 1)  # the data field, then the grad
            fields[at:] = [f"data {RESERVED}"] + ([f"grad {RESERVED}"] if box.grad is not None else [])
            copy = Box(box.name, box.kind, fields, box.grad, stacked=True)
            copy.copy_of = box.copy_of
            plan.boxes.append(copy)
    plan.ops = [op for op in old.ops if op[0] in model]
    plan.edges = [edge for edge in old.edges if edge[1] in model]
    if root not in model:
        node = f"{root}op"
        outputs = list(dict.fromkeys(t for t, h, _ in old.edges if t in model and h not in model))
        plan.ops.append((node, LOSS_NODE, None, []))
        plan.edges += [(t, node, "") for t in outputs] + [(node, root, "")]
    return plan


def _interior(root: Value) -> Trace:
    """root's graph as `replay` needs it: the nodes with inputs (the engine's topological_order)
    and their inputs. A walk would visit every leaf too: the 337 weights of an MLP(2, [16, 16, 1])."""
    order = topological_order(root)
    return Trace(root, order, {v: [p if isinstance(p, Value) else Constant(p) for p in v.parents] for v in order})


def _paths(traced: Trace) -> dict:
    """Each value of the graph by how to reach it from the root: the input's place at each step
    (the same in every point's graph, which has the same shape)."""
    paths: dict = {traced.root: ()}
    todo = [traced.root]
    for v in todo:  # breadth first: the list grows as we go
        for k, p in enumerate(traced.inputs[v]):
            if p not in paths:
                paths[p] = (*paths[v], k)
                todo.append(p)
    return paths


def _drawn_values(plan: Sketch) -> list[tuple[Any, Box]]:
    """Each value drawn (not a copy), with its box."""
    boxes = {box.name: box for box in plan.boxes if box.copy_of is None}
    return [(v, boxes[name]) for v, name in plan.name.items() if name in boxes]


def _weight_edges(graph: Graph, index: dict) -> list[list]:
    """Each edge of the drawing that carries a weight: [title, k, the weight's index in params,
    the neuron's box] (title and k as in `Graph.edges`).

    A neuron box's edges come in from its inputs; the weight on the edge from x is the one
    multiplied by x (in a fused neuron node, w[i] for x[i]; per op, the other factor of x's
    product).
    """
    found = []
    for end, members in graph.units.items():
        if graph.has_op_node(end):
            continue
        used: dict[str, int] = {}  # edges taken, by the input's box
        pairs = []
        for m in reversed(members):  # forward order, the order of the drawing's edges
            args = graph.inputs[m]
            if isinstance(m.grad_fn, NeuronOp):  # a fused neuron node: (w..., x..., b)
                n = len(args) // 2
                pairs += list(zip(args[n : 2 * n], args[:n]))
            elif m.op == "*" and len(args) == 2:
                a, b = args
                pairs.append((b, a) if a in index else (a, b))
        for x, w in pairs:
            if w not in index or x not in graph.index or not graph.is_drawn(x):
                continue
            drawn = graph.edges.get((graph.name(x), graph.name(end)), [])  # from x's box or a copy
            k = used.get(graph.name(x), 0)
            if k < len(drawn):
                used[graph.name(x)] = k + 1
                found.append([*drawn[k], index[w], graph.name(end)])
    return found
