"""``LossRegressor`` and ``LossClassifier``: scikit-learn's estimator checks, and the
same fits as ``lk.fit`` and scikit-learn's own estimators."""

from __future__ import annotations

import numpy as np
import pytest

import losskit as lk

sklearn = pytest.importorskip("sklearn")
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402


def expected_failures(estimator: object) -> dict[str, str]:
    if getattr(estimator, "loss", None) == "quantile":
        # The exact solver refuses an unpenalised fit with fewer rows than columns (the
        # minimiser is not unique); these two checks fit such data without a penalty.
        reason = "unpenalised quantile regression with n < p is refused as undetermined"
        return {"check_sample_weight_equivalence_on_dense_data": reason,
                "check_fit2d_1sample": reason}
    return {}


@parametrize_with_checks([
    lk.LossRegressor(),
    lk.LossRegressor("huber", penalty="l2", alpha=0.01),
    lk.LossRegressor("quantile"),
    lk.LossClassifier(),
    lk.LossClassifier("focal"),
    lk.LossClassifier("hinge", penalty=None),
], expected_failed_checks=expected_failures)
def test_scikit_learn_estimator_checks(estimator: object, check: object) -> None:
    check(estimator)  # type: ignore[operator]


def test_classifier_matches_logistic_regression_multinomial() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = np.array(["a", "b", "c"])[np.argmax(X @ rng.normal(size=(3, 3))
                                            + rng.gumbel(size=(300, 3)), axis=1)]
    C = 1.0
    reference = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    model = lk.LossClassifier("cross_entropy", alpha=1 / (C * len(y))).fit(X, y)
    assert list(model.classes_) == ["a", "b", "c"]
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-7)
    assert (model.predict(X) == reference.predict(X)).all()


def test_binary_loss_on_three_classes_becomes_multiclass() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    y = np.digitize(X[:, 0] + 0.3 * rng.normal(size=200), [-0.5, 0.5])
    model = lk.LossClassifier("focal").fit(X, y)
    assert model.loss_.name == "focal" and model.loss_.link.name == "softmax"
    assert model.predict_proba(X).shape == (200, 3)
    assert model.score(X, y) > 0.7
    hinge = lk.LossClassifier("hinge").fit(X, y)
    assert hinge.loss_.name == "multiclass_hinge"
    assert not hasattr(hinge, "predict_proba")


def test_class_weight_balanced_is_sample_weight() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] + rng.normal(size=300) > 1.2).astype(int)
    balanced = lk.LossClassifier(class_weight="balanced").fit(X, y)
    counts = np.bincount(y)
    weight = (len(y) / (2 * counts))[y]
    manual = lk.LossClassifier().fit(X, y, sample_weight=weight)
    np.testing.assert_allclose(balanced.coef_, manual.coef_, rtol=1e-12)


def test_regressor_in_a_pipeline_with_a_custom_loss() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 3)) * [1.0, 10.0, 100.0]
    y = X @ [1.0, 0.1, 0.01] + rng.standard_t(2, size=200)

    def cauchy(y_pred, y_true, xp):  # type: ignore[no-untyped-def]
        return xp.log1p((y_pred - y_true) ** 2)

    loss = lk.custom(cauchy, name="cauchy_estimator")
    model = make_pipeline(StandardScaler(), lk.LossRegressor(loss)).fit(X, y)
    scaled = StandardScaler().fit_transform(X)
    direct = lk.fit(scaled, y, loss)
    np.testing.assert_allclose(model[-1].coef_, direct.coef, rtol=1e-12)
    scores = cross_val_score(model, X, y, cv=3)  # clone() copies the custom loss
    assert np.all(np.isfinite(scores))


def test_poisson_regressor_predicts_means() -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 2)) * 0.5
    y = rng.poisson(np.exp(X @ [0.5, -0.3] + 1.0))
    model = lk.LossRegressor("poisson").fit(X, y)
    assert model.loss_.link.name == "log"
    np.testing.assert_allclose(model.predict(X), np.exp(X @ model.coef_ + model.intercept_))


def test_bad_loss_type() -> None:
    with pytest.raises(TypeError, match="loss must be a registered name"):
        lk.LossRegressor(loss=3.0).fit(np.ones((3, 1)), [1.0, 2.0, 3.0])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one class"):
        lk.LossClassifier().fit(np.ones((3, 1)), [1, 1, 1])
