"""The plot module: labels from model outputs, the two pictures, and life without matplotlib."""

import os
import sys

import pytest

from autograd_tiny import Value
from autograd_tiny import plot

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
    assert outputs[0].data == 2.0 and outputs[0]._prev == ()  # evaluated under no_grad


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
