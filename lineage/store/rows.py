"""Events made into table rows: ids, content digests, canonical values, hop checks.

:class:`RowMaker` turns a validated event into the plain tuples the tables take, once per
event of a bulk load, so it is written for speed: what depends only on a hop's route is
worked out once per route by :class:`~lineage.verify.HopVerifier`, and each hop then costs one
run of its transform. The columns are listed here in the order the rows carry them.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from dataclasses import dataclass
from typing import Any

import msgspec

from ..errors import EventError, TransformError
from ..limits import LIMITS, text_problem
from ..model.events import Hop, HopStatus, Snapshot, Write, event_id
from ..model.registry import ElementType, Registry
from ..transforms import TransformCall, parse_transform
from ..transforms.values import NumberLimitError, canonical
from ..verify import HopVerifier

AnyEvent = Write | Hop | Snapshot

EVENT_COLUMNS = (
    "event_id", "kind", "at", "system", "element", "record", "value", "value_norm",
    "integration", "declared", "transform", "expected_norm", "verified", "status", "error",
    "actor", "digest", "recorded_at",
)  # fmt: skip
INPUT_COLUMNS = ("event_id", "position", "system", "element", "record", "value", "value_norm")
STATUS_COLUMNS = ("event_id", "status", "error", "at", "recorded_at")

_STRING = ElementType.STRING


#: Model fields each kind's digest leaves out: the id is the key itself, and a hop's status,
#: error and time are its state, which may change under the same id.
DIGEST_EXCLUDES = {"write": {"id", "at"}, "snapshot": {"id", "at"},
                   "hop": {"id", "at", "status", "error"}}  # fmt: skip

_SEP = "\x1f"  # between fields
_NONE = "\x1e"  # a null field


_KEY_BYTES = LIMITS.key_bytes
_VALUE_LENGTH = LIMITS.value_length
# Text no longer than this in UTF-8 is within every length limit, whatever its fields.
_FAST_BYTES = min(_KEY_BYTES, _VALUE_LENGTH)


@functools.lru_cache(maxsize=64)
def _part_names(kind: str, inputs: int) -> tuple[tuple[str, bool] | None, ...]:
    """(name, is a key) of each part :func:`_digest` hashes, None for the fixed parts."""
    if kind != "hop":
        return (None, ("system", True), ("element", True), ("record", True), ("value", False),
                ("actor" if kind == "write" else "source", False))  # fmt: skip
    names: list[tuple[str, bool] | None] = [
        None, ("integration", True), ("transform", False), ("actor", False),
        ("output.system", True), ("output.element", True), ("output.record", True),
        ("output.value", False), None,
    ]  # fmt: skip
    for i in range(inputs):
        names += [(f"inputs.{i}.system", True), (f"inputs.{i}.element", True),
                  (f"inputs.{i}.record", True), (f"inputs.{i}.value", False)]  # fmt: skip
    return tuple(names)


def text_limit_problem(text: str, name: str, key: bool) -> str | None:
    """Why one text of an event cannot be stored (NUL, surrogate, too long), or None."""
    problem = text_problem(text, name)
    if problem is not None:
        return problem
    if key:
        size = len(text) if text.isascii() else len(text.encode())
        if size > _KEY_BYTES:
            return (
                f"{name} is {size} bytes long, beyond the limit of {_KEY_BYTES} "
                "(LINEAGE_MAX_KEY_BYTES): keys are indexed; send a shorter key"
            )
    elif len(text) > _VALUE_LENGTH:
        return (
            f"{name} is {len(text)} characters long, beyond the limit of {_VALUE_LENGTH} "
            "(LINEAGE_MAX_VALUE_LENGTH)"
        )
    return None


def _check_text(text: str | None, name: str, key: bool) -> None:
    """Refuse one text the digest does not cover (an id, an error), cheaply when it is short."""
    if text is not None and (len(text) > _FAST_BYTES or not text.isascii() or "\x00" in text):
        problem = text_limit_problem(text, name, key)
        if problem is not None:
            raise EventError(problem)


def _digest(parts: list[str], nones: int, kind: str = "hop", inputs: int = 0) -> str:
    """The content digest of ``parts``, refusing the event when one cannot be stored.

    Every text a digest covers is checked here in one go: the joined text is encoded anyway,
    so an event whose UTF-8 fits in the smallest limit costs no per-field work.

    Raises:
        EventError: a part holds a NUL or an unpaired surrogate, or is beyond its length limit.
    """
    text = _SEP.join(parts)
    try:
        data: bytes | None = text.encode()
    except UnicodeEncodeError:
        data = None
    if data is None or len(data) > _FAST_BYTES or "\x00" in text:
        for part, named in zip(parts, _part_names(kind, inputs), strict=True):
            if named is not None and part is not _NONE:
                problem = text_limit_problem(part, *named)
                if problem is not None:
                    raise EventError(problem)
        data = text.encode()
    # Unambiguous when no field holds a separator and exactly the null fields hold _NONE;
    # otherwise (rare) spell the fields out with repr.
    if text.count(_SEP) != len(parts) - 1 or text.count(_NONE) != nones:
        data = ("\x00" + repr(parts)).encode()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def content_digest(event: AnyEvent) -> str:
    """Hash of what makes an event itself, to tell a re-send from a conflicting reuse of an id.

    It covers every field but those in :data:`DIGEST_EXCLUDES` (the id, the time, and a hop's
    status and error), values exactly as sent.
    """
    none = _NONE
    if isinstance(event, Hop):
        out = event.output
        integration, transform, actor, value = (
            event.integration, event.transform, event.actor, out.value
        )  # fmt: skip
        inputs = event.inputs
        nones = (integration is None) + (transform is None) + (actor is None) + (value is None)
        parts = [
            "hop", none if integration is None else integration,
            none if transform is None else transform, none if actor is None else actor,
            out.system, out.element, out.record, none if value is None else value,
            str(len(inputs)),
        ]  # fmt: skip
        for source in inputs:
            value = source.value
            if value is None:
                nones += 1
                value = none
            parts += (source.system, source.element, source.record, value)
        return _digest(parts, nones, "hop", len(inputs))
    extra = event.actor if isinstance(event, Write) else event.source
    value = event.value
    parts = [
        event.kind, event.system, event.element, event.record,
        none if value is None else value, none if extra is None else extra,
    ]  # fmt: skip
    return _digest(parts, (value is None) + (extra is None), event.kind)


# The fast path's structural check (RowMaker.prepare_json): what validation would accept,
# decoded and type-checked by msgspec in one pass in C (a line that does not fit these types
# is left to validation, which says why).
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)")
_STATUSES = frozenset(status.value for status in HopStatus)
# orjson, which the fast path used before, reads no integer beyond 64 bits as one: those
# (and floats) are left to validation
_INT_LOW, _INT_HIGH = -(2**63), 2**64


class _PlaceLine(msgspec.Struct, forbid_unknown_fields=True):
    """An input or the output of a hop line, as the fast path takes it."""

    system: str
    element: str
    record: str | int
    value: str | int | None = None


class _HopLine(msgspec.Struct, forbid_unknown_fields=True):
    """A hop line as the fast path takes it: no key but these, each of these types."""

    kind: str
    id: str
    at: str
    inputs: list[_PlaceLine]
    output: _PlaceLine
    integration: str | None = None
    transform: str | None = None
    status: str = "delivered"
    error: str | None = None
    actor: str | None = None


_DECODE_HOP = msgspec.json.Decoder(_HopLine).decode


def _place(data: _PlaceLine) -> tuple[str, str, str, str | None] | None:
    """A decoded place (an input or the output) as validation would keep it, or None when
    only validation can judge it."""
    system, element, record, value = data.system, data.element, data.record, data.value
    if type(record) is int:
        if not _INT_LOW <= record < _INT_HIGH:
            return None
        record = str(record)
    if type(value) is int:
        if not _INT_LOW <= value < _INT_HIGH:
            return None
        value = str(value)
    if not (system and element and record):
        return None
    return system, element, str(record), None if value is None else str(value)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


@dataclass(slots=True)
class Prepared:
    """One event made into rows, with what the writer needs to tell new from known."""

    event_id: str
    kind: str
    digest: str
    at: int
    status: str | None
    error: str | None
    row: tuple[Any, ...]
    inputs: list[tuple[Any, ...]]
    source: str
    line: int | None


@dataclass(frozen=True, slots=True)
class _Route:
    """What checking a hop depends on besides its values, worked out once per route."""

    integration: str | None
    declared: bool
    transform: str | None
    call: TransformCall | None  # None: no transform, or one the catalogue cannot parse
    out_kind: ElementType


_CACHE_LIMIT = 65_536


class RowMaker:
    """Makes table rows from validated events, checking hops with a :class:`HopVerifier`.

    What depends only on a hop's route (its integration, the systems and elements it joins
    and its transform) is worked out once per route by :meth:`HopVerifier.check`; after that
    each hop costs one run of its transform and the comparison, exactly as
    :meth:`HopVerifier.rerun` does it.
    """

    def __init__(self, registry: Registry) -> None:
        self.verifier = HopVerifier(registry)
        self._lookups = registry.lookups
        self._kinds: dict[str, ElementType] = {}
        self._routes: dict[tuple[Any, ...], _Route] = {}
        self._canon: dict[ElementType, dict[str, str]] = {}

    def kind_of(self, element: str) -> ElementType:
        kind = self._kinds.get(element)
        if kind is None:
            kind = self._kinds[element] = self.verifier.element_type(element)
        return kind

    def normalize(self, element: str, value: str | None) -> str | None:
        """``value`` in the canonical form of ``element``'s declared type.

        Raises:
            EventError: a number beyond the limits on an integer or decimal element.
        """
        if value is None:
            return None
        kind = self.kind_of(element)
        return value if kind is _STRING else self._canonical(kind, value)

    def _canonical(self, kind: ElementType, value: str) -> str:
        cache = self._canon.get(kind)
        if cache is None:
            cache = self._canon[kind] = {}
        cached = cache.get(value)
        if cached is None:
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            try:
                made = canonical(value, kind)
            except NumberLimitError as exc:
                shown = value if len(value) <= 40 else value[:37] + "..."
                raise EventError(f"{kind} value {shown!r}: {exc}") from None
            cache[value] = made
            return made
        return cached

    def _route(self, hop: Hop, key: tuple[Any, ...]) -> _Route:
        check = self.verifier.check(hop)
        call: TransformCall | None = None
        if check.transform is not None:
            try:
                call = parse_transform(check.transform)
            except TransformError:
                call = None
        route = _Route(check.integration, check.declared, check.transform, call,
                       self.kind_of(hop.output.element))  # fmt: skip
        if len(self._routes) >= _CACHE_LIMIT:
            self._routes.clear()
        self._routes[key] = route
        return route

    def _route_of(self, hop: Hop) -> _Route:
        out = hop.output
        inputs = hop.inputs
        if len(inputs) == 1:
            first = inputs[0]
            key: tuple[Any, ...] = (
                hop.integration, out.system, out.element, hop.transform, first.system,
                first.element,
            )  # fmt: skip
        else:
            key = (hop.integration, out.system, out.element, hop.transform,
                   *[(i.system, i.element) for i in inputs])  # fmt: skip
        route = self._routes.get(key)
        return route if route is not None else self._route(hop, key)

    def _expect(
        self, route: _Route, values: list[str | None], out_norm: str | None
    ) -> tuple[str | None, bool | None]:
        """What the route's transform makes of the input ``values``, and whether the output
        is that."""
        call = route.call
        if call is None:
            return None, None
        try:
            result = call.apply(values, out_type=route.out_kind, lookups=self._lookups)
        except TransformError:
            return None, False
        # apply() gives the canonical text of a typed output already (normalize is
        # idempotent), so only the output needs bringing to canonical form.
        return result, result == out_norm

    def check(
        self, hop: Hop, out_norm: str | None = None
    ) -> tuple[str | None, bool, str | None, str | None, bool | None]:
        """(integration, declared, transform, expected canonical value, verified) of a hop.

        The same answer as :meth:`HopVerifier.check`; ``out_norm`` is the output's canonical
        value when the caller has it already.
        """
        route = self._route_of(hop)
        if out_norm is None:
            out_norm = self.normalize(hop.output.element, hop.output.value)
        expected, verified = self._expect(route, [i.value for i in hop.inputs], out_norm)
        return route.integration, route.declared, route.transform, expected, verified

    def prepare(
        self, event: AnyEvent, now: int, source: str = "<input>", line: int | None = None
    ) -> Prepared:
        """The rows of one event (``now`` is the time it is recorded, in microseconds)."""
        return Prepared(*self.prepare_fields(event, now, source, line))

    def prepare_fields(
        self, event: AnyEvent, now: int, source: str = "<input>", line: int | None = None
    ) -> tuple[Any, ...]:
        """:meth:`prepare` as a plain tuple of :class:`Prepared`'s fields (cheap to send).

        Runs once per event of a bulk load, so it is written for speed: the digest
        (:func:`content_digest`) and the check (:meth:`check`) are inlined here.

        Raises:
            EventError: the event cannot be stored as it is (see :mod:`lineage.limits`).
        """
        if not isinstance(event, Hop):
            return self._placed_fields(event, now, source, line)
        eid, error = event.id, event.error
        if eid is not None and (len(eid) > _FAST_BYTES or not eid.isascii() or "\x00" in eid):
            _check_text(eid, "id", True)
        if error is not None:
            _check_text(error, "error", False)
        if eid is None:
            eid = event_id(event)
        out = event.output
        made = self._hop_fields(
            eid, error, event.integration, event.transform, event.actor, event.status.value,
            (event.at - _EPOCH) // _MICROSECOND, (out.system, out.element, out.record, out.value),
            [(i.system, i.element, i.record, i.value) for i in event.inputs],
            event, now, source, line,
        )  # fmt: skip
        assert made is not None  # with the event at hand every route can be worked out
        return made

    def prepare_json(
        self, text: str | bytes, now: int, source: str = "<input>", line: int | None = None
    ) -> tuple[Any, ...] | None:
        """:meth:`prepare_fields` of one JSON line without the event model, or None.

        The fast path of a bulk load: a hop as integrations send it (an ``id``, string or
        integer values, an ISO time with its zone, no unknown key) is decoded and
        type-checked in one pass by msgspec (C) and made into rows directly; anything else
        (a write or a snapshot, a float value, a hop without an id, a route not seen yet, a
        line that does not validate) answers None, and the caller takes the validated path,
        which gives the same rows or the same rejection. ``tests/test_ingest_fast_path.py``
        holds both equal.

        Raises:
            EventError: the hop cannot be stored as it is (the same reason as the slow path).
        """
        hop = b'"hop"' in text if isinstance(text, bytes) else '"hop"' in text
        if not hop:
            return None  # not a hop (or spelt unusually): not worth decoding twice
        try:
            data = _DECODE_HOP(text)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return None
        eid, at, inputs, sent = data.id, data.at, data.inputs, data.status
        integration, transform, error, actor = (
            data.integration, data.transform, data.error, data.actor
        )  # fmt: skip
        if (
            data.kind != "hop" or not eid or not inputs or sent not in _STATUSES
            or not _TIME.fullmatch(at)
        ):  # fmt: skip
            return None
        out = _place(data.output)
        if out is None:
            return None
        places = []
        for item in inputs:
            place = _place(item)
            if place is None:
                return None
            places.append(place)
        try:
            moment = dt.datetime.fromisoformat(at).astimezone(dt.UTC)
        except (ValueError, OverflowError):
            return None
        if len(eid) > _FAST_BYTES or not eid.isascii() or "\x00" in eid:
            _check_text(eid, "id", True)
        if error is not None:
            _check_text(error, "error", False)
        return self._hop_fields(
            eid, error, integration, transform, actor, sent, (moment - _EPOCH) // _MICROSECOND,
            out, places, None, now, source, line,
        )  # fmt: skip

    def _hop_fields(  # noqa: PLR0917 - once per hop of a bulk load: no keyword packing
        self,
        eid: str,
        error: str | None,
        integration_sent: str | None,
        transform_sent: str | None,
        actor: str | None,
        status: str,
        at: int,
        out: tuple[str, str, str, str | None],
        inputs: list[tuple[str, str, str, str | None]],
        hop: Hop | None,
        now: int,
        source: str,
        line: int | None,
    ) -> tuple[Any, ...] | None:
        """The fields of a hop's :class:`Prepared`; None when its route is not known yet and
        ``hop`` (needed to work it out) is not given."""
        system, element, record, value = out
        none = _NONE
        nones = (
            (integration_sent is None) + (transform_sent is None) + (actor is None)
            + (value is None)
        )  # fmt: skip
        parts = [
            "hop", none if integration_sent is None else integration_sent,
            none if transform_sent is None else transform_sent,
            none if actor is None else actor, system, element, record,
            none if value is None else value, str(len(inputs)),
        ]  # fmt: skip
        input_rows = []
        kinds = self._kinds
        for position, (in_system, in_element, in_record, in_value) in enumerate(inputs):
            if in_value is None:
                nones += 1
                parts += (in_system, in_element, in_record, none)
                in_norm = None
            else:
                parts += (in_system, in_element, in_record, in_value)
                in_kind = kinds.get(in_element) or self.kind_of(in_element)
                in_norm = in_value if in_kind is _STRING else self._canonical(in_kind, in_value)
            input_rows.append((eid, position, in_system, in_element, in_record, in_value,
                               in_norm))  # fmt: skip
        # Checked before the transform runs: no work on text that cannot be stored.
        digest = _digest(parts, nones, "hop", len(inputs))
        if len(inputs) == 1:
            first = inputs[0]
            key: tuple[Any, ...] = (integration_sent, system, element, transform_sent,
                                    first[0], first[1])  # fmt: skip
        else:
            key = (integration_sent, system, element, transform_sent,
                   *[(i[0], i[1]) for i in inputs])  # fmt: skip
        route = self._routes.get(key)
        if route is None:
            if hop is None:
                return None
            route = self._route(hop, key)
        kind = route.out_kind
        if value is None:
            out_norm = None
        else:
            out_norm = value if kind is _STRING else self._canonical(kind, value)
        expected, verified = self._expect(route, [i[3] for i in inputs], out_norm)
        row = (
            eid, "hop", at, system, element, record, value, out_norm, route.integration,
            route.declared, route.transform, expected, verified, status, error, actor, digest,
            now,
        )  # fmt: skip
        return (eid, "hop", digest, at, status, error, row, input_rows, source, line)

    def _placed_fields(
        self, event: Write | Snapshot, now: int, source: str, line: int | None
    ) -> tuple[Any, ...]:
        eid = event.id
        if eid is not None and (len(eid) > _FAST_BYTES or not eid.isascii() or "\x00" in eid):
            _check_text(eid, "id", True)
        digest = content_digest(event)
        if eid is None:
            eid = event_id(event)
        at = (event.at - _EPOCH) // _MICROSECOND
        actor = event.actor if isinstance(event, Write) else None
        row = (
            eid, event.kind, at, event.system, event.element, event.record, event.value,
            self.normalize(event.element, event.value), None, None, None, None, None, None,
            None, actor, digest, now,
        )  # fmt: skip
        return (eid, event.kind, digest, at, None, None, row, [], source, line)
