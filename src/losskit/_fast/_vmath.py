r"""``exp``, ``log``, ``log1p``, ``tanh`` ... that LLVM's loop vectoriser can vectorise.

numba compiles ``math.exp`` to LLVM's ``llvm.exp`` intrinsic; in a loop the vectoriser
widens it to ``llvm.exp.v8f64``, which the code generator then splits back into eight
calls of the C library's scalar ``exp`` (about 3 ns each). A kernel whose loss needs an
``exp`` and a ``log1p`` per element is bound by those calls, while NumPy's and XLA's
SIMD loops take well under 1 ns per element.

glibc ships the vector versions: ``libmvec`` (``_ZGVdN4v_exp`` takes and returns four
doubles in an AVX2 register; glibc 2.35 and later have ``log1p``, ``expm1``, ``tanh``,
``sinh`` and more besides ``exp``, ``log`` and ``pow``; documented maximum error 4 ulp,
glibc manual "Errors in Math Functions"). LLVM can call them from vectorised loops when
a scalar call carries the attribute ``vector-function-abi-variant`` naming its vector
variants in the vector function ABI's mangling (``_ZGV_LLVM_N4v_losskit_exp
(_ZGVdN4v_exp)``: unmasked, 4 lanes, one vector argument). The functions here emit such
calls:

- the scalar callee is ``losskit_exp`` (``losskit_expf`` for float32), a symbol bound
  to the C library's ``exp`` with ``llvmlite.binding.add_symbol``: under its own name
  LLVM does not recognise it as the library function it would turn back into
  ``llvm.exp``, which has no vector mapping in numba's LLVM;
- it is declared ``memory(none) nounwind willreturn speculatable``, so a call under a
  branch can be executed for every lane and blended (``log_cosh``'s three regimes);
- the vector variants offered are those the compile target's features allow: SSE2
  (``b``), AVX (``c``), AVX2 (``d``), AVX-512 (``e``), each only if libmvec exports it
  (every function needs one, in both precisions: glibc 2.35 or later).

Where libmvec is missing (another C library or OS, another architecture), or
``LOSSKIT_VECTOR_MATH=0``, each function here *is* ``math.exp`` etc., and numba
compiles the scalar calls as before. Compiled kernels are cached by numba under their
qualified names; ``TAG`` ends those names (``losskit._fast.cache_suffix``), so the
machine code of one setting is never loaded under the other.

Accuracy: a kernel's element may come from the vector variant (main loop) or the
scalar function (remainder), which differ by a few ulp at most; the fast path's tests
compare to the reference path at rel 1e-14 (about 45 ulp) in float64.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import os
import platform
import sys
from typing import Any

__all__ = ["ENABLED", "TAG", "by_precision", "exp", "expm1", "inline_exp", "inline_log",
           "inline_log1p", "log", "log1p", "pow", "sinh", "tanh"]

#: name -> number of arguments (glibc's names; float32 adds ``f``).
FUNCTIONS = {"exp": 1, "expm1": 1, "log": 1, "log1p": 1, "sinh": 1, "tanh": 1, "pow": 2}
#: libmvec ISA letter -> (LLVM feature it needs, lanes of float64); float32 has twice.
_ISAS = {"b": ("sse2", 2), "c": ("avx", 4), "d": ("avx2", 4), "e": ("avx512f", 8)}


def _target_features() -> set[str]:
    """The features numba compiles for: ``NUMBA_CPU_FEATURES``, or the host's."""
    import llvmlite.binding as ll
    from numba.core import config

    # Set by numba from the environment at import (attributes mypy cannot see).
    name, features = getattr(config, "CPU_NAME", None), getattr(config, "CPU_FEATURES", None)
    if name or features:
        listed = (features or "").split(",")
        return {"sse2"} | {f[1:] for f in listed if f.startswith("+")}
    return {name for name, on in ll.get_host_cpu_features().items() if on}


