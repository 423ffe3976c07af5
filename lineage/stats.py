"""What a store holds, counted: the declared registry and the recorded events by kind.

>>> from lineage.store import open_store
>>> count_store(open_store("sqlite://")).as_dict()["events"]
{'write': 0, 'hop': 0, 'snapshot': 0}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .interop.observed import Unmapped, unmapped
from .store.counts import event_kinds, observed_flow_count, openlineage_kinds
from .store.database import Store

EVENT_KINDS = ("write", "hop", "snapshot")
OPENLINEAGE_KINDS = ("RunEvent", "JobEvent", "DatasetEvent")
SHOWN = 20
"""How many unmapped namespaces and jobs the text lists (JSON lists them all)."""


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Counts of one store (``lineage stats``).

    Attributes:
        systems: distinct system names in the latest registry.
        elements: distinct element names in the latest registry.
        integrations: distinct integration names in the latest registry.
        events: distinct event ids by kind (``write``, ``hop``, ``snapshot``).
        registry_versions: how many registry versions were loaded over time.
        openlineage: OpenLineage events stored, by kind (``RunEvent``, ``JobEvent``,
            ``DatasetEvent``).
        observed_flows: the field-to-field flows those events reported.
        unmapped: namespaces and jobs seen that the registry does not map yet.
    """

    systems: int = 0
    elements: int = 0
    integrations: int = 0
    events: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EVENT_KINDS, 0))
    registry_versions: int = 0
    openlineage: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OPENLINEAGE_KINDS, 0))
    observed_flows: int = 0
    unmapped: Unmapped = field(default_factory=lambda: Unmapped([], []))

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``lineage stats --format json`` (docs/CONTRACT.md §5)."""
        return {
            "systems": self.systems,
            "elements": self.elements,
            "integrations": self.integrations,
            "events": {kind: self.events.get(kind, 0) for kind in EVENT_KINDS},
            "openlineage": {
                **{kind: self.openlineage.get(kind, 0) for kind in OPENLINEAGE_KINDS},
                "observed_flows": self.observed_flows,
                "unmapped": self.unmapped.as_dict(),
            },
        }

    def text(self) -> str:
        """Aligned lines for people."""
        total = sum(self.events.values())
        rows = [
            ("systems", self.systems),
            ("elements", self.elements),
            ("integrations", self.integrations),
            ("events", total),
            *((f"  {kind}", self.events.get(kind, 0)) for kind in EVENT_KINDS),
        ]
        extra = sorted(set(self.events) - set(EVENT_KINDS))
        rows += [(f"  {kind}", self.events[kind]) for kind in extra]
        rows += [
            ("openlineage", sum(self.openlineage.values())),
            *(
                (f"  {kind.removesuffix('Event').lower()}", self.openlineage.get(kind, 0))
                for kind in OPENLINEAGE_KINDS
            ),
            ("  flows", self.observed_flows),
        ]
        width = max(len(f"{n:,}") for _, n in rows)
        lines = [f"{label:<14}{n:>{width},}" for label, n in rows]
        lines.append(f"registry versions loaded: {self.registry_versions}")
        for kind, listed in (("namespace", self.unmapped.namespaces), ("job", self.unmapped.jobs)):
            for name, count in listed[:SHOWN]:
                lines.append(f"unmapped {kind} {name} ({count} event{'s' if count != 1 else ''})")
            if len(listed) > SHOWN:
                lines.append(f"... and {len(listed) - SHOWN} more unmapped {kind}s")
        return "\n".join(lines)


def count_store(store: Store) -> StoreStats:
    """Count what ``store`` holds: one grouped count over the events (every event id is
    stored once, so rows are distinct ids) and the names in the latest registry."""
    registry = store.registry()
    with store.engine.connect() as conn:
        counts = dict.fromkeys(EVENT_KINDS, 0) | event_kinds(conn)
        ol_counts = dict.fromkeys(OPENLINEAGE_KINDS, 0) | openlineage_kinds(conn)
        flows = observed_flow_count(conn)
        missing = unmapped(conn, registry)
    return StoreStats(
        systems=len({s.name for s in registry.systems}),
        elements=len({e.name for e in registry.elements}),
        integrations=len({i.name for i in registry.integrations}),
        events=counts,
        registry_versions=store.registry_versions(),
        openlineage=ol_counts,
        observed_flows=flows,
        unmapped=missing,
    )
