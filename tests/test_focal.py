"""The focal family (``losses/focal.py``): ``focal`` and ``asymmetric_multilabel``.

Reference values: Optax's ``sigmoid_focal_loss`` (optax 0.2.8, float64), direct NumPy
formulas for the softmax focal loss and ASL, torch autograd (float64) for gradients and
Hessians and mpmath (60 digits) where the logits are extreme. The generic suite
(``test_generic.py``) runs both losses through the checks every loss gets; these tests
cover what is special here: soft labels, ``gamma < 1``, logits of ``±1e4``, the kink of
ASL and the numerical optimal constants.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import expit, softmax

import losskit as lk

# Not exactly 0: numerics.softplus is max(x, 0) + log1p(exp(-|x|)), so torch's second
# derivative at x == 0 is that of one branch (0 instead of 1/4), an autodiff artefact.
LOGITS = np.array([-1e4, -50.0, -7.3, -2.1, -0.4, 0.3, 1.7, 4.2, 50.0, 1e4])
HARD = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0])
SOFT = np.array([0.1, 0.9, 0.35, 0.5, 0.0, 1.0, 0.62, 0.2, 0.75, 0.3])
GAMMAS = [0.0, 0.5, 2.0]


def _labels(kind: str) -> np.ndarray:
    return HARD if kind == "hard" else SOFT


def _close(actual: Any, expected: Any, rtol: float = 1e-12, atol: float = 1e-13) -> None:
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


# ------------------------------------------------------------------ autodiff
def _torch_triple(loss: lk.Loss, y_pred: np.ndarray, y_true: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Value, gradient and Hessian diagonal of ``loss`` by torch autograd, float64."""
    torch = pytest.importorskip("torch")
    z = torch.tensor(y_pred, dtype=torch.float64, requires_grad=True)
    values = loss(z, torch.tensor(y_true), reduction="none")
    (gradient,) = torch.autograd.grad(values.sum(), z, create_graph=True)
    if loss.multiclass:  # samples are independent: column j of d(sum_i g_ij)/dz is h_jj
        columns = [torch.autograd.grad(gradient[:, j].sum(), z, retain_graph=True)[0][:, j]
                   for j in range(z.shape[-1])]
        hessian = torch.stack(columns, dim=-1)
    else:
        (hessian,) = torch.autograd.grad(gradient.sum(), z)
    return values.detach().numpy(), gradient.detach().numpy(), hessian.detach().numpy()


def _assert_matches_autograd(loss: lk.Loss, y_pred: np.ndarray, y_true: np.ndarray) -> None:
    value, gradient, hessian = _torch_triple(loss, y_pred, y_true)
    ours_gradient, ours_hessian = loss.gradient_hessian(y_pred, y_true)
    assert np.all(np.isfinite(hessian)), "autograd itself must stay finite here"
    _close(loss.elementwise(y_pred, y_true), value)
    _close(ours_gradient, gradient, rtol=1e-10, atol=1e-12)
    _close(ours_hessian, hessian, rtol=1e-9, atol=1e-12)


AUTODIFF_CASES = [
    *[pytest.param("focal", {"gamma": g, "alpha": a, "link": "logit"}, "binary", kind,
                   id=f"focal-logit-gamma{g}-alpha{a}-{kind}")
      for g in GAMMAS for a in (None, 0.25) for kind in ("hard", "soft")],
    *[pytest.param("focal", {"gamma": g, "alpha": 0.7}, "probability", kind,
                   id=f"focal-probability-gamma{g}-{kind}")
      for g in GAMMAS for kind in ("hard", "soft")],
    *[pytest.param("focal", {"gamma": g, "alpha": a, "link": "softmax"}, "softmax", kind,
                   id=f"focal-softmax-gamma{g}-alpha{a is not None}-{kind}")
      for g in GAMMAS for a in (None, (0.5, 1.0, 2.0, 0.25)) for kind in ("index", "rows")],
    *[pytest.param("asymmetric_multilabel",
                   {"gamma_pos": gp, "gamma_neg": gn, "clip": c, "link": link}, kind_x, kind,
                   id=f"asl-{link}-{gp}-{gn}-{c}-{kind}")
      for gp, gn, c in [(0.0, 4.0, 0.05), (0.5, 0.5, 0.05), (2.0, 0.3, 0.2), (1.0, 4.0, 0.0),
                        (0.0, 0.0, 0.1)]
      for link, kind_x in [("logit", "binary"), (None, "probability")]
      for kind in ("hard", "soft")],
]


