"""``losskit.analysis.check``: declared = verified for every loss, and planted faults.

Every registered loss (``conftest.LOSS_CASES``: the default instance, one per link,
the hyperparameter variants) must pass ``check``. Each planted fault is a small
``Loss`` subclass defined here (nothing is registered) whose one wrong declaration or
formula must make the right finding fail, with evidence that points at the fault.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import numpy as np
import pytest

import losskit as lk
from conftest import STRUCTURED_NAMES, LossCase, case_params
from losskit.analysis import CheckReport, Finding, alignment, check
from losskit.analysis.check import CHECKS
from losskit.core import Loss, Properties
from losskit.links import UNIT

#: (test function, case id pattern) -> reason: strict xfails (see conftest).
KNOWN_BUGS: dict[tuple[str, str], str] = {}


# ------------------------------------------------- declared = verified
@pytest.mark.parametrize("case", case_params())
def test_every_registered_loss_passes_check(case: LossCase) -> None:
    loss = case.build()
    report = check(loss)
    assert report.passed, f"{case.id}:\n{report}"
    names = [finding.name for finding in report.findings]
    assert names == [name for name in CHECKS if name != "alignment"]


def test_a_weighted_sum_passes_check() -> None:
    blend = 0.7 * lk.get("squared_error") + 0.3 * lk.get("absolute_error")
    report = check(blend, checks=["gradient", "convexity", "smoothness", "lipschitz",
                                  "bounded_gradient", "robustness"])
    assert report.passed, str(report)
    assert report["smoothness"].found.startswith("C0")
    assert report["robustness"].found is False  # the squared part is not robust


def test_a_weighted_sum_of_classifiers_is_checked_on_labels() -> None:
    blend = 0.5 * lk.get("binary_cross_entropy", link="logit") + 0.5 * lk.get(
        "focal", link="logit")
    _, y = blend.example(16)
    assert set(np.unique(y)) <= {0.0, 1.0}  # the terms' own targets, not real numbers
    report = check(blend, checks=["gradient", "hessian", "convexity", "stability"])
    assert report.passed, str(report)


# ---------------------------------------------------------- planted losses
def declared(**overrides: Any) -> Properties:
    base = {"convex": True, "smoothness": math.inf, "lipschitz": None,
            "bounded_gradient": False, "robust": False, "hessian": "exact",
            "statistic": "mean"}
    base.update(overrides)
    return Properties(**base)


class Planted(Loss):
    """A regression loss of ``e = y_pred - y_true`` with settable declarations."""

    name = "planted"
    declared_properties = declared()

    def _properties(self) -> Properties:
        return self.declared_properties

    def _elementwise(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return self.value(xp, y_pred - y_true)

    def _gradient(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return self.slope(xp, y_pred - y_true)

    def _hessian(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return self.curvature(xp, y_pred - y_true)

    def value(self, xp: Any, e: Any) -> Any:
        return e * e

    def slope(self, xp: Any, e: Any) -> Any:
        return 2.0 * e

    def curvature(self, xp: Any, e: Any) -> Any:
        return xp.full_like(e, 2.0)


class GradientOffByAFactor(Planted):
    def slope(self, xp: Any, e: Any) -> Any:
        return 3.0 * e  # should be 2e


class HessianWithTheWrongSign(Planted):
    """log cosh e, whose Hessian sech^2 e is returned negated."""

    declared_properties = declared(lipschitz=1.0, bounded_gradient=True, robust=True,
                                   statistic="")

    def value(self, xp: Any, e: Any) -> Any:
        return lk.numerics.log_cosh(e, xp=xp)

    def slope(self, xp: Any, e: Any) -> Any:
        return xp.tanh(e)

    def curvature(self, xp: Any, e: Any) -> Any:
        t = xp.tanh(e)
        return -(1.0 - t * t)


class NonConvexDeclaredConvex(Planted):
    """Welsch's loss ``1 - exp(-e^2 / 2)``: bounded, hence not convex."""

    declared_properties = declared(lipschitz=math.exp(-0.5), bounded_gradient=True,
                                   robust=True, statistic="")

    def value(self, xp: Any, e: Any) -> Any:
        return 1.0 - xp.exp(-0.5 * e * e)

    def slope(self, xp: Any, e: Any) -> Any:
        return e * xp.exp(-0.5 * e * e)

    def curvature(self, xp: Any, e: Any) -> Any:
        small = xp.where(xp.abs(e) < 40.0, e, xp.zeros_like(e))  # no inf * 0 far out
        return xp.where(xp.abs(e) < 40.0, (1.0 - small * small) * xp.exp(-0.5 * small * small),
                        xp.zeros_like(e))


