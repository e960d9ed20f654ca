r"""Fused kernels for the regression losses of ``losskit.losses.regression``.

One pass over ``(y_pred, y_true, sample_weight)`` computes what an operation needs
(the weighted sum and the sum of the weights; the weighted values; value and
gradient; gradient and Hessian) and counts the samples that the reference path's
checks would reject, so that ``losskit._fast.dispatch`` can hand those calls back.

How the code is laid out, and why:

- Each loss's formula is written once, as a scalar ``@njit`` function
  ``(y_pred, y_true, params) -> (value, gradient, hessian)`` that mirrors its
  reference class line by line: the same stable forms (pseudo-Huber's
  ``|r| / (1 + s)`` factor, log-cosh's three regimes, ``sech^2 = 4t / (1 + t)^2``,
  ``xlogy``) and the same order of operations, so float64 results agree to a few ulp
  (NumPy's ``exp``/``log``/``pow`` and the C library's differ in the last bit now and
  then). LLVM inlines it into each loop and drops what an operation does not use.
  Two exceptions: pseudo-Huber's ``hypot(1, r)`` is ``sqrt(1 + r^2)`` here
  (``_hypot_one``, within an ulp): the C library's ``hypot`` made it 20 times slower;
  log-cosh's float32 value is ``_f32math.log_coshf`` (fitted polynomials, within 1.3
  ulp), 0.6 of the time of its regimes' ``expm1`` and ``log1p``.
- One generic body, ``_fused``, holds the four loops. It takes the formula as an
  argument and is inlined into one small driver per formula (``_huber_kernel`` ...).
  A compiled function that *takes* a function cannot be cached by numba (the
  argument's type is new in every process); a driver that passes a module-level
  function to an inlined body can, so the per-loss boilerplate is four lines. Each
  driver is compiled as a serial and a parallel twin (``losskit._fast.twins``); its
  callers pass ``parallel`` first.
- A reduction adds its terms with ``_sums.accumulate``, an addition LLVM may
  reorder, so the loop is vectorised with vector accumulators (``_block_sum``).
- Arithmetic stays in the input's dtype, as the reference's does (NumPy keeps
  float32 with Python scalars): constants go through ``_typed`` and parameters are
  converted in Python, in the order the reference rounds them (``0.5 * delta`` is a
  Python float rounded once to float32; Quantile's ``1 - q`` is float32 arithmetic).
  Sums accumulate in float64: the reference's pairwise float32 sum has no
  sequential equivalent that stays accurate over ``10^7`` terms.
- Validity comes from the loss's own declared domains (``y_true_domain``, and
  ``y_pred_domain`` under the identity link), the intervals its ``_check_target`` and
  ``_check_prediction`` test, plus finiteness and non-negative weights.

The error losses under ``link="log"`` (chain rule in the reference) are not fused:
their providers return None.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import prange, types
from numba.extending import overload

from losskit._fast import Kernels, _f32math, jit, provider, twins
from losskit._fast import _vmath as vm
from losskit._fast._sums import accumulate
from losskit.links import REAL, Interval
from losskit.losses.regression import (
    AbsoluteError,
    Asymmetric,
    Expectile,
    Gamma,
    Huber,
    LogCosh,
    Poisson,
    PseudoHuber,
    Quantile,
    SquaredError,
    Tweedie,
)

__all__: list[str] = []

_LOG2 = math.log(2.0)

# Operations of a driver (its first argument after ``parallel``).
_REDUCE, _VALUES, _LOSS_GRADIENT, _GRADIENT_HESSIAN = 0, 1, 2, 3

# error_model="numpy": x / 0 is inf or NaN as in NumPy, not a ZeroDivisionError
# (a non-positive mean is counted as invalid, but its sample is still computed).
# Arithmetic formulas are compiled on their own and inlined by LLVM (no call remains
# in the drivers' machine code); numba's IR-level inline="always" gave the same speed
# at 2-2.5 times the compile time. Formulas that call ``_vmath``'s functions are
# inlined by numba (``_inline``): LLVM's inliner prices each call to an external
# function and left log-cosh's formula a call, which the loop vectoriser cannot widen.
# ``_fused`` must be inlined by numba: it takes a function, and a compiled function
# that takes one cannot be cached.
_formula = jit(cache=True, error_model="numpy")
_inline = jit(inline="always", cache=True, error_model="numpy")
_driver = twins(cache=True, fastmath=False, nogil=True, error_model="numpy")
#: Samples per block of a reduction: each block is summed on its own, then the blocks.
_BLOCK = 4096


def _typed(like: Any, value: float) -> Any:
    """``value`` as a number of ``like``'s float type (``like``: a scalar or an array).

    Inside numba a Python float literal is float64 and would promote float32 work.
    """
    raise NotImplementedError("only callable from numba-compiled code")


@overload(_typed)
def _typed_overload(like, value):  # unannotated: numba matches it to the lambdas below
    dtype = like.dtype if isinstance(like, types.Array) else like
    if dtype == types.float32:
        return lambda like, value: np.float32(value)
    if dtype == types.float64:
        return lambda like, value: np.float64(value)
    return None


# ------------------------------------------------------------ scalar formulas
@_inline
def _xlogy(x, y):
    """``numerics.xlogy`` for one pair: 0 where ``x == 0``, ``-sign(x) inf`` at ``y == 0``.

    IEEE multiplication overflows to ``±inf`` exactly where the reference's scaled test
    says ``x log(y)`` does, so the plain product is the same number.
    """
    if x == 0:
        return _typed(x, 0.0)
    if y == 0:
        return _typed(x, -math.inf) if x > 0 else _typed(x, math.inf)
    return x * vm.log(y)


@_formula
def _squared_error(y_pred, y_true, params):
    two = _typed(y_pred, 2.0)
    e = y_pred - y_true
    return e * e, two * e, two


@_formula
def _absolute_error(y_pred, y_true, params):
    e = y_pred - y_true
    return abs(e), np.sign(e), _typed(e, 1.0)


@_formula
def _huber(y_pred, y_true, params):
    delta, half_delta = params
    e = y_pred - y_true
    a = abs(e)
    gradient = min(max(e, -delta), delta)
    if a <= delta:
        return _typed(e, 0.5) * e * e, gradient, _typed(e, 1.0)
    return delta * (a - half_delta), gradient, _typed(e, 0.0)


@_formula
def _hypot_one(x):
    """``hypot(1, x)`` within an ulp, as ``sqrt(1 + x^2)`` below ``|x| = 10^15``.

    The C library's ``hypot`` is a call of about 25 ns that LLVM cannot vectorise; a
    square root is one instruction. Above ``10^15`` (where ``x^2`` would overflow
    float32 at ``1.8 * 10^19``) ``hypot(1, x) = |x|`` to within ``1 / (2 x^2)``.
    """
    a = abs(x)
    if a > _typed(x, 1e15):
        return a
    return math.sqrt(_typed(x, 1.0) + x * x)


@_formula
def _pseudo_huber(y_pred, y_true, params):
    (delta,) = params
    one = _typed(y_pred, 1.0)
    e = y_pred - y_true
    r = e / delta
    s = _hypot_one(r)
    a = abs(r)
    infinite = math.isinf(a)  # e / delta overflowed: the reference's limits, below
    # The reference's forms, with fewer divisions (vectorised, both sides of its
    # branches are computed): |r| / s for its slope (1 / hypot(1/r, 1) beyond 1), and
    # |r| / (1 + s) for slope / (1/s + 1): the same numbers to a few ulp, the factors
    # in [0, 1] (no overflow, no cancellation near 0).
    slope = one if infinite else a / s
    fraction = one if infinite else a / (one + s)
    inverse = one / s
    return (delta * fraction * abs(e), delta * np.sign(r) * slope,
            inverse * inverse * inverse)


@_inline
def _log_cosh_double(x):
    """``log(cosh(x))`` for ``x = |e|``: numerics.log_cosh's three regimes.

    ``log1p(2 sinh(x/2)^2)`` below 1, ``x - log 2`` beyond 20, ``x + softplus(-2x) -
    log 2 = x + log1p(e^{-2x}) - log 2`` between. Vectorised, both sides of a branch
    are computed, so each regime's exp and log1p would be paid twice: one expm1 and
    one log1p serve both. ``u = e^{x/2} - 1`` gives ``sinh(x/2) = (u + u / (u + 1)) /
    2`` below 1; above, ``u = e^{-2x} - 1`` and ``u + 1`` is ``e^{-2x}`` to an absolute
    1e-16 (it is added to ``x >= 1``), exactly 0 beyond 20, where the value is ``x -
    log 2`` as it is there. The regimes are chosen by ``select`` instructions, not
    branches: a branch on ``small`` after the call made LLVM duplicate the call into
    both paths (jump threading), half as fast, and numba's IR inliner mishandles
    branches inlined two levels deep (through ``_log_cosh_value``).
    """
    one, two, half = _typed(x, 1.0), _typed(x, 2.0), _typed(x, 0.5)
    small = x < one
    u = vm.expm1(_f32math.select(small, half * x, -two * x))
    s = half * (u + u / (u + one))
    argument = _f32math.select(small, two * s * s, u + one)
    offset = _f32math.select(small, _typed(x, 0.0), x - _typed(x, _LOG2))
    return offset + vm.log1p(argument)


# In float32, ``_f32math.log_coshf``: two polynomials and an inlined exp (within 1.3 ulp
# on every float32), with which the float32 mean took 3.5-3.7 ms, 5.8 ms with the
# expm1 and log1p calls (n = 10^7, 2 threads, the 2-core development machine,
# 2026-11-26; ``jax.jit``'s naive log(cosh(e)): 4.9-7.3 ms in the same runs).
_log_cosh_value = vm.by_precision("log_cosh_value", _f32math.log_coshf, _log_cosh_double)


@_inline
def _log_cosh(y_pred, y_true, params):
    one, two = _typed(y_pred, 1.0), _typed(y_pred, 2.0)
    e = y_pred - y_true
    a = abs(e)
    # sech^2 = 4 t / (1 + t)^2 with t = exp(-2|e|): no cancellation, no overflow.
    t = vm.exp(-two * a)
    return _log_cosh_value(a), vm.tanh(e), _typed(t, 4.0) * t / ((one + t) * (one + t))


@_formula
def _piecewise_linear(y_pred, y_true, params):
    """Quantile and asymmetric: slopes ``below``/``above`` of the value, gradients apart.

    The gradients are separate parameters because the reference forms them separately
    (Quantile's ``1[e > 0] - q`` is ``-q`` at ``e = 0``, Asymmetric's is 0).
    """
    below, above, slope_below, slope_zero, slope_above = params
    e = y_pred - y_true
    zero = _typed(e, 0.0)
    value = -below * e if e < zero else above * e
    if e < zero:
        gradient = slope_below
    elif e > zero:
        gradient = slope_above
    else:
        gradient = slope_zero
    return value, gradient, _typed(e, 1.0)


@_formula
def _expectile(y_pred, y_true, params):
    tau, one_minus_tau = params
    two = _typed(y_pred, 2.0)
    e = y_pred - y_true
    # e > 0 means y < y_pred: over-prediction, weight 1 - tau.
    weight = one_minus_tau if e > _typed(e, 0.0) else tau
    return weight * e * e, two * weight * e, two * weight


@_inline
def _poisson_identity(y_pred, y_true, params):
    mu, y = y_pred, y_true
    return mu - _xlogy(y, mu), _typed(mu, 1.0) - y / mu, y / (mu * mu)


# The log-link formulas' exponentials: ``inline_exp``, in float32 ``_f32math``'s, with
# which their float32 means took 0.55-0.69 of the time with libmvec's (n = 10^7, 2
# threads, the 2-core development machine, 2026-11-26); in float64 libmvec's.
@_inline
def _poisson_log(y_pred, y_true, params):
    z, y = y_pred, y_true
    exp_z = vm.inline_exp(z)
    return exp_z - y * z, exp_z - y, exp_z


@_inline
def _gamma_identity(y_pred, y_true, params):
    mu, y = y_pred, y_true
    return (vm.log(mu) + y / mu, (mu - y) / (mu * mu),
            (_typed(mu, 2.0) * y - mu) / (mu * mu * mu))


@_inline
def _gamma_log(y_pred, y_true, params):
    z, y = y_pred, y_true
    y_exp = y * vm.inline_exp(-z)
    return z + y_exp, _typed(z, 1.0) - y_exp, y_exp


# Tweedie's special powers, decided in Python from the exact power.
_NORMAL, _POISSON, _GAMMA, _GENERAL = 0, 1, 2, 3


@_inline
def _tweedie_identity(y_pred, y_true, params):
    case, p, two_minus_p, one_minus_p, minus_p, minus_p_minus_one = params
    mu, y = y_pred, y_true
    if case == _NORMAL:
        value = _typed(mu, 0.5) * mu * mu - y * mu
    elif case == _POISSON:
        value = mu - _xlogy(y, mu)
    elif case == _GAMMA:
        value = vm.log(mu) + y / mu
    else:
        value = vm.pow(mu, two_minus_p) / two_minus_p - y * vm.pow(mu, one_minus_p) / one_minus_p
    if case == _NORMAL:
        return value, mu - y, _typed(mu, 1.0)
    gradient = vm.pow(mu, one_minus_p) - y * vm.pow(mu, minus_p)
    hessian = one_minus_p * vm.pow(mu, minus_p) + p * y * vm.pow(mu, minus_p_minus_one)
    return value, gradient, hessian


@_inline
def _tweedie_log(y_pred, y_true, params):
    case, two_minus_p, one_minus_p = params
    z, y = y_pred, y_true
    # The two exponentials of the general form serve every case (p = 1: e^{(2-p) z} is
    # e^z; p = 2: e^{(1-p) z} is e^{-z}): vectorised, each case's own exp would be
    # computed for every sample, four calls instead of two.
    exp_two = vm.inline_exp(two_minus_p * z)
    exp_one = vm.inline_exp(one_minus_p * z)
    if case == _POISSON:
        value = exp_two - y * z
    elif case == _GAMMA:
        value = z + y * exp_one
    else:
        value = exp_two / two_minus_p - y * exp_one / one_minus_p
    return (value, exp_two - y * exp_one,
            two_minus_p * exp_two - one_minus_p * y * exp_one)


# --------------------------------------------------------------- the passes
@_formula
def _invalid(y_pred, y_true, weight, y_low, y_high, pred_low, pred_high, weight_high):
    """Whether the reference path would raise for this sample.

    The bounds are closed intervals of finite numbers (``_closed_bounds``), so one
    comparison per end tests the domains and finiteness together (NaN fails every
    one). Bitwise ``&``: no branches. A test per end for open or closed, and
    ``isfinite`` apart, took 40% of a float32 reduction's time.
    """
    valid = ((y_true >= y_low) & (y_true <= y_high) & (y_pred >= pred_low)
             & (y_pred <= pred_high) & (weight >= _typed(weight, 0.0)) & (weight <= weight_high))
    return not valid


@_inline
def _block_sum(formula, start, stop, y_pred, y_true, weight, weighted, one, params, y_low,
               y_high, pred_low, pred_high, weight_high):
    """``(sum w_i L_i, sum w_i, n_invalid)`` over ``[start, stop)``, the sums in float64.

    ``accumulate`` lets LLVM vectorise the loop with vector accumulators, as it does
    the elementwise passes (one running sum in order would be bound by the latency of
    its additions, 4 times slower).
    """
    # Slices indexed by a range variable: numba knows the index is not negative and
    # drops its wraparound test, which keeps LLVM from vectorising (4 times slower).
    p, y, w = y_pred[start:stop], y_true[start:stop], weight[start:stop]
    total = 0.0
    weight_total = 0.0
    invalid = 0
    for j in range(stop - start):
        w_j = w[j] if weighted else one
        value, _, _ = formula(p[j], y[j], params)
        total = accumulate(total, np.float64(value * w_j))
        weight_total = accumulate(weight_total, np.float64(w_j))
        invalid += _invalid(p[j], y[j], w_j, y_low, y_high, pred_low, pred_high,
                            weight_high)
    return total, weight_total, invalid


@_inline
def _fused(formula, op, y_pred, y_true, weight, out_a, out_b, params, domain):
    """The four passes; ``weight`` is empty when unweighted (then each w_i is 1).

    ``domain`` is ``(y_low, y_high, pred_low, pred_high, weight_high)``, the closed
    bounds of valid samples. It is unpacked here: a parallel loop takes flat arguments.
    A reduction sums blocks of ``_BLOCK`` samples (``_block_sum``), then the blocks.
    """
    y_low, y_high, pred_low, pred_high, weight_high = domain
    n = y_pred.size
    weighted = weight.size > 0
    one = _typed(y_pred, 1.0)
    total = 0.0
    weight_total = 0.0
    invalid = 0
    if op == _REDUCE:
        for block in prange((n + _BLOCK - 1) // _BLOCK):
            start = block * _BLOCK
            block_total, block_weight, block_invalid = _block_sum(
                formula, start, min(start + _BLOCK, n), y_pred, y_true, weight, weighted,
                one, params, y_low, y_high, pred_low, pred_high, weight_high)
            total += block_total
            weight_total += block_weight
            invalid += block_invalid
    elif op == _VALUES:
        for i in prange(n):
            w_i = weight[i] if weighted else one
            value, _, _ = formula(y_pred[i], y_true[i], params)
            out_a[i] = value * w_i
            invalid += _invalid(y_pred[i], y_true[i], w_i, y_low, y_high, pred_low,
                                pred_high, weight_high)
    elif op == _LOSS_GRADIENT:
        for i in prange(n):
            w_i = weight[i] if weighted else one
            value, gradient, _ = formula(y_pred[i], y_true[i], params)
            out_a[i] = value * w_i
            out_b[i] = gradient * w_i
            invalid += _invalid(y_pred[i], y_true[i], w_i, y_low, y_high, pred_low,
                                pred_high, weight_high)
    else:
        for i in prange(n):
            w_i = weight[i] if weighted else one
            _, gradient, hessian = formula(y_pred[i], y_true[i], params)
            out_a[i] = gradient * w_i
            out_b[i] = hessian * w_i
            invalid += _invalid(y_pred[i], y_true[i], w_i, y_low, y_high, pred_low,
                                pred_high, weight_high)
    if not weighted:
        weight_total = float(n)
    return total, weight_total, invalid


# One cached driver per formula: the per-loss boilerplate (see the module docstring).
@_driver
def _squared_error_kernel(op, p, y, w, out_a, out_b, params, domain):
    return _fused(_squared_error, op, p, y, w, out_a, out_b, params, domain)


@_driver
def _absolute_error_kernel(op, p, y, w, out_a, out_b, params, domain):
    return _fused(_absolute_error, op, p, y, w, out_a, out_b, params, domain)


@_driver
def _huber_kernel(op, p, y, w, out_a, out_b, params, domain):
    return _fused(_huber, op, p, y, w, out_a, out_b, params, domain)


@_driver
def _pseudo_huber_kernel(op, p, y, w, out_a, out_b, params, domain):
    return _fused(_pseudo_huber, op, p, y, w, out_a, out_b, params, domain)


@_driver
def _log_cosh_kernel(op, p, y, w, out_a, out_b, params, domain):
    return _fused(_log_cosh, op, p, y, w, out_a, out_b, params, domain)


@_driver
def _piecewise_linear_kernel(op, p, y, w, out_a, out_b, params, domain):
    return _fused(_piecewise_linear, op, p, y, w, out_a, out_b, params, domain)


@_driver
def _expectile_kernel(op, p, y, w, out_a, out_b, params, domain):
    return _fused(_expectile, op, p, y, w, out_a, out_b, params, domain)


@_driver
def _poisson_identity_kernel(op, p, y, w, out_a, out_b, params, domain):
    return _fused(_poisson_identity, op, p, y, w, out_a, out_b, params, domain)


@_driver
def _poisson_log_kernel(op, p, y, w, out_a, out_b, params, domain):
    return _fused(_poisson_log, op, p, y, w, out_a, out_b, params, domain)


@_driver
def _gamma_identity_kernel(op, p, y, w, out_a, out_b, params, domain):
    return _fused(_gamma_identity, op, p, y, w, out_a, out_b, params, domain)


@_driver
def _gamma_log_kernel(op, p, y, w, out_a, out_b, params, domain):
    return _fused(_gamma_log, op, p, y, w, out_a, out_b, params, domain)


@_driver
def _tweedie_identity_kernel(op, p, y, w, out_a, out_b, params, domain):
    return _fused(_tweedie_identity, op, p, y, w, out_a, out_b, params, domain)


@_driver
def _tweedie_log_kernel(op, p, y, w, out_a, out_b, params, domain):
    return _fused(_tweedie_log, op, p, y, w, out_a, out_b, params, domain)


# -------------------------------------------------------------- registration
#: ``dtype.type -> params``: parameters converted as the reference rounds them.
ParamsOf = Callable[[Any], tuple[Any, ...]]


@functools.cache  # a few microseconds per call otherwise (np.finfo, np.nextafter)
def _closed_bounds(interval: Interval, t: Any) -> tuple[Any, Any]:
    """``(low, high)`` in the float type ``t`` such that a finite ``x`` of that type is
    inside ``interval`` exactly when ``low <= x <= high``, and no infinity is.

    An open end moves to the next number of ``t`` inward; ends beyond the largest
    finite number move to it (non-finite inputs are invalid everywhere).
    """
    biggest = np.finfo(t).max
    low, high = t(interval.low), t(interval.high)
    if not interval.low_inclusive:
        low = np.nextafter(low, t(np.inf))
    if not interval.high_inclusive:
        high = np.nextafter(high, t(-np.inf))
    return max(low, -biggest), min(high, biggest)


def _kernels(loss: Any, driver: Any, params_of: ParamsOf | None = None) -> Kernels:
    """The four operations of ``driver`` for ``loss``, bound to its parameters.

    Parameters and domain bounds are converted to the input's dtype per call (a few
    microseconds), so one provider call serves float32 and float64.
    """
    y_domain: Interval = loss.y_true_domain
    pred_domain: Interval = loss.y_pred_domain if loss.link.name == "identity" else REAL

    def arguments(dtype: Any) -> tuple[Any, Any]:
        t = dtype.type
        domain = (*_closed_bounds(y_domain, t), *_closed_bounds(pred_domain, t),
                  _closed_bounds(REAL, t)[1])
        params = () if params_of is None else params_of(t)
        return params, domain

    def reduce(p: Any, y: Any, w: Any, *, parallel: bool = False) -> tuple[float, float, int]:
        params, domain = arguments(p.dtype)
        unused = np.empty(0, dtype=p.dtype)
        total, weight_total, invalid = driver(parallel, _REDUCE, p, y, w, unused, unused,
                                              params, domain)
        return total, weight_total, invalid

    def values(p: Any, y: Any, w: Any, out: Any, *, parallel: bool = False) -> int:
        params, domain = arguments(p.dtype)
        return int(driver(parallel, _VALUES, p, y, w, out, np.empty(0, dtype=p.dtype), params,
                          domain)[2])

    def loss_gradient(p: Any, y: Any, w: Any, out_value: Any, out_gradient: Any, *,
                      parallel: bool = False) -> int:
        params, domain = arguments(p.dtype)
        return int(driver(parallel, _LOSS_GRADIENT, p, y, w, out_value, out_gradient, params,
                          domain)[2])

    def gradient_hessian(p: Any, y: Any, w: Any, out_gradient: Any, out_hessian: Any, *,
                         parallel: bool = False) -> int:
        params, domain = arguments(p.dtype)
        return int(driver(parallel, _GRADIENT_HESSIAN, p, y, w, out_gradient, out_hessian,
                          params, domain)[2])

    return Kernels(reduce=reduce, values=values, loss_gradient=loss_gradient,
                   gradient_hessian=gradient_hessian, drivers=(driver,))


def _identity_only(loss: Any, driver: Any, params_of: ParamsOf | None = None) -> Kernels | None:
    # Error losses under the log link go through the chain rule: not fused.
    return _kernels(loss, driver, params_of) if loss.link.name == "identity" else None


@provider(SquaredError)
def _squared_error_provider(loss: SquaredError) -> Kernels | None:
    return _identity_only(loss, _squared_error_kernel)


@provider(AbsoluteError)
def _absolute_error_provider(loss: AbsoluteError) -> Kernels | None:
    return _identity_only(loss, _absolute_error_kernel)


@provider(Huber)
def _huber_provider(loss: Huber) -> Kernels | None:
    delta = loss.delta
    return _identity_only(loss, _huber_kernel, lambda t: (t(delta), t(0.5 * delta)))


@provider(PseudoHuber)
def _pseudo_huber_provider(loss: PseudoHuber) -> Kernels | None:
    delta = loss.delta
    return _identity_only(loss, _pseudo_huber_kernel, lambda t: (t(delta),))


@provider(LogCosh)
def _log_cosh_provider(loss: LogCosh) -> Kernels | None:
    return _identity_only(loss, _log_cosh_kernel)


@provider(Quantile)
def _quantile_provider(loss: Quantile) -> Kernels | None:
    q = loss.q
    # Value: -q e below, (1 - q) e above with 1 - q a Python float; gradient:
    # 1[e > 0] - q in the dtype's arithmetic.
    return _identity_only(loss, _piecewise_linear_kernel, lambda t: (
        t(loss.below), t(loss.above), t(0.0) - t(q), t(0.0) - t(q), t(1.0) - t(q)))


@provider(Asymmetric)
def _asymmetric_provider(loss: Asymmetric) -> Kernels | None:
    return _identity_only(loss, _piecewise_linear_kernel, lambda t: (
        t(loss.below), t(loss.above), t(0.0) - t(loss.below), t(0.0), t(0.0) + t(loss.above)))


@provider(Expectile)
def _expectile_provider(loss: Expectile) -> Kernels | None:
    tau = loss.tau
    return _identity_only(loss, _expectile_kernel, lambda t: (t(tau), t(1.0 - tau)))


@provider(Poisson)
def _poisson_provider(loss: Poisson) -> Kernels | None:
    log = loss.link.name == "log"
    return _kernels(loss, _poisson_log_kernel if log else _poisson_identity_kernel)


@provider(Gamma)
def _gamma_provider(loss: Gamma) -> Kernels | None:
    log = loss.link.name == "log"
    return _kernels(loss, _gamma_log_kernel if log else _gamma_identity_kernel)


@provider(Tweedie)
def _tweedie_provider(loss: Tweedie) -> Kernels | None:
    p = loss.power
    case = {0.0: _NORMAL, 1.0: _POISSON, 2.0: _GAMMA}.get(p, _GENERAL)
    if loss.link.name == "log":
        # The reference has no special value form at p = 0 under the log link.
        log_case = _GENERAL if case == _NORMAL else case
        return _kernels(loss, _tweedie_log_kernel,
                        lambda t: (log_case, t(2 - p), t(1 - p)))
    return _kernels(loss, _tweedie_identity_kernel,
                    lambda t: (case, t(p), t(2 - p), t(1 - p), t(-p), t(-p - 1)))
