"""Growth and extremes: the Lipschitz, bounded-gradient and numerical-stability checks."""

from __future__ import annotations

from typing import Any

import numpy as np

from losskit.analysis._context import Context, line_targets
from losskit.analysis._probes import Probe, line_quantity, quiet
from losskit.analysis._report import Finding, numbers
from losskit.core import Loss

__all__ = ["check_bounded_gradient", "check_lipschitz", "check_stability", "growth"]

LIPSCHITZ_RTOL = 1e-9


# ----------------------------------------------------- Lipschitz, growth
_EXPONENTS = np.arange(-1.0, 6.01, 0.5)


def _gradient_scan(context: Context) -> dict[str, Any]:
    return context.cached("gradient_scan", lambda: _scan_gradients(context))


def _scan_gradients(context: Context) -> dict[str, Any]:
    """Gradient norms at scales 10**k (errors, logits, distances to an edge)."""
    probe = context.probe
    space = probe.space
    if not probe.multiclass:
        chosen = line_targets(probe)
        ladder = space.edge_ladder(probe.centres()[chosen], _EXPONENTS)  # (L, 2, E)
        targets = np.broadcast_to(probe.y[chosen][:, None, None], ladder.shape)
        points = ladder.reshape(-1)
        target = targets.reshape(-1)
        scale_index = np.broadcast_to(np.arange(_EXPONENTS.size), ladder.shape).reshape(-1)
    else:
        rows = line_targets(probe, count=3)
        k = probe.n_classes
        point_list, target_list, index_list = [], [], []
        for row in rows:
            base = probe.p[row]
            for axis in range(k):
                if space.kind == "real":
                    offsets = np.concatenate([-(10.0 ** _EXPONENTS), 10.0 ** _EXPONENTS])
                    block = np.repeat(base[None, :], offsets.size, axis=0)
                    block[:, axis] += offsets
                else:
                    edge = space.edge_ladder(np.asarray([base[axis]]), _EXPONENTS)[0]
                    block = np.repeat(base[None, :], edge.size, axis=0)
                    block[:, axis] = edge.reshape(-1)
                point_list.append(block)
                target_list.append(np.repeat(probe.y[row][None, ...], block.shape[0], axis=0))
                index_list.append(np.tile(np.arange(_EXPONENTS.size), 2))
        points = np.concatenate(point_list)
        target = np.concatenate(target_list)
        scale_index = np.concatenate(index_list)
    norms = probe.norm(probe.gradient(points, target))
    by_scale = np.full(_EXPONENTS.size, -np.inf)
    nonfinite = np.zeros(_EXPONENTS.size, dtype=bool)
    for i in range(_EXPONENTS.size):
        here = norms[scale_index == i]
        nonfinite[i] = bool(np.any(~np.isfinite(here)))
        numbers = here[~np.isnan(here)]  # an overflow to inf counts as the largest
        by_scale[i] = float(np.max(numbers)) if numbers.size else np.nan
    return {"points": points, "targets": target, "norms": norms, "by_scale": by_scale,
            "nonfinite": nonfinite}


def _lipschitz_estimate(context: Context) -> dict[str, Any]:
    return context.cached("lipschitz", lambda: _estimate_lipschitz(context))


def _estimate_lipschitz(context: Context) -> dict[str, Any]:
    probe = context.probe
    scan = _gradient_scan(context)
    lines = context.lines
    grid_points, grid_targets = lines.points(lines.grid, lines.all_rows())
    d = context.derivatives
    if context.gradient_ok:
        candidates = [(scan["points"], scan["targets"], scan["norms"]),
                      (grid_points, grid_targets, probe.norm(probe.gradient(grid_points,
                                                                            grid_targets))),
                      (d.points, d.targets, probe.norm(d.gradient))]
        source = "max |loss.gradient| over a wide scan"
    else:  # the gradient is wrong: secant slopes of the value along the grid lines
        values = line_quantity(probe, lines, "value")(lines.grid, lines.all_rows())
        with quiet():
            slopes = np.abs(np.diff(values, axis=1)) / np.abs(np.diff(lines.grid, axis=1))
        left_points, left_targets = lines.points(lines.grid[:, :-1],
                                                 lines.all_rows()[:, :-1])
        candidates = [(left_points, left_targets, slopes.reshape(-1))]
        source = "max secant slope of the value along the grid lines"
    best, where = -np.inf, None
    for points, targets, norms in candidates:
        finite = np.isfinite(norms)
        if np.any(finite):
            i = int(np.argmax(np.where(finite, norms, -np.inf)))
            if norms[i] > best:
                best, where = float(norms[i]), (points[i], targets[i])
    return {"estimate": best, "at": where, "source": source}


