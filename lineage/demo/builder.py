"""A small simulator that writes a company's runtime events as its systems would send them.

It remembers what every place held over time, so that a hop reads the value its source held
at that moment and computes its output with the transform the registry declares (the same
catalogue the tracker re-runs). A planted defect is an explicit override (``carried=``,
``value=``, ``shows=``), never an accident: without one, every chain verifies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..model.registry import ElementType, Registry
from ..transforms import parse_transform

Place = tuple[str, str, str]
"""``(system, element, record)``."""

JsonValue = str | int | None

_PREFIX = {"write": "w", "hop": "h", "snapshot": "s"}


def when(day: int, hour: int, minute: int = 0, *, month: int = 11) -> dt.datetime:
    """A moment in 2026 (UTC): ``when(17, 10, 12)`` is 2026-11-17T10:12:00Z."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=dt.UTC)


def iso(moment: dt.datetime) -> str:
    """``2026-11-17T10:12:00Z``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class _Line:
    at: dt.datetime
    number: int
    kind: str
    body: dict[str, Any]
    hop: _Line | None = None  # a status update: the hop it updates


@dataclass(frozen=True, slots=True)
class Settle:
    """How a hop's delivery ends: ``after`` its sending, ``delivered`` or ``failed``."""

    after: dt.timedelta
    status: str = "delivered"
    error: str | None = None


@dataclass(slots=True)
class Company:
    """Events of one company, built in time order (each call no earlier than the last).

    Args:
        registry: the declarations whose carries and transforms the hops follow.
    """

    registry: Registry
    lines: list[_Line] = field(default_factory=list)
    history: dict[Place, list[tuple[dt.datetime, JsonValue]]] = field(default_factory=dict)
    clock: dt.datetime = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

    # -- what places held ---------------------------------------------------------------

    def held(self, place: Place, at: dt.datetime) -> JsonValue:
        """The value ``place`` held at ``at`` (the latest write or hop there by then)."""
        found: list[tuple[dt.datetime, JsonValue]] = [
            entry for entry in self.history.get(place, []) if entry[0] <= at
        ]
        if not found:
            raise ValueError(f"{place} holds nothing at {iso(at)}: write it first")
        return found[-1][1]

    def _hold(self, place: Place, at: dt.datetime, value: JsonValue) -> None:
        entries = self.history.setdefault(place, [])
        if any(moment == at for moment, _ in entries):
            raise ValueError(f"two events at {place} at {iso(at)}: the order would be a guess")
        entries.append((at, value))
        entries.sort(key=lambda entry: entry[0])

    def _advance(self, at: dt.datetime) -> None:
        if at < self.clock:
            raise ValueError(f"event at {iso(at)} after one at {iso(self.clock)}: keep time order")
        self.clock = at

    def _add(
        self, at: dt.datetime, kind: str, body: dict[str, Any], hop: _Line | None = None
    ) -> _Line:
        line = _Line(at, len(self.lines), kind, body, hop)
        self.lines.append(line)
        return line

    def _typed(self, element: str, text: str | None) -> JsonValue:
        declared = self.registry.element(element)
        if text is not None and declared is not None and declared.type == ElementType.INTEGER:
            return int(text)
        return text

    # -- events -------------------------------------------------------------------------

    def write(  # noqa: PLR0917 - the fields of a write event, in their order
        self, system: str, element: str, record: str, value: JsonValue, at: dt.datetime,
        actor: str,
    ) -> None:  # fmt: skip
        """A value created or edited in ``system`` by ``actor``."""
        self._advance(at)
        self._hold((system, element, record), at, value)
        self._add(at, "write", {
            "kind": "write", "system": system, "element": element, "record": record,
            "value": value, "at": iso(at), "actor": actor,
        })  # fmt: skip

    def snapshot(
        self, system: str, element: str, record: str, at: dt.datetime, *,
        shows: JsonValue | None = None, source: str = "nightly reconciliation",
    ) -> None:  # fmt: skip
        """What an extract saw at ``place``: what it held, unless ``shows`` plants another."""
        self._advance(at)
        value = self.held((system, element, record), at) if shows is None else shows
        self._add(at, "snapshot", {
            "kind": "snapshot", "system": system, "element": element, "record": record,
            "value": value, "at": iso(at), "source": source,
        })  # fmt: skip

    def hop(
        self,
        integration: str,
        inputs: Sequence[Place],
        output: Place,
        at: dt.datetime,
        *,
        settle: Settle | None = None,
        lost: bool = False,
        carried: Sequence[JsonValue] | None = None,
        value: JsonValue | None = None,
        actor: str | None = None,
    ) -> None:
        """One value moving along ``integration`` into ``output``.

        The inputs carry what their places held at ``at`` (``carried`` plants other values);
        the output is the declared carry's transform of them (``value`` plants another). A
        hop with ``settle`` is sent first and delivered or failed later; a ``lost`` one is
        sent and never heard of again.
        """
        self._advance(at)
        read = [self.held(place, at) for place in inputs] if carried is None else list(carried)
        declared = self.registry.integration(integration)
        transform: str | None = None
        if declared is not None:
            carry = declared.carry(output[1])
            if carry is None or declared.target != output[0]:
                raise ValueError(f"{integration} does not carry {output[1]} into {output[0]}")
            wanted = set(carry.input_elements)
            if {place[1] for place in inputs} != wanted or {p[0] for p in inputs} != {
                declared.source
            }:
                raise ValueError(f"{integration} reads {sorted(wanted)} from {declared.source}")
            transform = carry.transform
        if value is None:
            if transform is None or transform == "identity":
                if len(read) != 1:
                    raise ValueError("a copying hop reads exactly one input")
                value = read[0]
            else:
                # no out_type: the result keeps the spelling an integration would send
                texts = [None if v is None else str(v) for v in read]
                result = parse_transform(transform).apply(texts, lookups=self.registry.lookups)
                value = self._typed(output[1], result)
        status = "sent" if settle is not None or lost else "delivered"
        body: dict[str, Any] = {"kind": "hop", "integration": integration, "at": iso(at)}
        body["inputs"] = [
            {"system": s, "element": e, "record": r, "value": v}
            for (s, e, r), v in zip(inputs, read, strict=True)
        ]
        body["output"] = {
            "system": output[0], "element": output[1], "record": output[2], "value": value,
        }  # fmt: skip
        if transform is not None:
            body["transform"] = transform
        body["status"] = status
        if actor is not None:
            body["actor"] = actor
        failed = settle is not None and settle.status == "failed"
        if not failed:
            self._hold(output, at, value)
        line = self._add(at, "hop", body)
        if settle is not None:
            update = dict(body, at=iso(at + settle.after), status=settle.status)
            if settle.error is not None:
                update["error"] = settle.error
            self._add(at + settle.after, "hop", update, hop=line)

    # -- the file -----------------------------------------------------------------------

    def events(self) -> list[dict[str, Any]]:
        """Every event in time order, with ids ``w-0001``, ``h-0001``, ``s-0001`` by kind.

        A status update carries the id of the hop it updates.
        """
        ordered = sorted(self.lines, key=lambda line: (line.at, line.number))
        counters = dict.fromkeys(_PREFIX, 0)
        ids: dict[int, str] = {}
        for line in ordered:
            if line.hop is None:
                counters[line.kind] += 1
                ids[line.number] = f"{_PREFIX[line.kind]}-{counters[line.kind]:04d}"
        result = []
        for line in ordered:
            own = ids[line.hop.number if line.hop is not None else line.number]
            result.append({"kind": line.body["kind"], "id": own, **_without_kind(line.body)})
        return result


def _without_kind(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "kind"}
