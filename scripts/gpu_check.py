"""Run every registered loss on GPU arrays (PyTorch CUDA, CuPy, JAX) against NumPy.

Not part of the test suite (CI has no GPU). On a machine with a CUDA device:

    python scripts/gpu_check.py

For each loss instance (every supported link), computes the mean, the per-sample
values, the gradient and the Hessian on each GPU library and checks that the result
is an array of that library, on the GPU, of the input's dtype, and equal to the NumPy
result (rel 1e-10 in float64, 1e-4 in float32). Structured losses (ranking, embedding,
sequence, REINFORCE) run with their own inputs, ``y_true`` None where they take none.
Also checks that torch autograd flows through the mean on the GPU. Prints one line per
failure and a closing count.
"""

from __future__ import annotations

import inspect
import sys
import traceback

import numpy as np

import losskit as lk


def backends():
    found = {}
    if "--cpu-dry-run" in sys.argv:  # exercise this script without a GPU
        import torch

        return {"torch-cpu": (
            lambda a, dt: torch.asarray(a, dtype=getattr(torch, dt)),
            lambda r: r.detach().numpy(),
            lambda r: True,
        )}
    try:
        import torch

        if torch.cuda.is_available():
            found["torch-cuda"] = (
                lambda a, dt: torch.asarray(a, dtype=getattr(torch, dt), device="cuda"),
                lambda r: r.detach().cpu().numpy(),
                lambda r: r.is_cuda,
            )
    except ImportError:
        pass
    try:
        import cupy

        found["cupy"] = (
            lambda a, dt: cupy.asarray(a, dtype=dt),
            lambda r: cupy.asnumpy(r),
            lambda r: isinstance(r, cupy.ndarray),
        )
    except ImportError:
        pass
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        if gpus:
            found["jax-gpu"] = (
                lambda a, dt: jax.device_put(jax.numpy.asarray(a, dtype=dt), gpus[0]),
                lambda r: np.asarray(r),
                lambda r: all(d.platform == "gpu" for d in r.devices()),
            )
    except ImportError:
        pass
    return found


def instances():
    for name in lk.list_losses():
        cls = lk.registry.loss_class(name)
        if "link" not in inspect.signature(cls.__init__).parameters:
            yield lk.get(name)  # structured losses with a fixed input space
            continue
        for link in cls.links:
            yield lk.get(name, link=link)


def main() -> int:
    found = backends()
    print("backends:", ", ".join(found) or "none")
    if not found:
        return 1
    passed = failed = 0
    for loss in instances():
        y_pred, y_true = loss.example(64, seed=1)
        weight = np.linspace(0.5, 2.0, y_pred.shape[0])
        reference = {
            "mean": loss(y_pred, y_true, sample_weight=weight),
            "elementwise": loss.elementwise(y_pred, y_true),
            "gradient": loss.gradient(y_pred, y_true, sample_weight=weight),
            "hessian": loss.hessian(y_pred, y_true, sample_weight=weight),
        }
        for backend, (convert, back, on_gpu) in found.items():
            for dtype, rtol in (("float64", 1e-10), ("float32", 1e-4)):
                label = f"{loss!r} link={loss.link.name} {backend} {dtype}"
                try:
                    p = convert(y_pred, dtype)
                    t = None if y_true is None else convert(y_true, dtype)
                    w = convert(weight, dtype)
                    results = {
                        "mean": loss(p, t, sample_weight=w),
                        "elementwise": loss.elementwise(p, t),
                        "gradient": loss.gradient(p, t, sample_weight=w),
                        "hessian": loss.hessian(p, t, sample_weight=w),
                    }
                    for key, value in results.items():
                        assert on_gpu(value), f"{key} is not on the GPU: {type(value)}"
                        assert dtype in str(value.dtype), f"{key} dtype {value.dtype}"
                        np.testing.assert_allclose(back(value), reference[key], rtol=rtol,
                                                   atol=rtol * 1e-3, err_msg=key)
                    if backend.startswith("torch"):
                        import torch

                        leaf = p.clone().requires_grad_(True)
                        loss(leaf, t).backward()
                        assert leaf.grad is not None and on_gpu(leaf.grad)
                        assert bool(torch.isfinite(leaf.grad).all())
                    passed += 1
                except Exception as error:  # report every failure, keep going
                    failed += 1
                    print(f"FAIL {label}: {type(error).__name__}: {error}".splitlines()[0])
                    if "-v" in sys.argv:
                        traceback.print_exc()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
