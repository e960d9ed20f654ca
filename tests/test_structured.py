"""Generic, registry-driven tests of the structured losses (``Loss.pointwise`` False).

Ranking lists, embedding tuples, sequences and policy-gradient surrogates have their own
layouts, so ``test_generic.py`` skips them; this suite runs every registered one
(``conftest.STRUCTURED_NAMES``) through the checks that do not depend on a layout.
Inputs come from ``loss.example(n, seed)`` (``y_true`` may be None). The contract tested
is the one every structured loss documents: ``gradient(p, y, w)`` is the derivative of
``loss(p, y, w, reduction="sum") = sum_i w_i L_i`` with respect to every entry of
``y_pred`` (samples may be coupled, as in NT-Xent), and ``hessian`` the diagonal of
its second derivative, or a positive stand-in where ``properties.hessian`` says
``"surrogate"``. References are independent: PyTorch autograd, ``jax.grad``/
``jax.hessian`` under ``jit``, 4th-order central differences, the other array libraries.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import losskit as lk
from conftest import STRUCTURED_NAMES, Backend
from losskit.core import HESSIAN_KINDS, Loss

#: Hyperparameter variants of the structured losses, used where the name is registered.
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "ranknet": [{"sigma": 2.0}],
    "pairwise_hinge": [{"margin": 0.5}],
    "approx_ndcg": [{"alpha": 1.0}],
    "lambda_loss": [{"weighting": "ndcg_loss2"}, {"weighting": "lambdarank"}, {"k": 3}],
}


#: (test function, case id pattern with "*" wildcards) -> why it fails: strict xfails
#: (``conftest.pytest_collection_modifyitems``), so a fix is noticed.
KNOWN_BUGS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Case:
    """One structured loss of the suite: a registered name and its parameters."""

    name: str
    params: dict[str, Any] = field(compare=False)
    id: str

    def build(self) -> Loss:
        return lk.get(self.name, **self.params)


def _cases() -> list[Any]:
    cases = []
    for name in STRUCTURED_NAMES:
        for params in [{}, *VARIANTS.get(name, [])]:
            shown = ",".join(f"{k}={v}" for k, v in params.items())
            case = Case(name, params, f"{name}({shown})" if params else name)
            cases.append(pytest.param(case, id=case.id))
    return cases


CASES = _cases()
#: The backends run the defaults, and the variants that take other code paths.
BACKEND_CASES = [c for c in CASES if not c.values[0].params or c.values[0].name == "lambda_loss"]
N = 4  # samples (lists, tuples, sequences) per test: small and fast
FD_RTOL = 1e-6  # 4th-order differences at h = 1e-3: truncation ~1e-10, rounding ~1e-12
AUTODIFF_RTOL = 1e-9
REL = 1e-12


def example(loss: Loss, n: int = N, seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    p, y = loss.example(n, seed=seed)
    return np.asarray(p, dtype=np.float64), None if y is None else np.asarray(y)


def weights(n: int, seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.5, 2.0, size=n)


def assert_close(actual: Any, desired: Any, *, rtol: float, what: str) -> None:
    """``|a - d| <= rtol (|d| + max|d|)``: relative, with a floor at the largest entry."""
    actual = np.asarray(actual, dtype=np.float64)
    desired = np.asarray(desired, dtype=np.float64)
    assert actual.shape == desired.shape, f"{what}: shape {actual.shape} != {desired.shape}"
    scale = float(np.max(np.abs(desired))) if desired.size else 0.0
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * scale, err_msg=what)


def weighted_total(loss: Loss, p: Any, y: Any, w: Any) -> Any:
    return loss(p, y, w, reduction="sum")


# ------------------------------------------------------ finite differences
def central_difference(func: Callable[[np.ndarray], float], p: np.ndarray, h: float
                       ) -> np.ndarray:
    """4th-order central differences of a scalar function, entry by entry."""
    out = np.empty_like(p)
    flat = out.reshape(-1)
    for j in range(p.size):
        direction = np.zeros(p.size)
        direction[j] = h * max(1.0, abs(p.reshape(-1)[j]))
        step = direction.reshape(p.shape)

        def at(t: float, step: np.ndarray = step) -> float:
            return float(func(p + t * step))

        flat[j] = (at(-2.0) - 8.0 * at(-1.0) + 8.0 * at(1.0) - at(2.0)) / (
            12.0 * direction[j])
    return out


def differences(loss: Loss, func: Callable[[np.ndarray], float], p: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """(derivative, mask of entries away from kinks): steps h and h/2 must agree."""
    coarse = central_difference(func, p, 1e-3)
    fine = central_difference(func, p, 5e-4)
    scale = float(np.max(np.abs(fine)))
    keep = np.abs(coarse - fine) <= FD_RTOL * (np.abs(fine) + scale) + 1e-11
    if loss.properties.smoothness >= 2:
        assert np.all(keep), f"differences at h and h/2 disagree for a smooth loss: {coarse - fine}"
    assert keep.mean() >= 0.5, "most example entries are near a kink: the test is void"
    return fine, keep


# ---------------------------------------------------------------- autodiff
def torch_derivatives(loss: Loss, p: np.ndarray, y: np.ndarray | None, w: np.ndarray | None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian diagonal of ``sum_i w_i L_i`` by torch autograd (float64)."""
    torch = pytest.importorskip("torch")
    pred = torch.tensor(p, requires_grad=True)
    target = None if y is None else torch.from_numpy(y)
    weight = None if w is None else torch.from_numpy(w)
    total = weighted_total(loss, pred, target, weight)
    (gradient,) = torch.autograd.grad(total, pred, create_graph=True)
    diagonal = torch.zeros(p.size, dtype=torch.float64)
    if gradient.requires_grad:
        flat = gradient.reshape(-1)
        for j in range(p.size):
            (row,) = torch.autograd.grad(flat[j], pred, retain_graph=True, allow_unused=True)
            if row is not None:
                diagonal[j] = row.reshape(-1)[j]
    return gradient.detach().numpy(), diagonal.reshape(p.shape).numpy()


