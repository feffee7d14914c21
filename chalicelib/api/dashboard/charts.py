"""Charts drawn on the server (inline SVG, or HTML bars): no script, no library to fetch, so
the dashboard works offline and on a phone. Labels are escaped; numbers come from reports."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH = 640
BAR_HEIGHT = 160


def bars(
    labels: Sequence[str], values: Sequence[float], title: str, color: str = "#3451d1"
) -> Markup:
    """A column per day (or per anything), scaled to the largest; each with its value as a
    tooltip, and the first and last labels under the axis."""
    n = max(len(values), 1)
    top = max([*values, 1])
    slot = WIDTH / n
    width = max(slot * 0.7, 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {BAR_HEIGHT + 24}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="none">'
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = BAR_HEIGHT * value / top
        x = i * slot + (slot - width) / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{BAR_HEIGHT - h:.1f}" width="{width:.1f}" height="{h:.1f}" '
            f'fill="{color}"><title>{escape(label)}: {value:g}</title></rect>'
        )
    parts.append(
        f'<line x1="0" y1="{BAR_HEIGHT}" x2="{WIDTH}" y2="{BAR_HEIGHT}" stroke="#cfd5e3"/>'
    )
    if labels:
        parts.append(f'<text x="0" y="{BAR_HEIGHT + 18}" class="axis">{escape(labels[0])}</text>')
        parts.append(
            f'<text x="{WIDTH}" y="{BAR_HEIGHT + 18}" text-anchor="end" class="axis">'
            f"{escape(labels[-1])}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def funnel(labels: Sequence[str], values: Sequence[int], title: str) -> Markup:
    """Horizontal bars, widest at the top: each stage's count against the first stage's.
    Drawn in HTML, not SVG, so the stage names keep their size on a phone (an SVG scaled to
    a phone's width made them 5 pixels high)."""
    top = max([*values, 1])
    parts = [f'<div class="hbars" role="img" aria-label="{escape(title)}">']
    for label, value in zip(labels, values, strict=True):
        share = 100 * value / top
        parts.append(
            f'<div class="hbar" title="{escape(label)}: {value}">'
            f'<span class="label">{escape(label)}</span>'
            f'<span class="track"><span class="fill" style="width:{share:.1f}%"></span></span>'
            f'<span class="value">{value}</span></div>'
        )
    parts.append("</div>")
    return Markup("".join(parts))
