r"""Numerically stable primitives over any array namespace.

Every trick that keeps a loss finite at extreme inputs lives here and nowhere else.
Each function takes an array of any array-API library (NumPy, PyTorch, JAX, CuPy,
Dask, array_api_strict) and returns one of the same library; the namespace comes
from the input unless ``xp`` is given. No branch ever evaluates an expression that
overflows, so NumPy raises no ``RuntimeWarning`` even for ``±1e308``.

>>> import numpy as np
>>> from losskit import numerics
>>> float(numerics.softplus(np.float64(1000.0)))  # log(1 + e^1000), no overflow
1000.0
>>> float(numerics.logsumexp(np.array([0.0, -40.0])))  # the naive form gives 0.0
4.248354255291589e-18

The formulas and their cut-offs:

- ``softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^{-|x|})``: ``e^{-|x|} <= 1``
  never overflows, and each branch is accurate to a few ulp.
- ``log_sigmoid(x) = -softplus(-x)``.
- ``expit(x)``: ``1 / (1 + e^{-x})`` for ``x >= 0``, ``e^x / (1 + e^x)`` otherwise.
- ``log_cosh(x)``: ``log1p(2 sinh(x/2)^2)`` for ``|x| < 1`` (no cancellation near 0),
  ``|x| + softplus(-2|x|) - log 2`` for ``1 <= |x| <= 20`` and ``|x| - log 2`` beyond,
  where ``softplus(-2|x|) < 2^-57 |x|`` (Keras writes the middle form).
- ``log_softplus(x) = log(softplus(x))``: ``x`` for ``x < -37``; near the root
  ``x0 = log(e - 1)`` (where ``softplus = 1``) ``log`` would turn ulp errors into
  large relative errors, so for ``-0.5 < x < 2`` it is
  ``log1p(log1p((1 - 1/e) expm1(x - x0)))``, exact algebra since
  ``e^x - (e - 1) = (e - 1) expm1(x - x0)``, with ``x0`` split into a head and tail
  per dtype so ``x - x0`` is accurate to the last bit.
- ``xlogy(x, y) = x log(y)``: 0 where ``x == 0``, ``-sign(x) inf`` where ``y == 0``; the
  product is formed as ``(x 2^-10) log(y)`` first (cannot overflow, as
  ``|log y| < 2^10``) to tell exactly where ``x log(y)`` overflows to ``±inf``.
- ``logsumexp``, ``log_softmax``, ``softmax`` along an axis, with ``m`` the max and
  ``d = x - m``: ``d`` is ``-inf`` where it would overflow (``[1e308, -1e308]``),
  found from ``x/2 - m/2``, which cannot. The max term's exact 1 is split off the sum,
  ``s = sum_{i != argmax} e^{d_i}``, so ``logsumexp = m + log1p(s)`` keeps full
  relative accuracy when one term dominates and ``log_softmax = d - log1p(s)`` adds
  two numbers of one sign (``x - logsumexp(x)`` cancels for the max element).
  The terms are ``e^d (1 + err)`` with ``err`` the exact rounding error of ``x - m``
  (Knuth's TwoSum): ``exp`` magnifies an absolute error in ``d`` by ``|d|``, which
  would cost ``softmax([957.4, 279.5])[1]`` 256 ulp. ``err`` is linear in ``x`` with
  zero derivative, so autograd is unaffected.
- ``log1mexp(x) = log(1 - e^x)`` for ``x <= 0``: Mächler (2012), "Accurately computing
  log(1 - exp(-|a|))", switching between ``log(-expm1(x))`` and ``log1p(-e^x)`` at
  ``-log 2``.
"""

from __future__ import annotations

import math
from typing import Any

from array_api_compat import device

from losskit._array import namespace

__all__ = [
    "expit",
    "log1mexp",
    "log1pexp",
    "log_cosh",
    "log_sigmoid",
    "log_softmax",
    "log_softplus",
    "logsumexp",
    "softmax",
    "softplus",
    "xlogy",
]

_LOG2 = math.log(2.0)
# x0 = log(e - 1) = 0.54132485461291810897835635493267... (mpmath, 50 digits), the root
# of log_softplus, as head + tail for float64 and float32; and 1 - 1/e.
_LOG_E_MINUS_1 = {64: (0.5413248546129181, -1.8138570925507326e-17),
                  32: (0.5413248538970947, 7.158234005544273e-10)}
