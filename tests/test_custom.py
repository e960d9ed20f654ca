"""Custom losses (``losskit.analysis.custom``): ``custom(fn, name=...)`` and ``@loss``.

The seed's custom losses are rebuilt from one element-wise function each and compared
with independent references: the built-in ``asymmetric`` and ``quantile`` losses
(hand-written formulas and derivatives), ``log_cosh`` (stable formulas, against a
naive ``log(cosh(e))`` differentiated automatically), the fused Poisson loss on the
log link (against the base class's chain rule), and closed-form derivatives of the
contrastive loss. Derivatives are checked for every route: torch autograd, JAX (under
``jit``), NumPy through JAX or torch, and the numerical fallback.
"""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import losskit as lk
from conftest import BACKENDS, Backend
from losskit import registry
from losskit.analysis import CustomLoss, NumericalDerivativeWarning, _autodiff, custom, loss
from losskit.core import Properties
from losskit.links import POSITIVE, Interval

EXACT = 1e-12  # two exact derivatives in float64
NONNEGATIVE = Interval(0.0, math.inf, low_inclusive=True)


# ------------------------------------------------------- the seed's losses
def asymmetric3(y_pred: Any, y_true: Any, xp: Any) -> Any:
    """The seed's asymmetric loss with alpha = 3: under-prediction costs 3 |e|."""
    error = y_pred - y_true
    return xp.where(y_pred < y_true, 3.0 * xp.abs(error), xp.abs(error))


def pinball(q: float) -> Callable[[Any, Any, Any], Any]:
    def quantile(y_pred: Any, y_true: Any, xp: Any) -> Any:
        return xp.where(y_true >= y_pred, q * (y_true - y_pred), (1.0 - q) * (y_pred - y_true))

    return quantile


MARGIN = 1.0


def contrastive(y_pred: Any, y_true: Any, xp: Any) -> Any:
    """y d^2 + (1 - y) max(0, m - d)^2 for a distance d = y_pred, y = 1 for a similar pair."""
    gap = xp.maximum(MARGIN - y_pred, xp.zeros_like(y_pred))
    return y_true * y_pred**2 + (1.0 - y_true) * gap**2


def naive_log_cosh(y_pred: Any, y_true: Any, xp: Any) -> Any:
    return xp.log(xp.cosh(y_pred - y_true))


def squared(y_pred: Any, y_true: Any, xp: Any) -> Any:
    return (y_pred - y_true) ** 2


def poisson_deviance(y_pred: Any, y_true: Any, xp: Any) -> Any:
    return y_pred - y_true * xp.log(y_pred)


def double_error(y_pred: Any, y_true: Any, xp: Any) -> Any:
    return 2.0 * (y_pred - y_true)


def ones(y_pred: Any, y_true: Any, xp: Any) -> Any:
    return xp.ones_like(y_pred)


@loss(name="decorated_quartic", convex=True, smoothness=math.inf)
def quartic(y_pred: Any, y_true: Any, xp: Any) -> Any:
    return (y_pred - y_true) ** 4


AUTODIFF_BACKENDS = ["numpy", "torch", "jax"]


