"""The fast path's dispatch rules: size threshold, kernels measured slower, numba's absence."""

import ctypes.util
import os
import platform
import re
import subprocess
import sys

import numpy as np
import pytest

import losskit as lk
from losskit import _fast

pytest.importorskip("numba")


def data(n: int = 64):
    rng = np.random.default_rng(0)
    return rng.normal(size=n), rng.poisson(3.0, size=n).astype(np.float64)


def test_kernels_measured_slower_are_declined_unless_forced(monkeypatch):
    loss = lk.get("poisson", link="log")
    assert ("poisson", "log") in _fast.SLOWER
    assert _fast.available()
    monkeypatch.setattr(_fast, "_declined", dict(_fast.SLOWER))  # as without libmvec
    z, y = data()
    with lk.fast_path(True, min_size=0):
        assert _fast.dispatch(loss, "mean", z, y, None) is None
    with lk.fast_path(True, min_size=0, force=True):
        fast = _fast.dispatch(loss, "mean", z, y, None)
    assert fast is not None
    with lk.fast_path(False):
        reference = loss(z, y)
    np.testing.assert_allclose(fast, reference, rtol=1e-14)


def test_only_scalar_math_kernels_are_declined():
    from losskit._fast import _vmath

    assert _fast.available()
    assert _fast._declined == ({} if _vmath.ENABLED else _fast.SLOWER)


def _libmvec_2_35() -> bool:
    """glibc's libmvec with the functions of 2.35 (``expm1``, ``log1p``, ``tanh`` ...)."""
    name = ctypes.util.find_library("mvec")
    if sys.platform != "linux" or platform.machine() != "x86_64" or name is None:
        return False
    try:
        return hasattr(ctypes.CDLL(name), "_ZGVbN2v_expm1")
    except OSError:
        return False


@pytest.mark.skipif(not _libmvec_2_35(), reason="no glibc >= 2.35 libmvec on this machine")
def test_kernels_call_libmvec_vector_functions(tmp_path):
    """A freshly compiled log-cosh kernel calls libmvec (``_ZGV...``) from its loops
    (calls, not only the declarations every kernel module carries)."""
    script = """
import re, numpy as np, losskit as lk
from losskit._fast import _vmath, regression
assert _vmath.ENABLED and _vmath.TAG.startswith("_mvec_"), _vmath.TAG
x = np.linspace(-3, 3, 10_000)
with lk.fast_path(True, min_size=0, threads=1):
    lk.get("log_cosh")(x, 0.5 * x)
(signature,) = regression._log_cosh_kernel.serial.signatures
code = regression._log_cosh_kernel.serial.inspect_llvm(signature)
print(sorted(set(re.findall(r"call [^@]*@(_ZGV[a-z]N[0-9]+v_[a-z0-9]+)", code))))
print("avx2" in _vmath._target_features())
"""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "LOSSKIT_VECTOR_MATH": "1"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=300, check=True)
    called, wide = done.stdout.splitlines()
    # With two lanes (SSE2 only, e.g. NUMBA_CPU_NAME=generic) LLVM's cost model widens
    # the value loop (expm1, log1p) but may leave the derivative loops scalar.
    functions = ("exp", "expm1", "log1p", "tanh") if wide == "True" else ("expm1", "log1p")
    for function in functions:
        assert re.search(rf"_ZGV[bcde]N[0-9]+v_{function}'", called), (function, called)


def test_scalar_math_kernels_agree_with_the_reference(tmp_path):
    """``LOSSKIT_VECTOR_MATH=0``: kernels compiled with the C library's scalar exp/log
    (cached under other names) still agree with the reference path."""
    script = """
import numpy as np, losskit as lk
from losskit._fast import _vmath
assert not _vmath.ENABLED and _vmath.TAG == ""
rng = np.random.default_rng(1)
z = rng.normal(scale=4, size=20_000)
y01 = (rng.random(20_000) < 0.4).astype(float)
counts = rng.poisson(2.0, size=20_000).astype(float)
cases = [(lk.get("log_cosh"), z, 0.3 * z), (lk.get("poisson", link="log"), z, counts),
         (lk.get("binary_cross_entropy", link="logit"), z, y01),
         (lk.get("focal", gamma=2.0, link="logit"), z, y01)]
for loss, p, y in cases:
    for op in ("__call__", "gradient_hessian", "loss_gradient"):
        with lk.fast_path(True, min_size=0, force=True):
            fast = getattr(loss, op)(p, y)
        with lk.fast_path(False):
            reference = getattr(loss, op)(p, y)
        for a, b in zip(np.atleast_1d(fast) if op == "__call__" else fast,
                        np.atleast_1d(reference) if op == "__call__" else reference):
            # Derivatives that cross zero: an absolute floor on the array's scale, as
            # in test_fast_classification.
            np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-14 * np.max(np.abs(b)),
                                       err_msg=loss.name + op)
print("ok")
"""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "LOSSKIT_VECTOR_MATH": "0"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


def test_a_kernel_that_is_faster_is_used_above_the_threshold_only():
    loss = lk.get("huber")
    z, y = data(1000)
    with lk.fast_path(True, min_size=0):
        assert _fast.dispatch(loss, "gradient_hessian", z, y, None) is not None
    calls = []
    original = _fast.dispatch

    def spy(*args, **kwargs):
        calls.append(args[1])
        return original(*args, **kwargs)

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


def test_cached_kernel_names_change_with_the_intrinsics_sources(tmp_path, monkeypatch):
    """numba invalidates a cached kernel only when the kernel's own file changes; an edit
    to ``_vmath.py`` or ``_sums.py`` (intrinsics compiled into every kernel) must give
    the kernels new cache names instead of loading code built against the old ones."""
    from pathlib import Path

    from losskit._fast import _vmath

    here = Path(_fast.__file__).parent
    for name in _fast._UNSEEN_SOURCES:
        (tmp_path / name).write_bytes((here / name).read_bytes())
    monkeypatch.setattr(_fast, "__file__", str(tmp_path / "__init__.py"))
    try:
        _fast.cache_suffix.cache_clear()
        same = _fast.cache_suffix()
        (tmp_path / "_sums.py").write_bytes((here / "_sums.py").read_bytes() + b"\n# edited\n")
        _fast.cache_suffix.cache_clear()
        edited = _fast.cache_suffix()
    finally:
        monkeypatch.undo()
        _fast.cache_suffix.cache_clear()
    assert same == _fast.cache_suffix()
    assert edited != same
    assert edited.startswith(_vmath.TAG)
