"""W3C PROV-JSON export: value versions as entities, hops as activities, people as agents.

The mapping:

- every recorded value version (a write, a hop's output, a snapshot) is an **entity**
  ``value:<event id>`` with its system, element, record, value and time;
- every hop is an **activity** ``hop:<event id>`` with its ``lineage:status`` that ``used`` the
  value version each input was read from (what the source place held when the hop ran);
  only a **delivered** hop generates its output (``wasGeneratedBy``, and the output
  ``wasDerivedFrom`` each input through the hop). A **failed** hop left nothing anywhere: it
  is an activity naming the place and value it was to deliver, with no entity and no
  generation. A hop still **sent** (never confirmed) has no end time and its output only
  ``wasInfluencedBy`` it: later records may show the value, but nothing says it arrived;
- an input whose source place held nothing then is an entity of its own,
  ``input:<hop id>.<position>`` (an untraced value);
- a snapshot that shows the value its place was last given ``wasDerivedFrom`` that version
  (``prov:type`` ``lineage:Observation``);
- a write ``wasAttributedTo`` its actor (else the system's owner) and a hop
  ``wasAssociatedWith`` its integration's owner: **agents**.

Identifiers are valid XML QNames, so the document converts to PROV-XML that the W3C
``prov.xsd`` accepts: each local part keeps ASCII letters, digits, ``.`` and ``-`` and writes
every other UTF-8 byte as ``_HH`` (``erin@example.com`` is ``agent:erin_40example.com``, hop
``42`` is ``hop:_342``). Values are typed literals by their element's type (``xsd:decimal``,
``xsd:integer``, ``xsd:boolean``, ``xsd:date``, ``xsd:dateTime``; a value that does not parse
as its type, or of a string element, stays a string), times are ``xsd:dateTime``. Text that
XML 1.0 cannot hold (control characters) is ``xsd:base64Binary`` of its UTF-8.

:class:`ProvJsonWriter` writes the document incrementally: each record goes to its section's
spool file (in memory while small, on disk beyond), and :meth:`ProvJsonWriter.write_to`
joins them, so a whole store exports without being held in memory. The result reads back
with the ``prov`` library: ``ProvDocument.deserialize(content=..., format="json")``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import string
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, Any

from ..model.registry import ElementType, Registry
from ..rules import is_live, recorded_status
from ..store.queries import EventRow
from ..store.schema import iso
from ..transforms.values import normalize

PREFIXES = {
    "lineage": "urn:lineage:ns#",
    "value": "urn:lineage:value:",
    "input": "urn:lineage:input:",
    "hop": "urn:lineage:hop:",
    "agent": "urn:lineage:agent:",
}
"""The namespaces of the identifiers and attributes the export writes."""

SECTIONS = (
    "entity",
    "activity",
    "agent",
    "used",
    "wasGeneratedBy",
    "wasInfluencedBy",
    "wasDerivedFrom",
    "wasAttributedTo",
    "wasAssociatedWith",
)

_SPOOL_BYTES = 1 << 20


_NAME_START = frozenset(string.ascii_letters)
_NAME_CHARS = frozenset(string.ascii_letters + string.digits + ".-")


def local_name(text: str) -> str:
    """An identifier's local part: an XML NCName (so ``prefix:local`` is a QName in PROV-XML
    and a qualified name in PROV-N), one-to-one with ``text``.

    ASCII letters, digits, ``.`` and ``-`` stay (a first character only when a letter, a last
    ``.`` never); every other character is its UTF-8 bytes as ``_HH``.

    >>> local_name("erin@example.com"), local_name("42"), local_name("h-1")
    ('erin_40example.com', '_342', 'h-1')
    """
    last = len(text) - 1
    parts: list[str] = []
    for position, ch in enumerate(text):
        kept = _NAME_START if position == 0 else _NAME_CHARS
        if ch in kept and not (ch == "." and position == last):
            parts.append(ch)
        else:
            parts.extend(f"_{byte:02X}" for byte in ch.encode("utf-8", "surrogatepass"))
    return "".join(parts) or "_"


def _qname(kind: str) -> dict[str, str]:
    return {"$": kind, "type": "prov:QUALIFIED_NAME"}


def _typed(text: str, xsd: str) -> dict[str, str]:
    return {"$": text, "type": xsd}


# What XML 1.0 cannot hold, even escaped: PROV-XML of the document could not be written.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _string(text: str) -> Any:
    """``text`` as a PROV-JSON string; text with characters XML 1.0 cannot hold (control
    characters) as ``xsd:base64Binary`` of its UTF-8, so nothing is lost and the document
    still converts to valid PROV-XML."""
    if _NOT_XML.search(text) is None:
        return text
    data = base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")
    return _typed(data, "xsd:base64Binary")


def _label(text: str) -> str:
    """A label for people: characters XML 1.0 cannot hold shown as U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def timestamp(micros: int) -> dict[str, str]:
    """A stored time as an ``xsd:dateTime`` literal."""
    return _typed(iso(micros), "xsd:dateTime")


