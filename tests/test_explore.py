"""The explorer's pages and search, on SQLite and PostgreSQL: a system's page, an
integration's page, the records browser with each record's verdict, the index of elements,
and ``GET /api/v1/find`` with the search page behind the box on every page.

The small company of ``web_world`` (ERP owns ``order.total``; BI's copy R-9 diverges, the
Portal's P-9 is stale) carries ``<script>`` in its user strings: no page lets one through.
"""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from steward_scenarios import hop, record, write
from web_world import BI_OWNER, HOSTILE_RECORD, REGISTRY, SCRIPT, load

from lineage.model.registry import Waiver


@pytest.fixture
def world(app: Flask, client: FlaskClient) -> FlaskClient:
    """The client of an app whose store holds the small company of ``web_world``."""
    load(app.extensions["lineage"].store())
    return client


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert SCRIPT not in body
    return body


def rows(body: str, caption: str) -> list[str]:
    """The rows of the table with ``caption``, as text without tags."""
    table = body.split(f"<caption>{caption}</caption>", 1)[1].split("</table>", 1)[0]
    found = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in found]


def test_a_system_page_says_what_it_holds_is_the_truth_of_and_what_flows_in_and_out(
    world: FlaskClient,
) -> None:
    body = page(world, "/systems/ERP")
    assert "<h1>ERP</h1>" in body
    facts = body.split('<dl class="facts">', 1)[1].split("</dl>", 1)[0]
    assert 'href="/elements/order.total"' in facts  # the system of record for order.total
    held = rows(body, "Elements ERP holds")
    assert any(r.startswith("order.total system of record") for r in held), held
    assert any(r.startswith("customer.address copy browse the records") for r in held), held
    flows = rows(body, "Integrations in and out of ERP")
    assert flows == [
        "crm-to-erp in CRM → ERP customer.address dave@example.com",
        "erp-to-bi out ERP → BI order.total bi@example.com",
    ]
    assert 'href="/integrations/erp-to-bi"' in body
    assert 'href="/records?system=ERP&amp;element=customer.address"' in body
    assert "No open finding about ERP." in body


def test_an_unknown_system_or_integration_is_a_404_page(world: FlaskClient) -> None:
    assert "declares no system &#39;Nowhere&#39;" in page(world, "/systems/Nowhere", 404)
    assert "declares no integration &#39;nope&#39;" in page(world, "/integrations/nope", 404)


def test_open_findings_show_on_their_system_and_integration(app: Flask, world: FlaskClient) -> None:
    # the company's events make real findings, judged as the findings page judges them: BI's
    # R-9 got 100.00 where multiply(1.2) of 80.00 makes 96.00; the Portal kept 60.00
    bi_rows = [
        "error conflicting-truth BI / order.total / R-9 BI R-9 order.total is '100.00', divergent",
        "error unexplained-transformation BI / order.total / R-9 hop h-bi-2 on erp-to-bi "
        "carried order.total = '100.00' to BI record R-9",
    ]
    portal_row = (
        "error conflicting-truth Portal / order.total / P-9 Portal P-9 order.total is "
        "'60.00', stale"
    )
    for url, caption, wanted in (
        ("/systems/BI", "Open findings about BI", bi_rows),
        ("/integrations/erp-to-bi", "Open findings about erp-to-bi", bi_rows),
        ("/systems/Portal", "Open findings about Portal", [portal_row]),
        ("/integrations/bi-to-portal", "Open findings about bi-to-portal", [portal_row]),
    ):
        body = page(world, url)
        shown = [html.unescape(row) for row in rows(body, caption)]
        assert [row[: len(w)] for row, w in zip(shown, wanted, strict=True)] == wanted, shown
        assert all(row.endswith(("bi@example.com", "portal@example.com")) for row in shown)
        assert 'href="/trace?system=' in body
    for url, name in (("/systems/ERP", "ERP"), ("/integrations/crm-to-erp", "crm-to-erp")):
        assert f"No open finding about {name}." in page(world, url)

    # BI and the Portal receive the right value (over HTTP, judged after the answer): the
    # conflicts are resolved and leave the pages; the wrong hop h-bi-2 stays a finding
    fixed = [
        hop(
            "h-bi-3",
            [("ERP", "order.total", "40017", "80.00")],
            ("BI", "order.total", "R-9", "96.00"),
            40,
        ),
        hop(
            "h-portal-2",
            [("BI", "order.total", "R-9", "96.00")],
            ("Portal", "order.total", "P-9", "96.00"),
            45,
        ),
    ]
    assert world.post("/api/v1/events", json=fixed).status_code == 200
    shown = rows(page(world, "/systems/BI"), "Open findings about BI")
    assert [row.split()[1] for row in shown] == ["unexplained-transformation"], shown
    assert "No open finding about Portal." in page(world, "/systems/Portal")
    assert "No open finding about bi-to-portal." in page(world, "/integrations/bi-to-portal")

    # a waiver in the registry silences it on the pages as on the findings page
    store = app.extensions["lineage"].store()
    waiver = Waiver(
        code="unexplained-transformation",
        subject={"integration": "erp-to-bi"},
        reason="the VAT rate changed; the registry follows next week",
        owner=BI_OWNER,
    )
    store.save_registry(REGISTRY.model_copy(update={"waivers": (waiver,)}))
    for url, name in (("/systems/BI", "BI"), ("/integrations/erp-to-bi", "erp-to-bi")):
        body = page(world, url)
        assert f"No open finding about {name}." in body
        assert "waived ones are not shown" in body


