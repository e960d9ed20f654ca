"""Fused single-pass kernels for NumPy inputs (numba), behind the reference path.

The reference path (array-API formulas in ``losskit.losses``) is the definition; a
kernel here is a faster way to compute the same numbers for C-contiguous float32 or
float64 NumPy arrays, checked against it by ``tests/test_fast_regression.py`` and
``tests/test_fast_classification.py`` (rel 1e-14 in float64). A kernel validates its
inputs in the same pass and reports how many are invalid (non-finite, outside the
loss's domain); then ``dispatch`` returns None and the reference path runs, which
raises its precise error. ``dispatch`` also returns None whenever it cannot serve a
call (numba missing, another array library, mixed dtypes, a parameter or link without
a kernel, a kernel measured slower than the reference path), so the fast path never
changes behaviour.

Transcendental functions come from ``_vmath``: glibc's vector ``exp``/``log``/... where
available (the kernels' loops are vectorised around them), the scalar C library
elsewhere; ``SLOWER`` lists the kernels that lose to the reference path then. In
float32, formulas that measured faster with them call ``_f32math``'s ``exp``, ``log``
and ``log1p`` instead: Cephes' polynomials inlined into the loop. Float32 drivers are
compiled with vectors as wide as the registers hold (``_widened``), which LLVM would
otherwise size by the float64 sums and int64 counts in their loops.

Kernel modules register a *provider* per loss class: ``provider(loss)`` returns a
``Kernels`` (one callable per operation it supports) or None for parameters it does
not cover.

Threads: every driver is compiled twice from one Python function (``twins``): a serial
twin and a parallel one (numba ``prange``). ``dispatch`` runs the serial twin below
``settings.fast_parallel_min_size`` elements or when ``settings.fast_threads`` is 1.
A parallel call waits for its slowest thread; on a loaded machine that thread may be
descheduled for a whole time slice, which costs more than a serial pass over a
million elements (see ``benchmarks/oversubscription.py``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from losskit._config import settings

__all__ = ["Kernels", "Twins", "available", "cache_suffix", "dispatch", "jit", "provider",
           "twins"]

#: Modules holding kernels; imported (and numba with them) on the first dispatch.
KERNEL_MODULES: tuple[str, ...] = ("losskit._fast.regression", "losskit._fast.classification")

#: Kernels measured slower than the reference path, by (loss, link), where the kernels'
#: exp/log are the C library's scalar functions (``_vmath.ENABLED`` false: no glibc
#: libmvec): dispatch declines them then, unless ``settings.fast_force``. Measured on
#: the serial twins (n = 1e6, float64, interleaved medians of 9 and 15 rounds at load
#: average 1.1 and 0.4 on the 2-core development machine, 2026-11-26): numba's scalar
#: exp/log/tanh lose to NumPy's vectorised ones where a loss is dominated by them. A
#: kernel is used only where it took under 0.9 of the reference's time in both runs
#: (the ratios in the comments). With libmvec every kernel took 0.01 to 0.42 of the
#: reference's time (``python -m benchmarks.elementwise --quick --threads 1``, the
#: ``lk ref`` column, all three operations, float64, same machine, 2026-11-26).
SLOWER: dict[tuple[str, str], frozenset[str]] = {
    ("log_cosh", "identity"): frozenset({"gradient_hessian"}),  # 1.31, 1.76
    ("poisson", "log"): frozenset({"reduce", "values", "gradient_hessian"}),  # 0.80-1.09
    ("gamma", "log"): frozenset({"reduce", "values"}),  # 0.84-0.99
    ("tweedie", "log"): frozenset({"reduce", "values", "loss_gradient"}),  # 1.29-1.61
    ("binary_cross_entropy", "logit"): frozenset({"reduce", "values"}),  # 0.88-1.06
    ("binary_cross_entropy", "identity"): frozenset({"reduce", "values",
                                                     "loss_gradient"}),  # 1.14-1.57
}
#: What dispatch declines: ``SLOWER`` without vector math, nothing with it.
_declined: dict[tuple[str, str], frozenset[str]] = {}
_FIELD = {"mean": "reduce", "sum": "reduce", "none": "values", "gradient": "loss_gradient",
          "loss_gradient": "loss_gradient", "hessian": "gradient_hessian",
          "gradient_hessian": "gradient_hessian"}

_PROVIDERS: dict[type, Callable[[Any], Kernels | None]] = {}
_loaded = False
_numba_missing = False


@dataclass(frozen=True)
class Kernels:
    """Compiled kernels for one loss instance; each takes 1-D (or (n, K)) arrays.

    - ``reduce(p, y, w) -> (sum of w_i L_i, sum of w_i c_i, n_invalid)``
    - ``values(p, y, w, out) -> n_invalid`` (``w_i L_i`` into ``out``)
    - ``loss_gradient(p, y, w, out_value, out_gradient) -> n_invalid``
    - ``gradient_hessian(p, y, w, out_gradient, out_hessian) -> n_invalid``

    ``w`` is an empty array when there are no sample weights. Each also takes
    ``parallel=`` (keyword, default False): run the parallel twin of its driver.
    """

    reduce: Callable[..., tuple[float, float, int]] | None = None
    values: Callable[..., int] | None = None
    loss_gradient: Callable[..., int] | None = None
    gradient_hessian: Callable[..., int] | None = None
    multiclass: bool = False
    #: The compiled drivers (``Twins``) behind these kernels: losses that share one
    #: compile it once (``losskit._fast._compile`` groups them).
    drivers: tuple[Any, ...] = ()


def provider(cls: type) -> Callable[[Callable[[Any], Kernels | None]], Any]:
    """Register ``fn(loss) -> Kernels | None`` as the kernel provider of ``cls``."""

    def decorate(fn: Callable[[Any], Kernels | None]) -> Callable[[Any], Kernels | None]:
        _PROVIDERS[cls] = fn
        return fn

    return decorate


@dataclass(frozen=True)
class Twins:
    """A driver compiled serial and parallel; ``twins(parallel, *args)`` runs one."""

    serial: Callable[..., Any]
    parallel: Callable[..., Any]

    def __call__(self, parallel: bool, *args: Any) -> Any:
        return (self.parallel if parallel else self.serial)(*args)


def _renamed(function: Callable[..., Any], suffix: str) -> Callable[..., Any]:
    """A copy of ``function`` whose ``__qualname__`` ends in ``suffix``.

    numba names its cache files by qualified name; a copy under another name gets its
    own cache entry.
    """
    if not suffix:
        return function
    copy = types.FunctionType(function.__code__, function.__globals__,
                              function.__name__ + suffix, function.__defaults__,
                              function.__closure__)
    copy.__qualname__ = function.__qualname__ + suffix
    copy.__module__ = function.__module__
    copy.__doc__ = function.__doc__
    return copy


#: Modules that shape the kernels' machine code without numba seeing them (intrinsics,
#: inlined float32 math, and this module's ``_widened`` compile setting): numba
#: invalidates its cache only when a kernel's own source file changes.
_UNSEEN_SOURCES = ("__init__.py", "_vmath.py", "_sums.py", "_f32math.py")


@functools.cache
def cache_suffix() -> str:
    """What the cached kernels' names end in: ``_vmath.TAG`` and a digest of the sources.

    ``_vmath.TAG`` says which vector math the machine code calls (glibc's libmvec, or
    the scalar C library), so one setting never loads the other's code. The digest of
    ``_UNSEEN_SOURCES`` makes an edit to any of them compile anew: numba would
    otherwise load kernels compiled against the old intrinsics or settings.
    """
    from losskit._fast import _vmath

    digest = hashlib.blake2s(digest_size=4)
    for name in _UNSEEN_SOURCES:
        try:
            digest.update(Path(__file__).with_name(name).read_bytes())
        except OSError:  # installed without sources: the version says which code it is
            from losskit import __version__

            digest.update(__version__.encode())
    return f"{_vmath.TAG}_{digest.hexdigest()}"


def jit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(**options)``, cached under a name ending in ``cache_suffix()``."""
    import numba

    return lambda function: numba.njit(**options)(_renamed(function, cache_suffix()))


