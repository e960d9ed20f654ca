"""Shared fixtures: every registered loss as a test case, and the array backends.

``LOSS_CASES`` is built from the registry (``lk.list_losses()``), as scikit-learn's
``test_loss.py`` builds ``LOSS_INSTANCES`` from ``_LOSSES``: for each name, the default
instance, one instance per supported link and, where the name is registered, the
hyperparameter variants of ``VARIANTS``. A loss added to a family module is therefore
run through every generic test in ``test_generic.py`` without a new test file.

The ``xp`` fixture parametrises a test over the array libraries, as scipy's
``conftest.py`` does: it yields a ``Backend`` that converts NumPy arrays into that
library and back, and runs functions under ``jax.jit`` for JAX.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import re
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import losskit as lk
from losskit.core import Loss

try:  # JAX computes in float32 unless told otherwise; the suite compares float64.
    import jax

    jax.config.update("jax_enable_x64", True)
except ImportError:  # pragma: no cover - jax is a dev dependency
    pass


# ------------------------------------------------------------------ loss cases
def _class_weight(default: Loss) -> dict[str, Any]:
    """One weight per class, unequal so that the normaliser of the mean matters."""
    n_classes = np.shape(default.example(4, seed=0)[0])[-1]
    return {"class_weight": np.linspace(0.5, 2.0, n_classes)}


#: Extra hyperparameters per registered name, used only when that name is registered.
#: An entry is a dict of keyword arguments, or a function of the default instance
#: returning one (for parameters whose shape depends on the data, like class weights).
VARIANTS: dict[str, list[dict[str, Any] | Callable[[Loss], dict[str, Any]]]] = {
    "huber": [{"delta": 0.3}],
    "pseudo_huber": [{"delta": 0.3}],
    "quantile": [{"q": 0.1}, {"q": 0.9}],
    "asymmetric": [{"alpha": 3.0}],
    "expectile": [{"tau": 0.8}],
    "tweedie": [{"power": p} for p in (0.0, 1.0, 1.5, 2.0, 3.0)],
    "focal": [{"gamma": 0.5}],
    "cross_entropy": [{"label_smoothing": 0.1}, _class_weight],
    "binary_cross_entropy": [{"pos_weight": 2.0}],
    "multiclass_hinge": [{"kind": "weston_watkins"}],
}


def _format_value(value: Any) -> str:
    if isinstance(value, (np.ndarray, list, tuple)):
        return "[" + ",".join(_format_value(v) for v in np.ravel(value)) + "]"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value)


@dataclass(frozen=True)
class LossCase:
    """One loss instance of the generic suite: a registered name, parameters, a link.

    ``loss`` is None when building it failed; ``error`` then says why, and every test
    of the case fails with that message (a variant naming a parameter the loss does
    not take is a finding, not something to skip).
    """

    name: str
    params: dict[str, Any] = field(compare=False)
    link: str
    id: str
    loss: Loss | None = field(compare=False, repr=False)
    error: str = ""

    def build(self) -> Loss:
        if self.loss is None:
            pytest.fail(f"building {self.id} failed: {self.error}")
        return self.loss


def _make_case(name: str, params: dict[str, Any], link: str) -> LossCase:
    shown = ", ".join(f"{k}={_format_value(v)}" for k, v in params.items())
    case_id = f"{name}({shown})-link={link}" if params else f"{name}-link={link}"
    try:
        loss = lk.get(name, **params, link=link)
    except Exception as error:  # a bad variant is reported by every test of the case
        return LossCase(name, params, link, case_id, None, f"{type(error).__name__}: {error}")
    return LossCase(name, params, link, case_id, loss)


def build_loss_cases() -> list[LossCase]:
    cases: list[LossCase] = []
    seen: set[str] = set()
    for name in lk.list_losses():
        cls = lk.registry.loss_class(name)
        if not cls.pointwise:
            continue  # structured losses (ranking, embeddings ...) have their own suites
        default = cls()
        settings: list[dict[str, Any]] = [{}]
        for variant in VARIANTS.get(name, []):
            settings.append(variant(default) if callable(variant) else dict(variant))
        for params in settings:
            links = [default.link.name, *(lk_link for lk_link in cls.links
                                          if lk_link != default.link.name)]
            for link in links:
                case = _make_case(name, params, link)
                if case.id not in seen:
                    seen.add(case.id)
                    cases.append(case)
    return cases


LOSS_CASES: list[LossCase] = build_loss_cases()
#: Registered structured losses (``Loss.pointwise`` False): ranking, embedding,
#: sequence and policy-gradient losses, tested by their family's own suites.
STRUCTURED_NAMES: list[str] = [name for name in lk.list_losses()
                               if not lk.registry.loss_class(name).pointwise]


def case_params(cases: list[LossCase] | None = None) -> list[Any]:
    """``pytest.param`` objects for ``@pytest.mark.parametrize("case", ...)``."""
    chosen = LOSS_CASES if cases is None else cases
    return [pytest.param(case, id=case.id) for case in chosen]


def cases_where(predicate: Callable[[Loss], bool]) -> list[Any]:
    """The cases whose loss satisfies ``predicate`` (a failing build is kept)."""
    chosen = []
    for case in LOSS_CASES:
        if case.loss is None:
            chosen.append(case)
            continue
        try:
            keep = predicate(case.loss)
        except Exception:  # a broken property shows up in test_metadata
            keep = False
        if keep:
            chosen.append(case)
    return case_params(chosen)


# ------------------------------------------------------------------ backends
@dataclass
class Backend:
    """An array library: ``asarray`` from NumPy, ``to_numpy`` back, ``run`` a function.

    ``run(fn, *arrays)`` calls ``fn`` on the arrays, under ``jax.jit`` for JAX, so
    losses are traced as they are inside a user's jitted training step. ``is_native``
    says whether a result belongs to the library (a Dask result is checked before
    it is computed).
    """

    name: str
    namespace: Any
    asarray: Callable[[np.ndarray], Any]
    to_numpy: Callable[[Any], np.ndarray]
    is_native: Callable[[Any], bool]
    jit: Callable[[Callable[..., Any]], Callable[..., Any]] = lambda fn: fn

    def run(self, fn: Callable[..., Any], *arrays: Any) -> Any:
        return self.jit(fn)(*arrays)

    def to_numpy_all(self, arrays: Any) -> list[np.ndarray]:
        """``to_numpy`` of several results; Dask computes them in one pass."""
        if self.name == "dask":
            import dask

            return [np.asarray(a) for a in dask.compute(*arrays)]
        return [self.to_numpy(a) for a in arrays]

    def __repr__(self) -> str:
        return f"Backend({self.name})"


def _numpy_backend() -> Backend:
    return Backend("numpy", np, np.asarray, np.asarray,
                   lambda x: isinstance(x, (np.ndarray, np.generic)))


def _strict_backend() -> Backend:
    strict = pytest.importorskip("array_api_strict")
    array_type = type(strict.asarray(0.0))
    return Backend("array_api_strict", strict, strict.asarray,
                   lambda x: np.from_dlpack(x).copy(),
                   lambda x: isinstance(x, array_type))


def _torch_backend() -> Backend:
    torch = pytest.importorskip("torch")

    def to_numpy(x: Any) -> np.ndarray:
        return x.detach().cpu().numpy()

    return Backend("torch", torch, torch.from_numpy, to_numpy, torch.is_tensor)


def _jax_backend() -> Backend:
    jax_module = pytest.importorskip("jax")
    import jax.numpy as jnp

    return Backend("jax", jnp, jnp.asarray, np.asarray,
                   lambda x: isinstance(x, jax_module.Array), jax_module.jit)


def _dask_backend() -> Backend:
    da = pytest.importorskip("dask.array")

    def asarray(x: np.ndarray) -> Any:
        # Several chunks along the samples, so reductions really combine partial sums.
        chunks = (max(1, math.ceil(x.shape[0] / 3)), *x.shape[1:]) if x.ndim else ()
        return da.from_array(x, chunks=chunks)

    def to_numpy(x: Any) -> np.ndarray:
        return np.asarray(x.compute() if isinstance(x, da.Array) else x)

    return Backend("dask", da, asarray, to_numpy, lambda x: isinstance(x, da.Array))


BACKENDS: dict[str, Callable[[], Backend]] = {
    "numpy": _numpy_backend,
    "array_api_strict": _strict_backend,
    "torch": _torch_backend,
    "jax": _jax_backend,
    "dask": _dask_backend,
}


@pytest.fixture(params=list(BACKENDS))
def xp(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Every array library the contract names (CuPy where installed is not in CI)."""
    yield BACKENDS[request.param]()


