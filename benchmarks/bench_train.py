"""micrograd's demo training step with autograd_tiny, timed beside the same step in plain Python.

The step: the model MLP(2, [16, 16, 1]) on 100 moons points, hinge loss + 1e-4 L2, zero_grad,
backward, SGD update. The plain-Python version does the same arithmetic on floats with a
hand-derived backward pass (no graph). Both run in this process, on the same weights, so the
ratio does not depend on the machine. The forward pass (scores and loss) is also timed alone.

    python benchmarks/bench_train.py [--repeats 30] [--profile]

Targets: step <= 2.5x plain Python, forward <= 4x. The two are timed alternately
(see timing.py) and the ratio is the median of the per-pair ratios. The garbage collector is
left as Python sets it; two more rows time both sides inside the opt-in `gc_paused()`.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from operator import mul

from timing import interleaved

from autograd_tiny import Value, gc_paused
from autograd_tiny.data import moons, signed_labels
from autograd_tiny.losses import hinge, l2
from autograd_tiny.nn import MLP

ALPHA = 1e-4
LR = 0.5  # the size of the update does not change the time; keep the weights sane over repeats


# ---------------------------------------------------------------------- autograd_tiny


def engine_forward(model: MLP, X: list[list[float]], y: list[int]) -> Value:
    scores = [model(x) for x in X]
    return hinge(scores, y) + l2(model.parameters(), ALPHA)


def engine_step(model: MLP, X, y) -> float:
    loss = engine_forward(model, X, y)
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data -= LR * p.grad
    return loss.data


# ---------------------------------------------------------------------- plain Python
# W[l][j] is the weight row of neuron j of layer l, B[l][j] its bias. ReLU on the hidden
# layers, linear output. Written the quick way (map, zip, comprehensions), so that the
# baseline is a strong one.


def plain_forward(W, B, X, y) -> float:
    last = len(W) - 1
    total = 0.0
    for x, label in zip(X, y):
        h = x
        for layer, (Wl, Bl) in enumerate(zip(W, B)):
            z = [sum(map(mul, row, h)) + b for row, b in zip(Wl, Bl)]
            h = z if layer == last else [v if v > 0 else 0.0 for v in z]
        total += max(0.0, 1.0 - label * h[0])
    reg = sum(w * w for Wl in W for row in Wl for w in row) + sum(b * b for Bl in B for b in Bl)
    return total / len(X) + ALPHA * reg


def plain_step(W, B, X, y) -> float:
    L, n = len(W), len(X)
    gW = [[[0.0] * len(row) for row in Wl] for Wl in W]  # zero_grad
    gB = [[0.0] * len(Bl) for Bl in B]
    WT = [list(zip(*Wl)) for Wl in W]  # columns: to send gradients back to a layer's inputs
    total = 0.0
    for x, label in zip(X, y):
        hs = [x]  # the input of each layer, kept for the backward pass
        for layer in range(L):
            z = [sum(map(mul, row, hs[-1])) + b for row, b in zip(W[layer], B[layer])]
            hs.append(z if layer == L - 1 else [v if v > 0 else 0.0 for v in z])
        margin = 1.0 - label * hs[-1][0]
        total += max(0.0, margin)
        g = [-label / n if margin > 0 else 0.0]  # d loss / d score (relu'(0) = 0)
        for layer in reversed(range(L)):
            h_in = hs[layer]
            if layer < L - 1:  # through the ReLU: pass where the output was positive
                g = [gj if out > 0 else 0.0 for gj, out in zip(g, hs[layer + 1])]
            gWl, gBl = gW[layer], gB[layer]
            for j, gj in enumerate(g):
                gBl[j] += gj
                gWl[j] = [a + gj * v for a, v in zip(gWl[j], h_in)]
            if layer:
                g = [sum(map(mul, col, g)) for col in WT[layer]]
    reg = plain_l2(W, B, gW, gB, ALPHA)
    for Wl, Bl, gWl, gBl in zip(W, B, gW, gB):  # SGD, in place
        for row, grow in zip(Wl, gWl):
            row[:] = [w - LR * g for w, g in zip(row, grow)]
        Bl[:] = [b - LR * g for b, g in zip(Bl, gBl)]
    return total / n + ALPHA * reg


def plain_l2(W, B, gW, gB, alpha: float) -> float:
    """The L2 penalty's sum of p² over the weights W and biases B; its gradient 2 alpha p is
    added into gW and gB, in place."""
    reg = 0.0
    for Wl, Bl, gWl, gBl in zip(W, B, gW, gB):
        for j, row in enumerate(Wl):
            reg += sum(map(mul, row, row))
            gWl[j] = [g + 2 * alpha * w for g, w in zip(gWl[j], row)]
        reg += sum(map(mul, Bl, Bl))
        gBl[:] = [g + 2 * alpha * b for g, b in zip(gBl, Bl)]
    return reg


def demo_setup():
    """micrograd's demo: 100 moons points, labels -1/+1, MLP(2, [16, 16, 1]) with uniform(-1, 1)
    weights, and the same weights as plain lists (W, B) for the plain-Python step."""
    X, labels = moons(100, noise=0.1, seed=0)
    y = signed_labels(labels)
    model = MLP(2, [16, 16, 1], init="uniform", seed=1337)
    W, B = plain_weights(model)
    return X, y, model, W, B


def plain_weights(model: MLP):
    sd = model.state_dict()
    n = len(model.layers)
    return [sd[f"layers.{i}.weight"] for i in range(n)], [sd[f"layers.{i}.bias"] for i in range(n)]


# ---------------------------------------------------------------------- micrograd, if installed


def micrograd_version(model: MLP, X, y):
    """micrograd's own demo step on the same weights, or None when micrograd is not installed."""
    try:
        from micrograd.engine import Value as MicroValue
        from micrograd.nn import MLP as MicroMLP
    except ImportError:
        return None
    micro = MicroMLP(2, [16, 16, 1])
    for p, q in zip(micro.parameters(), model.parameters()):  # same order: weights then bias
        p.data = q.data
    inputs = [[MicroValue(a) for a in x] for x in X]

    def step() -> float:
        scores = list(map(micro, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        loss = sum(losses) * (1.0 / len(losses)) + ALPHA * sum(p * p for p in micro.parameters())
        micro.zero_grad()
        loss.backward()
        for p in micro.parameters():
            p.data -= LR * p.grad
        return loss.data

    return step


# ---------------------------------------------------------------------- timing


def per_call_ms(fn, repeats: int) -> float:
    """The median time of one call, in milliseconds (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="also profile autograd_tiny's step")
    args = parser.parse_args()

    X, y, model, W, B = demo_setup()

    # the two versions agree before any timing
    ours, plain = engine_forward(model, X, y).data, plain_forward(W, B, X, y)
    assert abs(ours - plain) <= 1e-9 * max(1.0, abs(plain)), (ours, plain)
    ours, plain = engine_step(model, X, y), plain_step(W, B, X, y)
    assert abs(ours - plain) <= 1e-9 * max(1.0, abs(plain)), (ours, plain)

    cases = [  # (name, ours, plain, target)
        ("forward (scores + loss)", lambda: engine_forward(model, X, y), lambda: plain_forward(W, B, X, y), 4.0),
        ("training step", lambda: engine_step(model, X, y), lambda: plain_step(W, B, X, y), 2.5),
    ]
    rows = []
    for prefix, collector in [("", contextlib.nullcontext()), ("  in gc_paused(): ", gc_paused())]:
        with collector:  # as Python sets it, then the opt-in knob on both sides
            for name, ours_fn, plain_fn, target in cases:
                t_ours, t_plain, ratio = interleaved(ours_fn, plain_fn, args.repeats)
                rows.append((prefix + name, 1000 * t_ours, 1000 * t_plain, ratio, target))

    print(f"micrograd's demo step: MLP(2, [16, 16, 1]), 100 moons points, {args.repeats} alternating runs, medians")
    print(f"{'':41}{'autograd_tiny':>15}{'plain Python':>15}{'ratio':>9}{'target':>9}")
    for name, t_ours, t_plain, ratio, target in rows:
        print(f"{name:41}{t_ours:12.2f} ms{t_plain:12.2f} ms{ratio:8.2f}x{target:8.1f}x")

    micrograd_step = micrograd_version(model, X, y)
    if micrograd_step is not None:
        t_micro = per_call_ms(micrograd_step, 3)
        t_plain = per_call_ms(lambda: plain_step(W, B, X, y), args.repeats)
        print(f"{'micrograd training step':41}{t_micro:12.2f} ms{t_plain:12.2f} ms{t_micro / t_plain:8.0f}x"
              "   (pip install micrograd; median of 3)")

    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(10):
            engine_step(model, X, y)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
