"""lineage: value-level data lineage and golden-record tracking.

Every data element has one system of origin, exactly one system of record and one owner;
data may flow anywhere, but truth has a home, and every hop leaves a trail.
"""

from __future__ import annotations

from .recorder import Recorder as Recorder

__all__ = ["Recorder"]
