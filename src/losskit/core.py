r"""The ``Loss`` base class: validation, links, reductions and the public contract.

A loss subclass writes its formula, gradient and Hessian side by side in
``_elementwise``, ``_gradient`` and ``_hessian``, each taking ``(xp, y_pred, y_true)``
with validated arrays of one namespace. Everything else lives here once:

- turning inputs into arrays of ``y_pred``'s library, device and floating dtype
  (half precision is computed in float32 and returned in its own dtype);
- checking shapes, finiteness and the domains of ``y_pred`` and ``y_true``, with an
  error that names the argument, the rule and the first offending index (skipped for
  values that cannot be inspected: JAX tracers under ``jit`` and Dask arrays);
- the link: a loss takes values in its natural space (a real number, a probability,
  a mean) or, with ``link=``, raw scores. Canonical pairs are fused in the subclass;
  any other supported elementwise link is applied by the chain rule
  ``g = l'(mu) mu'``, ``h = l''(mu) mu'^2 + l'(mu) mu''``;
- reductions: ``"none"``, ``"sum"`` and ``"mean"``, the weighted mean
  ``sum_i w_i L_i / sum_i w_i c_i`` where ``c_i`` is the loss's own normaliser
  (the class weight of the target for cross-entropy with ``class_weight``, 0 for an
  ignored entry, 1 otherwise), as PyTorch's ``cross_entropy`` does;
- composition: ``0.7 * mse + 0.3 * mae`` is a loss with gradient and Hessian
  (``losskit.compose``).

``gradient`` and ``hessian`` are those of each sample's loss with respect to its own
prediction, multiplied by its ``sample_weight``: what gradient boosting and Newton
solvers consume. The gradient of the mean is ``gradient / sum(w_i c_i)``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, NamedTuple

import numpy as np

from losskit import _array
from losskit._array import as_array, can_inspect, fail_where, namespace
from losskit._config import settings
from losskit._params import check_choice, check_real
from losskit.links import REAL, Interval, Link, get_link

__all__ = ["Distribution", "Loss", "Properties"]

REDUCTIONS = ("mean", "sum", "none")
HESSIAN_KINDS = ("exact", "diagonal", "surrogate")


@dataclass(frozen=True)
class Properties:
    """Declared facts about a loss as a function of its ``y_pred`` (after the link).

    Attributes
    ----------
    convex : bool
        Convex in ``y_pred`` over its whole domain, for every valid ``y_true``.
    smoothness : float
        Order of continuous differentiability: 0 (continuous, with kinks), 1, 2, ...,
        or ``math.inf``.
    lipschitz : float or None
        A Lipschitz constant of the loss in ``y_pred`` (a bound on the gradient's
        norm), or None where the gradient is unbounded.
    bounded_gradient : bool
        Whether the gradient is bounded over the whole domain.
    robust : bool or None
        Bounded influence of one outlying target: the gradient stays bounded as
        ``|y_true - y_pred|`` grows. None where targets are bounded (classification).
    hessian : str
        ``"exact"``, ``"diagonal"`` (of the ``(K, K)`` block, multiclass) or
        ``"surrogate"`` (the true second derivative is zero or undefined and a
        positive stand-in is returned for Newton and boosting steps).
    statistic : str
        What the optimal constant estimates: ``"mean"``, ``"median"``, ...
    """

    convex: bool
    smoothness: float
    lipschitz: float | None
    bounded_gradient: bool
    robust: bool | None
    hessian: str = "exact"
    statistic: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Distribution:
    r"""The likelihood a loss is the negative log of: ``L = -log p(y | y_pred) + c(y)``.

    ``parameter`` is the parameter that the natural-space prediction sets (mean,
    median, probability ...); ``fixed`` holds the others; ``scipy(mu)`` returns the
    frozen ``scipy.stats`` distribution for natural-space predictions ``mu`` (or None
    where SciPy has no such family).
    """

    name: str
    parameter: str
    fixed: dict[str, float] = field(default_factory=dict)
    note: str = ""
    factory: Callable[[Any], Any] | None = field(default=None, repr=False, compare=False)

    def scipy(self, mu: Any) -> Any:
        if self.factory is None:
            return None
        return self.factory(np.asarray(mu, dtype=float))

    def __str__(self) -> str:
        fixed = ", ".join(f"{k}={v:g}" for k, v in self.fixed.items())
        inner = self.parameter + (f"; {fixed}" if fixed else "")
        return f"{self.name}({inner})"


def _outputs(loss: Any, op: str, out: Any, count: int, *inputs: Any
             ) -> tuple[np.ndarray, ...] | None:
    """``out=`` of ``op`` as a tuple of ``count`` arrays, checked where it can be before
    computing: NumPy arrays, writeable, overlapping neither each other nor the inputs.

    Shapes and dtypes are checked against the result (``_deliver``; the fast path
    declines a mismatch, and the reference path then raises).
    """
    if out is None:
        return None
    what = f"out for '{loss.name}'.{op}"
    arrays = (out,) if count == 1 and not isinstance(out, tuple) else out
    if not isinstance(arrays, tuple) or len(arrays) != count:
        expected = "one array" if count == 1 else f"a tuple of {count} arrays"
        raise TypeError(f"{what} must be {expected}; got {type(out).__name__}")
    for k, array in enumerate(arrays):
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{what} must hold NumPy arrays; got {type(array).__name__} "
                            f"at position {k}")
        if not array.flags.writeable:
            raise ValueError(f"{what} must be writeable; position {k} is read-only")
        for other in (*arrays[:k], *(a for a in inputs if isinstance(a, np.ndarray))):
            if _overlap(array, other):
                raise ValueError(f"{what} must not overlap another output or an input "
                                 f"(position {k} does)")
    return arrays


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a`` and ``b`` share an element (interleaved columns of one array do not;
    NumPy's exact test runs only where their bounds overlap)."""
    return bool(np.may_share_memory(a, b) and np.shares_memory(a, b))


