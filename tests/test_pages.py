"""The HTML pages: the system map, an element, trace, impact, golden record and findings.

Every page extends base.html (nav bar, local stylesheet), answers bad parameters with a 400
page and unknown places with a 404 page, and escapes every user string: the small company of
``web_world`` carries ``<script>`` in an owner, a record key, a value, a purpose and a
description, and no page may let one through.
"""

from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from steward_scenarios import record, write
from web_world import BI_OWNER, HOSTILE_OWNER, HOSTILE_RECORD, PORTAL_OWNER, load

from lineage.cli import main
from lineage.demo import load_demo
from lineage.render import RED

TRACE_BI = "/trace?system=BI&element=order.total&record=R-9"


@pytest.fixture
def world(app: Flask, client: FlaskClient) -> FlaskClient:
    """The client of an app whose store holds the small company of ``web_world``."""
    load(app.extensions["lineage"].store())
    return client


def page(client: FlaskClient, url: str, status: int = 200, **params: str) -> str:
    response = client.get(url, query_string=params or None)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


class _Tags(HTMLParser):
    """Start tags with their attributes, and the text, of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(html: str) -> _Tags:
    tags = _Tags()
    tags.feed(html)
    return tags


def labelled_inputs(html: str) -> dict[str, str]:
    """Each form control's label text, by the control's name."""
    html = html.split('<main id="content">', 1)[-1]  # the page's own forms, not the search box
    labels = dict(re.findall(r'<label for="([^"]+)">([^<]+)</label>', html))
    found = {}
    for tag, attrs in parsed(html).tags:
        if tag in ("input", "select") and attrs.get("type") != "hidden":
            name = attrs.get("name") or ""
            assert attrs.get("id") in labels, f"{name} has no label"
            found[name] = labels[attrs["id"] or ""]
    return found


OWN_SCRIPT = re.compile(r'<script src="/static/[\w/.-]+\.js" defer></script>')
"""The only scripts a page may carry: the tracker's own files, never inline code."""


def without_own_scripts(html: str) -> str:
    return OWN_SCRIPT.sub("", html)


def text_of(html: str) -> str:
    """The words a reader sees: text pieces joined by a space, except before punctuation that
    ends a clause (``<span>W-5008-2</span>,`` reads "W-5008-2,")."""
    return re.sub(r" ([.,;:])(?=\s|$)", r"\1", " ".join(" ".join(parsed(html).text).split()))


HOSTILE_PAGES = [
    "/",
    "/elements/customer.address",
    "/trace?system=ERP&element=customer.address&record=40017",
    f"/trace?system=CRM&element=customer.address&record={HOSTILE_RECORD}",
    f"/impact?system=CRM&element=customer.address&record={HOSTILE_RECORD}",
    "/golden?system=ERP&record=40017",
    f"/golden?system=CRM&record={HOSTILE_RECORD}",
]
OTHER_PAGES = [
    "/elements/order.total",
    "/trace",
    TRACE_BI,
    "/impact?system=ERP&element=order.total&record=40017",
    "/golden",
    "/findings",
]


# --- every page --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", HOSTILE_PAGES)
def test_markup_in_names_keys_values_and_owners_is_shown_escaped(
    world: FlaskClient, url: str
) -> None:
    html = page(world, url)
    assert "<script" not in without_own_scripts(html).lower()
    assert "<b>1</b>" not in html
    assert "&lt;script&gt;" in html.replace("SCRIPT", "script")


@pytest.mark.parametrize("url", OTHER_PAGES)
def test_no_page_carries_a_script(world: FlaskClient, url: str) -> None:
    assert "<script" not in without_own_scripts(page(world, url)).lower()


def test_every_page_has_the_nav_bar_marking_where_you_are(world: FlaskClient) -> None:
    for url, current in [
        ("/", "System map"),
        ("/elements/order.total", "System map"),
        ("/trace", "Trace"),
        ("/impact", "Impact"),
        ("/golden", "Golden record"),
        ("/findings", "Findings"),
    ]:
        html = page(world, url)
        nav = html[html.index('<nav aria-label="Main">') : html.index("</nav>")]
        for label in ("System map", "Trace", "Impact", "Golden record", "Findings", "API"):
            assert f">{label}</a>" in nav
        marked = re.findall(r'aria-current="page">([^<]+)<', nav)
        assert marked == [current], url


