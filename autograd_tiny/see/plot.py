"""Pictures of training: loss curves, a classifier's decision boundary, and for images a grid of
digits and a confusion matrix (needs matplotlib).

matplotlib is imported only when a picture is drawn, so ``import autograd_tiny.see.plot`` costs
nothing; without matplotlib the drawing functions raise `ModuleNotFoundError` saying what to
install. Given an Axes (``ax=``) they draw into it; otherwise they build a
``matplotlib.figure.Figure`` directly (no pyplot, so no global state and no change to the
notebook's backend). Either way they save the figure to `path` if given and return it.

Example:
    >>> from autograd_tiny.nn import MLP
    >>> from autograd_tiny.data import moons
    >>> X, y = moons(50, seed=0)
    >>> model = MLP(2, [8, 1], seed=0)
    >>> labels = predict(model, X)
    >>> len(labels), set(labels) <= {0, 1}
    (50, True)
    >>> fig = plot_decision_boundary(model, X, y, "boundary.png")  # doctest: +SKIP
    >>> fig = plot_loss({"lr = 0.01": [1.0, 0.9], "lr = 0.3": [1.0, 0.2]}, log=True)  # doctest: +SKIP

One colour scheme runs through every picture: class k (and the k-th curve) is drawn in
``CLASS_COLORS[k]``: blue, orange, green, red, purple, brown. Legends sit outside the plotting
area, so they never cover a point or a curve.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from numbers import Real
from typing import Any

from .._files import atomic_path
from ..engine import Value
from ..grad_mode import no_grad

__all__ = ["label_of", "predict", "plot_points", "plot_loss", "plot_decision_boundary", "plot_digits",
           "plot_confusion_matrix", "padded", "CLASS_COLORS", "INSTALL_HINT"]

INSTALL_HINT = "pip install 'autograd_tiny[plot]'"

# Class k's colour, strong for points and curves (ColorBrewer's "Paired", dark half), and light for its region.
CLASS_COLORS = ("#1f78b4", "#ff7f00", "#33a02c", "#e31a1c", "#6a3d9a", "#b15928")
_LIGHT = ("#a6cee3", "#fdbf6f", "#b2df8a", "#fb9a99", "#cab2d6", "#ffff99")
# a binary model's score: class 0's colour below the threshold, white on it, class 1's above
_SCORE = ("#5e9fd0", "#ffffff", "#ffa64d")
_BOUNDARY = "#333333"  # the decision boundary, and its mark on the colour bar
# A loss curve drawn on a log scale by default when it spans this factor (two decades) or more.
LOG_SPAN = 100.0


def _need_matplotlib() -> None:
    """ModuleNotFoundError naming the extra to install, unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as err:
        raise ModuleNotFoundError(f"drawing needs matplotlib: {INSTALL_HINT}", name="matplotlib") from err


def _figure(**kwargs):
    """A new matplotlib Figure (its dpi from rcParams, e.g. a notebook's ``figure.dpi``)."""
    _need_matplotlib()
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _finish(fig, path: str | os.PathLike | None):
    """Save the whole (root) figure to `path`, if given, and return `fig`."""
    if path is not None:
        _save(fig.figure, path)  # a subfigure's .figure is its root; a figure's is itself
    return fig


