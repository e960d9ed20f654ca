r"""Declared = verified: check a loss's mathematics numerically.

``check(loss)`` probes a loss through its public methods and compares what it finds
with what the loss declares (``loss.properties``), one :class:`Finding` per check:

- ``gradient``: ``loss.gradient`` against automatic differentiation of
  ``loss.elementwise`` (PyTorch and/or JAX, float64), else 4th-order central
  differences; also the complex step where the loss takes complex input. Points at
  kinks (differences at steps h and h/2 disagree) are left out.
- ``hessian``: ``loss.hessian`` the same way (the diagonal for multiclass); a
  ``"surrogate"`` Hessian must only be finite and positive.
- ``convexity``: the sign of the second derivative on dense 1-D grids over the domain
  and random Jensen tests, against ``properties.convex``, with a counterexample.
- ``smoothness``: jumps in the value, the gradient and the Hessian along 1-D scans
  (bisection of every grid interval), against ``properties.smoothness``.
- ``lipschitz``: the largest gradient norm over a wide scan, against
  ``properties.lipschitz``.
- ``bounded_gradient``: whether the largest gradient keeps growing from scale 1e4 to
  1e6 (errors, logits, distances to an edge), against the declaration.
- ``robustness``: regression only; does the optimal constant follow one target moved
  to 1e2, 1e4, 1e6? Against ``properties.robust``.
- ``statistic``: regression only; the optimal constant of a skewed (lognormal) sample
  against the mean, the median, quantiles and expectiles; against
  ``properties.statistic`` where that names one of them.
- ``stability``: extreme inputs in float16, float32 and float64 give finite values,
  gradients and Hessians (genuinely infinite ones are reported, not failed, for
  losses whose gradient is unbounded).
- ``convergence``: empirical risk minimisation of a linear model from several starts
  reaches one optimum (required for convex losses).
- ``alignment``: with ``metric=``; see :func:`losskit.analysis.alignment.alignment`.

Structured losses (``loss.pointwise`` False: ranking, embedding, sequence and
policy-gradient losses) run the checks that apply to a batch seen as one point
(gradient, Hessian, convexity by Jensen along random segments, Lipschitz constant,
bounded gradient, stability; alignment for ranking losses with a ranking metric such as
``"ndcg@10"``); the others are ``"skip"`` findings that say why (see
``losskit.analysis._structured``).

Each finding has a status: ``"pass"``, ``"fail"`` (a declaration is contradicted, or
an output is wrong), ``"info"`` (nothing declared, or a numerical scan cannot settle
the question) or ``"skip"`` (the check does not apply). ``report.passed`` is True when
nothing failed.

>>> import losskit as lk
>>> from losskit.analysis import check
>>> report = check(lk.get("huber"), checks=["convexity", "lipschitz"], backends="fd")
>>> report.passed
True
>>> report["lipschitz"].found
1.0
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from losskit.analysis import _probes
from losskit.analysis._calculus import (
    check_convexity,
    check_smoothness,
    gradient_finding,
    hessian_finding,
)
from losskit.analysis._context import Context
from losskit.analysis._estimators import check_convergence, check_robustness, check_statistic
from losskit.analysis._extremes import check_bounded_gradient, check_lipschitz, check_stability
from losskit.analysis._report import STATUSES, CheckReport, Finding
from losskit.analysis._structured import RUNNERS, StructuredContext, _is_ranking
from losskit.analysis.alignment import METRICS, AlignmentResult, alignment, is_ranking_metric
from losskit.core import Loss

__all__ = ["CHECKS", "STATUSES", "AlignmentResult", "CheckReport", "Finding", "alignment",
           "check"]

#: Every check, in the order they run.
CHECKS = ("gradient", "hessian", "convexity", "smoothness", "lipschitz", "bounded_gradient",
          "robustness", "statistic", "stability", "convergence", "alignment")


# ---------------------------------------------------------------- the entry
def check(
    loss: Loss | str,
    *,
    n: int = 16,
    seed: int = 0,
    backends: str | Iterable[str] = "auto",
    checks: Iterable[str] | None = None,
    metric: str | Callable[[Any, Any], float] | None = None,
) -> CheckReport:
    """Verify the declared properties of ``loss`` numerically.

    Parameters
    ----------
    loss : Loss or str
        A loss instance (or a registered name).
    n : int, default 16
        Example samples (``loss.example(n, seed=seed)``) that seed the probes.
    seed : int, default 0
        Seed of every random draw: the same call gives the same report.
    backends : "auto", str or iterable of str
        Automatic-differentiation references for the gradient and Hessian: ``"torch"``,
        ``"jax"``, both, or ``"fd"`` (finite differences only). ``"auto"``: every one of
        torch and jax that is installed (finite differences when neither is).
    checks : iterable of str, optional
        A subset of :data:`CHECKS` (all by default; ``"alignment"`` needs ``metric``).
    metric : str or callable, optional
        Adds the ``alignment`` finding: ``"mae"``, ``"mse"``, ``"accuracy"``, ``"f1"``,
        ``"log_loss"`` or ``metric(y_true, y_pred)``.

    Returns
    -------
    CheckReport
    """
    started = time.perf_counter()
    if isinstance(loss, str):
        from losskit.registry import get

        loss = get(loss)
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a Loss or a registered name; got {type(loss).__name__}")
    n = int(n)
    if n < 4:
        raise ValueError(f"n must be >= 4 (example samples for the probes); got {n}")
    selected = _selected(checks, metric, ranking=_is_ranking(loss))
    engines = _engines(backends)
    findings = []
    with _probes.single_threaded():
        if loss.pointwise:
            context: Any = Context(loss, n, seed, engines, metric)
            runners: dict[str, Callable[[Any], Finding]] = _RUNNERS
        else:  # ranking lists, embedding tuples, sequences: the checks that apply
            context, runners = StructuredContext(loss, n, seed, engines, metric), RUNNERS
        for name in selected:
            try:
                finding = runners[name](context)
            except Exception as error:  # the loss raised on valid inputs: a finding
                finding = Finding(name, "fail", message=f"the check raised "
                                  f"{type(error).__name__}: {error}",
                                  evidence={"error": repr(error)})
            findings.append(finding)
    return CheckReport(repr(loss), findings, round(time.perf_counter() - started, 3))


def _selected(checks: Iterable[str] | None, metric: Any, ranking: bool = False) -> list[str]:
    known = is_ranking_metric(metric) if ranking else (
        isinstance(metric, str) and metric.strip().lower() in METRICS)
    if isinstance(metric, str) and not known:
        expected = ("'ndcg', 'ndcg@k', 'map', 'mrr'" if ranking
                    else f"one of {sorted(METRICS)}")
        raise ValueError(f"unknown metric {metric!r}; expected {expected} or a "
                         "callable metric(y_true, y_pred)")
    if metric is not None and not isinstance(metric, str) and not callable(metric):
        raise TypeError(f"metric must be a name or a callable; got {type(metric).__name__}")
    if checks is None:
        return [name for name in CHECKS if name != "alignment" or metric is not None]
    chosen = [checks] if isinstance(checks, str) else list(checks)
    unknown = [name for name in chosen if name not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check {unknown[0]!r}; the checks are {list(CHECKS)}")
    if "alignment" in chosen and metric is None:
        raise ValueError("the 'alignment' check needs metric= (e.g. metric='mae')")
    return [name for name in CHECKS if name in chosen]


def _engines(backends: str | Iterable[str]) -> list[str]:
    if isinstance(backends, str) and backends == "auto":
        return _probes.available_engines()
    names = [backends] if isinstance(backends, str) else list(backends)
    engines = []
    for name in names:
        if name in ("fd", "none"):
            continue
        if name not in _probes.ENGINES:
            raise ValueError(f"backends must be 'auto' or among {[*_probes.ENGINES, 'fd']}; "
                             f"got {name!r}")
        if name not in _probes.available_engines():
            extra = "torch" if name == "torch" else "jax"
            raise ImportError(f"backends={name!r} needs {name}: pip install \"losskit[{extra}]\"")
        engines.append(name)
    return engines



# --------------------------------------------------------------- alignment
def _check_alignment(context: Context) -> Finding:
    return _check_alignment_result(alignment(context.loss, context.metric, seed=context.seed))


def _check_alignment_result(result: AlignmentResult) -> Finding:
    evidence = result.to_dict()
    text = (f"Spearman agreement of the loss with {result.metric}: {result.spearman:+.3f} over "
            f"{len(result.table)} candidate predictors, {result.path_spearman:+.3f} along an "
            "optimisation path (+1: the loss ranks predictors as the metric does)")
    defined = [r for r in (result.spearman, result.path_spearman) if math.isfinite(r)]
    if not defined:
        return Finding("alignment", "info", None, None, evidence,
                       text + "; undefined: the loss or the metric does not vary")
    lowest = min(defined)
    if lowest < 0:
        return Finding("alignment", "fail", None, lowest, evidence, "misaligned: " + text)
    status = "pass" if lowest >= 0.5 else "info"
    return Finding("alignment", status, None, lowest, evidence, text)


_RUNNERS: dict[str, Callable[[Context], Finding]] = {
    "gradient": gradient_finding,
    "hessian": hessian_finding,
    "convexity": check_convexity,
    "smoothness": check_smoothness,
    "lipschitz": check_lipschitz,
    "bounded_gradient": check_bounded_gradient,
    "robustness": check_robustness,
    "statistic": check_statistic,
    "stability": check_stability,
    "convergence": check_convergence,
    "alignment": _check_alignment,
}

