"""What the detectors share and that needs no store: sample sizes, batching, how times and
values are shown. Their shared SQL (hop statuses, the scan's temporary tables, what a place
held) is :mod:`lineage.store.detection.common`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from ..store.schema import iso

T = TypeVar("T")

SAMPLES = 5
"""How many example events a grouped finding names."""


def batches(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    """``rows`` in lists of at most ``size`` (``itertools.batched`` from Python 3.12)."""
    chunk: list[T] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def when(micros: int | None) -> str | None:
    """Microseconds as ISO 8601 text (None stays None)."""
    return iso(micros) if micros is not None else None


def shown(value: str | None) -> str:
    """A value quoted for a message; null as ``null``."""
    return "null" if value is None else repr(value)
