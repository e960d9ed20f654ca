"""Shared machinery of the plots: matplotlib on demand, loss specs, the x-axis of a curve.

A curve plots one loss along one of four axes, chosen from the losses' input spaces:

- ``"residual"``: ``y_pred = e``, ``y_true = 0`` (regression losses of ``e = ŷ - y``);
- ``"margin"``: ``y_true = 1`` (class 0 for multiclass losses) and ``y_pred = m``, the
  raw score of the true class (``[m, 0]`` for multiclass losses, so ``m`` is the gap to
  the other class); probability-space losses are rebuilt with ``link="logit"``
  (``"softmax"``) so that values, gradients and Hessians are all along ``m``;
- ``"probability"``: the predicted probability ``p`` of the true class (``[p, 1 - p]``
  for multiclass losses; scores ``logit(p)`` for losses on scores);
- ``"prediction"``: ``y_pred`` itself at a fixed ``y_true`` (deviances, log links).
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from losskit.core import Loss
from losskit.links import REAL, UNIT
from losskit.registry import get, loss_class

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

AXES = ("residual", "margin", "probability", "prediction")

X_LABELS = {
    "residual": "residual ŷ − y",
    "margin": "margin y·f",
    "probability": "predicted probability of the true class",
}
DEFAULT_LIMITS = {
    "residual": (-3.0, 3.0),
    "margin": (-3.0, 3.0),
    "probability": (0.01, 0.99),
}
MISSING_MATPLOTLIB = ('losskit.plot needs matplotlib: pip install "losskit[plot]" '
                      "(or pip install matplotlib)")


def figure_class() -> type[Figure]:
    """``matplotlib.figure.Figure``, or an ImportError naming the extra to install."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(MISSING_MATPLOTLIB) from error
    return Figure


def new_figure(width: float, height: float) -> Figure:
    """A figure of the object API: no pyplot state, nothing pops up."""
    return figure_class()(figsize=(width, height), layout="constrained")


def root_figure(ax: Axes) -> Figure:
    """The top-level Figure that holds ``ax`` (``ax`` may live in a SubFigure)."""
    figure_type = figure_class()
    holder: Any = ax.figure
    while not isinstance(holder, figure_type):
        holder = holder.figure
    return holder


def axes_or_new(ax: Axes | None, width: float = 6.4, height: float = 4.4
                ) -> tuple[Figure, Axes]:
    if ax is None:
        figure = new_figure(width, height)
        return figure, figure.add_subplot()
    figure_class()
    if not hasattr(ax, "plot") or not hasattr(ax, "figure"):
        raise TypeError(f"ax must be a matplotlib Axes; got {type(ax).__name__}")
    return root_figure(ax), ax


# ------------------------------------------------------------------ loss specs
class Curve(NamedTuple):
    """A loss to draw and the label of its line."""

    loss: Loss
    label: str


def loss_label(loss: Loss) -> str:
    """``Huber(delta=1.0)``: the class, its shape parameters and any non-default one.

    Shape parameters (a nonzero number by default: ``delta``, ``q``, ``gamma`` ...)
    are always shown; others (``eps=None``, ``label_smoothing=0.0``) when set.
    """
    if type(loss).__repr__ is not Loss.__repr__:  # compositions say it best themselves
        return repr(loss)
    name = type(loss).__name__
    try:
        signature = dict(inspect.signature(type(loss).__init__).parameters)
        params = loss.get_params()
    except (TypeError, ValueError):
        return name
    shown = []
    for key, value in params.items():
        parameter = signature.get(key)
        default = inspect.Parameter.empty if parameter is None else parameter.default
        if key == "nan_policy" or (key == "link" and value in (default, "identity")):
            continue
        shape = (isinstance(default, int | float) and not isinstance(default, bool)
                 and default != 0)
        if not shape and default is not inspect.Parameter.empty and _same(value, default):
            continue
        shown.append(f"{key}={value!r}")
    return f"{name}({', '.join(shown)})" if shown else name


def _same(value: Any, default: Any) -> bool:
    try:
        return bool(np.all(np.asarray(value == default)))
    except (TypeError, ValueError):
        return False