def _libmvec() -> Any:
    if os.environ.get("LOSSKIT_VECTOR_MATH", "1").strip().lower() in ("0", "false", "off", "no"):
        return None
    if sys.platform != "linux" or platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    name = ctypes.util.find_library("mvec") or "libmvec.so.1"
    try:
        return ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
    except OSError:
        return None


def _variants(library: Any, features: set[str]) -> dict[tuple[str, str], list[tuple[str, int]]]:
    """``(function, "d"|"f") -> [(vector symbol, lanes)]``, one per lane count, best ISA."""
    table: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for function, arity in FUNCTIONS.items():
        for kind, widen in (("d", 1), ("f", 2)):
            by_lanes: dict[int, str] = {}
            for isa, (feature, lanes) in _ISAS.items():  # later ISAs override earlier
                lanes *= widen
                symbol = f"_ZGV{isa}N{lanes}{'v' * arity}_{function}{'f' if kind == 'f' else ''}"
                if feature in features and hasattr(library, symbol):
                    by_lanes[lanes] = symbol
            table[function, kind] = sorted(((s, n) for n, s in by_lanes.items()),
                                           key=lambda item: item[1])
    return table


def _bind_scalars(libm: Any) -> bool:
    """Bind ``losskit_<f>`` / ``losskit_<f>f`` to the C library's scalar functions."""
    import llvmlite.binding as ll

    for function in FUNCTIONS:
        for suffix in ("", "f"):
            address = ctypes.cast(getattr(libm, function + suffix), ctypes.c_void_p).value
            if address is None:
                return False
            ll.add_symbol(f"losskit_{function}{suffix}", address)
    return True


def _setup() -> tuple[Any, dict[tuple[str, str], list[tuple[str, int]]]]:
    library = _libmvec()
    if library is None:
        return None, {}
    try:
        libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        import llvmlite.binding as ll

        ll.load_library_permanently(library._name)
        if not _bind_scalars(libm):
            return None, {}
    except (OSError, AttributeError, RuntimeError):
        return None, {}
    table = _variants(library, _target_features())
    # glibc before 2.35 has vector exp, log and pow only: then no vector math at all,
    # and the kernels that are slower with scalar math are declined (``_fast.SLOWER``).
    if not all(table.values()):
        return None, {}
    return library, table


_LIBRARY, _TABLE = _setup()
#: Whether the functions below reach libmvec's vector variants.
ENABLED = _LIBRARY is not None
#: Appended to the cached kernels' names: which vector variants their code may call.
TAG = "" if not ENABLED else "_mvec_" + "".join(sorted({
    symbol[4] for variants in _TABLE.values() for symbol, _ in variants}))


def _vectorisable(function: str, arity: int) -> Any:
    """A numba intrinsic calling ``losskit_<function>`` with its vector variants."""
    import llvmlite.ir as ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    def lower(builder: Any, float_type: Any, kind: str, arguments: list[Any]) -> Any:
        module = builder.module
        scalar_name = f"losskit_{function}{'f' if kind == 'f' else ''}"
        scalar = cgutils.get_or_insert_function(
            module, ir.FunctionType(float_type, [float_type] * arity), scalar_name)
        variants = _TABLE[function, kind]
        if not scalar.attributes:
            # AttributeSet.add accepts only the attributes llvmlite knows by name.
            for attribute in ("nounwind", "willreturn", "speculatable", "memory(none)"):
                set.add(scalar.attributes, attribute)
        declared = []
        for symbol, lanes in variants:
            vector = ir.VectorType(float_type, lanes)
            declared.append(cgutils.get_or_insert_function(
                module, ir.FunctionType(vector, [vector] * arity), symbol))
        if declared:
            _keep(module, declared)
        call = builder.call(scalar, arguments)
        if variants:
            mangled = ",".join(f"_ZGV_LLVM_N{lanes}{'v' * arity}_{scalar_name}({symbol})"
                               for symbol, lanes in variants)
            set.add(call.attributes, f'"vector-function-abi-variant"="{mangled}"')
        return call

    def typer(typingctx: Any, *args: Any) -> Any:
        if len(args) != arity or any(a != args[0] for a in args):
            return None
        if args[0] == types.float64:
            kind, float_type = "d", ir.DoubleType()
        elif args[0] == types.float32:
            kind, float_type = "f", ir.FloatType()
        else:
            return None

        def codegen(context: Any, builder: Any, signature: Any, arguments: Any) -> Any:
            return lower(builder, float_type, kind, list(arguments))

        return args[0](*args), codegen

    if arity == 1:
        def unary(typingctx: Any, x: Any) -> Any:
            return typer(typingctx, x)
        unary.__name__ = function
        return intrinsic(unary)

    def binary(typingctx: Any, x: Any, y: Any) -> Any:
        return typer(typingctx, x, y)
    binary.__name__ = function
    return intrinsic(binary)


