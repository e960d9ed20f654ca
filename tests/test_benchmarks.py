"""The benchmark machinery runs, and every competitor it times computes losskit's numbers.

``benchmarks/elementwise.py`` is run through its importable entry point on a tiny size
(1000 elements, one round): the table has the expected rows and columns, and each
competitor's result (NumPy, PyTorch, JAX, scikit-learn, after their conventions are
converted) agrees with losskit's reference path. No timing is asserted: speed is
measured by running the benchmark, not by the test suite.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import losskit as lk

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the benchmarks package lives beside src/, not inside it
    sys.path.insert(0, str(ROOT))

from benchmarks import _floor, elementwise, outputs, oversubscription  # noqa: E402
from benchmarks._cases import OPS  # noqa: E402
from benchmarks._harness import Impl, deviation  # noqa: E402

pytest.importorskip("torch")
pytest.importorskip("jax")
pytest.importorskip("sklearn")

#: The anchors each (case, op) must have: the others are blank by design.
EXPECTED = {
    ("squared_error", "value"): {"torch", "jax", "sklearn.metrics", "sklearn._loss"},
    ("squared_error", "gradient_hessian"): {"torch", "jax", "sklearn._loss"},
    ("squared_error", "loss_gradient"): {"torch", "jax", "sklearn._loss"},
    # cross-entropy's Hessian diagonal is not one autograd pass: no torch or jax there.
    ("cross_entropy", "value"): {"torch", "jax", "sklearn.metrics", "sklearn._loss"},
    ("cross_entropy", "gradient_hessian"): {"sklearn._loss"},
    ("cross_entropy", "loss_gradient"): {"torch", "jax", "sklearn._loss"},
}


@pytest.fixture(scope="module")
def report() -> elementwise.Report:
    # min_size=0: the fast path serves even 1000 elements, so its kernels are checked too.
    with lk.fast_path(True, min_size=0, force=True):
        return elementwise.run_benchmark(losses=["squared_error", "cross_entropy"],
                                         size=1000, rounds=1, dtypes=("float64", "float32"))


def test_rows_cover_every_case_op_and_dtype(report):
    keys = [(row.case, row.op, row.dtype) for row in report.rows]
    assert keys == [(case, op, dtype) for case in ("squared_error", "cross_entropy")
                    for dtype in ("float64", "float32") for op in OPS]


def test_every_expected_competitor_ran_and_agrees_with_losskit(report):
    for row in report.rows:
        assert not row.problems, (row.case, row.op, row.dtype, row.problems)
        expected = {"losskit", "reference", "numpy", "floor"} | EXPECTED[row.case, row.op]
        assert set(row.timings) == expected, (row.case, row.op)
        tolerance = elementwise.TOLERANCE[row.dtype]
        checked = set(row.deviations)
        assert checked == expected - {"floor"}
        assert all(value <= tolerance for value in row.deviations.values()), row.deviations
        assert all(len(timing.times) == 1 for timing in row.timings.values())


def test_the_fast_path_is_reported_when_a_kernel_serves(report):
    from losskit._fast import kernels_for

    for row in report.rows:
        case = next(case for case in elementwise.CASES if case.name == row.case)
        served = kernels_for(case.loss) is not None
        assert row.path == "fast" if served else row.path.startswith("reference"), row.path


def test_tables_have_a_column_per_competitor_and_a_ratio_per_anchor(report):
    text = elementwise.format_report(report)
    times_heading = next(line for line in text.splitlines() if line.startswith("loss ")
                         and "check" in line)
    for name in (*elementwise.COMPETITORS, "floor"):
        assert elementwise.HEADINGS[name] in times_heading
    markdown = elementwise.format_report(report, markdown=True)
    tables = [line for line in markdown.splitlines() if line.startswith("|")]
    # two tables per dtype, each a heading, a rule and 2 cases x 3 ops
    assert len(tables) == 2 * 2 * (2 + 6)
    ratio_heading = next(line for line in tables if "check" not in line and "floor" in line)
    assert ratio_heading.count("|") == 3 + len(elementwise.ANCHORS) + 1
    assert "CPU:" in markdown and "versions:" in markdown and "threads:" in markdown


def _failing(p, y):
    raise FloatingPointError("planted")


@pytest.mark.parametrize(("run", "problem"), [
    (lambda p, y: np.float64(1e9), "differs from losskit's reference by "),
    (_failing, "raised FloatingPointError: planted"),
])
def test_a_competitor_that_disagrees_or_fails_is_reported_and_not_timed(monkeypatch, run,
                                                                          problem):
    monkeypatch.setattr(elementwise, "_numpy_impls", lambda case: {"value": Impl(run)})
    report = elementwise.run_benchmark(losses=["squared_error"], size=1000, rounds=1,
                                       ops=("value",))
    (row,) = report.rows
    assert "numpy" not in row.timings and "losskit" in row.timings
    assert list(row.problems) == ["numpy"] and row.problems["numpy"].startswith(problem)
    assert f"numpy {problem}" in elementwise.format_report(report)


def test_deviation_is_normwise_and_infinite_for_a_wrong_shape():
    truth = (np.array([1.0, -2.0]), np.array([4.0, 0.0]))
    assert deviation((np.array([1.0, -2.0]), np.array([4.0, 1e-9])), truth) == 1e-9 / 4.0
    assert deviation(np.zeros(3), np.zeros(2)) == float("inf")
    assert deviation(np.float64(np.nan), np.float64(1.0)) == float("inf")


def test_numpy_floor_kernels_write_what_the_numba_ones_do():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 4)), rng.integers(0, 4, 50)
    for first_columns in (1, 4):  # per-row values (loss_gradient) or a full array
        outputs = [np.empty((50, first_columns)), np.empty((50, 4))]
        expected = [np.empty((50, first_columns)), np.empty((50, 4))]
        _floor._read_write_rows(a, b, *outputs)
        _floor._read_write_rows_numpy(a, b, *expected)
        np.testing.assert_allclose(outputs[0], expected[0], rtol=1e-12)
        np.testing.assert_allclose(outputs[1], expected[1], rtol=1e-12)
    flat, other = a.reshape(-1), rng.normal(size=200)
    outputs, expected = [np.empty(200), np.empty(200)], [np.empty(200), np.empty(200)]
    _floor._read_write_flat(flat, other, *outputs)
    _floor._read_write_flat_numpy(flat, other, *expected)
    np.testing.assert_allclose(outputs, expected, rtol=1e-12)
    assert _floor._read(flat, b) == pytest.approx(_floor._read_numpy(flat, b), rel=1e-12)


def test_the_command_line_prints_markdown_and_rejects_unknown_losses(capsys, monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")  # main sets it; undone after the test
    assert elementwise.main(["--losses", "mse", "--ops", "value", "--size", "1000",
                             "--repeat", "1", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| squared_error | value |" in out
    with pytest.raises(SystemExit):
        elementwise.main(["--losses", "no_such_loss", "--size", "1000"])
    assert "unknown benchmark case 'no_such_loss'" in capsys.readouterr().err


def test_the_oversubscription_benchmark_times_every_setting_quiet_and_loaded(capsys):
    with lk.fast_path(True, min_size=0):
        rows = oversubscription.measure(exponents=(10, 11), competitors=1, rounds=1)
    assert [(row.load, row.size, row.op) for row in rows] == [
        (load, n, op) for load in ("quiet", "1 competitors") for n in (1024, 2048)
        for op in oversubscription.OPS]
    assert all(set(row.milliseconds) == set(oversubscription.SETTINGS) for row in rows)
    table = oversubscription.format_rows(rows)
    assert "parallel/serial" in table and "1 competitors  2^11" in table


def test_the_competing_processes_are_gone_afterwards():
    import os

    with oversubscription.competing(1) as pids:
        assert len(pids) == 1
        os.kill(pids[0], 0)  # running
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)


def test_the_outputs_benchmark_times_new_and_reused_arrays(capsys):
    rows = outputs.measure(["huber", "log_cosh"], size=5_000, rounds=2, dtype="float64")
    assert [name for name, _ in rows] == ["huber", "log_cosh"]
    huber, log_cosh = (dict(seconds) for _, seconds in rows)
    assert set(huber) == set(outputs.COLUMNS)  # scikit-learn has a Huber class
    assert set(log_cosh) == set(outputs.COLUMNS) - {"skl new", "skl out="}
    assert all(seconds > 0 for row in (huber, log_cosh) for seconds in row.values())
    assert outputs.main(["--losses", "quantile", "--size", "5000", "--repeat", "2"]) == 0
    printed = capsys.readouterr().out
    assert "lk out= / lk new" in printed and "quantile" in printed
