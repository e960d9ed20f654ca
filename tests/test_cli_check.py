"""``losskit check TARGET`` and ``losskit show NAME --verify``."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import losskit as lk

pytest.importorskip("typer")
pytest.importorskip("rich")

from typer.testing import CliRunner

from losskit import cli

runner = CliRunner()
app = cli.make_app()

CHECK_NAMES = ("gradient", "hessian", "convexity", "smoothness", "lipschitz",
               "bounded_gradient", "robustness", "statistic", "stability", "convergence")

#: A module of losses for MODULE:ATTRIBUTE targets: a correct one, a wrong one (its
#: declared Lipschitz constant is half the true one) and a plain function.
MODULE = textwrap.dedent('''
    import math
    from losskit.core import Loss, Properties
    from losskit.losses.regression import Huber


    class HalfLipschitzHuber(Huber):
        def _properties(self):
            props = super()._properties()
            return Properties(**{**props.to_dict(), "lipschitz": 0.5 * self.delta})


    good = Huber(delta=2.0)
    wrong = HalfLipschitzHuber()
    number = 42


    def squared(y_pred, y_true, xp):
        return (y_pred - y_true) ** 2
''')


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def one_line_error(result, text: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert text in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


@pytest.fixture
def module_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
                ) -> Iterator[str]:
    """A fresh module in the current directory (the CLI imports from there)."""
    name = f"planted_losses_{request.node.name.replace('[', '_').replace(']', '_')}"
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    (tmp_path / f"{name}.py").write_text(MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(__import__("sys").modules, name, raising=False)
    yield name


def table_rows(output: str) -> dict[str, str]:
    """check name -> status, read from the table's rows."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("│") if cell.strip()]
        if len(cells) >= 2 and cells[1] in (*CHECK_NAMES, "alignment"):
            rows[cells[1]] = cells[0]
    return rows


def test_check_a_registered_loss_passes_with_exit_0() -> None:
    result = invoke("check", "huber")
    assert result.exit_code == 0, result.output
    rows = table_rows(result.stdout)
    assert set(rows) == set(CHECK_NAMES)
    assert set(rows.values()) <= {"PASS", "INFO", "SKIP"}
    assert "0 failed" in result.stdout


def test_check_params_change_the_loss() -> None:
    result = invoke("check", "huber", "--param", "delta=2", "--check", "lipschitz")
    assert result.exit_code == 0, result.output
    assert "Huber(delta=2.0)" in result.stdout
    assert "largest gradient norm 2" in result.stdout
    assert set(table_rows(result.stdout)) == {"lipschitz"}


def test_check_json_and_metric() -> None:
    result = invoke("check", "mse", "--json", "--metric", "mae", "-c", "gradient",
                    "-c", "alignment", "--backend", "fd")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] is True
    assert [f["name"] for f in report["findings"]] == ["gradient", "alignment"]
    assert report["findings"][0]["evidence"]["references"] == ["finite differences"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["hubr"], "did you mean 'huber'"),
        (["huber", "--param", "gamma=2"], "has no parameter 'gamma'"),
        (["huber", "--param", "delta=-1"], "delta for 'huber' must be > 0"),
        (["huber", "--check", "convex"], "unknown check 'convex'"),
        (["huber", "--metric", "ndcg"], "unknown metric 'ndcg'"),
        (["huber", "--backend", "tensorflow"], "backends"),
        (["no_such_module_anywhere:thing"], "cannot import module 'no_such_module_anywhere'"),
        ([":thing"], "MODULE:ATTRIBUTE"),
    ],
)
def test_user_errors_exit_2_with_one_line(args: list[str], message: str) -> None:
    one_line_error(invoke("check", *args), message)


def test_check_a_loss_instance_from_a_module(module_name: str) -> None:
    result = invoke("check", f"{module_name}:good", "-c", "lipschitz", "-c", "convexity")
    assert result.exit_code == 0, result.output
    assert "Huber(delta=2.0)" in result.stdout
    one_line_error(invoke("check", f"{module_name}:good", "--param", "delta=3"),
                   "is a Loss instance")