def regression_data(n: int = 9, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Targets and predictions at least 0.05 from each other (away from any kink)."""
    rng = np.random.default_rng(seed)
    y = rng.normal(0.0, 2.0, size=n)
    e = rng.normal(0.0, 1.5, size=n)
    e = np.where(np.abs(e) < 0.05, np.sign(e + 1e-3) * 0.3, e)
    return y + e, y


def outputs(backend: Backend, fitted: lk.Loss, p: np.ndarray, y: np.ndarray
            ) -> dict[str, np.ndarray]:
    """Value, mean, gradient and Hessian computed on ``backend`` (under jit for JAX)."""

    def run(q: Any, t: Any) -> tuple[Any, ...]:
        gradient, hessian = fitted.gradient_hessian(q, t)
        return (fitted.elementwise(q, t), fitted(q, t), fitted.gradient(q, t),
                fitted.hessian(q, t), gradient, hessian)

    results = backend.run(run, backend.asarray(p), backend.asarray(y))
    for result in results:
        assert backend.is_native(result), f"{type(result)} is not a {backend.name} array"
    values = backend.to_numpy_all(results)
    names = ["value", "mean", "gradient", "hessian", "fused_gradient", "fused_hessian"]
    return dict(zip(names, values, strict=True))


def assert_close(actual: Any, desired: Any, rtol: float = EXACT, what: str = "") -> None:
    actual, desired = np.asarray(actual, dtype=np.float64), np.asarray(desired, np.float64)
    assert actual.shape == desired.shape, f"{what}: {actual.shape} != {desired.shape}"
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol, err_msg=what)


# ------------------------------------------- 1. the seed's losses vs built-ins
PIECEWISE = [
    pytest.param(asymmetric3, "asymmetric", {"alpha": 3.0}, id="asymmetric(alpha=3)"),
    *[pytest.param(pinball(q), "quantile", {"q": q}, id=f"quantile(q={q})")
      for q in (0.1, 0.5, 0.9)],
]


@pytest.mark.parametrize("backend_name", AUTODIFF_BACKENDS)
@pytest.mark.parametrize(("fn", "builtin", "params"), PIECEWISE)
def test_piecewise_linear_losses_match_builtins(fn: Any, builtin: str, params: dict[str, Any],
                                                backend_name: str) -> None:
    backend = BACKENDS[backend_name]()
    reference = lk.get(builtin, **params)
    exact = custom(fn, name=f"custom_{builtin}", convex=True)
    p, y = regression_data()
    got, want = outputs(backend, exact, p, y), outputs(BACKENDS["numpy"](), reference, p, y)
    for key in ("value", "mean", "gradient", "fused_gradient"):
        assert_close(got[key], want[key], what=f"{key} on {backend_name}")
    # Away from the kink the second derivative is exactly 0; the built-in declares
    # and returns the surrogate 1 instead (for Newton and boosting steps).
    assert reference.properties.hessian == "surrogate"
    assert exact.properties.hessian == "exact"
    for key in ("hessian", "fused_hessian"):
        assert_close(got[key], np.zeros_like(p), what=f"{key} on {backend_name}")

    surrogate = custom(fn, name=f"surrogate_{builtin}", hessian=ones, hessian_kind="surrogate")
    got = outputs(backend, surrogate, p, y)
    for key in ("hessian", "fused_hessian"):
        assert_close(got[key], want[key], what=f"surrogate {key} on {backend_name}")


@pytest.mark.parametrize("backend_name", AUTODIFF_BACKENDS)
def test_contrastive_loss_matches_closed_form(backend_name: str) -> None:
    backend = BACKENDS[backend_name]()
    fitted = custom(contrastive, name="contrastive", y_pred_domain=NONNEGATIVE,
                    y_true_domain=(0.0, 1.0), convex=True, smoothness=1)
    rng = np.random.default_rng(3)
    d = np.concatenate([rng.uniform(0.0, 0.95, 6), rng.uniform(1.05, 3.0, 6)])
    y = np.tile([1.0, 0.0], 6)
    gap = np.maximum(MARGIN - d, 0.0)
    got = outputs(backend, fitted, d, y)
    assert_close(got["value"], y * d**2 + (1 - y) * gap**2, what="value")
    for key in ("gradient", "fused_gradient"):
        assert_close(got[key], 2 * y * d - 2 * (1 - y) * gap, what=key)
    for key in ("hessian", "fused_hessian"):
        assert_close(got[key], 2 * y + 2 * (1 - y) * (d < MARGIN), what=key)


def test_contrastive_domains_are_checked_and_sampled() -> None:
    fitted = custom(contrastive, name="contrastive", y_pred_domain=NONNEGATIVE,
                    y_true_domain=(0.0, 1.0))
    d, y = fitted.example(50, seed=1)
    assert np.all(d >= 0) and set(np.unique(y)) <= {0.0, 1.0}
    assert np.all(np.isfinite(fitted.gradient(d, y)))
    with pytest.raises(ValueError, match=r"y_pred for 'contrastive' must be in \[0, inf\)"):
        fitted(np.array([0.5, -0.1]), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"y_true for 'contrastive' must be in \[0, 1\]"):
        fitted(np.array([0.5, 0.1]), np.array([2.0, 0.0]))


# --------------------------------------------------- 2. autodiff of a smooth loss
SMOOTH_BACKENDS = ["numpy", "torch", "jax", "array_api_strict", "dask"]


@pytest.mark.parametrize("backend_name", SMOOTH_BACKENDS)
def test_naive_log_cosh_autodiff_matches_log_cosh(backend_name: str) -> None:
    backend = BACKENDS[backend_name]()
    fitted = custom(naive_log_cosh, name="naive_log_cosh", smoothness=math.inf)
    reference = lk.get("log_cosh")
    p, y = regression_data(12, seed=5)
    got, want = outputs(backend, fitted, p, y), outputs(BACKENDS["numpy"](), reference, p, y)
    for key, value in want.items():
        assert_close(got[key], value, what=f"{key} on {backend_name}")


@pytest.mark.parametrize("engine", ["jax", "torch"])
def test_numpy_inputs_use_either_engine(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip(engine)
    monkeypatch.setattr(_autodiff, "installed_engine", lambda: engine)
    seen: list[str] = []

    def spy(y_pred: Any, y_true: Any, xp: Any) -> Any:
        seen.append(type(y_pred).__module__.split(".")[0])
        return naive_log_cosh(y_pred, y_true, xp)

    fitted = custom(spy, name="spied_log_cosh")
    reference = lk.get("log_cosh")
    p, y = regression_data()
    for dtype in (np.float64, np.float32):
        gradient, hessian = fitted.gradient_hessian(p.astype(dtype), y.astype(dtype))
        assert isinstance(gradient, np.ndarray) and gradient.dtype == dtype
        assert hessian.dtype == dtype
        rtol = EXACT if dtype == np.float64 else 1e-6
        assert_close(gradient, reference.gradient(p, y), rtol=rtol)
        assert_close(hessian, reference.hessian(p, y), rtol=rtol)
    assert seen and set(seen) == {engine}, seen


def test_jax_engine_computes_numpy_inputs_in_float64(monkeypatch: pytest.MonkeyPatch) -> None:
    jax = pytest.importorskip("jax")
    disable = getattr(jax, "enable_x64", None)
    if disable is None:
        pytest.skip("this jax has no enable_x64 context")
    monkeypatch.setattr(_autodiff, "installed_engine", lambda: "jax")
    fitted = custom(naive_log_cosh, name="float64_log_cosh")
    p, y = regression_data()
    with disable(False):  # a user who never enabled float64 in JAX
        gradient, hessian = fitted.gradient_hessian(p, y)
    assert gradient.dtype == np.float64
    assert_close(gradient, np.tanh(p - y))
    assert_close(hessian, lk.get("log_cosh").hessian(p, y))


# ----------------------------------------- 3. user-given derivatives are used
class Spy:
    """An element-wise function that records the library of every call."""

    def __init__(self, func: Callable[[Any, Any, Any], Any]) -> None:
        self.func = func
        self.calls: list[str] = []

    def __call__(self, y_pred: Any, y_true: Any, xp: Any) -> Any:
        self.calls.append(type(y_pred).__module__.split(".")[0])
        return self.func(y_pred, y_true, xp)


@pytest.mark.parametrize("backend_name", AUTODIFF_BACKENDS)
def test_given_derivatives_replace_autodiff(backend_name: str) -> None:
    backend = BACKENDS[backend_name]()
    value = Spy(squared)
    gradient = Spy(lambda p, y, xp: 2.0 * (p - y))
    hessian = Spy(lambda p, y, xp: 2.0 * xp.ones_like(p))
    fitted = custom(value, name="spied_squares", gradient=gradient, hessian=hessian)
    p, y = regression_data()
    g, h = backend.run(fitted.gradient_hessian, backend.asarray(p), backend.asarray(y))
    assert_close(backend.to_numpy(g), 2 * (p - y))
    assert_close(backend.to_numpy(h), np.full(p.shape, 2.0))
    assert value.calls == [], "fn was called although gradient and hessian were given"
    assert len(gradient.calls) == 1 and len(hessian.calls) == 1


def test_hessian_differentiates_the_given_gradient() -> None:
    torch = pytest.importorskip("torch")
    value = Spy(squared)
    # A deliberately different "gradient": the Hessian must be its derivative (3, not 2).
    gradient = Spy(lambda p, y, xp: 3.0 * (p - y))
    fitted = custom(value, name="own_gradient", gradient=gradient)
    p, y = regression_data()
    hessian = fitted.hessian(torch.from_numpy(p), torch.from_numpy(y))
    assert_close(hessian.numpy(), np.full(p.shape, 3.0))
    assert value.calls == [] and gradient.calls == ["torch"]


def test_torch_gradient_keeps_the_graph_and_device() -> None:
    torch = pytest.importorskip("torch")
    fitted = custom(naive_log_cosh, name="graph_log_cosh")
    p, y = regression_data()
    pred = torch.tensor(p, requires_grad=True)
    gradient = fitted.gradient(pred, torch.from_numpy(y))
    assert gradient.device == pred.device and gradient.requires_grad
    gradient.sum().backward()  # d/dp sum_i tanh(e_i) = sech^2(e)
    assert_close(pred.grad.numpy(), lk.get("log_cosh").hessian(p, y))
    with torch.no_grad():
        detached = fitted.gradient(torch.from_numpy(p), torch.from_numpy(y))
    assert not detached.requires_grad
    assert_close(detached.numpy(), np.tanh(p - y))


# ------------------------------------------------- 4. the numerical fallback
@pytest.fixture
def no_autodiff(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if neither jax nor torch were installed."""
    monkeypatch.setattr(_autodiff, "installed_engine", lambda: None)


@pytest.mark.usefixtures("no_autodiff")
def test_numerical_fallback_warns_once_and_is_accurate() -> None:
    fitted = custom(naive_log_cosh, name="numerical_log_cosh", links=("identity", "log"))
    reference = lk.get("log_cosh")
    p, y = regression_data()
    with pytest.warns(NumericalDerivativeWarning, match="numerical_log_cosh") as record:
        gradient = fitted.gradient(p, y)
    assert record[0].filename == __file__, "the warning should point at the caller"
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumericalDerivativeWarning)  # once per loss
        hessian = fitted.hessian(p, y)
        link_gradient = type(fitted)(link="log").gradient(p, y)
    # log(cosh(.)) accepts complex input: the complex step gives the gradient to
    # rounding, beyond what finite differences reach (about 1e-11).
    assert_close(gradient, reference.gradient(p, y), rtol=1e-14)
    assert_close(hessian, reference.hessian(p, y), rtol=1e-9)
    assert_close(link_gradient, reference.gradient(np.exp(p), y) * np.exp(p), rtol=1e-12)