def check_lipschitz(context: Context) -> Finding:
    """Fail where a gradient norm found exceeds the declared Lipschitz constant."""
    props = context.props
    estimate = _lipschitz_estimate(context)
    value = estimate["estimate"]
    evidence: dict[str, Any] = {"estimate": value, "source": estimate["source"]}
    where = ""
    if estimate["at"] is not None:
        evidence["y_pred"], evidence["y_true"] = estimate["at"]
        where = f" at y_pred={numbers(estimate['at'][0])}, y_true={numbers(estimate['at'][1])}"
    grows = growth(context)
    declared = None if props is None else props.lipschitz
    if declared is None:
        if grows["unbounded"]:
            return Finding("lipschitz", "pass" if props is not None else "info", None,
                           "none (gradient unbounded)", evidence,
                           f"the gradient grows without bound ({grows['text']})")
        return Finding("lipschitz", "info", None, value, evidence,
                       f"none declared; the largest gradient norm found is {value:.6g}{where}")
    if value > declared * (1.0 + LIPSCHITZ_RTOL) + 1e-300:
        return Finding("lipschitz", "fail", declared, value, evidence,
                       f"declared {declared:.6g}, but |gradient| = {value:.6g}{where}")
    return Finding("lipschitz", "pass", declared, value, evidence,
                   f"largest gradient norm {value:.6g}{where} <= {declared:.6g}")


def growth(context: Context) -> dict[str, Any]:
    """Unbounded: the largest gradient grows from scale 1e4 to 1e5 to 1e6, or overflows."""
    scan = _gradient_scan(context)
    by_scale, nonfinite = scan["by_scale"], scan["nonfinite"]
    index = {round(float(e), 1): i for i, e in enumerate(_EXPONENTS)}
    g4, g5, g6 = (by_scale[index[e]] for e in (4.0, 5.0, 6.0))
    overflow = bool(np.any(nonfinite[_EXPONENTS >= 1.0]))
    with quiet():
        growing = bool(g5 > g4 * (1.0 + 1e-3) and g6 > g5 * (1.0 + 1e-3))
    text = (f"max |gradient| {g4:.3g}, {g5:.3g}, {g6:.3g} at scales 1e4, 1e5, 1e6"
            + ("; not finite at large scales" if overflow else ""))
    return {"unbounded": overflow or growing, "text": text,
            "by_scale": {f"1e{e:g}": float(v) for e, v in zip(_EXPONENTS, by_scale,
                                                                strict=True)}}


def check_bounded_gradient(context: Context) -> Finding:
    """The growth found against ``bounded_gradient``."""
    props = context.props
    grows = growth(context)
    found = not grows["unbounded"]
    evidence = {"max_by_scale": grows["by_scale"]}
    declared = None if props is None else bool(props.bounded_gradient)
    if declared is None:
        return Finding("bounded_gradient", "info", None, found, evidence, grows["text"])
    status = "pass" if declared == found else "fail"
    prefix = "" if status == "pass" else (
        f"declared {'bounded' if declared else 'unbounded'}, but ")
    return Finding("bounded_gradient", status, declared, found, evidence,
                   prefix + grows["text"])



# --------------------------------------------------------------- stability
_DTYPES = (np.float16, np.float32, np.float64)


def check_stability(context: Context) -> Finding:
    """Finite value, gradient and Hessian at extreme inputs in three precisions."""
    probe, props = context.probe, context.props
    bounded = props.bounded_gradient if props is not None else not growth(context)["unbounded"]
    failures: list[dict[str, Any]] = []
    infos: list[dict[str, Any]] = []
    tested = 0
    for dtype in _DTYPES:
        for tier, points, targets in _extreme_inputs(probe, dtype):
            cast = points.astype(dtype)
            tested += int(cast.shape[0])
            outputs, reference = _outputs(probe.loss, cast, targets), None
            for name, result in outputs.items():
                if isinstance(result, Exception):
                    failures.append({"dtype": np.dtype(dtype).name, "tier": tier,
                                     "output": name, "error": f"{type(result).__name__}: "
                                     f"{result}"})
                    continue
                bad = ~np.isfinite(result)
                if bad.ndim > 1:
                    bad = np.any(bad, axis=tuple(range(1, bad.ndim)))
                if not np.any(bad):
                    continue
                i = int(np.flatnonzero(bad)[0])
                issue = {"dtype": np.dtype(dtype).name, "tier": tier, "output": name,
                         "y_pred": cast[i].astype(np.float64), "y_true": targets[i],
                         "got": np.asarray(result[i], dtype=np.float64),
                         "count": int(np.sum(bad))}
                if reference is None:
                    reference = (outputs if dtype is np.float64 else
                                 _outputs(probe.loss, cast.astype(np.float64), targets))
                exact = reference.get(name)
                reason = _genuine(exact, i, dtype, bounded, tier)
                if reason:
                    issue["reason"] = reason
                    infos.append(issue)
                else:
                    failures.append(issue)
    evidence = {"inputs": tested, "failures": failures[:5], "genuinely_infinite": infos[:5],
                "bounded_gradient": bounded}
    if failures:
        first = failures[0]
        detail = first.get("error") or (
            f"{first['output']} = {numbers(first['got'])} at y_pred="
            f"{numbers(first['y_pred'])}, y_true={numbers(first['y_true'])}")
        return Finding("stability", "fail", "finite", "not finite", evidence,
                       f"{len(failures)} non-finite output(s); first: {first['dtype']} "
                       f"{first['tier']} input: {detail}")
    if infos:
        first = infos[0]
        return Finding("stability", "info", "finite", "finite where representable", evidence,
                       f"{len(infos)} output(s) overflow genuinely, e.g. {first['output']} = "
                       f"{numbers(first['got'])} at {first['dtype']} y_pred="
                       f"{numbers(first['y_pred'])} ({first['reason']})")
    return Finding("stability", "pass", "finite", "finite", evidence,
                   f"value, gradient and Hessian finite at {tested} extreme inputs in float16, "
                   "float32 and float64")


