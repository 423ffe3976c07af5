"""The explorer's pages: ``/systems/<name>``, ``/integrations/<name>``, ``/records``,
``/elements`` and ``/search`` (docs/CONTRACT.md §6)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request
from pydantic import Field
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from lineage.explore import PAGE_SIZE, integration_view, records_page, search, system_view
from lineage.store.schema import iso

from .. import links
from ..charts import DAYS, health_judged, integration_health, system_health
from ..links import hit_url
from ..queries import AsOf, Name, read_query
from ..questions import registry
from ..tracker import tracker
from .common import page_errors

bp = Blueprint("explore", __name__, template_folder="templates")
page_errors(bp)


@bp.app_context_processor
def _links() -> dict[str, object]:
    """Every template may build the explorer's links (``links.system_url(name)``, ...)."""
    return {"links": links}


class RecordsQuery(AsOf):
    """A page of the records holding one element in one system."""

    system: Name = Field(description="The system, e.g. BI.")
    element: Name = Field(description="The element, e.g. order.total.")
    after: Name | None = Field(default=None, description="Start after this record key.")


@bp.get("/systems/<name>")
def system(name: str) -> str:
    """One system: what it holds and is the truth of, its integrations, its open findings."""
    view = system_view(tracker().store(), name)
    return render_template("explore/system.html", view=view, health=system_health(name), days=DAYS,
                           health_judged=health_judged("system"))  # fmt: skip


@bp.get("/integrations/<name>")
def integration(name: str) -> str:
    """One integration: declared carries and transforms, owner, what was observed of it
    (hops per element by status, its OpenLineage jobs), open findings."""
    view = integration_view(tracker().store(), name)
    chart = integration_health(name)
    return render_template("explore/integration.html", view=view, health=chart, days=DAYS,
                           health_judged=health_judged("integration"), iso=iso)  # fmt: skip


@bp.get("/records")
def records() -> str:
    """The records holding one element in one system, a page at a time, with verdicts."""
    query = read_query(RecordsQuery)
    page = records_page(
        tracker().store(), query.system, query.element, after=query.after, as_of=query.as_of
    )
    return render_template("explore/records.html", page=page, page_size=PAGE_SIZE)


@bp.get("/elements")
def elements() -> str:
    """Every element: type, system of origin and of record, owner."""
    return render_template("explore/elements.html", registry=registry())


@bp.get("/search")
def search_page() -> str | Response:
    """What the search box finds; straight to the page when one thing matches exactly."""
    text = request.args.get("q", "").strip()
    if len(text) > 200:
        raise BadRequest("q is longer than 200 characters: search for less")
    hits = search(tracker().store(), text, limit=50) if text else []
    exact = [hit for hit in hits if hit.label == text]
    if len(exact) == 1:
        return redirect(hit_url(exact[0]))
    return render_template("explore/search.html", q=text, hits=[(h, hit_url(h)) for h in hits])