def naive_huber(y_pred: Any, y_true: Any, xp: Any) -> Any:
    error = y_pred - y_true
    return xp.where(xp.abs(error) <= 1.0, 0.5 * error**2, xp.abs(error) - 0.5)


@pytest.mark.usefixtures("no_autodiff")
@pytest.mark.parametrize(("fn", "builtin", "params"), [
    (asymmetric3, "asymmetric", {"alpha": 3.0}),  # abs(): a real output for complex input
    (naive_huber, "huber", {}),  # complex output, with a wrong complex step outside |e| <= 1
])
def test_numerical_fallback_where_the_complex_step_fails(fn: Any, builtin: str,
                                                        params: dict[str, Any]) -> None:
    # abs() of a complex number drops the imaginary part: the complex step is wrong
    # there, and finite differences must take over.
    fitted = custom(fn, name=f"numerical_{builtin}")
    reference = lk.get(builtin, **params)
    p, y = regression_data(30)
    assert np.any(np.abs(p - y) > 1) and np.any(np.abs(p - y) < 1)
    with pytest.warns(NumericalDerivativeWarning):
        gradient, hessian = fitted.gradient_hessian(p, y)
    assert_close(gradient, reference.gradient(p, y), rtol=1e-9)
    exact_hessian = (np.abs(p - y) <= 1.0) * 1.0 if builtin == "huber" else np.zeros_like(p)
    assert_close(hessian, exact_hessian, rtol=1e-8)


