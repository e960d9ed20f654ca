r"""The bounded-dual linear (or quadratic) programme of weighted quantile regression.

Every piecewise-linear fit in losskit is reduced to one problem over a design ``A``
(``m x p``), targets ``y``, upper bounds ``u > 0``, a level ``tau`` in ``[0, 1]`` and a
diagonal ridge ``L >= 0``:

.. math:: \min_\beta F(\beta) = \sum_i u_i \rho_\tau(y_i - a_i^\top\beta)
          + \tfrac12 \beta^\top L \beta,

with the pinball ``rho_tau(r) = r (tau - 1[r < 0])``. Writing ``rho_tau(r) =
max_{psi in [tau-1, tau]} psi r`` gives its dual over ``d = u psi``:

.. math:: \max_d\; y^\top d - \tfrac12 g^\top L^{+} g,\quad g = A^\top d,\quad
          g_j = 0 \text{ where } L_j = 0,\quad (\tau - 1) u \le d \le \tau u,

and weak duality ``F(beta) >= y'd - g'L^+g/2`` for every such ``d``: the gap of a pair
is an optimality certificate. With ``x = d + (1 - tau) u`` in the box ``[0, u]`` the
dual is the bounded LP of Koenker's ``rq.fit.fnb``,

.. math:: \min_x c^\top x \;\text{s.t.}\; A^\top x + L\eta = b,\; 0 \le x \le u,
          \quad c = -y,\; b = (1 - \tau) A^\top u,\; \beta = -\eta,

solved by the primal-dual (Frisch-Newton) interior-point method with Mehrotra's
predictor-corrector (Portnoy & Koenker 1997, "The Gaussian hare and the Laplacian
tortoise", Statistical Science 12(4), 279-300, https://doi.org/10.1214/ss/1030037960).
Each iteration factors the ``p x p`` matrix ``A' D A + L`` once; memory stays
``O(m p)``, with no ``m x m`` matrix. The L1 penalty enters as pseudo-observations
``+-e_j`` (rows of ``A`` that are never stored) with bound ``lambda_j``:
``rho(-beta_j) + rho(beta_j) = |beta_j|`` at any ``tau``.

After the interior-point method, :func:`vertex` moves to the exact solution of the LP
(``L = 0``): ``p`` observations interpolated, ``beta`` from a ``p x p`` solve, and a
dual ``d`` built from the residual signs that proves it optimal (or does not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
from scipy.linalg.blas import dsyrk

__all__ = ["Certificate", "Design", "FrischNewton", "objective", "vertex"]

#: Fraction of the distance to the boundary a step goes (rq.fit.fnb's ``beta``).
_STEP = 0.99995
#: Rows per block when the normal matrix is accumulated (a few MB of scratch).
_BLOCK = 4096


@dataclass
class Design:
    """``A``: the dense data rows, then pseudo-rows ``sign_k e_{index_k}`` not stored."""

    X: np.ndarray  # (n, p), float64
    index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    sign: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def p(self) -> int:
        return self.X.shape[1]

    @property
    def m(self) -> int:
        return self.X.shape[0] + self.index.shape[0]

    def matvec(self, v: np.ndarray) -> np.ndarray:
        """``A v``, shape ``(m,)``."""
        out = np.empty(self.m)
        np.matmul(self.X, v, out=out[: self.n])
        out[self.n:] = self.sign * v[self.index]
        return out

    def rmatvec(self, r: np.ndarray) -> np.ndarray:
        """``A' r``, shape ``(p,)``."""
        g = r[: self.n] @ self.X
        np.add.at(g, self.index, self.sign * r[self.n:])
        return g

    def abs_matvec(self, v: np.ndarray) -> np.ndarray:
        """``|A| |v|``: the scale of each fitted value, for rounding thresholds."""
        out = np.empty(self.m)
        magnitude = np.abs(v)
        for start in range(0, self.n, _BLOCK):
            stop = min(start + _BLOCK, self.n)
            np.matmul(np.abs(self.X[start:stop]), magnitude, out=out[start:stop])
        out[self.n:] = magnitude[self.index]
        return out

    def abs_rmatvec(self, r: np.ndarray) -> np.ndarray:
        """``|A|' |r|``: the scale of each entry of ``A'r``."""
        g = np.zeros(self.p)
        magnitude = np.abs(r)
        for start in range(0, self.n, _BLOCK):
            stop = min(start + _BLOCK, self.n)
            g += magnitude[start:stop] @ np.abs(self.X[start:stop])
        np.add.at(g, self.index, magnitude[self.n:])
        return g

    def gram(self, d: np.ndarray, v: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray | None]:
        """``A' diag(d) A`` (upper triangle), and ``A' (d v)`` in the same pass over ``A``.

        Blockwise with BLAS ``syrk``: each block of rows is scaled by ``sqrt(d)`` once
        and used for both products while it is in cache.
        """
        p, n = self.p, self.n
        gram = np.zeros((p, p), order="F")
        root = np.sqrt(d[:n])
        product = None if v is None else np.zeros(p)
        scaled_v = None if v is None else root * v[:n]
        scratch = np.empty((min(_BLOCK, n), p))
        for start in range(0, n, _BLOCK):
            stop = min(start + _BLOCK, n)
            block = scratch[: stop - start]
            np.multiply(self.X[start:stop], root[start:stop, None], out=block)
            # block.T is Fortran-ordered p x k: syrk gives block' block without a copy.
            gram = dsyrk(1.0, block.T, beta=1.0, c=gram, trans=0, lower=0, overwrite_c=1)
            if product is not None and scaled_v is not None:
                product += scaled_v[start:stop] @ block
        diagonal = np.zeros(p)
        np.add.at(diagonal, self.index, d[n:])
        gram[np.diag_indices(p)] += diagonal
        if product is not None and v is not None:
            np.add.at(product, self.index, self.sign * d[n:] * v[n:])
        return gram, product

    def rows(self, which: np.ndarray) -> np.ndarray:
        """The rows ``which`` of ``A`` as a dense ``(len(which), p)`` array."""
        out = np.zeros((which.shape[0], self.p))
        data = which < self.n
        out[data] = self.X[which[data]]
        pseudo = np.flatnonzero(~data)
        k = which[pseudo] - self.n
        out[pseudo, self.index[k]] = self.sign[k]
        return out


