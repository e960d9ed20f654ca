"""Fit the polynomials of ``losskit._fast._f32math.log_coshf``.

    python scripts/fit_log_cosh_f32.py

Prints, highest degree first, the coefficients of ``C`` (``log cosh(x) = x^2 C(x^2)``
for ``|x| < 1``, degree 6) and ``L`` (``log1p(t) = t L(t)`` for ``t`` in
``[0, e^-2]``, degree 4) and their largest relative errors on a fine grid. The fit
minimises the relative error: least squares on 4,000 Chebyshev points, reweighted
(Lawson's algorithm) towards the equal-ripple minimax polynomial. The float64
references are ``losskit.numerics.log_cosh`` (within 2e-16) with its Taylor series
below ``x^2 = 10^-6``, and ``numpy.log1p``.
"""

from __future__ import annotations

import sys

import numpy as np


def lawson(f: object, low: float, high: float, degree: int, points: int = 4000,
           rounds: int = 60) -> np.ndarray:
    """Coefficients, lowest degree first, of a near-minimax relative fit of ``f``."""
    k = np.arange(points)
    x = (low + high) / 2 + (high - low) / 2 * np.cos(np.pi * (k + 0.5) / points)
    y = f(x)  # type: ignore[operator]
    basis = np.vander(x, degree + 1, increasing=True) / np.abs(y)[:, None]
    weight = np.ones(points)
    for _ in range(rounds):
        coefficients, *_ = np.linalg.lstsq(basis * weight[:, None], weight * np.sign(y),
                                           rcond=None)
        weight = weight * np.sqrt(np.abs(basis @ coefficients - np.sign(y)))
        weight /= weight.max()
    return coefficients


def log_cosh_over_square(u: np.ndarray) -> np.ndarray:
    from losskit.numerics import log_cosh

    tiny = u < 1e-6
    series = 0.5 - u / 12 + u**2 / 45 - 17 * u**3 / 2520
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(tiny, series, log_cosh(np.sqrt(u)) / u)


def log1p_over(t: np.ndarray) -> np.ndarray:
    return np.log1p(t) / t


def main() -> int:
    for name, f, low, high, degree in (("C", log_cosh_over_square, 0.0, 1.0, 6),
                                       ("L", log1p_over, 1e-12, float(np.exp(-2.0)), 4)):
        coefficients = lawson(f, low, high, degree)
        grid = np.linspace(low, high, 1_000_001)[1:]
        error = np.abs(np.polynomial.polynomial.polyval(grid, coefficients) / f(grid) - 1)
        print(f"{name}: ({', '.join(f'{c:.9e}' for c in coefficients[::-1])})")
        print(f"   largest relative error {error.max():.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