def resolve(losses: Any, argument: str = "losses") -> list[Curve]:
    """Losses and labels from a spec.

    A spec is a loss name (``"huber"``), a ``Loss``, a ``(name, params)`` pair whose
    list-valued numeric parameters are swept (``("huber", {"delta": [0.5, 1, 2]})`` is
    three curves), a list of those, or a dict: ``{name: params}`` (``{"huber":
    {"delta": 2}}``) or ``{label: spec}`` (``{"robust": "huber"}``) where a value is no
    dict.
    """
    pair = (isinstance(losses, tuple) and len(losses) == 2
            and isinstance(losses[1], Mapping))
    if isinstance(losses, str | Loss) or pair:
        items: list[tuple[str | None, Any]] = [(None, losses)]
    elif isinstance(losses, Mapping):
        items = []
        for key, value in losses.items():
            if isinstance(value, Mapping):
                items.append((None, (key, value)))
            else:
                items.append((str(key), value))
    elif isinstance(losses, Iterable):
        items = [(None, item) for item in losses]
    else:
        raise TypeError(f"{argument} must be a loss name, a Loss, a (name, params) pair, "
                        f"a list of those or a dict; got {type(losses).__name__}")
    if not items:
        raise ValueError(f"{argument} is empty: give at least one loss")
    curves: list[Curve] = []
    for label, spec in items:
        built = _build(spec, argument)
        for loss in built:
            if label is None:
                text = loss_label(loss)
            else:
                text = label if len(built) == 1 else f"{label}: {loss_label(loss)}"
            curves.append(Curve(loss, text))
    return curves


def _build(spec: Any, argument: str) -> list[Loss]:
    if isinstance(spec, Loss):
        return [spec]
    if isinstance(spec, str):
        return [get(spec)]
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], Mapping):
        name, params = spec
        if not isinstance(name, str):
            raise TypeError(f"{argument}: the first item of a (name, params) pair must be "
                            f"a loss name; got {type(name).__name__}")
        keys = list(params)
        signature = inspect.signature(loss_class(name).__init__).parameters
        values = [_sweep(params[key], signature.get(key)) for key in keys]
        return [get(name, **dict(zip(keys, combo, strict=True)))
                for combo in itertools.product(*values)]
    raise TypeError(f"{argument} holds {spec!r}: expected a loss name, a Loss or a "
                    "(name, params) pair")


def _sweep(value: Any, parameter: inspect.Parameter | None) -> list[Any]:
    """The values of one parameter: a list sweeps a scalar parameter (``delta``, ``q``).

    A parameter whose default is not a number (``class_weight=None``) takes its list
    as one value.
    """
    default = None if parameter is None else parameter.default
    scalar = isinstance(default, int | float) and not isinstance(default, bool)
    if scalar and isinstance(value, list | tuple | np.ndarray):
        return list(value)
    return [value]


# ------------------------------------------------------------------- x-axes
def native_axis(loss: Loss) -> str:
    """The axis a loss's input lives on (see the module docstring)."""
    if not loss.pointwise:
        raise ValueError(f"'{loss.name}' is a structured loss (its inputs have their own "
                         "layout): it has no curve over a residual or a margin")
    link = loss.link.name
    labels = loss.y_true_domain
    binary = labels.low >= -1.0 and labels.high <= 1.0
    if loss.multiclass:
        return "probability" if link == "identity" and loss.y_pred_domain == UNIT else "margin"
    if binary:
        if link == "logit" or (link == "identity" and loss.y_pred_domain == REAL):
            return "margin"
        return "probability"
    if link == "identity" and loss.y_pred_domain == REAL and labels == REAL:
        return "residual"
    return "prediction"


def common_axis(curves: list[Curve], x: str | None, *, allowed: tuple[str, ...] = AXES
                ) -> str:
    """The axis every curve is drawn on: ``x``, or the one their input spaces share."""
    if x is not None:
        if x not in allowed:
            raise ValueError(f"x must be one of {list(allowed)} or None; got {x!r}")
        return x
    kinds = {native_axis(curve.loss) for curve in curves}
    if len(kinds) == 1:
        (kind,) = kinds
    elif kinds <= {"margin", "probability"}:
        kind = "margin"  # the classic figure: logistic, hinge, exponential over y·f
    else:
        listed = ", ".join(f"{c.label} ({native_axis(c.loss)})" for c in curves)
        raise ValueError(f"losses live on different axes and cannot share a plot: {listed}; "
                         "plot them separately or pass x=")
    if kind == "probability" and kind not in allowed and "margin" in allowed:
        kind = "margin"  # derivatives along the logit: losses on probabilities get the link
    if kind not in allowed:
        raise ValueError(f"x={kind!r} is not available here (choose one of {list(allowed)})")
    return kind


