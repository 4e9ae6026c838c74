"""Shared timing helper for the benchmark scripts (imported from the scripts' folder)."""
from __future__ import annotations

import statistics
import time


def median_seconds(fn, repeat: int) -> float:
    """Median wall time of ``repeat`` calls of ``fn``, after one untimed warm-up call
    (graph tracing, caches, thread pools)."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)
