"""The checks of :func:`losskit.analysis.check` for structured losses (``pointwise`` False).

Ranking lists, embedding tuples, sequences and policy-gradient surrogates read their own
layout from ``y_pred``, and some couple their samples (NT-Xent). The checks that apply
treat a small batch as one point of ``R^{shape of y_pred}`` and the sum
``sum_i L_i`` as the function, which is what ``gradient`` and ``hessian`` differentiate
for every structured loss:

- ``gradient``/``hessian``: against automatic differentiation of
  ``loss(..., reduction="sum")`` (torch, jax), else 4th-order central differences
  entry by entry; entries where differences at steps h and h/2 disagree (kinks, jumps)
  are left out. A ``"surrogate"`` Hessian must be finite and > 0.
- ``convexity``: Jensen's inequality along random segments, on the sum.
- ``lipschitz``/``bounded_gradient``: per-sample gradient norms (over every axis but the
  first) along random directions out to 1e6.
- ``stability``: finite outputs at scores scaled to moderate and extreme sizes, and at
  all-equal (tied) inputs, in float16, float32 and float64.

- ``smoothness``: ranking lists are independent samples, so the pointwise scans apply
  (one score of a list moved at a time); other structured losses are not scanned.

``robustness``, ``statistic`` and ``convergence`` (and ``smoothness`` outside ranking)
are reported as ``"skip"`` with the reason; ``alignment`` runs for ranking losses with
a ranking metric such as ``"ndcg@10"``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from losskit.analysis import _probes
from losskit.analysis._calculus import Derivatives, _compared, _derivative_verdict
from losskit.analysis._context import CheckContext
from losskit.analysis._probes import Space, input_domain, quiet
from losskit.analysis._report import Finding, numbers
from losskit.core import Loss, Properties

__all__ = ["RUNNERS", "StructuredContext"]

AUTODIFF_RTOL = 1e-8
FD_RTOL = 1e-5
KINK_RTOL = 1e-6
LIPSCHITZ_RTOL = 1e-9
_BATCH = 4  # samples of the derivative probes: every entry is differenced on its own


class StructuredContext(CheckContext):
    """The loss, a few example samples, and results shared between checks."""

    def __init__(self, loss: Loss, n: int, seed: int, engines: list[str], metric: Any) -> None:
        super().__init__(loss, n, seed, engines, metric)
        try:
            self.props: Properties | None = loss.properties
        except NotImplementedError:
            self.props = None
        p, y = loss.example(max(n, _BATCH), seed=seed)
        self.p = np.asarray(p, dtype=np.float64)[:_BATCH]
        self.y = None if y is None else np.asarray(y)[:_BATCH]
        self.space = Space(input_domain(loss))

    def rng(self, purpose: str) -> np.random.Generator:
        import zlib

        return np.random.default_rng([self.seed, zlib.crc32(purpose.encode())])

    # evaluation -------------------------------------------------------------
    def total(self, p: np.ndarray) -> float:
        with quiet():
            return float(np.asarray(self.loss(p, self.y, reduction="sum"), dtype=np.float64))

    def values(self, p: np.ndarray) -> np.ndarray:
        with quiet():
            return _float(self.loss(p, self.y, reduction="none"))

    def gradient(self, p: np.ndarray) -> np.ndarray:
        with quiet():
            return _float(self.loss.gradient(p, self.y))

    def hessian(self, p: np.ndarray) -> np.ndarray:
        with quiet():
            return _float(self.loss.hessian(p, self.y))

    def perturbed(self, spread: float, rng: np.random.Generator) -> np.ndarray:
        """The example moved by Gaussian noise of scale ``spread`` inside the domain."""
        space = self.space
        u = space.to_u(self.p) if space.kind != "real" else self.p
        return space.from_u(u + rng.normal(0.0, spread, size=self.p.shape))

    @property
    def points(self) -> list[np.ndarray]:
        return self.cached("points", lambda: [self.p, self.perturbed(1.0, self.rng("points"))])

    @property
    def gradient_ok(self) -> bool:
        return self.cached("gradient_ok", lambda: check_gradient(self).status != "fail")


def _float(array: Any) -> np.ndarray:
    if hasattr(array, "detach"):
        array = array.detach().cpu().numpy()
    return np.asarray(array, dtype=np.float64)


# -------------------------------------------------------------- derivatives
def _entrywise_difference(func: Callable[[np.ndarray], Any], p: np.ndarray,
                          step: np.ndarray) -> np.ndarray:
    """4th-order central differences of ``func`` along each entry of ``p``.

    ``func`` returns a scalar (then: the gradient) or an array of ``p``'s shape (then:
    the derivative of entry j along entry j, the Hessian diagonal).
    """
    out = np.empty(p.size)
    for j in range(p.size):
        direction = np.zeros(p.size)
        direction[j] = step.reshape(-1)[j]
        shaped = direction.reshape(p.shape)

        def at(t: float, shaped: np.ndarray = shaped, j: int = j) -> float:
            value = np.asarray(func(p + t * shaped), dtype=np.float64)
            return float(value) if value.ndim == 0 else float(value.reshape(-1)[j])

        out[j] = (at(-2.0) - 8.0 * at(-1.0) + 8.0 * at(1.0) - at(2.0)) / (12.0 * direction[j])
    return out.reshape(p.shape)


def _autodiff(engine: str, loss: Loss, shape: tuple[int, ...]
              ) -> Callable[[np.ndarray, Any], tuple[np.ndarray, np.ndarray]]:
    """``(p, y) -> (gradient, Hessian diagonal)`` of ``loss(p, y, reduction="sum")``.

    JAX's function is traced and compiled once and reused for every probe point.
    """
    if engine == "torch":
        import torch

        def by_torch(p: np.ndarray, y: Any) -> tuple[np.ndarray, np.ndarray]:
            pred = torch.tensor(p, dtype=torch.float64, requires_grad=True)
            target = None if y is None else torch.from_numpy(np.ascontiguousarray(y))
            with quiet():
                total = loss(pred, target, reduction="sum")
                (gradient,) = torch.autograd.grad(total, pred, create_graph=True)
                diagonal = np.zeros(p.size)
                if gradient.requires_grad:
                    flat = gradient.reshape(-1)
                    for j in range(p.size):
                        (row,) = torch.autograd.grad(flat[j], pred, retain_graph=True,
                                                     allow_unused=True)
                        if row is not None:
                            diagonal[j] = float(row.reshape(-1)[j])
            return gradient.detach().numpy(force=True), diagonal.reshape(p.shape)

        return by_torch
    import jax
    import jax.numpy as jnp

    def total_of(flat: Any, target: Any) -> Any:
        return loss(jnp.reshape(flat, shape), target, reduction="sum")

    def derivatives(flat: Any, target: Any) -> tuple[Any, Any]:
        return (jax.grad(total_of)(flat, target),
                jnp.diagonal(jax.hessian(total_of)(flat, target)))

    compiled = jax.jit(derivatives)

    def by_jax(p: np.ndarray, y: Any) -> tuple[np.ndarray, np.ndarray]:
        with jax.enable_x64(True), quiet():
            gradient, diagonal = compiled(jnp.asarray(p.reshape(-1), dtype=jnp.float64),
                                          None if y is None else jnp.asarray(y))
            return (np.asarray(gradient, dtype=np.float64).reshape(shape),
                    np.asarray(diagonal, dtype=np.float64).reshape(shape))

    return by_jax


def _derivatives(context: StructuredContext) -> Derivatives:
    return context.cached("derivatives", lambda: _compute_derivatives(context))


def _compute_derivatives(context: StructuredContext) -> Derivatives:
    points = context.points
    gradients, hessians, fd, keep_g, keep_h = [], [], [], [], []
    references: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    unavailable: dict[str, str] = {}
    engines = {engine: _autodiff(engine, context.loss, context.p.shape)
               for engine in context.engines}
    for p in points:
        gradient, hessian = context.gradient(p), context.hessian(p)
        gradients.append(gradient)
        hessians.append(hessian)
        step = _probes.fd_steps(context.space, p)
        with quiet():
            coarse = _entrywise_difference(context.total, p, step)
            fine = _entrywise_difference(context.total, p, 0.5 * step)
            coarse_h = _entrywise_difference(context.gradient, p, step)
            fine_h = _entrywise_difference(context.gradient, p, 0.5 * step)
        noise = 1e-12 * (abs(context.total(p)) + 1.0) / step
        keep_g.append(_agree(coarse, fine, noise))
        keep_h.append(_agree(coarse_h, fine_h, 1e-12 * (np.abs(gradient) + np.max(
            np.abs(gradient))) / step))
        fd.append(fine)
        for engine in context.engines:
            if engine in unavailable:
                continue
            try:
                references.setdefault(engine, []).append(engines[engine](p, context.y))
            except Exception as error:  # a loss written for NumPy only, say
                unavailable[engine] = f"{type(error).__name__}: {error}"
                references.pop(engine, None)
    stacked = {name: (np.stack([pair[0] for pair in pairs]),
                      np.stack([pair[1] for pair in pairs]))
               for name, pairs in references.items()}
    y = context.y
    targets = np.zeros(len(points)) if y is None else np.stack([y] * len(points))
    return Derivatives(np.stack(points), targets, np.stack(gradients), np.stack(hessians),
                       dict(stacked.items()), unavailable, np.stack(fd), np.stack(keep_g),
                       np.stack(keep_h))


def _agree(coarse: np.ndarray, fine: np.ndarray, noise: np.ndarray) -> np.ndarray:
    finite = np.isfinite(coarse) & np.isfinite(fine)
    scale = float(np.max(np.abs(fine[finite]), initial=0.0))
    floor = np.where(np.isfinite(noise), noise, 0.0)
    return finite & (np.abs(coarse - fine) <= KINK_RTOL * (np.abs(fine) + scale) + floor)


def check_gradient(context: StructuredContext) -> Finding:
    return context.cached("gradient_finding", lambda: _check_gradient(context))


def _check_gradient(context: StructuredContext) -> Finding:
    d = _derivatives(context)
    references = {name: pair[0] for name, pair in d.references.items()}
    tolerances = {name: AUTODIFF_RTOL for name in references}
    if not references:
        references = {"finite differences": d.fd_gradient}
        tolerances = {"finite differences": FD_RTOL}
    result, evidence = _compared(d.gradient, references, d.keep_gradient, tolerances,
                                  unavailable=d.unavailable,
                                  of="loss(y_pred, y_true, reduction='sum')")
    return _derivative_verdict("gradient", None, d.gradient, references, result, evidence, d)


def check_hessian(context: StructuredContext) -> Finding:
    return context.cached("hessian_finding", lambda: _check_hessian(context))


def _check_hessian(context: StructuredContext) -> Finding:
    d = _derivatives(context)
    props = context.props
    kind = props.hessian if props is not None else "exact"
    if kind == "surrogate":
        rng = context.rng("surrogate")
        extra = [context.hessian(context.perturbed(spread, rng)) for spread in (0.5, 3.0)]
        h = np.concatenate([d.hessian.ravel(), *(e.ravel() for e in extra)])
        bad = ~(np.isfinite(h) & (h > 0))
        found = {"points": int(h.size), "min": float(np.min(h))}
        if np.any(bad):
            return Finding("hessian", "fail", kind, "not positive", found,
                           f"a surrogate Hessian must be finite and > 0; got {h[bad][0]:.6g} "
                           f"at {int(np.sum(bad))} of {h.size} entries")
        return Finding("hessian", "pass", kind, "positive", found,
                       f"finite and > 0 at {h.size} entries (min {np.min(h):.3g})")
    references = {name: pair[1] for name, pair in d.references.items()
                  if pair[1] is not None}
    tolerances = {name: AUTODIFF_RTOL for name in references}
    if not references:
        label = "finite differences of the gradient"
        with quiet():
            reference = np.stack([_entrywise_difference(
                context.gradient, p, 0.5 * _probes.fd_steps(context.space, p))
                for p in context.points])
        references, tolerances = {label: reference}, {label: FD_RTOL}
    result, evidence = _compared(d.hessian, references, d.keep_hessian, tolerances)
    return _derivative_verdict("hessian", kind, d.hessian, references, result, evidence, d)


# --------------------------------------------------------------- convexity
def check_convexity(context: StructuredContext) -> Finding:
    """Jensen's inequality for ``sum_i L_i`` along random segments of the whole batch."""
    props = context.props
    rng = context.rng("jensen")
    tests, worst, worst_score = 0, None, 1.0
    for spread in (0.5, 1.5, 3.0):
        for _ in range(12):
            a, b = context.perturbed(spread, rng), context.perturbed(spread, rng)
            lam = float(rng.uniform(0.05, 0.95))
            fa, fb = context.total(a), context.total(b)
            fm = context.total(lam * a + (1.0 - lam) * b)
            chord = lam * fa + (1.0 - lam) * fb
            tests += 1
            score = (fm - chord) / (1e-9 * (abs(fa) + abs(fb)) + 1e-300)
            if math.isfinite(score) and score > worst_score:
                worst_score = score
                worst = {"a": a, "b": b, "lambda": lam, "L(a)": fa, "L(b)": fb,
                         "L(mix)": fm, "chord": chord}
    declared = None if props is None else bool(props.convex)
    evidence: dict[str, Any] = {"jensen_tests": tests, "of": "sum_i L_i over a batch"}
    if worst is not None:
        evidence["counterexample"] = worst
        text = (f"L(lam a + (1-lam) b) = {worst['L(mix)']:.6g} > {worst['chord']:.6g} = "
                f"lam L(a) + (1-lam) L(b) at lam={worst['lambda']:.3g} (batch in the evidence)")
        if declared:
            return Finding("convexity", "fail", True, False, evidence,
                           "declared convex, but " + text)
        return Finding("convexity", "pass" if declared is False else "info", declared, False,
                       evidence, text)
    if declared is None or declared:
        return Finding("convexity", "pass" if declared else "info", declared, True, evidence,
                       f"no Jensen violation in {tests} random segments")
    return Finding("convexity", "info", False, True, evidence,
                   f"declared non-convex; no counterexample in {tests} random segments "
                   "(random tests cannot prove convexity)")


