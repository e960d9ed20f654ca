"""Bad input gets a clear error naming the argument and the problem, never a silent NaN.

Each case asserts the exception type and fragments of its message: the argument
(``y_pred``, ``y_true``, ``sample_weight``, a hyperparameter, ``reduction``, ``link``)
and what was wrong with it. Losses registered by other families are tested when they
are present (``skip`` otherwise). Also: no public method mutates its inputs, and
``nan_policy="propagate"`` turns NaN inputs into NaN outputs instead of raising.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import losskit as lk

Y_PRED = np.array([1.5, 2.0, 2.5])
Y_TRUE = np.array([1.0, 2.0, 3.0])
MSE = lk.get("squared_error")


def with_nan(values: np.ndarray, index: int = 1, value: float = np.nan) -> np.ndarray:
    out = np.array(values, dtype=float)
    out[index] = value
    return out


def require(name: str) -> lk.Loss:
    if name not in lk.list_losses():
        pytest.skip(f"'{name}' is not registered")
    return lk.get(name)


def assert_error(call: Callable[[], Any], error: type[Exception], *fragments: str) -> None:
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


# ------------------------------------------------------------ array inputs
ARRAY_CASES: list[tuple[str, Callable[[], Any], type[Exception], tuple[str, ...]]] = [
    ("y_true (n,1) vs y_pred (n,)", lambda: MSE(Y_PRED, Y_TRUE[:, None]), ValueError,
     ("y_true", "(3, 1)", "y_pred", "(3,)", "must be equal")),
    ("y_pred (n,1) vs y_true (n,)", lambda: MSE(Y_PRED[:, None], Y_TRUE), ValueError,
     ("y_true", "(3,)", "y_pred", "(3, 1)", "must be equal")),
    ("length mismatch", lambda: MSE(Y_PRED, Y_TRUE[:2]), ValueError,
     ("y_true", "(2,)", "y_pred", "(3,)")),
    ("nan in y_pred", lambda: MSE(with_nan(Y_PRED), Y_TRUE), ValueError,
     ("y_pred", "finite", "index 1")),
    ("inf in y_pred", lambda: MSE(with_nan(Y_PRED, 2, np.inf), Y_TRUE), ValueError,
     ("y_pred", "finite", "index 2")),
    ("nan in y_true", lambda: MSE(Y_PRED, with_nan(Y_TRUE, 0)), ValueError,
     ("y_true", "finite", "index 0")),
    ("-inf in y_true", lambda: MSE(Y_PRED, with_nan(Y_TRUE, 1, -np.inf)), ValueError,
     ("y_true", "finite", "index 1")),
    ("nan in sample_weight", lambda: MSE(Y_PRED, Y_TRUE, with_nan(np.ones(3))), ValueError,
     ("sample_weight", "finite", "index 1")),
    ("inf in sample_weight", lambda: MSE(Y_PRED, Y_TRUE, with_nan(np.ones(3), 2, np.inf)),
     ValueError, ("sample_weight", "finite", "index 2")),
    ("negative sample_weight", lambda: MSE(Y_PRED, Y_TRUE, np.array([1.0, -0.5, 1.0])),
     ValueError, ("sample_weight", ">= 0", "index 1")),
    ("all-zero sample_weight for mean", lambda: MSE(Y_PRED, Y_TRUE, np.zeros(3)), ValueError,
     ("sample_weight", "sum to zero", "weighted mean")),
    ("sample_weight too short", lambda: MSE(Y_PRED, Y_TRUE, np.ones(2)), ValueError,
     ("sample_weight", "shape (3,)", "got (2,)")),
    ("sample_weight (n,1)", lambda: MSE(Y_PRED, Y_TRUE, np.ones((3, 1))), ValueError,
     ("sample_weight", "shape (3,)", "got (3, 1)")),
    ("sample_weight scalar", lambda: MSE(Y_PRED, Y_TRUE, 2.0), ValueError,
     ("sample_weight", "shape (3,)", "got ()")),
    ("empty arrays", lambda: MSE(np.array([]), np.array([])), ValueError,
     ("y_pred", "empty")),
    ("strings in y_pred", lambda: MSE(["a", "b", "c"], Y_TRUE), TypeError,
     ("y_pred", "numeric")),
    ("string y_true", lambda: MSE(Y_PRED, "abc"), TypeError, ("y_true", "numeric")),
    ("strings in sample_weight", lambda: MSE(Y_PRED, Y_TRUE, ["a", "b", "c"]), TypeError,
     ("sample_weight", "numeric")),
    ("objects in y_pred", lambda: MSE(np.array([1.0, None, 2.0], dtype=object), Y_TRUE),
     TypeError, ("y_pred", "numeric", "object")),
    ("complex y_pred", lambda: MSE(Y_PRED + 1j, Y_TRUE), TypeError,
     ("y_pred", "real-valued", "complex")),
    ("complex y_true", lambda: MSE(Y_PRED, Y_TRUE + 0j), TypeError,
     ("y_true", "real-valued", "complex")),
    ("complex sample_weight", lambda: MSE(Y_PRED, Y_TRUE, np.ones(3) + 0j), TypeError,
     ("sample_weight", "real-valued")),
    ("ragged y_pred", lambda: MSE([[1.0, 2.0], [3.0]], [[1.0, 2.0], [3.0]]), ValueError,
     ("y_pred", "rectangular")),
    ("ragged y_true", lambda: MSE(Y_PRED, [[1.0], [2.0, 3.0], [4.0]]), ValueError,
     ("y_true", "rectangular")),
    ("None y_pred", lambda: MSE(None, Y_TRUE), TypeError, ("y_pred", "None")),
    ("None y_true", lambda: MSE(Y_PRED, None), TypeError, ("y_true", "None")),
    ("0-d scalars", lambda: MSE(1.0, 2.0), ValueError, ("y_pred", "scalar")),
    ("0-d numpy scalars", lambda: MSE(np.float64(1.0), np.float64(2.0)), ValueError,
     ("y_pred", "at least one dimension")),
    ("bad reduction", lambda: MSE(Y_PRED, Y_TRUE, reduction="avg"), ValueError,
     ("reduction", "'avg'", "'mean'")),
    ("reduction None", lambda: MSE(Y_PRED, Y_TRUE, reduction=None), ValueError,
     ("reduction", "None")),
]


@pytest.mark.parametrize(("call", "error", "fragments"),
                         [case[1:] for case in ARRAY_CASES], ids=[c[0] for c in ARRAY_CASES])
def test_bad_arrays(call: Callable[[], Any], error: type[Exception],
                    fragments: tuple[str, ...]) -> None:
    assert_error(call, error, *fragments)


METHODS = ["__call__", "elementwise", "gradient", "hessian", "loss_gradient",
           "gradient_hessian"]


@pytest.mark.parametrize("method", METHODS)
def test_every_public_method_validates(method: str) -> None:
    call = getattr(MSE, method)
    assert_error(lambda: call(Y_PRED, Y_TRUE[:, None]), ValueError, "y_true", "(3, 1)")
    assert_error(lambda: call(with_nan(Y_PRED), Y_TRUE), ValueError, "y_pred", "finite")
    assert_error(lambda: call(Y_PRED, with_nan(Y_TRUE)), ValueError, "y_true", "finite")
    assert_error(lambda: call(Y_PRED, ["x", "y", "z"]), TypeError, "y_true", "numeric")
    if method != "elementwise":
        assert_error(lambda: call(Y_PRED, Y_TRUE, np.array([1.0, -1.0, 1.0])), ValueError,
                     "sample_weight", ">= 0")


def test_sum_reduction_with_zero_weights_is_zero_not_an_error() -> None:
    # Only the mean divides by the weights' total; a zero sum is a fine sum.
    assert float(MSE(Y_PRED, Y_TRUE, np.zeros(3), reduction="sum")) == 0.0


OPTIMAL_CONSTANT_CASES = [
    ("nan", lambda: MSE.optimal_constant(with_nan(Y_TRUE)), ValueError,
     ("y_true", "finite")),
    ("empty", lambda: MSE.optimal_constant(np.array([])), ValueError, ("y_true", "empty")),
    ("None", lambda: MSE.optimal_constant(None), TypeError, ("y_true", "None")),
    ("scalar", lambda: MSE.optimal_constant(3.0), ValueError, ("y_true", "scalar")),
    ("strings", lambda: MSE.optimal_constant(["a", "b"]), TypeError, ("y_true", "numeric")),
    ("negative weight",
     lambda: MSE.optimal_constant(Y_TRUE, sample_weight=np.array([1.0, -1.0, 1.0])),
     ValueError, ("sample_weight", ">= 0")),
    ("zero weights", lambda: MSE.optimal_constant(Y_TRUE, sample_weight=np.zeros(3)),
     ValueError, ("sample_weight", "zero")),
    ("weight shape", lambda: MSE.optimal_constant(Y_TRUE, sample_weight=np.ones(2)),
     ValueError, ("sample_weight", "shape")),
    ("poisson negative counts",
     lambda: lk.get("poisson").optimal_constant(np.array([1.0, -1.0])), ValueError,
     ("y_true", "poisson", "[0, inf)")),
]


@pytest.mark.parametrize(("call", "error", "fragments"),
                         [case[1:] for case in OPTIMAL_CONSTANT_CASES],
                         ids=[c[0] for c in OPTIMAL_CONSTANT_CASES])
def test_bad_optimal_constant_inputs(call: Callable[[], Any], error: type[Exception],
                                     fragments: tuple[str, ...]) -> None:
    assert_error(call, error, *fragments)


# -------------------------------------------------------- domains of values
def test_poisson_negative_counts() -> None:
    assert_error(lambda: lk.get("poisson")(Y_PRED, np.array([1.0, -1.0, 2.0])), ValueError,
                 "y_true", "'poisson'", "[0, inf)", "index 1")


@pytest.mark.parametrize("bad", [0.0, -2.0])
def test_gamma_non_positive_target(bad: float) -> None:
    assert_error(lambda: lk.get("gamma")(Y_PRED, with_nan(Y_TRUE, 2, bad)), ValueError,
                 "y_true", "'gamma'", "(0, inf)", "index 2")


@pytest.mark.parametrize("name", ["poisson", "gamma", "tweedie"])
@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_non_positive_mean_with_identity_link(name: str, bad: float) -> None:
    loss = lk.get(name)
    assert_error(lambda: loss(with_nan(Y_PRED, 0, bad), Y_TRUE), ValueError,
                 "y_pred", f"'{name}'", "(0, inf)", "a mean", "link='log'", "index 0")


def test_non_positive_mean_is_fine_with_log_link() -> None:
    value = lk.get("poisson", link="log")(np.array([-1.0, 0.0, 1.0]), Y_TRUE)
    assert np.isfinite(value)


@pytest.mark.parametrize(("power", "target", "domain"),
                         [(1.5, -1.0, "[0, inf)"), (3.0, 0.0, "(0, inf)")])
def test_tweedie_target_domain_follows_power(power: float, target: float, domain: str) -> None:
    loss = lk.get("tweedie", power=power)
    assert_error(lambda: loss(Y_PRED, with_nan(Y_TRUE, 1, target)), ValueError,
                 "y_true", "'tweedie'", f"power={power:g}", domain)


@pytest.mark.parametrize("bad", [1.2, -0.2])
def test_binary_cross_entropy_probability_outside_unit_interval(bad: float) -> None:
    loss = require("binary_cross_entropy")
    assert_error(lambda: loss(np.array([0.5, bad]), np.array([0.0, 1.0])), ValueError,
                 "y_pred", "[0, 1]", "probability", "link='logit'", "index 1")


@pytest.mark.parametrize("bad", [2.0, -1.0])
def test_binary_cross_entropy_labels_outside_0_1(bad: float) -> None:
    loss = require("binary_cross_entropy")
    assert_error(lambda: loss(np.array([0.5, 0.2]), np.array([0.0, bad])), ValueError,
                 "y_true", "'binary_cross_entropy'", "[0, 1]", "index 1")


@pytest.mark.parametrize("name", ["hinge", "squared_hinge"])
@pytest.mark.parametrize("bad", [2.0, 0.5])
def test_margin_labels_outside_binary(name: str, bad: float) -> None:
    loss = require(name)
    assert_error(lambda: loss(np.array([0.5, -0.2, 1.0]), np.array([1.0, bad, 0.0])),
                 ValueError, "y_true", f"'{name}'", "{0, 1}", "index 1")


@pytest.mark.parametrize("name", ["cross_entropy", "multiclass_hinge"])
@pytest.mark.parametrize(("bad", "problem"),
                         [(3.0, "[0, 2]"), (-1.0, "[0, 2]"), (1.5, "whole numbers")])
def test_class_indices_outside_range(name: str, bad: float, problem: str) -> None:
    loss = require(name)
    scores = np.full((2, 3), 1.0 / 3.0)
    assert_error(lambda: loss(scores, np.array([0.0, bad])), ValueError,
                 "y_true", f"'{name}'", "class indices", problem, "index 1")


def test_cross_entropy_probability_rows_must_sum_to_one() -> None:
    loss = require("cross_entropy")
    rows = np.array([[1.0, 0.0, 0.0], [0.5, 0.6, 0.0]])
    assert_error(lambda: loss(np.full((2, 3), 1.0 / 3.0), rows), ValueError,
                 "y_true", "sum to 1", "index 1")


def test_cross_entropy_target_shape() -> None:
    loss = require("cross_entropy")
    assert_error(lambda: loss(np.full((2, 3), 1.0 / 3.0), np.zeros((2, 2))), ValueError,
                 "y_true", "(2,)", "(2, 3)", "got shape (2, 2)")


# ---------------------------------------------------------- hyperparameters
HYPERPARAMETER_CASES: list[tuple[str, dict[str, Any], type[Exception], tuple[str, ...]]] = [
    ("huber", {"delta": 0}, ValueError, ("delta", "'huber'", "> 0", "got 0")),
    ("huber", {"delta": -1.0}, ValueError, ("delta", "> 0", "got -1")),
    ("huber", {"delta": float("nan")}, ValueError, ("delta", "nan")),
    ("huber", {"delta": float("inf")}, ValueError, ("delta", "inf")),
    ("huber", {"delta": "1"}, TypeError, ("delta", "real number", "'1'")),
    ("huber", {"delta": None}, TypeError, ("delta", "real number", "None")),
    ("huber", {"delta": True}, TypeError, ("delta", "real number", "True")),
    ("huber", {"delta": np.array([1.0, 2.0])}, TypeError, ("delta", "real number")),
    ("pseudo_huber", {"delta": 0.0}, ValueError, ("delta", "'pseudo_huber'", "> 0")),
    ("quantile", {"q": 0.0}, ValueError, ("q", "'quantile'", "(0, 1)", "got 0")),
    ("quantile", {"q": 1.0}, ValueError, ("q", "(0, 1)", "got 1")),
    ("quantile", {"q": 1.5}, ValueError, ("q", "(0, 1)", "got 1.5")),
    ("quantile", {"q": float("nan")}, ValueError, ("q", "nan")),
    ("quantile", {"q": "0.5"}, TypeError, ("q", "real number")),
    ("tweedie", {"power": 0.5}, ValueError, ("power", "'tweedie'", "<= 0 or >= 1", "0.5")),
    ("tweedie", {"power": "1.5"}, TypeError, ("power", "real number")),
    ("expectile", {"tau": 1}, ValueError, ("tau", "'expectile'", "(0, 1)", "got 1")),
    ("expectile", {"tau": 0.0}, ValueError, ("tau", "(0, 1)")),
    ("asymmetric", {"alpha": 0.0}, ValueError, ("alpha", "'asymmetric'", "> 0")),
    ("squared_error", {"link": "probit"}, ValueError, ("link", "'probit'", "'log'")),
    ("squared_error", {"link": 3}, ValueError, ("link", "3")),
    ("squared_error", {"link": "logit"}, ValueError,
     ("link", "'squared_error'", "['identity', 'log']", "'logit'")),
    ("poisson", {"link": "softmax"}, ValueError, ("link", "'poisson'", "'softmax'")),
    ("squared_error", {"nan_policy": "omit"}, ValueError,
     ("nan_policy", "'raise'", "'propagate'", "'omit'")),
    ("huber", {"dleta": 2.0}, TypeError, ("dleta",)),
]


@pytest.mark.parametrize(("name", "params", "error", "fragments"), HYPERPARAMETER_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in HYPERPARAMETER_CASES])
def test_bad_hyperparameters(name: str, params: dict[str, Any], error: type[Exception],
                             fragments: tuple[str, ...]) -> None:
    assert_error(lambda: lk.get(name, **params), error, *fragments)


def test_bad_hyperparameter_of_another_family() -> None:
    loss_name = "binary_cross_entropy"
    require(loss_name)
    assert_error(lambda: lk.get(loss_name, link="log"), ValueError, "link", "'log'")
    assert_error(lambda: lk.get(loss_name, eps=1.0), ValueError, "eps", "'binary_cross_entropy'")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda t: t.__name__)
def test_an_eps_below_the_dtypes_resolution_clips_inside_zero_and_one(dtype: Any) -> None:
    """``eps=1e-300`` is below half an ulp of 1 in both dtypes (and below float32's
    smallest number): probabilities are clipped to ``[max(eps, smallest normal), the
    largest number below 1]`` instead, so a label at a bound that ``p`` reaches gives a
    finite loss and gradient, not ``0 * log(0)`` (NaN) with NumPy's warnings."""
    info = np.finfo(dtype)
    low, high = max(1e-300, float(info.smallest_normal)), 1.0 - float(info.eps) / 2
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.25], dtype=dtype)
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.5], dtype=dtype)
    clipped = np.clip(p.astype(np.float64), low, high)
    value = -(y * np.log(clipped) + (1 - y) * np.log1p(-clipped))  # float64 oracle
    gradient = (1 - y) / (1 - clipped) - y / clipped
    loss = lk.get("binary_cross_entropy", eps=1e-300)
    with warnings.catch_warnings(), lk.fast_path(False):
        warnings.simplefilter("error")
        got_value = loss(p, y, reduction="none")
        got_gradient = loss.gradient(p, y)
    assert got_value.dtype == got_gradient.dtype == dtype
    np.testing.assert_allclose(got_value, value, rtol=4 * float(info.eps))
    np.testing.assert_allclose(got_gradient, gradient, rtol=4 * float(info.eps))
    # Categorical: a probability 0 at the target and at the other class.
    rows = np.array([[0.0, 1.0], [0.0, 1.0]], dtype=dtype)
    for name, target in (("cross_entropy", np.array([0, 1])),
                         ("kl_divergence", np.array([[1.0, 0.0], [0.0, 1.0]], dtype=dtype))):
        categorical = lk.get(name, eps=1e-300)
        with warnings.catch_warnings(), lk.fast_path(False):
            warnings.simplefilter("error")
            got = categorical(rows, target, reduction="none")
            derivative = categorical.gradient(rows, target)
        np.testing.assert_allclose(got, [-np.log(low), 0.0], rtol=4 * float(info.eps))
        assert np.all(np.isfinite(derivative)), (name, derivative)
        assert derivative[0, 1] == derivative[1, 0] == 0  # 0 / p at a zero-mass class


