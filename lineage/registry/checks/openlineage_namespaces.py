"""``ambiguous-namespace``: an OpenLineage namespace claimed by two systems.

A dataset namespace must be one system, else its events would land in whichever system is
read first. Two exact names clash when equal; a pattern clashes with a name it matches and
with a pattern that matches its text (``s3://lake-*`` against ``s3://*``).
"""

from __future__ import annotations

from collections.abc import Iterator

from ...model.findings import Finding
from ...model.registry import Pattern, Registry, System
from .base import at


def ambiguous_namespace(registry: Registry) -> Iterator[Finding]:
    """Each namespace pattern that overlaps one an earlier, different system declared."""
    seen: list[tuple[Pattern, System]] = []
    for system in registry.systems:
        for pattern in system.openlineage_namespaces:
            clash = next(
                ((p, s) for p, s in seen if s.name != system.name and pattern.overlaps(p)),
                None,
            )
            seen.append((pattern, system))
            if clash is None:
                continue
            other, first = clash
            yield Finding.of(
                "ambiguous-namespace",
                f"system {system.name!r} claims OpenLineage namespace {pattern.pattern!r}, "
                f"which system {first.name!r} claims as {other.pattern!r} at "
                f"{at(other.location)}: a namespace is one system, so narrow one of the patterns",
                owner=system.owner,
                location=pattern.location or system.location,
                evidence={
                    "namespace": pattern.pattern,
                    "other_system": first.name,
                    "other_pattern": other.pattern,
                    "other_location": at(other.location),
                },
                system=system.name,
            )