def test_pages_use_the_local_stylesheet_and_nothing_from_the_network(world: FlaskClient) -> None:
    html = page(world, TRACE_BI)
    links = [attrs for tag, attrs in parsed(html).tags if tag in ("link", "script", "img")]
    assert links[:2] == [
        {"rel": "stylesheet", "href": "/static/lineage.css"},
        {"rel": "stylesheet", "href": "/static/explorer/explorer.css"},
    ]
    scripts = [attrs.get("src") or "" for attrs in links[2:]]
    assert scripts == [
        "/static/vendor/panzoom/panzoom.min.js",
        "/static/explorer/diagrams.js",
        "/static/explorer/search.js",
    ]
    for url in ["/static/lineage.css", "/static/explorer/explorer.css", *scripts]:
        with world.get(url) as served:
            assert served.status_code == 200
            assert served.mimetype in ("text/css", "text/javascript")
            text = served.get_data(as_text=True)
            if "/vendor/" in url:  # a library: it names its licence, it loads nothing
                assert not re.search(r"fetch\(|XMLHttpRequest|import\(|\.src\s*=", text)
            else:
                assert "http" not in text


# --- the system map and an element -------------------------------------------------------------


def test_the_system_map_draws_the_systems_and_tables_their_declarations(
    world: FlaskClient,
) -> None:
    html = page(world, "/")
    # one diagram; the small health charts (class health-chart) come after the tables
    assert html.count("<svg") - html.count('class="health-chart"') == 1
    assert "<caption>Systems</caption>" in html
    text = text_of(html)
    for fact in (
        "ERP erp-ops@example.com order.total Orders and invoices",
        "order.total decimal ERP ERP controller@example.com",
        "erp-to-bi ERP → BI intelligence batch bi@example.com order.total multiply(1.2) "
        "Sales reports",
        "crm-to-erp CRM → ERP foundation batch dave@example.com",
    ):
        assert fact in text, fact
    assert 'href="/elements/order.total"' in html
    assert 'href="/elements/customer.address"' in html


def test_the_system_map_of_an_empty_store_says_how_to_load_a_registry(
    client: FlaskClient,
) -> None:
    html = page(client, "/")
    assert "<svg" not in html
    assert "lineage load" in html
    assert "/api/v1/openapi.json" in html


def test_an_element_page_shows_its_declaration_flow_and_where_it_is_held(
    world: FlaskClient,
) -> None:
    html = page(world, "/elements/order.total")
    text = text_of(html)
    assert "Owner controller@example.com" in text
    assert "System of record ERP" in text
    assert "Gross order total" in text
    assert html.count("<svg") == 1
    assert "system of record" in html[html.index("<svg") :]
    for row in (
        "ERP system of origin, system of record written here",
        "BI copy erp-to-bi from ERP multiply(1.2) bi@example.com",
        "Portal copy bi-to-portal from BI identity portal@example.com",
    ):
        assert row in text, row
    assert labelled_inputs(html) == {"system": "System", "record": "Record"}


def test_an_unknown_element_is_a_404_page_saying_so(world: FlaskClient) -> None:
    html = page(world, "/elements/no.such.thing", 404)
    assert "declares no element &#39;no.such.thing&#39;" in html
    assert "Not found" in html


def test_an_unknown_page_is_a_styled_404_page_and_an_unknown_api_path_stays_json(
    client: FlaskClient,
) -> None:
    html = page(client, "/no/such/page", 404)
    assert 'href="/static/lineage.css"' in html
    text = text_of(html)
    assert "Error 404 Page not found" in text
    for where in ("The system map", "The findings", "Trace a value"):
        assert where in text
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.is_json and "not found" in api.get_json()["error"].lower()


def test_a_refused_method_on_a_page_is_a_styled_405_page_with_allow(client: FlaskClient) -> None:
    response = client.post("/findings")
    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert "Allow" in response.headers and "GET" in response.headers["Allow"]
    assert "Error 405" in text_of(response.get_data(as_text=True))


# --- trace -------------------------------------------------------------------------------------


def test_the_trace_form_has_a_labelled_input_for_each_part_of_the_place(
    world: FlaskClient,
) -> None:
    html = page(world, "/trace")
    assert labelled_inputs(html) == {
        "system": "System",
        "element": "Element",
        "record": "Record",
        "as_of": "As of (optional)",
    }
    assert "<svg" not in html
    assert '<option value="order.total">' in html