def real_only(func: Callable[[Any, Any, Any], Any]) -> Callable[[Any, Any, Any], Any]:
    def wrapped(y_pred: Any, y_true: Any, xp: Any) -> Any:
        if xp.isdtype(y_pred.dtype, "complex floating"):
            raise TypeError("real input only")
        return func(y_pred, y_true, xp)

    return wrapped


@pytest.mark.usefixtures("no_autodiff")
def test_numerical_steps_respect_the_domain() -> None:
    # p log p on [0, inf): at 1e-6 a fixed step of 7e-4 would leave the domain, and at
    # the closed end the stencil must be one-sided. Real input only: differences alone.
    entropy = custom(real_only(lambda p, y, xp: y * p * xp.log(p) + p),
                     name="entropy_like", y_pred_domain=POSITIVE, y_true_domain=POSITIVE)
    p = np.array([1e-6, 1e-3, 0.5, 3.0])
    y = np.full(4, 2.0)
    with pytest.warns(NumericalDerivativeWarning):
        gradient, hessian = entropy.gradient_hessian(p, y)
    assert_close(gradient, y * (np.log(p) + 1) + 1, rtol=1e-8)
    assert_close(hessian, y / p, rtol=1e-6)

    growth = custom(real_only(lambda p, y, xp: y * xp.exp(2.0 * p)), name="growth",
                    y_pred_domain=(0.0, 1.0))
    p = np.array([0.0, 0.3, 1.0])
    y = np.ones(3)
    with pytest.warns(NumericalDerivativeWarning):
        gradient, hessian = growth.gradient_hessian(p, y)
    assert_close(gradient, 2 * np.exp(2 * p), rtol=1e-9)
    assert_close(hessian, 4 * np.exp(2 * p), rtol=1e-7)