def _save(fig, path: str | os.PathLike) -> None:
    """Save as PNG through a temporary file, so no half-written picture remains."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def label_of(output: Value | Sequence[Value], threshold: float = 0.0) -> int:
    """The class of one model output: a single score means 1 when it is > `threshold`, else 0;
    a list of scores means the index of the largest (the first, on a tie).

    Example:
        >>> from autograd_tiny import Value
        >>> label_of(Value(0.3)), label_of([Value(1.0), Value(5.0), Value(2.0)])
        (1, 1)
    """
    if isinstance(output, Value):
        return int(output.data > threshold)
    scores = [o.data for o in output]
    return max(range(len(scores)), key=scores.__getitem__)


def predict(model: Callable, X: Sequence[Sequence[float]], threshold: float = 0.0) -> list[int]:
    """The class `label_of` each output of `model` over the points `X` (no graph is recorded).

    Example:
        >>> from autograd_tiny.nn import MLP
        >>> model = MLP(2, [3], activation="linear", seed=0)   # three linear outputs
        >>> for n in model.layers[0].neurons:
        ...     n.w[0].data, n.w[1].data = 0.0, 0.0
        >>> model.layers[0].neurons[2].b.data = 1.0
        >>> predict(model, [[0.5, 0.5], [1.0, -1.0]])
        [2, 2]
    """
    with no_grad():
        return [label_of(model(x), threshold) for x in X]


def plot_points(X: Sequence[Sequence[float]], y: Sequence[int], path: str | os.PathLike | None = None, *,
                title: str | None = None, ax: Any = None):
    """Two-dimensional labelled points, class k in ``CLASS_COLORS[k]`` (the colours of every other picture).

    Args:
        X, y: the points and their int labels.
        path: where to write the PNG (None: only return the figure).
        title: the Axes' title (None: none).
        ax: an Axes to draw into; None makes a new figure.

    Returns:
        The matplotlib Figure (the one holding `ax`, when given).

    Example:
        >>> from autograd_tiny.data import moons
        >>> X, y = moons(100, seed=0)
        >>> fig = plot_points(X, y, title="moons: 100 points")  # doctest: +SKIP
    """
    _check_points(X, y, "X, y", empty=False, caller="plot_points")
    if ax is None:
        ax = _figure(figsize=(5.0, 4.0), layout="constrained").add_subplot()
    _scatter(ax, X, y, "o", 20)
    from matplotlib.lines import Line2D

    classes = sorted(set(y))
    _legend_below(ax, [Line2D([], [], marker="o", linestyle="", color=CLASS_COLORS[c % len(CLASS_COLORS)],
                              markeredgecolor="black", markeredgewidth=0.5, label=f"class {c}") for c in classes],
                  ncols=min(len(classes), 6))
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    if title:
        ax.set_title(title)
    return _finish(ax.figure, path)


def plot_loss(history: Sequence[float] | Mapping[str, Sequence[float]], path: str | os.PathLike | None = None,
              title: str | None = "training", *, log: bool | None = None, overlay: bool = True, ax: Any = None,
              xlabel: str = "step"):
    """Loss curves by step (or epoch): one, or several named ones overlaid or side by side.

    A plain list is one curve called "loss". In a mapping every entry is a curve (say one per
    learning rate); a curve whose name contains "accuracy" gets a linear 0..1 scale (a right-hand
    axis when overlaid), whatever `log` says.

    Args:
        history: the losses, or ``{name: values}``, e.g. ``{"loss": [...], "train accuracy": [...]}``
            or ``{"lr = 0.01": [...], "lr = 0.3": [...]}``.
        path: where to write the PNG (None: only return the figure).
        title: the title (of the whole figure when side by side; None: none).
        log: a logarithmic loss axis (steps whose loss is <= 0 are not drawn); None (the default)
            chooses it when the losses are all positive and span `LOG_SPAN` (two decades) or more.
        overlay: True draws every curve on one Axes, with a legend below it; False gives each curve its own
            panel, side by side, sharing the step axis and the loss axis so heights compare.
        ax: an Axes to draw into (with ``overlay=False``, a sequence of Axes, one per curve);
            None makes a new figure.
        xlabel: what the curves' points are counted in: "step" (the default) or, say, "epoch".

    Returns:
        The matplotlib Figure (the one holding `ax`, when given).

    Example:
        >>> runs = {"lr = 0.01": [1.0, 0.9, 0.8], "lr = 0.3": [1.0, 0.3, 0.1]}
        >>> fig = plot_loss(runs, log=True, overlay=False)  # doctest: +SKIP
    """
    curves = _curves(history)
    if log is None:
        log = _spans_decades([v for name, values in curves.items() if "accuracy" not in name for v in values])
    _need_matplotlib()
    if overlay:
        if ax is None:
            fig = _figure(figsize=(6.4, 4.0), layout="constrained")
            ax = fig.add_subplot()
        _overlay(ax, curves, log, xlabel)
        if title:
            ax.set_title(title)
        return _finish(ax.figure, path)
    if ax is None:
        fig = _figure(figsize=(min(3.4 * len(curves), 13.0), 3.4), layout="constrained")
        axes = list(fig.subplots(1, len(curves), squeeze=False)[0])
        if title:
            fig.suptitle(title)
    else:
        axes = [ax] if not isinstance(ax, (list, tuple)) and not hasattr(ax, "flat") else list(getattr(ax, "flat", ax))
        if len(axes) != len(curves):
            raise ValueError(
                f"plot_loss: side by side needs one Axes per curve: {len(curves)} curves, {len(axes)} Axes"
            )
    # share the scales first, so that autoscaling sees every panel's data
    losses = [a for a, name in zip(axes, curves) if "accuracy" not in name]
    for a in axes[1:]:
        if not a.get_shared_x_axes().joined(a, axes[0]):
            a.sharex(axes[0])
    for a in losses[1:]:
        if not a.get_shared_y_axes().joined(a, losses[0]):
            a.sharey(losses[0])
    for i, (a, (name, values)) in enumerate(zip(axes, curves.items())):
        if a in losses:
            a.set_yscale("log" if log else "linear")
        else:
            a.set_ylim(0, 1.02)
            a.set_ylabel("accuracy")
        _line(a, values, i, name)
        a.set_title(name)
        a.set_xlabel(xlabel)
        a.grid(True, alpha=0.3)
    if losses:
        losses[0].set_ylabel("loss (log scale)" if log else "loss")
    return _finish(axes[0].figure, path)


def _curves(history) -> dict[str, list[float]]:
    """The curves to draw, by name, checked: each a sequence of real numbers."""
    items = history.items() if isinstance(history, Mapping) else [("loss", history)]
    curves = {}
    for name, values in items:
        try:
            values = list(values)
        except TypeError:
            raise ValueError(f"plot_loss: curve {name!r} must be a sequence of numbers, got {values!r}") from None
        bad = next((v for v in values if isinstance(v, bool) or not isinstance(v, Real)), None)
        if bad is not None:
            hint = " (append loss.data, not the loss Value)" if isinstance(bad, Value) else ""
            raise ValueError(f"plot_loss: curve {name!r} holds {bad!r}, not a number{hint}")
        curves[str(name)] = values
    if not curves:
        raise ValueError("plot_loss: no curves to draw (the mapping is empty)")
    return curves


def _spans_decades(losses: list[float]) -> bool:
    """Whether finite, positive losses range over `LOG_SPAN` or more (a log scale shows them better)."""
    finite = [v for v in losses if math.isfinite(v)]
    return bool(finite) and min(finite) > 0 and max(finite) >= LOG_SPAN * min(finite)


def _line(ax, values: list[float], i: int, name: str) -> list:
    """One curve, in the i-th colour; dots on short runs, so a run stopped after a few steps shows."""
    marker = {"marker": "o", "markersize": 3} if len(values) <= 20 else {}
    return ax.plot(range(1, len(values) + 1), values, color=CLASS_COLORS[i % len(CLASS_COLORS)], label=name, **marker)


def _legend_below(ax, handles: list, ncols: int):
    """A legend under the Axes' tick labels and x label, so it never covers what the Axes shows."""
    import matplotlib as mpl
    from matplotlib.font_manager import FontProperties
    from matplotlib.transforms import ScaledTranslation

    rc = mpl.rcParams

    def line(size) -> float:  # the height of a line of text, in points
        return 1.2 * FontProperties(size=size).get_size_in_points()

    below = (rc["xtick.major.size"] + rc["xtick.major.pad"] + line(rc["xtick.labelsize"])
             + rc["axes.labelpad"] + line(rc["axes.labelsize"]) + 2.0)
    under_the_label = ax.transAxes + ScaledTranslation(0, -below / 72, ax.figure.dpi_scale_trans)
    return ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=under_the_label,
                     ncols=ncols, fontsize="small", frameon=False, borderaxespad=0.0)


