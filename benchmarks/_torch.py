"""The PyTorch (CPU) competitor: ``torch.nn.functional`` where it has the loss.

``value`` is the function with ``reduction="mean"``. ``loss_gradient`` is the
per-sample losses (``reduction="none"``) and one backward pass of their sum.
``gradient_hessian`` is autograd's Hessian diagonal, a second backward pass through
the gradient (``d/dz sum_i g_i = h`` for an elementwise loss), only where that is the
Hessian losskit returns: not for the losses whose second derivative is zero and losskit
returns a positive surrogate (absolute error, quantile, asymmetric, hinge), and not for
cross-entropy, whose Hessian diagonal needs K Hessian-vector products. Inputs are
``torch.from_numpy`` views (no copy); CE labels are the int64 array itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks._cases import ALPHA, DELTA, POWER, QUANTILE, Case
from benchmarks._harness import Impl

__all__ = ["impls"]

#: (function(p, y, reduction), what it is, whether autograd's Hessian is losskit's).
Spec = tuple[Callable[[Any, Any, str], Any], str, bool]


def _reduce(values: Any, reduction: str) -> Any:
    if reduction == "mean":
        return values.mean()
    return values.sum() if reduction == "sum" else values


def _specs(torch: Any) -> dict[str, Spec]:
    F = torch.nn.functional

    def expression(formula: Callable[[Any, Any], Any]) -> Callable[[Any, Any, str], Any]:
        return lambda p, y, reduction: _reduce(formula(p, y), reduction)

    def focal(z: Any, y: Any) -> Any:
        # torchvision.ops.sigmoid_focal_loss with alpha < 0 (no weighting), gamma = 2.
        p = torch.sigmoid(z)
        ce = F.binary_cross_entropy_with_logits(z, y, reduction="none")
        p_t = p * y + (1.0 - p) * (1.0 - y)
        return ce * (1.0 - p_t) ** 2

    return {
        "squared_error": (lambda p, y, r: F.mse_loss(p, y, reduction=r), "F.mse_loss", True),
        "absolute_error": (lambda p, y, r: F.l1_loss(p, y, reduction=r), "F.l1_loss", False),
        "huber": (lambda p, y, r: F.huber_loss(p, y, reduction=r, delta=DELTA),
                  "F.huber_loss", True),
        "pseudo_huber": (expression(
            lambda p, y: DELTA**2 * (torch.sqrt(1.0 + ((p - y) / DELTA) ** 2) - 1.0)),
            "expression", True),
        "log_cosh": (expression(lambda p, y: torch.log(torch.cosh(p - y))), "expression", True),
        "quantile": (expression(
            lambda p, y: torch.maximum(-QUANTILE * (p - y), (1.0 - QUANTILE) * (p - y))),
            "expression", False),
        "asymmetric": (expression(lambda p, y: torch.where(p < y, ALPHA * (y - p), p - y)),
                       "expression", False),
        "poisson_log": (lambda z, y, r: F.poisson_nll_loss(z, y, log_input=True, full=False,
                                                           reduction=r),
                        "F.poisson_nll_loss(log_input=True)", True),
        "gamma_log": (expression(lambda z, y: z + y * torch.exp(-z)), "expression", True),
        "tweedie_log": (expression(
            lambda z, y: torch.exp((2 - POWER) * z) / (2 - POWER)
            - y * torch.exp((1 - POWER) * z) / (1 - POWER)), "expression", True),
        "bce_logit": (lambda z, y, r: F.binary_cross_entropy_with_logits(z, y, reduction=r),
                      "F.binary_cross_entropy_with_logits", True),
        "bce_probability": (lambda p, y, r: F.binary_cross_entropy(p, y, reduction=r),
                            "F.binary_cross_entropy", True),
        "cross_entropy": (lambda z, y, r: F.cross_entropy(z, y, reduction=r),
                          "F.cross_entropy", False),
        "focal_logit": (expression(focal), "expression (torchvision's formula)", True),
        "hinge": (expression(lambda z, y: torch.clamp(1.0 - (2.0 * y - 1.0) * z, min=0.0)),
                  "expression", False),
    }


def impls(case: Case) -> dict[str, Impl]:
    """The PyTorch ``Impl`` of each operation of ``case`` (missing: no anchor)."""
    import torch

    spec = _specs(torch).get(case.name)
    if spec is None:
        return {}
    loss, note, hessian = spec

    def prepare(inputs: Any) -> tuple[Any, Any]:
        return torch.from_numpy(inputs.y_pred), torch.from_numpy(inputs.y_true)

    def value(p: Any, y: Any) -> Any:
        return loss(p, y, "mean")

    def loss_gradient(p: Any, y: Any) -> Any:
        leaf = p.detach().requires_grad_(True)
        values = loss(leaf, y, "none")
        (gradient,) = torch.autograd.grad(values.sum(), leaf)
        return values.detach(), gradient

    def gradient_hessian(p: Any, y: Any) -> Any:
        leaf = p.detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(loss(leaf, y, "sum"), leaf, create_graph=True)
        (hessian,) = torch.autograd.grad(gradient.sum(), leaf)
        return gradient.detach(), hessian

    found = {
        "value": Impl(value, prepare, note=note),
        "loss_gradient": Impl(loss_gradient, prepare, note=note + " + autograd"),
    }
    if hessian:
        found["gradient_hessian"] = Impl(gradient_hessian, prepare,
                                         note=note + " + double backward")
    return found
