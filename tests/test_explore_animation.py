"""save_animation: a GIF of the backward pass, one frame per step, read back with Pillow."""

from __future__ import annotations

import shutil
from itertools import pairwise

import pytest

from autograd_tiny import Value, save_animation
from autograd_tiny.engine import topological_order

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz program 'dot' is needed")


def neuron():
    x, w, b = Value(1.0, label="x"), Value(-2.0, label="w"), Value(0.5, label="b")
    o = (x * w + b).tanh()
    o.label = "o"
    return o


@needs_dot
def test_one_frame_per_backward_step(tmp_path):
    """The GIF has a frame for the seed, one per node backward() visits, and one for the result;
    it loops, every frame the same size, the last held three times as long."""
    Image = pytest.importorskip("PIL.Image")
    o = neuron()
    path = save_animation(o, tmp_path / "backward.gif", seconds_per_step=0.5)
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == len(topological_order(o)) + 2
        assert gif.info.get("loop") == 0
        durations, sizes = [], set()
        for i in range(gif.n_frames):
            gif.seek(i)
            durations.append(gif.info["duration"])
            sizes.add(gif.size)
    assert durations == [500] * (len(durations) - 1) + [1500]
    assert len(sizes) == 1


@needs_dot
def test_frames_change_where_the_step_is(tmp_path):
    """Consecutive frames differ (the highlighted node moves), so the animation shows something."""
    Image = pytest.importorskip("PIL.Image")
    path = save_animation(neuron(), tmp_path / "backward.gif")
    with Image.open(path) as gif:
        frames = []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(gif.convert("RGB").tobytes())
    assert all(a != b for a, b in pairwise(frames))


@pytest.mark.parametrize("seconds", [0, -1, 1000, "1"])
def test_bad_frame_time_is_a_clear_error(tmp_path, seconds):
    """seconds_per_step outside 0.02..60 s is a ValueError naming it, and nothing is written."""
    with pytest.raises(ValueError, match="save_animation: seconds_per_step must be between 0.02 and 60"):
        save_animation(neuron(), tmp_path / "x.gif", seconds_per_step=seconds)
    assert not (tmp_path / "x.gif").exists()