def _overlay(ax, curves: dict[str, list[float]], log: bool, xlabel: str = "step") -> None:
    """Every curve on one Axes; accuracy curves on a right-hand 0..1 axis; a legend if there are several."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss (log scale)" if log else "loss")
    if log:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    right, handles = None, []
    for i, (name, values) in enumerate(curves.items()):
        if "accuracy" in name:
            if right is None:
                right = ax.twinx()
                right.set_ylabel("accuracy")
                right.set_ylim(0, 1.02)
            handles += _line(right, values, i, name)
            handles[-1].set_alpha(0.7)
        else:
            handles += _line(ax, values, i, name)
    if len(handles) > 1:
        _legend_below(ax, handles, ncols=min(len(handles), 3))


def plot_decision_boundary(model: Callable, X: Sequence[Sequence[float]], y: Sequence[int],
                           path: str | os.PathLike | None = None, *,
                           X_test: Sequence[Sequence[float]] | None = None, y_test: Sequence[int] | None = None,
                           resolution: int = 80, threshold: float = 0.0, title: str | None = "decision boundary",
                           ax: Any = None):
    """What the model says over the plane, shaded smoothly, under the labelled points.

    The model is evaluated (under `no_grad`) on a `resolution` x `resolution` grid that covers
    the points with a margin. One output (a score): the shading is the score itself, in class 0's
    colour below `threshold`, white on it, class 1's colour above, and the boundary is the line
    where the score equals `threshold`; a colour bar beside the plot reads the score, with the
    threshold marked. Several outputs (logits): each class's region, where its logit beats every
    other, is shaded in its colour and outlined, and the colour bar names the classes. Both lines
    are traced by interpolating the scores between grid points, so they are smooth at a modest
    resolution. The axes are labelled x1 and x2; the key to the markers sits below the plot.

    Args:
        model: any callable from ``[x1, x2]`` to a Value (a score) or a list of Values (logits).
        X, y: the two-dimensional training points and their int labels (circles).
        path: where to write the PNG (None: only return the figure).
        X_test, y_test: optional held-out points and labels (triangles).
        resolution: grid points per side.
        threshold: for one output, the score above which the class is 1.
        title: the Axes' title (None: none).
        ax: an Axes to draw into; None makes a new figure.

    Returns:
        The matplotlib Figure (the one holding `ax`, when given).

    Example:
        >>> fig = plot_decision_boundary(model, X_train, y_train, X_test=X_test, y_test=y_test)  # doctest: +SKIP
    """
    _check_points(X, y, "X, y", empty=False)
    if (X_test is None) != (y_test is None):
        raise ValueError("plot_decision_boundary: give both X_test and y_test, or neither")
    if X_test is not None:
        _check_points(X_test, y_test, "X_test, y_test", empty=True)
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"plot_decision_boundary: resolution must be an int >= 2, got {resolution!r}")
    _need_matplotlib()
    import numpy as np

    points = list(X) + list(X_test or [])
    (x0, x1), (y0, y1) = padded([p[0] for p in points]), padded([p[1] for p in points])
    gx, gy = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    with no_grad():
        outputs = [model([a, b]) for b in gy.tolist() for a in gx.tolist()]
    scores = _scores(outputs).reshape(resolution, resolution, -1)  # [row (y), column (x), output]
    if ax is None:
        height = min(max(5.2 * (y1 - y0) / (x1 - x0), 2.5), 9.0)  # equal scales on both axes
        ax = _figure(figsize=(6.4, height + (1.2 if X_test else 0.9)), layout="constrained").add_subplot()
    # image pixels are centred on the grid points
    dx, dy = (x1 - x0) / (resolution - 1) / 2, (y1 - y0) / (resolution - 1) / 2
    extent = (x0 - dx, x1 + dx, y0 - dy, y1 + dy)
    if scores.shape[2] == 1:
        _shade_score(ax, gx, gy, scores[:, :, 0], threshold, extent)
    else:
        _shade_classes(ax, gx, gy, scores, extent)
    _scatter(ax, X, y, "o", 20)
    if X_test:
        from matplotlib.lines import Line2D

        _scatter(ax, X_test, y_test, "^", 34)
        _legend_below(ax, [Line2D([], [], marker=m, linestyle="", color="#bbbbbb", markeredgecolor="black",
                                  markeredgewidth=0.5, label=name)
                           for m, name in (("o", "training points"), ("^", "test points"))], ncols=2)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    if title:
        ax.set_title(title)
    return _finish(ax.figure, path)


def _check_points(X, y, names: str, empty: bool, caller: str = "plot_decision_boundary") -> None:
    if len(X) != len(y) or (not X and not empty):
        least = "" if empty else " (at least one)"
        raise ValueError(f"{caller}: need as many labels as points{least}, got {len(X)} and {len(y)} in {names}")
    if any(len(x) != 2 for x in X):
        raise ValueError(f"{caller}: the points must be two-dimensional ({names})")


def _scores(outputs: list):
    """The model's outputs as a float array, one row per grid point (one column per output)."""
    import numpy as np

    def row(out):
        if isinstance(out, Value):
            return [out.data]
        if isinstance(out, (list, tuple)) and out and all(isinstance(o, Value) for o in out):
            return [o.data for o in out]
        raise ValueError(f"plot_decision_boundary: the model must return a Value or a list of Values, got {out!r}")

    rows = [row(out) for out in outputs]
    if len({len(r) for r in rows}) != 1:
        raise ValueError("plot_decision_boundary: the model returned different numbers of outputs across the plane")
    return np.array(rows, dtype=float)


