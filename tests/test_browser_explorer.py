"""The explorer in a real browser: diagrams that pan, zoom and fit, nodes that are links,
search from every page. Debian's Chromium driven by Playwright, on the demo company.

The ``browser`` fixture (tests/conftest.py) is one Chromium for the session: without Chromium or
Playwright these tests skip with the reason; ``LINEAGE_REQUIRE_BROWSER=1`` (as in CI) turns
that skip into a failure. No browser is ever downloaded.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from live_server import serving

from lineage.demo import load_demo
from lineage.store import open_store
from webapp import create_app

pytestmark = pytest.mark.e2e

TRACE = "/trace?system=BI&element=order.total&record=R-17"


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


def _open(browser: Any, demo_url: str, width: int, height: int = 900) -> Any:
    context = browser.new_context(base_url=demo_url, viewport={"width": width, "height": height})
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def page(browser: Any, demo_url: str) -> Iterator[Any]:
    """A fresh browser page, 1,280 px wide, whose relative URLs go to the demo server."""
    context = _open(browser, demo_url, 1280)
    try:
        yield context.new_page()
    finally:
        context.close()


def _box(locator: Any) -> dict[str, float]:
    box: dict[str, float] | None = locator.bounding_box()
    assert box is not None
    return box


def _eventually(check: Any, timeout: float = 5.0) -> None:
    """Wait for ``check()`` to hold: zooming by the buttons is animated."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the diagram did not settle as expected")
        time.sleep(0.05)


def _settled(locator: Any, timeout: float = 5.0) -> dict[str, float]:
    """The box of ``locator`` once the animation ends (two readings 100 ms apart agree)."""
    seen = [_box(locator)]

    def still() -> bool:
        time.sleep(0.1)
        seen.append(_box(locator))
        return seen[-1] == seen[-2]

    _eventually(still, timeout)
    return seen[-1]


def _svg_link(page: Any, *parts: str) -> Any:
    """The diagram's links whose target contains every one of ``parts`` (SVG ``xlink:href``)."""
    tests = " and ".join(f"contains(@*[local-name()='href'], '{part}')" for part in parts)
    return page.locator(f"xpath=//figure//*[local-name()='a'][{tests}]")


def _inside(inner: dict[str, float], outer: dict[str, float], slack: float = 4.0) -> bool:
    return (
        inner["x"] >= outer["x"] - slack
        and inner["y"] >= outer["y"] - slack
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack
    )


@pytest.mark.parametrize("width", [800, 1400, 2560])
def test_the_system_map_fits_its_box_on_load(browser: Any, demo_url: str, width: int) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    context = _open(browser, demo_url, width)
    try:
        page = context.new_page()
        page.goto("/")
        canvas = page.locator("figure.diagram .canvas")
        expect(canvas).to_have_class(re.compile(r"\bzoomable\b"))
        drawing = _box(canvas.locator("svg g.graph"))
        box = _box(canvas)
        assert _inside(drawing, box), (drawing, box)
        # every one of the eight systems is on screen, none cut off
        for node in canvas.locator("g.node").all():
            assert _inside(_box(node), box)
        # and the box itself is within the window
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    finally:
        context.close()


def test_a_diagram_zooms_pans_and_fits_again(page: Any) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page.goto(TRACE)
    figure = page.locator("figure.diagram")
    canvas = figure.locator(".canvas")
    expect(canvas).to_have_class(re.compile(r"\bzoomable\b"))
    # the whole box on screen: a mouse can only drag what it can reach (the lines above the
    # diagram, the moment judged among them, put its bottom below a 900 px window)
    canvas.evaluate("e => e.scrollIntoView({block: 'center'})")
    node = canvas.locator("g.node").first
    before = _box(node)

    figure.get_by_role("button", name="Zoom in").click()
    _eventually(lambda: _box(node)["width"] > before["width"] * 1.2)
    zoomed = _settled(node)

    # drag the background: the drawing follows the mouse
    box = _box(canvas)
    page.mouse.move(box["x"] + 5, box["y"] + box["height"] - 5)
    page.mouse.down()
    page.mouse.move(box["x"] + 105, box["y"] + box["height"] - 45, steps=5)
    page.mouse.up()
    dragged = _box(node)
    assert dragged["x"] - zoomed["x"] == pytest.approx(100, abs=3)
    assert dragged["y"] - zoomed["y"] == pytest.approx(-40, abs=3)

    # the wheel zooms, the keyboard pans and zooms out
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -200)
    _eventually(lambda: _box(node)["width"] > dragged["width"] * 1.05)
    wheeled = _box(node)
    canvas.focus()
    page.keyboard.press("ArrowLeft")
    _eventually(lambda: _box(node)["x"] > wheeled["x"] + 20)
    page.keyboard.press("-")
    _eventually(lambda: _box(node)["width"] < wheeled["width"] * 0.9)

    figure.get_by_role("button", name="Fit to screen").click()
    _eventually(lambda: abs(_box(node)["width"] - before["width"]) < before["width"] * 0.02)
    assert _inside(_box(canvas.locator("svg g.graph")), _box(canvas))


