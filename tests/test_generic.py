"""Generic, data-driven tests run on every registered loss (DESIGN.md §4).

The cases come from the registry (``conftest.LOSS_CASES``): the default instance of
every name, one instance per supported link, and the hyperparameter variants of
``conftest.VARIANTS``. Inputs come from ``loss.example(n, seed)``, so a new loss needs
no new test file. Each test compares the loss with an independent reference:
automatic differentiation (PyTorch, JAX), finite differences, a numerical minimiser,
repeated rows, the other array libraries, scipy's distributions.

Tolerances are fixed here and never loosened to make a case pass: a case that fails
for a reason that is not an obvious local bug goes to ``KNOWN_BUGS`` (a strict xfail,
so it is noticed when it gets fixed).
"""

from __future__ import annotations

import math
import pickle
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import losskit as lk
from conftest import LOSS_CASES, Backend, LossCase, case_params, cases_where
from losskit.core import HESSIAN_KINDS, Loss, Properties
from losskit.links import Interval

#: (test function, case id pattern with "*" wildcards) -> why it fails. Applied as
#: ``xfail(strict=True)`` by ``conftest.pytest_collection_modifyitems``, so a fix
#: makes the suite fail until its entry is removed here.
KNOWN_BUGS: dict[tuple[str, str], str] = {}

N = 8  # samples per test: small, so the whole suite runs in a few minutes
ALL = case_params()


# ---------------------------------------------------------------- helpers
def example(loss: Loss, n: int = N, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    p, y = loss.example(n, seed=seed)
    return np.asarray(p, dtype=np.float64), np.asarray(y)


def input_domain(loss: Loss) -> Interval:
    """Where what the caller passes lives: the natural domain, or the link's raw one."""
    return loss.y_pred_domain if loss.link.name == "identity" else loss.link.raw_domain


def is_unit(domain: Interval) -> bool:
    return domain.low == 0.0 and domain.high == 1.0


def simplex_predictions(loss: Loss) -> bool:
    """Multiclass probabilities: a constant prediction must be a probability vector."""
    return loss.multiclass and loss.link.name == "identity" and is_unit(loss.y_pred_domain)


def assert_close(actual: Any, desired: Any, *, rtol: float, atol_scale: float = 0.0,
                 what: str = "") -> None:
    """``|actual - desired| <= rtol |desired| + atol_scale max|desired|``, elementwise."""
    actual = np.asarray(actual, dtype=np.float64)
    desired = np.asarray(desired, dtype=np.float64)
    assert actual.shape == desired.shape, f"{what}: shape {actual.shape} != {desired.shape}"
    scale = float(np.max(np.abs(desired))) if desired.size else 0.0
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=atol_scale * scale,
                               err_msg=what)


def random_predictions(loss: Loss, p: np.ndarray, y: np.ndarray, rng: np.random.Generator,
                       spread: float = 3.0) -> np.ndarray:
    """Valid predictions of ``p``'s shape spread over the input space, for ``y``."""
    shape = p.shape
    link = loss.link.name
    if simplex_predictions(loss):
        return rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    if loss.multiclass or link in ("logit", "softmax"):
        return rng.normal(0.0, spread, size=shape)
    if link == "log":
        return rng.normal(0.5, 1.0, size=shape)  # means exp(z) from about 0.1 to 20
    domain = loss.y_pred_domain
    if is_unit(domain):
        return rng.uniform(0.01, 0.99, size=shape)
    if domain.low == 0.0:
        return np.exp(rng.normal(0.5, 1.0, size=shape))
    centre = y if y.shape == shape else 0.0
    return centre + rng.normal(0.0, spread, size=shape)


def mean_denominator(loss: Loss, p: np.ndarray, y: np.ndarray,
                     weight: np.ndarray | None) -> float:
    """``sum_i w_i c_i``: what ``reduction="mean"`` divides by (core's documented rule).

    ``c_i`` is the loss's normaliser (``Loss._normalizer``: the class weight of the
    target for a class-weighted cross-entropy, 0 for an ignored entry, else 1).
    """
    shape = np.shape(loss.elementwise(p, y))
    normaliser = loss._normalizer(np, loss._prepare(p, y, None).y_true)
    per_sample = np.ones(shape) if normaliser is None else np.broadcast_to(
        np.asarray(normaliser, dtype=np.float64), shape)
    if weight is not None:
        per_sample = per_sample * weight.reshape(weight.shape + (1,) * (len(shape) - 1))
    return float(np.sum(per_sample))


# ------------------------------------------------------ finite differences
def fd_steps(loss: Loss, p: np.ndarray) -> np.ndarray:
    """Steps of 1e-3 relative, and at most 1% of the distance to the domain's edge.

    The 4th-order stencil reaches two steps out; near an edge (a probability of 0.01)
    the fifth derivative grows like distance^-5, so the step shrinks with it.
    """
    step = 1e-3 * np.maximum(1.0, np.abs(p))
    domain = input_domain(loss)
    room = np.full(p.shape, np.inf)
    if math.isfinite(domain.low):
        room = np.minimum(room, p - domain.low)
    if math.isfinite(domain.high):
        room = np.minimum(room, domain.high - p)
    return np.minimum(step, 1e-2 * room)


