r"""Fit a linear or generalised linear model with any loss: ``lk.fit(X, y, loss)``.

The model predicts raw scores ``eta = X B + b``, passed through the loss's link
(logit for binary cross-entropy, softmax for multiclass losses with ``(d, K)``
coefficients, log for Poisson, Gamma and Tweedie), and the fit minimises the
weighted mean loss plus an elastic-net penalty on ``B`` (see
``losskit.linear_model._problem``). The solver follows from the loss's declared properties:

==================  ================================================================
``newton``          smooth, exact Hessian, one output, and cheap Hessians (``n p^2``
                    small, or squared error, solved in one step): damped Newton
``lbfgs``           smooth otherwise (large problems, multiclass, no exact Hessian);
                    where it stalls above ``tol`` and Newton applies, Newton finishes
``proximal``        L1 or elastic-net penalty with a smooth loss: proximal Newton
                    where Newton applies, else accelerated proximal gradient
``interior_point``  piecewise-linear losses (absolute error, quantile, asymmetric,
                    hinge), with any penalty: an exact primal-dual interior-point
                    method (Frisch-Newton) with a duality-gap certificate
``conquer``         quantile losses, convolution-smoothed (He et al. 2021), on request
==================  ================================================================

Dask arrays chunked by rows are fitted blockwise (``losskit.linear_model._dask``): only the
``d``-sized statistics of each block travel to the driver.
"""

from __future__ import annotations

import numbers
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losskit._params import check_choice, check_real
from losskit.core import Loss
from losskit.linear_model._problem import (
    DataSource,
    InMemoryData,
    LinearProblem,
    finite_start,
    raw_score_loss,
)
from losskit.linear_model._result import SolverResult

__all__ = ["ConvergenceWarning", "FitResult", "fit", "raw_score_loss"]

PENALTIES = (None, "l2", "l1", "elasticnet")
SOLVERS = ("auto", "newton", "lbfgs", "proximal", "interior_point", "conquer")
PIECEWISE_LINEAR = frozenset({"absolute_error", "quantile", "asymmetric", "hinge"})
#: Above this many parameters Newton's d x d factorisation gives way to L-BFGS.
NEWTON_MAX_PARAMETERS = 1000
#: Newton by default only where forming its Hessians (n p^2 each) is cheap; otherwise
#: L-BFGS, which needs a few more passes of 4 n p, and Newton finishes what it leaves.
NEWTON_MAX_WORK = 5_000_000
DEFAULT_TOL = {"newton": 1e-10, "lbfgs": 1e-8, "proximal": 1e-8,
               "interior_point": 1e-10, "conquer": 1e-8}
DEFAULT_MAX_ITER = {"newton": 100, "lbfgs": 2000, "proximal": 5000,
                    "interior_point": 200, "conquer": 1000}


#: How the message of an L-BFGS fit that Newton finished begins.
POLISHED = "L-BFGS "


class ConvergenceWarning(UserWarning):
    """A fit stopped before its convergence criterion held (``converged=False``)."""


@dataclass
class FitResult:
    """A fitted linear model: coefficients, how the fit went, and predictions.

    ``coef`` is ``(d,)`` (``(d, K)`` for a multiclass loss), ``intercept`` a float
    (``(K,)``). ``objective`` is the minimised value (weighted mean loss plus penalty),
    ``history`` its value after each iteration, ``certificate`` the optimality
    evidence of the solver (gradient norm, duality gap ...).
    """

    coef: np.ndarray
    intercept: Any
    objective: float
    n_iter: int
    converged: bool
    solver: str
    loss: Loss
    history: list[float] = field(default_factory=list, repr=False)
    penalty: str | None = None
    alpha: float = 0.0
    l1_ratio: float = 0.0
    certificate: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    fit_time: float = 0.0

    def decision_function(self, X: Any) -> np.ndarray:
        """Raw scores ``X coef + intercept`` (link space)."""
        X = _check_design(X, n_features=self.coef.shape[0])
        return X @ self.coef + self.intercept

    def predict(self, X: Any) -> np.ndarray:
        """Predictions in the loss's natural space: the inverse link of the scores
        (probabilities for cross-entropy, means for Poisson)."""
        return np.asarray(self.loss.link.inverse(self.decision_function(X)))