def _keep(module: Any, functions: list[Any]) -> None:
    """List ``functions`` in the module's ``llvm.compiler.used``: a declaration that no
    instruction calls yet would be dropped before the vectoriser gets to name it."""
    import llvmlite.ir as ir

    pointer = ir.IntType(8).as_pointer()
    used = module.globals.get("llvm.compiler.used")
    if used is None:
        used = ir.GlobalVariable(module, ir.ArrayType(pointer, 0), "llvm.compiler.used")
        used.linkage = "appending"
        used.section = "llvm.metadata"
    if not hasattr(used, "losskit_kept"):  # ours, or another's whose entries stay first
        earlier = used.initializer
        used.losskit_earlier = [] if earlier is None else list(earlier.constant)
        used.losskit_kept = []
    kept = used.losskit_kept
    kept += [f for f in functions if f not in kept]
    # One global of this name per module: it grows in place.
    entries = [*used.losskit_earlier, *(f.bitcast(pointer) for f in kept)]
    used.value_type = ir.ArrayType(pointer, len(entries))
    used.initializer = ir.Constant(used.value_type, entries)


if ENABLED:
    exp = _vectorisable("exp", 1)
    expm1 = _vectorisable("expm1", 1)
    log = _vectorisable("log", 1)
    log1p = _vectorisable("log1p", 1)
    sinh = _vectorisable("sinh", 1)
    tanh = _vectorisable("tanh", 1)
    pow = _vectorisable("pow", 2)
else:
    exp, expm1, log, log1p = math.exp, math.expm1, math.log, math.log1p
    sinh, tanh, pow = math.sinh, math.tanh, math.pow


def by_precision(name: str, single: Any, double: Any) -> Any:
    """A function ``name`` for compiled code that is ``single`` on a float32 argument
    and ``double`` on a float64 one, inlined into numba's IR (both take one argument,
    named ``x``).

    A function compiled with ``inline="always"`` is inlined as its Python source
    (``py_func``): inlining a call to it from a wrapper, two levels deep, left numba's
    IR with variables out of scope where it has branches (a NumbaIRAssumptionWarning).
    """
    from numba import types
    from numba.extending import overload

    def function(x):
        raise TypeError(f"{name} is for compiled code")

    function.__name__ = function.__qualname__ = name

    def source(compiled: Any) -> Any:
        if getattr(compiled, "targetoptions", {}).get("inline") == "always":
            return compiled.py_func

        def call(x):
            return compiled(x)

        return call

    implementations = {types.float32: source(single), types.float64: source(double)}

    @overload(function, inline="always")
    def _typed(x):
        return implementations.get(x)

    return function


def _inlined(name: str, double: Any) -> Any:
    from losskit._fast import _f32math

    return by_precision(f"inline_{name}", getattr(_f32math, name + "f"), double)


# In float32, a formula may call these instead: inlined arithmetic, no call (see
# ``_f32math``). Which is faster depends on the formula (measured per formula where it
# calls them); in float64 they are ``exp``, ``log`` and ``log1p``.
inline_exp = _inlined("exp", exp)
inline_log = _inlined("log", log)
inline_log1p = _inlined("log1p", log1p)