def central_difference(func: Callable[[np.ndarray], Any], p: np.ndarray, step: np.ndarray,
                       multiclass: bool) -> np.ndarray:
    """4th-order central differences ``d func(p)_i / d p_i`` for every entry of ``p``.

    ``func`` returns per-sample values (``p``'s shape, or ``p.shape[:-1]`` for a
    multiclass loss) or an array of ``p``'s shape (a gradient: the derivative of its
    entry with respect to the same entry of ``p`` is taken, the Hessian diagonal).
    Samples are independent, so one perturbation moves every sample at once; a
    multiclass loss needs one perturbation per class.
    """

    def stencil(direction: np.ndarray) -> np.ndarray:
        def at(t: float) -> np.ndarray:
            return np.asarray(func(p + t * direction), dtype=np.float64)

        return at(-2.0) - 8.0 * at(-1.0) + 8.0 * at(1.0) - at(2.0)

    if not multiclass:
        return stencil(step) / (12.0 * step)
    out = np.empty_like(p)
    for k in range(p.shape[-1]):
        direction = np.zeros_like(p)
        direction[..., k] = step[..., k]
        numerator = stencil(direction)
        if numerator.shape == p.shape:
            numerator = numerator[..., k]
        out[..., k] = numerator / (12.0 * step[..., k])
    return out


FD_RTOL = 1e-6  # truncation (step/scale)^4 ~ 1e-8 and rounding eps |L| / step ~ 1e-12


