"""How fits with different losses react as a growing share of targets is corrupted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from losskit.linear_model import fit
from losskit.plot._common import check_positive_int, new_figure, resolve

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DEFAULT_CONTAMINATION = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)


def outlier_sensitivity(
    losses: Any = ("squared_error", "absolute_error", ("huber", {"delta": 1.0})),
    *,
    contamination: Sequence[float] | np.ndarray = DEFAULT_CONTAMINATION,
    n_samples: int = 200,
    slope: float = 2.0,
    intercept: float = 1.0,
    noise: float = 0.5,
    outlier_value: float = -30.0,
    seed: int = 0,
    title: str | None = "Sensitivity to outliers",
) -> Figure:
    """Fitted slope of a line against the fraction of corrupted targets, per loss.

    Data: ``x`` uniform on ``[0, 10]``, ``y = slope x + intercept + noise N(0, 1)``.
    A growing, nested share of the samples (the ``contamination`` fractions, drawn at
    random) has its target replaced by a gross error: ``outlier_value`` plus the same
    noise. Each loss fits ``y ≈ w x + b`` with ``lk.fit`` at every level. The squared
    error's slope drifts with the contamination; robust losses (absolute error, Huber)
    stay near the true slope until most targets are corrupted.

    Returns
    -------
    matplotlib.figure.Figure
        Two Axes: the data at the largest contamination with each loss's fitted line
        (and the true line, dashed); the fitted slope against the contamination, one
        line per loss, with the true slope as a dashed horizontal line.

    Examples
    --------
    >>> import losskit as lk
    >>> figure = lk.plot.outlier_sensitivity(["mse", "huber"], contamination=[0, 0.2])
    >>> [line.get_label() for line in figure.axes[1].lines]
    ['SquaredError', 'Huber(delta=1.0)', 'true slope']
    """
    curves = resolve(losses)
    for curve in curves:
        loss = curve.loss
        if loss.multiclass or loss.y_true_domain.low > -np.inf or loss.link.name != "identity":
            raise ValueError(f"losses: '{loss.name}' (link={loss.link.name!r}) is not a "
                             "regression loss of real targets; outlier_sensitivity fits a line")
    levels = np.array(contamination, dtype=np.float64)
    if levels.ndim != 1 or levels.size == 0 or not np.all((levels >= 0) & (levels < 1)):
        raise ValueError(f"contamination must be fractions in [0, 1); got {contamination!r}")
    n_samples = check_positive_int(n_samples, "n_samples", low=3)
    for name, value in (("slope", slope), ("intercept", intercept), ("noise", noise),
                        ("outlier_value", outlier_value)):
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite; got {value!r}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0; got {noise!r}")

    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 10.0, n_samples)
    errors = noise * rng.standard_normal(n_samples)
    clean = slope * x + intercept + errors
    order = rng.permutation(n_samples)  # the first k of it are corrupted: nested sets
    features = x[:, None]

    fitted = np.empty((len(curves), levels.size))
    last_fits: list[tuple[float, float]] = []
    for j, level in enumerate(levels):
        y = clean.copy()
        corrupted = order[: int(np.rint(level * n_samples))]
        y[corrupted] = outlier_value + errors[corrupted]
        for i, curve in enumerate(curves):
            result = fit(features, y, curve.loss)
            fitted[i, j] = result.coef[0]
            if j == levels.size - 1:
                last_fits.append((float(result.coef[0]), float(result.intercept)))

    figure = new_figure(12.0, 4.6)
    data_axes, slope_axes = figure.subplots(1, 2)
    worst = int(np.rint(levels[-1] * n_samples))
    outliers = np.zeros(n_samples, dtype=bool)
    outliers[order[:worst]] = True
    data_axes.scatter(x[~outliers], clean[~outliers], s=12, color="0.5", label="clean")
    if worst:
        data_axes.scatter(x[outliers], outlier_value + errors[outliers], s=12,
                          color="tab:red", marker="x", label="corrupted")
    line_x = np.array([0.0, 10.0])
    for curve, (w, b) in zip(curves, last_fits, strict=True):
        data_axes.plot(line_x, w * line_x + b, linewidth=2, label=curve.label)
    data_axes.plot(line_x, slope * line_x + intercept, color="black", linestyle="--",
                   linewidth=1, label="true line")
    data_axes.set_xlabel("x")
    data_axes.set_ylabel("y")
    data_axes.set_title(f"Fits at {levels[-1]:.0%} corrupted targets")
    data_axes.legend(fontsize=8)

    for curve, row in zip(curves, fitted, strict=True):
        slope_axes.plot(levels, row, marker="o", linewidth=2, label=curve.label)
    slope_axes.axhline(slope, color="black", linestyle="--", linewidth=1, label="true slope")
    slope_axes.set_xlabel("fraction of corrupted targets")
    slope_axes.set_ylabel("fitted slope w")
    slope_axes.set_title("Fitted slope as contamination grows")
    slope_axes.legend(fontsize=8)
    slope_axes.grid(True, alpha=0.3)
    if title:
        figure.suptitle(title)
    return figure
