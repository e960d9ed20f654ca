"""Token-level cross-entropy (sequence_cross_entropy) and perplexity.

The reference is ``torch.nn.functional.cross_entropy`` on the flattened
``(batch * seq_len, vocab)`` logits, with ``ignore_index``, ``label_smoothing`` and
``weight`` (class weights), computed live in float64; per-sequence normalisations are
built from its ``reduction="none"`` token losses. Gradients and Hessian diagonals come
from torch autograd of that reference and from ``jax.grad`` of our value under ``jit``.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import losskit as lk
from losskit.losses.sequence import perplexity

B, T, V = 5, 6, 7


def _batch(seed: int = 0, lengths=(1, 6, 3, 0, 4)) -> tuple[np.ndarray, np.ndarray]:
    """Logits and padded targets; the fourth sequence is all padding, the first length 1."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 2.0, size=(B, T, V))
    tokens = rng.integers(0, V, size=(B, T)).astype(np.float64)
    tokens[np.arange(T)[None, :] >= np.asarray(lengths)[:, None]] = -100
    return logits, tokens


def _torch_tokens(logits, tokens, **kwargs) -> torch.Tensor:
    """(B, T) per-token losses of PyTorch's cross_entropy, 0 at ignored tokens."""
    values = F.cross_entropy(logits.reshape(-1, V), torch.as_tensor(tokens).long().reshape(-1),
                             ignore_index=-100, reduction="none", **kwargs)
    return values.reshape(B, T)


def _reference(logits, tokens, normalize: str, class_weight=None, **kwargs) -> torch.Tensor:
    per_token = _torch_tokens(logits, tokens, weight=class_weight, **kwargs)
    kept = torch.as_tensor(tokens != -100, dtype=torch.float64)
    counts = kept if class_weight is None else kept * class_weight[
        torch.as_tensor(np.where(tokens == -100, 0, tokens)).long()]
    if normalize == "tokens":
        return per_token.sum() / counts.sum()
    sums, lengths = per_token.sum(1), counts.sum(1)
    present = lengths > 0
    if normalize == "sequences":
        return sums[present].mean()
    return (sums[present] / lengths[present]).mean()


CASES = [
    {},
    {"label_smoothing": 0.1},
    {"class_weight": np.linspace(0.5, 2.0, V)},
    {"class_weight": np.linspace(0.5, 2.0, V), "label_smoothing": 0.2},
]


