r"""Driving the Frisch-Newton method: directly, or after Portnoy-Koenker preprocessing.

For large ``n`` most observations are far from the fitted quantile plane, and their
dual variable sits at a bound (``x_i = 0`` below the plane, ``x_i = u_i`` above).
Portnoy & Koenker (1997, section 4; quantreg's ``rq.fit.pfn``) fit a subsample of
``m ~ ((p + 1) n)^{2/3}`` rows, put a band of about ``0.8 m`` observations around that
fit, fix every observation outside the band at its bound, and solve the reduced
problem (here: the bounds of the fixed ones move into the right-hand side ``b``, with
no "glob" rows and no large constants). The guess is then checked on all rows: any
fixed observation on the wrong side of the plane is freed and the reduced problem
solved again. The exact vertex and its dual certificate are always built on the full
data, so the preprocessing can cost time but never accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

from losskit.linear_model._lp_frisch_newton import Certificate, Design, FrischNewton, vertex

__all__ = ["Outcome", "solve"]

#: Relative gap at which the interior-point phase hands over to the vertex.
HANDOVER = 1e-8
#: Relative gap the interior-point phase is pushed to when no vertex certifies.
DEEP = 1e-12
#: Preprocess only when the subsample is at most this fraction of the rows.
_PREPROCESS_BELOW = 0.35
#: ... and only from this many rows (below, one direct solve takes milliseconds).
_PREPROCESS_FROM = 10_000
_FIXUPS = 3
#: Relative gap of the subsample fit: it only places the band.
_ROUGH = 1e-5
#: The subsample is SUBSAMPLE_FACTOR ((p + 1) n)^(2/3) rows (quantreg: factor 1; 0.5
#: was faster at n = 1e5 and 1e6, d = 50, on the 2-core development machine).
SUBSAMPLE_FACTOR = 0.5


@dataclass
class Outcome:
    certificate: Certificate
    iterations: int = 0
    history: list[float] = field(default_factory=list)
    regularised: bool = False
    notes: list[str] = field(default_factory=list)


def solve(design: Design, y: np.ndarray, u: np.ndarray, tau: float, ridge: np.ndarray,
          max_iter: int, preprocess: bool | None = None, seed: int = 0) -> Outcome:
    """The best certified solution: preprocessing when it pays (``None``: decide)."""
    n, p = design.n, design.p
    subsample = round(SUBSAMPLE_FACTOR * ((p + 1) * n) ** (2.0 / 3.0))
    linear = not np.any(ridge > 0)
    if preprocess is None:
        preprocess = linear and n >= _PREPROCESS_FROM and subsample <= _PREPROCESS_BELOW * n
    if preprocess and linear:
        outcome = _preprocessed(design, y, u, tau, ridge, max_iter, subsample, seed)
        if outcome is not None:
            return outcome
    return _direct(design, y, u, tau, ridge, max_iter)


def _direct(design: Design, y: np.ndarray, u: np.ndarray, tau: float, ridge: np.ndarray,
            max_iter: int) -> Outcome:
    solver = FrischNewton(design, y, u, tau, ridge)
    quadratic = bool(np.any(ridge > 0))
    # A quadratic programme has no vertex to move to: the iteration itself must finish.
    solver.run(DEEP if quadratic else HANDOVER, max_iter)
    best = solver.certificate()
    if not quadratic:
        found = vertex(design, y, u, tau, best.beta, solver.x)
        if found is None or not found.vertex:
            solver.run(DEEP, max_iter)
            best = solver.certificate()
            found = vertex(design, y, u, tau, best.beta, solver.x)
        if found is not None and (found.vertex or found.primal <= best.primal):
            best = found
    return Outcome(best, solver.iterations, solver.history, solver.regularised)


def _band(design: Design, rows: np.ndarray) -> np.ndarray:
    """``|| x_i R^{-1} ||`` with ``R' R = X_s' X_s``: the scale of each fitted value."""
    gram = design.X[rows].T @ design.X[rows]
    gram[np.diag_indices_from(gram)] += 1e-10 * np.trace(gram) / gram.shape[0] + 1e-300
    upper = scipy.linalg.cholesky(gram, lower=False, check_finite=False)
    band = np.empty(design.n)
    block = 65536
    for start in range(0, design.n, block):
        stop = min(start + block, design.n)
        # Solve R' v_i = x_i for each row: v = X R^{-1}, then the row norms.
        v = scipy.linalg.solve_triangular(upper, design.X[start:stop].T, trans=1, lower=False,
                                          check_finite=False)
        band[start:stop] = np.sqrt(np.einsum("ij,ij->j", v, v))
    return np.maximum(band, np.finfo(float).tiny)


def _preprocessed(design: Design, y: np.ndarray, u: np.ndarray, tau: float, ridge: np.ndarray,
                  max_iter: int, subsample: int, seed: int) -> Outcome | None:
    n = design.n
    pseudo = np.arange(n, design.m)  # the L1 rows stay in every reduced problem
    rng = np.random.default_rng(seed)
    iterations, history, regularised, notes = 0, [], False, []
    b_full = (1.0 - tau) * design.rmatvec(u)
    while subsample <= _PREPROCESS_BELOW * n:
        rows = np.sort(rng.choice(n, size=subsample, replace=False))
        # The subsample stands for all n rows: its weights scale up, against the penalty.
        u_sub = np.concatenate([u[rows] * (n / subsample), u[pseudo]])
        sub = Design(design.X[rows], design.index, design.sign)
        solver = FrischNewton(sub, np.concatenate([y[rows], y[pseudo]]), u_sub, tau, ridge)
        solver.run(_ROUGH, max_iter)  # only a guess of the plane is needed here
        iterations += solver.iterations
        regularised |= solver.regularised
        beta = solver.beta()
        band = _band(design, rows)
        ratio = (y[:n] - design.X @ beta) / band
        half_width = 0.8 * subsample / (2 * n)
        low, high = np.quantile(ratio, [max(tau - half_width, 0.0), min(tau + half_width, 1.0)])
        below = ratio < low
        above = ratio > high
        for _ in range(_FIXUPS + 1):
            keep = np.flatnonzero(~below & ~above)
            reduced = Design(design.X[keep], design.index, design.sign)
            b = b_full - np.where(above, u[:n], 0.0) @ design.X
            u_keep = np.concatenate([u[keep], u[pseudo]])
            y_keep = np.concatenate([y[keep], y[pseudo]])
            # The guess can be wrong enough to leave the reduced problem unbounded (the
            # fixed observations' linear terms win along some direction the kept ones
            # do not span, as with a few distinct rows and many ties): the iteration
            # then diverges, and the full problem is solved instead.
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                try:
                    solver = FrischNewton(reduced, y_keep, u_keep, tau, ridge, b=b)
                    reached = solver.run(HANDOVER, max_iter)
                except (FloatingPointError, np.linalg.LinAlgError):
                    return None
            iterations += solver.iterations
            history += solver.history
            regularised |= solver.regularised
            if not reached:
                return None
            beta = solver.beta()
            r = y[:n] - design.X @ beta
            wrong = (below & (r > 0)) | (above & (r < 0))
            count = int(np.count_nonzero(wrong))
            if count == 0:
                x = np.where(above, u[:n], 0.0)
                x[keep] = solver.x[: keep.shape[0]]
                x = np.concatenate([x, solver.x[keep.shape[0]:]])
                found = vertex(design, y, u, tau, beta, x)
                if found is not None and found.vertex:
                    notes.append(f"preprocessed: {keep.shape[0]} of {n} rows in the "
                                 f"reduced problem (subsample {subsample})")
                    return Outcome(found, iterations, history, regularised, notes)
                return None  # no certified vertex: solve the full problem instead
            if count > 0.1 * 0.8 * subsample:
                break
            below &= ~wrong
            above &= ~wrong
        subsample *= 2
    return None
