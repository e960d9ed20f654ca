"""``lk.fit`` against independent references, on the references' own problems.

Each test maps the reference's objective onto losskit's (weighted mean loss plus
``alpha * (rho ||B||_1 + (1 - rho)/2 ||B||_2^2)``), says how in a comment, runs the
reference with a tight tolerance and compares the objective (relative 1e-8, evaluated
by losskit at both solutions) and the coefficients (1e-6).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import losskit as lk
from losskit.linear_model import ConvergenceWarning, FitResult, raw_score_loss

sklearn_linear = pytest.importorskip("sklearn.linear_model")


def regression_data(n: int = 300, d: int = 5, seed: int = 0,
                    noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    beta = np.linspace(-1.0, 2.0, d)
    return X, X @ beta + 0.5 + noise * rng.standard_t(3, size=n)


def weights(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.2, 3.0, size=n)


def objective_at(result: FitResult, X: np.ndarray, y: np.ndarray,
                 coef: np.ndarray, intercept: object, w: np.ndarray | None = None) -> float:
    """losskit's objective at someone else's coefficients."""
    scores = X @ coef + intercept
    value = float(result.loss(scores, y, sample_weight=w))
    rho, alpha = result.l1_ratio, result.alpha
    return value + alpha * (rho * np.sum(np.abs(coef)) + 0.5 * (1 - rho) * np.sum(coef**2))


def assert_same_optimum(result: FitResult, X: np.ndarray, y: np.ndarray,
                        coef: np.ndarray, intercept: object, w: np.ndarray | None = None,
                        coef_tol: float = 1e-6) -> None:
    assert result.converged
    reference = objective_at(result, X, y, coef, intercept, w)
    ours = objective_at(result, X, y, result.coef, result.intercept, w)
    assert ours == pytest.approx(result.objective, rel=1e-12)
    assert ours <= reference * (1 + 1e-8) + 1e-15, (ours, reference)
    assert ours == pytest.approx(reference, rel=1e-8)
    np.testing.assert_allclose(result.coef, coef, atol=coef_tol, rtol=coef_tol)


# ------------------------------------------------------------- least squares
@pytest.mark.parametrize("weighted", [False, True])
def test_squared_error_is_least_squares(weighted: bool) -> None:
    X, y = regression_data()
    w = weights(len(y)) if weighted else None
    root = np.sqrt(w if w is not None else np.ones(len(y)))
    design = np.c_[X, np.ones(len(y))]
    solution = np.linalg.lstsq(design * root[:, None], y * root, rcond=None)[0]
    result = lk.fit(X, y, "squared_error", sample_weight=w)
    assert result.solver == "newton"
    assert_same_optimum(result, X, y, solution[:-1], solution[-1], w, coef_tol=1e-10)
    assert result.intercept == pytest.approx(solution[-1], abs=1e-10)


def test_ridge() -> None:
    # sklearn Ridge: sum_i w_i e_i^2 + a ||B||^2. Divided by sum(w):
    # mean + (a / sum w) ||B||^2 = mean + alpha/2 ||B||^2 with alpha = 2 a / sum(w).
    X, y = regression_data()
    w = weights(len(y))
    reference = sklearn_linear.Ridge(alpha=3.0, tol=1e-14, solver="cholesky").fit(
        X, y, sample_weight=w)
    result = lk.fit(X, y, "mse", penalty="l2", alpha=2 * 3.0 / w.sum(), sample_weight=w)
    assert_same_optimum(result, X, y, reference.coef_, reference.intercept_, w)


def test_fit_without_intercept_matches_lstsq() -> None:
    X, y = regression_data()
    solution = np.linalg.lstsq(X, y, rcond=None)[0]
    result = lk.fit(X, y, "mse", fit_intercept=False)
    assert result.intercept == 0.0
    np.testing.assert_allclose(result.coef, solution, atol=1e-10)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.4])
def test_lasso_and_elastic_net(l1_ratio: float) -> None:
    # sklearn ElasticNet: (1/2n)||e||^2 + a r ||B||_1 + a (1 - r)/2 ||B||^2; times 2:
    # mean e^2 + 2 a r ||B||_1 + a (1 - r) ||B||^2, i.e. alpha = 2a, rho = r.
    X, y = regression_data(d=8)
    a = 0.2
    reference = sklearn_linear.ElasticNet(alpha=a, l1_ratio=l1_ratio, tol=1e-14,
                                          max_iter=100_000).fit(X, y)
    penalty = "l1" if l1_ratio == 1.0 else "elasticnet"
    result = lk.fit(X, y, "mse", penalty=penalty, alpha=2 * a, l1_ratio=l1_ratio)
    assert result.solver == "proximal"
    assert_same_optimum(result, X, y, reference.coef_, reference.intercept_)
    assert np.sum(result.coef == 0.0) == np.sum(reference.coef_ == 0.0) > 0


# --------------------------------------------------------------- classifiers
def classification_data(n: int = 400, d: int = 4, classes: int = 2,
                        seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    scores = X @ rng.normal(size=(d, classes)) + rng.gumbel(size=(n, classes))
    return X, np.argmax(scores, axis=1).astype(float)


@pytest.mark.parametrize("weighted", [False, True])
def test_logistic_regression_binary(weighted: bool) -> None:
    # sklearn: C sum_i w_i logloss_i + 1/2 ||B||^2; divided by C sum(w):
    # mean + alpha/2 ||B||^2 with alpha = 1 / (C sum(w)).
    X, y = classification_data()
    w = weights(len(y)) if weighted else np.ones(len(y))
    C = 0.5
    reference = sklearn_linear.LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(
        X, y, sample_weight=w)
    result = lk.fit(X, y, "binary_cross_entropy", penalty="l2", alpha=1 / (C * w.sum()),
                    sample_weight=w)
    assert result.loss.link.name == "logit" and result.solver == "newton"
    assert_same_optimum(result, X, y, reference.coef_[0], reference.intercept_[0], w)


def test_logistic_regression_multinomial() -> None:
    X, y = classification_data(classes=3)
    C = 2.0
    reference = sklearn_linear.LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    result = lk.fit(X, y, "cross_entropy", penalty="l2", alpha=1 / (C * len(y)))
    assert result.loss.link.name == "softmax" and result.coef.shape == (4, 3)
    # Intercepts are unpenalised and defined up to a common shift: compare centred.
    centred = reference.intercept_ - reference.intercept_.mean()
    assert_same_optimum(result, X, y, reference.coef_.T, centred)
    np.testing.assert_allclose(result.intercept - result.intercept.mean(), centred,
                               atol=1e-6)
    np.testing.assert_allclose(result.predict(X), reference.predict_proba(X), atol=1e-7)


def test_multinomial_l1_matches_saga() -> None:
    # sklearn (l1_ratio=1): C sum CE + ||B||_1; divided by C n: mean + alpha ||B||_1 with
    # alpha = 1/(C n). losskit takes accelerated proximal gradient here (multiclass).
    X, y = classification_data(n=300, d=5, classes=3)
    C = 0.5
    reference = sklearn_linear.LogisticRegression(C=C, l1_ratio=1.0, solver="saga", tol=1e-12,
                                                  max_iter=100_000).fit(X, y)
    result = lk.fit(X, y, "cross_entropy", penalty="l1", alpha=1 / (C * len(y)))
    assert result.solver == "proximal" and result.certificate["subgradient_norm"] < 1e-8
    centred = reference.intercept_ - reference.intercept_.mean()
    assert_same_optimum(result, X, y, reference.coef_.T, centred, coef_tol=1e-6)
    np.testing.assert_array_equal(result.coef == 0, reference.coef_.T == 0)


# ---------------------------------------------------------------------- GLMs
@pytest.mark.parametrize(("loss", "estimator"), [
    (lk.Poisson(), lambda: sklearn_linear.PoissonRegressor(alpha=0.1, tol=1e-12,
                                                           max_iter=10_000)),
    (lk.Gamma(), lambda: sklearn_linear.GammaRegressor(alpha=0.1, tol=1e-12,
                                                       max_iter=10_000)),
    (lk.Tweedie(power=1.5), lambda: sklearn_linear.TweedieRegressor(
        power=1.5, link="log", alpha=0.1, tol=1e-12, max_iter=10_000)),
])
def test_glm_regressors(loss: lk.Loss, estimator: object) -> None:
    # sklearn's GLMs: mean half-deviance + alpha/2 ||B||^2. losskit's poisson, gamma
    # and tweedie are the half-deviances up to terms in y alone: same alpha.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 4)) * 0.5
    mean = np.exp(X @ np.array([0.3, -0.2, 0.1, 0.4]) + 0.5)
    y = rng.poisson(mean).astype(float) if loss.name == "poisson" else \
        rng.gamma(2.0, mean / 2.0)
    w = weights(len(y))
    reference = estimator().fit(X, y, sample_weight=w)  # type: ignore[attr-defined]
    result = lk.fit(X, y, loss, penalty="l2", alpha=0.1, sample_weight=w)
    assert result.loss.link.name == "log"
    assert_same_optimum(result, X, y, reference.coef_, reference.intercept_, w)
    np.testing.assert_allclose(result.predict(X), reference.predict(X), rtol=1e-6)


# ------------------------------------------------------ piecewise-linear, exact
@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
def test_quantile_regression_matches_highs(q: float) -> None:
    X, y = regression_data(n=200, d=3)
    reference = sklearn_linear.QuantileRegressor(quantile=q, alpha=0.0,
                                                 solver="highs").fit(X, y)
    result = lk.fit(X, y, lk.Quantile(q=q))
    assert result.solver == "interior_point"
    assert_same_optimum(result, X, y, reference.coef_, reference.intercept_)


def test_linear_svm_matches_libsvm() -> None:
    # libsvm (SVC, linear kernel): 1/2 ||B||^2 + C sum hinge; divided by C n:
    # mean hinge + alpha/2 ||B||^2 with alpha = 1/(C n). A QP: the interior point solves
    # it exactly.
    from sklearn.svm import SVC

    X, y = classification_data(n=200, d=3)
    C = 0.7
    reference = SVC(kernel="linear", C=C, tol=1e-12).fit(X, y)
    result = lk.fit(X, y, "hinge", penalty="l2", alpha=1 / (C * len(y)))
    assert result.solver == "interior_point"
    assert_same_optimum(result, X, y, reference.coef_[0], reference.intercept_[0],
                        coef_tol=1e-5)


def test_conquer_is_close_to_the_exact_quantile_fit() -> None:
    X, y = regression_data(n=3000, d=3)
    exact = lk.fit(X, y, lk.Quantile(q=0.7))
    smooth = lk.fit(X, y, lk.Quantile(q=0.7), solver="conquer")
    assert smooth.solver == "conquer" and smooth.objective >= exact.objective
    assert smooth.objective == pytest.approx(exact.objective, rel=1e-3)


# ------------------------------------------- losses no library fits: scipy
def _log_cosh(e: np.ndarray) -> np.ndarray:
    return np.logaddexp(e, -e) - np.log(2.0)


@pytest.mark.parametrize(("loss", "formula"), [
    (lk.LogCosh(), _log_cosh),
    (lk.PseudoHuber(delta=0.7), lambda e: 0.49 * (np.sqrt(1 + (e / 0.7) ** 2) - 1)),
    (lk.Expectile(tau=0.8), lambda e: np.where(e < 0, 0.8, 0.2) * e**2),
    (lk.Huber(delta=0.5), lambda e: np.where(np.abs(e) <= 0.5, 0.5 * e**2,
                                             0.5 * (np.abs(e) - 0.25))),
])
def test_smooth_robust_losses_match_scipy(loss: lk.Loss, formula: object) -> None:
    from scipy.optimize import minimize

    X, y = regression_data(n=300, d=3)

    def objective(theta: np.ndarray) -> float:
        return float(np.mean(formula(X @ theta[:-1] + theta[-1] - y)))  # type: ignore[operator]

    reference = minimize(objective, np.zeros(4), method="BFGS",
                         options={"gtol": 1e-12, "xrtol": 1e-14})
    result = lk.fit(X, y, loss)
    assert result.objective == pytest.approx(objective(np.r_[result.coef, result.intercept]),
                                             rel=1e-12)
    assert result.objective <= reference.fun * (1 + 1e-10)
    np.testing.assert_allclose(result.coef, reference.x[:-1], atol=1e-5)


def test_custom_loss_is_fitted() -> None:
    X, y = regression_data(n=200, d=2)

    def cauchy(y_pred, y_true, xp):  # type: ignore[no-untyped-def]
        return xp.log1p((y_pred - y_true) ** 2)

    custom = lk.custom(cauchy, name="cauchy_fit_test")
    result = lk.fit(X, y, custom)
    clean = lk.fit(X[:, :], y, lk.LogCosh())
    assert result.converged
    np.testing.assert_allclose(result.coef, clean.coef, atol=0.3)  # both robust fits
    assert result.objective == pytest.approx(
        float(np.mean(np.log1p((X @ result.coef + result.intercept - y) ** 2))), rel=1e-10)


def test_intercept_starts_at_the_optimal_constant() -> None:
    X, y = regression_data()
    # With zero features the best intercept is the loss's optimal constant.
    for loss in (lk.get("mae"), lk.Quantile(q=0.8), lk.Huber(), lk.Poisson(link="log")):
        target = np.abs(y) if loss.name == "poisson" else y
        constant = float(loss.optimal_constant(target))
        zero = lk.fit(np.zeros_like(X), target, loss)
        # The objective is what is unique (a median of an even sample is an interval).
        assert zero.objective == pytest.approx(
            float(loss(np.full(len(y), constant), target)), rel=1e-12)


def test_newton_finishes_what_lbfgs_cannot() -> None:
    # Columns on scales from 1e-3 to 1e3: L-BFGS stalls; Newton (the same problem, the
    # full Hessian) reaches tol from where it stopped.
    rng = np.random.default_rng(0)
    n, d = 6000, 40
    scales = np.logspace(-3, 3, d)
    X = rng.normal(size=(n, d)) * scales
    y = (X @ (rng.normal(size=d) / scales) + rng.logistic(size=n) > 0).astype(float)
    result = lk.fit(X, y, "bce", penalty="l2", alpha=1e-6)
    newton = lk.fit(X, y, "bce", penalty="l2", alpha=1e-6, solver="newton")
    assert result.solver == "lbfgs+newton" and result.converged
    assert result.objective == pytest.approx(newton.objective, rel=1e-12)


# ------------------------------------------------------------ bad input
def test_bad_input_gives_clear_errors() -> None:
    X, y = regression_data(n=20)
    with pytest.raises(ValueError, match="X has 20 rows but y has 19"):
        lk.fit(X, y[:-1], "mse")
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"X must be finite; got nan at row 3, column 1"):
        lk.fit(bad, y, "mse")
    with pytest.raises(ValueError, match="single class"):
        lk.fit(X, np.ones(20), "binary_cross_entropy")
    with pytest.raises(ValueError, match="y_true for 'poisson' must be"):
        lk.fit(X, y, "poisson")
    with pytest.raises(ValueError, match="penalty must be one of"):
        lk.fit(X, y, "mse", penalty="l3")
    with pytest.raises(ValueError, match="solver='interior_point' solves piecewise-linear"):
        lk.fit(X, y, "mse", solver="interior_point")
    with pytest.raises(ValueError, match="unknown loss 'hubr'; did you mean 'huber'"):
        lk.fit(X, y, "hubr")
    with pytest.raises(ValueError, match="'ranknet' is a structured loss"):
        lk.fit(X, y, "ranknet")
    with pytest.raises(ValueError, match="X must be 2-D"):
        lk.fit(X[:, 0], y, "mse")
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        lk.fit(X, y, "mse", sample_weight=np.ones(3))


def test_no_convergence_is_reported() -> None:
    X, y = classification_data()
    with pytest.warns(ConvergenceWarning, match="did not converge in 1 iterations"):
        result = lk.fit(X, y, "bce", max_iter=1)
    assert not result.converged


def test_inputs_are_not_mutated() -> None:
    X, y = regression_data()
    w = weights(len(y))
    copies = X.copy(), y.copy(), w.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lk.fit(X, y, "huber", sample_weight=w)
    for original, copy in zip((X, y, w), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


# ---------------------------------------------------- every registered loss
def _pointwise_names() -> list[str]:
    return [name for name in lk.list_losses() if lk.registry.loss_class(name).pointwise]


@pytest.mark.parametrize("name", _pointwise_names())
def test_every_registered_loss_fits(name: str) -> None:
    """The fit runs, beats the intercept-only model it starts from, and its result is
    a stationary point: the gradient of the objective (finite differences of losskit's
    own value, an oracle independent of the solver's derivatives) is small."""
    loss = raw_score_loss(lk.get(name))
    n = 400
    _, y = loss.example(n, seed=5)
    rng = np.random.default_rng(6)
    X = rng.normal(size=(n, 3))
    y = np.asarray(y)
    if loss.multiclass:
        labels = np.argmax(y, axis=-1) if y.ndim == 2 else y
        if loss.name != "kl_divergence":  # it takes probability rows only
            y = labels.astype(float)
        X[:, 0] += labels  # make the classes learnable
    else:
        X[:, 0] += (y - y.mean()) / (y.std() + 1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = lk.fit(X, y, loss, penalty="l2", alpha=1e-3)
        start = lk.fit(np.zeros_like(X), y, loss, penalty="l2", alpha=1e-3)
    assert result.objective <= start.objective + 1e-12
    assert result.objective == pytest.approx(
        objective_at(result, X, y, result.coef, result.intercept), rel=1e-12)
    if loss.properties.smoothness >= 1:
        assert result.converged, result.message
        theta = np.r_[np.ravel(result.coef), np.ravel(result.intercept)]

        def objective(vector: np.ndarray) -> float:
            coef = vector[: result.coef.size].reshape(result.coef.shape)
            intercept = vector[result.coef.size:]
            intercept = intercept[0] if np.ndim(result.intercept) == 0 else intercept
            return objective_at(result, X, y, coef, intercept)

        step = 1e-5
        slopes = [(objective(theta + step * e) - objective(theta - step * e)) / (2 * step)
                  for e in np.eye(theta.size)]
        assert np.max(np.abs(slopes)) < 1e-5
