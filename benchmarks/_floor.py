"""Memory floors: the time to move an operation's bytes and do no arithmetic.

An elementwise loss on ``10^7`` elements is bound by memory bandwidth, so the useful
yardstick is not another library but how close a call comes to streaming its bytes.
Measured in the same run, on the same arrays, as the competitors:

- **read floor** (for ``value``): one pass that reads every element of ``y_pred`` and of
  ``y_true`` (int64 labels for cross-entropy) exactly once and adds them into a float64
  sum: the bytes any mean must read. Parallel over numba's default thread count, with
  ``fastmath`` so that the sum is vectorised.
- **read+write floor** (for ``gradient_hessian`` and ``loss_gradient``): allocates the
  two outputs with ``np.empty`` (as every competitor must: their API returns new
  arrays, and first-touch page faults are part of that cost), then one parallel pass
  that reads ``y_pred`` and ``y_true`` once and writes each output element once
  (``a + b`` and ``a - b``). Outputs have the operation's shapes: two arrays like
  ``y_pred`` for ``gradient_hessian``; per-sample values and a gradient like ``y_pred``
  for ``loss_gradient`` (for cross-entropy ``(n,)`` and ``(n, K)``).

Without numba the floors fall back to NumPy (``np.sum``, ``np.add(..., out=)``), one
thread, and say so (``FLOOR_ENGINE``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks._harness import Impl

__all__ = ["FLOOR_ENGINE", "floor_impl"]


def _read_numpy(a: Any, b: Any) -> float:
    return float(np.sum(a, dtype=np.float64) + np.sum(b, dtype=np.float64))


def _read_write_flat_numpy(a: Any, b: Any, first: Any, second: Any) -> None:
    np.add(a, b, out=first)
    np.subtract(a, b, out=second)


def _read_write_rows_numpy(a: Any, b: Any, first: Any, second: Any) -> None:
    np.subtract(a, b[:, None], out=second)
    if first.shape[1] == 1:
        np.sum(a, axis=1, keepdims=True, out=first)
        first += b[:, None]
    else:
        np.add(a, b[:, None], out=first)


_read: Callable[[Any, Any], float] = _read_numpy
_read_write_flat: Callable[[Any, Any, Any, Any], None] = _read_write_flat_numpy
_read_write_rows: Callable[[Any, Any, Any, Any], None] = _read_write_rows_numpy
FLOOR_ENGINE = "numpy (numba missing: one thread)"

if importlib.util.find_spec("numba") is not None:
    import numba

    @numba.njit(parallel=True, fastmath=True, cache=True)
    def _read_numba(a: Any, b: Any) -> float:  # pragma: no cover - compiled
        total = 0.0
        for i in numba.prange(a.size):
            total += a[i]
        labels = 0.0
        for i in numba.prange(b.size):
            labels += b[i]
        return total + labels

    @numba.njit(parallel=True, fastmath=True, cache=True)
    def _read_write_flat_numba(a: Any, b: Any, first: Any, second: Any) -> None:  # pragma: no cover
        for i in numba.prange(a.size):
            first[i] = a[i] + b[i]
            second[i] = a[i] - b[i]

    @numba.njit(parallel=True, fastmath=True, cache=True)
    def _read_write_rows_numba(a: Any, b: Any, first: Any, second: Any) -> None:  # pragma: no cover
        # a (n, K), b (n,), second (n, K); first (n, K), or (n, 1) for per-row values.
        for i in numba.prange(a.shape[0]):
            bi = b[i]
            row = bi
            for j in range(a.shape[1]):
                row += a[i, j]
                second[i, j] = a[i, j] - bi
            if first.shape[1] == 1:
                first[i, 0] = row
            else:
                for j in range(a.shape[1]):
                    first[i, j] = a[i, j] + bi

    _read = _read_numba
    _read_write_flat = _read_write_flat_numba
    _read_write_rows = _read_write_rows_numba
    FLOOR_ENGINE = "numba"


def _output_shapes(op: str, shape: tuple[int, ...], multiclass: bool) -> tuple[tuple[int, ...],
                                                                              tuple[int, ...]]:
    if op == "loss_gradient" and multiclass:
        return (shape[0], 1), shape  # values (n,), kept 2-D for the kernel
    return shape, shape


def floor_impl(op: str, multiclass: bool) -> Impl:
    """The floor for ``op``: the read floor for ``value``, read+write for the others."""
    if op == "value":
        def read(a: Any, b: Any) -> float:
            return _read(a.reshape(-1), b)

        return Impl(read, note="read y_pred and y_true once")

    def read_write(a: Any, b: Any) -> tuple[Any, Any]:
        first_shape, second_shape = _output_shapes(op, a.shape, multiclass)
        first = np.empty(first_shape, dtype=a.dtype)
        second = np.empty(second_shape, dtype=a.dtype)
        kernel: Callable[..., None] = _read_write_rows if multiclass else _read_write_flat
        kernel(a, b, first, second)
        return first, second

    return Impl(read_write, note="read the inputs once, write two new outputs once")