# --------------------------------------------------------- 5. links
@pytest.mark.parametrize("backend_name", AUTODIFF_BACKENDS)
def test_log_link_by_chain_rule_matches_fused_poisson(backend_name: str) -> None:
    backend = BACKENDS[backend_name]()
    fitted = custom(poisson_deviance, name="my_poisson", link="log", y_pred_domain=POSITIVE,
                    y_true_domain=NONNEGATIVE, convex=True, smoothness=math.inf)
    assert fitted.link.name == "log" and repr(fitted) == "MyPoisson(link='log')"
    reference = lk.get("poisson", link="log")
    z = np.random.default_rng(2).normal(0.3, 1.0, 10)
    y = np.random.default_rng(3).poisson(2.0, 10).astype(np.float64)
    got = outputs(backend, fitted, z, y)
    want = outputs(BACKENDS["numpy"](), reference, z, y)
    for key, value in want.items():
        assert_close(got[key], value, what=f"{key} on {backend_name}")
    assert fitted.properties.convex is False  # convexity is not assumed to survive a link
    assert type(fitted)().properties.convex is True


def test_links_are_validated() -> None:
    with pytest.raises(ValueError, match="softmax is not element-wise"):
        custom(squared, name="bad_link", links=("identity", "softmax"))
    with pytest.raises(ValueError, match="must be among"):
        custom(squared, name="bad_link", link="probit")
    fitted = custom(squared, name="raw_only", links=("logit",))
    assert fitted.link.name == "logit" and type(fitted).links == ("identity", "logit")
    with pytest.raises(ValueError, match="link for 'raw_only' must be one of"):
        type(fitted)(link="log")


