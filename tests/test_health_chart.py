"""Health charts: well-formed SVG that can be inlined under the web UI's strict CSP, with every
user string escaped."""

from __future__ import annotations

import datetime as dt

from lxml import etree

from lineage.charts import findings_chart, health_chart, health_svg
from lineage.health import DayHealth, GroupHealth, HealthReport

HOSTILE = "<script>alert(\"x\")</script> & 'quote' ]]> <!-- --> \u202e"
SVG = "{http://www.w3.org/2000/svg}"


def _group(name: str | None, days: int = 7) -> GroupHealth:
    start = dt.date(2026, 11, 15)
    return GroupHealth(
        name,
        tuple(
            DayHealth(start + dt.timedelta(days=n), delivered=n, failed=n % 2, lost=n // 3,
                      opened=n % 3, resolved=n % 2, open=n)
            for n in range(days)
        ),
    )  # fmt: skip


def _report(*groups: GroupHealth) -> HealthReport:
    total = _group("total")
    return HealthReport("integration", 1, tuple(d.day for d in total.days), tuple(groups), total)


def _parsed(svg: str) -> etree._Element:
    return etree.fromstring(svg.encode())


def _inline_safe(root: etree._Element) -> None:
    """Nothing a strict Content-Security-Policy would block, nothing that runs."""
    for node in root.iter():
        if not isinstance(node.tag, str):
            raise AssertionError(f"unexpected node {node!r}")
        assert node.tag.removeprefix(SVG) not in {"script", "style", "foreignObject", "a"}
        assert "style" not in node.attrib
        assert not any(name.startswith("on") for name in node.attrib)
        assert not any("javascript:" in value for value in node.attrib.values())


def test_a_hostile_integration_name_is_escaped_in_its_chart() -> None:
    svg = health_chart(_group(HOSTILE))
    root = _parsed(svg)
    _inline_safe(root)
    assert "<script>" not in svg
    assert root.findtext(f"{SVG}title") == f"Health of {HOSTILE}"
    assert HOSTILE in "".join(root.itertext())  # drawn as text, exactly
    assert root.get("role") == "img"
    assert HOSTILE in (root.get("aria-label") or "")


def test_a_chart_shows_every_line_and_its_legend() -> None:
    root = _parsed(health_chart(_group("erp-to-bi")))
    texts = set(root.itertext())
    assert {"delivered", "failed", "lost", "open"} <= texts
    colors = {p.get("stroke") for p in root.iter(f"{SVG}path")}
    assert {"#2e7d32", "#c62828", "#ef6c00", "#6a1b9a"} <= colors
    assert "delivered 21" in (root.get("aria-label") or "")  # 0+1+...+6


def test_a_single_day_and_an_unnamed_group_draw() -> None:
    root = _parsed(health_chart(_group(None, days=1)))
    _inline_safe(root)
    assert root.findtext(f"{SVG}title") == "Health of (none)"


def test_the_findings_chart_says_how_many_are_open_at_the_end() -> None:
    root = _parsed(findings_chart(_report(_group(HOSTILE))))
    _inline_safe(root)
    assert root.findtext(f"{SVG}title") == "Open findings over time"
    assert "open 6 at the end" in (root.get("aria-label") or "")


def test_the_standalone_document_draws_every_active_group() -> None:
    quiet = GroupHealth("quiet", tuple(DayHealth(d.day) for d in _group("x").days))
    document = health_svg(_report(_group("a"), _group(HOSTILE), quiet))
    assert document.startswith("<?xml")
    root = _parsed(document.split("\n", 1)[1])
    _inline_safe(root)
    texts = set(root.itertext())
    assert {"a", HOSTILE, "all"} <= texts
    assert "quiet" not in texts
