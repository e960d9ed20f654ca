"""``losskit.numerics`` against mpmath at 50 significant digits, over the float64 range.

Reference values: mpmath (``mp.workdps(50)``), computed when the tests run from the
formulas in ``UNARY_REFERENCES`` and ``_ref_*``. Each is an identity chosen so that 50
digits lose nothing at any float input: ``log1p``/``expm1`` where a value is near 0 or
1, ``log1p(2 sinh(x/2)^2)`` for log cosh (``cosh(1e-300) - 1`` would need 600 digits),
and the row max split off in logsumexp. mpmath's exponent range is unbounded, so
``exp(1e308)`` is a number there and every overflow or underflow of a float result is
judged against the true value.

Accuracy is in units of ``eps`` of the dtype (2.22e-16 for float64, 1.19e-7 for
float32): ``|computed - true| <= bound * eps * |true|`` where the true value is a normal
number, ``<= bound * smallest_subnormal`` where it is below the normal range, and the
exact infinity where the true value is infinite or rounds past the largest float. The
bounds are in ``BOUNDS``, each with the rounding count that justifies it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from losskit import numerics

DIGITS = 50
INF = math.inf

# The grid of the brief, per dtype; float32 gets the same landmarks in its own range
# (1e-45 is its smallest subnormal, exp overflows past 88.7, 3e38 is near its max).
MAGNITUDES = {
    np.float64: [5e-324, 1e-300, 1e-10, 1e-5, 0.1, 0.5, 1, 2, 10, 20, 30, 37, 40, 100,
                 700, 710, 1e4, 1e100, 1e308],
    np.float32: [1e-45, 1e-38, 1e-10, 1e-5, 0.1, 0.5, 1, 2, 10, 20, 30, 37, 40, 88, 89,
                 100, 1e4, 1e20, 3e38],
}
DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]

# Where the implementations switch formulas (module docstring of losskit.numerics), and
# x0 = log(e - 1) = 0.5413248546129181..., the root of log_softplus.
CUTOFFS = [0.0, 0.5, 1.0, 2.0, 20.0, 37.0, math.log(2.0), 0.5413248546129181]


def grid(dtype: Any) -> np.ndarray:
    values = {0.0, *MAGNITUDES[dtype], *(-m for m in MAGNITUDES[dtype])}
    return np.array(sorted(values), dtype=dtype)


def dense(dtype: Any) -> np.ndarray:
    """Random points over the whole exponent range and steps of one ulp at the cut-offs."""
    rng = np.random.default_rng(7)
    info = np.finfo(dtype)
    top = math.log10(float(info.max))
    magnitudes = np.concatenate([
        10.0 ** rng.uniform(math.log10(float(info.smallest_subnormal)), top, 300),
        rng.uniform(0.0, 50.0, 300),
    ]).astype(dtype)
    near = []
    for cut in CUTOFFS:
        c = dtype(cut)
        for _ in range(4):
            near += [c, -c]
            c = np.nextafter(c, dtype(INF))
        c = dtype(cut)
        for _ in range(4):
            c = np.nextafter(c, dtype(-INF))
            near += [c, -c]
        near += [dtype(cut * (1 + 1e-3)), dtype(cut * (1 - 1e-3))]
    signs = rng.choice([-1.0, 1.0], magnitudes.size).astype(dtype)
    return np.unique(np.concatenate([magnitudes * signs, np.array(near, dtype=dtype)]))


def _log1mexp_ref(x: mp.mpf) -> mp.mpf:
    # log1p(-e^x) has no cancellation for x < -1; log(-expm1(x)) none near 0 (-inf at 0).
    return mp.log1p(-mp.exp(x)) if x < -1 else mp.log(-mp.expm1(x))


UNARY_REFERENCES: dict[str, Callable[[mp.mpf], mp.mpf]] = {
    "softplus": lambda x: mp.log1p(mp.exp(x)),
    "log1pexp": lambda x: mp.log1p(mp.exp(x)),
    "log_sigmoid": lambda x: -mp.log1p(mp.exp(-x)),
    "expit": lambda x: 1 / (1 + mp.exp(-x)),
    "log_softplus": lambda x: mp.log(mp.log1p(mp.exp(x))),
    "log_cosh": lambda x: mp.log1p(2 * mp.sinh(x / 2) ** 2),
    "log1mexp": _log1mexp_ref,
}

# Bounds in eps. glibc's and NumPy's exp, log, log1p, expm1 are within 1 ulp, and
# each arithmetic operation adds at most 1/2 ulp; "4" leaves room for libm differences
# over counts of 2 to 3 ulp. Measured worst cases on the grid, the cut-offs and
# random points: 1.5 eps in float64 and 2.4 eps in float32 (NumPy's float32 loops).
BOUNDS = {
    "softplus": 4,  # log1p(exp(-|x|)) + max(x, 0): two functions and one same-sign add
    "log1pexp": 4,
    "log_sigmoid": 4,  # -softplus(-x)
    "expit": 4,  # exp, 1 + e, one division
    "log_softplus": 4,  # near its root: expm1, product, log1p twice; elsewhere log(softplus)
    "log_cosh": 4,  # sinh, square, log1p; or |x| + softplus(-2|x|) - log 2, |x| >= 1
    "log1mexp": 4,  # expm1 then log, or exp then log1p
    "xlogy": 2,  # one log and one product
    "softmax": 4,  # compensated exp, a short sum, one division
    "log_softmax": 4,  # (x - m) - log1p(s): two terms of one sign
    "logsumexp": 4,  # m + log1p(s); times the cancellation factor, see _lse_bounds
}


def unary_inputs(name: str, x: np.ndarray) -> np.ndarray:
    """Inputs in the function's domain: log1mexp is defined for x <= 0."""
    return np.unique(-np.abs(x)) if name == "log1mexp" else x


