"""Accessibility in a real browser: axe-core (vendored in tests/axe, see ORIGIN.md there) run
on every page of the demo company, light and dark, in Debian's Chromium through Playwright.

No page may have a serious or critical violation (contrast, labels, names, landmarks, focus).
axe is evaluated through the DevTools protocol, so the pages keep their Content-Security-Policy
(no inline script is added to them). Without Chromium these tests skip with the reason;
``LINEAGE_REQUIRE_BROWSER=1`` turns that skip into a failure.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from test_browser import demo_url  # noqa: F401 - the demo server the browser tests use

pytestmark = pytest.mark.e2e

AXE = Path(__file__).parent / "axe" / "axe.min.js"
BLOCKING = ("serious", "critical")

PAGES = [
    "/",
    "/elements/order.total",
    "/trace",
    "/trace?system=BI&element=order.total&record=R-17",
    "/trace?system=ERP&element=order.line_amount&record=40018-2",
    "/trace?system=WMS&element=stock.on_hand&record=SKU-1004",
    "/impact?system=ERP&element=customer.address&record=10233",
    "/golden?system=ERP&record=40017",
    "/findings",
    "/findings?code=rule-violation",
    "/digest/bianca@example.com",
    "/digest/walter@example.com",
    "/digest/(unowned)",  # nothing to act on
    "/digest/nobody@example.com",  # an owner nobody knows: the 404 page
    "/openlineage",
    "/no/such/page",  # the 404 page
    "/trace?system=BI&element=order.total",  # a 400: a parameter is missing
]
if importlib.util.find_spec("webapp.pages.explore") is not None:  # the explorer's own pages
    PAGES += ["/elements", "/systems/ERP", "/integrations/erp-to-bi-sales"]

RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
  }));
}"""


def violations(page: Any, path: str) -> list[dict[str, Any]]:
    """axe's serious and critical violations on ``path``."""
    page.goto(path)
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    return [v for v in found if v["impact"] in BLOCKING]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_page_has_a_serious_accessibility_violation(
    browser: Any,
    demo_url: str,  # noqa: F811
    scheme: str,
) -> None:
    context = browser.new_context(
        base_url=demo_url, viewport={"width": 1280, "height": 900}, color_scheme=scheme
    )
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        found = {path: violations(page, path) for path in PAGES}
    finally:
        context.close()
    assert {path: v for path, v in found.items() if v} == {}


def test_axe_is_vendored_with_its_origin_and_licence() -> None:
    header = AXE.read_text(encoding="utf-8")[:400]
    assert "axe v4.14.1" in header and "Mozilla Public" in header
    origin = (AXE.parent / "ORIGIN.md").read_text(encoding="utf-8")
    assert "axe-core@4.14.1" in origin
    assert (
        (AXE.parent / "LICENSE")
        .read_text(encoding="utf-8")
        .startswith("Mozilla Public License, version 2.0")
    )
