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


def test_threads_follow_the_settings():
    numba = pytest.importorskip("numba")
    most = numba.config.NUMBA_NUM_THREADS
    with lk.fast_path(True, threads=1, parallel_min_size=0):
        assert _fast.threads_for(10**9) == 1
    with lk.fast_path(True, threads=64, parallel_min_size=1000):
        assert _fast.threads_for(999) == 1
        assert _fast.threads_for(1000) == min(64, most)
    with lk.fast_path(True) as settings:
        assert _fast.threads_for(settings.fast_parallel_min_size - 1) == 1
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        with lk.fast_path(True, threads=0):
            pass


def test_the_threads_setting_comes_from_the_environment(monkeypatch):
    from losskit import _config

    monkeypatch.setenv("LOSSKIT_FAST_THREADS", "3")
    assert _config._threads_from_environment() == 3
    monkeypatch.setenv("LOSSKIT_FAST_THREADS", "")
    assert _config._threads_from_environment() is None
    monkeypatch.setenv("LOSSKIT_FAST_THREADS", "0")
    with pytest.raises(ValueError, match="LOSSKIT_FAST_THREADS"):
        _config._threads_from_environment()


def test_a_parallel_call_sets_numba_threads_for_the_call_only(monkeypatch):
    numba = pytest.importorskip("numba")
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has one thread here")
    from losskit._fast import regression

    seen = []
    twins = regression._huber_kernel

    def spy_parallel(*args):
        seen.append(("parallel", numba.get_num_threads()))
        return twins.parallel(*args)

    def spy_serial(*args):
        seen.append(("serial", numba.get_num_threads()))
        return twins.serial(*args)

    monkeypatch.setattr(regression, "_huber_kernel",
                        _fast.Twins(serial=spy_serial, parallel=spy_parallel))
    loss = lk.get("huber")
    z, y = data(5000)
    numba.set_num_threads(1)
    try:
        with lk.fast_path(True, min_size=0, threads=2, parallel_min_size=4096):
            fast = loss.gradient_hessian(z, y)
            loss.gradient_hessian(z[:4000], y[:4000])
        assert numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert seen == [("parallel", 2), ("serial", 1)]
    with lk.fast_path(False):
        reference = loss.gradient_hessian(z, y)
    np.testing.assert_allclose(fast, reference, rtol=1e-14)
