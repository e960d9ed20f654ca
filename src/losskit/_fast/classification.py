r"""Fused kernels: binary cross-entropy, focal (logit), hinge and softmax cross-entropy.

Each kernel computes the numbers of the reference formulas in ``losskit.losses`` (the
definition) in one pass over memory, with the same operations in the same order and in
the input's dtype: ``softplus(x) = max(x, 0) + log1p(e^{-|x|})``, ``expit`` by the sign
of ``x``, the focal weight ``exp(gamma log q)`` in log space, and ``log_softmax`` /
``softmax`` as ``numerics._shifted`` writes them (the max's 1 split off the sum, each
``e^{x - m}`` corrected by the TwoSum error of ``x - m``, and the row sums added in
NumPy's pairwise order). What remains are the one-ulp differences between NumPy's and
the C library's ``exp``/``log``/``log1p``. A kernel counts the inputs the reference path
would reject in the same pass (see the point functions, ``_bce_logit_point`` ..., and
``_class_index``).

Duplication: each loss's scalar formula is written once, as an inlined helper, and
the loops once (``_reduce``, ``_fill``), inlined into two small drivers per loss (a
reduction and a fill) that pass them the loss's module-level formula: no closures over
jitted functions, which numba cannot cache. A loss's first use compiles its own
drivers only. Float32 inputs are computed in float32 (``type(x)(c)`` types each
constant, as NumPy's weak Python scalars do); reductions add ``w_i L_i`` in float64
(``_sums.accumulate``), in blocks of ``_BLOCK`` elements.

Speed: ``exp``/``log``/``log1p`` are ``_vmath``'s, which LLVM vectorises with glibc's
libmvec where it is available (the C library's scalar functions, 3 to 5 ns each,
elsewhere). Each loss's formula sits alone in its loops (a loop that branched between
the losses per element was not vectorised), and the softmax works on transposed blocks
of rows, so that its loops run over rows, not over a row's few classes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import prange

from losskit._fast import Kernels, jit, provider, twins
from losskit._fast import _vmath as vm
from losskit._fast._sums import accumulate
from losskit.losses.classification import BinaryCrossEntropy, CrossEntropy, clip_bounds
from losskit.losses.focal import Focal
from losskit.losses.margin import Hinge

#: Elements per block of a reduction: each block is summed on its own, then the blocks.
_BLOCK = 1024
#: Rows of NumPy's pairwise summation summed by 8 accumulators (``PW_BLOCKSIZE``).
_PAIRWISE_LEAF = 128

# error_model="numpy": a float division by zero gives inf/nan as in NumPy, not an
# exception (and no check per division).
_jit_helper = jit(inline="always", cache=True, error_model="numpy")
# Each driver in a serial and a parallel twin (``losskit._fast.twins``).
_jit_driver = twins(cache=True, fastmath=False, nogil=True, error_model="numpy")


# ------------------------------------------------------------ scalar helpers
@_jit_helper
def _expit_pair(z, e):
    """``(expit(z), expit(-z))`` given ``e = exp(-|z|)``, as ``numerics.expit``."""
    one = type(z)(1.0)
    small = e / (one + e)
    large = one / (one + e)
    return (large if z >= 0 else small), (large if -z >= 0 else small)


@_jit_helper
def _bce_logit(z, y, pos_weight, order):
    """BCE on a logit: ``a softplus(-z) + (1 - y) softplus(z)``, ``a = pos_weight y``."""
    t = type(z)
    one, zero = t(1.0), t(0.0)
    bad = not (np.isfinite(z) & (y >= 0) & (y <= 1))  # bitwise: no branches
    a = pos_weight * y
    e = vm.exp(-abs(z))
    value = gradient = hessian = zero
    if order < 2:
        log_term = vm.log1p(e)
        value = a * (max(-z, zero) + log_term) + (one - y) * (max(z, zero) + log_term)
    if order > 0:
        p, not_p = _expit_pair(z, e)
        gradient = (one - y) * p - a * not_p
        hessian = (a + one - y) * p * not_p
    return bad, value, gradient, hessian


@_jit_helper
def _bce_probability(p, y, pos_weight, low, high, order, hard):
    """BCE on a probability clipped to ``[low, high]``.

    ``hard``: every label of the block is 0 or 1, and one logarithm per sample serves:
    ``log(p)`` where ``y = 1``, and where ``y = 0`` ``log1p(-p)`` as ``log(u)`` of ``u =
    1 - p`` corrected by the rounding of ``u`` (as ``_f32math.log1pf``).
    """
    one, zero = type(p)(1.0), type(p)(0.0)
    bad = not ((p >= 0) & (p <= 1) & (y >= 0) & (y <= 1))
    a = pos_weight * y
    p = min(max(p, low), high)
    value = gradient = hessian = zero
    if order < 2 and hard:
        positive = y == one
        u = p if positive else one - p
        # -p - (u - 1) is the rounding error of u exactly; its effect on the log is that
        # error over u = 1 - p, within 2^-53 p^2 of it times (1 + p) (exact where p >
        # 1/2: u is exact). No division.
        correction = zero if positive else (-p - (u - one)) * (one + p)
        log_u = vm.inline_log(u) + correction
        value = -(pos_weight * log_u if positive else log_u)
    elif order < 2:  # inline_: in float32 0.87 of libmvec's time (see _f32math)
        value = -(a * vm.inline_log(p) + (one - y) * vm.inline_log1p(-p))
    if order > 0:
        gradient = (one - y) / (one - p) - a / p
        q = one - p
        hessian = a / p / p + (one - y) / q / q  # as the reference: p * p may underflow
    return bad, value, gradient, hessian


@_jit_helper
def _focal_logit(z, y, gamma, focusing, alpha, one_minus_alpha, weighted, order, hard):
    """``focal._focal_logit`` times ``alpha_t`` (``focusing``: gamma != 0; ``hard``:
    every label of the block is 0 or 1, and the branch for soft labels is left out)."""
    t = type(z)
    one, zero, two = t(1.0), t(0.0), t(2.0)
    bad = not (np.isfinite(z) & (y >= 0) & (y <= 1))  # bitwise: no branches
    e = vm.exp(-abs(z))
    log_term = vm.log1p(e)
    log_p = -(max(-z, zero) + log_term)
    log_not_p = -(max(z, zero) + log_term)
    if y >= 1:
        log_q = log_not_p
    elif y <= 0 or hard:
        log_q = log_p
    else:  # logaddexp(log y + log sigma(-z), log(1 - y) + log sigma(z))
        # Vectorised, this branch runs for every lane and is blended away where y is 0
        # or 1; there log(0) and log1p(-1) would send libmvec to its slow path for
        # special inputs (20 times slower). Those lanes take 1/2 instead.
        u = y if y > zero and y < one else t(0.5)
        first = vm.log(u) + log_not_p
        second = vm.log1p(-u) + log_p
        log_q = max(first, second) + vm.log1p(vm.exp(-abs(first - second)))
    ce = -(y * log_p + (one - y) * log_not_p)
    weight = vm.exp(gamma * log_q) if focusing else one
    value = weight * ce if focusing else ce
    gradient = hessian = zero
    if order > 0:
        p, not_p = _expit_pair(z, e)
        residual = (one - y) * p - y * not_p
        sign = one - two * y
        s = p * not_p
        if focusing:
            ratio = vm.exp(log_p + log_not_p - log_q)
            slope = gamma * ratio * sign * ce + residual
            gradient = weight * slope
            ratio_slope = ratio * (not_p - p) - ratio * ratio * sign
            slope_slope = gamma * sign * (ratio_slope * ce + ratio * residual) + s
            hessian = weight * (gamma * ratio * sign * slope + slope_slope)
        else:
            gradient, hessian = residual, s
    if weighted:
        alpha_t = alpha * y + one_minus_alpha * (one - y)
        value, gradient, hessian = alpha_t * value, alpha_t * gradient, alpha_t * hessian
    return bad, value, gradient, hessian


@_jit_helper
def _hinge(z, y):
    """``max(0, 1 - s z)``, ``s = -1 if y == 0 else y``; the Hessian surrogate 1."""
    one, zero = type(z)(1.0), type(z)(0.0)
    # Bitwise, not short-circuit: no branches, so that LLVM vectorises the loop.
    bad = not (np.isfinite(z) & ((y == 0) | (y == 1) | (y == -1)))
    s = -one if y == 0 else y
    m = s * z
    value = one - m if m < one else zero
    gradient = s * (-one if m < one else zero)
    return bad, value, gradient, one


# One point function per loss, ``(params, prediction, target, order, hard) -> (invalid,
# value, gradient, Hessian)``; ``order`` 0: the value; 1: value and gradient; 2: gradient
# and Hessian; ``hard``: every label of the block is 0 or 1. Each loss has its own
# drivers, so each loop holds one formula: a loop holding one formula is vectorised
# (with ``_vmath``'s exp and log1p), one that branched between formulas per element was
# not.
@_jit_helper
def _bce_logit_point(params, prediction, target, order, hard):
    return _bce_logit(prediction, target, params[0], order)


@_jit_helper
def _bce_probability_point(params, prediction, target, order, hard):
    return _bce_probability(prediction, target, params[0], params[1], params[2], order, hard)


@_jit_helper
def _focal_logit_point(params, prediction, target, order, hard):
    return _focal_logit(prediction, target, params[0], params[1] != 0, params[2], params[3],
                        params[4] != 0, order, hard)


@_jit_helper
def _hinge_point(params, prediction, target, order, hard):
    return _hinge(prediction, target)


@_jit_helper
def _weight_of(w, i, one):
    """``(w_i, invalid)``: 1 without weights; invalid unless finite and ``>= 0``."""
    if w.size == 0:
        return one, False
    weight = w[i]
    return weight, not (np.isfinite(weight) & (weight >= 0))


# ------------------------------------------------------- elementwise drivers
@_jit_helper
def _hard(y):
    """Whether every label is 0 or 1: an and-reduction, which LLVM vectorises."""
    hard = True
    for j in range(y.size):
        hard &= (y[j] == 0) | (y[j] == 1)
    return hard


@_jit_helper
def _block_terms(point, params, p, y, w, one, hard, signs):
    """``(sum w_j L_j, sum w_j, n_invalid, zeros, negatives)`` of a block; labels 0 and
    -1 counted only with ``signs`` (the hinge's check; a constant of each driver).

    ``accumulate`` lets LLVM vectorise the loop with vector accumulators. The block's
    arrays are slices indexed by a range variable, so numba drops the negative-index
    test that keeps LLVM from vectorising.
    """
    total = 0.0
    weight_total = 0.0
    invalid = 0
    zeros = 0
    negatives = 0
    for j in range(p.size):
        bad, value, _, _ = point(params, p[j], y[j], 0, hard)
        weight, bad_weight = _weight_of(w, j, one)
        total = accumulate(total, np.float64(value * weight))
        weight_total = accumulate(weight_total, np.float64(weight))
        invalid += bad or bad_weight
        if signs:
            zeros += y[j] == 0
            negatives += y[j] == -1
    return total, weight_total, invalid, zeros, negatives


@_jit_helper
def _reduce(point, params, p, y, w, labels, signs):
    """``(sum w_i L_i, sum w_i, n_invalid, zeros, negatives)``, the sums in float64.

    ``signs``: count labels 0 and -1 (see ``_block_terms``). ``labels``: the loss has a
    cheaper formula for labels 0 and 1 (BCE on probabilities: one logarithm instead of
    two; focal loss: no soft-label branch); each block whose labels are all 0 or 1
    takes it (a second pass over the block's labels, in cache).
    """
    n = p.size
    one = p.dtype.type(1.0)
    weighted = w.size > 0
    total = 0.0
    weight_total = 0.0
    invalid = 0
    zeros = 0
    negatives = 0
    for block in prange((n + _BLOCK - 1) // _BLOCK):
        start = block * _BLOCK
        stop = min(start + _BLOCK, n)
        p_block, y_block, w_block = p[start:stop], y[start:stop], w[start:stop]
        if labels and _hard(y_block):
            sums = _block_terms(point, params, p_block, y_block, w_block, one, True, signs)
        else:
            sums = _block_terms(point, params, p_block, y_block, w_block, one, False, signs)
        total += sums[0]
        weight_total += sums[1] if weighted else stop - start
        invalid += sums[2]
        zeros += sums[3]
        negatives += sums[4]
    return total, weight_total, invalid, zeros, negatives


# One driver per loss and kind of operation: a driver holding every loss (picked by a
# code per call) compiled them all on a loss's first use, superlinearly: its parallel
# float32 reduction took 50 s to compile, 7.4 s for BCE on probabilities alone.
@_jit_driver
def _bce_logit_reduce(params, p, y, w):
    """``(sum w_i L_i, sum w_i, n_invalid)``, the sums in float64."""
    total, weight_total, invalid, _, _ = _reduce(_bce_logit_point, params, p, y, w, False,
                                                 False)
    return total, weight_total, invalid


@_jit_driver
def _bce_probability_reduce(params, p, y, w):
    # params[3]: take the hard-label formula (see _binary_cross_entropy).
    total, weight_total, invalid, _, _ = _reduce(_bce_probability_point, params, p, y, w,
                                                 params[3] != 0, False)
    return total, weight_total, invalid


@_jit_driver
def _focal_logit_reduce(params, p, y, w):
    total, weight_total, invalid, _, _ = _reduce(_focal_logit_point, params, p, y, w, True,
                                                 False)
    return total, weight_total, invalid


@_jit_driver
def _hinge_reduce(params, p, y, w):
    total, weight_total, invalid, zeros, negatives = _reduce(_hinge_point, params, p, y, w,
                                                             False, True)
    if zeros > 0 and negatives > 0:  # 0 and -1 mixed: the check fails
        invalid += 1
    return total, weight_total, invalid


@_jit_helper
def _fill(point, params, p, y, w, first, second, order, signs):
    """One loss's loop for one ``order``: ``(n_invalid, zeros, negatives)``, labels 0
    and -1 counted only with ``signs``.

    ``order`` 0: values into ``first``; 1: values and gradients; 2: gradients into
    ``first``, Hessians into ``second``. Two outputs per loop, as in the regression
    kernels: with three outputs LLVM needs more run-time aliasing checks than it emits
    and did not vectorise (the hinge's gradient and Hessian took twice as long).
    """
    n = p.size
    one = p.dtype.type(1.0)
    invalid = 0
    zeros = 0
    negatives = 0
    for i in prange(n):
        bad, value, gradient, hessian = point(params, p[i], y[i], order, False)
        weight, bad_weight = _weight_of(w, i, one)
        if order == 2:
            first[i] = gradient * weight
            second[i] = hessian * weight
        else:
            first[i] = value * weight
            if order == 1:
                second[i] = gradient * weight
        invalid += bad or bad_weight
        if signs:
            zeros += y[i] == 0
            negatives += y[i] == -1
    return invalid, zeros, negatives


@_jit_helper
def _fill_outputs(point, params, p, y, w, values, gradients, hessians, signs):
    """Write ``w_i L_i``, ``w_i g_i``, ``w_i h_i`` into those outputs that are not empty
    (values and gradients, values alone, or gradients and Hessians):
    ``(n_invalid, zeros, negatives)``."""
    order = 2 if hessians.size else (1 if gradients.size else 0)
    first = gradients if order == 2 else values
    second = hessians if order == 2 else gradients if order == 1 else values
    return _fill(point, params, p, y, w, first, second, order, signs)


@_jit_driver
def _bce_logit_fill(params, p, y, w, values, gradients, hessians):
    """``n_invalid``; the results into the outputs that are not empty."""
    return _fill_outputs(_bce_logit_point, params, p, y, w, values, gradients, hessians,
                         False)[0]


@_jit_driver
def _bce_probability_fill(params, p, y, w, values, gradients, hessians):
    return _fill_outputs(_bce_probability_point, params, p, y, w, values, gradients,
                         hessians, False)[0]


@_jit_driver
def _focal_logit_fill(params, p, y, w, values, gradients, hessians):
    return _fill_outputs(_focal_logit_point, params, p, y, w, values, gradients, hessians,
                         False)[0]


@_jit_driver
def _hinge_fill(params, p, y, w, values, gradients, hessians):
    invalid, zeros, negatives = _fill_outputs(_hinge_point, params, p, y, w, values,
                                              gradients, hessians, True)
    if zeros > 0 and negatives > 0:  # 0 and -1 mixed: the check fails
        invalid += 1
    return invalid


def _elementwise(reduce_driver: Any, fill_driver: Any,
                 params: dict[Any, np.ndarray]) -> Kernels:
    """Kernels of one loss's drivers; ``params`` maps each dtype to its parameters."""

    def empty(p: np.ndarray) -> np.ndarray:
        return np.empty(0, dtype=p.dtype)

    def reduce(p: np.ndarray, y: np.ndarray, w: np.ndarray, *,
               parallel: bool = False) -> tuple[float, float, int]:
        return reduce_driver(parallel, params[p.dtype], p, y, w)

    def values(p: np.ndarray, y: np.ndarray, w: np.ndarray, out: np.ndarray, *,
               parallel: bool = False) -> int:
        return fill_driver(parallel, params[p.dtype], p, y, w, out, empty(p), empty(p))

    def loss_gradient(p: np.ndarray, y: np.ndarray, w: np.ndarray, out_value: np.ndarray,
                      out_gradient: np.ndarray, *, parallel: bool = False) -> int:
        return fill_driver(parallel, params[p.dtype], p, y, w, out_value, out_gradient,
                           empty(p))

    def gradient_hessian(p: np.ndarray, y: np.ndarray, w: np.ndarray,
                         out_gradient: np.ndarray, out_hessian: np.ndarray, *,
                         parallel: bool = False) -> int:
        return fill_driver(parallel, params[p.dtype], p, y, w, empty(p), out_gradient,
                           out_hessian)

    return Kernels(reduce=reduce, values=values, loss_gradient=loss_gradient,
                   gradient_hessian=gradient_hessian, drivers=(reduce_driver, fill_driver))


def _per_dtype(make: Any) -> dict[Any, np.ndarray]:
    """``{dtype: make(dtype) as an array of that dtype}`` for float32 and float64.

    Parameters are rounded to the dtype as NumPy rounds a Python float meeting an array
    of it; a derived value such as ``1 - eps`` is formed in Python first, as the
    reference formulas form it.
    """
    return {np.dtype(t): np.array(make(np.dtype(t)), dtype=t) for t in (np.float32, np.float64)}


# ----------------------------------------------------------------- providers
@provider(BinaryCrossEntropy)
def _binary_cross_entropy(loss: BinaryCrossEntropy) -> Kernels | None:
    if isinstance(loss.pos_weight, np.ndarray):  # per label: not fused
        return None
    pos_weight = 1.0 if loss.pos_weight is None else float(loss.pos_weight)
    if loss.link.name == "logit":
        return _elementwise(_bce_logit_reduce, _bce_logit_fill,
                            _per_dtype(lambda dtype: [pos_weight]))
    if loss.link.name != "identity":
        return None

    # Blocks of hard labels take one logarithm per sample in float32 only: the float32
    # mean took 0.83 of the time with it, the float64 one 1.03-1.11 (the label pass and
    # the log's correction cost more than libmvec's second log there; n = 10^7, 2
    # threads, 2026-11-26).
    def params(dtype: Any) -> list[float]:
        return [pos_weight, *clip_bounds(np, dtype, loss.eps), float(dtype == np.float32)]

    return _elementwise(_bce_probability_reduce, _bce_probability_fill, _per_dtype(params))


@provider(Focal)
def _focal(loss: Focal) -> Kernels | None:
    if loss.link.name != "logit" or isinstance(loss.alpha, tuple):
        return None
    alpha = 0.0 if loss.alpha is None else float(loss.alpha)
    params = [loss.gamma, float(loss.gamma != 0), alpha, 1.0 - alpha,
              float(loss.alpha is not None)]
    return _elementwise(_focal_logit_reduce, _focal_logit_fill,
                        _per_dtype(lambda dtype: params))


@provider(Hinge)
def _hinge_loss(loss: Hinge) -> Kernels | None:
    return _elementwise(_hinge_reduce, _hinge_fill, _per_dtype(lambda dtype: [0.0]))


# ------------------------------------------------------ softmax cross-entropy
@_jit_helper
def _pairwise_leaf(a, start, n):
    """NumPy's pairwise sum of ``a[start:start + n]`` for ``n <= 128`` (8 accumulators)."""
    if n < 8:
        total = a.dtype.type(0.0)
        for i in range(start, start + n):
            total += a[i]
        return total
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = start + 8
    stop = start + n - n % 8
    while i < stop:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < start + n:
        total += a[i]
        i += 1
    return total


@jit(cache=True, error_model="numpy")
def _pairwise_sum(a):
    """``np.sum(a)`` bit for bit: NumPy halves ``a`` (at multiples of 8) down to leaves.

    Written with an explicit stack: a recursive jitted function crashes when loaded
    from numba's cache.
    """
    n = a.size
    if n <= _PAIRWISE_LEAF:
        return _pairwise_leaf(a, 0, n)
    starts = np.empty(128, dtype=np.int64)
    sizes = np.empty(128, dtype=np.int64)
    expanded = np.zeros(128, dtype=np.bool_)
    partial = np.empty(64, dtype=a.dtype)
    starts[0], sizes[0], top, done = 0, n, 1, 0
    while top > 0:
        top -= 1
        start, size = starts[top], sizes[top]
        if size <= _PAIRWISE_LEAF:
            partial[done] = _pairwise_leaf(a, start, size)
            done += 1
        elif expanded[top]:  # both halves are summed: add them
            done -= 1
            partial[done - 1] = partial[done - 1] + partial[done]
        else:
            half = size // 2
            half -= half % 8
            expanded[top] = True
            starts[top + 1], sizes[top + 1], expanded[top + 1] = start + half, size - half, False
            starts[top + 2], sizes[top + 2], expanded[top + 2] = start, half, False
            top += 3
    return partial[0]


@_jit_helper
def _class_index(y, k, ignore_index, has_ignore):
    """``(invalid, kept, class)`` of a target as ``_common.class_indices`` checks it.

    An ``ignore_index`` inside ``[0, K)`` is an ordinary class, as in the reference.
    """
    if not (np.isfinite(y) and y == np.floor(y)):
        return True, False, 0
    if y >= 0 and y < k:
        return False, True, int(y)
    return not (has_ignore and y == ignore_index), False, 0


#: Row states of a block (``_softmax_block``).
_KEPT, _IGNORED, _INVALID, _LOST = 0, 1, 2, 3


@_jit_helper
def _column_sums(e, rows, k, acc, out):
    """``out[r]`` = NumPy's pairwise sum of row ``r`` of a transposed block
    (``e[j * rows + r]``), ``k <= _PAIRWISE_LEAF``: ``_pairwise_leaf``'s order, with the
    rows as the inner loop, which LLVM vectorises."""
    if k < 8:
        for r in range(rows):
            out[r] = 0.0
        for j in range(k):
            for r in range(rows):
                out[r] += e[j * rows + r]
        return
    for a in range(8):
        for r in range(rows):
            acc[a * rows + r] = e[a * rows + r]
    stop = k - k % 8
    for start in range(8, stop, 8):
        for a in range(8):
            for r in range(rows):
                acc[a * rows + r] += e[(start + a) * rows + r]
    for r in range(rows):
        out[r] = (((acc[r] + acc[rows + r]) + (acc[2 * rows + r] + acc[3 * rows + r]))
                  + ((acc[4 * rows + r] + acc[5 * rows + r])
                     + (acc[6 * rows + r] + acc[7 * rows + r])))
    for j in range(stop, k):
        for r in range(rows):
            out[r] += e[j * rows + r]


@_jit_helper
def _row_sums(e, rows, k, acc, row, out):
    """``_column_sums``, or for ``k > _PAIRWISE_LEAF`` ``_pairwise_sum`` of each row
    gathered into ``row``."""
    if k <= _PAIRWISE_LEAF:
        _column_sums(e, rows, k, acc, out)
        return
    for r in range(rows):
        for j in range(k):
            row[j] = e[j * rows + r]
        out[r] = _pairwise_sum(row)


@_jit_helper
def _block_scratch(z, rows):
    """Scratch arrays for blocks of ``rows`` rows (allocated once per parallel chunk):
    ``(e, m, arg, finite, acc, row, others, total, state, target, d_target, weight,
    values)``, as ``_softmax_block`` unpacks them, and per-row values last."""
    k = z.shape[1]
    dtype = z.dtype
    return (np.empty(rows * k, dtype=dtype), np.empty(rows, dtype=dtype),
            np.empty(rows, dtype=np.int64), np.empty(rows, dtype=np.bool_),
            np.empty(8 * rows, dtype=dtype), np.empty(k, dtype=dtype),
            np.empty(rows, dtype=dtype), np.empty(rows, dtype=dtype),
            np.empty(rows, dtype=np.int8), np.empty(rows, dtype=np.int64),
            np.empty(rows, dtype=dtype), np.empty(rows, dtype=dtype),
            np.empty(rows, dtype=dtype))


@_jit_helper
def _softmax_block(z, y, w, first, last, ignore_index, has_ignore, limit, with_total,
                   scratch):
    """Softmax of rows ``[first, last)`` of ``z`` as ``numerics._shifted`` computes them.

    The block is transposed into ``e`` (``e[j * rows + r]``), so that every step is a
    loop over the block's rows, which LLVM vectorises: the row maxima (and the first
    argmax), the corrected exponentials ``e^d (1 + err)`` (``d = x - max``, ``err`` its
    TwoSum error; ``_vmath.exp``), the pairwise sums. Row-major, each row's loops of
    ``K`` (10) elements ran mostly as scalar remainders, with a mispredicted branch per
    new maximum, at 5 ns per element.

    Fills, per row ``r`` of the block: ``state[r]`` (kept, ignored, invalid, or lost: a
    non-target ``d`` is ``-inf``, which makes the reference's value NaN), ``target[r]``,
    ``d_target[r]``, ``others[r]`` (the sum of the exponentials but the first max's, in
    NumPy's pairwise order), ``weight[r]``, and with ``with_total`` ``total[r]`` (the
    sum of all). Returns the number of invalid rows.
    """
    (e, m, arg, finite, acc, row, others, total, state, target, d_target, weight,
     _) = scratch
    k = z.shape[1]
    t = z.dtype.type
    one, half = t(1.0), t(0.5)
    rows = last - first
    flat = z.reshape(-1)[first * k:last * k]
    for r in range(rows):
        for j in range(k):
            e[j * rows + r] = flat[r * k + j]
    for r in range(rows):
        m[r] = e[r]
        arg[r] = 0
        finite[r] = np.isfinite(e[r])
    for j in range(1, k):
        for r in range(rows):
            x = e[j * rows + r]
            finite[r] = finite[r] & np.isfinite(x)
            if x > m[r]:  # strictly: the first max
                m[r] = x
                arg[r] = j
    invalid = 0
    for r in range(rows):
        i = first + r
        bad, kept, target[r] = _class_index(y[i], k, ignore_index, has_ignore)
        weight[r], bad_weight = _weight_of(w, i, one)
        if bad or bad_weight or not finite[r]:
            state[r] = _INVALID
            invalid += 1
        else:
            state[r] = _KEPT if kept else _IGNORED
        d_target[r] = flat[r * k + target[r]] - m[r]
    overflow = False
    for j in range(k):
        for r in range(rows):
            x = e[j * rows + r]
            shift = m[r]
            d = x - shift
            virtual = d - x
            error = (x - (d - virtual)) + (-shift - virtual)
            # x - max overflows exactly where the halves' difference is below -max/2.
            over = half * x - half * shift < limit
            overflow |= over
            e[j * rows + r] = t(0.0) if over else vm.exp(d) * (one + error)
    if overflow:  # rare: some x - max overflowed in this block
        for r in range(rows):
            for j in range(k):
                if half * flat[r * k + j] - half * m[r] < limit:
                    if state[r] == _KEPT and j == target[r]:
                        d_target[r] = t(-np.inf)
                    elif state[r] != _INVALID:
                        state[r] = _LOST
    for r in range(rows):  # the max's term left out of ``others``
        m[r] = e[arg[r] * rows + r]
        e[arg[r] * rows + r] = 0.0
    _row_sums(e, rows, k, acc, row, others)
    for r in range(rows):
        e[arg[r] * rows + r] = m[r]
    if with_total:
        _row_sums(e, rows, k, acc, row, total)
    return invalid


@_jit_helper
def _row_values(state, d_target, others, out, rows):
    """``-log_softmax[target]`` per row of a block into ``out`` (0 ignored, NaN lost)."""
    t = out.dtype.type
    for r in range(rows):  # vectorised: log1p over the block's rows
        value = -(d_target[r] - vm.log1p(others[r]))
        out[r] = t(np.nan) if state[r] == _LOST else (value if state[r] == _KEPT else t(0.0))


@_jit_helper
def _block_rows(k):
    """Rows per block: about ``_BLOCK`` elements, a multiple of 8 rows (vector lanes)."""
    return max(8, (_BLOCK // k) // 8 * 8)


#: Blocks of rows per parallel chunk: scratch arrays are allocated once per chunk.
_BLOCKS_PER_CHUNK = 16


@_jit_helper
def _chunk_blocks(chunk, blocks):
    """``(first block, stop)`` of parallel chunk ``chunk`` out of ``blocks`` blocks."""
    first = chunk * _BLOCKS_PER_CHUNK
    return first, min(first + _BLOCKS_PER_CHUNK, blocks)


@_jit_driver
def _softmax_ce_reduce(z, y, w, ignore_index, has_ignore, limit):
    """``(sum w_i L_i, sum w_i c_i, n_invalid)`` for ``(n, K)`` logits, class indices."""
    n, k = z.shape
    rows = _block_rows(k)
    blocks = (n + rows - 1) // rows
    total = 0.0
    weight_total = 0.0
    invalid = 0
    for chunk in prange((blocks + _BLOCKS_PER_CHUNK - 1) // _BLOCKS_PER_CHUNK):
        scratch = _block_scratch(z, rows)
        (_, _, _, _, _, _, others, _, state, _, d_target, weight, values) = scratch
        chunk_total = 0.0
        chunk_weight = 0.0
        chunk_invalid = 0
        for block in range(*_chunk_blocks(chunk, blocks)):
            first, last = block * rows, min(block * rows + rows, n)
            chunk_invalid += _softmax_block(z, y, w, first, last, ignore_index, has_ignore,
                                            limit, False, scratch)
            _row_values(state, d_target, others, values, last - first)
            for r in range(last - first):
                if state[r] != _INVALID:
                    chunk_total += values[r] * weight[r]
                    chunk_weight += weight[r] if state[r] != _IGNORED else 0.0
        total += chunk_total
        weight_total += chunk_weight
        invalid += chunk_invalid
    return total, weight_total, invalid


@_jit_driver
def _softmax_ce_fill(z, y, w, ignore_index, has_ignore, limit, values, gradients, hessians):
    """Write ``w_i L_i``, ``w_i g_ik``, ``w_i h_ik`` into those outputs that are not empty."""
    n, k = z.shape
    t = z.dtype.type
    one, zero = t(1.0), t(0.0)
    rows = _block_rows(k)
    blocks = (n + rows - 1) // rows
    derivatives = gradients.size > 0 or hessians.size > 0
    invalid = 0
    for chunk in prange((blocks + _BLOCKS_PER_CHUNK - 1) // _BLOCKS_PER_CHUNK):
        scratch = _block_scratch(z, rows)
        (e, _, _, _, _, _, others, total, state, target, d_target, weight,
         row_values) = scratch
        chunk_invalid = 0
        for block in range(*_chunk_blocks(chunk, blocks)):
            first, last = block * rows, min(block * rows + rows, n)
            chunk_invalid += _softmax_block(z, y, w, first, last, ignore_index, has_ignore,
                                            limit, derivatives, scratch)
            count = last - first
            if values.size:
                _row_values(state, d_target, others, row_values, count)
                for r in range(count):
                    if state[r] != _INVALID:
                        values[first + r] = row_values[r] * weight[r]
            if derivatives:
                for r in range(count):
                    if state[r] == _INVALID:
                        continue
                    i = first + r
                    kept = state[r] != _IGNORED
                    mass = one if kept else zero  # sum_k a_k of the one-hot row
                    for j in range(k):
                        p = e[j * count + r] / total[r]
                        if gradients.size:
                            a = one if (kept and j == target[r]) else zero
                            gradients[i, j] = (mass * p - a) * weight[r]
                        if hessians.size:
                            hessians[i, j] = mass * p * (one - p) * weight[r]
        invalid += chunk_invalid
    return invalid


@provider(CrossEntropy)
def _cross_entropy(loss: CrossEntropy) -> Kernels | None:
    ignore = loss.ignore_index
    if (loss.link.name != "softmax" or loss.class_weight is not None
            or loss.label_smoothing != 0 or (ignore is not None and abs(ignore) >= 2**53)):
        return None
    has_ignore = ignore is not None
    ignore_value = float(ignore) if ignore is not None else 0.0
    limits = _per_dtype(lambda dtype: -0.5 * float(np.finfo(dtype).max))

    def targets(y: np.ndarray) -> np.ndarray:
        # Indices as float64 (exact below 2**53): one compiled variant per logit dtype.
        return y if y.dtype == np.float64 else y.astype(np.float64)

    def empty(z: np.ndarray, ndim: int) -> np.ndarray:
        return np.empty((0,) * ndim, dtype=z.dtype)

    def served(z: np.ndarray, y: np.ndarray) -> bool:
        # The reference path raises for fewer than 2 classes and non-numeric targets.
        return z.shape[1] >= 2 and y.dtype.kind in "biuf"

    def fill(z: np.ndarray, y: np.ndarray, w: np.ndarray, values: np.ndarray,
             gradients: np.ndarray, hessians: np.ndarray, parallel: bool) -> int:
        if not served(z, y):
            return 1
        return _softmax_ce_fill(parallel, z, targets(y), w, ignore_value, has_ignore,
                                limits[z.dtype][()], values, gradients, hessians)

    def reduce(z: np.ndarray, y: np.ndarray, w: np.ndarray, *,
               parallel: bool = False) -> tuple[float, float, int]:
        if not served(z, y):
            return 0.0, 0.0, 1
        return _softmax_ce_reduce(parallel, z, targets(y), w, ignore_value, has_ignore,
                                  limits[z.dtype][()])

    def values(z: np.ndarray, y: np.ndarray, w: np.ndarray, out: np.ndarray, *,
               parallel: bool = False) -> int:
        return fill(z, y, w, out, empty(z, 2), empty(z, 2), parallel)

    def loss_gradient(z: np.ndarray, y: np.ndarray, w: np.ndarray, value: np.ndarray,
                      gradient: np.ndarray, *, parallel: bool = False) -> int:
        return fill(z, y, w, value, gradient, empty(z, 2), parallel)

    def gradient_hessian(z: np.ndarray, y: np.ndarray, w: np.ndarray, gradient: np.ndarray,
                         hessian: np.ndarray, *, parallel: bool = False) -> int:
        return fill(z, y, w, empty(z, 1), gradient, hessian, parallel)

    return Kernels(
        reduce=reduce,
        values=values,
        loss_gradient=loss_gradient,
        gradient_hessian=gradient_hessian,
        multiclass=True,
        drivers=(_softmax_ce_reduce, _softmax_ce_fill),
    )

