"""Health drawn as SVG: a small chart per integration or system, and open findings over time.

Drawn with `leather <https://leather.readthedocs.io/>`_ (pure Python, no compiled
dependency): it builds the SVG with :mod:`xml.etree.ElementTree`, so every string drawn (an
integration's name in a title, a label) is escaped as XML text or attribute, and it styles with
presentation attributes only (``fill="…"``): no ``<style>``, no ``style=""`` and no script,
so the markup can be inlined in a page under the strict Content-Security-Policy of the web UI
(``style-src 'self'``). Each chart is an ``<svg role="img">`` with a ``<title>`` and an
``aria-label`` saying what it shows in words.

>>> from lineage.health import DayHealth, GroupHealth
>>> import datetime as dt
>>> group = GroupHealth("a<b", (DayHealth(dt.date(2026, 11, 20), delivered=3),))
>>> svg = health_chart(group)
>>> svg.startswith("<svg") and "a&lt;b" in svg and "<script" not in svg
True
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

import leather

from .health import GroupHealth, HealthReport

SVG_NS = "http://www.w3.org/2000/svg"
GREEN, RED, AMBER, PURPLE, BLUE = "#2e7d32", "#c62828", "#ef6c00", "#6a1b9a", "#1565c0"
WIDTH, HEIGHT = 320, 150
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"

HOP_LINES = (("delivered", GREEN), ("failed", RED), ("lost", AMBER), ("open", PURPLE))
"""The lines of a group's chart: hops delivered, failed and lost per day, findings open."""
FINDING_LINES = (("open", PURPLE), ("opened", RED), ("resolved", GREEN))
"""The lines of the findings chart: open at the end of each day, opened and resolved that day."""

_THEME: dict[str, Any] = {
    "background_color": "none",
    "margin": 0.03,
    "title_font_family": FONT,
    "title_font_size": 12,
    "title_font_char_height": 12,
    "title_font_char_width": 7,
    "legend_font_family": FONT,
    "legend_font_size": 10,
    "legend_font_char_height": 10,
    "legend_font_char_width": 6,
    "legend_bubble_size": 8,
    "legend_color": "#444",
    "tick_font_family": FONT,
    "tick_font_size": 10,
    "tick_font_char_height": 10,
    "tick_font_char_width": 6,
    "label_color": "#555",
    "tick_color": "#e0e0e0",
    "zero_color": "#9e9e9e",
    "default_line_width": 1.5,
}
# leather reads its theme from module attributes when it draws; these values are the same for
# every chart of this tracker, so they are set once, here.
for _name, _value in _THEME.items():
    setattr(leather.theme, _name, _value)

__all__ = ["findings_chart", "health_chart", "health_svg"]