def test_unknown_loss_name_suggests_the_nearest() -> None:
    assert_error(lambda: lk.get("hubber"), ValueError, "unknown loss 'hubber'",
                 "did you mean", "'huber'")
    assert_error(lambda: lk.get("no_such_thing"), ValueError, "unknown loss",
                 "list_losses")


def test_get_rejects_params_with_an_instance_and_non_names() -> None:
    assert_error(lambda: lk.get(lk.Huber(), delta=2.0), TypeError, "delta", "Loss instance")
    assert_error(lambda: lk.get(3), TypeError, "loss", "name", "int")


def test_bad_composition_factor() -> None:
    assert_error(lambda: -1.0 * MSE, ValueError, "factor", "> 0")
    assert_error(lambda: MSE / 0, ValueError, "divisor", "> 0")


# -------------------------------------------------------- inputs unchanged
def _public_calls(loss: lk.Loss, y_pred: np.ndarray, y_true: np.ndarray,
                  weight: np.ndarray, *, optimal_constant: bool = True) -> None:
    loss(y_pred, y_true)
    loss(y_pred, y_true, sample_weight=weight, reduction="sum")
    loss(y_pred, y_true, sample_weight=weight, reduction="none")
    loss.elementwise(y_pred, y_true)
    loss.gradient(y_pred, y_true, sample_weight=weight)
    loss.hessian(y_pred, y_true, sample_weight=weight)
    loss.loss_gradient(y_pred, y_true, sample_weight=weight)
    loss.gradient_hessian(y_pred, y_true, sample_weight=weight)
    if optimal_constant and loss.pointwise:  # structured losses have no constant
        loss.optimal_constant(y_true, sample_weight=weight)


