"""Health charts in a real browser (Debian's Chromium driven by Playwright), on the demo.

The map page shows a small chart per integration and per system; the findings page shows open
findings over time above its table. The test writes the screenshots the README shows
(docs/images/health-map.png, docs/images/findings-over-time.png). The ``browser`` fixture
(tests/conftest.py) is the session's one Chromium: without it these tests skip with the
reason, and ``LINEAGE_REQUIRE_BROWSER=1`` makes that a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import serving

from lineage.demo import load_demo
from lineage.store import open_store
from webapp import create_app

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The web app on an SQLite store holding the demo company, served on 127.0.0.1."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'lineage.db'}"
    store = open_store(url)
    try:
        load_demo(store)
    finally:
        store.close()
    app = create_app({"TESTING": True, "DATABASE_URL": url, "API_TOKEN": None})
    try:
        with serving(app) as base:
            yield base
    finally:
        app.extensions["lineage"].close()


@pytest.fixture
def page(browser: Any, demo_url: str) -> Iterator[Any]:
    context = browser.new_context(base_url=demo_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    violations: list[str] = []
    opened.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    try:
        yield opened
        assert violations == [], violations
    finally:
        context.close()


def test_the_map_shows_each_integration_and_system_health(page: Any) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page.goto("/")
    section = page.get_by_role("region", name="Health, last 30 days")
    expect(section).to_be_visible()
    integrations = section.get_by_role("list", name="Integrations")
    # the 14 declared, the CSV drop nobody declared (its hops name it), and the group of the
    # stored findings that name no integration (a stale copy, say: lineage/health.py)
    expect(integrations.get_by_role("img")).to_have_count(16)
    expect(integrations.get_by_role("img", name="Health of wms-stock-csv")).to_be_visible()
    # the direct debit of order 40019 (erp-to-bank-collections, timeout 1 day) was lost
    debits = integrations.get_by_role("img", name="Health of erp-to-bank-collections")
    expect(debits).to_be_visible()
    expect(debits).to_have_attribute("aria-label", _contains("lost 1"))
    # the malformed e-mail the CRM refused: shop-to-crm-signups has a failed hop
    signups = integrations.get_by_role("img", name="Health of shop-to-crm-signups")
    expect(signups).to_have_attribute("aria-label", _contains("failed 1"))
    systems = section.get_by_role("list", name="Systems")
    expect(systems.get_by_role("img")).to_have_count(8)
    box = debits.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 80  # drawn, not collapsed
    IMAGES.mkdir(parents=True, exist_ok=True)
    section.screenshot(path=str(IMAGES / "health-map.png"))


def test_the_findings_page_shows_open_findings_over_time_above_the_table(page: Any) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page.goto("/findings")
    block = page.get_by_role("region", name="Open findings over time")
    expect(block).to_be_visible()
    chart = block.get_by_role("img", name="Open findings over time")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("aria-label", _contains("open"))
    table = page.get_by_role("table").first  # the findings, grouped by owner, come below
    chart_box, table_box = chart.bounding_box(), table.bounding_box()
    assert chart_box is not None and table_box is not None
    assert chart_box["y"] + chart_box["height"] <= table_box["y"]
    IMAGES.mkdir(parents=True, exist_ok=True)
    block.screenshot(path=str(IMAGES / "findings-over-time.png"))


def _contains(text: str) -> Any:
    import re  # noqa: PLC0415

    return re.compile(re.escape(text))


def test_an_integration_page_shows_its_health(page: Any) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page.goto("/integrations/erp-to-bank-collections")
    section = page.get_by_role("region", name="Delivery health")
    chart = section.get_by_role("img", name="Health of erp-to-bank-collections")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("aria-label", _contains("lost 1"))
    page.goto("/systems/CRM")
    chart = page.get_by_role("region", name="Health").get_by_role("img", name="Health of CRM")
    expect(chart).to_have_attribute("aria-label", _contains("failed 1"))