def fit(
    X: Any,
    y: Any,
    loss: str | Loss,
    *,
    penalty: str | None = None,
    alpha: float = 0.0,
    l1_ratio: float = 0.5,
    fit_intercept: bool = True,
    sample_weight: Any = None,
    solver: str = "auto",
    tol: float | None = None,
    max_iter: int | None = None,
    callback: Callable[[np.ndarray], Any] | None = None,
) -> FitResult:
    r"""Minimise the weighted mean loss of a linear model plus a penalty.

    Parameters
    ----------
    X : array of shape (n, d)
        Features: NumPy or anything ``numpy.asarray`` takes, or a Dask array chunked
        by rows (fitted blockwise without bringing the data into memory).
    y : array of shape (n,) or (n, K)
        Targets in the loss's domain (class indices ``0..K-1`` for multiclass losses).
    loss : str or Loss
        A registered name (``"huber"``), a loss object (``lk.Quantile(q=0.9)``), a
        composition or a custom loss. A loss in its natural space is given its
        canonical link (``raw_score_loss``).
    penalty : None, "l2", "l1" or "elasticnet"
        ``alpha * (rho ||B||_1 + (1 - rho)/2 ||B||_2^2)`` with ``rho = 0`` (l2),
        ``1`` (l1) or ``l1_ratio``; the intercept is not penalised.
    solver : str
        ``"auto"`` picks from the loss's properties (module docstring); or one of
        ``"newton"``, ``"lbfgs"``, ``"proximal"``, ``"interior_point"``, ``"conquer"``.
    tol, max_iter : optional
        Convergence tolerance (gradient sup-norm, gradient mapping or relative duality
        gap, by solver) and iteration limit; defaults per solver.
    callback : callable, optional
        Called with the flat parameter vector after each iteration.

    Returns
    -------
    FitResult
        A fit that stops before converging says so: ``converged=False`` and a
        ``ConvergenceWarning``.

    Examples
    --------
    >>> import numpy as np, losskit as lk
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> result = lk.fit(X, np.array([1.0, 3.0, 5.0, 7.0]), "squared_error")
    >>> np.round(result.coef, 12), round(float(result.intercept), 12)
    (array([2.]), 1.0)
    """
    from losskit.registry import get

    started = time.perf_counter()
    loss_object = raw_score_loss(_check_loss(get(loss) if isinstance(loss, str) else loss))
    penalty = check_choice(penalty, "penalty", PENALTIES)
    alpha = check_real(alpha, "alpha", low=0.0, low_inclusive=True)
    l1_ratio = check_real(l1_ratio, "l1_ratio", low=0.0, high=1.0,
                          low_inclusive=True, high_inclusive=True)
    rho = {None: 0.0, "l2": 0.0, "l1": 1.0, "elasticnet": l1_ratio}[penalty]
    if penalty is None:
        alpha = 0.0
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise TypeError(f"fit_intercept must be True or False; got {fit_intercept!r}")
    solver = check_choice(solver, "solver", SOLVERS)

    data: DataSource
    if _is_dask(X):
        from losskit.linear_model._dask import dask_data

        data, y_local, weight, n_outputs, start = dask_data(X, y, loss_object, sample_weight,
                                                            fit_intercept)
    else:
        Xa = _check_design(X)
        y_local, weight, n_outputs = _check_targets(Xa, y, loss_object, sample_weight)
        denominator = _denominator(loss_object, y_local, weight, n_outputs)
        data = InMemoryData(Xa, y_local, loss_object, weight, denominator)
        start = _start(loss_object, y_local, weight, n_outputs, fit_intercept)
    problem = LinearProblem(data, loss_object, n_outputs=n_outputs,
                            fit_intercept=bool(fit_intercept), alpha=alpha, l1_ratio=rho)
    chosen = _choose_solver(solver, loss_object, problem, penalty, rho)
    tol = DEFAULT_TOL[chosen] if tol is None else check_real(tol, "tol", low=0.0)
    if max_iter is None:
        max_iter = DEFAULT_MAX_ITER[chosen]
    elif not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer; got {max_iter!r}")
    theta0 = problem.initial_point(start)
    result = _run(chosen, problem, theta0, data, y_local, weight, tol, int(max_iter),
                  callback, auto=solver == "auto")
    coef, intercept = problem.split(np.asarray(result.coef, dtype=np.float64))
    if result.message.startswith(POLISHED):
        chosen = "lbfgs+newton"
    if not result.converged:
        warnings.warn(
            f"lk.fit with loss '{loss_object.name}' and solver '{chosen}' did not converge "
            f"in {result.n_iter} iterations ({result.message}); the result may be "
            "inaccurate: raise max_iter, loosen tol, or scale the features",
            ConvergenceWarning, stacklevel=2)
    return FitResult(
        coef=np.array(coef, dtype=np.float64),
        intercept=float(intercept) if np.ndim(intercept) == 0 else np.array(intercept),
        objective=float(result.objective), n_iter=int(result.n_iter),
        converged=bool(result.converged), solver=chosen, loss=loss_object,
        history=list(result.history), penalty=penalty, alpha=alpha, l1_ratio=rho,
        certificate=dict(result.certificate), message=result.message,
        fit_time=time.perf_counter() - started)


