"""The exact piecewise-linear solvers against independent oracles.

Oracles: scikit-learn's ``QuantileRegressor(solver="highs")`` (the HiGHS LP solver) for
quantile, absolute-error and asymmetric fits, with weights and L1 penalties;
``scipy.optimize.linprog(method="highs")`` on the hinge LP written out by hand;
``sklearn.svm.SVC(kernel="linear")`` (libsvm) for the hinge with an L2 penalty.
Targets: objective within 1e-8 relative, coefficients within 1e-6 (where unique).
"""

from __future__ import annotations

import importlib
import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

import losskit as lk
from losskit.linear_model import _conquer
from losskit.linear_model import _interior_point as _interior

interior_point = _interior.interior_point
conquer = _conquer.conquer

sklearn_linear = pytest.importorskip("sklearn.linear_model")
QuantileRegressor = sklearn_linear.QuantileRegressor

OBJECTIVE_RTOL = 1e-8
COEF_ATOL = 1e-6


def _data(n: int = 300, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + rng.standard_t(3, size=n)
    return X, y


def _with_intercept(X: np.ndarray) -> np.ndarray:
    return np.column_stack([X, np.ones(X.shape[0])])


def _highs(X: np.ndarray, y: np.ndarray, q: float, *, alpha: float = 0.0,
           sample_weight: np.ndarray | None = None) -> np.ndarray:
    """(coef..., intercept) from HiGHS: min (1/sum w) sum w pinball + alpha |coef|_1."""
    model = QuantileRegressor(quantile=q, alpha=alpha, solver="highs")
    model.fit(X, y, sample_weight=sample_weight)
    return np.append(model.coef_, model.intercept_)


def _objective(loss, X1, y, coef, w=None, l1=0.0, mask=None) -> float:
    penalised = coef if mask is None else coef[mask]
    return float(loss(X1 @ coef, y, sample_weight=w)) + l1 * float(np.sum(np.abs(penalised)))


def _assert_same_optimum(result, reference_objective, reference_coef=None):
    assert result.converged, result.message
    assert result.objective == pytest.approx(reference_objective, rel=OBJECTIVE_RTOL, abs=1e-14)
    if reference_coef is not None:
        np.testing.assert_allclose(result.coef, reference_coef, rtol=0, atol=COEF_ATOL)
    gap = result.certificate["relative_gap"]
    assert abs(gap) <= 1e-10, result.certificate


@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("preprocess", [False, True])
def test_quantile_matches_highs(q, preprocess):
    X, y = _data(n=400, d=5, seed=1)
    X1 = _with_intercept(X)
    loss = lk.get("quantile", q=q)
    reference = _highs(X, y, q)
    result = interior_point(X1, y, loss=loss, preprocess=preprocess)
    _assert_same_optimum(result, _objective(loss, X1, y, reference), reference)
    assert result.certificate["vertex"]


@pytest.mark.parametrize("q", [0.25, 0.9])
def test_weighted_quantile_matches_highs(q):
    X, y = _data(n=300, d=4, seed=2)
    rng = np.random.default_rng(5)
    w = np.asarray(rng.uniform(0.1, 3.0, size=y.shape[0]))
    w[:15] = 0.0  # zero weights: the rows take no part
    X1 = _with_intercept(X)
    loss = lk.get("quantile", q=q)
    reference = _highs(X, y, q, sample_weight=w)
    result = interior_point(X1, y, loss=loss, sample_weight=w)
    _assert_same_optimum(result, _objective(loss, X1, y, reference, w), reference)


@pytest.mark.parametrize(("q", "alpha", "preprocess"),
                         [(0.3, 0.02, False), (0.8, 0.005, True), (0.5, 0.2, False)])
def test_l1_penalised_quantile_matches_highs(q, alpha, preprocess):
    # scikit-learn minimises (1/n) sum pinball + alpha |coef|_1, intercept unpenalised:
    # losskit's alpha with l1_ratio = 1 and the intercept column left out of the mask.
    X, y = _data(n=250, d=5, seed=3)
    X1 = _with_intercept(X)
    mask = np.append(np.ones(X.shape[1], dtype=bool), False)
    loss = lk.get("quantile", q=q)
    reference = _highs(X, y, q, alpha=alpha)
    result = interior_point(X1, y, loss=loss, penalized=mask, alpha=alpha,
                            preprocess=preprocess)
    _assert_same_optimum(result, _objective(loss, X1, y, reference, l1=alpha, mask=mask),
                         reference)


def test_absolute_error_and_asymmetric_are_scaled_quantile_fits():
    X, y = _data(n=300, d=3, seed=4)
    X1 = _with_intercept(X)
    # absolute error = 2 pinball(1/2); asymmetric(alpha=3) = 4 pinball(3/4).
    for loss, q, factor in [(lk.get("absolute_error"), 0.5, 2.0),
                            (lk.get("asymmetric", alpha=3.0), 0.75, 4.0)]:
        reference = _highs(X, y, q)
        pinball = _objective(lk.get("quantile", q=q), X1, y, reference)
        result = interior_point(X1, y, loss=loss)
        _assert_same_optimum(result, factor * pinball, reference)


def _hinge_linprog(A: np.ndarray, w: np.ndarray, l1: float, penalised: np.ndarray
                   ) -> tuple[float, np.ndarray]:
    """min (1/sum w) sum w xi + l1 |beta_P|_1  s.t.  xi >= 1 - A beta, xi >= 0 (HiGHS)."""
    n, p = A.shape
    free = np.flatnonzero(~penalised)
    pen = np.flatnonzero(penalised)
    # variables: beta_free, beta_plus (pen), beta_minus (pen), xi
    c = np.concatenate([np.zeros(free.size), np.full(2 * pen.size, l1), w / w.sum()])
    A_ub = np.hstack([-A[:, free], -A[:, pen], A[:, pen], -np.eye(n)])
    bounds = [(None, None)] * free.size + [(0, None)] * (2 * pen.size + n)
    solved = linprog(c, A_ub=A_ub, b_ub=-np.ones(n), bounds=bounds, method="highs")
    assert solved.status == 0
    beta = np.zeros(p)
    beta[free] = solved.x[: free.size]
    beta[pen] = solved.x[free.size: free.size + pen.size] - solved.x[free.size + pen.size:
                                                                     free.size + 2 * pen.size]
    return float(solved.fun), beta


@pytest.mark.parametrize(("l1", "preprocess"), [(0.0, False), (0.01, False), (0.0, True)])
def test_hinge_matches_linprog(l1, preprocess):
    rng = np.random.default_rng(6)
    n, d = 400 if preprocess else 200, 4
    X = rng.normal(size=(n, d))
    labels = (X @ rng.normal(size=d) + rng.normal(size=n) > 0).astype(float)
    w = rng.uniform(0.2, 2.0, size=n)
    X1 = _with_intercept(X)
    mask = np.append(np.ones(d, dtype=bool), False)
    signs = np.where(labels == 0, -1.0, 1.0)
    value, beta = _hinge_linprog(signs[:, None] * X1, w, l1, mask)
    result = interior_point(X1, labels, loss=lk.get("hinge"), sample_weight=w, penalized=mask,
                            alpha=l1, preprocess=preprocess)
    _assert_same_optimum(result, value, beta)
    # {-1, 1} labels give the same fit.
    again = interior_point(X1, signs, loss=lk.get("hinge"), sample_weight=w, penalized=mask,
                           alpha=l1)
    np.testing.assert_allclose(again.coef, result.coef, rtol=0, atol=1e-12)


def test_hinge_with_l2_matches_libsvm():
    svm = pytest.importorskip("sklearn.svm")
    rng = np.random.default_rng(7)
    n, d, alpha = 200, 4, 0.05
    X = rng.normal(size=(n, d))
    labels = (X @ rng.normal(size=d) + rng.normal(size=n) > 0).astype(float)
    w = rng.uniform(0.5, 2.0, size=n)
    X1 = _with_intercept(X)
    mask = np.append(np.ones(d, dtype=bool), False)
    # (1/sum w) sum w hinge + alpha/2 |coef|^2  <=>  SVC with C = 1 / (alpha sum w).
    model = svm.SVC(kernel="linear", C=1.0 / (alpha * w.sum()), tol=1e-12, max_iter=10**7)
    model.fit(X, labels, sample_weight=w)
    reference = np.append(model.coef_.ravel(), model.intercept_)
    hinge = lk.get("hinge")
    value = float(hinge(X1 @ reference, labels, sample_weight=w))
    value += 0.5 * alpha * float(reference[:d] @ reference[:d])
    result = interior_point(X1, labels, loss=hinge, sample_weight=w, penalized=mask,
                            alpha=alpha, l1_ratio=0.0)
    assert result.converged, result.certificate
    assert not result.certificate["vertex"]  # a QP: certified by the interior-point gap
    # libsvm stops at its own tolerance: our optimum may only be lower, and barely.
    assert result.objective <= value * (1 + 1e-12)
    assert result.objective == pytest.approx(value, rel=1e-8)
    np.testing.assert_allclose(result.coef, reference, rtol=0, atol=1e-6)


def _one_dimensional_minimum(objective, kinks: np.ndarray, curvature: float) -> float:
    """Exact minimum of a convex 1-d function, piecewise quadratic between ``kinks`` with
    second derivative ``curvature``: at a kink or at a piece's stationary point."""
    kinks = np.unique(kinks)
    candidates = list(kinks)
    edges = np.concatenate([[kinks[0] - 1e3], kinks, [kinks[-1] + 1e3]])
    for low, high in itertools.pairwise(edges):
        middle, half = 0.5 * (low + high), 0.25 * (high - low)
        slope = (objective(middle + half) - objective(middle - half)) / (2 * half)
        stationary = middle - slope / curvature  # the piece's gradient is zero there
        candidates.append(float(np.clip(stationary, low, high)))
    return min(candidates, key=objective)


@pytest.mark.parametrize("l1_ratio", [0.0, 0.5])
def test_elastic_net_quantile_matches_a_one_dimensional_oracle(l1_ratio):
    # A quadratic programme with one coefficient: the exact minimiser by enumeration.
    rng = np.random.default_rng(15)
    x = rng.normal(size=40)
    y = 0.7 * x + rng.standard_t(3, size=40)
    q, alpha = 0.3, 0.4
    loss = lk.get("quantile", q=q)

    def objective(beta: float) -> float:
        return (float(loss(beta * x, y)) + alpha * l1_ratio * abs(beta)
                + 0.5 * alpha * (1 - l1_ratio) * beta**2)

    best = _one_dimensional_minimum(objective, np.append(y / x, 0.0), alpha * (1 - l1_ratio))
    result = interior_point(x[:, None], y, loss=loss, alpha=alpha, l1_ratio=l1_ratio)
    assert result.converged, result.certificate
    assert result.objective == pytest.approx(objective(best), rel=1e-9)
    assert result.coef[0] == pytest.approx(best, abs=1e-7)
    assert abs(result.certificate["relative_gap"]) <= 1e-9


def test_separable_hinge_reaches_zero():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(60, 2))
    labels = (X[:, 0] + X[:, 1] > 0).astype(float)
    X1 = _with_intercept(X)
    X1[:, :2] += np.where(labels == 1, 0.5, -0.5)[:, None]  # a margin
    result = interior_point(X1, labels, loss=lk.get("hinge"))
    assert result.converged
    assert result.objective == pytest.approx(0.0, abs=1e-10)
    assert np.all(np.where(labels == 1, 1, -1) * (X1 @ result.coef) >= 1 - 1e-9)


