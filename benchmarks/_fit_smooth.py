"""Smooth fits against scikit-learn, and the out-of-core Dask fit (``benchmarks.fit``).

- Huber: ``HuberRegressor`` estimates the coefficients and a scale ``sigma`` jointly;
  for a fixed ``sigma`` its objective in the coefficients is ``2/sigma`` times the sum
  of losskit's Huber losses with ``delta = epsilon * sigma`` (sklearn's ``H_eps(z)`` is
  ``z^2`` inside ``eps`` and ``2 eps |z| - eps^2`` outside). losskit is timed on that
  objective with scikit-learn's own ``sigma``, and the coefficients are compared.
- Logistic: ``LogisticRegression(C, lbfgs)`` minimises ``C sum logloss + ||B||^2/2``,
  which is losskit's mean BCE plus ``alpha/2 ||B||^2`` with ``alpha = 1/(C n)``; both
  objectives are evaluated by losskit at both solutions.
- Dask: a logistic fit on rows generated block by block from a seeded generator (the
  rows are never materialised), run in a subprocess whose peak resident memory is
  read from ``getrusage``; rows per second beside the in-memory fit on a subsample.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import losskit as lk

__all__ = ["FitRow", "dask_section", "format_dask", "format_rows", "huber_section",
           "logistic_section"]


@dataclass
class FitRow:
    """One problem size: losskit's median time, the anchor's, and how close they ended."""

    problem: str
    n: int
    d: int
    losskit_s: float
    anchor: str
    anchor_s: float
    objective_gap: float  # (losskit - anchor) / |anchor|, both evaluated by losskit
    coef_gap: float
    note: str = ""

    @property
    def ratio(self) -> float:
        """anchor time / losskit time: above 1 means losskit is faster."""
        return self.anchor_s / self.losskit_s


def _median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def _interleaved(first: Callable[[], Any], second: Callable[[], Any],
                 repeat: int) -> tuple[float, Any, float, Any]:
    """Both competitors once per round, alternating which goes first."""
    times_a, times_b, result_a, result_b = [], [], None, None
    for round_ in range(repeat):
        order = ((0, first), (1, second)) if round_ % 2 == 0 else ((1, second), (0, first))
        for index, fn in order:
            start = time.perf_counter()
            value = fn()
            elapsed = time.perf_counter() - start
            if index == 0:
                times_a.append(elapsed)
                result_a = value
            else:
                times_b.append(elapsed)
                result_b = value
    return float(np.median(times_a)), result_a, float(np.median(times_b)), result_b


def huber_section(sizes: Sequence[int], d: int, repeat: int, seed: int = 0) -> list[FitRow]:
    from sklearn.linear_model import HuberRegressor

    rows = []
    for n in sizes:
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n, d))
        y = X @ rng.normal(size=d) + rng.standard_t(2, size=n)
        anchor = HuberRegressor(alpha=0.0, epsilon=1.35, max_iter=10_000, tol=1e-10)
        reference = anchor.fit(X, y)  # untimed: fixes sigma for losskit's problem
        loss = lk.Huber(delta=1.35 * reference.scale_)
        lk_s, ours, sk_s, theirs = _interleaved(
            lambda loss=loss, X=X, y=y: lk.fit(X, y, loss),
            lambda anchor=anchor, X=X, y=y: anchor.fit(X, y), repeat)
        ours_value = float(loss(X @ ours.coef + ours.intercept, y))
        their_value = float(loss(X @ theirs.coef_ + theirs.intercept_, y))
        rows.append(FitRow("huber", n, d, lk_s, "sklearn HuberRegressor", sk_s,
                           (ours_value - their_value) / abs(their_value),
                           float(np.max(np.abs(ours.coef - theirs.coef_))),
                           f"solver={ours.solver}; sklearn also fits sigma"))
    return rows


def logistic_section(sizes: Sequence[int], d: int, repeat: int,
                     seed: int = 0) -> list[FitRow]:
    from sklearn.linear_model import LogisticRegression

    rows = []
    C = 1.0
    for n in sizes:
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n, d))
        y = (X @ (0.3 * rng.normal(size=d)) + rng.logistic(size=n) > 0).astype(float)
        anchor = LogisticRegression(C=C, tol=1e-8, max_iter=10_000)
        lk_s, ours, sk_s, theirs = _interleaved(
            lambda X=X, y=y, n=n: lk.fit(X, y, "binary_cross_entropy", penalty="l2",
                                         alpha=1.0 / (C * n)),
            lambda anchor=anchor, X=X, y=y: anchor.fit(X, y), repeat)
        def objective(coef: np.ndarray, intercept: float, X: np.ndarray = X,
                      y: np.ndarray = y, n: int = n, loss: lk.Loss = ours.loss) -> float:
            return float(loss(X @ coef + intercept, y)) + 0.5 / (C * n) * float(coef @ coef)

        ours_value = objective(ours.coef, ours.intercept)
        their_value = objective(theirs.coef_[0], float(theirs.intercept_[0]))
        rows.append(FitRow("logistic", n, d, lk_s, "sklearn LogisticRegression(lbfgs)", sk_s,
                           (ours_value - their_value) / abs(their_value),
                           float(np.max(np.abs(ours.coef - theirs.coef_[0]))),
                           f"solver={ours.solver}, {ours.n_iter} iterations"))
    return rows


# ------------------------------------------------------------------ Dask
_DASK_SCRIPT = r"""
import json, resource, sys, time
import numpy as np
import dask, dask.array as da
import losskit as lk