class KinkDeclaredSmooth(Planted):
    """``e^2 + |e|``: its gradient jumps by 2 at ``e = 0``, yet declared C-infinity."""

    declared_properties = declared(statistic="")

    def value(self, xp: Any, e: Any) -> Any:
        return e * e + xp.abs(e)

    def slope(self, xp: Any, e: Any) -> Any:
        return 2.0 * e + xp.sign(e)


class NaiveSoftplus(Loss):
    """Logistic loss on logits written as ``log(1 + exp(z)) - y z``: overflows at z ~ 710."""

    name = "naive_logistic"
    links = ("logit",)
    fused_links = frozenset({"logit"})
    y_pred_domain = UNIT
    y_true_domain = UNIT

    def __init__(self, *, link: str | None = "logit", nan_policy: str = "raise") -> None:
        super().__init__(link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        return Properties(convex=True, smoothness=math.inf, lipschitz=1.0,
                          bounded_gradient=True, robust=None, hessian="exact",
                          statistic="probability")

    def _elementwise(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return xp.log(1.0 + xp.exp(y_pred)) - y_true * y_pred

    def _gradient(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        e = xp.exp(y_pred)
        return e / (1.0 + e) - y_true

    def _hessian(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        e = xp.exp(y_pred)
        return e / ((1.0 + e) * (1.0 + e))


class MeanDeclaredMedian(Planted):
    declared_properties = declared(statistic="median")


class LipschitzTooSmall(Planted):
    """Huber with delta = 1, declared 0.5-Lipschitz."""

    declared_properties = declared(smoothness=1, lipschitz=0.5, bounded_gradient=True,
                                   robust=True, statistic="")

    def value(self, xp: Any, e: Any) -> Any:
        a = xp.abs(e)
        return xp.where(a <= 1.0, 0.5 * e * e, a - 0.5)

    def slope(self, xp: Any, e: Any) -> Any:
        return xp.clip(e, -1.0, 1.0)

    def curvature(self, xp: Any, e: Any) -> Any:
        return xp.astype(xp.abs(e) <= 1.0, e.dtype)


def failures(report: CheckReport) -> set[str]:
    return {finding.name for finding in report.failures}


WRONG_DECLARATIONS = [
    ("hinge", {}, {"smoothness": 1}, "smoothness"),
    ("squared_hinge", {}, {"smoothness": 2}, "smoothness"),
    ("expectile", {"tau": 0.8}, {"smoothness": 2}, "smoothness"),
    ("poisson", {}, {"bounded_gradient": True}, "bounded_gradient"),
    ("binary_cross_entropy", {"link": "logit"}, {"bounded_gradient": False, "lipschitz": None},
     "bounded_gradient"),
    ("gamma", {}, {"convex": True}, "convexity"),
    ("focal", {"link": "logit"}, {"convex": True}, "convexity"),
    ("cross_entropy", {"link": "softmax"}, {"lipschitz": 1.0}, "lipschitz"),
    ("multiclass_hinge", {}, {"lipschitz": 1.2}, "lipschitz"),
    ("quantile", {"q": 0.9}, {"statistic": "0.1-quantile"}, "statistic"),
    ("log_cosh", {}, {"robust": False}, "robustness"),
]


@pytest.mark.parametrize(("name", "params", "wrong", "finding"), WRONG_DECLARATIONS,
                         ids=[f"{w[0]}-{w[3]}" for w in WRONG_DECLARATIONS])
def test_one_wrong_declaration_of_a_real_loss_fails_exactly_its_check(
        name: str, params: dict[str, Any], wrong: dict[str, Any], finding: str) -> None:
    base = lk.registry.loss_class(name)

    class Misdeclared(base):  # type: ignore[valid-type, misc]
        def _properties(self) -> Properties:
            return dataclasses.replace(super()._properties(), **wrong)

    report = check(Misdeclared(**params))
    assert failures(report) == {finding}, str(report)


def test_planted_gradient_off_by_a_factor() -> None:
    report = check(GradientOffByAFactor())
    assert failures(report) == {"gradient"}, str(report)
    evidence = report["gradient"].evidence["counterexample"]
    e = evidence["y_pred"] - evidence["y_true"]
    assert evidence["loss"] == pytest.approx(3.0 * e)
    assert all(value == pytest.approx(2.0 * e) for value in evidence["reference"].values())
    assert "gradient" in report["gradient"].message


def test_planted_hessian_sign_error() -> None:
    report = check(HessianWithTheWrongSign())
    assert failures(report) == {"hessian"}, str(report)
    evidence = report["hessian"].evidence["counterexample"]
    assert evidence["loss"] < 0
    assert all(value == pytest.approx(-evidence["loss"])
               for value in evidence["reference"].values())


def test_planted_non_convex_loss_declared_convex() -> None:
    report = check(NonConvexDeclaredConvex())
    finding = report["convexity"]
    assert finding.status == "fail", str(report)
    assert report["gradient"].status == "pass" and report["hessian"].status == "pass"
    example = finding.evidence["counterexample"]
    lam = example["lambda"]
    loss = NonConvexDeclaredConvex()
    a, b, y = (np.asarray([example[key]], dtype=float) for key in ("a", "b", "y_true"))
    mix = loss.elementwise(lam * a + (1 - lam) * b, y)[0]
    chord = lam * loss.elementwise(a, y)[0] + (1 - lam) * loss.elementwise(b, y)[0]
    assert mix > chord  # a genuine Jensen counterexample
    assert "declared convex" in finding.message
    # Its optimal constant (the base class's bounded search, exact for convex losses)
    # is fooled by the outlier as well; everything else holds.
    assert failures(report) <= {"convexity", "robustness", "convergence"}, str(report)


def test_planted_kink_in_a_loss_declared_smooth() -> None:
    report = check(KinkDeclaredSmooth())
    finding = report["smoothness"]
    assert finding.status == "fail", str(report)
    assert finding.found.startswith("C0")
    jump = finding.evidence["jump"]
    assert jump["in"] == "gradient"
    assert jump["size"] == pytest.approx(2.0, rel=1e-3)
    assert abs(jump["y_pred"] - jump["y_true"]) < 1e-6  # the kink is at e = 0
    assert failures(report) == {"smoothness"}, str(report)


def test_planted_overflow_at_logit_800() -> None:
    loss = NaiveSoftplus()
    with np.errstate(over="ignore"):
        assert not np.isfinite(loss.elementwise(np.array([800.0]), np.array([1.0]))[0])
    report = check(loss)
    finding = report["stability"]
    assert finding.status == "fail", str(report)
    assert finding.evidence["failures"], finding.evidence
    first = finding.evidence["failures"][0]
    assert abs(np.asarray(first["y_pred"])).max() >= 800
    # The gradient e^z / (1 + e^z) is NaN there too: not bounded after all.
    assert failures(report) == {"stability", "bounded_gradient"}, str(report)


def test_planted_minimiser_is_not_the_declared_statistic() -> None:
    report = check(MeanDeclaredMedian())
    assert failures(report) == {"statistic"}, str(report)
    finding = report["statistic"]
    assert finding.evidence["best_match"] == "mean"
    assert finding.evidence["optimal_constant"] == pytest.approx(finding.evidence["mean"])


def test_planted_lipschitz_constant_declared_too_small() -> None:
    report = check(LipschitzTooSmall())
    assert failures(report) == {"lipschitz"}, str(report)
    finding = report["lipschitz"]
    assert finding.found == pytest.approx(1.0)
    assert "declared 0.5" in finding.message


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"robust": True}, "robustness"),
        ({"bounded_gradient": True}, "bounded_gradient"),
        ({"statistic": "0.9-quantile"}, "statistic"),
        ({"statistic": "0.3-expectile"}, "statistic"),
    ],
)
def test_other_wrong_declarations_fail(overrides: dict[str, Any], name: str) -> None:
    class Wrong(Planted):
        declared_properties = declared(**overrides)

    report = check(Wrong(), checks=[name])
    assert report[name].status == "fail", str(report)


