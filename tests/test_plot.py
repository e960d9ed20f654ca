"""Image tests of losskit.plot: each figure has the axes, lines, labels and data expected.

The figures are inspected as objects (Axes, Line2D, legends), not compared as pixels:
what a curve plots is checked against the loss itself, and the landscape's minimiser
against the closed form of least squares.
"""

import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import losskit as lk  # noqa: E402
from losskit.plot._landscape import _Risk  # noqa: E402


def xdata(line) -> np.ndarray:
    return np.asarray(line.get_xdata(), dtype=np.float64)


def ydata(line) -> np.ndarray:
    return np.asarray(line.get_ydata(), dtype=np.float64)


def labels(axes):
    return [line.get_label() for line in axes.lines]


def legend_texts(axes):
    legend = axes.get_legend()
    assert legend is not None
    return [text.get_text() for text in legend.get_texts()]


# ------------------------------------------------------------------ laziness
def test_lk_plot_is_an_attribute_that_imports_matplotlib_only_to_draw():
    code = ("import sys, losskit as lk\n"
            "module = lk.plot\n"
            "print(module.__name__, 'matplotlib' in sys.modules)\n"
            "module.losses('mse')\n"
            "print('matplotlib' in sys.modules, 'matplotlib.pyplot' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["losskit.plot", "False", "True", "False"]


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r'pip install "losskit\[plot\]"'):
        lk.plot.losses("mse")


def test_unknown_attribute_of_losskit_still_raises():
    with pytest.raises(AttributeError, match="no attribute 'plott'"):
        lk.plott  # noqa: B018


# --------------------------------------------------------------- loss curves
def test_losses_draws_one_labelled_line_per_loss_with_the_loss_values():
    figure = lk.plot.losses(["mse", "mae", ("huber", {"delta": [0.5, 2.0]})],
                            limits=(-4, 4), n_points=81)
    assert isinstance(figure, matplotlib.figure.Figure)
    (axes,) = figure.axes
    assert labels(axes) == ["SquaredError", "AbsoluteError", "Huber(delta=0.5)",
                            "Huber(delta=2.0)"]
    assert legend_texts(axes) == labels(axes)
    assert axes.get_xlabel() == "residual ŷ − y"
    assert axes.get_ylabel() == "loss L"
    assert axes.get_title() == "Loss functions"
    x = xdata(axes.lines[0])
    assert x[0] == -4 and x[-1] == 4 and x.size == 81
    huber = lk.get("huber", delta=0.5)
    np.testing.assert_allclose(ydata(axes.lines[2]), huber.elementwise(x, np.zeros(81)))
    np.testing.assert_allclose(ydata(axes.lines[0]), x**2)


def test_loss_specs_names_objects_pairs_and_dicts():
    figure = lk.plot.losses({"robust": "huber", "quantile": {"q": 0.9},
                             "mine": lk.get("mse")})
    assert labels(figure.axes[0]) == ["robust", "Quantile(q=0.9)", "mine"]
    blend = 0.7 * lk.get("mse") + 0.3 * lk.get("mae")
    figure = lk.plot.losses(blend, title=None)
    assert labels(figure.axes[0]) == ["0.7 * SquaredError() + 0.3 * AbsoluteError()"]
    assert figure.axes[0].get_title() == ""
    figure = lk.plot.losses(("mse", "mae"))  # a tuple of names is a list, not a pair
    assert labels(figure.axes[0]) == ["SquaredError", "AbsoluteError"]
    params = {"delta": [0.5, 2.0]}
    figure = lk.plot.losses({"huber": params, "best": ("quantile", {"q": 0.9})})
    assert labels(figure.axes[0]) == ["Huber(delta=0.5)", "Huber(delta=2.0)", "best"]
    assert params == {"delta": [0.5, 2.0]}  # specs are read, never changed
    figure = lk.plot.losses({"sweep": ("quantile", {"q": [0.1, 0.9]})})
    assert labels(figure.axes[0]) == ["sweep: Quantile(q=0.1)", "sweep: Quantile(q=0.9)"]
    weighted = lk.plot.losses(("cross_entropy", {"class_weight": [1.0, 3.0]}))  # not a sweep
    assert len(weighted.axes[0].lines) == 1