def objective(design: Design, y: np.ndarray, u: np.ndarray, tau: float, ridge: np.ndarray,
              beta: np.ndarray) -> float:
    """``F(beta)``: the weighted pinball loss plus the ridge term."""
    r = y - design.matvec(beta)
    return float(u @ (r * (tau - (r < 0))) + 0.5 * (ridge * beta) @ beta)


def dual_value(design: Design, y: np.ndarray, ridge: np.ndarray,
               d: np.ndarray) -> tuple[float, float]:
    """``(y'd - g'L^+g / 2, max |g_j| over unpenalised j)`` for ``g = A'd``."""
    g = design.rmatvec(d)
    ridged = ridge > 0
    value = float(y @ d - 0.5 * np.sum(g[ridged] ** 2 / ridge[ridged]))
    infeasibility = float(np.max(np.abs(g[~ridged]), initial=0.0))
    return value, infeasibility


@dataclass
class Certificate:
    """A primal point, a dual point, and how far each is from proving optimality."""

    beta: np.ndarray
    primal: float  # F(beta)
    dual: float  # the dual objective at d (a lower bound on min F when d is feasible)
    dual_infeasibility: float  # max |(A'd)_j| over unpenalised j (0 when feasible)
    box_violation: float  # max distance of d/u outside [tau - 1, tau]
    vertex: bool  # beta interpolates p observations and d proves it optimal

    @property
    def gap(self) -> float:
        return self.primal - self.dual