def test_an_integration_page_shows_each_carry_with_its_transform_and_owner(
    world: FlaskClient,
) -> None:
    body = page(world, "/integrations/erp-to-bi")
    assert "<h1>erp-to-bi</h1>" in body
    assert "Sales reports" in body
    carried = rows(body, "Elements erp-to-bi carries, each with its transform")
    assert carried == ["order.total multiply(1.2) ERP browse"]
    assert 'href="mailto:bi@example.com"' in body
    assert 'href="/systems/ERP"' in body and 'href="/systems/BI"' in body
    hostile = page(world, "/integrations/crm-to-erp")
    assert "Invoices go to the current address &lt;script&gt;" in hostile


def test_the_records_browser_gives_each_record_its_verdict(world: FlaskClient) -> None:
    bi = rows(page(world, "/records?system=BI&element=order.total"), "Records")
    assert len(bi) == 1
    assert bi[0].startswith("R-9 100.00 ✗ divergent")
    portal = rows(page(world, "/records?system=Portal&element=order.total"), "Records")
    assert portal[0].startswith("P-9 60.00 ! stale")
    truth = rows(page(world, "/records?system=ERP&element=order.total"), "Records")
    assert truth[0].startswith("40017 80.00 truth")
    hostile = page(world, "/records?system=CRM&element=customer.address")
    assert "C-&lt;b&gt;1&lt;/b&gt;" in hostile


def test_the_records_browser_pages_in_key_order(app: Flask, world: FlaskClient) -> None:
    store = app.extensions["lineage"].store()
    keys = [f"K-{n:03d}" for n in range(30)]
    record(
        store,
        *(write(f"w-{key}", "ERP", "order.total", key, "1.00", 40) for key in keys),
        registry=REGISTRY,
    )
    first = page(world, "/records?system=ERP&element=order.total")
    shown = [r.split()[0] for r in rows(first, "Records")]
    assert shown == ["40017", *keys[:24]]
    assert '<a rel="next" href="/records?system=ERP&amp;element=order.total&amp;after=K-023">' in (
        first
    )
    second = page(world, "/records?system=ERP&element=order.total&after=K-023")
    assert [r.split()[0] for r in rows(second, "Records after K-023")] == keys[24:]
    assert 'rel="next"' not in second
    assert "First page" in second


def test_the_records_browser_needs_a_system_and_an_element(world: FlaskClient) -> None:
    assert "element is required" in page(world, "/records?system=BI", 400)


def test_the_elements_index_lists_every_element_with_its_system_of_record(
    world: FlaskClient,
) -> None:
    body = page(world, "/elements")
    listed = rows(body, "Every element")
    assert [r.split()[0] for r in listed] == ["customer.address", "order.total"]
    assert listed[1].startswith("order.total decimal ERP ERP controller@example.com")
    assert 'href="/systems/ERP"' in body


def test_every_page_has_the_search_box(world: FlaskClient) -> None:
    for url in ("/", "/elements", "/systems/ERP", "/findings", "/trace"):
        body = page(world, url)
        assert '<form class="site-search" role="search" method="get" action="/search">' in body
        assert 'data-suggest="/api/v1/find"' in body


