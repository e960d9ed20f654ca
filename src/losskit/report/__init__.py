"""The HTML report of a comparison: one self-contained file that works offline.

``report(comparison, "out.html")`` writes a page with the comparison table, the
advice and its reasons, the advisor's ranked candidates, and the plots: two charts of
the scores drawn here as inline SVG (hover a bar or a point for its value) and, when
matplotlib is installed, the loss and gradient curves of the compared losses from
``losskit.plot`` embedded as SVG images. CSS and the few lines of script are inline;
nothing is fetched from the network. Every piece of user text (column names, loss
labels, error messages) is escaped.

The script only marks which plots rendered (``data-plots`` and
``data-plots-rendered`` on ``<body>``), which the headless-browser test reads.
"""

from __future__ import annotations

import base64
import datetime
import io
import math
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from losskit.report._svg import fold_chart, score_chart

if TYPE_CHECKING:
    from losskit.compare import Comparison

__all__ = ["report"]

STYLE = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;
max-width:1000px;margin:2em auto;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.8em;
border-bottom:1px solid #ddd}
.meta{color:#555}.advice{background:#f3f8f5;border-left:4px solid #1b7f5b;
padding:.6em 1em}
table{border-collapse:collapse;width:100%;margin:.6em 0}th,td{padding:.35em .6em;
border-bottom:1px solid #e5e5e5;text-align:left;vertical-align:top}
th{background:#fafafa}tr:hover td{background:#f5f8ff}td.num{text-align:right;
font-variant-numeric:tabular-nums;white-space:nowrap}tr.winner td{font-weight:600}
.error{color:#b00020}code{font-size:.95em}
svg.plot,img.plot{max-width:100%;height:auto;display:block;margin:1em 0}
svg .title{font-weight:600;font-size:15px}svg .tick{font-size:12px;fill:#444}
svg .label{font-size:13px}svg .grid{stroke:#e3e3e3}
svg .whisker{stroke:#222;stroke-width:1.5}svg .bar:hover rect{opacity:.8}
svg circle:hover{r:7}.note{color:#666;font-size:.9em}
"""

SCRIPT = """
window.addEventListener("load", function () {
  var plots = document.querySelectorAll(".plot"), rendered = 0;
  for (var i = 0; i < plots.length; i++) {
    var plot = plots[i], ok = false;
    if (plot.tagName.toLowerCase() === "img") {
      ok = plot.complete && plot.naturalWidth > 0;
    } else if (typeof plot.getBBox === "function") {
      var box = plot.getBBox();
      ok = box.width > 0 && box.height > 0;
    }
    if (ok) { rendered++; } else { plot.setAttribute("data-failed", "true"); }
  }
  document.body.setAttribute("data-plots", String(plots.length));
  document.body.setAttribute("data-plots-rendered", String(rendered));
});
"""


def _number(value: float, digits: int = 4) -> str:
    return f"{value:.{digits}g}" if math.isfinite(value) else "–"


def _figure_image(figure: Any, alt: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue().encode("utf-8")).decode("ascii")
    return (f'<img class="plot" alt="{escape(alt)}" '
            f'src="data:image/svg+xml;base64,{data}">')


def _curve_figures(comparison: Comparison) -> tuple[list[str], list[str]]:
    """The loss and gradient curves of the compared losses, from ``losskit.plot``."""
    try:
        import matplotlib  # noqa: F401

        from losskit import plot
    except ImportError:
        return [], ['Install matplotlib (pip install "losskit[plot]") for the loss and '
                    "gradient curves of the compared losses."]
    import matplotlib.pyplot as plt

    losses = [row.loss for row in comparison.rows if row.loss is not None]
    labels = {id(row.loss): row.label for row in comparison.rows if row.loss is not None}
    named = {labels[id(loss)]: loss for loss in losses}
    scale = comparison.facts.get("residual_scale")
    limits = (-4.0 * scale, 4.0 * scale) if scale else None
    images, notes = [], []
    for what, function in (("Loss", plot.losses), ("Gradient", plot.gradients)):
        title = f"{what} of each compared loss"
        try:
            kwargs: dict[str, Any] = {"title": title}
            if limits is not None and comparison.task == "regression":
                kwargs["limits"] = limits
            figure = function(named, **kwargs)
        except Exception as error:  # a plot that cannot be drawn must not sink the report
            notes.append(f"{title}: not drawn ({type(error).__name__}: {error}).")
            continue
        images.append(_figure_image(figure, title))
        plt.close(figure)
    return images, notes


def report(comparison: Comparison, path: str | Path | None = None, *,
           title: str | None = None, plots: bool = True) -> str:
    """The HTML report of ``comparison``; written to ``path`` when given.

    Parameters
    ----------
    comparison : Comparison
        What ``losskit.compare`` returned.
    path : str or Path, optional
        Where to write the page (UTF-8).
    title : str, optional
        The page title; by default names the metric and the target.
    plots : bool
        Include the loss and gradient curves (needs matplotlib); the score charts are
        always drawn.

    Returns
    -------
    str
        The page.
    """
    from losskit.compare import Comparison

    if not isinstance(comparison, Comparison):
        raise TypeError(f"comparison must be what losskit.compare returns; got "
                        f"{type(comparison).__name__}")
    metric = comparison.metric
    title = title or (f"losskit: which loss for {comparison.target_name!s}, "
                      f"scored by {metric.name}")
    direction = "higher" if metric.greater_is_better else "lower"
    winner = comparison.winner
    facts = comparison.facts

    rows_html = []
    for row in comparison.rows:
        if row.error:
            score = f'<td class="error" colspan="2">{escape(row.error)}</td>'
        else:
            score = (f'<td class="num">{_number(row.mean)} ± {_number(row.std, 2)}</td>'
                     f'<td class="num">{escape(", ".join(_number(s) for s in row.scores))}'
                     "</td>")
        css = ' class="winner"' if row.label == winner else ""
        converged = "" if row.converged else ' <span class="note">(did not converge)</span>'
        rows_html.append(f"<tr{css}><td>{row.rank or '–'}</td><td><code>{escape(row.label)}"
                         f"</code>{converged}</td>{score}<td class=\"num\">"
                         f"{row.fit_time * 1000:.1f} ms</td></tr>")

    scored = [row for row in comparison.rows]
    labels = [row.label for row in scored]
    charts = [
        score_chart(labels, [row.mean for row in scored], [row.std for row in scored],
                    metric.name, labels.index(winner) if winner in labels else -1,
                    f"{metric.name} per loss ({direction} is better)"),
        fold_chart(labels, [row.scores for row in scored], metric.name,
                   f"{metric.name} on each fold"),
    ]
    images, notes = _curve_figures(comparison) if plots else ([], [])

    candidates = []
    for rank, candidate in enumerate(comparison.recommendations, start=1):
        available = "" if candidate.available else ' <span class="note">(not installed)</span>'
        candidates.append(f"<tr><td>{rank}</td><td><code>{escape(candidate.label)}</code>"
                          f"{available}</td><td class=\"num\">{candidate.score:.2f}</td>"
                          f"<td>{escape(candidate.reason)}</td></tr>")

    data_facts = [f"{comparison.n_samples} samples", f"{comparison.n_features} features "
                  f"({', '.join(comparison.feature_names)})", f"target {comparison.target_name}",
                  f"task {comparison.task}"]
    if "outlier_fraction" in facts:
        data_facts.append(f"{100 * facts['outlier_fraction']:.1f}% outlying targets")
    if "imbalance" in facts:
        data_facts.append(f"class imbalance 1:{facts['imbalance']:.3g}")
    margin = (f"margin {_number(comparison.margin, 3)} "
              f"({100 * comparison.relative_margin:.1f}%), better on {comparison.folds_won} of "
              f"{comparison.cv} folds" if math.isfinite(comparison.margin) else "")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    from losskit import __version__

    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{STYLE}</style></head>
<body>
<h1>{escape(title)}</h1>
<p class="meta">{escape("; ".join(data_facts))}.<br>
Model: {escape(comparison.model)}, {comparison.cv}-fold cross-validation; metric
<b>{escape(metric.name)}</b> ({escape(metric.description)}, {direction} is better).</p>
<h2>Advice</h2>
<p class="advice"><b>Winner: <code>{escape(winner or "none")}</code></b>
{escape(margin)}<br>{escape(comparison.advice)}</p>
<h2>Comparison</h2>
<table><thead><tr><th>rank</th><th>loss</th><th>{escape(metric.name)} mean ± std</th>
<th>per fold</th><th>fit time</th></tr></thead><tbody>
{"".join(rows_html)}
</tbody></table>
{"".join(charts)}
<h2>The compared losses</h2>
{"".join(images)}
{"".join(f'<p class="note">{escape(note)}</p>' for note in notes)}
<h2>What the advisor recommends, and why</h2>
<table><thead><tr><th>#</th><th>loss</th><th>score</th><th>reason</th></tr></thead>
<tbody>{"".join(candidates)}</tbody></table>
<p class="note">Generated by losskit {escape(__version__)} on {stamp}. Hover a bar or a
point for its value.</p>
<script>{SCRIPT}</script>
</body></html>
"""
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page
