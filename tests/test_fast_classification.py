"""The fused classification kernels (``losskit._fast.classification``) against the reference.

For every covered loss, link and parameter set, in float32 and float64, with and
without ``sample_weight``, on random inputs and on extreme ones (logits of ±1e4, ±800,
±30 and 0; probabilities 0, 1, 1e-300 and 1 - 1e-16; soft labels; 2, 10 and 1000
classes), every operation of the fast path (``lk.fast_path(True, min_size=0,
force=True)``, with the reference path made to fail) must return what the reference
path returns (``lk.fast_path(False)``): the same type, dtype and shape, and values
within ``rtol`` (1e-14 in float64, 1e-6 in float32; 4e-6 for focal in float32, whose
reference is itself only that accurate). Derivatives also get a small absolute floor
per sample (``DERIVATIVE_FLOOR``): where a derivative is a difference of terms
(``(1 - y) sigma(z) - y sigma(-z)`` for a soft label, ``p_y - 1``, the focal Hessian,
which crosses zero), NumPy's and the C library's ``exp``/``log1p``, one ulp apart,
leave that ulp after the cancellation. Invalid inputs make the kernels count them, the
fast path decline, and the reference path raise the same error either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

pytest.importorskip("numba")

import losskit as lk
from conftest import fast_call as _call
from conftest import fast_only as _fast
from conftest import fast_twin
from conftest import reference_only as _reference
from losskit._fast import classification as kernels_module
from losskit._fast import dispatch, kernels_for
from losskit.core import Loss

OPS = ("mean", "sum", "none", "gradient", "hessian", "loss_gradient", "gradient_hessian")
DTYPES = (np.float64, np.float32)
#: Absolute floor of a derivative, per element: this times rtol times the sample's
#: weight times the largest unweighted magnitude of that derivative. Measured over ten
#: seeds, the floor needed is 0.0084 of that in float64 and 0.40 in float32 (``p_y - 1``).
DERIVATIVE_FLOOR = {np.float64: 0.05, np.float32: 1.0}

LOGITS = (-1e4, -800.0, -30.0, -1.0, -0.0, 0.0, 1.0, 30.0, 800.0, 1e4)
PROBABILITIES = (0.0, 1e-300, 1e-15, 0.5, 1.0 - 1e-16, 1.0)
HARD = (0.0, 1.0)
SOFT = (0.0, 1e-300, 0.3, 0.5, 1.0 - 1e-16, 1.0)


@dataclass(frozen=True)
class Case:
    id: str
    make_loss: Callable[[], Loss]
    #: (rng, dtype) -> (y_pred, y_true)
    make_inputs: Callable[[np.random.Generator, Any], tuple[np.ndarray, np.ndarray]]
    weighted_ok: bool = True  # (n, L) inputs with per-row weights are not fused
    float32_rtol: float = 1e-6


def _grid(preds: tuple[float, ...], labels: tuple[float, ...], random_pred: np.ndarray,
          random_label: np.ndarray, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """Every (extreme prediction, label) pair, then random pairs."""
    extreme_pred, extreme_label = (a.ravel() for a in np.meshgrid(preds, labels))
    pred = np.concatenate([extreme_pred, random_pred]).astype(dtype)
    label = np.concatenate([extreme_label, random_label]).astype(dtype)
    return pred, label


def _logit_inputs(labels: tuple[float, ...], soft: bool, shape: tuple[int, ...] = (1500,)
                  ) -> Callable[[np.random.Generator, Any], tuple[np.ndarray, np.ndarray]]:
    def make(rng: np.random.Generator, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
        n = int(np.prod(shape))
        label = rng.random(n) if soft else rng.integers(0, 2, n).astype(float)
        pred, target = _grid(LOGITS, labels, rng.normal(0.0, 4.0, n), label, dtype)
        if len(shape) == 1:
            return pred, target
        return pred[-n:].reshape(shape), target[-n:].reshape(shape)  # random part only

    return make


def _probability_inputs(labels: tuple[float, ...], soft: bool
                        ) -> Callable[[np.random.Generator, Any], tuple[np.ndarray, np.ndarray]]:
    def make(rng: np.random.Generator, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
        n = 1500
        label = rng.random(n) if soft else rng.integers(0, 2, n).astype(float)
        return _grid(PROBABILITIES, labels, rng.random(n), label, dtype)

    return make


def _hinge_inputs(negative: float) -> Callable[[np.random.Generator, Any],
                                               tuple[np.ndarray, np.ndarray]]:
    def make(rng: np.random.Generator, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
        n = 1500
        label = np.where(rng.integers(0, 2, n) == 1, 1.0, negative)
        pred = rng.normal(0.0, 2.0, n)
        pred[:20] = np.where(label[:20] == 1, 1.0, -1.0)  # margins exactly at the hinge
        return _grid(LOGITS, (negative, 1.0), pred, label, dtype)

    return make


def _class_inputs(k: int, index_dtype: Any = np.int64, ignore: int | None = None
                  ) -> Callable[[np.random.Generator, Any], tuple[np.ndarray, np.ndarray]]:
    def make(rng: np.random.Generator, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
        n = max(60, 3000 // k)
        third = n // 3
        logits = rng.normal(0.0, 3.0, (n, k))
        logits[:third] = rng.choice([-1e4, -800.0, -30.0, 0.0, 30.0, 800.0, 1e4], (third, k))
        y = rng.integers(0, k, n)
        logits[third] = 0.0  # a row of ties: the first max is split off
        logits[third + 1] = 1e4
        logits[third + 1, 0], y[third + 1] = -1e4, 0  # the target far below the others
        # Target the max, the runner-up far below: the value is about e^(x - m), and
        # without the TwoSum correction it is off by 205 ulp in float64 (x - m = 0.3 -
        # 600.1) and 25 in float32 (0.3 - 68.1): the rounding error of x - m, through exp.
        logits[third + 2 : third + 4] = -1e4
        logits[third + 2, :2], y[third + 2] = (600.1, 0.3), 0
        logits[third + 3, -2:], y[third + 3] = (0.3, 68.1), k - 1
        if ignore is not None:
            y[rng.random(n) < 0.2] = ignore
        return logits.astype(dtype), y.astype(index_dtype)

    return make


def _bce(**params: Any) -> Callable[[], Loss]:
    return lambda: lk.BinaryCrossEntropy(**params)


def _focal(**params: Any) -> Callable[[], Loss]:
    return lambda: lk.get("focal", link="logit", **params)


def _ce(**params: Any) -> Callable[[], Loss]:
    return lambda: lk.CrossEntropy(link="softmax", **params)


#: Focal values in float32: the reference's own error (against float64) reaches 2.2e-6,
#: as ``exp(gamma log q)`` turns one ulp of ``log q`` into ``gamma |log q|`` ulp.
FOCAL_FLOAT32_RTOL = 4e-6

CASES = [
    Case("bce-logit-hard", _bce(link="logit"), _logit_inputs(HARD, soft=False)),
    Case("bce-logit-soft", _bce(link="logit"), _logit_inputs(SOFT, soft=True)),
    Case("bce-logit-pos_weight-hard", _bce(link="logit", pos_weight=2.5),
         _logit_inputs(HARD, soft=False)),
    Case("bce-logit-pos_weight-soft", _bce(link="logit", pos_weight=0.3),
         _logit_inputs(SOFT, soft=True)),
    Case("bce-logit-multilabel", _bce(link="logit", pos_weight=2.0),
         _logit_inputs(SOFT, soft=True, shape=(500, 3)), weighted_ok=False),
    Case("bce-probability-hard", _bce(), _probability_inputs(HARD, soft=False)),
    Case("bce-probability-soft", _bce(), _probability_inputs(SOFT, soft=True)),
    Case("bce-probability-pos_weight", _bce(pos_weight=2.5), _probability_inputs(SOFT, True)),
    Case("bce-probability-eps", _bce(eps=1e-6), _probability_inputs(SOFT, soft=True)),
    Case("focal-hard", _focal(), _logit_inputs(HARD, soft=False),
         float32_rtol=FOCAL_FLOAT32_RTOL),
    Case("focal-soft", _focal(), _logit_inputs(SOFT, soft=True),
         float32_rtol=FOCAL_FLOAT32_RTOL),
    Case("focal-gamma0.5-alpha-hard", _focal(gamma=0.5, alpha=0.25),
         _logit_inputs(HARD, soft=False), float32_rtol=FOCAL_FLOAT32_RTOL),
    Case("focal-gamma0.5-alpha-soft", _focal(gamma=0.5, alpha=0.25),
         _logit_inputs(SOFT, soft=True), float32_rtol=FOCAL_FLOAT32_RTOL),
    Case("focal-gamma0-soft", _focal(gamma=0.0, alpha=1.0), _logit_inputs(SOFT, soft=True)),
    Case("focal-gamma3-multilabel", _focal(gamma=3.0),
         _logit_inputs(SOFT, soft=True, shape=(400, 4)), weighted_ok=False,
         float32_rtol=FOCAL_FLOAT32_RTOL),
    Case("hinge-01", lambda: lk.get("hinge"), _hinge_inputs(0.0)),
    Case("hinge-pm1", lambda: lk.get("hinge"), _hinge_inputs(-1.0)),
    Case("ce-K2", _ce(), _class_inputs(2)),
    Case("ce-K10", _ce(), _class_inputs(10)),
    Case("ce-K10-float-indices", _ce(), _class_inputs(10, np.float64)),
    Case("ce-K10-float32-indices", _ce(), _class_inputs(10, np.float32)),
    Case("ce-K10-ignore", _ce(ignore_index=-100), _class_inputs(10, np.int32, ignore=-100)),
    Case("ce-K10-ignore-in-range", _ce(ignore_index=3), _class_inputs(10, ignore=3)),
    Case("ce-K1000", _ce(), _class_inputs(1000)),
]


# ------------------------------------------------------------------ helpers


#: Which outputs of each operation are derivatives (compared with an absolute floor).
DERIVATIVES = {"mean": (False,), "sum": (False,), "none": (False,), "gradient": (True,),
               "hessian": (True,), "loss_gradient": (False, True),
               "gradient_hessian": (True, True)}


def _assert_agree(fast: Any, reference: Any, op: str, where: str, *, rtol: float,
                  weight: np.ndarray | None = None) -> None:
    """Same type, dtype and shape, and values within ``rtol`` (derivatives: and a floor)."""
    assert type(fast) is type(reference), where
    fast_parts = fast if isinstance(fast, tuple) else (fast,)
    reference_parts = reference if isinstance(reference, tuple) else (reference,)
    assert len(fast_parts) == len(reference_parts) == len(DERIVATIVES[op]), where
    for a, b, derivative in zip(fast_parts, reference_parts, DERIVATIVES[op], strict=True):
        assert type(a) is type(b), where
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b), where
        dtype = b.dtype.type
        atol: Any = np.finfo(dtype).tiny
        if derivative:
            w = np.ones(b.shape[:1]) if weight is None else weight.astype(np.float64)
            w = w.reshape(w.shape + (1,) * (b.ndim - 1))
            magnitude = np.abs(b.astype(np.float64))
            unweighted = np.where(w > 0, magnitude / np.where(w > 0, w, 1.0), 0.0)
            scale = np.max(unweighted[np.isfinite(unweighted)], initial=0.0)
            atol = atol + DERIVATIVE_FLOOR[dtype] * rtol * scale * w
        a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        same = (a64 == b64) | (np.isnan(a64) & np.isnan(b64))  # also infinities, NaNs
        with np.errstate(invalid="ignore"):
            close = np.abs(a64 - b64) <= atol + rtol * np.abs(b64)
        bad = np.flatnonzero(~(same | close))
        assert bad.size == 0, (f"{where}: {bad.size} of {b64.size} differ, first at flat "
                               f"index {bad[0]}: {a64.flat[bad[0]]!r} vs {b64.flat[bad[0]]!r}")


def _weights(rng: np.random.Generator, n: int, dtype: Any) -> np.ndarray:
    weights = rng.uniform(0.0, 2.0, n)
    weights[::7] = 0.0
    weights[1] = 1e3
    return weights.astype(dtype)


# -------------------------------------------------------------------- tests
AGREEMENT = [
    pytest.param(case, dtype, weighted,
                 id=f"{case.id}-{dtype.__name__}-{'weighted' if weighted else 'unweighted'}")
    for case in CASES for dtype in DTYPES for weighted in (False, True)
    if case.weighted_ok or not weighted  # per-row weights over (n, L): the reference path
]


@pytest.mark.parametrize("twin", ["serial", "parallel"])
@pytest.mark.parametrize(("case", "dtype", "weighted"), AGREEMENT)
def test_fast_path_agrees_with_reference(case: Case, dtype: Any, weighted: bool, twin: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    loss = case.make_loss()
    y_pred, y_true = case.make_inputs(rng, dtype)
    weight = _weights(rng, y_pred.shape[0], dtype) if weighted else None
    with fast_twin(twin, y_pred.size):
        for op in OPS:
            fast = _fast(loss, op, y_pred, y_true, weight, monkeypatch)
            reference = _reference(loss, op, y_pred, y_true, weight)
            rtol = case.float32_rtol if dtype is np.float32 else 1e-14
            _assert_agree(fast, reference, op, f"{case.id} {op} {twin}", rtol=rtol,
                          weight=weight)


def _assert_reductions_agree(loss: Loss, twin: str, y_pred: np.ndarray, y_true: np.ndarray,
                             weight: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mean and sum by the fast path (``twin``) and the reference, unweighted and
    weighted: within 1e-14 in float64, 4e-6 in float32."""
    rtol = 1e-14 if y_pred.dtype == np.float64 else 4e-6
    with fast_twin(twin, y_pred.size):
        for w in (None, weight):
            for op in ("mean", "sum"):
                fast = _fast(loss, op, y_pred, y_true, w, monkeypatch)
                reference = _reference(loss, op, y_pred, y_true, w)
                _assert_agree(fast, reference, op, f"{loss!r} {op} {twin}", rtol=rtol,
                              weight=w)


