"""The judge: golden values of business records, and copies judged against them.

Shared by :func:`golden` (one business record, for people) and the ``conflicting-truth``
detector (every suspicious copy, in batches).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

from ..errors import NotFoundError
from ..model.registry import Element, Registry
from ..store import Store
from ..store.conflicts import upstream_keys_many, versions_many
from ..store.records import (
    EventRow,
    Key,
    RecordLinks,
    key_events,
    key_recorded,
    record_links,
    upstream_keys,
    value_versions,
)
from ..store.schema import as_micros, iso
from ..verify import HopVerifier
from .paths import DeclaredPaths, Expectation, Path
from .record import Copy, GoldenElement, GoldenRecord, Status

STALE_LOOKBACK = 20
"""Earlier golden values compared with a copy before it is called divergent."""

CACHE_PLACES = 4096
"""Places whose history a :class:`Judge` keeps (then it starts over): bounded memory."""

MAX_KEYS = 8
"""Keys in the system of record considered for one copy (nearest first)."""

AsOf = dt.datetime | int | None


@dataclass(slots=True)
class Judge:
    """Computes golden values and judges copies against them, for one registry and moment.

    Shared by :func:`golden` and the ``conflicting-truth`` detector; cheap to create, and it
    caches declared paths (few) and a bounded number of golden value histories.

    Args:
        conn: an open connection to the store (read only).
        registry: the declarations in force.
        as_of: the moment judged (microseconds since the epoch; None for now).
    """

    conn: Connection
    registry: Registry
    as_of: int | None = None
    verifier: HopVerifier = field(init=False)
    declared: DeclaredPaths = field(init=False)
    _history: dict[tuple[str, str, str], list[EventRow]] = field(init=False, default_factory=dict)
    _upstream: dict[tuple[str, str, str], list[tuple[str, int]]] = field(
        init=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        self.declared = DeclaredPaths(self.registry)
        self.verifier = self.declared.verifier

    def expect(self, element: str, value: str | None, source: str, target: str) -> Expectation:
        """What ``value`` of ``element`` in ``source`` becomes in ``target`` by declaration
        (see :meth:`DeclaredPaths.expect`)."""
        return self.declared.expect(element, value, source, target)

    # -- golden values -----------------------------------------------------------------

    def history(self, element: str, system: str, record: str) -> list[EventRow]:
        """The values the system of record held, newest first (the golden value first)."""
        key = (element, system, record)
        cached = self._history.get(key)
        if cached is None:
            cached = value_versions(
                self.conn, system, element, record, as_of=self.as_of, limit=STALE_LOOKBACK + 1
            )
            self._remember_history(key, cached)
        return cached

    def _remember_history(self, key: tuple[str, str, str], versions: list[EventRow]) -> None:
        if len(self._history) >= CACHE_PLACES:
            self._history.clear()
        self._history[key] = versions

    def _system_of_record(self, element: str) -> str | None:
        declared = self.registry.element(element)
        return declared.system_of_record if declared else None

    def prepare(self, copies: Sequence[EventRow]) -> None:
        """Fetch in a few batched queries what judging ``copies`` will ask (for scans).

        Where each copy's data came from in its system of record
        (:func:`~lineage.store.conflicts.upstream_keys_many`) and what those places held
        (:func:`~lineage.store.conflicts.versions_many`); :meth:`judge_place` then finds
        them cached. Optional: without it each copy asks its own queries.
        """
        if len(self._upstream) >= CACHE_PLACES:
            self._upstream.clear()
        starts: list[tuple[str, str, str]] = []
        for copy in copies:
            sor = self._system_of_record(copy.element)
            start = (copy.system, copy.record, sor or "")
            if sor is not None and copy.system != sor and start not in self._upstream:
                starts.append(start)
                self._upstream[start] = []
        for start, keys in zip(
            starts, upstream_keys_many(self.conn, starts, as_of=self.as_of), strict=True
        ):
            self._upstream[start] = keys[:MAX_KEYS]
        wanted: dict[tuple[str, str, str], None] = {}
        for copy in copies:
            sor = self._system_of_record(copy.element)
            for record, _ in self._upstream.get((copy.system, copy.record, sor or ""), []):
                key = (copy.element, sor or "", record)
                if key not in self._history:
                    wanted[key] = None
        places = [(system, element, record) for element, system, record in wanted]
        if len(self._history) + len(places) >= CACHE_PLACES:
            self._history.clear()
        found = versions_many(self.conn, places, as_of=self.as_of, limit=STALE_LOOKBACK + 1)
        for key, versions in zip(wanted, found, strict=True):
            self._history[key] = versions

    def owner_for(
        self, element: str, copy_system: str, path: Path | None, event: EventRow
    ) -> tuple[str | None, str | None]:
        """Who answers for a copy: (owner, integration) of what delivers into its system."""
        if path:
            last = path[-1]
            if last.owner:
                return last.owner, last.integration
        if event.integration:
            declared = self.registry.integration(event.integration)
            if declared is not None and declared.owner:
                return declared.owner, declared.name
        declared_element = self.registry.element(element)
        return (declared_element.owner if declared_element else None), (
            path[-1].integration if path else event.integration
        )

    def judge(
        self,
        element: str,
        sor: str | None,
        golden: EventRow | None,
        copy: EventRow,
        *,
        missing: str | None = None,
    ) -> Copy:
        """Judge one copy against the golden value (``golden``: the system of record's event).

        Args:
            element: the element.
            sor: its system of record (None when undeclared).
            golden: the event holding the golden value; None when there is none.
            copy: the copy's current event.
            missing: why there is no golden value (when ``golden`` is None).
        """
        value_norm = self.verifier.normalize(element, copy.value)

        def verdict(
            status: Status,
            reason: str | None,
            expected: Expectation | None = None,
            earlier: str | None = None,
        ) -> Copy:
            path = expected.path if expected is not None else None
            owner, integration = self.owner_for(element, copy.system, path, copy)
            return Copy(
                system=copy.system,
                record=copy.record,
                value=copy.value,
                expected=expected.value if expected is not None and expected.known else None,
                status=status,
                reason=reason,
                event=copy.event_id,
                at=copy.at,
                element=element,
                path=path,
                earlier_golden=earlier,
                owner=owner,
                integration=integration,
                golden_value=golden.value if golden is not None else None,
                golden_record=golden.record if golden is not None else None,
                golden_event=golden,
            )

        if sor is None or golden is None:
            return verdict("unknown", missing or f"{element} has no golden value")
        expected = self.expect(element, golden.value, sor, copy.system)
        if not expected.known:
            return verdict("unknown", expected.reason, expected)
        if value_norm == expected.norm:
            return verdict("agrees", None, expected)
        path = expected.path or ()
        seen = {golden.value_norm}
        for earlier in self.history(element, golden.system, golden.record):
            if earlier.seq == golden.seq or earlier.at > golden.at or earlier.value_norm in seen:
                continue
            seen.add(earlier.value_norm)
            was = self.declared.through(element, earlier.value, path)
            if was.known and was.norm == value_norm:
                return verdict(
                    "stale",
                    f"{_show(copy.value)} is what the earlier golden value "
                    f"{_show(earlier.value)} ({iso(earlier.at)}) yields; the golden value is "
                    f"now {_show(golden.value)}, which yields {_show(expected.value)}",
                    expected,
                    earlier.value,
                )
        via = " then ".join(str(step) for step in path)
        return verdict(
            "divergent",
            f"{_show(copy.value)} is not what the golden value {_show(golden.value)} yields "
            f"through {via} ({_show(expected.value)}), nor what an earlier golden value yielded",
            expected,
        )

    # -- which key of the record holds the truth ---------------------------------------

    @staticmethod
    def nearest_holding(
        sor: str, links: RecordLinks, holding: Callable[[Key], EventRow | None]
    ) -> list[tuple[Key, EventRow]]:
        """The record's keys in ``sor`` nearest to the start that hold the element (with
        their events): one key, several at the same distance, or none."""
        best: list[tuple[Key, EventRow]] = []
        best_distance = -1
        for key in links.in_system(sor):
            distance = links.keys[key]
            if best and distance > best_distance:
                break
            event = holding(key)
            if event is not None:
                best.append((key, event))
                best_distance = distance
        return best

    def golden_key(
        self,
        element: str,
        sor: str,
        links: RecordLinks,
        holding: Callable[[Key], EventRow | None],
    ) -> tuple[EventRow | None, str | None]:
        """The event holding the golden value among the record's keys in ``sor``.

        The nearest key (in hops from where the question started) that holds the element;
        two at the same distance are ambiguous. Answers (event, None) or (None, reason).
        """
        return self._golden_of(element, sor, links, self.nearest_holding(sor, links, holding))

    @staticmethod
    def _golden_of(
        element: str, sor: str, links: RecordLinks, best: list[tuple[Key, EventRow]]
    ) -> tuple[EventRow | None, str | None]:
        if not best:
            keys = ", ".join(r for _, r in links.in_system(sor)) or "none"
            return None, (
                f"the system of record {sor} holds no {element} for this business record "
                f"(its keys in {sor}: {keys})"
            )
        if len(best) > 1:
            keys = ", ".join(k[1] for k, _ in best)
            return None, (
                f"the business record has several keys in the system of record {sor} "
                f"holding {element} ({keys}): which one is the truth is ambiguous"
            )
        return best[0][1], None

    def golden_for(self, copy: EventRow, sor: str) -> tuple[EventRow | None, str | None]:
        """The golden value for a copy: (the system of record's event, None) or (None, why).

        The key in the system of record the copy's data came from (one recursive query up
        the hops into the copy's key, :func:`~lineage.store.records.upstream_keys`), nearest
        first; when the data did not come from there (a copy edited in place, a value that
        flowed back), the nearest key of the whole business record
        (:func:`~lineage.store.records.record_links`), as :func:`golden` finds it.
        """

        def holding(key: Key) -> EventRow | None:
            versions = self.history(copy.element, key[0], key[1])
            return versions[0] if versions else None

        start = (copy.system, copy.record)
        upstream = self._upstream.get((copy.system, copy.record, sor))
        if upstream is None:
            upstream = upstream_keys(self.conn, copy.system, copy.record, sor, as_of=self.as_of)
        links = RecordLinks(start, {(sor, record): depth for record, depth in upstream})
        best = self.nearest_holding(sor, links, holding)
        if best:
            return self._golden_of(copy.element, sor, links, best)
        links = record_links(
            self.conn, copy.system, copy.record, registry=self.registry, as_of=self.as_of
        )
        return self.golden_key(copy.element, sor, links, holding)

    def judge_place(self, copy: EventRow, *, golden: EventRow | None = None) -> Copy | None:
        """Judge the copy whose current event is ``copy`` (the detector's entry).

        Args:
            copy: the copy's current event.
            golden: the golden value's event when the caller knows it already (a copy fed
                by another copy of the same record); found by :meth:`golden_for` otherwise.

        Returns:
            The judged copy; None when ``copy`` is in its element's system of record or the
            element declares none.
        """
        declared = self.registry.element(copy.element)
        sor = declared.system_of_record if declared else None
        if sor is None or copy.system == sor:
            return None
        missing: str | None = None
        if golden is None:
            golden, missing = self.golden_for(copy, sor)
        return self.judge(copy.element, sor, golden, copy, missing=missing)


def _show(value: str | None) -> str:
    return "null" if value is None else repr(value)


def golden_record(
    conn: Connection, registry: Registry, system: str, record: str, *, as_of: int | None = None
) -> GoldenRecord:
    """:func:`golden` on an open connection (for callers that hold one)."""
    judge = Judge(conn, registry, as_of)
    links = record_links(conn, system, record, registry=registry, as_of=as_of)
    held: dict[Key, dict[str, EventRow]] = {}
    for key in links.keys:
        held[key] = {event.element: event for event in key_events(conn, *key, as_of=as_of)}
    if (
        not any(held.values())
        and len(links.keys) == 1
        and not key_recorded(conn, system, record, as_of=as_of)
    ):
        when = f" as of {iso(as_of)}" if as_of is not None else ""
        raise NotFoundError(
            f"nothing is recorded for record {record!r} in system {system!r}{when}: check the "
            "system name and the record key (lineage stats shows what the store holds)"
        )
    names = sorted({name for places in held.values() for name in places})
    elements = tuple(_element(judge, links, held, name) for name in names)
    return GoldenRecord(system, record, elements, tuple(links.keys), links.complete)


def _element(
    judge: Judge,
    links: RecordLinks,
    held: Mapping[Key, Mapping[str, EventRow]],
    name: str,
) -> GoldenElement:
    declared: Element | None = judge.registry.element(name)
    sor = declared.system_of_record if declared else None
    owner = declared.owner if declared else None
    golden: EventRow | None = None
    missing: str | None
    if declared is None:
        missing = f"{name} is not declared in the registry: it has no system of record"
    elif sor is None:
        missing = f"{name} declares no system_of_record"
    else:
        golden, missing = judge.golden_key(name, sor, links, lambda key: held[key].get(name))
    copies: list[Copy] = []
    for key in links.keys:
        event = held[key].get(name)
        if event is None or (golden is not None and event.event_id == golden.event_id):
            continue
        copies.append(judge.judge(name, sor, golden, event, missing=missing))
    copies.sort(key=lambda c: (c.system, c.record))
    return GoldenElement(
        element=name,
        system_of_record=sor,
        golden_value=golden.value if golden else None,
        owner=owner,
        record=golden.record if golden else None,
        event=golden.event_id if golden else None,
        reason=missing,
        copies=tuple(copies),
    )


def golden(store: Store, system: str, record: str, *, as_of: AsOf = None) -> GoldenRecord:
    """The golden record of the business record known in ``system`` as ``record``.

    Args:
        store: the store.
        system: a system the record is known in (any of them: CRM, ERP, BI...).
        record: the record's key in that system.
        as_of: judge the store as it was then (a timezone-aware datetime or microseconds
            since the epoch); default now.

    Returns:
        Every element held anywhere in the business record, with its golden value and each
        copy's status; ``.to_json()`` gives the contract shape.

    Raises:
        NotFoundError: nothing is recorded for that record in that system.

    Example:
        >>> record = golden(store, "BI", "R-9")  # doctest: +SKIP
        >>> record.to_json()["elements"][0]["copies"][0]["status"]  # doctest: +SKIP
        'stale'
    """
    moment = as_micros(as_of)
    registry = store.registry()
    with store.engine.connect() as conn:
        return golden_record(conn, registry, system, record, as_of=moment)


def judged_copies(judge: Judge, places: Iterable[EventRow]) -> Iterable[Copy]:
    """Judge each copy place in turn (skips places in their element's system of record)."""
    for place in places:
        judged = judge.judge_place(place)
        if judged is not None:
            yield judged


__all__ = [
    "CACHE_PLACES",
    "MAX_KEYS",
    "STALE_LOOKBACK",
    "AsOf",
    "Judge",
    "as_micros",
    "golden",
    "golden_record",
    "judged_copies",
]
