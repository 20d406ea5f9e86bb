"""autograd_tiny.compile on micrograd's demo, timed beside the hand-written plain-Python step.

The step: MLP(2, [16, 16, 1]) on 100 moons points, hinge loss + 1e-4 L2, zero_grad, forward,
backward, SGD update. The compiled step calls the code `compile` wrote (forward and backward on
floats) and updates the parameters as any training loop does; the plain step is
benchmarks/bench_train.py's, the same arithmetic with a hand-derived backward pass. Both run in
this process on the same weights, measured alternately (A, B, A, B, ...) so that the machine's
noise hits both; the ratio is of the medians. The forward pass (loss only) is timed the same way.

Then the cost of compiling: the first call (trace, write the code, Python's compile(), run it)
and the peak memory of a fresh process that does only that, for the demo and for larger graphs.

    python benchmarks/bench_compile.py [--repeats 40] [--no-scale]

Bars: the training step at most 0.4x the plain step (stretch 0.3x).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import textwrap
import time

from bench_train import ALPHA, LR, demo_setup, engine_step, plain_forward, plain_step

from autograd_tiny import compile
from autograd_tiny.losses import hinge, l2
from autograd_tiny.nn import MLP


def interleaved_ms(a, b, repeats: int) -> tuple[float, float]:
    """Median CPU time of one call of a and of b (ms), measured alternately after a warm-up.

    CPU time (time.process_time), not wall time: on a shared machine a long call is more often
    interrupted by other processes than a short one, which wall time would charge to it.
    """
    for _ in range(3):  # the first calls are slower while the interpreter specializes the code
        a()
        b()
    times_a, times_b = [], []
    for _ in range(repeats):
        start = time.process_time()
        a()
        times_a.append(time.process_time() - start)
        start = time.process_time()
        b()
        times_b.append(time.process_time() - start)
    return 1000 * statistics.median(times_a), 1000 * statistics.median(times_b)


# ---------------------------------------------------------------------- compile cost, in a fresh process

SCALE = {
    "micrograd's demo (100 points)": """
        X, labels = moons(100, noise=0.1, seed=0)
        y = signed_labels(labels)
        model = MLP(2, [16, 16, 1], init="uniform", seed=1337)
        fn = lambda: hinge([model(x) for x in X], y) + l2(model.parameters(), 1e-4)
    """,
    "MLP(2, [16, 16, 1]) on 1,000 points": """
        X, labels = moons(1000, noise=0.1, seed=0)
        y = signed_labels(labels)
        model = MLP(2, [16, 16, 1], seed=0)
        fn = lambda: hinge([model(x) for x in X], y) + l2(model.parameters(), 1e-4)
    """,
    "Value.sum of 100,000 Values": """
        xs = [Value(float(i % 7)) for i in range(100_000)]
        fn = lambda: Value.sum(xs)
    """,
    "Value.sum of 100,000 terms (w*x - 1)**2": """
        w = Value(0.5)
        data = [(i % 13) / 13 for i in range(100_000)]
        fn = lambda: Value.sum([(w * x - 1.0) ** 2 for x in data])
    """,
}

MEASURE = """
import resource, time


def peak_mb():  # this process's own peak (ru_maxrss would include the parent's, on Linux)
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


from autograd_tiny import Value, compile
from autograd_tiny.data import moons, signed_labels
from autograd_tiny.losses import hinge, l2
from autograd_tiny.nn import MLP
{setup}
before = peak_mb()
wall, cpu = time.perf_counter(), time.process_time()
compiled = compile(fn)
compiled()
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
peak = peak_mb()
start = time.perf_counter()
compiled()
again = time.perf_counter() - start
assert compiled.traces == 1 and compiled.fallbacks == 0
print(wall, cpu, before, peak, again, compiled.source.count(chr(10)), len(compiled.source))
"""


def compile_cost(setup: str) -> list[float]:
    code = MEASURE.format(setup=textwrap.dedent(setup))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return [float(x) for x in done.stdout.split()]


# ---------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--no-scale", action="store_true", help="skip the compile-cost section")
    args = parser.parse_args()

    X, y, model, W, B = demo_setup()
    params = model.parameters()

    def loss():
        return hinge([model(x) for x in X], y) + l2(params, ALPHA)

    step = compile(loss)
    forward = compile(loss, backward=False)

    def compiled_step() -> float:
        model.zero_grad()
        out = step()
        for p in params:
            p.data -= LR * p.grad
        return out

    # the three agree before any timing: compiled, engine, plain Python
    assert abs(forward() - plain_forward(W, B, X, y)) <= 1e-12
    twin = MLP(2, [16, 16, 1], init="uniform", seed=1337)
    ours, engine, plain = compiled_step(), engine_step(twin, X, y), plain_step(W, B, X, y)
    assert abs(ours - engine) <= 1e-12 and abs(ours - plain) <= 1e-9 * max(1.0, abs(plain)), (
        ours,
        engine,
        plain,
    )

    rows = []
    for name, a, b in [
        ("forward (loss only)", forward, lambda: plain_forward(W, B, X, y)),
        ("training step", compiled_step, lambda: plain_step(W, B, X, y)),
    ]:
        t_ours, t_plain = interleaved_ms(a, b, args.repeats)
        rows.append((name, t_ours, t_plain))
    t_engine, t_plain = interleaved_ms(lambda: engine_step(twin, X, y), lambda: plain_step(W, B, X, y), 10)

    print(f"micrograd's demo step: MLP(2, [16, 16, 1]), 100 moons points, CPU time, median of {args.repeats},"
          " interleaved")  # fmt: skip
    print(f"{'':22}{'compiled':>12}{'plain Python':>15}{'ratio':>9}")
    for name, t_ours, t_plain in rows:
        print(f"{name:22}{t_ours:9.2f} ms{t_plain:12.2f} ms{t_ours / t_plain:8.2f}x")
    print(
        f"{'(the engine, eager)':22}{t_engine:9.2f} ms{t_plain:12.2f} ms{t_engine / t_plain:8.2f}x"
        "   (median of 10)"
    )
    print("bar: training step <= 0.4x (stretch 0.3x)")

    if args.no_scale:
        return
    print()
    print("compiling: the first call (trace, write, compile(), run) in a fresh process")
    print(
        f"{'':42}{'wall':>8}{'cpu':>8}{'peak RSS':>10}{'(before)':>10}{'next call':>11}"
        f"{'lines':>7}{'source':>9}"
    )
    for name, setup in SCALE.items():
        wall, cpu, before, peak, again, lines, size = compile_cost(setup)
        print(f"{name:42}{wall:7.2f}s{cpu:7.2f}s{peak:7.0f} MB{before:7.0f} MB{1000 * again:8.1f} ms"
              f"{lines:7.0f}{size / 1000:7.0f} kB")  # fmt: skip
    print("bars: MLP on 1,000 points and a sum of 100,000 terms under 2 s and 300 MB")


if __name__ == "__main__":
    main()
