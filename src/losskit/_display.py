"""Rich display of a loss in Jupyter: formula, gradient, Hessian and declared properties.

``Loss._repr_html_`` and ``Loss._repr_latex_`` call these. The LaTeX is left between
``$...$`` inside the HTML (Jupyter typesets it with MathJax); every piece of text that
comes from a class or a user (names, formulas, parameter values) is HTML-escaped.
"""

from __future__ import annotations

import html
import inspect
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from losskit.core import Loss


def _number(value: float | None) -> str:
    if value is None:
        return "none (gradient unbounded)"
    return "∞" if math.isinf(value) else f"{value:g}"


def _yes_no(value: bool | None) -> str:
    return "n/a" if value is None else ("yes" if value else "no")


def facts(loss: Loss) -> list[tuple[str, str]]:
    """The declared properties of ``loss`` as (name, display string) rows."""
    props = loss.properties
    distribution = loss.distribution
    smoothness = "C∞" if math.isinf(props.smoothness) else f"C{int(props.smoothness)}"
    return [
        ("convex", _yes_no(props.convex)),
        ("smoothness", smoothness),
        ("Lipschitz", _number(props.lipschitz)),
        ("bounded gradient", _yes_no(props.bounded_gradient)),
        ("robust", _yes_no(props.robust)),
        ("Hessian kind", props.hessian),
        ("optimal constant", props.statistic or "?"),
        ("distribution", str(distribution) if distribution is not None else "none"),
        ("link", loss.link.name),
    ]


def summary(loss: Loss) -> str:
    """The first paragraph of the loss's docstring, on one line."""
    doc = inspect.getdoc(type(loss)) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ").replace("``", "")


def to_html(loss: Loss) -> str:
    value, gradient, hessian = loss._display_formulas()
    rows = [(label, f"${formula}$" if formula else "(not written out)")
            for label, formula in (("loss", value), ("gradient", gradient),
                                   ("Hessian", hessian))]
    rows += facts(loss)
    cells = "".join(
        f"<tr><th style=\"text-align:left\">{html.escape(key)}</th>"
        f"<td style=\"text-align:left\">{html.escape(text)}</td></tr>"
        for key, text in rows
    )
    about = summary(loss)
    caption = f"<br><small>{html.escape(about)}</small>" if about else ""
    return (f"<div class=\"losskit-loss\"><strong>{html.escape(repr(loss))}</strong>"
            f"{caption}<table>{cells}</table></div>")


def to_latex(loss: Loss) -> str:
    value, gradient, hessian = loss._display_formulas()
    missing = r"\text{(not written out)}"
    lines = [rf"L(\hat y, y) &= {value or missing}",
             rf"\partial_{{\hat y}} L &= {gradient or missing}",
             rf"\partial^2_{{\hat y}} L &= {hessian or missing}"]
    shown = ", ".join(f"{key}: {text}" for key, text in facts(loss))
    lines.append(r"&\text{" + _latex_text(shown) + "}")
    return r"$$\begin{aligned}" + r"\\ ".join(lines) + r"\end{aligned}$$"


def _latex_text(text: str) -> str:
    """``text`` safe inside ``\\text{...}``: LaTeX's special characters escaped."""
    special = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
               "#": r"\#", "_": r"\_", "%": r"\%", "^": r"\^{}", "~": r"\~{}",
               "∞": "inf"}
    return "".join(special.get(char, char) for char in text)
