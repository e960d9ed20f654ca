"""Fitting on Dask arrays chunked by rows: statistics per block, the optimiser local.

Every evaluation of the objective maps ``block_stats`` over the row blocks of ``X``
(and the matching blocks of ``y`` and ``sample_weight``): each task returns the
block's loss sum, ``X_b^T g_b`` and, for Newton, ``X_b^T diag(h_b) X_b`` — arrays of
size ``d`` or ``d^2`` — and the driver adds them. No step brings the rows into the
driver's memory, and a block whose worker dies is recomputed from the graph by
Dask's scheduler (the data must therefore come from a graph, not from state held by
one worker). With a ``dask.distributed`` client active, the tasks run on its cluster.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losskit.core import Loss
from losskit.linear_model._problem import DataStats, block_stats

__all__ = ["DaskData", "dask_data"]

#: Rows of the leading blocks used to choose the starting intercept.
START_ROWS = 100_000


class DaskData:
    """Row blocks of a Dask design with the matching targets and weights."""

    def __init__(self, X: Any, y: Any, weight: Any, loss: Loss, denominator: float) -> None:
        self.X_blocks = X.to_delayed().ravel().tolist()
        self.y_blocks = y.to_delayed().ravel().tolist()
        self.w_blocks = (weight.to_delayed().ravel().tolist() if weight is not None
                         else [None] * len(self.X_blocks))
        self.loss = loss
        self.denominator = denominator
        self.n_samples, self.n_features = (int(s) for s in X.shape)

    def stats(self, coef: np.ndarray, intercept: np.ndarray, order: int) -> DataStats:
        import dask

        parts = [dask.delayed(_checked_block_stats, pure=True)(
                     xb, yb, wb, self.loss, coef, intercept, order, self.denominator)
                 for xb, yb, wb in zip(self.X_blocks, self.y_blocks, self.w_blocks,
                                               strict=True)]
        results = dask.compute(*parts)
        value = float(sum(r.value for r in results))
        if order == 0:
            return DataStats(value)
        grad_coef = sum(r.grad_coef for r in results)
        grad_intercept = sum(r.grad_intercept for r in results)
        hessian = sum(r.hessian for r in results) if order >= 2 else None
        return DataStats(value, np.asarray(grad_coef), np.asarray(grad_intercept),
                         None if hessian is None else np.asarray(hessian))


def _checked_block_stats(X: np.ndarray, y: np.ndarray, w: np.ndarray | None, loss: Loss,
                         coef: np.ndarray, intercept: np.ndarray, order: int,
                         denominator: float) -> DataStats:
    X = np.asarray(X, dtype=np.float64)
    if not np.all(np.isfinite(X)):
        raise ValueError("X must be finite; a block of the Dask array holds NaN or inf")
    return block_stats(X, np.asarray(y, dtype=np.float64), w, loss, coef, intercept, order,
                       denominator)


def dask_data(X: Any, y: Any, loss: Loss, sample_weight: Any,
              fit_intercept: bool) -> tuple[DaskData, None, None, int, np.ndarray]:
    """Validate Dask inputs; return the data source, the output count and the start."""
    import dask
    import dask.array as da

    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features); got {X.ndim} dimensions")
    if any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError("X has unknown chunk sizes; call X.compute_chunk_sizes() first")
    X = X.rechunk({1: -1})  # blocks by rows only: each block holds whole rows
    rows = X.chunks[0]
    target = _as_dask(y, rows, "y", da)
    if target.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {target.shape[0]} entries; "
                         "they must match")
    weight = None if sample_weight is None else _as_dask(sample_weight, rows,
                                                         "sample_weight", da)
    if weight is not None and weight.shape != (X.shape[0],):
        raise ValueError(f"sample_weight must have shape ({X.shape[0]},); got {weight.shape}")
    if target.ndim != (2 if loss.multiclass and target.ndim == 2 else 1):
        raise ValueError(f"y must be 1-D for '{loss.name}'; got shape {target.shape}")

    head = _leading_rows(target, weight)
    n_outputs = 1
    if loss.multiclass:
        n_outputs = (int(target.shape[1]) if target.ndim == 2
                     else int(dask.compute(da.max(target))[0]) + 1)
    # The denominator of the weighted mean: sum_i w_i c_i, blockwise.
    parts = [dask.delayed(_block_denominator, pure=True)(yb, wb, loss, n_outputs)
             for yb, wb in zip(target.to_delayed().ravel(),
                               (weight.to_delayed().ravel() if weight is not None
                                else [None] * len(rows)), strict=True)]
    denominator = float(sum(dask.compute(*parts)))
    if not denominator > 0:
        raise ValueError("sample_weight must not sum to zero")
    from losskit.linear_model import _start

    start = _start(loss, head[0], head[1], n_outputs, fit_intercept)
    return DaskData(X, target, weight, loss, denominator), None, None, n_outputs, start


def _as_dask(values: Any, rows: tuple[int, ...], name: str, da: Any) -> Any:
    if isinstance(values, da.Array):
        if values.ndim == 0:
            raise ValueError(f"{name} must have one entry per row; got a scalar")
        return values.rechunk({0: rows, **({1: -1} if values.ndim == 2 else {})})
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 0 or array.shape[0] != sum(rows):
        raise ValueError(f"X has {sum(rows)} rows but {name} has "
                         f"{array.shape[0] if array.ndim else 'no'} entries; they must match")
    return da.from_array(array, chunks=(rows, *array.shape[1:]))


def _leading_rows(target: Any, weight: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Targets (and weights) of the first blocks, up to ``START_ROWS`` rows."""
    import dask

    rows = 0
    for size in target.chunks[0]:
        rows += size
        if rows >= START_ROWS:
            break
    head_y = target[:rows]
    head_w = weight[:rows] if weight is not None else None
    computed = dask.compute(head_y, head_w) if head_w is not None else (
        dask.compute(head_y)[0], None)
    y_head = np.asarray(computed[0], dtype=np.float64)
    w_head = None if computed[1] is None else np.asarray(computed[1], dtype=np.float64)
    return y_head, w_head


def _block_denominator(y: np.ndarray, w: np.ndarray | None, loss: Loss,
                       n_outputs: int) -> float:
    y = np.asarray(y, dtype=np.float64)
    if y.shape[0] == 0:
        return 0.0
    if not np.all(np.isfinite(y)):
        raise ValueError("y must be finite; a block of the Dask array holds NaN or inf")
    shape = (y.shape[0], n_outputs) if loss.multiclass else y.shape
    batch = loss._prepare(np.zeros(shape), y, w)
    normalizer = loss._normalizer(np, batch.y_true)
    ones = np.ones(y.shape[0]) if normalizer is None else np.asarray(normalizer, float)
    return float(np.sum(ones if w is None else ones * np.asarray(w, float)))
