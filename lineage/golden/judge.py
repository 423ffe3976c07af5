"""The judge: golden values of business records, and copies judged against them.

Shared by :func:`golden` (one business record, for people) and the ``conflicting-truth``
detector (every suspicious copy, in batches).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from ..declared import DeclaredGraph, Direction
from ..errors import NotFoundError
from ..model.registry import Cardinality, Element, Registry
from ..moment import judged_now
from ..rules import copy_verdict, element_owner
from ..rules import owner as subject_owner
from ..store import Store
from ..store.conflicts import linked_keys_many, versions_many
from ..store.detection import Connection
from ..store.records import (
    EventRow,
    Key,
    RecordLinks,
    key_events_many,
    key_recorded,
    record_links,
    record_links_many,
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
    graph: DeclaredGraph = field(init=False)
    fan_out: tuple[str, ...] = field(init=False)
    _history: dict[tuple[str, str, str], list[EventRow]] = field(init=False, default_factory=dict)
    _upstream: dict[tuple[str, str, str], list[tuple[str, int]]] = field(
        init=False, default_factory=dict
    )
    _record_links: dict[Key, RecordLinks] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.declared = DeclaredPaths(self.registry)
        self.verifier = self.declared.verifier
        self.graph = self.declared.graph
        self.fan_out = tuple(
            sorted(
                i.name for i in self.registry.integrations if i.cardinality == Cardinality.FAN_OUT
            )
        )

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

        Which keys of each copy's system of record its record is linked to (one recursive
        statement per batch, :func:`~lineage.store.conflicts.linked_keys_many`: up from a
        copy downstream of the system of record, down from a copy upstream of it, then up
        and down for those that found none) and what those places held
        (:func:`~lineage.store.conflicts.versions_many`); :meth:`judge_place` then finds
        them cached. Copies the declared graph says cannot be compared are never walked
        from. Optional: without it each copy asks its own queries.
        """
        if len(self._upstream) >= CACHE_PLACES:
            self._upstream.clear()
        seeds: list[tuple[str, str, str, str]] = []
        for copy in copies:
            sor = self._system_of_record(copy.element)
            side = self.graph.direction(copy.element, copy.system)
            start = (copy.system, copy.record, sor or "")
            if sor is None or side is None or start in self._upstream:
                continue
            self._upstream[start] = []
            seeds.append((*start, "up" if side == "downstream" else "down"))
        for seed, keys in zip(seeds, self._links(seeds), strict=True):
            self._upstream[seed[:3]] = keys[:MAX_KEYS]
        unlinked = [(*seed[:3], "both") for seed in seeds if not self._upstream[seed[:3]]]
        for seed, keys in zip(unlinked, self._links(unlinked), strict=True):
            self._upstream[seed[:3]] = keys[:MAX_KEYS]
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
        self._prepare_record_links(copies)

    def _prepare_record_links(self, copies: Sequence[EventRow]) -> None:
        """For the copies whose linked keys in the system of record hold nothing, the whole
        business record's keys (:meth:`golden_for`'s last resort), walked side by side, and
        what those keys in the system of record held: a few statements per batch, never a
        walk per copy (24,000 hops with no origin took 23 CPU s that way)."""
        if len(self._record_links) >= CACHE_PLACES:
            self._record_links.clear()
        starts: dict[Key, None] = {}
        for copy in copies:
            sor = self._system_of_record(copy.element)
            linked = self._upstream.get((copy.system, copy.record, sor or ""))
            if sor is None or linked is None or (copy.system, copy.record) in self._record_links:
                continue
            if not any(self._history.get((copy.element, sor, record)) for record, _ in linked):
                starts[(copy.system, copy.record)] = None
        if not starts:
            return
        found = record_links_many(self.conn, list(starts), registry=self.registry, as_of=self.as_of)
        self._record_links.update(zip(starts, found, strict=True))
        wanted: dict[tuple[str, str, str], None] = {}
        for copy in copies:
            links = self._record_links.get((copy.system, copy.record))
            sor = self._system_of_record(copy.element)
            if links is None or sor is None:
                continue
            for _, record in links.in_system(sor):
                if (copy.element, sor, record) not in self._history:
                    wanted[(copy.element, sor, record)] = None
        if len(self._history) + len(wanted) >= CACHE_PLACES:
            return  # each asked on its own when needed: bounded memory first
        places = [(system, element, record) for element, system, record in wanted]
        versions = versions_many(self.conn, places, as_of=self.as_of, limit=STALE_LOOKBACK + 1)
        self._history.update(zip(wanted, versions, strict=True))

    def _links(self, seeds: Sequence[tuple[str, str, str, str]]) -> list[list[tuple[str, int]]]:
        if not seeds:
            return []
        return linked_keys_many(self.conn, seeds, fan_out=self.fan_out, as_of=self.as_of)

    def owner_for(
        self, element: str, copy_system: str, path: Path | None, event: EventRow
    ) -> tuple[str | None, str | None]:
        """Who answers for a copy: (owner, integration) of what delivers into its system.

        The integration is the declared path's last step, else the one the copy arrived on;
        its owner is :func:`lineage.rules.owner`'s (that integration's, else the element's,
        else the copy's system's).
        """
        integration = path[-1].integration if path else event.integration
        found = subject_owner(
            self.registry, integration=integration, element=element, system=copy_system
        )
        return found, integration

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
            *,
            upstream: Expectation | None = None,
        ) -> Copy:
            path = expected.path if expected is not None else None
            owner, integration = self.owner_for(
                element, copy.system, None if upstream is not None else path, copy
            )
            direction: Direction | None = (
                self.graph.direction(element, copy.system) if sor is not None else None
            )
            return Copy(
                system=copy.system,
                record=copy.record,
                value=copy.value,
                expected=(
                    expected.value
                    if expected is not None and expected.known and upstream is None
                    else None
                ),
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
                direction=direction,
                yields=upstream.value if upstream is not None and upstream.known else None,
            )

        if sor is None:
            return verdict("unknown", missing or f"{element} has no golden value")
        side = self.graph.direction(element, copy.system)
        if side is None and copy.system != sor:
            return verdict(
                "unknown",
                f"no declared integration path carries {element} from {sor} to "
                f"{copy.system} or from {copy.system} to {sor}: the copy cannot be compared "
                "with the golden value",
            )
        if golden is None:
            return verdict("unknown", missing or f"{element} has no golden value")
        if side == "upstream":
            return self._judge_upstream(element, sor, golden, copy, verdict)
        expected = self.expect(element, golden.value, sor, copy.system)
        if not expected.known:
            return verdict("unknown", expected.reason, expected)
        path = expected.path or ()
        tried: list[EventRow] = []

        def earlier_yields() -> Iterator[str | None]:
            for earlier in self._earlier(element, golden):
                was = self.declared.through(element, earlier.value, path)
                if was.known:
                    tried.append(earlier)
                    yield was.norm

        # copy_verdict stops at the first earlier value that matches: the last one tried
        status = copy_verdict(value_norm, expected.norm, earlier_yields())
        if status == "agrees":
            return verdict("agrees", None, expected)
        if status == "stale":
            earlier = tried[-1]
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

    def _earlier(self, element: str, golden: EventRow) -> Iterator[EventRow]:
        """The earlier golden values (distinct, newest first, none after ``golden``)."""
        seen = {golden.value_norm}
        for earlier in self.history(element, golden.system, golden.record):
            if earlier.seq == golden.seq or earlier.at > golden.at or earlier.value_norm in seen:
                continue
            seen.add(earlier.value_norm)
            yield earlier

    def _judge_upstream(
        self,
        element: str,
        sor: str,
        golden: EventRow,
        copy: EventRow,
        verdict: Callable[..., Copy],
    ) -> Copy:
        """An upstream copy: what its value yields in the system of record, against the
        golden value (``agrees``), an earlier one (``stale``), or neither (``divergent``)."""
        yields = self.expect(element, copy.value, copy.system, sor)
        if not yields.known:
            return verdict("unknown", yields.reason, yields, upstream=yields)
        earlier_values: list[EventRow] = []

        def earlier_norms() -> Iterator[str | None]:
            for earlier in self._earlier(element, golden):
                earlier_values.append(earlier)
                yield self.verifier.normalize(element, earlier.value)

        truth = self.verifier.normalize(element, golden.value)
        status = copy_verdict(yields.norm, truth, earlier_norms())
        via = " then ".join(str(step) for step in yields.path or ())
        if status == "agrees":
            return verdict("agrees", None, yields, upstream=yields)
        if status == "stale":
            earlier = earlier_values[-1]
            return verdict(
                "stale",
                f"{_show(copy.value)} yields {_show(yields.value)} in {sor} through {via}: "
                f"the earlier golden value ({iso(earlier.at)}); the golden value is now "
                f"{_show(golden.value)}",
                yields,
                earlier.value,
                upstream=yields,
            )
        return verdict(
            "divergent",
            f"{_show(copy.value)} yields {_show(yields.value)} in {sor} through {via}, not "
            f"the golden value {_show(golden.value)} nor an earlier one",
            yields,
            upstream=yields,
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

        The keys in the system of record the copy's record is linked to by its hops, nearest
        first: where its data came from (a copy downstream of the system of record), where
        it went (upstream), else what was fed from the same source
        (:func:`~lineage.store.conflicts.linked_keys_many`, found in advance by
        :meth:`prepare` in a scan); when none of them holds the element (a copy edited in
        place, a value that flowed back), the nearest key of the whole business record
        (:func:`~lineage.store.records.record_links`), as :func:`golden` finds it.
        """

        def holding(key: Key) -> EventRow | None:
            versions = self.history(copy.element, key[0], key[1])
            return versions[0] if versions else None

        start = (copy.system, copy.record)
        linked = self._upstream.get((copy.system, copy.record, sor))
        if linked is None:
            side = self.graph.direction(copy.element, copy.system)
            mode = "up" if side == "downstream" else "down"
            linked = self._links([(copy.system, copy.record, sor, mode)])[0]
            if not linked:
                linked = self._links([(copy.system, copy.record, sor, "both")])[0]
        links = RecordLinks(start, {(sor, record): depth for record, depth in linked})
        best = self.nearest_holding(sor, links, holding)
        if best:
            return self._golden_of(copy.element, sor, links, best)
        links = self._record_links.get(start) or record_links(
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
        if golden is None and self.graph.direction(copy.element, copy.system) is not None:
            golden, missing = self.golden_for(copy, sor)
        # not comparable: judged unknown from the declarations alone, never walked from
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
    keys = list(links.keys)
    for key, events in zip(keys, key_events_many(conn, keys, as_of=as_of), strict=True):
        held[key] = {event.element: event for event in events}
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
    owner = element_owner(judge.registry, declared) if declared else None
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
        found = golden_record(conn, registry, system, record, as_of=moment)
        return dataclasses.replace(found, judged=judged_now(conn, moment))


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
