"""Composition of losses: ``0.7 * mse + 0.3 * mae`` is a loss with gradient and Hessian."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from losskit._params import check_choice, check_real
from losskit.core import REDUCTIONS, Loss, Properties, _deliver, _outputs

__all__ = ["SumLoss"]

_HESSIAN_ORDER = {"exact": 0, "diagonal": 1, "surrogate": 2}


class SumLoss(Loss):
    r"""A positive combination ``sum_k c_k L_k`` of losses that share their input space.

    Its mean is ``sum_k c_k mean_k`` (each component keeps its own normaliser); its
    per-sample values, gradient and Hessian are the same combinations. Built by
    ``a * loss`` and ``loss1 + loss2``.

    >>> import numpy as np
    >>> import losskit as lk
    >>> blend = 0.7 * lk.get("mse") + 0.3 * lk.get("mae")
    >>> blend
    0.7 * SquaredError() + 0.3 * AbsoluteError()
    >>> blend.gradient(np.array([2.0]), np.array([0.0]))  # 0.7 * 2e + 0.3 * sign(e)
    array([3.1])
    """

    name = "sum"

    def __init__(self, terms: list[tuple[float, Loss]]) -> None:
        flat: list[tuple[float, Loss]] = []
        for factor, loss in terms:
            coefficient = check_real(factor, "factor", low=0.0, high=math.inf,
                                     owner=getattr(loss, "name", "loss"))
            if isinstance(loss, SumLoss):
                flat.extend((coefficient * c, inner) for c, inner in loss.terms)
            else:
                flat.append((coefficient, loss))
        first = flat[0][1]
        for _, loss in flat[1:]:
            if (loss.link.name != first.link.name or loss.multiclass != first.multiclass
                    or loss.pointwise != first.pointwise):
                raise ValueError(
                    f"cannot combine '{first.name}' (link={first.link.name!r}) with "
                    f"'{loss.name}' (link={loss.link.name!r}): the terms of a sum must "
                    "take the same kind of y_pred"
                )
        self.terms: list[tuple[float, Loss]] = flat
        self.link = first.link
        self.nan_policy = first.nan_policy
        self.multiclass = first.multiclass  # type: ignore[misc]
        self.pointwise = first.pointwise  # type: ignore[misc]
        self.y_pred_domain = first.y_pred_domain  # type: ignore[misc]
        self.y_true_domain = first.y_true_domain  # type: ignore[misc]

    def get_params(self) -> dict[str, Any]:
        return {"terms": list(self.terms)}

    def example(self, n: int = 8, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The first term's example inputs: the terms take the same kind of inputs."""
        return self.terms[0][1].example(n, seed=seed)

    def __repr__(self) -> str:
        parts = [repr(loss) if c == 1.0 else f"{c:g} * {loss!r}" for c, loss in self.terms]
        return " + ".join(parts)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SumLoss):
            return NotImplemented
        return self.terms == other.terms

    def __hash__(self) -> int:
        return hash(repr(self))

    def _properties(self) -> Properties:
        props = [loss.properties for _, loss in self.terms]
        bounds = [p.lipschitz for p in props]
        lipschitz = None
        if all(b is not None for b in bounds):
            lipschitz = float(sum(c * (b or 0.0)
                                  for (c, _), b in zip(self.terms, bounds, strict=True)))
        robust_values = [p.robust for p in props]
        robust = None if any(r is None for r in robust_values) else all(robust_values)
        return Properties(
            convex=all(p.convex for p in props),
            smoothness=min(p.smoothness for p in props),
            lipschitz=lipschitz,
            bounded_gradient=all(p.bounded_gradient for p in props),
            robust=robust,
            hessian=max((p.hessian for p in props), key=_HESSIAN_ORDER.__getitem__),
            statistic="minimiser of the combination",
        )

    def _combine(self, parts: list[Any]) -> Any:
        total = None
        for (c, _), part in zip(self.terms, parts, strict=True):
            term = part if c == 1.0 else c * part
            total = term if total is None else total + term
        return total

    def __call__(self, y_pred: Any, y_true: Any, sample_weight: Any = None,
                 reduction: str = "mean") -> Any:
        check_choice(reduction, "reduction", REDUCTIONS)
        return self._combine([loss(y_pred, y_true, sample_weight, reduction)
                              for _, loss in self.terms])

    def gradient(self, y_pred: Any, y_true: Any, sample_weight: Any = None, *,
                 out: Any = None) -> Any:
        return self._combined_derivative("gradient", y_pred, y_true, sample_weight, out)

    def hessian(self, y_pred: Any, y_true: Any, sample_weight: Any = None, *,
                out: Any = None) -> Any:
        return self._combined_derivative("hessian", y_pred, y_true, sample_weight, out)

    def _combined_derivative(self, op: str, y_pred: Any, y_true: Any, sample_weight: Any,
                             out: Any) -> Any:
        """The terms' ``gradient`` or ``hessian`` (``op``), combined, into ``out``."""
        targets = _outputs(self, op, out, 1, y_pred, y_true, sample_weight)
        result = self._combine([getattr(loss, op)(y_pred, y_true, sample_weight)
                                for _, loss in self.terms])
        return _deliver(self, op, (result,), targets)[0]

    def loss_gradient(self, y_pred: Any, y_true: Any, sample_weight: Any = None, *,
                      out: Any = None) -> tuple[Any, Any]:
        targets = _outputs(self, "loss_gradient", out, 2, y_pred, y_true, sample_weight)
        pairs = [loss.loss_gradient(y_pred, y_true, sample_weight) for _, loss in self.terms]
        value, gradient = _deliver(self, "loss_gradient", (
            self._combine([p[0] for p in pairs]), self._combine([p[1] for p in pairs])),
            targets)
        return value, gradient

    def gradient_hessian(self, y_pred: Any, y_true: Any, sample_weight: Any = None, *,
                         out: Any = None) -> tuple[Any, Any]:
        targets = _outputs(self, "gradient_hessian", out, 2, y_pred, y_true, sample_weight)
        pairs = [loss.gradient_hessian(y_pred, y_true, sample_weight) for _, loss in self.terms]
        gradient, hessian = _deliver(self, "gradient_hessian", (
            self._combine([p[0] for p in pairs]), self._combine([p[1] for p in pairs])),
            targets)
        return gradient, hessian

    def _mean_gradient_numpy(self, pred: np.ndarray, y: np.ndarray,
                             w: np.ndarray | None) -> np.ndarray:
        """``d mean / d pred`` entrywise: each term's gradient over its own denominator.

        A term's mean divides by ``D = sum_i w_i c_i`` (its normaliser ``c``: class
        weights, ignored entries), so the terms' gradients cannot share one scale. The
        term's mean of ones is ``sum_i w_i / D``, which gives ``D`` without dividing by a
        loss value that may be 0.
        """
        total = np.zeros(pred.shape)
        for coefficient, loss in self.terms:
            batch = loss._prepare(pred, y, w)
            ones = np.ones(loss._values_shape(batch.y_pred))
            weights = ones if w is None else ones * loss._broadcast_weight(np, batch.weight, ones)
            denominator = float(np.sum(weights)) / float(loss._reduce(batch, ones, "mean"))
            total += coefficient * np.asarray(loss.gradient(pred, y, w)) / denominator
        return total

    def _optimal_constant_numpy(self, y: np.ndarray, w: np.ndarray | None,
                                n_classes: int | None) -> Any:
        from scipy.optimize import brentq, minimize

        starts = [np.asarray(loss._optimal_constant_numpy(y, w, n_classes), dtype=float)
                  for _, loss in self.terms]
        finite = [s for s in starts if np.all(np.isfinite(s))]
        if not finite and not self.multiclass:
            # Every term's infimum is at the edge (log link, natural optimum <= 0), so
            # the sum's is too (each term is nondecreasing towards it).
            return starts[0]
        if self.multiclass or y.ndim > 1:
            start = np.mean(finite, axis=0) if finite else np.zeros_like(starts[0])
            shape = start.shape
            # Probability vectors are searched through softmax, to stay on the simplex.
            simplex = (self.multiclass and self.link.name == "identity"
                       and self.y_pred_domain.low == 0.0 and self.y_pred_domain.high == 1.0)

            def constant(theta: np.ndarray) -> np.ndarray:
                c = theta.reshape(shape)
                if not simplex:
                    return c
                e = np.exp(c - np.max(c))
                return e / np.sum(e)

            def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
                c = constant(theta)
                pred = np.broadcast_to(c, _pred_shape(self, y, shape)).copy()
                value = float(self(pred, y, sample_weight=w))
                grad = np.sum(self._mean_gradient_numpy(pred, y, w), axis=0)
                if simplex:  # chain rule through softmax: c * (g - <c, g>)
                    grad = c * (grad - np.sum(c * grad))
                return value, grad.ravel()

            theta0 = np.log(start) if simplex else start
            result = minimize(fun, theta0.ravel(), jac=True, method="L-BFGS-B",
                              options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 1000})
            return constant(result.x)
        low, high = float(np.min(finite)), float(np.max(finite))

        def slope(c: float) -> float:
            return float(np.sum(self._mean_gradient_numpy(np.full(y.shape, c), y, w)))

        # A term whose infimum is at -inf or +inf (log link, one class absent) leaves
        # that side open: widen it until the slope turns, or return the limit.
        for side, direction in ((-math.inf, -1.0), (math.inf, 1.0)):
            if any(np.any(start == side) for start in starts):
                step = 1.0
                while direction * slope(low if direction < 0 else high) < 0:
                    if direction < 0:
                        low -= step
                    else:
                        high += step
                    step *= 2.0
                    if step > 2048.0:  # beyond exp(+-1e3): the limit itself
                        return side
        if low == high:
            return low
        # For convex terms the minimiser of the sum lies between the terms' minimisers,
        # where the slope of the mean changes sign. brentq finds that point to machine
        # precision; a bounded Brent minimiser stops at sqrt(eps) relative, which at a
        # kink (a sum of pinball losses) leaves the objective visibly above its minimum.
        if slope(low) >= 0:
            return low
        if slope(high) <= 0:
            return high
        eps = float(np.finfo(np.float64).eps)
        return float(brentq(slope, low, high, xtol=4 * eps * max(abs(low), abs(high), 1.0),
                            rtol=4 * eps, maxiter=500))

    def _display_formulas(self) -> tuple[str, str, str]:
        r"""The terms' formulas combined: ``0.7\left(...\right) + ...`` for Jupyter."""
        parts = [loss._display_formulas() for _, loss in self.terms]
        combined = []
        for k in range(3):
            if any(not formulas[k] for formulas in parts):
                combined.append("")
                continue
            combined.append(" + ".join(
                formulas[k] if c == 1.0 else rf"{c:g}\left({formulas[k]}\right)"
                for (c, _), formulas in zip(self.terms, parts, strict=True)))
        return combined[0], combined[1], combined[2]


def _pred_shape(loss: Loss, y: np.ndarray, constant_shape: tuple[int, ...]) -> tuple[int, ...]:
    return (y.shape[0], *constant_shape)