def test_duplicate_rows_equal_doubled_weights():
    X, y = _data(n=120, d=3, seed=9)
    X1 = _with_intercept(X)
    loss = lk.get("quantile", q=0.7)
    doubled = interior_point(np.vstack([X1, X1]), np.concatenate([y, y]), loss=loss)
    weighted = interior_point(X1, y, loss=loss, sample_weight=np.full(y.shape[0], 2.0))
    reference = _highs(X, y, 0.7)
    _assert_same_optimum(doubled, _objective(loss, X1, y, reference), reference)
    _assert_same_optimum(weighted, _objective(loss, X1, y, reference), reference)


def test_constant_target_is_fitted_exactly():
    X, _ = _data(n=50, d=3, seed=10)
    X1 = _with_intercept(X)
    y = np.full(50, 2.5)
    result = interior_point(X1, y, loss=lk.get("quantile", q=0.3))
    assert result.converged
    assert result.objective == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(result.coef, [0, 0, 0, 2.5], atol=1e-10)


def test_non_unique_solution_has_the_unique_optimal_value():
    # Median of an even sample: every intercept between the two middle values is optimal.
    y = np.array([1.0, 2.0, 4.0, 7.0, 8.0, 30.0])
    X1 = np.ones((6, 1))
    loss = lk.get("absolute_error")
    result = interior_point(X1, y, loss=loss)
    best = np.mean(np.abs(y - 5.5))  # any c in [4, 7]: (30+8+7-4-2-1)/6 = 38/6
    assert result.converged
    assert result.objective == pytest.approx(best, rel=1e-12)
    assert 4.0 - 1e-12 <= result.coef[0] <= 7.0 + 1e-12
    # A duplicated column: coefficients are not determined, the optimal value is.
    X, y2 = _data(n=200, d=2, seed=11)
    X1 = _with_intercept(X)
    collinear = np.column_stack([X1, X1[:, 0]])
    q_loss = lk.get("quantile", q=0.4)
    reference = _highs(X, y2, 0.4)
    result = interior_point(collinear, y2, loss=q_loss)
    assert result.objective == pytest.approx(_objective(q_loss, X1, y2, reference),
                                             rel=1e-8)