def _colour_bar(ax, mappable, **kwargs):
    """A colour bar just right of the Axes, as tall as the plot itself (also when its aspect is fixed)."""
    return ax.figure.colorbar(mappable, cax=ax.inset_axes([1.03, 0.0, 0.04, 1.0]), **kwargs)


def _shade_score(ax, gx, gy, score, threshold: float, extent) -> None:
    """A binary model: the score in a diverging colour map centred on `threshold`, its level line drawn."""
    import numpy as np
    from matplotlib.colors import LinearSegmentedColormap, TwoSlopeNorm

    # saturate at a typical |score - threshold| (not the largest: a ReLU net's far corners are extreme)
    spread = float(np.percentile(np.abs(score - threshold), 90)) or 1.0
    norm = TwoSlopeNorm(vcenter=threshold, vmin=threshold - spread, vmax=threshold + spread)
    cmap = LinearSegmentedColormap.from_list("score", _SCORE, N=32)  # smooth to the eye; a PNG 40% smaller than 256
    image = ax.imshow(score, origin="lower", extent=extent, cmap=cmap, norm=norm, interpolation="bilinear")
    if score.min() < threshold < score.max():
        ax.contour(gx, gy, score, levels=[threshold], colors=_BOUNDARY, linewidths=1.6)
    bar = _colour_bar(ax, image, extend="both", label=f"model score (class 1 above {threshold:g})")
    bar.ax.axhline(threshold, color=_BOUNDARY, linewidth=1.6)