def test_find_answers_registry_names_and_record_keys_with_their_pages(
    world: FlaskClient,
) -> None:
    answer = world.get("/api/v1/find?q=R-").get_json()
    assert answer["query"] == "R-"
    assert answer["hits"] == [
        {
            "kind": "record",
            "label": "R-9",
            "detail": "BI · order.total",
            "url": "/trace?system=BI&element=order.total&record=R-9",
            "system": "BI",
            "element": "order.total",
            "record": "R-9",
        }
    ]
    found = world.get("/api/v1/find?q=erp").get_json()["hits"]
    assert [(h["kind"], h["label"]) for h in found][:2] == [
        ("system", "ERP"),
        ("integration", "erp-to-bi"),
    ]
    assert ("integration", "crm-to-erp") in [(h["kind"], h["label"]) for h in found]
    assert found[0]["url"] == "/systems/ERP"
    owner = world.get("/api/v1/find?q=portal@").get_json()["hits"]
    assert owner[0]["kind"] == "owner"
    assert owner[0]["url"] == "/digest/portal@example.com"
    element = world.get("/api/v1/find?q=TOTAL").get_json()["hits"]
    assert element[0] == {**element[0], "kind": "element", "url": "/elements/order.total"}


def test_find_keeps_to_its_limit_and_refuses_an_empty_query(app: Flask, world: FlaskClient) -> None:
    store = app.extensions["lineage"].store()
    record(
        store,
        *(write(f"w-{n}", "BI", "order.total", f"R-{n:03d}", "1.00", 40) for n in range(20)),
        registry=REGISTRY,
    )
    assert len(world.get("/api/v1/find?q=R-&limit=5").get_json()["hits"]) == 5
    assert len(world.get("/api/v1/find?q=R-").get_json()["hits"]) == 10
    for bad in ("/api/v1/find", "/api/v1/find?q=", "/api/v1/find?q=x&limit=0"):
        response = world.get(bad)
        assert response.status_code == 400
        assert response.get_json()["error"].startswith("bad query parameters")


def test_the_search_page_opens_an_exact_match_and_lists_the_rest(world: FlaskClient) -> None:
    response = world.get("/search?q=R-9")
    assert response.status_code == 302
    assert response.headers["Location"] == "/trace?system=BI&element=order.total&record=R-9"
    assert world.get("/search?q=bi-to-portal").headers["Location"] == "/integrations/bi-to-portal"
    listed = page(world, "/search?q=order")
    assert rows(listed, "What “order” finds")[0].startswith("order.total element")
    nothing = page(world, "/search?q=" + HOSTILE_RECORD.replace("C-", "X-"))
    assert "Nothing matches" in nothing


def test_a_record_key_found_by_prefix_carries_a_hostile_key_escaped(
    world: FlaskClient,
) -> None:
    hits = world.get("/api/v1/find?q=C-").get_json()["hits"]
    assert [h["record"] for h in hits] == [HOSTILE_RECORD]
    assert "C-&lt;b&gt;1&lt;/b&gt;" in page(world, "/search?q=C-")


def test_hops_recorded_for_new_keys_are_found_at_once(app: Flask, world: FlaskClient) -> None:
    store = app.extensions["lineage"].store()
    record(
        store,
        hop(
            "h-new",
            [("ERP", "order.total", "40017", "80.00")],
            ("BI", "order.total", "Z-1", "96.00"),
            50,
        ),
        registry=REGISTRY,
    )
    hits = world.get("/api/v1/find?q=Z-1").get_json()["hits"]
    assert hits[0]["url"] == "/trace?system=BI&element=order.total&record=Z-1"


def _keys(client: FlaskClient, text: str) -> list[tuple[str, str]]:
    answer = client.get("/api/v1/find", query_string={"q": text, "limit": 50}).get_json()
    return sorted({(h["system"], h["record"]) for h in answer["hits"] if h["kind"] == "record"})


