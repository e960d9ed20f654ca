"""The fused regression kernels (``losskit._fast.regression``) against the reference path.

For every covered loss, link and parameter set, in float32 and float64, with and
without ``sample_weight``, on random inputs and on extreme ones (errors of ±1e300 and
±1e-300, exact zeros, the regime boundaries of Huber and log-cosh, log-link scores of
±600, zero counts), each operation of the fast path (``lk.fast_path(True,
min_size=0)``, with the reference path made to fail so that it cannot stand in)
returns what the reference path returns (``lk.fast_path(False)``): the same type,
dtype and shape, and values within ``RTOL`` (1e-14 in float64, 1e-6 in float32) of
the *terms* that make them up. Where a value is a difference of terms (``e^z - y``
near ``y = e^z``, Tweedie's two powers), NumPy's and the C library's ``exp``, ``log``
and ``pow`` differ in the last bit now and then, and the difference cancels down to
that bit; ``_scales`` gives the sum of the terms' magnitudes, so the tolerance is
``RTOL`` times what the rounding error is relative to. Without cancellation the
scale is the value itself.

Invalid inputs make the kernels count them, the fast path decline and the reference
path raise the same error either way; 2-D inputs are fused, non-contiguous ones and
other unsupported calls decline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pytest

numba = pytest.importorskip("numba")

import losskit as lk  # noqa: E402
import losskit._fast as fast_module  # noqa: E402
from conftest import fast_call as _call  # noqa: E402
from conftest import fast_only as _fast  # noqa: E402
from conftest import fast_twin  # noqa: E402
from conftest import reference_only as _reference  # noqa: E402
from losskit._fast import regression as kernels_module  # noqa: E402
from losskit.core import Loss  # noqa: E402

OPS = ("mean", "sum", "none", "gradient", "hessian", "loss_gradient", "gradient_hessian")
DTYPES = (np.float64, np.float32)
RTOL = {np.float64: 1e-14, np.float32: 1e-6}
#: Absolute floor: results in the subnormal range (sech^2 of 360) differ in their
#: few remaining bits.
ATOL = {np.float64: 1e-300, np.float32: 1e-37}
#: Which per-sample quantity each output of an operation is.
PARTS = {"mean": ("value",), "sum": ("value",), "none": ("value",),
         "gradient": ("gradient",), "hessian": ("hessian",),
         "loss_gradient": ("value", "gradient"), "gradient_hessian": ("gradient", "hessian")}
DEVIANCE_POWER = {"poisson": 1.0, "gamma": 2.0}


@dataclass(frozen=True)
class Case:
    name: str
    params: dict[str, Any]

    @property
    def id(self) -> str:
        return "-".join([self.name] + [f"{k}={v}" for k, v in self.params.items()])

    def loss(self) -> Loss:
        return lk.get(self.name, **self.params)


ERROR_CASES = [Case("squared_error", {}), Case("absolute_error", {}),
               Case("huber", {}), Case("huber", {"delta": 0.3}),
               Case("pseudo_huber", {}), Case("pseudo_huber", {"delta": 0.3}),
               Case("log_cosh", {}), Case("quantile", {}), Case("quantile", {"q": 0.1}),
               Case("quantile", {"q": 0.9}), Case("asymmetric", {}),
               Case("asymmetric", {"alpha": 0.5}), Case("expectile", {}),
               Case("expectile", {"tau": 0.8})]
DEVIANCE_CASES = [Case(name, {"link": link, **extra})
                  for name, extras in [("poisson", [{}]), ("gamma", [{}]),
                                       ("tweedie", [{"power": p} for p in
                                                    (-0.5, 0.0, 1.0, 1.5, 2.0, 3.0)])]
                  for extra in extras for link in ("identity", "log")]
CASES = ERROR_CASES + DEVIANCE_CASES
BOUNDED_GRADIENT = {"absolute_error", "huber", "pseudo_huber", "log_cosh", "quantile",
                    "asymmetric"}


# ------------------------------------------------------------------- inputs
def _power(loss: Loss) -> float | None:
    return DEVIANCE_POWER.get(loss.name, getattr(loss, "power", None))


def _targets(loss: Loss, rng: np.random.Generator, mu: np.ndarray) -> np.ndarray:
    domain = loss.y_true_domain
    if domain.low == 0.0 and domain.low_inclusive:
        return rng.poisson(mu).astype(np.float64)  # counts, with zeros
    if domain.low == 0.0:
        return rng.gamma(2.0, mu / 2.0)
    return rng.normal(mu, 2.0)


def _random_inputs(loss: Loss, rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    power = _power(loss)
    if power is None:  # an error loss: errors from 1e-3 to 30 around spread targets
        y = rng.normal(0.0, 3.0, n)
        return y + rng.normal(0.0, 1.0, n) * 10.0 ** rng.uniform(-3.0, 1.5, n), y
    if loss.link.name == "log":
        z = rng.uniform(-5.0, 5.0, n)
        return z, _targets(loss, rng, np.exp(z))
    mu = 10.0 ** rng.uniform(-2.0, 2.0, n)
    if loss.y_pred_domain.low == -np.inf:  # Tweedie p = 0: any real mean
        mu = mu * rng.choice([-1.0, 1.0], n)
    return mu, _targets(loss, rng, np.abs(mu))


def _grid(preds: list[float], targets: list[float]) -> tuple[np.ndarray, np.ndarray]:
    p, y = np.meshgrid(np.asarray(preds, dtype=np.float64), np.asarray(targets))
    return p.ravel(), y.ravel()


def _extreme_inputs(loss: Loss, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of extreme predictions and targets that the reference computes warning-free."""
    f64 = dtype == np.float64
    power = _power(loss)
    if power is None:
        huge = (1e300 if f64 else 1e30) if loss.name in BOUNDED_GRADIENT else (
            1e150 if f64 else 1e18)  # e^2 must not overflow in the reference
        tiny = 1e-300 if f64 else 1e-38
        delta = float(dtype(getattr(loss, "delta", 1.0)))
        magnitudes = [0.0, tiny, 1e-8, 0.5, delta, float(np.nextafter(dtype(delta), dtype(2))),
                      1.0, 20.0, 20.5, 400.0, 1e6, huge]
        errors = magnitudes + [-m for m in magnitudes]
        e, y = _grid(errors, [0.0, 3.0])
        return (y + e).astype(dtype), y.astype(dtype)
    y_domain = loss.y_true_domain
    counts = [1e-5, 1.0, 3.0, 1e5] if y_domain.low == 0 and not y_domain.low_inclusive else (
        [0.0, 1.0, 3.0, 1e5] if y_domain.low == 0 else [-3.0, 0.0, 1.0, 1e5])
    if loss.link.name == "log":
        # The largest |z| whose exp((2 - p) z) and y exp((1 - p) z) stay finite.
        top = (600.0 if f64 else 60.0) / max(1.0, abs(2.0 - power), abs(1.0 - power))
        scores = [-top, -30.0, -1.0, -1e-300 if f64 else -1e-38, 0.0, 1.0, 30.0, top]
        p, y = _grid(scores, counts)
    else:
        # Tweedie's mu^(-p-1) and Gamma's mu^3 bound the means' range.
        exponent = (20 if power not in (1.0, 2.0) else 50) if f64 else 4
        means = [10.0**-exponent, 1e-3, 0.5, 1.0, 3.0, 1e3, 10.0**exponent]
        if loss.y_pred_domain.low == -np.inf:
            means += [0.0, -3.0]
        p, y = _grid(means, counts)
    return p.astype(dtype), y.astype(dtype)


