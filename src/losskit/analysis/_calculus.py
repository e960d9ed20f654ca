"""Derivatives and shape: the gradient, the Hessian, convexity and smoothness checks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from losskit.analysis import _probes
from losskit.analysis._context import Context, line_point, scan_lines
from losskit.analysis._probes import Lines, Probe, find_jumps, line_quantity, quiet
from losskit.analysis._report import Finding, numbers
from losskit.core import Loss

__all__ = ["Derivatives", "check_convexity", "check_smoothness", "compute_derivatives",
           "gradient_finding", "hessian_finding"]

AUTODIFF_RTOL = 1e-8  # two exact derivatives in float64, with room for cancellation
FD_RTOL = 1e-5  # 4th-order differences at h/2 = 5e-4 relative: truncation ~1e-13
SECOND_FD_RTOL = 1e-4  # second differences of the value: rounding eps |L| / h^2
KINK_RTOL = 1e-6  # differences at h and h/2 disagree by more: a kink in the stencil


# -------------------------------------------------------------- derivatives
@dataclass
class Derivatives:
    """The loss's gradient and Hessian at probe points, with the references to judge them.

    ``references`` maps an engine (``"torch"``, ``"jax"``, ``"complex step"``) to its
    gradient and Hessian diagonal (None where it gives none); ``keep_*`` mark the points
    away from kinks, where differences at steps h and h/2 agree.
    """

    points: np.ndarray
    targets: np.ndarray
    gradient: np.ndarray
    hessian: np.ndarray
    references: dict[str, tuple[np.ndarray, np.ndarray | None]]
    unavailable: dict[str, str]
    fd_gradient: np.ndarray
    keep_gradient: np.ndarray
    keep_hessian: np.ndarray


def compute_derivatives(context: Context) -> Derivatives:
    """Probe points (the example and as many random ones) and every reference there."""
    probe = context.probe
    extra_p, extra_y = probe.random_points(1.0, probe.rng("derivatives"))
    p = np.concatenate([probe.p, extra_p])
    y = np.concatenate([probe.y, extra_y])
    gradient, hessian = probe.gradient(p, y), probe.hessian(p, y)
    step = _probes.fd_steps(probe.space, p)
    multiclass = probe.multiclass

    def values(q: np.ndarray) -> np.ndarray:
        return probe.value(q, y)

    def gradients(q: np.ndarray) -> np.ndarray:
        return probe.gradient(q, y)

    with quiet():
        coarse = _probes.central_difference(values, p, step, multiclass)
        fine = _probes.central_difference(values, p, 0.5 * step, multiclass)
        coarse_h = _probes.central_difference(gradients, p, step, multiclass)
        fine_h = _probes.central_difference(gradients, p, 0.5 * step, multiclass)
        # Rounding in a difference quotient: about eps |function| / step.
        value_scale = np.abs(probe.value(p, y))
        if multiclass:
            value_scale = value_scale[..., None]
        noise_g = 1e-12 * (value_scale + np.max(np.abs(value_scale))) / step
        noise_h = 1e-12 * (np.abs(gradient) + np.max(np.abs(gradient))) / step
    keep_gradient = _agree(coarse, fine, KINK_RTOL, noise_g)
    keep_hessian = _agree(coarse_h, fine_h, KINK_RTOL, noise_h)
    references: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    unavailable: dict[str, str] = {}
    for engine in context.engines:
        try:
            references[engine] = _probes.autodiff(engine, context.loss, p, y)
        except Exception as error:  # a loss written for NumPy only, say
            unavailable[engine] = f"{type(error).__name__}: {error}"
    complex_gradient, note = _complex_step(context.loss, p, y, multiclass)
    if complex_gradient is not None:
        references["complex step"] = (complex_gradient, None)
    else:
        unavailable["complex step"] = note
    return Derivatives(p, y, gradient, hessian, references, unavailable, fine,
                        keep_gradient, keep_hessian)


def _agree(coarse: np.ndarray, fine: np.ndarray, rtol: float, noise: np.ndarray
           ) -> np.ndarray:
    """Where differences at steps h and h/2 agree: no kink inside the stencil."""
    finite = np.isfinite(coarse) & np.isfinite(fine)
    scale = float(np.max(np.abs(fine[finite]), initial=0.0))
    with quiet():
        floor = np.where(np.isfinite(noise), noise, 0.0)
        return finite & (np.abs(coarse - fine) <= rtol * (np.abs(fine) + scale) + floor)


def _complex_step(loss: Loss, p: np.ndarray, y: np.ndarray, multiclass: bool
                  ) -> tuple[np.ndarray | None, str]:
    """``Im L(p + i h) / h``: exact to rounding for analytic losses taking complex input."""
    h = 1e-30
    try:
        with quiet():
            if multiclass:
                columns = []
                for k in range(p.shape[-1]):
                    shifted = p.astype(np.complex128)
                    shifted[..., k] += 1j * h
                    columns.append(np.imag(np.asarray(loss.elementwise(shifted, y))) / h)
                result = np.stack(columns, axis=-1)
            else:
                result = np.imag(np.asarray(loss.elementwise(p + 1j * h, y))) / h
    except (TypeError, ValueError) as error:
        return None, f"not supported ({error})"
    if not np.any(result):
        return None, "not supported (the loss drops the imaginary part)"
    return np.asarray(result, dtype=np.float64), ""


def _compared(actual: np.ndarray, references: dict[str, np.ndarray], keep: np.ndarray,
              tolerances: dict[str, float],
              **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``_compare`` and the evidence a derivative finding reports with it."""
    result = _compare(actual, references, keep, tolerances)
    evidence: dict[str, Any] = {
        "references": sorted(references), "points": int(actual.size),
        "compared": int(np.sum(result["compared"])),
        "skipped_at_kinks": int(np.sum(~keep)),
        "max_relative_error": result["errors"], "tolerance": tolerances, **extra,
    }
    return result, evidence