def _flag(value: bool) -> dict[str, str]:
    return _typed("true" if value else "false", "xsd:boolean")


_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _is_datetime(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return text.endswith("Z") and "T" in text


_LEXICAL: dict[ElementType, tuple[str, Callable[[str], object]]] = {
    ElementType.INTEGER: ("xsd:integer", _INTEGER.fullmatch),
    ElementType.DECIMAL: ("xsd:decimal", _DECIMAL.fullmatch),
    ElementType.BOOLEAN: ("xsd:boolean", lambda text: text in ("true", "false")),
    ElementType.DATE: ("xsd:date", _DATE.fullmatch),
    ElementType.DATETIME: ("xsd:dateTime", _is_datetime),
}


def typed_value(value: str, kind: ElementType) -> tuple[Any, str | None]:
    """``value`` as a PROV-JSON literal of its element's type, and the text as written when
    the literal spells it otherwise (``"50.00"`` is ``xsd:decimal`` ``50``).

    A value that does not parse as its type, and every string value, stays a plain string.
    """
    entry = _LEXICAL.get(kind)
    if entry is None:
        return value, None
    canonical = normalize(value, kind)
    xsd, matches = entry
    if canonical is None or not matches(canonical):
        return value, None
    return _typed(canonical, xsd), (value if canonical != value else None)


@dataclass(frozen=True, slots=True)
class Input:
    """A hop input for the export: where it was read, and the value version it came from.

    Attributes:
        position: the input's position in the hop.
        system, element, record: the place it was read from.
        value: the value the hop says it read.
        source: the event whose value the place held when the hop ran (None: untraced).
    """

    position: int
    system: str
    element: str
    record: str
    value: str | None
    source: str | None


class ProvJsonWriter:
    """Builds one PROV-JSON document record by record, in bounded memory.

    Example:
        >>> writer = ProvJsonWriter(Registry())
        >>> writer.add_event(row, status="delivered", inputs=[...])  # doctest: +SKIP
        >>> writer.write_to(sys.stdout)  # doctest: +SKIP
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._spools: dict[str, IO[str]] = {}
        self._counts = dict.fromkeys(SECTIONS, 0)
        self._agents: set[str] = set()
        self._relations = 0

    # -- low level ---------------------------------------------------------------------

    def _add(self, section: str, identifier: str, attributes: dict[str, Any]) -> None:
        spool = self._spools.get(section)
        if spool is None:
            spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed in write_to
                max_size=_SPOOL_BYTES, mode="w+", encoding="utf-8"
            )
            self._spools[section] = spool
        if self._counts[section]:
            spool.write(",\n")
        spool.write(f"    {json.dumps(identifier)}: {json.dumps(attributes, ensure_ascii=False)}")
        self._counts[section] += 1

    def _relation(self, section: str, attributes: dict[str, Any]) -> None:
        self._relations += 1
        self._add(section, f"_:r{self._relations}", attributes)

    def count(self, section: str) -> int:
        """How many records of ``section`` were written."""
        return self._counts[section]

    # -- records -----------------------------------------------------------------------

    def agent(self, name: str, role: str) -> str:
        """The agent ``name`` (written once), returning its identifier."""
        identifier = f"agent:{local_name(name)}"
        if identifier not in self._agents:
            self._agents.add(identifier)
            self._add(
                "agent",
                identifier,
                {"prov:label": _label(name), "lineage:role": role},
            )
        return identifier

    def _value(
        self, attributes: dict[str, Any], element: str, value: str | None, key: str = "prov:value"
    ) -> None:
        """Put ``value`` in ``attributes`` as ``key``, typed by ``element``'s type."""
        if value is None:
            return
        declared = self.registry.element(element)
        kind = declared.type if declared is not None else ElementType.STRING
        literal, written = typed_value(value, kind)
        attributes[key] = _string(literal) if isinstance(literal, str) else literal
        if written is not None:
            attributes["lineage:text"] = _string(written)

    def _place(self, row: EventRow) -> dict[str, Any]:
        return {
            "prov:label": _label(f"{row.system} {row.element} {row.record}"),
            "lineage:event": _string(row.event_id),
            "lineage:system": _string(row.system),
            "lineage:element": _string(row.element),
            "lineage:record": _string(row.record),
            "lineage:at": timestamp(row.at),
        }

    def add_event(
        self,
        row: EventRow,
        *,
        status: str | None = None,
        inputs: Iterable[Input] = (),
        observed: str | None = None,
    ) -> None:
        """Write one recorded event with its relations.

        Args:
            row: the event.
            status: a hop's latest status (default: the status it was recorded with).
            inputs: a hop's inputs, each with the value version it was read from.
            observed: for a snapshot, the event whose value it shows (None: unexplained).
        """
        if row.kind == "hop":
            self._hop(row, recorded_status(status or row.status), inputs)
            return
        entity = f"value:{local_name(row.event_id)}"
        attributes: dict[str, Any] = {
            "prov:type": _qname(f"lineage:{row.kind.capitalize()}"),
            **self._place(row),
        }
        self._value(attributes, row.element, row.value)
        self._add("entity", entity, attributes)
        if row.kind == "write":
            if row.actor:
                self._relation(
                    "wasAttributedTo",
                    {"prov:entity": entity, "prov:agent": self.agent(row.actor, "actor")},
                )
            else:
                system = self.registry.system(row.system)
                if system is not None and system.owner:
                    self._relation(
                        "wasAttributedTo",
                        {"prov:entity": entity, "prov:agent": self.agent(system.owner, "owner")},
                    )
        elif row.kind == "snapshot" and observed is not None:
            self._relation(
                "wasDerivedFrom",
                {
                    "prov:generatedEntity": entity,
                    "prov:usedEntity": f"value:{local_name(observed)}",
                    "prov:type": _qname("lineage:Observation"),
                },
            )

    def _hop(self, row: EventRow, status: str, inputs: Iterable[Input]) -> None:
        """A hop: an activity; its output an entity it generated only once delivered."""
        activity = f"hop:{local_name(row.event_id)}"
        entity = f"value:{local_name(row.event_id)}"
        when = iso(row.at)
        attributes: dict[str, Any] = {"prov:type": _qname("lineage:Hop"), "prov:startTime": when}
        if status != "sent":
            attributes["prov:endTime"] = when  # delivered or failed: it is over
        attributes["lineage:status"] = status
        for key, value in (
            ("lineage:integration", row.integration),
            ("lineage:transform", row.transform),
            ("lineage:error", row.error),
        ):
            if value is not None:
                attributes[key] = _string(value)
        for key, flag in (("lineage:declared", row.declared), ("lineage:verified", row.verified)):
            if flag is not None:
                attributes[key] = _flag(flag)
        if not is_live(status):
            # Nothing arrived: the activity alone says where the value was to go (prov:value
            # belongs to entities only).
            attributes.update(self._place(row))
            attributes["prov:label"] = f"failed hop to {attributes['prov:label']}"
            self._value(attributes, row.element, row.value, "lineage:value")
        self._add("activity", activity, attributes)
        if is_live(status):
            output: dict[str, Any] = {"prov:type": _qname("lineage:Hop"), **self._place(row)}
            self._value(output, row.element, row.value)
            if status != "delivered":
                output["lineage:delivery"] = "unconfirmed"
            self._add("entity", entity, output)
        if status == "delivered":
            self._relation(
                "wasGeneratedBy",
                {"prov:entity": entity, "prov:activity": activity, "prov:time": when},
            )
        elif is_live(status):
            self._relation(
                "wasInfluencedBy", {"prov:influencee": entity, "prov:influencer": activity}
            )
        declared = self.registry.integration(row.integration) if row.integration else None
        if declared is not None and declared.owner:
            self._relation(
                "wasAssociatedWith",
                {"prov:activity": activity, "prov:agent": self.agent(declared.owner, "owner")},
            )
        if row.actor:
            self._relation(
                "wasAssociatedWith",
                {"prov:activity": activity, "prov:agent": self.agent(row.actor, "actor")},
            )
        for item in inputs:
            if item.source is not None:
                used = f"value:{local_name(item.source)}"
            else:
                used = f"input:{local_name(row.event_id)}.{item.position}"
                untraced: dict[str, Any] = {
                    "prov:type": _qname("lineage:UntracedInput"),
                    "prov:label": _label(f"{item.system} {item.element} {item.record}"),
                    "lineage:system": _string(item.system),
                    "lineage:element": _string(item.element),
                    "lineage:record": _string(item.record),
                }
                self._value(untraced, item.element, item.value)
                self._add("entity", used, untraced)
            self._relation(
                "used", {"prov:activity": activity, "prov:entity": used, "prov:time": when}
            )
            if status == "delivered":
                self._relation(
                    "wasDerivedFrom",
                    {
                        "prov:generatedEntity": entity,
                        "prov:usedEntity": used,
                        "prov:activity": activity,
                    },
                )

    # -- output ------------------------------------------------------------------------

    def write_to(self, out: IO[str]) -> None:
        """Write the whole document to ``out`` and release the spool files."""
        out.write('{\n  "prefix": ')
        out.write(json.dumps(PREFIXES))
        for section in SECTIONS:
            spool = self._spools.pop(section, None)
            if spool is None:
                continue
            out.write(f',\n  "{section}": {{\n')
            spool.seek(0)
            while chunk := spool.read(1 << 16):
                out.write(chunk)
            spool.close()
            out.write("\n  }")
        out.write("\n}\n")

    def close(self) -> None:
        """Release the spool files without writing."""
        for spool in self._spools.values():
            spool.close()
        self._spools.clear()


__all__ = [
    "PREFIXES",
    "SECTIONS",
    "Input",
    "ProvJsonWriter",
    "local_name",
    "timestamp",
    "typed_value",
]
