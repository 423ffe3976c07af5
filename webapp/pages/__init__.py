"""The HTML pages (a placeholder until the diagrams land)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("pages", __name__, template_folder="templates")


@bp.get("/")
def index() -> str:
    """The start page."""
    return render_template("pages/index.html")