@pytest.mark.parametrize("name", lk.list_losses())
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_public_methods_do_not_mutate_inputs(name: str, dtype: type) -> None:
    loss = lk.get(name)
    y_pred, y_true = loss.example(8)
    y_pred = y_pred.astype(dtype)
    y_true = None if y_true is None else y_true.astype(dtype)
    weight = np.linspace(0.5, 2.0, y_pred.shape[0]).astype(dtype)
    inputs = [a for a in (y_pred, y_true, weight) if a is not None]
    before = [a.copy() for a in inputs]
    # float32 probability rows: see test_optimal_constant_of_float32_probability_rows.
    _public_calls(loss, y_pred, y_true, weight, optimal_constant=dtype is np.float64)
    for original, after in zip(before, inputs, strict=True):
        np.testing.assert_array_equal(after, original, strict=True)


def test_optimal_constant_of_float32_probability_rows() -> None:
    loss = require("kl_divergence")
    rows = np.array([[0.1, 0.2, 0.7], [0.3, 0.3, 0.4]], dtype=np.float32)
    constant = loss.optimal_constant(rows)
    assert constant.dtype == np.float32
    np.testing.assert_allclose(constant, rows.astype(np.float64).mean(axis=0), rtol=1e-6)


@pytest.mark.parametrize("name", lk.list_losses())
def test_linked_losses_do_not_mutate_inputs(name: str) -> None:
    cls = lk.registry.loss_class(name)
    links = [link for link in cls.links if link != "identity"]
    if not links:
        pytest.skip(f"'{name}' has only the identity link")
    loss = lk.get(name, link=links[0])
    y_pred, y_true = loss.example(8)
    weight = np.ones(y_pred.shape[0])
    inputs = [a for a in (y_pred, y_true, weight) if a is not None]
    before = [a.copy() for a in inputs]
    _public_calls(loss, y_pred, y_true, weight)
    for original, after in zip(before, inputs, strict=True):
        np.testing.assert_array_equal(after, original, strict=True)


