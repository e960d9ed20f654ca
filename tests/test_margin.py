"""Margin losses: hinge, squared_hinge, exponential and multiclass_hinge.

References: ``sklearn.metrics.hinge_loss`` (binary, and multiclass Crammer–Singer with
margin 1) and ``torch.nn.functional.multi_margin_loss`` (Weston–Watkins, p=1), both
computed live in float64; gradients against torch autograd at points away from kinks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize, minimize_scalar
from sklearn.metrics import hinge_loss

import losskit as lk

BINARY = ["hinge", "squared_hinge", "exponential"]
MULTICLASS = [
    {"kind": "crammer_singer"},
    {"kind": "crammer_singer", "margin": 0.5},
    {"kind": "weston_watkins"},
    {"kind": "weston_watkins", "margin": 2.5},
]
ALL = [(name, {}) for name in BINARY] + [("multiclass_hinge", p) for p in MULTICLASS]


def _binary_data(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n).astype(np.float64)
    return rng.normal(0.0, 2.0, size=n), y, rng.uniform(0.1, 3.0, size=n)


def _multiclass_data(n: int = 40, k: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % k).astype(np.float64)
    return rng.normal(0.0, 1.5, size=(n, k)), y, rng.uniform(0.1, 3.0, size=n)


# ------------------------------------------------------------- references
def test_hinge_matches_sklearn_binary():
    z, y, w = _binary_data()
    loss = lk.get("hinge")
    assert float(loss(z, y)) == pytest.approx(hinge_loss(y, z), rel=1e-12)
    assert float(loss(z, y, sample_weight=w)) == pytest.approx(
        hinge_loss(y, z, sample_weight=w), rel=1e-12)
    assert float(loss(z, 2 * y - 1)) == pytest.approx(hinge_loss(2 * y - 1, z), rel=1e-12)


@pytest.mark.parametrize("k", [3, 5])
def test_crammer_singer_matches_sklearn_multiclass(k):
    z, y, w = _multiclass_data(k=k, seed=k)
    loss = lk.get("multiclass_hinge")
    labels = np.arange(k)
    assert float(loss(z, y)) == pytest.approx(hinge_loss(y, z, labels=labels), rel=1e-12)
    assert float(loss(z, y, sample_weight=w)) == pytest.approx(
        hinge_loss(y, z, labels=labels, sample_weight=w), rel=1e-12)


@pytest.mark.parametrize("margin", [1.0, 0.3, 2.5])
def test_weston_watkins_matches_torch_multi_margin_loss(margin):
    z, y, _ = _multiclass_data(seed=7)
    loss = lk.get("multiclass_hinge", kind="weston_watkins", margin=margin)
    expected = torch.nn.functional.multi_margin_loss(
        torch.tensor(z), torch.tensor(y).long(), p=1, margin=margin, weight=None,
        reduction="none").numpy()
    np.testing.assert_allclose(loss.elementwise(z, y), expected, rtol=1e-12, atol=0)
    assert float(loss(z, y)) == pytest.approx(float(expected.mean()), rel=1e-12)


def test_small_hand_values():
    # max(0, 1 - 1 * 0.5) = 0.5; label 0 -> s = -1: max(0, 1 - 2) = 0; 1 + 0.5 = 1.5
    values = lk.get("hinge").elementwise([0.5, -2.0, 0.5], [1, 0, 0])
    np.testing.assert_allclose(values, [0.5, 0.0, 1.5])
    np.testing.assert_allclose(lk.get("squared_hinge").elementwise([0.5, -2.0], [1, 0]),
                               [0.25, 0.0])
    np.testing.assert_allclose(lk.get("exponential").elementwise([0.5, -2.0], [1, 0]),
                               [math.exp(-0.5), math.exp(-2.0)], rtol=1e-15)
    # scores (3, 1, 0), class 1: CS 1 + 3 - 1 = 3; WW ((1 - 1 + 3) + (1 - 1 + 0)) / 3 = 1
    scores, target = [[3.0, 1.0, 0.0]], [1]
    assert float(lk.get("multiclass_hinge")(scores, target)) == 3.0
    ww = lk.get("multiclass_hinge", kind="weston_watkins")
    assert float(ww(scores, target)) == pytest.approx(1.0, rel=1e-15)


# --------------------------------------------------------------- gradients
def _autograd(loss, pred: np.ndarray, y: np.ndarray, w: np.ndarray | None):
    z = torch.tensor(pred, requires_grad=True)
    weight = None if w is None else torch.tensor(w)
    total = loss(z, torch.tensor(y), sample_weight=weight, reduction="sum")
    (gradient,) = torch.autograd.grad(total, z, create_graph=True)
    # Per-sample losses depend on their own row only: d(sum of g) gives the diagonal.
    if not gradient.requires_grad:  # piecewise linear: the graph of g is constant
        return gradient.detach().numpy(), np.zeros_like(pred)
    (hessian,) = torch.autograd.grad(gradient.sum(), z, allow_unused=True)
    return gradient.detach().numpy(), np.zeros_like(pred) if hessian is None else hessian.numpy()


@pytest.mark.parametrize(("name", "params"), ALL)
@pytest.mark.parametrize("weighted", [False, True])
def test_gradient_and_hessian_match_torch_autograd(name, params, weighted):
    loss = lk.get(name, **params)
    pred, y = loss.example(n=30, seed=3)  # the example keeps away from every kink
    w = np.random.default_rng(1).uniform(0.5, 2.0, size=30) if weighted else None
    gradient, hessian = _autograd(loss, pred, y, w)
    np.testing.assert_allclose(loss.gradient(pred, y, sample_weight=w), gradient,
                               rtol=1e-12, atol=1e-14)
    loss_value, fused = loss.loss_gradient(pred, y, sample_weight=w)
    np.testing.assert_allclose(fused, gradient, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(loss_value, loss(pred, y, sample_weight=w, reduction="none"))
    g, h = loss.gradient_hessian(pred, y, sample_weight=w)
    np.testing.assert_allclose(g, gradient, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h, loss.hessian(pred, y, sample_weight=w))
    if loss.properties.hessian == "exact":
        np.testing.assert_allclose(h, hessian, rtol=1e-12, atol=1e-14)
    else:
        assert loss.properties.hessian == "surrogate"
        np.testing.assert_allclose(h, np.ones_like(pred) if w is None
                                   else np.broadcast_to(w.reshape(-1, *[1] * (pred.ndim - 1)),
                                                        pred.shape))
        np.testing.assert_array_equal(hessian, 0.0)


def test_examples_avoid_kinks_and_cover_both_sides():
    pred, y = lk.get("hinge").example(n=200, seed=5)
    margin = np.where(y == 0, -1.0, 1.0) * pred
    assert np.min(np.abs(margin - 1.0)) >= 0.05
    assert np.any(margin < 1) and np.any(margin > 1)
    assert set(np.unique(y)) == {0.0, 1.0} and np.sum(y == 1) != np.sum(y == 0)
    for params in MULTICLASS:
        loss = lk.get("multiclass_hinge", **params)
        scores, target = loss.example(n=50, seed=2)
        assert scores.shape == (50, 4) and scores.dtype == target.dtype == np.float64
        assert set(np.unique(target)) == {0.0, 1.0, 2.0, 3.0}
        assert np.any(loss.elementwise(scores, target) > 0)
        assert np.any(loss.elementwise(scores, target) == 0)


def test_crammer_singer_gradient_picks_first_rival_on_ties():
    loss = lk.get("multiclass_hinge")
    gradient = loss.gradient([[2.0, 0.0, 2.0, -1.0]], [1])
    np.testing.assert_array_equal(gradient, [[1.0, -1.0, 0.0, 0.0]])


# -------------------------------------------------------- optimal constant
def _binary_objective(loss, y, w):
    return lambda c: float(loss(np.full(y.shape, c), y, sample_weight=w))


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_optimal_constant_is_the_minimum(name, seed):
    loss = lk.get(name)
    _, y, w = _binary_data(n=25, seed=seed)
    for weights in (None, w):
        objective = _binary_objective(loss, y, weights)
        best = float(loss.optimal_constant(y, sample_weight=weights))
        grid_points = np.linspace(-3.0, 3.0, 6001)
        values = loss.elementwise(np.repeat(grid_points[:, None], y.size, axis=1),
                                  np.broadcast_to(y, (grid_points.size, y.size)))
        grid = float(np.min(np.average(values, axis=1, weights=weights)))
        bounded = minimize_scalar(objective, bounds=(-3.0, 3.0), method="bounded",
                                  options={"xatol": 1e-12}).fun
        assert objective(best) <= min(grid, bounded) + 1e-10


def test_binary_optimal_constant_closed_forms():
    y = np.array([1.0, 1.0, 1.0, 0.0])
    w = np.array([1.0, 1.0, 1.0, 6.0])  # W+ = 3, W- = 6
    assert float(lk.get("hinge").optimal_constant(y)) == 1.0
    assert float(lk.get("hinge").optimal_constant(y, sample_weight=w)) == -1.0
    assert float(lk.get("squared_hinge").optimal_constant(y, w)) == pytest.approx(-1 / 3)
    assert float(lk.get("exponential").optimal_constant(y, w)) == pytest.approx(
        0.5 * math.log(0.5))
    assert float(lk.get("exponential").optimal_constant([1.0, 1.0])) == math.inf
    assert float(lk.get("exponential").optimal_constant([-1.0, -1.0])) == -math.inf


def _multiclass_objective(loss, y, w, k):
    n = y.shape[0]
    return lambda c: float(loss(np.broadcast_to(np.asarray(c), (n, k)), y, sample_weight=w))


@pytest.mark.parametrize("params", MULTICLASS)
@pytest.mark.parametrize("seed", [0, 1])
def test_multiclass_optimal_constant_is_the_minimum(params, seed):
    loss = lk.get("multiclass_hinge", **params)
    rng = np.random.default_rng(seed)
    k = 3
    y = rng.choice(k, size=30, p=[0.6, 0.3, 0.1]).astype(np.float64)
    for w in (None, rng.uniform(0.1, 3.0, size=30)):
        objective = _multiclass_objective(loss, y, w, k)
        best = np.asarray(loss.optimal_constant(y, sample_weight=w, n_classes=k))
        assert best.shape == (k,)
        assert abs(best.sum()) < 1e-9
        # Scores are defined up to a shift: c = (0, a, b) on a grid covers them all.
        axis = np.linspace(-2.0 * loss.margin, 2.0 * loss.margin, 161)
        a, b = (g.ravel() for g in np.meshgrid(axis, axis))
        grid_scores = np.stack([np.zeros_like(a), a, b], axis=-1)  # (G, k)
        values = loss.elementwise(np.repeat(grid_scores[:, None, :], y.size, axis=1),
                                  np.broadcast_to(y, (a.size, y.size)))
        averages = np.average(values, axis=1, weights=w)
        grid = float(np.min(averages))
        start = grid_scores[int(np.argmin(averages))]  # refine the grid's best point
        scipy_best = minimize(objective, start, method="Nelder-Mead",
                              options={"xatol": 1e-9, "fatol": 1e-12, "maxfev": 400}).fun
        assert objective(best) <= min(grid, scipy_best) + 1e-10


def test_multiclass_optimal_constant_absent_class_and_one_hot():
    loss = lk.get("multiclass_hinge")
    y = np.array([0.0, 0.0, 0.0, 1.0])  # class 0 holds 3/4 of the weight: predict it
    best = loss.optimal_constant(y, n_classes=3)
    assert best.shape == (3,)
    assert int(np.argmax(best)) == 0
    objective = _multiclass_objective(loss, y, None, 3)
    assert objective(best) == pytest.approx(0.5, abs=1e-10)  # 3 * 0 + 1 * 2, over 4
    one_hot = np.eye(3)[y.astype(int)]
    np.testing.assert_allclose(loss.optimal_constant(one_hot), best, atol=1e-12)
    with pytest.raises(ValueError, match="y_true"):
        loss.optimal_constant([0.0, 3.0], n_classes=3)
    with pytest.raises(ValueError, match="y_true"):
        loss.optimal_constant([0.5, 1.0])


# ----------------------------------------------------------------- labels
@pytest.mark.parametrize("name", BINARY)
def test_label_conventions_agree(name):
    loss = lk.get(name)
    z, y, w = _binary_data(seed=4)
    signed = 2.0 * y - 1.0
    for method in ("elementwise", "gradient", "hessian"):
        np.testing.assert_array_equal(getattr(loss, method)(z, y),
                                      getattr(loss, method)(z, signed))
    assert float(loss(z, y, sample_weight=w)) == float(loss(z, signed, sample_weight=w))
    assert float(loss.optimal_constant(y, w)) == float(loss.optimal_constant(signed, w))
    np.testing.assert_array_equal(loss.elementwise(z, y.astype(bool)), loss.elementwise(z, y))


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("labels", [[1, 2, 0], [0.5, 1, 0], [0, -1, 1], [-2, 1, 1]])
def test_bad_binary_labels_raise(name, labels):
    loss = lk.get(name)
    with pytest.raises(ValueError, match="y_true"):
        loss([0.1, 0.2, 0.3], labels)
    with pytest.raises(ValueError, match="y_true"):
        loss.gradient(torch.tensor([0.1, 0.2, 0.3]), torch.tensor(labels))
    with pytest.raises(ValueError, match="y_true"):
        loss.optimal_constant(labels)


def test_mixed_conventions_message():
    with pytest.raises(ValueError, match=r"y_true for 'hinge'.*both 0 and -1.*index 2"):
        lk.get("hinge")([0.1, 0.2, 0.3], [0, 1, -1])


@pytest.mark.parametrize(
    ("scores_shape", "target", "message"),
    [
        ((3, 4), [0, 1, 4], r"class indices in \[0, 3\]"),
        ((3, 4), [0, 1.5, 2], "whole numbers"),
        ((3, 4), [0, 1], "shape"),
        ((3, 4), [[0, 1, 0, 0]] * 3 + [[1, 0, 0, 0]], "shape"),
        ((2, 3), [[0, 1, 0], [0, 1, 1]], "one-hot"),
        ((2, 3), [[0, 0.5, 0.5], [0, 1, 0]], "one-hot"),
    ],
)
def test_bad_multiclass_targets_raise(scores_shape, target, message):
    loss = lk.get("multiclass_hinge")
    with pytest.raises(ValueError, match=f"y_true.*{message}"):
        loss(np.zeros(scores_shape), target)


def test_one_hot_targets_equal_indices():
    z, y, w = _multiclass_data(seed=9)
    for params in MULTICLASS:
        loss = lk.get("multiclass_hinge", **params)
        one_hot = np.eye(4)[y.astype(int)]
        assert float(loss(z, one_hot, sample_weight=w)) == float(loss(z, y, sample_weight=w))
        np.testing.assert_array_equal(loss.gradient(z, one_hot), loss.gradient(z, y))


def test_extra_sample_axes():
    loss = lk.get("multiclass_hinge", kind="weston_watkins")
    z, y, _ = _multiclass_data(n=12)
    values = loss.elementwise(z.reshape(3, 4, 4), y.reshape(3, 4))
    np.testing.assert_array_equal(values, loss.elementwise(z, y).reshape(3, 4))
    assert loss.gradient(z.reshape(3, 4, 4), y.reshape(3, 4)).shape == (3, 4, 4)


def test_hyperparameters_are_validated():
    with pytest.raises(ValueError, match="margin"):
        lk.get("multiclass_hinge", margin=0.0)
    with pytest.raises(ValueError, match="kind"):
        lk.get("multiclass_hinge", kind="one_vs_rest")
    with pytest.raises(TypeError):
        lk.MulticlassHinge("weston_watkins")  # type: ignore[misc]
    for name in [*BINARY, "multiclass_hinge"]:
        with pytest.raises(ValueError, match="link"):
            lk.get(name, link="logit")
    loss = lk.get("multiclass_hinge", kind="weston_watkins", margin=0.5)
    assert loss == lk.get("multiclass_hinge", **loss.get_params())
    assert lk.get("adaboost") == lk.get("exponential")


def test_properties():
    assert lk.get("hinge").properties.hessian == "surrogate"
    assert lk.get("hinge").properties.lipschitz == 1.0
    assert lk.get("squared_hinge").properties.smoothness == 1
    assert lk.get("exponential").properties.lipschitz is None
    assert lk.get("multiclass_hinge").properties.lipschitz == pytest.approx(math.sqrt(2))
    for name in [*BINARY, "multiclass_hinge"]:
        props = lk.get(name).properties
        assert props.convex and props.robust is None
        assert lk.get(name).distribution is None


# --------------------------------------------------------------- backends
@pytest.mark.parametrize(("name", "params"), ALL)
def test_torch_and_jax_return_their_own_arrays(name, params):
    jnp = pytest.importorskip("jax.numpy")
    loss = lk.get(name, **params)
    pred, y = loss.example()
    expected = loss(pred, y)
    expected_gradient = loss.gradient(pred, y)

    torch_pred = torch.tensor(pred, dtype=torch.float32)
    value = loss(torch_pred, torch.tensor(y))
    assert isinstance(value, torch.Tensor) and value.dtype == torch.float32
    gradient = loss.gradient(torch_pred, y)  # a NumPy y_true moves to torch
    assert isinstance(gradient, torch.Tensor) and gradient.shape == torch_pred.shape
    np.testing.assert_allclose(float(value), float(expected), rtol=1e-5)
    np.testing.assert_allclose(gradient.numpy(), expected_gradient, rtol=1e-5, atol=1e-6)

    jax_pred = jnp.asarray(pred, dtype=jnp.float32)
    value = loss(jax_pred, jnp.asarray(y, dtype=jnp.float32))
    assert type(value).__module__.startswith("jax") and value.dtype == jnp.float32
    gradient = loss.gradient(jax_pred, jnp.asarray(y, dtype=jnp.float32))
    assert gradient.shape == jax_pred.shape
    np.testing.assert_allclose(float(value), float(expected), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(gradient), expected_gradient, rtol=1e-5, atol=1e-6)
    constant = loss.optimal_constant(jnp.asarray(y, dtype=jnp.float32))
    assert type(constant).__module__.startswith("jax")


def test_jax_jit_and_grad_skip_value_checks():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    for name, params in [("squared_hinge", {}), ("exponential", {}),
                         ("multiclass_hinge", MULTICLASS[0]), ("multiclass_hinge", MULTICLASS[3])]:
        loss = lk.get(name, **params)
        pred, y = loss.example()
        pred32, y32 = jnp.asarray(pred, dtype=jnp.float32), jnp.asarray(y, dtype=jnp.float32)
        value = jax.jit(lambda p, t, loss=loss: loss(p, t, reduction="sum"))(pred32, y32)
        np.testing.assert_allclose(float(value), float(loss(pred, y, reduction="sum")),
                                   rtol=1e-5)
        gradient = jax.grad(lambda p, loss=loss, t=y32: loss(p, t, reduction="sum"))(pred32)
        np.testing.assert_allclose(np.asarray(gradient), loss.gradient(pred, y),
                                   rtol=1e-5, atol=1e-6)


def test_array_api_strict_and_dask():
    xps = pytest.importorskip("array_api_strict")
    da = pytest.importorskip("dask.array")
    for name, params in ALL:
        loss = lk.get(name, **params)
        pred, y = loss.example()
        strict = loss.gradient(xps.asarray(pred), xps.asarray(y))
        np.testing.assert_allclose(np.asarray(strict), loss.gradient(pred, y))
        lazy = loss(da.from_array(pred, chunks=4), da.from_array(y, chunks=4))
        np.testing.assert_allclose(float(lazy.compute()), float(loss(pred, y)))
    # Lazy labels are not inspected: a bad label is not an error until computed.
    lk.get("hinge")(da.from_array(np.array([0.1, 0.2])), da.from_array(np.array([0.0, -1.0])))


def test_nan_policy_propagate_with_nan_class_index():
    scores, target, _ = _multiclass_data(n=6)
    target[1] = np.nan
    one_hot = np.eye(4)[np.nan_to_num(target).astype(int)]
    one_hot[1, 2] = np.nan
    for params in MULTICLASS:
        loss = lk.get("multiclass_hinge", nan_policy="propagate", **params)
        for y in (target, one_hot):
            values = loss.elementwise(scores, y)
            assert np.isnan(values[1]) and np.all(np.isfinite(np.delete(values, 1)))
            assert np.all(np.isnan(loss.gradient(scores, y)[1]))
        with pytest.raises(ValueError, match=r"y_true.*finite"):
            lk.get("multiclass_hinge", **params)(scores, target)
