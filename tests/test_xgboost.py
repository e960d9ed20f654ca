"""lk.xgboost: objectives and metrics from losskit losses, against XGBoost's built-ins.

The oracle for "the same model" is XGBoost's own built-in objective, trained on the same
data with the hyperparameters that make the two objectives' Newton steps and
regularisation coincide (see ``losskit.integrations.xgboost``: losskit's squared error
is ``e^2``, XGBoost's ``½e^2``; ``multi:softprob`` doubles its Hessian; ``count:poisson``
inflates it by ``exp(max_delta_step)``). Predictions are raw margins in float32 and both
sides compute float32 gradients with their own formulas; the maximum absolute difference
after 50 rounds (printed with ``-s``) must stay within 1e-6 times ``max(1, |margin|)``:
0 to 1e-6 for most losses, a few float32 ulps (1.4e-6 on margins up to 6) for softmax.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import losskit as lk

xgb = pytest.importorskip("xgboost")

from conftest import boosting_data  # noqa: E402
from losskit.integrations import SurrogateHessianWarning  # noqa: E402

N, ROUNDS = 2000, 50
DATA = boosting_data(N, seed=0)
X, Y_REAL, Y_BINARY, Y_COUNT = DATA.X, DATA.real, DATA.binary, DATA.count
Y_POSITIVE, Y_CLASS, WEIGHT, RNG = DATA.positive, DATA.classes, DATA.weight, DATA.rng


def margins(params, y, objective=None, weight=None, rounds=ROUNDS):
    train = xgb.DMatrix(X, label=y, weight=weight)
    booster = xgb.train({"nthread": 1, "max_depth": 4, "tree_method": "hist", **params},
                        train, rounds, obj=objective)
    return booster.predict(xgb.DMatrix(X), output_margin=True)


# (loss, y, built-in parameters, losskit-side extra parameters)
SAME_MODEL = {
    "half_squared_error": (0.5 * lk.get("squared_error"), Y_REAL,
                           {"objective": "reg:squarederror"}, {}),
    # e^2 doubles g and h: doubling lambda and min_child_weight gives the same model.
    "squared_error": (lk.get("squared_error"), Y_REAL, {"objective": "reg:squarederror"},
                      {"reg_lambda": 2.0, "min_child_weight": 2.0}),
    "pseudo_huber": (lk.get("pseudo_huber", delta=1.5), Y_REAL,
                     {"objective": "reg:pseudohubererror", "huber_slope": 1.5}, {}),
    "logistic": (lk.get("binary_cross_entropy"), Y_BINARY,
                 {"objective": "binary:logistic"}, {}),
    "poisson": (lk.get("poisson"), Y_COUNT,
                {"objective": "count:poisson", "max_delta_step": 0.0}, {}),
    "gamma": (lk.get("gamma"), Y_POSITIVE, {"objective": "reg:gamma"}, {}),
    "tweedie": (lk.get("tweedie", power=1.3), Y_COUNT,
                {"objective": "reg:tweedie", "tweedie_variance_power": 1.3}, {}),
    # multi:softprob's Hessian is 2 p (1 - p): halve eta, lambda and min_child_weight.
    "softmax": (lk.get("cross_entropy"), Y_CLASS,
                {"objective": "multi:softprob", "num_class": 3, "learning_rate": 0.3},
                {"num_class": 3, "learning_rate": 0.15, "reg_lambda": 0.5,
                 "min_child_weight": 0.5}),
}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", list(SAME_MODEL))
def test_same_model_as_the_builtin_objective(case, weighted):
    loss, y, builtin, extra = SAME_MODEL[case]
    weight = WEIGHT if weighted else None
    objective = lk.xgboost.objective(loss)
    # Built-in objectives read base_score in their natural space, except multi:softprob.
    space = "raw" if loss.multiclass else "natural"
    expected = margins({**builtin, "base_score": objective.base_score(y, weight, space=space)},
                       y, weight=weight)
    got = margins({**extra, "base_score": objective.base_score(y, weight)}, y, objective,
                  weight=weight)
    assert got.shape == expected.shape
    difference = float(np.max(np.abs(got - expected)))
    scale = max(1.0, float(np.max(np.abs(expected))))
    print(f"{case} ({'weighted' if weighted else 'unweighted'}): max |losskit - built-in| "
          f"= {difference:.2e} after {ROUNDS} rounds (margins up to {scale:.1f})")
    # Margins are float32: a few ulps of a margin of 4 to 8 exceed 1e-6 in absolute terms.
    assert difference <= 1e-6 * scale
    # The model moved: not two copies of the starting score.
    assert np.ptp(got) > 0.1


def test_unscaled_squared_error_is_not_the_builtin_model():
    # The documented caveat is real: without rescaling lambda, the models differ.
    objective = lk.xgboost.objective("squared_error")
    base = objective.base_score(Y_REAL)
    expected = margins({"objective": "reg:squarederror", "base_score": base}, Y_REAL)
    got = margins({"base_score": base}, Y_REAL, objective)
    assert np.max(np.abs(got - expected)) > 1e-3


def test_base_score_is_the_optimum_in_link_space():
    # Oracles: NumPy statistics of the targets, mapped by the link by hand.
    assert lk.xgboost.objective("mse").base_score(Y_REAL) == pytest.approx(np.mean(Y_REAL))
    assert lk.xgboost.objective("poisson").base_score(Y_COUNT, WEIGHT) == pytest.approx(
        np.log(np.average(Y_COUNT, weights=WEIGHT)))
    p = np.mean(Y_BINARY)
    objective = lk.xgboost.objective("bce")
    assert objective.base_score(Y_BINARY) == pytest.approx(np.log(p / (1 - p)))
    assert objective.base_score(Y_BINARY, space="natural") == pytest.approx(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SurrogateHessianWarning)
        median = lk.xgboost.objective("mae").base_score(np.array([1.0, 2.0, 10.0]))
    assert median == pytest.approx(2.0)
    scores = lk.xgboost.objective("ce").base_score(Y_CLASS)
    frequencies = np.bincount(Y_CLASS.astype(int)) / N
    assert isinstance(scores, list) and len(scores) == 3
    np.testing.assert_allclose(np.exp(scores) / np.sum(np.exp(scores)), frequencies)


def test_sklearn_regressor_with_weights_matches_builtin():
    objective = lk.xgboost.objective(0.5 * lk.get("squared_error"))
    base = objective.base_score(Y_REAL, WEIGHT)
    common = {"n_estimators": 30, "max_depth": 3, "n_jobs": 1, "base_score": base}
    ours = xgb.XGBRegressor(objective=objective, **common).fit(X, Y_REAL, sample_weight=WEIGHT)
    theirs = xgb.XGBRegressor(objective="reg:squarederror", **common).fit(
        X, Y_REAL, sample_weight=WEIGHT)
    assert np.max(np.abs(ours.predict(X) - theirs.predict(X))) <= 1e-6


def test_sklearn_classifier_gives_probabilities():
    objective = lk.xgboost.objective("bce")
    common = {"n_estimators": 30, "max_depth": 3, "n_jobs": 1}
    ours = xgb.XGBClassifier(objective=objective, **common,
                             base_score=objective.base_score(Y_BINARY, space="natural"))
    ours.fit(X, Y_BINARY)
    theirs = xgb.XGBClassifier(objective="binary:logistic", **common,
                               base_score=float(np.mean(Y_BINARY))).fit(X, Y_BINARY)
    assert np.max(np.abs(ours.predict_proba(X) - theirs.predict_proba(X))) <= 1e-6


def test_metric_is_the_weighted_mean_loss_on_margins():
    objective = lk.xgboost.objective("poisson")
    metric = lk.xgboost.metric(objective)
    train = xgb.DMatrix(X, label=Y_COUNT, weight=WEIGHT)
    history: dict = {}
    booster = xgb.train({"nthread": 1, "max_depth": 3,
                         "base_score": objective.base_score(Y_COUNT, WEIGHT)},
                        train, 20, obj=objective, custom_metric=metric,
                        evals=[(train, "train")], evals_result=history, verbose_eval=False)
    z = booster.predict(train, output_margin=True).astype(np.float64)
    oracle = np.average(np.exp(z) - Y_COUNT * z, weights=WEIGHT)  # Poisson NLL - log(y!)
    recorded = history["train"]["poisson"]
    assert recorded[-1] == pytest.approx(oracle, rel=1e-5)
    assert recorded[-1] < recorded[0]
    # scikit-learn form: a plain float, named by __name__.
    assert metric(Y_COUNT, z, sample_weight=WEIGHT) == pytest.approx(oracle, rel=1e-5)
    assert metric.__name__ == "poisson"


def test_metric_on_builtin_predictions_uses_natural_space():
    metric = lk.xgboost.metric("bce", raw_scores=False)
    p = np.array([0.2, 0.9])
    expected = -np.mean([np.log(0.8), np.log(0.9)])
    assert metric(np.array([0.0, 1.0]), p) == pytest.approx(expected)


def _oracle_focal(z, y, gamma=2.0):
    p = 1 / (1 + np.exp(-z))
    pt = np.where(y == 1, p, 1 - p)
    return np.mean(-((1 - pt) ** gamma) * np.log(pt))


def _asymmetric_3(y_pred, y_true, xp):
    error = y_pred - y_true
    return xp.where(error < 0, 3.0 * xp.abs(error), xp.abs(error))


NO_BUILTIN = {
    "focal": (lk.get("focal", gamma=2.0), Y_BINARY, _oracle_focal),
    "log_cosh": (lk.get("log_cosh"), Y_REAL, lambda z, y: np.mean(np.log(np.cosh(z - y)))),
    "asymmetric_3": (lk.get("asymmetric", alpha=3.0), Y_REAL,
                     lambda z, y: np.mean(np.where(z < y, 3 * (y - z), z - y))),
    "custom": (lk.custom(_asymmetric_3, name="asymmetric_3_custom", convex=True,
                         lipschitz=3.0), Y_REAL,
               lambda z, y: np.mean(np.where(z < y, 3 * (y - z), z - y))),
}


@pytest.mark.parametrize("case", list(NO_BUILTIN))
def test_loss_without_a_builtin_trains_and_improves(case):
    loss, y, oracle = NO_BUILTIN[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SurrogateHessianWarning)
        objective = lk.xgboost.objective(loss)
    base = objective.base_score(y)
    start = oracle(np.full(N, base), y)
    z = margins({"base_score": base, "learning_rate": 0.3}, y, objective, rounds=30)
    trained = oracle(z.astype(np.float64), y)
    print(f"{case}: mean loss {start:.4f} at the starting score, {trained:.4f} after 30 rounds")
    assert trained < 0.9 * start


def test_zero_hessian_custom_loss_gets_the_unit_surrogate():
    # xgboost #1428: autodiff gives h = 0 for a piecewise-linear loss; trees never split.
    custom = NO_BUILTIN["custom"][0]
    with pytest.warns(SurrogateHessianWarning, match="zero Hessian"):
        objective = lk.xgboost.objective(custom)
    assert objective.hessian == "unit"
    _, hessian = objective(np.array([1.0, 2.0]), np.array([0.0, 0.0]), sample_weight=[2, 3])
    np.testing.assert_array_equal(hessian, [2.0, 3.0])


@pytest.mark.parametrize("name", ["absolute_error", "quantile", "asymmetric", "hinge"])
def test_surrogate_hessian_warns(name):
    with pytest.warns(SurrogateHessianWarning, match="surrogate"):
        lk.xgboost.objective(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SurrogateHessianWarning)
        lk.xgboost.objective(name, hessian="unit")  # acknowledged: no warning


def test_smooth_loss_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lk.xgboost.objective("huber")


def test_unit_hessian_is_the_weight():
    objective = lk.xgboost.objective("log_cosh", hessian="unit")
    z = np.zeros(4, dtype=np.float32)
    y = np.array([1.0, -1.0, 2.0, 0.5], dtype=np.float32)
    w = np.array([1.0, 2.0, 0.5, 3.0], dtype=np.float32)
    gradient, hessian = objective(y, z, sample_weight=w)
    np.testing.assert_allclose(hessian, w)
    np.testing.assert_allclose(gradient, w * np.tanh(z - y), rtol=1e-6)


def test_min_hessian_floors_each_hessian_at_its_weight_times_it():
    objective = lk.xgboost.objective("log_cosh", min_hessian=0.1)
    assert repr(objective) == "lk.xgboost.objective(LogCosh(), min_hessian=0.1)"
    z = np.zeros(5)
    y = np.array([0.0, 0.5, 3.0, -20.0, 1e3])
    w = np.array([1.0, 2.0, 0.5, 3.0, 0.0])
    # Oracle: sech^2(z - y) = 4t / (1 + t)^2 with t = exp(-2|z - y|), floored at 0.1 w.
    t = np.exp(-2.0 * np.abs(z - y))
    sech2 = 4.0 * t / (1.0 + t) ** 2
    gradient, hessian = objective(y, z, sample_weight=w)
    np.testing.assert_allclose(hessian, np.maximum(w * sech2, 0.1 * w), rtol=1e-14, atol=0)
    np.testing.assert_allclose(gradient, w * np.tanh(z - y), rtol=1e-14)
    _, unweighted = objective(y, z)
    np.testing.assert_allclose(unweighted, np.maximum(sech2, 0.1), rtol=1e-14)
    assert unweighted[0] == 1.0  # above the floor: the loss's own Hessian
    # Multiclass: each class's Hessian, floored per sample weight.
    scores = RNG.normal(size=(6, 3)) * 8
    classes = np.array([0, 1, 2, 2, 1, 0], dtype=np.float64)
    weights = np.arange(1.0, 7.0)
    _, exact = lk.xgboost.objective("ce")(classes, scores, sample_weight=weights)
    _, floored = lk.xgboost.objective("ce", min_hessian=0.05)(classes, scores,
                                                               sample_weight=weights)
    np.testing.assert_array_equal(floored, np.maximum(exact, 0.05 * weights[:, None]))
    for bad, error in [(-0.1, ValueError), (float("nan"), ValueError), ("0.1", TypeError)]:
        with pytest.raises(error, match=r"min_hessian for 'lk\.xgboost\.objective'"):
            lk.xgboost.objective("log_cosh", min_hessian=bad)


def test_objective_does_not_mutate_inputs():
    objective = lk.xgboost.objective("ce")
    z = RNG.normal(size=(N, 3)).astype(np.float32)
    y, w = Y_CLASS.astype(np.float32), WEIGHT.astype(np.float32)
    copies = z.copy(), y.copy(), w.copy()
    gradient, hessian = objective(y, z, sample_weight=w)
    for before, after in zip(copies, (z, y, w), strict=True):
        np.testing.assert_array_equal(before, after)
    assert gradient.shape == hessian.shape == (N, 3)
    # Oracle: softmax by hand.
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = p - np.eye(3)[Y_CLASS.astype(int)]
    np.testing.assert_allclose(gradient, w[:, None] * expected, atol=1e-6)
    np.testing.assert_allclose(hessian, w[:, None] * p * (1 - p), atol=1e-6)


class _NoGradient(lk.Loss):
    name = "no_gradient"

    def _properties(self):
        return lk.Properties(convex=True, smoothness=0, lipschitz=None,
                             bounded_gradient=False, robust=False)

    def _elementwise(self, xp, y_pred, y_true):
        return xp.abs(y_pred - y_true)


def test_clear_errors():
    with pytest.raises(TypeError, match="no gradient"):
        lk.xgboost.objective(_NoGradient())
    with pytest.raises(TypeError, match=r"loss for lk\.xgboost\.objective must be a losskit"):
        lk.xgboost.objective(lambda y, p: (p - y, np.ones_like(p)))
    with pytest.raises(ValueError, match="hessian"):
        lk.xgboost.objective("mse", hessian="exact")
    with pytest.raises(ValueError, match="space"):
        lk.xgboost.objective("mse").base_score(Y_REAL, space="margin")
    with pytest.raises(ValueError, match="y_true for 'poisson'"):
        lk.xgboost.objective("poisson")(np.array([-1.0, 2.0]), np.zeros(2))
    with pytest.raises(ValueError, match=r"multiclass loss .* set num_class"):
        margins({}, Y_CLASS, lk.xgboost.objective("ce"), rounds=1)


def test_lazy_attribute_and_repr():
    assert lk.xgboost.objective("bce").loss.link.name == "logit"
    assert lk.xgboost.objective("ce").loss.link.name == "softmax"
    assert lk.xgboost.objective("gamma").loss.link.name == "log"
    assert "Poisson(link='log')" in repr(lk.xgboost.objective("poisson"))


def test_objective_and_metric_survive_pickle_and_sklearn_clone():
    import pickle

    sklearn_base = pytest.importorskip("sklearn.base")
    objective = lk.xgboost.objective("poisson")
    copy = pickle.loads(pickle.dumps(objective))
    z, y = np.array([0.0, 1.0], dtype=np.float32), np.array([1.0, 3.0], dtype=np.float32)
    for got, expected in zip(copy(y, z), objective(y, z), strict=True):
        np.testing.assert_array_equal(got, expected)
    model = xgb.XGBRegressor(objective=objective, eval_metric=lk.xgboost.metric(objective))
    cloned = sklearn_base.clone(model)
    assert repr(cloned.objective) == repr(objective)
    assert cloned.eval_metric.__name__ == "poisson"


def test_boost_benchmark_trains_the_builtin_model():
    # The benchmark's machinery on a tiny size: no timing is asserted, only that the
    # custom objectives it times train the built-in model (benchmarks/boost.py).
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks import boost

    header, rows = boost.run_benchmark(libraries=["xgboost"], losses=list(boost.LOSSES),
                                       size=2000, rounds=3, repeat=1, threads=1,
                                       check_rounds=5)
    assert [(row.library, row.loss) for row in rows] == [("xgboost", "squared_error"),
                                                         ("xgboost", "logistic")]
    for row in rows:
        assert row.differences["losskit"] <= 1e-6 and row.differences["numpy"] <= 1e-6
        assert set(row.timings) == {"built-in", "losskit", "numpy"}
    assert "losskit / built-in" in boost.format_report(header, rows)