def test_too_few_rows_is_rejected_unless_penalised():
    X, y = _data(n=4, d=6, seed=12)
    loss = lk.get("quantile", q=0.5)
    with pytest.raises(ValueError, match="at least 6 rows"):
        interior_point(X, y, loss=loss)
    with pytest.raises(ValueError, match="at least 6 rows"):  # zero weights do not count
        interior_point(_data(n=8, d=6)[0], _data(n=8, d=6)[1], loss=loss,
                       sample_weight=np.array([1, 1, 1, 1, 0, 0, 0, 0.0]))
    result = interior_point(X, y, loss=loss, alpha=0.05)
    assert result.converged
    assert result.certificate["relative_gap"] <= 1e-10


@pytest.mark.parametrize("bad", [lk.get("squared_error"), lk.get("huber"), "quantile"])
def test_other_losses_are_rejected(bad):
    X, y = _data(n=20, d=2)
    with pytest.raises(ValueError, match="interior-point solver must be one of"):
        interior_point(X, y, loss=bad)


def test_bad_inputs_are_named():
    X, y = _data(n=20, d=2)
    loss = lk.get("quantile", q=0.5)
    with pytest.raises(ValueError, match="link"):
        interior_point(X, y, loss=lk.get("quantile", q=0.5, link="log"))
    with pytest.raises(ValueError, match="sample_weight"):
        interior_point(X, y, loss=loss, sample_weight=-np.ones(20))
    with pytest.raises(ValueError, match="y must have shape"):
        interior_point(X, y[:-1], loss=loss)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="X must be finite"):
        interior_point(bad, y, loss=loss)
    with pytest.raises(ValueError, match="penalized"):
        interior_point(X, y, loss=loss, penalized=np.ones(5, dtype=bool))
    with pytest.raises(ValueError, match="y_true"):
        interior_point(X, y, loss=lk.get("hinge"))  # not labels