def _shade_classes(ax, gx, gy, scores, extent) -> None:
    """Several logits: each class's region (its logit minus the best other one > 0) filled and outlined."""
    import numpy as np
    from matplotlib.colors import BoundaryNorm, ListedColormap

    k = scores.shape[2]
    light = ListedColormap([_LIGHT[c % len(_LIGHT)] for c in range(k)])
    # the argmax, one flat colour per grid cell, shows only in slivers where three regions meet
    image = ax.imshow(scores.argmax(axis=2), origin="lower", extent=extent, cmap=light,
                      norm=BoundaryNorm([c - 0.5 for c in range(k + 1)], k), interpolation="nearest")
    for c in range(k):
        margin = scores[:, :, c] - np.delete(scores, c, axis=2).max(axis=2)
        if margin.max() > 0:
            ax.contourf(gx, gy, margin, levels=[0.0, margin.max() + 1.0], colors=[_LIGHT[c % len(_LIGHT)]])
            if margin.min() < 0:
                ax.contour(gx, gy, margin, levels=[0.0], colors=_BOUNDARY, linewidths=1.0)
    _colour_bar(ax, image, ticks=range(k), label="the class whose score is highest")


def _scatter(ax, X, y, marker: str, size: float) -> None:
    ax.scatter([p[0] for p in X], [p[1] for p in X], c=[CLASS_COLORS[c % len(CLASS_COLORS)] for c in y], marker=marker,
               s=size, edgecolors="black", linewidths=0.5, zorder=3)


