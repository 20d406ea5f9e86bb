"""The plot module: labels from model outputs, the two pictures, and life without matplotlib."""

import math
import os
import struct
import sys

import pytest

from autograd_tiny import Value, nn
from autograd_tiny.see import plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def half_plane(x):
    """A hand-made 'model': the score x1 - x2 (class 1 below the diagonal)."""
    return Value(x[0] - x[1])


def three_way(x):
    """A hand-made 3-class 'model': scores x1, x2 and 0.5."""
    return [Value(x[0]), Value(x[1]), Value(0.5)]


def test_label_of_thresholds_one_score_and_takes_argmax_of_several():
    """One score is class 1 when > threshold; a list gives the index of its largest entry (first on ties)."""
    assert [plot.label_of(Value(v)) for v in (-1.0, 0.0, 1e-9)] == [0, 0, 1]
    assert plot.label_of(Value(0.4), threshold=0.5) == 0
    assert plot.label_of([Value(1.0), Value(3.0), Value(3.0)]) == 1


def test_predict_matches_hand_labels():
    """predict gives the label a person reads off the score by hand, and records no graph."""
    X = [[1.0, 0.0], [0.0, 1.0], [0.2, 0.9], [0.9, 0.2], [0.1, 0.1]]
    assert plot.predict(half_plane, X) == [1, 0, 0, 1, 0]
    assert plot.predict(three_way, X) == [0, 1, 1, 0, 2]
    w, outputs = Value(1.0), []
    plot.predict(lambda p: outputs.append(w * p[0]) or outputs[-1], [[2.0]])
    assert outputs[0].data == 2.0 and outputs[0].parents == ()  # evaluated under no_grad