# ------------------------------------------------------------ nan_policy
# Pointwise losses: a NaN sample leaves the others alone. (In a structured loss one
# sample may enter the others' values: NT-Xent's negatives, a ranking list's pairs.)
@pytest.mark.parametrize("name", [name for name in lk.list_losses()
                                  if lk.registry.loss_class(name).pointwise])
@pytest.mark.parametrize("where", ["y_pred", "y_true"])
def test_nan_policy_propagate_returns_nan(name: str, where: str) -> None:
    loss = lk.get(name, nan_policy="propagate")
    y_pred, y_true = loss.example(6)
    if where == "y_true" and y_true.shape != y_pred.shape:
        pytest.skip("class indices cannot be NaN (they are converted to integers)")
    (y_pred if where == "y_pred" else y_true)[1] = np.nan

    values = loss(y_pred, y_true, reduction="none")
    assert np.isnan(values[1])
    assert np.all(np.isfinite(np.delete(values, 1, axis=0)))
    assert np.isnan(loss(y_pred, y_true))
    gradient, hessian = loss.gradient_hessian(y_pred, y_true)
    assert np.all(np.isnan(gradient[1])) and np.all(np.isnan(hessian[1]))
    assert np.all(np.isfinite(np.delete(gradient, 1, axis=0)))

    strict = lk.get(name)
    assert_error(lambda: strict(y_pred, y_true), ValueError, where, "finite")


