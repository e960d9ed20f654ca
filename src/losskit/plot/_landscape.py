"""The empirical risk of a linear model over two of its parameters: surface and contours."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from losskit.core import Loss
from losskit.linear_model import fit
from losskit.links import REAL
from losskit.plot._common import check_positive_int, loss_label, new_figure, resolve

if TYPE_CHECKING:
    from matplotlib.figure import Figure

INTERCEPT = "intercept"
#: Elements of the (samples x grid points) block evaluated at once.
_BLOCK = 1_000_000


def landscape(
    loss: Any,
    X: Any,
    y: Any,
    *,
    parameters: tuple[int | str, int | str] = (0, INTERCEPT),
    ranges: tuple[tuple[float, float], tuple[float, float]] | None = None,
    resolution: int = 100,
    sample_weight: Any = None,
    tolerance: float = 0.01,
    title: str | None = None,
) -> Figure:
    r"""The empirical risk over two parameters of a linear model: surface and contours.

    The model predicts ``X @ coef + intercept`` (raw scores: the loss's link maps them,
    so use ``link="logit"`` for binary cross-entropy), and the empirical risk
    :math:`\mathcal L(\theta) = \sum_i w_i L(h_\theta(x_i), y_i) / \sum_i w_i` is
    computed over a grid of the two ``parameters``, every other parameter held at the
    fit (``lk.fit``). The minimiser is drawn: a point, or the whole line of minimisers
    when the two parameters move the predictions along one direction only (a single
    sample, or a constant feature beside the intercept: the seed page's ``w + b = 2``).
    The region where the risk is within ``tolerance`` of its range above the minimum
    is shaded: for piecewise-linear losses (absolute error, quantile) it shows the flat
    valley of near-minimisers.

    Parameters
    ----------
    loss
        A loss name, a ``Loss`` or a ``(name, params)`` pair: one loss.
    X
        Features, shape ``(n,)`` or ``(n, d)``.
    y
        Targets, shape ``(n,)``.
    parameters
        The two parameters on the axes: coefficient indices and/or ``"intercept"``.
        Default ``(0, "intercept")``: the slope ``w`` and the bias ``b``.
    ranges
        ``((low, high), (low, high))`` of the two axes; by default a box around the
        minimiser.
    resolution
        Grid points per axis.
    sample_weight
        Weights of the samples in the empirical risk.
    tolerance
        Shade the grid cells whose risk is below ``min + tolerance * (max - min)``;
        0 to shade nothing.
    title
        The figure's title; by default "Empirical risk of <loss>".

    Returns
    -------
    matplotlib.figure.Figure
        Two Axes: the 3-D surface, then the contours with the minimiser(s).

    Examples
    --------
    >>> import numpy as np, losskit as lk
    >>> figure = lk.plot.landscape("mse", np.array([1.0]), np.array([2.0]),
    ...                            ranges=((-2, 4), (-2, 4)))
    >>> [line.get_label() for line in figure.axes[1].lines]
    ['minimisers (a line)']
    """
    curves = resolve(loss, "loss")
    if len(curves) != 1:
        raise ValueError(f"loss must be one loss; got {len(curves)}")
    model_loss = curves[0].loss
    _check_loss(model_loss)
    features, target, weight = _check_data(X, y, sample_weight)
    first, second = _check_parameters(parameters, features.shape[1])
    resolution = check_positive_int(resolution, "resolution", low=3)
    if not (isinstance(tolerance, int | float) and 0.0 <= tolerance < 1.0):
        raise ValueError(f"tolerance must be a number in [0, 1); got {tolerance!r}")

    columns = np.column_stack([_column(features, first), _column(features, second)])
    offset = _fixed_part(model_loss, features, target, weight, first, second)
    risk = _Risk(model_loss, columns, offset, target, weight)
    theta = risk.minimise()
    box = _check_ranges(ranges, theta)
    grid_first = np.linspace(*box[0], resolution)
    grid_second = np.linspace(*box[1], resolution)
    mesh_first, mesh_second = np.meshgrid(grid_first, grid_second)
    surface = risk.on_grid(mesh_first.ravel(), mesh_second.ravel()).reshape(mesh_first.shape)
    best = int(np.argmin(surface))
    if surface.flat[best] < risk.value(theta):  # a non-convex risk: restart from the grid
        theta = risk.minimise(np.array([mesh_first.flat[best], mesh_second.flat[best]]))
    direction = _flat_direction(columns, weight)

    figure = new_figure(13.0, 5.2)
    names = _names(first, second, features.shape[1])
    _draw(figure, mesh_first, mesh_second, surface, theta, risk.value(theta), direction,
          box, names, tolerance, model_loss.properties.smoothness >= 1)
    figure.suptitle(title if title is not None else
                    f"Empirical risk of {loss_label(model_loss)}")
    return figure


# --------------------------------------------------------------- checking
def _check_loss(loss: Loss) -> None:
    if loss.multiclass or not loss.pointwise:
        raise ValueError(f"loss: '{loss.name}' is not a loss of one real prediction per "
                         "sample; landscape plots linear models with one output")
    if loss.link.name == "identity" and loss.y_pred_domain != REAL:
        links = [link for link in loss.links if link != "identity"]
        hint = f" (pass link={links[0]!r})" if links else ""
        raise ValueError(f"loss: '{loss.name}' takes {loss.y_pred_meaning}, but a linear "
                         f"model predicts any real number{hint}")


def _check_data(X: Any, y: Any, sample_weight: Any
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    features = np.array(X, dtype=np.float64)  # a copy: the caller's X is never touched
    if features.ndim == 1:
        features = features[:, None]
    if features.ndim != 2 or features.shape[0] == 0 or features.shape[1] == 0:
        raise ValueError(f"X must have shape (n,) or (n, d) with n, d >= 1; "
                         f"got {np.shape(X)}")
    target = np.array(y, dtype=np.float64)
    if target.shape != (features.shape[0],):
        raise ValueError(f"y must have shape ({features.shape[0]},) (one target per row of "
                         f"X); got {target.shape}")
    for name, array in (("X", features), ("y", target)):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must be finite")
    if sample_weight is None:
        return features, target, np.ones(target.shape[0])
    weight = np.array(sample_weight, dtype=np.float64)
    if weight.shape != target.shape:
        raise ValueError(f"sample_weight must have shape {target.shape}; got {weight.shape}")
    if not (np.all(np.isfinite(weight)) and np.all(weight >= 0) and np.sum(weight) > 0):
        raise ValueError("sample_weight must be finite, >= 0 and not all zero")
    return features, target, weight


def _check_parameters(parameters: Any, d: int) -> tuple[int | str, int | str]:
    valid = [*range(d), INTERCEPT]
    try:
        first, second = parameters
    except (TypeError, ValueError):
        raise ValueError(f"parameters must be a pair from {valid}; got {parameters!r}"
                         ) from None
    for item in (first, second):
        if item not in valid or isinstance(item, bool):
            raise ValueError(f"parameters must be a pair from {valid} (coefficient indices "
                             f"of X's {d} column(s), or 'intercept'); got {parameters!r}")
    if first == second:
        raise ValueError(f"parameters must be two different parameters; got {parameters!r}")
    return first, second


def _check_ranges(ranges: Any, theta: np.ndarray) -> list[tuple[float, float]]:
    if ranges is None:
        half = np.maximum(2.0, 1.5 * np.abs(theta))
        return [(float(t - h), float(t + h)) for t, h in zip(theta, half, strict=True)]
    try:
        box = [(float(low), float(high)) for low, high in ranges]
    except (TypeError, ValueError):
        raise ValueError(f"ranges must be ((low, high), (low, high)); got {ranges!r}"
                         ) from None
    if len(box) != 2 or not all(np.isfinite(b).all() and b[0] < b[1] for b in box):
        raise ValueError(f"ranges must be two finite (low, high) pairs with low < high; "
                         f"got {ranges!r}")
    return box


# ------------------------------------------------------------------ model
def _column(features: np.ndarray, parameter: int | str) -> np.ndarray:
    if parameter == INTERCEPT:
        return np.ones(features.shape[0])
    return features[:, int(parameter)]


def _fixed_part(loss: Loss, features: np.ndarray, target: np.ndarray, weight: np.ndarray,
                first: int | str, second: int | str) -> np.ndarray:
    """The predictions of the parameters not on the axes, held at the fit."""
    if features.shape[1] == 1 and {first, second} == {0, INTERCEPT}:
        return np.zeros(features.shape[0])
    result = fit(features, target, loss, sample_weight=weight)
    coef, intercept = np.array(result.coef, dtype=np.float64), float(result.intercept)
    for parameter in (first, second):
        if parameter == INTERCEPT:
            intercept = 0.0
        else:
            coef[int(parameter)] = 0.0
    return np.asarray(features @ coef + intercept)


class _Risk:
    """``R(t1, t2) = sum_i w_i L(offset_i + t1 a_i + t2 c_i, y_i) / sum_i w_i``."""

    def __init__(self, loss: Loss, columns: np.ndarray, offset: np.ndarray,
                 target: np.ndarray, weight: np.ndarray) -> None:
        self.loss, self.columns, self.offset = loss, columns, offset
        self.target, self.weight = target, weight
        self.total = float(np.sum(weight))

    def on_grid(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """The risk at many points at once: samples down, grid points across."""
        n = self.target.shape[0]
        step = max(1, _BLOCK // n)
        out = np.empty(first.shape[0])
        for start in range(0, first.shape[0], step):
            stop = min(start + step, first.shape[0])
            pred = (self.offset[:, None] + self.columns[:, :1] * first[None, start:stop]
                    + self.columns[:, 1:] * second[None, start:stop])
            targets = np.broadcast_to(self.target[:, None], pred.shape)
            values = self.loss(pred, targets, sample_weight=self.weight, reduction="none")
            out[start:stop] = np.sum(np.asarray(values), axis=0) / self.total
        return out

    def value(self, theta: np.ndarray) -> float:
        return float(self.on_grid(theta[:1], theta[1:])[0])

    def value_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        pred = self.offset + self.columns @ theta
        values, gradient = self.loss.loss_gradient(pred, self.target, self.weight)
        return (float(np.sum(values)) / self.total,
                self.columns.T @ np.asarray(gradient) / self.total)

    def minimise(self, start: np.ndarray | None = None) -> np.ndarray:
        from scipy.optimize import minimize

        if start is None:
            start, *_ = np.linalg.lstsq(self.columns, self.target - self.offset, rcond=None)
        result = minimize(self.value_gradient, start, jac=True, method="L-BFGS-B",
                          options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 2000})
        theta = np.asarray(result.x, dtype=np.float64)
        if self.loss.properties.smoothness < 1:  # kinks: a derivative-free polish
            polished = minimize(self.value, theta, method="Nelder-Mead",
                                options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 4000})
            if polished.fun <= self.value(theta):
                theta = np.asarray(polished.x, dtype=np.float64)
        return theta


def _flat_direction(columns: np.ndarray, weight: np.ndarray) -> np.ndarray | None:
    """A direction of the two parameters that leaves every prediction unchanged, or None."""
    _, singular, rows = np.linalg.svd(columns[weight > 0])  # rows: (2, 2), orthonormal
    if singular[0] == 0:
        return None  # both columns zero: every point minimises; the shading shows it
    if singular.shape[0] < 2 or singular[1] <= 1e-10 * singular[0]:
        return np.asarray(rows[1])
    return None


def _names(first: int | str, second: int | str, d: int) -> tuple[str, str]:
    def name(parameter: int | str) -> str:
        if parameter == INTERCEPT:
            return "bias b"
        return "weight w" if d == 1 else f"coefficient w[{parameter}]"

    return name(first), name(second)


def _segment(theta: np.ndarray, direction: np.ndarray, box: list[tuple[float, float]]
             ) -> tuple[np.ndarray, np.ndarray] | None:
    """The part of the line ``theta + t direction`` inside the box (None: it misses)."""
    low_t, high_t = -np.inf, np.inf
    for k in range(2):
        if abs(direction[k]) < 1e-15:
            continue
        crossings = sorted(((box[k][0] - theta[k]) / direction[k],
                            (box[k][1] - theta[k]) / direction[k]))
        low_t, high_t = max(low_t, crossings[0]), min(high_t, crossings[1])
    if low_t > high_t:
        return None
    ends = np.array([low_t, high_t])
    return theta[0] + ends * direction[0], theta[1] + ends * direction[1]


# ---------------------------------------------------------------- drawing
def _draw(figure: Figure, mesh_first: np.ndarray, mesh_second: np.ndarray,
          surface: np.ndarray, theta: np.ndarray, minimum: float,
          direction: np.ndarray | None, box: list[tuple[float, float]],
          names: tuple[str, str], tolerance: float, smooth: bool) -> None:
    from matplotlib.patches import Patch

    surface_axes = figure.add_subplot(1, 2, 1, projection="3d")
    surface_axes.plot_surface(mesh_first, mesh_second, surface, cmap="viridis", alpha=0.8)
    surface_axes.set_xlabel(names[0])
    surface_axes.set_ylabel(names[1])
    surface_axes.set_zlabel("empirical risk")
    surface_axes.set_title("Loss surface")

    contour_axes = figure.add_subplot(1, 2, 2)
    contours = contour_axes.contour(mesh_first, mesh_second, surface, levels=20,
                                    cmap="viridis")
    contour_axes.clabel(contours, inline=True, fontsize=8)
    handles: list[Any] = []
    low, high = float(np.min(surface)), float(np.max(surface))
    if tolerance > 0 and high > low:
        level = low + tolerance * (high - low)
        contour_axes.contourf(mesh_first, mesh_second, surface, levels=[low, level],
                              colors=["tab:red"], alpha=0.25)
        handles.append(Patch(color="tab:red", alpha=0.25,
                             label=f"risk ≤ min + {tolerance:g}·(max − min)"))
    segment = None if direction is None else _segment(theta, direction, box)
    if segment is not None:
        first, second = segment
        contour_axes.plot(first, second, color="red", linewidth=2,
                          label="minimisers (a line)")
        surface_axes.plot(first, second, [minimum, minimum], color="red", linewidth=3,
                          label="minimisers (a line)")
    elif direction is None:
        # A kinked risk (absolute error, quantile) may have a whole set of minimisers.
        article = "a " if not smooth else ""
        label = f"{article}minimiser ({theta[0]:.4g}, {theta[1]:.4g})"
        contour_axes.plot([theta[0]], [theta[1]], marker="*", markersize=14, color="red",
                          linestyle="none", label=label)
        surface_axes.plot([theta[0]], [theta[1]], [minimum], marker="*", markersize=12,
                          color="red", linestyle="none", label=label)
    contour_axes.set_xlim(*box[0])
    contour_axes.set_ylim(*box[1])
    contour_axes.set_xlabel(names[0])
    contour_axes.set_ylabel(names[1])
    contour_axes.set_title("Loss contours")
    contour_axes.legend(handles=[*contour_axes.get_lines(), *handles], loc="upper right")