def _autodiff_inputs(kind_x: str, kind: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    if kind_x == "binary":
        return LOGITS, _labels(kind)
    if kind_x == "probability":
        return np.linspace(0.013, 0.987, 10), _labels(kind)
    logits = rng.normal(0.0, 2.0, size=(6, 4))
    logits[0] = [1e4, -1e4, 0.5, 3.0]
    logits[1] = [-50.0, 50.0, 1.0, -1.0]
    if kind == "index":
        return logits, np.array([1.0, 0.0, 2.0, 3.0, 1.0, 2.0])
    rows = rng.dirichlet(np.ones(4), size=6)
    rows[0] = [0.0, 1.0, 0.0, 0.0]
    return logits, rows


@pytest.mark.parametrize(("name", "params", "kind_x", "kind"), AUTODIFF_CASES)
def test_derivatives_match_torch_autograd(name: str, params: dict, kind_x: str,
                                          kind: str) -> None:
    loss = lk.get(name, **params)
    y_pred, y_true = _autodiff_inputs(kind_x, kind)
    _assert_matches_autograd(loss, y_pred, y_true)


# ------------------------------------------------------------------ Optax
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
@pytest.mark.parametrize("alpha", [None, 0.25])
@pytest.mark.parametrize("kind", ["hard", "soft"])
def test_focal_matches_optax_sigmoid_focal_loss(gamma: float, alpha: float | None,
                                                kind: str) -> None:
    optax = pytest.importorskip("optax")
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    labels = _labels(kind)
    # optax.losses.sigmoid_focal_loss(logits, labels, alpha=, gamma=), optax 0.2.8, float64.
    reference = np.asarray(optax.losses.sigmoid_focal_loss(
        jax.numpy.asarray(LOGITS), jax.numpy.asarray(labels), alpha=alpha, gamma=gamma))
    assert reference.dtype == np.float64
    loss = lk.get("focal", gamma=gamma, alpha=alpha, link="logit")
    _close(loss.elementwise(LOGITS, labels), reference)
    # The identity link takes the probability sigma(z) (moderate logits: no clipping).
    moderate = np.clip(LOGITS, -8.0, 8.0)
    reference = np.asarray(optax.losses.sigmoid_focal_loss(
        jax.numpy.asarray(moderate), jax.numpy.asarray(labels), alpha=alpha, gamma=gamma))
    probability = lk.get("focal", gamma=gamma, alpha=alpha)
    _close(probability.elementwise(expit(moderate), labels), reference, rtol=1e-10)


# -------------------------------------------------------- direct formulas
def _softmax_focal_direct(logits: np.ndarray, target: np.ndarray, gamma: float,
                          alpha: tuple[float, ...] | None) -> np.ndarray:
    p = softmax(logits, axis=-1)
    k = logits.shape[-1]
    rows = np.eye(k)[target.astype(int)] if target.ndim == logits.ndim - 1 else target
    weights = np.ones(k) if alpha is None else np.asarray(alpha)
    return -np.sum(weights * rows * (1.0 - p) ** gamma * np.log(p), axis=-1)


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("alpha", [None, (0.25, 1.0, 2.0)])
@pytest.mark.parametrize("targets", ["indices", "rows"])
def test_softmax_focal_matches_direct_formula(gamma: float, alpha: Any, targets: str) -> None:
    rng = np.random.default_rng(11)
    logits = rng.normal(0.0, 3.0, size=(9, 3))
    target = (rng.integers(0, 3, size=9).astype(float) if targets == "indices"
              else rng.dirichlet(np.ones(3), size=9))
    loss = lk.get("focal", gamma=gamma, alpha=alpha, link="softmax")
    expected = _softmax_focal_direct(logits, target, gamma, alpha)
    _close(loss.elementwise(logits, target), expected)
    # The mean divides by the number of samples, not by the sum of alpha_t.
    _close(loss(logits, target), expected.mean())
    # A (batch, pixels, K) input: the class axis is last, values drop it.
    image = logits.reshape(3, 3, 3)
    shaped = target.reshape(3, 3) if targets == "indices" else target.reshape(3, 3, 3)
    _close(loss.elementwise(image, shaped), expected.reshape(3, 3))


def _asl_direct(p: np.ndarray, y: np.ndarray, gamma_pos: float, gamma_neg: float,
                clip: float) -> np.ndarray:
    shifted = np.maximum(p - clip, 0.0)
    return (-y * (1.0 - p) ** gamma_pos * np.log(p)
            - (1.0 - y) * shifted**gamma_neg * np.log1p(-shifted))


ASL_PARAMS = [(0.0, 4.0, 0.05), (1.0, 4.0, 0.05), (0.5, 0.25, 0.3), (2.0, 1.0, 0.0)]


@pytest.mark.parametrize(("gamma_pos", "gamma_neg", "clip"), ASL_PARAMS)
@pytest.mark.parametrize("kind", ["hard", "soft"])
def test_asl_matches_direct_formula(gamma_pos: float, gamma_neg: float, clip: float,
                                    kind: str) -> None:
    rng = np.random.default_rng(12)
    logits = rng.normal(0.0, 2.5, size=(10, 3))
    y = (rng.uniform(size=(10, 3)) < 0.4).astype(float)
    if kind == "soft":
        y = rng.uniform(size=(10, 3))
    p = expit(logits)
    expected = _asl_direct(p, y, gamma_pos, gamma_neg, clip)
    params = {"gamma_pos": gamma_pos, "gamma_neg": gamma_neg, "clip": clip}
    _close(lk.get("asymmetric_multilabel", **params, link="logit").elementwise(logits, y),
           expected)
    _close(lk.get("asymmetric_multilabel", **params).elementwise(p, y), expected)


# ------------------------------------------------------------------ extremes
def _mp_focal(z: Any, y: Any, gamma: float) -> Any:
    import mpmath

    p, not_p = 1 / (1 + mpmath.exp(-z)), 1 / (1 + mpmath.exp(z))  # 1 - p would round
    q = y * not_p + (1 - y) * p
    ce = -(y * mpmath.log(p) + (1 - y) * mpmath.log(not_p))
    return q**gamma * ce


def _mp_asl_negative(z: Any, gamma: float, clip: float) -> Any:
    import mpmath

    shifted = 1 / (1 + mpmath.exp(-z)) - clip
    return shifted**gamma * -mpmath.log(1 - shifted) if shifted > 0 else mpmath.mpf(0)


@pytest.mark.parametrize(("z", "y", "gamma"), [
    (50.0, 1.0, 0.5), (-50.0, 0.0, 0.5), (50.0, 0.3, 0.5), (-30.0, 1.0, 0.25),
    (30.0, 0.0, 2.0), (-700.0, 0.0, 0.5), (700.0, 0.6, 1.5), (12.0, 1.0, 0.1),
])
def test_focal_extreme_logits_match_mpmath(z: float, y: float, gamma: float) -> None:
    mpmath = pytest.importorskip("mpmath")
    loss = lk.get("focal", gamma=gamma, link="logit")
    with mpmath.workdps(60):
        y_mp = mpmath.mpf(y)
        expected = [float(mpmath.diff(lambda t: _mp_focal(t, y_mp, gamma), mpmath.mpf(z), n))
                    for n in range(3)]
    zs, ys = np.array([z]), np.array([y])
    gradient, hessian = loss.gradient_hessian(zs, ys)
    for ours, exact in zip([loss.elementwise(zs, ys), gradient, hessian], expected, strict=True):
        _close(ours, [exact], rtol=1e-11, atol=1e-300)


@pytest.mark.parametrize(("offset", "gamma_neg", "clip"), [
    (1e-9, 0.5, 0.05), (1e-6, 4.0, 0.05), (40.0, 0.5, 0.05), (3.0, 0.3, 0.5), (1e-4, 1.0, 0.2),
])
def test_asl_near_the_kink_matches_mpmath(offset: float, gamma_neg: float, clip: float) -> None:
    # logit(clip) + offset: just above the kink p = clip, where sigma(z) - clip cancels.
    # There u = p - clip has condition number ~|z| / offset in z, and the kink's own
    # logit is rounded once, so the tolerance grows as ulp(logit(clip)) / offset.
    mpmath = pytest.importorskip("mpmath")
    z_clip = math.log(clip) - math.log1p(-clip)
    z = z_clip + offset
    rtol = 1e-10 + 8.0 * math.ulp(z_clip) / offset
    loss = lk.get("asymmetric_multilabel", gamma_pos=0.0, gamma_neg=gamma_neg, clip=clip,
                  link="logit")
    with mpmath.workdps(60):
        z_mp = mpmath.mpf(z)  # the float64 logit, exactly
        expected = [float(mpmath.diff(lambda t: _mp_asl_negative(t, gamma_neg, clip), z_mp, n))
                    for n in range(3)]
    zs, ys = np.array([z]), np.array([0.0])
    gradient, hessian = loss.gradient_hessian(zs, ys)
    for ours, exact in zip([loss.elementwise(zs, ys), gradient, hessian], expected, strict=True):
        _close(ours, [exact], rtol=rtol, atol=1e-300)


FINITE_CASES = [
    *[("focal", {"gamma": g, "alpha": a, "link": "logit"}) for g in (0.0, 0.25, 0.5, 2.0)
      for a in (None, 0.25)],
    *[("asymmetric_multilabel", {"gamma_pos": gp, "gamma_neg": gn, "clip": c, "link": "logit"})
      for gp in (0.0, 0.3) for gn in (0.0, 0.3, 4.0) for c in (0.0, 0.05)],
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "params"), FINITE_CASES)
def test_extreme_logits_are_finite_without_warnings(dtype: Any, name: str,
                                                    params: dict) -> None:
    z = np.array([1e4, -1e4, 100.0, -100.0, 50.0, -50.0, 0.0, 1e-30, -2.9444389], dtype=dtype)
    loss = lk.get(name, **params)
    for labels in (np.ones_like(z), np.zeros_like(z), np.full_like(z, 0.3)):
        with warnings.catch_warnings(), np.errstate(divide="raise", over="raise",
                                                    invalid="raise"):
            warnings.simplefilter("error")
            value = loss.elementwise(z, labels)
            gradient, hessian = loss.gradient_hessian(z, labels)
        for array in (value, gradient, hessian):
            assert array.dtype == dtype
            assert np.all(np.isfinite(array)), (labels[0], value, gradient, hessian)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_limits_are_right(dtype: Any) -> None:
    z = np.array([1e4, -1e4, 1e4, -1e4], dtype=dtype)
    y = np.array([0.0, 1.0, 1.0, 0.0], dtype=dtype)
    for gamma in (0.5, 2.0):
        loss = lk.get("focal", gamma=gamma, link="logit")
        gradient, hessian = loss.gradient_hessian(z, y)
        # Confidently wrong: q -> 1, L -> |z|, g -> ±1; confidently right: all 0.
        _close(loss.elementwise(z, y), [1e4, 1e4, 0.0, 0.0], rtol=1e-6)
        _close(gradient, [1.0, -1.0, 0.0, 0.0], rtol=1e-6)
        _close(hessian, [0.0, 0.0, 0.0, 0.0])
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]], dtype=dtype)
    loss = lk.get("focal", link="softmax")
    _close(loss.elementwise(logits, np.array([1.0, 1.0])), [2e4, 0.0], rtol=1e-6)
    _close(loss.gradient(logits, np.array([1.0, 1.0])), [[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]],
           rtol=1e-6)