def test_a_correct_expectile_declaration_passes() -> None:
    class Asymmetric(Planted):
        """``|0.3 - 1[e > 0]| e^2``: the 0.3-expectile (declared C1: the Hessian jumps)."""

        declared_properties = declared(smoothness=1, statistic="0.3-expectile")

        def value(self, xp: Any, e: Any) -> Any:
            return xp.where(e > 0, 0.7, 0.3) * e * e

        def slope(self, xp: Any, e: Any) -> Any:
            return 2.0 * xp.where(e > 0, 0.7, 0.3) * e

        def curvature(self, xp: Any, e: Any) -> Any:
            return 2.0 * xp.where(e > 0, 0.7, 0.3) + 0.0 * e

    report = check(Asymmetric())
    assert report.passed, str(report)
    assert report["statistic"].status == "pass"
    assert report["smoothness"].found.startswith("C1")


def test_declared_non_convex_but_convex() -> None:
    class Unbounded(Planted):
        declared_properties = declared(convex=False)

    finding = check(Unbounded(), checks=["convexity"])["convexity"]
    assert finding.status == "info" and "cannot prove" in finding.message

    class OnProbabilities(Loss):
        """Binary cross-entropy on probabilities, declared non-convex."""

        name = "bce_declared_non_convex"
        y_pred_domain = UNIT
        y_true_domain = UNIT

        def _properties(self) -> Properties:
            return declared(convex=False, statistic="mean")

        def _elementwise(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
            return -(y_true * xp.log(y_pred) + (1.0 - y_true) * xp.log1p(-y_pred))

        def _gradient(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
            return (y_pred - y_true) / (y_pred * (1.0 - y_pred))

        def _hessian(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
            return y_true / y_pred**2 + (1.0 - y_true) / (1.0 - y_pred) ** 2

    finding = check(OnProbabilities(), checks=["convexity"])["convexity"]
    assert finding.status == "fail", finding
    assert "no negative curvature" in finding.message


def test_a_negative_surrogate_hessian_fails() -> None:
    class BadSurrogate(Planted):
        declared_properties = declared(smoothness=0, lipschitz=1.0, bounded_gradient=True,
                                       robust=True, hessian="surrogate", statistic="median")

        def value(self, xp: Any, e: Any) -> Any:
            return xp.abs(e)

        def slope(self, xp: Any, e: Any) -> Any:
            return xp.sign(e)

        def curvature(self, xp: Any, e: Any) -> Any:
            return xp.zeros_like(e)  # a surrogate must be > 0

    report = check(BadSurrogate())
    assert failures(report) == {"hessian"}, str(report)


def test_a_smoothness_declared_too_rough_is_info() -> None:
    class Rough(Planted):
        declared_properties = declared(smoothness=0)

    finding = check(Rough(), checks=["smoothness"])["smoothness"]
    assert finding.status == "info" and "no jump" in finding.message


# --------------------------------------------------------- references
def test_finite_differences_when_no_autodiff_is_asked_for() -> None:
    report = check(lk.get("log_cosh"), backends="fd", checks=["gradient", "hessian"])
    assert report.passed, str(report)
    assert report["gradient"].evidence["references"] == ["finite differences"]
    assert report["hessian"].evidence["references"] == ["finite differences of the gradient"]
    report = check(GradientOffByAFactor(), backends="fd", checks=["gradient", "hessian"])
    assert report["gradient"].status == "fail"
    # The gradient is wrong, so the Hessian is checked against the value itself.
    assert report["hessian"].status == "pass", str(report)
    assert report["hessian"].evidence["references"] == ["second differences of the value"]


def test_finite_differences_when_no_autodiff_library_is_installed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from losskit.analysis import _probes

    monkeypatch.setattr(_probes, "available_engines", lambda: [])
    report = check(lk.get("pseudo_huber"), checks=["gradient", "hessian"])
    assert report.passed, str(report)
    assert report["gradient"].evidence["references"] == ["finite differences"]
    with pytest.raises(ImportError, match="losskit\\[torch\\]"):
        check(lk.get("pseudo_huber"), backends="torch")


def test_importing_the_check_stays_light() -> None:
    import subprocess
    import sys

    code = ("import sys, losskit.analysis.check\n"
            "print(sorted({m.split('.')[0] for m in sys.modules}"
            " & {'torch', 'jax', 'scipy', 'dask', 'typer', 'rich'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]", out


@pytest.mark.parametrize("engine", ["torch", "jax"])
def test_one_autodiff_engine(engine: str) -> None:
    pytest.importorskip(engine)
    report = check(lk.get("focal", link="logit"), backends=engine, checks=["gradient"])
    assert report["gradient"].evidence["references"] == [engine]
    assert report.passed
    report = check(GradientOffByAFactor(), backends=[engine], checks=["gradient"])
    assert report["gradient"].status == "fail"


def test_a_numpy_only_loss_falls_back_to_finite_differences() -> None:
    class NumpyOnly(Planted):
        def value(self, xp: Any, e: Any) -> Any:
            return np.asarray(e) ** 2  # NumPy, not xp: autodiff cannot trace it

    report = check(NumpyOnly(), checks=["gradient"])
    finding = report["gradient"]
    assert finding.status == "pass", str(report)
    assert finding.evidence["references"] == ["finite differences"]
    assert set(finding.evidence["unavailable"]) >= {"complex step"}


def test_the_complex_step_where_the_loss_takes_complex_input() -> None:
    class Analytic(Planted):
        def elementwise(self, y_pred: Any, y_true: Any) -> Any:
            if np.iscomplexobj(y_pred):
                return (y_pred - y_true) ** 2
            return super().elementwise(y_pred, y_true)

    finding = check(Analytic(), checks=["gradient"], backends="fd")["gradient"]
    assert finding.status == "pass"
    assert finding.evidence["references"] == ["complex step"]
    assert finding.evidence["max_relative_error"]["complex step"] < 1e-14
    finding = check(lk.get("mse"), checks=["gradient"], backends="fd")["gradient"]
    assert "complex step" in finding.evidence["unavailable"]  # the base class refuses it


# ----------------------------------------------------------- the report
def test_report_text_dict_and_lookup() -> None:
    report = check(LipschitzTooSmall(), checks=["lipschitz", "robustness", "smoothness"])
    assert isinstance(report, CheckReport) and not report.passed
    text = str(report)
    lines = text.splitlines()
    assert lines[0].startswith("check of LipschitzTooSmall(): 2 passed, 1 failed")
    body = {line.split()[1]: line.split()[0] for line in lines[2:]}
    assert body == {"lipschitz": "FAIL", "robustness": "PASS", "smoothness": "PASS"}
    assert "|gradient| = 1" in text
    data = json.loads(json.dumps(report.to_dict()))
    assert data["passed"] is False
    assert [f["name"] for f in data["findings"]] == ["smoothness", "lipschitz", "robustness"]
    assert isinstance(report["lipschitz"], Finding)
    assert "lipschitz" in report and "convexity" not in report
    with pytest.raises(KeyError, match="convexity"):
        report["convexity"]


def test_the_same_seed_gives_the_same_report() -> None:
    first = check(lk.get("huber"), seed=3, checks=["convexity", "lipschitz", "convergence"])
    second = check(lk.get("huber"), seed=3, checks=["convexity", "lipschitz", "convergence"])
    assert [f.to_dict() for f in first.findings] == [f.to_dict() for f in second.findings]


def test_a_finding_does_not_depend_on_the_other_checks() -> None:
    loss = lk.get("focal", link="softmax")
    full = check(loss)
    for name in ("convexity", "smoothness", "gradient"):
        assert check(loss, checks=[name])[name].to_dict() == full[name].to_dict()


def test_check_accepts_a_name_and_validates_its_arguments() -> None:
    assert check("mse", checks="lipschitz").passed
    with pytest.raises(ValueError, match="unknown check 'convex'"):
        check("mse", checks=["convex"])
    with pytest.raises(ValueError, match="needs metric="):
        check("mse", checks=["alignment"])
    with pytest.raises(ValueError, match="backends"):
        check("mse", backends="tensorflow")
    with pytest.raises(ValueError, match="n must be >= 4"):
        check("mse", n=2)
    with pytest.raises(TypeError, match="Loss"):
        check(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="status"):
        Finding("gradient", "ok")


def test_a_check_that_raises_is_a_failure() -> None:
    class Broken(Planted):
        def slope(self, xp: Any, e: Any) -> Any:
            raise RuntimeError("no gradient today")

    report = check(Broken(), checks=["gradient", "convexity"])
    assert report["gradient"].status == "fail"
    assert "no gradient today" in report["gradient"].message


# ------------------------------------------------------------ alignment
def test_alignment_of_aligned_pairs() -> None:
    result = alignment(lk.get("mse"), "mae")
    assert result.spearman > 0.9 and result.path_spearman > 0.9
    assert result.aligned and not result.greater_is_better
    assert len(result.table) == 21 and result.path
    assert "mae" in str(result)
    result = alignment(lk.get("binary_cross_entropy", link="logit"), "accuracy", candidates=12)
    assert result.greater_is_better and result.spearman > 0.5 and len(result.table) == 12
    result = alignment(lk.get("cross_entropy", link="softmax"), "log_loss")
    assert result.spearman > 0.9
    result = alignment(lk.get("hinge"), "f1")
    assert result.spearman > 0.5


def test_alignment_with_features() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(0.0, 0.5, 150)
    result = alignment(lk.get("huber"), "mse", X=X, y=y)
    assert result.spearman > 0.8 and result.path_spearman > 0.8
    with pytest.raises(ValueError, match="rows"):
        alignment(lk.get("huber"), "mse", X=X[:10], y=y)


def test_a_misaligned_metric_fails_the_alignment_check() -> None:
    def negative_mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return -float(np.mean((y_true - y_pred) ** 2))  # lower is better, by declaration

    result = alignment(lk.get("mse"), negative_mse)
    assert result.spearman < -0.9
    report = check(lk.get("mse"), metric=negative_mse, checks=["alignment"])
    assert report["alignment"].status == "fail" and "misaligned" in report["alignment"].message
    report = check(lk.get("mse"), metric="mae", checks=["alignment", "convexity"])
    assert report.passed and report["alignment"].status == "pass"
    with pytest.raises(ValueError, match="unknown metric"):
        alignment(lk.get("mse"), "ndcg")


# ------------------------------------------------------ structured losses
@pytest.mark.parametrize("name", STRUCTURED_NAMES)
def test_every_structured_loss_passes_check(name: str) -> None:
    """Ranking, embedding, sequence and policy losses: the checks that apply run and
    pass, the others are skips that say why; nothing crashes."""
    report = check(lk.get(name))
    assert report.passed, f"{name}:\n{report}"
    assert [f.name for f in report.findings] == [c for c in CHECKS if c != "alignment"]
    assert report["gradient"].status == "pass" and report["hessian"].status == "pass", (
        str(report))
    assert report["stability"].status in ("pass", "info") and report["convexity"].status != "skip"
    for finding in report.findings:
        assert finding.status != "skip" or "not applicable" in finding.message, finding


def _misdeclared(name: str, **wrong: Any) -> Loss:
    base = lk.registry.loss_class(name)

    class Misdeclared(base):  # type: ignore[valid-type, misc]
        def _properties(self) -> Properties:
            return dataclasses.replace(super()._properties(), **wrong)

    return Misdeclared()


@pytest.mark.parametrize(("name", "wrong", "finding"), [
    ("approx_ndcg", {"convex": True}, "convexity"),
    ("listnet", {"lipschitz": 1.0}, "lipschitz"),
    ("lambda_loss", {"smoothness": 0}, "smoothness"),
    ("pairwise_hinge", {"smoothness": 1}, "smoothness"),
    ("ranknet", {"bounded_gradient": True, "hessian": "surrogate"}, "hessian"),
])
def test_a_wrong_declaration_of_a_ranking_loss_fails_its_check(
        name: str, wrong: dict[str, Any], finding: str) -> None:
    report = check(_misdeclared(name, **wrong), checks=["gradient", "hessian", finding])
    assert failures(report) == {finding}, str(report)


def test_a_wrong_ranking_gradient_fails_the_gradient_check() -> None:
    class HalfGradient(lk.registry.loss_class("listmle")):  # type: ignore[misc]
        def _terms(self, xp: Any, s: Any, t: Any, order: int) -> Any:
            value, gradient, hessian = super()._terms(xp, s, t, order)
            return value, None if gradient is None else 0.5 * gradient, hessian

    report = check(HalfGradient(), checks=["gradient", "hessian"])
    assert report["gradient"].status == "fail", str(report)
    assert "counterexample" in report["gradient"].evidence


def test_check_of_a_ranking_loss_with_a_ranking_metric() -> None:
    report = check(lk.get("listnet"), metric="ndcg@10", checks=["alignment"])
    assert report["alignment"].status == "pass", str(report)
    assert report["alignment"].evidence["metric"] == "ndcg@10"
    with pytest.raises(ValueError, match="unknown metric 'mae'"):
        check(lk.get("listnet"), metric="mae", checks=["alignment"])
    with pytest.raises(ValueError, match="unknown metric 'ndcg'"):
        check(lk.get("mse"), metric="ndcg", checks=["alignment"])
