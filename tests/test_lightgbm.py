"""lk.lightgbm: objectives and metrics from losskit losses, against LightGBM's built-ins.

The oracle for "the same model" is LightGBM's own built-in objective with its
``boost_from_average`` start, trained on the same data with the hyperparameters that
make the two objectives' Newton steps and regularisation coincide (see
``losskit.integrations.lightgbm``: losskit's squared error is ``e^2``, LightGBM's
``½e^2``; ``multiclass`` scales its Hessian by ``K / (K - 1)``; ``poisson`` by
``exp(poisson_max_delta_step)``; ``huber`` uses Hessian 1). LightGBM's scores are float64:
the maximum absolute difference after 50 rounds must stay within 1e-6.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import losskit as lk

lgb = pytest.importorskip("lightgbm")

from conftest import boosting_data  # noqa: E402
from losskit.integrations import SurrogateHessianWarning  # noqa: E402

N, ROUNDS = 2000, 50
DATA = boosting_data(N, seed=1)
X, Y_REAL, Y_BINARY, Y_COUNT = DATA.X, DATA.real, DATA.binary, DATA.count
Y_POSITIVE, Y_CLASS, WEIGHT, RNG = DATA.positive, DATA.classes, DATA.weight, DATA.rng
BASE = {"num_threads": 1, "num_leaves": 15, "verbose": -1, "deterministic": True,
        "force_row_wise": True}


def raw_scores(params, y, weight=None, init_score=None, callbacks=None, rounds=ROUNDS):
    train = lgb.Dataset(X, label=y, weight=weight, init_score=init_score)
    booster = lgb.train({**BASE, **params}, train, rounds, callbacks=callbacks)
    return booster.predict(X, raw_score=True)


def with_losskit(objective, params, y, weight=None, rounds=ROUNDS):
    return raw_scores({**params, "objective": objective}, y, weight,
                      init_score=objective.init_score(y, weight),
                      callbacks=[objective.keep_init_score], rounds=rounds)


K = 3
# (loss, y, built-in parameters, losskit-side parameters)
SAME_MODEL = {
    "half_squared_error": (0.5 * lk.get("squared_error"), Y_REAL,
                           {"objective": "regression"}, {}),
    # e^2 doubles g and h: double lambda_l2 (0 here) and min_sum_hessian_in_leaf.
    "squared_error": (lk.get("squared_error"), Y_REAL, {"objective": "regression"},
                      {"min_sum_hessian_in_leaf": 2e-3}),
    "logistic": (lk.get("binary_cross_entropy"), Y_BINARY, {"objective": "binary"}, {}),
    # LightGBM refuses poisson_max_delta_step = 0; exp(1e-300) == 1 in float64.
    "poisson": (lk.get("poisson"), Y_COUNT,
                {"objective": "poisson", "poisson_max_delta_step": 1e-300}, {}),
    "gamma": (lk.get("gamma"), Y_POSITIVE, {"objective": "gamma"}, {}),
    "tweedie": (lk.get("tweedie", power=1.3), Y_COUNT,
                {"objective": "tweedie", "tweedie_variance_power": 1.3}, {}),
    # multiclass's Hessian is K/(K-1) p (1 - p): scale eta and min_sum_hessian by (K-1)/K.
    "softmax": (lk.get("cross_entropy"), Y_CLASS, {"objective": "multiclass", "num_class": K},
                {"num_class": K, "learning_rate": 0.1 * (K - 1) / K,
                 "min_sum_hessian_in_leaf": 1e-3 * (K - 1) / K}),
}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", list(SAME_MODEL))
def test_same_model_as_the_builtin_objective(case, weighted):
    loss, y, builtin, ours = SAME_MODEL[case]
    weight = WEIGHT if weighted else None
    # The built-in starts from boost_from_average and stores it in the model; ours
    # starts from init_score and keep_init_score stores it: predict() includes both.
    expected = raw_scores(builtin, y, weight)
    got = with_losskit(lk.lightgbm.objective(loss), ours, y, weight)
    assert got.shape == expected.shape
    difference = float(np.max(np.abs(got - expected)))
    print(f"{case} ({'weighted' if weighted else 'unweighted'}): max |losskit - built-in| "
          f"= {difference:.2e} after {ROUNDS} rounds")
    assert difference <= 1e-6
    assert np.ptp(got) > 0.1


def test_huber_with_unit_hessian_is_lightgbms_huber():
    objective = lk.lightgbm.objective(lk.get("huber", delta=1.0), hessian="unit")
    start = objective.init_score(Y_REAL)  # the Huber M-estimate; LightGBM's would be the mean
    expected = raw_scores({"objective": "huber", "alpha": 1.0}, Y_REAL, init_score=start)
    got = raw_scores({"objective": objective}, Y_REAL, init_score=start)
    difference = float(np.max(np.abs(got - expected)))
    print(f"huber: max |losskit - built-in| = {difference:.2e} after {ROUNDS} rounds")
    assert difference <= 1e-6


def test_without_keep_init_score_predictions_lose_the_start():
    # LightGBM #7193: the init_score is used in training but not stored in the model.
    objective = lk.lightgbm.objective(0.5 * lk.get("squared_error"))
    start = objective.init_score(Y_REAL)
    kept = with_losskit(objective, {}, Y_REAL, rounds=5)
    lost = raw_scores({"objective": objective}, Y_REAL, init_score=start, rounds=5)
    np.testing.assert_allclose(kept - lost, np.mean(Y_REAL), rtol=1e-9)


def test_init_score_is_the_optimum_in_link_space():
    objective = lk.lightgbm.objective("poisson")
    np.testing.assert_allclose(objective.init_score(Y_COUNT, WEIGHT, n_rows=3),
                               np.full(3, np.log(np.average(Y_COUNT, weights=WEIGHT))))
    start = lk.lightgbm.objective("ce").init_score(Y_CLASS, n_rows=2)
    assert start.shape == (2, K)
    frequencies = np.bincount(Y_CLASS.astype(int)) / N
    np.testing.assert_allclose(np.exp(start[0]) / np.exp(start[0]).sum(), frequencies)
    with pytest.raises(ValueError, match="n_rows"):
        objective.init_score(Y_COUNT, n_rows=0)


def test_keep_init_score_refuses_a_per_row_init_score():
    objective = lk.lightgbm.objective("mse")
    with pytest.raises(ValueError, match="not one constant"):
        raw_scores({"objective": objective}, Y_REAL, init_score=RNG.normal(size=N),
                   callbacks=[objective.keep_init_score], rounds=2)


def test_sklearn_regressor_with_weights_matches_builtin():
    objective = lk.lightgbm.objective(0.5 * lk.get("squared_error"))
    common = {"n_estimators": 30, "num_leaves": 7, "n_jobs": 1, "verbose": -1,
              "deterministic": True, "force_row_wise": True}
    ours = lgb.LGBMRegressor(objective=objective, **common).fit(
        X, Y_REAL, sample_weight=WEIGHT, init_score=objective.init_score(Y_REAL, WEIGHT),
        callbacks=[objective.keep_init_score])
    theirs = lgb.LGBMRegressor(objective="regression", **common).fit(
        X, Y_REAL, sample_weight=WEIGHT)
    assert np.max(np.abs(ours.predict(X) - theirs.predict(X))) <= 1e-6


def test_sklearn_classifier_multiclass_layout():
    objective = lk.lightgbm.objective("cross_entropy")
    common = {"n_estimators": 20, "num_leaves": 7, "n_jobs": 1, "verbose": -1,
              "deterministic": True, "force_row_wise": True, "min_child_weight": 1e-3}
    ours = lgb.LGBMClassifier(objective=objective, learning_rate=0.1 * (K - 1) / K,
                              **{**common, "min_child_weight": 1e-3 * (K - 1) / K})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "returning raw scores" for custom
        ours.fit(X, Y_CLASS.astype(int), init_score=objective.init_score(Y_CLASS),
                 callbacks=[objective.keep_init_score])
        raw = ours.predict(X, raw_score=True)
    theirs = lgb.LGBMClassifier(objective="multiclass", **common).fit(X, Y_CLASS.astype(int))
    probabilities = np.asarray(objective.link.inverse(raw))
    assert np.max(np.abs(probabilities - theirs.predict_proba(X))) <= 1e-6


def test_metric_is_the_weighted_mean_loss_on_raw_scores():
    objective = lk.lightgbm.objective("gamma")
    metric = lk.lightgbm.metric(objective)
    train = lgb.Dataset(X, label=Y_POSITIVE, weight=WEIGHT,
                        init_score=objective.init_score(Y_POSITIVE, WEIGHT))
    history: dict = {}
    booster = lgb.train({**BASE, "objective": objective, "metric": "None"}, train, 20,
                        valid_sets=[train], valid_names=["train"], feval=metric,
                        callbacks=[lgb.record_evaluation(history)])
    z = booster.predict(X, raw_score=True) + objective.init_score(Y_POSITIVE, WEIGHT)
    oracle = np.average(z + Y_POSITIVE * np.exp(-z), weights=WEIGHT)  # Gamma NLL, shape 1
    recorded = history["train"]["gamma"]
    assert recorded[-1] == pytest.approx(oracle, rel=1e-6)
    assert recorded[-1] < recorded[0]
    name, value, higher_is_better = metric(Y_POSITIVE, z, WEIGHT)
    assert (name, higher_is_better) == ("gamma", False)
    assert value == pytest.approx(oracle, rel=1e-6)


def _log_cosh(y_pred, y_true, xp):
    return xp.log(xp.cosh(y_pred - y_true))


NO_BUILTIN = {
    "focal": (lk.get("focal", gamma=2.0), Y_BINARY,
              lambda z, y: np.mean(-((1 - np.where(y == 1, 1 / (1 + np.exp(-z)),
                                                   1 / (1 + np.exp(z)))) ** 2)
                                   * np.log(np.where(y == 1, 1 / (1 + np.exp(-z)),
                                                     1 / (1 + np.exp(z)))))),
    "log_cosh": (lk.get("log_cosh"), Y_REAL, lambda z, y: np.mean(np.log(np.cosh(z - y)))),
    "asymmetric_3": (lk.get("asymmetric", alpha=3.0), Y_REAL,
                     lambda z, y: np.mean(np.where(z < y, 3 * (y - z), z - y))),
    "custom": (lk.custom(_log_cosh, name="log_cosh_custom"), Y_REAL,
               lambda z, y: np.mean(np.log(np.cosh(z - y)))),
}


@pytest.mark.parametrize("case", list(NO_BUILTIN))
def test_loss_without_a_builtin_trains_and_improves(case):
    loss, y, oracle = NO_BUILTIN[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SurrogateHessianWarning)
        objective = lk.lightgbm.objective(loss)
    start = oracle(objective.init_score(y), y)
    trained = oracle(with_losskit(objective, {"learning_rate": 0.3}, y, rounds=30), y)
    print(f"{case}: mean loss {start:.4f} at the starting score, {trained:.4f} after 30 rounds")
    assert trained < 0.9 * start


def test_min_hessian_keeps_log_cosh_from_diverging():
    """Targets far from the start (sech^2 of 10 is 8e-9): a leaf of large residuals
    takes the Newton step -sum g / sum h with sum h tiny. LightGBM diverges; with
    ``min_hessian`` each step is at most max|g| / m and the loss goes down."""
    y = 10.0 * Y_REAL + 30.0 * (RNG.random(N) < 0.2)

    def oracle(z, y):  # log cosh e = logaddexp(e, -e) - log 2, finite for diverged scores
        return np.mean(np.logaddexp(z - y, y - z) - np.log(2.0))

    losses = {}
    for floor in (0.0, 0.1):
        objective = lk.lightgbm.objective("log_cosh", min_hessian=floor)
        start = oracle(objective.init_score(y), y)
        losses[floor] = oracle(with_losskit(objective, {"learning_rate": 0.3}, y, rounds=30), y)
    print(f"log-cosh: {start:.3f} at the start; after 30 rounds {losses}")
    assert not losses[0.0] < start  # the failure the floor is for
    assert losses[0.1] < 0.8 * start


def test_objective_does_not_mutate_inputs_and_matches_oracle():
    objective = lk.lightgbm.objective("bce")
    z = RNG.normal(size=N)
    y, w = Y_BINARY.astype(np.float32), WEIGHT.astype(np.float32)
    copies = z.copy(), y.copy(), w.copy()
    gradient, hessian = objective(y, z, w)
    for before, after in zip(copies, (z, y, w), strict=True):
        np.testing.assert_array_equal(before, after)
    p = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(gradient, w * (p - y), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hessian, w * p * (1 - p), rtol=1e-12)


def test_multiclass_takes_lightgbms_column_major_scores():
    objective = lk.lightgbm.objective("ce")
    scores = np.asfortranarray(RNG.normal(size=(6, K)))
    y = np.array([0, 1, 2, 2, 1, 0], dtype=np.float32)
    gradient, _ = objective(y, scores, None)
    p = np.exp(scores) / np.exp(scores).sum(1, keepdims=True)
    np.testing.assert_allclose(gradient, p - np.eye(K)[y.astype(int)], atol=1e-12)


def test_clear_errors_and_warnings():
    with pytest.raises(TypeError, match="must be a losskit Loss"):
        lk.lightgbm.objective(42)
    with pytest.warns(SurrogateHessianWarning):
        lk.lightgbm.objective("quantile")
    with pytest.raises(ValueError, match="single-output loss"):
        lk.lightgbm.objective("mse")(np.zeros(4), np.zeros((4, 2)), None)
    with pytest.raises(ValueError, match="y_true for 'gamma'"):
        lk.lightgbm.objective("gamma")(np.array([0.0, 1.0]), np.zeros(2), None)


def test_boost_benchmark_trains_the_builtin_model():
    # The benchmark's machinery on a tiny size: no timing is asserted, only that the
    # custom objectives it times train the built-in model (benchmarks/boost.py).
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks import boost

    _, rows = boost.run_benchmark(libraries=["lightgbm"], losses=list(boost.LOSSES),
                                  size=2000, rounds=3, repeat=1, threads=1, check_rounds=5)
    assert len(rows) == 2
    for row in rows:
        assert row.differences["losskit"] <= 1e-6 and row.differences["numpy"] <= 1e-6