def _deliver(loss: Any, op: str, results: tuple[Any, ...],
             out: tuple[np.ndarray, ...] | None) -> tuple[Any, ...]:
    """``results``, or copied into ``out`` (same shapes and dtypes) and ``out`` returned."""
    if out is None:
        return results
    what = f"out for '{loss.name}'.{op}"
    for k, (array, result) in enumerate(zip(out, results, strict=True)):
        if not isinstance(result, np.ndarray):
            raise TypeError(f"{what} needs NumPy inputs; the result is "
                            f"{type(result).__module__}.{type(result).__name__}")
        if array.shape != result.shape or array.dtype != result.dtype:
            raise ValueError(f"{what} at position {k} must have shape {result.shape} and "
                             f"dtype {result.dtype}; got {array.shape} {array.dtype}")
        np.copyto(array, result)
    return out


class _Batch(NamedTuple):
    xp: Any
    y_pred: Any
    y_true: Any
    weight: Any  # None or an array broadcastable to the per-sample values
    out_dtype: Any
    nan_samples: Any = None  # nan_policy="propagate": samples whose outputs are NaN


class Loss:
    r"""Base class of every loss; see the module docstring for the contract.

    Subclasses set the class attributes below, call ``super().__init__`` with the
    common keywords, and implement ``_elementwise``, ``_gradient``, ``_hessian``
    (with respect to what the caller passes when the link is in ``fused_links``,
    else with respect to the natural-space prediction).
    """

    name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    #: LaTeX of the loss, its gradient and Hessian (natural space), for ``show``.
    formula: ClassVar[str] = ""
    gradient_formula: ClassVar[str] = ""
    hessian_formula: ClassVar[str] = ""
    #: Links this loss accepts, and those whose formulas are written out (fused).
    links: ClassVar[tuple[str, ...]] = ("identity",)
    fused_links: ClassVar[frozenset[str]] = frozenset({"identity"})
    #: Natural-space domain of y_pred, and the domain of y_true (elementwise losses).
    y_pred_domain: ClassVar[Interval] = REAL
    y_true_domain: ClassVar[Interval] = REAL
    #: A description of y_pred, used in error messages ("a probability").
    y_pred_meaning: ClassVar[str] = "a real prediction"
    #: The last axis of y_pred holds classes (or tuple members): values drop it.
    multiclass: ClassVar[bool] = False
    #: Each sample's loss depends on its own prediction row alone (elementwise and
    #: multiclass losses). False for structured losses: ranking lists, embedding
    #: tuples, sequences and policy-gradient surrogates, whose inputs have their own
    #: layout; the pointwise generic suite (``tests/test_generic.py``) skips them.
    pointwise: ClassVar[bool] = True

    def __init__(self, *, link: str | Link | None = None, nan_policy: str = "raise") -> None:
        link_object = get_link(link)
        if link_object.name not in self.links:
            raise ValueError(
                f"link for '{self.name}' must be one of {list(self.links)}; "
                f"got {link_object.name!r}"
            )
        self.link: Link = link_object
        self.nan_policy = check_choice(nan_policy, "nan_policy", ("raise", "propagate"),
                                       owner=self.name)

    # ----------------------------------------------------------------- metadata
    @property
    def properties(self) -> Properties:
        """Declared facts for this instance (they depend on parameters and link)."""
        return self._properties()

    def _properties(self) -> Properties:
        raise NotImplementedError

    @property
    def distribution(self) -> Distribution | None:
        """The likelihood this loss is the negative log of, or None."""
        return None

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as keyword arguments that rebuild this loss."""
        params: dict[str, Any] = {}
        for name, parameter in inspect.signature(type(self).__init__).parameters.items():
            if parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
                continue
            value = getattr(self, name)
            params[name] = value.name if isinstance(value, Link) else value
        return params

    def __repr__(self) -> str:
        shown = []
        signature = inspect.signature(type(self).__init__).parameters
        for key, value in self.get_params().items():
            default = signature[key].default
            # A default link of None is the identity; any other default is shown only
            # when the link differs from it.
            implied = "identity" if default is None else default
            if (key == "link" and value == implied) or (key == "nan_policy"
                                                           and value == default):
                continue
            shown.append(f"{key}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return _params_equal(self.get_params(), other.get_params())

    def __hash__(self) -> int:
        return hash((type(self), repr(self)))

    def __sklearn_clone__(self) -> Loss:
        # scikit-learn's clone() rebuilds objects with get_params from their __init__;
        # a loss is cloned whole (custom losses carry functions, not parameters).
        import copy

        return copy.deepcopy(self)

    # --------------------------------------------------------------- public API
    def __call__(
        self,
        y_pred: Any,
        y_true: Any,
        sample_weight: Any = None,
        reduction: str = "mean",
    ) -> Any:
        """The loss, reduced by ``reduction`` (``"mean"``, ``"sum"`` or ``"none"``)."""
        check_choice(reduction, "reduction", REDUCTIONS)
        fast = self._fast(reduction, y_pred, y_true, sample_weight)
        if fast is not None:
            return fast
        batch = self._prepare(y_pred, y_true, sample_weight)
        values = self._values(batch)
        return self._reduce(batch, values, reduction)

    def _fast(self, op: str, y_pred: Any, y_true: Any, sample_weight: Any,
              out: tuple[np.ndarray, ...] | None = None) -> Any:
        """A fused kernel's result for NumPy inputs (``losskit._fast``), or None.

        With ``out`` (checked by ``_outputs``) the kernel writes into those arrays.
        """
        if not (settings.fast and type(y_pred) is np.ndarray
                and y_pred.size >= settings.fast_min_size):
            return None
        from losskit._fast import dispatch

        return dispatch(self, op, y_pred, y_true, sample_weight, out=out)

    def elementwise(self, y_pred: Any, y_true: Any) -> Any:
        """Per-sample losses: ``y_pred``'s shape, less the class axis for multiclass."""
        return self(y_pred, y_true, reduction="none")

    def gradient(self, y_pred: Any, y_true: Any, sample_weight: Any = None, *,
                 out: Any = None) -> Any:
        """``w_i dL_i / dy_pred_i``, the shape of ``y_pred``.

        ``out``: a NumPy array to write the result into and return (see
        ``gradient_hessian``).
        """
        return self._derivative("gradient", y_pred, y_true, sample_weight, out)

    def hessian(self, y_pred: Any, y_true: Any, sample_weight: Any = None, *,
                out: Any = None) -> Any:
        """``w_i d^2 L_i / dy_pred_i^2`` (the diagonal for multiclass).

        ``out``: a NumPy array to write the result into and return (see
        ``gradient_hessian``).
        """
        return self._derivative("hessian", y_pred, y_true, sample_weight, out)

    def _derivative(self, op: str, y_pred: Any, y_true: Any, sample_weight: Any,
                    out: Any) -> Any:
        """``gradient`` or ``hessian`` (``op``): the fast path, else the reference's."""
        targets = _outputs(self, op, out, 1, y_pred, y_true, sample_weight)
        fast = self._fast(op, y_pred, y_true, sample_weight, targets)
        if fast is not None:
            return fast
        batch = self._prepare(y_pred, y_true, sample_weight)
        per_sample = self._gradients(batch) if op == "gradient" else self._hessians(batch)
        return _deliver(self, op, (self._finish(batch, per_sample),), targets)[0]

    def loss_gradient(
        self, y_pred: Any, y_true: Any, sample_weight: Any = None, *, out: Any = None
    ) -> tuple[Any, Any]:
        """(weighted per-sample losses, gradient) in one pass over the inputs.

        ``out``: a pair of NumPy arrays ``(values, gradient)`` to write into and return
        (see ``gradient_hessian``).
        """
        targets = _outputs(self, "loss_gradient", out, 2, y_pred, y_true, sample_weight)
        fast = self._fast("loss_gradient", y_pred, y_true, sample_weight, targets)
        if fast is not None:
            return fast[0], fast[1]
        batch = self._prepare(y_pred, y_true, sample_weight)
        values = self._reduce(batch, self._values(batch), "none")
        value, gradient = _deliver(self, "loss_gradient",
                                   (values, self._finish(batch, self._gradients(batch))),
                                   targets)
        return value, gradient

    def gradient_hessian(
        self, y_pred: Any, y_true: Any, sample_weight: Any = None, *, out: Any = None
    ) -> tuple[Any, Any]:
        """(gradient, Hessian diagonal) in one pass over the inputs.

        ``out``: a pair of NumPy arrays ``(gradient, hessian)`` to write into and
        return, as NumPy's ``out=``: each of the result's shape and dtype, writeable,
        not overlapping each other or the inputs. A loop that passes the same pair at
        every step (boosting rounds, optimiser steps) saves allocating two arrays, and
        the operating system's zeroing of their fresh pages: 0.68 to 0.81 of the time
        at 10^7 float64 elements (``python -m benchmarks.outputs``). NumPy inputs
        only. When the call raises, ``out`` may hold partial results.
        """
        targets = _outputs(self, "gradient_hessian", out, 2, y_pred, y_true, sample_weight)
        fast = self._fast("gradient_hessian", y_pred, y_true, sample_weight, targets)
        if fast is not None:
            return fast[0], fast[1]
        batch = self._prepare(y_pred, y_true, sample_weight)
        gradient, hessian = self._gradients_hessians(batch)
        gradient, hessian = _deliver(
            self, "gradient_hessian",
            (self._finish(batch, gradient), self._finish(batch, hessian)), targets)
        return gradient, hessian

    def optimal_constant(
        self, y_true: Any, sample_weight: Any = None, *, n_classes: int | None = None
    ) -> Any:
        r"""The constant prediction minimising ``sum_i w_i L(c, y_i)``, in ``y_pred`` space.

        A scalar for 1-D targets, one value per column for ``(n, L)`` targets and a
        ``(K,)`` vector for multiclass losses (``n_classes`` when ``y_true`` holds class
        indices and the last class may be absent). Returned as an array of
        ``y_true``'s library. Where the infimum is not attained (a Poisson mean of 0
        with the log link) the limit ``-inf`` is returned.
        """
        if y_true is None:
            raise TypeError(f"y_true for '{self.name}' is required; got None")
        xp = namespace(y_true)
        target = as_array(y_true, "y_true")
        if target.ndim == 0:
            raise ValueError(f"y_true for '{self.name}' must have at least one dimension "
                             "(one entry per sample); got a scalar")
        if math.prod(target.shape) == 0:
            raise ValueError(f"y_true for '{self.name}' is empty")
        y = _array.to_numpy(target).astype(np.float64)
        if not np.all(np.isfinite(y)):
            bad = np.argwhere(~np.isfinite(y))[0]
            raise ValueError(f"y_true for '{self.name}' must be finite; "
                             f"got a non-finite value at index {tuple(int(i) for i in bad)}")
        w = None
        if sample_weight is not None:
            w = _array.to_numpy(as_array(sample_weight, "sample_weight")).astype(np.float64)
            if w.shape != y.shape[: w.ndim] or w.ndim == 0:
                raise ValueError(f"sample_weight must have shape ({y.shape[0]},); "
                                 f"got {w.shape}")
            _check_weights_numpy(w)
        constant = self._optimal_constant_numpy(y, w, n_classes)
        dtype = target.dtype if _array.is_floating(target) else None
        result = np.asarray(constant, dtype=np.float64)
        if xp is np or not _array.is_array_api_obj(y_true):
            return result if dtype is None else result.astype(dtype)
        kwargs = {"device": _array.device(y_true)}
        converted = xp.asarray(result, **kwargs)
        return converted if dtype is None else xp.astype(converted, dtype)

    def optimal_prediction(self, distribution: Any, *, method: str = "auto") -> float:
        """``argmin_c E_{Y ~ distribution}[L(c, Y)]`` for a frozen scipy distribution.

        In ``y_pred`` space; see :func:`losskit.analysis.probabilistic.optimal_prediction`.
        """
        from losskit.analysis.probabilistic import optimal_prediction

        return optimal_prediction(self, distribution, method=method)

    def example(self, n: int = 8, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Valid random ``(y_pred, y_true)`` NumPy float64 inputs for this loss.

        Drawn from the loss's domains (real targets, counts, positive values, binary
        labels ...), for tests, plots and the workbench. Multiclass losses override it.
        """
        rng = np.random.default_rng(seed)
        domain = self.y_true_domain
        if domain.low == 0.0 and domain.high == 1.0:
            y = rng.integers(0, 2, size=n).astype(np.float64)
        elif domain.low == 0.0 and domain.low_inclusive:
            y = rng.poisson(3.0, size=n).astype(np.float64)
        elif domain.low == 0.0:
            y = rng.gamma(2.0, 1.5, size=n)
        else:
            y = rng.normal(0.0, 2.0, size=n)
        pred_domain = self.y_pred_domain
        if pred_domain.low == 0.0 and pred_domain.high == 1.0:
            mu = rng.uniform(0.05, 0.95, size=n)
        elif pred_domain.low == 0.0:
            mu = rng.uniform(0.5, 5.0, size=n)
        else:
            mu = y + rng.normal(0.0, 1.0, size=n)
        if self.link.name == "identity":
            return mu, y
        if self.link.name == "log" and pred_domain.low != 0.0:
            mu = rng.uniform(0.5, 5.0, size=n)
        return np.asarray(self.link.link(mu), dtype=np.float64), y

    # ------------------------------------------------------------ composition
    def __add__(self, other: Any) -> Loss:
        if not isinstance(other, Loss):
            return NotImplemented
        from losskit.compose import SumLoss

        return SumLoss([(1.0, self), (1.0, other)])

    def __mul__(self, factor: Any) -> Loss:
        if isinstance(factor, Loss):
            return NotImplemented
        from losskit.compose import SumLoss

        return SumLoss([(factor, self)])

    __rmul__ = __mul__

    def __truediv__(self, divisor: Any) -> Loss:
        value = check_real(divisor, "divisor", low=0.0, owner=self.name)
        from losskit.compose import SumLoss

        return SumLoss([(1.0 / value, self)])

    # ------------------------------------------------------ subclass interface
    def _elementwise(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        raise NotImplementedError

    def _gradient(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        raise NotImplementedError

    def _hessian(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        raise NotImplementedError

    def _gradient_hessian(self, xp: Any, y_pred: Any, y_true: Any) -> tuple[Any, Any]:
        return self._gradient(xp, y_pred, y_true), self._hessian(xp, y_pred, y_true)

    def _prepare_target(self, xp: Any, y_true: Any, y_pred: Any) -> Any:
        """Check ``y_true``'s shape and convert it; elementwise losses: same shape."""
        if tuple(y_true.shape) != tuple(y_pred.shape):
            raise ValueError(
                f"y_true has shape {tuple(y_true.shape)} but y_pred has shape "
                f"{tuple(y_pred.shape)}; for '{self.name}' they must be equal "
                "(no broadcasting: an (n, 1) against (n,) mix-up would otherwise "
                "silently compare every pair)"
            )
        return xp.astype(y_true, y_pred.dtype)

    def _check_target(self, xp: Any, y_true: Any) -> None:
        """Check the values of a prepared ``y_true`` (finite already checked)."""
        fail_where(
            xp,
            self.y_true_domain.outside(xp, y_true),
            f"y_true for '{self.name}' must be in {self.y_true_domain}",
        )

    def _check_prediction(self, xp: Any, y_pred: Any) -> None:
        """Check the values of ``y_pred`` (finite already checked)."""
        if self.link.name == "identity":
            fail_where(
                xp,
                self.y_pred_domain.outside(xp, y_pred),
                f"y_pred for '{self.name}' must be in {self.y_pred_domain} "
                f"({self.y_pred_meaning})" + self._link_hint(),
            )

    def _link_hint(self) -> str:
        others = [name for name in self.links if name != "identity"]
        if not others:
            return ""
        return f"; pass link={others[0]!r} to give raw scores instead"

    def _normalizer(self, xp: Any, y_true: Any) -> Any:
        """Per-sample weights of the mean's denominator (None: all ones)."""
        return None

    def _optimal_constant(self, y: np.ndarray, w: np.ndarray | None) -> Any:
        """Natural-space argmin for one column of targets (NumPy, float64)."""
        return self._numeric_optimal_constant(y, w)

    # --------------------------------------------------------------- internals
    def _prepare(self, y_pred: Any, y_true: Any, sample_weight: Any) -> _Batch:
        if y_pred is None:
            raise TypeError(f"y_pred for '{self.name}' is required; got None")
        if y_true is None and not self._target_optional():
            raise TypeError(f"y_true for '{self.name}' is required; got None")
        pred = as_array(y_pred, "y_pred")
        xp = namespace(pred)
        compute, out_dtype = _array.compute_dtype(xp, pred)
        if pred.dtype != compute:
            pred = xp.astype(pred, compute)
        if pred.ndim == 0:
            raise ValueError(f"y_pred for '{self.name}' must have at least one dimension "
                             "(one entry per sample); got a scalar")
        if _is_empty(pred):
            raise ValueError(f"y_pred for '{self.name}' is empty: shape {tuple(pred.shape)}")
        # Structured losses take their own layouts (a ranking list may hold one item).
        if self.multiclass and self.pointwise and pred.shape[-1] < 2:
            raise ValueError(f"y_pred for '{self.name}' must have at least 2 classes on its "
                             f"last axis; got shape {tuple(pred.shape)}")
        raw_target = None
        if y_true is not None:
            raw_target = as_array(y_true, "y_true", xp=xp, like=pred)
        inspectable = can_inspect(pred, raw_target)
        if inspectable and self.nan_policy == "raise":
            fail_where(xp, ~xp.isfinite(pred), f"y_pred for '{self.name}' must be finite "
                       "(nan_policy='raise')")
            if raw_target is not None and _array.is_floating(raw_target):
                fail_where(xp, ~xp.isfinite(raw_target),
                           f"y_true for '{self.name}' must be finite (nan_policy='raise')")
        target = None
        if raw_target is not None:
            target = self._prepare_target(xp, raw_target, pred)
        propagate = self.nan_policy == "propagate"
        if inspectable:
            # With nan_policy="propagate" a NaN is not a domain error: it flows through.
            self._check_prediction(
                xp, _nan_to_valid(xp, pred, self.y_pred_domain) if propagate else pred)
            if target is not None:
                self._check_target(
                    xp, _nan_to_valid(xp, target, self.y_true_domain) if propagate else target)
        weight = None
        if sample_weight is not None:
            weight = self._prepare_weight(xp, sample_weight, pred)
        nan_samples = self._nan_samples(xp, pred, raw_target) if propagate else None
        return _Batch(xp, pred, target, weight, out_dtype, nan_samples)

    def _nan_samples(self, xp: Any, pred: Any, raw_target: Any) -> Any:
        """Per-sample mask of NaN inputs: their values, gradients and Hessians are NaN.

        Formulas built from ``where``/``clip``/``maximum`` can turn a NaN into a number
        (a hinge's ``max(0, 1 - y p)``); this mask makes ``propagate`` mean what it says.
        """
        mask = xp.isnan(pred)
        if self.multiclass:
            mask = xp.any(mask, axis=-1)
        if raw_target is not None and _array.is_floating(raw_target):
            target_mask = xp.isnan(raw_target)
            if target_mask.ndim > mask.ndim:
                target_mask = xp.any(target_mask, axis=-1)
            mask = mask | target_mask
        return mask

    def _target_optional(self) -> bool:
        return False

    def _values_shape(self, pred: Any) -> tuple[int, ...]:
        shape = tuple(pred.shape)
        return shape[:-1] if self.multiclass else shape

    def _prepare_weight(self, xp: Any, sample_weight: Any, pred: Any) -> Any:
        weight = as_array(sample_weight, "sample_weight", xp=xp, like=pred)
        shape = self._values_shape(pred)
        ndim = weight.ndim
        if ndim == 0 or ndim > len(shape) or tuple(weight.shape) != shape[:ndim]:
            also = f" or {shape}" if len(shape) > 1 else ""
            raise ValueError(
                f"sample_weight must have shape {shape[:1]} (one weight per sample){also}; "
                f"got {tuple(weight.shape)}"
            )
        weight = xp.astype(weight, pred.dtype)
        if can_inspect(weight):
            fail_where(xp, ~xp.isfinite(weight), "sample_weight must be finite")
            fail_where(xp, weight < 0, "sample_weight must be >= 0")
        return weight

    def _values(self, batch: _Batch) -> Any:
        xp, pred, target = batch.xp, batch.y_pred, batch.y_true
        if self.link.name in self.fused_links:
            return self._elementwise(xp, pred, target)
        return self._elementwise(xp, self.link.inverse(pred), target)

    def _gradients(self, batch: _Batch) -> Any:
        xp, pred, target = batch.xp, batch.y_pred, batch.y_true
        if self.link.name in self.fused_links:
            return self._gradient(xp, pred, target)
        mu = self.link.inverse(pred)
        return _times(xp, self._gradient(xp, mu, target), self.link.inverse_derivative(pred))

    def _hessians(self, batch: _Batch) -> Any:
        return self._gradients_hessians(batch)[1]

    def _gradients_hessians(self, batch: _Batch) -> tuple[Any, Any]:
        xp, pred, target = batch.xp, batch.y_pred, batch.y_true
        if self.link.name in self.fused_links:
            return self._gradient_hessian(xp, pred, target)
        mu = self.link.inverse(pred)
        d1 = self.link.inverse_derivative(pred)
        d2 = self.link.inverse_second_derivative(pred)
        g, h = self._gradient_hessian(xp, mu, target)
        gauss_newton = _times(xp, h, d1 * d1)
        if self.properties.hessian == "surrogate":
            # A stand-in for a zero or undefined second derivative stays positive:
            # the Gauss-Newton term h mu'^2 alone (g mu'' can be negative).
            return _times(xp, g, d1), gauss_newton
        return _times(xp, g, d1), gauss_newton + _times(xp, g, d2)

    def _broadcast_weight(self, xp: Any, weight: Any, like: Any) -> Any:
        extra = like.ndim - weight.ndim
        return xp.reshape(weight, tuple(weight.shape) + (1,) * extra) if extra else weight

    def _propagate_nan(self, batch: _Batch, array: Any) -> Any:
        if batch.nan_samples is None:
            return array
        xp = batch.xp
        mask = self._broadcast_weight(xp, batch.nan_samples, array)
        return xp.where(mask, xp.full_like(array, math.nan), array)

    def _finish(self, batch: _Batch, array: Any) -> Any:
        xp = batch.xp
        array = self._propagate_nan(batch, array)
        if batch.weight is not None:
            array = array * self._broadcast_weight(xp, batch.weight, array)
        if array.dtype != batch.out_dtype:
            array = xp.astype(array, batch.out_dtype)
        return array

    def _reduce(self, batch: _Batch, values: Any, reduction: str) -> Any:
        xp = batch.xp
        if reduction == "none":
            return self._finish(batch, values)
        values = self._propagate_nan(batch, values)
        weight = batch.weight
        if weight is not None:
            weight = self._broadcast_weight(xp, weight, values)
            values = values * weight
        total = xp.sum(values)
        if reduction == "sum":
            return _cast(xp, total, batch.out_dtype)
        normalizer = self._normalizer(xp, batch.y_true)
        if normalizer is None and weight is None:
            count = math.prod(values.shape) if not _has_unknown(values.shape) else None
            denominator = count if count is not None else xp.sum(xp.ones_like(values))
        else:
            ones = xp.ones_like(values)
            norm = ones if normalizer is None else normalizer * ones
            denominator = xp.sum(norm * weight) if weight is not None else xp.sum(norm)
            if can_inspect(denominator) and not bool(denominator > 0):
                raise ValueError(
                    f"the weighted mean of '{self.name}' is undefined: the weights of the "
                    "samples sum to zero (all sample_weight 0, or every target ignored)"
                )
        return _cast(xp, total / denominator, batch.out_dtype)

    def _optimal_constant_numpy(
        self, y: np.ndarray, w: np.ndarray | None, n_classes: int | None
    ) -> Any:
        mu = self._natural_optimum_numpy(y, w, n_classes)
        if self.link.name == "log":
            # exp(z) > 0: a natural optimum <= 0 (real targets) is approached as z -> -inf.
            mu = np.maximum(mu, 0.0)
        with np.errstate(divide="ignore"):
            return _to_link_space(self.link, np.asarray(mu, dtype=np.float64))

    def _natural_optimum_numpy(
        self, y: np.ndarray, w: np.ndarray | None, n_classes: int | None
    ) -> Any:
        xp = namespace(y)
        self._check_target(xp, self._prepare_target(xp, y, np.zeros(y.shape)))
        if y.ndim == 1:
            return self._optimal_constant(y, w)
        columns = y.reshape(y.shape[0], -1)
        out = [self._optimal_constant(columns[:, j], w) for j in range(columns.shape[1])]
        return np.asarray(out).reshape(y.shape[1:])

    def _numeric_optimal_constant(self, y: np.ndarray, w: np.ndarray | None) -> float:
        """Minimise the weighted mean over a constant: a grid, then a local refinement.

        The search interval is the range of the targets, mapped into the natural
        domain. A grid of 257 points finds the best cell (so a non-convex loss does not
        latch onto a local minimum); within it the root of the weighted gradient sum
        (``brentq``, to machine precision) is taken where the slope changes sign, else
        a bounded Brent search of the value.
        """
        from scipy.optimize import brentq, minimize_scalar

        low, high = _search_interval(self.y_pred_domain, y)
        if low == high:
            return low
        identity = _natural_space_twin(self)

        def objective(c: float) -> float:
            return float(identity(np.full(y.shape, c), y, sample_weight=w))

        def slope(c: float) -> float:
            return float(np.sum(identity.gradient(np.full(y.shape, c), y, sample_weight=w)))

        grid = np.linspace(low, high, 257)
        values = np.array([objective(c) for c in grid])
        best = int(np.argmin(values))
        left, right = grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]
        eps = float(np.finfo(np.float64).eps)
        candidates = [float(grid[best])]
        if slope(left) < 0 < slope(right):
            candidates.append(float(brentq(slope, left, right, rtol=4 * eps,
                                           xtol=4 * eps * max(abs(left), abs(right), 1.0))))
        result = minimize_scalar(objective, bounds=(left, right), method="bounded",
                                 options={"xatol": 1e-12 * max(1.0, high - low)})
        candidates.append(float(result.x))
        return min(candidates, key=objective)

    # ------------------------------------------------------------- display
    def _display_formulas(self) -> tuple[str, str, str]:
        """LaTeX of the loss, its gradient and Hessian, as Jupyter shows them."""
        return self.formula, self.gradient_formula, self.hessian_formula

    def _repr_html_(self) -> str:
        """Jupyter: formula, gradient, Hessian and a table of the declared properties."""
        from losskit._display import to_html

        return to_html(self)

    def _repr_latex_(self) -> str:
        """Jupyter (LaTeX front ends): the formulas and the properties on one line."""
        from losskit._display import to_latex

        return to_latex(self)