def reference(fn: Callable[..., Any], *columns: Sequence[float]) -> list[mp.mpf]:
    with mp.workdps(DIGITS):
        return [mp.mpf(fn(*(mp.mpf(float(c)) for c in args))) for args in zip(*columns,
                                                                             strict=True)]


def assert_matches_reference(
    actual: Any,
    expected: Sequence[mp.mpf],
    bound: float | Sequence[float],
    *,
    inputs: Sequence[Any],
    what: str,
) -> None:
    """Each element of ``actual`` within ``bound`` eps of the exact value (see top)."""
    actual = np.asarray(actual)
    info = np.finfo(actual.dtype)
    flat = actual.ravel()
    assert flat.size == len(expected) == len(inputs)
    bounds = [bound] * flat.size if np.isscalar(bound) else list(bound)
    failures = []
    with mp.workdps(DIGITS):
        eps = mp.mpf(float(info.eps))
        normal = mp.mpf(float(info.smallest_normal))
        subnormal = mp.mpf(float(info.smallest_subnormal))
        # The midpoint between the largest float and 2^maxexp: true values at or
        # beyond it round to infinity.
        overflow = mp.ldexp(1, info.maxexp) - mp.ldexp(1, info.maxexp - info.nmant - 2)
        for x, got, true, b in zip(inputs, flat, expected, bounds, strict=True):
            got = float(got)
            if mp.isinf(true) or abs(true) >= overflow:
                ok = math.isinf(got) and (got > 0) == (true > 0)
                error = "" if ok else "expected an infinity of the same sign"
            elif math.isnan(got) or math.isinf(got):
                ok, error = False, "not finite"
            elif abs(true) < normal:
                err = abs(mp.mpf(got) - true) / subnormal
                ok, error = err <= b, f"{float(err):.3g} x smallest subnormal (bound {b})"
            else:
                err = abs(mp.mpf(got) - true) / (eps * abs(true))
                ok, error = err <= b, f"{float(err):.3g} eps (bound {b:.3g})"
            if not ok:
                failures.append(f"{what}({x}) = {got!r}; true {mp.nstr(true, 20)}: {error}")
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures[:25])


