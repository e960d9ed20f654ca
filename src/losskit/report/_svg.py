"""Small hand-written SVG charts for the report, with hover text in ``<title>`` elements.

They need no plotting library and stay crisp and searchable in the page; every piece
of user text goes through ``html.escape``.
"""

from __future__ import annotations

import math
from html import escape

__all__ = ["fold_chart", "score_chart"]

WINNER = "#1b7f5b"
OTHER = "#4c72b0"
PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3",
           "#8c8c8c", "#ccb974", "#64b5cd")


def _number(value: float) -> str:
    return f"{value:.4g}"


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw),
               default=raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + 1e-12 * abs(high):
        ticks.append(round(value, 12))
        value += step
    return ticks


def score_chart(labels: list[str], means: list[float], stds: list[float], metric: str,
                winner: int, title: str) -> str:
    """Horizontal bars of mean score with ± one standard deviation whiskers."""
    label_width = min(260, 14 + 7 * max((len(label) for label in labels), default=4))
    width, row = 760, 30
    left, right, top = label_width, 30, 40
    height = top + row * len(labels) + 40
    highs = [m + s for m, s in zip(means, stds, strict=True) if math.isfinite(m + s)]
    high = max(highs, default=1.0)
    low = min(0.0, min((m - s for m, s in zip(means, stds, strict=True) if math.isfinite(m - s)),
                       default=0.0))
    span = (high - low) or 1.0

    def x(value: float) -> float:
        return left + (value - low) / span * (width - left - right)

    parts = [f'<svg class="plot" role="img" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" xmlns="http://www.w3.org/2000/svg" '
             f'aria-label="{escape(title)}">',
             f'<text x="{left}" y="22" class="title">{escape(title)}</text>']
    for tick in _ticks(low, high):
        parts.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 6}" '
                     f'y2="{height - 34}" class="grid"/>'
                     f'<text x="{x(tick):.1f}" y="{height - 18}" class="tick" '
                     f'text-anchor="middle">{_number(tick)}</text>')
    for i, (label, mean, std) in enumerate(zip(labels, means, stds, strict=True)):
        y = top + i * row
        parts.append(f'<text x="{left - 8}" y="{y + 19}" class="label" '
                     f'text-anchor="end">{escape(label)}</text>')
        if not math.isfinite(mean):
            parts.append(f'<text x="{left + 4}" y="{y + 19}" class="tick">not scored</text>')
            continue
        colour = WINNER if i == winner else OTHER
        hover = escape(f"{label}: {metric} = {_number(mean)} ± {_number(std)}")
        parts.append(
            f'<g class="bar"><title>{hover}</title>'
            f'<rect x="{x(min(0.0, mean)):.1f}" y="{y + 6}" '
            f'width="{max(abs(x(mean) - x(0.0)), 1.0):.1f}" height="{row - 12}" '
            f'fill="{colour}"/>'
            f'<line x1="{x(mean - std):.1f}" x2="{x(mean + std):.1f}" y1="{y + row / 2:.1f}" '
            f'y2="{y + row / 2:.1f}" class="whisker"/></g>')
    parts.append(f'<text x="{(left + width - right) / 2:.0f}" y="{height - 2}" class="tick" '
                 f'text-anchor="middle">{escape(metric)} (mean ± std over the folds)</text>')
    parts.append("</svg>")
    return "".join(parts)


def fold_chart(labels: list[str], scores: list[list[float]], metric: str, title: str) -> str:
    """One line per loss through its score on each fold, points with hover text."""
    right = min(300, 50 + 7 * max((len(label) for label in labels), default=4))
    width, height = 760 + max(0, right - 180), max(340, 60 + 18 * len(labels))
    left, top, bottom = 70, 40, 50
    finite = [s for series in scores for s in series if math.isfinite(s)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if high == low:
        low, high = low - 0.5, high + 0.5
    pad = 0.05 * (high - low)
    low, high = low - pad, high + pad
    n_folds = max((len(series) for series in scores), default=1)

    def x(fold: int) -> float:
        return left + (fold + 0.5) / n_folds * (width - left - right)

    def y(value: float) -> float:
        return top + (high - value) / (high - low) * (height - top - bottom)

    parts = [f'<svg class="plot" role="img" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" xmlns="http://www.w3.org/2000/svg" '
             f'aria-label="{escape(title)}">',
             f'<text x="{left}" y="22" class="title">{escape(title)}</text>']
    for tick in _ticks(low, high):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}" class="grid"/><text x="{left - 6}" '
                     f'y="{y(tick) + 4:.1f}" class="tick" text-anchor="end">'
                     f'{_number(tick)}</text>')
    for fold in range(n_folds):
        parts.append(f'<text x="{x(fold):.1f}" y="{height - bottom + 18}" class="tick" '
                     f'text-anchor="middle">fold {fold + 1}</text>')
    for i, (label, series) in enumerate(zip(labels, scores, strict=True)):
        colour = PALETTE[i % len(PALETTE)]
        points = [(x(k), y(s)) for k, s in enumerate(series) if math.isfinite(s)]
        if not points:
            continue
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        parts.append(f'<g class="series"><title>{escape(label)}</title>'
                     f'<polyline points="{path}" fill="none" stroke="{colour}" '
                     f'stroke-width="2"/>')
        for k, score in enumerate(series):
            if math.isfinite(score):
                hover = escape(f"{label}, fold {k + 1}: {metric} = {_number(score)}")
                parts.append(f'<circle cx="{x(k):.1f}" cy="{y(score):.1f}" r="5" '
                             f'fill="{colour}"><title>{hover}</title></circle>')
        parts.append("</g>")
        legend_y = top + 18 * i
        parts.append(f'<rect x="{width - right + 14}" y="{legend_y}" width="12" height="12" '
                     f'fill="{colour}"/><text x="{width - right + 32}" y="{legend_y + 11}" '
                     f'class="tick">{escape(label)}</text>')
    parts.append(f'<text x="14" y="{(top + height - bottom) / 2:.0f}" class="tick" '
                 f'transform="rotate(-90 14 {(top + height - bottom) / 2:.0f})" '
                 f'text-anchor="middle">{escape(metric)}</text>')
    parts.append("</svg>")
    return "".join(parts)