def test_searching_a_record_key_from_the_home_page_lands_on_its_trace(page: Any) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/find" in r.url else None)
    page.goto("/")
    box = page.get_by_role("combobox", name="Search")
    box.press_sequentially("R-17", delay=30)
    suggestions = page.get_by_role("listbox", name="Suggestions")
    expect(suggestions).to_be_visible()
    # typed quickly, asked once (debounced), not once a key (a loaded machine may pause)
    page.wait_for_timeout(300)
    assert 1 <= len(asked) < 4, asked
    assert asked[-1].endswith("q=R-17")
    choice = suggestions.get_by_role("option").filter(has_text="BI · order.total")
    expect(choice).to_have_count(1)
    choice.click()
    expect(page).to_have_url(re.compile(r"/trace\?system=BI&element=order\.total&record=R-17$"))
    expect(page.locator("figure svg")).to_contain_text("115.20")


def test_the_suggestions_box_shows_only_while_there_are_suggestions(page: Any) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page.goto("/findings")
    suggestions = page.locator("#site-search-list")
    # before any typing: no empty box under the field (it used to show, 8 px high)
    expect(suggestions).to_be_hidden()
    box = page.get_by_role("combobox", name="Search")
    box.focus()
    page.wait_for_timeout(300)
    expect(suggestions).to_be_hidden()
    box.fill("erp-to")
    options = suggestions.get_by_role("option")
    expect(options).not_to_have_count(0)
    # one suggestion a line, under each other
    tops = [box["y"] for box in (o.bounding_box() for o in options.all()) if box]
    assert len(tops) > 1 and tops == sorted(set(tops)), tops
    box.fill("")
    expect(suggestions).to_be_hidden()
    box.fill("nothing-is-called-this")
    page.wait_for_timeout(500)
    expect(suggestions).to_be_hidden()


PUNCTUATION_STARTING_A_LINE = """root => {
  const found = [];
  const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let node, before = null, previous = " ";
  while ((node = walk.nextNode())) {
    for (let i = 0; i < node.length; i++) {
      const c = node.data[i];
      if (/\\s/.test(c)) { previous = c; continue; }
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const box = range.getClientRects()[0];
      if (!box || !box.width) continue;
      const newLine = before && box.top > before.top + 2 && box.left < before.left;
      if (newLine && /[.,;:!?]/.test(c) && !/\\s/.test(previous)) {
        found.push(node.parentElement.closest("p, li, td, div").textContent.trim().slice(0, 80));
      }
      before = box;
      previous = c;
    }
  }
  return found;
}"""


def test_punctuation_after_a_code_or_key_never_starts_a_line(browser: Any, demo_url: str) -> None:
    context = _open(browser, demo_url, 800)
    page = context.new_page()
    starts: dict[str, set[str]] = {}
    try:
        for path in (
            TRACE,  # "where it should hold 103.68." broke before its full stop at 424 px
            "/findings",
            "/digest/erin@example.com",
            "/digest/nobody@example.com",  # known owners, a comma after each
        ):
            page.goto(path)
            for width in range(320, 808, 8):  # every line break a phone to a laptop may make
                page.set_viewport_size({"width": width, "height": 900})
                found = page.locator("main").evaluate(PUNCTUATION_STARTING_A_LINE)
                starts.setdefault(path, set()).update(found)
    finally:
        context.close()
    assert {path: found for path, found in starts.items() if found} == {}


def test_the_search_box_keys_choose_a_suggestion(page: Any) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page.goto("/findings")
    box = page.get_by_role("combobox", name="Search")
    box.fill("erp-to-bi")
    expect(page.get_by_role("listbox", name="Suggestions").get_by_role("option")).not_to_have_count(
        0
    )
    box.press("ArrowDown")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/integrations/erp-to-bi-sales$"))
    expect(page.get_by_role("heading", name="erp-to-bi-sales", level=1)).to_be_visible()