# ------------------------------------------------------------------ solvers
def _choose_solver(solver: str, loss: Loss, problem: LinearProblem, penalty: str | None,
                   rho: float) -> str:
    piecewise = loss.name in PIECEWISE_LINEAR and loss.link.name == "identity"
    if solver != "auto":
        if solver in ("interior_point", "conquer") and not piecewise:
            raise ValueError(
                f"solver={solver!r} solves piecewise-linear losses "
                f"({', '.join(sorted(PIECEWISE_LINEAR))}); got loss '{loss.name}' "
                f"with link '{loss.link.name}'")
        if solver == "newton" and (loss.multiclass or loss.properties.hessian != "exact"):
            raise ValueError(f"solver='newton' needs a single-output loss with an exact "
                             f"Hessian; '{loss.name}' has hessian="
                             f"{loss.properties.hessian!r}"
                             + (" and multiclass outputs" if loss.multiclass else ""))
        if solver in ("newton", "lbfgs") and rho > 0 and problem.alpha > 0:
            raise ValueError(f"solver={solver!r} cannot handle the L1 part of "
                             f"penalty={penalty!r}; use solver='proximal' or 'auto'")
        if solver == "conquer" and problem.alpha > 0 and rho > 0:
            raise ValueError("solver='conquer' takes no L1 penalty (it smooths the loss "
                             f"and runs L-BFGS); got penalty={penalty!r}")
        return solver
    if piecewise:  # exact for every penalty: an LP, or a QP with an L2 part
        return "interior_point"
    if rho > 0 and problem.alpha > 0:
        return "proximal"
    if _newton_capable(problem) and (_is_quadratic(loss) or problem.data.n_samples
                                     * problem.size**2 <= NEWTON_MAX_WORK):
        return "newton"
    return "lbfgs"


def _is_quadratic(loss: Loss) -> bool:
    """Squared error on the identity link: one Newton step is the exact solution."""
    return loss.name == "squared_error" and loss.link.name == "identity"


def _newton_capable(problem: LinearProblem) -> bool:
    loss = problem.loss
    return (not loss.multiclass and loss.properties.hessian == "exact"
            and problem.size <= NEWTON_MAX_PARAMETERS)