# ------------------------------------------------- 6. registry round trip
def test_register_and_unregister() -> None:
    name = "registered_quartic_error"
    assert name not in lk.list_losses()
    fitted = custom(quartic.fn, name=name, register=True, links=("identity", "log"))
    try:
        assert name in lk.list_losses()
        assert lk.get(name) == fitted and lk.get(name, link="log") == type(fitted)(link="log")
        custom(quartic.fn, name=name, register=True, links=("identity", "log"))  # same: no-op
        with pytest.raises(ValueError, match=r"cannot register custom loss .*unregister"):
            custom(squared, name=name, register=True)
    finally:
        assert registry.unregister(name) is type(fitted)
    assert name not in lk.list_losses()
    with pytest.raises(ValueError, match="unknown loss"):
        lk.get(name)
    with pytest.raises(ValueError, match="unknown loss"):
        registry.unregister(name)
    with pytest.raises(ValueError, match=r"name is taken by losskit\.losses\.regression\.Huber"):
        custom(squared, name="huber", register=True)
    with pytest.raises(ValueError, match="name is taken"):
        custom(squared, name="mse", register=True)  # an alias is taken too


def test_unregister_removes_aliases() -> None:
    cls = registry.loss_class("mse")
    aliases = cls.aliases
    try:
        assert registry.unregister("l2") is cls  # by an alias
        assert "squared_error" not in lk.list_losses()
        assert not {"mse", "l2"} & set(lk.aliases())
    finally:
        registry.register("squared_error", aliases=aliases)(cls)
    assert lk.get("mse") == lk.get("squared_error") and lk.get("l2").name == "squared_error"


# -------------------------------------------- 7. weights and reductions
def test_sample_weights_and_reductions() -> None:
    fitted = custom(squared, name="weighted_squares")
    reference = lk.get("squared_error")
    p, y = regression_data(11)
    w = np.random.default_rng(4).uniform(0.2, 3.0, p.shape)
    for reduction in ("mean", "sum", "none"):
        assert_close(fitted(p, y, w, reduction), reference(p, y, w, reduction), what=reduction)
    assert_close(fitted(p, y, w), np.sum(w * (p - y) ** 2) / np.sum(w))
    assert_close(fitted.gradient(p, y, w), 2 * w * (p - y))
    assert_close(fitted.hessian(p, y, w), 2 * w)
    with pytest.raises(ValueError, match="sample_weight must be >= 0"):
        fitted(p, y, -w)


# ------------------------------------- 8. optimal constant, example, metadata
def test_optimal_constant_is_the_numerical_argmin() -> None:
    _, y = regression_data(15, seed=7)
    w = np.random.default_rng(1).uniform(0.5, 2.0, y.shape)
    assert_close(custom(squared, name="squares").optimal_constant(y, w),
                 np.average(y, weights=w), rtol=1e-8)
    # Piecewise linear: compare the objective, not the point (the built-in takes a
    # weighted quantile, the numerical minimiser any point of the flat minimum).
    fitted, reference = custom(asymmetric3, name="asymmetric3"), lk.get("asymmetric", alpha=3)
    got, want = fitted.optimal_constant(y, w), reference.optimal_constant(y, w)
    objective = [float(reference(np.full(y.shape, c), y, w)) for c in (got, want)]
    assert objective[0] <= objective[1] * (1 + 1e-9), objective


def test_properties_defaults_and_declarations() -> None:
    plain = custom(squared, name="plain").properties
    assert plain == Properties(convex=False, smoothness=0, lipschitz=None,
                               bounded_gradient=False, robust=None, hessian="exact",
                               statistic="unknown")
    declared = custom(asymmetric3, name="declared", convex=True, lipschitz=3.0, robust=True,
                      statistic="0.75-quantile").properties
    assert declared.bounded_gradient is True and declared.lipschitz == 3.0
    assert declared.convex and declared.robust and declared.statistic == "0.75-quantile"
    given = Properties(convex=True, smoothness=math.inf, lipschitz=1.0, bounded_gradient=True,
                       robust=True, hessian="exact", statistic="mean")
    fitted = custom(naive_log_cosh, name="given", properties=given, links=("identity", "log",
                                                                            "logit"))
    assert fitted.properties == given
    assert type(fitted)(link="logit").properties.lipschitz == 0.25
    on_log = type(fitted)(link="log").properties
    assert on_log.lipschitz is None and not on_log.bounded_gradient and not on_log.convex
    assert custom(squared, name="mapping", properties={"convex": True}).properties.convex


