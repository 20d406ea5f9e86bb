"""save_animation: a GIF of the backward pass, one frame per step, read back with Pillow."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest
from conftest import needs_dot

from autograd_tiny import Value, draw_dot, save_animation
from autograd_tiny.engine import topological_order


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


@pytest.mark.parametrize("seconds", [0, -1, 1000, "1", True, False, float("nan"), float("inf"), None])
def test_bad_frame_time_is_a_clear_error(tmp_path, seconds):
    """seconds_per_step outside 0.02..60 s, or not a number (a bool is not), is a ValueError naming
    it, and nothing is written."""
    with pytest.raises(ValueError, match="save_animation: seconds_per_step must be "):
        save_animation(neuron(), tmp_path / "x.gif", seconds_per_step=seconds)
    assert not (tmp_path / "x.gif").exists()


@needs_dot
def test_labels_are_painted_as_typed(tmp_path, painted):
    """Labels holding entities, markup, '</script>' or a line break are painted as typed: in the
    boxes (a line break starts a new line) and in the captions."""
    labels = ["&amp;", "&alpha;", "<b>", "</script>", "two\nlines"]
    a, b, c, d, e = (Value(1.0 + k, label=text) for k, text in enumerate(labels))
    save_animation(a * b + c / d + e.tanh(), tmp_path / "labels.gif")
    for label in labels[:4]:
        assert label in painted  # its box
        assert any(f"({label}).grad" in line for line in painted)  # its line of a caption
    assert {"two", "lines"} <= set(painted)
    assert not any("\n" in line for line in painted)


@needs_dot
def test_ports_copies_and_the_key_are_painted(tmp_path, painted):
    """A graph with ports (x / y), copies of a value used far away (x + x + ... + x) and the key:
    every input's edge gets its label 'local × grad = adds' at its step, and keeps it, faded, in
    every later frame; the key is painted in every frame."""
    x, y = Value(0.5, label="x"), Value(2.0, label="y")
    out = x / y
    for _ in range(49):
        out = out + x
    source = draw_dot(out).source
    assert "v0again" in source and ":denominator" in source
    save_animation(out, tmp_path / "far.gif", legend=True, seconds_per_step=0.1)
    number = r"-?[\d.]+(?:e[-+]\d+)?"
    labels = [t for t in painted if re.fullmatch(f"{number} × {number} = {number}", t)]
    order = topological_order(out)  # backward visits the nodes in reverse: x / y last
    frames_after = range(1, len(order) + 1)  # the k-th step's labels are in frames k..last, len+2-k
    assert len(labels) == sum(len(v.parents) * (len(order) + 2 - k) for k, v in zip(frames_after, order[::-1]))
    assert labels.count("-0.125 × 1 = -0.125") == 2  # d(x/y)/dy = -x/y², at its step and at the end
    assert painted.count("key") == len(order) + 2  # in every frame


@needs_dot
def test_captions_are_the_pages_sentences(tmp_path, painted):
    """The GIF's captions are the explorer's own sentences: every line painted under the drawing
    is a piece of a step's text, and each edge's clause of the a*a step is painted."""
    from autograd_tiny import explore

    a = Value(3.0, label="a")
    y = a * a + a.tanh()
    save_animation(y, tmp_path / "aa.gif")
    texts = ["".join(p if isinstance(p, str) else p[0] for p in line)
             for s in explore(y).page_data()["steps"] for line in s["text"]]  # fmt: skip
    captions = [t for t in painted if "local derivative" in t or t.startswith("Backward")]
    assert captions and all(any(c in t for t in texts) for c in captions)
    for clause in ("∂mul1/∂x = y = 3; × mul1.grad 1 = 3, added to a.grad: 0.009866 → 3.01",
                   "∂mul1/∂y = x = 3; × mul1.grad 1 = 3, added to a.grad: 3.01 → 6.01"):  # fmt: skip
        assert any(clause in c for c in captions)