def _compare(actual: np.ndarray, references: dict[str, np.ndarray], keep: np.ndarray,
             tolerances: dict[str, float]) -> dict[str, Any]:
    """Where ``actual`` disagrees with every reference (a reference may be a fluke).

    The error against a reference ``r`` is ``|a - r| / (|r| + max|r|)`` (relative, with
    an absolute floor at the scale of the largest entry). A point fails when it is off
    against all references that are finite there.
    """
    errors: dict[str, float] = {}
    failing = np.ones(actual.shape, dtype=bool)
    compared = np.zeros(actual.shape, dtype=bool)
    relative: dict[str, np.ndarray] = {}
    for name, reference in references.items():
        usable = keep & np.isfinite(reference)
        scale = float(np.max(np.abs(reference[usable]), initial=0.0))
        with quiet():
            error = np.abs(actual - reference) / (np.abs(reference) + scale + 1e-300)
        error = np.where(np.isfinite(actual), error, np.inf)
        relative[name] = np.where(usable, error, 0.0)
        errors[name] = float(np.max(relative[name], initial=0.0))
        failing &= ~usable | (error > tolerances[name])
        compared |= usable
    failing &= compared
    return {"errors": errors, "failing": failing, "compared": compared, "relative": relative}


def gradient_finding(context: Context) -> Finding:
    """``loss.gradient`` against autodiff (else differences); computed once."""
    return context.cached("gradient_finding", lambda: _check_gradient(context))


def _check_gradient(context: Context) -> Finding:
    d = context.derivatives
    references = {name: pair[0] for name, pair in d.references.items()}
    tolerances = {name: AUTODIFF_RTOL for name in references}
    if not references:
        references = {"finite differences": d.fd_gradient}
        tolerances = {"finite differences": FD_RTOL}
    result, evidence = _compared(d.gradient, references, d.keep_gradient, tolerances,
                                  unavailable=d.unavailable)
    return _derivative_verdict("gradient", None, d.gradient, references, result, evidence, d)


def _derivative_verdict(name: str, declared: Any, actual: np.ndarray,
                        references: dict[str, np.ndarray], result: dict[str, Any],
                        evidence: dict[str, Any], d: Derivatives) -> Finding:
    failing, compared = result["failing"], result["compared"]
    worst = max(result["errors"].values(), default=0.0)
    against = ", ".join(evidence["references"])
    label = "Hessian" if name == "hessian" else name
    if np.any(failing):
        score = np.where(failing, np.min(np.stack(list(result["relative"].values())), axis=0),
                         -1.0)
        index = tuple(int(i) for i in np.unravel_index(int(np.argmax(score)), actual.shape))
        expected = {ref: float(values[index]) for ref, values in references.items()}
        evidence["counterexample"] = {"y_pred": d.points[index[0]],
                                      "y_true": d.targets[index[0]], "entry": list(index),
                                      "loss": float(actual[index]), "reference": expected}
        return Finding(name, "fail", declared, f"wrong at {int(np.sum(failing))} of "
                       f"{int(np.sum(compared))} points", evidence,
                       f"{label} {float(actual[index]):.6g} but {against} give "
                       f"{', '.join(f'{v:.6g}' for v in expected.values())} at y_pred="
                       f"{numbers(d.points[index[0]])}, y_true={numbers(d.targets[index[0]])}")
    if np.sum(compared) < 0.25 * actual.size:
        return Finding(name, "info", declared, "not verified", evidence,
                       f"most probe points lie at kinks ({int(np.sum(compared))} of "
                       f"{actual.size} compared)")
    return Finding(name, "pass", declared, f"max error {worst:.2g}", evidence,
                   f"matches {against} at {int(np.sum(compared))} of {actual.size} points "
                   f"({evidence['skipped_at_kinks']} near kinks skipped)")


