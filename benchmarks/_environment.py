"""What a benchmark prints about where it ran, and the thread settings it imposes.

Every number in a benchmark's output depends on the machine, its load and how many
threads each library was given, so the header states them: CPU model, usable cores, L3
size, versions, thread counts, OpenMP's wait policy, losskit's fast-path settings, and
the load average before and after the run.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from collections.abc import Iterator, Sequence
from importlib import metadata
from typing import Any

from benchmarks._cases import Case
from benchmarks._floor import FLOOR_ENGINE
from losskit._config import settings

__all__ = ["cache_note", "header", "load", "openmp_line", "optional", "same_threads",
           "usable_cores"]


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover - not Linux
        pass
    return platform.processor() or platform.machine()


def load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:  # pragma: no cover - not available on this platform
        return "unknown"


def _l3_bytes() -> int | None:
    try:
        with open("/sys/devices/system/cpu/cpu0/cache/index3/size") as handle:
            text = handle.read().strip()
    except OSError:  # pragma: no cover - not Linux, or no L3
        return None
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


def _megabytes(nbytes: int | None) -> str:
    return "unknown" if nbytes is None else f"{nbytes / 2**20:.0f} MiB"


def cache_note(input_bytes: int) -> str:
    """Whether the inputs fit in the last-level cache: then the floors are cache floors."""
    l3 = _l3_bytes()
    where = "" if l3 is None else (" (fit in L3: a cache benchmark, not a memory one)"
                                   if input_bytes <= l3 else " (exceed L3)")
    return f"inputs {_megabytes(input_bytes)}{where}"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


def optional(module: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        return None


@contextlib.contextmanager
def same_threads(threads: int) -> Iterator[list[str]]:
    """Give every library ``threads`` threads; yield a description, restore afterwards.

    XLA's thread pool is fixed when JAX starts: with one thread it is switched to one
    (``--xla_cpu_multi_thread_eigen=false``) if JAX is not imported yet; otherwise it
    keeps its default (all cores), and the description says so.
    """
    described = []
    if threads == 1 and "jax" not in sys.modules:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()
    torch, numba = optional("torch"), optional("numba")
    saved_torch = saved_numba = None
    if torch is not None:
        saved_torch = torch.get_num_threads()
        torch.set_num_threads(threads)
        described.append(f"torch {torch.get_num_threads()} (set_num_threads)")
    saved_fast = (settings.fast_threads, settings.fast_parallel_min_size)
    if numba is not None:
        saved_numba = numba.get_num_threads()
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        # losskit's kernels on as many threads as every other library, at every size
        # (by default they run serially below fast_parallel_min_size).
        settings.fast_threads, settings.fast_parallel_min_size = threads, 0
        described.append(f"numba {numba.get_num_threads()} (losskit's kernels at every size "
                         "with lk.fast_path(threads=..., parallel_min_size=0), and the floor)")
    described.append(f"sklearn._loss n_threads={threads}")
    one_thread_xla = "--xla_cpu_multi_thread_eigen=false" in os.environ.get("XLA_FLAGS", "")
    described.append("XLA 1 (--xla_cpu_multi_thread_eigen=false)" if one_thread_xla
                     else "XLA default (all cores)")
    try:
        with contextlib.ExitStack() as stack:
            threadpoolctl = optional("threadpoolctl")
            if threadpoolctl is not None:
                stack.enter_context(threadpoolctl.threadpool_limits(limits=threads,
                                                                    user_api="blas"))
                blas = [f"{pool['internal_api']} {pool['num_threads']}"
                        for pool in threadpoolctl.threadpool_info()
                        if pool["user_api"] == "blas"]
                described.append(f"BLAS {', '.join(blas) or 'none loaded'} (threadpoolctl)")
            yield described
    finally:
        if saved_torch is not None:
            torch.set_num_threads(saved_torch)
        if saved_numba is not None:
            numba.set_num_threads(saved_numba)
        settings.fast_threads, settings.fast_parallel_min_size = saved_fast


def openmp_line() -> str:
    """OMP_WAIT_POLICY, which decides whether idle OpenMP threads spin.

    numba (its ``omp`` threading layer), torch and scikit-learn each load their own
    libgomp. By default a team's threads spin for a while after each parallel region, and
    on a small machine they starve the next competitor's threads: here torch's
    ``mse_loss`` on 10^6 elements took 24 ms instead of 0.7 ms right after a numba kernel
    ran. ``main`` sets PASSIVE (idle threads sleep) before any runtime loads.
    """
    policy = os.environ.get("OMP_WAIT_POLICY", "unset (libgomp spins after each region)")
    modules = {"torch": "torch", "sklearn": "scikit-learn",
               "numba.np.ufunc.omppool": "numba's OpenMP layer"}
    late = [name for module, name in modules.items() if module in sys.modules]
    caveat = (f" ({', '.join(late)} loaded before the benchmark started: may have read "
              "another value)" if late else "")
    return f"OMP_WAIT_POLICY={policy}{caveat}"


def _kernels_line(cases: Sequence[Case]) -> str:
    try:
        from losskit._fast import available, kernels_for
    except ImportError:  # a losskit without the fast path
        return "losskit fast path: not in this version"
    with_kernels = [case.name for case in cases if kernels_for(case.loss) is not None]
    return (f"losskit fast path: settings.fast={settings.fast} (forced on for 'losskit'), "
            f"fast_min_size={settings.fast_min_size}, numba "
            f"{'available' if available() else 'missing'}; kernels for: "
            f"{', '.join(with_kernels) if with_kernels else 'none yet (reference path)'}")


def header(cases: Sequence[Case], threads: list[str], openmp: str, rounds: int,
           seed: int) -> list[str]:
    """The lines printed above the tables."""
    packages = ["losskit", "numpy", "scipy", "numba", "torch", "jax", "jaxlib", "scikit-learn",
                "threadpoolctl"]
    versions = ", ".join(f"{name} {_version(name)}" for name in packages)
    return [
        f"CPU: {_cpu_model()} ({usable_cores()} usable cores, L3 "
        f"{_megabytes(_l3_bytes())}); {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}",
        f"versions: {versions}",
        f"threads: {'; '.join(threads)}; NumPy single-threaded; {openmp}",
        _kernels_line(cases),
        f"method: one warm-up call each (compiles, and its result is checked), then "
        f"{rounds} interleaved rounds in shuffled order (seed {seed}); medians; "
        f"floor engine: {FLOOR_ENGINE}",
    ]
