"""The engine's costs, measured beside plain Python floats doing the same arithmetic in the same run.

    python benchmarks/bench_engine.py [--ops 100000] [--chain 1000000]

It prints:
  1. time per op of forward and backward on a 1e5-op graph, and the ratio to plain floats
     (forward: the same arithmetic on floats; backward: the same chain rule written by hand),
     each timed alternately with its baseline (see timing.py); target: forward +
     backward at most 15x plain floats; then the same inside the opt-in `gc_paused()`;
  1b. time per term of a 1e5-term `Value.sum` with its backward, beside plain floats;
  2. memory per op (tracemalloc) for each kind of op (target: at most 172 bytes for x * y and
     x * 0.999, the number included);
  3. objects tracked by the cyclic garbage collector per node, and what `gc.collect()` finds
     after a graph is dropped (it must be 0: reference counting frees everything);
  4. a 1,000,000-op chain: build and backward time, and peak memory.
If micrograd (`pip install micrograd`) is importable, its figures are printed alongside.
"""

from __future__ import annotations

import argparse
import gc
import math
import time
import tracemalloc

from timing import interleaved

from autograd_tiny import Value, gc_paused

try:  # optional, for comparison only
    from micrograd.engine import Value as MicroValue
except ImportError:  # pragma: no cover
    MicroValue = None

C = 0.999  # a constant in every step, as in real expressions


# ---------------------------------------------------------------------- 1. time per op


def chain_ours(n: int):
    """n steps of z = tanh(z * C) + x: three ops per step."""
    x = Value(0.5)
    z = x
    for _ in range(n):
        z = (z * C).tanh() + x
    return x, z


def chain_plain_forward(n: int) -> tuple[float, list[float]]:
    x = 0.5
    z = x
    ts = []
    for _ in range(n):
        t = math.tanh(z * C)
        ts.append(t)
        z = t + x
    return z, ts


def chain_plain_backward(ts: list[float]) -> float:
    """d z_n / d x by hand: z_k = tanh(C z_{k-1}) + x, z_0 = x."""
    gz, gx = 1.0, 0.0
    for t in reversed(ts):
        gx += gz  # through "+ x"
        gz = gz * (1 - t * t) * C  # through tanh, then "* C"
    return gx + gz  # z_0 is x itself


def best_of(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def timed_chain(steps: int, ts: list[float], repeats: int) -> list[tuple[str, float, float, float]]:
    """Rows (name, ours, plain, ratio) for the chain's forward, backward and the two together."""
    fwd_ours, fwd_plain, fwd_ratio = interleaved(lambda: chain_ours(steps), lambda: chain_plain_forward(steps), repeats)
    _, z = chain_ours(steps)
    bwd_ours, bwd_plain, bwd_ratio = interleaved(z.backward, lambda: chain_plain_backward(ts), repeats)
    return [("forward", fwd_ours, fwd_plain, fwd_ratio), ("backward", bwd_ours, bwd_plain, bwd_ratio),
            ("forward + backward", fwd_ours + bwd_ours, fwd_plain + bwd_plain,
             (fwd_ours + bwd_ours) / (fwd_plain + bwd_plain))]


def time_per_op(steps: int, repeats: int = 9) -> None:
    ops = 3 * steps
    _, ts = chain_plain_forward(steps)
    x, z = chain_ours(steps)
    z.backward()
    check = chain_plain_backward(ts)
    assert abs(x.grad - check) <= 1e-9 * abs(check), (x.grad, check)
    del x, z
    rows = timed_chain(steps, ts, repeats)
    with gc_paused():  # the opt-in knob: both sides timed with the collector paused
        paused = timed_chain(steps, ts, repeats)
    rows += [(("in gc_paused(): " if i == 0 else " " * 16) + name, *times) for i, (name, *times) in enumerate(paused)]
    print(f"1. time per op, {ops:,} ops (z = tanh(z * c) + x), {repeats} alternating runs, medians")
    print(f"   {'':34}{'autograd_tiny':>12}{'plain floats':>16}{'ratio':>9}")
    for name, ours, plain, ratio in rows:
        print(f"   {name:34}{ours / ops * 1e9:>9.0f} ns{plain / ops * 1e9:>13.0f} ns{ratio:>8.1f}x")
    print("   target: forward + backward at most 15x (stretch 10x). The first three rows leave the")
    print("   collector as Python sets it; the last three use the opt-in gc_paused(), on both sides.")
    print("   Backward checked against the chain rule by hand:")
    print(f"   d z/d x = {check:.6f}")


def sum_ours(xs: list) -> object:
    """Value.sum of n leaves, then backward: one node with n inputs."""
    total = Value.sum(xs)
    total.backward()
    return total


def sum_plain(xs: list[float], grads: list[float]) -> float:
    """The same on floats: the sum, and d total / d x_i = 1 added into each gradient."""
    total = sum(xs)
    for i in range(len(grads)):
        grads[i] += 1.0
    return total


def time_of_sum(n: int, repeats: int = 9) -> None:
    xs = [Value(float(i % 7)) for i in range(n)]
    floats, grads = [float(i % 7) for i in range(n)], [0.0] * n
    ours, plain, ratio = interleaved(lambda: sum_ours(xs), lambda: sum_plain(floats, grads), repeats)
    assert all(x.grad == repeats + 1 for x in xs)  # every term got 1 per backward
    print(f"1b. a sum of {n:,} terms, Value.sum(xs) and backward, {repeats} alternating runs, medians")
    print(f"   {'':34}{'autograd_tiny':>12}{'plain floats':>16}{'ratio':>9}")
    print(f"   {'forward + backward':34}{ours / n * 1e9:>9.0f} ns{plain / n * 1e9:>13.0f} ns{ratio:>8.1f}x  (per term)")


# ---------------------------------------------------------------------- 2. memory per op

KINDS = {
    "x + y": lambda z, x: z + x,
    "x * y": lambda z, x: z * x,
    "x * 0.999 (the number inside)": lambda z, x: z * C,
    "tanh(x)": lambda z, x: z.tanh(),
    "relu(x)": lambda z, x: z.relu(),
}


def bytes_per_op(value_cls, step, n: int = 20000) -> tuple[float, float | None]:
    """tracemalloc bytes held per op after building an n-op chain (every object the ops made,
    numbers in the expression included), and again after back-propagating it (None where the
    class cannot: micrograd's recursive backward fails on a chain this deep)."""
    gc.collect()
    x = value_cls(0.5)
    tracemalloc.start()
    z = x
    for _ in range(n):
        z = step(z, x)
    forward, _ = tracemalloc.get_traced_memory()
    backward = None
    if value_cls is Value:
        z.backward()
        backward, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del z
    return forward / n, None if backward is None else backward / n


def memory(n: int = 20000) -> None:
    print("\n2. memory per op (tracemalloc; target <= 172 bytes for x * y and x * 0.999)")
    head = f"   {'op':32}{'after forward':>15}{'after backward':>16}"
    if MicroValue:
        head += f"{'micrograd, forward':>20}"
    print(head)
    for name, step in KINDS.items():
        forward, backward = bytes_per_op(Value, step, n)
        row = f"   {name:32}{forward:>13.0f} B{backward:>14.0f} B"
        if MicroValue:
            has_op = not name.startswith("tanh") or hasattr(MicroValue, "tanh")
            micro = bytes_per_op(MicroValue, step, n)[0] if has_op else None
            row += f"{micro:>18.0f} B" if micro else f"{'-':>20}"
        print(row)
    # the mix of section 1: three ops per step (* 0.999, tanh, +)
    gc.collect()
    tracemalloc.start()
    x, z = chain_ours(n)
    forward, _ = tracemalloc.get_traced_memory()
    z.backward()
    backward, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"   {'tanh(z * c) + x, per op':32}{forward / (3 * n):>13.0f} B{backward / (3 * n):>14.0f} B")
    print("   (micrograd after forward only: its recursive backward cannot run a chain this deep)")
    del x, z


