"""Agreement with the losses of other libraries: PyTorch, scikit-learn and Optax.

Every comparison names the library function it checks against (the versions these
tests were written and run against: torch 2.13, scikit-learn 1.9, optax 0.2.8 on
jax 0.10). Where the formulas are the same the values, gradients and Hessian
diagonals agree to a relative ``1e-12`` in float64. Where a library's convention
differs (a ½ factor, a mean over another count, a constant term, an ``eps``) the
comment says why and the conversion is applied in the test, so the convention is
pinned too: if either side changes it, the test fails.

Reference gradients and Hessians come from the references' own automatic
differentiation (``torch.autograd``, ``jax.grad`` / ``jax.hessian``) of their
per-sample losses, or from scikit-learn's hand-written ``gradient_hessian``.
losskit's ``gradient`` / ``hessian`` are per-sample derivatives times the sample
weight, i.e. the derivatives of the *sum* of the weighted per-sample losses.

Losses that are not yet registered (classification, margin and focal losses land
separately) are skipped by name.
"""

from __future__ import annotations

import importlib
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import losskit as lk


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


torch = _optional("torch")
jax = _optional("jax")
optax = _optional("optax")
sklearn_loss = _optional("sklearn._loss.loss")
sklearn_metrics = _optional("sklearn.metrics")

needs_torch = pytest.mark.skipif(torch is None, reason="needs torch")
needs_optax = pytest.mark.skipif(optax is None or jax is None, reason="needs jax and optax")
needs_sklearn = pytest.mark.skipif(sklearn_loss is None, reason="needs scikit-learn")

RTOL = 1e-12
# Absolute floor for entries that are exactly 0 (a hinge beyond its margin, an ignored
# sample, a zero target's term); far below every non-zero entry compared here.
ATOL = 1e-15


# ----------------------------------------------------------------- helpers
def require(name: str, **params: Any) -> lk.Loss:
    """``lk.get(name, **params)``, skipping while ``name`` is not registered yet."""
    if name not in lk.list_losses():
        pytest.skip(f"'{name}' is not registered yet")
    return lk.get(name, **params)


def to_numpy(array: Any) -> np.ndarray:
    if torch is not None and isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    out = np.asarray(array)
    if out.dtype.kind == "f":
        # A float32 reference would make every 1e-12 comparison meaningless.
        assert out.dtype == np.float64, f"reference computed in {out.dtype}, not float64"
    return out


def assert_close(actual: Any, expected: Any, *, rtol: Any = RTOL, atol: float = ATOL,
                 what: str = "") -> None:
    """``|actual - expected| <= atol + rtol |expected|``; ``rtol`` may be per entry."""
    actual, expected = to_numpy(actual), to_numpy(expected)
    assert actual.shape == expected.shape, (
        f"{what}: shape {actual.shape} != reference shape {expected.shape}")
    if np.ndim(rtol) == 0:
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)
        return
    error = np.abs(actual - expected)
    bound = atol + np.asarray(rtol) * np.abs(expected)
    assert np.all(error <= bound), (
        f"{what}: |actual - expected| / bound up to {np.max(error / bound):.3g}\n"
        f"actual={actual}\nexpected={expected}")


def losskit_triple(loss: lk.Loss, y_pred: Any, y_true: Any,
                   sample_weight: Any = None) -> tuple[Any, Any, Any]:
    """losskit's weighted per-sample values, gradient and Hessian diagonal."""
    return (loss(y_pred, y_true, sample_weight=sample_weight, reduction="none"),
            loss.gradient(y_pred, y_true, sample_weight=sample_weight),
            loss.hessian(y_pred, y_true, sample_weight=sample_weight))