def hessian_finding(context: Context) -> Finding:
    """``loss.hessian`` against autodiff (else differences); computed once."""
    return context.cached("hessian_finding", lambda: _check_hessian(context))


def _check_hessian(context: Context) -> Finding:
    d = context.derivatives
    probe = context.probe
    props = context.props
    kind = props.hessian if props is not None else "exact"
    if kind == "surrogate":
        grid_p, grid_y = context.lines.points(context.lines.grid, context.lines.all_rows())
        h = np.concatenate([d.hessian.ravel(), probe.hessian(grid_p, grid_y).ravel()])
        bad = ~(np.isfinite(h) & (h > 0))
        found = {"points": int(h.size), "min": float(np.min(h)) if h.size else math.nan}
        if np.any(bad):
            return Finding("hessian", "fail", kind, "not positive", found,
                           f"a surrogate Hessian must be finite and > 0; got {h[bad][0]:.6g} "
                           f"at {int(np.sum(bad))} of {h.size} points")
        return Finding("hessian", "pass", kind, "positive", found,
                       f"finite and > 0 at {h.size} points (min {np.min(h):.3g})")
    references = {name: pair[1] for name, pair in d.references.items() if pair[1] is not None}
    tolerances = {name: AUTODIFF_RTOL for name in references}
    if not references:
        multiclass = probe.multiclass
        step = 0.5 * _probes.fd_steps(probe.space, d.points)
        with quiet():
            if context.gradient_ok:
                reference = _probes.central_difference(
                    lambda q: probe.gradient(q, d.targets), d.points, step, multiclass)
                label, tolerance = "finite differences of the gradient", FD_RTOL
            else:
                reference = _probes.second_difference(
                    lambda q: probe.value(q, d.targets), d.points, 10 * step, multiclass)
                label, tolerance = "second differences of the value", SECOND_FD_RTOL
        references, tolerances = {label: reference}, {label: tolerance}
    result, evidence = _compared(d.hessian, references, d.keep_hessian, tolerances)
    return _derivative_verdict("hessian", kind, d.hessian, references, result, evidence, d)



# --------------------------------------------------------------- convexity
def check_convexity(context: Context) -> Finding:
    """Negative curvature on the grids or a Jensen violation, against ``convex``.

    Declared convex and a counterexample found: fail. Declared non-convex and none
    found: fail on a bounded domain the grid covers, info on an unbounded one.
    """
    probe, props = context.probe, context.props
    lines = scan_lines(probe, random_directions=True) if probe.multiclass else context.lines
    grid, rows = lines.grid, lines.all_rows()
    value = line_quantity(probe, lines, "value")(grid, rows)
    coordinate = lines.axis >= 0
    exact = (not probe.multiclass and props is not None and props.hessian == "exact"
             and context.hessian_ok)
    if exact:
        source = "loss.hessian on the grid"
    elif context.gradient_ok:
        source = "monotonicity of loss.gradient on the grid"
    else:
        source = "second differences of the value on the grid"
    violation = _grid_violation(probe, lines, value, exact, context.gradient_ok, coordinate)
    jensen = _jensen(probe)
    declared = None if props is None else bool(props.convex)
    evidence: dict[str, Any] = {"grid": source, "lines": lines.count,
                                "grid_points": int(grid.size), "jensen_tests": jensen["tests"]}
    counterexample = violation or jensen.get("counterexample")
    if counterexample is not None:
        evidence["counterexample"] = counterexample
        text = _convexity_text(counterexample)
        if declared is None:
            return Finding("convexity", "info", None, False, evidence, text)
        if declared:
            return Finding("convexity", "fail", True, False, evidence, "declared convex, but " +
                           text)
        return Finding("convexity", "pass", False, False, evidence, text)
    scanned = _scanned_region(probe, lines)
    evidence["scanned"] = scanned
    if declared is None or declared:
        return Finding("convexity", "pass" if declared else "info", declared, True, evidence,
                       f"no negative curvature on the grid ({scanned}) nor in "
                       f"{jensen['tests']} Jensen tests")
    if probe.space.kind == "bounded":
        return Finding("convexity", "fail", False, True, evidence,
                       f"declared non-convex, but the grid covering the domain ({scanned}) and "
                       f"{jensen['tests']} Jensen tests find no negative curvature")
    return Finding("convexity", "info", False, True, evidence,
                   f"declared non-convex; no counterexample on the grid ({scanned}) nor in "
                   f"{jensen['tests']} Jensen tests (a grid cannot prove convexity on an "
                   "unbounded domain)")


