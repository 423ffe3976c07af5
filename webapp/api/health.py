"""Health over time as JSON: ``GET /api/v1/health`` (docs/CONTRACT.md §6), the JSON of
``lineage health --format json``."""

from __future__ import annotations

from typing import Literal

from flask import Response, jsonify
from pydantic import Field

from ..queries import AsOf, read_query
from ..questions import ask_health
from . import bp
from .answers import HealthAnswer
from .openapi import operation


class HealthQuery(AsOf):
    """What to group by and how many days, the last being the day of the store's clock."""

    by: Literal["integration", "owner", "system", "element"] = Field(
        default="integration",
        description="What each group is: an integration, an owner, or the system or element "
        "a hop delivers to (a finding's subject).",
    )
    days: int = Field(default=30, ge=1, le=3660, description="How many days (UTC), 1 to 3660.")


@bp.get("/health")
@operation(
    "Per day and per group: hops delivered, failed and lost, findings opened, resolved, open",
    query=HealthQuery,
    response=HealthAnswer,
    description="The same JSON as `lineage health --format json`. Days are UTC calendar days, "
    "the last the day of the store's clock (the latest event) unless as_of is given.",
)
def get_health() -> Response:
    query = read_query(HealthQuery)
    return jsonify(ask_health(query.by, query.days, query.as_of).as_dict())