def test_a_trace_draws_the_culprit_red_and_names_the_root_cause_and_its_owner(
    world: FlaskClient,
) -> None:
    html = page(world, TRACE_BI)
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert f'stroke="{RED}"' in svg
    text = text_of(html)
    assert "BI / order.total / R-9 holds 100.00" in text
    assert "Root cause: unexplained-transformation at BI / order.total / R-9" in text
    assert "It holds 100.00 where it should hold 96.00." in text
    assert f"Owner to talk to: {BI_OWNER}" in text
    assert "multiply(1.2) of [&#39;80.00&#39;] gives &#39;96&#39;" in html
    rows = html[html.index('<table class="steps">') :]
    assert "✗</span> not verified" in rows
    assert "root cause" in rows
    assert 'href="/golden?system=BI&amp;record=R-9"' in html


def test_a_clean_trace_says_every_step_checks_out(world: FlaskClient) -> None:
    html = page(world, TRACE_BI + "&as_of=2026-11-20T09:07:00Z")
    text = text_of(html)
    assert "holds 60.00 as of 2026-11-20T09:07:00Z" in text
    assert "Every step checks out back to the origin" in text
    assert "✓</span> verified" in html
    assert "not verified" not in html


def test_a_trace_with_a_missing_parameter_is_a_400_page_with_the_form_kept(
    world: FlaskClient,
) -> None:
    html = page(world, "/trace?system=BI&element=order.total", 400)
    assert "record is required" in html
    assert 'role="alert"' in html
    assert 'value="order.total"' in html
    assert "<svg" not in html


def test_a_trace_of_a_place_with_no_value_is_a_404_page(world: FlaskClient) -> None:
    html = page(world, "/trace?system=BI&element=order.total&record=R-404", 404)
    assert "no value recorded for BI/order.total/R-404" in text_of(html)


def test_a_trace_with_a_bad_time_is_a_400_page(world: FlaskClient) -> None:
    html = page(world, TRACE_BI + "&as_of=tomorrow-ish", 400)
    assert "as_of" in html


# --- impact and golden -------------------------------------------------------------------------


def test_impact_counts_the_places_reached_per_system_and_links_their_traces(
    world: FlaskClient,
) -> None:
    html = page(world, "/impact?system=ERP&element=order.total&record=40017")
    text = text_of(html)
    assert "Reached 1 place in 1 system." in text
    assert "Places reached per system System Places BI 1" in text
    assert html.count("<svg") == 1
    assert 'href="/trace?system=BI&amp;element=order.total&amp;record=R-9"' in html


def test_the_golden_record_shows_each_copys_status_in_words_and_colour(
    world: FlaskClient,
) -> None:
    html = page(world, "/golden?system=ERP&record=40017")
    for status in ("stale", "divergent", "agrees"):
        assert re.search(rf'<span class="status status-{status}">.*?</span> {status}</span>', html)
    text = text_of(html)
    assert "order.total ERP 40017 80.00 controller@example.com" in text
    assert "Portal P-9 60.00 96.00 ! stale" in text
    assert "BI R-9 100.00 96.00 ✗ divergent" in text
    assert f"ask {PORTAL_OWNER}" in text
    assert "Same business record as: BI R-9, CRM C-<b>1</b>, Portal P-9" in text
    assert "✓ agrees 1 · ! stale 1 · ✗ divergent 1 · ? unknown 0" in text


def test_a_golden_record_form_without_a_record_is_a_400_page(world: FlaskClient) -> None:
    assert "record is required" in page(world, "/golden?system=ERP", 400)
    assert "nothing is recorded for record" in page(world, "/golden?system=ERP&record=1", 404)
    assert labelled_inputs(page(world, "/golden")) == {
        "system": "System",
        "record": "Record",
        "as_of": "As of (optional)",
    }


# --- findings ----------------------------------------------------------------------------------


def findings_rows(html: str) -> list[str]:
    if '<table class="findings">' not in html:
        return []
    body = html[html.index('<table class="findings">') :]
    return re.findall(r"<td><code>([a-z-]+)</code></td>", body)