def padded(values: Sequence[float], fraction: float = 0.1) -> tuple[float, float]:
    """The range of `values` widened by `fraction` of it on each side (by 0.5 if they are all equal).

    Example:
        >>> padded([0.0, 2.0]), padded([1.0, 1.0])
        ((-0.2, 2.2), (0.5, 1.5))
    """
    lo, hi = min(values), max(values)
    margin = (hi - lo) * fraction or 0.5
    return lo - margin, hi + margin


# ---------------------------------------------------------------------- images: digits and a confusion matrix

_WRONG = CLASS_COLORS[3]  # red: a wrong prediction, in both pictures
_CELL = "#bbbbbb"  # the thin frame of each image in a grid


def plot_digits(images: Sequence[Sequence[float]], labels: Sequence[int], path: str | os.PathLike | None = None, *,
                predicted: Sequence[int] | None = None, columns: int = 10, title: str | None = None,
                ax: Any = None):
    """Square greyscale images in a grid (ink dark on white), each with its label underneath.

    With `predicted`, each image is captioned with the model's label instead, and the wrong
    ones are framed in red and captioned ``"7 (true 9)"``.

    Args:
        images: each a flat list of side x side pixels, row by row (as `autograd_tiny.data.digits`
            gives them); from 0 (white) to 16 (black), or to 1 when no pixel is above 1 (scaled).
        labels: the true class of each image.
        path: where to write the PNG (None: only return the figure).
        predicted: the predicted class of each image (None: show the true labels only).
        columns: images per row.
        title: the Axes' title (None: none).
        ax: an Axes to draw the whole grid into; None makes a new figure.

    Returns:
        The matplotlib Figure (the one holding `ax`, when given).

    Example:
        >>> from autograd_tiny.data import digits
        >>> X, y = digits()
        >>> fig = plot_digits(X[:20], y[:20], predicted=[*y[:19], 3], title="the first 20")  # doctest: +SKIP
    """
    side = _check_images(images, labels, predicted)
    if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise ValueError(f"plot_digits: columns must be an int >= 1, got {columns!r}")
    _need_matplotlib()
    import numpy as np
    from matplotlib.patches import Rectangle

    from ..data import DIGITS_INK

    n, columns = len(images), min(columns, len(images))
    rows = -(-n // columns)
    # One image of the whole grid: each cell is the picture, a margin, and room for its caption below.
    pitch_x, pitch_y = side + 2, side + 4
    mosaic = np.full((rows * pitch_y, columns * pitch_x), np.nan)  # nan: the background between cells
    top_ink = max(max(image) for image in images)
    vmax = DIGITS_INK if top_ink > 1 else 1.0
    if ax is None:
        ax = _figure(figsize=(0.7 * columns + 0.3, 0.7 * rows * pitch_y / pitch_x + (0.6 if title else 0.3)),
                     layout="constrained").add_subplot()
    for i, image in enumerate(images):
        row, column = divmod(i, columns)
        y0, x0 = row * pitch_y + 1, column * pitch_x + 1
        mosaic[y0:y0 + side, x0:x0 + side] = np.asarray(image, dtype=float).reshape(side, side)
        wrong = predicted is not None and predicted[i] != labels[i]
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), side, side, fill=False, edgecolor=_WRONG if wrong else _CELL,
                               linewidth=2.0 if wrong else 0.6))
        caption = str(labels[i]) if predicted is None else (
            f"{predicted[i]} (true {labels[i]})" if wrong else str(predicted[i]))
        ax.text(x0 + side / 2 - 0.5, y0 + side + 0.1, caption, ha="center", va="top", fontsize="small",
                color=_WRONG if wrong else "black", fontweight="bold" if wrong else "normal")
    from matplotlib import colormaps

    ink = colormaps["gray_r"].with_extremes(bad="white")
    ax.imshow(mosaic, cmap=ink, vmin=0, vmax=vmax, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return _finish(ax.figure, path)


def _check_images(images, labels, predicted) -> int:
    """The side of the square images, after checking them and their labels."""
    if not images or len(images) != len(labels):
        raise ValueError(f"plot_digits: need as many labels as images (at least one), got {len(images)} and "
                         f"{len(labels)}")
    if predicted is not None and len(predicted) != len(labels):
        raise ValueError(f"plot_digits: {len(predicted)} predicted labels for {len(labels)} images")
    side = math.isqrt(len(images[0]))
    if side < 1 or any(len(image) != side * side for image in images):
        raise ValueError("plot_digits: every image must hold the same square number of pixels (64 for 8 x 8), "
                         f"got {sorted({len(image) for image in images})[:5]}")
    return side


def plot_confusion_matrix(matrix: Sequence[Sequence[int]], path: str | os.PathLike | None = None, *,
                          title: str | None = "confusion matrix", ax: Any = None):
    """A confusion matrix as a table of counts, shaded by the fraction of each true class.

    Row k is the true class k, column j the predicted one, as `autograd_tiny.data.confusion_matrix`
    counts them: the diagonal holds the right answers, and every count off it (a mistake) is
    written in red.

    Args:
        matrix: ``matrix[true][predicted]`` counts, k x k.
        path: where to write the PNG (None: only return the figure).
        title: the Axes' title (None: none).
        ax: an Axes to draw into; None makes a new figure.

    Returns:
        The matplotlib Figure (the one holding `ax`, when given).

    Example:
        >>> from autograd_tiny.data import confusion_matrix
        >>> fig = plot_confusion_matrix(confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2]))  # doctest: +SKIP
    """
    k = len(matrix)
    if k < 1 or any(len(row) != k for row in matrix) or any(
            isinstance(c, bool) or not isinstance(c, int) or c < 0 for row in matrix for c in row):
        raise ValueError("plot_confusion_matrix: matrix must be a square table (k x k, k >= 1) of counts >= 0")
    _need_matplotlib()
    import numpy as np

    counts = np.array(matrix, dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    if ax is None:
        size = min(max(0.45 * k + 1.6, 3.5), 9.0)
        ax = _figure(figsize=(size + 0.8, size), layout="constrained").add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    for t in range(k):
        for p in range(k):
            if matrix[t][p]:
                colour = "white" if share[t, p] > 0.6 else (_WRONG if t != p else "black")
                ax.text(p, t, str(matrix[t][p]), ha="center", va="center", fontsize="small", color=colour,
                        fontweight="bold" if t != p else "normal")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    _colour_bar(ax, image, label="fraction of the true class")
    if title:
        ax.set_title(title)
    return _finish(ax.figure, path)
