r"""First and second derivatives of an element-wise function, for custom losses.

``derivatives(func, y_pred, y_true, order=..., engine=..., domain=...)`` differentiates
``func(y_pred, y_true, xp)``, which returns one value per entry of ``y_pred``. Because
entry ``i`` of the output depends on entry ``i`` of ``y_pred`` alone, the gradient of
the *sum* of the outputs is the per-entry derivative, and the gradient of the sum of
that derivative is the per-entry second derivative (the Hessian is diagonal). Every
engine uses this:

- ``"torch"``: ``torch.autograd.grad`` of the sum, and once more of the gradient's sum
  (a torch ``y_pred`` that requires grad keeps its graph: the derivatives are
  themselves differentiable);
- ``"jax"``: ``jax.grad`` of the sum, and the second derivative as the forward-mode
  derivative of that gradient along a vector of ones (``jax.jvp``, ``H 1 = diag H``);
  it traces, so it works under ``jax.jit``;
- ``"numerical"``: the fallback without jax or torch (NumPy, float64): 4th-order
  central differences with a step ``eps^(1/5) max(1, |y_pred|)`` (``eps^(1/6)`` for
  the second derivative), shrunk near a finite end of ``domain`` and one-sided at a
  closed end (``_Steps``). Where
  ``func`` accepts complex input, the complex step ``Im f(x + ih) / h`` (no
  cancellation, exact to rounding) is used wherever it agrees with the differences:
  a non-analytic ``func`` (``abs``, comparisons on the imaginary part) gives a wrong
  complex step, and the agreement test throws it out.

Torch and JAX inputs are differentiated by their own library, on their device and in
their dtype. Other inputs (NumPy, array_api_strict, CuPy) go through NumPy float64 to
``engine`` (JAX under ``enable_x64``, or torch float64) and come back in the caller's
library, device and dtype; Dask arrays block by block (exact, as ``func`` is
element-wise).
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from array_api_compat import (
    array_namespace,
    device,
    is_dask_array,
    is_jax_array,
    is_torch_array,
)

from losskit.links import Interval

__all__ = ["derivatives", "engine_for", "installed_engine"]

#: ``func(y_pred, y_true, xp)`` -> one value per entry of ``y_pred``.
Elementwise = Callable[[Any, Any, Any], Any]

EPS = float(np.finfo(np.float64).eps)
#: Steps balancing truncation (h^4) against rounding (eps/h, eps/h^2).
FIRST_STEP = EPS ** (1 / 5)
SECOND_STEP = EPS ** (1 / 6)
#: Relative agreement a complex-step derivative needs with the differences to be used.
AGREEMENT = 1e-6


def installed_engine() -> str | None:
    """``"jax"`` or ``"torch"`` (preferred in that order) where installed, else None."""
    for name in ("jax", "torch"):
        if name in sys.modules or importlib.util.find_spec(name) is not None:
            return name
    return None


def engine_for(y_pred: Any) -> str:
    """The engine that differentiates for inputs like ``y_pred``."""
    if is_torch_array(y_pred):
        return "torch"
    if is_jax_array(y_pred):
        return "jax"
    return installed_engine() or "numerical"


def derivatives(
    func: Elementwise, y_pred: Any, y_true: Any, *, order: int, engine: str, domain: Interval
) -> tuple[Any, Any]:
    """``(d func / d y_pred, d2 func / d y_pred2 or None)`` entry by entry (``order`` 1 or 2).

    The result is in ``y_pred``'s library, device and dtype.
    """
    if engine == "torch" and is_torch_array(y_pred):
        return _torch_derivatives(func, y_pred, y_true, order)
    if engine == "jax" and is_jax_array(y_pred):
        return _jax_derivatives(func, y_pred, y_true, order)

    def on_numpy(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, Any]:
        return _numpy_derivatives(func, pred, target, order, engine, domain)

    if is_dask_array(y_pred):
        return _on_dask_blocks(on_numpy, y_pred, y_true, order)
    first, second = on_numpy(_to_float64(y_pred), _to_float64(y_true))
    return _back(first, y_pred), None if second is None else _back(second, y_pred)


# ------------------------------------------------------------------ torch
def _torch_derivatives(func: Elementwise, y_pred: Any, y_true: Any, order: int
                       ) -> tuple[Any, Any]:
    import torch

    xp = array_namespace(y_pred)
    # Autograd must run even when the caller is under no_grad or inference_mode.
    with torch.inference_mode(False), torch.enable_grad():
        keep_graph = bool(y_pred.requires_grad)
        if keep_graph:
            leaf = y_pred
        else:
            leaf = y_pred.detach()
            if leaf.is_inference():
                leaf = leaf.clone()
            leaf.requires_grad_(True)
        target = y_true.clone() if y_true.is_inference() else y_true
        values = func(leaf, target, xp)
        first = _torch_grad_of_sum(torch, values, leaf, keep_graph or order == 2)
        second = None
        if order == 2:
            second = _torch_grad_of_sum(torch, first, leaf, keep_graph)
    if not keep_graph:
        first = first.detach()
        second = None if second is None else second.detach()
    return first, second


def _torch_grad_of_sum(torch: Any, values: Any, leaf: Any, create_graph: bool) -> Any:
    if not values.requires_grad:  # does not depend on y_pred (piecewise constant)
        return torch.zeros_like(leaf)
    (grad,) = torch.autograd.grad(values.sum(), leaf, create_graph=create_graph,
                                  allow_unused=True)
    if grad is None or grad._is_zerotensor():
        # Autograd's lazy ZeroTensor cannot become a NumPy array: give a real one.
        return torch.zeros_like(leaf)
    return grad


# -------------------------------------------------------------------- jax
def _jax_derivatives(func: Elementwise, y_pred: Any, y_true: Any, order: int
                     ) -> tuple[Any, Any]:
    import jax
    import jax.numpy as jnp

    xp = array_namespace(y_pred)

    def total(pred: Any) -> Any:
        return jnp.sum(func(pred, y_true, xp))

    gradient = jax.grad(total)
    if order == 1:
        return gradient(y_pred), None
    # Forward over reverse: the directional derivative of the gradient along ones is
    # H 1, the diagonal of the (diagonal) Hessian.
    first, second = jax.jvp(gradient, (y_pred,), (jnp.ones_like(y_pred),))
    return first, second


@contextlib.contextmanager
def _jax_float64() -> Iterator[None]:
    import jax

    enable = getattr(jax, "enable_x64", None)
    if enable is None:  # jax < 0.7 has it in experimental
        enable = getattr(getattr(jax, "experimental", None), "enable_x64", None)
    if enable is None:  # pragma: no cover - no such context in this jax
        yield
        return
    with enable(True):
        yield


# ------------------------------------------------------- through NumPy float64
def _numpy_derivatives(func: Elementwise, pred: np.ndarray, target: np.ndarray, order: int,
                       engine: str, domain: Interval) -> tuple[np.ndarray, Any]:
    if engine == "jax":
        import jax.numpy as jnp

        with _jax_float64():
            first, second = _jax_derivatives(func, jnp.asarray(pred), jnp.asarray(target),
                                             order)
            return np.asarray(first), None if second is None else np.asarray(second)
    if engine == "torch":
        import torch

        first, second = _torch_derivatives(func, torch.from_numpy(pred),
                                           torch.from_numpy(target), order)
        return first.numpy(), None if second is None else second.numpy()
    return numerical_derivatives(func, pred, target, order, domain)


def _to_float64(array: Any) -> np.ndarray:
    if hasattr(array, "detach"):  # pragma: no cover - torch takes its own route
        array = array.detach().cpu()
    elif hasattr(array, "get") and not isinstance(array, np.ndarray):  # cupy
        array = array.get()
    try:
        out = np.asarray(array)
    except (TypeError, ValueError, RuntimeError):  # libraries that only offer dlpack
        out = np.from_dlpack(array)
    return np.ascontiguousarray(out, dtype=np.float64)


def _back(result: np.ndarray, like: Any) -> Any:
    xp = array_namespace(like)
    array = xp.asarray(result, device=device(like))
    return array if array.dtype == like.dtype else xp.astype(array, like.dtype)


def _on_dask_blocks(on_numpy: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, Any]],
                    y_pred: Any, y_true: Any, order: int) -> tuple[Any, Any]:
    import dask.array as da

    dtype = y_pred.dtype

    def block(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        first, second = on_numpy(np.asarray(pred, dtype=np.float64),
                                 np.asarray(target, dtype=np.float64))
        parts = [first] if second is None else [first, second]
        return np.stack(parts, axis=-1).astype(dtype)

    stacked = da.map_blocks(block, y_pred, y_true, dtype=dtype, new_axis=y_pred.ndim,
                            chunks=(*y_pred.chunks, (order,)))
    first = stacked[..., 0]
    return first, (stacked[..., 1] if order == 2 else None)


# -------------------------------------------------------------- numerical
def numerical_derivatives(func: Elementwise, pred: np.ndarray, target: np.ndarray,
                          order: int, domain: Interval) -> tuple[np.ndarray, Any]:
    """Finite differences (and the complex step where valid) in NumPy float64."""
    xp = array_namespace(pred)

    def values(point: np.ndarray) -> np.ndarray:
        return np.asarray(func(point, target, xp), dtype=np.float64)

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the user's func at shifted or complex points
        steps = _Steps(pred, FIRST_STEP, domain)
        first = steps.first_difference(values)
        exact_first = _complex_step(func, pred, target, xp)
        if exact_first is not None:
            first = _prefer(exact_first, first)
        if order == 1:
            return first, None
        second = _Steps(pred, SECOND_STEP, domain).second_difference(values)
        if exact_first is not None:
            def complex_gradient(point: np.ndarray) -> np.ndarray:
                result = _complex_step(func, point, target, xp)
                return np.full(point.shape, np.nan) if result is None else result

            second = _prefer(steps.first_difference(complex_gradient), second)
    return first, second


def _complex_step(func: Elementwise, point: np.ndarray, target: np.ndarray, xp: Any
                  ) -> np.ndarray | None:
    """``Im func(q + ih) / h``, or None where ``func`` rejects complex input."""
    step = 1e-20 * np.maximum(1.0, np.abs(point))
    try:
        out = np.asarray(func(point + 1j * step, target, xp))
    except Exception:  # any failure means: not usable with complex numbers
        return None
    if out.shape != point.shape or not np.iscomplexobj(out):
        return None
    return np.asarray(np.imag(out) / step, dtype=np.float64)


def _prefer(accurate: Any, reference: np.ndarray) -> np.ndarray:
    """``accurate`` where it agrees with ``reference`` (finite differences), else the latter."""
    if accurate is None:
        return reference
    scale = float(np.max(np.abs(reference), initial=0.0, where=np.isfinite(reference)))
    tolerance = AGREEMENT * (np.abs(reference) + 1e-6 * scale)
    agree = np.isfinite(accurate) & (np.abs(accurate - reference) <= tolerance)
    return np.where(agree, accurate, reference)


class _Steps:
    """Per-entry steps and 4th-order stencils that stay inside ``domain``.

    The step is ``relative * max(1, |y_pred|)``, and at most ``relative`` times the
    distance to the nearest finite end of the domain: a loss singular at the end
    (``log y_pred``) varies on the scale of that distance, and the central stencil,
    reaching ``2h`` each side, then stays inside. At a closed end itself the stencil is
    one-sided, towards the inside (reaching ``5h``).
    """

    CENTRAL_FIRST = ((-2, 1.0), (-1, -8.0), (1, 8.0), (2, -1.0))
    CENTRAL_SECOND = ((-2, -1.0), (-1, 16.0), (0, -30.0), (1, 16.0), (2, -1.0))
    SIDE_FIRST = ((0, -25.0), (1, 48.0), (2, -36.0), (3, 16.0), (4, -3.0))
    SIDE_SECOND = ((0, 45.0), (1, -154.0), (2, 214.0), (3, -156.0), (4, 61.0), (5, -10.0))

    def __init__(self, pred: np.ndarray, relative: float, domain: Interval) -> None:
        scale = np.maximum(1.0, np.abs(pred))
        below = pred - domain.low
        above = domain.high - pred
        near, far = np.minimum(below, above), np.maximum(below, above)
        self.pred = pred
        self.central = near > 0
        self.direction = np.where(above >= below, 1.0, -1.0)
        self.step = relative * np.where(self.central, np.minimum(scale, near),
                                        np.minimum(scale, far / 6.0))

    def _apply(self, func: Callable[[np.ndarray], Any], central: tuple[tuple[int, float], ...],
               side: tuple[tuple[int, float], ...], power: int) -> np.ndarray:
        pred, h, mask = self.pred, self.step, self.central
        total = np.zeros(pred.shape)
        for k, c in central:
            total = total + c * np.asarray(func(np.where(mask, pred + k * h, pred)))
        result = total / (12.0 * h**power)
        if np.all(mask):
            return result
        signed = self.direction * h
        total = np.zeros(pred.shape)
        for k, c in side:
            total = total + c * np.asarray(func(np.where(mask, pred, pred + k * signed)))
        return np.where(mask, result, total / (12.0 * signed**power))

    def first_difference(self, func: Callable[[np.ndarray], Any]) -> np.ndarray:
        return self._apply(func, self.CENTRAL_FIRST, self.SIDE_FIRST, 1)

    def second_difference(self, func: Callable[[np.ndarray], Any]) -> np.ndarray:
        return self._apply(func, self.CENTRAL_SECOND, self.SIDE_SECOND, 2)