def smooth_points(loss: Loss, fd: Callable[[np.ndarray], np.ndarray], p: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(finite-difference derivative, mask of the points away from any kink).

    For a loss declared less than twice differentiable, a point is near a kink when
    the differences with two step sizes disagree (a stencil across a kink is off by
    O(1), a smooth one by O(step^4)); such points are left out. A smooth loss keeps
    every point. At least half the points must survive, so no check passes empty.
    """
    step = fd_steps(loss, p)
    coarse, fine = fd(step), fd(0.5 * step)
    keep = np.ones(p.shape, dtype=bool)
    if loss.properties.smoothness < 2:
        scale = float(np.max(np.abs(fine))) if fine.size else 0.0
        keep = np.abs(coarse - fine) <= FD_RTOL * (np.abs(fine) + scale)
        assert keep.mean() >= 0.5, "most example points are near a kink: the test is void"
    return fine, keep


def gradient_fd(loss: Loss, p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return smooth_points(loss, lambda step: central_difference(
        lambda q: loss.elementwise(q, y), p, step, loss.multiclass), p)


def hessian_fd(loss: Loss, p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return smooth_points(loss, lambda step: central_difference(
        lambda q: loss.gradient(q, y), p, step, loss.multiclass), p)


# ----------------------------------------------------------- 1. derivatives
@pytest.mark.parametrize("case", ALL)
def test_derivatives_match_finite_differences(case: LossCase) -> None:
    loss = case.build()
    p, y = example(loss)
    fd_gradient, keep = gradient_fd(loss, p, y)
    gradient = np.asarray(loss.gradient(p, y))
    assert_close(gradient[keep], fd_gradient[keep], rtol=FD_RTOL, atol_scale=FD_RTOL,
                 what="gradient vs finite differences of the value")
    if loss.properties.hessian == "surrogate":
        return  # no second derivative to compare: test_surrogate_hessian_is_positive
    fd_hessian, keep = hessian_fd(loss, p, y)
    hessian = np.asarray(loss.hessian(p, y))
    assert_close(hessian[keep], fd_hessian[keep], rtol=FD_RTOL, atol_scale=FD_RTOL,
                 what="Hessian vs finite differences of the gradient")


def torch_derivatives(loss: Loss, p: np.ndarray, y: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian diagonal of ``sum_i L_i`` by torch autograd (float64)."""
    torch = pytest.importorskip("torch")
    target = torch.from_numpy(y)

    def total(q: Any) -> Any:
        return loss.elementwise(q, target).sum()

    pred = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    (gradient,) = torch.autograd.grad(total(pred), pred, create_graph=True)
    if loss.multiclass:
        full = torch.autograd.functional.hessian(total, pred)  # (n, K, n, K)
        diagonal = full.reshape(p.size, p.size).diagonal().reshape(p.shape)
    elif gradient.requires_grad:
        # Samples are independent: d/dp_j sum_i dL_i/dp_i = d2 L_j / dp_j2.
        (diagonal,) = torch.autograd.grad(gradient.sum(), pred, allow_unused=True)
        diagonal = torch.zeros_like(pred) if diagonal is None else diagonal
    else:  # the gradient is piecewise constant
        diagonal = torch.zeros_like(pred)
    return gradient.detach().numpy(force=True), diagonal.detach().numpy(force=True)


def jax_derivatives(loss: Loss, p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian diagonal of ``sum_i L_i`` by ``jax.grad`` under ``jax.jit``."""
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    def total(q: Any, t: Any) -> Any:
        return jnp.sum(loss.elementwise(q, t))

    def derivatives(q: Any, t: Any) -> tuple[Any, Any]:
        gradient = jax.grad(total)(q, t)
        if loss.multiclass:
            full = jnp.reshape(jax.hessian(total)(q, t), (p.size, p.size))
            return gradient, jnp.reshape(jnp.diagonal(full), p.shape)
        # Samples are independent: d/dp_j sum_i dL_i/dp_i = d2 L_j / dp_j2.
        return gradient, jax.grad(lambda r: jnp.sum(jax.grad(total)(r, t)))(q)

    gradient, diagonal = jax.jit(derivatives)(jnp.asarray(p), jnp.asarray(y))
    return np.asarray(gradient), np.asarray(diagonal)


AUTODIFF = {"torch": torch_derivatives, "jax": jax_derivatives}
AUTODIFF_RTOL = 1e-9  # two exact formulas in float64; room for cancellation


@pytest.mark.parametrize("engine", list(AUTODIFF))
@pytest.mark.parametrize("case", ALL)
def test_derivatives_match_autodiff(case: LossCase, engine: str) -> None:
    loss = case.build()
    p, y = example(loss)
    auto_gradient, auto_hessian = AUTODIFF[engine](loss, p, y)
    _, keep = gradient_fd(loss, p, y)
    gradient = np.asarray(loss.gradient(p, y))
    assert_close(gradient[keep], auto_gradient[keep], rtol=AUTODIFF_RTOL,
                 atol_scale=AUTODIFF_RTOL, what=f"gradient vs {engine} autodiff")
    if loss.properties.hessian == "surrogate":
        return  # no second derivative to compare: test_surrogate_hessian_is_positive
    _, keep = hessian_fd(loss, p, y)
    hessian = np.asarray(loss.hessian(p, y))
    assert_close(hessian[keep], auto_hessian[keep], rtol=AUTODIFF_RTOL,
                 atol_scale=AUTODIFF_RTOL, what=f"Hessian (diagonal) vs {engine} autodiff")


@pytest.mark.parametrize(
    "case", cases_where(lambda loss: loss.properties.hessian == "surrogate"))
def test_surrogate_hessian_is_positive(case: LossCase) -> None:
    """A surrogate Hessian is a positive stand-in: Newton and boosting steps divide by it."""
    loss = case.build()
    p, y = example(loss, n=12)
    rng = np.random.default_rng(14)
    for q in (p, *(random_predictions(loss, p, y, rng, spread) for spread in (1.0, 5.0))):
        hessian = np.asarray(loss.hessian(q, y))
        assert np.all(np.isfinite(hessian)), f"surrogate Hessian not finite: {hessian}"
        bad = ~(hessian > 0)
        assert not np.any(bad), (
            f"surrogate Hessian {hessian[bad]} <= 0 at y_pred={q[bad]}, y_true={y[bad]}")


# ------------------------------------------------------ 2. optimal constant
class ConstantSpace:
    """Unconstrained coordinates ``theta`` of a constant prediction ``c``.

    Probabilities are searched through ``expit`` (the simplex through ``softmax``),
    positive means through ``exp``, anything else directly, so that a minimiser
    never leaves the domain.
    """

    def __init__(self, loss: Loss) -> None:
        self.kind = "real"
        if simplex_predictions(loss):
            self.kind = "simplex"
        elif loss.link.name == "identity" and is_unit(loss.y_pred_domain):
            self.kind = "probability"
        elif loss.link.name == "identity" and loss.y_pred_domain.low == 0.0:
            self.kind = "positive"

    def to_constant(self, theta: np.ndarray) -> np.ndarray:
        if self.kind == "simplex":
            e = np.exp(theta - np.max(theta))
            return e / np.sum(e)
        if self.kind == "probability":
            return 0.5 * (1.0 + np.tanh(0.5 * theta))
        if self.kind == "positive":
            return np.exp(theta)
        return theta

    def to_theta(self, constant: np.ndarray) -> np.ndarray:
        c = np.asarray(constant, dtype=np.float64)
        if self.kind == "real":
            finite = c[np.isfinite(c)]
            # An infinite constant (log(0) for an absent class, a Poisson mean of 0 with
            # the log link) is evaluated 40 beyond the finite ones, where exp(-40) ~ 0.
            low = float(np.min(finite)) if finite.size else 0.0
            high = float(np.max(finite)) if finite.size else 0.0
            return np.nan_to_num(c, neginf=low - 40.0, posinf=high + 40.0)
        if self.kind == "probability":
            return np.log(c) - np.log1p(-c)
        return np.log(c)


def constant_prediction(constant: np.ndarray, n: int) -> np.ndarray:
    constant = np.asarray(constant, dtype=np.float64)
    return np.broadcast_to(constant, (n, *constant.shape)).copy()


def assert_is_argmin(loss: Loss, y: np.ndarray, weight: np.ndarray | None,
                     n_classes: int | None) -> None:
    """The objective at ``optimal_constant`` is no worse than a numerical minimiser's."""
    from scipy.optimize import minimize, minimize_scalar

    n = y.shape[0]
    kwargs = {"n_classes": n_classes} if loss.multiclass else {}
    returned = np.asarray(loss.optimal_constant(y, sample_weight=weight, **kwargs))
    assert not np.any(np.isnan(returned)), f"optimal_constant is NaN: {returned}"
    space = ConstantSpace(loss)
    theta_star = space.to_theta(returned)

    def objective(theta: Any) -> float:
        c = space.to_constant(np.reshape(np.asarray(theta, dtype=np.float64),
                                         theta_star.shape))
        return float(loss(constant_prediction(c, n), y, sample_weight=weight))

    best = objective(theta_star)
    tolerance = 1e-10 * (1.0 + abs(best))
    rivals: dict[str, float] = {}
    if theta_star.size == 1:
        centre = float(theta_star.ravel()[0])
        spread = float(np.ptp(y)) if loss.y_true_domain.low == -math.inf else 0.0
        radius = 5.0 + 2.0 * abs(centre) + 2.0 * spread
        low, high = min(centre, 0.0) - radius, max(centre, 0.0) + radius
        found = minimize_scalar(objective, bounds=(low, high), method="bounded",
                                options={"xatol": 1e-10})
        rivals["scipy bounded Brent"] = float(found.fun)
        grid = np.linspace(low, high, 401)
        values = [objective(t) for t in grid]
        rivals[f"grid point {grid[int(np.argmin(values))]:.6g}"] = float(np.min(values))
    else:
        found = minimize(objective, np.zeros(theta_star.size), method="Nelder-Mead",
                         options={"xatol": 1e-10, "fatol": 1e-15, "maxiter": 20000,
                                  "maxfev": 20000})
        rivals["scipy Nelder-Mead"] = float(found.fun)
        rng = np.random.default_rng(1)
        for radius in (1e-4, 1e-2, 0.1, 1.0):
            for _ in range(10):
                u = rng.normal(size=theta_star.shape)
                theta = theta_star + radius * u / np.linalg.norm(u)
                rivals[f"theta* + {radius:g} u"] = min(
                    rivals.get(f"theta* + {radius:g} u", math.inf), objective(theta))
    for where, value in rivals.items():
        assert best <= value + tolerance, (
            f"optimal_constant {returned} gives mean loss {best!r}, but {where} gives "
            f"{value!r}")


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", ALL)
def test_optimal_constant_is_argmin(case: LossCase, weighted: bool) -> None:
    loss = case.build()
    p, y = example(loss, n=12, seed=3)
    weight = np.random.default_rng(4).uniform(0.2, 3.0, size=y.shape[0]) if weighted else None
    assert_is_argmin(loss, y, weight, p.shape[-1] if loss.multiclass else None)


# ---------------------------------------------------------------- 3. weights
REL = 1e-12  # the same arithmetic in another order


@pytest.mark.parametrize("case", ALL)
def test_sample_weight_scales(case: LossCase) -> None:
    loss = case.build()
    p, y = example(loss)
    n = p.shape[0]
    twos = np.full(n, 2.0)
    assert_close(loss(p, y, twos), loss(p, y), rtol=REL, what="mean with all weights 2")
    assert_close(loss(p, y, twos, reduction="sum"), 2.0 * loss(p, y, reduction="sum"),
                 rtol=REL, what="sum with all weights 2")

    counts = np.arange(n) % 3 + 1
    p_rep, y_rep = np.repeat(p, counts, axis=0), np.repeat(y, counts, axis=0)
    for reduction in ("mean", "sum"):
        assert_close(loss(p, y, counts, reduction=reduction),
                     loss(p_rep, y_rep, reduction=reduction), rtol=REL, atol_scale=REL,
                     what=f"integer weights vs repeated rows ({reduction})")

    dropped = np.ones(n)
    dropped[[1, n - 2]] = 0.0
    kept = dropped > 0
    assert_close(loss(p, y, dropped), loss(p[kept], y[kept]), rtol=REL,
                 what="weight 0 vs dropping the row (mean)")

    weight = np.random.default_rng(5).uniform(0.0, 3.0, size=n)
    per_entry = weight.reshape((n,) + (1,) * (p.ndim - 1))
    per_sample = weight.reshape((n,) + (1,) * (np.ndim(loss.elementwise(p, y)) - 1))
    assert_close(loss(p, y, weight, reduction="none"), per_sample * loss.elementwise(p, y),
                 rtol=REL, what="reduction='none' with weights")
    for w in (None, weight):
        assert_close(loss(p, y, w), np.sum(loss(p, y, w, reduction="none"))
                     / mean_denominator(loss, p, y, w), rtol=REL,
                     what=f"mean = sum_i w_i L_i / sum_i w_i c_i (weights: {w is not None})")
    gradient = loss.gradient(p, y, weight)
    hessian = loss.hessian(p, y, weight)
    assert_close(gradient, per_entry * loss.gradient(p, y), rtol=REL, what="weighted gradient")
    assert_close(hessian, per_entry * loss.hessian(p, y), rtol=REL, what="weighted Hessian")

    values, fused_gradient = loss.loss_gradient(p, y, weight)
    assert_close(values, loss(p, y, weight, reduction="none"), rtol=REL, what="loss_gradient[0]")
    assert_close(fused_gradient, gradient, rtol=REL, what="loss_gradient[1]")
    fused_gradient, fused_hessian = loss.gradient_hessian(p, y, weight)
    assert_close(fused_gradient, gradient, rtol=REL, what="gradient_hessian[0]")
    assert_close(fused_hessian, hessian, rtol=REL, what="gradient_hessian[1]")


# ----------------------------------------------------------------- 4. dtypes
def all_outputs(loss: Loss, p: Any, y: Any, w: Any, *, full: bool = True) -> dict[str, Any]:
    """Every public output on one set of inputs, by name.

    ``full=False`` leaves out the weighted ``gradient`` and ``hessian``, whose values
    the fused methods also give (to keep the traced JAX and Dask graphs small).
    """
    values, gradient_w = loss.loss_gradient(p, y, w)
    fused_g, fused_h = loss.gradient_hessian(p, y, w)
    found = {
        "mean": loss(p, y),
        "sum": loss(p, y, reduction="sum"),
        "weighted mean": loss(p, y, w),
        "elementwise": loss.elementwise(p, y),
        "gradient": loss.gradient(p, y),
        "hessian": loss.hessian(p, y),
        "loss_gradient[0]": values,
        "loss_gradient[1]": gradient_w,
        "gradient_hessian[0]": fused_g,
        "gradient_hessian[1]": fused_h,
    }
    if full:
        found["weighted gradient"] = loss.gradient(p, y, w)
        found["weighted hessian"] = loss.hessian(p, y, w)
    return found


@pytest.mark.parametrize("case", ALL)
def test_float32_and_float64_are_kept(case: LossCase, eager_xp: Backend) -> None:
    loss = case.build()
    p, y = example(loss)
    w = np.random.default_rng(6).uniform(0.5, 2.0, size=p.shape[0])
    # The float64 reference sees the same float32-rounded inputs, so only the
    # arithmetic's rounding is compared, not the rounding of the inputs.
    p32, y32, w32 = (a.astype(np.float32) for a in (p, y, w))
    p_ref, y_ref, w_ref = (a.astype(np.float64) for a in (p32, y32, w32))
    try:
        loss(p_ref, y_ref)
    except ValueError:  # probability rows rounded to float32 fail float64's row-sum check
        y_ref = y
    float32 = eager_xp.namespace.float32
    float64 = eager_xp.namespace.float64
    reference = all_outputs(loss, *(eager_xp.asarray(a) for a in (p_ref, y_ref, w_ref)))
    single = all_outputs(loss, *(eager_xp.asarray(a) for a in (p32, y32, w32)))
    for name, value in reference.items():
        assert value.dtype == float64, f"{name}: float64 in, {value.dtype} out"
        assert single[name].dtype == float32, f"{name}: float32 in, {single[name].dtype} out"
        assert_close(eager_xp.to_numpy(single[name]), eager_xp.to_numpy(value), rtol=1e-5,
                     atol_scale=1e-5, what=f"{name}: float32 vs float64")


@pytest.mark.parametrize("case", ALL)
def test_half_precision_is_computed_in_float32(case: LossCase) -> None:
    """float16 (NumPy, torch) and bfloat16 (torch) come back in their own dtype, with the
    float32 result rounded once: computing in half precision would lose far more."""
    import torch

    loss = case.build()
    p, y = example(loss)
    p16 = p.astype(np.float16)
    try:
        reference = loss.elementwise(p16.astype(np.float32), y.astype(np.float32))
    except ValueError:  # probability rows no longer sum to 1 after rounding to float16
        pytest.skip(f"{case.id}: targets rounded to float16 leave the domain")
    half = loss.elementwise(p16, y.astype(np.float32))
    assert half.dtype == np.float16
    np.testing.assert_array_equal(half, reference.astype(np.float16))
    for dtype in (torch.float16, torch.bfloat16):
        tensor = torch.asarray(p16.astype(np.float32)).to(dtype)
        result = loss.elementwise(tensor, torch.asarray(y.astype(np.float32)))
        assert result.dtype == dtype
        expected = loss.elementwise(tensor.to(torch.float32), torch.asarray(y.astype(np.float32)))
        assert torch.equal(result, expected.to(dtype)), f"{dtype}: {result} vs {expected}"


@pytest.mark.parametrize("case", ALL)
def test_integer_and_list_inputs_are_promoted(case: LossCase) -> None:
    # Bit for bit against float64 arrays on one path: lists and integer arrays take the
    # reference path, float64 arrays the fused kernels (which agree with it to a few ulp,
    # tests/test_fast_*.py).
    with lk.fast_path(False):
        _check_promotion(case)


def _check_promotion(case: LossCase) -> None:
    loss = case.build()
    p, y = example(loss)
    as_list = loss(p.tolist(), y.tolist(), reduction="none")
    assert isinstance(as_list, np.ndarray) and as_list.dtype == np.float64
    assert_close(as_list, loss.elementwise(p, y), rtol=0.0, what="Python lists")
    gradient = loss.gradient(p.tolist(), y.tolist())
    assert isinstance(gradient, np.ndarray) and gradient.dtype == np.float64
    assert_close(gradient, loss.gradient(p, y), rtol=0.0, what="gradient of lists")

    whole = np.round(p)
    try:
        expected = loss.elementwise(whole, y)
    except ValueError:
        pytest.skip(f"{case.id}: rounded predictions {whole} are outside the domain")
    integers = whole.astype(np.int64)
    for name, method in [("elementwise", loss.elementwise), ("gradient", loss.gradient),
                         ("hessian", loss.hessian)]:
        result = method(integers, y)
        assert result.dtype == np.float64, f"{name}: int64 in, {result.dtype} out"
        assert_close(result, method(whole, y) if name != "elementwise" else expected,
                     rtol=0.0, what=f"{name} of integer predictions")


# --------------------------------------------------------------- 5. backends
@pytest.mark.parametrize("case", ALL)
def test_backends_agree(case: LossCase, xp: Backend) -> None:
    loss = case.build()
    p, y = example(loss)
    w = np.random.default_rng(7).uniform(0.5, 2.0, size=p.shape[0])
    expected = all_outputs(loss, p, y, w, full=False)
    names = list(expected)

    def outputs(p_: Any, y_: Any, w_: Any) -> tuple[Any, ...]:
        found = all_outputs(loss, p_, y_, w_, full=False)
        return tuple(found[name] for name in names)

    results = xp.run(outputs, *(xp.asarray(a) for a in (p, y, w)))
    for name, result in zip(names, results, strict=True):
        assert xp.is_native(result), f"{name}: {xp.name} in, {type(result).__name__} out"
    for name, result in zip(names, xp.to_numpy_all(results), strict=True):
        assert_close(result, expected[name], rtol=REL, atol_scale=REL,
                     what=f"{name} on {xp.name}")

    kwargs = {"n_classes": p.shape[-1]} if loss.multiclass else {}
    constant = loss.optimal_constant(xp.asarray(y), xp.asarray(w), **kwargs)
    assert xp.is_native(constant), f"optimal_constant: {type(constant).__name__}"
    assert_close(xp.to_numpy(constant), loss.optimal_constant(y, w, **kwargs), rtol=REL,
                 what=f"optimal_constant on {xp.name}")


# ------------------------------------------------------ 6. torch autograd
@pytest.mark.parametrize("case", ALL)
def test_torch_autograd_through_the_loss(case: LossCase) -> None:
    torch = pytest.importorskip("torch")
    loss = case.build()
    p, y = example(loss)
    w = np.random.default_rng(8).uniform(0.5, 2.0, size=p.shape[0])
    for weight in (None, w):
        target = torch.from_numpy(y)
        weight_t = None if weight is None else torch.from_numpy(weight)
        pred = torch.tensor(p, requires_grad=True)
        loss(pred, target, weight_t).backward()
        assert pred.grad is not None, "no gradient reached y_pred"
        # The gradient of the mean: each sample's weighted gradient / sum_i w_i c_i
        # (n without weights and normaliser).
        expected = np.asarray(loss.gradient(p, y, weight)) / mean_denominator(loss, p, y, weight)
        assert_close(pred.grad.numpy(), expected, rtol=1e-10, atol_scale=1e-10,
                     what=f"d mean / d y_pred (weights: {weight is not None})")

        pred = torch.tensor(p, requires_grad=True)
        loss(pred, target, weight_t, reduction="sum").backward()
        assert_close(pred.grad.numpy(), loss.gradient(p, y, weight), rtol=1e-10,
                     atol_scale=1e-10, what="d sum / d y_pred")


# ------------------------------------------------------------- 7. extremes
def extreme_inputs(loss: Loss) -> tuple[np.ndarray, np.ndarray]:
    """Predictions at the extremes of the input space, paired with example targets.

    Raw scores (logit, softmax, margin scores) at ±1e4 and ±50 (±1e4 only where the
    gradient is bounded: exp(1e4) is not a float); the log link at ±30; probabilities
    at 0, 1e-300, 1-1e-16, 1; positive means at 1e-10 and 1e10; regression errors at
    ±1e6, or ±1e300 where the gradient is bounded. Values outside the declared
    domain are dropped (an open interval excludes its ends).
    """
    p, y = example(loss)
    link = loss.link.name
    domain = input_domain(loss)
    bounded = loss.properties.bounded_gradient
    raw_levels = [1e4, 50.0] if bounded else [50.0]
    if link in ("logit", "softmax"):
        levels = raw_levels
    elif link == "log":
        levels = [30.0]
    elif is_unit(domain) or domain.low == 0.0:
        levels = []
    elif loss.y_true_domain.low > -math.inf or loss.multiclass:
        levels = raw_levels  # scores of a classifier
    else:  # regression: errors around each target
        error = 1e300 if bounded else 1e6
        return (np.concatenate([y + error, y - error, np.full(y.shape, error),
                                np.full(y.shape, -error)]), np.concatenate([y] * 4))
    if levels:
        values = [s * v for v in levels for s in (1.0, -1.0)] + [0.0]
    elif is_unit(domain):
        values = [0.0, 1e-300, 1.0 - 1e-16, 1.0]
    else:
        values = [1e-10, 1e10]
    values = [v for v in values if not bool(domain.outside(np, np.float64(v)))]
    if not loss.multiclass:
        rows = [np.full(p.shape, v) for v in values]
        return np.concatenate(rows), np.concatenate([y] * len(rows))
    k = p.shape[-1]
    eye = np.eye(k)
    if simplex_predictions(loss):
        tiny = 1e-300
        patterns = [eye, eye * (1.0 - 1e-16) + (1.0 - eye) * (1e-16 / (k - 1)),
                    eye * 1.0 + (1.0 - eye) * tiny, np.full((1, k), 1.0 / k)]
    else:
        patterns = [eye * v - (1.0 - eye) * v for v in values if v != 0.0]
        patterns += [np.full((1, k), v) for v in values]
    stacked = np.concatenate(patterns)
    pred = np.repeat(stacked, y.shape[0], axis=0)
    target = np.concatenate([y] * stacked.shape[0])
    return pred, target


@pytest.mark.parametrize("case", ALL)
def test_extreme_inputs_stay_finite(case: LossCase, eager_xp: Backend) -> None:
    loss = case.build()
    p, y = extreme_inputs(loss)
    w = np.linspace(0.5, 2.0, p.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        found = all_outputs(loss, *(eager_xp.asarray(a) for a in (p, y, w)))
    for name, value in found.items():
        value = eager_xp.to_numpy(value)
        bad = ~np.isfinite(value)
        assert not np.any(bad), (
            f"{name} is not finite at y_pred={p[np.nonzero(bad)[0]]}, "
            f"y_true={y[np.nonzero(bad)[0]]}: {value[bad]}" if value.ndim else
            f"{name} is not finite: {value}")


# ---------------------------------------------- 8. metadata and properties
@pytest.mark.parametrize("case", ALL)
def test_pickle_round_trip(case: LossCase) -> None:
    loss = case.build()
    copy = pickle.loads(pickle.dumps(loss))
    assert copy == loss and hash(copy) == hash(loss)
    p, y = example(loss)
    for name, value in all_outputs(loss, p, y, np.linspace(0.5, 2.0, p.shape[0])).items():
        np.testing.assert_array_equal(all_outputs(copy, p, y, np.linspace(
            0.5, 2.0, p.shape[0]))[name], value, err_msg=name)


@pytest.mark.parametrize("case", ALL)
def test_repr_and_registry(case: LossCase) -> None:
    loss = case.build()
    text = repr(loss)
    cls = type(loss)
    assert text.startswith(f"{cls.__name__}("), text
    for key in case.params:
        assert f"{key}=" in text, f"repr {text} does not show {key}"
    if case.link != "identity":
        assert f"link={case.link!r}" in text, text
    rebuilt = eval(text, {cls.__name__: cls, "array": np.array})
    assert rebuilt == loss, f"eval(repr) gave {rebuilt!r}"
    assert lk.get(case.name, **case.params, link=case.link) == loss
    for alias in cls.aliases:
        assert lk.get(alias, **case.params, link=case.link) == loss, alias
    assert loss.name == case.name and case.name in lk.list_losses()


@pytest.mark.parametrize("case", ALL)
def test_properties_are_declared(case: LossCase) -> None:
    loss = case.build()
    props = loss.properties
    assert isinstance(props, Properties)
    assert props.hessian in HESSIAN_KINDS
    assert props.hessian != "diagonal" or loss.multiclass, "'diagonal' is for (n, K) inputs"
    assert isinstance(props.convex, bool) and isinstance(props.bounded_gradient, bool)
    assert props.smoothness >= 0
    if props.lipschitz is not None:
        assert math.isfinite(props.lipschitz) and props.lipschitz >= 0
        assert props.bounded_gradient, "a Lipschitz loss has a bounded gradient"
    assert props.robust in (True, False, None)


@pytest.mark.parametrize("case", cases_where(lambda loss: loss.properties.convex))
def test_convex_losses_satisfy_jensen(case: LossCase) -> None:
    loss = case.build()
    p, y = example(loss, n=12)
    rng = np.random.default_rng(9)
    for _ in range(5):
        first = random_predictions(loss, p, y, rng)
        second = random_predictions(loss, p, y, rng)
        t = rng.uniform(0.05, 0.95, size=(p.shape[0],) + (1,) * (p.ndim - 1))
        middle = t * first + (1.0 - t) * second
        t_values = t.reshape(t.shape[: np.ndim(loss.elementwise(p, y))])
        chord = t_values * loss.elementwise(first, y) + (1.0 - t_values) * loss.elementwise(
            second, y)
        value = loss.elementwise(middle, y)
        violation = value - chord
        assert np.all(violation <= 1e-10 * (1.0 + np.abs(chord))), (
            f"declared convex, but L(t a + (1-t) b) > t L(a) + (1-t) L(b) by "
            f"{np.max(violation):.3g} at a={first[np.argmax(violation)]}, "
            f"b={second[np.argmax(violation)]}, y={y[np.argmax(violation)]}")


def _sample_norm(loss: Loss, array: np.ndarray) -> np.ndarray:
    """Euclidean norm over a multiclass loss's class axis; absolute value otherwise."""
    return np.linalg.norm(array, axis=-1) if loss.multiclass else np.abs(array)


@pytest.mark.parametrize("case", cases_where(lambda loss: loss.properties.lipschitz is not None))
def test_lipschitz_constant_bounds_the_slopes(case: LossCase) -> None:
    loss = case.build()
    constant = loss.properties.lipschitz
    p, y = example(loss, n=12)
    rng = np.random.default_rng(10)
    for spread in (1.0, 10.0):
        a = random_predictions(loss, p, y, rng, spread)
        b = random_predictions(loss, p, y, rng, spread)
        near = a + 1e-3 * (b - a)  # finite-difference slopes, and secant slopes
        for other in (b, near):
            distance = _sample_norm(loss, other - a)
            slope = np.abs(loss.elementwise(other, y) - loss.elementwise(a, y)) / distance
            assert np.all(slope <= constant + 1e-9), (
                f"declared Lipschitz constant {constant}, but a slope of {np.max(slope):.6g} "
                f"between y_pred={a[np.argmax(slope)]} and {other[np.argmax(slope)]}, "
                f"y_true={y[np.argmax(slope)]}")
        norms = _sample_norm(loss, np.asarray(loss.gradient(a, y)))
        assert np.all(norms <= constant + 1e-9), (
            f"declared Lipschitz constant {constant}, but |gradient| = {np.max(norms):.6g} "
            f"at y_pred={a[np.argmax(norms)]}")


def _has_scipy_distribution(loss: Loss) -> bool:
    distribution = loss.distribution
    return distribution is not None and distribution.factory is not None


@pytest.mark.parametrize("case", cases_where(_has_scipy_distribution))
def test_loss_is_negative_log_likelihood(case: LossCase) -> None:
    loss = case.build()
    p, y = example(loss, n=10)
    if loss.multiclass:
        # One-hot rows: a valid target of every multiclass loss and of the multinomial.
        indices = np.arange(p.shape[0]) % p.shape[-1]
        y = np.eye(p.shape[-1])[indices]
    rng = np.random.default_rng(11)
    offsets = []
    for q in (p, *(random_predictions(loss, p, y, rng, 1.5) for _ in range(3))):
        mu = np.asarray(loss.link.inverse(q), dtype=np.float64)
        frozen = loss.distribution.scipy(mu)
        log_likelihood = frozen.logpmf(y) if hasattr(frozen, "logpmf") else frozen.logpdf(y)
        offsets.append(np.asarray(loss.elementwise(q, y)) + log_likelihood)
    offsets = np.asarray(offsets)
    assert np.all(np.isfinite(offsets))
    spread = np.ptp(offsets, axis=0)
    assert np.all(spread <= 1e-9 * (1.0 + np.abs(offsets[0]))), (
        f"L + log p(y | mu) depends on y_pred (by up to {np.max(spread):.3g}): "
        f"{loss.distribution} is not the likelihood of this loss")


# ---------------------------------------------------------- 9. no mutation
@pytest.mark.parametrize("case", ALL)
def test_inputs_are_not_mutated(case: LossCase, eager_xp: Backend) -> None:
    loss = case.build()
    p, y = example(loss)
    w = np.random.default_rng(12).uniform(0.5, 2.0, size=p.shape[0])
    originals = (p.copy(), y.copy(), w.copy())
    arrays = tuple(eager_xp.asarray(a) for a in (p, y, w))
    kwargs = {"n_classes": p.shape[-1]} if loss.multiclass else {}
    calls: list[tuple[str, Callable[[], Any]]] = [
        (f"__call__({reduction})", lambda r=reduction: loss(*arrays, reduction=r))
        for reduction in ("mean", "sum", "none")
    ] + [
        ("elementwise", lambda: loss.elementwise(*arrays[:2])),
        ("gradient", lambda: loss.gradient(*arrays)),
        ("hessian", lambda: loss.hessian(*arrays)),
        ("loss_gradient", lambda: loss.loss_gradient(*arrays)),
        ("gradient_hessian", lambda: loss.gradient_hessian(*arrays)),
        ("optimal_constant", lambda: loss.optimal_constant(arrays[1], arrays[2], **kwargs)),
    ]
    for name, call in calls:
        call()
        for label, array, original in zip(("y_pred", "y_true", "sample_weight"), arrays,
                                           originals, strict=True):
            assert np.array_equal(eager_xp.to_numpy(array), original), (
                f"{name} changed {label}")


# ----------------------------------------------------------- 10. composition
def partner_for(loss: Loss, p: np.ndarray, y: np.ndarray) -> Loss:
    """Another registered default loss on the same input space (else the loss itself).

    Same link, same kind of ``y_pred`` (multiclass or not, same domain), and it must
    accept the example: huber + squared_error, hinge + exponential, and so on.
    """
    for other_case in LOSS_CASES:
        other = other_case.loss
        if (other is None or other_case.params or other_case.name == loss.name
                or other.link.name != loss.link.name or other.multiclass != loss.multiclass
                or input_domain(other) != input_domain(loss)):
            continue
        try:
            other(p, y)
        except (ValueError, TypeError):
            continue
        return other
    return loss


@pytest.mark.parametrize("case", ALL)
def test_weighted_sum_of_losses(case: LossCase) -> None:
    loss = case.build()
    p, y = example(loss)
    other = partner_for(loss, p, y)
    combined = 0.7 * loss + 0.3 * other
    w = np.random.default_rng(13).uniform(0.5, 2.0, size=p.shape[0])
    mine = all_outputs(loss, p, y, w)
    theirs = all_outputs(other, p, y, w)
    for name, value in all_outputs(combined, p, y, w).items():
        assert_close(value, 0.7 * mine[name] + 0.3 * theirs[name], rtol=REL, atol_scale=REL,
                     what=f"{name} of 0.7 * {loss!r} + 0.3 * {other!r}")


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", ALL)
def test_weighted_sum_optimal_constant_is_argmin(case: LossCase, weighted: bool) -> None:
    loss = case.build()
    other = partner_for(loss, *example(loss))
    p, y = example(loss, n=12, seed=3)
    weight = np.random.default_rng(4).uniform(0.2, 3.0, size=y.shape[0]) if weighted else None
    assert_is_argmin(0.7 * loss + 0.3 * other, y, weight,
                     p.shape[-1] if loss.multiclass else None)


def test_every_registered_loss_has_cases() -> None:
    names = {case.name for case in LOSS_CASES}
    pointwise = {name for name in lk.list_losses() if lk.registry.loss_class(name).pointwise}
    assert names == pointwise
    for case in LOSS_CASES:
        cls = lk.registry.loss_class(case.name)
        assert case.link in cls.links
