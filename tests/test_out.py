"""``out=`` on ``gradient``, ``hessian``, ``loss_gradient`` and ``gradient_hessian``.

The oracle is the same call without ``out``: results must be equal, written into the
given arrays and returned as those objects, on the fast path (kernels writing in place)
and on the reference path (results copied in), for pointwise, multiclass, composed and
structured losses. Bad ``out`` arguments raise errors that name ``out``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import losskit as lk

N = 6_000  # above lk.fast_path's min_size, so the kernels run


def _cases() -> list[tuple[str, Any, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(3)
    z = rng.normal(size=N)
    y = rng.normal(size=N)
    counts = rng.poisson(2.0, size=N).astype(np.float64)
    labels = (rng.random(N) < 0.4).astype(np.float64)
    logits = rng.normal(size=(N // 5, 5))
    classes = rng.integers(0, 5, N // 5)
    return [
        ("huber", lk.get("huber"), z, y),
        ("poisson-log", lk.get("poisson", link="log"), z, counts),
        ("bce-logit", lk.get("binary_cross_entropy", link="logit"), 3 * z, labels),
        ("cross_entropy", lk.get("cross_entropy", link="softmax"), logits, classes),
        ("composed", 0.5 * lk.get("squared_error") + lk.get("log_cosh"), z, y),
    ]


CASES = _cases()
OPS = {"gradient": 1, "hessian": 1, "loss_gradient": 2, "gradient_hessian": 2}


def _fresh(results: Any) -> tuple[np.ndarray, ...]:
    arrays = results if isinstance(results, tuple) else (results,)
    return tuple(np.full_like(a, np.nan) for a in arrays)


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize(("name", "loss", "pred", "target"), CASES, ids=[c[0] for c in CASES])
def test_results_are_written_into_out_and_returned(name: str, loss: Any, pred: np.ndarray,
                                                   target: np.ndarray, op: str,
                                                   fast: bool) -> None:
    weight = np.linspace(0.5, 2.0, pred.shape[0])
    with lk.fast_path(fast):
        for sample_weight in (None, weight):
            expected = getattr(loss, op)(pred, target, sample_weight)
            out = _fresh(expected)
            given = out[0] if OPS[op] == 1 else out
            result = getattr(loss, op)(pred, target, sample_weight, out=given)
            results = result if isinstance(result, tuple) else (result,)
            expected_all = expected if isinstance(expected, tuple) else (expected,)
            for got, array, want in zip(results, out, expected_all, strict=True):
                assert got is array
                np.testing.assert_array_equal(array, want)


def test_a_strided_out_is_filled_by_the_reference_path() -> None:
    loss = lk.get("huber")
    _, _, z, y = CASES[0]
    expected = loss.gradient_hessian(z, y)
    wide = np.zeros((N, 2))
    gradient, hessian = loss.gradient_hessian(z, y, out=(wide[:, 0], wide[:, 1]))
    np.testing.assert_array_equal(wide[:, 0], expected[0])
    np.testing.assert_array_equal(wide[:, 1], expected[1])
    assert np.shares_memory(gradient, wide) and np.shares_memory(hessian, wide)


def test_the_inputs_are_not_changed() -> None:
    loss = lk.get("log_cosh")
    _, _, z, y = CASES[0]
    z_copy, y_copy = z.copy(), y.copy()
    loss.gradient_hessian(z, y, out=(np.empty(N), np.empty(N)))
    np.testing.assert_array_equal(z, z_copy)
    np.testing.assert_array_equal(y, y_copy)


@pytest.mark.parametrize(("out", "error", "match"), [
    (np.empty(N), TypeError, "tuple of 2 arrays"),
    ((np.empty(N),), TypeError, "tuple of 2 arrays"),
    ((np.empty(N), [0.0] * N), TypeError, "NumPy arrays"),
    ((np.empty(N), np.empty(N, dtype=np.float32)), ValueError, "dtype float64"),
    ((np.empty(N), np.empty(N + 1)), ValueError, r"shape \(6000,\)"),
], ids=["not-a-tuple", "one-array", "a-list", "wrong-dtype", "wrong-shape"])
def test_bad_out_is_refused(out: Any, error: type, match: str) -> None:
    _, loss, z, y = CASES[0]
    with pytest.raises(error, match=match) as raised:
        loss.gradient_hessian(z, y, out=out)
    assert "out for 'huber'" in str(raised.value)


def test_overlapping_or_read_only_out_is_refused() -> None:
    _, loss, z, y = CASES[0]
    buffer = np.empty(N)
    with pytest.raises(ValueError, match="must not overlap"):
        loss.gradient_hessian(z, y, out=(buffer, buffer))
    z_copy = z.copy()
    with pytest.raises(ValueError, match="must not overlap"):
        loss.gradient_hessian(z_copy, y, out=(z_copy, np.empty(N)))
    np.testing.assert_array_equal(z_copy, z)
    frozen = np.empty(N)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        loss.gradient(z, y, out=frozen)


def test_out_needs_numpy_inputs() -> None:
    torch = pytest.importorskip("torch")
    loss = lk.get("huber")
    with pytest.raises(TypeError, match="needs NumPy inputs"):
        loss.gradient(torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64),
                      out=np.empty(4))


def test_structured_losses_take_out() -> None:
    loss = lk.get("listnet")
    rng = np.random.default_rng(0)
    scores, relevance = rng.normal(size=(50, 8)), rng.integers(0, 3, (50, 8)).astype(float)
    expected = loss.gradient_hessian(scores, relevance)
    out = (np.empty((50, 8)), np.empty((50, 8)))
    result = loss.gradient_hessian(scores, relevance, out=out)
    assert result[0] is out[0] and result[1] is out[1]
    np.testing.assert_array_equal(out[0], expected[0])
    np.testing.assert_array_equal(out[1], expected[1])