def owner_groups(html: str) -> list[tuple[str, str]]:
    """Each owner group's heading and its count line, in page order."""
    found = re.findall(
        r'<h2 id="owner-\d+">([^<]+?)\s*<small class="count">([^<]+)</small></h2>', html
    )
    return [(owner.strip(), " ".join(count.split())) for owner, count in found]


def test_findings_list_every_finding_with_its_owner_and_where_to_look(
    world: FlaskClient,
) -> None:
    html = page(world, "/findings")
    assert sorted(findings_rows(html)) == [
        "conflicting-truth",
        "conflicting-truth",
        "unexplained-transformation",
    ]
    assert "Showing 3 of 3 findings: 3 errors, 0 warnings, 0 info." in text_of(html)
    assert 'href="/golden?system=Portal&amp;record=P-9"' in html
    assert 'href="/trace?system=BI&amp;element=order.total&amp;record=R-9"' in html
    assert labelled_inputs(html) == {
        "code": "Code",
        "owner": "Owner",
        "system": "System",
        "element": "Element",
        "as_of": "As of (optional)",
    }


def test_findings_filter_by_code_owner_and_system(world: FlaskClient) -> None:
    by_code = page(world, "/findings?code=unexplained-transformation&owner=&system=")
    assert findings_rows(by_code) == ["unexplained-transformation"]
    assert '<option value="unexplained-transformation" selected>' in by_code
    by_owner = page(world, "/findings", owner=PORTAL_OWNER)
    assert findings_rows(by_owner) == ["conflicting-truth"]
    assert "Showing 1 of 3 findings" in text_of(by_owner)
    by_system = page(world, "/findings", system="BI")
    assert sorted(findings_rows(by_system)) == ["conflicting-truth", "unexplained-transformation"]
    none = page(world, "/findings", code="lost-delivery")
    assert findings_rows(none) == []
    assert "No finding matches these filters." in none


def test_findings_with_an_unknown_code_is_a_400_page(world: FlaskClient) -> None:
    html = page(world, "/findings?code=%3Cscript%3E", 400)
    assert "unknown code &#39;&lt;script&gt;&#39;" in html
    assert "<script" not in without_own_scripts(html).lower()


# --- the demo company --------------------------------------------------------------------------


def test_the_demo_companys_impossible_figure_is_traced_to_bianca(
    app: Flask, client: FlaskClient
) -> None:
    load_demo(app.extensions["lineage"].store())
    html = page(client, "/trace?system=BI&element=order.total&record=R-17")
    assert "Owner to talk to: bianca@example.com" in text_of(html)
    golden = text_of(page(client, "/golden?system=ERP&record=40017"))
    assert "stale" in golden
    assert "divergent" in golden
    assert len(findings_rows(page(client, "/findings"))) == 16


def test_the_findings_are_grouped_by_owner_then_code_each_with_its_count_and_digest(
    app: Flask, client: FlaskClient
) -> None:
    load_demo(app.extensions["lineage"].store())
    html = page(client, "/findings")
    groups = owner_groups(html)
    assert sum(int(count.split()[0]) for _, count in groups) == 16
    assert len({owner for owner, _ in groups}) == len(groups)  # one group per owner
    counts = dict(groups)
    assert counts["walter@example.com"] == "3 findings · 3 errors"
    assert counts["erin@example.com"] == "3 findings · 2 errors · 1 warning"
    heading = re.search(r'<h2 id="owner-\d+">walter@example.com', html)
    assert heading is not None
    walter = html[heading.start() :]
    walter = walter[: walter.index("</section>")]
    assert re.findall(r'<tr class="code-head"><th scope="rowgroup" colspan="6"><code>([a-z-]+)'
                      r"</code> <span class=\"muted\">· (\d+)</span>", walter) == [
        ("rule-violation", "2"),
        ("undeclared-integration", "1"),
    ]  # fmt: skip
    assert 'href="/digest/walter@example.com">Digest of walter@example.com</a>' in walter
    # every row's place is a link to the page that shows it
    assert '<a href="/trace?system=WMS&amp;element=stock.on_hand&amp;record=SKU-1004">' in walter


def test_every_findings_filter_is_a_list_of_values_that_exist(world: FlaskClient) -> None:
    html = page(world, "/findings")
    for name in ("code", "owner", "system", "element"):
        assert f'<select id="{name}" name="{name}">' in html
    element = html[html.index('<select id="element"') :]
    element = element[: element.index("</select>")]
    assert '<option value="order.total">order.total</option>' in element
    assert "<input" not in element


