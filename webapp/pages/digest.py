"""``/digest/<owner>``: what one owner must act on, the page of ``lineage digest --owner``.

The owner's open stored findings (after waivers), most urgent first as the digest orders them
(:func:`lineage.digest.owner_digest`), grouped by code; each with its message, since when it
is open, the page that shows it and the command that does. An owner neither the registry nor
any stored finding knows is a 404 page that names the nearest known owner.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, render_template, url_for

from lineage.detect.run import UNOWNED
from lineage.digest import owner_digest, show_command, show_page
from lineage.model.findings import Finding
from lineage.rules import judged_text

from ..questions import registry
from ..tracker import tracker
from .common import page_errors
from .grouping import by_owner

bp = Blueprint("digest", __name__, template_folder="templates")
page_errors(bp)

SHOWN = 50
"""Findings the page lists per code (the most urgent; the findings page has every one): a
busy owner's digest at a million events holds hundreds, and drawing them took half a second."""

PAGE_LABELS = {"/trace": "its trace", "/elements/": "its element", "/findings": "the findings"}
"""How a "see it" link reads, by the start of the page's path (:func:`lineage.rules.see_it_on`)."""


@dataclass(frozen=True, slots=True)
class Row:
    """One finding of the digest, with where to see it: a page (label, URL) and a command,
    worked out for the rows the page shows only."""

    finding: Finding

    @property
    def page(self) -> tuple[str, str] | None:
        path = show_page(self.finding)
        if path is None:
            return None
        label = next((said for start, said in PAGE_LABELS.items() if path.startswith(start)), "it")
        return label, path

    @property
    def command(self) -> str:
        return show_command(self.finding)


@bp.get("/digest/<path:owner>")
def owner(owner: str) -> str:
    """One owner's open findings, most urgent first, grouped by code."""
    share = owner_digest(tracker().store(), owner)
    rows = [Row(f) for f in share.findings]
    groups = by_owner(rows, registry())
    return render_template(
        "digest/owner.html",
        owner=owner,
        unowned=owner == UNOWNED,
        share=share,
        codes=groups[0].codes if groups else [],
        severities=groups[0].severities() if groups else {},
        findings_url=url_for("findings.index", owner=owner),
        json_url=url_for("api.get_findings", owner=owner),
        judged=judged_text(share.judged) if share.judged is not None else None,
        shown=SHOWN,
    )