def test_classification_losses_share_the_margin_axis():
    figure = lk.plot.losses(["bce", "hinge", "exponential", "cross_entropy",
                             "multiclass_hinge"], n_points=61)
    axes = figure.axes[0]
    assert axes.get_xlabel() == "margin y·f"
    # Probability-space losses are redrawn on logits, and their labels say so.
    assert labels(axes)[0] == "BinaryCrossEntropy(link='logit')"
    assert labels(axes)[3] == "CrossEntropy(link='softmax')"
    m = xdata(axes.lines[0])
    logistic = np.log1p(np.exp(-m))
    np.testing.assert_allclose(ydata(axes.lines[0]), logistic, rtol=1e-12)
    np.testing.assert_allclose(ydata(axes.lines[3]), logistic, rtol=1e-12)
    np.testing.assert_allclose(ydata(axes.lines[1]), np.maximum(0.0, 1.0 - m))
    np.testing.assert_allclose(ydata(axes.lines[2]), np.exp(-m))
    np.testing.assert_allclose(ydata(axes.lines[4]), np.maximum(0.0, 1.0 - m))


def test_probability_losses_alone_are_drawn_over_the_probability():
    figure = lk.plot.losses("bce", n_points=11)
    axes = figure.axes[0]
    assert axes.get_xlabel() == "predicted probability of the true class"
    p = xdata(axes.lines[0])
    np.testing.assert_allclose(ydata(axes.lines[0]), -np.log(p))


def test_deviances_are_drawn_over_the_prediction_at_a_fixed_target():
    figure = lk.plot.losses(["poisson", "gamma"], y_true=3.0, limits=(0.5, 5), n_points=10)
    axes = figure.axes[0]
    assert axes.get_xlabel() == "prediction ŷ (y = 3)"
    mu = xdata(axes.lines[0])
    np.testing.assert_allclose(ydata(axes.lines[0]), mu - 3.0 * np.log(mu))


def test_gradients_and_hessians_mark_surrogates():
    figure = lk.plot.gradients(["mse", "mae", "huber"], hessian=True, n_points=41)
    gradient_axes, hessian_axes = figure.axes
    assert gradient_axes.get_ylabel() == "gradient ∂L/∂ŷ"
    assert hessian_axes.get_ylabel() == "Hessian ∂²L/∂ŷ²"
    assert [a.get_title() for a in figure.axes] == ["Gradients of loss functions",
                                                   "Hessians of loss functions"]
    e = xdata(gradient_axes.lines[0])
    np.testing.assert_allclose(ydata(gradient_axes.lines[0]), 2 * e)
    np.testing.assert_allclose(ydata(gradient_axes.lines[2]), np.clip(e, -1, 1))
    assert labels(hessian_axes) == ["SquaredError", "AbsoluteError (surrogate Hessian)",
                                    "Huber(delta=1.0)"]
    styles = [line.get_linestyle() for line in hessian_axes.lines]
    assert styles == ["-", "--", "-"]
    np.testing.assert_allclose(ydata(hessian_axes.lines[1]), np.ones_like(e))
    logistic = lk.plot.gradients("bce", n_points=11).axes[0]  # on its own: over the logit
    assert logistic.get_xlabel() == "margin y·f"
    m = xdata(logistic.lines[0])
    np.testing.assert_allclose(ydata(logistic.lines[0]), -1 / (1 + np.exp(m)), rtol=1e-12)
    single = lk.plot.hessians("hinge")
    assert labels(single.axes[0]) == ["Hinge (surrogate Hessian)"]
    assert single.axes[0].get_ylabel() == "Hessian ∂²L/∂m²"