# ------------------------------------------------------------------ elementwise
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(UNARY_REFERENCES))
def test_unary_on_grid(name: str, dtype: Any) -> None:
    x = unary_inputs(name, grid(dtype))
    got = getattr(numerics, name)(x)
    assert got.dtype == dtype
    expected = reference(UNARY_REFERENCES[name], x)
    assert_matches_reference(got, expected, BOUNDS[name], inputs=x, what=name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(UNARY_REFERENCES))
def test_unary_at_cutoffs_and_random_points(name: str, dtype: Any) -> None:
    x = unary_inputs(name, dense(dtype))
    got = getattr(numerics, name)(x)
    assert got.dtype == dtype
    expected = reference(UNARY_REFERENCES[name], x)
    assert_matches_reference(got, expected, BOUNDS[name], inputs=x, what=name)


def test_log_softplus_at_its_root() -> None:
    # The float64 nearest log(e - 1) and its neighbours: log(softplus(x)) there is ~1e-17,
    # where log of a value next to 1 has no correct digits; mpmath gives the true value.
    x = np.nextafter(0.5413248546129181, INF) + np.arange(-8, 8) * 2.0**-53
    got = numerics.log_softplus(x)
    expected = reference(UNARY_REFERENCES["log_softplus"], x)
    assert_matches_reference(got, expected, BOUNDS["log_softplus"], inputs=x,
                             what="log_softplus")


def _xlogy_ref(x: mp.mpf, y: mp.mpf) -> mp.mpf:
    return mp.mpf(0) if x == 0 else x * mp.log(y)  # mp.log(0) = -inf


@pytest.mark.parametrize("dtype", DTYPES)
def test_xlogy_on_grid(dtype: Any) -> None:
    # x >= 0 and y >= 0 incl. 0 and subnormals; true values like 1e308 * log(1e308)
    # overflow (inf), x * log(0) is -inf and 0 * log(0) is 0.
    nonnegative = np.unique(np.abs(grid(dtype)))
    x, y = (a.ravel() for a in np.meshgrid(nonnegative, nonnegative, indexing="ij"))
    got = numerics.xlogy(x, y)
    assert got.dtype == dtype
    expected = reference(_xlogy_ref, x, y)
    assert_matches_reference(got, expected, BOUNDS["xlogy"], inputs=list(zip(x, y, strict=True)),
                             what="xlogy")


# Exact limits, from the definitions (no rounding is involved).
SPECIAL_VALUES = [
    ("softplus", (INF, -INF), (INF, 0.0)),
    ("log_sigmoid", (INF, -INF), (0.0, -INF)),
    ("expit", (INF, -INF, 0.0), (1.0, 0.0, 0.5)),
    ("log_softplus", (INF, -INF), (INF, -INF)),
    ("log_cosh", (INF, -INF, 0.0), (INF, INF, 0.0)),
    ("log1mexp", (-INF, 0.0, -0.0), (0.0, -INF, -INF)),
]


@pytest.mark.parametrize(("name", "x", "expected"), SPECIAL_VALUES,
                         ids=[case[0] for case in SPECIAL_VALUES])
def test_infinities_and_exact_values(name: str, x: tuple, expected: tuple) -> None:
    fn = getattr(numerics, name)
    np.testing.assert_array_equal(fn(np.array(x)), np.array(expected))
    assert np.isnan(fn(np.array([np.nan]))).all()


def test_xlogy_conventions() -> None:
    x = np.array([0.0, 0.0, 0.0, 1.0, -1.0, 2.0, -1e308, 1e308, np.nan])
    y = np.array([0.0, INF, 1.0, 0.0, 0.0, 1.0, 1e308, 1e308, 0.0])
    expected = np.array([0.0, 0.0, 0.0, -INF, INF, 0.0, -INF, INF, np.nan])
    np.testing.assert_array_equal(numerics.xlogy(x, y), expected)