def test_a_record_key_is_found_by_any_part_of_it_in_any_case(
    app: Flask, world: FlaskClient
) -> None:
    store = app.extensions["lineage"].store()
    record(
        store,
        write("w-inv", "ERP", "order.total", "INV-2026-0042", "1.00", 40),
        write("w-pct", "ERP", "order.total", "50%_OFF-7", "1.00", 41),
        write("w-ab", "ERP", "order.total", "50AB-OFF", "1.00", 42),
        registry=REGISTRY,
    )
    assert _keys(world, "026-00") == [("ERP", "INV-2026-0042")]
    assert _keys(world, "inv-2026") == [("ERP", "INV-2026-0042")]  # any case, not a prefix
    # a part found inside a key: the hit leads to its trace like a prefix hit
    hit = world.get("/api/v1/find?q=0042").get_json()["hits"][0]
    assert hit["url"] == "/trace?system=ERP&element=order.total&record=INV-2026-0042"
    # LIKE's wildcards are plain characters: "0%_" is in one key, not in "50AB-OFF"
    assert _keys(world, "0%_") == [("ERP", "50%_OFF-7")]
    assert _keys(world, "%_o") == [("ERP", "50%_OFF-7")]
    assert _keys(world, '"x') == []
    # two characters: prefix only (exact case)
    assert _keys(world, "42") == []
    assert _keys(world, "50") == [("ERP", "50%_OFF-7"), ("ERP", "50AB-OFF")]
    # a key recorded later is found inside at once
    record(store, write("w-late", "BI", "order.total", "LATE-99-X", "2.00", 43), registry=REGISTRY)
    assert _keys(world, "e-99") == [("BI", "LATE-99-X")]


def test_a_store_without_a_trigram_index_finds_record_keys_by_prefix_only(
    app: Flask, world: FlaskClient
) -> None:
    store = app.extensions["lineage"].store()
    record(store, write("w-inv", "ERP", "order.total", "INV-2026-0042", "1.00", 40))
    assert _keys(world, "2026") == [("ERP", "INV-2026-0042")]
    with store.engine.begin() as conn:  # as an upgrade leaves an SQLite without FTS5 or a
        if store.dialect == "sqlite":  # PostgreSQL refusing pg_trgm
            conn.exec_driver_sql("DROP TABLE events_record_trigrams_mark")
            conn.exec_driver_sql("DROP TABLE events_record_trigrams")
        else:
            conn.exec_driver_sql("DROP INDEX ix_events_record_trigrams")
    assert _keys(world, "2026") == []
    assert _keys(world, "INV-20") == [("ERP", "INV-2026-0042")]
    record(store, write("w-more", "ERP", "order.total", "INV-2027-1", "1.00", 41))
    assert _keys(world, "INV-2027") == [("ERP", "INV-2027-1")]


def test_diagram_nodes_link_to_their_pages_and_the_api_svg_stays_plain(world: FlaskClient) -> None:
    trace = page(world, "/trace?system=ERP&element=customer.address&record=40017")
    # the upstream value, with its hostile key, links to its trace, escaped
    assert (
        'xlink:href="/trace?system=CRM&amp;element=customer.address&amp;record=C-%3Cb%3E1%3C/b%3E"'
        in trace
    )
    assert 'xlink:href="/integrations/crm-to-erp"' in trace
    home = page(world, "/")
    for target in ("/systems/ERP", "/systems/BI", "/integrations/erp-to-bi"):
        assert f'xlink:href="{target}"' in home
    assert 'xlink:href="/systems/ERP"' in page(world, "/elements/order.total")
    svg = world.get("/api/v1/graph/system-map.svg").get_data(as_text=True)
    assert "xlink:href" not in svg  # the map; traces and impacts link their values


def test_a_trace_is_drawn_some_steps_deep_with_the_url_one_step_deeper(
    world: FlaskClient,
) -> None:
    # Portal P-9 <- BI R-9 <- ERP 40017: two hops upstream
    place = "system=Portal&element=order.total&record=P-9"
    one = page(world, f"/trace?{place}&up=1")
    assert one.count('class="node"') == 2
    assert (
        'data-expand="/api/v1/graph/trace.svg?system=Portal&amp;element=order.total&amp;'
        'record=P-9&amp;up=2" data-hidden="1" data-direction="upstream"' in one
    )
    grown = world.get(f"/api/v1/graph/trace.svg?{place}&up=2")
    assert grown.status_code == 200
    assert grown.get_data(as_text=True).count('class="node"') == 3
    assert "data-expand" not in grown.get_data(as_text=True)
    whole = page(world, f"/trace?{place}")  # short enough to draw whole
    assert whole.count('class="node"') == 3
    assert "data-expand" not in whole
    assert world.get(f"/api/v1/graph/trace.svg?{place}&up=0").status_code == 400