_ONE_MINUS_INV_E = 0.6321205588285577


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
    # e^{-|x|}, with -|x| written as a where: autograd's d|x|/dx = 0 at x = 0 would
    # make the gradient there 0 instead of 1/4.
    e = xp.exp(xp.where(x >= 0, -x, x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def log_softplus(x: Any, /, *, xp: Any = None) -> Any:
    """``log(softplus(x))``, finite where ``softplus(x)`` underflows.

    For ``x < -37``, ``softplus(x) = e^x (1 - e^x/2 + ...)`` and ``e^x / 2 < 2^-54``,
    so ``log(softplus(x))`` rounds to ``x``. Near its root ``log(e - 1)`` it is
    computed without the cancellation of ``log`` (see the module docstring).
    """
    xp = namespace(x) if xp is None else xp
    tail = x < -37.0
    safe = xp.where(tail, 0.0, x)
    general = xp.log(softplus(safe, xp=xp))
    # Near the root x0 = log(e - 1): softplus(x) - 1 = log1p((1 - 1/e) expm1(x - x0)).
    head, tail_x0 = _LOG_E_MINUS_1[32 if x.dtype == xp.float32 else 64]
    near = (x > -0.5) & (x < 2.0)
    d = (xp.where(near, x, head) - head) - tail_x0
    near_root = xp.log1p(xp.log1p(_ONE_MINUS_INV_E * xp.expm1(d)))
    return xp.where(tail, x, xp.where(near, near_root, general))


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
    """``x * log(y)``, defined as 0 where ``x == 0`` (also for ``y == 0``).

    ``±inf`` where the product overflows or ``y == 0``, without a ``RuntimeWarning``.
    """
    xp = namespace(x, y) if xp is None else xp
    zero_x = x == 0
    zero_y = y == 0
    log_y = xp.log(xp.where(zero_x | zero_y, 1.0, y))
    # Where y == 0 the result is selected below; x * log(1) there keeps only a NaN x.
    x_used = xp.where(zero_y & (x == x), 1.0, x)
    # |log y| < 2^10, so the scaled product cannot overflow, and scaling by a power of
    # two is exact: x log(y) overflows exactly where |scaled| > max / 2^10.
    scaled = (x_used * 2.0**-10) * log_y
    overflow = xp.abs(scaled) > xp.finfo(log_y.dtype).max * 2.0**-10
    product = x_used * xp.where(overflow, 0.0, log_y)
    # Infinities are selected, never multiplied in: 0 * inf in the unselected branch of
    # a where would make autograd's gradients NaN. A NaN x stays NaN (x * log(1)).
    product = xp.where(overflow & (scaled > 0), math.inf, product)
    product = xp.where((overflow & (scaled < 0)) | (zero_y & (x > 0)), -math.inf, product)
    product = xp.where(zero_y & (x < 0), math.inf, product)
    return xp.where(zero_x, 0.0, product)


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


def _shifted(x: Any, axis: int, xp: Any) -> tuple[Any, Any, Any, Any, Any]:
    """``(m, finite, m_safe, d, e)`` along ``axis`` (reduced axes kept).

    ``m`` is the max and ``finite`` whether it is finite; ``m_safe`` is ``m`` with
    non-finite values set to 0; ``d = x - m_safe``, ``-inf`` where that overflows;
    ``e = e^d``, corrected for the rounding error of ``d``.
    """
    m = xp.max(x, axis=axis, keepdims=True)
    finite = xp.isfinite(m)
    m_safe = xp.where(finite, m, 0.0)
    # Halving is exact for normal numbers and x/2 - m/2 cannot overflow; x - m overflows
    # exactly where the rounded half difference is below -max/2 (it is -inf for x = -inf).
    overflow = 0.5 * x - 0.5 * m_safe < -0.5 * xp.finfo(x.dtype).max
    x_safe = xp.where(overflow, m_safe, x)
    d = xp.where(overflow, -math.inf, x_safe - m_safe)
    # TwoSum (Knuth, TAOCP vol. 2, 4.2.2): a + b = s + err exactly, on finite inputs.
    # exp turns an absolute error in d into a relative one |d| times as large.
    a = xp.where(finite, x_safe, 0.0)
    b = -m_safe
    s = a + b
    b_virtual = s - a
    err = (a - (s - b_virtual)) + (b - b_virtual)
    return m, finite, m_safe, d, xp.exp(d) * (1.0 + err)


def _log1p_others(x: Any, e: Any, axis: int, xp: Any) -> Any:
    """``log1p(s)``, ``s`` the sum of ``e`` over all but the (first) max along ``axis``."""
    k = x.shape[axis]
    index = xp.argmax(x, axis=axis, keepdims=True)
    shape = (k,) + (1,) * (x.ndim - 1 - (axis % x.ndim))
    positions = xp.reshape(xp.arange(k, device=device(x)), shape)
    is_max = positions == index
    others = xp.sum(xp.where(is_max, 0.0, e), axis=axis, keepdims=True)
    return xp.log1p(others)


def logsumexp(x: Any, /, *, axis: int = -1, keepdims: bool = False, xp: Any = None) -> Any:
    """``log(sum(exp(x), axis))`` with the max subtracted and its 1 split off exactly.

    Writing the sum as ``1 + s`` (``s`` = the other terms, relative to the max) and
    taking ``log1p(s)`` keeps full relative accuracy when one term dominates, e.g.
    ``logsumexp([0, -40]) = 4.25e-18`` rather than 0. Rows that are all ``-inf``
    give ``-inf``.
    """
    xp = namespace(x) if xp is None else xp
    m, finite, m_safe, _, e = _shifted(x, axis, xp)
    # Rows that hold +inf give +inf; all -inf rows give -inf.
    out = xp.where(finite, m_safe + _log1p_others(x, e, axis, xp), m)
    return out if keepdims else xp.squeeze(out, axis=axis)


def log_softmax(x: Any, /, *, axis: int = -1, xp: Any = None) -> Any:
    """``x - logsumexp(x)`` along ``axis``, computed as ``(x - max) - log1p(s)``.

    Both terms are ``<= 0``, so the max element keeps full relative accuracy
    (``log_softmax([5, -35])[0] = -4.25e-18``, where ``x - logsumexp(x)`` gives 0).
    """
    xp = namespace(x) if xp is None else xp
    m, finite, _, d, e = _shifted(x, axis, xp)
    # Rows without a finite max: x - m, e.g. -inf beside a +inf.
    fallback = x - xp.where(finite, 0.0, m)
    return xp.where(finite, d - _log1p_others(x, e, axis, xp), fallback)


def softmax(x: Any, /, *, axis: int = -1, xp: Any = None) -> Any:
    """``exp(x) / sum(exp(x))`` along ``axis``, computed with the max subtracted.

    ``e^(x - m)`` is corrected by the rounding error of ``x - m``, so every element
    keeps full relative accuracy, also far below the max.
    """
    xp = namespace(x) if xp is None else xp
    e = _shifted(x, axis, xp)[-1]
    return e / xp.sum(e, axis=axis, keepdims=True)