def twins(**options: Any) -> Callable[[Callable[..., Any]], Twins]:
    """Compile a driver twice with ``numba.njit(**options)``: ``parallel=False`` and True.

    In the serial twin ``prange`` is ``range``. The serial twin is compiled from a copy
    of the function under another ``__qualname__``: numba names its cache files by
    qualified name, and its cache key does not include the ``parallel`` flag, so two
    twins of one name would load each other's machine code. Both names end in
    ``cache_suffix()`` (see ``jit``). Each twin compiles on its first call.
    """
    import numba

    def compile_both(function: Callable[..., Any]) -> Twins:
        serial = _renamed(function, "_serial" + cache_suffix())
        parallel = _renamed(function, cache_suffix())
        return Twins(serial=_widened(numba.njit(parallel=False, **options)(serial)),
                     parallel=_widened(numba.njit(parallel=True, **options)(parallel)))

    return compile_both


def _widened(dispatcher: Any) -> Any:
    """``dispatcher``, compiling its float32 signatures with full-width vectors.

    LLVM's loop vectoriser sizes its vectors by the widest type a loop loads, stores or
    accumulates: a float32 loop that sums its terms in float64 (``_sums.accumulate``)
    or counts invalid samples in int64 runs its float32 arithmetic on half-width vectors
    (8 lanes with AVX-512, where 16 fit). The option ``-vectorizer-maximize-bandwidth``
    sizes them by the narrowest type instead; it is an LLVM-wide setting, so it is set
    only while a float32 signature of a driver compiles, under numba's compiler lock
    (no other compilation runs meanwhile), and reset to LLVM's default after.
    """
    from numba import types
    from numba.core.compiler_lock import global_compiler_lock

    compile_signature = dispatcher.compile

    def compile(signature: Any) -> Any:
        arguments = signature if isinstance(signature, tuple) else signature.args
        single = any(isinstance(a, types.Array) and a.dtype == types.float32
                     for a in arguments)
        if not single:
            return compile_signature(signature)
        import llvmlite.binding as ll

        with global_compiler_lock:
            ll.set_option("losskit", "-vectorizer-maximize-bandwidth=true")
            try:
                return compile_signature(signature)
            finally:
                ll.set_option("losskit", "-vectorizer-maximize-bandwidth=false")

    dispatcher.compile = compile
    return dispatcher


