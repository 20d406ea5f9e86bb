"""Regenerate the pictures in docs/ for the README: `python docs/make_pictures.py`.

Needs the Graphviz program `dot`. Each picture is drawn by `autograd_tiny.draw_dot`:

* trace_relu.png: micrograd's first trace example, ``(x*2 + 1).relu()`` at x = 1;
* neuron.png: micrograd's lecture neuron, o = tanh(x1*w1 + x2*w2 + b), after o.backward();
* neuron_backward.png: the same neuron with the backward steps numbered and values shaded
  by |grad|, and a key saying so: follow the chain rule from the output (step 1) back to the
  inputs;
* mlp_collapsed.png: a whole MLP(2, [4, 4, 1]) and its squared error on one sample, one box
  per neuron.
"""

from __future__ import annotations

from pathlib import Path

from autograd_tiny import Value, draw_dot, save_graph
from autograd_tiny.nn import MLP

HERE = Path(__file__).resolve().parent
DPI = "110"  # sharp on screens, files well under 200 KB


def save(graph, name: str) -> None:
    graph.attr(dpi=DPI, pad="0.15")
    path = save_graph(graph, HERE / name)
    print(f"wrote {path.relative_to(HERE.parent)} ({path.stat().st_size // 1024} KB)")


def trace_relu() -> None:
    x = Value(1.0, label="x")
    y = (x * 2 + 1).relu()
    y.backward()
    save(draw_dot(y), "trace_relu.png")


def lecture_neuron():
    """micrograd's lecture numbers: b is chosen so that n = atanh(1/sqrt(2)) and o = 0.7071."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o, [w1, w2, b]


def neuron() -> None:
    o, params = lecture_neuron()
    save(draw_dot(o, params=params, legend=True), "neuron.png")
    drawing = draw_dot(o, params=params, number_backward=True, color_by_grad=True, legend=True)
    save(drawing, "neuron_backward.png")


def mlp_collapsed() -> None:
    model = MLP(2, [4, 4, 1], activation="tanh", seed=1)
    x = [Value(0.5, label="x1"), Value(-1.0, label="x2")]
    loss = (model(x) - 1.0) ** 2
    loss.label = "loss"
    loss.backward()
    save(draw_dot(loss, collapse="neuron", model=model, legend=True), "mlp_collapsed.png")


if __name__ == "__main__":
    trace_relu()
    neuron()
    mlp_collapsed()
