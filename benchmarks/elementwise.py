"""Elementwise losses: losskit against its reference path, NumPy, PyTorch, JAX, scikit-learn.

    python -m benchmarks.elementwise [--quick] [--dtype float64|float32|both]
        [--losses a,b] [--ops a,b] [--repeat N] [--size N] [--threads N] [--markdown]

For every loss and operation (the mean ``value``, ``gradient_hessian``,
``loss_gradient``) it prints the median time of each competitor over interleaved
rounds, the memory floor measured on the same arrays, and the ratios of losskit's time
to each of them. Every competitor's result is first checked against losskit's reference
path (in float64, on the same inputs); one that disagrees is not timed, and the
``check`` column says why. See ``benchmarks/README.md`` for how to read the output.

``run_benchmark`` is the importable entry point (``tests/test_benchmarks.py`` runs it
on a tiny size); ``format_report`` turns its result into text or Markdown tables.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import losskit as lk
from benchmarks._cases import CASES, OPS, Case, Inputs
from benchmarks._environment import (
    cache_note,
    header,
    load,
    openmp_line,
    optional,
    same_threads,
    usable_cores,
)
from benchmarks._floor import floor_impl
from benchmarks._harness import Impl, Timing, deviation, interleaved_times, to_numpy
from losskit._config import settings

__all__ = ["COMPETITORS", "Report", "Row", "format_report", "main", "run_benchmark"]

#: Competitors in table order; "floor" is the memory floor of the operation.
COMPETITORS = ("losskit", "reference", "numpy", "torch", "jax", "sklearn.metrics",
               "sklearn._loss")
ANCHORS = (*COMPETITORS[1:], "floor")
HEADINGS = {"losskit": "losskit", "reference": "lk ref", "numpy": "numpy", "torch": "torch",
            "jax": "jax", "sklearn.metrics": "skl.metrics", "sklearn._loss": "skl._loss",
            "floor": "floor"}
FULL_SIZE = 10**7
QUICK_SIZE = 10**6
#: Agreement with losskit's float64 reference value: normwise relative (see deviation).
TOLERANCE = {"float64": 1e-6, "float32": 1e-4}


@dataclass
class Row:
    """One loss x operation x dtype: median seconds per competitor, and the checks."""

    case: str
    op: str
    dtype: str
    path: str  # which losskit path the "losskit" column ran: "fast" or "reference (why)"
    timings: dict[str, Timing] = field(default_factory=dict)  # competitors that ran
    problems: dict[str, str] = field(default_factory=dict)  # competitor -> why not timed
    deviations: dict[str, float] = field(default_factory=dict)  # competitor -> vs reference
    notes: dict[str, str] = field(default_factory=dict)  # competitor -> what it calls
    floor_bytes: int = 0  # bytes the floor reads and writes

    def floor_bandwidth(self) -> float | None:
        """The floor's bytes per second: far below the machine's, a busy machine."""
        seconds = self.seconds("floor")
        return self.floor_bytes / seconds if seconds else None

    def seconds(self, name: str) -> float | None:
        timing = self.timings.get(name)
        return None if timing is None else timing.median

    def ratio(self, anchor: str) -> float | None:
        """losskit's median time over ``anchor``'s (below 1: losskit is faster)."""
        mine, theirs = self.seconds("losskit"), self.seconds(anchor)
        if mine is None or not theirs:
            return None
        return mine / theirs


@dataclass
class Report:
    header: list[str]
    rows: list[Row]
    sizes: dict[str, str]  # dtype -> "n = ..." line


# ------------------------------------------------------------------ competitors
def _losskit_impls(case: Case, fast: bool) -> dict[str, Impl]:
    def call(op: str) -> Callable[[Any, Any], Any]:
        def run(p: Any, y: Any) -> Any:
            with lk.fast_path(fast):
                return case.run(op, p, y)

        return run

    note = "fast path on" if fast else "fast path off"
    return {op: Impl(call(op), note=note) for op in OPS}


def _numpy_impls(case: Case) -> dict[str, Impl]:
    return {op: Impl(getattr(case.numpy, op), note="naive expression") for op in OPS}


def _competitor_impls(case: Case, threads: int) -> dict[str, dict[str, Impl]]:
    found = {"losskit": _losskit_impls(case, True), "reference": _losskit_impls(case, False),
             "numpy": _numpy_impls(case)}
    if optional("torch") is not None:
        from benchmarks import _torch

        found["torch"] = _torch.impls(case)
    if optional("jax") is not None:
        from benchmarks import _jax

        found["jax"] = _jax.impls(case)
    if optional("sklearn") is not None:
        from benchmarks import _sklearn

        found["sklearn.metrics"] = _sklearn.metric_impls(case)
        found["sklearn._loss"] = _sklearn.loss_impls(case, threads)
    return found


_DISPATCH_OPS = {"value": "mean", "gradient_hessian": "gradient_hessian",
                 "loss_gradient": "loss_gradient"}


def _losskit_path(case: Case, op: str, inputs: Inputs) -> str:
    """Which path ``losskit`` (fast path on) takes for these inputs, by asking dispatch."""
    try:
        from losskit._fast import dispatch, kernels_for
    except ImportError:
        return "reference (no fast path)"
    with lk.fast_path(True):
        if inputs.y_pred.size < settings.fast_min_size:
            return "reference (n < fast_min_size)"
        try:
            if kernels_for(case.loss) is None:
                return "reference (no kernel)"
            served = dispatch(case.loss, _DISPATCH_OPS[op], inputs.y_pred, inputs.y_true, None)
        except Exception:  # the losskit column reports the error itself
            return "fast (raised)"
    return "fast" if served is not None else "reference (kernel declined)"


def _short(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".splitlines()[0]
    return text if len(text) <= 80 else text[:77] + "..."


def _measure(case: Case, op: str, dtype: str, inputs: Inputs, inputs64: Inputs,
             impls: dict[str, dict[str, Impl]], rounds: int, seed: int) -> Row:
    with lk.fast_path(False):
        truth = to_numpy(case.run(op, inputs64.y_pred, inputs64.y_true))
    row = Row(case.name, op, dtype, _losskit_path(case, op, inputs))
    outputs = truth if isinstance(truth, tuple) else ()
    itemsize = np.dtype(dtype).itemsize
    row.floor_bytes = inputs.nbytes + sum(part.size for part in outputs) * itemsize
    callables: dict[str, Callable[[], Any]] = {}
    for name in COMPETITORS:
        impl = impls.get(name, {}).get(op)
        if impl is None:
            continue
        row.notes[name] = impl.note
        try:
            args = impl.prepare(inputs)
            result = impl.run(*args)  # the warm-up: compiles, and is checked
            row.deviations[name] = deviation(impl.to_losskit(to_numpy(result), inputs64), truth)
        except Exception as error:  # a competitor's failure is reported, not fatal
            row.problems[name] = f"raised {_short(error)}"
            continue
        if not row.deviations[name] <= TOLERANCE[dtype]:
            row.problems[name] = (f"differs from losskit's reference by "
                                  f"{row.deviations[name]:.1e}")
            continue
        callables[name] = functools.partial(impl.run, *args)
    floor = floor_impl(op, case.classes > 0)
    args = floor.prepare(inputs)
    floor.run(*args)  # compiles the floor kernel for these dtypes
    callables["floor"] = functools.partial(floor.run, *args)
    row.notes["floor"] = floor.note
    row.timings = interleaved_times(callables, rounds, seed)
    return row


def _select(names: Sequence[str] | None) -> list[Case]:
    if not names:
        return list(CASES)
    chosen = []
    for name in names:
        key = name.strip()
        canonical = key
        with contextlib.suppress(ValueError):
            canonical = lk.get(key).name
        matches = [case for case in CASES
                   if key == case.name or canonical == case.name or canonical in case.aliases]
        if not matches:
            known = ", ".join(case.name for case in CASES)
            raise ValueError(f"unknown benchmark case {name!r}; the cases are: {known}")
        chosen += [case for case in matches if case not in chosen]
    return chosen


def _validate(losses: Sequence[str] | None, ops: Sequence[str], dtypes: Sequence[str],
              threads: int | None) -> tuple[list[Case], int]:
    """The selected cases and the thread count; ValueError for a bad argument."""
    cases = _select(losses)
    for op in ops:
        if op not in OPS:
            raise ValueError(f"unknown operation {op!r}; the operations are: {', '.join(OPS)}")
    for dtype in dtypes:
        if dtype not in TOLERANCE:
            raise ValueError(f"dtype must be float64 or float32; got {dtype!r}")
    if threads is None:
        threads = usable_cores()
    if threads < 1:
        raise ValueError(f"threads must be >= 1; got {threads}")
    return cases, threads


def run_benchmark(*, losses: Sequence[str] | None = None, size: int = FULL_SIZE,
                  dtypes: Sequence[str] = ("float64",), ops: Sequence[str] = OPS,
                  rounds: int = 7, threads: int | None = None, seed: int = 0,
                  progress: Callable[[str], None] | None = None) -> Report:
    """Time every selected case x op x dtype; ``size`` elements per ``y_pred``.

    ``losses`` holds case names (``bce_logit``) or loss names and aliases (``focal``,
    ``binary_cross_entropy`` selects both of its cases); None: every case. A
    multiclass case has ``size / K`` rows of ``K`` classes. ``threads``: for every
    library (None: the usable cores).
    """
    cases, threads = _validate(losses, ops, dtypes, threads)
    rows: list[Row] = []
    load_at_start, openmp = load(), openmp_line()
    with same_threads(threads) as described:
        lines = header(cases, described, openmp, rounds, seed)
        for case in cases:
            impls = _competitor_impls(case, threads)
            for dtype in dtypes:
                inputs = case.inputs(size, np.dtype(dtype), seed)
                inputs64 = inputs.astype(np.float64)
                for op in ops:
                    if progress is not None:
                        progress(f"{case.name} {op} {dtype}")
                    if not rows:
                        # The first row of a run measured up to 1.6 times slower than
                        # the same row later in it (the machine warming up to the run:
                        # fresh pages, idle thread pools): it is measured twice and the
                        # first result dropped.
                        _measure(case, op, dtype, inputs, inputs64, impls, rounds, seed)
                    # A new order of competitors for each row: no fixed neighbours.
                    rows.append(_measure(case, op, dtype, inputs, inputs64, impls, rounds,
                                         seed + len(rows)))
    lines.append(f"load average (1 min): {load_at_start} at the start, {load()} at the end, "
                 f"on {usable_cores()} cores (this run adds 1 to {threads}; more: other "
                 "processes competed for the cores, see the floor's GB/s)")
    classes = max((case.classes for case in cases), default=0)
    multiclass = f" (cross_entropy: {size // classes:,} x {classes})" if classes else ""
    sizes = {dtype: f"{dtype}, n = {size:,} elements{multiclass}, {rounds} rounds; "
                    f"{cache_note(2 * size * np.dtype(dtype).itemsize)}"
             for dtype in dtypes}
    return Report(lines, rows, sizes)


# ------------------------------------------------------------------- formatting
def _milliseconds(seconds: float) -> str:
    ms = 1e3 * seconds
    return f"{ms:.0f}" if ms >= 100 else f"{ms:.3g}"


def _cell(row: Row, name: str) -> str:
    if name in row.problems:
        return "!"
    seconds = row.seconds(name)
    return "" if seconds is None else _milliseconds(seconds)


def _spread(row: Row) -> str:
    timing = row.timings.get("losskit")
    spread = None if timing is None else timing.spread
    return "" if spread is None else f"{100 * spread:.0f}%"


def _bandwidth(row: Row) -> str:
    bandwidth = row.floor_bandwidth()
    return "" if bandwidth is None else f"{bandwidth / 1e9:.1f}"


def _check(row: Row) -> str:
    return "; ".join(f"{name} {why}" for name, why in row.problems.items()) or "ok"


def _table(headings: list[str], body: list[list[str]], markdown: bool) -> list[str]:
    """Names (the first three columns, and a final ``check``) left, numbers right."""
    left = [i < 3 or heading == "check" for i, heading in enumerate(headings)]
    if markdown:
        rule = "|" + "|".join(":---" if flush else "---:" for flush in left) + "|"
        return ["| " + " | ".join(headings) + " |", rule,
                *("| " + " | ".join(cells) + " |" for cells in body)]
    widths = [max(len(text) for text in column) for column in zip(headings, *body, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(text.ljust(w) if flush else text.rjust(w)
                         for text, w, flush in zip(cells, widths, left, strict=True)).rstrip()

    return [line(headings), "  ".join("-" * w for w in widths)] + [line(c) for c in body]


def format_report(report: Report, *, markdown: bool = False) -> str:
    """Per dtype: a table of median milliseconds, then one of losskit's ratios."""
    lines = [("- " if markdown else "") + text for text in report.header]
    for dtype, size in report.sizes.items():
        rows = [row for row in report.rows if row.dtype == dtype]
        title = f"Median time per call, ms ({size})"
        lines += ["", f"**{title}**" if markdown else title, ""]
        headings = ["loss", "op", "losskit path", *(HEADINGS[name] for name in COMPETITORS),
                    "±", "floor", "GB/s", "check"]
        body = [[row.case, row.op, row.path,
                 *(_cell(row, name) for name in COMPETITORS),
                 _spread(row), _cell(row, "floor"), _bandwidth(row), _check(row)]
                for row in rows]
        lines += _table(headings, body, markdown)
        title = f"losskit time / anchor time ({dtype}; below 1: losskit faster)"
        lines += ["", f"**{title}**" if markdown else title, ""]
        headings = ["loss", "op", "losskit path", *(HEADINGS[name] for name in ANCHORS)]
        body = [[row.case, row.op, row.path,
                 *("" if row.ratio(name) is None else f"{row.ratio(name):.2f}"
                   for name in ANCHORS)] for row in rows]
        lines += _table(headings, body, markdown)
    lines += ["", *_legend(report, markdown)]
    return "\n".join(lines)


