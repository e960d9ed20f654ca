"""REINFORCE raises a non-differentiable metric: exact match of a short output sequence.

A linear softmax policy reads a feature vector ``x`` and emits ``LENGTH`` tokens, one
categorical choice per position. The reward of a sampled output is its exact match
with the teacher's output (1 if every token is right, else 0): a metric with no
gradient. Each step samples outputs from the policy, scores them, and takes a
gradient step on losskit's ``reinforce`` surrogate ``-(R - b) log pi(a)`` with a
running-mean baseline; the chain rule to the weights is one ``einsum``. The greedy
exact match on held-out inputs starts near chance (1 / VOCAB**LENGTH) and climbs.

    python examples/reinforce_exact_match.py
"""

from __future__ import annotations

import numpy as np

import losskit as lk

FEATURES, LENGTH, VOCAB = 8, 2, 4


def exact_match(weights: np.ndarray, x: np.ndarray, targets: np.ndarray) -> float:
    """Share of inputs whose greedy (argmax) output equals the target sequence."""
    greedy = np.argmax(np.einsum("tkd,nd->ntk", weights, x), axis=-1)
    return float(np.mean(np.all(greedy == targets, axis=1)))


def train(steps: int = 300, batch: int = 64, learning_rate: float = 2.0,
          seed: int = 0) -> tuple[float, float]:
    """(held-out exact match before training, after training)."""
    rng = np.random.default_rng(seed)
    teacher = rng.normal(size=(LENGTH, VOCAB, FEATURES))

    def sample_inputs(count: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.normal(size=(count, FEATURES))
        return x, np.argmax(np.einsum("tkd,nd->ntk", teacher, x), axis=-1)

    x_test, y_test = sample_inputs(2000)
    weights = 0.01 * rng.normal(size=(LENGTH, VOCAB, FEATURES))
    before = exact_match(weights, x_test, y_test)
    loss = lk.get("reinforce", baseline="running", momentum=0.9)
    for _ in range(steps):
        x, targets = sample_inputs(batch)
        logits = np.einsum("tkd,nd->ntk", weights, x)  # (batch, LENGTH, VOCAB)
        probabilities = lk.numerics.softmax(logits)
        draws = rng.random((batch, LENGTH, 1))
        actions = np.minimum((np.cumsum(probabilities, axis=-1) < draws).sum(axis=-1),
                             VOCAB - 1)
        reward = np.all(actions == targets, axis=1).astype(np.float64)  # exact match
        # One row per emitted token; every token of an output shares its reward.
        y_true = np.stack([actions.reshape(-1), np.repeat(reward, LENGTH)], axis=1)
        gradient = loss.gradient(logits.reshape(-1, VOCAB), y_true) / batch
        weights -= learning_rate * np.einsum("ntk,nd->tkd",
                                             gradient.reshape(batch, LENGTH, VOCAB), x)
    return before, exact_match(weights, x_test, y_test)


if __name__ == "__main__":
    start, end = train()
    print(f"held-out exact match: {start:.3f} before, {end:.3f} after REINFORCE")