def test_inputs_are_not_mutated():
    X, y = _data(n=100, d=3)
    labels = (y > 0).astype(float)
    w = np.linspace(0.0, 2.0, 100)
    copies = (X.copy(), y.copy(), labels.copy(), w.copy())
    interior_point(X, y, loss=lk.get("quantile", q=0.2), sample_weight=w, alpha=0.01)
    interior_point(X, labels, loss=lk.get("hinge"), sample_weight=w)
    conquer(X, y, loss=lk.get("quantile", q=0.2), sample_weight=w)
    for before, after in zip(copies, (X, y, labels, w), strict=True):
        np.testing.assert_array_equal(before, after)


# ------------------------------------------------------------------------ conquer
def _smoothed_by_truncated_moments(r: np.ndarray, q: float, h: float) -> float:
    """mean E rho_q(r + h Z), Z ~ N(0, 1), from scipy's truncated-normal mean.

    rho_q(e) = q e - e 1[e < 0], and E[(r + hZ) 1[Z < k]] = P(Z < k) (r + h E[Z | Z < k])
    with k = -r/h.
    """
    from scipy.stats import norm, truncnorm

    k = -r / h
    below = norm.cdf(k) * (r + h * truncnorm.mean(-np.inf, k))
    return float(np.mean(q * r - below))