def _scanned_region(probe: Probe, lines: Lines) -> str:
    grid = lines.grid
    return f"y_pred in [{np.min(grid):.3g}, {np.max(grid):.3g}]" if not probe.multiclass else (
        f"{lines.count} lines through {probe.n_classes}-class inputs")


def _grid_violation(probe: Probe, lines: Lines, value: np.ndarray, exact: bool,
                    gradient_ok: bool, coordinate: np.ndarray) -> dict[str, Any] | None:
    """The most negative curvature on the grid, as a Jensen counterexample, or None."""
    grid, rows = lines.grid, lines.all_rows()
    line_scale = np.max(np.where(np.isfinite(value), np.abs(value), 0.0), axis=1,
                        keepdims=True)
    t_left, t_mid, t_right = grid[:, :-2], grid[:, 1:-1], grid[:, 2:]
    f_left, f_mid, f_right = value[:, :-2], value[:, 1:-1], value[:, 2:]
    width = t_right - t_left
    slope = line_quantity(probe, lines, "slope")(grid, rows) if gradient_ok else None
    with quiet():
        if exact:
            curvature = line_quantity(probe, lines, "curvature")(grid, rows)[:, 1:-1]
            measure = curvature * (0.5 * width) ** 2
            change = (np.abs(slope[:, 1:-1]) * width if slope is not None
                      else np.abs(f_right - f_left))
            scale = np.abs(f_mid) + change
        elif slope is not None and np.all(coordinate):
            measure = (slope[:, 2:] - slope[:, :-2]) * width
            scale = np.abs(f_mid) + (np.abs(slope[:, 2:]) + np.abs(slope[:, :-2])) * width
        else:
            left = (f_mid - f_left) / (t_mid - t_left)
            right = (f_right - f_mid) / (t_right - t_mid)
            measure = (right - left) * width
            scale = np.abs(f_left) + np.abs(f_mid) + np.abs(f_right)
        tolerance = 1e-9 * scale + 1e-12 * line_scale
        bad = np.isfinite(measure) & (measure < -tolerance)
    if not np.any(bad):
        return None
    score = np.where(bad, -measure / (tolerance + 1e-300), 0.0)
    line, j = np.unravel_index(int(np.argmax(score)), score.shape)
    a, m, b = float(t_left[line, j]), float(t_mid[line, j]), float(t_right[line, j])
    lam = (b - m) / (b - a)
    point_a, target = line_point(lines, int(line), a)
    point_b, _ = line_point(lines, int(line), b)
    point_m, _ = line_point(lines, int(line), m)
    fa, fm, fb = float(f_left[line, j]), float(f_mid[line, j]), float(f_right[line, j])
    out = {"a": point_a, "b": point_b, "lambda": lam, "y_true": target, "L(a)": fa, "L(b)": fb,
           "L(mix)": fm, "chord": lam * fa + (1 - lam) * fb, "mix": point_m}
    if exact:
        out["hessian"] = float(line_quantity(probe, lines, "curvature")(
            np.asarray([m]), np.asarray([line]))[0])
    return out


def _jensen(probe: Probe) -> dict[str, Any]:
    """Random tests of ``L(lam a + (1-lam) b) <= lam L(a) + (1-lam) L(b)``."""
    size = 4 * probe.p.shape[0]
    rng = probe.rng("jensen")
    tests = 0
    worst: dict[str, Any] | None = None
    worst_score = 0.0
    for spread in (0.5, 1.5, 3.0):
        a, y = probe.random_points(spread, rng, size)
        b, _ = probe.random_points(spread, rng, size)
        lam = rng.uniform(0.05, 0.95, size=size)
        shaped = lam[:, None] if a.ndim > 1 else lam
        mix = shaped * a + (1.0 - shaped) * b
        fa, fb, fm = probe.value(a, y), probe.value(b, y), probe.value(mix, y)
        chord = lam * fa + (1.0 - lam) * fb
        with quiet():
            tolerance = 1e-9 * (np.abs(fa) + np.abs(fb)) + 1e-300
            score = np.where(np.isfinite(fm - chord), (fm - chord) / tolerance, 0.0)
        tests += size
        i = int(np.argmax(score))
        if score[i] > 1.0 and score[i] > worst_score:
            worst_score = float(score[i])
            worst = {"a": a[i], "b": b[i], "lambda": float(lam[i]), "y_true": y[i],
                     "L(a)": float(fa[i]), "L(b)": float(fb[i]), "L(mix)": float(fm[i]),
                     "chord": float(chord[i]), "mix": mix[i]}
    result: dict[str, Any] = {"tests": tests}
    if worst is not None:
        result["counterexample"] = worst
    return result