def test_pictures_are_png_files_and_figures(tmp_path):
    """Both functions return a Figure and write a PNG, leaving no temporary file behind."""
    pytest.importorskip("matplotlib")
    X = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    y = plot.predict(three_way, X)
    fig = plot.plot_decision_boundary(three_way, X, y, tmp_path / "b.png", resolution=20)
    assert hasattr(fig, "savefig")
    fig = plot.plot_loss({"loss": [1.0, 0.5, 0.25], "train accuracy": [0.5, 0.75, 1.0]}, tmp_path / "l.png")
    assert hasattr(fig, "savefig")
    plot.plot_loss([3.0, 2.0, 1.0], tmp_path / "plain.png")
    assert sorted(os.listdir(tmp_path)) == ["b.png", "l.png", "plain.png"]
    for name in ("b.png", "l.png", "plain.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_SIGNATURE


def test_failed_save_leaves_nothing(tmp_path):
    """Saving into a folder that does not exist raises and writes nothing."""
    pytest.importorskip("matplotlib")
    with pytest.raises(OSError):
        plot.plot_loss([1.0, 0.5], tmp_path / "missing" / "l.png")
    assert os.listdir(tmp_path) == []


def test_without_matplotlib_a_clear_error(monkeypatch):
    """With matplotlib missing, drawing raises ModuleNotFoundError saying what to pip install."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'autograd_tiny\[plot\]'") as info:
        plot.plot_loss([1.0, 0.5])
    assert info.value.name == "matplotlib"


@pytest.mark.parametrize("X, y, kwargs, words", [
    ([], [], {}, "at least one"),
    ([[0.0, 1.0]], [0, 1], {}, "as many labels"),
    ([[0.0, 1.0, 2.0]], [0], {}, "two-dimensional"),
    ([[0.0, 1.0]], [0], {"resolution": 1}, "resolution"),
])
def test_decision_boundary_rejects_bad_input(X, y, kwargs, words):
    """Bad points, labels or resolution raise ValueError naming the function and the problem."""
    with pytest.raises(ValueError, match="plot_decision_boundary") as info:
        plot.plot_decision_boundary(half_plane, X, y, **kwargs)
    assert words in str(info.value)


# --- drawing into given Axes, log scale, several curves -------------------------------------------

def new_axes(n=1):
    """A fresh Figure (no pyplot) and its n Axes side by side."""
    from matplotlib.figure import Figure
    fig = Figure()
    return fig, list(fig.subplots(1, n, squeeze=False)[0])


def test_loss_draws_into_a_given_axes_and_returns_its_figure():
    """With ax=, the curve lands in that Axes (same numbers as given) and its figure is returned, with no new Axes."""
    pytest.importorskip("matplotlib")
    fig, (ax,) = new_axes()
    losses = [3.0, 2.0, 1.5, 1.25]
    assert plot.plot_loss(losses, ax=ax, title="mine") is fig
    assert fig.axes == [ax] and ax.get_title() == "mine"
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [1, 2, 3, 4] and list(line.get_ydata()) == losses


def test_decision_boundary_draws_into_a_given_axes_and_returns_its_figure():
    """With ax=, the shading and points go into that Axes of an existing figure, the other Axes stays empty."""
    pytest.importorskip("matplotlib")
    fig, (left, right) = new_axes(2)
    X = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    assert plot.plot_decision_boundary(half_plane, X, plot.predict(half_plane, X), ax=right, resolution=10) is fig
    assert len(fig.axes) == 2
    assert not left.has_data() and len(right.get_images()) == 1
    offsets = right.collections[-1].get_offsets()
    assert [list(map(float, p)) for p in offsets] == X


def test_log_sets_a_logarithmic_loss_axis():
    """log=True puts the loss on a log axis (overlaid or side by side); accuracy stays linear; default is linear."""
    pytest.importorskip("matplotlib")
    assert plot.plot_loss([1.0, 0.1]).axes[0].get_yscale() == "linear"
    assert plot.plot_loss([1.0, 0.1], log=True).axes[0].get_yscale() == "log"
    fig = plot.plot_loss({"loss": [1.0, 0.1], "train accuracy": [0.5, 1.0]}, log=True)
    assert [a.get_yscale() for a in fig.axes] == ["log", "linear"]  # the loss axis and its right-hand twin
    fig = plot.plot_loss({"a": [1.0, 0.1], "b": [1.0, 0.5], "train accuracy": [0.5, 1.0]}, log=True, overlay=False)
    assert [a.get_yscale() for a in fig.axes] == ["log", "log", "linear"]


def test_several_curves_overlaid_carry_their_names():
    """A mapping draws one line per entry on one Axes, each labelled with its name and holding its numbers."""
    pytest.importorskip("matplotlib")
    runs = {"lr = 0.01": [1.0, 0.9, 0.8], "lr = 0.3": [1.0, 0.4, 0.2, 0.1], "lr = 1": [1.0, 5.0]}
    fig, (ax,) = new_axes()
    plot.plot_loss(runs, ax=ax, log=True)
    assert [line.get_label() for line in ax.get_lines()] == list(runs)
    assert [list(line.get_ydata()) for line in ax.get_lines()] == list(runs.values())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(runs)
    assert len({line.get_color() for line in ax.get_lines()}) == 3


def test_several_curves_side_by_side_share_their_scales():
    """overlay=False gives each curve its own panel titled by its name, with shared step and loss axes."""
    pytest.importorskip("matplotlib")
    runs = {"too low": [0.4, 0.39, 0.38] * 10, "about right": [0.4, 0.1, 0.04] * 10, "too high": [0.4, 30.0, 2000.0]}
    fig = plot.plot_loss(runs, overlay=False, log=True, title="three rates")
    assert [a.get_title() for a in fig.axes] == list(runs)
    assert fig.get_suptitle() == "three rates"
    for a, values in zip(fig.axes, runs.values()):
        assert list(a.get_lines()[0].get_ydata()) == values
    fig.canvas.draw()  # settle the autoscaled limits
    assert len({a.get_ylim() for a in fig.axes}) == 1 and len({a.get_xlim() for a in fig.axes}) == 1
    low, high = fig.axes[0].get_ylim()
    assert low <= 0.04 and high >= 2000.0  # the shared loss axis covers every run
    fig, axes = new_axes(3)
    assert plot.plot_loss(runs, overlay=False, ax=axes) is fig
    with pytest.raises(ValueError, match=r"plot_loss: side by side needs one Axes per curve: 3 curves, 2 Axes"):
        plot.plot_loss(runs, overlay=False, ax=axes[:2])


@pytest.mark.parametrize("history, words", [
    ({}, "no curves"),
    ({"loss": 0.5}, "curve 'loss' must be a sequence of numbers"),
    ([1.0, "x"], "holds 'x', not a number"),
    ([Value(1.0)], "append loss.data"),
])
def test_loss_rejects_bad_curves(history, words):
    """Curves that are not sequences of numbers raise ValueError naming plot_loss and the bad entry."""
    with pytest.raises(ValueError, match="plot_loss") as info:
        plot.plot_loss(history)
    assert words in str(info.value)


# --- the decision boundary: smooth score shading checked against closed forms ---------------------

def fixed_neuron(w1, w2, b):
    """A linear neuron with fixed weights: its boundary is the line w1*x1 + w2*x2 + b = 0."""
    neuron = nn.Neuron(2, activation="linear", seed=0)
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = w1, w2, b
    return neuron


def contour_vertices(ax, filled=False):
    """Every vertex of the (filled or line) contours drawn in ax."""
    from matplotlib.contour import ContourSet
    sets = [c for c in ax.collections if isinstance(c, ContourSet) and c.filled == filled]
    return [tuple(map(float, v)) for cs in sets for level in cs.allsegs for seg in level for v in seg]


SQUARE = [[-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0], [1.0, 1.0], [0.0, 0.0]]


def test_boundary_of_a_linear_neuron_is_its_line():
    """The drawn boundary of w.x + b lies on the line w.x + b = 0 and crosses the whole picture."""
    pytest.importorskip("matplotlib")
    w1, w2, b = 1.5, -2.0, 0.5
    model = fixed_neuron(w1, w2, b)
    fig = plot.plot_decision_boundary(model, SQUARE, plot.predict(model, SQUARE), resolution=30)
    ax = fig.axes[0]
    vertices = contour_vertices(ax)
    assert len(vertices) >= 2
    for x1, x2 in vertices:
        assert abs(w1 * x1 + w2 * x2 + b) < 1e-9
    # the line x2 = (1.5 x1 + 0.5) / 2 leaves the picture through its left and right edges
    (left, right), (bottom, top) = ax.get_xlim(), ax.get_ylim()
    xs = [v[0] for v in vertices]
    assert min(xs) == pytest.approx(left) and max(xs) == pytest.approx(right)
    assert bottom < (w1 * left + b) / -w2 < top and bottom < (w1 * right + b) / -w2 < top


def test_shading_is_the_score_centred_on_the_threshold():
    """The shaded image holds w.x + b at each pixel centre, and its colour scale puts the threshold in the middle."""
    pytest.importorskip("matplotlib")
    w1, w2, b = 1.5, -2.0, 0.5
    model = fixed_neuron(w1, w2, b)
    n = 25
    fig = plot.plot_decision_boundary(model, SQUARE, plot.predict(model, SQUARE, 0.3), resolution=n, threshold=0.3)
    (image,) = fig.axes[0].get_images()
    x_lo, x_hi, y_lo, y_hi = image.get_extent()
    array = image.get_array()
    assert array.shape == (n, n)
    for j in range(0, n, 6):
        for i in range(0, n, 6):
            cx = x_lo + (i + 0.5) * (x_hi - x_lo) / n
            cy = y_lo + (j + 0.5) * (y_hi - y_lo) / n
            assert array[j, i] == pytest.approx(w1 * cx + w2 * cy + b, abs=1e-9)
    assert image.norm(0.3) == pytest.approx(0.5)
    assert image.norm(array.min()) < 0.5 < image.norm(array.max())


def test_curved_boundary_is_smooth_at_a_modest_resolution():
    """For the score x1^2 + x2^2 with threshold 0.25, the boundary at resolution 80 is the circle of radius 0.5."""
    pytest.importorskip("matplotlib")
    model = lambda x: Value(x[0] ** 2 + x[1] ** 2)  # noqa: E731
    fig = plot.plot_decision_boundary(model, SQUARE, [0, 0, 0, 0, 1], resolution=80, threshold=0.25)
    vertices = contour_vertices(fig.axes[0])
    step = 2.4 / 79  # the grid spacing: the points span 2, padded by 10% each side
    assert len(vertices) > 20
    for x1, x2 in vertices:
        assert abs(math.hypot(x1, x2) - 0.5) < step ** 2  # linear interpolation: error ~ step^2, not a staircase step
    angles = sorted(math.atan2(x2, x1) for x1, x2 in vertices)
    assert max(b - a for a, b in zip(angles, angles[1:])) < 0.2  # all the way round


def test_class_regions_meet_where_the_top_two_logits_tie():
    """With logits (x1, x2, 0.5), every drawn class boundary is where the two largest logits are equal."""
    pytest.importorskip("matplotlib")
    X = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    n = 60
    fig = plot.plot_decision_boundary(three_way, X, plot.predict(three_way, X), resolution=n)
    step = 1.2 / (n - 1)
    vertices = contour_vertices(fig.axes[0])
    for x1, x2 in vertices:
        top, second = sorted((x1, x2, 0.5), reverse=True)[:2]
        assert top - second < step
    # all three branches of the boundary are drawn: the diagonal, and the two half-lines at 0.5
    assert any(x1 > 0.7 and x2 > 0.7 for x1, x2 in vertices)
    assert any(abs(x1 - 0.5) < 1e-9 and x2 < 0.3 for x1, x2 in vertices)
    assert any(abs(x2 - 0.5) < 1e-9 and x1 < 0.3 for x1, x2 in vertices)
    # the filled regions are exactly where each class wins (away from the ties)
    filled = contour_vertices(fig.axes[0], filled=True)
    assert filled and all(-0.1 - 1e-9 <= x <= 1.1 + 1e-9 for v in filled for x in v)


def test_test_points_get_another_marker_and_class_colours():
    """Test points are drawn at their places with a marker unlike the training points', coloured by class."""
    pytest.importorskip("matplotlib")
    X, y = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [0, 1, 0]
    X_test, y_test = [[0.2, 0.7], [0.9, 0.1]], [0, 1]
    fig = plot.plot_decision_boundary(half_plane, X, y, X_test=X_test, y_test=y_test, resolution=10)
    ax = fig.axes[0]
    train, test = [c for c in ax.collections if len(c.get_offsets()) in (2, 3)]
    assert [list(map(float, p)) for p in test.get_offsets()] == X_test
    np = pytest.importorskip("numpy")
    assert not np.array_equal(train.get_paths()[0].vertices, test.get_paths()[0].vertices)  # not the same marker
    colours = [tuple(c) for c in train.get_facecolors()]
    assert colours[0] == colours[2] != colours[1]  # same class, same colour
    assert [tuple(c) for c in test.get_facecolors()] == [colours[0], colours[1]]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training points", "test points"]


def read_png_size(blob):
    """Width and height from a PNG's IHDR chunk, after checking the signature and the IEND at the end."""
    assert blob[:8] == PNG_SIGNATURE and blob[12:16] == b"IHDR" and blob[-8:-4] == b"IEND"
    return struct.unpack(">II", blob[16:24])


def test_decision_boundary_png_is_valid_and_coloured_by_side(tmp_path):
    """The PNG decodes to the figure's pixel size, with class 1's hue where the score is positive, class 0's where negative."""
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread
    X = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    fig = plot.plot_decision_boundary(half_plane, X, [0, 1, 0, 0], tmp_path / "b.png", resolution=40)
    width, height = read_png_size((tmp_path / "b.png").read_bytes())
    assert (width, height) == tuple(round(v * fig.dpi) for v in fig.get_size_inches())
    pixels = imread(tmp_path / "b.png")
    assert pixels.shape[:2] == (height, width)
    ax = fig.axes[0]

    def colour_at(x1, x2):
        px, py = ax.transData.transform((x1, x2))
        return pixels[height - 1 - int(py), int(px)][:3]

    below, above, on = colour_at(0.95, -0.05), colour_at(-0.05, 0.95), colour_at(0.5, 0.5)
    assert below[0] > below[2] + 0.2  # score x1 - x2 > 0: class 1, orange (more red than blue)
    assert above[2] > above[0] + 0.2  # score < 0: class 0, blue
    assert min(on) < 0.4  # on the diagonal: the dark boundary line


def test_model_is_evaluated_without_graphs_and_bad_outputs_are_named():
    """The grid is evaluated under no_grad; a model returning a float, or no test labels, raises a clear ValueError."""
    pytest.importorskip("matplotlib")
    outputs = []
    w = Value(1.0)
    plot.plot_decision_boundary(lambda p: outputs.append(w * p[0] - p[1]) or outputs[-1],
                                [[0.0, 0.0], [1.0, 1.0]], [0, 1], resolution=4)
    assert len(outputs) == 16 and all(o.parents == () for o in outputs)
    with pytest.raises(ValueError, match=r"plot_decision_boundary: the model must return a Value or a list of Values, got 0\.5"):
        plot.plot_decision_boundary(lambda p: 0.5, [[0.0, 0.0]], [0], resolution=4)
    with pytest.raises(ValueError, match="plot_decision_boundary: give both X_test and y_test"):
        plot.plot_decision_boundary(half_plane, [[0.0, 0.0]], [0], X_test=[[1.0, 1.0]])
    with pytest.raises(ValueError, match=r"plot_decision_boundary: need as many labels as points, got 1 and 2 in X_test"):
        plot.plot_decision_boundary(half_plane, [[0.0, 0.0]], [0], X_test=[[1.0, 1.0]], y_test=[0, 1])


# --- labels, colour bars, legends outside the data, one colour scheme, automatic log scale ----------

def rendered(fig):
    """Lay out and draw a Figure made without pyplot, so every artist has its final place."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig).draw()
    return fig.canvas.get_renderer()


def test_decision_boundary_has_axis_labels_and_a_colour_bar_of_the_score():
    """Axes x1 and x2; a colour bar reading the score, centred on the threshold and marked there."""
    pytest.importorskip("matplotlib")
    fig = plot.plot_decision_boundary(half_plane, SQUARE, plot.predict(half_plane, SQUARE, 0.25), threshold=0.25,
                                      resolution=20)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2")
    (image,) = ax.get_images()
    bar = image.colorbar
    assert bar is not None and "score" in bar.ax.get_ylabel() and "0.25" in bar.ax.get_ylabel()
    assert bar.norm.vcenter == 0.25 and bar.norm.vmin < 0.25 < bar.norm.vmax
    assert [list(line.get_ydata()) for line in bar.ax.get_lines()] == [[0.25, 0.25]]  # the threshold's mark
    renderer = rendered(fig)
    assert bar.ax.get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1  # beside the plot, not on it


def test_class_regions_have_a_colour_bar_naming_the_classes():
    """With several outputs, the colour bar has one band per class, ticked 0, 1, 2, in the regions' colours."""
    pytest.importorskip("matplotlib")
    X = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    fig = plot.plot_decision_boundary(three_way, X, plot.predict(three_way, X), resolution=10)
    (image,) = fig.axes[0].get_images()
    bar = image.colorbar
    assert list(bar.get_ticks()) == [0, 1, 2]
    assert [tuple(bar.cmap(bar.norm(c))) for c in range(3)] == [tuple(image.cmap(image.norm(c))) for c in range(3)]


def legend_is_clear(fig, ax) -> None:
    """The Axes' legend lies wholly below its x label, so it covers no point, line or label."""
    renderer = rendered(fig)
    legend = ax.get_legend().get_window_extent(renderer)
    label = ax.xaxis.label.get_window_extent(renderer)
    ticks = ax.xaxis.get_tightbbox(renderer)
    assert legend.y1 <= label.y0 and legend.y1 <= ticks.y0 and legend.y1 <= ax.get_window_extent(renderer).y0
    figure = fig.bbox
    assert figure.y0 <= legend.y0 and legend.x0 >= figure.x0 and legend.x1 <= figure.x1  # and it is in the picture


@pytest.mark.parametrize("font_size", [10, 18])
def test_legends_sit_below_the_plot_never_over_points(font_size):
    """Decision boundary, loss curves and points: each legend is below the x label, whatever the font size."""
    mpl = pytest.importorskip("matplotlib")
    with mpl.rc_context({"font.size": font_size}):
        X, y = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [0, 1, 0]
        fig = plot.plot_decision_boundary(half_plane, X, y, X_test=[[0.5, 0.9]], y_test=[0], resolution=10)
        legend_is_clear(fig, fig.axes[0])
        fig = plot.plot_loss({"loss": [1.0, 0.5, 0.2], "train accuracy": [0.5, 0.8, 1.0]})
        legend_is_clear(fig, fig.axes[0])
        fig = plot.plot_points(X, y)
        legend_is_clear(fig, fig.axes[0])


def test_one_colour_scheme_for_classes_and_curves():
    """Class k's points, in every picture, and the k-th loss curve are all drawn in CLASS_COLORS[k]."""
    pytest.importorskip("matplotlib")
    from matplotlib.colors import to_rgba
    X, y = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0, 1, 2, 1]
    expected = [to_rgba(plot.CLASS_COLORS[k]) for k in y]
    points = plot.plot_points(X, y).axes[0].collections[0]
    assert [tuple(c) for c in points.get_facecolors()] == expected
    boundary = plot.plot_decision_boundary(three_way, X, y, resolution=10).axes[0]
    scatter = [c for c in boundary.collections if len(c.get_offsets()) == 4][0]
    assert [tuple(c) for c in scatter.get_facecolors()] == expected
    fig = plot.plot_loss({"a": [1.0, 0.5], "b": [1.0, 0.7], "c": [1.0, 0.9]})
    assert [to_rgba(line.get_color()) for line in fig.axes[0].get_lines()] == [to_rgba(c) for c in plot.CLASS_COLORS[:3]]


@pytest.mark.parametrize("history, scale", [
    ([1.0, 0.1, 0.01], "log"),  # exactly two decades
    ([1.0, 0.5, 0.0101], "linear"),  # a little less than two
    ([2.0, 1e56], "log"),  # a run that blew up
    ([1.0, 0.1, 0.0], "linear"),  # a zero loss has no place on a log axis
    ({"loss": [1.0, 1e-3], "train accuracy": [0.5, 1.0]}, "log"),
    ({"loss": [1.0, 0.5], "train accuracy": [0.001, 1.0]}, "linear"),  # accuracy never decides the loss axis
])
def test_loss_axis_is_logarithmic_when_the_losses_span_two_decades(history, scale):
    """With log left out, the loss axis is logarithmic exactly when the positive losses span a factor of 100 or more."""
    pytest.importorskip("matplotlib")
    assert plot.plot_loss(history).axes[0].get_yscale() == scale
    assert plot.plot_loss(history, log=False).axes[0].get_yscale() == "linear"
