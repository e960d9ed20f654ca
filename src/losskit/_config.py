"""Process-wide switches: the fused fast path for NumPy inputs."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["fast_path", "settings"]


@dataclass
class Settings:
    #: Use fused compiled kernels for NumPy inputs where a loss has them (needs numba,
    #: the ``fast`` extra). ``LOSSKIT_FAST=0`` in the environment turns it off.
    fast: bool = os.environ.get("LOSSKIT_FAST", "1") != "0"
    #: Below this many elements the reference path is used: a kernel call's fixed cost
    #: (thread start-up) outweighs the saved passes over memory.
    fast_min_size: int = 32_768
    #: Also use the kernels that measured slower than the reference path
    #: (``losskit._fast.SLOWER``); for tests that check every kernel.
    fast_force: bool = False


settings = Settings()


@contextlib.contextmanager
def fast_path(enabled: bool = True, *, min_size: int | None = None,
              force: bool | None = None) -> Iterator[Settings]:
    """Temporarily switch the fast path on or off (its size threshold, and ``force``:
    use even the kernels measured slower than the reference path).

    >>> import losskit as lk
    >>> with lk.fast_path(False):
    ...     pass  # every loss takes the reference array-API path here
    """
    saved = (settings.fast, settings.fast_min_size, settings.fast_force)
    settings.fast = enabled
    if min_size is not None:
        settings.fast_min_size = min_size
    if force is not None:
        settings.fast_force = force
    try:
        yield settings
    finally:
        settings.fast, settings.fast_min_size, settings.fast_force = saved
