"""Model fitting: losskit's solvers against scikit-learn, statsmodels and the like.

    python -m benchmarks.fit [--quick] [--sections quantile,huber,logistic,dask]
        [--sizes 20000,100000]
        [--features 50] [--quantiles 0.5,0.9] [--repeat N] [--threads N]
        [--sklearn-max N] [--statsmodels-max N] [--large N] [--seed S] [--markdown]

Each section fits one family of models on generated data and prints, per case, the
median time of every competitor over interleaved rounds, its objective relative to
losskit's (computed by losskit on each competitor's coefficients, in losskit's
convention), and the speed-up of losskit (anchor time / losskit time, above 1: losskit
faster). Sections are functions in ``SECTIONS``; each returns ``Row``s.

Sections
--------
``quantile``
    Linear quantile regression (pinball loss, intercept, no penalty), ``d`` features,
    ``y = 1 + X b + (1 + |x_1| / 2) t_3``. losskit: the exact interior-point solver
    (``losskit.linear_model._interior_point``, on ``[X, 1]``) and, for information, the
    smoothed ``conquer`` (approximate: a different, smoothed objective). Anchors:
    ``sklearn.linear_model.QuantileRegressor(alpha=0, solver="highs")`` (exact LP) and
    ``statsmodels QuantReg.fit(q)`` (iteratively reweighted least squares, its
    defaults: ``max_iter=1000``, ``p_tol=1e-6``). scikit-learn takes minutes at
    ``n = 2e4, d = 50``: it runs once (a single round, said in the table) and only up
    to ``--sklearn-max`` rows. The growth of losskit's time with ``n`` is printed as
    the exponent ``k`` of ``t ~ n^k`` between consecutive sizes.

``huber``, ``logistic``, ``dask``
    Against ``HuberRegressor`` and ``LogisticRegression(lbfgs)`` on their own
    objectives, and the out-of-core Dask fit (3e7 rows, peak memory, rows/s): see
    ``benchmarks/_fit_smooth.py`` for how each maps onto losskit's objective.

``run_benchmark`` is the importable entry point; ``format_report`` makes the text.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any

import numpy as np

import losskit as lk
from benchmarks._environment import load, optional, same_threads, usable_cores
from benchmarks._fit_common import Config, Report, Row, growth
from benchmarks._fit_smooth import dask_section, huber_section, logistic_section
from benchmarks._harness import Timing, interleaved_times

__all__ = ["SECTIONS", "Config", "Report", "Row", "format_report", "main", "run_benchmark"]

from losskit.linear_model import _conquer
from losskit.linear_model import _interior_point as _interior

QUICK_SIZES = (2_000, 20_000, 100_000)
#: Objective of an exact competitor relative to losskit's: flagged beyond this.
EXACT_RTOL = 1e-6


# ------------------------------------------------------------------ quantile
QUANTILE_COLUMNS = ["losskit", "conquer", "sklearn", "statsmodels"]


def _quantile_data(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    noise = (1.0 + 0.5 * np.abs(X[:, 0])) * rng.standard_t(3, size=n)
    return X, 1.0 + X @ rng.normal(size=d) + noise


def _time_once(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


def _quantile_competitors(X: np.ndarray, X1: np.ndarray, y: np.ndarray, q: float,
                          config: Config) -> dict[str, tuple[Callable[[], Any],
                                                             Callable[[Any], np.ndarray]]]:
    """name -> (fit, coefficients on [X, 1] from the fit's result)."""
    n = X.shape[0]
    loss = lk.get("quantile", q=q)
    found: dict[str, tuple[Callable[[], Any], Callable[[Any], np.ndarray]]] = {
        "losskit": (lambda: _interior.interior_point(X1, y, loss=loss),
                    lambda result: result.coef),
        "conquer": (lambda: _conquer.conquer(X1, y, loss=loss), lambda result: result.coef),
    }
    if optional("sklearn") is not None and n <= config.sklearn_max:
        from sklearn.linear_model import QuantileRegressor

        def sklearn_fit() -> Any:
            return QuantileRegressor(quantile=q, alpha=0.0, solver="highs").fit(X, y)

        found["sklearn"] = (sklearn_fit,
                            lambda model: np.append(model.coef_, model.intercept_))
    if optional("statsmodels") is not None and n <= config.statsmodels_max:
        from statsmodels.regression.quantile_regression import QuantReg

        def statsmodels_fit() -> Any:
            return QuantReg(y, X1).fit(q=q)

        found["statsmodels"] = (statsmodels_fit, lambda model: np.asarray(model.params))
    return found


def quantile_section(config: Config) -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    d = config.features
    for n in config.sizes:
        X, y = _quantile_data(n, d, config.seed + n)
        X1 = np.column_stack([X, np.ones(n)])
        for q in config.quantiles:
            config.say(f"quantile q={q} n={n:,} d={d}")
            row = Row("quantile", f"q={q}", n, d)
            loss = lk.get("quantile", q=q)
            competitors = _quantile_competitors(X, X1, y, q, config)
            repeatable: dict[str, Callable[[], Any]] = {}
            for name, (fit, coefficients) in competitors.items():
                slow = name in ("sklearn", "statsmodels") and (
                    n >= config.large or (name == "sklearn" and n > 5000))
                try:
                    # The warm-up run: checked, and the timing for the slow anchors.
                    result, seconds = _time_once(fit)
                    row.objectives[name] = float(loss(X1 @ coefficients(result), y))
                except Exception as error:  # a competitor's failure is reported, not fatal
                    row.problems[name] = f"raised {type(error).__name__}: {error}"[:80]
                    continue
                if name == "losskit":
                    row.notes[name] = (f"{result.n_iter} it, gap "
                                       f"{result.certificate['relative_gap']:.0e}")
                if slow or config.rounds <= 1:
                    row.timings[name] = Timing((seconds,))
                    row.notes[name] = row.notes.get(name, "") + " 1 round"
                else:
                    repeatable[name] = fit
            if repeatable:
                row.timings.update(interleaved_times(repeatable, config.rounds,
                                                     config.seed + len(rows)))
            deviation = row.relative_objective("sklearn")  # the exact anchor
            if deviation is not None and abs(deviation) > EXACT_RTOL:
                row.problems["sklearn"] = f"objective differs by {deviation:.1e}"
            rows.append(row)
    return rows, _quantile_footnotes(rows, config)


def _quantile_footnotes(rows: list[Row], config: Config) -> list[str]:
    lines = ["Growth of time with n (t ~ n^k):"]
    lines += growth(rows, "losskit") + growth(rows, "statsmodels")
    lines += [
        "losskit: exact Frisch-Newton interior point + vertex with a dual certificate "
        "(Portnoy-Koenker preprocessing when n >= 1e4 and the subsample is < 35% of n); "
        "conquer: Gaussian-smoothed pinball + L-BFGS (approximate, a different "
        "objective); sklearn: QuantileRegressor(alpha=0, solver='highs'); statsmodels: "
        "QuantReg(y, [X, 1]).fit(q) (IRLS, its defaults).",
        f"Rounds: {config.rounds} interleaved, median; '1 round': one timed run only "
        f"(scikit-learn above n = 5,000 and every slow anchor from n = {config.large:,}).",
        f"Objective: losskit's pinball loss at each competitor's coefficients, relative "
        f"to losskit's exact optimum (+: worse); an exact competitor beyond "
        f"{EXACT_RTOL:g} is flagged. '-': not run (above --sklearn-max "
        f"{config.sklearn_max:,} / --statsmodels-max {config.statsmodels_max:,}).",
    ]
    return lines


SECTIONS: dict[str, Callable[[Config], tuple[list[Row], list[str]]]] = {
    "quantile": quantile_section,
    "huber": huber_section,
    "logistic": logistic_section,
    "dask": dask_section,
}
COLUMNS: dict[str, list[str]] = {"quantile": QUANTILE_COLUMNS, "huber": ["losskit", "sklearn"],
                                 "logistic": ["losskit", "sklearn"], "dask": ["losskit"]}


# --------------------------------------------------------------------- driver
def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


def _header(threads: list[str]) -> list[str]:
    packages = ["losskit", "numpy", "scipy", "scikit-learn", "statsmodels", "threadpoolctl"]
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle
                        if line.startswith("model name")), cpu)
    except OSError:  # pragma: no cover - not Linux
        pass
    return [f"CPU: {cpu} ({usable_cores()} usable cores); {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}",
            "versions: " + ", ".join(f"{name} {_version(name)}" for name in packages),
            f"threads: {'; '.join(threads)}"]


