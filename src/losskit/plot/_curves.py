"""Curves of losses, gradients and Hessians along a residual, a margin or a probability."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from losskit.plot._common import (
    Curve,
    along,
    axes_or_new,
    check_positive_int,
    common_axis,
    limits_of,
    new_figure,
    on_axis,
    resolve,
    root_figure,
    x_label,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: The probabilities of the true class the seed page prints the log loss for.
SEED_PROBABILITIES = (0.99, 0.9, 0.7, 0.5, 0.3, 0.1, 0.01)

_DERIVATIVE = {"margin": "m", "probability": "p"}


def losses(
    losses: Any,
    *,
    x: str | None = None,
    limits: tuple[float, float] | None = None,
    n_points: int = 601,
    y_true: float = 2.0,
    ax: Axes | None = None,
    title: str | None = "Loss functions",
) -> Figure:
    """Loss curves of one or several losses over a residual, a margin or a probability.

    Parameters
    ----------
    losses
        A loss name, a ``Loss``, a ``(name, params)`` pair (list-valued parameters are
        swept: ``("huber", {"delta": [0.5, 1, 2]})`` draws three curves), a list of
        those, or a dict ``{name: params}`` / ``{label: loss}``.
    x
        ``"residual"`` (``ŷ − y``, regression losses), ``"margin"`` (``y·f``: margin
        losses and classification losses on logits; losses on probabilities are drawn
        with their logit link), ``"probability"`` (of the true class) or
        ``"prediction"`` (``ŷ`` at ``y_true``: deviances, log links). By default the
        axis the losses' inputs share.
    limits
        ``(low, high)`` of the x-axis; by default ``(-3, 3)``, ``(0.01, 0.99)`` for
        probabilities.
    n_points
        Points per curve.
    y_true
        The target held fixed on the ``"prediction"`` axis.
    ax
        Draw into this Axes instead of a new figure.
    title
        The Axes title (None for none).

    Returns
    -------
    matplotlib.figure.Figure
        One line per loss, labelled with the loss and its parameters.

    Examples
    --------
    >>> import losskit as lk
    >>> figure = lk.plot.losses(["mse", "mae", ("huber", {"delta": [0.5, 2.0]})])
    >>> [line.get_label() for line in figure.axes[0].lines]
    ['SquaredError', 'AbsoluteError', 'Huber(delta=0.5)', 'Huber(delta=2.0)']
    """
    figure, axes = axes_or_new(ax)
    _draw(axes, losses, "value", x=x, limits=limits, n_points=n_points, y_true=y_true,
          title=title)
    return figure


def gradients(
    losses: Any,
    *,
    hessian: bool = False,
    x: str | None = None,
    limits: tuple[float, float] | None = None,
    n_points: int = 601,
    y_true: float = 2.0,
    ax: Axes | Sequence[Axes] | np.ndarray | None = None,
    title: str | None = "Gradients of loss functions",
) -> Figure:
    """Gradient curves ``dL/dŷ``; with ``hessian=True`` a second panel of Hessians.

    Takes the arguments of :func:`losses` (``x="probability"`` excepted: derivatives
    are with respect to the axis). ``ax`` is one Axes, or two with ``hessian=True``.
    Hessian curves of losses whose ``properties.hessian`` is ``"surrogate"`` (the
    positive stand-in for a zero or undefined second derivative) are dashed and
    labelled as such.

    >>> import losskit as lk
    >>> figure = lk.plot.gradients(["mse", "mae"], hessian=True)
    >>> [a.get_title() for a in figure.axes]
    ['Gradients of loss functions', 'Hessians of loss functions']
    """
    if not hessian:
        if isinstance(ax, Sequence | np.ndarray):
            raise TypeError("ax must be one Axes (a pair of Axes only with hessian=True)")
        figure, axes = axes_or_new(ax)
        _draw(axes, losses, "gradient", x=x, limits=limits, n_points=n_points,
              y_true=y_true, title=title)
        return figure
    if ax is None:
        figure = new_figure(11.0, 4.4)
        left, right = figure.subplots(1, 2)
    else:
        pair = list(ax) if isinstance(ax, Sequence | np.ndarray) else []
        if len(pair) != 2 or not all(hasattr(a, "plot") for a in pair):
            raise TypeError("ax with hessian=True must be a pair of Axes (gradient, Hessian)")
        left, right = pair
        figure = root_figure(left)
    _draw(left, losses, "gradient", x=x, limits=limits, n_points=n_points, y_true=y_true,
          title=title)
    _draw(right, losses, "hessian", x=x, limits=limits, n_points=n_points, y_true=y_true,
          title="Hessians of loss functions")
    return figure


def hessians(
    losses: Any,
    *,
    x: str | None = None,
    limits: tuple[float, float] | None = None,
    n_points: int = 601,
    y_true: float = 2.0,
    ax: Axes | None = None,
    title: str | None = "Hessians of loss functions",
) -> Figure:
    """Hessian curves ``d²L/dŷ²``; surrogate Hessians dashed and labelled as such.

    Takes the arguments of :func:`gradients`.

    >>> import losskit as lk
    >>> figure = lk.plot.hessians(["mse", "mae"])
    >>> [line.get_label() for line in figure.axes[0].lines]
    ['SquaredError', 'AbsoluteError (surrogate Hessian)']
    """
    figure, axes = axes_or_new(ax)
    _draw(axes, losses, "hessian", x=x, limits=limits, n_points=n_points, y_true=y_true,
          title=title)
    return figure


def confidence_penalty(
    losses: Any = "binary_cross_entropy",
    *,
    limits: tuple[float, float] = (0.01, 0.99),
    n_points: int = 599,
    points: Sequence[float] | None = SEED_PROBABILITIES,
    ax: Axes | None = None,
    title: str | None = "Loss against confidence in the true class",
) -> Figure:
    """The loss against the predicted probability of the true class.

    A classification loss (binary or multiclass, on probabilities, logits or scores)
    evaluated where the model gives the true class probability ``p``: ``-log p`` for
    cross-entropy, which grows without bound as a wrong prediction gets confident.
    ``points`` (default: the probabilities the seed page prints) are marked on each
    curve, and annotated with their values when there is one loss. Losses on scores
    are evaluated at ``logit(p)``.

    >>> import losskit as lk
    >>> figure = lk.plot.confidence_penalty("bce")
    >>> line = figure.axes[0].lines[0]
    >>> round(float(line.get_ydata()[0]), 3)  # -log(0.01)
    4.605
    """
    figure, axes = axes_or_new(ax)
    curves = resolve(losses)
    common_axis(curves, "probability")
    for curve in curves:
        if curve.loss.y_true_domain.high > 1.0 and not curve.loss.multiclass:
            raise ValueError(f"losses: '{curve.loss.name}' is not a classification loss; "
                             "confidence_penalty takes losses of a class probability")
    low, high = limits_of("probability", limits, curves)
    n_points = check_positive_int(n_points, "n_points")
    grid = np.linspace(low, high, n_points)
    marked = np.asarray([] if points is None else points, dtype=np.float64)
    if marked.size and not np.all((marked > 0.0) & (marked < 1.0)):
        raise ValueError(f"points must be probabilities in (0, 1); got {list(marked)}")
    grid = np.union1d(grid, marked)
    marks = [int(np.searchsorted(grid, p)) for p in marked]
    for curve in curves:
        values = along(curve.loss, "probability", grid, 1.0, "value")
        axes.plot(grid, values, label=curve.label, linewidth=2,
                  marker="o" if marks else None, markevery=marks or None)
        if len(curves) == 1:
            for index in marks:
                right = grid[index] > 0.8  # keep the labels of 0.9 and 0.99 apart
                axes.annotate(f"p={grid[index]:g}: {values[index]:.3f}",
                              (grid[index], values[index]), textcoords="offset points",
                              xytext=(-8, 14 if grid[index] > 0.95 else 6) if right
                              else (6, 4), ha="right" if right else "left", fontsize=8)
    axes.set_xlabel("predicted probability of the true class")
    axes.set_ylabel("loss L")
    _finish(axes, title)
    return figure


# ------------------------------------------------------------------ drawing
def _draw(axes: Axes, losses: Any, what: str, *, x: str | None, limits: Any,
          n_points: int, y_true: float, title: str | None) -> None:
    allowed = ("residual", "margin", "prediction")
    curves = resolve(losses)
    kind = common_axis(curves, x) if what == "value" else common_axis(curves, x,
                                                                     allowed=allowed)
    curves = [on_axis(curve, kind) for curve in curves]
    low, high = limits_of(kind, limits, curves)
    n_points = check_positive_int(n_points, "n_points")
    grid = np.linspace(low, high, n_points)
    for curve in curves:
        values = along(curve.loss, kind, grid, y_true, what)
        axes.plot(grid, values, **_style(curve, what))
    axes.set_xlabel(x_label(kind, curves, y_true))
    wrt = _DERIVATIVE.get(kind, "ŷ")
    axes.set_ylabel({"value": "loss L", "gradient": f"gradient ∂L/∂{wrt}",
                     "hessian": f"Hessian ∂²L/∂{wrt}²"}[what])
    _finish(axes, title)


def _style(curve: Curve, what: str) -> dict[str, Any]:
    style: dict[str, Any] = {"label": curve.label, "linewidth": 2}
    if what == "hessian" and curve.loss.properties.hessian == "surrogate":
        style.update(label=f"{curve.label} (surrogate Hessian)", linestyle="--")
    return style


def _finish(axes: Axes, title: str | None) -> None:
    if title:
        axes.set_title(title)
    axes.legend()
    axes.grid(True, alpha=0.3)
