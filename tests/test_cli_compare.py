"""``losskit compare``, ``recommend``, ``plot``, ``landscape`` and ``show --plot``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("typer")
pytest.importorskip("rich")

from typer.testing import CliRunner

from losskit import cli

runner = CliRunner()
app = cli.make_app()
PNG = b"\x89PNG\r\n\x1a\n"


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def assert_usage_error(result, message: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("losskit: error: ")
    assert "Traceback" not in result.output


@pytest.fixture()
def csv_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = 1.0 + 2.0 * X[:, 0] - X[:, 1] + rng.normal(0.0, 0.3, size=120)
    y[:10] += 20.0
    label = np.where(X[:, 0] > 0, "late", "on time")
    lines = ["speed,load,city,minutes,status"]
    lines += [f"{a:.4f},{b:.4f},{'paris' if i % 2 else 'rome'},{t:.4f},{s}"
              for i, (a, b, t, s) in enumerate(zip(X[:, 0], X[:, 1], y, label, strict=True))]
    path = tmp_path / "data.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------- compare
def test_compare_without_arguments_runs_on_the_bundled_data_and_writes_a_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("compare")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "deliveries" in out and "minutes" in out
    assert "mae by loss (lower is better)" in out
    for name in ("squared_error", "huber", "absolute_error"):
        assert name in out
    assert "is not robust" in out  # the advice says why MSE lost
    assert "report written to losskit-report.html" in out
    page = (tmp_path / "losskit-report.html").read_text(encoding="utf-8")
    assert "distance_km" in page and "Winner:" in page


def test_compare_a_csv_with_options(csv_file: Path, tmp_path: Path) -> None:
    report = tmp_path / "out.html"
    result = invoke("compare", str(csv_file), "--target", "minutes", "--losses",
                    "squared_error,huber:delta=0.5", "--losses", "absolute_error",
                    "--metric", "mae", "--cv", "3", "--report", str(report))
    assert result.exit_code == 0, result.output
    assert "huber(delta=0.5)" in result.stdout
    assert "left out non-numeric column 'city'" in result.stdout
    assert "left out non-numeric column 'status'" in result.stdout
    assert report.exists() and "huber(delta=0.5)" in report.read_text(encoding="utf-8")


def test_compare_json(csv_file: Path) -> None:
    result = invoke("compare", str(csv_file), "--target", "minutes", "--losses",
                    "squared_error,huber", "--cv", "3", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["target"] == "minutes" and data["features"] == ["speed", "load"]
    assert data["winner"] == "huber"
    assert [row["loss"] for row in data["table"]] == ["huber", "squared_error"]


def test_compare_class_labels(csv_file: Path) -> None:
    result = invoke("compare", str(csv_file), "--target", "status", "--task", "binary",
                    "--metric", "accuracy", "--cv", "3", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["task"] == "binary" and data["facts"]["classes"] == ["late", "on time"]
    assert data["table"][0]["mean"] > 0.8


def test_compare_parquet(csv_file: Path, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    from pyarrow import csv as arrow_csv
    from pyarrow import parquet

    path = tmp_path / "data.parquet"
    parquet.write_table(arrow_csv.read_csv(csv_file), path)
    result = invoke("compare", str(path), "--target", "minutes", "--losses",
                    "squared_error,huber", "--cv", "3", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["winner"] == "huber"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv", "--target", "y"], "file not found: 'missing.csv'"),
        (["{csv}", "--target", "minuts"], "target column 'minuts' is not in"),
        (["{csv}", "--target", "minuts"], "did you mean 'minutes'"),
        (["{csv}", "--target", "city"], "target column 'city' is not numeric (row 1 holds "
                                        "'rome')"),
        (["{csv}"], "--target is required with DATA (columns: speed, load, city, minutes, "
                    "status)"),
        (["--losses", "hubr"], "unknown loss 'hubr'; did you mean 'huber'?"),
        (["--losses", "huber:delta=-1"], "delta for 'huber' must be > 0"),
        (["--losses", "huber:gamma=2"], "'huber' has no parameter 'gamma'"),
        (["--metric", "maae"], "unknown metric 'maae'; did you mean 'mae'"),
        (["--metric", "accuracy"], "metric 'accuracy' scores classification"),
        (["--task", "regresion"], "--task must be one of regression, count"),
        (["--model", "forest"], "--model must be one of linear, xgboost, lightgbm"),
        (["--cv", "1"], "--cv must be at least 2"),
        (["--target", "y"], "--target needs DATA"),
        (["--report", "/no/such/dir/out.html"], "--report: directory"),
    ],
)
def test_compare_errors_exit_2_with_one_line(args: list[str], message: str,
                                             csv_file: Path) -> None:
    args = [str(csv_file) if arg == "{csv}" else arg for arg in args]
    assert_usage_error(invoke("compare", *args), message)


def test_compare_a_directory_or_a_broken_file(tmp_path: Path) -> None:
    assert_usage_error(invoke("compare", str(tmp_path), "--target", "y"), "is a directory")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3\n", encoding="utf-8")
    assert_usage_error(invoke("compare", str(ragged), "--target", "b"), "line 3: 1 fields")
    gaps = tmp_path / "gaps.csv"
    gaps.write_text("a,b\n1,2\n3,\n", encoding="utf-8")
    assert_usage_error(invoke("compare", str(gaps), "--target", "b"),
                       "target column 'b' has a missing value at row 2")


# ----------------------------------------------------------------- recommend
def test_recommend_prints_the_ranked_table() -> None:
    result = invoke("recommend", "--task", "binary", "--imbalance", "50")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("│ 1 ")]
    assert lines and "focal" in lines[0]
    assert "imbalanced" in result.stdout


def test_recommend_json_and_costs() -> None:
    result = invoke("recommend", "--task", "regression", "--costs", "under=3,over=1", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data[0]["name"] == "asymmetric" and data[0]["params"] == {"alpha": 3.0}
    result = invoke("recommend", "--outliers", "--metric", "mae", "--json")
    assert json.loads(result.stdout)[0]["name"] == "absolute_error"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "bianry"], "did you mean 'binary'"),
        (["--task", "binary", "--imbalance", "-3"], "imbalance must be"),
        (["--costs", "under=abc"], "--costs under= must be a number"),
        (["--costs", "fn=2"], "takes the keys 'under' and 'over'"),
    ],
)
def test_recommend_errors(args: list[str], message: str) -> None:
    assert_usage_error(invoke("recommend", *args), message)


# ------------------------------------------------------------------- figures
def test_show_plot_writes_an_image(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "huber.png"
    result = invoke("show", "huber", "--plot", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_bytes().startswith(PNG)
    assert_usage_error(invoke("show", "huber", "--plot", str(tmp_path / "x.gif")),
                       "--plot must end in .png")


def test_plot_several_losses(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "curves.svg"
    result = invoke("plot", "huber:delta=2", "mae", "mse", "-o", str(path), "--hessian")
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert_usage_error(invoke("plot", "hubr", "-o", str(path)),
                       "unknown loss 'hubr'; did you mean 'huber'?")
    assert_usage_error(invoke("plot", "huber", "-o", "/no/such/dir/x.png"),
                       "does not exist")


def test_landscape(tmp_path: Path, csv_file: Path) -> None:
    pytest.importorskip("matplotlib")
    seed_point = tmp_path / "seed.png"
    result = invoke("landscape", "-o", str(seed_point))
    assert result.exit_code == 0, result.output
    assert seed_point.read_bytes().startswith(PNG)
    fitted = tmp_path / "fitted.png"
    result = invoke("landscape", "huber", "--data", str(csv_file), "--target", "minutes",
                    "--feature", "load", "-o", str(fitted))
    assert result.exit_code == 0, result.output
    assert fitted.read_bytes().startswith(PNG)
    assert_usage_error(invoke("landscape", "huber", "--data", str(csv_file), "--target",
                              "minutes", "--feature", "city", "-o", str(fitted)),
                       "feature column 'city' is not among the numeric features")
    assert_usage_error(invoke("landscape", "--target", "minutes", "-o", str(fitted)),
                       "--target and --feature need --data")