def available() -> bool:
    """Whether numba can be imported (the ``fast`` extra)."""
    _load()
    return not _numba_missing


def _load() -> None:
    global _loaded, _numba_missing
    if _loaded:
        return
    _loaded = True
    try:
        import numba  # noqa: F401
    except ImportError:
        _numba_missing = True
        return
    for name in KERNEL_MODULES:
        importlib.import_module(name)
    from losskit._fast import _vmath

    _declined.update({} if _vmath.ENABLED else SLOWER)


def kernels_for(loss: Any) -> Kernels | None:
    _load()
    if _numba_missing:
        return None
    make = _PROVIDERS.get(type(loss))
    return None if make is None else make(loss)


def _plain(array: Any, dtype: Any = None) -> bool:
    return (type(array) is np.ndarray and array.flags.c_contiguous
            and (dtype is None or array.dtype == dtype))


def dispatch(loss: Any, op: str, y_pred: Any, y_true: Any, sample_weight: Any, *,
             out: tuple[np.ndarray, ...] | None = None) -> Any:
    """The result of ``op`` by a fused kernel, or None to take the reference path.

    ``op`` is ``"mean"``, ``"sum"``, ``"none"``, ``"gradient"``, ``"hessian"``,
    ``"loss_gradient"`` or ``"gradient_hessian"``; results have the reference path's
    types, shapes and dtypes. ``out``: arrays for the results (as ``Loss.gradient``
    etc. take them, already checked for overlap); a kernel writes into them when they
    are C-contiguous with the results' shapes and dtype, else dispatch declines.
    """
    if loss.nan_policy != "raise" or not _plain(y_pred):
        return None
    if y_pred.ndim == 0 or y_pred.size == 0:  # the reference path raises for both
        return None
    dtype = y_pred.dtype
    if dtype not in (np.float32, np.float64) or not _plain(y_true):
        return None
    if sample_weight is not None and not _plain(sample_weight, dtype):
        return None
    kernels = kernels_for(loss)  # loads the kernel modules and fills _declined
    if kernels is None:
        return None
    if not settings.fast_force and _FIELD.get(op) in _declined.get((loss.name, loss.link.name),
                                                                    ()):
        return None
    if kernels.multiclass:
        if y_pred.ndim != 2 or y_true.shape != y_pred.shape[:1]:
            return None
        values_shape = y_pred.shape[:1]
    else:
        if y_true.shape != y_pred.shape or y_true.dtype != dtype:
            return None
        values_shape = y_pred.shape
    if sample_weight is not None and sample_weight.shape != values_shape[:1]:
        return None
    if y_pred.ndim != 1 and not kernels.multiclass:
        if sample_weight is not None:  # per-row weights over (n, L): not fused
            return None
        p, y = y_pred.reshape(-1), y_true.reshape(-1)
    else:
        p, y = y_pred, y_true
    w = np.empty(0, dtype=dtype) if sample_weight is None else sample_weight
    if out is not None and not _fits(op, out, y_pred.shape, values_shape, dtype):
        return None
    return _run(kernels, op, p, y, w, y_pred.shape, values_shape, dtype, out)


