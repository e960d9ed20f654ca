"""``lk.recommend``: the seed page's decision table, ranked, with reasons."""

from __future__ import annotations

from typing import Any

import pytest

import losskit as lk
from losskit.advisor import TASKS, _build

# (arguments, the first choice, a loss that must be among the candidates). Each row is
# a row of the seed's "how to choose a loss" table, or an extension named in its text.
TABLE = [
    ({"task": "regression"}, "squared_error", "huber"),
    ({"task": "regression", "outliers": True}, "huber", "absolute_error"),
    ({"task": "regression", "outliers": True, "metric": "mae"}, "absolute_error", "huber"),
    ({"task": "regression", "metric": "pinball@0.9"}, "quantile", "expectile"),
    ({"task": "quantile", "quantile": 0.1}, "quantile", "expectile"),
    ({"task": "regression", "costs": {"under": 3, "over": 1}}, "asymmetric", "quantile"),
    ({"task": "count"}, "poisson", "tweedie"),
    ({"task": "positive"}, "gamma", "tweedie"),
    ({"task": "binary"}, "binary_cross_entropy", "hinge"),
    ({"task": "binary", "margins": True}, "binary_cross_entropy", "squared_hinge"),
    ({"task": "binary", "imbalance": 50}, "focal", "binary_cross_entropy"),
    ({"task": "binary", "imbalance": 0.2}, "binary_cross_entropy", "focal"),
    ({"task": "binary", "costs": {"fn": 5, "fp": 1}}, "binary_cross_entropy", "hinge"),
    ({"task": "multiclass"}, "cross_entropy", "multiclass_hinge"),
    ({"task": "multiclass", "imbalance": 20}, "focal", "cross_entropy"),
    ({"task": "multilabel"}, "binary_cross_entropy", "asymmetric_multilabel"),
    ({"task": "multilabel", "imbalance": 30}, "binary_cross_entropy", "asymmetric_multilabel"),
    ({"task": "detection"}, "focal", "binary_cross_entropy"),
    ({"task": "ranking", "metric": "ndcg"}, "lambda_loss", "listnet"),
    ({"task": "ranking", "metric": "map"}, "ranknet", "lambda_loss"),
    ({"task": "sequence"}, "sequence_cross_entropy", "reinforce"),
    ({"task": "sequence", "metric": "bleu"}, "reinforce", "sequence_cross_entropy"),
    ({"task": "metric_learning"}, "contrastive", "triplet"),
]


@pytest.mark.parametrize(("arguments", "first", "also"), TABLE,
                         ids=[str(row[0]) for row in TABLE])
def test_decision_table(arguments: dict[str, Any], first: str, also: str) -> None:
    candidates = lk.recommend(**arguments)
    names = [c.name for c in candidates]
    assert names[0] == first, names
    assert also in names
    scores = [c.score for c in candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < score <= 1 for score in scores)


def test_every_task_is_covered_and_built() -> None:
    for task in TASKS:
        candidates = lk.recommend(task)
        assert candidates, task
        for candidate in candidates:
            assert candidate.reason
            if candidate.loss is not None:  # built with exactly the advertised parameters
                assert candidate.loss == lk.get(candidate.name, **candidate.params)


def test_reasons_cite_declared_properties() -> None:
    candidates = {c.name: c for c in lk.recommend("regression", outliers=True)}
    huber, mse, mae = candidates["huber"], candidates["squared_error"], candidates["absolute_error"]
    assert "robust" in huber.reason and "Lipschitz 1" in huber.reason
    assert "not robust" in mse.reason and "mean" in mse.reason
    assert "median" in mae.reason
    assert "dominated" in mse.reason  # the seed's words for MSE with outliers
    assert mse.score < min(huber.score, mae.score)


def test_clean_regression_prefers_mse_and_outliers_demote_it() -> None:
    clean = [c.name for c in lk.recommend("regression", outliers=False, metric="rmse")]
    dirty = [c.name for c in lk.recommend("regression", outliers=True, metric="rmse")]
    assert clean[0] == "squared_error"
    assert dirty.index("squared_error") == len(dirty) - 1


