"""Sections ``huber``, ``logistic`` and ``dask`` of ``benchmarks.fit``.

- ``huber``: ``HuberRegressor`` estimates the coefficients and a scale ``sigma``
  jointly; for a fixed ``sigma`` its objective in the coefficients is ``2/sigma`` times
  the sum of losskit's Huber losses with ``delta = epsilon * sigma`` (scikit-learn's
  ``H_eps(z)`` is ``z^2`` inside ``eps`` and ``2 eps |z| - eps^2`` outside). losskit is
  timed on that objective with scikit-learn's own ``sigma`` (scikit-learn's time
  includes finding ``sigma``); the objectives are losskit's Huber loss at both fits.
- ``logistic``: ``LogisticRegression(C, lbfgs)`` minimises ``C sum logloss +
  ||B||^2/2``, which is losskit's mean BCE plus ``alpha/2 ||B||^2`` with
  ``alpha = 1/(C n)``; both objectives evaluated by losskit.
- ``dask``: a logistic fit on rows generated block by block from a seeded generator
  (never materialised), in a subprocess whose peak resident memory is read from
  ``getrusage``; rows per second beside the in-memory fit of one block.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

import losskit as lk
from benchmarks._fit_common import Config, Row, growth
from benchmarks._harness import Timing, interleaved_times

__all__ = ["dask_section", "huber_section", "logistic_section"]

#: scikit-learn's HuberRegressor default epsilon.
EPSILON = 1.35


def _time_both(row: Row, config: Config, n: int, ours: Callable[[], Any],
               theirs: Callable[[], Any]) -> tuple[Any, Any]:
    """Time losskit's fit and scikit-learn's in interleaved rounds into ``row``; return
    the last fit of each."""
    fits: dict[str, Any] = {}

    def keep(name: str, fit: Callable[[], Any]) -> Callable[[], Any]:
        def call() -> Any:
            fits[name] = fit()
            return fits[name]
        return call

    row.timings.update(interleaved_times({"losskit": keep("losskit", ours),
                                          "sklearn": keep("sklearn", theirs)},
                                         config.rounds, config.seed + n))
    return fits["losskit"], fits["sklearn"]


def huber_section(config: Config) -> tuple[list[Row], list[str]]:
    from sklearn.linear_model import HuberRegressor

    rows = []
    d = config.features
    for n in config.sizes:
        config.say(f"huber n={n:,} d={d}")
        rng = np.random.default_rng(config.seed + n)
        X = rng.normal(size=(n, d))
        y = X @ rng.normal(size=d) + rng.standard_t(2, size=n)
        anchor = HuberRegressor(alpha=0.0, epsilon=EPSILON, max_iter=10_000, tol=1e-10)
        sigma = anchor.fit(X, y).scale_  # fixes losskit's problem (untimed)
        loss = lk.get("huber", delta=EPSILON * sigma)
        row = Row("huber", f"delta={EPSILON:g} sigma", n, d)
        result, model = _time_both(row, config, n, partial(lk.fit, X, y, loss),
                                   partial(anchor.fit, X, y))
        row.objectives["losskit"] = float(loss(X @ result.coef + result.intercept, y))
        row.objectives["sklearn"] = float(loss(X @ model.coef_ + model.intercept_, y))
        row.notes["losskit"] = f"{result.solver}, {result.n_iter} it"
        rows.append(row)
    notes = ["losskit: lk.fit(X, y, Huber(delta = 1.35 sigma)) with scikit-learn's sigma; "
             "sklearn: HuberRegressor(alpha=0, epsilon=1.35, tol=1e-10), which also "
             "estimates sigma. obj: losskit's Huber loss at each fit.",
             "Growth of time with n (t ~ n^k):",
             *growth(rows, "losskit"), *growth(rows, "sklearn")]
    return rows, notes


def logistic_section(config: Config) -> tuple[list[Row], list[str]]:
    from sklearn.linear_model import LogisticRegression

    rows = []
    d = config.features
    C = 1.0
    for n in config.sizes:
        config.say(f"logistic n={n:,} d={d}")
        rng = np.random.default_rng(config.seed + n)
        X = rng.normal(size=(n, d))
        y = (X @ (0.3 * rng.normal(size=d)) + rng.logistic(size=n) > 0).astype(float)
        anchor = LogisticRegression(C=C, tol=1e-8, max_iter=10_000)
        row = Row("logistic", f"C={C:g}", n, d)
        result, model = _time_both(
            row, config, n,
            partial(lk.fit, X, y, "binary_cross_entropy", penalty="l2", alpha=1.0 / (C * n)),
            partial(anchor.fit, X, y))

        def objective(coef: np.ndarray, intercept: float, X: np.ndarray = X,
                      y: np.ndarray = y, n: int = n, loss: lk.Loss = result.loss) -> float:
            return float(loss(X @ coef + intercept, y)) + 0.5 / (C * n) * float(coef @ coef)

        row.objectives["losskit"] = objective(result.coef, result.intercept)
        row.objectives["sklearn"] = objective(model.coef_[0], float(model.intercept_[0]))
        row.notes["losskit"] = f"{result.solver}, {result.n_iter} it"
        rows.append(row)
    notes = ["losskit: lk.fit(X, y, 'binary_cross_entropy', penalty='l2', alpha=1/(C n)); "
             "sklearn: LogisticRegression(C=1, lbfgs, tol=1e-8). obj: losskit's mean BCE "
             "+ penalty at each fit.", "Growth of time with n (t ~ n^k):",
             *growth(rows, "losskit"), *growth(rows, "sklearn")]
    return rows, notes


# ------------------------------------------------------------------ Dask
_DASK_SCRIPT = r"""
import json, resource, sys, time
import numpy as np
import dask, dask.array as da
import losskit as lk

