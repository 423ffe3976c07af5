"""The JSON API under ``/api/v1`` (docs/CONTRACT.md §6). One module per area registers its views on
:data:`bp`; each view states its OpenAPI operation with :func:`~webapp.api.openapi.operation`.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
beta = Blueprint("marquez_beta", __name__, url_prefix="/api/v2beta")
"""Marquez's ``/api/v2beta`` (its web UI's search box), beside the API."""

from . import (  # noqa: E402  (views register on bp)
    events,
    explore,
    graphs,
    health,
    marquez,
    openapi,
    openlineage,
    steward,
)

__all__ = [
    "beta",
    "bp",
    "events",
    "explore",
    "graphs",
    "health",
    "marquez",
    "openapi",
    "openlineage",
    "steward",
]