def test_the_check_rejects_naive_formulas() -> None:
    # The harness must be able to fail: log(1 + e^x) loses 4.25e-18 at x = -40 and
    # overflows at x = 710, where softplus is 710.
    x = np.array([-40.0, 710.0])
    expected = reference(UNARY_REFERENCES["softplus"], x)
    with np.errstate(over="ignore"), pytest.raises(AssertionError, match="2 mismatches"):
        assert_matches_reference(np.log(1.0 + np.exp(x)), expected, 4, inputs=x,
                                 what="naive")


# ------------------------------------------------------------------ along an axis
def _finite_terms(row: Sequence[float]) -> list[mp.mpf]:
    return [mp.mpf(float(v)) for v in row if v != -INF]


@cache
def _ref_logsumexp(row: tuple[float, ...]) -> mp.mpf:
    with mp.workdps(DIGITS):
        terms = _finite_terms(row)
        if not terms:
            return mp.ninf
        top = max(terms)
        rest = list(terms)
        rest.remove(top)
        return top + mp.log1p(mp.fsum(mp.exp(v - top) for v in rest))


@cache
def _ref_log_softmax(row: tuple[float, ...]) -> tuple[mp.mpf, ...]:
    # log_softmax_i = -log(sum_j e^(x_j - x_i)) = -log1p(sum_{j != i} e^(x_j - x_i)).
    with mp.workdps(DIGITS):
        out = []
        for i, xi in enumerate(row):
            if xi == -INF:
                out.append(mp.ninf)
                continue
            others = _finite_terms(row[:i] + row[i + 1:])
            out.append(-mp.log1p(mp.fsum(mp.exp(v - mp.mpf(float(xi))) for v in others)))
        return tuple(out)


def _ref_softmax(row: tuple[float, ...]) -> tuple[mp.mpf, ...]:
    with mp.workdps(DIGITS):
        return tuple(mp.exp(v) for v in _ref_log_softmax(row))


def _lse_bounds(row: tuple[float, ...], true: mp.mpf) -> float:
    """4 eps, times (|m| + log1p(s)) / |lse| where m < 0 < log1p(s) cancel in the sum."""
    with mp.workdps(DIGITS):
        top = max(_finite_terms(row), default=mp.ninf)
        if mp.isinf(true) or true == 0:
            return BOUNDS["logsumexp"]
        factor = (abs(top) + abs(true - top)) / abs(true)
        return BOUNDS["logsumexp"] * max(1.0, float(factor))


ROWS = {
    np.float64: [
        [0.0, -40.0],  # logsumexp 4.25e-18; log(1 + e^-40) would give 0
        [5.0, -35.0],  # log_softmax of the max is -4.25e-18; x - logsumexp gives 0
        [1e4, 1e4],  # e^1e4 overflows: the max must come out first
        [1e308, 1e308],
        [1e308, -1e308],  # x - m overflows: log_softmax [-0, -inf], softmax [1, 0]
        [-1e308, -1e308],
        [-INF, -INF],  # logsumexp -inf (softmax is 0/0 there and not checked)
        [-INF, 0.0, 1.0],
        [-INF, 3.0, 1e-300, -2.5],
        [5e-324, 0.0],
        [-745.0, -746.0, -1000.0],  # e^(x - m) subnormal or zero
        [710.0, 709.0, -710.0],
        # Far below the max, e^(x - m) magnifies the rounding of x - m by |x - m|.
        [264.488631479067, -471.5132277077315, 957.4139501402918, 279.54408942129425],
        [1.0],
        [0.0, 0.0, 0.0, 0.0],
        [-0.6508179436030025, -0.503658704702031],  # m + log1p(s) cancels 9-fold
    ],
    np.float32: [
        [0.0, -40.0],
        [5.0, -35.0],
        [1e4, 1e4],
        [3e38, 3e38],
        [3e38, -3e38],
        [-3e38, -3e38],
        [-INF, -INF],
        [-INF, 0.0, 1.0],
        [-INF, 3.0, 1e-40, -2.5],
        [1e-45, 0.0],
        [-103.0, -104.0, -200.0],
        [89.0, 88.0, -89.0],
        [26.448863, -47.151323, 95.741395, 27.954409],
        [1.0],
        [0.0, 0.0, 0.0, 0.0],
        [-0.65081793, -0.5036587],
    ],
}