def run_benchmark(sections: Sequence[str] = ("quantile",), config: Config | None = None,
                  threads: int | None = None) -> Report:
    """Run the sections; ``threads`` BLAS threads for every library (None: 1)."""
    config = config or Config()
    unknown = [name for name in sections if name not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown section(s) {unknown}; the sections are: "
                         f"{', '.join(SECTIONS)}")
    threads = 1 if threads is None else threads
    rows: list[Row] = []
    footnotes: dict[str, list[str]] = {}
    at_start = load()
    with same_threads(threads) as described:
        lines = _header(described)
        for name in sections:
            found, notes = SECTIONS[name](config)
            rows += found
            footnotes[name] = notes
    lines.append(f"load average (1 min): {at_start} at the start, {load()} at the end, on "
                 f"{usable_cores()} cores (a shared machine: other work competed)")
    return Report(lines, rows, {name: COLUMNS[name] for name in sections}, footnotes)


def _seconds(row: Row, name: str) -> str:
    if name in row.problems and name not in row.timings:
        return "!"
    value = row.seconds(name)
    if value is None:
        return "-"
    return f"{value:.3g}"


def _table(headings: list[str], body: list[list[str]], markdown: bool, left: int) -> list[str]:
    if markdown:
        rule = "|" + "|".join(":---" if i < left else "---:" for i in range(len(headings))) + "|"
        return ["| " + " | ".join(headings) + " |", rule,
                *("| " + " | ".join(cells) + " |" for cells in body)]
    widths = [max(len(text) for text in column) for column in zip(headings, *body, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(text.ljust(w) if i < left else text.rjust(w)
                         for i, (text, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return [line(headings), "  ".join("-" * w for w in widths), *(line(c) for c in body)]


def format_report(report: Report, *, markdown: bool = False) -> str:
    lines = [("- " if markdown else "") + text for text in report.header]
    for section, columns in report.columns.items():
        rows = [row for row in report.rows if row.section == section]
        anchors = [name for name in columns if name != "losskit"]
        title = f"{section}: median seconds per fit"
        lines += ["", f"**{title}**" if markdown else title, ""]
        headings = ["case", "n", "d", *columns,
                    *(f"x {name}" for name in anchors),
                    *(f"obj {name}" for name in anchors), "notes", "check"]
        body = []
        for row in rows:
            speedups = [row.speedup(name) for name in anchors]
            deviations = [row.relative_objective(name) for name in anchors]
            notes = "; ".join(f"{name}: {text.strip()}" for name, text in row.notes.items()
                              if text.strip())
            body.append([row.case, f"{row.n:,}", str(row.d),
                         *(_seconds(row, name) for name in columns),
                         *("" if s is None else f"{s:.3g}" for s in speedups),
                         *("" if v is None else f"{v:+.1e}" for v in deviations),
                         notes,
                         "; ".join(f"{k} {v}" for k, v in row.problems.items()) or "ok"])
        lines += _table(headings, body, markdown, left=1)
        lines += ["", "x NAME: NAME's time / losskit's time (above 1: losskit faster); "
                  "obj NAME: (NAME's objective - losskit's) / losskit's. notes: losskit's "
                  "solver and iterations (quantile: certified relative duality gap); "
                  "'1 round'."]
        lines += report.footnotes.get(section, [])
    return "\n".join(lines)


# ------------------------------------------------------------------------ CLI
def _sizes(text: str) -> tuple[int, ...]:
    return tuple(int(float(part)) for part in text.split(",") if part.strip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fit",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"n = {', '.join(f'{n:,}' for n in QUICK_SIZES)}; "
                             "scikit-learn up to 2,000 rows (under a minute)")
    parser.add_argument("--sections", default="quantile,huber,logistic,dask",
                        help=f"comma-separated, of: {', '.join(SECTIONS)}")
    parser.add_argument("--sizes", help="comma-separated n (1e5 works)")
    parser.add_argument("--features", type=int, default=50, help="d (default 50)")
    parser.add_argument("--quantiles", default="0.5,0.9")
    parser.add_argument("--repeat", type=int, help="rounds (default 3)")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads for everyone (default 1: scikit-learn's HiGHS and "
                             "statsmodels' IRLS are single-threaded, and spinning BLAS "
                             "threads on a busy machine made statsmodels' small solves "
                             "100x slower)")
    parser.add_argument("--sklearn-max", type=lambda s: int(float(s)),
                        help="largest n given to scikit-learn (default 2e4; --quick 2e3)")
    parser.add_argument("--statsmodels-max", type=lambda s: int(float(s)),
                        help="largest n given to statsmodels (default 1e5)")
    parser.add_argument("--large", type=lambda s: int(float(s)),
                        help="from this n the slow anchors run once (default 1e5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    config = Config(seed=args.seed, features=args.features)
    if args.quick:
        config.sizes, config.sklearn_max = QUICK_SIZES, 2_000
        config.dask_rows = 2_000_000
    if args.sizes:
        config.sizes = _sizes(args.sizes)
    config.quantiles = tuple(float(q) for q in args.quantiles.split(","))
    if args.repeat:
        config.rounds = args.repeat
    if args.sklearn_max is not None:
        config.sklearn_max = args.sklearn_max
    if args.statsmodels_max is not None:
        config.statsmodels_max = args.statsmodels_max
    if args.large is not None:
        config.large = args.large
    sections = [name.strip() for name in args.sections.split(",") if name.strip()]
    if any(name not in SECTIONS for name in sections):
        parser.error(f"--sections must name some of: {', '.join(SECTIONS)}")
    if any(not 0 < q < 1 for q in config.quantiles):
        parser.error("--quantiles must lie in (0, 1)")

    def progress(text: str) -> None:
        print(f"  fitting {text} ...", file=sys.stderr, flush=True)

    config.progress = progress
    report = run_benchmark(sections, config, args.threads)
    print(format_report(report, markdown=args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
