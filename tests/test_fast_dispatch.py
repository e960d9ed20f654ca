"""The fast path's dispatch rules: size threshold, kernels measured slower, numba's absence."""

import numpy as np
import pytest

import losskit as lk
from losskit import _fast

pytest.importorskip("numba")


def data(n: int = 64):
    rng = np.random.default_rng(0)
    return rng.normal(size=n), rng.poisson(3.0, size=n).astype(np.float64)


def test_kernels_measured_slower_are_declined_unless_forced():
    loss = lk.get("poisson", link="log")
    assert ("poisson", "log") in _fast.SLOWER
    z, y = data()
    with lk.fast_path(True, min_size=0):
        assert _fast.dispatch(loss, "mean", z, y, None) is None
    with lk.fast_path(True, min_size=0, force=True):
        fast = _fast.dispatch(loss, "mean", z, y, None)
    assert fast is not None
    with lk.fast_path(False):
        reference = loss(z, y)
    np.testing.assert_allclose(fast, reference, rtol=1e-14)


def test_a_kernel_that_is_faster_is_used_above_the_threshold_only():
    loss = lk.get("huber")
    z, y = data(1000)
    with lk.fast_path(True, min_size=0):
        assert _fast.dispatch(loss, "gradient_hessian", z, y, None) is not None
    calls = []
    original = _fast.dispatch

    def spy(*args):
        calls.append(args[1])
        return original(*args)

    _fast.dispatch = spy
    try:
        with lk.fast_path(True, min_size=10_000):
            loss.gradient_hessian(z, y)
    finally:
        _fast.dispatch = original
    assert calls == [], "below the size threshold the reference path runs directly"


def test_without_numba_dispatch_declines(monkeypatch):
    monkeypatch.setattr(_fast, "_numba_missing", True)
    monkeypatch.setattr(_fast, "_loaded", True)
    z, y = data()
    with lk.fast_path(True, min_size=0):
        assert _fast.dispatch(lk.get("huber"), "mean", z, y, None) is None
        assert float(lk.get("huber")(z, y)) > 0
