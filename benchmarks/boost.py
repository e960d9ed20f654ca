"""Gradient boosting: losskit objectives against XGBoost's and LightGBM's built-ins.

    python -m benchmarks.boost [--quick] [--libraries xgboost,lightgbm]
        [--losses squared_error,logistic] [--size N] [--features D] [--rounds R]
        [--repeat K] [--threads T] [--markdown]

For each library and loss it trains three models on the same data with the same
hyperparameters and prints the median training time of each over interleaved repeats,
and the ratios to the built-in objective:

- ``built-in``: the library's own objective (``reg:squarederror`` / ``regression``,
  ``binary:logistic`` / ``binary``);
- ``losskit``: ``lk.xgboost.objective(loss)`` / ``lk.lightgbm.objective(loss)`` with
  ``squared_error`` (``e^2``; ``lambda`` and ``min_child_weight`` doubled so that the
  model is the built-in one) or ``binary_cross_entropy`` (logit link), with its starting
  score (``base_score``; ``init_score`` and ``keep_init_score``);
- ``numpy``: the naive custom objective users write (``p - y, ones``; ``sigmoid(z) - y,
  p (1 - p)`` in NumPy).

Before timing, each custom objective is checked to train the built-in model: the
``max |diff|`` columns are the largest absolute differences of raw predictions from the
built-in's after ``--check-rounds`` rounds. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np

import losskit as lk
from benchmarks._environment import load, openmp_line, usable_cores
from benchmarks._harness import Timing

__all__ = ["LIBRARIES", "LOSSES", "Row", "format_report", "main", "run_benchmark"]

LIBRARIES = ("xgboost", "lightgbm")
LOSSES = ("squared_error", "logistic")
COMPETITORS = ("built-in", "losskit", "numpy")
FULL = {"size": 500_000, "features": 20, "rounds": 100, "repeat": 5}
QUICK = {"size": 200_000, "features": 20, "rounds": 30, "repeat": 3}


@dataclass
class Row:
    library: str
    loss: str
    timings: dict[str, Timing] = field(default_factory=dict)
    cpu: dict[str, Timing] = field(default_factory=dict)  # process CPU seconds
    differences: dict[str, float] = field(default_factory=dict)

    def ratio(self, name: str, *, cpu: bool = False) -> float | None:
        timings = self.cpu if cpu else self.timings
        theirs, builtin = timings.get(name), timings.get("built-in")
        if theirs is None or builtin is None:
            return None
        return theirs.median / builtin.median


def interleaved_wall_and_cpu(callables: dict[str, Callable[[], Any]], rounds: int,
                             seed: int) -> tuple[dict[str, Timing], dict[str, Timing]]:
    """As ``_harness.interleaved_times``, also recording the process's CPU seconds.

    CPU time is less disturbed by other processes than wall time is (a descheduled
    process does not accumulate it), but it counts the threads' spin-waiting: compare
    it across competitors at ``--threads 1``.
    """
    order = list(callables)
    shuffle = random.Random(seed).shuffle
    wall: dict[str, list[float]] = {name: [] for name in callables}
    cpu: dict[str, list[float]] = {name: [] for name in callables}
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            shuffle(order)
            for name in order:
                start, start_cpu = time.perf_counter(), time.process_time()
                result = callables[name]()
                wall[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
                del result
    finally:
        if enabled:
            gc.enable()
    return ({name: Timing(tuple(v)) for name, v in wall.items()},
            {name: Timing(tuple(v)) for name, v in cpu.items()})


# ----------------------------------------------------------------------- data
def make_data(size: int, features: int, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(size, features)).astype(np.float32)
    signal = X[:, 0] + 0.5 * X[:, 1] ** 2 - X[:, 2] * X[:, 3]
    targets = {
        "squared_error": (signal + rng.normal(size=size)).astype(np.float32),
        "logistic": (rng.random(size) < 1.0 / (1.0 + np.exp(-signal))).astype(np.float32),
    }
    return X, targets


# -------------------------------------------------------------- naive objectives
def _naive_squared(predt: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return predt - labels, np.ones_like(predt)


def _naive_logistic(predt: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = 1.0 / (1.0 + np.exp(-predt))
    return p - labels, p * (1.0 - p)


NAIVE = {"squared_error": _naive_squared, "logistic": _naive_logistic}
LOSSKIT = {"squared_error": "squared_error", "logistic": "binary_cross_entropy"}


# ------------------------------------------------------------------ XGBoost
def _xgboost_fits(loss: str, X: np.ndarray, y: np.ndarray, rounds: int,
                  threads: int) -> dict[str, Callable[[int], np.ndarray]]:
    import xgboost as xgb

    train = xgb.DMatrix(X, label=y, nthread=threads)
    objective = lk.xgboost.objective(LOSSKIT[loss])
    common = {"nthread": threads, "max_depth": 6, "tree_method": "hist", "verbosity": 0}
    if loss == "squared_error":
        builtin = {"objective": "reg:squarederror", "base_score": objective.base_score(y)}
        # e^2: gradient and Hessian twice reg:squarederror's; same model with doubled
        # lambda and min_child_weight. The naive objective is ½e^2 itself.
        ours = {"base_score": objective.base_score(y), "reg_lambda": 2.0,
                "min_child_weight": 2.0}
        naive_params = {"base_score": objective.base_score(y)}
    else:
        builtin = {"objective": "binary:logistic",
                   "base_score": objective.base_score(y, space="natural")}
        ours = naive_params = {"base_score": objective.base_score(y)}
    naive = NAIVE[loss]

    def naive_objective(predt: np.ndarray, dtrain: Any) -> tuple[np.ndarray, np.ndarray]:
        return naive(predt, dtrain.get_label())

    def fit(params: dict[str, Any], obj: Any, n_rounds: int) -> np.ndarray:
        booster = xgb.train({**common, **params}, train, n_rounds, obj=obj)
        return booster.predict(train, output_margin=True)

    return {"built-in": functools.partial(fit, builtin, None),
            "losskit": functools.partial(fit, ours, objective),
            "numpy": functools.partial(fit, naive_params, naive_objective)}


# ----------------------------------------------------------------- LightGBM
def _lightgbm_fits(loss: str, X: np.ndarray, y: np.ndarray, rounds: int,
                   threads: int) -> dict[str, Callable[[int], np.ndarray]]:
    import lightgbm as lgb

    objective = lk.lightgbm.objective(LOSSKIT[loss])
    start = objective.init_score(y)
    common = {"num_threads": threads, "num_leaves": 63, "verbose": -1,
              "deterministic": True, "force_row_wise": True}
    # Datasets are binned once, outside the timing: the built-in starts from
    # boost_from_average, the custom objectives from init_score.
    plain = lgb.Dataset(X, label=y, params=common, free_raw_data=False).construct()
    started = lgb.Dataset(X, label=y, init_score=start, params=common,
                          free_raw_data=False).construct()
    name = "regression" if loss == "squared_error" else "binary"
    ours: dict[str, Any] = {"objective": objective}
    if loss == "squared_error":
        ours["min_sum_hessian_in_leaf"] = 2e-3  # e^2: Hessian 2, twice LightGBM's
    naive = NAIVE[loss]

    def naive_objective(preds: np.ndarray, data: Any) -> tuple[np.ndarray, np.ndarray]:
        return naive(preds, data.get_label())

    def fit(params: dict[str, Any], data: Any, callbacks: list[Any],
            n_rounds: int) -> np.ndarray:
        booster = lgb.train({**common, **params}, data, n_rounds, callbacks=callbacks)
        return booster.predict(X, raw_score=True)

    def fit_naive(n_rounds: int) -> np.ndarray:
        # No keep_init_score for the naive objective: add the start back for the check.
        return fit({"objective": naive_objective}, started, [], n_rounds) + start

    return {"built-in": functools.partial(fit, {"objective": name}, plain, []),
            "losskit": functools.partial(fit, ours, started, [objective.keep_init_score]),
            "numpy": fit_naive}


FITS = {"xgboost": _xgboost_fits, "lightgbm": _lightgbm_fits}


# -------------------------------------------------------------------- runner
def run_benchmark(*, libraries: Sequence[str] = LIBRARIES,
                  losses: Sequence[str] = ("squared_error",), size: int = FULL["size"],
                  features: int = FULL["features"], rounds: int = FULL["rounds"],
                  repeat: int = FULL["repeat"], threads: int | None = None,
                  check_rounds: int = 10, seed: int = 0,
                  progress: Callable[[str], None] | None = None) -> tuple[list[str], list[Row]]:
    """Time every library x loss; returns the header lines and the rows."""
    threads = usable_cores() if threads is None else threads
    for library in libraries:
        if library not in LIBRARIES:
            raise ValueError(f"unknown library {library!r}; choose from {list(LIBRARIES)}")
    for loss in losses:
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose from {list(LOSSES)}")
    if threads < 1 or size < 100 or rounds < 1 or repeat < 1:
        raise ValueError("threads, rounds and repeat must be >= 1 and size >= 100")
    start_load = load()
    X, targets = make_data(size, features, seed)
    rows = []
    for library in libraries:
        for loss in losses:
            if progress is not None:
                progress(f"{library} {loss}")
            fits = FITS[library](loss, X, targets[loss], rounds, threads)
            row = Row(library, loss)
            reference = fits["built-in"](check_rounds)
            for name in ("losskit", "numpy"):
                row.differences[name] = float(np.max(np.abs(fits[name](check_rounds)
                                                            - reference)))
            callables = {name: functools.partial(fit, rounds) for name, fit in fits.items()}
            row.timings, row.cpu = interleaved_wall_and_cpu(callables, repeat, seed)
            rows.append(row)
    versions = ", ".join(f"{name} {_version(name)}"
                         for name in ("losskit", "numpy", "numba", "xgboost", "lightgbm"))
    header = [
        f"CPU: {platform.processor() or platform.machine()} ({usable_cores()} usable cores); "
        f"Python {platform.python_version()}; {versions}",
        f"data: n = {size:,}, d = {features}, float32; {rounds} rounds; max_depth 6 "
        f"(XGBoost hist), num_leaves 63 (LightGBM); {threads} threads for the libraries; "
        "losskit's kernels on 1 thread inside the objective",
        f"method: {repeat} interleaved repeats in shuffled order (seed {seed}), medians; "
        f"{openmp_line()}",
        f"load average (1 min): {start_load} at the start, {load()} at the end, on "
        f"{usable_cores()} cores",
    ]
    return header, rows


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


def format_report(header: list[str], rows: list[Row], *, markdown: bool = False) -> str:
    headings = ["library", "loss", "built-in s", "losskit s", "numpy s",
                "losskit / built-in", "numpy / built-in", "±", "CPU: losskit / built-in",
                "CPU: numpy / built-in", "max |diff| losskit", "max |diff| numpy"]
    body = []
    for row in rows:
        spreads = [t.spread for t in row.timings.values() if t.spread is not None]
        body.append([
            row.library, row.loss,
            *(f"{row.timings[name].median:.2f}" for name in COMPETITORS),
            *(f"{row.ratio(name):.3f}" for name in ("losskit", "numpy")),
            f"{100 * max(spreads):.0f}%" if spreads else "",
            *(f"{row.ratio(name, cpu=True):.3f}" for name in ("losskit", "numpy")),
            f"{row.differences['losskit']:.1e}", f"{row.differences['numpy']:.1e}",
        ])
    lines = [("- " if markdown else "") + text for text in header]
    lines.append("")
    if markdown:
        lines += ["| " + " | ".join(headings) + " |",
                  "|" + "|".join(":---" if i < 2 else "---:" for i in range(len(headings)))
                  + "|", *("| " + " | ".join(cells) + " |" for cells in body)]
    else:
        widths = [max(len(text) for text in column)
                  for column in zip(headings, *body, strict=True)]
        lines += ["  ".join(text.ljust(w) if i < 2 else text.rjust(w)
                            for i, (text, w) in enumerate(zip(cells, widths, strict=True)))
                  for cells in [headings, ["-" * w for w in widths], *body]]
    lines += ["", "Median wall-clock training seconds over the repeats; ratios below 1: faster "
              "than the built-in objective. ±: the largest half-interquartile range of the "
              "wall times over a median (needs 4+ repeats). CPU: the same ratio of median "
              "process CPU seconds (robust to other processes at --threads 1; counts spinning "
              "threads otherwise). max |diff|: raw predictions against the built-in model "
              "after the check rounds (float32 margins for XGBoost, float64 for LightGBM)."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.boost",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"n = {QUICK['size']:,}, {QUICK['rounds']} rounds")
    parser.add_argument("--libraries", default=",".join(LIBRARIES))
    parser.add_argument("--losses", default="squared_error",
                        help=f"comma-separated, from {','.join(LOSSES)}")
    parser.add_argument("--size", type=int)
    parser.add_argument("--features", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--repeat", type=int)
    parser.add_argument("--check-rounds", type=int, default=10)
    parser.add_argument("--threads", type=int, help="default: the usable cores")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else FULL
    available = [name for name in args.libraries.split(",")
                 if _version(name) != "missing" or name not in LIBRARIES]

    def progress(text: str) -> None:
        print(f"  timing {text} ...", file=sys.stderr, flush=True)

    try:
        header, rows = run_benchmark(
            libraries=available, losses=args.losses.split(","),
            size=args.size or preset["size"], features=args.features or preset["features"],
            rounds=args.rounds or preset["rounds"], repeat=args.repeat or preset["repeat"],
            threads=args.threads, check_rounds=args.check_rounds, seed=args.seed,
            progress=progress)
    except ValueError as error:
        parser.error(str(error))
    print(format_report(header, rows, markdown=args.markdown))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