def test_curves_draw_into_a_given_axes():
    figure = matplotlib.figure.Figure()
    left, middle, right = figure.subplots(1, 3)
    assert lk.plot.losses("mse", ax=left) is figure
    assert lk.plot.gradients("mae", ax=middle) is figure
    assert lk.plot.confidence_penalty("bce", ax=right) is figure
    assert [len(a.lines) for a in figure.axes] == [1, 1, 1]
    inner = matplotlib.figure.Figure().subfigures(1, 2)[1].add_subplot()
    assert lk.plot.losses("mse", ax=inner) is inner.figure.figure  # the root, not the subfigure
    pair = matplotlib.figure.Figure().subplots(1, 2)
    assert lk.plot.gradients("mse", hessian=True, ax=pair) is pair[0].figure


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="different axes"):
        lk.plot.losses(["mse", "hinge"])
    with pytest.raises(ValueError, match="x must be one of"):
        lk.plot.losses("mse", x="residuals")
    with pytest.raises(ValueError, match=r"x must be one of \['residual', 'margin', 'pred"):
        lk.plot.gradients("mse", x="probability")
    with pytest.raises(ValueError, match="limits must be finite with low < high"):
        lk.plot.losses("mse", limits=(1, -1))
    with pytest.raises(TypeError, match="limits must be a pair"):
        lk.plot.losses("mse", limits=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_points must be an integer >= 2"):
        lk.plot.losses("mse", n_points=1)
    with pytest.raises(ValueError, match="losses is empty"):
        lk.plot.losses([])
    with pytest.raises(TypeError, match="losses must be a loss name"):
        lk.plot.losses(3.0)
    with pytest.raises(ValueError, match="unknown loss 'hubr'"):
        lk.plot.losses("hubr")
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        lk.plot.losses("mse", ax="left")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="pair of Axes"):
        lk.plot.gradients("mse", hessian=True, ax=matplotlib.figure.Figure().add_subplot())


# ------------------------------------------------------- confidence penalty
def test_confidence_penalty_plots_the_loss_of_the_true_class():
    figure = lk.plot.confidence_penalty(["bce", "cross_entropy", ("focal", {"gamma": 2.0}),
                                         "hinge"], n_points=51)
    axes = figure.axes[0]
    assert axes.get_xlabel() == "predicted probability of the true class"
    assert axes.get_title() == "Loss against confidence in the true class"
    assert len(axes.lines) == 4 and not axes.texts  # annotated only for one loss
    p = xdata(axes.lines[0])
    ones = np.ones_like(p)
    np.testing.assert_allclose(ydata(axes.lines[0]), lk.get("bce").elementwise(p, ones))
    np.testing.assert_allclose(ydata(axes.lines[0]), -np.log(p))
    rows = np.stack([p, 1 - p], axis=-1)
    np.testing.assert_allclose(ydata(axes.lines[1]),
                               lk.get("cross_entropy").elementwise(rows, np.zeros(p.size)))
    np.testing.assert_allclose(ydata(axes.lines[2]),
                               lk.get("focal", gamma=2.0).elementwise(p, ones))
    np.testing.assert_allclose(ydata(axes.lines[3]),
                               np.maximum(0.0, 1.0 - np.log(p / (1 - p))))


def test_confidence_penalty_marks_the_seed_probabilities():
    figure = lk.plot.confidence_penalty("bce")
    axes = figure.axes[0]
    (line,) = axes.lines
    x, marks = xdata(line), np.asarray(line.get_markevery(), dtype=int)
    seed = sorted((0.99, 0.9, 0.7, 0.5, 0.3, 0.1, 0.01))
    np.testing.assert_allclose(np.sort(x[marks]), seed)
    texts = sorted(text.get_text() for text in axes.texts)
    assert "p=0.01: 4.605" in texts and "p=0.99: 0.010" in texts and len(texts) == 7
    with pytest.raises(ValueError, match="not a classification loss"):
        lk.plot.confidence_penalty("mse")
    with pytest.raises(ValueError, match=r"points must be probabilities in \(0, 1\)"):
        lk.plot.confidence_penalty("bce", points=[0.5, 1.0])


# ----------------------------------------------------------------- landscape
def test_landscape_of_the_seed_draws_the_line_of_minimisers():
    X, y = np.array([1.0]), np.array([2.0])
    figure = lk.plot.landscape("mse", X, y, ranges=((-2, 4), (-2, 4)), resolution=25,
                               title="Loss Function Defines the Optimization Landscape")
    surface_axes, contour_axes = figure.axes
    assert surface_axes.name == "3d" and contour_axes.name == "rectilinear"
    assert figure.get_suptitle() == "Loss Function Defines the Optimization Landscape"
    assert surface_axes.get_title() == "Loss surface"
    assert contour_axes.get_title() == "Loss contours"
    assert (contour_axes.get_xlabel(), contour_axes.get_ylabel()) == ("weight w", "bias b")
    assert surface_axes.get_zlabel() == "empirical risk"  # type: ignore[attr-defined]
    (line,) = contour_axes.lines
    assert line.get_label() == "minimisers (a line)"
    w, b = xdata(line), ydata(line)
    np.testing.assert_allclose(w + b, 2.0)  # the seed's w + b = 2
    np.testing.assert_allclose(sorted(w), [-2.0, 4.0])  # across the whole box
    assert "minimisers (a line)" in legend_texts(contour_axes)
    assert X.tolist() == [1.0] and y.tolist() == [2.0]