def _run(chosen: str, problem: LinearProblem, theta0: np.ndarray, data: Any, y: Any,
         weight: Any, tol: float, max_iter: int,
         callback: Callable[[np.ndarray], Any] | None, auto: bool) -> SolverResult:
    if chosen == "newton":
        from losskit.linear_model._newton import newton

        return newton(problem, theta0, tol=tol, max_iter=max_iter, callback=callback)
    if chosen == "lbfgs":
        from losskit.linear_model._lbfgs import lbfgs

        result = lbfgs(problem, theta0, tol=tol, max_iter=max_iter, callback=callback)
        if result.converged or not _newton_capable(problem) or not auto:
            return result
        # Ill-conditioned: L-BFGS stalled above tol; Newton takes it from there.
        from losskit.linear_model._newton import newton

        polished = newton(problem, np.asarray(result.coef), tol=tol,
                          max_iter=DEFAULT_MAX_ITER["newton"], callback=callback)
        polished.n_iter += result.n_iter
        polished.history = result.history + polished.history[1:]
        polished.message = f"{POLISHED}({result.message}), then Newton: {polished.message}"
        return polished
    if chosen == "proximal":
        from losskit.linear_model._proximal import proximal_gradient, proximal_newton

        method = proximal_newton if _newton_capable(problem) else proximal_gradient
        return method(problem, theta0, tol=tol, max_iter=max_iter, callback=callback)
    return _run_exact(chosen, problem, data, y, weight, tol, max_iter)


def _run_exact(chosen: str, problem: LinearProblem, data: Any, y: Any, weight: Any,
               tol: float, max_iter: int) -> SolverResult:
    if not isinstance(data, InMemoryData):
        raise ValueError(f"solver={chosen!r} needs the data in memory; for Dask arrays use "
                         "solver='lbfgs' on a smooth loss (e.g. pseudo_huber for "
                         "absolute error)")
    design = data.X
    if problem.fit_intercept:
        design = np.hstack([design, np.ones((design.shape[0], 1))])
    penalized = np.zeros(design.shape[1], dtype=bool)
    penalized[: problem.n_features] = True
    if chosen == "interior_point":
        from losskit.linear_model._interior_point import interior_point

        rho = problem.l1 / problem.alpha if problem.alpha > 0 else 1.0
        return interior_point(design, y, loss=problem.loss, sample_weight=weight,
                              penalized=penalized, alpha=problem.alpha, l1_ratio=rho,
                              tol=tol, max_iter=max_iter)
    from losskit.linear_model._conquer import conquer

    return conquer(design, y, loss=problem.loss, sample_weight=weight, penalized=penalized,
                   alpha=problem.l2, tol=tol, max_iter=max_iter)


# --------------------------------------------------------------- validation
def _check_loss(loss: Any) -> Loss:
    if not isinstance(loss, Loss):
        raise TypeError("loss must be a registered name (lk.list_losses()) or a Loss "
                        f"object; got {type(loss).__name__}")
    if not loss.pointwise:
        raise ValueError(f"lk.fit fits pointwise losses; '{loss.name}' is a structured "
                         "loss (ranking, embedding, sequence) with its own input layout")
    return loss


def _is_dask(X: Any) -> bool:
    return type(X).__module__.startswith("dask.")


