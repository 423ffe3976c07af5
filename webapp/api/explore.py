"""Search for the explorer: ``GET /api/v1/find`` (docs/CONTRACT.md §6).

(``/api/v1/search`` is Marquez's search of jobs and datasets, kept as Marquez answers it.)
"""

from __future__ import annotations

from typing import Literal

from flask import Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

from lineage.explore import search

from ..links import hit_url
from ..queries import SearchQuery, read_query
from ..tracker import tracker
from . import bp
from .openapi import operation


class SearchHit(BaseModel):
    """One thing found, with the page it lands on."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["system", "element", "integration", "owner", "record"]
    label: str = Field(description="The name found (a record key for a record).")
    detail: str = Field(description="Where or what it is, for people.")
    url: str = Field(description="The page it lands on (a record key: its trace).")
    system: str | None = Field(default=None, description="A record key's system.")
    element: str | None = Field(default=None, description="An element recorded for the key.")
    record: str | None = Field(default=None, description="The record key.")


class SearchAnswer(BaseModel):
    """What ``q`` finds, best first."""

    model_config = ConfigDict(frozen=True)

    query: str
    hits: list[SearchHit]


@bp.get("/find")
@operation(
    "Find systems, elements, integrations, owners and record keys by name",
    query=SearchQuery,
    response=SearchAnswer,
    description="Registry names matching q (exact, prefix, word prefix, then contains; any "
    "case) and record keys starting with q (exact case, one index range per system), then "
    "containing q (any case, three characters or more, through the store's trigram index), "
    "best first, each with the URL of its page. The search box of every page asks this.",
)
def find() -> Response:
    query = read_query(SearchQuery)
    hits = search(tracker().store(), query.q, limit=query.limit)
    return jsonify(
        query=query.q,
        hits=[
            {
                "kind": hit.kind,
                "label": hit.label,
                "detail": hit.detail,
                "url": hit_url(hit),
                "system": hit.system,
                "element": hit.element,
                "record": hit.record,
            }
            for hit in hits
        ],
    )
