"""Charts as inline SVG: no script, no file and nothing from the network, so a report saved as
one HTML file (or printed to PDF) shows them anywhere. Labels are escaped; each chart carries
a text title for screen readers."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 200
PAD_LEFT, PAD_BOTTOM, PAD_TOP = 8, 34, 22
BAR = "#3b6ea5"
BAR_CURRENT = "#1f3f66"
LINE = "#3b6ea5"


def _svg(title: str, body: str, height: int = HEIGHT) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def bar_chart(
    title: str,
    points: Sequence[tuple[str, float | None]],
    value_label: Callable[[float], str],
    *,
    highlight_last: bool = True,
) -> Markup:
    """Vertical bars, one per (label, value); the value written above each bar, the last one
    (the report's period) darker."""
    if not points:
        return Markup("")
    top = max((value or 0 for _, value in points), default=0) or 1
    plot = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = (WIDTH - PAD_LEFT * 2) / len(points)
    width = slot * 0.7
    parts = []
    for i, (label, value) in enumerate(points):
        height = max(0.0, (value or 0) / top * plot)
        x = PAD_LEFT + i * slot + (slot - width) / 2
        y = PAD_TOP + plot - height
        colour = BAR_CURRENT if highlight_last and i == len(points) - 1 else BAR
        centre = x + width / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" '
            f'fill="{colour}"><title>{escape(label)}: '
            f"{escape(value_label(value or 0))}</title></rect>"
        )
        if value is not None:
            parts.append(
                f'<text x="{centre:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
                f'font-size="10">{escape(value_label(value))}</text>'
            )
        parts.append(
            f'<text x="{centre:.1f}" y="{HEIGHT - PAD_BOTTOM + 14}" text-anchor="middle" '
            f'font-size="10">{escape(label)}</text>'
        )
    baseline = HEIGHT - PAD_BOTTOM
    parts.append(
        f'<line x1="{PAD_LEFT}" y1="{baseline}" x2="{WIDTH - PAD_LEFT}" y2="{baseline}" '
        'stroke="#999" stroke-width="1"/>'
    )
    return _svg(title, "".join(parts))


def line_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    value_label: Callable[[float], str],
    *,
    low: float,
    high: float,
) -> Markup:
    """A line over ``labels`` on the fixed scale ``low``–``high`` (NPS −100–100, CSAT 0–1, CES
    1–7), broken where a period has no value; each point labelled."""
    if not labels:
        return Markup("")
    height = 150
    plot = height - PAD_BOTTOM - PAD_TOP
    step = (WIDTH - PAD_LEFT * 2) / len(labels)
    span = (high - low) or 1.0
    parts: list[str] = []
    run: list[tuple[float, float]] = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = PAD_LEFT + step * (i + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{height - PAD_BOTTOM + 14}" text-anchor="middle" '
            f'font-size="10">{escape(label)}</text>'
        )
        if value is None:
            if len(run) > 1:
                parts.append(_polyline(run))
            run = []
            continue
        y = PAD_TOP + plot - (min(max(value, low), high) - low) / span * plot
        run.append((x, y))
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{LINE}"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{y - 7:.1f}" text-anchor="middle" font-size="10">'
            f"{escape(value_label(value))}</text>"
        )
    if len(run) > 1:
        parts.append(_polyline(run))
    if low < 0 < high:
        zero = PAD_TOP + plot - (0 - low) / span * plot
        parts.append(
            f'<line x1="{PAD_LEFT}" y1="{zero:.1f}" x2="{WIDTH - PAD_LEFT}" y2="{zero:.1f}" '
            'stroke="#bbb" stroke-dasharray="3 3"/>'
        )
    return _svg(title, "".join(parts), height)


def _polyline(points: list[tuple[float, float]]) -> str:
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2"/>'
