"""Compile every fused kernel now, into numba's on-disk cache: ``losskit compile``.

A kernel compiles on its first use on a machine (most serial twins in about half a
second, up to 10 s; parallel twins in 2-27 s; softmax cross-entropy's take longest)
and loads from numba's cache after. Compiling them all ahead suits a container image,
a CI job, or a benchmark's first run. Each kernel is compiled by calling it as users
do (``dispatch``, with the fast path's size thresholds lowered), so exactly the
signatures that float32 and float64 arrays need are compiled, and the kernels that
``dispatch`` declines (``losskit._fast.SLOWER``) are not.

``jobs`` processes share the work, longest tasks first. A task is one dtype and twin
of a group of losses sharing compiled drivers (``Kernels.drivers``: the quantile and
asymmetric losses share theirs), so no two processes compile the same function for
the same signature. (numba rewrites a function's cache index whole on each save: two
saves of one function's signatures in the same instant could drop one entry, which is
then compiled again on its first use.)
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

__all__ = ["DTYPES", "Compiled", "compile_kernels", "default_jobs", "groups"]

DTYPES = ("float32", "float64")
#: The operations ``dispatch`` serves.
_OPS = ("mean", "none", "loss_gradient", "gradient_hessian")


@dataclass(frozen=True)
class Compiled:
    """One loss's kernels for one dtype and twin, and the seconds its call took (the
    compile, or the load from numba's cache)."""

    loss: str
    dtype: str
    parallel: bool
    seconds: float


@functools.cache
def groups() -> tuple[tuple[Any, ...], ...]:
    """Loss instances, one per registered loss class and link that has kernels, in
    groups that share compiled drivers. Empty without numba."""
    from losskit import _fast

    _fast._load()
    if _fast._numba_missing:
        return ()
    found: list[tuple[list[Any], set[int]]] = []
    classes: list[Any] = sorted(_fast._PROVIDERS, key=lambda c: c.__name__)
    for cls in classes:
        for link in cls.links:
            try:
                loss = cls(link=link)
            except (TypeError, ValueError):
                continue
            kernels = _fast.kernels_for(loss)
            if kernels is None:
                continue
            drivers = {id(driver) for driver in kernels.drivers}
            sharing = [group for group in found if group[1] & drivers]
            losses = [loss]
            for group in sharing:
                found.remove(group)
                losses = group[0] + losses
                drivers |= group[1]
            found.append((losses, drivers))
    return tuple(tuple(losses) for losses, _ in found)


def _label(loss: Any) -> str:
    """The loss's name, with its link where it is not the default one."""
    default = type(loss)().link.name
    return loss.name if loss.link.name == default else f"{loss.name}(link={loss.link.name})"


@contextlib.contextmanager
def _twin(parallel: bool) -> Iterator[None]:
    from losskit._config import fast_path

    # Examples of 64 elements reach the kernels; threads=2 runs the parallel twins.
    with fast_path(True, min_size=1, threads=2 if parallel else 1, parallel_min_size=1):
        yield


def _compile_group(index: int, dtype: str, parallel: bool) -> list[Compiled]:
    """Call every operation of each loss of group ``index`` on a valid example."""
    from losskit._fast import dispatch

    done = []
    for loss in groups()[index]:
        y_pred, y_true = loss.example(64, seed=0)
        y_pred = y_pred.astype(dtype)
        if y_true.dtype.kind == "f":
            y_true = y_true.astype(dtype)
        start = time.perf_counter()
        with _twin(parallel):
            for op in _OPS:
                dispatch(loss, op, y_pred, y_true, None)
        done.append(Compiled(_label(loss), dtype, parallel, time.perf_counter() - start))
    return done


def compile_kernels(*, dtypes: Sequence[str] = DTYPES, jobs: int = 1) -> list[Compiled]:
    """Compile (or load from numba's cache) every kernel for ``dtypes``, in ``jobs``
    processes; what each loss took. Nothing without numba.

    Parallel twins are compiled where numba has at least two threads (elsewhere
    ``dispatch`` never runs them).
    """
    unknown = [dtype for dtype in dtypes if dtype not in DTYPES]
    if unknown:
        raise ValueError(f"dtypes must be among {list(DTYPES)}; got {unknown}")
    if not (isinstance(jobs, int) and jobs >= 1):
        raise ValueError(f"jobs must be a positive integer; got {jobs!r}")
    if not groups():
        return []
    numba: Any = sys.modules["numba"]  # imported by groups()
    twins = (True, False) if numba.config.NUMBA_NUM_THREADS >= 2 else (False,)
    # Longest first: parallel twins, float32 (wider vectors), larger groups.
    tasks = sorted(((index, dtype, parallel) for index in range(len(groups()))
                    for dtype in dtypes for parallel in twins),
                   key=lambda task: (not task[2], task[1] != "float32",
                                     -len(groups()[task[0]])))
    if jobs == 1:
        return [done for task in tasks for done in _compile_group(*task)]
    # Fresh interpreters (no fork of a process with numba's threads running).
    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)),
                             mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_compile_group, *task) for task in tasks]
        return [done for future in futures for done in future.result()]


def default_jobs() -> int:
    """The usable cores."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