def test_a_broken_chain_row_shows_the_value_read_and_held_and_only_it_is_the_root_cause(
    app: Flask, client: FlaskClient
) -> None:
    load_demo(app.extensions["lineage"].store())
    html = page(client, "/trace?system=ERP&element=order.line_amount&record=40018-2")
    rows = html[html.index('<table class="steps">') : html.index("</table>")].split("<tr")[2:]
    quantity, unit_price = (text_of("<tr" + row) for row in rows)
    assert quantity.startswith("✓ verified Shop / order.quantity")
    assert "root cause" not in quantity
    assert unit_price.startswith("✗ broken chain root cause Shop / order.unit_price / W-5008-2")
    assert "held 9.45 read 10.50" in unit_price


def test_the_wms_stock_trace_lists_its_rule_violation_once(app: Flask, client: FlaskClient) -> None:
    load_demo(app.extensions["lineage"].store())
    url = "/trace?system=WMS&element=stock.on_hand&record=SKU-1004"
    text = text_of(page(client, url))
    # in the words of lineage scan (its quotes escaped on the page)
    said = "WMS holds stock.on_hand = '-3' for record SKU-1004: -3 is below min 0"
    assert text.count(said.replace("'", "&#39;")) + text.count(said) == 1
    found = client.get("/api/v1" + url).get_json()["findings"]
    assert [f["code"] for f in found] == ["rule-violation"]


# --- an owner's digest -------------------------------------------------------------------------


def digest_codes(html: str) -> list[tuple[str, str]]:
    """Each code group's code and its count line, in page order."""
    return re.findall(
        r'<h2 id="code-\d+"><code>([a-z-]+)</code> <small class="count">([^<]+)<', html
    )


def see_links(html: str) -> list[str]:
    """The "see it with" page of each finding, in page order."""
    body = html.split('<main id="content">', 1)[1]
    return [
        unescape(href)
        for href in re.findall(
            r'<td><a href="([^"]+)">its [a-z]+</a><br><code class="command">', body
        )
    ]


def test_an_owners_digest_is_what_lineage_digest_prints_grouped_by_code(
    app: Flask, client: FlaskClient, runner: CliRunner, db_url: str
) -> None:
    store = app.extensions["lineage"].store()
    load_demo(store)
    html = page(client, "/digest/erin@example.com")
    text = text_of(html)
    assert "Digest of erin@example.com" in text
    assert "3 open findings: 2 errors, 1 warning." in text
    # most urgent first, as the command orders them: errors, then the warning
    assert digest_codes(html) == [
        ("duplicate-delivery", "1 finding"),
        ("conflicting-truth", "1 finding"),
        ("broken-chain", "1 finding"),
    ]
    printed = runner.invoke(
        main, ["digest", "--owner", "erin@example.com", "--format", "json", "--db", db_url]
    )
    assert printed.exit_code == 0, printed.output
    (share,) = json.loads(printed.output)["owners"]
    assert see_links(html) == [f["page"] for f in share["findings"]]
    for finding in share["findings"]:
        assert " ".join(finding["message"].split()) in text
        assert finding["show"] in text
    # since when each is open, and the finding's integration linked
    assert '<time datetime="2026-11-20T23:02:00Z">' in html
    assert 'via <a class="nw" href="/integrations/shop-to-erp-orders">' in html
    assert 'href="mailto:erin@example.com"' in html


def test_an_owners_digest_groups_one_code_with_its_count(app: Flask, client: FlaskClient) -> None:
    load_demo(app.extensions["lineage"].store())
    html = page(client, "/digest/walter@example.com")
    assert digest_codes(html) == [
        ("rule-violation", "2 findings"),
        ("undeclared-integration", "1 finding"),
    ]
    # a finding with no value to trace is seen on its element's page
    assert see_links(html)[-1] == "/elements/stock.on_hand"
    assert "lineage scan --code undeclared-integration --system ERP --element stock.on_hand" in (
        text_of(html)
    )


def test_a_declared_owner_with_nothing_open_and_the_unowned_have_a_digest(
    world: FlaskClient,
) -> None:
    calm = text_of(page(world, "/digest/dave@example.com"))
    assert "Digest of dave@example.com" in calm
    assert "Nothing to act on: no open finding is dave@example.com's." in calm
    unowned = text_of(page(world, "/digest/(unowned)"))
    assert "Digest of findings with no owner declared" in unowned