def _check_design(X: Any, n_features: int | None = None) -> np.ndarray:
    if X is None:
        raise TypeError("X is required; got None")
    try:
        array = np.asarray(X)
    except Exception as error:  # e.g. ragged lists
        raise ValueError(f"X must be a 2-D numeric array; {error}") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number)
                                     or array.dtype == bool):
        raise TypeError(f"X must be numeric; got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"X is empty: shape {array.shape}")
    if n_features is not None and array.shape[1] != n_features:
        raise ValueError(f"X has {array.shape[1]} features, but the model was fitted "
                         f"with {n_features}")
    array = array.astype(np.float64, copy=False)
    finite = np.isfinite(array)
    if not finite.all():
        row, column = (int(i) for i in np.argwhere(~finite)[0])
        raise ValueError(f"X must be finite; got {array[row, column]} at row {row}, "
                         f"column {column}")
    return array


def _check_targets(X: np.ndarray, y: Any, loss: Loss,
                   sample_weight: Any) -> tuple[np.ndarray, np.ndarray | None, int]:
    if y is None:
        raise TypeError("y is required; got None")
    target = np.asarray(y)
    if target.dtype == object or not (np.issubdtype(target.dtype, np.number)
                                      or target.dtype == bool):
        raise TypeError(f"y must be numeric; got dtype {target.dtype}")
    if target.ndim == 0 or target.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has "
                         f"{target.shape[0] if target.ndim else 'no'} entries; "
                         "they must match")
    target = target.astype(np.float64)
    if not np.all(np.isfinite(target)):
        first = int(np.argwhere(~np.isfinite(target))[0][0])
        raise ValueError(f"y must be finite; got {target.ravel()[first]} at index {first}")
    n_outputs = 1
    if loss.multiclass:
        if target.ndim == 1:
            if np.any(target != np.round(target)) or np.any(target < 0):
                raise ValueError(f"y for the multiclass loss '{loss.name}' must hold class "
                                 "indices 0..K-1 (or (n, K) probability rows)")
            n_outputs = int(np.max(target)) + 1
        else:
            n_outputs = target.shape[-1]
        if n_outputs < 2:
            raise ValueError(f"y holds a single class; '{loss.name}' needs at least two")
    elif target.ndim != 1:
        raise ValueError(f"y must be 1-D for '{loss.name}'; got shape {target.shape}")
    elif (_is_label_loss(loss) and np.all(target == target[0])
          and target[0] in (-1.0, 0.0, 1.0)):
        raise ValueError(f"y holds a single class ({target[0]:g}) for the classification "
                         f"loss '{loss.name}': the fit has no minimiser (the intercept "
                         "diverges)")
    weight = None
    if sample_weight is not None:
        weight = np.asarray(sample_weight, dtype=np.float64)
        if weight.shape != (X.shape[0],):
            raise ValueError(f"sample_weight must have shape ({X.shape[0]},); "
                             f"got {weight.shape}")
        if not np.all(np.isfinite(weight)) or np.any(weight < 0):
            raise ValueError("sample_weight must be finite and >= 0")
        if not np.sum(weight) > 0:
            raise ValueError("sample_weight must not sum to zero")
    return target, weight, n_outputs


def _is_label_loss(loss: Loss) -> bool:
    """Targets are class labels: a probability prediction or a +-1 margin loss."""
    probability = loss.y_pred_domain.low == 0.0 and loss.y_pred_domain.high == 1.0
    signed = loss.y_true_domain.low == -1.0 and loss.y_true_domain.high == 1.0
    return probability or signed


def _denominator(loss: Loss, y: np.ndarray, weight: np.ndarray | None,
                 n_outputs: int) -> float:
    """``sum_i w_i c_i``, the denominator of the loss's weighted mean; also validates
    ``y`` against the loss's domain."""
    shape = (y.shape[0], n_outputs) if loss.multiclass else y.shape
    batch = loss._prepare(np.zeros(shape), y, weight)
    normalizer = loss._normalizer(np, batch.y_true)
    ones = np.ones(y.shape[0]) if normalizer is None else np.asarray(normalizer, float)
    total = float(np.sum(ones if weight is None else ones * weight))
    if not total > 0:
        raise ValueError(f"the weighted mean of '{loss.name}' is undefined: the weights "
                         "of the samples sum to zero")
    return total


def _start(loss: Loss, y: np.ndarray, weight: np.ndarray | None, n_outputs: int,
           fit_intercept: bool) -> np.ndarray:
    """The intercept to start from: the loss's optimal constant, in link space."""
    if not fit_intercept:
        return np.zeros(n_outputs if loss.multiclass else ())
    kwargs = {"n_classes": n_outputs} if loss.multiclass and y.ndim == 1 else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            constant = loss.optimal_constant(y, weight, **kwargs)
    except Exception:  # a custom loss without a usable constant: start at zero
        return np.zeros(n_outputs if loss.multiclass else ())
    constant = finite_start(np.asarray(constant, dtype=np.float64))
    if loss.multiclass:
        constant = constant - np.mean(constant)
    return constant if np.all(np.isfinite(constant)) else np.zeros_like(constant)