def test_a_finding_leads_to_its_trace_an_upstream_golden_record_and_the_owners_digest(
    page: Any,
) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page.goto("/findings")
    row = page.get_by_role("row").filter(has_text="unexplained-transformation")
    row.get_by_role("link", name=re.compile("trace", re.I)).first.click()
    expect(page).to_have_url(re.compile(r"/trace\?system=BI&element=order\.total&record=R-17"))
    # a click that came before the page's scripts ran would follow the node's link instead
    expect(page.locator("html[data-diagrams=ready]")).to_have_count(1)

    # the upstream node: the ERP's order 40017, which BI's R-17 was computed from
    upstream = _svg_link(page, "system=ERP&", "record=40017")
    expect(upstream).to_have_count(1)
    upstream.click()
    menu = page.get_by_role("menu", name="ERP / order.total / 40017")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("menuitem")).to_have_count(5)
    menu.get_by_role("menuitem", name="Golden record of ERP 40017").click()
    expect(page).to_have_url(re.compile(r"/golden\?system=ERP&record=40017$"))
    expect(page.get_by_role("heading", name="Golden record of ERP 40017")).to_be_visible()
    # the owner of the divergent copy BI R-17: a click on their name opens their digest
    table = page.get_by_role("table", name="Each element's golden value and its copies")
    owner = "bianca@example.com"
    table.get_by_role("link", name=owner, exact=True).first.click()
    expect(page).to_have_url(re.compile(r"/digest/bianca(@|%40)example\.com$"))
    expect(page.get_by_role("heading", name=f"Digest of {owner}", level=1)).to_be_visible()
    expect(page.get_by_role("status").first).to_contain_text("2 open findings: 2 errors")
    # the finding the journey started from is there, under its code, with its trace
    group = page.get_by_role("region", name="unexplained-transformation findings of " + owner)
    expect(group).to_contain_text("BI / order.total / R-17")
    group.get_by_role("link", name="its trace").click()
    expect(page).to_have_url(re.compile(r"/trace\?system=BI&element=order\.total&record=R-17$"))

    # another owner's digest, found from the search box
    # the suggestions listen once the page's scripts ran: type only after the page loaded
    page.wait_for_load_state("load")
    box = page.get_by_role("combobox", name="Search")
    box.fill("pat@")
    suggestions = page.get_by_role("listbox", name="Suggestions")
    suggestions.get_by_role("option").filter(has_text="pat@example.com").click()
    expect(page).to_have_url(re.compile(r"/digest/pat(@|%40)example\.com$"))
    expect(page.get_by_role("heading", name="Digest of pat@example.com")).to_be_visible()


EVERY_PAGE = [
    "/",
    "/elements",
    "/elements/order.total",
    "/systems/ERP",
    "/integrations/erp-to-bi-sales",
    "/records?system=BI&element=order.total",
    "/search?q=e",
    "/trace",
    TRACE,
    "/trace?system=ERP&element=order.line_amount&record=40018-2",
    "/impact?system=ERP&element=customer.address&record=10233",
    "/golden?system=ERP&record=40017",
    "/findings",
    "/digest/erin@example.com",
    "/digest/walter@example.com",
    "/digest/nobody@example.com",  # an unknown owner: the 404 page
    "/openlineage",
    "/trace?system=BI&element=order.total",  # a 400 page
]


def test_no_page_scrolls_sideways_at_800_px(browser: Any, demo_url: str) -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "API_TOKEN": None})
    try:
        adapter = app.url_map.bind("localhost")
        visited = {adapter.match(path.split("?")[0])[0] for path in EVERY_PAGE}
        pages = {
            rule.endpoint
            for rule in app.url_map.iter_rules()
            if "GET" in (rule.methods or ()) and not rule.rule.startswith(("/api/", "/static/"))
        }
    finally:
        app.extensions["lineage"].close()
    assert pages - visited == set()  # a page added later is added here too
    context = _open(browser, demo_url, 800)
    try:
        page = context.new_page()
        wide = {}
        for path in EVERY_PAGE:
            page.goto(path)
            page.wait_for_load_state("load")
            widths = page.evaluate(
                "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            if widths[0] > widths[1]:
                wide[path] = widths
        assert wide == {}
        # the wide golden table scrolls inside its own box instead
        page.goto("/golden?system=ERP&record=40017")
        box = page.locator(".table-scroll").filter(has=page.locator("table.golden"))
        assert box.evaluate("e => e.scrollWidth > e.clientWidth")
    finally:
        context.close()


def test_map_nodes_and_edges_lead_to_system_and_integration_pages(page: Any) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page.goto("/")
    _svg_link(page, "/systems/ERP").first.click()
    expect(page).to_have_url(re.compile(r"/systems/ERP$"))
    expect(page.get_by_role("heading", name="ERP", level=1)).to_be_visible()
    page.go_back()
    edge = page.locator("figure.diagram svg g.edge").filter(has_text="erp-to-bi-sales")
    edge.locator("text", has_text="erp-to-bi-sales").first.click()
    expect(page).to_have_url(re.compile(r"/integrations/erp-to-bi-sales$"))


def test_a_drag_that_ends_on_a_node_pans_instead_of_following_its_link(page: Any) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page.goto("/")
    node = _svg_link(page, "/systems/ERP").first
    box = _box(node)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"/$"))
    assert _box(node)["x"] == pytest.approx(box["x"] + 60, abs=3)


def test_a_trace_grows_one_step_upstream_without_a_reload(page: Any) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page.goto(TRACE + "&up=1")
    figure = page.locator("figure.diagram")
    nodes = figure.locator("svg g.node")
    expect(nodes).to_have_count(2)  # BI's R-17 and the ERP value it was computed from
    page.evaluate("window.notReloaded = true")
    grow = figure.get_by_role("button", name="Expand upstream one step")
    expect(grow).to_contain_text("1 more")
    grow.click()
    expect(nodes).to_have_count(3)  # one step further: the Shop's order W-5007
    expect(figure.locator("svg")).to_contain_text("W-5007")
    assert page.evaluate("window.notReloaded") is True
    expect(page).to_have_url(re.compile(r"&up=1$"))
    expect(grow).to_have_count(0)  # nothing further upstream
    # the grown drawing still pans, zooms and fits, and its values are still links
    figure.get_by_role("button", name="Zoom in").click()
    expect(_svg_link(page, "system=Shop&", "record=W-5007")).to_have_count(1)
