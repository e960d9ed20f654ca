"""A fused kernel on a quiet and on a loaded machine: serial, parallel, and the default.

    python -m benchmarks.oversubscription [--quick] [--loss huber] [--sizes 15,17,20]
        [--competitors N] [--repeat N] [--dtype float64|float32]

A parallel kernel waits for its slowest thread. When other processes keep the cores
busy (a second training run, BLAS or a booster's OpenMP threads spinning next to the
loss), that thread can wait a whole scheduler time slice, and the call takes
milliseconds however small it is. This script times one loss's ``mean`` and
``gradient_hessian`` through the public API at several sizes in three settings:

- ``serial``: ``lk.fast_path(threads=1)``, the serial twin of each kernel;
- ``parallel``: ``lk.fast_path(parallel_min_size=0)``, the parallel twin at every size
  (what every call ran before the serial twins existed);
- ``default``: the settings in force (serial below ``fast_parallel_min_size``),

first on the machine as it is ("quiet", whatever else runs: the header prints the load
average) and then with ``--competitors`` CPU-bound processes (default: one per usable
core) spinning beside it. Each row is the median over interleaved rounds. The
competitors are started by this script and killed by their process ids when it ends.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import losskit as lk
from benchmarks._environment import load, usable_cores
from benchmarks._harness import interleaved_times
from losskit._config import settings

__all__ = ["Row", "competing", "main", "measure"]

SETTINGS = ("serial", "parallel", "default")
OPS = ("mean", "gradient_hessian")
FULL_SIZES = (15, 17, 19, 20, 21, 22, 23)  # powers of two
QUICK_SIZES = (15, 18, 20, 22)


@dataclass
class Row:
    load: str  # "quiet" or "N competitors"
    size: int
    op: str
    milliseconds: dict[str, float]  # setting -> median ms
    spread: dict[str, float]  # setting -> half the interquartile range over the median


@contextlib.contextmanager
def competing(count: int) -> Iterator[list[int]]:
    """``count`` CPU-bound Python processes running meanwhile; their process ids."""
    processes = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                 for _ in range(count)]
    try:
        time.sleep(0.3 if count else 0.0)  # let the scheduler see them
        yield [process.pid for process in processes]
    finally:
        for process in processes:
            process.kill()
            process.wait()


def _setting(name: str) -> contextlib.AbstractContextManager[Any]:
    if name == "serial":
        return lk.fast_path(True, threads=1)
    if name == "parallel":
        return lk.fast_path(True, parallel_min_size=0)
    return lk.fast_path(True)


def _call(loss: Any, op: str, y_pred: Any, y_true: Any, name: str) -> Callable[[], Any]:
    def run() -> Any:
        with _setting(name):
            if op == "mean":
                return loss(y_pred, y_true)
            return loss.gradient_hessian(y_pred, y_true)

    return run


def measure(*, loss_name: str = "huber", exponents: Sequence[int] = QUICK_SIZES,
            competitors: int | None = None, rounds: int = 15, dtype: str = "float64",
            seed: int = 0, progress: Callable[[str], None] | None = None) -> list[Row]:
    """Median times per (load, size, op, setting); ``competitors`` None: usable cores."""
    loss = lk.get(loss_name)
    count = usable_cores() if competitors is None else competitors
    rng = np.random.default_rng(seed)
    data = {}
    for exponent in exponents:
        n = 2**exponent
        y_true = rng.normal(size=n)
        data[n] = ((y_true + rng.normal(size=n)).astype(dtype), y_true.astype(dtype))
    rows: list[Row] = []
    for count_now in (0, count):
        label = "quiet" if count_now == 0 else f"{count_now} competitors"
        with competing(count_now):
            for n, (y_pred, y_true) in data.items():
                for op in OPS:
                    if progress is not None:
                        progress(f"{label}: n = {n:,} {op}")
                    calls = {name: _call(loss, op, y_pred, y_true, name) for name in SETTINGS}
                    for call in calls.values():
                        call()  # compiles each twin on first use
                    timings = interleaved_times(calls, rounds, seed + len(rows))
                    rows.append(Row(label, n, op,
                                    {name: 1e3 * t.median for name, t in timings.items()},
                                    {name: t.spread or 0.0 for name, t in timings.items()}))
    return rows


def format_rows(rows: Sequence[Row]) -> str:
    headings = ["load", "n", "op", *(f"{name} ms" for name in SETTINGS), "parallel/serial",
                "default/serial", "± (default)"]
    body = []
    for row in rows:
        ms = row.milliseconds
        body.append([row.load, f"2^{row.size.bit_length() - 1}", row.op,
                     *(f"{ms[name]:.3f}" for name in SETTINGS),
                     f"{ms['parallel'] / ms['serial']:.2f}",
                     f"{ms['default'] / ms['serial']:.2f}",
                     f"{100 * row.spread['default']:.0f}%"])
    widths = [max(len(text) for text in column) for column in zip(headings, *body, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(text.ljust(w) if i < 3 else text.rjust(w)
                         for i, (text, w) in enumerate(zip(cells, widths, strict=True)))

    return "\n".join([line(headings), "  ".join("-" * w for w in widths),
                      *(line(cells) for cells in body)])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.oversubscription",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="sizes 2^15, 2^18, 2^20, 2^22 (default: 2^15 to 2^23)")
    parser.add_argument("--loss", default="huber")
    parser.add_argument("--sizes", help="comma-separated powers of two, e.g. 15,20")
    parser.add_argument("--competitors", type=int,
                        help="CPU-bound processes beside the loaded runs (default: cores)")
    parser.add_argument("--repeat", type=int, default=15, help="rounds (default: 15)")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    args = parser.parse_args(argv)
    exponents = (tuple(int(text) for text in args.sizes.split(",")) if args.sizes
                 else QUICK_SIZES if args.quick else FULL_SIZES)
    if args.competitors is not None and args.competitors < 0:
        parser.error("--competitors must be >= 0")
    import numba

    print(f"loss {args.loss}, {args.dtype}, {args.repeat} rounds; numba "
          f"{numba.get_num_threads()} threads (threading layer setting "
          f"{getattr(numba.config, 'THREADING_LAYER', '?')!r}); fast_parallel_min_size "
          f"{settings.fast_parallel_min_size:,}, fast_threads {settings.fast_threads}; "
          f"{usable_cores()} usable cores; load average (1 min) {load()} at the start")

    def progress(text: str) -> None:
        print(f"  timing {text} ...", file=sys.stderr, flush=True)

    rows = measure(loss_name=args.loss, exponents=exponents, competitors=args.competitors,
                   rounds=args.repeat, dtype=args.dtype, progress=progress)
    print(format_rows(rows))
    print(f"load average (1 min) {load()} at the end (the competitors add to it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