def _ticks(top: int) -> list[int]:
    """Whole-number ticks from 0 to ``top`` (at most three)."""
    return sorted({0, top // 2, top}) if top > 1 else [0, 1]


def _chart(
    title: str | None,
    days: Sequence[dt.date],
    series: Sequence[tuple[str, str, list[int]]],
) -> Any:
    chart = leather.Chart(title)
    count = len(days)
    top = max([1, *(max(values, default=0) for _, _, values in series)])
    chart.add_x_scale(0, max(1, count - 1))
    chart.add_y_scale(0, top)
    marks = sorted({0, count // 2, count - 1}) if count > 1 else [0]
    labels = {n: days[n].strftime("%d %b") for n in marks}
    chart.add_x_axis(ticks=marks, tick_formatter=lambda value, _i, _n: labels.get(value, ""))
    chart.add_y_axis(ticks=_ticks(top), tick_formatter=lambda value, _i, _n: str(int(value)))
    for name, color, values in series:
        points = list(enumerate(values)) if count > 1 else [(0, values[0]), (1, values[0])]
        chart.add_line(points, name=name, stroke_color=color)
    return chart


def _svg(group: ET.Element, title: str, description: str, width: int, height: int) -> str:
    root = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "viewBox": f"0 0 {width} {height}",
            "width": str(width),
            "height": str(height),
            "role": "img",
            "aria-label": f"{title}: {description}",
            "class": "health-chart",
        },
    )
    ET.SubElement(root, "title").text = title
    ET.SubElement(root, "desc").text = description
    ET.SubElement(root, "rect", width=str(width), height=str(height), fill="#ffffff")
    root.append(group)
    return ET.tostring(root, encoding="unicode")


TITLE_ROOM = 10
"""leather sets a title's baseline at the top margin: the chart is drawn this much lower."""


def _drawn(chart: Any, width: int, height: int) -> ET.Element:
    group: ET.Element = chart.to_svg_group(width, height - TITLE_ROOM)
    group.set("transform", f"translate(0 {TITLE_ROOM})")
    return group


def _described(days: Sequence[dt.date], series: Sequence[tuple[str, str, list[int]]]) -> str:
    if not days:
        return "no days"
    span = f"{days[0].isoformat()} to {days[-1].isoformat()}"
    totals = []
    for name, _, values in series:
        shown = values[-1] if name == "open" else sum(values)
        totals.append(f"{name} {shown}" + (" at the end" if name == "open" else ""))
    return f"{span}: " + ", ".join(totals)


Series = list[tuple[str, str, list[int]]]
"""Lines of a chart: (name, colour, one value per day)."""


def _lines(group: GroupHealth, lines: Sequence[tuple[str, str]]) -> Series:
    return [(name, color, [getattr(day, name) for day in group.days]) for name, color in lines]


def health_chart(
    group: GroupHealth, *, title: str | None = None, width: int = WIDTH, height: int = HEIGHT
) -> str:
    """A small chart of one group's days: hops delivered, failed and lost, findings open.

    Returns an ``<svg>`` element (no XML declaration) to inline in a page: every string in
    it is escaped, and it holds no script and no style element or attribute.

    Args:
        group: one group of a :class:`~lineage.health.HealthReport`.
        title: the chart's title (default: the group's name).
        width: the chart's width in pixels (it scales with its ``viewBox``).
        height: its height.
    """
    shown = title if title is not None else (group.name or "(none)")
    days = [day.day for day in group.days]
    series = _lines(group, HOP_LINES)
    if not days:
        return _svg(ET.Element("g"), shown, "no days", width, height)
    body = _drawn(_chart(shown, days, series), width, height)
    return _svg(body, f"Health of {shown}", _described(days, series), width, height)


def findings_chart(report: HealthReport, *, width: int = 640, height: int = 180) -> str:
    """Open findings over time: open at the end of each day, opened and resolved that day
    (every finding of the store, whatever its group). An ``<svg>`` element, as
    :func:`health_chart`."""
    title = "Open findings over time"
    series = _lines(report.total, FINDING_LINES)
    if not report.days:
        return _svg(ET.Element("g"), title, "no days: the store holds no events", width, height)
    body = _drawn(_chart(title, report.days, series), width, height)
    return _svg(body, title, _described(report.days, series), width, height)


def health_svg(report: HealthReport, *, columns: int = 2) -> str:
    """``lineage health --format svg``: a standalone SVG document, the total's chart then one
    small chart per group where anything happened, ``columns`` to a row."""
    groups = [report.total, *(g for g in report.groups if not g.quiet)]
    rows = (len(groups) + columns - 1) // columns
    width, height = WIDTH * columns, HEIGHT * rows
    root = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "viewBox": f"0 0 {width} {height}",
            "width": str(width),
            "height": str(height),
        },
    )
    ET.SubElement(root, "title").text = f"Health by {report.by}"
    said = report.judged_text()
    if said:  # the moment the counts were judged as of, as every answer says it
        ET.SubElement(root, "desc").text = said
    for n, group in enumerate(groups):
        if not group.days:
            continue
        title = "all" if group is report.total else (group.name or "(none)")
        chart = _chart(title, [d.day for d in group.days], _lines(group, HOP_LINES))
        cell = ET.SubElement(
            root, "g", transform=f"translate({(n % columns) * WIDTH} {(n // columns) * HEIGHT})"
        )
        cell.append(_drawn(chart, WIDTH, HEIGHT))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
