"""Errors of ``losskit._fast._f32math`` on every float32 input, in ulps.

    python scripts/f32math_ulps.py [--stride K]

For each function (``exp``, ``log``, ``log1p``, ``log_cosh``), every float32 bit pattern
(every K-th with ``--stride``) is evaluated by the compiled float32 function and by
NumPy in float64 (within an ulp of float64, 2^-29 of a float32 ulp; ``log_cosh``:
``losskit.numerics.log_cosh``, within 2e-16), and the error is
``|got - exact| / ulp(exact)`` with the float32 ulp at the exact value's magnitude
(subnormals' ulp below 2^-126). Non-finite and zero results must match the float64
result rounded to float32 exactly (sign of zero included). Prints the largest error and
where it occurs. The whole range takes a few minutes per function on one core;
``tests/test_f32math.py`` runs ``measure`` on every 257th input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator

import numpy as np

CHUNK = 1 << 24


def evaluators() -> dict[str, tuple[object, object]]:
    """``name -> (compiled float32 map over an array, float64 NumPy reference)``."""
    import numba

    from losskit._fast import _f32math as f32

    def compiled(function: object) -> object:
        @numba.njit(error_model="numpy")
        def apply(x: np.ndarray, out: np.ndarray) -> None:
            for i in range(x.size):
                out[i] = function(x[i])  # type: ignore[operator]

        return apply

    from losskit.numerics import log_cosh

    return {"exp": (compiled(f32.expf), np.exp), "log": (compiled(f32.logf), np.log),
            "log1p": (compiled(f32.log1pf), np.log1p),
            "log_cosh": (compiled(f32.log_coshf), log_cosh)}


def errors(got: np.ndarray, x: np.ndarray,
           reference: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ulp errors where the results are finite and non-zero, mask of those results,
    mask of special-value mismatches)``."""
    with np.errstate(all="ignore"):
        exact = reference(x.astype(np.float64))  # type: ignore[operator]
        rounded = exact.astype(np.float32)
    special = ~np.isfinite(rounded) | (rounded == 0) | ~np.isfinite(got) | (got == 0)
    mismatch = special & ~((got.view(np.uint32) == rounded.view(np.uint32))
                           | (np.isnan(got) & np.isnan(rounded)))
    ordinary = ~special
    with np.errstate(over="ignore"):  # the spacing of float32's largest number
        ulp = np.spacing(np.abs(rounded[ordinary])).astype(np.float64)
    ulp[np.isinf(ulp)] = 2.0**104
    return (np.abs(got[ordinary].astype(np.float64) - exact[ordinary]) / ulp, ordinary,
            mismatch)


def measure(apply: object, reference: object, x: np.ndarray) -> tuple[float, float, list[float]]:
    """``(largest error in ulps, where, inputs whose special results mismatch)`` on ``x``."""
    got = np.empty_like(x)
    apply(x, got)  # type: ignore[operator]
    err, ordinary, mismatch = errors(got, x, reference)
    if not err.size:
        return 0.0, 0.0, x[mismatch].tolist()
    at = int(np.argmax(err))
    return float(err[at]), float(x[ordinary][at]), x[mismatch].tolist()


def every(stride: int) -> Iterator[np.ndarray]:
    """Every ``stride``-th float32 bit pattern, in chunks."""
    for start in range(0, 1 << 32, CHUNK * stride):
        stop = min(start + CHUNK * stride, 1 << 32)
        yield np.arange(start, stop, stride, dtype=np.uint64).astype(np.uint32).view(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stride", type=int, default=1)
    arguments = parser.parse_args(argv)
    for name, (apply, reference) in evaluators().items():
        worst, worst_x, bad = 0.0, 0.0, []
        for x in every(arguments.stride):
            error, at, mismatched = measure(apply, reference, x)
            bad += mismatched[:5]
            if error > worst:
                worst, worst_x = error, at
        print(f"{name:8s} max error {worst:.3f} ulp (at x = {worst_x!r}); "
              f"special-value mismatches: {bad[:5] or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