def _factor(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Cholesky factor of the equilibrated matrix: ``(upper, scale, regularised)``.

    Near the solution ``D`` spans many orders of magnitude and the normal matrix can
    lose definiteness in floating point; a growing diagonal shift is then added (the
    direction stays a descent direction, only less exact; the certificate judges).
    """
    scale = np.sqrt(np.maximum(np.diag(matrix), np.finfo(float).tiny))
    scaled = matrix / scale[:, None] / scale[None, :]
    identity = np.eye(len(scale))
    for i, shift in enumerate((0.0, 1e-13, 1e-11, 1e-9, 1e-7, 1e-5, 1e-3)):
        try:
            upper = scipy.linalg.cholesky(scaled + shift * identity, lower=False,
                                          check_finite=False)
        except np.linalg.LinAlgError:
            continue
        return upper, scale, i > 0
    raise np.linalg.LinAlgError("the normal matrix of the interior-point method is not "
                                "positive definite even with a diagonal shift")


def _apply(factor: tuple[np.ndarray, np.ndarray], rhs: np.ndarray,
           matrix: np.ndarray | None = None) -> np.ndarray:
    """Solve with the factor; with ``matrix`` (a shifted factor), refine the solution."""
    upper, scale = factor
    solution = scipy.linalg.cho_solve((upper, False), rhs / scale, check_finite=False) / scale
    if matrix is not None:
        # Iterative refinement against the unshifted matrix: the shift's bias shrinks
        # by (shift / eigenvalue) per step in every well-determined direction.
        for _ in range(3):
            residual = rhs - matrix @ solution
            solution = solution + scipy.linalg.cho_solve(
                (upper, False), residual / scale, check_finite=False) / scale
    return solution


def _step_to_boundary(values: tuple[np.ndarray, ...], steps: tuple[np.ndarray, ...]) -> float:
    """Largest ``a <= 1`` keeping every ``values + a steps`` nonnegative (``values > 0``)."""
    # One pass per pair: a <= value / -step for each falling step is 1 / max(-step / value).
    steepest = max(float(np.max(-step / value)) for value, step in zip(values, steps,
                                                                       strict=True))
    return 1.0 if steepest <= 1.0 else 1.0 / steepest


class FrischNewton:
    """The primal-dual interior-point method on the bounded dual; resumable.

    ``run(target, max_iter)`` iterates until the complementarity gap ``x'z + s'w`` is
    at most ``target (1 + |F|)`` with both residuals negligible, until ``max_iter``
    iterations in all, or until it stalls. ``x`` stays strictly inside ``(0, u)``.
    ``b`` overrides the right-hand side ``(1 - tau) A'u`` (a reduced problem whose
    other observations are fixed at a bound); the start is then infeasible, which the
    iteration corrects.
    """

    def __init__(self, design: Design, y: np.ndarray, u: np.ndarray, tau: float,
                 ridge: np.ndarray, b: np.ndarray | None = None) -> None:
        self.design, self.y, self.u, self.tau, self.ridge = design, y, u, tau, ridge
        self.c = -y
        self.b = (1.0 - tau) * design.rmatvec(u) if b is None else b
        self.iterations = 0
        self.regularised = False
        self.stalled = False
        self.history: list[float] = []
        # Scales of A'x and of c, for relative residuals.
        self.primal_scale = 1.0 + float(np.max(design.abs_rmatvec(u), initial=0.0))
        self.dual_scale = 1.0 + float(np.max(np.abs(y), initial=0.0))
        self._start()

    def _start(self) -> None:
        design, u, tau = self.design, self.u, self.tau
        # x = (1 - tau) u is feasible and interior for 0 < tau < 1; else start infeasible.
        fraction = 1.0 - tau if 0.0 < tau < 1.0 else 0.5
        self.x = fraction * u
        self.s = u - self.x
        # eta from least squares (as rq.fit.fnb), then z - w = c - A eta, both positive.
        ones = np.ones(design.m)
        gram, product = design.gram(ones, self.c)
        assert product is not None
        upper, scale, self.regularised = _factor(gram + np.diag(self.ridge))
        self.eta = _apply((upper, scale), product)
        self._refresh()
        residual = self.c - self.A_eta
        shift = max(1e-2 * float(np.mean(np.abs(residual))), 1e-8 * self.dual_scale)
        self.z = np.maximum(residual, 0.0) + shift
        self.w = np.maximum(-residual, 0.0) + shift

    def _refresh(self) -> None:
        """Recompute ``A eta`` and ``A'x`` (otherwise updated along the steps)."""
        self.A_eta = self.design.matvec(self.eta)
        self.At_x = self.design.rmatvec(self.x)

    # ------------------------------------------------------------------ state
    def beta(self) -> np.ndarray:
        return -self.eta

    def dual_point(self) -> np.ndarray:
        """The dual ``d = x - (1 - tau) u`` of the current iterate (inside its box)."""
        return self.x - (1.0 - self.tau) * self.u

    def _objective(self) -> float:
        r = self.y + self.A_eta  # y - A beta
        return float(self.u @ (r * (self.tau - (r < 0))) + 0.5 * (self.ridge * self.eta)
                     @ self.eta)

    def certificate(self) -> Certificate:
        d = self.dual_point()
        dual, infeasibility = dual_value(self.design, self.y, self.ridge, d)
        primal = objective(self.design, self.y, self.u, self.tau, self.ridge, self.beta())
        return Certificate(self.beta(), primal, dual, infeasibility, 0.0, vertex=False)

    # ------------------------------------------------------------- iterations
    def _measure(self) -> tuple[np.ndarray, np.ndarray, float, float, bool]:
        rp = self.b - self.At_x - self.ridge * self.eta
        rd = self.c - self.A_eta - self.z + self.w
        gap = float(self.x @ self.z + self.s @ self.w)
        primal = self._objective()
        feasible = bool(np.max(np.abs(rp), initial=0.0) <= 1e-10 * self.primal_scale
                        and np.max(np.abs(rd), initial=0.0) <= 1e-10 * self.dual_scale)
        return rp, rd, gap, primal, feasible

    def _steps(self, dx: np.ndarray, dz: np.ndarray, dw: np.ndarray) -> tuple[float, float]:
        primal = _step_to_boundary((self.x, self.s), (dx, -dx))
        dual = _step_to_boundary((self.z, self.w), (dz, dw))
        if np.any(self.ridge > 0):  # the ridge couples eta into the primal equations
            primal = dual = min(primal, dual)
        return primal, dual

    def run(self, target: float, max_iter: int) -> bool:
        """Iterate to a relative gap ``target``; True when reached."""
        design, m = self.design, self.design.m
        stall = 0
        while True:
            rp, rd, gap, primal, feasible = self._measure()
            relative = gap / (1.0 + abs(primal))
            if relative <= target and feasible:
                self._refresh()  # judge on fresh products, not on the running updates
                rp, rd, gap, primal, feasible = self._measure()
                relative = gap / (1.0 + abs(primal))
            self.history.append(relative)
            if relative <= target and feasible:
                return True
            if self.iterations >= max_iter or stall >= 3:
                self.stalled = stall >= 3
                return False
            x, s, z, w = self.x, self.s, self.z, self.w
            mu = gap / (2 * m)
            scaling = 1.0 / (z / x + w / s)
            # Predictor (affine scaling): r_xz = -xz, r_sw = -sw, so the reduced
            # residual rd - r_xz/x + r_sw/s is rd + z - w.
            reduced = rd + z - w
            gram, product = design.gram(scaling, reduced)
            assert product is not None
            matrix = gram + np.diag(self.ridge)
            upper, scale, regularised = _factor(matrix)
            self.regularised |= regularised
            factor = (upper, scale)
            full = np.triu(matrix) + np.triu(matrix, 1).T if regularised else None
            d_eta = _apply(factor, rp + product, full)
            A_d_eta = design.matvec(d_eta)
            dx = scaling * (A_d_eta - reduced)
            dz = -z - z * dx / x
            dw = -w + w * dx / s
            step_p, step_d = self._steps(dx, dz, dw)
            mu_affine = float((x + step_p * dx) @ (z + step_d * dz)
                              + (s - step_p * dx) @ (w + step_d * dw)) / (2 * m)
            sigma = (mu_affine / mu) ** 3 if mu > 0 else 0.0
            # Corrector: centring plus Mehrotra's second-order term.
            r_xz = sigma * mu - x * z - dx * dz
            r_sw = sigma * mu - s * w + dx * dw
            reduced = rd - r_xz / x + r_sw / s
            scaled_reduced = scaling * reduced
            rhs = rp + design.rmatvec(scaled_reduced)
            d_eta = _apply(factor, rhs, full)
            A_d_eta = design.matvec(d_eta)
            dx = scaling * A_d_eta - scaled_reduced
            dz = (r_xz - z * dx) / x
            dw = (r_sw + w * dx) / s
            step_p, step_d = self._steps(dx, dz, dw)
            step_p, step_d = min(1.0, _STEP * step_p), min(1.0, _STEP * step_d)
            # The Newton equation A'dx + L d_eta = rp gives A'dx without a pass over A
            # (up to the solve's error; A'x is recomputed every few iterations).
            At_dx = rp - self.ridge * d_eta
            self.x = x + step_p * dx
            self.s = s - step_p * dx
            self.At_x = self.At_x + step_p * At_dx
            self.eta = self.eta + step_d * d_eta
            self.A_eta = self.A_eta + step_d * A_d_eta
            self.z = z + step_d * dz
            self.w = w + step_d * dw
            self.iterations += 1
            if self.iterations % 8 == 0:
                self._refresh()
            new_gap = float(self.x @ self.z + self.s @ self.w) / (1.0 + abs(primal))
            # Stalled: the gap no longer falls (at the rounding floor, once feasible), or
            # the steps vanish.
            no_progress = new_gap > 0.9 * relative and (feasible or max(step_p, step_d) < 1e-3)
            stall = stall + 1 if no_progress else 0
            if not (np.all(np.isfinite(self.eta)) and math.isfinite(new_gap)):
                raise FloatingPointError("the interior-point iteration produced non-finite "
                                         "values; the data may be badly scaled")


