"""The handwritten digits: a minibatch step beside plain Python, an eager epoch, and `train --data digits`.

The recipe is `autograd-tiny train --data digits`'s defaults: MLP(64, [32, 10]) on the pixels
divided by 16, softmax cross-entropy + 1e-4 L2, Adam (lr 0.02 falling linearly to 0.002),
minibatches of 32 of the 1,348 training digits, 10 epochs.

1. One minibatch step (forward, loss, backward: every gradient) beside the same arithmetic in
   plain Python with a hand-derived backward pass, on the same weights and batch, measured
   alternately (see timing.py); the ratio is the median of the pairs' ratios.
2. One eager epoch: 43 such steps with Adam's update, in CPU seconds (median of --epochs-timed).
   Then one compiled epoch (`compile` of the same minibatch loss: the labels are numbers of the
   call, so it traces once per batch size), alternately with eager ones, each in a new random
   order, and the traces made after the first epoch.
3. The command itself, `autograd-tiny train --data digits --seed S` for S = 0, 1, 2, run as a user
   runs it (a fresh process, its pictures included): the time from its start to the first
   epoch whose test accuracy is >= 95% (it prints one line per epoch), and to its end.

    python benchmarks/bench_digits.py [--repeats 20] [--no-command]

Targets: eager, to 95% test accuracy (median of 3 seeds), under 30 s; one compiled epoch at
most 0.5x one eager epoch, with no retrace after the first epoch; the command with its
defaults, end to end, under 60 s.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from operator import mul

from bench_train import plain_l2, plain_weights
from timing import interleaved

from autograd_tiny import compile, data, optim
from autograd_tiny.compiler import Compiled
from autograd_tiny.losses import cross_entropy, l2
from autograd_tiny.nn import MLP

ALPHA = 1e-4  # the L2 penalty
BATCH = 32
SEEDS = (0, 1, 2)
TARGET_TO_95, TARGET_END_TO_END = 30.0, 60.0  # seconds
TARGET_COMPILED = 0.5  # one compiled epoch, at most this many eager epochs


def setup(seed: int = 0):
    """The training digits (pixels / 16), the labels and the model, as `train --data digits --seed seed` makes them."""
    X, y = data.digits(scaled=True)
    X_train, _, y_train, _ = data.train_test_split(X, y, test_fraction=0.25, seed=seed)
    return X_train, y_train, MLP(64, [32, 10], seed=seed)


# ---------------------------------------------------------------------- autograd_tiny


def engine_step(model: MLP, xb: list, yb: list) -> float:
    """Forward, loss and backward of one minibatch: every parameter gets its gradient."""
    loss = cross_entropy([model(x) for x in xb], yb) + l2(model.parameters(), ALPHA)
    model.zero_grad()
    loss.backward()
    return loss.data


def eager_epoch(model: MLP, opt: optim.Optimizer, X: list, y: list, order: list[int] | None = None) -> None:
    """One pass over the training digits in minibatches of BATCH, in `order` (default: as they
    come), updating with `opt`."""
    order = list(range(len(X))) if order is None else order
    for start in range(0, len(X), BATCH):
        batch = order[start:start + BATCH]
        engine_step(model, [X[i] for i in batch], [y[i] for i in batch])
        opt.step()


def compiled_epoch(model: MLP, opt: optim.Optimizer, X: list, y: list, step: Compiled, order: list[int]) -> None:
    """The same pass with `step`, the compiled loss of a minibatch, which adds the gradients itself."""
    for start in range(0, len(X), BATCH):
        batch = order[start:start + BATCH]
        model.zero_grad()
        step([X[i] for i in batch], [y[i] for i in batch])
        opt.step()


def shuffled(n: int, rng: random.Random) -> list[int]:
    """0 .. n-1 in a new random order: every epoch's batches hold other digits, and other labels."""
    order = list(range(n))
    rng.shuffle(order)
    return order


# ---------------------------------------------------------------------- plain Python
# W[l][j] is the weight row of neuron j of layer l, B[l][j] its bias; ReLU on the hidden layer,
# linear logits, then log-softmax. The gradients are derived by hand and kept in gW, gB.


