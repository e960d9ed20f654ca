"""Array-namespace plumbing and input validation shared by every layer.

The namespace comes from the inputs (``array_api_compat.array_namespace``); Python
lists and scalars become NumPy arrays, and a NumPy ``y_true`` or ``sample_weight``
beside a PyTorch or JAX ``y_pred`` is moved into ``y_pred``'s library and device.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace, device, is_array_api_obj

__all__ = [
    "as_array",
    "can_inspect",
    "compute_dtype",
    "fail_where",
    "is_lazy",
    "namespace",
]


def namespace(*arrays: Any) -> Any:
    """The array-API namespace of ``arrays`` (non-arrays are ignored)."""
    present = [a for a in arrays if is_array_api_obj(a)]
    if not present:
        return array_namespace(np.empty(0))
    return array_namespace(*present)


def as_array(value: Any, name: str, *, xp: Any = None, like: Any = None) -> Any:
    """Turn ``value`` into an array of ``xp`` (on ``like``'s device), with clear errors.

    Rejects strings, objects, complex numbers and ragged sequences, naming ``name``.
    """
    if is_array_api_obj(value):
        array = value
    else:
        try:
            array = np.asarray(value)
        except ValueError as error:  # ragged nested lists
            raise ValueError(
                f"{name} must be a rectangular array of numbers; could not convert it "
                f"({error})"
            ) from None
    kind = _dtype_kind(array)
    if kind == "c":
        raise TypeError(f"{name} must be real-valued; got complex dtype {array.dtype}")
    if kind not in ("f", "i", "u", "b"):
        raise TypeError(f"{name} must be a numeric array; got dtype {array.dtype}")
    if xp is not None and namespace(array) is not xp:
        kwargs = {} if like is None else {"device": device(like)}
        array = xp.asarray(np.asarray(array), **kwargs)
    return array


def _dtype_kind(array: Any) -> str:
    """NumPy's one-letter dtype kind for an array of any library."""
    dtype = array.dtype
    try:
        return np.dtype(dtype).kind
    except TypeError:
        pass
    text = str(dtype).lower()
    if "complex" in text:
        return "c"
    if "float" in text:
        return "f"
    if "bool" in text:
        return "b"
    if "uint" in text:
        return "u"
    if "int" in text:
        return "i"
    return "O"


def is_floating(array: Any) -> bool:
    return _dtype_kind(array) == "f"


def default_float(xp: Any, like: Any) -> Any:
    """The default real floating dtype of ``xp`` (float64 for NumPy, torch's default)."""
    try:
        info = xp.__array_namespace_info__()
        return info.default_dtypes(device=device(like))["real floating"]
    except (AttributeError, TypeError, KeyError):
        return xp.float64


def compute_dtype(xp: Any, array: Any) -> tuple[Any, Any]:
    """(dtype to compute in, dtype to return) for a prediction array.

    Float32 and float64 are kept. Half precisions (float16, bfloat16) are computed in
    float32 and returned in their own dtype; integers and booleans become the
    library's default float.
    """
    if is_floating(array):
        dtype = array.dtype
        text = str(dtype)
        if "16" in text:
            return xp.float32, dtype
        return dtype, dtype
    dtype = default_float(xp, array)
    return dtype, dtype


def is_lazy(array: Any) -> bool:
    """True for arrays whose values cannot be inspected without side effects.

    JAX tracers (inside ``jit``/``grad``) have no values; Dask arrays would be
    computed by a data-dependent check. Validation of values is skipped for both.
    """
    module = type(array).__module__
    if module.startswith("dask"):
        return True
    if module.startswith("jax"):
        try:
            import jax

            return isinstance(array, jax.core.Tracer)
        except (ImportError, AttributeError):  # pragma: no cover - jax internals moved
            return False
    return False


def can_inspect(*arrays: Any) -> bool:
    return not any(is_lazy(a) for a in arrays if a is not None)


def fail_where(xp: Any, bad: Any, message: str, *, error: type[Exception] = ValueError) -> None:
    """Raise ``error`` if any element of the boolean array ``bad`` is true.

    The message gets the count and the first offending index appended, so the user
    can find the value: ``"... ; got 3 such values (first at index (17,))"``.
    """
    if not bool(xp.any(bad)):
        return
    flat = np.asarray(_to_numpy(bad)).reshape(bad.shape)
    count = int(flat.sum())
    first = tuple(int(i) for i in np.argwhere(flat)[0])
    where = first[0] if len(first) == 1 else first
    noun = "value" if count == 1 else "values"
    raise error(f"{message}; got {count} such {noun} (first at index {where})")


def _to_numpy(array: Any) -> Any:
    if hasattr(array, "detach"):  # torch
        return array.detach().cpu().numpy()
    if hasattr(array, "get"):  # cupy
        return array.get()
    return np.asarray(array)


def to_numpy(array: Any) -> np.ndarray:
    """A NumPy copy of an array of any library (for error messages and scalars)."""
    return np.asarray(_to_numpy(array))
