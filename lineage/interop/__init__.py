"""Interchange with other lineage tools: OpenLineage in, Marquez-style lineage graphs out."""

from __future__ import annotations

from .openlineage import ObservedFlow as ObservedFlow
from .openlineage import ingest_openlineage as ingest_openlineage
from .openlineage import ingest_openlineage_data as ingest_openlineage_data
from .openlineage import observed_flows as observed_flows

__all__ = ["ObservedFlow", "ingest_openlineage", "ingest_openlineage_data", "observed_flows"]
