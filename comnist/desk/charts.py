"""SVG bar charts as markup: no script, no inline style (colours come from classes in the CSS).

Every text is escaped here; the result is :class:`markupsafe.Markup`, safe to place in a page.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

ROW = 18
LABEL_WIDTH = 140
BAR_WIDTH = 420
VALUE_WIDTH = 90


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def horizontal_bars(
    title: str, rows: Sequence[tuple[str, float]], goal: float | None = None, css: str = "bar"
) -> Markup:
    """One bar per ``(label, value)`` row, with a dashed goal line if ``goal`` is given."""
    top = max([value for _, value in rows] + [goal or 0, 1])
    height = ROW * len(rows) + 24
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    body = []
    for i, (label, value) in enumerate(rows):
        y = 4 + i * ROW
        length = BAR_WIDTH * value / top
        body.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 12}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="{css}" x="{LABEL_WIDTH}" y="{y + 2}" width="{length:.1f}" height="{ROW - 4}">'
            f"<title>{escape(label)}: {_number(value)}</title></rect>"
            f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + 12}">{_number(value)}</text>'
        )
    if goal:
        x = LABEL_WIDTH + BAR_WIDTH * goal / top
        bottom = 4 + ROW * len(rows)
        body.append(
            f'<line class="goal" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{bottom}"/>'
            f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle">goal {_number(goal)}</text>'
        )
    return _svg(width, height, title, body)


def stacked_bars(
    title: str, rows: Sequence[tuple[str, Sequence[float]]], classes: Sequence[str]
) -> Markup:
    """One bar per row made of segments (``classes[i]`` colours segment ``i``), scaled to its total."""
    height = ROW * len(rows) + 8
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    body = []
    for i, (label, parts) in enumerate(rows):
        y = 4 + i * ROW
        total = sum(parts)
        body.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 12}" text-anchor="end">{escape(label)}</text>'
        )
        x = float(LABEL_WIDTH)
        for value, css in zip(parts, classes, strict=True):
            if not value:
                continue
            length = BAR_WIDTH * value / total
            body.append(
                f'<rect class="bar {escape(css)}" x="{x:.1f}" y="{y + 2}" width="{length:.1f}" '
                f'height="{ROW - 4}"><title>{escape(label)}, {escape(css)}: {_number(value)}</title></rect>'
            )
            x += length
        body.append(f'<text x="{LABEL_WIDTH + BAR_WIDTH + 4}" y="{y + 12}">{_number(total)}</text>')
    return _svg(width, height, title, body)


def columns(title: str, rows: Sequence[tuple[str, float]], height: int = 180) -> Markup:
    """Vertical bars in order (days), the first and last labels and the highest value written."""
    count = max(len(rows), 1)
    step = max(2.0, min(24.0, 720 / count))
    width = int(48 + step * count + 8)
    top = max([value for _, value in rows] + [1])
    plot = height - 30
    body = [f'<line class="axis" x1="46" y1="{plot + 2}" x2="{width}" y2="{plot + 2}"/>']
    for i, (label, value) in enumerate(rows):
        bar = plot * value / top
        x = 48 + i * step
        body.append(
            f'<rect class="bar" x="{x:.1f}" y="{plot + 2 - bar:.1f}" width="{max(step - 1, 1):.1f}" '
            f'height="{bar:.1f}"><title>{escape(label)}: {_number(value)}</title></rect>'
        )
    body.append(f'<text x="42" y="12" text-anchor="end">{_number(top)}</text>')
    if rows:
        body.append(f'<text x="48" y="{height - 6}">{escape(rows[0][0])}</text>')
        body.append(
            f'<text x="{width - 4}" y="{height - 6}" text-anchor="end">{escape(rows[-1][0])}</text>'
        )
    return _svg(width, height, title, body)