def test_equality_repr_and_example() -> None:
    a = custom(asymmetric3, name="asymmetric3")
    b = custom(asymmetric3, name="asymmetric3")
    assert a == b and hash(a) == hash(b) and type(a) is type(b)
    assert isinstance(a, CustomLoss) and isinstance(a, lk.Loss)
    assert a != custom(asymmetric3, name="asymmetric3", convex=True)
    assert a != custom(squared, name="asymmetric3")
    on_log = custom(asymmetric3, name="asymmetric3", links=("identity", "log"), link="log")
    assert repr(a) == "Asymmetric3()" and repr(on_log) == "Asymmetric3(link='log')"
    assert eval(repr(on_log), {"Asymmetric3": type(on_log)}) == on_log
    p, y = a.example(6, seed=2)
    assert p.shape == y.shape == (6,)
    np.testing.assert_array_equal(a.example(6, seed=2)[0], p)


# ----------------------------------------------------------- 9. decorator
def test_decorator_forms() -> None:
    @loss
    def bare_squares(y_pred: Any, y_true: Any, xp: Any) -> Any:
        return (y_pred - y_true) ** 2

    @loss()
    def called_squares(y_pred: Any, y_true: Any, xp: Any) -> Any:
        return (y_pred - y_true) ** 2

    @loss(name="named_squares", convex=True)
    def anything(y_pred: Any, y_true: Any, xp: Any) -> Any:
        return (y_pred - y_true) ** 2

    assert isinstance(bare_squares, CustomLoss) and bare_squares.name == "bare_squares"
    assert called_squares.name == "called_squares"
    assert anything.name == "named_squares" and anything.properties.convex
    assert quartic.name == "decorated_quartic" and quartic.properties.smoothness == math.inf
    p, y = regression_data()
    assert_close(anything.gradient(p, y), 2 * (p - y))
    with pytest.raises(TypeError, match="needs name="):
        loss(lambda p, y, xp: p)
    with pytest.raises(TypeError, match=r"@loss\(name='my_loss'\)"):
        loss("my_loss")  # type: ignore[call-overload]


# ------------------------------------------------------------ 10. pickling
def test_pickling_module_level_functions() -> None:
    p, y = regression_data()
    for fitted in (custom(asymmetric3, name="pickled", links=("identity", "log"), link="log"),
                   custom(squared, name="pickled_squares", gradient=double_error),
                   quartic):  # decorated: the module name now holds the loss
        copy = pickle.loads(pickle.dumps(fitted))
        assert copy == fitted and type(copy) is type(fitted)
        assert_close(copy.gradient(p, y), fitted.gradient(p, y))


def test_lambdas_do_not_pickle() -> None:
    fitted = custom(lambda p, y, xp: (p - y) ** 2, name="anonymous")
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        pickle.dumps(fitted)


def test_pickle_in_a_fresh_process(tmp_path: Any) -> None:
    # A decorated function is replaced by its loss in its module: the pickle must reach
    # it through the loss, in a process where the definition is rebuilt on import.
    module = tmp_path / "user_losses.py"
    module.write_text(
        "from losskit.analysis import loss\n"
        "@loss(convex=True)\n"
        "def user_squares(y_pred, y_true, xp):\n"
        "    return (y_pred - y_true) ** 2\n")
    code = (
        "import pickle, sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "import user_losses\n"
        "data = pickle.dumps(type(user_losses.user_squares)(link='identity'))\n"
        "sys.stdout.buffer.write(data)\n")
    data = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout
    sys.path.insert(0, str(tmp_path))
    try:
        copy = pickle.loads(data)
        import user_losses

        assert copy == user_losses.user_squares
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("user_losses", None)