def rows(dtype: Any) -> list[tuple[float, ...]]:
    rng = np.random.default_rng(11)
    random_rows = [rng.normal(0.0, scale, rng.integers(1, 8))
                   for scale in (0.1, 1.0, 10.0, 100.0, 1000.0) for _ in range(8)]
    return [tuple(float(v) for v in np.asarray(r, dtype=dtype))
            for r in [*ROWS[dtype], *random_rows]]


def _defined(row: tuple[float, ...]) -> bool:
    """softmax and log_softmax of an all -inf row are 0/0."""
    return any(v != -INF for v in row)


@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_rows(dtype: Any) -> None:
    for row in rows(dtype):
        got = numerics.logsumexp(np.array(row, dtype=dtype))
        assert got.dtype == dtype and got.shape == ()
        true = _ref_logsumexp(row)
        assert_matches_reference(got, [true], _lse_bounds(row, true), inputs=[row],
                                 what="logsumexp")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["log_softmax", "softmax"])
def test_softmax_rows(name: str, dtype: Any) -> None:
    ref = _ref_log_softmax if name == "log_softmax" else _ref_softmax
    for row in filter(_defined, rows(dtype)):
        got = getattr(numerics, name)(np.array(row, dtype=dtype))
        assert got.dtype == dtype and got.shape == (len(row),)
        assert_matches_reference(got, ref(row), BOUNDS[name], inputs=[row] * len(row),
                                 what=name)


def _batch(dtype: Any) -> np.ndarray:
    """Rows of length 5: the special cases padded with -inf (which adds nothing), random rows."""
    special = [r + (-INF,) * (5 - len(r)) for r in rows(dtype)[:16] if len(r) <= 5]
    rng = np.random.default_rng(3)
    return np.array(special + [tuple(r) for r in rng.normal(0.0, 30.0, (8, 5))], dtype=dtype)


def _cube(batch: np.ndarray, axis: int) -> np.ndarray:
    """The rows of ``batch`` laid along ``axis`` of a 3-d array (axis 1 is in the middle)."""
    return np.moveaxis(batch.reshape(batch.shape[0], 1, batch.shape[1]), -1, axis)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_logsumexp_axis_and_keepdims(axis: int, keepdims: bool, dtype: Any) -> None:
    batch = _batch(dtype)
    cube = _cube(batch, axis)
    got = numerics.logsumexp(cube, axis=axis, keepdims=keepdims)
    expected_shape = list(cube.shape)
    if keepdims:
        expected_shape[axis] = 1
    else:
        del expected_shape[axis]
    assert got.shape == tuple(expected_shape) and got.dtype == dtype
    row_list = [tuple(map(float, r)) for r in batch]
    true = [_ref_logsumexp(r) for r in row_list]
    bounds = [_lse_bounds(r, t) for r, t in zip(row_list, true, strict=True)]
    assert_matches_reference(got.ravel(), true, bounds, inputs=row_list,
                             what=f"logsumexp(axis={axis})")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [-1, 0, 1])