def _fits(op: str, out: tuple[np.ndarray, ...], shape: tuple[int, ...],
          values_shape: tuple[int, ...], dtype: Any) -> bool:
    """Whether ``out`` can take ``op``'s results as they are: else the reference path."""
    shapes = (values_shape, shape) if op == "loss_gradient" else (shape,) * len(out)
    return all(_plain(array, dtype) and array.shape == expected
               for array, expected in zip(out, shapes, strict=True))


def threads_for(size: int) -> int:
    """How many threads a kernel on ``size`` elements uses (1: the serial twin)."""
    if size < settings.fast_parallel_min_size or settings.fast_threads == 1:
        return 1  # before asking numba, which costs a microsecond
    numba = sys.modules["numba"]
    threads = settings.fast_threads or numba.get_num_threads()
    if threads <= 1:
        return 1
    return min(threads, numba.config.NUMBA_NUM_THREADS)


@contextlib.contextmanager
def _thread_count(threads: int) -> Iterator[bool]:
    """Whether to run parallel; numba's (thread-local) count set to ``threads`` meanwhile."""
    if threads == 1:
        yield False
        return
    numba = sys.modules["numba"]
    saved = numba.get_num_threads()
    if saved == threads:
        yield True
        return
    numba.set_num_threads(threads)
    try:
        yield True
    finally:
        numba.set_num_threads(saved)


def _run(kernels: Kernels, op: str, p: Any, y: Any, w: Any, shape: tuple[int, ...],
         values_shape: tuple[int, ...], dtype: Any,
         out: tuple[np.ndarray, ...] | None = None) -> Any:
    with _thread_count(threads_for(p.size)) as parallel:
        return _run_kernel(kernels, op, p, y, w, shape, values_shape, dtype, parallel, out)


def _run_kernel(kernels: Kernels, op: str, p: Any, y: Any, w: Any, shape: tuple[int, ...],
                values_shape: tuple[int, ...], dtype: Any, parallel: bool,
                out: tuple[np.ndarray, ...] | None = None) -> Any:
    if op in ("mean", "sum"):
        if kernels.reduce is None:
            return None
        total, weight_total, invalid = kernels.reduce(p, y, w, parallel=parallel)
        if invalid or (op == "mean" and not weight_total > 0):
            return None
        return dtype.type(total if op == "sum" else total / weight_total)
    # Elementwise kernels see flat arrays; multiclass kernels their (n, K) layout.
    def flat(array: Any) -> Any:
        return array if kernels.multiclass else array.reshape(-1)

    if op == "none":
        if kernels.values is None:
            return None
        values = np.empty(values_shape, dtype=dtype)
        return None if kernels.values(p, y, w, values.reshape(-1), parallel=parallel) else values

    def output(wanted: str, array_shape: tuple[int, ...]) -> Any:
        """``out``'s array for result ``wanted`` of ``op``, or a new one."""
        names = {"gradient": ("gradient",), "hessian": ("hessian",),
                 "loss_gradient": ("value", "gradient"),
                 "gradient_hessian": ("gradient", "hessian")}[op]
        if out is not None and wanted in names:
            return out[names.index(wanted)]
        return np.empty(array_shape, dtype=dtype)

    if op in ("gradient", "loss_gradient") and kernels.loss_gradient is not None:
        value = output("value", values_shape)
        gradient = output("gradient", shape)
        if kernels.loss_gradient(p, y, w, value.reshape(-1), flat(gradient),
                                  parallel=parallel):
            return None
        return gradient if op == "gradient" else (value, gradient)
    if op in ("hessian", "gradient_hessian") and kernels.gradient_hessian is not None:
        gradient = output("gradient", shape)
        hessian = output("hessian", shape)
        if kernels.gradient_hessian(p, y, w, flat(gradient), flat(hessian),
                                     parallel=parallel):
            return None
        return hessian if op == "hessian" else (gradient, hessian)
    return None