# ------------------------------------------------------------- growth, bounds
_SCALES = np.arange(0.0, 6.01, 1.0)


def _scan(context: StructuredContext) -> dict[str, Any]:
    return context.cached("scan", lambda: _gradient_scan(context))


def _gradient_scan(context: StructuredContext) -> dict[str, Any]:
    """Per-sample gradient norms along random directions, at distances 10**k."""
    rng = context.rng("growth")
    p = context.p
    axes = tuple(range(1, p.ndim))
    by_scale = np.full(_SCALES.size, -np.inf)
    nonfinite = np.zeros(_SCALES.size, dtype=bool)
    best, at = -np.inf, None
    if context.space.kind != "real":
        return {"by_scale": by_scale, "nonfinite": nonfinite, "best": best, "at": None,
                "scanned": False}
    directions = [rng.normal(size=p.shape) for _ in range(3)]
    for direction in directions:
        norm = np.sqrt(np.sum(direction**2, axis=axes, keepdims=True))
        unit = direction / norm
        for i, exponent in enumerate(_SCALES):
            point = p + 10.0**exponent * unit
            norms = np.sqrt(np.sum(context.gradient(point) ** 2, axis=axes))
            nonfinite[i] |= bool(np.any(~np.isfinite(norms)))
            finite = norms[~np.isnan(norms)]
            if finite.size:
                by_scale[i] = max(by_scale[i], float(np.max(finite)))
                if float(np.max(finite)) > best and np.all(np.isfinite(finite)):
                    best, at = float(np.max(finite)), point
    for point in context.points:
        norms = np.sqrt(np.sum(context.gradient(point) ** 2, axis=axes))
        if np.all(np.isfinite(norms)) and float(np.max(norms)) > best:
            best, at = float(np.max(norms)), point
    return {"by_scale": by_scale, "nonfinite": nonfinite, "best": best, "at": at,
            "scanned": True}