def _convexity_text(c: dict[str, Any]) -> str:
    text = (f"L(lam a + (1-lam) b) = {c['L(mix)']:.6g} > {c['chord']:.6g} = lam L(a) + "
            f"(1-lam) L(b) at a={numbers(c['a'])}, b={numbers(c['b'])}, lam={c['lambda']:.3g}, "
            f"y_true={numbers(c['y_true'])}")
    if "hessian" in c:
        text = f"L'' = {c['hessian']:.3g} < 0 at y_pred={numbers(c['mix'])}: " + text
    return text



# -------------------------------------------------------------- smoothness
_ORDER_TEXT = {-1: "discontinuous", 0: "C0 (kink)", 1: "C1 (Hessian jumps)",
               3: ">= C2 (no jump up to the Hessian)"}


def check_smoothness(context: Context) -> Finding:
    """The lowest order with a jump (value, gradient, Hessian), against ``smoothness``.

    A jump below the declared order fails; no jump up to the Hessian passes a declared
    order of 2 or more; a declared order below the one found is info (a scan cannot
    show that no kink exists anywhere).
    """
    probe, props = context.probe, context.props
    lines = context.lines
    evidence: dict[str, Any] = {"lines": lines.count, "grid_points": int(lines.grid.size)}
    found, jump, quantity = 3, None, ""
    value_jump = find_jumps(line_quantity(probe, lines, "value"), lines)
    if value_jump.found:
        found, jump, quantity = -1, value_jump, "value"
    else:
        trusted = context.gradient_ok
        slope = line_quantity(probe, lines, "slope", trusted=trusted, step=1e-7)
        slope_jump = find_jumps(slope, lines, min_width=0.0 if trusted else 1e-4)
        evidence["gradient_source"] = "loss.gradient" if trusted else "finite differences"
        if slope_jump.found:
            found, jump, quantity = 0, slope_jump, "gradient"
        elif not context.gradient_ok:
            evidence["hessian_source"] = "not examined (the gradient is wrong)"
        else:
            exact = (props is None or props.hessian in ("exact", "diagonal")) and context.hessian_ok
            curvature = line_quantity(probe, lines, "curvature", trusted=exact, step=1e-7)
            evidence["hessian_source"] = "loss.hessian" if exact else "finite differences"
            curvature_jump = find_jumps(curvature, lines, min_width=0.0 if exact else 1e-4)
            if curvature_jump.found:
                found, jump, quantity = 1, curvature_jump, "Hessian"
    if jump is not None:
        point, target = line_point(lines, jump.line, jump.at)
        evidence["jump"] = {"in": quantity, "size": jump.size, "y_pred": point,
                            "y_true": target}
    declared = None if props is None else float(props.smoothness)
    text = _ORDER_TEXT[found]
    where = ("" if jump is None else f"the {quantity} jumps by {jump.size:.3g} at y_pred="
             f"{numbers(evidence['jump']['y_pred'])}, y_true={numbers(evidence['jump']['y_true'])}")
    if declared is None:
        return Finding("smoothness", "info", None, text, evidence, where or "no jump found")
    shown = f"C{declared:g}" if math.isfinite(declared) else "C-inf"
    if found == 3:
        if declared >= 2:
            return Finding("smoothness", "pass", shown, text, evidence,
                           "no jump in the value, gradient or Hessian along the scans")
        return Finding("smoothness", "info", shown, text, evidence,
                       f"declared {shown}, but no jump found up to the Hessian along the scans")
    if declared > found:
        return Finding("smoothness", "fail", shown, text, evidence, f"declared {shown}, but "
                       + where)
    if declared == found:
        return Finding("smoothness", "pass", shown, text, evidence, where)
    return Finding("smoothness", "info", shown, text, evidence,
                   f"declared {shown}, smoother than that along the scans: {where}")


