"""Write docs/gallery/*.png and docs/gallery.md: the seed page's figures, drawn by losskit.

    python scripts/make_gallery.py                   # rewrite docs/gallery*
    python scripts/make_gallery.py --fast --out DIR  # coarse grids, into DIR (tests)

Each figure is one function below; the page shows its code, so what you read is what
drew the picture. tests/test_gallery.py runs this script in fast mode and checks that
the page links every image (and the committed page, the committed images).
"""

from __future__ import annotations

import argparse
import inspect
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

import losskit as lk

DOCS = Path(__file__).resolve().parent.parent / "docs"
DPI = 100


class Entry(NamedTuple):
    slug: str
    title: str
    about: str
    draw: Callable[[bool], Figure]


FIGURES: list[Entry] = []


def figure(slug: str, title: str, about: str) -> Callable[[Callable[[bool], Figure]],
                                                          Callable[[bool], Figure]]:
    def enrol(draw: Callable[[bool], Figure]) -> Callable[[bool], Figure]:
        FIGURES.append(Entry(slug, title, about, draw))
        return draw

    return enrol


# ------------------------------------------------------- the seed page's figures
@figure("landscape", "The optimisation landscape",
        "The seed's first figure: the MSE of `y = w x + b` on the single point "
        "`(x, y) = (1, 2)` over `(w, b)`, as a surface and as contours. Every point of the "
        "line `w + b = 2` predicts 2 exactly: the minimisers form a line, which "
        "`landscape` finds (the two parameters move the prediction along one direction "
        "only) and draws in red.")
def landscape(fast: bool) -> Figure:
    return lk.plot.landscape(
        "mse", np.array([1.0]), np.array([2.0]), ranges=((-2, 4), (-2, 4)),
        resolution=30 if fast else 100,
        title="Loss Function Defines the Optimization Landscape")


@figure("losses_and_gradients", "Loss functions and their gradients",
        "The seed's second figure: MSE and MAE over the prediction error, and the "
        "gradients of MSE (unbounded), MAE (±1) and Huber (δ = 1: linear, then bounded). "
        "Two functions of `lk.plot` draw into the two panels of one figure with `ax=`.")
def losses_and_gradients(fast: bool) -> Figure:
    figure = Figure(figsize=(12, 5), layout="constrained")
    left, right = figure.subplots(1, 2)
    n_points = 101 if fast else 1001
    lk.plot.losses(["mse", "mae"], limits=(-5, 5), n_points=n_points, ax=left,
                   title="Loss Functions")
    lk.plot.gradients(["mse", "mae", ("huber", {"delta": 1.0})], limits=(-5, 5),
                      n_points=n_points, ax=right, title="Gradients of Loss Functions")
    return figure


@figure("asymmetric_and_quantile", "Asymmetric and quantile losses",
        "The seed's third figure: the asymmetric loss with α = 3 (under-prediction costs "
        "three times more) beside MAE, and the quantile (pinball) loss at q = 0.5, 0.9 and "
        "0.1 over the residual `ŷ − y`. The seed's own code negates the quantile curves "
        "(`-quantile_loss(-errors, 0, q)`, \"flip for visualization\"), which draws them "
        "below zero; here they are the loss itself, ≥ 0: at q = 0.9 under-prediction "
        "(`ŷ < y`) costs 0.9 per unit and over-prediction 0.1.")
def asymmetric_and_quantile(fast: bool) -> Figure:
    figure = Figure(figsize=(12, 5), layout="constrained")
    left, right = figure.subplots(1, 2)
    n_points = 101 if fast else 1001
    lk.plot.losses({"MAE (symmetric)": "mae",
                    "Asymmetric (α=3)": ("asymmetric", {"alpha": 3.0})},
                   limits=(-3, 3), n_points=n_points, ax=left,
                   title="Asymmetric Loss (penalizes under-prediction)")
    lk.plot.losses(("quantile", {"q": [0.5, 0.9, 0.1]}), limits=(-3, 3),
                   n_points=n_points, ax=right,
                   title="Quantile Loss (asymmetric for different percentiles)")
    return figure


@figure("confidence_penalty", "The price of a confident mistake",
        "The seed prints `-log p` for p = 0.99 ... 0.01 (\"confident wrong predictions "
        "are heavily penalized\"); here is the same table as a curve, with the seed's "
        "probabilities marked, beside the focal loss (γ = 2) that discounts easy, "
        "confident examples.")
def confidence_penalty(fast: bool) -> Figure:
    figure = Figure(figsize=(12, 4.8), layout="constrained")
    left, right = figure.subplots(1, 2)
    lk.plot.confidence_penalty("binary_cross_entropy", ax=left,
                               n_points=101 if fast else 599)
    lk.plot.confidence_penalty(["bce", ("focal", {"gamma": [1.0, 2.0]})], ax=right,
                               n_points=101 if fast else 599,
                               title="Cross-entropy and focal losses")
    return figure


