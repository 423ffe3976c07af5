"""Health charts for the pages: inline SVG markup from :mod:`lineage.charts`.

For the pages of one integration or one system, call :func:`integration_health` or
:func:`system_health` with its name and put the answer in the template as it is
(``{{ chart }}``): a small chart of the last 30 days (hops delivered, failed and lost, findings
open), or None when the store holds no events yet. Listing pages draw every chart from one
query with :func:`health_charts`; the findings page shows :func:`findings_over_time`.

The markup is safe to inline: :mod:`lineage.charts` escapes every string it draws and writes
no script and no style (the pages' Content-Security-Policy allows neither inline).
"""

from __future__ import annotations

import datetime as dt

from flask import current_app
from markupsafe import Markup

from lineage.charts import findings_chart, health_chart
from lineage.health import Grouping

from .questions import ask_health

DAYS = 30
"""How many days the pages' charts show (the last is the day of the store's clock)."""

__all__ = [
    "DAYS",
    "findings_over_time",
    "health_charts",
    "health_judged",
    "integration_health",
    "system_health",
]


def _markup(svg: str) -> Markup:
    if not svg.startswith("<svg"):
        raise ValueError("a chart from lineage.charts starts with <svg")
    return Markup(svg)  # noqa: S704 - lineage.charts escapes every string it draws


Drawn = dict[tuple[Grouping, int, dt.datetime | None], tuple[object, dict[str | None, Markup]]]
"""The charts last drawn for each question (per app), with the health answer they were drawn
from: :func:`~webapp.questions.ask_health` answers the same object while the store is
unchanged, and drawing forty charts (the system map's) costs more than counting them."""


def health_charts(
    by: Grouping, *, days: int = DAYS, as_of: dt.datetime | None = None
) -> dict[str | None, Markup]:
    """A small chart per group (every declared name, and the groups seen): name -> SVG.
    Empty when the store holds no events yet."""
    report = ask_health(by, days, as_of)
    cache: Drawn = current_app.extensions.setdefault("lineage.charts", {})
    drawn = cache.get((by, days, as_of))
    if drawn is not None and drawn[0] is report:
        return drawn[1]
    charts = {group.name: _markup(health_chart(group)) for group in report.groups}
    if len(cache) > 16:
        cache.clear()
    cache[(by, days, as_of)] = (report, charts)
    return charts


def _one(by: Grouping, name: str, days: int, as_of: dt.datetime | None) -> Markup | None:
    report = ask_health(by, days, as_of)
    group = report.group(name)
    return None if group is None or not report.days else _markup(health_chart(group))


def integration_health(
    name: str, *, days: int = DAYS, as_of: dt.datetime | None = None
) -> Markup | None:
    """The small health chart of integration ``name`` (None before any event)."""
    return _one("integration", name, days, as_of)


def system_health(
    name: str, *, days: int = DAYS, as_of: dt.datetime | None = None
) -> Markup | None:
    """The small health chart of system ``name`` (hops delivered to it, findings about it)."""
    return _one("system", name, days, as_of)


def health_judged(
    by: Grouping = "integration",
    *,
    days: int = DAYS,
    as_of: dt.datetime | None = None,
    hops: bool = True,
) -> str | None:
    """The moment the charts drawn with the same arguments judged as of, in the words of
    every answer (None before any event): the line a page shows under them."""
    return ask_health(by, days, as_of, hops=hops).judged_text()


DrawnOverTime = dict[tuple[int, dt.datetime | None], tuple[object, Markup | None]]
"""The findings chart last drawn for each question (per app), with the health answer it was
drawn from (as :data:`Drawn`): drawn again only when the store changed."""


def findings_over_time(*, days: int = DAYS, as_of: dt.datetime | None = None) -> Markup | None:
    """Open findings over time (every finding), or None before any event."""
    report = ask_health("integration", days, as_of, hops=False)
    cache: DrawnOverTime = current_app.extensions.setdefault("lineage.findings_chart", {})
    drawn = cache.get((days, as_of))
    if drawn is not None and drawn[0] is report:
        return drawn[1]
    chart = _markup(findings_chart(report)) if report.days else None
    if len(cache) > 16:
        cache.clear()
    cache[(days, as_of)] = (report, chart)
    return chart
