"""What the page blueprints share: HTML error pages instead of bare text."""

from __future__ import annotations

from flask import Blueprint, render_template
from markupsafe import Markup
from werkzeug.exceptions import BadRequest

from lineage.errors import InputError, NotFoundError, TransformError


def error_page(title: str, message: str, status: int) -> tuple[str, int]:
    """A page saying what went wrong and what to do."""
    return render_template("pages/error.html", title=title, message=message, status=status), status


def page_errors(bp: Blueprint) -> None:
    """Answer bad parameters (400) and unknown places (404) of ``bp``'s pages in HTML.

    A store that cannot be read is left to the app's handler (503, try again later).
    """

    @bp.errorhandler(BadRequest)
    def bad_request(exc: BadRequest) -> tuple[str, int]:
        return error_page("Bad request", exc.description or "the request is malformed", 400)

    @bp.errorhandler(NotFoundError)
    def not_found(exc: NotFoundError) -> tuple[str, int]:
        return error_page("Not found", str(exc), 404)

    @bp.errorhandler(InputError)
    @bp.errorhandler(TransformError)
    def cannot_answer(exc: InputError | TransformError) -> tuple[str, int]:
        return error_page("Cannot answer", str(exc), 400)


def inline_svg(svg: str) -> Markup:
    """SVG from :mod:`lineage.render` to inline in a page.

    Safe to mark up: the renderer escapes every user string it draws (labels and tooltips
    are entity-escaped, see ``lineage.render``), and the tests put ``<script>`` in values,
    names and owners to prove it.
    """
    if not svg.lstrip().startswith("<svg"):
        raise ValueError("inline_svg takes the SVG element from lineage.render (standalone=False)")
    return Markup(svg)  # noqa: S704 - escaped by lineage.render, see above
