"""Errors as answers: JSON ``{"error": "..."}`` under ``/api``, styled pages elsewhere.

The views of Marquez's read API (marked with :func:`marquez_errors`) answer errors in
Marquez's own shape instead, ``{"code": 404, "message": "..."}``, as its clients expect.

A browser asking for a page that does not exist, or sending parameters a page cannot read,
gets a page in the site's look saying what went wrong and where to go instead; a failing
database is a 503 (try again later), never a 500 with a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, jsonify, render_template, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError

from lineage.errors import InputError, LineageError, NotFoundError, StoreError

API_PREFIX = "/api/"

F = TypeVar("F", bound=Callable[..., Any])


def marquez_errors(view: F) -> F:
    """Mark a view of Marquez's API: its errors are ``{"code": N, "message": "..."}``."""
    view.marquez_errors = True  # type: ignore[attr-defined]
    return view


MARQUEZ_PATHS = (
    "/api/v1/namespaces",
    "/api/v1/jobs",
    "/api/v1/sources",
    "/api/v1/stats",
    "/api/v1/runlineage",
    "/api/v1/column-lineage",
    "/api/v1/search",
    "/api/v1/tags",
    "/api/v1/events/lineage",
    "/api/v2beta",
)
"""Paths only Marquez's API serves: a request under them that no view takes (a name no
route's pattern reads) is answered in Marquez's shape too."""


def _marquez_shaped() -> bool:
    """Whether the request was routed to a view of Marquez's API, or is under its paths."""
    if request.endpoint is None:
        return request.path.startswith(MARQUEZ_PATHS)
    view = current_app.view_functions.get(request.endpoint)
    return bool(getattr(view, "marquez_errors", False))


def _is_api() -> bool:
    return request.path.startswith(API_PREFIX)


def json_error(message: str, status: int, headers: list[tuple[str, str]] | None = None) -> Response:
    if _marquez_shaped():
        response = jsonify(code=status, message=message)
    else:
        response = jsonify(error=message)
    response.status_code = status
    for name, value in headers or ():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


TITLES = {
    400: "This page cannot read that request",
    403: "Not allowed",
    404: "Page not found",
    405: "Not something this page does",
    413: "Too large",
    503: "The store is unavailable",
}
"""Headings of the error pages, by status; others use the status's own name."""


def error_page(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    """An HTML page in the site's look saying what went wrong (``pages/error.html``)."""
    body = render_template(
        "pages/error.html",
        title=TITLES.get(status, "Something went wrong"),
        message=message,
        status=status,
    )
    response = Response(body, status, mimetype="text/html")
    for name, value in headers or ():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def register(app: Flask) -> None:
    """Install the error handlers on ``app``."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        if isinstance(exc, InternalServerError) and exc.original_exception is not None:
            app.logger.error(
                "unexpected error on %s", request.path, exc_info=exc.original_exception
            )
        message = exc.description or exc.name
        if not _is_api():
            return error_page(exc.code or 500, message, exc.get_headers())
        return json_error(message, exc.code or 500, exc.get_headers())

    @app.errorhandler(StoreError)
    @app.errorhandler(SQLAlchemyError)
    def store_unavailable(exc: Exception) -> Response:
        app.logger.warning("store unavailable on %s: %s", request.path, exc)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        message = f"the store is unavailable, try again later: {first}"
        if _is_api():
            return json_error(message, 503, [("Retry-After", "5")])
        return error_page(503, message, [("Retry-After", "5")])

    @app.errorhandler(LineageError)
    def engine_error(exc: LineageError) -> Response:
        status = 404 if isinstance(exc, NotFoundError) else 400
        status = 400 if isinstance(exc, InputError) else status
        if _is_api():
            return json_error(str(exc), status)
        return error_page(status, str(exc))
