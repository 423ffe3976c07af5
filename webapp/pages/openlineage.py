"""``/openlineage``: the OpenLineage namespaces and jobs the registry does not map yet."""

from __future__ import annotations

from flask import Blueprint, render_template

from lineage.interop.observed import unmapped

from ..questions import registry
from ..tracker import tracker
from .common import page_errors

bp = Blueprint("openlineage", __name__, template_folder="templates")
page_errors(bp)


@bp.get("/openlineage")
def index() -> str:
    """Unmapped namespaces and jobs, most seen first, with the YAML that would map them."""
    store = tracker().store()
    with store.engine.connect() as conn:
        missing = unmapped(conn, registry())
    return render_template("openlineage/index.html", unmapped=missing)