def test_an_unknown_owner_is_a_styled_404_page_naming_the_nearest(world: FlaskClient) -> None:
    html = page(world, "/digest/portl@example.com", 404)
    assert 'href="/static/lineage.css"' in html
    text = text_of(html)
    assert "Error 404 Not found" in text
    assert "no owner 'portl@example.com'" in unescape(text)
    assert "did you mean portal@example.com?" in text
    assert "Where to go from here" in text


def test_every_owner_shown_links_to_their_digest(world: FlaskClient) -> None:
    trace = page(world, TRACE_BI)
    assert "Owner to talk to: bi@example.com" in text_of(trace)
    assert f'<a class="owner" href="/digest/{BI_OWNER}"' in trace
    golden = page(world, "/golden?system=ERP&record=40017")
    assert f'ask <a class="owner" href="/digest/{PORTAL_OWNER}"' in golden
    findings = page(world, "/findings")
    assert f'<a href="/digest/{PORTAL_OWNER}">Digest of {PORTAL_OWNER}</a>' in findings
    searched = page(world, "/search", q="portal@")
    assert f'<a href="/digest/{PORTAL_OWNER}">{PORTAL_OWNER}</a>' in searched
    exact = world.get("/search", query_string={"q": PORTAL_OWNER})
    assert exact.status_code == 302
    assert exact.headers["Location"] == f"/digest/{PORTAL_OWNER}"
    # a hostile owner's digest shows the name escaped
    hostile = page(world, "/digest/" + quote(HOSTILE_OWNER, safe=""))
    assert "<script" not in without_own_scripts(hostile).lower()
    assert "Digest of &lt;script&gt;" in hostile


def test_a_code_in_prose_is_kept_whole_and_the_punctuation_after_it_stays_outside() -> None:
    from webapp.pages.text import nobreak  # noqa: PLC0415

    html = str(nobreak("owners: data-team@example.com, finance-systems@example.com."))
    assert html == (
        'owners: <span class="nw">data-team@example.com</span>, '
        '<span class="nw">finance-systems@example.com</span>.'
    )
    assert str(nobreak("R-17: <b>x-y</b>")) == (
        '<span class="nw">R-17</span>: <span class="nw">&lt;b&gt;x-y&lt;/b&gt;</span>'
    )
    # only words with a separator between two characters; a lone or an edge one stays free
    assert str(nobreak("a - b -x y- e.g. x/y --a-- :: 1:2,")) == (
        'a - b -x y- e.g. <span class="nw">x/y</span> <span class="nw">--a--</span> :: '
        '<span class="nw">1:2</span>,'
    )


def test_a_busy_owners_digest_shows_the_most_urgent_of_a_code_and_links_the_rest(
    app: Flask, client: FlaskClient
) -> None:
    store = app.extensions["lineage"].store()
    load_demo(store)
    negative = (
        write(f"w-neg-{n}", "WMS", "stock.on_hand", f"SKU-9{n:03d}", "-1", 600 + n)
        for n in range(60)
    )
    record(store, *negative, registry=store.registry())
    html = page(client, "/digest/walter@example.com")
    rules = html.split("<code>rule-violation</code>", 1)[1].split("</section>", 1)[0]
    assert "62 findings" in text_of(rules)
    assert rules.count('<tr class="finding') == 50
    assert "The 50 most urgent of 62 shown" in text_of(rules)
    assert 'href="/findings?owner=walter@example.com&amp;code=rule-violation"' in rules


def test_a_findings_links_lead_to_its_record_whatever_the_key_holds(
    app: Flask, client: FlaskClient
) -> None:
    store = app.extensions["lineage"].store()
    load_demo(store)
    key = "SKU 9&1#2+3%4/é?=;"
    record(store, write("w-odd", "WMS", "stock.on_hand", key, "-1", 600), registry=store.registry())
    html = page(client, "/findings", code="rule-violation")
    row = next(r for r in html.split('<tr class="finding')[1:] if "9&amp;1#2+3%4/é?=;" in r)
    trace = unescape(re.findall(r'<a href="([^"]*)">trace</a>', row)[0])
    assert trace.startswith("/trace?")
    shown = text_of(page(client, trace))
    assert key in shown and "stock.on_hand" in shown
