"""Charts as inline SVG, drawn on the server: no script, no client library, a few hundred bytes each.

Every text that came from a user or the catalogue is escaped here, because the result is marked
safe for the templates.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from markupsafe import Markup, escape

BAR_HEIGHT = 18
GAP = 6
LABEL_WIDTH = 190
VALUE_WIDTH = 150


class Bar(msgspec.Struct, frozen=True):
    label: str
    value: float
    caption: str
    href: str | None = None


def bar_chart(bars: Sequence[Bar], title: str, width: int = 640) -> Markup:
    """Horizontal bars, one per row, scaled to the largest value; a bar with `href` is a link."""
    if not bars:
        return Markup('<p class="empty">No usage.</p>')
    top = max(b.value for b in bars) or 1.0
    track = width - LABEL_WIDTH - VALUE_WIDTH
    height = len(bars) * (BAR_HEIGHT + GAP)
    parts = [f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, b in enumerate(bars):
        y = i * (BAR_HEIGHT + GAP)
        w = max(round(track * b.value / top, 1), 1.0)
        row = (f'<text x="0" y="{y + 13}">{escape(_short(b.label))}</text>'
               f'<rect x="{LABEL_WIDTH}" y="{y}" width="{w}" height="{BAR_HEIGHT}" rx="2"/>'
               f'<text x="{LABEL_WIDTH + w + 6}" y="{y + 13}" class="v">{escape(b.caption)}</text>')
        if b.href:
            row = f'<a href="{escape(b.href)}"><title>{escape(b.label)}</title>{row}</a>'
        parts.append(row)
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
