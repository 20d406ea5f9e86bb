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

Samples that are not points of the plane (any number of inputs but two: the 64 pixels of
`data.digits`, say) have no boundary to draw. The view then draws the followed sample as an
image (grey cells), the model's probability of each class (the softmax of its outputs, when it
has several) and a row of the samples it can follow (20 by default, the first of each class in
turn); in the graph, one box stands for all the inputs, with the image drawn in it, and a
selected neuron's weights on the inputs are drawn as a grid in the inputs' places.

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
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

from .._files import write_atomically
from ..engine import Value, topological_order
from ..grad_mode import enable_grad, no_grad
from ..ieee import logsumexp
from ..neuron import NeuronOp
from .dot import layout
from .explorer import Graph, drawn_graph, replay, too_many_values
from .page import controls, iframe, number, page, svg_element
from .plot import padded
from .sketch import Box, Sketch
from .style import format_number
from .trace import Constant, GraphTooLargeError, TooManyValues, Trace, check_size

__all__ = ["TrainingRecorder"]

# What the page says around the followed point's numbers (its script puts them in).
TEXT = {
    "loss": "its loss",
    "output": "the model's output",
    "zero": "So no gradient flows back from it: every grad below is 0.",
    "picked": "You picked this point in the picture.",
    "click": "Click any point in the picture to follow it instead.",
}
# ... and around a followed sample's, when the samples are not points of the plane.
SAMPLE_TEXT = {
    **TEXT,
    "picked": "You picked this sample in the row below.",
    "click": "Click any sample in the row below to follow it instead.",
    "chance": "the probability the model gives its class",
}
FOLLOW_POINTS = 200  # points of the plane whose graphs are recorded, by default
FOLLOW_SAMPLES = 20  # samples that are not points of the plane: a row of thumbnails
MAX_NODES = 400  # the drawing's cap, as the explorer's: past it, no box is readable
INPUTS_NODE = "inputs"  # the box standing for a sample's inputs, drawn by the page as its image
LOSS_NODE = "point_loss"  # the node standing for what the point's loss does with the model's outputs
RESERVED = "-0.0001234"  # boxes are laid out wide enough for a number this long
RANKSEP = "1.2"  # inches between columns: room for a layer's weights to fan out
MIN_SCALE = 0.9  # the page never draws the graph smaller than 0.9 px per point: text stays >= 11 px


