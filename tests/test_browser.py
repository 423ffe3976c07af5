"""The web UI in a real browser: Debian's Chromium driven by Playwright, on the demo company.

The ``browser`` fixture (tests/conftest.py) is one Chromium for the session: without Chromium or
Playwright these tests skip with the reason; ``LINEAGE_REQUIRE_BROWSER=1`` (as in CI) turns
that skip into a failure. No browser is ever downloaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from live_server import serving

from lineage.demo import load_demo
from lineage.render import RED
from lineage.store import open_store
from webapp import create_app

pytestmark = pytest.mark.e2e


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
    """A fresh browser page whose relative URLs go to the demo server."""
    context = browser.new_context(base_url=demo_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()


def test_the_system_map_shows_the_diagram_and_the_systems_table(page: Any) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page.goto("/")
    expect(page.get_by_role("heading", name="System map", exact=True)).to_be_visible()
    expect(page.locator("figure svg")).to_be_visible()
    expect(page.locator("figure svg g.node")).to_have_count(8)
    systems = page.get_by_role("table", name="Systems", exact=True)
    expect(systems.locator("tbody tr")).to_have_count(8)
    expect(systems.get_by_role("rowheader", name="ERP", exact=True)).to_be_visible()
    expect(systems).to_contain_text("finance-systems@example.com")


def test_an_element_link_leads_to_its_flow_and_system_of_record(page: Any) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page.goto("/")
    elements = page.get_by_role("table", name="Elements and their system of record")
    elements.get_by_role("link", name="order.total", exact=True).click()
    expect(page).to_have_url(re.compile(r"/elements/order\.total$"))
    expect(page.get_by_role("heading", name="order.total", level=1)).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text(re.compile(r"System of record\s*ERP"))
    expect(page.locator("figure svg")).to_contain_text("system of record")
    held = page.get_by_role("table", name="Systems holding order.total, by declaration")
    expect(held.get_by_role("row", name=re.compile(r"^BI copy"))).to_be_visible()


def test_the_trace_form_draws_the_culprit_red_and_names_its_owner(page: Any) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Trace").click()
    page.get_by_label("System", exact=True).fill("BI")
    page.get_by_label("Element", exact=True).fill("order.total")
    page.get_by_label("Record", exact=True).fill("R-17")
    page.get_by_role("button", name="Trace").click()
    expect(page).to_have_url(re.compile(r"/trace\?system=BI&element=order.total&record=R-17"))
    diagram = page.locator("figure svg")
    expect(diagram).to_be_visible()
    red = diagram.locator(f'[stroke="{RED}"]')
    assert red.count() >= 2  # the culprit node and the unverified hop into it
    culprit = diagram.locator("g.node", has=page.locator(f'[stroke="{RED}"]'))
    expect(culprit).to_contain_text("115.20")
    root = page.get_by_role("heading", name=re.compile("Root cause: unexplained-transformation"))
    expect(root).to_be_visible()
    owner = page.get_by_text(re.compile("^Owner to talk to:"))
    expect(owner).to_contain_text("bianca@example.com")
    hops = page.get_by_role("table", name="Hops back to the origin, each verified")
    expect(hops.locator("tbody tr")).to_have_count(2)
    expect(hops.locator("tbody tr").nth(1)).to_contain_text("not verified")


def test_the_findings_filter_keeps_only_the_chosen_code(page: Any) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page.goto("/findings")
    rows = page.locator("table.findings tr.finding")
    expect(rows).to_have_count(16)
    walter = page.get_by_role("region", name=re.compile("^walter@example.com"))
    expect(walter.get_by_role("heading", level=2)).to_contain_text("3 findings")
    page.get_by_label("Code", exact=True).select_option("rule-violation")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"code=rule-violation"))
    expect(rows).to_have_count(3)
    for code in rows.locator("td:nth-child(2)").all_inner_texts():
        assert code == "rule-violation"
    expect(page.get_by_label("Code", exact=True)).to_have_value("rule-violation")
    # a row's place opens the page that shows it
    rows.first.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(r"/trace\?system="))


def test_a_golden_record_shows_a_stale_copy_in_words_and_colour(page: Any) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page.goto("/golden")
    page.get_by_label("System", exact=True).fill("ERP")
    page.get_by_label("Record", exact=True).fill("40017")
    page.get_by_role("button", name="Show golden record").click()
    expect(page.get_by_role("heading", name="Golden record of ERP 40017")).to_be_visible()
    table = page.get_by_role("table", name="Each element's golden value and its copies")
    stale = table.locator(".status-stale").first
    expect(stale).to_be_visible()
    expect(stale).to_have_text(re.compile(r"\bstale$"))
    colour = stale.evaluate("element => getComputedStyle(element).color")
    agrees = table.locator(".status-agrees").first.evaluate(
        "element => getComputedStyle(element).color"
    )
    assert colour != agrees


def test_no_page_breaks_the_content_security_policy(page: Any) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    for path in (
        "/",
        "/elements/order.total",
        "/trace?system=BI&element=order.total&record=R-17",
        "/impact?system=ERP&element=customer.address&record=10233",
        "/golden?system=ERP&record=40017",
        "/findings",
    ):
        response = page.goto(path)
        assert response is not None
        assert "default-src 'none'" in response.headers["content-security-policy"]
        expect(page.locator("main h1").first).to_be_visible()
    # the stylesheet applied under the policy: the skip link is moved off screen by it
    box = page.locator("a.skip").bounding_box()
    assert box is not None
    assert box["x"] < 0
    assert violations == []