@pytest.mark.parametrize("normalize", ["tokens", "sequences", "sequence_mean"])
@pytest.mark.parametrize("params", CASES)
def test_matches_torch_cross_entropy_and_its_gradient(normalize, params):
    loss = lk.get("sequence_cross_entropy", normalize=normalize, **params)
    logits, tokens = _batch(seed=1)
    kwargs = {"label_smoothing": params.get("label_smoothing", 0.0)}
    weight = params.get("class_weight")
    class_weight = None if weight is None else torch.from_numpy(weight)
    leaf = torch.tensor(logits, requires_grad=True)
    reference = _reference(leaf, tokens, normalize, class_weight, **kwargs)
    assert float(loss(logits, tokens)) == pytest.approx(reference.item(), rel=1e-12)
    # gradient() is that of the sum; the mean divides by sum_b C_b.
    denominator = float(loss(logits, tokens, reduction="sum")) / reference.item()
    reference.backward()
    np.testing.assert_allclose(loss.gradient(logits, tokens) / denominator,
                               leaf.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_default_is_pytorch_flattened_mean_and_tokens_sum_per_sequence():
    logits, tokens = _batch(seed=2)
    flat = F.cross_entropy(torch.from_numpy(logits).reshape(-1, V),
                           torch.from_numpy(tokens).long().reshape(-1))  # ignore_index=-100
    loss = lk.get("token_cross_entropy")
    assert float(loss(logits, tokens)) == pytest.approx(flat.item(), rel=1e-12)
    per_token = _torch_tokens(torch.from_numpy(logits), tokens).numpy()
    np.testing.assert_allclose(loss.token_losses(logits, tokens), per_token, rtol=1e-12)
    np.testing.assert_allclose(loss.elementwise(logits, tokens), per_token.sum(1), rtol=1e-12)
    assert loss.elementwise(logits, tokens)[3] == 0.0  # the all-padding sequence


@pytest.mark.parametrize("normalize", ["tokens", "sequences", "sequence_mean"])
def test_hessian_diagonal_matches_torch(normalize):
    loss = lk.get("sequence_cross_entropy", normalize=normalize, label_smoothing=0.1)
    logits, tokens = _batch(seed=3)
    w = np.linspace(0.5, 2.0, B)

    def total(z):
        return (torch.from_numpy(w) * _per_sequence(z, tokens, normalize)).sum()

    hessian = torch.autograd.functional.hessian(total, torch.from_numpy(logits))
    diagonal = torch.diagonal(hessian.reshape(logits.size, logits.size)).reshape(logits.shape)
    _, ours = loss.gradient_hessian(logits, tokens, sample_weight=w)
    np.testing.assert_allclose(ours, diagonal.numpy(), rtol=1e-10, atol=1e-15)
    assert loss.properties.hessian == "diagonal"


def _per_sequence(z, tokens, normalize):
    per_token = _torch_tokens(z, tokens, label_smoothing=0.1)
    lengths = torch.as_tensor(tokens != -100, dtype=torch.float64).sum(1)
    if normalize == "sequence_mean":
        return per_token.sum(1) / torch.clamp(lengths, min=1.0)
    return per_token.sum(1)


def test_token_mask_as_sample_weight_equals_ignore_index():
    logits, tokens = _batch(seed=4)
    mask = (tokens != -100).astype(np.float64)
    filled = np.where(tokens == -100, 0.0, tokens)  # padding replaced by a real token
    for normalize in ("tokens", "sequences", "sequence_mean"):
        loss = lk.get("sequence_cross_entropy", normalize=normalize)
        assert float(loss(logits, filled, sample_weight=mask)) == pytest.approx(
            float(loss(logits, tokens)), rel=1e-13)
        np.testing.assert_allclose(loss.gradient(logits, filled, sample_weight=mask),
                                   loss.gradient(logits, tokens), rtol=1e-13, atol=1e-16)
        no_padding = lk.get("sequence_cross_entropy", normalize=normalize, ignore_index=None)
        np.testing.assert_allclose(no_padding.elementwise(logits, filled),
                                   loss.elementwise(logits, filled), rtol=1e-13)


def test_token_and_sequence_weights():
    logits, tokens = _batch(seed=5)
    per_token = _torch_tokens(torch.from_numpy(logits), tokens).numpy()
    kept = (tokens != -100).astype(np.float64)
    m = np.random.default_rng(0).uniform(0.0, 2.0, size=(B, T))
    w = np.linspace(0.5, 2.0, B)
    tokens_loss = lk.get("sequence_cross_entropy")
    assert float(tokens_loss(logits, tokens, sample_weight=m)) == pytest.approx(
        np.sum(m * per_token) / np.sum(m * kept), rel=1e-12)
    assert float(tokens_loss(logits, tokens, sample_weight=w)) == pytest.approx(
        np.sum(w[:, None] * per_token) / np.sum(w[:, None] * kept), rel=1e-12)
    mean_loss = lk.get("sequence_cross_entropy", normalize="sequence_mean")
    lengths = np.sum(m * kept, axis=1)
    means = np.sum(m * per_token, axis=1) / np.where(lengths > 0, lengths, 1.0)
    np.testing.assert_allclose(mean_loss(logits, tokens, sample_weight=m, reduction="none"),
                               means, rtol=1e-12)
    assert float(mean_loss(logits, tokens, sample_weight=m)) == pytest.approx(
        np.sum(means) / np.sum(lengths > 0), rel=1e-12)


def test_gradient_matches_jax_grad_under_jit():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    logits, tokens = _batch(seed=6)
    m = (np.random.default_rng(1).uniform(size=(B, T)) > 0.2).astype(np.float64)
    for normalize in ("tokens", "sequence_mean"):
        loss = lk.get("sequence_cross_entropy", normalize=normalize, label_smoothing=0.05)

        def total(z, y, w, loss=loss):
            return loss(z, y, sample_weight=w, reduction="sum")

        expected = jax.jit(jax.grad(total))(jnp.asarray(logits), jnp.asarray(tokens),
                                            jnp.asarray(m))
        np.testing.assert_allclose(loss.gradient(logits, tokens, sample_weight=m),
                                   np.asarray(expected), rtol=1e-11, atol=1e-15)


def test_backends_agree_with_numpy():
    jax = pytest.importorskip("jax")
    da = pytest.importorskip("dask.array")
    xps = pytest.importorskip("array_api_strict")
    logits, tokens = _batch(seed=7)
    w = np.linspace(0.5, 2.0, B)
    for normalize in ("tokens", "sequences", "sequence_mean"):
        loss = lk.get("sequence_cross_entropy", normalize=normalize, label_smoothing=0.1)
        expected = [loss(logits, tokens, w), *loss.gradient_hessian(logits, tokens, w)]
        for convert in (torch.from_numpy, jax.numpy.asarray, xps.asarray,
                        lambda a: da.from_array(a, chunks=2)):
            def run(z, y, weight, loss=loss):
                return (loss(z, y, weight), *loss.gradient_hessian(z, y, weight))

            fn = jax.jit(run) if convert is jax.numpy.asarray else run
            for got, want in zip(fn(convert(logits), convert(tokens), convert(w)), expected,
                                 strict=True):
                got = got.compute() if hasattr(got, "compute") else got
                np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------ perplexity
def test_perplexity():
    logits, tokens = _batch(seed=8)
    flat = F.cross_entropy(torch.from_numpy(logits).reshape(-1, V),
                           torch.from_numpy(tokens).long().reshape(-1))
    assert float(perplexity(logits, tokens)) == pytest.approx(np.exp(flat.item()), rel=1e-12)
    smoothed = lk.get("sequence_cross_entropy", label_smoothing=0.3,
                      class_weight=np.linspace(0.5, 2.0, V))
    # Perplexity measures the model: no smoothing, no class weights.
    assert float(smoothed.perplexity(logits, tokens)) == pytest.approx(np.exp(flat.item()),
                                                                       rel=1e-12)
    uniform = np.zeros((2, 3, 11))
    assert float(perplexity(uniform, np.array([[1, 2, -100], [3, -100, -100]]))) == (
        pytest.approx(11.0, rel=1e-14))
    value = perplexity(torch.from_numpy(logits), torch.from_numpy(tokens))
    assert isinstance(value, torch.Tensor)


# ------------------------------------------------------------ edge cases
def test_padding_and_length_one_sequences():
    logits, tokens = _batch(seed=9)
    loss = lk.get("sequence_cross_entropy", normalize="sequence_mean")
    values, gradient = loss.loss_gradient(logits, tokens)
    assert values[3] == 0.0 and np.all(gradient[3] == 0.0)  # all padding: no signal
    assert np.all(gradient[0, 1:] == 0.0)  # length 1: only the first token counts
    only = lk.get("sequence_cross_entropy")(logits[:1, :1], tokens[:1, :1])
    assert float(only) == pytest.approx(values[0], rel=1e-14)
    # seq_len 1 batches
    single = lk.get("sequence_cross_entropy")
    expected = F.cross_entropy(torch.from_numpy(logits[:, 0]), torch.from_numpy(tokens[:, 0])
                               .long())
    assert float(single(logits[:, :1], tokens[:, :1])) == pytest.approx(expected.item(),
                                                                         rel=1e-12)


def test_every_token_ignored():
    logits, tokens = _batch(seed=10)
    padding = np.full_like(tokens, -100.0)
    loss = lk.get("sequence_cross_entropy")
    with pytest.raises(ValueError, match="weighted mean of 'sequence_cross_entropy' is undefined"):
        loss(logits, padding)
    assert float(loss(logits, padding, reduction="sum")) == 0.0
    assert np.all(loss.gradient(logits, padding) == 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_low_precision_and_extreme_logits(dtype):
    logits, tokens = _batch(seed=11)
    loss = lk.get("sequence_cross_entropy", label_smoothing=0.1)
    exact = loss(logits, tokens)
    value, gradient = loss(logits.astype(dtype), tokens), loss.gradient(logits.astype(dtype),
                                                                        tokens)
    assert value.dtype == dtype and gradient.dtype == dtype
    rtol = 1e-5 if dtype == np.float32 else 2e-2
    assert float(value) == pytest.approx(float(exact), rel=rtol)
    for extreme_dtype in (dtype, np.float64):
        extreme = np.where(logits > 0, 1e4, -1e4).astype(extreme_dtype)
        gradient, hessian = loss.gradient_hessian(extreme, tokens)
        assert np.all(np.isfinite(gradient)) and np.all(np.isfinite(hessian))
        # Token losses reach 2e4; a float16 sum of several overflows 65504, their mean not.
        assert np.isfinite(float(loss(extreme, tokens)))
        assert np.all(np.isfinite(loss.token_losses(extreme, tokens)))
    torch_value = loss(torch.from_numpy(logits.astype(np.float32)), torch.from_numpy(tokens))
    assert torch_value.dtype == torch.float32


# ------------------------------------------------------------ validation
def test_bad_input_is_named():
    logits, tokens = _batch()
    loss = lk.get("sequence_cross_entropy")
    with pytest.raises(ValueError, match=r"y_pred for 'sequence_cross_entropy' must have shape"):
        loss(logits[:, 0], tokens[:, 0])
    with pytest.raises(ValueError, match=r"y_true for 'sequence_cross_entropy'.*shape"):
        loss(logits, tokens[:, :3])
    bad = tokens.copy()
    bad[1, 1] = V
    with pytest.raises(ValueError, match=r"class indices in \[0, 6\] \(or ignore_index=-100\)"):
        loss(logits, bad)
    with pytest.raises(ValueError, match=r"sample_weight.*\(5,\).*\(5, 6\)"):
        loss(logits, tokens, sample_weight=np.ones(T))
    with pytest.raises(ValueError, match="normalize for 'sequence_cross_entropy'"):
        lk.get("sequence_cross_entropy", normalize="batch")
    with pytest.raises(ValueError, match="label_smoothing for 'sequence_cross_entropy'"):
        lk.get("sequence_cross_entropy", label_smoothing=1.5)
    with pytest.raises(ValueError, match="link for 'sequence_cross_entropy'"):
        lk.get("sequence_cross_entropy", link="identity")


def test_metadata_pickle_and_no_mutation():
    logits, tokens = _batch()
    for normalize in ("tokens", "sequences", "sequence_mean"):
        loss = lk.get("sequence_cross_entropy", normalize=normalize,
                      class_weight=np.linspace(1.0, 2.0, V))
        copy = pickle.loads(pickle.dumps(loss))
        assert copy == loss
        kept_logits, kept_tokens = logits.copy(), tokens.copy()
        np.testing.assert_array_equal(copy.gradient(logits, tokens), loss.gradient(logits, tokens))
        np.testing.assert_array_equal(logits, kept_logits)
        np.testing.assert_array_equal(tokens, kept_tokens)
        assert loss.properties.convex and not loss.pointwise
    assert lk.get("sequence_cross_entropy", normalize="sequence_mean").properties.lipschitz
    assert lk.get("sequence_cross_entropy").properties.lipschitz is None
    assert lk.get("sequence_ce") == lk.SequenceCrossEntropy()