class TrainingRecorder:
    """Records a training run for a page that replays it: loss, boundary, every point's graph.

    Points of the plane (two inputs) are drawn in a picture of the decision boundary. Any other
    samples (the 64 pixels of a handwritten digit, say) are drawn as images instead: the
    followed sample's inputs as a grid of grey cells (side x side when their number is a
    square, else one row), with the model's probability of each class (the softmax of its
    outputs) when it has several, and a row of the samples that can be followed.

    Args:
        model: the model being trained (a callable from a sample's inputs, ``[x1, x2]`` or 64
            pixels, to a Value or a list of Values, with ``parameters()``: an `nn.MLP`).
        X, y: the training samples (each a list of numbers, all of one length) and their class
            labels; with several outputs, a label is the index of its class's output.
        point: the sample the view follows first (an index into X); None: for points, one whose
            loss is not 0 at the first step, the one that keeps a loss longest; for other samples
            with several outputs, the one whose class's probability rises the most.
        point_loss: the loss of one sample as a function of the model's output on it and the
            sample's index (``lambda s, i: losses.hinge([s], [signs[i]])``); None: the output
            itself. A function of the output alone is the loss of `point` only: the view then
            follows that sample alone.
        grid: the decision boundary is the model evaluated on grid x grid points (points only).
        every: keep one step in `every` whole, and always the last (the loss of every step is kept).
        max_steps: refuse to keep more steps than this whole, the last aside (a page must stay light).
        follow: record the graphs of at most this many samples (all of X when it has no more):
            each costs a forward and backward pass per kept step. Points: 200 by default, spread
            over X; other samples: 20 by default, the first of each class in turn (two of each
            of ten classes), and `point`.
        live: in Jupyter, show the view now and refresh it while steps come in.
        refresh: at most one live refresh per this many seconds (and one when the cell ends).
    """

    def __init__(self, model: Any, X: Sequence[Sequence[float]], y: Sequence[int], *, point: int | None = None,
                 point_loss: Callable[..., Value] | None = None, grid: int = 20, every: int = 1,
                 max_steps: int = 1000, follow: int | None = None, live: bool = False,
                 refresh: float = 1.0) -> None:  # fmt: skip
        if not callable(model) or not hasattr(model, "parameters"):
            raise TypeError(
                f"TrainingRecorder: model must be callable with parameters(), got {type(model).__name__}"
            )
        sizes = sorted({len(x) for x in X})
        if len(X) != len(y) or not X or len(sizes) != 1 or sizes[0] < 1:
            raise ValueError(
                f"TrainingRecorder: need as many labels as samples, each sample a list of the same number of "
                f"inputs; got {_count(len(X), 'sample')} of {'/'.join(map(str, sizes[:3])) or 'no'} inputs and "
                f"{_count(len(y), 'label')}"
            )
        # The boundary picture needs exactly two inputs, and two inputs are always a point of it.
        self.plane = sizes[0] == 2
        if point is not None and (isinstance(point, bool) or not isinstance(point, int) or not 0 <= point < len(X)):
            raise ValueError(
                f"TrainingRecorder: point must be an index into X (0 to {len(X) - 1}) or None, got {point!r}"
            )
        if follow is None:
            follow = FOLLOW_POINTS if self.plane else FOLLOW_SAMPLES
        for name, value, least in (("grid", grid, 2), ("every", every, 1), ("max_steps", max_steps, 1),
                                   ("follow", follow, 1)):  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"TrainingRecorder: {name} must be an int >= {least}, got {value!r}")
        self.noun = "point" if self.plane else "sample"
        self.by_index = point_loss is None or _takes_index(point_loss)
        if self.by_index:  # the samples whose graphs are recorded
            self.followed = _spread(len(X), follow, point) if self.plane else _by_class(y, follow, point)
        elif point is None:
            raise ValueError(
                f"TrainingRecorder: point_loss takes the model's output alone, so it is the loss of one "
                f"{self.noun}: say which with point=, or give it the {self.noun}'s index too (lambda output, i: ...) "
                f"to follow any {self.noun}"
            )
        else:
            self.followed = [point]
        self.model, self.X, self.y = model, [list(map(float, x)) for x in X], list(y)
        self.point, self.point_loss, self.grid, self.every, self.max_steps = point, point_loss, grid, every, max_steps
        self.params = list(model.parameters())
        self.bounds = _plane(self.X) if self.plane else []
        self.losses: list[float] = []  # at every step
        self.accuracies: list[float | None] = []
        self.calls = 0
        self.graph: Graph | None = None  # the sample's graph as the explorer draws it
        self.view: Graph | None = None  # as this view draws it (see `_view_plan`)
        self.box_names: list[str] = []  # the boxes drawn, in the order each sample's numbers come
        self.outputs = 0  # how many outputs the model gives (set at the first record)
        self._boxes: list[tuple[tuple[int, ...], bool]] = []  # each box's path from the root, has a grad
        self._ops: list[str] = []  # the ops of every sample's graph, in backward's order reversed
        self._inputs: list[Value] = []  # the inputs of the sample whose graph was drawn
        self._output_names: list[str] = []  # ... and its outputs' boxes
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
        record: dict[str, Any] = {"step": step, "weights": [shown(w) for w in weights],
                                  "grads": [shown(g) for g in grads], "points": []}  # fmt: skip
        chances = []
        for i in self.followed:
            boxes, outputs = self._point_boxes(i)
            record["points"].append(boxes)
            if not self.plane and len(outputs) > 1:
                chances.append([shown(p) for p in softmax(outputs)])
        if self.plane:
            record["boundary"] = self._boundary()
        elif chances:  # each followed sample's probability of each class
            record["probabilities"] = chances
        return record

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

    def _root(self, i: int) -> tuple[Value, list[Value], list]:
        """Sample i's graph: the model on it, then its loss; and its inputs and the model's outputs."""
        inputs = [Value(x, label=f"x{k}") for k, x in enumerate(self.X[i], start=1)]
        with enable_grad():
            out = self.model(inputs)
            if self.point_loss is None:
                root = out
            else:
                root = self.point_loss(out, i) if self.by_index else self.point_loss(out)
        if not isinstance(root, Value):
            raise TypeError(
                f"TrainingRecorder: the model gives several outputs; pass point_loss= "
                f"(the loss of one {self.noun} as a function of them) to pick one value to follow"
            )
        return root, inputs, [out] if isinstance(out, Value) else list(out)

    def _point_boxes(self, i: int) -> tuple[list[float | str | None], list[float]]:
        """Sample i's graph at the current weights: each drawn box's data and grad, in turn; and
        the model's outputs on it."""
        root, inputs, outputs = self._root(i)
        if self.graph is None:
            self._draw(root, inputs, outputs)
        traced = _interior(root)
        if [v.op for v in traced.nodes] != self._ops:
            raise ValueError(
                f"TrainingRecorder: the {self.noun}'s graph changed shape between steps or {self.noun}s; "
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
        return values, [float(o.data) if isinstance(o, Value) else float(o) for o in outputs]

    def _draw(self, root: Value, inputs: list[Value], outputs: list) -> None:
        """Plan the drawing from the first sample's graph: every sample's has the same shape.

        Points of the plane: the explorer's drawing, one box per neuron and one per input.
        Other samples: one box stands for all the inputs (the page draws the sample's image in
        it), with an edge to each neuron that weighs them; each neuron box is one line, so a
        layer of 32 stays readable; with several outputs, each output's box names its class."""
        self.outputs = len(outputs)
        if not self.plane and self.outputs > 1 and self.by_index:
            bad = [t for t in self.y if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < self.outputs]
            if bad:
                raise ValueError(
                    f"TrainingRecorder: the model gives {self.outputs} outputs, one per class, so each label "
                    f"must be the index of its class's output (0 to {self.outputs - 1}); got {bad[0]!r}"
                )
        try:  # other samples: the inputs' edges (one per weight) are dropped below, then the cap applies
            self.graph = drawn_graph(root, collapse="neuron", model=self.model,
                                     max_nodes=MAX_NODES if self.plane else None)  # fmt: skip
            one_line: set[str] = set()  # other samples: a neuron's box in one line, but the outputs'
            if not self.plane:
                ends = {self.graph.name(end) for end in self.graph.plan.neuron_at}
                one_line = ends - {self.graph.name(o) for o in outputs if o in self.graph.plan.name}
            plan = _view_plan(self.graph, one_line)
            if not self.plane:
                heads = _inputs_box(plan, {self.graph.name(v) for v in inputs if v in self.graph.plan.name})
                if self.outputs > 1:
                    _name_classes(plan, [self.graph.name(o) for o in outputs if o in self.graph.plan.name])
                check_size(plan.size() + 1, len(plan.edges) + len(heads), MAX_NODES, "neuron")
        except TooManyValues as err:
            raise too_many_values("TrainingRecorder", err) from None
        except GraphTooLargeError as err:
            raise GraphTooLargeError(
                f"TrainingRecorder: the {self.noun}'s graph is too large to show ({err})",
                max_nodes=err.max_nodes, nodes=err.nodes, exact=err.exact, edges=err.edges,
            ) from None
        self.view = Graph(plan, self.model)
        drawing = self.view.drawing  # (made once, then kept: these settings stay on it)
        drawing.attr(ranksep=RANKSEP)
        for name, *_ in plan.ops:  # as large as the boxes' text
            drawing.node(name, fontsize="12")
        if not self.plane:
            rows, columns = image_shape(len(inputs))
            drawing.node(INPUTS_NODE, f"x1 … x{len(inputs)}", shape="box", style="rounded", color="#a8a29e",
                         fixedsize="true", width=f"{max(1.25, 0.12 * columns + 0.2):.2f}",
                         height=f"{0.12 * rows + 0.45:.2f}", labelloc="b", fontsize="12",
                         tooltip="the sample's inputs, drawn as its image")  # fmt: skip
            for head in heads:
                drawing.edge(INPUTS_NODE, head, color="#a8a29e")
        self._inputs = inputs
        self._output_names = [self.graph.name(o) for o in outputs if isinstance(o, Value)]
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
        point, why = self._chosen(records)
        names = self.box_names
        found: dict[str, Any] = {
            "kind": "plane" if self.plane else "samples",
            "steps": [self._step(k, records) for k in range(len(records))],
            "open": len(records) - 1 if self._running else 0,  # live, mid-run: the latest step
            "losses": [exact(v) for v in self.losses],
            "accuracies": [None if a is None else exact(a) for a in self.accuracies],
            "at": [r["step"] for r in records],
        }
        if self.plane:
            classes = sorted(set(self.y))
            found.update({
                "bounds": self.bounds,
                "grid": self.grid,
                "classes": [str(c) for c in classes],
                "points": [[exact(x[0]), exact(x[1]), classes.index(c)] for x, c in zip(self.X, self.y)],
            })  # fmt: skip
        else:
            found.update(self._samples_data(view, index))
        found.update({
            "followed": self.followed,
            "point": point,
            "why": why,
            "boxes": names,
            "root": names.index(view.name(view.root)),
            "what": "output" if self.point_loss is None else "loss",
            "text": TEXT if self.plane else SAMPLE_TEXT,
            "minScale": MIN_SCALE,
            "edges": _weight_edges(view, index),
            "copies": view.copies,
            "neurons": neurons,
        })  # fmt: skip
        return found

    def _samples_data(self, view: Graph, index: dict) -> dict:
        """What the page needs to draw samples that are not points: the followed ones' inputs
        and classes, the grey scale, each output's box, the weights of each input."""
        if self.outputs > 1:  # labels are the outputs' indices
            classes: list = list(range(self.outputs))
        else:
            classes = sorted(set(self.y))
        values = [v for x in self.X for v in x if math.isfinite(v)]
        low, high = (min(values), max(values)) if values else (0.0, 1.0)
        return {
            "classes": [str(c) for c in classes],
            "samples": [[shown(v) for v in self.X[i]] for i in self.followed],
            "labels": [classes.index(self.y[i]) for i in self.followed],
            "shape": image_shape(len(self.X[0])),
            "ink": [low, high if high > low else low + 1.0],
            "image": INPUTS_NODE,
            "outputs": self._output_names if self.outputs > 1 else [],
            "pixels": _input_weights(view, index, self._inputs),
        }

    def _chosen(self, records: list[dict]) -> tuple[int, str]:
        """The point (or sample) the view follows first, and why (a sentence)."""
        noun = self.noun
        if not self.by_index:
            return self.followed[0], (
                f"This is the {noun} asked for (point={self.point}); point_loss takes the model's output "
                f"alone, so it is the only {noun} this view can follow."
            )
        if self.point is not None:
            return self.point, f"This is the {noun} asked for (point={self.point})."
        if self.point_loss is None:
            return self.followed[0], (
                f"This is the first {noun}: without point_loss= each {noun}'s graph ends at the model's "
                f"output, whose gradient with respect to itself is 1, so every {noun} shows gradients."
            )
        if "probabilities" in records[0]:
            return self._rising(records)
        root = 2 * self.box_names.index(self._drawn().name(self._drawn().root))
        alive = {i: [_not_zero(r["points"][j][root]) for r in records] for j, i in enumerate(self.followed)}
        first = [i for i in self.followed if alive[i][0]]
        pool = first or [i for i in self.followed if any(alive[i])]
        total, start = len(records), records[0]["step"]
        if not pool:
            return self.followed[0], (
                f"This is the first {noun}: no {noun}'s loss is other than 0 at any of the {total} recorded "
                "steps, so no gradient flows back through any of them."
            )
        best = max(pool, key=lambda i: (sum(alive[i]), -i))
        held = f"{sum(alive[best])} of the {total} recorded steps"
        if first:
            return best, (
                f"Why this {noun}: its loss is not 0 at step {start}, and it stays other than 0 at {held}, "
                f"as many as any {noun}'s does."
            )
        return best, (
            f"Why this {noun}: no {noun}'s loss is other than 0 at step {start}; this one's is at {held}, "
            f"as many as any {noun}'s."
        )

    def _rising(self, records: list[dict]) -> tuple[int, str]:
        """The sample whose class's probability rises the most from the first recorded step to
        the last (at one recorded step: the lowest), and why. The numbers are the page's."""
        n, first, last = len(self.followed), records[0], records[-1]

        def chance(record: dict, j: int) -> float:
            p = record["probabilities"][j][self.y[self.followed[j]]]
            return p if isinstance(p, float) else math.nan  # nan and inf come as text

        seen = [j for j in range(n) if math.isfinite(chance(first, j)) and math.isfinite(chance(last, j))]
        if not seen:
            at = f"step {first['step']}" + ("" if first is last else f" or step {last['step']}")
            return self.followed[0], (
                f"This is the first sample: the probability of its class is not a number at {at} for any of "
                f"the {n} followed."
            )
        if len(records) == 1:
            j = min(seen, key=lambda j: (chance(first, j), j))
            return self.followed[j], (
                f"Why this sample: of the {n} followed, it is the one whose class the model gives the lowest "
                f"probability at step {first['step']}: {format_number(chance(first, j))}."
            )
        j = max(seen, key=lambda j: (chance(last, j) - chance(first, j), -j))
        a, b = format_number(chance(first, j)), format_number(chance(last, j))
        steps = f"from step {first['step']} to step {last['step']}"
        if chance(last, j) > chance(first, j):
            return self.followed[j], (
                f"Why this sample: of the {n} followed, it is the one whose class's probability rises the most "
                f"{steps}: from {a} to {b}."
            )
        change = f"stays at {a}" if a == b else f"falls the least, from {a} to {b}"
        return self.followed[j], (
            f"Why this sample: of the {n} followed, none has its class's probability rise {steps}; this one's {change}."
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
        shown_step = {"text": [line], "weights": record["weights"], "grads": record["grads"],
                      "points": record["points"]}  # fmt: skip
        for key in ("boundary", "probabilities"):  # points of the plane; samples of several classes
            if key in record:
                shown_step[key] = record[key]
        return shown_step

    def _body(self) -> str:
        if self.plane:
            follow = "a point\nin the picture to follow it"
            pictures = f"""<figure><canvas id="boundary" width="260" height="220"></canvas>
<figcaption>{html.escape(self._boundary_caption())}</figcaption></figure>
<aside id="details"></aside>
</div>"""
        else:
            follow = "a sample in\nthe row below to follow it"
            pictures = self._sample_figures()
        return f"""<main class="training">
<header><h1>Training, step by step</h1>
<p class="hint">→ / ← step, space plays, Home / End jump; click the loss curve to jump there, {follow},
and a neuron to see its weights and their gradients.</p></header>
{controls(len(self), 0, ((900, "slow"), (300, "normal"), (80, "fast")))}
</div>
<div class="story"><div id="explanation" aria-live="polite"></div></div>
<div class="top">
<figure><svg id="loss-curve" viewBox="0 0 380 220" role="img" aria-label="loss curve"></svg>
<figcaption>{html.escape(self._curve_caption())}</figcaption></figure>
{pictures}
<figure class="graph"><figcaption>{html.escape(self._graph_caption())}</figcaption>
<div id="graph">{self._picture()[0]}</div></figure>
</main>"""

    def _sample_figures(self) -> str:
        """The followed sample's image, its class probabilities, the selected neuron's weights on
        the inputs, the neuron table; then the row of samples to follow. Each caption says what
        its picture draws."""
        n = len(self.X[0])
        rows, columns = image_shape(n)
        values = [v for x in self.X for v in x if math.isfinite(v)]
        low, high = (min(values), max(values)) if values else (0.0, 1.0)
        grid = f"{rows} x {columns} grey cells" if rows > 1 else f"a row of {n} grey cells"
        image = f"the followed sample's {_count(n, 'input')} as {grid}, white {format_number(low)} to black " \
                f"{format_number(high)}"  # fmt: skip
        if len(values) < n * len(self.X):
            image += "; red: an input that is nan or inf"
        parts = [f"""<figure><svg id="sample" viewBox="0 0 120 120" role="img" aria-label="the followed sample"></svg>
<figcaption>{html.escape(image)}</figcaption></figure>"""]
        if self.outputs > 1:
            chances = (
                f"the model's probability of each class (the softmax of its {self.outputs} outputs) at the step "
                "shown; the sample's class in green, and in red the class the model picks when it is another"
            )
            parts.append(f"""<figure><svg id="probabilities" viewBox="0 0 210 {_bars_height(self.outputs)}" role="img"
aria-label="class probabilities"></svg>
<figcaption>{html.escape(chances)}</figcaption></figure>""")
        if _input_weights(self._drawn(), {p: k for k, p in enumerate(self.params)}, self._inputs):
            weights = (
                f"the selected neuron's {_count(n, 'weight')} on the inputs, each in its input's place: orange "
                "positive, blue negative, deeper when larger"
            )
            parts.append(f"""<figure id="pixel-weights-figure" hidden>
<svg id="pixel-weights" viewBox="0 0 120 120" role="img" aria-label="the selected neuron's weights on the inputs"></svg>
<figcaption>{html.escape(weights)}</figcaption></figure>""")
        parts.append('<aside id="details"></aside>\n</div>')
        if len(self.followed) > 1:
            row = (
                f"the {len(self.followed)} samples whose graphs are recorded (the first of each class in X in turn, "
                f"up to follow={len(self.followed)}), each with its class"
            )
            if self.outputs > 1:
                row += " and, under it, a bar for the probability the model gives that class at the step shown"
            row += "; the one followed is ringed in red: click another to follow it"
            parts.append(f"""<figure class="samples">
<div id="samples" role="group" aria-label="samples to follow"></div>
<figcaption>{html.escape(row)}</figcaption></figure>""")
        return "\n".join(parts)

    def _graph_caption(self) -> str:
        """What the point's graph draws, and only that."""
        noun = self.noun
        of = f"the {noun}'s loss" if self.point_loss is not None else "the model's output"
        text = (
            f"The followed {noun}'s graph, one box per neuron: its value on the {noun} (data) and the "
            f"gradient of {of} with respect to that value (grad). "
        )
        view = self._drawn()
        if not self.plane:
            n = len(self.X[0])
            index = {p: k for k, p in enumerate(self.params)}
            weighing = len(_input_weights(view, index, self._inputs))
            text += (
                f"The box x1 … x{n} stands for the sample's {_count(n, 'input')}, drawn as its image; its lines go "
                f"to the {_count(weighing, 'neuron')} that weigh them. Those weights are not drawn as lines: select "
                "one of these neurons to see them as a grid beside the sample. "
            )
            if self.outputs > 1:
                text += "Each output's box names its class. "
        if view.name(view.root) + "op" in view.drawn:
            outputs = "output" if self.outputs == 1 else f"{self.outputs} outputs"
            text += f"{LOSS_NODE} stands for the operations that make the {noun}'s loss from the model's {outputs}. "
        if not _weight_edges(view, {p: k for k, p in enumerate(self.params)}):
            return text + "Click a neuron to see its weights."
        lines = "The thin grey lines are the weights" + ("" if self.plane else " between neurons")
        return text + (
            f"{lines}; the selected neuron's incoming ones are in colour "
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


def _by_class(y: Sequence, follow: int, point: int | None) -> list[int]:
    """The samples to record when they are not points of the plane: the first of each class,
    then the second of each, ... up to `follow` (and `point`), ordered by class, then index.

    Example:
        >>> _by_class([0, 1, 1, 0, 2, 1, 0], follow=4, point=None)
        [0, 3, 1, 4]
    """
    order = sorted(set(y))
    of: dict = {c: [i for i, t in enumerate(y) if t == c] for c in order}
    chosen: list[int] = []
    rank = 0
    while len(chosen) < follow and any(rank < len(of[c]) for c in order):
        chosen += [of[c][rank] for c in order if rank < len(of[c])][: follow - len(chosen)]
        rank += 1
    if point is not None and point not in chosen:
        chosen.append(point)
    place = {c: k for k, c in enumerate(order)}
    return sorted(chosen, key=lambda i: (place[y[i]], i))


def softmax(outputs: Sequence[float]) -> list[float]:
    """The probability of each class the model's outputs (logits) give: e^z / sum(e^z), through
    `logsumexp`, which subtracts the largest first (nan if an output is nan).

    Example:
        >>> [round(p, 4) for p in softmax([1.0, 2.0, 3.0])]
        [0.09, 0.2447, 0.6652]
    """
    total = logsumexp(*outputs)
    return [math.exp(z - total) if math.isfinite(total) else math.nan for z in outputs]


def image_shape(n: int) -> tuple[int, int]:
    """Rows and columns of the grid a sample of n inputs is drawn as: a square when n is one
    (64 pixels: 8 x 8), else one row.

    Example:
        >>> image_shape(64), image_shape(5)
        ((8, 8), (1, 5))
    """
    side = math.isqrt(n)
    return (side, side) if side * side == n else (1, n)


def _plane(X: list[list[float]]) -> list[float]:
    """x0, x1, y0, y1: the points' range, padded, over their finite coordinates."""
    bounds: list[float] = []
    for axis in (0, 1):
        values = [x[axis] for x in X if math.isfinite(x[axis])]
        bounds += padded(values) if values else (-1.0, 1.0)
    return bounds


def _bars_height(classes: int) -> int:
    """The height of the class probabilities' picture: a bar of 20 px per class."""
    return 20 * classes + 8


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _view_plan(graph: Graph, one_line: Collection[str] = ()) -> Sketch:
    """The point's graph as the view draws it, from the explorer's plan: the model's part as
    drawn there (a box per neuron and its inputs), then what the point's loss does with the
    model's outputs folded into one node, `LOSS_NODE`, before the loss's box. Each box is laid
    out with its data above its grad (the boxes named in `one_line`: side by side, in one line),
    wide enough for `RESERVED`."""
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
            copy = Box(box.name, box.kind, fields, box.grad, stacked=box.name not in one_line)
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


def _inputs_box(plan: Sketch, inputs: set[str]) -> list[str]:
    """Take the boxes of the sample's inputs (named `inputs`, and their copies) out of the plan,
    with their edges; returns the boxes those edges went into, in order, for one edge each from
    the box that stands for all the inputs (`INPUTS_NODE`)."""
    gone = inputs | {box.name for box in plan.boxes if box.copy_of in inputs}
    heads = list(dict.fromkeys(head for tail, head, _ in plan.edges if tail in gone))
    plan.boxes = [box for box in plan.boxes if box.name not in gone]
    plan.edges = [edge for edge in plan.edges if edge[0] not in gone]
    return heads


def _name_classes(plan: Sketch, outputs: list[str]) -> None:
    """Put its class in the title of each output's box (named in `outputs`, in the model's
    order): 'class 3: neuron 2.4 (linear)'."""
    boxes = {box.name: box for box in plan.boxes}
    for k, name in enumerate(outputs):
        if name in boxes:
            box = boxes[name]
            box.fields = [f"class {k}: {box.fields[0]}", *box.fields[1:]]


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


def _weighed(graph: Graph, members: list, index: dict) -> list[tuple]:
    """The (input, weight) pairs of a neuron box's nodes, in forward order: in a fused neuron
    node, (x[i], w[i]); per op, x and the other factor of x's product (a parameter)."""
    pairs = []
    for m in reversed(members):  # forward order, the order of the drawing's edges
        args = graph.inputs[m]
        if isinstance(m.grad_fn, NeuronOp):  # a fused neuron node: (w..., x..., b)
            n = len(args) // 2
            pairs += list(zip(args[n : 2 * n], args[:n]))
        elif m.op == "*" and len(args) == 2:
            a, b = args
            pairs.append((b, a) if a in index else (a, b))
    return pairs


def _weight_edges(graph: Graph, index: dict) -> list[list]:
    """Each edge of the drawing that carries a weight: [title, k, the weight's index in params,
    the neuron's box] (title and k as in `Graph.edges`).

    A neuron box's edges come in from its inputs; the weight on the edge from x is the one
    multiplied by x (`_weighed`).
    """
    found = []
    for end, members in graph.units.items():
        if graph.has_op_node(end):
            continue
        used: dict[str, int] = {}  # edges taken, by the input's box
        for x, w in _weighed(graph, members, index):
            if w not in index or x not in graph.index or not graph.is_drawn(x):
                continue
            drawn = graph.edges.get((graph.name(x), graph.name(end)), [])  # from x's box or a copy
            k = used.get(graph.name(x), 0)
            if k < len(drawn):
                used[graph.name(x)] = k + 1
                found.append([*drawn[k], index[w], graph.name(end)])
    return found


def _input_weights(graph: Graph, index: dict, inputs: list[Value]) -> dict[str, list[int | None]]:
    """Each neuron box that weighs the sample's inputs: the index in params of the weight on
    each input, in the inputs' order (None where it weighs none)."""
    place = {x: k for k, x in enumerate(inputs)}
    found: dict[str, list[int | None]] = {}
    for end, members in graph.units.items():
        if graph.has_op_node(end):
            continue
        row: list[int | None] = [None] * len(inputs)
        for x, w in _weighed(graph, members, index):
            if x in place and w in index:
                row[place[x]] = index[w]
        if any(k is not None for k in row):
            found[graph.name(end)] = row
    return found