def _inputs(case: Case, dtype: Any, data: str, seed: int = 0,
            n: int = 1000) -> tuple[np.ndarray, ...]:
    loss = case.loss()
    rng = np.random.default_rng(seed)
    if data == "random":
        p, y = _random_inputs(loss, rng, n)
        return p.astype(dtype), y.astype(dtype)
    return _extreme_inputs(loss, dtype)


def _weights(rng: np.random.Generator, n: int, dtype: Any) -> np.ndarray:
    weights = rng.uniform(0.0, 3.0, n)
    weights[::9] = 0.0
    weights[1] = 1e3
    return weights.astype(dtype)


# ---------------------------------------------------------------- scales
def _scales(loss: Loss, p: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray] | None:
    """Per sample, the sum of the magnitudes of the terms of value, gradient and Hessian.

    Only for the deviances, where the result can be a near-cancelling difference; the
    error losses' results are their own scale (None).
    """
    power = _power(loss)
    if power is None:
        return None
    p, y = p.astype(np.float64), np.abs(y.astype(np.float64))
    with np.errstate(all="ignore"):
        if loss.link.name == "log":
            exp_two, exp_one = np.exp((2.0 - power) * p), y * np.exp((1.0 - power) * p)
            if power == 1.0:
                value = exp_two + np.abs(y * p)
            elif power == 2.0:
                value = np.abs(p) + exp_one
            else:
                value = exp_two / abs(2.0 - power) + exp_one / abs(1.0 - power)
            gradient = exp_two + exp_one
            hessian = abs(2.0 - power) * exp_two + abs(1.0 - power) * exp_one
        else:
            mu = np.abs(p)
            if power == 0.0:
                value, gradient, hessian = mu * mu / 2 + y * mu, mu + y, np.ones_like(mu)
            else:
                if power == 1.0:
                    value = mu + np.abs(y * np.log(mu))
                elif power == 2.0:
                    value = np.abs(np.log(mu)) + y / mu
                else:
                    value = (mu ** (2.0 - power) / abs(2.0 - power)
                             + y * mu ** (1.0 - power) / abs(1.0 - power))
                gradient = mu ** (1.0 - power) + y * mu**-power
                hessian = abs(1.0 - power) * mu**-power + abs(power) * y * mu ** (-power - 1.0)
    return {"value": value, "gradient": gradient, "hessian": hessian}