def test_nan_policy_propagate_still_checks_the_other_values() -> None:
    loss = lk.get("poisson", nan_policy="propagate")
    assert_error(lambda: loss(np.array([np.nan, -1.0, 2.0]), Y_TRUE), ValueError,
                 "y_pred", "(0, inf)", "1 such value", "index 1")
    assert np.isnan(loss(np.full(3, np.nan), Y_TRUE))


def test_nan_policy_propagate_keeps_set_checks_of_labels() -> None:
    loss = require("hinge")
    propagate = lk.get("hinge", nan_policy="propagate")
    values = propagate(np.array([0.5, -0.2, 1.0]), np.array([1.0, np.nan, -1.0]),
                       reduction="none")
    assert np.isnan(values[1]) and np.all(np.isfinite(values[[0, 2]]))
    assert_error(lambda: loss(np.array([0.5, -0.2, 1.0]), np.array([1.0, np.nan, -1.0])),
                 ValueError, "y_true", "finite")


def test_misspelled_parameter_in_get_suggests_the_right_name() -> None:
    with pytest.raises(TypeError, match=r"'huber' has no parameter 'dleta'; did you mean 'delta'"):
        lk.get("huber", dleta=2.0)
    with pytest.raises(TypeError, match=r"'quantile' has no parameter 'alpha'.*q, link"):
        lk.get("quantile", alpha=0.9)


@pytest.mark.parametrize(("name", "params"), [
    ("cross_entropy", {"link": "softmax"}), ("focal", {"link": "softmax"}),
    ("multiclass_hinge", {}),
], ids=["cross_entropy", "focal", "multiclass_hinge"])
def test_a_nan_class_index_propagates_to_its_sample_only(name, params):
    loss = lk.get(name, nan_policy="propagate", **params)
    z = np.random.default_rng(0).normal(size=(5, 4))
    y = np.array([0.0, np.nan, 2.0, 3.0, 1.0])
    kept = [0, 2, 3, 4]
    values = loss(z, y, reduction="none")
    gradient, hessian = loss.gradient_hessian(z, y)
    assert np.isnan(values[1]) and np.isnan(gradient[1]).all() and np.isnan(hessian[1]).all()
    np.testing.assert_allclose(values[kept], loss(z[kept], y[kept], reduction="none"),
                               rtol=1e-15)
    np.testing.assert_allclose(gradient[kept], loss.gradient(z[kept], y[kept]), rtol=1e-15)
    assert np.isnan(loss(z, y))
    with pytest.raises(ValueError, match="finite"):
        lk.get(name, nan_policy="raise", **params)(z, y)
