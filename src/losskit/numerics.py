r"""Numerically stable primitives over any array namespace.

Every trick that keeps a loss finite at extreme inputs lives here and nowhere else.
Each function takes an array of any array-API library (NumPy, PyTorch, JAX, CuPy,
Dask, array_api_strict) and returns one of the same library; the namespace comes
from the input unless ``xp`` is given. No branch ever evaluates an expression that
overflows, so NumPy raises no ``RuntimeWarning`` even for ``±1e308``.

The formulas and their cut-offs:

- ``softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^{-|x|})``: ``e^{-|x|} <= 1``
  never overflows, and each branch is accurate to a few ulp.
- ``log_sigmoid(x) = -softplus(-x)``.
- ``expit(x)``: ``1 / (1 + e^{-x})`` for ``x >= 0``, ``e^x / (1 + e^x)`` otherwise.
- ``log_cosh(x)``: ``log1p(2 sinh(x/2)^2)`` for ``|x| < 1`` (no cancellation near 0),
  ``|x| + softplus(-2|x|) - log 2`` for ``1 <= |x| <= 20`` and ``|x| - log 2`` beyond,
  where ``softplus(-2|x|) < 2^-57 |x|`` (Keras writes the middle form).
- ``logsumexp``: the max is subtracted and the max term's exact 1 is split off, so
  ``log1p`` keeps full relative accuracy when one term dominates.
- ``log1mexp(x) = log(1 - e^x)`` for ``x <= 0``: Mächler (2012), "Accurately computing
  log(1 - exp(-|a|))", switching between ``log(-expm1(x))`` and ``log1p(-e^x)`` at
  ``-log 2``.
"""

from __future__ import annotations

import math
from typing import Any

from losskit._array import namespace

__all__ = [
    "expit",
    "log1mexp",
    "log_cosh",
    "log_sigmoid",
    "log_softmax",
    "log_softplus",
    "log1pexp",
    "logsumexp",
    "softmax",
    "softplus",
    "xlogy",
]

_LOG2 = math.log(2.0)


def softplus(x: Any, /, *, xp: Any = None) -> Any:
    """``log(1 + exp(x))`` without overflow or loss of relative accuracy."""
    xp = namespace(x) if xp is None else xp
    return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))


log1pexp = softplus


def log_sigmoid(x: Any, /, *, xp: Any = None) -> Any:
    """``log(expit(x)) = -softplus(-x)``; finite for every finite ``x``."""
    xp = namespace(x) if xp is None else xp
    return -softplus(-x, xp=xp)


def expit(x: Any, /, *, xp: Any = None) -> Any:
    """The logistic sigmoid ``1 / (1 + exp(-x))``, accurate in both tails."""
    xp = namespace(x) if xp is None else xp
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def log_softplus(x: Any, /, *, xp: Any = None) -> Any:
    """``log(softplus(x))``, finite where ``softplus(x)`` underflows.

    For ``x < -37``, ``softplus(x) = e^x (1 - e^x/2 + ...)`` and ``e^x / 2 < 2^-54``,
    so ``log(softplus(x))`` rounds to ``x``.
    """
    xp = namespace(x) if xp is None else xp
    tail = x < -37.0
    safe = xp.where(tail, 0.0, x)
    return xp.where(tail, x, xp.log(softplus(safe, xp=xp)))


def log_cosh(x: Any, /, *, xp: Any = None) -> Any:
    """``log(cosh(x))`` with full relative accuracy from subnormals to ``±1e308``."""
    xp = namespace(x) if xp is None else xp
    a = xp.abs(x)
    small = a < 1.0
    large = a > 20.0
    a_small = xp.where(small, a, 0.0)
    a_mid = xp.where(small | large, 1.0, a)
    s = xp.sinh(0.5 * a_small)
    near_zero = xp.log1p(2.0 * s * s)
    middle = a_mid + softplus(-2.0 * a_mid, xp=xp) - _LOG2
    return xp.where(small, near_zero, xp.where(large, a - _LOG2, middle))


def xlogy(x: Any, y: Any, /, *, xp: Any = None) -> Any:
    """``x * log(y)``, defined as 0 where ``x == 0`` (also for ``y == 0``)."""
    xp = namespace(x, y) if xp is None else xp
    zero = x == 0
    return xp.where(zero, 0.0, x * xp.log(xp.where(zero, 1.0, y)))


def log1mexp(x: Any, /, *, xp: Any = None) -> Any:
    """``log(1 - exp(x))`` for ``x <= 0`` (Mächler 2012); ``-inf`` at ``x = 0``."""
    xp = namespace(x) if xp is None else xp
    near_zero = x > -_LOG2
    x_near = xp.where(near_zero, x, -1.0)
    x_far = xp.where(near_zero, -1.0, x)
    # -expm1(0) == 0 -> log(0) = -inf is the right limit; keep it warning-free.
    m = -xp.expm1(x_near)
    at_zero = m == 0
    near = xp.where(at_zero, -math.inf, xp.log(xp.where(at_zero, 1.0, m)))
    return xp.where(near_zero, near, xp.log1p(-xp.exp(x_far)))


def logsumexp(x: Any, /, *, axis: int = -1, keepdims: bool = False, xp: Any = None) -> Any:
    """``log(sum(exp(x), axis))`` with the max subtracted and its 1 split off exactly.

    Writing the sum as ``1 + s`` (``s`` = the other terms, relative to the max) and
    taking ``log1p(s)`` keeps full relative accuracy when one term dominates, e.g.
    ``logsumexp([0, -40]) = 4.25e-18`` rather than 0. Rows that are all ``-inf``
    give ``-inf``.
    """
    xp = namespace(x) if xp is None else xp
    m = xp.max(x, axis=axis, keepdims=True)
    finite = xp.isfinite(m)
    m_safe = xp.where(finite, m, 0.0)
    k = x.shape[axis]
    index = xp.argmax(x, axis=axis, keepdims=True)
    positions = xp.reshape(xp.arange(k), (k,) + (1,) * (x.ndim - 1 - (axis % x.ndim)))
    is_max = positions == index
    others = xp.sum(xp.where(is_max, 0.0, xp.exp(x - m_safe)), axis=axis, keepdims=True)
    # Rows that hold +inf give +inf; all -inf rows give -inf.
    out = xp.where(finite, m_safe + xp.log1p(others), m)
    return out if keepdims else xp.squeeze(out, axis=axis)


def log_softmax(x: Any, /, *, axis: int = -1, xp: Any = None) -> Any:
    """``x - logsumexp(x)`` along ``axis``."""
    xp = namespace(x) if xp is None else xp
    return x - logsumexp(x, axis=axis, keepdims=True, xp=xp)


def softmax(x: Any, /, *, axis: int = -1, xp: Any = None) -> Any:
    """``exp(x) / sum(exp(x))`` along ``axis``, computed with the max subtracted."""
    xp = namespace(x) if xp is None else xp
    m = xp.max(x, axis=axis, keepdims=True)
    e = xp.exp(x - xp.where(xp.isfinite(m), m, 0.0))
    return e / xp.sum(e, axis=axis, keepdims=True)
