"""Hand-drawn SVG charts for the back office (bar and line), built on the server: no chart library.

Each chart is a real picture with a <title> and <desc> for screen readers; the page shows the same
numbers in a table next to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

WIDTH, HEIGHT = 640, 240
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 56, 12, 16, 44


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = step * magnitude
        if top >= value:
            return float(top)
    return float(value)


def _frame(title: str, desc: str, body: list[str]) -> Markup:
    # Every piece of text in `body`, `title` and `desc` went through html.escape; numbers are formatted here.
    return Markup(  # noqa: S704
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title><desc>{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _axes(top: float, fmt: Callable[[float], str]) -> list[str]:
    parts = []
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    for i in range(5):
        value = top * i / 4
        y = PAD_TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line class="axis grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt(value))}</text>'
        )
    return parts


def _x_labels(labels: Sequence[str], centers: Sequence[float]) -> list[str]:
    every = max(1, len(labels) // 10)
    out = []
    for i, (label, x) in enumerate(zip(labels, centers, strict=True)):
        if i % every == 0:
            y = HEIGHT - PAD_BOTTOM + 16
            out.append(f'<text x="{x:.1f}" y="{y}" text-anchor="middle">{escape(label[:14])}</text>')
    return out


def bar_chart(
    title: str,
    items: Sequence[tuple[str, float]],
    *,
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    css: str = "bar",
) -> Markup:
    """Vertical bars, one per (label, value)."""
    values = [v for _, v in items]
    top = _nice_max(max(values, default=0))
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    n = max(1, len(items))
    slot = plot_w / n
    bar_w = max(2.0, slot * 0.7)
    body = _axes(top, fmt)
    centers = []
    for i, (label, value) in enumerate(items):
        h = plot_h * (value / top) if top else 0
        x = PAD_LEFT + i * slot + (slot - bar_w) / 2
        centers.append(x + bar_w / 2)
        y = PAD_TOP + plot_h - h
        body.append(
            f'<rect class="{css}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{max(h, 0):.1f}">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>"
        )
    body += _x_labels([label for label, _ in items], centers)
    desc = "; ".join(f"{label}: {fmt(v)}" for label, v in items[:40]) or "No data"
    return _frame(title, desc, body)


def line_chart(
    title: str, items: Sequence[tuple[str, float]], *, fmt: Callable[[float], str] = lambda v: f"{v:g}"
) -> Markup:
    """A line with a dot per (label, value)."""
    values = [v for _, v in items]
    top = _nice_max(max(values, default=0))
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    n = len(items)
    step = plot_w / max(1, n - 1)
    points = []
    for i, (_label, value) in enumerate(items):
        x = PAD_LEFT + (i * step if n > 1 else plot_w / 2)
        y = PAD_TOP + plot_h - plot_h * (value / top)
        points.append((x, y))
    body = _axes(top, fmt)
    if points:
        body.append(
            '<polyline class="line" points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>'
        )
        for (x, y), (label, value) in zip(points, items, strict=True):
            body.append(
                f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{escape(label)}: '
                f"{escape(fmt(value))}</title></circle>"
            )
    body += _x_labels([label for label, _ in items], [x for x, _ in points])
    desc = "; ".join(f"{label}: {fmt(v)}" for label, v in items[:40]) or "No data"
    return _frame(title, desc, body)


def _clashes(items: Sequence[dict[str, Any]]) -> set[int]:
    """Indexes of items that overlap another item on the same screen."""
    found: set[int] = set()
    for i, a in enumerate(items):
        for j in range(i + 1, len(items)):
            b = items[j]
            if a["screen"] == b["screen"] and a["start"] < b["end"] and b["start"] < a["end"]:
                found.update((i, j))
    return found


def timeline_svg(
    screens: Sequence[str], items: Sequence[dict[str, Any]], *, start: datetime, end: datetime, tz: ZoneInfo
) -> Markup:
    """One row per screen across a day, a block per showtime; overlapping blocks on a screen in red."""
    label_w, row_h, top = 90, 40, 22
    width = 960
    height = top + row_h * max(1, len(screens)) + 4
    span = (end - start).total_seconds()
    plot_w = width - label_w - 8
    clashes = _clashes(items)

    def x_of(moment: datetime) -> float:
        offset = min(max((moment - start).total_seconds(), 0), span)
        return label_w + plot_w * offset / span

    body = []
    tick = start.astimezone(tz).replace(minute=0, second=0, microsecond=0)
    if tick < start:
        tick += timedelta(hours=1)
    while tick <= end:
        x = x_of(tick)
        local = tick.astimezone(tz)
        if local.hour % 2 == 0:
            body.append(f'<line class="axis grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{height}"/>')
            body.append(f'<text x="{x:.1f}" y="{top - 8}" text-anchor="middle">{local:%H}:00</text>')
        tick += timedelta(hours=1)
    for r, name in enumerate(screens):
        y = top + r * row_h
        body.append(f'<text x="4" y="{y + row_h / 2 + 4:.1f}">{escape(name[:12])}</text>')
        body.append(
            f'<line class="axis" x1="{label_w}" x2="{width}" y1="{y + row_h:.1f}" y2="{y + row_h:.1f}"/>'
        )
    for i, item in enumerate(items):
        if item["screen"] not in screens or item["end"] <= start or item["start"] >= end:
            continue
        y = top + screens.index(item["screen"]) * row_h + 5
        x1, x2 = x_of(item["start"]), x_of(item["end"])
        css = "slot clash" if i in clashes else "slot"
        when = f"{item['start'].astimezone(tz):%H:%M}-{item['end'].astimezone(tz):%H:%M}"
        title = f"{item['label']} {when}" + (" (clash)" if i in clashes else "")
        block = (
            f'<rect class="{css}" x="{x1:.1f}" y="{y}" width="{max(x2 - x1, 2):.1f}" '
            f'height="{row_h - 10}" rx="4">'
            f"<title>{escape(title)}</title></rect>"
            f'<text class="slot-label" x="{x1 + 4:.1f}" y="{y + 19}">{escape(item["label"][:18])}</text>'
        )
        if item.get("href"):
            block = f'<a href="{escape(item["href"])}">{block}</a>'
        body.append(block)
    desc = "; ".join(
        f"{it['screen']}: {it['label']} {it['start'].astimezone(tz):%H:%M}"
        + (" clashes" if i in clashes else "")
        for i, it in enumerate(items)
    )
    return Markup(  # noqa: S704 (every text above went through html.escape)
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="Showtimes per screen" '
        f'xmlns="http://www.w3.org/2000/svg" class="timeline-svg"><title>Showtimes per screen</title>'
        f"<desc>{escape(desc or 'No showtimes')}</desc>" + "".join(body) + "</svg>"
    )
