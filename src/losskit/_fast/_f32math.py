r"""Single-precision ``exp``, ``log``, ``log1p`` and log-cosh as straight-line arithmetic.

libmvec's vector functions (``_vmath``) are calls: every 16 float32 lanes pay a call,
and every vector live across it is spilled to the stack and reloaded (the vector ABI
preserves no vector register). Written as polynomials in float32 arithmetic (a few
integer operations on the exponent), the functions are inlined into a kernel's loop,
scheduled with the loss's other arithmetic, and vectorised by LLVM on any target.
Summing ``exp(z) - y z`` over 10^7 float32 elements took 3.4 ms this way, 6.0 ms with
libmvec's ``expf`` and 6.2 ms under ``jax.jit`` (one thread, the 2-core development
machine, 2026-11-26). Not every formula gains: where several functions and branches
share a loop (focal loss; log-cosh as ``expm1`` and ``log1p``) the calls measured
faster. ``_vmath.inline_exp`` etc. offer these functions to the formulas that measured
faster with them. ``log_coshf`` is log-cosh's value in one function (polynomials fitted
by ``scripts/fit_log_cosh_f32.py``, Cephes' ``exp`` between), 0.6 of the time of the
two calls.

The algorithms and coefficients are Cephes' (Stephen L. Moshier, Cephes Math Library
2.2, ``expf.c`` and ``logf.c``; Moshier, *Methods and Programs for Mathematical
Functions*, 1989): a Cody-Waite reduction by ``ln 2`` split in two (``0.693359375``, a
9-bit number whose multiples by the exponent are exact, and ``-2.12194440e-4``), then a
polynomial of degree 5 (exp: ``exp(r) = 1 + r + r^2 P(r)``, ``|r| <= ln(2)/2``) or 8
(log: ``log(1 + f) = f - f^2/2 + f^3 Q(f)``, ``1 + f`` in ``[sqrt(1/2), sqrt(2))``).
The multiply-adds are ``llvm.fmuladd``: fused where the target has FMA (one rounding),
a multiply and an add elsewhere. ``log1p`` is the log of ``u = 1 + x`` corrected by the
rounding of ``u``: ``log(u) + (x - (u - 1)) / u`` (the correction is exact to first
order; Goldberg, "What every computer scientist should know about floating-point
arithmetic", 1991, section on theorem 4). Special values are NumPy's (``inf``, ``nan``,
``-0.0``, ``log(0) = -inf``, ``log`` of a negative number NaN).

Accuracy, against float64 on every one of the 2^32 float32 inputs
(``scripts/f32math_ulps.py``, FMA target): at most 1.010 ulp for ``exp``, 0.827 for
``log``, 1.437 for ``log1p``, 1.303 for ``log_cosh``; libmvec documents up to 4 ulp for
its functions. The test suite checks every 257th input and the special values and
thresholds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["expf", "fmuladd", "log1pf", "log_coshf", "logf", "scale", "select", "split"]

_f = np.float32


def _ir() -> Any:
    import llvmlite.ir as ir

    return ir


def _fmuladd(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
    """``a * b + c`` as ``llvm.fmuladd``: fused where the target has FMA."""
    if not (a == b == c == types.float32):
        return None

    def codegen(context: Any, builder: Any, signature: Any, arguments: Any) -> Any:
        ir = _ir()
        single = ir.FloatType()
        function = builder.module.declare_intrinsic(
            "llvm.fmuladd", [single], ir.FunctionType(single, [single] * 3))
        return builder.call(function, list(arguments))

    return types.float32(a, b, c), codegen


def _scale(typingctx: Any, p: Any, n: Any) -> Any:
    """``p * 2^n`` for an integral float32 ``n`` in ``[-150, 128]``, in two factors.

    ``2^(n - n // 2)`` and ``2^(n // 2)`` are normal numbers for every such ``n``; the
    first product is exact, the second rounds once (also into the subnormals) or
    overflows to infinity.
    """
    if not (p == n == types.float32):
        return None

    def codegen(context: Any, builder: Any, signature: Any, arguments: Any) -> Any:
        ir = _ir()
        word, single = ir.IntType(32), ir.FloatType()
        value, exponent = arguments
        k = builder.fptosi(exponent, word)
        half = builder.ashr(k, word(1))
        rest = builder.sub(k, half)
        result = value
        for part in (rest, half):
            bits = builder.shl(builder.add(part, word(127)), word(23))
            result = builder.fmul(result, builder.bitcast(bits, single))
        return result

    return types.float32(p, n), codegen


def _split(typingctx: Any, x: Any) -> Any:
    """``(m, e)`` with ``x = m 2^e``, ``m`` in ``[sqrt(1/2), sqrt(2))``, for a positive
    normal float32 ``x`` (``e`` as a float32): the exponent field is moved so that its
    boundary falls at ``sqrt(1/2)``, whose bits are ``0x3f3504f3``."""
    if x != types.float32:
        return None
    pair = types.UniTuple(types.float32, 2)

    def codegen(context: Any, builder: Any, signature: Any, arguments: Any) -> Any:
        ir = _ir()
        word, single = ir.IntType(32), ir.FloatType()
        bits = builder.bitcast(arguments[0], word)
        exponent = builder.ashr(builder.sub(bits, word(0x3F3504F3)), word(23))
        mantissa = builder.bitcast(builder.sub(bits, builder.shl(exponent, word(23))), single)
        return context.make_tuple(builder, pair,
                                  [mantissa, builder.sitofp(exponent, single)])

    return pair(x), codegen


def _select(typingctx: Any, condition: Any, a: Any, b: Any) -> Any:
    """``a if condition else b`` as one ``select`` instruction: no branch in numba's IR
    (whose inliner mishandles the branches of nested conditional expressions). For
    float32 and float64 ``a`` and ``b`` of one type."""
    if not (isinstance(condition, types.Boolean) and a == b
            and a in (types.float32, types.float64)):
        return None

    def codegen(context: Any, builder: Any, signature: Any, arguments: Any) -> Any:
        return builder.select(*arguments)

    return a(condition, a, b), codegen


fmuladd: Any = intrinsic(_fmuladd)
select: Any = intrinsic(_select)
scale: Any = intrinsic(_scale)
split: Any = intrinsic(_split)

_inline = njit(inline="always", cache=False, error_model="numpy")

# Cephes expf.c: log2(e); ln 2 = _LN2_HIGH + _LN2_LOW; the polynomial P, highest first.
_LOG2E = _f(1.44269504088896341)
_LN2_HIGH, _LN2_LOW = _f(0.693359375), _f(-2.12194440e-4)
_P = tuple(_f(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                           4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1))
# Cephes logf.c: the polynomial Q, highest first.
_Q = tuple(_f(c) for c in (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1,
                           -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
                           2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1))
#: 1.5 * 2^23: adding and subtracting it rounds a float32 below 2^22 to an integer.
_ROUND = _f(12582912.0)
#: exp(x) is 0 below (rounds to 0 below -103.97) and inf above (overflows above 88.73);
#: clamping the argument keeps the exponent in ``_scale``'s range.
_EXP_LOW, _EXP_HIGH = _f(-104.0), _f(89.0)
_SMALLEST_NORMAL = _f(1.17549435e-38)
_TWO_23 = _f(8388608.0)


@_inline
def _reduce(x):
    """``(n, r)``: ``x = n ln 2 + r``, ``n`` integral, ``|r| <= ln(2)/2`` (within an ulp),
    for ``x`` clamped to ``[-104, 89]`` (NaN to -104)."""
    above = select(x > _EXP_LOW, x, _EXP_LOW)
    clamped = select(above < _EXP_HIGH, above, _EXP_HIGH)
    n = fmuladd(clamped, _LOG2E, _ROUND) - _ROUND
    r = fmuladd(n, -_LN2_LOW, fmuladd(n, -_LN2_HIGH, clamped))
    return n, r


@_inline
def expf(x):
    """``exp(x)`` for a float32 ``x``: ``2^n (1 + r + r^2 P(r))``."""
    n, r = _reduce(x)
    p = fmuladd(fmuladd(fmuladd(fmuladd(fmuladd(_P[0], r, _P[1]), r, _P[2]), r, _P[3]), r,
                        _P[4]), r, _P[5])
    result = scale(fmuladd(p, r * r, r) + _f(1.0), n)
    return select(x != x, x, result)


@_inline
def logf(x):
    """``log(x)`` for a float32 ``x``."""
    zero = _f(0.0)
    subnormal = x < _SMALLEST_NORMAL
    m, exponent = split(select(subnormal, x * _TWO_23, x))
    e = select(subnormal, exponent - _f(23.0), exponent)
    result = _log_split(m, e)
    special = select(x == zero, _f(-np.inf), _f(np.nan))
    finite = select(x > zero, result, special)
    return select((x == _f(np.inf)) | (x != x), x, finite)


@_inline
def _log_split(m, e):
    """``log(m 2^e)`` for ``m`` in ``[sqrt(1/2), sqrt(2))``."""
    half = _f(0.5)
    f = m - _f(1.0)
    z = f * f
    q = fmuladd(fmuladd(fmuladd(fmuladd(_Q[0], f, _Q[1]), f, _Q[2]), f, _Q[3]), f, _Q[4])
    q = fmuladd(fmuladd(fmuladd(fmuladd(q, f, _Q[5]), f, _Q[6]), f, _Q[7]), f, _Q[8])
    y = fmuladd(-half, z, fmuladd(e, _LN2_LOW, q * f * z))
    return fmuladd(e, _LN2_HIGH, f + y)


@_inline
def log1pf(x):
    """``log(1 + x)`` for a float32 ``x``: ``log(u) + (x - (u - 1)) / u``, ``u = 1 + x``.

    For ``u`` in ``[1/2, 2]`` ``u - 1`` is exact (Sterbenz), so ``x - (u - 1)`` is the
    rounding error of ``u`` exactly and ``/ u`` its first-order effect on the log;
    beyond, the correction is below an ulp of the log. Where ``u`` rounds to 1,
    ``log1p(x)`` is ``x`` to within half an ulp.
    """
    one = _f(1.0)
    u = x + one
    corrected = logf(u) + (x - (u - one)) / u
    result = select(u == one, x, corrected)
    return select(x == _f(np.inf), x, select(u == _f(0.0), _f(-np.inf), result))


# log_coshf's polynomials (``scripts/fit_log_cosh_f32.py``, highest degree first):
# log cosh(x) = x^2 C(x^2) for |x| < 1, relative error 6.8e-9; log1p(t) = t L(t) for
# t = exp(-2|x|) in [0, e^-2], relative error 1.1e-8.
_C = tuple(_f(c) for c in (8.657097155e-05, -5.562256838e-04, 2.077346998e-03,
                           -6.710437917e-03, 2.221657493e-02, -8.333299249e-02,
                           4.999999966e-01))
_L = tuple(_f(c) for c in (1.528532144e-01, -2.447518711e-01, 3.330872636e-01,
                           -4.999959092e-01, 9.999999890e-01))
_TWO_50, _TWO_M100 = _f(2.0**50), _f(2.0**-100)


@_inline
def log_coshf(x):
    """``log(cosh(x))`` for a float32 ``x``: two polynomials and an ``exp``, no division.

    Below ``|x| = 1``, ``x^2 C(x^2)``, with ``x^2`` as the exact sum ``h + l`` of its
    rounding and its error (``fmuladd``; where the target has no FMA, ``l`` is 0 and
    the error grows by up to half an ulp), computed on ``x 2^50`` so that neither
    underflows and scaled back by ``2^-100`` at the end (one rounding, also into the
    subnormals). From 1, ``|x| - ln 2 + log1p(t)`` with ``t = exp(-2|x|)`` at most
    ``e^-2``: the log1p is a polynomial in ``t``, and ``ln 2`` is subtracted in
    Cephes' two parts (``|x| - 0.693359375`` is exact below 2). Both are computed for
    every lane and one is selected; ``inf`` gives ``inf``, NaN NaN.
    """
    a = abs(x)
    scaled = a * _TWO_50
    h = scaled * scaled
    low = fmuladd(scaled, scaled, -h)
    u = h * _TWO_M100
    c = fmuladd(fmuladd(fmuladd(_C[0], u, _C[1]), u, _C[2]), u, _C[3])
    c = fmuladd(fmuladd(fmuladd(c, u, _C[4]), u, _C[5]), u, _C[6])
    small = fmuladd(h, c, low * c) * _TWO_M100
    n, r = _reduce(_f(-2.0) * a)
    p = fmuladd(fmuladd(fmuladd(fmuladd(fmuladd(_P[0], r, _P[1]), r, _P[2]), r, _P[3]), r,
                        _P[4]), r, _P[5])
    t = scale(fmuladd(p, r * r, r) + _f(1.0), n)
    log1p_t = fmuladd(fmuladd(fmuladd(fmuladd(_L[0], t, _L[1]), t, _L[2]), t, _L[3]), t,
                      _L[4]) * t
    large = (a - _LN2_HIGH) + (log1p_t - _LN2_LOW)
    return select(a < _f(1.0), small, large)