def jax_derivatives(loss: Loss, p: np.ndarray, y: np.ndarray | None, w: np.ndarray | None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The same by ``jax.grad`` and ``jax.hessian`` under ``jax.jit``."""
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    shape = p.shape

    def total(flat: Any, target: Any, weight: Any) -> Any:
        return weighted_total(loss, jnp.reshape(flat, shape), target, weight)

    def derivatives(flat: Any, target: Any, weight: Any) -> tuple[Any, Any]:
        return (jax.grad(total)(flat, target, weight),
                jnp.diagonal(jax.hessian(total)(flat, target, weight)))

    gradient, diagonal = jax.jit(derivatives)(
        jnp.asarray(p.reshape(-1)), None if y is None else jnp.asarray(y),
        None if w is None else jnp.asarray(w))
    return np.asarray(gradient).reshape(shape), np.asarray(diagonal).reshape(shape)


AUTODIFF = {"torch": torch_derivatives, "jax": jax_derivatives}


# ----------------------------------------------------------- 1. derivatives
@pytest.mark.parametrize("engine", list(AUTODIFF))
@pytest.mark.parametrize("case", CASES)
def test_derivatives_match_autodiff(case: Case, engine: str) -> None:
    loss = case.build()
    p, y = example(loss)
    w = weights(p.shape[0])
    _, keep = differences(loss, lambda q: weighted_total(loss, q, y, w), p)
    auto_gradient, auto_hessian = AUTODIFF[engine](loss, p, y, w)
    gradient, hessian = loss.gradient_hessian(p, y, w)
    assert_close(np.asarray(gradient)[keep], auto_gradient[keep], rtol=AUTODIFF_RTOL,
                 what=f"gradient of sum_i w_i L_i vs {engine}")
    kind = loss.properties.hessian
    hessian = np.asarray(hessian)
    if kind == "surrogate":
        return  # no second derivative to compare: test_surrogate_hessian_is_positive
    assert_close(hessian[keep], auto_hessian[keep], rtol=AUTODIFF_RTOL,
                 what=f"Hessian diagonal vs {engine} ({kind})")


@pytest.mark.parametrize("case", [c for c in CASES
                                  if c.values[0].build().properties.hessian == "surrogate"])
def test_surrogate_hessian_is_positive(case: Case) -> None:
    """Newton and boosting steps divide by a surrogate Hessian: finite and > 0 everywhere."""
    loss = case.build()
    p, y = example(loss, n=6, seed=3)
    rng = np.random.default_rng(4)
    for q in (p, p + rng.normal(0.0, 1.0, p.shape), 5.0 * p):
        hessian = np.asarray(loss.hessian(q, y))
        bad = ~(np.isfinite(hessian) & (hessian > 0))
        assert not np.any(bad), f"surrogate Hessian {hessian[bad]} at entries {np.argwhere(bad)}"


@pytest.mark.parametrize("case", CASES)
def test_derivatives_match_finite_differences(case: Case) -> None:
    loss = case.build()
    p, y = example(loss, seed=1)
    w = weights(p.shape[0], seed=2)
    fd_gradient, keep = differences(loss, lambda q: weighted_total(loss, q, y, w), p)
    gradient = np.asarray(loss.gradient(p, y, w))
    assert_close(gradient[keep], fd_gradient[keep], rtol=FD_RTOL,
                 what="gradient vs finite differences of sum_i w_i L_i")
    if loss.properties.hessian == "surrogate":
        return
    hessian = np.asarray(loss.hessian(p, y, w))
    flat_fd = np.empty(p.size)
    for j in range(p.size):
        # d/dp_j of the gradient's entry j: the Hessian diagonal, entry by entry.
        def entry(q: np.ndarray, j: int = j) -> float:
            return float(np.asarray(loss.gradient(q, y, w)).reshape(-1)[j])

        single = np.zeros(p.size)
        single[j] = 1.0
        flat_fd[j] = _directional(entry, p, single.reshape(p.shape))
    assert_close(hessian[keep], flat_fd.reshape(p.shape)[keep], rtol=1e-5,
                 what="Hessian diagonal vs finite differences of the gradient")


def _directional(func: Callable[[np.ndarray], float], p: np.ndarray, direction: np.ndarray
                 ) -> float:
    h = 1e-3 * max(1.0, float(np.max(np.abs(p[direction != 0]))))
    values = [func(p + t * h * direction) for t in (-2.0, -1.0, 1.0, 2.0)]
    return (values[0] - 8.0 * values[1] + 8.0 * values[2] - values[3]) / (12.0 * h)


# ------------------------------------------------------------ 2. reductions
def all_outputs(loss: Loss, p: Any, y: Any, w: Any) -> dict[str, Any]:
    values, gradient_w = loss.loss_gradient(p, y, w)
    fused_g, fused_h = loss.gradient_hessian(p, y, w)
    return {
        "mean": loss(p, y),
        "sum": loss(p, y, reduction="sum"),
        "weighted mean": loss(p, y, w),
        "weighted sum": loss(p, y, w, reduction="sum"),
        "none": loss(p, y, reduction="none"),
        "weighted none": loss(p, y, w, reduction="none"),
        "gradient": loss.gradient(p, y),
        "hessian": loss.hessian(p, y),
        "loss_gradient[0]": values,
        "loss_gradient[1]": gradient_w,
        "gradient_hessian[0]": fused_g,
        "gradient_hessian[1]": fused_h,
    }


def denominator(loss: Loss, p: np.ndarray, y: np.ndarray | None, w: np.ndarray | None
                ) -> float:
    """``sum_i w_i c_i`` with the loss's own normaliser ``c_i`` (core's documented rule)."""
    n = np.shape(loss(p, y, reduction="none"))[0]
    normaliser = loss._normalizer(np, loss._prepare(p, y, None).y_true)
    c = np.ones(n) if normaliser is None else np.broadcast_to(np.asarray(normaliser), (n,))
    return float(np.sum(c * (1.0 if w is None else w)))


@pytest.mark.parametrize("case", CASES)
def test_reductions_and_weights_are_consistent(case: Case) -> None:
    loss = case.build()
    p, y = example(loss)
    n = p.shape[0]
    w = weights(n)
    out = all_outputs(loss, p, y, w)
    none, weighted_none = np.asarray(out["none"]), np.asarray(out["weighted none"])
    assert none.shape == (n,), f"reduction='none' gives shape {none.shape}, not ({n},)"
    assert_close(loss.elementwise(p, y), none, rtol=0.0, what="elementwise")
    assert_close(weighted_none, w * none, rtol=REL, what="reduction='none' is w_i L_i")
    assert_close(out["sum"], np.sum(none), rtol=REL, what="sum = sum_i L_i")
    assert_close(out["weighted sum"], np.sum(w * none), rtol=REL, what="weighted sum")
    assert_close(out["mean"], np.sum(none) / denominator(loss, p, y, None), rtol=REL,
                 what="mean = sum_i L_i / sum_i c_i")
    assert_close(out["weighted mean"], np.sum(w * none) / denominator(loss, p, y, w),
                 rtol=REL, what="mean = sum_i w_i L_i / sum_i w_i c_i")
    twos = np.full(n, 2.0)
    assert_close(loss(p, y, twos), out["mean"], rtol=REL, what="mean with all weights 2")
    assert_close(loss.gradient(p, y, twos), 2.0 * np.asarray(out["gradient"]), rtol=REL,
                 what="gradient with all weights 2")
    assert_close(loss.hessian(p, y, twos), 2.0 * np.asarray(out["hessian"]), rtol=REL,
                 what="Hessian with all weights 2")
    assert_close(out["loss_gradient[0]"], weighted_none, rtol=REL, what="loss_gradient[0]")
    weighted_gradient = loss.gradient(p, y, w)
    assert_close(out["loss_gradient[1]"], weighted_gradient, rtol=REL, what="loss_gradient[1]")
    assert_close(out["gradient_hessian[0]"], weighted_gradient, rtol=REL,
                 what="gradient_hessian[0]")
    assert_close(out["gradient_hessian[1]"], loss.hessian(p, y, w), rtol=REL,
                 what="gradient_hessian[1]")
    for key in ("gradient", "hessian"):
        assert np.shape(out[key]) == p.shape, f"{key} has shape {np.shape(out[key])}"


# -------------------------------------------------------------- 3. backends
@pytest.mark.parametrize("case", BACKEND_CASES)
def test_backends_agree(case: Case, xp: Backend) -> None:
    loss = case.build()
    p, y = example(loss)
    w = weights(p.shape[0])
    expected = all_outputs(loss, p, y, w)
    keys = list(expected)

    def outputs(p_: Any, y_: Any, w_: Any) -> tuple[Any, ...]:
        found = all_outputs(loss, p_, y_, w_)
        return tuple(found[key] for key in keys)

    arrays = (xp.asarray(p), None if y is None else xp.asarray(y), xp.asarray(w))
    results = xp.run(outputs, *arrays)
    for key, result in zip(keys, results, strict=True):
        assert xp.is_native(result), f"{key}: {xp.name} in, {type(result).__name__} out"
    for key, result in zip(keys, xp.to_numpy_all(results), strict=True):
        assert_close(result, expected[key], rtol=REL, what=f"{key} on {xp.name}")


# ---------------------------------------------------------------- 4. dtypes
@pytest.mark.parametrize("case", CASES)
def test_float32_float64_kept_and_float16_finite(case: Case,
                                                 eager_xp: Backend) -> None:
    loss = case.build()
    p, y = example(loss)
    w = weights(p.shape[0])
    namespace = eager_xp.namespace
    p32 = p.astype(np.float32)
    reference = all_outputs(loss, eager_xp.asarray(p32.astype(np.float64)),
                            None if y is None else eager_xp.asarray(y), eager_xp.asarray(w))
    for dtype, rtol in (("float32", 1e-4), ("float16", None)):
        pred = eager_xp.asarray(p32.astype(dtype))
        found = all_outputs(loss, pred, None if y is None else eager_xp.asarray(y),
                            eager_xp.asarray(w.astype(np.float32)))
        for key, value in found.items():
            assert value.dtype == getattr(namespace, dtype), (
                f"{key}: {dtype} in, {value.dtype} out")
            array = eager_xp.to_numpy(value).astype(np.float64)
            assert np.all(np.isfinite(array)), f"{key} in {dtype} is not finite: {array}"
            if rtol is not None:
                assert_close(array, eager_xp.to_numpy(reference[key]), rtol=rtol,
                             what=f"{key}: float32 vs float64")
    half = loss(p.astype(np.float16), y, reduction="none")
    single = loss(p.astype(np.float16).astype(np.float32), y, reduction="none")
    np.testing.assert_array_equal(half, single.astype(np.float16),
                                  err_msg="float16 is computed in float32, rounded once")


# ------------------------------------------------------------- 5. metadata
@pytest.mark.parametrize("case", CASES)
def test_pickle_repr_and_properties(case: Case) -> None:
    loss = case.build()
    copy = pickle.loads(pickle.dumps(loss))
    assert copy == loss and hash(copy) == hash(loss)
    p, y = example(loss)
    w = weights(p.shape[0])
    for key, value in all_outputs(loss, p, y, w).items():
        np.testing.assert_array_equal(all_outputs(copy, p, y, w)[key], value, err_msg=key)
    cls = type(loss)
    text = repr(loss)
    for key in case.params:
        assert f"{key}=" in text, f"repr {text} does not show {key}"
    assert eval(text, {cls.__name__: cls, "array": np.array}) == loss, text
    assert case.build() == loss and loss.name == case.name
    for alias in cls.aliases:
        assert lk.get(alias, **case.params) == loss, alias
    props = loss.properties
    assert props.hessian in HESSIAN_KINDS
    assert props.lipschitz is None or (math.isfinite(props.lipschitz)
                                       and props.bounded_gradient)
    assert not loss.pointwise
    with pytest.raises(NotImplementedError, match=case.name):
        loss.optimal_constant(y if y is not None else p)


@pytest.mark.parametrize("case", CASES)
def test_inputs_are_not_mutated(case: Case, eager_xp: Backend) -> None:
    loss = case.build()
    p, y = example(loss)
    w = weights(p.shape[0])
    originals = [p.copy(), None if y is None else y.copy(), w.copy()]
    arrays = [eager_xp.asarray(a) if a is not None else None for a in (p, y, w)]
    all_outputs(loss, *arrays)
    for label, array, original in zip(("y_pred", "y_true", "sample_weight"), arrays,
                                       originals, strict=True):
        if original is not None:
            assert np.array_equal(eager_xp.to_numpy(array), original), f"{label} changed"


def test_the_ranking_losses_are_in_the_suite() -> None:
    assert {"ranknet", "pairwise_hinge", "listnet", "listmle", "approx_ndcg",
            "lambda_loss"} <= set(STRUCTURED_NAMES)
    assert all(not lk.registry.loss_class(name).pointwise for name in STRUCTURED_NAMES)