def on_axis(curve: Curve, kind: str) -> Curve:
    """The curve's loss rebuilt so that its input is the axis (probability -> logit)."""
    loss = curve.loss
    if kind != "margin" or native_axis(loss) != "probability":
        return curve
    link = "softmax" if loss.multiclass else "logit"
    if link not in loss.links:
        raise ValueError(f"'{loss.name}' takes probabilities and has no {link!r} link: it "
                         "cannot be drawn over the margin (pass x='probability')")
    params = loss.get_params()
    if "link" not in params:
        raise ValueError(f"'{loss.name}' cannot be rebuilt with link={link!r}; "
                         "pass x='probability'")
    params["link"] = link
    rebuilt = type(loss)(**params)
    label = loss_label(rebuilt) if curve.label == loss_label(loss) else curve.label
    return Curve(rebuilt, label)


def limits_of(kind: str, limits: Any, curves: list[Curve]) -> tuple[float, float]:
    if limits is None:
        if kind == "prediction":
            log = any(c.loss.link.name == "log" for c in curves)
            return (-2.0, 3.0) if log else (0.05, 6.0)
        return DEFAULT_LIMITS[kind]
    try:
        low, high = (float(v) for v in limits)
    except (TypeError, ValueError):
        raise TypeError(f"limits must be a pair of numbers (low, high); got {limits!r}"
                        ) from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"limits must be finite with low < high; got {limits!r}")
    if kind == "probability" and not (0.0 < low and high < 1.0):
        raise ValueError(f"limits for x='probability' must lie inside (0, 1); got {limits!r}")
    return low, high


def x_label(kind: str, curves: list[Curve], y_true: float) -> str:
    if kind != "prediction":
        return X_LABELS[kind]
    links = {c.loss.link.name for c in curves}
    what = "raw score z" if links != {"identity"} else "prediction ŷ"
    return f"{what} (y = {y_true:g})"


def inputs(loss: Loss, kind: str, x: np.ndarray, y_true: float
           ) -> tuple[np.ndarray, np.ndarray]:
    """``(y_pred, y_true)`` that put ``loss`` at the points ``x`` of the axis ``kind``."""
    n = x.shape[0]
    if loss.multiclass:
        # One-hot rows of class 0: every multiclass loss takes them (KL needs rows).
        target = np.stack([np.ones(n), np.zeros(n)], axis=-1)
        if kind == "probability":
            if native_axis(loss) == "probability":
                return np.stack([x, 1.0 - x], axis=-1), target
            return np.stack([np.log(x), np.log1p(-x)], axis=-1), target
        return np.stack([x, np.zeros(n)], axis=-1), target
    if kind == "residual":
        return x.copy(), np.zeros(n)
    if kind == "prediction":
        return x.copy(), np.full(n, float(y_true))
    ones = np.ones(n)
    if kind == "probability" and native_axis(loss) != "probability":
        return np.log(x) - np.log1p(-x), ones  # the score whose sigmoid is p
    return x.copy(), ones


def along(loss: Loss, kind: str, x: np.ndarray, y_true: float, what: str) -> np.ndarray:
    """Values, gradients or Hessians of ``loss`` at the points ``x`` of the axis."""
    y_pred, target = inputs(loss, kind, x, y_true)
    if what == "value":
        out = loss.elementwise(y_pred, target)
    elif what == "gradient":
        out = loss.gradient(y_pred, target)
    else:
        out = loss.hessian(y_pred, target)
    out = np.asarray(out, dtype=np.float64)
    if loss.multiclass and what != "value":
        out = out[..., 0]  # the true class's own score: d/dm with the other score fixed
    return out


def check_positive_int(value: Any, name: str, low: int = 2) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
    return int(value)