@pytest.mark.parametrize("twin", ["serial", "parallel"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("loss", [lk.get("hinge"), lk.BinaryCrossEntropy(link="logit"),
                                  lk.get("focal", link="logit", alpha=0.25)], ids=repr)
def test_reductions_over_many_blocks_agree_with_reference(
        loss: Loss, dtype: Any, twin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Several reduction blocks (1024 samples each) and a ragged last one, by both twins."""
    rng = np.random.default_rng(11)
    n = 5 * 1024 + 13
    y_pred = (rng.normal(size=n) * 3.0).astype(dtype)
    y_true = rng.integers(0, 2, n).astype(dtype)
    weight = _weights(rng, n, dtype)
    _assert_reductions_agree(loss, twin, y_pred, y_true, weight, monkeypatch)


@pytest.mark.parametrize("twin", ["serial", "parallel"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("loss", [lk.BinaryCrossEntropy(), lk.BinaryCrossEntropy(pos_weight=3.0),
                                  lk.BinaryCrossEntropy(eps=1e-300),
                                  lk.get("focal", link="logit", alpha=0.25),
                                  lk.get("focal", link="logit", gamma=0.5)], ids=repr)
def test_blocks_of_hard_and_soft_labels_agree_with_reference(
        loss: Loss, dtype: Any, twin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reduction block whose labels are all 0 or 1 takes a cheaper formula (BCE on
    probabilities in float32: one logarithm per sample; focal: no soft-label branch), a
    block with a soft label the general one: both kinds in one array, a soft label as a
    block's last sample, and probabilities at and beyond the clipping bounds (``eps =
    1e-300`` is below both dtypes' resolution at 1: the bounds move inward,
    ``clip_bounds``)."""
    rng = np.random.default_rng(12)
    n = 5 * 1024 + 13
    y_true = rng.integers(0, 2, n).astype(dtype)
    y_true[1024:2048] = rng.random(1024)  # the second block: soft labels
    y_true[4 * 1024 - 1] = 0.5  # the fourth: one soft label, its last
    if loss.link.name == "identity":
        y_pred = rng.random(n)
        y_pred[:10] = [0.0, 1.0, 1e-300, 1.0 - 2.0**-24, 0.0, 1.0, 0.5, 1e-8, 0.0, 1.0]
        y_true[:10] = [1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    else:
        y_pred = rng.normal(size=n) * 4.0
    y_pred = y_pred.astype(dtype)
    weight = _weights(rng, n, dtype)
    _assert_reductions_agree(loss, twin, y_pred, y_true, weight, monkeypatch)


def _invalid_inputs(case: Case, dtype: Any) -> list[tuple[str, Any, Any, Any]]:
    """(what, y_pred, y_true, sample_weight) that the reference path rejects."""
    rng = np.random.default_rng(3)
    y_pred, y_true = case.make_inputs(rng, dtype)
    n = y_pred.shape[0]
    weight = np.ones(n, dtype=dtype)
    below_zero = -float(np.finfo(dtype).smallest_subnormal)
    out = []

    def with_pred(index: Any, value: float) -> np.ndarray:
        bad = y_pred.copy()
        bad[index] = value
        return bad

    def with_target(index: int, value: float) -> np.ndarray:
        bad = y_true.copy()
        bad[index] = value
        return bad

    def with_weight(index: int, value: float) -> np.ndarray:
        bad = weight.copy()
        bad[index] = value
        return bad

    last = (n - 1, 0) if y_pred.ndim == 2 else n - 1
    out += [("nan prediction", with_pred(last, np.nan), y_true, None),
            ("inf prediction", with_pred(3, -np.inf), y_true, None),
            ("nan weight", y_pred, y_true, with_weight(n - 1, np.nan)),
            ("inf weight", y_pred, y_true, with_weight(2, np.inf)),
            ("negative weight", y_pred, y_true, with_weight(5, below_zero))]
    if case.id.startswith("ce"):
        k = y_pred.shape[1]
        out += [("index K", y_pred, with_target(n - 1, k), None),
                ("index -1", y_pred, with_target(0, -1), None)]
        if np.issubdtype(y_true.dtype, np.floating):
            out += [("fractional index", y_pred, with_target(4, 1.5), None),
                    ("nan index", y_pred, with_target(4, np.nan), None)]
    elif case.id.startswith("hinge"):
        mixed = y_true.copy()
        mixed[y_true != 1] = 0.0
        mixed[-1] = -1.0
        out += [("label 2", y_pred, with_target(n - 1, 2.0), None),
                ("label 0.5", y_pred, with_target(0, 0.5), None),
                ("labels 0 and -1 mixed", y_pred, mixed, None),
                ("nan label", y_pred, with_target(1, np.nan), None)]
    else:
        out += [("label above 1", y_pred, with_target(n - 1, 1.5), None),
                ("label below 0", y_pred, with_target(0, below_zero), None),
                ("nan label", y_pred, with_target(2, np.nan), None)]
        if case.id.startswith("bce-probability"):
            out += [("probability above 1", with_pred(n - 1, 1.0 + 1e-6), y_true, None),
                    ("negative probability", with_pred(0, below_zero), y_true, None)]
    return out


INVALID_CASES = [case for case in CASES if case.weighted_ok]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("case", INVALID_CASES, ids=[c.id for c in INVALID_CASES])
def test_invalid_inputs_decline_and_raise_the_reference_error(case: Case, dtype: Any) -> None:
    loss = case.make_loss()
    kernels = kernels_for(loss)
    assert kernels is not None
    for what, y_pred, y_true, weight in _invalid_inputs(case, dtype):
        where = f"{case.id}: {what}"
        w = np.empty(0, dtype=dtype) if weight is None else weight
        n = y_pred.shape[0]
        grad = np.empty_like(y_pred)
        values = np.empty(n, dtype=dtype)
        # Each kernel counts the invalid inputs in its pass ...
        assert kernels.reduce is not None and kernels.reduce(y_pred, y_true, w)[2] > 0, where
        assert kernels.values is not None and kernels.values(y_pred, y_true, w, values) > 0
        assert kernels.loss_gradient is not None
        assert kernels.loss_gradient(y_pred, y_true, w, values, grad) > 0, where
        assert kernels.gradient_hessian is not None
        assert kernels.gradient_hessian(y_pred, y_true, w, grad, grad.copy()) > 0, where
        with lk.fast_path(True, min_size=0, force=True):
            for op in OPS:
                # ... so the fast path declines ...
                assert dispatch(loss, op, y_pred, y_true, weight) is None, f"{where} {op}"
                # ... and the reference path raises its own error, whichever path is on.
                with pytest.raises(ValueError) as fast_error:
                    _call(loss, op, y_pred, y_true, weight)
                with lk.fast_path(False), pytest.raises(ValueError) as reference_error:
                    _call(loss, op, y_pred, y_true, weight)
                assert str(fast_error.value) == str(reference_error.value), where


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_mean_with_zero_total_weight_raises_the_reference_error(dtype: Any) -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(40, 5)).astype(dtype)
    calls = [
        (lk.CrossEntropy(link="softmax", ignore_index=-1), logits, np.full(40, -1), None),
        (lk.CrossEntropy(link="softmax"), logits, np.zeros(40, dtype=np.int64),
         np.zeros(40, dtype=dtype)),
        (lk.BinaryCrossEntropy(link="logit"), logits[:, 0].copy(), np.ones(40, dtype=dtype),
         np.zeros(40, dtype=dtype)),
    ]
    for loss, y_pred, y_true, weight in calls:
        with lk.fast_path(True, min_size=0, force=True):
            assert dispatch(loss, "mean", y_pred, y_true, weight) is None
            assert dispatch(loss, "sum", y_pred, y_true, weight) is not None
            with pytest.raises(ValueError, match="undefined") as fast_error:
                loss(y_pred, y_true, weight)
        with lk.fast_path(False), pytest.raises(ValueError) as reference_error:
            loss(y_pred, y_true, weight)
        assert str(fast_error.value) == str(reference_error.value)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_softmax_differences_that_overflow(dtype: Any, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    """``x - max`` beyond the dtype's range is ``-inf`` (found from ``x/2 - max/2``).

    The gradient and Hessian agree; the value is NaN on both paths, where the reference
    forms ``0 * -inf`` for a non-target class in ``-sum_k a_k log p_k``.
    """
    big = float(np.finfo(dtype).max)
    logits = np.array([[big, -big, 0.0], [0.0, -big, big], [1.0, 2.0, 3.0]], dtype=dtype)
    y = np.array([0, 2, 1])
    loss = lk.CrossEntropy(link="softmax")
    rtol = 1e-14 if dtype is np.float64 else 1e-6
    for op in ("gradient", "hessian", "gradient_hessian"):
        _assert_agree(_fast(loss, op, logits, y, None, monkeypatch),
                      _reference(loss, op, logits, y, None), op, op, rtol=rtol)
    with np.errstate(invalid="ignore"):  # the reference's 0 * -inf
        reference = _reference(loss, "none", logits, y, None)
    fast = _fast(loss, "none", logits, y, None, monkeypatch)
    assert np.isnan(reference[:2]).all() and np.isnan(fast[:2]).all()
    _assert_agree(fast, reference, "none", "none", rtol=rtol)


def _rejected_by_shape_or_type() -> list[Any]:
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(40, 3))
    classes = rng.integers(0, 3, 40)
    ce, bce = lk.CrossEntropy(link="softmax"), lk.BinaryCrossEntropy(link="logit")
    return [
        pytest.param(ce, logits[:, :1].copy(), np.zeros(40, dtype=np.int64), id="one-class"),
        pytest.param(ce, logits, classes.astype(object), id="object-indices"),
        pytest.param(ce, logits, classes.astype(np.complex128), id="complex-indices"),
        pytest.param(ce, np.empty((0, 3)), np.empty(0, dtype=np.int64), id="no-rows"),
        pytest.param(bce, np.array(0.5), np.array(1.0), id="scalar"),
        pytest.param(bce, np.empty(0), np.empty(0), id="empty"),
    ]


@pytest.mark.parametrize(("loss", "y_pred", "y_true"), _rejected_by_shape_or_type())
def test_inputs_rejected_by_shape_or_type_take_the_reference_path(
        loss: Loss, y_pred: np.ndarray, y_true: np.ndarray) -> None:
    errors = []
    for fast in (True, False):
        with lk.fast_path(fast, min_size=0, force=True):
            assert dispatch(loss, "sum", y_pred, y_true, None) is None
            with pytest.raises((ValueError, TypeError)) as error:
                loss(y_pred, y_true, reduction="sum")
        errors.append((type(error.value), str(error.value)))
    assert errors[0] == errors[1]


@pytest.mark.parametrize("loss", [
    lk.CrossEntropy(link="softmax", label_smoothing=0.1),
    lk.CrossEntropy(link="softmax", class_weight=[1.0, 2.0, 3.0]),
    lk.CrossEntropy(),  # probabilities
    lk.BinaryCrossEntropy(link="logit", pos_weight=[1.0, 2.0]),
    lk.get("focal"),  # probabilities
    lk.get("focal", link="softmax"),
], ids=repr)
def test_uncovered_parameters_have_no_kernels(loss: Loss) -> None:
    assert kernels_for(loss) is None


@pytest.mark.parametrize("loss", [
    lk.BinaryCrossEntropy(), lk.BinaryCrossEntropy(link="logit", pos_weight=3.0),
    lk.get("focal", link="logit", alpha=0.5), lk.get("hinge"),
    lk.CrossEntropy(link="softmax", ignore_index=-100),
], ids=repr)
def test_covered_parameters_have_every_kernel(loss: Loss) -> None:
    kernels = kernels_for(loss)
    assert kernels is not None
    assert None not in (kernels.reduce, kernels.values, kernels.loss_gradient,
                        kernels.gradient_hessian)


def test_the_kernels_really_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spy on the jitted drivers: each operation goes through them, once."""
    calls: list[str] = []
    for name in ("_bce_logit_reduce", "_bce_logit_fill", "_softmax_ce_reduce",
                 "_softmax_ce_fill"):
        driver = getattr(kernels_module, name)

        def spy(*args: Any, _driver: Any = driver, _name: str = name) -> Any:
            calls.append(_name)
            return _driver(*args)

        monkeypatch.setattr(kernels_module, name, spy)
    rng = np.random.default_rng(1)
    z = rng.normal(size=64)
    y = rng.integers(0, 2, 64).astype(np.float64)
    logits = rng.normal(size=(64, 3))
    classes = rng.integers(0, 3, 64)
    with lk.fast_path(True, min_size=0, force=True):
        for loss, y_pred, y_true in [(lk.BinaryCrossEntropy(link="logit"), z, y),
                                     (lk.CrossEntropy(link="softmax"), logits, classes)]:
            for op in OPS:
                calls.clear()
                expected = _reference(loss, op, y_pred, y_true, None)
                result = _call(loss, op, y_pred, y_true, None)
                kind = "reduce" if op in ("mean", "sum") else "fill"
                assert len(calls) == 1 and calls[0].endswith(kind), (op, calls)
                _assert_agree(result, expected, op, op, rtol=1e-14)
    with lk.fast_path(True, min_size=z.size + 1):  # below the threshold: the reference path
        calls.clear()
        lk.BinaryCrossEntropy(link="logit")(z, y)
        assert calls == []


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_softmax_sums_are_numpys_pairwise_sums_bit_for_bit(dtype: Any) -> None:
    """``_pairwise_sum`` (a row) and ``_column_sums`` (the rows of a transposed block)
    both write NumPy's pairwise order: pinned to ``np.sum`` and to each other, bitwise,
    on either side of 8 (the unrolled leaf) and 128 (the leaf's size)."""
    rng = np.random.default_rng(7)
    for n in (*range(1, 20), 64, 127, 128, 129, 300, 1000):
        a = (rng.normal(size=n) * 10.0 ** rng.integers(-8, 8, n)).astype(dtype)
        assert kernels_module._pairwise_sum(a) == np.sum(a), n
    rows = 24
    for k in (*range(1, 20), 64, 128):
        block = (rng.normal(size=(rows, k)) * 10.0 ** rng.integers(-8, 8, (rows, k))
                 ).astype(dtype)
        transposed = np.ascontiguousarray(block.T).reshape(-1)
        out = np.empty(rows, dtype=dtype)
        kernels_module._column_sums(transposed, rows, k, np.empty(8 * rows, dtype=dtype), out)
        expected = np.array([kernels_module._pairwise_sum(row) for row in block], dtype=dtype)
        assert np.array_equal(out, expected), k
        assert np.array_equal(out, np.sum(block, axis=1)), k