def _growth(context: StructuredContext) -> tuple[bool, str]:
    scan = _scan(context)
    g4, g5, g6 = scan["by_scale"][4:7]
    overflow = bool(np.any(scan["nonfinite"][1:]))
    with quiet():
        growing = bool(g5 > g4 * (1.0 + 1e-3) and g6 > g5 * (1.0 + 1e-3))
    text = (f"max per-sample |gradient| {g4:.3g}, {g5:.3g}, {g6:.3g} at distances 1e4, 1e5, "
            "1e6" + ("; not finite at large distances" if overflow else ""))
    return overflow or growing, text


def check_lipschitz(context: StructuredContext) -> Finding:
    props = context.props
    scan = _scan(context)
    if not scan["scanned"]:
        return Finding("lipschitz", "skip", None if props is None else props.lipschitz, None,
                       message="y_pred has a bounded domain: no scan to large distances")
    value = scan["best"]
    unbounded, text = _growth(context)
    evidence = {"estimate": value, "source": "max per-sample |loss.gradient| (norm over "
                "every axis but the first) along random directions"}
    declared = None if props is None else props.lipschitz
    if declared is None:
        if unbounded:
            return Finding("lipschitz", "pass" if props is not None else "info", None,
                           "none (gradient unbounded)", evidence, text)
        return Finding("lipschitz", "info", None, value, evidence,
                       f"none declared; the largest per-sample gradient norm found is "
                       f"{value:.6g}")
    if value > declared * (1.0 + LIPSCHITZ_RTOL) + 1e-300:
        return Finding("lipschitz", "fail", declared, value, evidence,
                       f"declared {declared:.6g}, but a per-sample |gradient| = {value:.6g} "
                       f"at y_pred={numbers(scan['at'])}")
    return Finding("lipschitz", "pass", declared, value, evidence,
                   f"largest per-sample gradient norm {value:.6g} <= {declared:.6g}")