def test_landscape_minimiser_of_mse_is_least_squares():
    rng = np.random.default_rng(3)
    x = rng.normal(size=40)
    y = 1.5 * x - 0.5 + rng.normal(size=40)
    before = x.copy()
    figure = lk.plot.landscape("mse", x, y, resolution=30)
    contour_axes = figure.axes[1]
    (marker,) = contour_axes.lines
    assert str(marker.get_label()).startswith("minimiser (")
    slope, intercept = np.polyfit(x, y, 1)
    np.testing.assert_allclose([xdata(marker)[0], ydata(marker)[0]],
                               [slope, intercept], atol=1e-6)
    low, high = contour_axes.get_xlim()
    assert low < slope < high
    np.testing.assert_array_equal(x, before)


def test_landscape_two_coefficients_with_the_rest_at_the_fit():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.normal(size=60)
    figure = lk.plot.landscape("mse", X, y, parameters=(2, 0), resolution=20)
    contour_axes = figure.axes[1]
    assert contour_axes.get_xlabel() == "coefficient w[2]"
    assert contour_axes.get_ylabel() == "coefficient w[0]"
    (marker,) = contour_axes.lines
    coef, *_ = np.linalg.lstsq(np.column_stack([X, np.ones(60)]), y, rcond=None)
    np.testing.assert_allclose([xdata(marker)[0], ydata(marker)[0]],
                               [coef[2], coef[0]], atol=1e-5)


def test_landscape_of_mae_shades_a_set_of_minimisers():
    X = np.array([0.0, 0.0, 1.0, 1.0])
    y = np.array([0.0, 1.0, 1.0, 2.0])
    figure = lk.plot.landscape("mae", X, y, ranges=((-1.5, 3.5), (-1.5, 2.5)),
                               resolution=41, tolerance=0.001)
    contour_axes = figure.axes[1]
    (marker,) = contour_axes.lines
    w, b = xdata(marker)[0], ydata(marker)[0]
    assert -1e-6 <= b <= 1 + 1e-6 and 1 - 1e-6 <= w + b <= 2 + 1e-6
    shaded = [c for c in contour_axes.collections if getattr(c, "filled", False)]
    assert len(shaded) == 1
    assert any(text.startswith("risk ≤ min + 0.001") for text in legend_texts(contour_axes))


def test_the_vectorised_risk_is_the_weighted_mean_loss():
    # 50 samples x 700 grid points: one block large enough for the fused kernels.
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=50), rng.normal(size=50)
    weight = rng.uniform(0.5, 2.0, size=50)
    loss = lk.get("huber", delta=0.7)
    columns = np.column_stack([x, np.ones(50)])
    risk = _Risk(loss, columns, np.zeros(50), y, weight)
    first, second = rng.normal(size=700), rng.normal(size=700)
    expected = [loss(w * x + b, y, sample_weight=weight)
                for w, b in zip(first, second, strict=True)]
    np.testing.assert_allclose(risk.on_grid(first, second), expected, rtol=1e-12)


def test_landscape_rejects_bad_input_by_name():
    X, y = np.arange(5.0), np.arange(5.0)
    with pytest.raises(ValueError, match="parameters must be a pair"):
        lk.plot.landscape("mse", X, y, parameters=(0, 1))
    with pytest.raises(ValueError, match="two different parameters"):
        lk.plot.landscape("mse", X, y, parameters=(0, 0))
    with pytest.raises(ValueError, match=r"y must have shape \(5,\)"):
        lk.plot.landscape("mse", X, y[:4])
    with pytest.raises(ValueError, match="X must be finite"):
        lk.plot.landscape("mse", np.array([1.0, np.nan]), y[:2])
    with pytest.raises(ValueError, match="pass link='logit'"):
        lk.plot.landscape("bce", X, (y > 2).astype(float))
    with pytest.raises(ValueError, match="ranges must be two finite"):
        lk.plot.landscape("mse", X, y, ranges=((0, 1), (1, 0)))
    with pytest.raises(ValueError, match="loss must be one loss"):
        lk.plot.landscape(["mse", "mae"], X, y)
    with pytest.raises(ValueError, match="tolerance must be a number"):
        lk.plot.landscape("mse", X, y, tolerance=2)
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        lk.plot.landscape("mse", X, y, sample_weight=[1.0])


