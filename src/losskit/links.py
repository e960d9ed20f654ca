r"""Link functions: the map between a loss's natural space and raw model scores.

A link ``g`` maps a mean or probability ``mu`` to a raw score ``eta = g(mu)``; its
inverse maps a raw score back. A loss built with ``link="logit"`` takes raw scores
and is differentiated with respect to them. Each link has ``link``, ``inverse``,
``derivative`` (``g'(mu)``), ``inverse_derivative`` (``d mu / d eta``) and
``inverse_second_derivative``, and the intervals ``domain`` (where ``mu`` lives)
and ``raw_domain`` (where ``eta`` lives). ``softmax`` acts along the last axis.

>>> import numpy as np
>>> from losskit.links import get_link
>>> logit = get_link("logit")
>>> float(logit.inverse(np.float64(0.0)))
0.5
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from array_api_compat import device

from losskit import numerics
from losskit._array import namespace

__all__ = [
    "IdentityLink",
    "Interval",
    "Link",
    "LogLink",
    "LogitLink",
    "SoftmaxLink",
    "get_link",
]


@dataclass(frozen=True)
class Interval:
    """A real interval with open or closed ends, e.g. ``(0, inf)`` or ``[0, 1]``."""

    low: float
    high: float
    low_inclusive: bool = False
    high_inclusive: bool = False

    def __str__(self) -> str:
        left = "[" if self.low_inclusive else "("
        right = "]" if self.high_inclusive else ")"
        return f"{left}{_fmt(self.low)}, {_fmt(self.high)}{right}"

    def outside(self, xp: Any, x: Any) -> Any:
        """Boolean mask of the elements of ``x`` not in the interval (NaN is outside)."""
        below = x < self.low if self.low_inclusive else x <= self.low
        above = x > self.high if self.high_inclusive else x >= self.high
        inside = ~(below | above)
        return ~(inside & (x == x))


def _fmt(value: float) -> str:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:g}"


REAL = Interval(-math.inf, math.inf)
POSITIVE = Interval(0.0, math.inf)
UNIT = Interval(0.0, 1.0, True, True)


class Link:
    """Base class: a link ``g`` with ``eta = g(mu)`` and its inverse."""

    name: ClassVar[str] = ""
    domain: ClassVar[Interval] = REAL
    raw_domain: ClassVar[Interval] = REAL
    elementwise: ClassVar[bool] = True

    def link(self, mu: Any) -> Any:
        raise NotImplementedError

    def inverse(self, eta: Any) -> Any:
        raise NotImplementedError

    def derivative(self, mu: Any) -> Any:
        """``g'(mu)``."""
        raise NotImplementedError

    def inverse_derivative(self, eta: Any) -> Any:
        """``d g^{-1}(eta) / d eta``."""
        raise NotImplementedError

    def inverse_second_derivative(self, eta: Any) -> Any:
        """``d^2 g^{-1}(eta) / d eta^2``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))


class IdentityLink(Link):
    """``eta = mu``."""

    name = "identity"

    def link(self, mu: Any) -> Any:
        return mu

    def inverse(self, eta: Any) -> Any:
        return eta

    def derivative(self, mu: Any) -> Any:
        return namespace(mu).ones_like(mu)

    def inverse_derivative(self, eta: Any) -> Any:
        return namespace(eta).ones_like(eta)

    def inverse_second_derivative(self, eta: Any) -> Any:
        return namespace(eta).zeros_like(eta)


class LogLink(Link):
    """``eta = log(mu)`` for means in ``(0, inf)``; the canonical link of Poisson."""

    name = "log"
    domain = POSITIVE

    def link(self, mu: Any) -> Any:
        xp = namespace(mu)
        zero = mu == 0
        # log(0) = -inf is the right limit at the closed end; reach it without a warning.
        return xp.where(zero, -math.inf, xp.log(xp.where(zero, 1.0, mu)))

    def inverse(self, eta: Any) -> Any:
        return namespace(eta).exp(eta)

    def derivative(self, mu: Any) -> Any:
        return 1.0 / mu

    def inverse_derivative(self, eta: Any) -> Any:
        return namespace(eta).exp(eta)

    def inverse_second_derivative(self, eta: Any) -> Any:
        return namespace(eta).exp(eta)


class LogitLink(Link):
    """``eta = log(mu / (1 - mu))`` for probabilities; the canonical Bernoulli link."""

    name = "logit"
    domain = UNIT

    def link(self, mu: Any) -> Any:
        xp = namespace(mu)
        zero, one = mu == 0, mu == 1
        # -inf and +inf at the closed ends of [0, 1], reached without a warning.
        safe = xp.where(zero | one, 0.5, mu)
        eta = xp.log(safe) - xp.log1p(-safe)
        return xp.where(zero, -math.inf, xp.where(one, math.inf, eta))

    def inverse(self, eta: Any) -> Any:
        return numerics.expit(eta)

    def derivative(self, mu: Any) -> Any:
        return 1.0 / (mu * (1.0 - mu))

    def inverse_derivative(self, eta: Any) -> Any:
        # sigma(eta) * sigma(-eta), each factor accurate in its tail.
        return numerics.expit(eta) * numerics.expit(-eta)

    def inverse_second_derivative(self, eta: Any) -> Any:
        # p q (q - p) with q - p = 1 - 2p = -tanh(eta / 2): no cancellation near eta = 0.
        p = numerics.expit(eta)
        q = numerics.expit(-eta)
        return -(p * q) * namespace(eta).tanh(0.5 * eta)


class SoftmaxLink(Link):
    """``mu = softmax(eta)`` along the last axis; ``link`` returns centred logs.

    The inverse is not elementwise: ``inverse_derivative`` returns the diagonal of its
    Jacobian, ``p * (1 - p)``; ``inverse_jacobian`` the full ``(..., K, K)`` matrix.
    ``1 - p`` is computed as ``-expm1(log_softmax(eta))``, which keeps its relative
    accuracy where ``p`` rounds to a number next to 1 (``eta = [30, 0]``).
    """

    name = "softmax"
    domain = UNIT
    elementwise = False

    def link(self, mu: Any) -> Any:
        xp = namespace(mu)
        log_mu = xp.log(mu)
        return log_mu - xp.mean(log_mu, axis=-1, keepdims=True)

    def inverse(self, eta: Any) -> Any:
        return numerics.softmax(eta, axis=-1)

    def derivative(self, mu: Any) -> Any:
        return 1.0 / mu

    def _p_and_complement(self, eta: Any) -> tuple[Any, Any]:
        """``(p, 1 - p)``, each with full relative accuracy."""
        xp = namespace(eta)
        return self.inverse(eta), -xp.expm1(numerics.log_softmax(eta, axis=-1, xp=xp))

    def inverse_derivative(self, eta: Any) -> Any:
        p, q = self._p_and_complement(eta)
        return p * q

    def inverse_second_derivative(self, eta: Any) -> Any:
        p, q = self._p_and_complement(eta)
        return p * q * (q - p)

    def inverse_jacobian(self, eta: Any) -> Any:
        """``d p_i / d eta_j = p_i (delta_ij - p_j)``, shape ``(..., K, K)``."""
        xp = namespace(eta)
        p, q = self._p_and_complement(eta)
        k = p.shape[-1]
        eye = xp.eye(k, dtype=p.dtype, device=device(p))
        # The diagonal p_i (1 - p_i) from the accurate complement; off it -p_i p_j.
        off_diagonal = -(p[..., :, None] * p[..., None, :])
        return eye * (p * q)[..., None, :] + (1.0 - eye) * off_diagonal


_LINKS: dict[str, type[Link]] = {
    cls.name: cls for cls in (IdentityLink, LogLink, LogitLink, SoftmaxLink)
}


def get_link(link: str | Link | None) -> Link:
    """A link object from its name (``"identity"``, ``"log"``, ``"logit"``, ``"softmax"``)."""
    if link is None:
        return IdentityLink()
    if isinstance(link, Link):
        return link
    if isinstance(link, str) and link in _LINKS:
        return _LINKS[link]()
    raise ValueError(f"link must be one of {sorted(_LINKS)} or a Link; got {link!r}")
