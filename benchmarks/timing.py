"""Timing beside a baseline on a shared, noisy machine: run the two alternately, A B A B ...

Both sides then see the same slow and fast moments, and the median of the per-pair ratios
is steadier than the ratio of two medians taken at different times.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def interleaved(ours: Callable[[], object], baseline: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """(median seconds of ours, median seconds of the baseline, median of ours / baseline)."""
    ours()
    baseline()  # warm up both
    t_ours, t_base, ratios = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        ours()
        middle = time.perf_counter()
        baseline()
        end = time.perf_counter()
        t_ours.append(middle - start)
        t_base.append(end - middle)
        ratios.append((middle - start) / (end - middle))
    return statistics.median(t_ours), statistics.median(t_base), statistics.median(ratios)
