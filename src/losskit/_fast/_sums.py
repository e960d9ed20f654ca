"""Summation shared by the kernel modules' reductions."""

from __future__ import annotations

from typing import Any

from numba import types
from numba.extending import intrinsic

__all__ = ["accumulate"]


def _accumulate(typingctx: Any, total: Any, term: Any) -> Any:
    """``total + term`` in float64, an addition LLVM may reassociate (``fadd reassoc``).

    A loop ``s = accumulate(s, term_i)`` is a reduction the loop vectoriser may split
    into vector accumulators (LLVM vectorises a floating-point reduction only when its
    additions may be reordered): with AVX-512, vectors of 8 running sums (several
    interleaved), each lane over every 8th (or 16th, 32nd) term, added together at the
    end of the loop. The order is
    fixed by the compiled code, so a call is deterministic on a machine; a machine with
    another vector width adds in another order (the result differs in the last bits).
    As accurate as one running sum or more. Only this addition carries the flag: the
    terms are computed as written (numba's ``fastmath`` would license the whole
    function). Against writing the terms to a buffer and adding it with eight scalar
    accumulators, the float32 reductions took 0.65-0.77 of the time (n = 10^7, 2
    threads, the 2-core development machine, 2026-11-26): no store and reload per term.
    """
    if total != types.float64 or term != types.float64:
        return None

    def codegen(context: Any, builder: Any, signature: Any, arguments: Any) -> Any:
        return builder.fadd(arguments[0], arguments[1], flags=("reassoc",))

    return types.float64(types.float64, types.float64), codegen


#: ``accumulate(total, term)`` in compiled code (numba passes the typing context).
accumulate: Any = intrinsic(_accumulate)