def _times(xp: Any, factor: Any, link_term: Any) -> Any:
    """``factor * link_term`` with a zero factor giving 0 where ``link_term`` is inf.

    Under the log link ``mu' = e^z`` overflows for ``z > 709``; a derivative that is
    exactly 0 there (Huber's second derivative outside ``delta``) must contribute 0,
    not ``0 * inf = NaN``.
    """
    return factor * xp.where(factor == 0, xp.ones_like(link_term), link_term)


def _natural_space_twin(loss: Loss) -> Loss:
    """The same loss taking natural-space predictions (identity link)."""
    if loss.link.name == "identity":
        return loss
    params = loss.get_params()
    params["link"] = None
    return type(loss)(**params)


def _search_interval(domain: Interval, y: np.ndarray) -> tuple[float, float]:
    low, high = float(np.min(y)), float(np.max(y))
    tiny = 1e-12
    if domain.low > -math.inf:
        low = max(low, domain.low + (0.0 if domain.low_inclusive else tiny))
    if domain.high < math.inf:
        high = min(high, domain.high - (0.0 if domain.high_inclusive else tiny))
    return low, max(low, high)


def _to_link_space(link: Link, mu: np.ndarray) -> np.ndarray:
    if link.name == "identity":
        return mu
    if link.name == "softmax":
        return np.log(mu)
    return np.asarray(link.link(mu))


