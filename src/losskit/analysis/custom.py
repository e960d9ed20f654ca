r"""Custom losses: a full ``Loss`` from one element-wise function.

``custom(fn, name=...)`` (or the decorator ``@loss``) turns

.. math:: L(\hat y, y) = \texttt{fn}(\hat y, y, xp)

written with the array-API namespace ``xp`` it is handed (``xp.abs``, ``xp.where``,
``xp.log1p`` ...) into a loss like the built-in ones: reductions and sample weights,
links by the chain rule, every array library, ``optimal_constant``, ``example``,
``repr``, equality, pickling and, on request, a place in the registry.

Derivatives the user does not write come from automatic differentiation, chosen by
the inputs (``losskit.analysis._autodiff``):

- torch tensors: ``torch.autograd`` (on their device and in their dtype);
- JAX arrays: ``jax.grad`` and ``jax.jvp`` (also under ``jax.jit``);
- anything else (NumPy, array_api_strict, CuPy, Dask): JAX in float64 where it is
  installed, else torch in float64, the result converted back to the caller's
  library, device and dtype;
- neither installed: finite differences (the complex step where ``fn`` accepts
  complex numbers), with a :class:`NumericalDerivativeWarning` once per loss.

Because ``fn`` is element-wise, the gradient of ``sum_i L_i`` is the per-sample
gradient and the gradient of the sum of that gradient is the Hessian's diagonal: one
backward pass each, whatever the number of samples.

>>> import numpy as np
>>> from losskit.analysis import custom
>>> def cauchy(y_pred, y_true, xp):
...     return xp.log1p((y_pred - y_true) ** 2)
>>> robust = custom(cauchy, name="cauchy", smoothness=float("inf"), lipschitz=1.0)
>>> robust
Cauchy()
>>> robust.gradient(np.array([0.0, 1.0, -1.0]), np.zeros(3))  # 2e / (1 + e^2)
array([ 0.,  1., -1.])
"""

from __future__ import annotations

import contextlib
import math
import re
import sys
import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, overload

from array_api_compat import array_namespace, is_array_api_obj

from losskit import _array, registry
from losskit._params import check_real
from losskit.analysis import _autodiff
from losskit.core import Loss, Properties
from losskit.links import REAL, Interval

__all__ = ["CustomLoss", "NumericalDerivativeWarning", "custom", "loss"]

#: ``fn(y_pred, y_true, xp)``: one value per entry of ``y_pred``.
Elementwise = Callable[[Any, Any, Any], Any]

#: Links a custom loss may take: element-wise ones (``softmax`` mixes the classes).
ELEMENTWISE_LINKS = ("identity", "log", "logit")
_NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
_FACTS = ("convex", "smoothness", "lipschitz", "bounded_gradient", "robust", "hessian",
          "statistic")


class NumericalDerivativeWarning(UserWarning):
    """A custom loss's derivatives come from finite differences (no jax or torch)."""


@dataclass(frozen=True)
class Definition:
    """What a custom loss is made of; equal definitions give the same loss class."""

    fn: Elementwise
    name: str
    gradient: Elementwise | None
    hessian: Elementwise | None
    links: tuple[str, ...]
    y_true_domain: Interval
    y_pred_domain: Interval
    properties: Properties

    def __reduce__(self) -> tuple[Any, ...]:
        # Functions pickle by reference; one decorated with @loss is no longer reachable
        # under its own name (the name now holds the loss), so it goes through the loss.
        return (Definition, (_reference(self.fn, "fn"), self.name,
                             _reference(self.gradient, "gradient"),
                             _reference(self.hessian, "hessian"), self.links,
                             self.y_true_domain, self.y_pred_domain, self.properties))