rows, features, chunk, seed = (int(v) for v in sys.argv[1:5])
truth = np.linspace(-1.0, 1.0, features)

def block(block_id):
    rng = np.random.default_rng([seed, block_id])
    size = min(chunk, rows - block_id * chunk)
    X = rng.normal(size=(size, features))
    y = (X @ truth + rng.logistic(size=size) > 0).astype(np.float64)
    return X, y

n_blocks = -(-rows // chunk)
sizes = [min(chunk, rows - i * chunk) for i in range(n_blocks)]
X = da.concatenate([da.from_delayed(dask.delayed(lambda i: block(i)[0])(i),
                                    shape=(s, features), dtype=np.float64)
                    for i, s in enumerate(sizes)])
y = da.concatenate([da.from_delayed(dask.delayed(lambda i: block(i)[1])(i),
                                    shape=(s,), dtype=np.float64)
                    for i, s in enumerate(sizes)])
with dask.config.set(scheduler="threads", num_workers=2):
    start = time.perf_counter()
    result = lk.fit(X, y, "binary_cross_entropy", penalty="l2", alpha=1e-6)
    elapsed = time.perf_counter() - start
sub_X, sub_y = block(0)
start = time.perf_counter()
local = lk.fit(sub_X, sub_y, "binary_cross_entropy", penalty="l2", alpha=1e-6)
local_elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": elapsed, "rows_per_s": rows * result.n_iter / elapsed,
                  "passes": result.n_iter, "converged": result.converged,
                  "solver": result.solver, "peak_bytes": peak,
                  "coef_error": float(np.max(np.abs(result.coef - truth))),
                  "local_rows": len(sub_y), "local_seconds": local_elapsed,
                  "local_rows_per_s": len(sub_y) * local.n_iter / local_elapsed}))
"""


def dask_section(rows: int, features: int, chunk: int, seed: int = 0) -> dict[str, Any]:
    """The out-of-core fit, in a subprocess so that its peak memory is its own."""
    completed = subprocess.run(
        [sys.executable, "-c", _DASK_SCRIPT, str(rows), str(features), str(chunk), str(seed)],
        capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"the Dask benchmark failed:\n{completed.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    report.update(rows=rows, features=features, chunk=chunk,
                  data_bytes=rows * (features + 1) * 8)
    return report


def format_rows(rows: Sequence[FitRow]) -> list[str]:
    lines = ["| problem | n | d | losskit s | anchor | anchor s | anchor/losskit "
             "| objective gap | max coef diff | note |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row.problem} | {row.n:,} | {row.d} | {row.losskit_s:.3f} | "
                     f"{row.anchor} | {row.anchor_s:.3f} | {row.ratio:.2f}x | "
                     f"{row.objective_gap:+.1e} | {row.coef_gap:.1e} | {row.note} |")
    return lines


def format_dask(report: dict[str, Any]) -> list[str]:
    gb = report["data_bytes"] / 1e9
    peak = report["peak_bytes"] / 1e9
    return [
        f"Dask logistic fit: {report['rows']:,} rows x {report['features']} features "
        f"({gb:.2f} GB as float64, generated block by block, {report['chunk']:,} rows "
        "per block, never materialised)",
        f"  {report['seconds']:.1f} s, {report['passes']} Newton iterations, "
        f"converged={report['converged']}, peak resident memory {peak:.2f} GB",
        f"  {report['rows_per_s']:,.0f} rows/s per iteration on Dask vs "
        f"{report['local_rows_per_s']:,.0f} rows/s in memory ({report['local_rows']:,} rows); "
        f"max |coef - truth| = {report['coef_error']:.1e}",
    ]