def _nan_to_valid(xp: Any, array: Any, domain: Interval) -> Any:
    """``array`` with each NaN replaced by a valid value, for the value checks only.

    Under ``nan_policy="propagate"`` the checks then judge the other values alone,
    with exact counts and indices. The stand-in is the largest value already present
    inside ``domain`` (so checks on the set of values, such as labels that must not mix
    0 and -1, still pass), else a point of ``domain``. A prepared target that is not a
    floating array (a multiclass loss's own structure) is returned as it is.
    """
    if not _array.is_array_api_obj(array) or not _array.is_floating(array):
        return array
    nan = xp.isnan(array)
    if not bool(xp.any(nan)):
        return array
    usable = ~domain.outside(xp, array)
    if bool(xp.any(usable)):
        fill = xp.max(xp.where(usable, array, xp.full_like(array, -math.inf)))
    else:
        fill = xp.asarray(_inside_point(domain), dtype=array.dtype, device=_array.device(array))
    return xp.where(nan, fill, array)


def _inside_point(domain: Interval) -> float:
    low, high = domain.low, domain.high
    if math.isinf(low) and math.isinf(high):
        return 0.0
    if math.isinf(high):
        return low + 1.0
    if math.isinf(low):
        return high - 1.0
    return 0.5 * (low + high)


def _check_weights_numpy(w: np.ndarray) -> None:
    if not np.all(np.isfinite(w)):
        raise ValueError("sample_weight must be finite")
    if np.any(w < 0):
        first = int(np.argwhere(w < 0)[0][0])
        raise ValueError(f"sample_weight must be >= 0; got a negative value at index {first}")
    if not np.sum(w) > 0:
        raise ValueError("sample_weight must not sum to zero")


def _is_empty(array: Any) -> bool:
    return any(s == 0 for s in array.shape if s is not None and not _is_nan(s))


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _has_unknown(shape: tuple[Any, ...]) -> bool:
    return any(s is None or _is_nan(s) for s in shape)


def _cast(xp: Any, value: Any, dtype: Any) -> Any:
    return value if value.dtype == dtype else xp.astype(value, dtype)


def _params_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    for key in a:
        left, right = a[key], b[key]
        if isinstance(left, np.ndarray) or isinstance(right, np.ndarray):
            if not np.array_equal(np.asarray(left), np.asarray(right)):
                return False
        elif left != right:
            return False
    return True
