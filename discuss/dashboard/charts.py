"""Server-rendered SVG charts for the stats page: no script, no CDN, nothing inline to allow in the CSP.

Colours come from CSS classes (``dashboard.css``: ``.series-*``), so the same markup follows the
light and dark themes; the SVG scales with its container (viewBox, width 100%) and is drawn for
a 360-px-wide phone first: labels stay at 10-11 px there and grow on wider screens.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 360
LEFT, RIGHT, TOP, BOTTOM = 30, 6, 8, 22


@dataclass(frozen=True)
class Series:
    name: str
    css: str           # series-<css> colours the bars and the legend swatch
    values: list[float]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000):
        if value <= step * 4:
            return step * 4 if value > step * 2 else step * 2 if value > step else step
    return value


def _label(value: float) -> str:
    return f"{value:g}" if value < 10000 else f"{value / 1000:g}k"


def stacked_bars(title: str, days: list[str], series: list[Series], height: int = 170) -> Markup:
    """One stacked bar per day; y axis from 0 to a round maximum; x labels thinned to fit."""
    totals = [sum(s.values[i] for s in series) for i in range(len(days))]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - TOP - BOTTOM
    slot = plot_w / max(1, len(days))
    bar_w = max(1.0, slot * 0.72)
    parts = [_frame(title, height)]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="axis" x="{LEFT - 4}" y="{y + 3.5:.1f}" text-anchor="end">{_label(top * fraction)}</text>')
    every = max(1, -(-len(days) // 6))
    for i, day in enumerate(days):
        x = LEFT + i * slot + (slot - bar_w) / 2
        y = TOP + plot_h
        for s in series:
            value = s.values[i]
            if value <= 0:
                continue
            h = plot_h * value / top
            y -= h
            parts.append(f'<rect class="series-{s.css}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                         f'height="{h:.1f}"><title>{escape(day)} · {escape(s.name)}: {value:g}</title></rect>')
        if i % every == 0 or i == len(days) - 1 and len(days) <= 7:
            parts.append(f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{height - 6}" text-anchor="middle">'
                         f'{escape(day[5:])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def hbars(title: str, items: list[tuple[str, float, str]], unit: str = "") -> Markup:
    """Horizontal bars, one per (label, value, css) row, the value printed after each bar."""
    row_h, label_w = 22, 150
    height = TOP + row_h * max(1, len(items)) + 4
    top = max((value for _, value, _ in items), default=0) or 1
    plot_w = WIDTH - label_w - 44
    parts = [_frame(title, height)]
    if not items:
        parts.append(f'<text class="axis" x="{LEFT}" y="{TOP + 14}">No data in this range</text>')
    for i, (label, value, css) in enumerate(items):
        y = TOP + i * row_h
        w = plot_w * value / top
        short = label if len(label) <= 21 else label[:20] + "…"
        parts.append(f'<text class="label" x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(short)}'
                     f'<title>{escape(label)}</title></text>'
                     f'<rect class="series-{css}" x="{label_w}" y="{y + 3}" width="{max(w, 0.5):.1f}" height="{row_h - 8}">'
                     f'<title>{escape(label)}: {value:g}{unit}</title></rect>'
                     f'<text class="value" x="{label_w + w + 4:.1f}" y="{y + 14}">{value:g}{unit}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _frame(title: str, height: int) -> str:
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
            f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet"><title>{escape(title)}</title>')
