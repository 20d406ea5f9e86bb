"""Pictures of training: the loss curve and a classifier's decision boundary (needs matplotlib).

matplotlib is imported only when a picture is drawn, so ``import autograd_tiny.plot`` costs
nothing; without matplotlib the drawing functions raise `ModuleNotFoundError` saying what to
install. They build a ``matplotlib.figure.Figure`` directly (no pyplot, so no global state and
no change to the notebook's backend), save it to `path` if given, and return it.

Example:
    >>> from autograd_tiny.nn import MLP
    >>> from autograd_tiny.data import moons
    >>> X, y = moons(50, seed=0)
    >>> model = MLP(2, [8, 1], seed=0)
    >>> labels = predict(model, X)
    >>> len(labels), set(labels) <= {0, 1}
    (50, True)
    >>> fig = plot_decision_boundary(model, X, y, "boundary.png")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import tempfile
from typing import Callable, Mapping, Sequence

from .engine import Value, no_grad

__all__ = ["label_of", "predict", "plot_loss", "plot_decision_boundary", "INSTALL_HINT"]

INSTALL_HINT = "pip install 'autograd_tiny[plot]'"

# class colours: light for the regions, strong for the points
_LIGHT = ["#a6cee3", "#fdbf6f", "#b2df8a", "#fb9a99", "#cab2d6", "#ffff99"]
_STRONG = ["#1f78b4", "#ff7f00", "#33a02c", "#e31a1c", "#6a3d9a", "#b15928"]


def _figure(**kwargs):
    """A new matplotlib Figure, or ModuleNotFoundError naming the extra to install."""
    try:
        import matplotlib  # noqa: F401  (first, so that a missing package fails here)
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ModuleNotFoundError(f"drawing needs matplotlib: {INSTALL_HINT}", name="matplotlib") from err
    return Figure(**kwargs)


def _save(fig, path: str | os.PathLike) -> None:
    """Save as PNG through a temporary file in the same folder, so no half-written picture remains."""
    path = os.fspath(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".tmp-", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, format="png")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a picture is for everyone
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


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


def plot_loss(history: Sequence[float] | Mapping[str, Sequence[float]], path: str | os.PathLike | None = None,
              title: str = "training"):
    """The loss per step; with a mapping, also every series whose name has 'accuracy' (right axis).

    Args:
        history: the losses, or e.g. ``{"loss": [...], "train accuracy": [...]}``.
        path: where to write the PNG (None: only return the figure).
        title: the figure's title.

    Returns:
        The matplotlib Figure.

    Example:
        >>> fig = plot_loss({"loss": [1.0, 0.5, 0.2], "train accuracy": [0.5, 0.8, 1.0]})  # doctest: +SKIP
    """
    series = dict(history) if isinstance(history, Mapping) else {"loss": list(history)}
    fig = _figure(figsize=(6.4, 4.0), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    right = None
    handles = []
    for i, (name, values) in enumerate(series.items()):
        steps = range(1, len(values) + 1)
        if "accuracy" in name:
            if right is None:
                right = ax.twinx()
                right.set_ylabel("accuracy")
                right.set_ylim(0, 1.02)
            handles += right.plot(steps, values, color=_STRONG[i % len(_STRONG)], alpha=0.7, label=name)
        else:
            handles += ax.plot(steps, values, color=_STRONG[i % len(_STRONG)], label=name)
    if len(handles) > 1:
        ax.legend(handles=handles, loc="center right")
    if path is not None:
        _save(fig, path)
    return fig


def plot_decision_boundary(model: Callable, X: Sequence[Sequence[float]], y: Sequence[int],
                           path: str | os.PathLike | None = None, *, resolution: int = 80,
                           threshold: float = 0.0, title: str = "decision boundary"):
    """The class the model predicts over the plane (shaded) under the labelled points.

    The model is evaluated (without recording graphs) on a `resolution` x `resolution` grid
    that covers the points with a margin; labels come from `predict`.

    Args:
        model: any callable from ``[x1, x2]`` to a Value (a score) or a list of Values (logits).
        X, y: the two-dimensional points and their int labels.
        path: where to write the PNG (None: only return the figure).
        resolution: grid points per side.
        threshold: for one output, the score above which the class is 1.
        title: the figure's title.

    Returns:
        The matplotlib Figure.

    Example:
        >>> fig = plot_decision_boundary(model, X, y, "boundary.png")  # doctest: +SKIP
    """
    if not X or len(X) != len(y):
        raise ValueError(f"plot_decision_boundary: need as many labels as points (at least one), got {len(X)} and {len(y)}")
    if any(len(x) != 2 for x in X):
        raise ValueError("plot_decision_boundary: the points must be two-dimensional")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"plot_decision_boundary: resolution must be an int >= 2, got {resolution!r}")
    xs, ys = [p[0] for p in X], [p[1] for p in X]
    (x0, x1), (y0, y1) = _padded(xs), _padded(ys)
    height = min(max(6.0 * (y1 - y0) / (x1 - x0), 2.5), 9.0)  # equal scales on both axes
    fig = _figure(figsize=(6.0, height + 0.5), dpi=100, layout="constrained")
    from matplotlib.colors import BoundaryNorm, ListedColormap

    gx = [x0 + (x1 - x0) * i / (resolution - 1) for i in range(resolution)]
    gy = [y0 + (y1 - y0) * j / (resolution - 1) for j in range(resolution)]
    grid = predict(model, [[a, b] for b in gy for a in gx], threshold)
    zz = [grid[j * resolution:(j + 1) * resolution] for j in range(resolution)]
    k = max(max(y), max(grid)) + 1
    norm = BoundaryNorm([c - 0.5 for c in range(k + 1)], k)
    ax = fig.add_subplot()
    # one flat colour per grid cell (contours would invent a class between two others)
    ax.pcolormesh(gx, gy, zz, shading="nearest", norm=norm,
                  cmap=ListedColormap([_LIGHT[c % len(_LIGHT)] for c in range(k)]))
    ax.scatter(xs, ys, c=[_STRONG[c % len(_STRONG)] for c in y], s=18, edgecolors="black", linewidths=0.4)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_title(title)
    if path is not None:
        _save(fig, path)
    return fig


def _padded(values: Sequence[float], fraction: float = 0.1) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    margin = (hi - lo) * fraction or 0.5
    return lo - margin, hi + margin