@pytest.mark.parametrize("q", [0.5, 0.8])
def test_conquer_minimises_the_smoothed_loss_near_the_exact_optimum(q):
    X, y = _data(n=3000, d=4, seed=13)
    X1 = _with_intercept(X)
    loss = lk.get("quantile", q=q)
    result = conquer(X1, y, loss=loss)
    exact = interior_point(X1, y, loss=loss)
    h = result.certificate["bandwidth"]
    assert result.converged
    # Its smoothed objective is the Gaussian convolution of the pinball loss ...
    smoothed = _smoothed_by_truncated_moments(y - X1 @ result.coef, q, h)
    assert result.certificate["smoothed_objective"] == pytest.approx(smoothed, rel=1e-9)
    # ... at a minimum of it (no random direction lowers it) ...
    rng = np.random.default_rng(0)
    for _ in range(3):
        step = 1e-3 * rng.normal(size=X1.shape[1])
        assert _smoothed_by_truncated_moments(y - X1 @ (result.coef + step), q, h) > smoothed
    # ... and its exact objective is above the exact minimum, by little.
    assert exact.objective <= result.objective <= exact.objective * (1 + 1e-3)
    assert np.max(np.abs(result.coef - exact.coef)) < 0.1


def test_conquer_serves_hinge_and_rejects_bad_bandwidth():
    rng = np.random.default_rng(14)
    X = _with_intercept(rng.normal(size=(500, 3)))
    labels = (X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=500) > 0).astype(float)
    hinge = lk.get("hinge")
    smooth = conquer(X, labels, loss=hinge)
    exact = interior_point(X, labels, loss=hinge)
    assert exact.objective <= smooth.objective <= exact.objective * 1.02
    with pytest.raises(ValueError, match="bandwidth"):
        conquer(X, labels, loss=hinge, bandwidth=0.0)


# ---------------------------------------------------------------------- benchmark
def test_benchmark_machinery_runs_and_agrees(monkeypatch):
    """benchmarks/fit.py on a tiny size: every competitor reaches losskit's optimum."""
    import sys
    from pathlib import Path

    pytest.importorskip("statsmodels")
    root = str(Path(__file__).resolve().parents[1])
    monkeypatch.syspath_prepend(root)  # benchmarks/ lives beside src/
    sys.modules.pop("benchmarks", None)
    fit_benchmark = importlib.import_module("benchmarks.fit")
    config = fit_benchmark.Config(sizes=(300,), features=3, quantiles=(0.3,), rounds=1)
    report = fit_benchmark.run_benchmark(["quantile"], config)
    (row,) = report.rows
    assert set(row.timings) == {"losskit", "conquer", "sklearn", "statsmodels"}
    assert abs(row.relative_objective("sklearn")) <= 1e-10
    assert 0 <= row.relative_objective("statsmodels") <= 1e-4  # IRLS: approximate
    assert 0 <= row.relative_objective("conquer") <= 1e-1  # a smoothed objective
    text = fit_benchmark.format_report(report)
    assert "x sklearn" in text and "Growth of time" in text
    with pytest.raises(ValueError, match="unknown section"):
        fit_benchmark.run_benchmark(["nope"], config)