def _legend(report: Report, markdown: bool) -> list[str]:
    lines = [
        "Blank: no such anchor for that loss and operation. '!': the competitor failed "
        "or disagreed with losskit's reference path and was not timed (see check). "
        "±: half the interquartile range of losskit's times over its median. floor: "
        "read y_pred and y_true once (value), or also write two fresh outputs once "
        "(gradient_hessian, loss_gradient); GB/s: the floor's bytes over its time (far "
        "below the machine's bandwidth: the machine was busy, and multi-threaded timings "
        "are not to be trusted).",
    ]
    if markdown:
        return lines
    lines += ["", "What each anchor calls:"]
    seen = set()
    for row in report.rows:
        if row.case in seen:
            continue
        seen.add(row.case)
        notes = [f"{HEADINGS[name]}: {row.notes[name]}" for name in COMPETITORS[2:]
                 if name in row.notes]
        lines.append(f"  {row.case}: " + "; ".join(notes))
    return lines


# ------------------------------------------------------------------------ CLI
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.elementwise",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"n = {QUICK_SIZE:,} (instead of {FULL_SIZE:,}), 5 rounds")
    parser.add_argument("--dtype", choices=("float64", "float32", "both"), default="float64")
    parser.add_argument("--losses", help="comma-separated case or loss names (default: all)")
    parser.add_argument("--ops", help=f"comma-separated operations (default: {','.join(OPS)})")
    parser.add_argument("--repeat", type=int, help="rounds (default: 7, 5 with --quick)")
    parser.add_argument("--size", type=int, help="elements per y_pred (overrides --quick)")
    parser.add_argument("--threads", type=int,
                        help="threads for every library (default: the usable cores)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", action="store_true", help="Markdown tables for a README")
    args = parser.parse_args(argv)
    # Before any OpenMP runtime loads (torch, scikit-learn and numba each bring one): see
    # openmp_line. An explicit OMP_WAIT_POLICY in the environment is kept.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    size = args.size or (QUICK_SIZE if args.quick else FULL_SIZE)
    rounds = args.repeat or (5 if args.quick else 7)
    dtypes = ("float64", "float32") if args.dtype == "both" else (args.dtype,)

    def progress(text: str) -> None:
        print(f"  timing {text} ...", file=sys.stderr, flush=True)

    losses = args.losses.split(",") if args.losses else None
    ops = args.ops.split(",") if args.ops else OPS
    try:
        _validate(losses, ops, dtypes, args.threads)
    except ValueError as error:  # a bad argument; errors while timing are not usage errors
        parser.error(str(error))
    report = run_benchmark(losses=losses, size=size, dtypes=dtypes, ops=ops, rounds=rounds,
                           threads=args.threads, seed=args.seed, progress=progress)
    print(format_report(report, markdown=args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
