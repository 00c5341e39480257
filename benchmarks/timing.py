"""The one timer the benchmarks share: the median of repeated runs, in milliseconds."""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable


def median_ms(run: Callable[[], Any], repeat: int) -> float:
    """Run ``run`` ``repeat`` times; the median wall time in ms (medians: the machine is
    shared and noisy)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000
