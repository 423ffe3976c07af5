"""Errors as answers: JSON ``{"error": "..."}`` under ``/api``, plain pages elsewhere.

A failing database is a 503 (try again later), never a 500 with a traceback.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError

from lineage.errors import InputError, LineageError, NotFoundError, StoreError

API_PREFIX = "/api/"


def _is_api() -> bool:
    return request.path.startswith(API_PREFIX)


def json_error(message: str, status: int, headers: list[tuple[str, str]] | None = None) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    for name, value in headers or ():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def register(app: Flask) -> None:
    """Install the error handlers on ``app``."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response | HTTPException:
        if not _is_api():
            return exc
        if isinstance(exc, InternalServerError) and exc.original_exception is not None:
            app.logger.error(
                "unexpected error on %s", request.path, exc_info=exc.original_exception
            )
        message = exc.description or exc.name
        return json_error(message, exc.code or 500, exc.get_headers())

    @app.errorhandler(StoreError)
    @app.errorhandler(SQLAlchemyError)
    def store_unavailable(exc: Exception) -> Response:
        app.logger.warning("store unavailable on %s: %s", request.path, exc)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        message = f"the store is unavailable, try again later: {first}"
        if _is_api():
            return json_error(message, 503, [("Retry-After", "5")])
        return Response(message, 503, mimetype="text/plain")

    @app.errorhandler(LineageError)
    def engine_error(exc: LineageError) -> Response:
        status = 404 if isinstance(exc, NotFoundError) else 400
        status = 400 if isinstance(exc, InputError) else status
        if _is_api():
            return json_error(str(exc), status)
        return Response(str(exc), status, mimetype="text/plain")
