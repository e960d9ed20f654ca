"""REINFORCE (policy-gradient surrogate) and the exact-match example.

References: ``torch.distributions.Categorical(logits=z).log_prob(a)`` times the
advantage, with torch autograd for the gradient and Hessian diagonal; ``jax.grad`` of
``E_pi[R] = softmax(z) . r`` for the expectation of the REINFORCE gradient; the running
baseline recomputed by hand.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import losskit as lk
from conftest import load_module

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "reinforce_exact_match.py"


def _batch(n: int = 12, k: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 2.0, size=(n, k))
    actions = rng.integers(0, k, size=n).astype(np.float64)
    return logits, np.stack([actions, rng.normal(1.0, 2.0, size=n)], axis=1)


def _torch_surrogate(logits: torch.Tensor, y_true: np.ndarray, baseline) -> torch.Tensor:
    log_prob = torch.distributions.Categorical(logits=logits).log_prob(
        torch.from_numpy(y_true[:, 0]).long())
    return -(torch.from_numpy(y_true[:, 1]) - baseline) * log_prob


@pytest.mark.parametrize("baseline", ["mean", 0.0, 0.7, "supplied"])
def test_value_gradient_hessian_match_torch(baseline):
    logits, y_true = _batch()
    if baseline == "supplied":
        supplied = np.random.default_rng(3).normal(size=12)
        y_true = np.column_stack([y_true, supplied])
        b = torch.from_numpy(supplied)
    elif baseline == "mean":
        b = float(np.mean(y_true[:, 1]))
    else:
        b = baseline
    loss = lk.get("reinforce", baseline=baseline)
    w = np.random.default_rng(1).uniform(0.5, 2.0, size=12)
    leaf = torch.tensor(logits, requires_grad=True)
    values = _torch_surrogate(leaf, y_true, b)
    np.testing.assert_allclose(loss.elementwise(logits, y_true), values.detach().numpy(),
                               rtol=1e-12, atol=1e-15)
    assert float(loss(logits, y_true, sample_weight=w)) == pytest.approx(
        float(np.sum(w * values.detach().numpy()) / np.sum(w)), rel=1e-12)
    total = (torch.from_numpy(w) * values).sum()
    (gradient,) = torch.autograd.grad(total, leaf, create_graph=True)
    diagonal = np.stack([torch.autograd.grad(gradient[:, j].sum(), leaf, retain_graph=True)[0]
                         [:, j].detach().numpy() for j in range(5)], axis=1)
    ours_gradient, ours_hessian = loss.gradient_hessian(logits, y_true, sample_weight=w)
    np.testing.assert_allclose(ours_gradient, gradient.detach().numpy(), rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_allclose(ours_hessian, diagonal, rtol=1e-12, atol=1e-15)


def test_gradient_formula_and_sign():
    logits = np.array([[0.0, np.log(3.0)]])  # pi = (1/4, 3/4)
    loss = lk.get("reinforce", baseline=0.5)
    gradient = loss.gradient(logits, [[0, 2.5]])  # advantage 2 on action 0
    np.testing.assert_allclose(gradient, [[-2.0 * 0.75, 2.0 * 0.75]], rtol=1e-15)
    # A descent step raises the log-probability of a rewarded action and lowers a punished one.
    for reward, direction in ((2.5, 1.0), (-1.5, -1.0)):
        y = np.array([[0, reward]])
        after = logits - 0.1 * loss.gradient(logits, y)
        change = lk.numerics.log_softmax(after)[0, 0] - lk.numerics.log_softmax(logits)[0, 0]
        assert direction * change > 0


def test_expected_gradient_is_minus_gradient_of_expected_reward():
    """E_{a ~ pi}[grad] = -grad_z E_pi[R] for any constant baseline (Williams 1992)."""
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    z = np.array([0.3, -1.2, 0.8, 0.0])
    rewards = np.array([1.0, -2.0, 0.5, 3.0])
    p = lk.numerics.softmax(z)
    exact = -np.asarray(jax.grad(lambda logits: jnp.sum(jax.nn.softmax(logits) *
                                                        jnp.asarray(rewards)))(jnp.asarray(z)))
    for baseline in (0.0, 1.7, -3.0):
        loss = lk.get("reinforce", baseline=baseline)
        expected = sum(p[a] * loss.gradient(z[None, :], [[a, rewards[a]]])[0] for a in range(4))
        np.testing.assert_allclose(expected, exact, rtol=1e-12, atol=1e-15)


def test_running_baseline_is_stateful():
    loss = lk.get("reinforce", baseline="running", momentum=0.75)
    assert loss.running_baseline is None
    logits, _ = _batch(n=4, k=3)
    batches = [np.array([[0, r1], [1, r2], [2, 0.0], [0, 1.0]])
               for r1, r2 in ((1.0, 3.0), (-2.0, 0.0), (5.0, 5.0))]
    expected_b, state = [], None
    for y in batches:
        mean = float(np.mean(y[:, 1]))
        expected_b.append(mean if state is None else state)
        state = mean if state is None else 0.75 * state + 0.25 * mean
    for y, b in zip(batches, expected_b, strict=True):
        values = loss.elementwise(logits, y)
        reference = lk.get("reinforce", baseline=b).elementwise(logits, y)
        np.testing.assert_allclose(values, reference, rtol=1e-15)
    assert loss.running_baseline == pytest.approx(state, rel=1e-15)
    # Equality and pickling ignore the state; a copy carries it.
    copy = pickle.loads(pickle.dumps(loss))
    assert copy == lk.get("reinforce", baseline="running", momentum=0.75)
    assert copy.running_baseline == loss.running_baseline


def test_a_call_that_fails_leaves_the_running_baseline_alone():
    loss = lk.get("reinforce", baseline="running", momentum=0.5)
    logits, _ = _batch(n=4, k=3)
    loss.elementwise(logits, np.array([[0, 1.0], [1, 3.0], [2, 0.0], [0, 0.0]]))
    assert loss.running_baseline == 1.0
    y = np.array([[0, 9.0], [1, 9.0], [2, 9.0], [0, 9.0]])
    for bad_weight in ([1.0, 1.0], [1.0, -1.0, 1.0, 1.0], [1.0, np.nan, 1.0, 1.0]):
        with pytest.raises(ValueError, match="sample_weight"):
            loss.gradient(logits, y, sample_weight=bad_weight)
        assert loss.running_baseline == 1.0
    loss.gradient(logits, y, sample_weight=[1.0, 2.0, 1.0, 1.0])
    assert loss.running_baseline == 0.5 * 1.0 + 0.5 * 9.0


def test_running_baseline_under_jit_uses_the_state_without_advancing_it():
    jax = pytest.importorskip("jax")
    loss = lk.get("reinforce", baseline="running")
    logits, y = _batch(n=6, k=3, seed=2)
    y[:, 0] = np.minimum(y[:, 0], 2)
    loss.gradient(logits, y)  # eager: the state is now this batch's mean
    state = loss.running_baseline
    jitted = jax.jit(lambda z, t: loss.gradient(z, t))(jax.numpy.asarray(logits),
                                                       jax.numpy.asarray(y))
    assert loss.running_baseline == state
    np.testing.assert_allclose(np.asarray(jitted),
                               lk.get("reinforce", baseline=state).gradient(logits, y),
                               rtol=1e-12)


def test_backends_agree_with_numpy():
    jax = pytest.importorskip("jax")
    da = pytest.importorskip("dask.array")
    xps = pytest.importorskip("array_api_strict")
    logits, y = _batch(seed=4)
    w = np.linspace(0.5, 2.0, 12)
    loss = lk.get("reinforce")
    expected = [loss(logits, y, w), *loss.gradient_hessian(logits, y, w)]
    for convert in (torch.from_numpy, jax.numpy.asarray, xps.asarray,
                    lambda a: da.from_array(a, chunks=5)):
        def run(z, t, weight):
            return (loss(z, t, weight), *loss.gradient_hessian(z, t, weight))

        fn = jax.jit(run) if convert is jax.numpy.asarray else run
        for got, want in zip(fn(convert(logits), convert(y), convert(w)), expected,
                             strict=True):
            got = got.compute() if hasattr(got, "compute") else got
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_low_precision_and_extreme_logits(dtype):
    logits, y = _batch(seed=5)
    loss = lk.get("reinforce")
    value = loss(logits.astype(dtype), y)
    assert value.dtype == dtype
    assert float(value) == pytest.approx(float(loss(logits, y)),
                                         rel=1e-5 if dtype == np.float32 else 2e-2)
    extreme = np.where(logits > 0, 1e4, -1e4).astype(dtype)
    values, gradient = loss.loss_gradient(extreme, y)
    hessian = loss.hessian(extreme, y)
    assert values.dtype == gradient.dtype == dtype
    for array in (gradient, hessian):
        assert np.all(np.isfinite(array))
    # |R - b| log pi(a) reaches 2e4 * |advantage|: finite in float32 and float64.
    if dtype == np.float32:
        assert np.all(np.isfinite(values))


def test_bad_input_is_named():
    logits, y = _batch()
    loss = lk.get("reinforce")
    with pytest.raises(ValueError, match=r"y_true for 'reinforce' must have shape \(12, 2\)"):
        loss(logits, y[:, :1])
    with pytest.raises(ValueError, match="needs baseline='supplied'"):
        loss(logits, np.column_stack([y, y[:, 1]]))
    with pytest.raises(ValueError, match=r"y_true\[:, 0\].*whole numbers in \[0, 4\]"):
        loss(logits, np.column_stack([y[:, 0] + 0.5, y[:, 1]]))
    with pytest.raises(ValueError, match=r"y_true\[:, 0\].*\(first at index 3\)"):
        bad = y.copy()
        bad[3, 0] = 5
        loss(logits, bad)
    with pytest.raises(ValueError, match="y_true for 'reinforce' must be finite"):
        bad = y.copy()
        bad[2, 1] = np.inf
        loss(logits, bad)
    with pytest.raises(ValueError, match=r"y_pred for 'reinforce' must be \(n, K\) logits"):
        loss(logits[:, :1], y)
    with pytest.raises(ValueError, match="baseline for 'reinforce' must be a number or one of"):
        lk.get("reinforce", baseline="median")
    with pytest.raises(TypeError, match="baseline for 'reinforce'"):
        lk.get("reinforce", baseline=True)
    with pytest.raises(ValueError, match="momentum for 'reinforce' must be in"):
        lk.get("reinforce", momentum=1.0)
    kept = (logits.copy(), y.copy())
    loss.gradient_hessian(logits, y)
    np.testing.assert_array_equal(logits, kept[0])
    np.testing.assert_array_equal(y, kept[1])
    assert lk.get("reinforce", baseline=None) == lk.get("reinforce", baseline=0.0)
    assert lk.get("policy_gradient") == lk.Reinforce()
    assert lk.get("reinforce").properties.hessian == "diagonal"


# ------------------------------------------------------------- the example
def _example_module():
    return load_module(EXAMPLE)


def test_reinforce_raises_exact_match():
    example = _example_module()
    chance = 1.0 / example.VOCAB**example.LENGTH
    before, after = example.train(steps=200, seed=1)
    assert before < 4 * chance, before
    assert after - before > 0.5, (before, after)
    # Control: without the gradient step the metric stays where it started.
    same_before, same_after = example.train(steps=20, seed=1, learning_rate=0.0)
    assert same_before == same_after == before


def test_running_baseline_skips_a_nan_batch():
    loss = lk.get("reinforce", baseline="running", nan_policy="propagate")
    logits, y = _batch(n=4, k=3, seed=6)
    y[:, 0] = np.minimum(y[:, 0], 2)
    loss.gradient(logits, y)
    state = loss.running_baseline
    poisoned = y.copy()
    poisoned[1, 1] = np.nan
    assert np.all(np.isnan(loss.elementwise(logits, poisoned))[1])
    assert loss.running_baseline == state
