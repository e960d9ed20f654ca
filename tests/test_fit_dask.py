"""``lk.fit`` on Dask arrays: blockwise statistics give the in-memory fit.

The in-memory fit on the same data is the oracle (itself checked against scikit-learn
and NumPy in ``test_fit.py``). The cluster tests run on a ``LocalCluster`` with two
worker processes; one of them kills a worker in the middle of the fit.
"""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

import losskit as lk

da = pytest.importorskip("dask.array")


def data(n: int = 6000, d: int = 4, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    labels = (X @ np.linspace(-1, 1, d) + rng.logistic(size=n) > 0).astype(float)
    counts = rng.poisson(np.exp(0.3 * X[:, 0])).astype(float)
    w = rng.uniform(0.5, 2.0, size=n)
    return X, labels, counts, w


@pytest.mark.parametrize(("loss", "target", "penalty"), [
    ("binary_cross_entropy", 1, "l2"),
    ("poisson", 2, None),
    ("huber", 2, None),
    ("cross_entropy", None, "l2"),
])
def test_dask_fit_equals_in_memory_fit(loss: str, target: int | None,
                                       penalty: str | None) -> None:
    X, labels, counts, w = data()
    y = (labels, counts)[target - 1] if target else np.floor(3 * np.abs(X[:, 1])) % 3
    local = lk.fit(X, y, loss, penalty=penalty, alpha=1e-3, sample_weight=w)
    blocked = lk.fit(da.from_array(X, chunks=(1700, 2)), da.from_array(y, chunks=1000), loss,
                     penalty=penalty, alpha=1e-3, sample_weight=w)
    assert blocked.solver == local.solver and blocked.converged
    np.testing.assert_allclose(blocked.coef, local.coef, atol=1e-8)
    np.testing.assert_allclose(blocked.intercept, local.intercept, atol=1e-8)
    assert blocked.objective == pytest.approx(local.objective, rel=1e-12)


def test_dask_errors() -> None:
    X, labels, _, _ = data(n=100)
    with pytest.raises(ValueError, match="X has 100 rows but y has 99"):
        lk.fit(da.from_array(X, chunks=(30, 4)), labels[:-1], "bce")
    bad = X.copy()
    bad[5, 0] = np.inf
    with pytest.raises(ValueError, match="X must be finite"):
        lk.fit(da.from_array(bad, chunks=(30, 4)), labels, "bce")
    with pytest.raises(ValueError, match="needs the data in memory"):
        lk.fit(da.from_array(X, chunks=(30, 4)), X[:, 0], "quantile")


@pytest.fixture(scope="module")
def cluster() -> object:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as local:
        with distributed.Client(local) as client:
            yield local, client


def test_local_cluster_gives_in_memory_coefficients(cluster: tuple[object, object]) -> None:
    X, labels, _, w = data(n=20_000, d=6)
    local = lk.fit(X, labels, "bce", penalty="l2", alpha=1e-4, sample_weight=w)
    blocked = lk.fit(da.from_array(X, chunks=(4000, 6)), da.from_array(labels, chunks=4000),
                     "bce", penalty="l2", alpha=1e-4, sample_weight=w)
    np.testing.assert_allclose(blocked.coef, local.coef, atol=1e-8)
    assert blocked.intercept == pytest.approx(local.intercept, abs=1e-8)


def test_fit_survives_a_killed_worker(cluster: tuple[object, object]) -> None:
    _, client = cluster
    X, labels, _, _ = data(n=20_000, d=6, seed=3)
    local = lk.fit(X, labels, "bce", solver="lbfgs")
    killed: list[str] = []

    def kill_one_worker(theta: np.ndarray) -> None:
        if killed:
            return
        pids = client.run(os.getpid)  # type: ignore[attr-defined]
        address = sorted(pids)[0]
        killed.append(address)
        # SIGKILL, no graceful retirement: the nanny starts a new process and the
        # scheduler recomputes the lost blocks from the graph.
        os.kill(pids[address], signal.SIGKILL)

    blocked = lk.fit(da.from_array(X, chunks=(2000, 6)), labels, "bce", solver="lbfgs",
                     callback=kill_one_worker)
    assert killed, "the callback never ran"
    assert blocked.converged
    np.testing.assert_allclose(blocked.coef, local.coef, atol=1e-8)
