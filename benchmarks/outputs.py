"""``gradient_hessian`` into fresh arrays and into arrays passed as ``out=``.

    python -m benchmarks.outputs [--losses huber,log_cosh] [--size N] [--repeat N]
        [--dtype float64|float32]

A call that returns new arrays pays for them: the allocation, and the operating system
zeroing every fresh page on its first write. A loop that calls ``gradient_hessian``
every step (boosting rounds, optimiser steps) can pass the same two arrays each time
(``out=``) and skip both. For each loss this times, interleaved in one process with
the machine settling between calls:

- ``lk new``: ``loss.gradient_hessian(y_pred, y_true)``;
- ``lk out=``: the same with ``out=(gradient, hessian)``, allocated once;
- ``skl new`` / ``skl out=``: scikit-learn's ``_loss`` class for the loss (where there
  is one) without and with ``gradient_out=``/``hessian_out=``, on the same threads;
- ``floor new`` / ``floor out=``: the memory floor of ``benchmarks._floor`` (read both
  inputs, write both outputs) into new or reused arrays.

It prints medians and the ratios ``lk out=`` / each other column. losskit's kernels run
on all usable cores (``lk.fast_path(parallel_min_size=0)``), as ``benchmarks.elementwise``
runs them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import losskit as lk
from benchmarks._environment import load, optional, usable_cores
from benchmarks._harness import interleaved_times

__all__ = ["main", "measure"]

COLUMNS = ("lk new", "lk out=", "skl new", "skl out=", "floor new", "floor out=")
#: scikit-learn's ``_loss`` class and its arguments for each loss; its gradients are
#: those of half the squared error, which is as much work.
SKLEARN = {"squared_error": ("HalfSquaredError", {}), "absolute_error": ("AbsoluteError", {}),
           "huber": ("HuberLoss", {"delta": 1.0})}


def _sklearn(name: str, threads: int) -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    if name not in SKLEARN or optional("sklearn") is None:
        return None
    from sklearn._loss import loss as skl_loss

    class_name, arguments = SKLEARN[name]
    instance = getattr(skl_loss, class_name)(**arguments)

    def new(p: Any, y: Any) -> Any:
        return instance.gradient_hessian(y, p, n_threads=threads)

    def into(p: Any, y: Any, g: Any, h: Any) -> Any:
        return instance.gradient_hessian(y, p, gradient_out=g, hessian_out=h,
                                         n_threads=threads)

    return new, into


def measure(losses: Sequence[str], size: int, rounds: int, dtype: str,
            seed: int = 0) -> list[tuple[str, dict[str, float]]]:
    """``[(loss, {column: median seconds})]``."""
    from benchmarks._floor import _read_write_flat

    threads = usable_cores()
    rng = np.random.default_rng(seed)
    y_true = rng.normal(size=size)
    y_pred = (y_true + rng.normal(0.0, 1.5, size)).astype(dtype)
    y_true = y_true.astype(dtype)
    gradient, hessian = np.empty_like(y_pred), np.empty_like(y_pred)
    rows = []
    for name in losses:
        loss = lk.get(name)

        def floor_new() -> Any:
            first, second = np.empty_like(y_pred), np.empty_like(y_pred)
            _read_write_flat(y_pred, y_true, first, second)
            return first, second

        def floor_out() -> Any:
            _read_write_flat(y_pred, y_true, gradient, hessian)
            return gradient, hessian

        def lk_new(loss: Any = loss) -> Any:
            with lk.fast_path(True, threads=threads, parallel_min_size=0):
                return loss.gradient_hessian(y_pred, y_true)

        def lk_out(loss: Any = loss) -> Any:
            with lk.fast_path(True, threads=threads, parallel_min_size=0):
                return loss.gradient_hessian(y_pred, y_true, out=(gradient, hessian))

        calls: dict[str, Callable[[], Any]] = {"lk new": lk_new, "lk out=": lk_out,
                                               "floor new": floor_new, "floor out=": floor_out}
        sklearn = _sklearn(name, threads)
        if sklearn is not None:
            new, into = sklearn
            calls["skl new"] = lambda new=new: new(y_pred, y_true)
            calls["skl out="] = lambda into=into: into(y_pred, y_true, gradient, hessian)
        expected = lk_new()
        for call in calls.values():
            call()  # compiles, and warms the pages of the reused arrays
        np.testing.assert_allclose(lk_out(), expected, rtol=0, atol=0)
        timings = interleaved_times(calls, rounds, seed + len(rows))
        rows.append((name, {column: t.median for column, t in timings.items()}))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.outputs",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--losses", default="squared_error,absolute_error,huber,log_cosh,"
                        "quantile", help="losses of real-valued targets (registry names)")
    parser.add_argument("--size", type=int, default=10**7)
    parser.add_argument("--repeat", type=int, default=9, help="rounds (default: 9)")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    args = parser.parse_args(argv)
    losses = [name.strip() for name in args.losses.split(",") if name.strip()]
    print(f"n = {args.size:,} {args.dtype}, {args.repeat} interleaved rounds, "
          f"{usable_cores()} threads; load average (1 min) {load()} at the start")
    rows = measure(losses, args.size, args.repeat, args.dtype)
    headings = ["loss", *(f"{c} ms" for c in COLUMNS),
                *(f"lk out= / {c}" for c in COLUMNS if c != "lk out=")]
    body = []
    for name, seconds in rows:
        mine = seconds["lk out="]
        body.append([name, *(f"{1e3 * seconds[c]:.2f}" if c in seconds else "" for c in COLUMNS),
                     *(f"{mine / seconds[c]:.2f}" if c in seconds else ""
                       for c in COLUMNS if c != "lk out=")])
    widths = [max(len(t) for t in column) for column in zip(headings, *body, strict=True)]
    for cells in (headings, ["-" * w for w in widths], *body):
        print("  ".join(t.ljust(w) if i == 0 else t.rjust(w)
                        for i, (t, w) in enumerate(zip(cells, widths, strict=True))))
    print(f"load average (1 min) {load()} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