def _hessian_diagonal(hessian: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    size = math.prod(shape)
    return np.asarray(hessian).reshape(size, size).diagonal().reshape(shape)


def torch_triple(per_sample: Callable[[Any], Any], y_pred: np.ndarray, *,
                 hessian: bool = True) -> tuple[np.ndarray, np.ndarray, Any]:
    """Values of ``per_sample(x)``, and the gradient / Hessian diagonal of their sum.

    ``hessian=False`` where torch has no second derivative (multi_margin_loss).
    """
    x = torch.tensor(y_pred, dtype=torch.float64, requires_grad=True)
    values = per_sample(x)
    (gradient,) = torch.autograd.grad(values.sum(), x)
    diagonal = None
    if hessian:
        full = torch.autograd.functional.hessian(lambda z: per_sample(z).sum(), x.detach(),
                                                 vectorize=True)
        diagonal = _hessian_diagonal(to_numpy(full), tuple(x.shape))
    return to_numpy(values), to_numpy(gradient), diagonal


def jax_triple(per_sample: Callable[[Any], Any], y_pred: np.ndarray,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """As ``torch_triple``, with ``jax.grad`` and ``jax.hessian`` (one jit compile)."""
    x = jax.numpy.asarray(y_pred, dtype=jax.numpy.float64)

    def total(z: Any) -> Any:
        return jax.numpy.sum(per_sample(z))

    values, gradient, hessian = jax.jit(
        lambda z: (per_sample(z), jax.grad(total)(z), jax.hessian(total)(z)))(x)
    return (to_numpy(values), to_numpy(gradient),
            _hessian_diagonal(to_numpy(hessian), tuple(x.shape)))


def assert_triples_close(ours: tuple[Any, Any, Any], reference: tuple[Any, Any, Any],
                         *, factor: float = 1.0, hessian: bool = True,
                         hessian_rtol: Any = RTOL) -> None:
    """``ours == factor * reference`` for values, gradient and (optionally) Hessian."""
    names = ("value", "gradient", "hessian")[: 3 if hessian else 2]
    count = len(names)
    for name, a, b in zip(names, ours[:count], reference[:count], strict=True):
        rtol = hessian_rtol if name == "hessian" else RTOL
        assert_close(a, factor * to_numpy(b), rtol=rtol, what=name)


@pytest.fixture(scope="module", autouse=True)
def _jax_float64() -> Any:
    """Optax references in float64 (jax defaults to float32); restored afterwards."""
    if jax is None:
        yield
        return
    previous = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


# -------------------------------------------------------------------- data
N = 16
# |e| = 0.15, 0.35, ..., 3.15: no tie at e = 0 (where subgradients are a convention)
# and at least 0.05 away from every Huber delta used below (0.6, 1.0, 2.6).
ERROR_MAGNITUDES = 0.15 + 0.2 * np.arange(N)
HUBER_DELTAS = (0.6, 1.0, 2.6)


def regression_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.normal(0.0, 2.0, N)
    e = rng.permutation(ERROR_MAGNITUDES) * rng.choice([-1.0, 1.0], N)
    return y + e, y


def sample_weights(n: int = N, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.2, 3.0, n)


def binary_data(shape: tuple[int, ...] = (N,), seed: int = 2, *, soft: bool = False,
                ) -> tuple[np.ndarray, np.ndarray]:
    """Logits in about [-3, 3] (probabilities in [0.05, 0.95]) and {0, 1} labels.

    ``soft=True``: labels in [0, 1] (soft / probabilistic targets), 0 and 1 included.
    """
    rng = np.random.default_rng(seed)
    logits = rng.uniform(-3.0, 3.0, shape)
    if soft:
        labels = rng.uniform(0.0, 1.0, shape)
    else:
        labels = rng.integers(0, 2, shape).astype(np.float64)
    labels.flat[:2] = (0.0, 1.0)  # both classes present (scikit-learn needs them)
    return logits, labels


def expit(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def multiclass_data(n: int = 12, k: int = 4, seed: int = 3,
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logits (n, K), class indices (n,) with every class present, probability rows."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 1.5, (n, k))
    indices = rng.permutation(np.arange(n) % k)
    raw = rng.uniform(0.05, 1.0, (n, k))
    probabilities = raw / raw.sum(axis=1, keepdims=True)
    return logits, indices, probabilities


def softmax(z: np.ndarray) -> np.ndarray:
    shifted = np.exp(z - z.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def deviance_data(power: float, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Positive means and targets in the Tweedie domain of ``power``."""
    rng = np.random.default_rng(seed)
    mu = rng.uniform(0.4, 4.0, N)
    if power == 0:
        y = rng.normal(1.0, 2.0, N)
    elif 1 <= power < 2:
        y = rng.poisson(2.0, N).astype(np.float64)
        y[:3] = (0.0, 0.0, 5.0)  # zeros included: xlogy(0, 0) = 0
    else:
        y = rng.gamma(2.0, 1.0, N)
    return mu, y


# =================================================================== PyTorch
# torch.nn.functional (torch 2.13). Reductions: "none" is elementwise; "sum" the sum;
# "mean" the mean over every element of the loss, except where noted below.
REGRESSION_TORCH = [
    # (losskit name, params, torch function, torch keywords, torch Hessian is comparable)
    ("squared_error", {}, "mse_loss", {}, True),
    # l1_loss: d2/de2 |e| = 0 (autograd) where losskit returns the Newton surrogate 1
    # (properties.hessian == "surrogate"), so only values and gradients are compared.
    ("absolute_error", {}, "l1_loss", {}, False),
    *[("huber", {"delta": d}, "huber_loss", {"delta": d}, True) for d in HUBER_DELTAS],
]
REGRESSION_TORCH_IDS = [f"{c[2]}{c[3].get('delta', '')}" for c in REGRESSION_TORCH]


@needs_torch
@pytest.mark.parametrize(("name", "params", "function", "kwargs", "with_hessian"),
                         REGRESSION_TORCH, ids=REGRESSION_TORCH_IDS)
def test_torch_regression_derivatives(name: str, params: dict, function: str, kwargs: dict,
                                      with_hessian: bool) -> None:
    # torch.nn.functional.{mse_loss, l1_loss, huber_loss}(input, target, reduction="none")
    loss = lk.get(name, **params)
    y_pred, y_true = regression_data()
    target = torch.tensor(y_true)
    reference = torch_triple(
        lambda x: getattr(torch.nn.functional, function)(x, target, reduction="none",
                                                         **kwargs), y_pred,
        hessian=with_hessian)
    assert_triples_close(losskit_triple(loss, y_pred, y_true), reference,
                         hessian=with_hessian)


@needs_torch
@pytest.mark.parametrize(("name", "params", "function", "kwargs", "with_hessian"),
                         REGRESSION_TORCH, ids=REGRESSION_TORCH_IDS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_torch_regression_reductions(name: str, params: dict, function: str, kwargs: dict,
                                     with_hessian: bool, weighted: bool) -> None:
    # torch.nn.functional.{mse_loss, l1_loss, huber_loss}(..., reduction, weight=w):
    # the per-sample ``weight`` argument is new in torch 2.x. "none" and "sum" are
    # w_i L_i and sum w_i L_i as in losskit. For "mean", mse_loss and l1_loss divide by
    # sum w_i (losskit's weighted mean) but huber_loss divides by n (torch 2.13):
    # converted by n / sum(w).
    loss = lk.get(name, **params)
    y_pred, y_true = regression_data(seed=5)
    w = sample_weights() if weighted else None
    reference = getattr(torch.nn.functional, function)
    tensors = (torch.tensor(y_pred), torch.tensor(y_true))
    torch_weight = {"weight": torch.tensor(w)} if weighted else {}
    for reduction in ("none", "sum", "mean"):
        expected = to_numpy(reference(*tensors, reduction=reduction, **kwargs, **torch_weight))
        if reduction == "mean" and weighted and function == "huber_loss":
            expected = expected * N / w.sum()
        assert_close(loss(y_pred, y_true, sample_weight=w, reduction=reduction), expected,
                     what=reduction)


@needs_torch
@pytest.mark.parametrize("link", ["log", "identity"])
def test_torch_poisson_nll_loss(link: str) -> None:
    # torch.nn.functional.poisson_nll_loss(input, target, log_input, full=False):
    # log_input=True is exp(input) - target * input = losskit poisson, link="log".
    # log_input=False is input - target * log(input + eps); torch's eps (default 1e-8)
    # changes the value by about target * eps / input (1e-8 relative, far above 1e-12),
    # so it is compared with eps=0, the exact negative log-likelihood that losskit
    # computes; the default eps is checked to stay within its own bound below.
    # full=False: neither side has the Stirling term of log(target!).
    loss = lk.get("poisson", link=None if link == "identity" else link)
    mu, y = deviance_data(power=1.0)
    y_pred = np.log(mu) if link == "log" else mu
    target = torch.tensor(y)
    log_input = link == "log"

    def reference(x: Any, eps: float = 0.0) -> Any:
        return torch.nn.functional.poisson_nll_loss(x, target, log_input=log_input,
                                                    full=False, eps=eps, reduction="none")

    assert_triples_close(losskit_triple(loss, y_pred, y), torch_triple(reference, y_pred))
    for reduction in ("sum", "mean"):
        expected = torch.nn.functional.poisson_nll_loss(
            torch.tensor(y_pred), target, log_input=log_input, full=False, eps=0.0,
            reduction=reduction)
        assert_close(loss(y_pred, y, reduction=reduction), expected, what=reduction)
    if link == "identity":
        with_eps = to_numpy(reference(torch.tensor(y_pred), eps=1e-8))
        np.testing.assert_array_less(np.abs(with_eps - loss.elementwise(y_pred, y)),
                                     y * 1e-8 / mu + 1e-15)


@needs_torch
@pytest.mark.parametrize("link", ["logit", "identity"])
@pytest.mark.parametrize("shape", [(N,), (8, 3)], ids=["single", "multilabel"])
@pytest.mark.parametrize("soft", [False, True], ids=["hard", "soft"])
def test_torch_binary_cross_entropy(link: str, shape: tuple[int, ...], soft: bool) -> None:
    # torch.nn.functional.binary_cross_entropy (probabilities; torch clamps each log at
    # -100, losskit clips the probability to [eps, 1-eps]: neither binds for the
    # probabilities in [0.05, 0.95] used here) and binary_cross_entropy_with_logits.
    # Multi-label: (n, L) predictions and targets, a loss per entry. Both accept soft
    # targets in [0, 1].
    loss = require("binary_cross_entropy", link=None if link == "identity" else link)
    logits, labels = binary_data(shape, soft=soft)
    y_pred = logits if link == "logit" else expit(logits)
    target = torch.tensor(labels)
    if link == "logit":
        def reference(x: Any) -> Any:
            return torch.nn.functional.binary_cross_entropy_with_logits(
                x, target, reduction="none")
    else:
        def reference(x: Any) -> Any:
            return torch.nn.functional.binary_cross_entropy(x, target, reduction="none")
    assert_triples_close(losskit_triple(loss, y_pred, labels), torch_triple(reference, y_pred),
                         hessian_rtol=_bce_probability_hessian_rtol(link, y_pred))
    if link == "identity":
        # The exact second derivative, y / p^2 + (1 - y) / (1 - p)^2, at 1e-12.
        exact = labels / y_pred**2 + (1.0 - labels) / (1.0 - y_pred) ** 2
        assert_close(loss.hessian(y_pred, labels), exact, what="exact hessian")
    assert lk.get("bce", link=None if link == "identity" else link) == loss


@needs_torch
@pytest.mark.parametrize("link", ["logit", "identity"])
@pytest.mark.parametrize("shape", [(N,), (8, 3)], ids=["single", "multilabel"])
def test_torch_binary_cross_entropy_weighted_mean(link: str, shape: tuple[int, ...]) -> None:
    # torch's ``weight`` rescales each element and its "mean" divides the weighted sum by
    # the number of elements, n * L; losskit's weighted mean divides by the sum of the
    # weights of the elements, L * sum(w): converted by n / sum(w). "sum" and "none"
    # agree as they are. A per-sample weight is w[:, None] in torch for (n, L) input.
    loss = require("binary_cross_entropy", link=None if link == "identity" else link)
    logits, labels = binary_data(shape, seed=6)
    y_pred = logits if link == "logit" else expit(logits)
    w = sample_weights(shape[0])
    torch_weight = torch.tensor(w.reshape((-1,) + (1,) * (len(shape) - 1)))
    function = (torch.nn.functional.binary_cross_entropy_with_logits if link == "logit"
                else torch.nn.functional.binary_cross_entropy)
    for reduction in ("none", "sum", "mean"):
        expected = to_numpy(function(torch.tensor(y_pred), torch.tensor(labels),
                                     weight=torch_weight, reduction=reduction))
        if reduction == "mean":
            expected = expected * shape[0] / w.sum()
        assert_close(loss(y_pred, labels, sample_weight=w, reduction=reduction), expected,
                     what=reduction)
    reference = torch_triple(
        lambda x: function(x, torch.tensor(labels), weight=torch_weight, reduction="none"),
        y_pred)
    assert_triples_close(losskit_triple(loss, y_pred, labels, w), reference,
                         hessian_rtol=_bce_probability_hessian_rtol(link, y_pred))


@needs_torch
@pytest.mark.parametrize("pos_weight", [2.5, "per_label"])
def test_torch_bce_with_logits_pos_weight(pos_weight: Any) -> None:
    # torch.nn.functional.binary_cross_entropy_with_logits(pos_weight=p):
    # -[p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))], p broadcast over the label
    # axis (one per label for (n, L) targets). Same formula in losskit.
    logits, labels = binary_data((10, 3), seed=7)
    per_label = [0.5, 1.0, 3.0]
    value = per_label if pos_weight == "per_label" else pos_weight
    loss = require("binary_cross_entropy", link="logit", pos_weight=value)
    target = torch.tensor(labels)
    torch_pos_weight = torch.tensor(np.broadcast_to(np.asarray(value, dtype=float), (3,)))

    def reference(x: Any) -> Any:
        return torch.nn.functional.binary_cross_entropy_with_logits(
            x, target, pos_weight=torch_pos_weight, reduction="none")

    assert_triples_close(losskit_triple(loss, logits, labels), torch_triple(reference, logits))
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(logits), target, pos_weight=torch_pos_weight, reduction="sum")
    assert_close(loss(logits, labels, reduction="sum"), expected)


def _bce_probability_hessian_rtol(link: str, p: np.ndarray) -> Any:
    """torch's second derivative of binary_cross_entropy in the probability is biased.

    Its double backward divides by ``p (1 - p)`` plus torch's EPSILON = 1e-12, which
    makes it smaller than the exact ``y/p^2 + (1-y)/(1-p)^2`` by a relative
    ``2e-12 / (p (1 - p))`` (measured: 1e-11 to 3e-11 here). Allowed for, per entry;
    the test then checks the exact formula itself at 1e-12. Logits: no bias.
    """
    if link == "logit":
        return RTOL
    return RTOL + 2.5e-12 / (p * (1.0 - p))


def _torch_cross_entropy(logits: Any, target: Any, **kwargs: Any) -> Any:
    """torch's cross_entropy with the class axis last, as losskit takes it."""
    return torch.nn.functional.cross_entropy(torch.movedim(logits, -1, 1), target, **kwargs)


CROSS_ENTROPY_CASES = {
    "plain": {},
    "class_weight": {"class_weight": [0.5, 1.0, 2.0, 3.0]},
    "label_smoothing": {"label_smoothing": 0.2},
    "ignore_index": {"ignore_index": -100},
    "all": {"class_weight": [0.5, 1.0, 2.0, 3.0], "label_smoothing": 0.1,
            "ignore_index": -100},
}


def _torch_ce_kwargs(params: dict) -> dict:
    kwargs: dict[str, Any] = {}
    if "class_weight" in params:
        kwargs["weight"] = torch.tensor(params["class_weight"], dtype=torch.float64)
    if "label_smoothing" in params:
        kwargs["label_smoothing"] = params["label_smoothing"]
    if "ignore_index" in params:
        kwargs["ignore_index"] = params["ignore_index"]
    return kwargs


@needs_torch
@pytest.mark.parametrize("case", list(CROSS_ENTROPY_CASES))
@pytest.mark.parametrize("extra_axis", [False, True], ids=["(n,K)", "(n,T,K)"])
def test_torch_cross_entropy_class_indices(case: str, extra_axis: bool) -> None:
    # torch.nn.functional.cross_entropy(input, target) with class-index targets,
    # weight= class_weight, label_smoothing, ignore_index; torch puts the class axis
    # second, (n, K, T), losskit last, (n, T, K): moved with torch.movedim. Per sample,
    # with eps = label_smoothing and w = class weights (derived from torch's formula):
    #   (1 - eps) w_y (-log q_y) + eps / K * sum_k w_k (-log q_k), 0 where ignored;
    # "mean" divides by sum_i w_{y_i} over non-ignored samples, as losskit does.
    params = CROSS_ENTROPY_CASES[case]
    loss = require("cross_entropy", link="softmax", **params)
    logits, indices, _ = multiclass_data()
    if extra_axis:
        logits = logits.reshape(4, 3, 4)
        indices = indices.reshape(4, 3)
    if "ignore_index" in params:
        indices = indices.copy()
        indices.flat[[1, 6]] = params["ignore_index"]
    target = torch.tensor(indices)
    kwargs = _torch_ce_kwargs(params)
    reference = torch_triple(
        lambda x: _torch_cross_entropy(x, target, reduction="none", **kwargs), logits)
    assert_triples_close(losskit_triple(loss, logits, indices), reference)
    for reduction in ("sum", "mean"):
        expected = _torch_cross_entropy(torch.tensor(logits), target, reduction=reduction,
                                        **kwargs)
        assert_close(loss(logits, indices, reduction=reduction), expected, what=reduction)
    assert lk.get("ce", link="softmax", **params) == loss


@needs_torch
@pytest.mark.parametrize("case", ["plain", "class_weight", "label_smoothing"])
def test_torch_cross_entropy_probability_targets(case: str) -> None:
    # torch.nn.functional.cross_entropy with (n, K) probability targets:
    # per sample -sum_k w_k p_k log q_k, with p smoothed to (1 - eps) p + eps / K.
    params = CROSS_ENTROPY_CASES[case]
    loss = require("cross_entropy", link="softmax", **params)
    logits, _, probabilities = multiclass_data(seed=8)
    target = torch.tensor(probabilities)
    kwargs = _torch_ce_kwargs(params)
    reference = torch_triple(
        lambda x: _torch_cross_entropy(x, target, reduction="none", **kwargs), logits)
    assert_triples_close(losskit_triple(loss, logits, probabilities), reference)
    expected_sum = _torch_cross_entropy(torch.tensor(logits), target, reduction="sum",
                                        **kwargs)
    assert_close(loss(logits, probabilities, reduction="sum"), expected_sum)
    # torch's "mean" with probability targets divides by n even with class weights
    # (there is no "class of the target" to normalise by).
    expected_mean = _torch_cross_entropy(torch.tensor(logits), target, reduction="mean",
                                         **kwargs)
    assert_close(loss(logits, probabilities, reduction="mean"), expected_mean)


@needs_torch
@pytest.mark.parametrize("case", ["plain", "class_weight", "ignore_index"])
def test_torch_nll_loss_on_probabilities(case: str) -> None:
    # losskit cross_entropy without a link takes probability rows q: per sample
    # -w_y log q_y, torch.nn.functional.nll_loss(log q, target, weight, ignore_index)
    # with the gradient taken through torch.log, i.e. in q (not projected on the simplex).
    params = CROSS_ENTROPY_CASES[case]
    loss = require("cross_entropy", **params)
    logits, indices, _ = multiclass_data(seed=33)
    q = softmax(logits)
    if "ignore_index" in params:
        indices = indices.copy()
        indices[[2, 5]] = params["ignore_index"]
    target = torch.tensor(indices)
    kwargs = _torch_ce_kwargs(params)

    def reference(x: Any, reduction: str = "none") -> Any:
        return torch.nn.functional.nll_loss(torch.log(x), target, reduction=reduction,
                                            **kwargs)

    assert_triples_close(losskit_triple(loss, q, indices), torch_triple(reference, q))
    for reduction in ("sum", "mean"):
        assert_close(loss(q, indices, reduction=reduction),
                     reference(torch.tensor(q), reduction), what=reduction)


@needs_torch
@pytest.mark.parametrize("link", ["softmax", "identity"])
def test_torch_kl_div(link: str) -> None:
    # torch.nn.functional.kl_div(input=log q, target=p, reduction="none") is
    # p (log p - log q) per entry (0 where p = 0), summed here over the class axis to
    # losskit's per-sample KL(p || q). With link="softmax", log q = log_softmax(logits).
    # reduction="batchmean" (sum / n) is losskit's mean; torch's "mean" divides by n*K.
    loss = require("kl_divergence", link=None if link == "identity" else link)
    logits, _, probabilities = multiclass_data(seed=9)
    probabilities[0] = [0.0, 0.5, 0.5, 0.0]  # zero target entries contribute 0
    target = torch.tensor(probabilities)
    y_pred = logits if link == "softmax" else softmax(logits)

    def reference(x: Any) -> Any:
        log_q = torch.log_softmax(x, dim=-1) if link == "softmax" else torch.log(x)
        return torch.nn.functional.kl_div(log_q, target, reduction="none").sum(dim=-1)

    assert_triples_close(losskit_triple(loss, y_pred, probabilities),
                         torch_triple(reference, y_pred))
    log_q = torch.log_softmax(torch.tensor(logits), dim=-1)
    batchmean = torch.nn.functional.kl_div(log_q, target, reduction="batchmean")
    with warnings.catch_warnings():
        # torch warns that "mean" will become "batchmean" in a future release; when it
        # does, the conversion below fails and must be dropped.
        warnings.simplefilter("ignore", UserWarning)
        elementwise_mean = torch.nn.functional.kl_div(log_q, target, reduction="mean")
    mean = loss(y_pred, probabilities, reduction="mean")
    assert_close(mean, batchmean)
    assert_close(mean, to_numpy(elementwise_mean) * probabilities.shape[1])


@needs_torch
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_torch_multi_margin_loss(margin: float) -> None:
    # torch.nn.functional.multi_margin_loss(p=1, margin) is the Weston-Watkins hinge
    # sum_{j != y} max(0, margin - s_y + s_j) divided by the number of classes K;
    # losskit's multiclass_hinge(kind="weston_watkins") keeps PyTorch's 1/K (its
    # docstring says so; Weston & Watkins 1999 write the plain sum): no conversion.
    # torch has no second derivative of it (and it is 0 almost everywhere, where losskit
    # returns the surrogate 1): not compared.
    loss = require("multiclass_hinge", kind="weston_watkins", margin=margin)
    scores, indices, _ = multiclass_data(seed=10)
    target = torch.tensor(indices)

    def reference(x: Any) -> Any:
        return torch.nn.functional.multi_margin_loss(x, target, p=1, margin=margin,
                                                     reduction="none")

    assert_triples_close(losskit_triple(loss, scores, indices),
                         torch_triple(reference, scores, hessian=False), hessian=False)
    expected = torch.nn.functional.multi_margin_loss(torch.tensor(scores), target, p=1,
                                                     margin=margin, reduction="mean")
    assert_close(loss(scores, indices), expected)


@needs_torch
@pytest.mark.parametrize("targets", ["indices", "probabilities"])
@pytest.mark.parametrize("alpha", [None, [0.5, 1.0, 2.0, 3.0]], ids=["no_alpha", "alpha"])
def test_torch_focal_softmax_gamma_zero_is_cross_entropy(targets: str, alpha: Any) -> None:
    # losskit focal(gamma=0, link="softmax") is -sum_k alpha_k t_k log p_k: torch's
    # cross_entropy with weight=alpha, per sample. No library has the softmax focal loss
    # for gamma > 0 (torchvision's is the sigmoid one, checked against Optax below).
    # "mean": focal divides by the number of samples (torchvision / Optax convention, its
    # docstring says so), torch's cross_entropy with class-index targets by
    # sum_i alpha_{y_i}: converted by sum_i alpha_{y_i} / n. Probability targets: both n.
    loss = require("focal", gamma=0.0, alpha=alpha, link="softmax")
    logits, indices, probabilities = multiclass_data(seed=30)
    y = indices if targets == "indices" else probabilities
    target = torch.tensor(y)
    kwargs = {} if alpha is None else {"weight": torch.tensor(alpha, dtype=torch.float64)}
    reference = torch_triple(
        lambda x: _torch_cross_entropy(x, target, reduction="none", **kwargs), logits)
    assert_triples_close(losskit_triple(loss, logits, y), reference)
    expected = to_numpy(_torch_cross_entropy(torch.tensor(logits), target, **kwargs))
    if targets == "indices" and alpha is not None:
        expected = expected * np.asarray(alpha)[indices].sum() / indices.size
    assert_close(loss(logits, y), expected)


@needs_torch
@pytest.mark.parametrize("link", ["logit", "identity"])
def test_torch_asymmetric_multilabel_without_focusing_is_bce(link: str) -> None:
    # losskit asymmetric_multilabel (Ridnik et al. 2021, no library has it) with
    # gamma_pos = gamma_neg = clip = 0 is the binary cross-entropy per label:
    # torch.nn.functional.binary_cross_entropy(_with_logits) on (n, L).
    loss = require("asymmetric_multilabel", gamma_pos=0.0, gamma_neg=0.0, clip=0.0,
                   link=None if link == "identity" else link)
    logits, labels = binary_data((8, 3), seed=31)
    target = torch.tensor(labels)
    if link == "logit":
        y_pred = logits

        def reference(x: Any) -> Any:
            return torch.nn.functional.binary_cross_entropy_with_logits(
                x, target, reduction="none")
    else:
        y_pred = expit(logits)

        def reference(x: Any) -> Any:
            return torch.nn.functional.binary_cross_entropy(x, target, reduction="none")
    assert_triples_close(losskit_triple(loss, y_pred, labels), torch_triple(reference, y_pred),
                         hessian_rtol=_bce_probability_hessian_rtol(link, y_pred))


@needs_torch
def test_torch_squared_hinge_via_multi_margin_loss() -> None:
    # torch has no binary squared hinge; multi_margin_loss(p=2) on the two columns
    # [0, f] with target class 1 (label +1) or 0 (label -1) is
    # max(0, 1 - y f)^2 / 2 (divided by K = 2): losskit's squared_hinge is torch times 2.
    # torch has no second derivative of multi_margin_loss: values and gradients only.
    loss = require("squared_hinge")
    scores, labels = binary_data(seed=11)
    target = torch.tensor(labels.astype(np.int64))

    def reference(x: Any) -> Any:
        two_columns = torch.stack([torch.zeros_like(x), x], dim=1)
        return torch.nn.functional.multi_margin_loss(two_columns, target, p=2,
                                                     reduction="none")

    expected = torch_triple(reference, scores, hessian=False)
    for y in (labels, 2.0 * labels - 1.0):
        assert_triples_close(losskit_triple(loss, scores, y), expected, factor=2.0,
                             hessian=False)


# ============================================================== scikit-learn
# sklearn._loss.loss (scikit-learn 1.9): loss(y_true, raw_prediction, sample_weight)
# is w_i L_i, gradient_hessian the per-sample derivatives in the raw prediction times
# w_i: the same convention as losskit's gradient / hessian.
def _sklearn_case(name: str) -> Any:
    return getattr(sklearn_loss, name) if sklearn_loss is not None else None


def saturated_loss(loss: lk.Loss, y: np.ndarray) -> np.ndarray:
    """``L(y, y)``: the natural-space loss at the perfect prediction ``mu = y``.

    ``L(mu, y) - L(y, y)`` is half the unit deviance. Evaluated by losskit itself where
    ``y > 0`` (any real ``y`` for the Normal case, whose mean is real); at ``y = 0`` it
    is the limit 0 (``xlogy(0, 0) = 0``; ``y^(2-p) -> 0`` for ``1 <= p < 2``).
    """
    natural = type(loss)(**{**loss.get_params(), "link": None})
    if natural.y_pred_domain.low == -math.inf:
        return natural.elementwise(y, y)
    positive = y > 0
    return np.where(positive, natural.elementwise(np.where(positive, y, 1.0), y), 0.0)


SKLEARN_ELEMENTWISE = [
    # (id, sklearn class and keywords, losskit name and params, data, factor, constant)
    # factor: sklearn = factor * losskit (value, gradient, Hessian alike);
    # constant: what sklearn adds to the value, independent of the prediction.
    # HalfSquaredError is ½(raw - y)^2 with Hessian 1; losskit's squared_error has no ½.
    ("HalfSquaredError", {}, "squared_error", {}, "real", 0.5, None),
    # AbsoluteError: Hessian 1 (a surrogate on both sides).
    ("AbsoluteError", {}, "absolute_error", {}, "real", 1.0, None),
    *[("PinballLoss", {"quantile": q}, "quantile", {"q": q}, "real", 1.0, None)
      for q in (0.1, 0.5, 0.8)],
    # HuberLoss: parametrised by ``quantile`` only for gradient boosting, which updates
    # ``closs.delta`` from the residuals; its loss/gradient/Hessian use ``delta`` as
    # losskit's huber does (½e² inside, delta(|e| - ½delta) outside, Hessian 1/0).
    *[("HuberLoss", {"delta": d}, "huber", {"delta": d}, "real", 1.0, None)
      for d in HUBER_DELTAS],
    ("HalfPoissonLoss", {}, "poisson", {"link": "log"}, 1.0, 1.0, None),
    ("HalfGammaLoss", {}, "gamma", {"link": "log"}, 2.0, 1.0, None),
    # HalfTweedieLoss (raw = log mu) keeps ½(mu - y)^2 at p = 0, i.e. adds ½y² =
    # -L(y, y) to losskit's ½mu² - y mu; for p != 0 it drops the constants as losskit.
    *[("HalfTweedieLoss", {"power": p}, "tweedie", {"power": p, "link": "log"}, p, 1.0,
       "half_deviance" if p == 0 else None) for p in (0.0, 1.0, 1.5, 2.0, 3.0, -0.5)],
    # HalfTweedieLossIdentity (raw = mu) is half the unit deviance, L(mu, y) - L(y, y).
    *[("HalfTweedieLossIdentity", {"power": p}, "tweedie", {"power": p}, p, 1.0,
       "half_deviance") for p in (0.0, 1.0, 1.5, 2.0, 3.0)],
]


@needs_sklearn
@pytest.mark.parametrize(("cls", "kwargs", "name", "params", "data", "factor", "constant"),
                         SKLEARN_ELEMENTWISE,
                         ids=[f"{c[0]}-{c[1]}" if c[1] else c[0] for c in SKLEARN_ELEMENTWISE])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_sklearn_loss_classes(cls: str, kwargs: dict, name: str, params: dict, data: Any,
                              factor: float, constant: str | None, weighted: bool) -> None:
    reference = _sklearn_case(cls)(**kwargs)
    loss = lk.get(name, **params)
    if data == "real":
        y_pred, y = regression_data(seed=12)
    else:  # a Tweedie power: positive means, targets in its domain
        mu, y = deviance_data(power=data)
        y_pred = np.log(mu) if loss.link.name == "log" else mu
        if loss.y_pred_domain.low == -math.inf and loss.link.name == "identity":
            y_pred = y + np.random.default_rng(13).normal(0.0, 1.0, N)  # Normal: real mean
    w = sample_weights() if weighted else None
    value = reference.loss(y, y_pred, sample_weight=w)
    gradient, hessian = reference.gradient_hessian(y, y_pred, sample_weight=w)
    ours_value, ours_gradient, ours_hessian = losskit_triple(loss, y_pred, y, w)
    if constant == "half_deviance":
        offset = -saturated_loss(loss, y)
        ours_value = ours_value + (offset if w is None else w * offset)
    assert_close(ours_value, value / factor, what="value")
    assert_close(ours_gradient, gradient / factor, what="gradient")
    assert_close(ours_hessian, hessian / factor, what="hessian")


@needs_sklearn
def test_sklearn_absolute_error_subgradient_at_a_tie() -> None:
    # At y_pred == y_true the absolute error has the subdifferential [-1, 1]:
    # sklearn's AbsoluteError returns -1 (it tests raw > y), losskit sign(0) = 0.
    # Both are valid; pinned here so that a change on either side is noticed.
    y = np.array([1.0, -2.0, 0.5])
    gradient = _sklearn_case("AbsoluteError")().gradient(y, y.copy())
    assert_close(gradient, -np.ones(3))
    assert_close(lk.get("absolute_error").gradient(y, y), np.zeros(3))
    # PinballLoss takes -q at the tie, as losskit's quantile does.
    pinball = _sklearn_case("PinballLoss")(quantile=0.3).gradient(y, y.copy())
    assert_close(lk.get("quantile", q=0.3).gradient(y, y), pinball)


@needs_sklearn
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_sklearn_half_binomial(weighted: bool) -> None:
    # sklearn HalfBinomialLoss: log(1 + exp(raw)) - y raw, gradient expit(raw) - y,
    # Hessian p (1 - p): losskit binary_cross_entropy, link="logit".
    loss = require("binary_cross_entropy", link="logit")
    logits, labels = binary_data(seed=14)
    w = sample_weights() if weighted else None
    reference = _sklearn_case("HalfBinomialLoss")()
    gradient, hessian = reference.gradient_hessian(labels, logits, sample_weight=w)
    expected = (reference.loss(labels, logits, sample_weight=w), gradient, hessian)
    assert_triples_close(losskit_triple(loss, logits, labels, w), expected)


@needs_sklearn
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_sklearn_half_multinomial(weighted: bool) -> None:
    # sklearn HalfMultinomialLoss: logsumexp(raw) - raw_y, gradient softmax - onehot and
    # Hessian the diagonal p_k (1 - p_k) of the (K, K) block (the "diagonal" Hessian
    # both libraries return): losskit cross_entropy, link="softmax", class indices.
    loss = require("cross_entropy", link="softmax")
    logits, indices, _ = multiclass_data(seed=15)
    w = sample_weights(logits.shape[0]) if weighted else None
    reference = _sklearn_case("HalfMultinomialLoss")(n_classes=logits.shape[1])
    y = indices.astype(np.float64)
    raw = np.ascontiguousarray(logits)
    gradient, hessian = reference.gradient_hessian(y, raw, sample_weight=w)
    expected = (reference.loss(y, raw, sample_weight=w), gradient, hessian)
    assert_triples_close(losskit_triple(loss, logits, indices, w), expected)


@needs_sklearn
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_sklearn_exponential(weighted: bool) -> None:
    # sklearn ExponentialLoss (gradient boosting's AdaBoost loss):
    # y exp(-raw) + (1 - y) exp(raw) for y in {0, 1}, i.e. exp(-y' raw) with y' = 2y - 1,
    # Hessian equal to the loss: losskit exponential on raw scores.
    loss = require("exponential")
    scores, labels = binary_data(seed=16)
    w = sample_weights() if weighted else None
    reference = _sklearn_case("ExponentialLoss")()
    gradient, hessian = reference.gradient_hessian(labels, scores, sample_weight=w)
    expected = (reference.loss(labels, scores, sample_weight=w), gradient, hessian)
    assert_triples_close(losskit_triple(loss, scores, labels, w), expected)
    assert_close(loss(scores, 2.0 * labels - 1.0, sample_weight=w, reduction="none"),
                 expected[0])


@needs_sklearn
@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
def test_sklearn_mean_pinball_loss(q: float) -> None:
    # sklearn.metrics.mean_pinball_loss(y_true, y_pred, alpha=q, sample_weight)
    # = losskit quantile(q=q), weighted mean sum(w L) / sum(w).
    y_pred, y = regression_data(seed=17)
    w = sample_weights()
    loss = lk.get("quantile", q=q)
    metric = sklearn_metrics.mean_pinball_loss
    assert_close(loss(y_pred, y), metric(y, y_pred, alpha=q))
    assert_close(loss(y_pred, y, sample_weight=w), metric(y, y_pred, alpha=q, sample_weight=w))


DEVIANCES = [
    # (metric, keywords, Tweedie power of the matching losskit loss)
    ("mean_poisson_deviance", {}, 1.0),
    ("mean_gamma_deviance", {}, 2.0),
    *[("mean_tweedie_deviance", {"power": p}, p) for p in (0.0, 1.0, 1.5, 2.0, 3.0, -0.5)],
]


@needs_sklearn
@pytest.mark.parametrize(("metric", "kwargs", "power"), DEVIANCES,
                         ids=[f"{m}-{k.get('power', '')}" for m, k, _ in DEVIANCES])
@pytest.mark.parametrize("link", ["identity", "log"])
def test_sklearn_mean_deviances(metric: str, kwargs: dict, power: float, link: str) -> None:
    # sklearn.metrics.mean_{poisson,gamma,tweedie}_deviance(y_true, y_pred, sample_weight)
    # average the unit deviance d(y, mu) = 2 (L(mu, y) - L(y, y)), where L is the
    # negative log-likelihood losskit computes without its constant terms (which cancel).
    # Converted: mean deviance = 2 * (weighted mean of L(mu, y) - weighted mean of
    # L(y, y)). The dedicated losses (poisson, gamma) and tweedie(power) both checked.
    mu, y = deviance_data(power)
    w = sample_weights()
    if power == 0:
        # mean_tweedie_deviance(power=0) is the mean squared error, losskit squared_error.
        assert_close(lk.get("squared_error")(mu, y), sklearn_metrics.mean_squared_error(y, mu))
    names = {1.0: ["poisson", "tweedie"], 2.0: ["gamma", "tweedie"]}.get(power, ["tweedie"])
    for name in names:
        params = {"power": power} if name == "tweedie" else {}
        if link == "log" and power == 0:
            continue  # sklearn's Normal deviance takes any real mean; log link not needed
        loss = lk.get(name, link=None if link == "identity" else link, **params)
        y_pred = np.log(mu) if link == "log" else mu
        saturated = saturated_loss(loss, y)
        reference = getattr(sklearn_metrics, metric)
        for weight in (None, w):
            expected = reference(y, mu, sample_weight=weight, **kwargs)
            ours = 2.0 * (loss(y_pred, y, sample_weight=weight)
                          - np.average(saturated, weights=weight))
            # The subtraction cancels: compare relative to the terms' size.
            scale = 2.0 * np.average(np.abs(saturated), weights=weight) + abs(expected)
            assert_close(ours, expected, atol=RTOL * scale, what=f"{name} w={weight is not None}")


@needs_sklearn
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_sklearn_log_loss_binary(weighted: bool) -> None:
    # sklearn.metrics.log_loss(y_true, y_proba) with 1-D y_proba = P(class 1): the mean
    # binary cross-entropy (np.average with sample_weight: losskit's weighted mean).
    # sklearn clips to [finfo.eps, 1 - finfo.eps]; probabilities here are in [0.05, 0.95].
    loss = require("binary_cross_entropy")
    logits, labels = binary_data(seed=18)
    p = expit(logits)
    w = sample_weights() if weighted else None
    assert_close(loss(p, labels, sample_weight=w),
                 sklearn_metrics.log_loss(labels, p, sample_weight=w))
    assert_close(loss(p, labels, sample_weight=w, reduction="sum"),
                 sklearn_metrics.log_loss(labels, p, sample_weight=w, normalize=False))


@needs_sklearn
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_sklearn_log_loss_multiclass(weighted: bool) -> None:
    # sklearn.metrics.log_loss with (n, K) probability rows and class-index targets:
    # the mean of -log q_y, losskit cross_entropy on probabilities (link=None).
    loss = require("cross_entropy")
    logits, indices, _ = multiclass_data(seed=19)
    q = softmax(logits)
    w = sample_weights(q.shape[0]) if weighted else None
    assert_close(loss(q, indices, sample_weight=w),
                 sklearn_metrics.log_loss(indices, q, sample_weight=w))


@needs_sklearn
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_sklearn_hinge_loss(weighted: bool) -> None:
    # sklearn.metrics.hinge_loss(y_true, pred_decision): binary labels {0, 1} are mapped
    # to {-1, +1} (the larger label is +1); mean of max(0, 1 - y f), np.average weights.
    loss = require("hinge")
    scores, labels = binary_data(seed=20)
    w = sample_weights() if weighted else None
    expected = sklearn_metrics.hinge_loss(labels, scores, sample_weight=w)
    assert_close(loss(scores, labels, sample_weight=w), expected)
    assert_close(loss(scores, 2.0 * labels - 1.0, sample_weight=w), expected)


@needs_sklearn
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_sklearn_multiclass_hinge_loss(weighted: bool) -> None:
    # sklearn.metrics.hinge_loss with (n, K) decisions: max(0, 1 - (f_y - max_{j!=y} f_j)),
    # the Crammer-Singer hinge with margin 1.
    loss = require("multiclass_hinge", kind="crammer_singer")
    scores, indices, _ = multiclass_data(seed=21)
    w = sample_weights(scores.shape[0]) if weighted else None
    expected = sklearn_metrics.hinge_loss(indices, scores, labels=np.arange(scores.shape[1]),
                                          sample_weight=w)
    assert_close(loss(scores, indices, sample_weight=w), expected)


# ==================================================================== Optax
# optax.losses (optax 0.2.8 on jax 0.10, float64): elementwise (or per-row) losses with
# (predictions, targets) / (logits, labels) argument order; no reductions.
def _optax(name: str) -> Callable[..., Any]:
    return getattr(optax.losses, name)


OPTAX_REGRESSION = [
    # (optax function, keywords, losskit name, params, factor: optax = factor * losskit)
    ("log_cosh", {}, "log_cosh", {}, 1.0),
    # squared_error has no ½ (as losskit); l2_loss is ½ (y_pred - y)^2.
    ("squared_error", {}, "squared_error", {}, 1.0),
    ("l2_loss", {}, "squared_error", {}, 0.5),
    *[("huber_loss", {"delta": d}, "huber", {"delta": d}, 1.0) for d in HUBER_DELTAS],
]


@needs_optax
@pytest.mark.parametrize(("function", "kwargs", "name", "params", "factor"), OPTAX_REGRESSION,
                         ids=[f"{c[0]}{c[1].get('delta', '')}" for c in OPTAX_REGRESSION])
def test_optax_regression(function: str, kwargs: dict, name: str, params: dict,
                          factor: float) -> None:
    loss = lk.get(name, **params)
    y_pred, y = regression_data(seed=22)
    y_pred[0] = y[0] + 25.0  # log_cosh far out: |e| - log 2 without overflow
    target = jax.numpy.asarray(y)
    reference = jax_triple(lambda x: _optax(function)(x, target, **kwargs), y_pred)
    assert_triples_close(losskit_triple(loss, y_pred, y), reference, factor=1.0 / factor)


@needs_optax
@pytest.mark.parametrize("soft", [False, True], ids=["hard", "soft"])
def test_optax_sigmoid_binary_cross_entropy(soft: bool) -> None:
    # optax.losses.sigmoid_binary_cross_entropy(logits, labels), labels in [0, 1].
    loss = require("binary_cross_entropy", link="logit")
    logits, labels = binary_data((8, 3), seed=23, soft=soft)
    target = jax.numpy.asarray(labels)
    reference = jax_triple(lambda x: _optax("sigmoid_binary_cross_entropy")(x, target), logits)
    assert_triples_close(losskit_triple(loss, logits, labels), reference)


@needs_optax
@pytest.mark.parametrize(("gamma", "alpha"), [(2.0, None), (2.0, 0.25), (0.5, 0.75),
                                               (0.0, None)])
@pytest.mark.parametrize("soft", [False, True], ids=["hard", "soft"])
def test_optax_sigmoid_focal_loss(gamma: float, alpha: float | None, soft: bool) -> None:
    # optax.losses.sigmoid_focal_loss(logits, labels, alpha, gamma) (Lin et al. 2017):
    # (1 - p_t)^gamma * BCE, times alpha y + (1 - alpha)(1 - y) when alpha is given;
    # soft labels: 1 - p_t = y (1 - p) + (1 - y) p (optax >= 0.2.5, as losskit).
    # losskit focal with link="logit"; gamma=0 without alpha is the plain BCE.
    loss = require("focal", gamma=gamma, alpha=alpha, link="logit")
    logits, labels = binary_data(seed=24, soft=soft)
    target = jax.numpy.asarray(labels)
    reference = jax_triple(
        lambda x: _optax("sigmoid_focal_loss")(x, target, alpha=alpha, gamma=gamma), logits)
    assert_triples_close(losskit_triple(loss, logits, labels), reference)
    # The probability input (identity link) is the same loss at p = sigmoid(logit).
    probability_loss = lk.get("focal", gamma=gamma, alpha=alpha)
    assert_close(probability_loss.elementwise(expit(logits), labels), reference[0], rtol=1e-11)


@needs_optax
@pytest.mark.parametrize("gamma", [2.0, 0.5])
def test_optax_asymmetric_multilabel_symmetric_is_focal(gamma: float) -> None:
    # asymmetric_multilabel with gamma_pos = gamma_neg = gamma and clip = 0 is the focal
    # loss without alpha for {0, 1} labels: optax.losses.sigmoid_focal_loss(alpha=None).
    # (Not for soft labels: ASL weighs y and 1 - y separately, focal shares 1 - p_t.)
    loss = require("asymmetric_multilabel", gamma_pos=gamma, gamma_neg=gamma, clip=0.0,
                   link="logit")
    logits, labels = binary_data((8, 3), seed=32)
    target = jax.numpy.asarray(labels)
    reference = jax_triple(
        lambda x: _optax("sigmoid_focal_loss")(x, target, alpha=None, gamma=gamma), logits)
    assert_triples_close(losskit_triple(loss, logits, labels), reference)


@needs_optax
@pytest.mark.parametrize("targets", ["indices", "probabilities"])
def test_optax_softmax_cross_entropy(targets: str) -> None:
    # optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels) and
    # softmax_cross_entropy(logits, labels) (probability rows): -sum_k p_k log_softmax_k.
    loss = require("cross_entropy", link="softmax")
    logits, indices, probabilities = multiclass_data(seed=25)
    if targets == "indices":
        y = indices
        target = jax.numpy.asarray(indices)
        function = _optax("softmax_cross_entropy_with_integer_labels")
    else:
        y = probabilities
        target = jax.numpy.asarray(probabilities)
        function = _optax("softmax_cross_entropy")
    reference = jax_triple(lambda x: function(x, target), logits)
    assert_triples_close(losskit_triple(loss, logits, y), reference)


@needs_optax
@pytest.mark.parametrize("label_set", ["plus_minus_one", "zero_one"])
def test_optax_hinge_loss(label_set: str) -> None:
    # optax.losses.hinge_loss(predictor_outputs, targets) = max(0, 1 - f y) with targets
    # strictly in {-1, +1}; losskit also takes {0, 1} labels, mapped 0 -> -1.
    # The Hessian is 0 almost everywhere (losskit may return a surrogate): not compared.
    loss = require("hinge")
    scores, labels = binary_data(seed=26)
    signs = 2.0 * labels - 1.0
    reference = jax_triple(lambda x: _optax("hinge_loss")(x, jax.numpy.asarray(signs)),
                           scores)
    y = signs if label_set == "plus_minus_one" else labels
    assert_triples_close(losskit_triple(loss, scores, y), reference, hessian=False)


@needs_optax
def test_optax_squared_hinge() -> None:
    # Optax has no squared hinge; optax.losses.hinge_loss(f, y)^2 is its definition,
    # max(0, 1 - y f)^2, with value, gradient and Hessian 2 1[y f < 1] from jax.
    loss = require("squared_hinge")
    scores, labels = binary_data(seed=29)
    signs = jax.numpy.asarray(2.0 * labels - 1.0)
    reference = jax_triple(lambda x: _optax("hinge_loss")(x, signs) ** 2, scores)
    assert_triples_close(losskit_triple(loss, scores, labels), reference)


@needs_optax
def test_optax_multiclass_hinge_loss() -> None:
    # optax.losses.multiclass_hinge_loss(scores, labels) = max_j(s_j + 1 - [j = y]) - s_y,
    # the Crammer-Singer hinge with margin 1. Hessian 0 almost everywhere: not compared.
    loss = require("multiclass_hinge", kind="crammer_singer", margin=1.0)
    scores, indices, _ = multiclass_data(seed=27)
    target = jax.numpy.asarray(indices)
    reference = jax_triple(lambda x: _optax("multiclass_hinge_loss")(x, target), scores)
    assert_triples_close(losskit_triple(loss, scores, indices), reference, hessian=False)


@needs_optax
@pytest.mark.parametrize("link", ["softmax", "identity"])
def test_optax_kl_divergence(link: str) -> None:
    # optax.losses.kl_divergence(log_predictions, targets) = sum_k p_k (log p_k - log q_k)
    # (0 where p_k = 0): its first argument is log q, the prediction, and its second the
    # target p, as losskit's (y_pred, y_true). With link="softmax", log q = log_softmax.
    loss = require("kl_divergence", link=None if link == "identity" else link)
    logits, _, probabilities = multiclass_data(seed=28)
    probabilities[1] = [0.0, 0.25, 0.75, 0.0]
    target = jax.numpy.asarray(probabilities)
    y_pred = logits if link == "softmax" else softmax(logits)

    def reference(x: Any) -> Any:
        log_q = jax.nn.log_softmax(x, axis=-1) if link == "softmax" else jax.numpy.log(x)
        return _optax("kl_divergence")(log_q, target)

    assert_triples_close(losskit_triple(loss, y_pred, probabilities),
                         jax_triple(reference, y_pred))
