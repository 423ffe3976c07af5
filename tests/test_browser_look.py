"""The look in a real browser: dark mode from the system setting, a trace that prints as its
answer, and codes, keys and dates that never break across lines, even at 800 px. Debian's
Chromium through Playwright, on the demo company (see tests/test_browser.py)."""

from __future__ import annotations

from typing import Any

import pytest
from test_browser import demo_url  # noqa: F401 - the demo server the browser tests use

pytestmark = pytest.mark.e2e

TRACE = "/trace?system=BI&element=order.total&record=R-17"
BACKGROUND = "element => getComputedStyle(element).backgroundColor"


def _luminance(css: str) -> float:
    """0 (black) to 255 (white), roughly, of an ``rgb(r, g, b)`` colour."""
    r, g, b = (float(part) for part in css[css.index("(") + 1 : css.index(")")].split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _page(browser: Any, base: str, **options: Any) -> Any:
    context = browser.new_context(base_url=base, **options)
    context.set_default_timeout(20_000)
    return context.new_page()


def test_the_pages_follow_the_systems_dark_mode_and_keep_diagrams_on_a_light_canvas(
    browser: Any,
    demo_url: str,  # noqa: F811
) -> None:
    light = _page(browser, demo_url, color_scheme="light")
    dark = _page(browser, demo_url, color_scheme="dark")
    try:
        for page in (light, dark):
            page.goto(TRACE)
        assert _luminance(light.locator("html").evaluate(BACKGROUND)) > 200
        assert _luminance(dark.locator("html").evaluate(BACKGROUND)) < 60
        badge = "element => getComputedStyle(element).color"
        assert _luminance(dark.locator(".severity, .mark.bad").first.evaluate(badge)) > 120
        canvas = dark.locator("figure.diagram .canvas").first
        assert _luminance(canvas.evaluate(BACKGROUND)) > 240
    finally:
        light.context.close()
        dark.context.close()


def test_a_trace_prints_as_its_answer_without_the_bar_and_the_form(
    browser: Any,
    demo_url: str,  # noqa: F811
) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page = _page(browser, demo_url)
    try:
        page.goto(TRACE)
        page.emulate_media(media="print")
        expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
        expect(page.locator("form.ask")).to_be_hidden()
        root = page.get_by_role("heading", name="Root cause: unexplained-transformation")
        expect(root).to_be_visible()
        expect(page.locator("figure.diagram svg")).to_be_visible()
        hops = page.get_by_role("table", name="Hops back to the origin, each verified")
        expect(hops).to_be_visible()
        assert len(page.pdf(format="A4")) > 10_000
    finally:
        page.context.close()


ONE_LINE = """elements => elements.filter(e => {
  const rects = Array.from(e.getClientRects()).filter(r => r.width > 0);
  const tops = new Set(rects.map(r => Math.round(r.top)));
  return tops.size > 1;
}).map(e => e.textContent)"""


@pytest.mark.parametrize("width", [800, 1400])
def test_no_code_key_or_date_breaks_across_lines(
    browser: Any,
    demo_url: str,  # noqa: F811
    width: int,
) -> None:
    page = _page(browser, demo_url, viewport={"width": width, "height": 900})
    try:
        broken = {}
        for path in (
            "/findings",
            TRACE,
            "/trace?system=ERP&element=order.line_amount&record=40018-2",
        ):
            page.goto(path)
            whole = page.locator(
                "main code, main time, main .nw, main .place > span, main .severity"
            )
            assert whole.count() > 10
            split = whole.evaluate_all(ONE_LINE)
            if split:
                broken[path] = split
        assert broken == {}
    finally:
        page.context.close()