# ---------------------------------------------------------- 11. bad input
def test_bad_definitions() -> None:
    with pytest.raises(TypeError, match="fn for a custom loss must be callable"):
        custom(3.0, name="x")  # type: ignore[arg-type]
    for bad in ("", "MyLoss", "my-loss", "1loss", "_private", "double__underscore", "a b"):
        with pytest.raises(ValueError, match="snake_case"):
            custom(squared, name=bad)
    with pytest.raises(TypeError, match="must be a str"):
        custom(squared, name=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="gradient for custom loss 'x' must be callable"):
        custom(squared, name="x", gradient="2e")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="surrogate' without a hessian"):
        custom(squared, name="x", hessian_kind="surrogate")
    with pytest.raises(TypeError, match="not both"):
        custom(squared, name="x", properties={"convex": True}, convex=True)
    with pytest.raises(ValueError, match="bounded_gradient=False"):
        custom(squared, name="x", lipschitz=1.0, bounded_gradient=False)
    with pytest.raises(TypeError, match="convex for custom loss 'x'"):
        custom(squared, name="x", convex="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="smoothness for 'x' must be >= 0"):
        custom(squared, name="x", smoothness=-1)
    with pytest.raises(TypeError, match="unknown keys"):
        custom(squared, name="x", properties={"konvex": True})
    with pytest.raises(ValueError, match="low < high"):
        custom(squared, name="x", y_pred_domain=(1.0, 0.0))
    with pytest.raises(TypeError, match="CustomLoss is built by"):
        CustomLoss()


@pytest.mark.parametrize("backend_name", AUTODIFF_BACKENDS)
def test_bad_outputs_name_the_loss(backend_name: str) -> None:
    backend = BACKENDS[backend_name]()
    p, y = (backend.asarray(a) for a in regression_data())
    summed = custom(lambda p, y, xp: xp.sum((p - y) ** 2), name="summed")
    with pytest.raises(ValueError, match=r"custom loss 'summed': fn returned shape \(\) .*"
                                         "element-wise"):
        summed(p, y)
    with pytest.raises(ValueError, match="custom loss 'summed': fn returned shape"):
        summed.gradient(p, y)  # through autodiff too
    scalar = custom(lambda p, y, xp: 1.0, name="scalar")
    with pytest.raises(TypeError, match="custom loss 'scalar': fn returned float, not an array"):
        scalar(p, y)
    bad_gradient = custom(squared, name="bad_gradient", gradient=lambda p, y, xp: [0.0])
    with pytest.raises(TypeError, match="'bad_gradient': gradient returned list"):
        bad_gradient.gradient(p, y)


def test_foreign_library_output_is_rejected() -> None:
    torch = pytest.importorskip("torch")
    numpy_inside = custom(lambda p, y, xp: np.abs(np.asarray(p - y)), name="numpy_inside")
    with pytest.raises(TypeError, match="returned a numpy array for torch inputs"):
        numpy_inside(torch.zeros(3), torch.ones(3))


def test_import_stays_light() -> None:
    code = ("import sys, losskit.analysis.custom\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'torch', 'jax', 'scipy', 'dask'}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]", out


def welsch(y_pred: Any, y_true: Any, xp: Any) -> Any:
    """A redescending (non-convex) loss: 1 - exp(-e^2 / 2)."""
    error = y_pred - y_true
    return 1.0 - xp.exp(-0.5 * error * error)


def test_numeric_optimal_constant_is_global_and_precise() -> None:
    # A non-convex loss: the bulk at 0 wins over the lone outlier at 100, where a
    # bounded Brent search over [0, 100] could stop in the outlier's basin.
    robust = lk.custom(welsch, name="welsch")
    y = np.array([0.0, 0.1, -0.1, 0.05, -0.05, 100.0])
    c = float(robust.optimal_constant(y))
    assert abs(c) < 0.05
    grid = np.linspace(-1.0, 1.0, 20001)
    best = min(float(robust(np.full(y.shape, g), y)) for g in grid)
    assert float(robust(np.full(y.shape, c), y)) <= best + 1e-12
    # A smooth convex loss: the root of the gradient sum, to machine precision.
    y = np.random.default_rng(3).normal(size=50)
    mean_loss = lk.custom(squared, name="squared_numeric")
    assert float(mean_loss.optimal_constant(y)) == pytest.approx(float(np.mean(y)), rel=1e-14,
                                                                 abs=1e-15)
