"""The ``losskit`` command line: ``list``, ``show``, errors, and the optional extra."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import losskit as lk

pytest.importorskip("typer")
pytest.importorskip("rich")

from typer.testing import CliRunner

from losskit import cli

runner = CliRunner()
app = cli.make_app()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_list_shows_every_registered_loss() -> None:
    result = invoke("list")
    assert result.exit_code == 0, result.output
    for name in lk.list_losses():
        assert name in result.stdout
    for alias in lk.aliases():
        assert alias in result.stdout
    for header in ("convex", "smoothness", "Lipschitz", "robust", "Hessian", "statistic",
                   "distribution"):
        assert header in result.stdout


def test_show_huber_prints_formula_and_lipschitz() -> None:
    result = invoke("show", "huber")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert lk.Huber.formula in out
    assert lk.Huber.gradient_formula in out
    assert lk.Huber.hessian_formula in out
    assert "Lipschitz" in out
    assert "Huber M-estimate of location" in out
    assert "delta=1.0" in out


def test_show_params_are_parsed_and_change_the_facts() -> None:
    result = invoke("show", "huber", "--param", "delta=2")
    assert result.exit_code == 0, result.output
    lipschitz = next(line for line in result.stdout.splitlines() if "Lipschitz" in line)
    assert lipschitz.split()[-1] == "2"
    result = invoke("show", "poisson", "--param", "link=log")
    assert result.exit_code == 0, result.output
    assert "link='log'" in result.stdout
    assert re.search(r"^convex +yes", result.stdout, flags=re.MULTILINE)


def test_show_accepts_an_alias_and_reports_the_canonical_name() -> None:
    result = invoke("show", "mse")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("squared_error:")
    assert "Normal" in result.stdout


@pytest.mark.parametrize("name", lk.list_losses())
def test_show_works_for_every_registered_loss(name: str) -> None:
    result = invoke("show", name)
    assert result.exit_code == 0, result.output
    assert lk.get(name).properties.hessian in result.stdout


def test_unknown_name_exits_2_with_a_suggestion() -> None:
    result = invoke("show", "hubr")
    assert result.exit_code == 2
    assert "unknown loss 'hubr'" in result.stderr
    assert "did you mean 'huber'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (["delta"], "KEY=VALUE"),
        (["=2"], "KEY=VALUE"),
        (["gamma=2"], "has no parameter 'gamma'"),
        (["delta=1", "delta=2"], "given twice"),
        (["delta=-1"], "delta for 'huber' must be > 0"),
        (["delta=nan"], "delta for 'huber' must be a number"),
        (["delta=abc"], "delta for 'huber' must be a real number"),
        (["link=logit"], "link for 'huber' must be one of"),
        (["nan_policy=omit"], "nan_policy"),
    ],
)
def test_bad_param_exits_2_with_one_line(params: list[str], message: str) -> None:
    args = ["show", "huber"]
    for item in params:
        args += ["--param", item]
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("text", "value"),
    [("2", 2), ("-3", -3), ("0.5", 0.5), ("1e-3", 1e-3), ("true", True), ("False", False),
     ("none", None), ("None", None), ("log", "log"), ("", "")],
)
def test_parse_value(text: str, value: object) -> None:
    parsed = cli.parse_value(text)
    assert parsed == value and type(parsed) is type(value)


def test_main_without_the_extra_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "typer", None)  # makes `import typer` fail
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["list"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert 'pip install "losskit[cli]"' in err
    assert len(err.strip().splitlines()) == 1


def test_import_losskit_does_not_import_typer_or_rich() -> None:
    code = ("import sys, losskit; "
            "bad = [m for m in ('typer', 'rich', 'click') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_python_dash_m_losskit_runs_the_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "losskit", "show", "hubr"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "did you mean 'huber'" in done.stderr
    assert "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, "-m", "losskit", "list"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert all(name in done.stdout for name in lk.list_losses())