@pytest.fixture(params=["numpy", "torch"])
def eager_xp(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """The eager libraries with mutable arrays: for dtype, mutation and extreme tests."""
    yield BACKENDS[request.param]()


# ------------------------------------------------- kernels compiled ahead
#: What compiling the kernels ahead took (``pytest_report_header`` prints it).
_AHEAD = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, compile every fused kernel before the workers start.

    Each worker would otherwise compile every kernel its tests touch, and on a fresh
    machine (CI) the workers compile the same ones side by side: compiling accounts for
    most of a cold run. ``losskit compile`` shares the work among as many processes as
    there are workers, then the workers load from numba's cache (about 2 s when it is
    already warm). ``LOSSKIT_TEST_COMPILE=0`` skips it.
    """
    workers = getattr(config.option, "numprocesses", None)
    if hasattr(config, "workerinput") or not workers or os.environ.get(
            "LOSSKIT_TEST_COMPILE", "1") == "0":
        return
    from losskit._fast import _compile

    jobs = workers if isinstance(workers, int) else _compile.default_jobs()
    start = time.perf_counter()
    try:
        compiled = _compile.compile_kernels(jobs=jobs)
    except Exception as error:  # the tests compile lazily instead, and say what failed
        config.stash[_AHEAD] = f"losskit: compiling the kernels ahead failed: {error}"
        return
    config.stash[_AHEAD] = (f"losskit: {len(compiled)} kernels compiled or loaded ahead in "
                            f"{time.perf_counter() - start:.1f} s ({jobs} processes)")


def pytest_report_header(config: pytest.Config) -> str | None:
    return config.stash.get(_AHEAD, None)


# ------------------------------------------------------------ known failures
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the cases listed in a test module's ``KNOWN_BUGS`` as strict xfails.

    ``KNOWN_BUGS`` maps ``(test function name, case id pattern)`` to the reason; the
    pattern may hold ``*`` wildcards (``"quantile*-link=log"``).
    """
    for item in items:
        known = getattr(getattr(item, "module", None), "KNOWN_BUGS", None)
        callspec = getattr(item, "callspec", None)
        if not known or callspec is None or "case" not in callspec.params:
            continue
        case_id = callspec.params["case"].id
        test_name = item.originalname if isinstance(item, pytest.Function) else item.name
        for (name, pattern), reason in known.items():
            # Only "*" is special: ids hold brackets, e.g. class_weight=[0.5,1].
            regex = ".*".join(re.escape(part) for part in pattern.split("*"))
            if name == test_name and re.fullmatch(regex, case_id):
                item.add_marker(pytest.mark.xfail(strict=True, reason=reason))
                break