@pytest.mark.parametrize("name", ["log_softmax", "softmax"])
def test_softmax_axis(name: str, axis: int, dtype: Any) -> None:
    batch = _batch(dtype)
    batch = batch[np.any(batch > -INF, axis=1)]
    cube = _cube(batch, axis)
    got = getattr(numerics, name)(cube, axis=axis)
    assert got.shape == cube.shape and got.dtype == dtype
    per_row = np.moveaxis(got, axis, -1).reshape(batch.shape)
    ref = _ref_log_softmax if name == "log_softmax" else _ref_softmax
    row_list = [tuple(map(float, r)) for r in batch]
    assert_matches_reference(per_row, [v for r in row_list for v in ref(r)], BOUNDS[name],
                             inputs=[r for r in row_list for _ in r], what=f"{name}({axis=})")


# ------------------------------------------------------------------ warnings
@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("xp", ["numpy", "array_api_strict", "dask"], indirect=True)
def test_no_runtime_warning_at_extremes(xp: Any) -> None:
    # pyproject turns RuntimeWarnings from losskit into errors; this test turns every
    # RuntimeWarning into one, as array_api_strict and array_api_compat's wrappers warn
    # from their own modules. The libraries computing with NumPy are the ones that warn
    # (PyTorch and JAX never do).
    big = np.array([-1e308, -1e4, -710.0, 0.0, 710.0, 1e4, 1e308])
    for name in UNARY_REFERENCES:
        x = -np.abs(big) if name == "log1mexp" else big
        assert np.isfinite(xp.to_numpy(getattr(numerics, name)(xp.asarray(x)))).any()
    x = np.array([0.0, 1e308, 1e308, 1e308, 1.0, 0.0])
    y = np.array([0.0, 1e308, 5e-324, 0.0, 0.0, 1e308])
    np.testing.assert_array_equal(
        xp.to_numpy(numerics.xlogy(xp.asarray(x), xp.asarray(y))),
        [0.0, INF, -INF, -INF, -INF, 0.0])
    m = xp.asarray(np.array([[1e308, -1e308], [-1e308, -1e308], [1e308, 1e308]]))
    np.testing.assert_array_equal(xp.to_numpy(numerics.logsumexp(m)), [1e308, -1e308, 1e308])
    np.testing.assert_array_equal(xp.to_numpy(numerics.softmax(m))[0], [1.0, 0.0])
    np.testing.assert_array_equal(xp.to_numpy(numerics.log_softmax(m))[0], [0.0, -INF])


# ------------------------------------------------------------------ backends
def _backend_cases() -> list[tuple[str, Callable[..., Any], tuple[np.ndarray, ...]]]:
    # Subnormal inputs are left out: XLA (JAX) flushes them to zero on CPU.
    normal = grid(np.float64)
    normal = normal[(normal == 0) | (np.abs(normal) >= np.finfo(np.float64).smallest_normal)]
    nonnegative = np.unique(np.abs(normal))
    x, y = (a.ravel() for a in np.meshgrid(nonnegative, nonnegative, indexing="ij"))
    batch = _batch(np.float64)
    batch = np.where(np.abs(batch) < np.finfo(np.float64).smallest_normal, 0.0, batch)
    cases = []
    for name in UNARY_REFERENCES:
        arg = unary_inputs(name, normal)
        cases.append((name, getattr(numerics, name), (arg,)))
    cases.append(("xlogy", numerics.xlogy, (x, y)))
    defined = batch[np.any(batch > -INF, axis=1)]
    for axis in (-1, 0):
        cases.append((f"logsumexp-axis{axis}",
                      lambda a, axis=axis: numerics.logsumexp(a, axis=axis), (batch,)))
        cases.append((f"logsumexp-keepdims-axis{axis}",
                      lambda a, axis=axis: numerics.logsumexp(a, axis=axis, keepdims=True),
                      (batch,)))
        for name in ("log_softmax", "softmax"):
            fn = getattr(numerics, name)
            cases.append((f"{name}-axis{axis}",
                          lambda a, fn=fn, axis=axis: fn(a, axis=axis), (defined,)))
    return cases


BACKEND_CASES = _backend_cases()


@pytest.mark.parametrize(("name", "fn", "args"), BACKEND_CASES,
                         ids=[case[0] for case in BACKEND_CASES])
