"""Timing and checking machinery shared by the benchmarks.

- ``Impl``: one competitor's way of computing one operation: ``prepare`` turns the NumPy
  inputs into its own (untimed: ``torch.from_numpy``, ``jnp.asarray``, a float copy of
  the labels), ``run`` is what is timed, ``to_losskit`` maps its result into losskit's
  conventions for the check (untimed: scikit-learn's ½ factors, deviance constants).
- ``deviation``: how far a result is from losskit's reference value.
- ``interleaved_times``: every competitor once per round, in a fresh random order each
  round, so that a burst of load from elsewhere on the machine hits all of them alike.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Impl", "Timing", "deviation", "interleaved_times", "numpy_args", "to_numpy"]


def numpy_args(inputs: Any) -> tuple[Any, ...]:
    return inputs.y_pred, inputs.y_true


def _unchanged(result: Any, inputs: Any) -> Any:
    return result


@dataclass(frozen=True)
class Impl:
    """How one competitor computes one operation of one case."""

    run: Callable[..., Any]
    prepare: Callable[[Any], tuple[Any, ...]] = numpy_args
    to_losskit: Callable[[Any, Any], Any] = _unchanged
    note: str = ""


def to_numpy(result: Any) -> Any:
    """A result (scalar, array, tensor, or a tuple of them) as float64 NumPy values."""
    if isinstance(result, tuple):
        return tuple(to_numpy(part) for part in result)
    if hasattr(result, "detach"):  # torch
        result = result.detach().cpu().numpy()
    return np.asarray(result, dtype=np.float64)


def deviation(result: Any, truth: Any) -> float:
    """Largest normwise relative difference, ``max |r - t| / max |t|``, over the parts.

    Normwise rather than elementwise: a naive ``sigmoid(z) - y`` loses the relative
    accuracy of a gradient near 0 that losskit keeps, without being a wrong computation.
    A shape mismatch or a non-finite difference counts as infinitely far.
    """
    results = result if isinstance(result, tuple) else (result,)
    truths = truth if isinstance(truth, tuple) else (truth,)
    if len(results) != len(truths):
        return float("inf")
    worst = 0.0
    for r, t in zip(results, truths, strict=True):
        r, t = np.asarray(r, dtype=np.float64), np.asarray(t, dtype=np.float64)
        if r.shape != t.shape:
            return float("inf")
        scale = float(np.max(np.abs(t))) if t.size else 0.0
        difference = float(np.max(np.abs(r - t))) if t.size else 0.0
        if not np.isfinite(difference):
            return float("inf")
        worst = max(worst, difference / scale if scale > 0 else difference)
    return worst


@dataclass(frozen=True)
class Timing:
    """Seconds per call over the rounds of one competitor."""

    times: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def spread(self) -> float | None:
        """Half the interquartile range over the median (None for fewer than 4 rounds)."""
        if len(self.times) < 4:
            return None
        q1, _, q3 = statistics.quantiles(self.times, n=4)
        return 0.5 * (q3 - q1) / self.median


#: Seconds to wait after each timed call, off the clock: thread pools that spin after
#: their work (XLA's, OpenMP's under an active wait policy) go idle before the next
#: competitor starts. Without it losskit's two-thread squared-error mean measured 5.8 ms
#: in the interleaved run and 2.5 ms alone (10^7 float64).
SETTLE = 0.005


def interleaved_times(callables: dict[str, Callable[[], Any]], rounds: int,
                      seed: int = 0) -> dict[str, Timing]:
    """Time each callable once per round, in a shuffled order each round.

    The garbage collector is off while timing (as ``timeit`` does) and a result is
    freed after its clock stops, so releasing large outputs is not counted; then the
    machine settles for ``SETTLE`` seconds.
    """
    order = list(callables)
    shuffle = random.Random(seed).shuffle
    times: dict[str, list[float]] = {name: [] for name in callables}
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            shuffle(order)
            for name in order:
                call = callables[name]
                start = time.perf_counter()
                result = call()
                elapsed = time.perf_counter() - start
                del result
                times[name].append(elapsed)
                time.sleep(SETTLE)
    finally:
        if enabled:
            gc.enable()
    return {name: Timing(tuple(values)) for name, values in times.items()}