# ------------------------------------------------- scripts and examples as modules
def load_module(path: Path) -> types.ModuleType:
    """The Python file at ``path`` (a script or an example, not a package) as a module."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------- fast path (tests/test_fast_*.py)
def fast_call(loss: Loss, op: str, y_pred: Any, y_true: Any, weight: Any) -> Any:
    """One public operation: a reduction ("mean", "sum", "none") or a method name."""
    if op in ("mean", "sum", "none"):
        return loss(y_pred, y_true, weight, reduction=op)
    return getattr(loss, op)(y_pred, y_true, weight)


def fast_only(loss: Loss, op: str, y_pred: Any, y_true: Any, weight: Any,
          monkeypatch: pytest.MonkeyPatch) -> Any:
    """``op`` by the fast path, with the reference path made to fail."""

    def reference_ran(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"the reference path ran for {op!r}: the fast path declined")

    with monkeypatch.context() as patch, lk.fast_path(True, min_size=0, force=True):
        patch.setattr(type(loss), "_prepare", reference_ran)
        return fast_call(loss, op, y_pred, y_true, weight)


def reference_only(loss: Loss, op: str, y_pred: Any, y_true: Any, weight: Any) -> Any:
    with lk.fast_path(False):
        return fast_call(loss, op, y_pred, y_true, weight)


@contextlib.contextmanager
def fast_twin(name: str, size: int) -> Iterator[None]:
    """Settings under which dispatch runs the ``name`` twin ("serial" or "parallel")."""
    import numba

    from losskit._fast import threads_for

    if name == "serial":
        settings = lk.fast_path(True, threads=1)
    elif numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has one thread here: no parallel twin runs")
    else:
        settings = lk.fast_path(True, threads=2, parallel_min_size=0)
    with settings:
        assert (threads_for(size) > 1) == (name == "parallel")
        yield


# --------------------------------------- boosting (tests/test_xgboost.py, test_lightgbm.py)
@dataclass(frozen=True)
class BoostingData:
    """Features and one target per kind of loss, from the same signal; ``rng`` is the
    generator that drew them, for further draws."""

    X: np.ndarray
    real: np.ndarray
    binary: np.ndarray
    count: np.ndarray
    positive: np.ndarray
    classes: np.ndarray
    weight: np.ndarray
    rng: np.random.Generator


def boosting_data(n: int, seed: int) -> BoostingData:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    signal = X[:, 0] + 0.5 * X[:, 1] ** 2
    real = signal + rng.normal(size=n)
    binary = (rng.random(n) < 1 / (1 + np.exp(-signal))).astype(np.float64)
    count = rng.poisson(np.exp(0.5 * signal)).astype(np.float64)
    positive = rng.gamma(2.0, np.exp(0.3 * signal) / 2)
    classes = np.digitize(signal + rng.normal(size=n), [-0.5, 0.8]).astype(np.float64)
    weight = rng.uniform(0.2, 3.0, n)
    return BoostingData(X, real, binary, count, positive, classes, weight, rng)