def test_costs_become_alpha_and_the_matching_quantile() -> None:
    candidates = {c.name: c for c in lk.recommend("regression", costs=3)}
    assert candidates["asymmetric"].params == {"alpha": 3.0}
    assert candidates["quantile"].params["q"] == pytest.approx(0.75)
    # the asymmetric loss's declared statistic is the same quantile level
    assert "0.75" in candidates["asymmetric"].loss.properties.statistic  # type: ignore[union-attr]
    assert lk.recommend("regression", costs=(3, 1))[0].params == {"alpha": 3.0}


def test_binary_costs_set_pos_weight() -> None:
    first = lk.recommend("binary", costs={"fn": 5, "fp": 1})[0]
    assert first.params["pos_weight"] == 5.0
    assert "pos_weight=5" in first.reason


def test_imbalance_thresholds() -> None:
    mild = [c.name for c in lk.recommend("binary", imbalance=4)]
    assert mild[0] == "binary_cross_entropy" and "focal" in mild
    balanced = [c.name for c in lk.recommend("binary", imbalance=1.2)]
    assert "focal" not in balanced
    weighted = lk.recommend("binary", imbalance=4)[0]
    assert weighted.params["pos_weight"] == 4.0
    assert lk.recommend("binary", imbalance=0.2)[0].params["pos_weight"] == 4.0  # 1:4


def test_scale_sets_the_huber_delta() -> None:
    huber = next(c for c in lk.recommend("regression", outliers=True, scale=2.0)
                 if c.name == "huber")
    assert huber.params["delta"] == pytest.approx(2.69)
    assert "1.345" in huber.reason
    default = next(c for c in lk.recommend("regression", outliers=True) if c.name == "huber")
    assert default.params["delta"] == 1.0


def test_non_differentiable_metrics_get_a_surrogate_note() -> None:
    first = lk.recommend("binary", metric="accuracy")[0]
    assert "piecewise constant" in first.reason and "surrogate" in first.reason


def test_a_loss_not_registered_is_returned_without_an_object() -> None:
    loss, note = _build("no_such_loss_yet", {})
    assert loss is None and "not registered" in note
    loss, note = _build("huber", {"delta": 2.0})
    assert loss == lk.Huber(delta=2.0) and note == ""


def test_candidate_label_and_dict() -> None:
    candidate = lk.recommend("regression", metric="pinball@0.9")[0]
    assert candidate.label == "quantile(q=0.9)"
    as_dict = candidate.to_dict()
    assert as_dict["name"] == "quantile" and as_dict["available"] is True
    assert str(candidate).startswith("quantile(q=0.9) (1.00): ")


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"task": "regresion"}, ValueError, "did you mean 'regression'"),
        ({"task": 3}, TypeError, "task must be a str"),
        ({"task": "binary", "imbalance": -2}, ValueError, "imbalance"),
        ({"task": "binary", "imbalance": 0.7}, ValueError, "imbalance"),
        ({"task": "binary", "imbalance": "high"}, TypeError, "imbalance"),
        ({"task": "regression", "costs": -1}, ValueError, "costs must be positive"),
        ({"task": "regression", "costs": {"fn": 2}}, ValueError, "'under' and 'over'"),
        ({"task": "binary", "costs": {"under": 2}}, ValueError, "'fn' and 'fp'"),
        ({"task": "regression", "quantile": 1.5}, ValueError, "quantile"),
        ({"task": "regression", "metric": "pinball@abc"}, ValueError, "after '@'"),
        ({"task": "regression", "metric": "pinball@2"}, ValueError, "in (0, 1)"),
        ({"task": "regression", "outliers": "yes"}, TypeError, "outliers"),
        ({"task": "regression", "scale": -1.0}, ValueError, "scale"),
    ],
)
def test_bad_arguments_name_the_argument(arguments: dict[str, Any], error: type[Exception],
                                         message: str) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        lk.recommend(**arguments)