class CustomLoss(Loss):
    """Base class of the losses built by :func:`custom`: one subclass per definition.

    The subclass carries the definition (``fn``, derivatives, links, domains,
    declared properties); instances differ only in ``link`` and ``nan_policy``.
    ``type(loss)(link="log")`` is the same loss on raw scores.
    """

    _definition: ClassVar[Definition]
    _warned: ClassVar[bool] = False

    def __init__(self, *, link: str | None = None, nan_policy: str = "raise") -> None:
        if getattr(type(self), "_definition", None) is None:
            raise TypeError("CustomLoss is built by losskit.custom(fn, name=...) or the "
                            "@losskit.loss decorator, not directly")
        super().__init__(link=link, nan_policy=nan_policy)

    @property
    def fn(self) -> Elementwise:
        """The element-wise function ``fn(y_pred, y_true, xp)`` this loss is made of."""
        return self._definition.fn

    def _properties(self) -> Properties:
        declared = self._definition.properties
        link = self.link.name
        if link == "identity":
            return declared
        # Convexity need not survive a link; the chain rule scales the gradient by
        # d mu / d eta: exp(eta) (unbounded) for log, mu (1 - mu) <= 1/4 for logit.
        if link == "log":
            return replace(declared, convex=False, lipschitz=None, bounded_gradient=False)
        bound = declared.lipschitz
        return replace(declared, convex=False, lipschitz=None if bound is None else bound / 4)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self._definition, self.get_params()))

    # ------------------------------------------------------------ formulas
    def _elementwise(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        return self._evaluate("fn", self._definition.fn, xp, y_pred, y_true)

    def _gradient(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        definition = self._definition
        if definition.gradient is not None:
            return self._evaluate("gradient", definition.gradient, xp, y_pred, y_true)
        return self._derive("fn", definition.fn, y_pred, y_true, order=1)[0]

    def _hessian(self, xp: Any, y_pred: Any, y_true: Any) -> Any:
        definition = self._definition
        if definition.hessian is not None:
            return self._evaluate("hessian", definition.hessian, xp, y_pred, y_true)
        if definition.gradient is not None:  # differentiate the user's own gradient
            return self._derive("gradient", definition.gradient, y_pred, y_true, order=1)[0]
        return self._derive("fn", definition.fn, y_pred, y_true, order=2)[1]

    def _gradient_hessian(self, xp: Any, y_pred: Any, y_true: Any) -> tuple[Any, Any]:
        definition = self._definition
        if definition.gradient is None and definition.hessian is None:
            return self._derive("fn", definition.fn, y_pred, y_true, order=2)
        return self._gradient(xp, y_pred, y_true), self._hessian(xp, y_pred, y_true)

    # ----------------------------------------------------------- internals
    def _hessians(self, batch: Any) -> Any:
        # Without a link the Hessian alone is needed: no gradient pass (autodiff or fn).
        if self.link.name == "identity":
            return self._hessian(batch.xp, batch.y_pred, batch.y_true)
        return super()._hessians(batch)

    def _checked(self, role: str, func: Elementwise) -> Elementwise:
        name = self.name

        def call(y_pred: Any, y_true: Any, xp: Any) -> Any:
            return _check_output(name, role, func(y_pred, y_true, xp), y_pred)

        return call

    def _evaluate(self, role: str, func: Elementwise, xp: Any, y_pred: Any, y_true: Any
                  ) -> Any:
        out = self._checked(role, func)(y_pred, y_true, xp)
        if not _array.is_floating(out):
            if _array._dtype_kind(out) not in ("i", "u", "b"):
                raise TypeError(f"custom loss '{self.name}': {role} returned dtype "
                                f"{out.dtype}; it must return real numbers")
            return xp.astype(out, y_pred.dtype)
        return out if out.dtype == y_pred.dtype else xp.astype(out, y_pred.dtype)

    def _derive(self, role: str, func: Elementwise, y_pred: Any, y_true: Any, *,
                order: int) -> tuple[Any, Any]:
        engine = _autodiff.engine_for(y_pred)
        if engine == "numerical":
            self._warn_numerical()
        return _autodiff.derivatives(self._checked(role, func), y_pred, y_true, order=order,
                                     engine=engine, domain=self.y_pred_domain)

    def _warn_numerical(self) -> None:
        cls = type(self)
        if cls._warned:
            return
        cls._warned = True
        # Point at the user's line, past the frames of losskit itself.
        frame, level = sys._getframe(0), 1
        while frame.f_back is not None and frame.f_globals.get(
                "__name__", "").startswith("losskit"):
            frame, level = frame.f_back, level + 1
        warnings.warn(NumericalDerivativeWarning(
            f"custom loss '{self.name}': neither jax nor torch is installed, so its missing "
            "derivatives are computed by finite differences (the complex step where fn "
            "accepts complex numbers), to about 1e-10 relative instead of to rounding. "
            "Install jax or torch (pip install 'losskit[jax]'), or pass gradient= and "
            "hessian=."), stacklevel=level)


def custom(
    fn: Elementwise,
    *,
    name: str,
    gradient: Elementwise | None = None,
    hessian: Elementwise | None = None,
    links: Sequence[str] | str = ("identity",),
    link: str | None = None,
    y_true_domain: Interval | tuple[float, float] = REAL,
    y_pred_domain: Interval | tuple[float, float] = REAL,
    properties: Properties | Mapping[str, Any] | None = None,
    convex: bool | None = None,
    smoothness: float | None = None,
    lipschitz: float | None = None,
    bounded_gradient: bool | None = None,
    robust: bool | None = None,
    hessian_kind: str | None = None,
    statistic: str | None = None,
    nan_policy: str = "raise",
    register: bool = False,
) -> CustomLoss:
    r"""A loss from an element-wise function ``fn(y_pred, y_true, xp)``.

    Parameters
    ----------
    fn : callable
        ``fn(y_pred, y_true, xp)`` returns the loss of each entry: an array of
        ``y_pred``'s shape and library, computed with the namespace ``xp`` only
        (``xp.abs``, ``xp.where``, ``xp.maximum`` ...; not ``np.`` or ``torch.``).
        ``y_pred`` is in the natural space (after the link).
    name : str
        snake_case name (``"my_loss"``): shown in errors, registered under it with
        ``register=True``. The class is named after it (``MyLoss``).
    gradient, hessian : callable, optional
        ``d fn / d y_pred`` and ``d^2 fn / d y_pred^2``, same signature. Missing ones
        come from automatic differentiation (torch for torch tensors, JAX for JAX
        arrays, else JAX or torch in float64); the Hessian of a loss with a given
        ``gradient`` differentiates that gradient. Without jax and torch, finite
        differences, with a :class:`NumericalDerivativeWarning` once per loss. With
        autodiff beware ``xp.where(mask, f(x), ...)`` where ``f`` is not finite off
        the mask (``sqrt`` of a negative): its NaN derivative leaks through.
    links : sequence of str
        The links the loss accepts besides ``"identity"`` (always accepted):
        ``"log"``, ``"logit"``. The link is applied by the chain rule.
    link : str, optional
        The link of the returned instance; default the first of ``links``.
        ``type(loss)(link=...)`` gives the others.
    y_true_domain, y_pred_domain : Interval or (low, high)
        Where targets and natural-space predictions live, checked on every call
        (``(low, high)`` is closed at finite ends). Also used by ``example()``,
        ``optimal_constant`` and the step of finite differences.
    properties : Properties or mapping, optional
        Declared facts (see :class:`losskit.Properties`); or give them as keywords:
    convex, smoothness, lipschitz, bounded_gradient, robust, hessian_kind, statistic
        Undeclared facts take conservative defaults: not convex, smoothness 0, no
        Lipschitz constant, gradient not bounded (bounded when ``lipschitz`` is given),
        ``robust=None``, ``hessian_kind="exact"`` (``"surrogate"`` needs a ``hessian``
        that returns a positive stand-in), ``statistic="unknown"``. Nothing checks
        them here: ``lk.check(loss)`` verifies them numerically. Under a link,
        ``convex`` is dropped and the Lipschitz constant rescaled (``log``: none).
    nan_policy : {"raise", "propagate"}
        As for every loss.
    register : bool
        Enrol the loss in the registry under ``name`` (``lk.get(name)``,
        ``lk.list_losses()``); a name already taken by another loss is a ValueError.
        ``losskit.registry.unregister(name)`` removes it.

    Returns
    -------
    CustomLoss
        A ``Loss``: ``loss(y_pred, y_true, sample_weight, reduction)``, ``gradient``,
        ``hessian``, ``optimal_constant`` (the base class's numerical minimiser over
        the targets' range: the argmin for a convex loss whose minimiser lies there),
        ``example()``, ``properties``. Equal definitions give equal losses. Pickling
        works when ``fn`` and the derivatives are module-level functions (pickle stores
        functions by reference); lambdas and nested functions do not pickle (cloudpickle
        copies them).

    Examples
    --------
    >>> import numpy as np
    >>> def asymmetric(y_pred, y_true, xp):  # under-prediction costs three times more
    ...     error = y_pred - y_true
    ...     return xp.where(error < 0, -3.0 * error, error)
    >>> loss = custom(asymmetric, name="three_to_one", convex=True, lipschitz=3.0)
    >>> loss.elementwise(np.array([1.0, 4.0]), np.array([2.0, 2.0]))
    array([3., 2.])
    >>> loss.gradient(np.array([1.0, 4.0]), np.array([2.0, 2.0]))
    array([-3.,  1.])
    >>> loss.properties.convex, loss.properties.bounded_gradient
    (True, True)
    """
    if not callable(fn):
        raise TypeError(f"fn for a custom loss must be callable, fn(y_pred, y_true, xp); "
                        f"got {type(fn).__name__}")
    name = _check_name(name)
    for role, func in (("gradient", gradient), ("hessian", hessian)):
        if func is not None and not callable(func):
            raise TypeError(f"{role} for custom loss '{name}' must be callable or None; "
                            f"got {type(func).__name__}")
    accepted, default_link = _check_links(name, links, link)
    facts = {"convex": convex, "smoothness": smoothness, "lipschitz": lipschitz,
             "bounded_gradient": bounded_gradient, "robust": robust,
             "hessian": hessian_kind, "statistic": statistic}
    declared = _declared_properties(name, properties, facts)
    if declared.hessian == "surrogate" and hessian is None:
        raise ValueError(f"custom loss '{name}' declares hessian_kind='surrogate' without a "
                         "hessian function: pass hessian= returning the positive stand-in")
    definition = Definition(
        fn=fn, name=name, gradient=gradient, hessian=hessian, links=accepted,
        y_true_domain=_interval(name, y_true_domain, "y_true_domain"),
        y_pred_domain=_interval(name, y_pred_domain, "y_pred_domain"),
        properties=declared,
    )
    cls = _loss_class(definition)
    instance = cls(link=default_link, nan_policy=nan_policy)
    if register:
        _register(cls)
    return instance


@overload
def loss(fn: Elementwise, /) -> CustomLoss: ...


@overload
def loss(fn: None = None, /, **options: Any) -> Callable[[Elementwise], CustomLoss]: ...


def loss(fn: Elementwise | None = None, /, **options: Any
         ) -> CustomLoss | Callable[[Elementwise], CustomLoss]:
    """Decorator form of :func:`custom`: ``@loss`` or ``@loss(name=..., convex=True, ...)``.

    Without ``name`` the loss is named after the function. The decorated name then
    holds the loss (a :class:`CustomLoss`), which still pickles by reference.

    >>> import numpy as np
    >>> @loss(smoothness=float("inf"), convex=True, statistic="mean")
    ... def quartic(y_pred, y_true, xp):
    ...     return (y_pred - y_true) ** 4
    >>> quartic
    Quartic()
    >>> quartic.gradient(np.array([2.0]), np.array([1.0]))  # 4 e^3
    array([4.])
    """
    if fn is not None:
        if isinstance(fn, str):
            raise TypeError(f"loss() takes the function to decorate; for a name write "
                            f"@loss(name={fn!r})")
        options.setdefault("name", _default_name(fn))
        return custom(fn, **options)

    def decorate(function: Elementwise) -> CustomLoss:
        return custom(function, **{"name": _default_name(function), **options})

    return decorate


# ------------------------------------------------------------ construction
def _check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name of a custom loss must be a str; got {type(name).__name__}")
    if not _NAME.fullmatch(name):
        raise ValueError("name of a custom loss must be non-empty snake_case (lowercase "
                         "letters and digits in words joined by '_', starting with a letter, "
                         f"e.g. 'my_loss'); got {name!r}")
    return name


def _default_name(fn: Any) -> str:
    name = getattr(fn, "__name__", None)
    if not callable(fn) or not isinstance(name, str) or name == "<lambda>":
        shown = "a lambda" if name == "<lambda>" else f"a {type(fn).__name__}"
        raise TypeError(f"a custom loss needs name=...: fn is {shown} without a usable "
                        "__name__")
    return name


def _check_links(name: str, links: Sequence[str] | str, link: str | None
                 ) -> tuple[tuple[str, ...], str]:
    given = (links,) if isinstance(links, str) else tuple(links)
    if link is not None:
        given = (*given, link)
    for each in given:
        if each not in ELEMENTWISE_LINKS:
            why = " (softmax is not element-wise)" if each == "softmax" else ""
            raise ValueError(f"links for custom loss '{name}' must be among "
                             f"{list(ELEMENTWISE_LINKS)}{why}; got {each!r}")
    accepted = tuple(dict.fromkeys(("identity", *given)))
    default = link if link is not None else (given[0] if given else "identity")
    return accepted, default


def _interval(name: str, value: Any, what: str) -> Interval:
    if isinstance(value, Interval):
        return value
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        low = check_real(value[0], f"{what}[0]", owner=name, low=-math.inf, high=math.inf,
                         low_inclusive=True, high_inclusive=True)
        high = check_real(value[1], f"{what}[1]", owner=name, low=-math.inf, high=math.inf,
                          low_inclusive=True, high_inclusive=True)
        if not low < high:
            raise ValueError(f"{what} for custom loss '{name}' must have low < high; "
                             f"got {tuple(value)}")
        return Interval(low, high, math.isfinite(low), math.isfinite(high))
    raise TypeError(f"{what} for custom loss '{name}' must be a losskit.links.Interval or "
                    f"a (low, high) pair; got {value!r}")


def _declared_properties(name: str, properties: Any, facts: dict[str, Any]) -> Properties:
    given = {key: value for key, value in facts.items() if value is not None}
    if properties is not None and given:
        raise TypeError(f"custom loss '{name}': give its facts either as properties= or as "
                        f"keywords, not both (got both properties= and {sorted(given)})")
    if isinstance(properties, Properties):
        given = properties.to_dict()
    elif isinstance(properties, Mapping):
        unknown = sorted(set(properties) - set(_FACTS))
        if unknown:
            raise TypeError(f"properties for custom loss '{name}' has unknown keys "
                            f"{unknown}; known: {list(_FACTS)}")
        given = {key: value for key, value in properties.items() if value is not None}
    elif properties is not None:
        raise TypeError(f"properties for custom loss '{name}' must be a Properties or a "
                        f"mapping; got {type(properties).__name__}")
    lipschitz = given.get("lipschitz")
    if lipschitz is not None:
        lipschitz = check_real(lipschitz, "lipschitz", low=0.0, low_inclusive=True,
                               owner=name)
    bounded = given.get("bounded_gradient", lipschitz is not None)
    if lipschitz is not None and bounded is False:
        raise ValueError(f"custom loss '{name}' declares lipschitz={lipschitz:g} and "
                         "bounded_gradient=False: a Lipschitz constant bounds the gradient")
    smoothness = check_real(given.get("smoothness", 0), "smoothness", low=0.0,
                            high=math.inf, low_inclusive=True, high_inclusive=True,
                            owner=name)
    hessian_kind = given.get("hessian", "exact")
    if hessian_kind not in ("exact", "surrogate"):
        raise ValueError(f"hessian_kind for custom loss '{name}' must be 'exact' or "
                         f"'surrogate'; got {hessian_kind!r}")
    robust = given.get("robust")
    statistic = given.get("statistic", "unknown")
    for fact, value, allowed in (("convex", given.get("convex", False), (True, False)),
                                 ("bounded_gradient", bounded, (True, False)),
                                 ("robust", robust, (True, False, None))):
        if not any(value is choice for choice in allowed):
            raise TypeError(f"{fact} for custom loss '{name}' must be one of {allowed}; "
                            f"got {value!r}")
    if not isinstance(statistic, str):
        raise TypeError(f"statistic for custom loss '{name}' must be a str; got {statistic!r}")
    return Properties(
        convex=given.get("convex", False),
        smoothness=int(smoothness) if smoothness.is_integer() else smoothness,
        lipschitz=lipschitz,
        bounded_gradient=bounded,
        robust=robust,
        hessian=hessian_kind,
        statistic=statistic,
    )


_CLASSES: weakref.WeakValueDictionary[Definition, type[CustomLoss]] = (
    weakref.WeakValueDictionary())


def _loss_class(definition: Definition) -> type[CustomLoss]:
    """The CustomLoss subclass of ``definition``: one per definition, so equal losses
    (and pickled copies) share their type."""
    try:
        cls = _CLASSES.get(definition)
    except TypeError:  # an unhashable callable: the definition gets a class of its own
        cls = None
    if cls is not None:
        return cls
    class_name = "".join(part.capitalize() for part in definition.name.split("_"))
    domain = definition.y_pred_domain
    namespace = {
        "__doc__": getattr(definition.fn, "__doc__", None)
        or f"Custom loss '{definition.name}' built from {_describe(definition.fn)}.",
        "__module__": __name__,
        "__qualname__": class_name,
        "name": definition.name,
        "links": definition.links,
        "y_pred_domain": domain,
        "y_true_domain": definition.y_true_domain,
        "y_pred_meaning": "a real prediction" if domain == REAL else f"a value in {domain}",
        "_definition": definition,
        "_warned": False,
    }
    cls = type(class_name, (CustomLoss,), namespace)
    with contextlib.suppress(TypeError):
        _CLASSES[definition] = cls
    return cls


def _register(cls: type[CustomLoss]) -> None:
    name = cls.name
    if name in registry.list_losses() or name in registry.aliases():
        existing = registry.loss_class(name)
        if existing is cls:
            return  # the same definition again (a re-run cell): nothing to do
        raise ValueError(
            f"cannot register custom loss '{name}': the name is taken by "
            f"{existing.__module__}.{existing.__qualname__}; choose another name, or "
            f"call losskit.registry.unregister({name!r}) first")
    registry.register(name)(cls)


def _describe(fn: Any) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


# ------------------------------------------------------------ validation
def _check_output(name: str, role: str, out: Any, y_pred: Any) -> Any:
    """``out`` if it is an array of ``y_pred``'s library and shape, else a clear error."""
    if not is_array_api_obj(out):
        raise TypeError(
            f"custom loss '{name}': {role} returned {type(out).__name__}, not an array; it "
            "must return one value per entry of y_pred as an array of the inputs' library, "
            "computed with the xp argument (xp.abs, xp.where, ...)")
    if array_namespace(out) is not array_namespace(y_pred):
        raise TypeError(
            f"custom loss '{name}': {role} returned a {_library(out)} array for "
            f"{_library(y_pred)} inputs; compute it with the xp argument (xp.exp, not "
            "np.exp) so that it works on every array library")
    if not _same_shape(tuple(out.shape), tuple(y_pred.shape)):
        raise ValueError(
            f"custom loss '{name}': {role} returned shape {tuple(out.shape)} for y_pred of "
            f"shape {tuple(y_pred.shape)}; it must be element-wise, one value per entry of "
            "y_pred (no sum or mean: reductions are the loss's job)")
    return out


def _same_shape(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    def known(size: Any) -> bool:
        return isinstance(size, int) and size >= 0

    return len(a) == len(b) and all(x == y or not (known(x) and known(y))
                                    for x, y in zip(a, b, strict=True))


def _library(array: Any) -> str:
    return type(array).__module__.split(".")[0]


# ------------------------------------------------------------------ pickling
class _DecoratedFunction:
    """Pickles as "the ``role`` function of the custom loss at ``module.qualname``"."""

    def __init__(self, module: str, qualname: str, role: str) -> None:
        self.where = (module, qualname, role)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_decorated_function, self.where)


def _lookup(module_name: str, qualname: str) -> Any:
    target: Any = sys.modules.get(module_name)
    if target is None:
        import importlib

        target = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part, None)
    return target


def _reference(function: Any, role: str) -> Any:
    """``function``, or a stand-in where ``@loss`` replaced it by the loss in its module."""
    module, qualname = getattr(function, "__module__", None), getattr(function, "__qualname__",
                                                                      None)
    if function is None or not isinstance(module, str) or not isinstance(qualname, str):
        return function
    if module not in sys.modules or "<" in qualname:
        return function
    holder = _lookup(module, qualname)
    if isinstance(holder, CustomLoss) and getattr(holder._definition, role) is function:
        return _DecoratedFunction(module, qualname, role)
    return function


def _decorated_function(module: str, qualname: str, role: str) -> Any:
    holder = _lookup(module, qualname)
    if not isinstance(holder, CustomLoss):
        raise TypeError(f"cannot unpickle the custom loss: {module}.{qualname} is no longer "
                        "a custom loss")
    return getattr(holder._definition, role)


def _rebuild(definition: Definition, params: dict[str, Any]) -> CustomLoss:
    return _loss_class(definition)(**params)