def _genuine(exact: Any, i: int, dtype: Any, bounded: bool, tier: str) -> str:
    """Why a non-finite output is genuine (no numerical fault), or "" where it is a fault.

    A result whose float64 value is finite but beyond ``dtype``'s range cannot be
    represented; a loss with an unbounded gradient may be genuinely infinite at the
    extreme inputs (``exp(1e4)``). Anything else -- a NaN, an overflow at moderate
    inputs, any non-finite output of a bounded-gradient loss in float64 -- is a fault.
    """
    if isinstance(exact, Exception) or exact is None:
        return ""
    row = np.asarray(exact[i], dtype=np.float64)
    top = float(np.finfo(dtype).max)
    if dtype is not np.float64 and np.all(np.isfinite(row)) and np.any(np.abs(row) > top):
        return f"the float64 result {numbers(row)} does not fit in {np.dtype(dtype).name}"
    if not bounded and tier == "extreme":
        return "genuinely large: the gradient is unbounded"
    return ""


def _outputs(loss: Loss, points: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, method in (("value", loss.elementwise), ("gradient", loss.gradient),
                         ("hessian", loss.hessian)):
        try:
            with quiet():
                out[name] = np.asarray(method(points, targets))
        except Exception as error:  # the loss rejected or broke on a valid input
            out[name] = error
    return out


def _extreme_inputs(probe: Probe, dtype: Any) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(tier, y_pred, y_true)`` batches at the edges of the input space for ``dtype``.

    ``"moderate"`` inputs (logits ±50, errors ±1e6 in float64; less in lower precision)
    must give finite outputs for every loss; ``"extreme"`` ones (logits ±1e4, errors
    ±1e300) only for losses with a bounded gradient.
    """
    loss, space = probe.loss, probe.space
    y = probe.y[: min(8, probe.y.shape[0])]
    name = np.dtype(dtype).name
    info = np.finfo(dtype)
    raw_log = loss.link.name == "log"
    moderate_raw = {"float64": 50.0, "float32": 30.0, "float16": 8.0}[name]
    if raw_log:
        moderate_raw = {"float64": 30.0, "float32": 20.0, "float16": 4.0}[name]
    batches: list[tuple[str, list[float]]] = []
    if space.kind == "real":
        if probe.regression and loss.link.name == "identity":
            errors = {"moderate": {"float64": 1e6, "float32": 1e4, "float16": 1e2}[name],
                      "extreme": {"float64": 1e300, "float32": 1e30, "float16": 3e4}[name]}
            out = []
            for tier, error in errors.items():
                points = np.concatenate([y + error, y - error, np.full(y.shape, error),
                                         np.full(y.shape, -error)])
                out.append((tier, points, np.concatenate([y] * 4)))
            return out
        batches = [("moderate", [moderate_raw, -moderate_raw, 0.0]), ("extreme", [1e4, -1e4])]
    elif space.kind == "bounded":
        low, high, span = space.low, space.high, space.span
        values = [low, low + span * float(info.tiny), high - span * float(info.eps), high]
        batches = [("moderate", [v for v in values if bool(space.inside(np.asarray(v)))])]
    else:
        distances = {"float64": (1e-10, 1e10), "float32": (1e-5, 1e5),
                     "float16": (1e-2, 1e2)}[name]
        edge = space.low if space.kind == "lower" else space.high
        sign = 1.0 if space.kind == "lower" else -1.0
        batches = [("moderate", [edge + sign * d for d in distances])]
    out = []
    for tier, values in batches:
        if not values:
            continue
        if not probe.multiclass:
            points = np.concatenate([np.full(y.shape, v) for v in values])
            out.append((tier, points, np.concatenate([y] * len(values))))
            continue
        k = probe.n_classes
        eye = np.eye(k)
        if probe.simplex:
            tiny, eps = float(info.tiny), float(info.eps)
            patterns = [eye, eye * (1.0 - eps) + (1.0 - eye) * (eps / (k - 1)),
                        eye + (1.0 - eye) * tiny, np.full((1, k), 1.0 / k)]
        else:
            patterns = [eye * v - (1.0 - eye) * v for v in values if v != 0.0]
            patterns += [np.full((1, k), v) for v in values]
        stacked = np.concatenate(patterns)
        points = np.repeat(stacked, y.shape[0], axis=0)
        targets = np.concatenate([y] * stacked.shape[0])
        out.append((tier, points, targets))
    return out