def plain_step(W, B, xb: list, yb: list):
    """The same loss and gradients as engine_step, on floats: (loss, gW, gB)."""
    (W1, W2), (B1, B2) = W, B
    n = len(xb)
    gW = [[[0.0] * len(row) for row in Wl] for Wl in W]
    gB = [[0.0] * len(Bl) for Bl in B]
    W2T = list(zip(*W2))
    total = 0.0
    for x, label in zip(xb, yb):
        pre = [sum(map(mul, row, x)) + b for row, b in zip(W1, B1)]
        h = [v if v > 0 else 0.0 for v in pre]
        z = [sum(map(mul, row, h)) + b for row, b in zip(W2, B2)]
        top = max(z)
        exps = [math.exp(v - top) for v in z]
        s = sum(exps)
        total += top + math.log(s) - z[label]
        dz = [e / s / n for e in exps]  # d loss / d z = (softmax(z) - onehot(label)) / n
        dz[label] -= 1.0 / n
        for j, g in enumerate(dz):
            gB[1][j] += g
            gW[1][j] = [a + g * v for a, v in zip(gW[1][j], h)]
        dpre = [sum(map(mul, col, dz)) if p > 0 else 0.0 for col, p in zip(W2T, pre)]
        for j, g in enumerate(dpre):
            if g:
                gB[0][j] += g
                gW[0][j] = [a + g * v for a, v in zip(gW[0][j], x)]
    reg = plain_l2(W, B, gW, gB, ALPHA)  # L2: alpha * p², gradient 2 alpha p
    return total / n + ALPHA * reg, gW, gB


def check_agreement(model: MLP, W, B, xb, yb) -> None:
    """The two steps compute the same loss and gradients (to rounding) before anything is timed."""
    ours = engine_step(model, xb, yb)
    plain, gW, gB = plain_step(W, B, xb, yb)
    assert math.isclose(ours, plain, rel_tol=1e-9), (ours, plain)
    flat = [g for Wl, Bl in zip(gW, gB) for row, b in zip(Wl, Bl) for g in (*row, b)]  # nn's order: w..., b
    for p, g in zip(model.parameters(), flat, strict=True):
        assert math.isclose(p.grad, g, rel_tol=1e-7, abs_tol=1e-12), (p.grad, g)


# ---------------------------------------------------------------------- the command, as a user runs it