# ----------------------------------------- figures of the seed page's other sections
@figure("regression_table", "The regression losses of the seed's table",
        "The seed's table of regression losses (MSE, MAE, Huber, log-cosh) with their "
        "gradients and second derivatives. MAE's second derivative is 0 away from the "
        "kink: losskit returns the positive surrogate 1 for Newton and boosting steps, "
        "dashed and labelled as such.")
def regression_table(fast: bool) -> Figure:
    figure = Figure(figsize=(16, 4.6), layout="constrained")
    value, gradient, hessian = figure.subplots(1, 3)
    chosen = ["mse", "mae", ("huber", {"delta": 1.0}), "log_cosh"]
    n_points = 101 if fast else 1001
    lk.plot.losses(chosen, n_points=n_points, ax=value)
    lk.plot.gradients(chosen, hessian=True, n_points=n_points, ax=(gradient, hessian))
    return figure


@figure("classification_margins", "Classification losses over the margin",
        "The seed's loss-choice table (cross-entropy by default, hinge for margins, focal "
        "for imbalance) as curves of the margin `y·f` of a raw score: binary "
        "cross-entropy on logits is the logistic loss `log(1 + e^{-m})`.")
def classification_margins(fast: bool) -> Figure:
    return lk.plot.losses(
        ["bce", "hinge", "squared_hinge", "exponential", ("focal", {"link": "logit"})],
        limits=(-2, 3), n_points=101 if fast else 1001,
        title="Surrogate losses of the 0-1 loss")


@figure("outlier_sensitivity", "Sensitivity to outliers",
        "The seed's fourth property: MSE is dominated by outliers, MAE and Huber are not. "
        "A line is fitted with `lk.fit` and each loss while a growing share of the "
        "targets is replaced by gross errors.")
def outlier_sensitivity(fast: bool) -> Figure:
    levels = [0.0, 0.2, 0.4] if fast else np.linspace(0.0, 0.4, 9)
    return lk.plot.outlier_sensitivity(["mse", "mae", ("huber", {"delta": 1.0})],
                                       contamination=levels)


@figure("landscape_mae", "A set of minimisers",
        "With MAE the minimisers need not be a point. Four samples, two at `x = 0` "
        "(`y = 0, 1`) and two at `x = 1` (`y = 1, 2`): any `b` in [0, 1] with `w + b` in "
        "[1, 2] is optimal, a parallelogram of minimisers, shaded where the risk is "
        "within 0.1 % of its range above the minimum.")
def landscape_mae(fast: bool) -> Figure:
    X = np.array([0.0, 0.0, 1.0, 1.0])
    y = np.array([0.0, 1.0, 1.0, 2.0])
    return lk.plot.landscape("mae", X, y, ranges=((-1.5, 3.5), (-1.5, 2.5)),
                             resolution=40 if fast else 161, tolerance=0.001)


# ------------------------------------------------------------------ the page
def code_of(draw: Callable[[bool], Figure]) -> str:
    """A drawing function without its decorator, as the page shows it."""
    lines = textwrap.dedent(inspect.getsource(draw)).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("def "))
    return "\n".join(lines[start:]).strip()


def render(images: dict[str, str]) -> str:
    parts = [
        "# Gallery",
        "",
        "Every figure of the seed page (the loss landscape, loss and gradient curves,",
        "asymmetric and quantile losses, the confidence table), then figures of its other",
        "sections, each drawn by `losskit.plot` (`pip install \"losskit[plot]\"`).",
        "Generated by `python scripts/make_gallery.py`; the code under each figure is the",
        "code that drew it (`fast` only coarsens grids for the tests).",
        "",
        "```python",
        "import numpy as np",
        "from matplotlib.figure import Figure",
        "import losskit as lk",
        "```",
        "",
    ]
    for entry in FIGURES:
        parts += [f"## {entry.title}", "", entry.about, "",
                  f"![{entry.title}]({images[entry.slug]})", "",
                  "```python", code_of(entry.draw), "```", ""]
    return "\n".join(parts)


def build(out: Path, *, fast: bool = False) -> list[Path]:
    """Draw every figure into ``out/gallery/`` and write ``out/gallery.md``."""
    folder = out / "gallery"
    folder.mkdir(parents=True, exist_ok=True)
    written, images = [], {}
    for entry in FIGURES:
        path = folder / f"{entry.slug}.png"
        entry.draw(fast).savefig(path, dpi=DPI, metadata={"Software": None})
        images[entry.slug] = f"gallery/{path.name}"
        written.append(path)
    page = out / "gallery.md"
    page.write_text(render(images))
    return [*written, page]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS,
                        help="folder that receives gallery.md and gallery/ (default: docs)")
    parser.add_argument("--fast", action="store_true", help="coarse grids (for the tests)")
    args = parser.parse_args(argv)
    for path in build(args.out, fast=args.fast):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
