"""What minimising the loss gives: the robustness, statistic and convergence checks."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from losskit.analysis._context import Context
from losskit.analysis._erm import LinearRisk
from losskit.analysis._probes import quiet
from losskit.analysis._report import Finding
from losskit.core import Loss, Properties

__all__ = ["check_convergence", "check_robustness", "check_statistic"]


# -------------------------------------------------------- robust, statistic
def _natural(loss: Loss, constant: Any) -> float:
    with quiet():
        value = np.asarray(loss.link.inverse(np.asarray(constant, dtype=np.float64)))
    return float(value)


def _is_regression(context: Context) -> bool:
    """Real-valued, unbounded targets: an outlier can move them without limit."""
    return context.probe.regression


def check_robustness(context: Context) -> Finding:
    """Does one outlying target move the optimal constant without bound? Against
    ``robust`` (regression losses; classification targets cannot be outlying).
    """
    loss, props = context.loss, context.props
    if not _is_regression(context):
        return Finding("robustness", "skip", None if props is None else props.robust, None,
                       message="targets are bounded (classification): no outlying target")
    _, y = loss.example(41, seed=context.seed + 1)
    y = np.asarray(y, dtype=np.float64)
    base = _natural(loss, loss.optimal_constant(y))
    shifts = {}
    for magnitude in (1e2, 1e4, 1e6):
        moved = y.copy()
        moved[0] = y[0] + magnitude
        shifts[magnitude] = abs(_natural(loss, loss.optimal_constant(moved)) - base)
    # A robust estimate moves by O(scale / n) at most (plus the minimiser's tolerance);
    # the mean moves by 1e6 / n: growth tenfold from 1e4 to 1e6 is unbounded influence.
    scale = float(np.std(y)) + abs(base)
    unbounded = shifts[1e6] > 10.0 * max(shifts[1e4], 1e-6 * scale)
    found = not unbounded
    evidence = {"optimal_constant": base, "n": int(y.size),
                "shift": {f"{m:g}": s for m, s in shifts.items()}}
    text = (f"one target moved by 1e2, 1e4, 1e6 moves the optimal constant by "
            f"{shifts[1e2]:.3g}, {shifts[1e4]:.3g}, {shifts[1e6]:.3g}")
    declared = None if props is None else props.robust
    if declared is None:
        return Finding("robustness", "info", None, found, evidence, text)
    status = "pass" if bool(declared) == found else "fail"
    prefix = "" if status == "pass" else f"declared {'robust' if declared else 'not robust'}, but "
    return Finding("robustness", status, bool(declared), found, evidence, prefix + text)


_LEVELS = np.round(np.arange(0.01, 0.995, 0.01), 2)


def check_statistic(context: Context) -> Finding:
    """Which statistic the optimal constant of a lognormal sample is, against ``statistic``."""
    loss, props = context.loss, context.props
    declared = None if props is None else (props.statistic or None)
    if not _is_regression(context):
        return Finding("statistic", "skip", declared, None,
                       message="classification: the statistic is checked on regression losses")
    rng = np.random.default_rng(context.seed + 2)
    y = np.exp(rng.normal(0.0, 0.75, size=401))  # skewed: mean != median != mode
    c = _natural(loss, loss.optimal_constant(y))
    scale = float(np.std(y))
    candidates: dict[str, float] = {"mean": abs(c - float(np.mean(y)))}
    for q in _LEVELS:
        candidates["median" if q == 0.5 else f"{q:g}-quantile"] = _quantile_distance(
            y, c, float(q))
    for tau in _LEVELS[_LEVELS != 0.5]:  # the 0.5-expectile is the mean
        candidates[f"{tau:g}-expectile"] = abs(c - _expectile(y, float(tau)))
    best = min(candidates, key=lambda key: (candidates[key], key != "mean"))
    evidence = {"optimal_constant": c, "mean": float(np.mean(y)), "median": float(np.median(y)),
                "sample": "lognormal(0, 0.75), n=401", "best_match": best,
                "best_distance": candidates[best] / scale}
    target = _parse_statistic(declared)
    found = f"{best} (distance {candidates[best] / scale:.2g} sd)"
    if target is None:
        return Finding("statistic", "info", declared, best, evidence,
                       f"optimal constant {c:.6g} on a lognormal sample; closest: {found}"
                       + ("" if declared is None else "; the declaration is not one of mean, "
                          "median, q-quantile, tau-expectile"))
    kind, level = target
    if kind == "mean":
        distance = candidates["mean"]
        expected = float(np.mean(y))
    elif kind == "quantile":
        distance = _quantile_distance(y, c, level)
        expected = float(np.quantile(y, level, method="inverted_cdf"))
    else:
        expected = _expectile(y, level)
        distance = abs(c - expected)
    evidence["declared_value"] = expected
    if distance <= 1e-6 * scale:
        return Finding("statistic", "pass", declared, declared, evidence,
                       f"optimal constant {c:.6g} = the {declared} of a lognormal sample")
    return Finding("statistic", "fail", declared, best, evidence,
                   f"declared '{declared}' ({expected:.6g} on a lognormal sample), but the "
                   f"optimal constant is {c:.6g}; closest: {found}")


def _parse_statistic(text: str | None) -> tuple[str, float] | None:
    if not text:
        return None
    text = text.strip().lower()
    if text == "mean":
        return ("mean", 0.5)
    if text == "median":
        return ("quantile", 0.5)
    number = r"([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)"
    for pattern, kind in ((rf"^{number}-quantile$", "quantile"),
                          (rf"^quantile at level {number}$", "quantile"),
                          (rf"^{number}-expectile$", "expectile")):
        match = re.match(pattern, text)
        if match:
            level = float(match.group(1))
            if 0.0 < level < 1.0:
                return (kind, level)
    return None


def _quantile_distance(y: np.ndarray, c: float, q: float) -> float:
    """Distance from ``c`` to the minimisers of the pinball loss at level ``q``.

    With ``n`` equal weights ``c`` minimises it iff ``#(y < c) <= q n <= #(y <= c)``:
    one order statistic, or the interval between two when ``q n`` is whole (to
    rounding: ``q`` is a float).
    """
    ys = np.sort(y)
    position = q * ys.size
    whole = round(position)
    if abs(position - whole) < 1e-9 * ys.size and 0 < whole < ys.size:
        low, high = ys[whole - 1], ys[whole]
    else:
        index = min(math.floor(position + 1e-9 * ys.size), ys.size - 1)
        low = high = ys[index]
    if low <= c <= high:
        return 0.0
    return float(min(abs(c - low), abs(c - high)))


def _expectile(y: np.ndarray, tau: float) -> float:
    from scipy.optimize import brentq

    def balance(e: float) -> float:
        return float(tau * np.sum(np.maximum(y - e, 0.0))
                     - (1.0 - tau) * np.sum(np.maximum(e - y, 0.0)))

    low, high = float(np.min(y)), float(np.max(y))
    if low == high:
        return low
    return float(brentq(balance, low, high, xtol=1e-14 * max(1.0, abs(high)), rtol=1e-15))



# ------------------------------------------------------------- convergence
def check_convergence(context: Context) -> Finding:
    """Several starts of an ERM fit reach one optimum: required where it is convex."""
    from scipy.optimize import minimize

    loss, probe, props = context.loss, context.probe, context.props
    rng = np.random.default_rng([context.seed, 3])  # not the stream of loss.example
    smooth = (props is not None and props.smoothness >= 1 and props.hessian != "surrogate"
              and context.gradient_ok)
    # Derivative-free polishing of a non-smooth objective is slow: a smaller problem.
    n, features = (120, 2) if smooth else (80, 1)
    _, y = loss.example(n, seed=context.seed + 3)
    y = np.asarray(y, dtype=np.float64)
    signal = y if y.ndim == 1 else np.argmax(y, axis=-1)
    spread = float(np.std(signal)) or 1.0
    columns = [(signal - np.mean(signal)) / spread + rng.normal(0.0, 1.0, n)]
    columns += [rng.normal(0.0, 1.0, n) for _ in range(features - 1)]
    X = np.column_stack(columns)
    risk = LinearRisk(loss, X, y, probe.space)
    size = risk.size(probe.n_classes)
    results = []
    for start in range(4 if smooth else 3):
        theta0 = rng.normal(0.0, 0.5, size=size) if start else np.zeros(size)
        results.append(_minimise(risk, theta0, smooth, context.gradient_ok, minimize))
    objectives = np.asarray([r[0] for r in results])
    method = results[0][1]
    finite = np.isfinite(objectives)
    best = float(np.min(objectives[finite])) if np.any(finite) else math.nan
    spread_found = float(np.max(objectives) - np.min(objectives)) if np.all(finite) else math.inf
    # Derivative-free polishing of a non-smooth objective stalls near kinks: 0.1%.
    tolerance = (1e-7 if smooth else 1e-3) * (1.0 + abs(best))
    expected = _convex_in_parameters(loss, risk, props)
    evidence = {"objectives": objectives, "spread": spread_found, "tolerance": tolerance,
                "method": method, "model": f"linear, {X.shape[1]} features + intercept, "
                f"n={n}, map={risk.map}", "convex_in_parameters": expected}
    agree = spread_found <= tolerance
    text = (f"{len(results)} starts of {method} reach objectives spread by "
            f"{spread_found:.2g} (tolerance {tolerance:.2g}; best {best:.6g})")
    declared = None if props is None else bool(props.convex)
    if expected is None:
        return Finding("convergence", "info", declared, "one optimum" if agree else
                       "several optima", evidence, text + ("" if expected is not None else
                                                           "; convexity in the parameters "
                                                           "unknown (no twin link)"))
    if expected:
        return Finding("convergence", "pass" if agree else "fail", True,
                       "one optimum" if agree else "starts disagree", evidence,
                       text if agree else "convex, but " + text)
    return Finding("convergence", "info", False, "one optimum" if agree else "starts disagree",
                   evidence, text + " (not convex in the parameters: agreement not required)")


def _minimise(risk: LinearRisk, theta0: np.ndarray, smooth: bool, gradient_ok: bool,
              minimize: Callable[..., Any]) -> tuple[float, str]:
    options = {"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-10}
    with quiet():
        if gradient_ok:
            result = minimize(risk.value_and_gradient, theta0, jac=True, method="L-BFGS-B",
                              options=options)
            theta, method = result.x, "L-BFGS-B"
        else:
            theta, method = theta0, ""
        if not smooth:
            # Non-smooth (or an untrusted gradient): polish derivative-free from there.
            for _ in range(2):  # a restart renews Powell's directions, stuck at a kink
                theta = minimize(risk.objective, theta, method="Powell",
                                 options={"xtol": 1e-6, "ftol": 1e-9,
                                          "maxfev": 60 * theta.size}).x
            method = (method + " + Powell") if method else "Powell"
        return risk.objective(theta), method


def _convex_in_parameters(loss: Loss, risk: LinearRisk, props: Properties | None) -> bool | None:
    if props is None:
        return None
    if risk.map == "identity":
        return bool(props.convex)
    twin = risk.twin_link()
    space = risk.space
    if twin is None or (twin == "log" and space.low != 0.0) or twin not in type(loss).links:
        return None
    try:
        params = loss.get_params()
        params["link"] = twin
        return bool(type(loss)(**params).properties.convex)
    except Exception:  # a loss that cannot be rebuilt with another link
        return None