# ---------------------------------------------------------------------- 3. the garbage collector


def tracked_per_node(value_cls, n: int = 20000) -> float:
    gc.collect()
    before = len(gc.get_objects())
    x = value_cls(0.5)
    z = x
    for _ in range(n):
        z = z * x + x  # two op nodes per step
    after = len(gc.get_objects())
    del x, z
    gc.collect()
    return (after - before) / (2 * n)


def left_for_collector(value_cls, n: int = 20000) -> int:
    """Objects that only the cyclic collector can free after a graph is dropped."""
    gc.collect()
    gc.disable()
    try:
        x = value_cls(0.5)
        z = x
        for _ in range(n):
            z = z * x + x
        if value_cls is Value:
            z.backward()
        del x, z
        return gc.collect()
    finally:
        gc.enable()


def garbage() -> None:
    print("\n3. garbage collector")
    print(f"   {'':48}{'autograd_tiny':>15}" + (f"{'micrograd':>12}" if MicroValue else ""))
    row = f"   {'gc-tracked objects per op node':44}{tracked_per_node(Value):>15.1f}"
    if MicroValue:
        row += f"{tracked_per_node(MicroValue):>12.1f}"
    print(row)
    row = f"   {'gc.collect() after dropping a 40,000-node graph':44}{left_for_collector(Value):>15,}"
    if MicroValue:
        row += f"{left_for_collector(MicroValue):>12,}"
    print(row)


# ---------------------------------------------------------------------- 4. a million ops


def million(ops: int) -> None:
    steps = ops // 2

    def build():
        x = Value(0.5)
        z = x
        for _ in range(steps):
            z = (z + x).tanh()
        return x, z

    t0 = time.perf_counter()
    x, z = build()
    t1 = time.perf_counter()
    z.backward()
    t2 = time.perf_counter()
    finite = math.isfinite(x.grad)
    del x, z
    gc.collect()
    tracemalloc.start()
    x, z = build()
    built, _ = tracemalloc.get_traced_memory()
    z.backward()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del x, z
    print(f"\n4. a {ops:,}-op chain, z = tanh(z + x)")
    print(f"   build {t1 - t0:.2f} s, backward {t2 - t1:.2f} s, gradient finite: {finite}")
    print(f"   memory: graph {built / 2**20:.0f} MiB, peak during backward {peak / 2**20:.0f} MiB")
    if MicroValue:
        mx = MicroValue(0.5)
        mz = mx
        for _ in range(2000):
            mz = (mz + mx).relu()
        try:
            mz.backward()
            print("   micrograd: a 4,000-op chain back-propagates")
        except RecursionError:
            print("   micrograd: RecursionError on a 4,000-op chain")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=100_000, help="ops in the timed graph")
    parser.add_argument("--chain", type=int, default=1_000_000, help="ops in the long chain")
    parser.add_argument("--quick", action="store_true", help="only the timed rows and memory (for comparing commits)")
    args = parser.parse_args()
    time_per_op(args.ops // 3)
    time_of_sum(args.ops)
    memory()
    if not args.quick:
        garbage()
        million(args.chain)


if __name__ == "__main__":
    main()
