"""The README's screenshots, made by the browser: the system map, a trace, a system page and
the findings page of the demo company, in Debian's Chromium through Playwright.

Each run takes them (into a temporary folder) and checks that they show the page; with
``LINEAGE_SCREENSHOTS=1`` they are written to ``docs/images/`` instead, where the README shows
them: ``LINEAGE_SCREENSHOTS=1 python3 -m pytest tests/test_screenshots.py``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest
from test_browser import demo_url  # noqa: F401 - the demo server the browser tests use

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
SHOTS = {
    "system-map.png": ("/", "System map"),
    "trace.png": ("/trace?system=BI&element=order.total&record=R-17", "Trace a value"),
    "findings.png": ("/findings", "Findings"),
}
if importlib.util.find_spec("webapp.pages.explore") is not None:  # the explorer's system page
    SHOTS["system.png"] = ("/systems/ERP", "ERP")
    SHOTS["integration.png"] = ("/integrations/erp-to-bank-collections", "erp-to-bank")
FOCUS = {"integration.png": "#observed-heading"}
"""Where a shot starts when the part it shows is below the fold (declared vs observed)."""


def _folder(tmp_path: Path) -> Path:
    return IMAGES if os.environ.get("LINEAGE_SCREENSHOTS") == "1" else tmp_path


def test_the_readme_screenshots_show_the_pages(
    browser: Any,
    demo_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    folder = _folder(tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        base_url=demo_url, viewport={"width": 1280, "height": 860}, color_scheme="light"
    )
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        for name, (path, heading) in SHOTS.items():
            page.goto(path)
            expect(page.locator("main h1").first).to_contain_text(heading)
            page.wait_for_load_state("networkidle")
            if name in FOCUS:
                page.locator(FOCUS[name]).evaluate("e => e.scrollIntoView({block: 'start'})")
            page.screenshot(path=str(folder / name))
            image = (folder / name).read_bytes()
            assert image.startswith(b"\x89PNG\r\n\x1a\n")
            assert len(image) > 20_000, f"{name} looks empty"
    finally:
        context.close()


def test_the_readme_shows_every_screenshot() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in SHOTS:
        assert f"](docs/images/{name})" in readme
        assert (IMAGES / name).is_file()