def test_softmax_extremes_are_finite_in_float32() -> None:
    logits = np.array([[1e4, -1e4, 0.0, 3.0], [-50.0, 50.0, 0.0, 0.0], [0.0] * 4,
                       [1e4, 1e4, -1e4, -1e4]], dtype=np.float32)
    for gamma in (0.0, 0.25, 2.0):
        loss = lk.get("focal", gamma=gamma, alpha=[1.0, 2.0, 3.0, 4.0], link="softmax")
        for target in (np.array([0.0, 1.0, 2.0, 3.0]), np.full((4, 4), 0.25, np.float32)):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                gradient, hessian = loss.gradient_hessian(logits, target)
                value = loss.elementwise(logits, target)
            for array in (value, gradient, hessian):
                assert array.dtype == np.float32
                assert np.all(np.isfinite(array))


def test_probabilities_are_clipped() -> None:
    p = np.array([0.0, 1.0, 0.0, 1.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    loss = lk.get("focal", gamma=0.5)
    low, high = 1e-15, 1.0 - 1e-15  # max(1e-15, float64 eps) and its mirror, as floats
    expected = [-np.log(low) * (1.0 - low) ** 0.5, -np.log1p(-high) * high**0.5,
                -np.log1p(-low) * low**0.5, -np.log(high) * (1.0 - high) ** 0.5]
    _close(loss.elementwise(p, y), expected)
    # The derivatives are those of the clipped function: 0 where clipping acted.
    gradient, hessian = loss.gradient_hessian(p, y)
    assert np.all(gradient == 0) and np.all(hessian == 0)
    clipped = lk.get("focal", gamma=0.5, eps=0.01)
    _close(clipped.elementwise(p[:1], y[:1]), -np.log(0.01) * 0.99**0.5)
    # An eps below float32's machine epsilon is raised to it (1 - eps must stay < 1).
    tiny = lk.get("focal", gamma=0.5, eps=1e-12)
    single = tiny.elementwise(p.astype(np.float32), y.astype(np.float32))
    assert np.all(np.isfinite(single)) and single[1] > 10.0


# ------------------------------------------------------------- reductions
@pytest.mark.parametrize("kind", ["hard", "soft"])
def test_gamma_zero_is_binary_cross_entropy(kind: str) -> None:
    if "binary_cross_entropy" not in lk.list_losses():
        pytest.skip("binary_cross_entropy is not registered")
    labels = _labels(kind)
    bce = lk.get("binary_cross_entropy", link="logit")
    focal = lk.get("focal", gamma=0.0, link="logit")
    _close(focal.elementwise(LOGITS, labels), bce.elementwise(LOGITS, labels))
    for ours, theirs in zip(focal.gradient_hessian(LOGITS, labels),
                            bce.gradient_hessian(LOGITS, labels), strict=True):
        _close(ours, theirs)


@pytest.mark.parametrize("kind", ["hard", "soft"])
def test_asl_special_cases(kind: str) -> None:
    labels = _labels(kind)
    plain = lk.get("asymmetric_multilabel", gamma_pos=0.0, gamma_neg=0.0, clip=0.0,
                   link="logit")
    cross_entropy = lk.get("focal", gamma=0.0, link="logit")
    for ours, theirs in zip(plain.gradient_hessian(LOGITS, labels),
                            cross_entropy.gradient_hessian(LOGITS, labels), strict=True):
        _close(ours, theirs)
    if kind == "hard":  # equal powers and no clip: the focal loss (for hard labels only)
        for gamma in (0.5, 2.0):
            asl = lk.get("asymmetric_multilabel", gamma_pos=gamma, gamma_neg=gamma, clip=0.0,
                         link="logit")
            focal = lk.get("focal", gamma=gamma, link="logit")
            _close(asl.elementwise(LOGITS, labels), focal.elementwise(LOGITS, labels))
            for ours, theirs in zip(asl.gradient_hessian(LOGITS, labels),
                                    focal.gradient_hessian(LOGITS, labels), strict=True):
                _close(ours, theirs)


@pytest.mark.parametrize("link", ["logit", None])
def test_asl_negatives_below_the_clip_cost_nothing(link: str | None) -> None:
    p = np.array([1e-6, 0.01, 0.05, 0.0499, 0.0501, 0.3])
    x = np.log(p) - np.log1p(-p) if link == "logit" else p
    loss = lk.get("asymmetric_multilabel", gamma_neg=0.5, clip=0.05, link=link)
    zeros = np.zeros_like(p)
    value = loss.elementwise(x, zeros)
    gradient, hessian = loss.gradient_hessian(x, zeros)
    below = p <= 0.05
    assert np.all(value[below] == 0) and np.all(gradient[below] == 0)
    assert np.all(hessian[below] == 0)
    assert np.all(value[~below] > 0) and np.all(gradient[~below] > 0)


# ------------------------------------------------------- optimal constant
BINARY_OPTIMUM_CASES = [
    ("focal", {"gamma": 2.0}),
    ("focal", {"gamma": 0.5, "alpha": 0.3}),
    ("asymmetric_multilabel", {}),
    ("asymmetric_multilabel", {"gamma_pos": 1.0, "gamma_neg": 0.5, "clip": 0.2}),
]


@pytest.mark.parametrize(("name", "params"), BINARY_OPTIMUM_CASES)
@pytest.mark.parametrize("kind", ["hard", "soft"])
def test_binary_optimal_constant_is_the_argmin(name: str, params: dict, kind: str) -> None:
    rng = np.random.default_rng(3)
    y = (rng.uniform(size=40) < 0.3).astype(float) if kind == "hard" else rng.uniform(size=40)
    w = rng.uniform(0.2, 2.0, size=40)
    on_logits = lk.get(name, **params, link="logit")
    found = minimize_scalar(lambda c: float(on_logits(np.full(40, c), y, w)), bounds=(-15, 15),
                            method="bounded", options={"xatol": 1e-10}).x
    logit = float(on_logits.optimal_constant(y, w))
    assert logit == pytest.approx(found, abs=1e-6)
    assert abs(float(np.sum(on_logits.gradient(np.full(40, logit), y, w)))) < 1e-10
    probability = float(lk.get(name, **params).optimal_constant(y, w))
    assert probability == pytest.approx(expit(logit), rel=1e-12)
    # Per column for (n, L) multi-label targets.
    columns = np.stack([y, 1.0 - y], axis=1)
    _close(on_logits.optimal_constant(columns, w),
           [logit, float(on_logits.optimal_constant(1.0 - y, w))])


def test_focal_is_not_minimised_by_the_mean() -> None:
    y = np.array([1.0, 0.0, 0.0, 0.0])
    assert float(lk.get("focal", gamma=0.0).optimal_constant(y)) == pytest.approx(0.25)
    assert float(lk.get("focal", gamma=2.0).optimal_constant(y)) > 0.3  # pulled towards 1/2


def test_optimal_constant_limits() -> None:
    ones, zeros = np.ones(5), np.zeros(5)
    assert float(lk.get("focal", link="logit").optimal_constant(ones)) == math.inf
    assert float(lk.get("focal", link="logit").optimal_constant(zeros)) == -math.inf
    assert float(lk.get("focal").optimal_constant(ones)) == 1.0
    # ASL: every p <= clip is free for negatives; the middle of that region is returned.
    asl = lk.get("asymmetric_multilabel", clip=0.1)
    assert float(asl.optimal_constant(zeros)) == pytest.approx(0.05)
    assert float(asl(np.full(5, 0.05), zeros)) == 0.0
    # A negative costs at most -log(clip) as p -> 1: with few negatives the loss keeps
    # decreasing (the gradient is ~ sigma(-z) (-P + N / clip) for gamma_neg = 0).
    asl = lk.get("asymmetric_multilabel", gamma_neg=0.0, clip=0.3, link="logit")
    few = np.array([0.0] + [1.0] * 19)
    assert float(asl.optimal_constant(few)) == math.inf
    means = [float(asl(np.full(20, c), few)) for c in (2.0, 5.0, 10.0, 20.0)]
    assert means == sorted(means, reverse=True) and len(set(means)) == 4
    many = np.array([0.0] * 2 + [1.0] * 3)
    assert math.isfinite(float(asl.optimal_constant(many)))


@pytest.mark.parametrize("alpha", [None, (1.0, 2.0, 0.5, 1.0)])
@pytest.mark.parametrize("targets", ["indices", "rows"])
def test_softmax_optimal_constant_is_stationary(alpha: Any, targets: str) -> None:
    rng = np.random.default_rng(4)
    y = (rng.integers(0, 4, size=30).astype(float) if targets == "indices"
         else rng.dirichlet(np.ones(4), size=30))
    w = rng.uniform(0.2, 2.0, size=30)
    loss = lk.get("focal", gamma=2.0, alpha=alpha, link="softmax")
    log_p = loss.optimal_constant(y, w)
    assert log_p.shape == (4,)
    assert float(np.sum(np.exp(log_p))) == pytest.approx(1.0, rel=1e-12)
    logits = np.broadcast_to(log_p, (30, 4)).copy()
    assert np.max(np.abs(loss.gradient(logits, y, w).sum(axis=0))) < 1e-7
    best = float(loss(logits, y, w))
    for direction in np.eye(4):
        for step in (1e-3, -1e-3):
            assert float(loss(logits + step * direction, y, w)) >= best


def test_softmax_optimal_constant_of_absent_classes_is_minus_inf() -> None:
    loss = lk.get("focal", link="softmax")
    log_p = loss.optimal_constant(np.array([0.0, 0.0, 1.0]), n_classes=4)
    assert np.all(np.isfinite(log_p[:2])) and np.all(log_p[2:] == -math.inf)
    _close(lk.get("focal", link="softmax").optimal_constant(np.array([2.0, 2.0])),
           [-math.inf, -math.inf, 0.0])


# ------------------------------------------------------------- properties
def test_declared_properties() -> None:
    focal = lk.get("focal", gamma=2.0, link="logit")
    assert not focal.properties.convex
    assert lk.get("focal", gamma=0.0, link="logit").properties.convex
    assert lk.get("focal", gamma=2.0).properties.convex  # on probabilities
    assert not lk.get("focal", gamma=2.0, link="softmax").properties.convex
    assert lk.get("focal", link="softmax").properties.hessian == "diagonal"
    assert focal.properties.bounded_gradient
    assert not lk.get("focal").properties.bounded_gradient
    assert lk.get("focal").properties.smoothness == math.inf
    asl = lk.get("asymmetric_multilabel", link="logit")
    assert not asl.properties.convex and asl.properties.smoothness == 4
    assert lk.get("asymmetric_multilabel", gamma_neg=0.0).properties.smoothness == 0
    assert lk.get("asymmetric_multilabel", clip=0.0).properties.smoothness == math.inf
    plain = lk.get("asymmetric_multilabel", gamma_neg=0.0, clip=0.0, link="logit")
    assert plain.properties.convex


def test_convexity_claims_hold_numerically() -> None:
    z = np.linspace(-20.0, 20.0, 4001)
    for gamma in (0.5, 2.0):  # on logits the second derivative goes negative
        hessian = lk.get("focal", gamma=gamma, link="logit").hessian(z, np.ones_like(z))
        assert hessian.min() < -1e-3
    hessian = lk.get("focal", gamma=2.0, link="logit").hessian(z, np.ones_like(z))
    assert hessian.min() == pytest.approx(-0.0472, abs=1e-3)
    assert z[np.argmin(hessian)] == pytest.approx(-3.85, abs=0.05)
    p = np.linspace(1e-4, 1.0 - 1e-4, 2001)
    for gamma in (0.1, 0.5, 1.0, 2.0, 5.0):  # on probabilities, for every label
        for y in np.linspace(0.0, 1.0, 11):
            labels = np.full_like(p, y)
            assert lk.get("focal", gamma=gamma).hessian(p, labels).min() >= 0.0
            asl = lk.get("asymmetric_multilabel", gamma_pos=gamma, gamma_neg=gamma / 2)
            assert asl.hessian(p, labels).min() >= 0.0


# ------------------------------------------------------------- validation
@pytest.mark.parametrize(("name", "params", "error", "match"), [
    ("focal", {"gamma": -1.0}, ValueError, "gamma for 'focal' must be >= 0"),
    ("focal", {"alpha": 1.5}, ValueError, "alpha for 'focal' must be in"),
    ("focal", {"alpha": [0.5, 0.5]}, TypeError, "unless link='softmax'"),
    ("focal", {"alpha": 0.5, "link": "softmax"}, TypeError, "one weight per class"),
    ("focal", {"alpha": [1.0, -1.0], "link": "softmax"}, ValueError, "alpha"),
    ("focal", {"eps": 0.5}, ValueError, "eps for 'focal'"),
    ("focal", {"link": "log"}, ValueError, "link for 'focal'"),
    ("asymmetric_multilabel", {"clip": 1.0}, ValueError, r"clip .* must be in \[0, 1\)"),
    ("asymmetric_multilabel", {"gamma_neg": -0.1}, ValueError, "gamma_neg"),
    ("asymmetric_multilabel", {"link": "softmax"}, ValueError, "link for"),
])
def test_bad_hyperparameters(name: str, params: dict, error: type[Exception],
                             match: str) -> None:
    with pytest.raises(error, match=match):
        lk.get(name, **params)


def test_bad_targets() -> None:
    logits = np.zeros((3, 4))
    softmax_focal = lk.get("focal", link="softmax")
    with pytest.raises(ValueError, match=r"class indices in \[0, 3\]"):
        softmax_focal(logits, np.array([0.0, 4.0, 1.0]))
    with pytest.raises(ValueError, match="must sum to 1"):
        softmax_focal(logits, np.full((3, 4), 0.3))
    with pytest.raises(ValueError, match="class indices of shape"):
        softmax_focal(logits, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="3 class weights but y_pred has 4"):
        lk.get("focal", alpha=[1.0, 1.0, 1.0], link="softmax")(logits, np.zeros(3))
    with pytest.raises(ValueError, match=r"y_true for 'focal' must be in \[0, 1\]"):
        lk.get("focal", link="logit")(np.zeros(2), np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match="a probability"):
        lk.get("asymmetric_multilabel")(np.array([0.5, 1.5]), np.zeros(2))


def test_parameters_round_trip_and_examples() -> None:
    for loss in (lk.get("focal", gamma=0.5, alpha=[1, 2, 3], link="softmax"),
                 lk.get("asymmetric_multilabel", gamma_pos=1.0, clip=0.9, link="logit")):
        assert lk.get(loss.name, **loss.get_params()) == loss
        y_pred, y_true = loss.example(12)
        assert np.all(np.isfinite(loss.gradient(y_pred, y_true)))
    y_pred, y_true = lk.get("focal", alpha=[1, 2, 3], link="softmax").example(12)
    assert y_pred.shape == (12, 3) and set(y_true) == {0.0, 1.0, 2.0}
    p, _ = lk.get("asymmetric_multilabel", clip=0.5).example(200)
    assert np.min(np.abs(p - 0.5)) >= 0.025