rows, features, chunk, seed = (int(v) for v in sys.argv[1:5])
truth = np.linspace(-1.0, 1.0, features)

def block(index, part):
    rng = np.random.default_rng([seed, index])
    size = min(chunk, rows - index * chunk)
    X = rng.normal(size=(size, features))
    if part == "X":
        return X
    return (X @ truth + rng.logistic(size=size) > 0).astype(np.float64)

sizes = [min(chunk, rows - i * chunk) for i in range(-(-rows // chunk))]
X = da.concatenate([da.from_delayed(dask.delayed(block)(i, "X"), shape=(s, features),
                                    dtype=np.float64) for i, s in enumerate(sizes)])
y = da.concatenate([da.from_delayed(dask.delayed(block)(i, "y"), shape=(s,),
                                    dtype=np.float64) for i, s in enumerate(sizes)])
with dask.config.set(scheduler="threads", num_workers=2):
    start = time.perf_counter()
    result = lk.fit(X, y, "binary_cross_entropy", penalty="l2", alpha=1e-6)
    elapsed = time.perf_counter() - start
X0, y0 = block(0, "X"), block(0, "y")
start = time.perf_counter()
local = lk.fit(X0, y0, "binary_cross_entropy", penalty="l2", alpha=1e-6)
local_elapsed = time.perf_counter() - start
print(json.dumps({
    "seconds": elapsed, "iterations": result.n_iter, "solver": result.solver,
    "converged": result.converged,
    "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "coef_error": float(np.max(np.abs(result.coef - truth))),
    "local_rows": len(y0), "local_seconds": local_elapsed,
    "local_iterations": local.n_iter}))
"""


def dask_section(config: Config) -> tuple[list[Row], list[str]]:
    """The out-of-core fit, in a subprocess so that its peak memory is its own."""
    rows, features, chunk = config.dask_rows, config.dask_features, config.dask_chunk
    config.say(f"dask logistic n={rows:,} d={features} (blocks of {chunk:,} rows)")
    completed = subprocess.run(
        [sys.executable, "-c", _DASK_SCRIPT, str(rows), str(features), str(chunk),
         str(config.seed)], capture_output=True, text=True, check=False)
    row = Row("dask", "logistic", rows, features)
    if completed.returncode != 0:
        row.problems["losskit"] = completed.stderr.strip().splitlines()[-1][:80]
        return [row], []
    report: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    row.timings["losskit"] = Timing((report["seconds"],))
    row.notes["losskit"] = (f"{report['solver']}, {report['iterations']} it, "
                            f"converged={report['converged']}")
    gb = rows * (features + 1) * 8 / 1e9
    peak = report["peak_bytes"] / 1e9
    rate = rows * max(report["iterations"], 1) / report["seconds"]
    local_rate = (report["local_rows"] * max(report["local_iterations"], 1)
                  / report["local_seconds"])
    notes = [
        f"Dask: {rows:,} rows x {features} features ({gb:.2f} GB as float64) generated "
        f"block by block ({chunk:,} rows per block), never materialised; threaded "
        "scheduler, 2 workers.",
        f"  peak resident memory {peak:.2f} GB; {rate:,.0f} rows/s per iteration on Dask "
        f"vs {local_rate:,.0f} rows/s in memory ({report['local_rows']:,} rows); "
        f"max |coef - truth| = {report['coef_error']:.1e}.",
    ]
    return [row], notes