# ------------------------------------------------------------------- the vertex
def _independent_rows(rows: np.ndarray, p: int) -> np.ndarray:
    """Positions of the first ``p`` linearly independent rows, in order (Gram-Schmidt)."""
    basis = np.zeros((p, rows.shape[1]))
    chosen: list[int] = []
    for i, row in enumerate(rows):
        norm = float(np.linalg.norm(row))
        if norm == 0.0:
            continue
        v = row / norm
        k = len(chosen)
        for _ in range(2):  # twice is enough (Kahan-Parlett)
            v = v - basis[:k].T @ (basis[:k] @ v)
        remaining = float(np.linalg.norm(v))
        if remaining > 1e-12:
            basis[k] = v / remaining
            chosen.append(i)
            if len(chosen) == p:
                break
    return np.array(chosen, dtype=np.intp)


def vertex(design: Design, y: np.ndarray, u: np.ndarray, tau: float, beta: np.ndarray,
           x: np.ndarray | None = None, candidates: int = 6) -> Certificate | None:
    """The basic solution near ``beta``, with the dual that proves it optimal.

    The ``p`` observations with the smallest residuals at ``beta`` (independent ones)
    are interpolated: ``beta_h = A_h^{-1} y_h``. The other observations take ``psi =
    tau`` above the fit and ``tau - 1`` below (those fitted exactly keep the
    interior-point value ``x / u - (1 - tau)``); the ``p`` basic ``d_h`` then solve
    ``A' d = 0``. If every ``d_h / u_h`` lies in ``[tau - 1, tau]`` the pair is optimal
    (the gap is rounding). Returns None where no independent basis exists (rank
    deficiency); the certificate says how far ``d`` is outside its box otherwise.
    """
    p, m = design.p, design.m
    if m < p:
        return None
    r = y - design.matvec(beta)
    take = min(m, candidates * p)
    nearest = np.argpartition(np.abs(r), take - 1)[:take] if take < m else np.arange(m)
    nearest = nearest[np.argsort(np.abs(r[nearest]), kind="stable")]
    chosen = _independent_rows(design.rows(nearest), p)
    if chosen.shape[0] < p:
        return None
    basic = nearest[chosen]
    basis = design.rows(basic)
    try:
        lu = scipy.linalg.lu_factor(basis, check_finite=False)
    except (np.linalg.LinAlgError, ValueError):
        return None
    if not np.all(np.isfinite(lu[0])) or np.min(np.abs(np.diag(lu[0]))) == 0.0:
        return None
    beta_h = scipy.linalg.lu_solve(lu, y[basic], check_finite=False)
    fitted = design.matvec(beta_h)
    r = y - fitted
    # Residuals below rounding count as zero: their psi is free in [tau - 1, tau].
    rounding = 64 * np.finfo(float).eps * (np.abs(y) + design.abs_matvec(beta_h))
    exact = np.abs(r) <= rounding
    psi = np.where(r > 0, tau, tau - 1.0)
    if x is not None:
        free = np.clip(x / np.where(u > 0, u, 1.0) - (1.0 - tau), tau - 1.0, tau)
        psi = np.where(exact, free, psi)
    else:
        psi = np.where(exact, tau - 0.5, psi)  # the middle of [tau - 1, tau]
    d = u * psi
    d[basic] = 0.0
    # A_h' d_h = -A' d (the non-basic part): then A'd = 0.
    d[basic] = scipy.linalg.lu_solve(lu, -design.rmatvec(d), trans=1, check_finite=False)
    ratio = d[basic] / u[basic]
    violation = float(np.max(np.maximum(ratio - tau, (tau - 1.0) - ratio), initial=0.0))
    primal = float(u @ (r * (tau - (r < 0))))
    dual = float(y @ d)
    infeasibility = float(np.max(np.abs(design.rmatvec(d)), initial=0.0))
    return Certificate(beta_h, primal, dual, infeasibility, violation,
                       vertex=violation <= 1e-9)
