"""Metric-learning losses: contrastive, triplet, nt_xent.

References, computed live in float64:

- ``pytorch_metric_learning.losses.ContrastiveLoss`` with ``DoNothingReducer`` (per-pair
  losses). Its convention is unsquared ``relu(d - pos_margin)`` / ``relu(neg_margin -
  d)``; with ``pos_margin=0, neg_margin=m`` and ``LpDistance(normalize_embeddings=False,
  power=1 or 2)`` its per-pair losses squared are our ``d^2`` and ``relu(m - d)^2``; for
  the cosine distance ``CosineSimilarity`` with ``pos_margin=1, neg_margin=1 - m`` gives
  ``1 - cos`` and ``relu(cos - 1 + m) = relu(m - d)``.
- ``torch.nn.CosineEmbeddingLoss(margin=1 - m)`` squared, labels mapped 0 -> -1.
- ``torch.nn.TripletMarginLoss(margin, p=2, eps=0, swap)`` (eps=0: we take the exact
  distance) and ``TripletMarginWithDistanceLoss`` for the squared and cosine distances.
- ``pytorch_metric_learning.losses.NTXentLoss(temperature)``, each sample's two views
  sharing a label; its default ``MeanReducer`` averages the 2n anchors, as we do. With
  ``LpDistance`` it uses ``-d / temperature`` as the similarity, as we do.
- a loop-by-loop NumPy transcription of SimCLR's eq. (1) (Chen et al. 2020).

Gradients against autograd of those references (not of our own formulas) and
``jax.grad`` of our value under ``jit``.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch
from pytorch_metric_learning import distances as pml_distances
from pytorch_metric_learning import losses as pml_losses
from pytorch_metric_learning import reducers as pml_reducers

import losskit as lk

DISTANCES = ["euclidean", "squared", "cosine"]


def _pml_distance(kind: str):
    if kind == "cosine":
        return pml_distances.CosineSimilarity()
    return pml_distances.LpDistance(normalize_embeddings=False, p=2,
                                    power=1 if kind == "euclidean" else 2)


def _torch_distance(kind: str):
    if kind == "euclidean":
        return lambda x, y: torch.linalg.vector_norm(x - y, dim=-1)
    if kind == "squared":
        return lambda x, y: ((x - y) ** 2).sum(-1)
    return lambda x, y: 1.0 - torch.nn.functional.cosine_similarity(x, y, dim=-1, eps=0)


# ------------------------------------------------------------------ contrastive
def _pml_contrastive(pairs: torch.Tensor, y: np.ndarray, margin: float, kind: str
                     ) -> torch.Tensor:
    """Per-pair contrastive losses of pytorch-metric-learning, squared (see the top)."""
    n = pairs.shape[0]
    embeddings = torch.cat([pairs[:, 0], pairs[:, 1]])
    index = torch.arange(n)
    similar, dissimilar = index[torch.from_numpy(y == 1)], index[torch.from_numpy(y == 0)]
    if kind == "cosine":
        margins = {"pos_margin": 1.0, "neg_margin": 1.0 - margin}
    else:
        margins = {"pos_margin": 0.0, "neg_margin": margin}
    loss = pml_losses.ContrastiveLoss(**margins, distance=_pml_distance(kind),
                                      reducer=pml_reducers.DoNothingReducer())
    out = loss(embeddings, indices_tuple=(similar, similar + n, dissimilar, dissimilar + n))
    values = torch.zeros(n, dtype=pairs.dtype)
    values = values.index_put((similar,), out["pos_loss"]["losses"] ** 2)
    return values.index_put((dissimilar,), out["neg_loss"]["losses"] ** 2)


@pytest.mark.parametrize("kind", DISTANCES)
@pytest.mark.parametrize("margin", [1.0, 0.4])
def test_contrastive_matches_pytorch_metric_learning(kind, margin):
    loss = lk.get("contrastive", margin=margin, distance=kind)
    pairs, y = loss.example(24, seed=5)
    assert {0.0, 1.0} == set(np.unique(y))
    reference = _pml_contrastive(torch.from_numpy(pairs), y, margin, kind).numpy()
    values = loss.elementwise(pairs, y)
    assert np.any(values == 0) or kind == "squared"  # some dissimilar pairs beyond m
    np.testing.assert_allclose(values, reference, rtol=1e-12, atol=1e-15)
    assert float(loss(pairs, y)) == pytest.approx(reference.mean(), rel=1e-12)


@pytest.mark.parametrize("margin", [1.0, 0.3])
def test_contrastive_cosine_is_squared_cosine_embedding_loss(margin):
    loss = lk.get("contrastive", margin=margin, distance="cosine")
    pairs, y = loss.example(20, seed=2)
    a, b = torch.from_numpy(pairs[:, 0]), torch.from_numpy(pairs[:, 1])
    signed = torch.from_numpy(2.0 * y - 1.0)
    reference = torch.nn.CosineEmbeddingLoss(margin=1.0 - margin, reduction="none")(
        a, b, signed) ** 2
    # PyTorch adds EPSILON = 1e-12 to each squared norm: relative changes ~1e-12 / |x|^2.
    np.testing.assert_allclose(loss.elementwise(pairs, y), reference.numpy(), rtol=1e-9,
                               atol=1e-14)


def test_contrastive_hand_values():
    pairs = np.array([[[0.0, 0.0], [3.0, 4.0]],   # d = 5
                      [[0.0, 0.0], [0.3, 0.4]],   # d = 0.5
                      [[1.0, 1.0], [1.0, 3.0]]])  # d = 2
    y = np.array([1.0, 0.0, 0.0])
    np.testing.assert_allclose(lk.get("contrastive").elementwise(pairs, y), [25.0, 0.25, 0.0])
    squared = lk.get("contrastive", distance="squared", margin=1.0)
    np.testing.assert_allclose(squared.elementwise(pairs, y), [625.0, 0.75**2, 0.0])
    # Soft labels weigh both terms: 0.5 * 0.25 + 0.5 * (1 - 0.5)^2.
    soft = lk.get("contrastive").elementwise(pairs[1:2], [0.5])
    np.testing.assert_allclose(soft, [0.5 * 0.25 + 0.5 * 0.25])


@pytest.mark.parametrize("kind", DISTANCES)
def test_contrastive_gradient_matches_autograd_of_the_reference(kind):
    loss = lk.get("contrastive", margin=0.8, distance=kind)
    pairs, y = loss.example(16, seed=3)
    w = np.random.default_rng(0).uniform(0.2, 2.0, size=16)
    leaf = torch.tensor(pairs, requires_grad=True)
    (torch.from_numpy(w) * _pml_contrastive(leaf, y, 0.8, kind)).sum().backward()
    np.testing.assert_allclose(loss.gradient(pairs, y, sample_weight=w), leaf.grad.numpy(),
                               rtol=1e-10, atol=1e-13)
    values, gradient = loss.loss_gradient(pairs, y, sample_weight=w)
    np.testing.assert_allclose(gradient, leaf.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(values, w * loss.elementwise(pairs, y), rtol=1e-14)


def test_contrastive_hessian_surrogate_is_exact_for_similar_euclidean_pairs():
    loss = lk.get("contrastive")
    pairs, _ = loss.example(6, seed=1)
    y = np.ones(6)
    leaf = torch.tensor(pairs)
    hessian = torch.autograd.functional.hessian(
        lambda p: loss(p, torch.from_numpy(y), reduction="sum"), leaf)
    diagonal = torch.diagonal(hessian.reshape(pairs.size, pairs.size)).reshape(pairs.shape)
    np.testing.assert_allclose(loss.hessian(pairs, y), diagonal.numpy(), rtol=1e-12)
    assert loss.properties.hessian == "surrogate"
    w = np.linspace(0.5, 2.0, 6)
    np.testing.assert_allclose(loss.hessian(pairs, y, sample_weight=w),
                               2.0 * np.broadcast_to(w[:, None, None], pairs.shape))


# ---------------------------------------------------------------------- triplet
def _torch_triplet(margin: float, swap: bool, kind: str):
    if kind == "euclidean":
        return torch.nn.TripletMarginLoss(margin=margin, p=2, eps=0.0, swap=swap,
                                          reduction="none")
    return torch.nn.TripletMarginWithDistanceLoss(distance_function=_torch_distance(kind),
                                                  margin=margin, swap=swap, reduction="none")


@pytest.mark.parametrize("kind", DISTANCES)
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("margin", [1.0, 0.2])
def test_triplet_value_and_gradient_match_pytorch(kind, swap, margin):
    loss = lk.get("triplet", margin=margin, swap=swap, distance=kind)
    triplets, y = loss.example(30, seed=7)
    assert y is None
    reference = _torch_triplet(margin, swap, kind)
    leaf = torch.tensor(triplets, requires_grad=True)
    values = reference(leaf[:, 0], leaf[:, 1], leaf[:, 2])
    ours = loss.elementwise(triplets, None)
    np.testing.assert_allclose(ours, values.detach().numpy(), rtol=1e-12, atol=1e-15)
    assert np.any(ours == 0) and np.any(ours > 0), "examples cover both sides of the hinge"
    w = np.random.default_rng(1).uniform(0.2, 2.0, size=30)
    (values * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(loss.gradient(triplets, None, sample_weight=w),
                               leaf.grad.numpy(), rtol=1e-11, atol=1e-14)


def test_triplet_with_pytorch_default_eps_agrees_closely():
    # PyTorch's default adds eps = 1e-6 to a - b: distances move by about 1e-6.
    loss = lk.get("triplet")
    triplets, _ = loss.example(20, seed=4)
    t = torch.from_numpy(triplets)
    default = torch.nn.TripletMarginLoss(reduction="none")(t[:, 0], t[:, 1], t[:, 2])
    np.testing.assert_allclose(loss.elementwise(triplets, None), default.numpy(), atol=1e-5)


def test_triplet_swap_hand_value():
    triplet = np.array([[[0.0, 0.0], [0.0, 1.0], [0.0, 1.5]]])  # d_ap 1, d_an 1.5, d_pn 0.5
    assert float(lk.get("triplet")(triplet, None)) == pytest.approx(0.5)
    assert float(lk.get("triplet", swap=True)(triplet, None)) == pytest.approx(1.5)
    # swap: the negative's gradient follows d(p, n); the anchor only pulls towards p.
    gradient = lk.get("triplet", swap=True).gradient(triplet, None)
    np.testing.assert_allclose(gradient[0], [[0.0, -1.0], [0.0, 2.0], [0.0, -1.0]])


# ---------------------------------------------------------------------- nt_xent
def _simclr_loop(views: np.ndarray, temperature: float) -> np.ndarray:
    """SimCLR eq. (1) written with loops: per sample, the mean of its two anchors."""
    n = views.shape[0]
    z = np.concatenate([views[:, 0], views[:, 1]])
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    per_anchor = np.empty(2 * n)
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        denominator = sum(math.exp(z[i] @ z[k] / temperature) for k in range(2 * n) if k != i)
        per_anchor[i] = -math.log(math.exp(z[i] @ z[j] / temperature) / denominator)
    return 0.5 * (per_anchor[:n] + per_anchor[n:])


@pytest.mark.parametrize("temperature", [0.5, 0.1, 2.0])
def test_nt_xent_matches_simclr_equation(temperature):
    loss = lk.get("nt_xent", temperature=temperature)
    views, _ = loss.example(7, seed=2)
    np.testing.assert_allclose(loss.elementwise(views, None), _simclr_loop(views, temperature),
                               rtol=1e-12)


def _pml_nt_xent(views: torch.Tensor, temperature: float, kind: str) -> torch.Tensor:
    n = views.shape[0]
    labels = torch.cat([torch.arange(n), torch.arange(n)])
    reference = pml_losses.NTXentLoss(temperature=temperature, distance=_pml_distance(kind))
    return reference(torch.cat([views[:, 0], views[:, 1]]), labels)


@pytest.mark.parametrize("kind", DISTANCES)
@pytest.mark.parametrize("temperature", [0.5, 0.07])
def test_nt_xent_matches_pytorch_metric_learning(kind, temperature):
    loss = lk.get("nt_xent", temperature=temperature, distance=kind)
    views, _ = loss.example(9, seed=4)
    leaf = torch.tensor(views, requires_grad=True)
    reference = _pml_nt_xent(leaf, temperature, kind)
    assert float(loss(views, None)) == pytest.approx(reference.item(), rel=1e-11)
    # PML's mean over 2n anchors: the gradient of the mean is gradient / n.
    reference.backward()
    np.testing.assert_allclose(loss.gradient(views, None) / 9, leaf.grad.numpy(),
                               rtol=1e-9, atol=1e-13)


def test_nt_xent_zero_weight_sample_is_still_a_negative():
    loss = lk.get("nt_xent")
    views, _ = loss.example(5, seed=1)
    w = np.array([1.0, 1.0, 1.0, 1.0, 0.0])
    weighted = loss.elementwise(views, None)  # with the fifth sample as a negative
    without = loss.elementwise(views[:4], None)
    assert float(loss(views, None, sample_weight=w)) == pytest.approx(weighted[:4].mean())
    assert not np.allclose(weighted[:4], without)
    gradient = loss.gradient(views, None, sample_weight=w)
    assert np.any(gradient[4] != 0)  # it is pushed away from the others' anchors


@pytest.mark.parametrize("kind", DISTANCES)
def test_nt_xent_gradient_matches_jax_grad_under_jit(kind):
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    loss = lk.get("nt_xent", distance=kind)
    views, _ = loss.example(6, seed=8)
    w = np.random.default_rng(3).uniform(0.5, 2.0, size=6)

    def total(p, weight):
        return loss(p, None, sample_weight=weight, reduction="sum")

    expected = jax.jit(jax.grad(total))(jnp.asarray(views), jnp.asarray(w))
    np.testing.assert_allclose(loss.gradient(views, None, sample_weight=w),
                               np.asarray(expected), rtol=1e-10, atol=1e-13)


# ------------------------------------------------------------ edge cases
ALL = [("contrastive", {"distance": k}) for k in DISTANCES] + [
    ("triplet", {"distance": k, "swap": s}) for k in DISTANCES for s in (False, True)] + [
    ("nt_xent", {"distance": k}) for k in DISTANCES]


def _target(name: str, n: int) -> np.ndarray | None:
    return (np.arange(n) % 2).astype(np.float64) if name == "contrastive" else None


@pytest.mark.parametrize(("name", "params"), ALL)
def test_zero_norm_and_coincident_embeddings_are_finite(name, params):
    loss = lk.get(name, **params)
    p, _ = loss.example(4, seed=0)
    p[0] = 0.0                  # every member of the first tuple at the origin
    p[1, 1] = p[1, 0]           # a coincident pair (a = b) in the second
    p[2, :, :] = p[3, :, :]     # two identical samples
    y = _target(name, 4)
    values, gradient = loss.loss_gradient(p, y)
    hessian = loss.hessian(p, y)
    for what, array in (("value", values), ("gradient", gradient), ("hessian", hessian)):
        assert np.all(np.isfinite(array)), f"{what}: {array}"


def test_documented_subgradients_at_coincidence_and_zero_norm():
    # Euclidean, dissimilar pair at a = b: l'(0) = -2m, but the direction is undefined.
    loss = lk.get("contrastive")
    same = np.array([[[1.0, 2.0], [1.0, 2.0]]])
    assert float(loss(same, [0.0])) == 1.0
    np.testing.assert_array_equal(loss.gradient(same, [0.0]), 0.0)
    # Cosine with a zero vector: cos = 0, distance 1; no gradient through the zero vector.
    cosine = lk.get("contrastive", distance="cosine", margin=1.5)
    pair = np.array([[[0.0, 0.0], [3.0, 4.0]]])
    assert float(cosine(pair, [0.0])) == pytest.approx(0.25)  # (1.5 - 1)^2
    gradient = cosine.gradient(pair, [0.0])
    np.testing.assert_array_equal(gradient[0, 0], 0.0)
    np.testing.assert_allclose(gradient[0, 1], 0.0, atol=1e-17)  # cos = 0 for all b
    # jax.grad of the value agrees: the norms are written autodiff-safe.
    jax = pytest.importorskip("jax")
    auto = jax.grad(lambda p: loss(p, np.array([0.0]), reduction="sum"))(same)
    np.testing.assert_array_equal(np.asarray(auto), 0.0)


@pytest.mark.parametrize(("name", "params"), ALL)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_embeddings_stay_finite(name, params, dtype):
    loss = lk.get(name, **params)
    p, _ = loss.example(4, seed=2)
    p = np.sign(p) * 1e4
    p[1] = -p[1]
    p = p.astype(dtype)
    y = _target(name, 4)
    values, gradient = loss.loss_gradient(p, y)
    assert values.dtype == dtype and gradient.dtype == dtype
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(gradient))
    assert np.all(np.isfinite(loss.hessian(p, y)))


@pytest.mark.parametrize(("name", "params"), ALL)
def test_float16_and_float32_follow_float64(name, params):
    loss = lk.get(name, **params)
    p, _ = loss.example(6, seed=3)
    y = _target(name, 6)
    exact_values, exact_gradient = loss.loss_gradient(p, y)
    for dtype, rtol in ((np.float32, 1e-4), (np.float16, 3e-2)):
        values, gradient = loss.loss_gradient(p.astype(dtype), y)
        assert values.dtype == dtype and gradient.dtype == dtype
        scale = float(np.max(np.abs(exact_gradient)))
        np.testing.assert_allclose(values, exact_values, rtol=rtol,
                                   atol=rtol * float(np.max(exact_values)))
        np.testing.assert_allclose(gradient, exact_gradient, rtol=rtol, atol=rtol * scale)
    torch_values = loss(torch.from_numpy(p.astype(np.float32)), y, reduction="none")
    assert torch_values.dtype == torch.float32


@pytest.mark.parametrize(("name", "params"), ALL)
def test_backends_agree_with_numpy(name, params):
    jax = pytest.importorskip("jax")
    da = pytest.importorskip("dask.array")
    xps = pytest.importorskip("array_api_strict")
    loss = lk.get(name, **params)
    p, _ = loss.example(6, seed=4)
    y = _target(name, 6)
    w = np.linspace(0.5, 2.0, 6)
    expected = [loss(p, y, w), loss.gradient(p, y, w)]
    for convert in (torch.from_numpy, jax.numpy.asarray, xps.asarray,
                    lambda a: da.from_array(a, chunks=2)):
        target = None if y is None else convert(y)

        def run(p_, w_, target=target):
            return loss(p_, target, w_), loss.gradient(p_, target, w_)

        fn = jax.jit(run) if convert is jax.numpy.asarray else run
        found = fn(convert(p), convert(w))
        for got, want in zip(found, expected, strict=True):
            got = got.compute() if hasattr(got, "compute") else got
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------ validation
def test_layouts_and_targets_are_checked():
    pairs = np.zeros((4, 2, 3))
    with pytest.raises(ValueError, match=r"y_pred for 'contrastive' must have shape \(n, 2"):
        lk.get("contrastive")(np.zeros((4, 3, 3)), np.ones(4))
    with pytest.raises(ValueError, match=r"y_pred for 'contrastive' must have shape"):
        lk.get("contrastive")(np.zeros((4, 2)), np.ones(4))
    with pytest.raises(ValueError, match=r"y_true for 'contrastive' must be pair labels"):
        lk.get("contrastive")(pairs, np.ones(3))
    with pytest.raises(ValueError, match=r"y_true for 'contrastive' must be in \[0, 1\]"):
        lk.get("contrastive")(pairs, [0.0, 1.0, 2.0, 1.0])
    with pytest.raises(TypeError, match="y_true for 'contrastive' is required"):
        lk.get("contrastive")(pairs, None)
    with pytest.raises(ValueError, match=r"y_pred for 'triplet' must have shape \(n, 3"):
        lk.get("triplet")(pairs, None)
    with pytest.raises(ValueError, match="y_true for 'triplet' must be None"):
        lk.get("triplet")(np.zeros((4, 3, 3)), np.ones(4))
    with pytest.raises(ValueError, match="y_true for 'nt_xent' must be None"):
        lk.get("nt_xent")(pairs, np.ones(4))
    with pytest.raises(ValueError, match=r"y_pred for 'nt_xent' must have shape \(n, 2"):
        lk.get("nt_xent")(np.zeros((4, 3, 3)), None)
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(4,\)"):
        lk.get("nt_xent")(pairs, None, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="sample_weight must be >= 0"):
        lk.get("triplet")(np.zeros((4, 3, 3)), None, sample_weight=-np.ones(4))
    bad = pairs.copy()
    bad[1, 0, 2] = np.nan
    with pytest.raises(ValueError, match=r"y_pred for 'nt_xent' must be finite"):
        lk.get("nt_xent")(bad, None)


def test_hyperparameters_are_checked():
    with pytest.raises(ValueError, match="margin for 'contrastive' must be > 0"):
        lk.get("contrastive", margin=0.0)
    with pytest.raises(ValueError, match="margin for 'triplet' must be >= 0"):
        lk.get("triplet", margin=-1.0)
    with pytest.raises(ValueError, match="distance for 'triplet' must be one of"):
        lk.get("triplet", distance="manhattan")
    with pytest.raises(TypeError, match="swap for 'triplet' must be True or False"):
        lk.get("triplet", swap="yes")
    with pytest.raises(ValueError, match="temperature for 'nt_xent' must be > 0"):
        lk.get("nt_xent", temperature=0.0)
    assert lk.get("triplet", margin=0.0)(np.zeros((2, 3, 2)), None) == 0.0


def test_nan_policy_propagate_marks_only_the_nan_sample():
    for name in ("contrastive", "triplet"):
        loss = lk.get(name, nan_policy="propagate")
        p, _ = loss.example(5, seed=1)
        p[2, 1, 0] = np.nan
        y = _target(name, 5)
        values = loss.elementwise(p, y)
        assert np.isnan(values[2]) and np.all(np.isfinite(np.delete(values, 2)))
        gradient = loss.gradient(p, y)
        assert np.all(np.isnan(gradient[2])) and np.all(np.isfinite(np.delete(gradient, 2, 0)))


def test_metadata_pickle_and_no_mutation():
    for name, params in ALL:
        loss = lk.get(name, **params)
        assert not loss.pointwise
        copy = pickle.loads(pickle.dumps(loss))
        assert copy == loss and copy.get_params() == loss.get_params()
        p, _ = loss.example(5, seed=6)
        y = _target(name, 5)
        kept = p.copy()
        loss.gradient_hessian(p, y)
        np.testing.assert_array_equal(p, kept)
        with pytest.raises(NotImplementedError, match=name):
            loss.optimal_constant(np.ones(3))
    assert lk.get("info_nce") == lk.get("nt_xent")
    assert lk.get("triplet_margin", swap=True) == lk.Triplet(swap=True)
    assert lk.get("triplet").properties.lipschitz == pytest.approx(math.sqrt(6.0))
    assert lk.get("contrastive").properties.hessian == "surrogate"


def test_triplet_lipschitz_bound_holds():
    loss = lk.get("triplet", swap=True)
    rng = np.random.default_rng(0)
    p = rng.normal(size=(500, 3, 5))
    norms = np.linalg.norm(loss.gradient(p, None).reshape(500, -1), axis=1)
    assert np.max(norms) <= math.sqrt(6.0) + 1e-12


@pytest.mark.parametrize("kind", DISTANCES)
def test_nt_xent_single_sample_has_only_its_positive(kind):
    # With no negatives the softmax puts all mass on the positive: loss 0, gradient 0.
    loss = lk.get("nt_xent", distance=kind)
    views = np.random.default_rng(0).normal(size=(1, 2, 3))
    assert float(loss(views, None)) == 0.0
    np.testing.assert_array_equal(loss.gradient(views, None), 0.0)
