"""Watch a model learn: record the steps of a training loop, then step and scrub through them.

A `TrainingRecorder` takes one line in the loop, after ``loss.backward()`` (so the weights are
those of this step's forward pass and the gradients those the optimizer is about to use)::

    recorder = TrainingRecorder(model, X, y, point_loss=lambda s: losses.hinge([s], [y_signed[0]]))
    for k in range(100):
        loss = ...
        model.zero_grad()
        loss.backward()
        recorder.record(loss, accuracy=acc)
        optimizer.step()
    recorder            # in Jupyter: the view; recorder.save("training.html") writes it

The view shows the loss curve (click it to jump to a step), the decision boundary at that step,
and one data point's graph drawn one box per neuron: each neuron's value on that point and the
gradient of the point's loss with respect to it (replayed from the engine's local derivatives,
as `explore` does), and every weight as an edge (orange positive, blue negative, thicker when
larger), with its gradient in the whole loss, listed per neuron when you click a box.
``live=True`` shows the view while the loop runs and refreshes it as steps come in.

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
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._files import write_atomically
from ..engine import Value
from ..grad_mode import enable_grad, no_grad
from ..neuron import NeuronOp
from .dot import layout
from .explorer import Graph, drawn_graph, replay, too_many_values
from .page import controls, frame_height, iframe, number, page, svg_element
from .plot import padded
from .style import format_number
from .trace import GraphTooLargeError, TooManyValues, walk

__all__ = ["TrainingRecorder"]


POINT = ". Below, each neuron's value on it, and the gradient of that with respect to the neuron."
EDGES = (
    "The edges are the weights (orange positive, blue negative, thicker when larger). Each step moves "
    "every weight against its gradient in the whole loss: click a neuron to see them."
)


class TrainingRecorder:
    """Records a training run for a page that replays it: loss, boundary, one point's graph.

    Args:
        model: the model being trained (a callable from ``[x1, x2]`` to a Value or a list of
            Values, with ``parameters()``: an `nn.MLP`).
        X, y: the training points (two-dimensional) and their class labels.
        point: which point's graph to show (an index into X).
        point_loss: the loss of that one point as a function of the model's output on it
            (e.g. ``lambda s: losses.hinge([s], [1])``); None: the output itself.
        grid: the decision boundary is the model evaluated on grid x grid points.
        every: keep one step in `every` whole (the loss of every step is kept).
        max_steps: refuse to keep more steps than this (a page must stay light).
        live: in Jupyter, show the view now and refresh it while steps come in.
        refresh: at most one live refresh per this many seconds (and one when the cell ends).
    """

    def __init__(self, model: Any, X: Sequence[Sequence[float]], y: Sequence[int], *, point: int = 0,
                 point_loss: Callable[[Any], Value] | None = None, grid: int = 20, every: int = 1,
                 max_steps: int = 1000, live: bool = False, refresh: float = 1.0) -> None:  # fmt: skip
        if not callable(model) or not hasattr(model, "parameters"):
            raise TypeError(
                f"TrainingRecorder: model must be callable with parameters(), got {type(model).__name__}"
            )
        if len(X) != len(y) or not X or any(len(x) != 2 for x in X):
            raise ValueError(
                f"TrainingRecorder: need as many labels as two-dimensional points, got {len(X)} and {len(y)}"
            )
        if isinstance(point, bool) or not isinstance(point, int) or not 0 <= point < len(X):
            raise ValueError(
                f"TrainingRecorder: point must be an index into X (0 to {len(X) - 1}), got {point!r}"
            )
        for name, value, least in (("grid", grid, 2), ("every", every, 1), ("max_steps", max_steps, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"TrainingRecorder: {name} must be an int >= {least}, got {value!r}")
        self.model, self.X, self.y = model, [list(map(float, x)) for x in X], list(y)
        self.point, self.point_loss, self.grid, self.every, self.max_steps = (
            point,
            point_loss,
            grid,
            every,
            max_steps,
        )
        self.params = list(model.parameters())
        self.bounds = padded([x[0] for x in self.X]) + padded([x[1] for x in self.X])
        self.losses: list[float] = []  # at every step
        self.accuracies: list[float | None] = []
        self.steps: list[int] = []  # the training step of each record, counted from 1
        self.records: list[dict] = []
        self.calls = 0
        self.graph: Graph | None = None
        self._svg: tuple[str, tuple[float, float]] | None = None
        self.live, self.refresh = live, refresh
        self._handle: Any = None
        self._shown_at = 0.0

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return (
            f"<TrainingRecorder: {len(self)} steps recorded of {self.calls}; "
            ".save('training.html') writes the view>"
        )

    # ------------------------------------------------------------------ recording

    def record(self, loss: Value | float, accuracy: float | None = None) -> None:
        """Keep this step: the loss, the weights and their gradients (call it after
        ``loss.backward()``, before the optimizer's step), the point's graph, the boundary."""
        value = float(loss)
        self.calls += 1
        self.losses.append(value)
        self.accuracies.append(None if accuracy is None else float(accuracy))
        if (self.calls - 1) % self.every:
            return
        if len(self.records) >= self.max_steps:
            raise ValueError(
                f"TrainingRecorder: already {self.max_steps} steps recorded (max_steps); "
                "record one step in k with every=k, or raise max_steps"
            )
        self.steps.append(self.calls)
        self.records.append({
            "weights": [shown(p.data) for p in self.params],
            "grads": [shown(float(p.grad)) for p in self.params],
            "boxes": self._point_graph(),
            "boundary": self._boundary(),
        })  # fmt: skip
        if self.live:
            self._refresh_live(force=False)

    def _point_graph(self) -> dict:
        """The point's graph at the current weights: each drawn box's data and grad."""
        x1, x2 = self.X[self.point]
        with enable_grad():
            out = self.model([Value(x1, label="x1"), Value(x2, label="x2")])
            root = self.point_loss(out) if self.point_loss is not None else out
        if not isinstance(root, Value):
            raise TypeError(
                "TrainingRecorder: the model gives several outputs; pass point_loss= "
                "(the loss of one point as a function of them) to pick one value to follow"
            )
        if self.graph is None:
            try:
                self.graph = drawn_graph(root, collapse="neuron", model=self.model, max_nodes=400)
            except TooManyValues as err:
                raise too_many_values("TrainingRecorder", err) from None
            except GraphTooLargeError as err:
                raise GraphTooLargeError(
                    f"TrainingRecorder: the point's graph is too large to show ({err})",
                    max_nodes=err.max_nodes, nodes=err.nodes, exact=err.exact, edges=err.edges,
                ) from None
            traced = self.graph.plan.trace
        else:
            traced = walk(root)
            if [v.op for v in traced.nodes] != [v.op for v in self.graph.nodes]:
                raise ValueError(
                    "TrainingRecorder: the point's graph changed shape between steps; "
                    "the model must compute the same operations every step"
                )
        grads = replay(traced)
        boxes = {}
        for i, v in enumerate(traced.nodes):
            name = f"v{i}"
            if name in self.graph.drawn:
                g = grads.get(v, 0.0) if isinstance(v, Value) else None
                boxes[name] = [shown(v.data), None if g is None else shown(g)]
        return boxes

    def _boundary(self) -> list[int]:
        """The model over a grid, rows from the top, as colours: several outputs give the
        winning class; one output (a score) its shade from -20 (class 0's colour) through 0
        (white) to 20, saturated at a typical |score| (the 90th percentile, as the PNGs)."""
        x0, x1, y0, y1 = self.bounds
        n = self.grid
        outs = []
        with no_grad():
            for j in range(n):
                b = y1 - (y1 - y0) * j / (n - 1)
                outs += [self.model([x0 + (x1 - x0) * i / (n - 1), b]) for i in range(n)]
        if not isinstance(outs[0], Value):
            return [max(range(len(out)), key=lambda c: out[c].data) for out in outs]
        scores = [out.data if math.isfinite(out.data) else 0.0 for out in outs]
        spread = sorted(map(abs, scores))[int(0.9 * (len(scores) - 1))] or 1.0
        return [round(20 * max(-1.0, min(1.0, s / spread))) for s in scores]

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
        return iframe(document, height=frame_height(self._picture()[1]) + 260)

    def _drawn(self) -> Graph:
        """The point's graph, drawn at the first record(); a clear error before any step is recorded."""
        if not self.records or self.graph is None:
            raise ValueError("TrainingRecorder: no step recorded yet; call record(loss) in the training loop")
        return self.graph

    def _picture(self) -> tuple[str, tuple[float, float]]:
        """The point's graph as an inline SVG element, and its size (laid out once)."""
        if self._svg is None:
            self._svg = svg_element(layout(self._drawn().drawing.source, "svg").decode("utf-8"))
        return self._svg

    def page_data(self) -> dict:
        """What the page's script reads: every recorded step, the points, the weights' edges."""
        graph = self._drawn()
        index = {p: k for k, p in enumerate(self.params)}
        neurons = {}
        for end, members in graph.units.items():
            if graph.has_op_node(end):
                continue
            rows = []
            for m in members:
                for p in graph.inputs[m]:
                    if p in index:
                        rows.append([graph.who(p), index[p]])
            neurons[graph.name(end)] = {"title": graph.neuron_title(end), "params": rows}
        classes = sorted(set(self.y))
        return {
            "steps": [self._step(k) for k in range(len(self.records))],
            "losses": self.losses,
            "accuracies": self.accuracies,
            "at": self.steps,
            "bounds": self.bounds,
            "grid": self.grid,
            "classes": len(classes),
            "points": [[x[0], x[1], classes.index(c)] for x, c in zip(self.X, self.y)],
            "point": self.point,
            "edges": _weight_edges(graph, index),
            "copies": graph.copies,
            "neurons": neurons,
        }

    def _step(self, k: int) -> dict:
        record = self.records[k]
        step = self.steps[k]
        value, accuracy = self.losses[step - 1], self.accuracies[step - 1]
        line = [
            f"Training step {step} (recorded {k + 1} of {len(self.records)}): loss ",
            number(value),
        ]
        if accuracy is not None:
            line += [f", training accuracy {accuracy:.0%}"]
        if k:
            before = self.losses[self.steps[k - 1] - 1]
            line += [", from ", number(before), f" at step {self.steps[k - 1]}."]
        x = self.X[self.point]
        graph = self._drawn()
        root = graph.name(graph.root)
        out = record["boxes"][root][0]
        what = "its loss" if self.point_loss else "the output"
        point = f"Point #{self.point} at ({x[0]:.3g}, {x[1]:.3g}), class {self.y[self.point]}: {what} is "
        lines = [line, [point, number(out), POINT], [EDGES]]
        return {
            "text": lines,
            "weights": record["weights"],
            "grads": record["grads"],
            "boxes": record["boxes"],
            "boundary": record["boundary"],
        }

    def _body(self) -> str:
        last = len(self.records) - 1
        return f"""<main class="training">
<header><h1>Training, step by step</h1>
<p class="hint">→ / ← step, space plays, Home / End jump; click the loss curve to jump there, and a neuron
to list its weights and their gradients.</p></header>
{controls(len(self.records), last, ((900, "slow"), (300, "normal"), (80, "fast")))}
</div>
<div class="story"><div id="explanation" aria-live="polite"></div><aside id="details"></aside></div>
<div class="top">
<figure><svg id="loss-curve" viewBox="0 0 380 220" role="img" aria-label="loss curve"></svg>
<figcaption>loss (black) and accuracy (green, dashed) at every step; click to jump</figcaption></figure>
<figure><canvas id="boundary" width="260" height="220"></canvas>
<figcaption>{html.escape(self._boundary_caption())}</figcaption></figure>
</div>
<div id="graph">{self._picture()[0]}</div>
</main>"""

    def _boundary_caption(self) -> str:
        if len(set(self.y)) > 2:
            return "the class the model picks over the plane; the points in their classes' colours"
        return (
            f"the model's output over the plane (blue below 0, orange above); the ringed point "
            f"is #{self.point}"
        )

    # ------------------------------------------------------------------ live, in Jupyter

    def show(self) -> None:
        """Show the view in Jupyter now (again, refreshed, if it is already shown)."""
        self._refresh_live(force=True)

    def _refresh_live(self, force: bool) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import HTML, display
        except ImportError:
            return
        shell = get_ipython()
        if shell is None or not self.records:
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
        if self._handle is not None:
            self._handle.update(HTML(self._repr_html_()))


def shown(x: float) -> float | str:
    """A number as the page shows it (4 significant digits, as drawings), compact in JSON:
    a number, or 'nan', 'inf', '-inf' as text (JSON has none of them)."""
    x = float(format_number(x))
    return x if math.isfinite(x) else repr(x)


def _weight_edges(graph: Graph, index: dict) -> list[list]:
    """Each edge of the drawing that carries a weight: [title, k, the weight's index in params]
    (title and k as in `Graph.edges`).

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
                found.append([*drawn[k], index[w]])
    return found

