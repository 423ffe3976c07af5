"""``ambiguous-job``: an OpenLineage job claimed by two integrations.

A job's runs are judged as deliveries of the integration it runs (a FAIL run is its failed
delivery), so a job (``namespace/name``, or a pattern of them) must run one integration.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...model.findings import Finding
from ...model.registry import Integration, Pattern, Registry
from ...rules import integration_owner
from .base import at


def ambiguous_job(registry: Registry) -> Iterator[Finding]:
    """Each job pattern that overlaps one an earlier, different integration declared."""
    seen: list[tuple[Pattern, Integration]] = []
    for integration in registry.integrations:
        for pattern in integration.openlineage_jobs:
            clash = next(
                ((p, i) for p, i in seen if i.name != integration.name and pattern.overlaps(p)),
                None,
            )
            seen.append((pattern, integration))
            if clash is None:
                continue
            other, first = clash
            yield Finding.of(
                "ambiguous-job",
                f"integration {integration.name!r} claims OpenLineage job {pattern.pattern!r}, "
                f"which integration {first.name!r} claims as {other.pattern!r} at "
                f"{at(other.location)}: a job runs one integration, so narrow one of the patterns",
                owner=integration_owner(registry, integration),
                location=pattern.location or integration.location,
                evidence={
                    "job": pattern.pattern,
                    "other_integration": first.name,
                    "other_pattern": other.pattern,
                    "other_location": at(other.location),
                },
                integration=integration.name,
            )