def test_landscape_of_a_logistic_model():
    rng = np.random.default_rng(6)
    x = rng.normal(size=80)
    labels_ = (x + 0.5 * rng.normal(size=80) > 0).astype(float)
    figure = lk.plot.landscape(("bce", {"link": "logit"}), x, labels_, resolution=20)
    (marker,) = figure.axes[1].lines
    w, b = xdata(marker)[0], ydata(marker)[0]
    gradient = lk.get("bce", link="logit").gradient(w * x + b, labels_)
    np.testing.assert_allclose([np.mean(gradient * x), np.mean(gradient)], 0.0, atol=1e-6)


# ------------------------------------------------------- outlier sensitivity
def test_outlier_sensitivity_shows_mse_drifting_and_huber_holding():
    levels = [0.0, 0.2, 0.4]
    figure = lk.plot.outlier_sensitivity(["mse", ("huber", {"delta": 1.0}), "mae"],
                                         contamination=levels, n_samples=120)
    data_axes, slope_axes = figure.axes
    assert figure.get_suptitle() == "Sensitivity to outliers"
    assert labels(slope_axes) == ["SquaredError", "Huber(delta=1.0)", "AbsoluteError",
                                  "true slope"]
    assert slope_axes.get_xlabel() == "fraction of corrupted targets"
    assert slope_axes.get_ylabel() == "fitted slope w"
    mse, huber, mae, truth = slope_axes.lines
    np.testing.assert_allclose(xdata(mse), levels)
    assert list(ydata(truth)) == [2.0, 2.0]
    assert abs(ydata(mse)[0] - 2.0) < 0.1 and abs(ydata(huber)[0] - 2.0) < 0.1
    assert abs(ydata(mse)[-1] - 2.0) > 0.3
    assert np.all(np.abs(ydata(huber) - 2.0) < 0.2)
    assert np.all(np.abs(ydata(mae) - 2.0) < 0.2)
    assert labels(data_axes) == ["SquaredError", "Huber(delta=1.0)", "AbsoluteError",
                                 "true line"]
    assert len(data_axes.collections) == 2  # clean and corrupted points
    assert data_axes.get_title() == "Fits at 40% corrupted targets"


def test_outlier_sensitivity_rejects_bad_input():
    with pytest.raises(ValueError, match="contamination must be fractions"):
        lk.plot.outlier_sensitivity("mse", contamination=[0.0, 1.5])
    with pytest.raises(ValueError, match="not a regression loss"):
        lk.plot.outlier_sensitivity("poisson")
    with pytest.raises(ValueError, match="noise must be >= 0"):
        lk.plot.outlier_sensitivity("mse", noise=-1.0)


# ----------------------------------------------------------- Jupyter display
def test_repr_html_shows_escaped_formulas_and_properties():
    page = lk.get("asymmetric", alpha=3.0)._repr_html_()
    assert "<strong>Asymmetric(alpha=3.0)</strong>" in page
    assert r"$\alpha|\hat y - y|\;(\hat y &lt; y),\; |\hat y - y|$" in page  # < escaped
    assert "<th style=\"text-align:left\">Hessian kind</th><td style=\"text-align:left\">" \
           "surrogate</td>" in page
    assert "Lipschitz" in page and "convex" in page and "optimal constant" in page
    blend = 0.7 * lk.get("mse") + 0.3 * lk.get("mae")
    page = blend._repr_html_()
    assert r"0.7\left((\hat y - y)^2\right) + 0.3\left(|\hat y - y|\right)" in page
    assert "0.7 * SquaredError() + 0.3 * AbsoluteError()" in page


def test_repr_latex_is_one_display_block():
    text = lk.get("huber")._repr_latex_()
    assert text.startswith(r"$$\begin{aligned}") and text.endswith(r"\end{aligned}$$")
    assert r"\operatorname{clip}(e, -\delta, \delta)" in text
    assert r"optimal constant: Huber M-estimate of location" in text
    assert "C1" in text
    custom = lk.custom(lambda y_pred, y_true, xp: (y_pred - y_true) ** 2, name="sq_100pct")
    assert r"\text{(not written out)}" in custom._repr_latex_()
    assert "(not written out)" in custom._repr_html_()
