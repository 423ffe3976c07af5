"""What a golden record answers: each element's truth, and each copy's standing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..declared import Direction, Path
from ..rules import Judged, judged_iso
from ..store.queries import EventRow
from ..store.records import Key
from ..store.schema import iso

Status = Literal["agrees", "stale", "divergent", "unknown"]
"""How a copy stands against the golden value."""

STATUSES: tuple[Status, ...] = ("agrees", "stale", "divergent", "unknown")


@dataclass(frozen=True, slots=True)
class Copy:
    """One copy of an element in the business record, judged against the golden value.

    Attributes:
        system: the copy's system.
        record: the copy's record key in that system.
        value: the value the copy holds (as recorded).
        expected: what the golden value yields there through the declared path (None when
            unknown, or when it yields null, and for an upstream copy: transforms do not run
            backwards; see ``yields``).
        status: ``agrees``, ``stale``, ``divergent`` or ``unknown``.
        reason: why the copy is stale, divergent or unknown, for people (None when it agrees).
        event: the event that left the copy's current value.
        at: when that event happened (microseconds since the epoch).
        element: the element.
        path: the declared path the expectation followed.
        earlier_golden: for a stale copy, the earlier golden value it still reflects.
        owner: who to talk to: the owner of the integration delivering into the copy's
            system, else the element's owner.
        integration: that integration's name, when known.
        golden_value: the golden value the copy was judged against.
        golden_record: the system of record's key holding it.
        golden_event: the event that left the golden value.
        direction: ``downstream`` (the golden value is carried to the copy) or ``upstream``
            (the copy's value is carried to the system of record) of the system of record;
            None when no declared path joins them.
        yields: for an upstream copy, what its value becomes in the system of record through
            the declared path (compared with the golden value; None when unknown or null).
    """

    system: str
    record: str
    value: str | None
    expected: str | None
    status: Status
    reason: str | None
    event: str
    at: int
    element: str
    path: Path | None = None
    earlier_golden: str | None = None
    owner: str | None = None
    integration: str | None = None
    golden_value: str | None = None
    golden_record: str | None = None
    golden_event: EventRow | None = None
    direction: Direction | None = None
    yields: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "record": self.record,
            "value": self.value,
            "expected": self.expected,
            "status": self.status,
            "reason": self.reason,
            "event": self.event,
            "at": iso(self.at),
            "path": [str(step) for step in self.path] if self.path is not None else None,
            "direction": self.direction,
            "yields": self.yields,
        }


@dataclass(frozen=True, slots=True)
class GoldenElement:
    """One element of the business record: its truth and its copies.

    Attributes:
        element: the element's name.
        system_of_record: the declared system of record (None when none is declared).
        golden_value: what the system of record holds (None when null or not held).
        owner: the element's owner.
        record: the system of record's key of the business record (None when not held).
        event: the event that left the golden value.
        reason: why there is no golden value, when there is none.
        copies: every copy, by system and record.
    """

    element: str
    system_of_record: str | None
    golden_value: str | None
    owner: str | None
    record: str | None
    event: str | None
    reason: str | None
    copies: tuple[Copy, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "element": self.element,
            "system_of_record": self.system_of_record,
            "golden_value": self.golden_value,
            "owner": self.owner,
            "record": self.record,
            "reason": self.reason,
            "copies": [copy.to_json() for copy in self.copies],
        }


@dataclass(frozen=True, slots=True)
class GoldenRecord:
    """The golden record of the business record known in ``system`` as ``record``.

    Attributes:
        system: the system asked about.
        record: the record key asked about.
        elements: every element held anywhere in the business record, by name.
        linked: the record's keys in every system, nearest first.
        complete: False when the record had more keys than the walk follows.
        judged: the moment it judged as of (``--as-of``, else the store's clock) and why;
            ``as_of`` in the JSON.
    """

    system: str
    record: str
    elements: tuple[GoldenElement, ...]
    linked: tuple[Key, ...] = ()
    complete: bool = True
    judged: Judged | None = None

    def to_json(self) -> dict[str, Any]:
        """The contract JSON shape (CONTRACT.md §4), with ``reason``, ``linked`` and more added."""
        return {
            "system": self.system,
            "record": self.record,
            "elements": [element.to_json() for element in self.elements],
            "linked": [{"system": s, "record": r} for s, r in self.linked],
            "complete": self.complete,
            "as_of": judged_iso(self.judged) if self.judged is not None else None,
        }

    def counts(self) -> dict[str, int]:
        """How many copies stand in each status."""
        tally: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for element in self.elements:
            for copy in element.copies:
                tally[copy.status] += 1
        return tally


__all__ = ["STATUSES", "Copy", "GoldenElement", "GoldenRecord", "Status"]