# --------------------------------------------------------------- helpers


def _assert_agree(fast: Any, reference: Any, op: str, loss: Loss, y_pred: np.ndarray,
                  y_true: np.ndarray, weight: np.ndarray | None, where: str) -> None:
    assert type(fast) is type(reference), where
    fast_parts = fast if isinstance(fast, tuple) else (fast,)
    reference_parts = reference if isinstance(reference, tuple) else (reference,)
    assert len(fast_parts) == len(reference_parts) == len(PARTS[op]), where
    dtype = y_pred.dtype.type
    rtol, atol = RTOL[dtype], ATOL[dtype]
    scales = _scales(loss, y_pred, y_true)
    values = _reference(loss, "none", y_pred, y_true, weight).astype(np.float64)
    w = np.ones(y_pred.shape) if weight is None else weight.astype(np.float64)
    for a, b, part in zip(fast_parts, reference_parts, PARTS[op], strict=True):
        assert type(a) is type(b), where
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b), where
        expected = np.asarray(b, dtype=np.float64)
        scale = np.abs(values if op in ("mean", "sum") else expected)
        if scales is not None:
            scale = np.maximum(scale, np.abs(w) * scales[part])
        if op in ("mean", "sum"):  # a rounding error relative to the sum of |terms|
            scale = np.sum(scale) / (np.sum(w) if op == "mean" else 1.0)
        actual = np.asarray(a, dtype=np.float64)
        finite = np.isfinite(expected)
        # Infinities and NaNs (0 * inf under a zero weight) in the same places.
        assert np.array_equal(actual[~finite], expected[~finite], equal_nan=True), where
        error = np.abs(actual - expected)[finite]
        bound = rtol * scale + atol
        bound = bound[finite] if np.ndim(bound) else np.full(error.shape, bound)
        if not np.all(error <= bound):
            worst = int(np.argmax(error - bound))
            pytest.fail(f"{where} ({part}): |fast - reference| = {error[worst]:.3g} > "
                        f"{bound[worst]:.3g} at finite entry {worst} (fast "
                        f"{actual[finite][worst]!r}, reference {expected[finite][worst]!r})")


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize("twin", ["serial", "parallel"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("data", ["random", "extreme"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_fast_path_agrees_with_reference(case: Case, dtype: Any, data: str, weighted: bool,
                                         twin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    loss = case.loss()
    y_pred, y_true = _inputs(case, dtype, data)
    weight = _weights(np.random.default_rng(1), y_pred.size, dtype) if weighted else None
    with fast_twin(twin, y_pred.size):
        for op in OPS:
            fast = _fast(loss, op, y_pred, y_true, weight, monkeypatch)
            reference = _reference(loss, op, y_pred, y_true, weight)
            _assert_agree(fast, reference, op, loss, y_pred, y_true, weight,
                          f"{case.id} {dtype.__name__} {data} {op} {twin}")


@pytest.mark.parametrize("twin", ["serial", "parallel"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_reductions_over_many_blocks_agree_with_reference(
        case: Case, dtype: Any, twin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Several reduction blocks (``_BLOCK`` samples each) and a ragged last one, by both
    twins."""
    loss = case.loss()
    y_pred, y_true = _inputs(case, dtype, "random", seed=4, n=5 * kernels_module._BLOCK + 13)
    weight = _weights(np.random.default_rng(5), y_pred.size, dtype)
    with fast_twin(twin, y_pred.size):
        for w in (None, weight):
            for op in ("mean", "sum"):
                fast = _fast(loss, op, y_pred, y_true, w, monkeypatch)
                reference = _reference(loss, op, y_pred, y_true, w)
                _assert_agree(fast, reference, op, loss, y_pred, y_true, w,
                              f"{case.id} {dtype.__name__} {op} {twin}")


@pytest.mark.parametrize("twin", ["serial", "parallel"])
@pytest.mark.parametrize("name", ["squared_error", "pseudo_huber", "log_cosh"])
def test_float32_reductions_add_their_terms_in_float64(name: str, twin: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernels' sums (``_sums.accumulate``, vector accumulators) are float64 sums of
    the float32 terms: within 1e-13 of their exact sum (``math.fsum``), where NumPy's
    float32 pairwise sum is off by about 1e-7 of it."""
    import math

    loss = lk.get(name)
    rng = np.random.default_rng(9)
    n = 3 * kernels_module._BLOCK + 517
    y_pred = (rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)).astype(np.float32)
    y_true = rng.standard_normal(n).astype(np.float32)
    weight = rng.uniform(0.0, 2.0, n).astype(np.float32)
    terms = _reference(loss, "none", y_pred, y_true, None).astype(np.float64)
    weighted = (_reference(loss, "none", y_pred, y_true, weight)).astype(np.float64)
    with fast_twin(twin, n):
        total = _fast(loss, "sum", y_pred, y_true, None, monkeypatch)
        mean = _fast(loss, "mean", y_pred, y_true, weight, monkeypatch)
    exact_total = math.fsum(terms)
    exact_mean = np.float32(math.fsum(weighted) / math.fsum(weight.astype(np.float64)))
    assert total.dtype == mean.dtype == np.float32
    # Rounding to float32 at the end is the only error left: half an ulp, and an ulp
    # of the quotient for the mean.
    assert total == np.float32(exact_total)
    assert abs(float(mean) - float(exact_mean)) <= float(np.spacing(exact_mean))


@pytest.mark.parametrize("path", ["fast", "reference"])
def test_pseudo_huber_with_a_tiny_delta_is_delta_times_the_error(
        path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """delta = 1e-200: delta^2 underflows to 0, and e / delta overflows for |e| > 1e108.
    The value delta^2 (sqrt(1 + (e/delta)^2) - 1) is delta |e| (1 - delta / |e| + ...),
    i.e. delta |e| to the last bit here, and the slope delta sign(e) (was: 0, or NaN
    from 0 * inf)."""
    loss = lk.get("pseudo_huber", delta=1e-200)
    e = np.array([1.0, -3.0, 1e-150, 1e150, -1e300])
    y_true = np.zeros_like(e)
    compute = ((lambda op: _fast(loss, op, e, y_true, None, monkeypatch)) if path == "fast"
               else (lambda op: _reference(loss, op, e, y_true, None)))
    value, gradient = compute("loss_gradient")
    np.testing.assert_allclose(value, 1e-200 * np.abs(e), rtol=1e-15)
    np.testing.assert_allclose(gradient, 1e-200 * np.sign(e), rtol=1e-15)
    np.testing.assert_allclose(compute("sum"), 1e-200 * np.sum(np.abs(e)), rtol=1e-15)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_two_dimensional_inputs_are_fused(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    loss = case.loss()
    y_pred, y_true = (a.reshape(250, 4) for a in _inputs(case, np.float64, "random"))
    for op in OPS:
        fast = _fast(loss, op, y_pred, y_true, None, monkeypatch)
        reference = _reference(loss, op, y_pred, y_true, None)
        _assert_agree(fast, reference, op, loss, y_pred, y_true, None, f"{case.id} 2-D {op}")


@pytest.fixture
def dispatched(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Each result of ``losskit._fast.dispatch`` (None where it declined)."""
    results: list[Any] = []
    original = fast_module.dispatch

    def spy(*args: Any, **kwargs: Any) -> Any:
        results.append(original(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(fast_module, "dispatch", spy)
    return results


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_kernels_run_for_every_operation(case: Case, dispatched: list[Any]) -> None:
    loss = case.loss()
    y_pred, y_true = _inputs(case, np.float32, "random")
    with lk.fast_path(True, min_size=0, force=True):
        for op in OPS:
            _call(loss, op, y_pred, y_true, None)
    assert len(dispatched) == len(OPS)
    assert all(result is not None for result in dispatched)
    with lk.fast_path(True, min_size=y_pred.size + 1):  # below the threshold: not dispatched
        loss(y_pred, y_true)
    assert len(dispatched) == len(OPS)


def _counted(kernels: fast_module.Kernels, counts: list[int]) -> fast_module.Kernels:
    """``kernels`` that record the invalid count each call returns."""

    def wrap(kernel: Callable[..., Any]) -> Callable[..., Any]:
        def counting(*args: Any, **kwargs: Any) -> Any:
            result = kernel(*args, **kwargs)
            counts.append(result[2] if isinstance(result, tuple) else result)
            return result

        return counting

    names = ("reduce", "values", "loss_gradient", "gradient_hessian")
    return replace(kernels, **{name: wrap(getattr(kernels, name)) for name in names})


def _invalid_inputs(loss: Loss, dtype: Any) -> Iterator[tuple[str, Any, Any, Any, int]]:
    """(what, y_pred, y_true, sample_weight, number of invalid samples)."""
    y_pred, y_true = _random_inputs(loss, np.random.default_rng(2), 50)
    y_pred, y_true = y_pred.astype(dtype), y_true.astype(dtype)
    weight = np.ones(50, dtype=dtype)

    def put(array: np.ndarray, entries: dict[int, float]) -> np.ndarray:
        bad = array.copy()
        for index, value in entries.items():
            bad[index] = value
        return bad

    yield "nan prediction", put(y_pred, {3: np.nan}), y_true, None, 1
    yield "inf predictions", put(y_pred, {0: np.inf, 49: -np.inf}), y_true, None, 2
    yield "nan target", y_pred, put(y_true, {7: np.nan}), None, 1
    yield "inf target", y_pred, put(y_true, {7: -np.inf}), None, 1
    yield "negative weight", y_pred, y_true, put(weight, {5: -1e-30}), 1
    yield "nan and inf weights", y_pred, y_true, put(weight, {5: np.nan, 6: np.inf}), 2
    # Two faults in one sample count once.
    yield "nan prediction, negative weight", put(y_pred, {4: np.nan}), y_true, put(
        weight, {4: -1.0}), 1
    y_domain = loss.y_true_domain
    if y_domain.low == 0.0:
        yield "negative target", y_pred, put(y_true, {1: -1.0, 2: -1e-30}), None, 2
        if not y_domain.low_inclusive:
            yield "zero target", y_pred, put(y_true, {9: 0.0}), None, 1
    if loss.link.name == "identity" and loss.y_pred_domain.low == 0.0:
        yield "non-positive means", put(y_pred, {0: 0.0, 8: -2.0}), y_true, None, 2


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_invalid_inputs_decline_and_raise_the_reference_error(
        case: Case, dtype: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    loss = case.loss()
    counts: list[int] = []
    original = fast_module.kernels_for
    monkeypatch.setattr(fast_module, "kernels_for",
                        lambda loss: _counted(original(loss), counts))
    for what, y_pred, y_true, weight, n_invalid in _invalid_inputs(loss, dtype):
        for op in OPS:
            where = f"{case.id} {what} {op}"
            counts.clear()
            with lk.fast_path(True, min_size=0, force=True), \
                    pytest.raises(ValueError) as fast_error:
                _call(loss, op, y_pred, y_true, weight)
            # The kernel ran, counted exactly the invalid samples, and the fast path
            # declined; the reference path raised its own error.
            assert counts == [n_invalid], where
            with lk.fast_path(False), pytest.raises(ValueError) as reference_error:
                _call(loss, op, y_pred, y_true, weight)
            assert str(fast_error.value) == str(reference_error.value), where


def test_zero_weights_decline_only_the_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    loss = lk.get("huber")
    y_pred, y_true = _inputs(Case("huber", {}), np.float64, "random")
    weight = np.zeros_like(y_pred)
    with lk.fast_path(True, min_size=0, force=True), pytest.raises(ValueError) as fast_error:
        loss(y_pred, y_true, weight)
    with lk.fast_path(False), pytest.raises(ValueError) as reference_error:
        loss(y_pred, y_true, weight)
    assert str(fast_error.value) == str(reference_error.value)
    assert _fast(loss, "sum", y_pred, y_true, weight, monkeypatch) == 0.0


def _unsupported(y_pred: np.ndarray, y_true: np.ndarray) -> Iterator[tuple[str, Any, Any, Any]]:
    n = y_pred.size
    yield "strided", y_pred[::2], y_true[::2], None
    yield "strided weight", y_pred, y_true, np.ones(2 * n)[::2]
    fortran = (np.asfortranarray(a.reshape(n // 4, 4)) for a in (y_pred, y_true))
    yield "Fortran order", *fortran, None
    yield "mixed dtypes", y_pred, y_true.astype(np.float32), None
    yield "float32 weight", y_pred, y_true, np.ones(n, dtype=np.float32)
    yield "integer target", y_pred, np.rint(np.abs(y_true)).astype(np.int64), None
    yield "per-row weight over (n, L)", y_pred.reshape(n // 4, 4), y_true.reshape(n // 4, 4), (
        np.ones(n // 4))
    yield "float16", y_pred.astype(np.float16), y_true.astype(np.float16), None
    yield "list", list(y_pred), y_true, None


@pytest.mark.parametrize("case", [Case("huber", {"delta": 0.3}), Case("poisson", {}),
                                  Case("tweedie", {"power": 1.5, "link": "log"})],
                         ids=lambda case: case.id)
def test_unsupported_inputs_decline_gracefully(case: Case, dispatched: list[Any]) -> None:
    loss = case.loss()
    y_pred, y_true = _inputs(case, np.float64, "random")
    for what, p, y, w in _unsupported(y_pred, y_true):
        for op in OPS:
            dispatched.clear()
            with lk.fast_path(True, min_size=0, force=True):
                result = _call(loss, op, p, y, w)
            assert dispatched in ([], [None]), f"{case.id} {what} {op}: not declined"
            reference = _reference(loss, op, p, y, w)
            for a, b in zip(*(r if isinstance(r, tuple) else (r,) for r in (result, reference)),
                            strict=True):
                assert type(a) is type(b) and np.array_equal(a, b), f"{case.id} {what} {op}"


@pytest.mark.parametrize("shape", [(), (0,), (0, 3)], ids=["0-d", "empty", "empty 2-D"])
def test_scalars_and_empty_inputs_raise_as_the_reference_does(shape: tuple[int, ...]) -> None:
    loss = lk.get("squared_error")
    y_pred, y_true = np.ones(shape), np.zeros(shape)
    for op in OPS:
        with lk.fast_path(True, min_size=0, force=True), pytest.raises(ValueError) as fast_error:
            _call(loss, op, y_pred, y_true, None)
        with lk.fast_path(False), pytest.raises(ValueError) as reference_error:
            _call(loss, op, y_pred, y_true, None)
        assert str(fast_error.value) == str(reference_error.value)


@pytest.mark.parametrize("name", ["squared_error", "huber", "log_cosh", "quantile"])
def test_error_losses_under_the_log_link_take_the_reference_path(
        name: str, dispatched: list[Any]) -> None:
    loss = lk.get(name, link="log")
    assert fast_module.kernels_for(loss) is None
    y_pred, y_true = _inputs(Case(name, {}), np.float64, "random")
    with lk.fast_path(True, min_size=0, force=True):
        value = loss(y_pred, y_true)
    assert dispatched == [None]
    assert value == _reference(loss, "mean", y_pred, y_true, None)


#: Each formula with float32 parameters in its provider's layout.
FORMULA_PARAMS: dict[str, tuple[Any, ...]] = {
    "_squared_error": (), "_absolute_error": (), "_huber": (1.0, 0.5),
    "_pseudo_huber": (1.0,), "_log_cosh": (), "_piecewise_linear": (0.1, 0.9, -0.1, -0.1, 0.9),
    "_expectile": (0.5, 0.5), "_poisson_identity": (), "_poisson_log": (),
    "_gamma_identity": (), "_gamma_log": (),
    "_tweedie_identity": (kernels_module._GENERAL, 1.5, 0.5, -0.5, -1.5, -2.5),
    "_tweedie_log": (kernels_module._GENERAL, 0.5, -0.5),
}


@pytest.mark.parametrize("name", list(FORMULA_PARAMS))
def test_formulas_compute_in_float32(name: str) -> None:
    """A float32 input is computed in float32, as the reference's NumPy arithmetic is."""
    formula = getattr(kernels_module, name)
    params = tuple(p if isinstance(p, int) else np.float32(p) for p in FORMULA_PARAMS[name])
    formula(np.float32(1.5), np.float32(2.0), params)
    signature = next(s for s in formula.nopython_signatures if s.args[0] == numba.float32)
    assert signature.return_type == numba.types.UniTuple(numba.float32, 3)