def check_bounded_gradient(context: StructuredContext) -> Finding:
    props = context.props
    if not _scan(context)["scanned"]:
        return Finding("bounded_gradient", "skip",
                       None if props is None else props.bounded_gradient, None,
                       message="y_pred has a bounded domain: no scan to large distances")
    unbounded, text = _growth(context)
    found = not unbounded
    declared = None if props is None else bool(props.bounded_gradient)
    if declared is None:
        return Finding("bounded_gradient", "info", None, found, message=text)
    if declared == found:
        return Finding("bounded_gradient", "pass", declared, found, message=text)
    if declared:
        return Finding("bounded_gradient", "fail", True, False,
                       message="declared bounded, but " + text)
    # Random directions outwards miss growth near singular points (a zero-norm
    # embedding under the cosine distance, a probability near 0): not a contradiction.
    return Finding("bounded_gradient", "info", False, True,
                   message=f"declared unbounded; no growth along random directions ({text}); "
                   "the gradient may grow near points these scans do not reach")


# --------------------------------------------------------------- stability
_LEVELS = {"float64": (50.0, 1e4), "float32": (30.0, 1e4), "float16": (8.0, 1e4)}


def check_stability(context: StructuredContext) -> Finding:
    """Finite value, gradient and Hessian at scaled and tied inputs in three precisions."""
    props = context.props
    bounded = props.bounded_gradient if props is not None else not _growth(context)[0]
    p = context.p
    top = float(np.max(np.abs(p))) or 1.0
    failures: list[dict[str, Any]] = []
    infos: list[dict[str, Any]] = []
    tested = 0
    for dtype in (np.float16, np.float32, np.float64):
        name = np.dtype(dtype).name
        moderate, extreme = _LEVELS[name]
        batches = [("moderate", p), ("moderate", np.zeros_like(p) + 0.5)]
        if context.space.kind == "real":
            batches += [("moderate", p * (moderate / top)), ("extreme", p * (extreme / top)),
                        ("extreme", np.zeros_like(p) - extreme)]
        for tier, points in batches:
            tested += 1
            found = _outputs(context, points.astype(dtype))
            reference = None
            for key, result in found.items():
                if isinstance(result, Exception):
                    failures.append({"dtype": name, "tier": tier, "output": key,
                                     "error": f"{type(result).__name__}: {result}"})
                    continue
                if np.all(np.isfinite(result)):
                    continue
                if reference is None:
                    reference = _outputs(context, points.astype(dtype).astype(np.float64))
                exact = reference[key]
                issue = {"dtype": name, "tier": tier, "output": key,
                         "y_pred": points.astype(dtype).astype(np.float64)}
                fits = (not isinstance(exact, Exception) and np.all(np.isfinite(exact))
                        and np.any(np.abs(exact) > float(np.finfo(dtype).max)))
                if fits and dtype is not np.float64:
                    issue["reason"] = f"the float64 result does not fit in {name}"
                    infos.append(issue)
                elif not bounded and tier == "extreme":
                    issue["reason"] = "genuinely large: the gradient is unbounded"
                    infos.append(issue)
                else:
                    failures.append(issue)
    evidence = {"batches": tested, "failures": failures[:5], "genuinely_infinite": infos[:5],
                "bounded_gradient": bounded}
    if failures:
        first = failures[0]
        detail = first.get("error") or f"{first['output']} not finite"
        return Finding("stability", "fail", "finite", "not finite", evidence,
                       f"{len(failures)} non-finite output(s); first: {first['dtype']} "
                       f"{first['tier']} input: {detail}")
    if infos:
        first = infos[0]
        return Finding("stability", "info", "finite", "finite where representable", evidence,
                       f"{len(infos)} output(s) overflow genuinely, e.g. {first['output']} "
                       f"in {first['dtype']} ({first['reason']})")
    return Finding("stability", "pass", "finite", "finite", evidence,
                   f"value, gradient and Hessian finite on {tested} scaled and tied batches "
                   "in float16, float32 and float64")