def test_backends_agree_with_numpy(xp: Any, name: str, fn: Callable[..., Any],
                                   args: tuple[np.ndarray, ...]) -> None:
    # Each library brings its own exp and log1p: NumPy's results are within BOUNDS (4 eps)
    # of the truth, the others within a few eps more (XLA's log1p is the loosest, 6 eps
    # from NumPy's for log1mexp(-1)), hence 8 eps. Results below the normal range may
    # be flushed to zero (XLA), hence the atol.
    expected = fn(*args)
    got = xp.run(fn, *(xp.asarray(a) for a in args))
    assert xp.is_native(got), f"{name} on {xp.name} returned {type(got)}"
    got = xp.to_numpy(got)
    assert got.dtype == np.float64 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=8 * np.finfo(np.float64).eps,
                               atol=np.finfo(np.float64).smallest_normal, err_msg=name)


def test_float32_stays_float32_on_every_backend(xp: Any) -> None:
    x = np.array([[-100.0, -1.0, 0.0, 0.5, 80.0]], dtype=np.float32)

    def every_function(a: Any, b: Any) -> list[Any]:
        unary = [getattr(numerics, name)(b if name == "log1mexp" else a)
                 for name in UNARY_REFERENCES]
        along_axis = [numerics.logsumexp(a), numerics.log_softmax(a), numerics.softmax(a)]
        return [*unary, *along_axis, numerics.xlogy(-b, -b)]

    for got in xp.run(every_function, xp.asarray(x), xp.asarray(-np.abs(x))):
        assert xp.to_numpy(got).dtype == np.float32


# ------------------------------------------------------------------ gradients
# The stable branches use where() and |x|; autograd differentiates the branch it takes,
# so a NaN or inf in an unselected branch (0 * inf) or d|x|/dx = 0 at 0 would give wrong
# gradients. PyTorch autograd through each primitive, at 0, the cut-offs and both tails.
GRADIENT_POINTS = [-700.0, -40.0, -20.0, -1.0, -0.5, -1e-8, 0.0, 1e-8, 0.5,
                   0.5413248546129181, 1.0, 2.0, 20.0, 40.0, 700.0]


# Closed-form derivatives, evaluated in mpmath like UNARY_REFERENCES.
UNARY_DERIVATIVES: dict[str, Callable[[mp.mpf], mp.mpf]] = {
    "softplus": lambda x: 1 / (1 + mp.exp(-x)),
    "log1pexp": lambda x: 1 / (1 + mp.exp(-x)),
    "log_sigmoid": lambda x: 1 / (1 + mp.exp(x)),
    "expit": lambda x: mp.exp(-x) / (1 + mp.exp(-x)) ** 2,
    "log_softplus": lambda x: 1 / ((1 + mp.exp(-x)) * mp.log1p(mp.exp(x))),
    "log_cosh": mp.tanh,
    "log1mexp": lambda x: -1 / mp.expm1(-x),  # d/dx log(1 - e^x) = -e^x / (1 - e^x)
}


@pytest.mark.parametrize("name", list(UNARY_REFERENCES))
def test_unary_gradients_against_mpmath(name: str) -> None:
    torch = pytest.importorskip("torch")
    x = np.unique(unary_inputs(name, np.array(GRADIENT_POINTS)))
    x = x[x < 0] if name == "log1mexp" else x  # the derivative is infinite at 0
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    getattr(numerics, name)(t).sum().backward()
    expected = reference(UNARY_DERIVATIVES[name], x)
    # Autograd composes the branch's derivatives: a few more roundings than the value.
    assert_matches_reference(t.grad.numpy(), expected, 8, inputs=x, what=f"d/dx {name}")