def test_a_wrong_declaration_exits_1(module_name: str) -> None:
    result = invoke("check", f"{module_name}:wrong")
    assert result.exit_code == 1, result.output
    rows = table_rows(result.stdout)
    assert rows["lipschitz"] == "FAIL"
    assert [name for name, status in rows.items() if status == "FAIL"] == ["lipschitz"]
    assert "1 failed" in result.stdout


def test_check_a_loss_class_with_params(module_name: str) -> None:
    result = invoke("check", f"{module_name}:HalfLipschitzHuber", "--param", "delta=3",
                    "-c", "lipschitz", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["loss"] == "HalfLipschitzHuber(delta=3.0)"
    (finding,) = report["findings"]
    assert finding["status"] == "fail"
    assert finding["declared"] == 1.5 and finding["found"] == pytest.approx(3.0)
    one_line_error(invoke("check", f"{module_name}:HalfLipschitzHuber", "--param", "q=1"),
                   "has no parameter 'q'")


def test_bad_attributes_exit_2(module_name: str) -> None:
    one_line_error(invoke("check", f"{module_name}:missing"), "has no attribute 'missing'")
    one_line_error(invoke("check", f"{module_name}:number"), "is a int, not a Loss")


def test_check_a_plain_function(module_name: str) -> None:
    pytest.importorskip("losskit.analysis.custom")
    result = invoke("check", f"{module_name}:squared", "--param", "convex=true",
                    "--param", "smoothness=inf", "-c", "convexity", "-c", "smoothness",
                    "-c", "gradient")
    assert result.exit_code == 0, result.output
    assert table_rows(result.stdout) == {"gradient": "PASS", "convexity": "PASS",
                                         "smoothness": "PASS"}
    # Declared non-convex (the default of a custom loss): the grid cannot prove it.
    result = invoke("check", f"{module_name}:squared", "-c", "convexity")
    assert result.exit_code == 0, result.output
    assert table_rows(result.stdout) == {"convexity": "INFO"}
    one_line_error(invoke("check", f"{module_name}:squared", "--param", "colour=red"),
                   "colour")


def test_show_verify_adds_the_verified_properties() -> None:
    result = invoke("show", "huber", "--verify")
    assert result.exit_code == 0, result.output
    assert lk.Huber.formula in result.stdout  # the usual page
    assert "verified properties" in result.stdout
    assert set(table_rows(result.stdout)) == set(CHECK_NAMES)
    plain = invoke("show", "huber")
    assert "verified properties" not in plain.stdout


@pytest.fixture
def registered_wrong_loss() -> Iterator[str]:
    """A registered loss whose declared Lipschitz constant is wrong (removed afterwards)."""
    from losskit.core import Properties
    from losskit.losses.regression import Huber

    class WronglyDeclaredHuber(Huber):
        def __init__(self, *, delta: float = 1.0, link: str | None = None,
                     nan_policy: str = "raise") -> None:
            super().__init__(delta=delta, link=link, nan_policy=nan_policy)

        def _properties(self) -> Properties:
            props = super()._properties()
            return Properties(**{**props.to_dict(), "lipschitz": 0.25})

    name = "wrongly_declared_huber_for_cli_test"
    lk.register(name)(WronglyDeclaredHuber)
    try:
        yield name
    finally:
        unregister = getattr(lk.registry, "unregister", None)
        if unregister is not None:
            unregister(name)
        else:  # pragma: no cover - older registry
            lk.registry._LOSSES.pop(name)


def test_show_verify_exits_1_when_a_declaration_is_wrong(registered_wrong_loss: str) -> None:
    result = invoke("show", registered_wrong_loss, "--verify")
    assert result.exit_code == 1, result.output
    assert table_rows(result.stdout)["lipschitz"] == "FAIL"
    result = invoke("check", registered_wrong_loss, "-c", "lipschitz")
    assert result.exit_code == 1, result.output