def _outputs(context: StructuredContext, points: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {}
    loss, y = context.loss, context.y
    for key, method in (("value", lambda: loss(points, y, reduction="none")),
                        ("gradient", lambda: loss.gradient(points, y)),
                        ("hessian", lambda: loss.hessian(points, y))):
        try:
            with quiet():
                out[key] = np.asarray(method(), dtype=np.float64)
        except Exception as error:  # the loss rejected or broke on a valid input
            out[key] = error
    return out


# ----------------------------------------------------------- not applicable
def _skip(name: str, reason: str) -> Callable[[StructuredContext], Finding]:
    def runner(context: StructuredContext) -> Finding:
        props = context.props
        declared: Any = None
        if props is not None:
            declared = {"smoothness": props.smoothness, "robustness": props.robust,
                        "statistic": props.statistic or None,
                        "convergence": bool(props.convex)}.get(name)
        return Finding(name, "skip", declared, None, message=reason)

    return runner


_NO_SCANS = _skip("smoothness", "not applicable: the jump search scans one sample's "
                  "prediction along 1-D lines, evaluating many points per call, and the "
                  "value of this structured loss depends on a whole tuple or batch")


def check_smoothness(context: StructuredContext) -> Finding:
    """Ranking lists are independent samples: the pointwise scans apply, one score at a
    time; other structured losses are not scanned."""
    if not _is_ranking(context.loss):
        return _NO_SCANS(context)
    from losskit.analysis._calculus import check_smoothness as scan
    from losskit.analysis._context import Context

    pointwise = Context(context.loss, context.n, context.seed, context.engines,
                        context.metric)
    # The derivatives were judged on the whole batch already.
    pointwise._cache["gradient_ok"] = context.gradient_ok
    pointwise._cache["hessian_ok"] = check_hessian(context).status != "fail"
    finding = scan(pointwise)
    finding.message += " (scans move one score of a list at a time)"
    return finding


def check_alignment(context: StructuredContext) -> Finding:
    from losskit.analysis.alignment import alignment
    from losskit.analysis.check import _check_alignment_result

    if not _is_ranking(context.loss):
        return Finding("alignment", "skip", message="alignment of structured losses is "
                       "measured for ranking losses (lists of graded relevance) only")
    return _check_alignment_result(alignment(context.loss, context.metric, seed=context.seed))


def _is_ranking(loss: Loss) -> bool:
    from losskit.losses.ranking import _Ranking

    return isinstance(loss, _Ranking)


RUNNERS: dict[str, Callable[[StructuredContext], Finding]] = {
    "gradient": check_gradient,
    "hessian": check_hessian,
    "convexity": check_convexity,
    "smoothness": check_smoothness,
    "lipschitz": check_lipschitz,
    "bounded_gradient": check_bounded_gradient,
    "robustness": _skip("robustness", "not applicable: needs the optimal constant, which "
                        "a structured loss does not define"),
    "statistic": _skip("statistic", "not applicable: needs the optimal constant, which a "
                       "structured loss does not define"),
    "stability": check_stability,
    "convergence": _skip("convergence", "not applicable: a linear model of structured "
                         "inputs is loss-specific (for ranking losses lk.alignment fits a "
                         "linear scorer of item features)"),
    "alignment": check_alignment,
}