def run_command(seed: int, out: str) -> dict:
    """`autograd-tiny train --data digits --seed seed`, a fresh process: seconds to 95% test accuracy and to its end."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "autograd_tiny", "train", "--data", "digits", "--seed", str(seed),
                             "--out", out], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    to_95 = accuracy = None
    assert proc.stdout is not None
    for line in proc.stdout:  # one line per epoch, printed (and flushed) as the epoch ends
        tested = re.search(r"test accuracy ([\d.]+)%$", line.strip())
        if tested and to_95 is None and float(tested.group(1)) >= 95.0:
            to_95 = time.perf_counter() - start
        final = re.search(r"test accuracy ([\d.]+)% \(\d+ points\)", line)
        if final:
            accuracy = float(final.group(1))
    if proc.wait() != 0:
        raise SystemExit(f"train --data digits --seed {seed} failed: {proc.stderr.read() if proc.stderr else ''}")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert accuracy is not None, "the command printed no final test accuracy"
    return {"seed": seed, "to_95": to_95, "wall": wall, "cpu": cpu, "accuracy": accuracy}


# ---------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="alternating runs of the minibatch step")
    parser.add_argument("--epochs-timed", type=int, default=3, help="eager epochs timed")
    parser.add_argument("--no-command", action="store_true", help="skip the three runs of the command")
    args = parser.parse_args()

    X, y, model = setup()
    W, B = plain_weights(model)
    xb, yb = X[:BATCH], y[:BATCH]
    check_agreement(model, W, B, xb, yb)

    t_ours, t_plain, ratio = interleaved(lambda: engine_step(model, xb, yb), lambda: plain_step(W, B, xb, yb),
                                         args.repeats)
    print(f"handwritten digits: MLP(64, [32, 10]), softmax cross-entropy + L2, batches of {BATCH}")
    print(f"{'':46}{'autograd_tiny':>15}{'plain Python':>15}{'ratio':>9}")
    print(f"{'minibatch step (forward, loss, backward)':46}{1000 * t_ours:12.1f} ms{1000 * t_plain:12.1f} ms"
          f"{ratio:8.2f}x   ({args.repeats} alternating runs, medians)")

    opt = optim.Adam(model.parameters(), lr=0.02)
    times = []
    for _ in range(args.epochs_timed):
        start = time.process_time()
        eager_epoch(model, opt, X, y)
        times.append(time.process_time() - start)
    steps = -(-len(X) // BATCH)
    print(f"{'one eager epoch (' + str(steps) + ' steps with Adam)':46}{statistics.median(times):13.2f} s"
          f"{'':15}{'':9}   (CPU time, median of {args.epochs_timed})")
    # the compiled epoch, alternately with an eager one, each in a new random order of the digits
    X, y, model = setup()
    twin = setup()[2]
    step = compile(lambda xb, yb: cross_entropy([twin(x) for x in xb], yb) + l2(twin.parameters(), ALPHA))
    eager_opt, compiled_opt = optim.Adam(model.parameters(), lr=0.02), optim.Adam(twin.parameters(), lr=0.02)
    rng = random.Random(0)
    first = time.process_time()
    compiled_epoch(twin, compiled_opt, X, y, step, shuffled(len(X), rng))  # the first epoch traces
    first = time.process_time() - first
    traced = step.traces
    t_compiled, t_eager, ratio = interleaved(
        lambda: compiled_epoch(twin, compiled_opt, X, y, step, shuffled(len(X), rng)),
        lambda: eager_epoch(model, eager_opt, X, y, shuffled(len(X), rng)), args.epochs_timed)
    retraces = step.traces - traced
    print(f"{'one compiled epoch (the same, compile(step))':46}{t_compiled:13.2f} s{t_eager:13.2f} s{ratio:8.2f}x"
          f"   (eager beside it; {args.epochs_timed} alternating epochs, wall time, medians)")
    print(f"{'  its first epoch, which traces':46}{first:13.2f} s{'':15}{'':9}   ({traced} traces: batches of "
          f"{BATCH} and the last, of {len(X) % BATCH or BATCH})")
    print(f"one compiled epoch: {ratio:.2f}x one eager epoch, target at most {TARGET_COMPILED:.1f}x: "
          f"{'met' if ratio <= TARGET_COMPILED else 'NOT met'}; retraces over the {args.epochs_timed + 1} epochs "
          f"after the first: {retraces}, target 0: {'met' if retraces == 0 else 'NOT met'}")

    if args.no_command:
        return
    print()
    print("autograd-tiny train --data digits --seed S (the defaults: 10 epochs), a fresh process each, wall time")
    print(f"{'seed':>6}{'to 95% test accuracy':>24}{'end to end':>14}{'CPU':>10}{'test accuracy':>16}")
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in SEEDS:
            run = run_command(seed, os.path.join(folder, f"seed{seed}"))
            runs.append(run)
            to_95 = "never" if run["to_95"] is None else f"{run['to_95']:.1f} s"
            print(f"{seed:>6}{to_95:>24}{run['wall']:>12.1f} s{run['cpu']:>8.1f} s{run['accuracy']:>15.1f}%",
                  flush=True)
    reached = [r["to_95"] if r["to_95"] is not None else math.inf for r in runs]
    to_95, end = statistics.median(reached), statistics.median(r["wall"] for r in runs)
    accuracy = statistics.median(r["accuracy"] for r in runs)
    print(f"{'median':>6}{to_95:>22.1f} s{end:>12.1f} s{'':>10}{accuracy:>15.1f}%")
    print(f"eager, to 95% test accuracy (median of 3 seeds): {to_95:.1f} s, target under {TARGET_TO_95:.0f} s: "
          f"{'met' if to_95 < TARGET_TO_95 else 'NOT met'}")
    print(f"train --data digits with defaults, end to end: {end:.1f} s (median), target under "
          f"{TARGET_END_TO_END:.0f} s: {'met' if max(r['wall'] for r in runs) < TARGET_END_TO_END else 'NOT met'} "
          f"(slowest {max(r['wall'] for r in runs):.1f} s); final test accuracy {accuracy:.1f}% (median), "
          f"target at least 95%")


if __name__ == "__main__":
    main()
