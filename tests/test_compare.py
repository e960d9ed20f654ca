"""``lk.compare`` (cross-validated comparison of losses) and the metrics it scores with."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest

import losskit as lk
from conftest import load_module
from losskit.compare import _folds, infer_task, residual_outliers
from losskit.data import load
from losskit.metrics import classification as cm
from losskit.metrics import get_metric, list_metrics
from losskit.metrics import regression as rm


def regression_with_outliers(n: int = 300, fraction: float = 0.1, seed: int = 1
                             ) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = 1.0 + X @ np.array([2.0, -1.0, 0.5]) + rng.normal(0.0, 0.5, size=n)
    bad = rng.choice(n, size=int(fraction * n), replace=False)
    y[bad] += rng.uniform(15.0, 30.0, size=bad.size)  # one-sided gross errors
    return X, y


# ------------------------------------------------------------------- metrics
def test_regression_metrics_match_scikit_learn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y_true = rng.gamma(2.0, 2.0, size=50)
    y_pred = y_true + rng.normal(size=50)
    y_pred = np.abs(y_pred) + 0.1
    assert rm.mae(y_true, y_pred) == pytest.approx(metrics.mean_absolute_error(y_true, y_pred))
    assert rm.mse(y_true, y_pred) == pytest.approx(metrics.mean_squared_error(y_true, y_pred))
    assert rm.rmse(y_true, y_pred) == pytest.approx(
        np.sqrt(metrics.mean_squared_error(y_true, y_pred)))
    assert rm.median_ae(y_true, y_pred) == pytest.approx(
        metrics.median_absolute_error(y_true, y_pred))
    assert rm.r2(y_true, y_pred) == pytest.approx(metrics.r2_score(y_true, y_pred))
    for q in (0.1, 0.5, 0.9):
        assert rm.pinball(y_true, y_pred, q) == pytest.approx(
            metrics.mean_pinball_loss(y_true, y_pred, alpha=q))
    assert rm.poisson_deviance(y_true, y_pred) == pytest.approx(
        metrics.mean_poisson_deviance(y_true, y_pred))
    assert rm.gamma_deviance(y_true, y_pred) == pytest.approx(
        metrics.mean_gamma_deviance(y_true, y_pred))


def test_classification_metrics_match_scikit_learn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, size=80)
    proba = np.clip(0.3 * labels + 0.7 * rng.random(80), 0.01, 0.99)
    proba[:10] = 0.5  # ties
    predicted = (proba >= 0.5).astype(int)
    assert cm.log_loss(labels, proba) == pytest.approx(metrics.log_loss(labels, proba))
    assert cm.accuracy(labels, proba) == pytest.approx(metrics.accuracy_score(labels, predicted))
    assert cm.balanced_accuracy(labels, predicted) == pytest.approx(
        metrics.balanced_accuracy_score(labels, predicted))
    assert cm.f1(labels, predicted) == pytest.approx(metrics.f1_score(labels, predicted))
    assert cm.roc_auc(labels, proba) == pytest.approx(metrics.roc_auc_score(labels, proba))
    assert cm.average_precision(labels, proba) == pytest.approx(
        metrics.average_precision_score(labels, proba))
    assert cm.brier(labels, proba) == pytest.approx(metrics.brier_score_loss(labels, proba))
    classes = rng.integers(0, 3, size=90)
    scores = rng.random((90, 3)) + np.eye(3)[classes]
    matrix = scores / scores.sum(axis=1, keepdims=True)
    assert cm.log_loss(classes, matrix) == pytest.approx(metrics.log_loss(classes, matrix))
    assert cm.roc_auc(classes, matrix) == pytest.approx(
        metrics.roc_auc_score(classes, matrix, multi_class="ovr", average="macro"))
    assert cm.f1(classes, matrix) == pytest.approx(
        metrics.f1_score(classes, matrix.argmax(axis=1), average="macro"))


def test_metric_lookup() -> None:
    assert get_metric("pinball@0.9").name == "pinball@0.9"
    assert get_metric("pinball@0.9")(np.array([1.0]), np.array([0.0])) == pytest.approx(0.9)
    assert get_metric("roc_auc").greater_is_better
    assert not get_metric("mae").greater_is_better
    assert {"mae", "rmse", "log_loss", "accuracy", "roc_auc", "pinball@q"} <= set(list_metrics())
    with pytest.raises(ValueError, match="did you mean 'mae'"):
        get_metric("maae")
    with pytest.raises(ValueError, match="must be a number"):
        get_metric("pinball@high")
    with pytest.raises(ValueError, match="the level of pinball@q"):
        get_metric("pinball@1.5")


# -------------------------------------------------------------- the must-show
def test_robust_loss_beats_mse_on_outliers_scored_by_mae() -> None:
    X, y = regression_with_outliers()
    result = lk.compare(X, y, metric="mae")
    winner = result.row(result.winner)  # type: ignore[arg-type]
    mse = result.row("squared_error")
    assert winner.loss is not None and winner.loss.properties.robust is True
    assert mse.rank > winner.rank
    robust_ranks = [row.rank for row in result.rows
                    if row.loss is not None and row.loss.properties.robust]
    assert max(robust_ranks) < mse.rank  # every robust candidate beats MSE here
    assert mse.mean > 1.2 * winner.mean
    # the advice says why: the outliers, the winner's bounded gradient, MSE's growing one
    assert "outliers" in result.advice
    assert "robust: its gradient is bounded" in result.advice
    assert "squared_error is not robust" in result.advice
    assert result.facts["outlier_fraction"] == pytest.approx(0.1, abs=0.03)


def test_clean_data_keeps_mse_in_front_and_finds_no_outliers() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 3))
    y = X @ np.array([1.0, 2.0, -1.0]) + rng.normal(size=400)
    result = lk.compare(X, y, metric="mse")
    assert result.recommendations[0].name == "squared_error"
    assert result.row("squared_error").rank <= 2
    assert "no outlying targets were found" in result.advice
    assert result.facts["outlier_fraction"] < 0.005


def test_bundled_dataset_ranks_mse_last() -> None:
    data = load("deliveries")
    assert data.X.shape == (400, 4) and data.target_name == "minutes"
    result = lk.compare(data.X, data.y, feature_names=data.feature_names,
                        target_name=data.target_name)
    assert result.metric.name == "mae"
    assert result.rows[-1].name == "squared_error"
    assert result.feature_names == data.feature_names and result.target_name == "minutes"


# ------------------------------------------------------------- the result
def test_table_winner_margin_and_serialisation() -> None:
    X, y = regression_with_outliers()
    result = lk.compare(X, y, ["squared_error", "huber", "absolute_error"], metric="mae", cv=4)
    assert [row["rank"] for row in result.table] == [1, 2, 3]
    means = [row["mean"] for row in result.table]
    assert means == sorted(means)
    first, second = result.rows[0], result.rows[1]
    assert result.winner == first.label and result.runner_up == second.label
    assert result.margin == pytest.approx(second.mean - first.mean)
    assert result.relative_margin == pytest.approx(result.margin / second.mean)
    assert result.folds_won == sum(a < b for a, b in zip(first.scores, second.scores, strict=True))
    for row in result.rows:
        assert len(row.scores) == 4 and row.fit_time > 0
        assert row.mean == pytest.approx(np.mean(row.scores))
        assert row.std == pytest.approx(np.std(row.scores))
    as_json = json.loads(json.dumps(result.to_dict()))
    assert as_json["winner"] == result.winner and as_json["metric"] == "mae"
    markdown = result.to_markdown()
    assert markdown.splitlines()[2].startswith(f"| 1 | `{result.winner}`")
    with pytest.raises(KeyError, match="no loss 'hinge'"):
        result.row("hinge")


def test_inputs_are_not_modified() -> None:
    X, y = regression_with_outliers(n=120)
    X_before, y_before = X.copy(), y.copy()
    lk.compare(X, y, ["huber", "squared_error"], cv=3)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def test_folds_partition_and_stratify() -> None:
    y = np.array([0] * 80 + [1] * 20)
    folds = _folds(y, 5, True, seed=0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(100))
    assert [int(y[f].sum()) for f in folds] == [4] * 5
    plain = _folds(np.arange(23.0), 5, False, seed=0)
    assert sorted(len(f) for f in plain) == [4, 4, 5, 5, 5]
    again = _folds(np.arange(23.0), 5, False, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(plain, again, strict=True))


def test_progress_callback_counts_every_fit() -> None:
    X, y = regression_with_outliers(n=100)
    calls: list[tuple[int, int, str]] = []
    lk.compare(X, y, ["huber", "squared_error"], cv=3,
               progress=lambda done, total, label: calls.append((done, total, label)))
    assert [c[0] for c in calls] == list(range(1, 7))
    assert {c[1] for c in calls} == {6}


def test_infer_task_and_outlier_detection() -> None:
    assert infer_task(np.array(["a", "b", "a"])) == "binary"
    assert infer_task(np.array(["a", "b", "c"])) == "multiclass"
    assert infer_task(np.array([0.0, 1.0, 1.0])) == "binary"
    assert infer_task(np.array([0.5, 1.0, 2.0])) == "regression"
    X, y = regression_with_outliers(fraction=0.05)
    fraction, scale = residual_outliers(X, y)
    assert fraction == pytest.approx(0.05, abs=0.02) and 0.3 < scale < 1.5


# --------------------------------------------------------- classification
def test_binary_with_string_labels_and_probability_metrics() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 3))
    y = np.where(X[:, 0] + 0.5 * rng.normal(size=300) > 0, "yes", "no")
    result = lk.compare(X, y)
    assert result.task == "binary" and result.metric.name == "log_loss"
    assert result.facts["classes"] == ["no", "yes"]
    assert result.row("binary_cross_entropy").error is None
    assert "hinge" not in [row.name for row in result.rows]  # no probabilities to score
    scored = lk.compare(X, y, ["hinge", "binary_cross_entropy"], metric="roc_auc")
    assert all(row.error is None and 0.8 < row.mean <= 1.0 for row in scored.rows)
    asked = lk.compare(X, y, ["hinge", "binary_cross_entropy"], metric="log_loss")
    assert "gives scores, not probabilities" in asked.row("hinge").error  # type: ignore[operator]
    assert asked.winner == "binary_cross_entropy"


def test_multiclass_uses_softmax_losses() -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(240, 3))
    y = np.digitize(X[:, 0] + 0.3 * rng.normal(size=240), [-0.5, 0.5]).astype(str)
    result = lk.compare(X, y, ["cross_entropy", "focal", "multiclass_hinge"], metric="accuracy")
    assert result.task == "multiclass"
    assert all(row.error is None and row.mean > 0.6 for row in result.rows)


@pytest.mark.parametrize("model", ["xgboost", "lightgbm"])
def test_boosted_models(model: str) -> None:
    pytest.importorskip(model)
    X, y = regression_with_outliers(n=150)
    result = lk.compare(X, y, ["huber", "squared_error"], model=model, cv=3, n_estimators=30)
    assert result.model == model
    assert all(row.error is None for row in result.rows), result.rows
    assert result.winner == "huber"


@pytest.mark.parametrize("model", ["xgboost", "lightgbm"])
def test_boosted_models_floor_vanishing_hessians(model: str, monkeypatch) -> None:
    """Huber, pseudo-Huber and log-cosh train with min_hessian (their Hessians vanish far
    from the target), the other losses without one."""
    pytest.importorskip(model)
    from losskit.integrations import lightgbm as lk_lightgbm
    from losskit.integrations import xgboost as lk_xgboost

    module = lk_xgboost if model == "xgboost" else lk_lightgbm
    built: dict[str, float] = {}
    original = module.objective

    def spy(loss, **kwargs):
        objective = original(loss, **kwargs)
        built[objective.loss.name] = objective.min_hessian
        return objective

    monkeypatch.setattr(module, "objective", spy)
    X, y = regression_with_outliers(n=120)
    lk.compare(X, y, ["huber", "log_cosh", "pseudo_huber", "squared_error", "quantile"],
               model=model, cv=2, n_estimators=5)
    assert built == {"huber": 0.1, "log_cosh": 0.1, "pseudo_huber": 0.1, "squared_error": 0.0,
                     "quantile": 0.0}


# ------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"y": np.zeros(5)}, ValueError, "same number of samples"),
        ({"cv": 1}, ValueError, "cv must be an integer >= 2"),
        ({"model": "forest"}, ValueError, "model must be one of"),
        ({"task": "ranking"}, ValueError, "task must be one of"),
        ({"metric": "accuracy"}, ValueError, "needs a regression metric"),
        ({"metric": "maae"}, ValueError, "did you mean 'mae'"),
        ({"losses": []}, ValueError, "losses is empty"),
        ({"losses": ["hubr"]}, ValueError, "did you mean 'huber'"),
        ({"losses": [3]}, TypeError, "losses must hold names or Loss objects"),
        ({"feature_names": ["a"]}, ValueError, "feature_names has 1 names for 3 features"),
    ],
)
def test_bad_arguments(kwargs: dict, error: type[Exception], message: str) -> None:
    X, y = regression_with_outliers(n=60)
    arguments = {"X": X, "y": y, **kwargs}
    with pytest.raises(error, match=message):
        lk.compare(**arguments)


def test_bad_data() -> None:
    with pytest.raises(ValueError, match="NaN or inf"):
        lk.compare(np.array([[np.nan]] * 20), np.arange(20.0))
    with pytest.raises(ValueError, match="at least 5 samples of every class"):
        lk.compare(np.zeros((12, 1)), np.array([0] * 10 + [1] * 2))
    with pytest.raises(TypeError, match="numeric"):
        lk.compare(np.zeros((12, 1)), np.array(list("abcdefghijkl")), task="regression")


def test_a_failing_loss_is_reported_not_raised() -> None:
    X, y = regression_with_outliers(n=100)
    y = y - 50.0  # negative targets: outside Gamma's domain
    result = lk.compare(X, y, ["gamma", "huber"], cv=3)
    gamma = result.row("gamma")
    assert gamma.error and "gamma" in gamma.error and gamma.rank == 0
    assert math.isnan(gamma.mean)
    assert result.winner == "huber" and "Could not be scored: gamma" in result.advice


def test_a_boosted_model_without_its_library_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xgboost", None)  # makes `import xgboost` fail
    monkeypatch.delitem(sys.modules, "losskit.integrations.xgboost", raising=False)
    X, y = regression_with_outliers(n=60)
    with pytest.raises(ImportError, match=r'needs xgboost: pip install "losskit\[boost\]"'):
        lk.compare(X, y, ["huber"], model="xgboost")


# ------------------------------------------------------------------ the data
def test_bundled_csv_is_what_the_script_generates() -> None:
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "make_datasets.py"
    module = load_module(script)
    generated = module.deliveries()
    data = load("deliveries")
    np.testing.assert_allclose(data.X, generated[:, :4], atol=1e-9)
    np.testing.assert_allclose(data.y, generated[:, 4], atol=1e-9)
    assert data.feature_names == list(module.COLUMNS[:4])


def test_read_table_and_dataset_from_table(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from losskit.data import DataError, dataset_from_table, read_table

    path = tmp_path / "semi.csv"
    path.write_text("\ufeffa;b;label\n1;2;x\nNA;4;y\n5;6;x\n", encoding="utf-8")
    table = read_table(path)
    assert table.names == ["a", "b", "label"] and table.n_rows == 3
    data = dataset_from_table(table, "b")
    np.testing.assert_array_equal(data.X[:, 0], [1.0, 3.0, 5.0])  # NA filled with the median
    assert any("filled 1 missing values of 'a'" in note for note in data.notes)
    assert any("left out non-numeric column 'label'" in note for note in data.notes)
    classes = dataset_from_table(table, "label", classes=True)
    assert classes.classes == ["x", "y"] and classes.y.tolist() == [0.0, 1.0, 0.0]
    with pytest.raises(DataError, match="no numeric feature columns"):
        dataset_from_table(read_table(path), "label", features=["label"], classes=True)
    twice = tmp_path / "twice.csv"
    twice.write_text("a,a\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError, match="column names appear twice"):
        read_table(twice)
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(DataError, match="no data rows"):
        read_table(empty)
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):
        load("nope")
