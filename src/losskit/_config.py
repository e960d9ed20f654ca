"""Process-wide switches: the fused fast path for NumPy inputs."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["fast_path", "settings"]


def _threads_from_environment() -> int | None:
    text = os.environ.get("LOSSKIT_FAST_THREADS", "").strip()
    if not text:
        return None
    threads = int(text)
    if threads < 1:
        raise ValueError(f"LOSSKIT_FAST_THREADS must be a positive integer; got {text!r}")
    return threads


@dataclass
class Settings:
    #: Use fused compiled kernels for NumPy inputs where a loss has them (needs numba,
    #: the ``fast`` extra). ``LOSSKIT_FAST=0`` in the environment turns it off.
    fast: bool = os.environ.get("LOSSKIT_FAST", "1") != "0"
    #: Below this many elements the reference path is used. A kernel call costs about
    #: 6-10 us in Python, the reference path's validation and array-API dispatch 20-60
    #: us: from 1 element to 4,096 every kernel took 0.11-0.52 of the reference's time
    #: (mean and gradient_hessian of 10 losses, 2026-11-26). But the first kernel call
    #: of a process loads numba and the kernel modules (about 0.5 s), and a kernel
    #: compiles on its first use on a machine (seconds per loss and dtype; cached on
    #: disk after; ``losskit compile`` compiles them all ahead): one-off small
    #: evaluations (a plot's 601 points, the CLI on a small file, doctests) stay on the
    #: reference path (a first plot of three losses on a fresh machine: 0.3 s, against
    #: 3.0 s through the kernels). A loop over small
    #: batches gains 3-5 times per call with ``lk.fast_path(min_size=1)``.
    fast_min_size: int = 1_024
    #: Also use the kernels that measured slower than the reference path where they
    #: have no vector math (``losskit._fast.SLOWER``); for tests that check every kernel.
    fast_force: bool = False
    #: The most threads a kernel may use: None for numba's thread count
    #: (``numba.get_num_threads()``), 1 for the serial kernels only.
    #: ``LOSSKIT_FAST_THREADS`` in the environment sets it.
    fast_threads: int | None = _threads_from_environment()
    #: Below this many elements a kernel runs on the calling thread alone. A parallel
    #: call waits for its slowest thread, and on a loaded machine (other processes,
    #: a booster's or BLAS's spinning OpenMP threads) that thread may wait a whole
    #: scheduler time slice or two. On the 2-core development machine with two
    #: CPU-bound processes beside it (``python -m benchmarks.oversubscription``), a
    #: parallel Huber mean took 7-8 ms from 2^18 to 2^22 elements, where the serial
    #: kernel takes 0.15 to 2.7 ms; from 2^23 on parallel was no slower than serial.
    #: On a quiet machine parallel pays from about 2^17: lower this (or raise
    #: ``threads``) where nothing else competes for the cores.
    fast_parallel_min_size: int = 2**23


settings = Settings()


@contextlib.contextmanager
def fast_path(enabled: bool = True, *, min_size: int | None = None,
              force: bool | None = None, threads: int | None = None,
              parallel_min_size: int | None = None) -> Iterator[Settings]:
    """Temporarily switch the fast path on or off, or change how it runs.

    ``min_size``: the fewest elements served by a kernel; ``force``: use even the
    kernels measured slower than the reference path; ``threads``: the most threads a
    kernel may use (1: serial); ``parallel_min_size``: the fewest elements for which a
    kernel runs multi-threaded. An argument left None keeps the current setting.

    >>> import losskit as lk
    >>> with lk.fast_path(False):
    ...     pass  # every loss takes the reference array-API path here
    >>> with lk.fast_path(threads=1):
    ...     pass  # kernels run on the calling thread only (inside a training loop)
    """
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be a positive integer; got {threads!r}")
    saved = (settings.fast, settings.fast_min_size, settings.fast_force,
             settings.fast_threads, settings.fast_parallel_min_size)
    settings.fast = enabled
    if min_size is not None:
        settings.fast_min_size = min_size
    if force is not None:
        settings.fast_force = force
    if threads is not None:
        settings.fast_threads = threads
    if parallel_min_size is not None:
        settings.fast_parallel_min_size = parallel_min_size
    try:
        yield settings
    finally:
        (settings.fast, settings.fast_min_size, settings.fast_force,
         settings.fast_threads, settings.fast_parallel_min_size) = saved