def _torch_axis_cases() -> list[tuple[str, Callable[..., Any], Callable[..., Any], list[Any]]]:
    """(name, losskit function, PyTorch's own function, arguments)."""
    import torch

    row = [[-20.0, -3.0, 0.5, 1.5], [2.0, 2.0, -1.0, 7.0], [0.0, -40.0, -1e4, 3.0]]
    return [
        ("xlogy", numerics.xlogy, torch.xlogy, [[0.5, 2.0, 3.0, 0.1], [2.0, 0.5, 3.0, 1e-5]]),
        ("logsumexp", numerics.logsumexp, lambda t: torch.logsumexp(t, dim=-1), [row]),
        ("log_softmax", numerics.log_softmax, lambda t: torch.log_softmax(t, dim=-1), [row]),
        ("softmax", numerics.softmax, lambda t: torch.softmax(t, dim=-1), [row]),
    ]


@pytest.mark.parametrize("case", _torch_axis_cases(), ids=lambda case: case[0])
def test_gradients_match_torch(case: tuple[str, Callable[..., Any], Callable[..., Any],
                                           list[Any]]) -> None:
    # Against PyTorch's own functions, through a weighted sum (a generic cotangent).
    # Gradients are O(1): PyTorch forms 1 - p by subtraction, so compare absolutely too.
    torch = pytest.importorskip("torch")
    name, fn, reference_fn, args = case
    grads = []
    for f in (fn, reference_fn):
        inputs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in args]
        out = f(*inputs)
        weights = torch.linspace(0.5, 2.0, out.numel(), dtype=torch.float64)
        (out.reshape(-1) * weights.reshape(-1)).sum().backward()
        grads.append([t.grad.numpy() for t in inputs])
    for got, expected in zip(*grads, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("name", ["logsumexp", "log_softmax", "softmax"])
def test_gradients_finite_with_infinite_and_huge_entries(name: str) -> None:
    torch = pytest.importorskip("torch")
    t = torch.tensor([[0.0, -INF, 1.0], [1e308, -1e308, 0.0]], dtype=torch.float64,
                     requires_grad=True)
    out = getattr(numerics, name)(t)
    torch.where(torch.isfinite(out), out, torch.zeros_like(out)).sum().backward()
    assert torch.isfinite(t.grad).all(), t.grad


# ------------------------------------------------------------------ properties
finite_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
EPS = float(np.finfo(np.float64).eps)


@settings(max_examples=300, deadline=None)
@given(finite_floats)
def test_softplus_difference_is_x(x: float) -> None:
    # softplus(x) - softplus(-x) = x exactly; each term carries <= 4 eps relative error
    # (BOUNDS) and the subtraction 1/2 ulp of the result.
    a, b = numerics.softplus(np.array([x, -x]))
    assert abs((a - b) - x) <= 4 * EPS * (a + b) + EPS * abs(x)


@settings(max_examples=300, deadline=None)
@given(finite_floats)
def test_expit_is_symmetric(x: float) -> None:
    # expit(x) + expit(-x) = 1; log_sigmoid(x) - log_sigmoid(-x) = x.
    p, q = numerics.expit(np.array([x, -x]))
    assert abs(p + q - 1.0) <= 2 * EPS
    a, b = numerics.log_sigmoid(np.array([x, -x]))
    assert abs((a - b) - x) <= 4 * EPS * (abs(a) + abs(b)) + EPS * abs(x)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=8))
def test_softmax_is_a_distribution(values: list[float]) -> None:
    x = np.array(values)
    p = numerics.softmax(x)
    assert np.all(p >= 0) and abs(p.sum() - 1.0) <= len(values) * EPS
    # exp(log_softmax) = softmax, log_softmax <= 0. exp turns the rounding of log_p
    # (eps/2 |log_p| absolute, with BOUNDS' 4 eps) into that relative error.
    log_p = numerics.log_softmax(x)
    assert np.all(log_p <= 0)
    tolerance = 4 * EPS * (1.0 + np.abs(log_p)) * p + np.finfo(np.float64).smallest_normal
    assert np.all(np.abs(np.exp(log_p) - p) <= tolerance)
