"""W3C PROV-JSON export: value versions as entities, hops as activities, people as agents.

The mapping:

- every recorded value version (a write, a hop's output, a snapshot) is an **entity**
  ``value:<event id>`` with its system, element, record, value and time;
- every hop is an **activity** ``hop:<event id>`` that ``used`` the value version each input
  was read from (what the source place held when the hop ran) and by which its output
  ``wasGeneratedBy``; the output ``wasDerivedFrom`` each input through the hop;
- an input whose source place held nothing then is an entity of its own,
  ``input:<hop id>/<position>`` (an untraced value);
- a snapshot that shows the value its place was last given ``wasDerivedFrom`` that version
  (``prov:type`` ``lineage:Observation``);
- a write ``wasAttributedTo`` its actor (else the system's owner) and a hop
  ``wasAssociatedWith`` its integration's owner: **agents**.

:class:`ProvJsonWriter` writes the document incrementally: each record goes to its section's
spool file (in memory while small, on disk beyond), and :meth:`ProvJsonWriter.write_to`
joins them, so a whole store exports without being held in memory. The result reads back
with the ``prov`` library: ``ProvDocument.deserialize(content=..., format="json")``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote

from ..model.registry import Registry
from ..store.queries import EventRow
from ..store.schema import iso

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
    "wasDerivedFrom",
    "wasAttributedTo",
    "wasAssociatedWith",
)

_SPOOL_BYTES = 1 << 20


def _local(text: str) -> str:
    """An identifier's local part: percent-encoded so that PROV-N can write it too."""
    return quote(text, safe="-_.")


def _qname(kind: str) -> dict[str, str]:
    return {"$": kind, "type": "prov:QUALIFIED_NAME"}


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
        identifier = f"agent:{_local(name)}"
        if identifier not in self._agents:
            self._agents.add(identifier)
            self._add(
                "agent",
                identifier,
                {"prov:label": name, "lineage:role": role},
            )
        return identifier

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
        entity = f"value:{_local(row.event_id)}"
        attributes: dict[str, Any] = {
            "prov:type": _qname(f"lineage:{row.kind.capitalize()}"),
            "prov:label": f"{row.system} {row.element} {row.record}",
            "lineage:event": row.event_id,
            "lineage:system": row.system,
            "lineage:element": row.element,
            "lineage:record": row.record,
            "lineage:at": iso(row.at),
        }
        if row.value is not None:
            attributes["prov:value"] = row.value
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
        elif row.kind == "hop":
            self._hop(row, entity, status or row.status, inputs)
        elif row.kind == "snapshot" and observed is not None:
            self._relation(
                "wasDerivedFrom",
                {
                    "prov:generatedEntity": entity,
                    "prov:usedEntity": f"value:{_local(observed)}",
                    "prov:type": _qname("lineage:Observation"),
                },
            )

    def _hop(self, row: EventRow, entity: str, status: str | None, inputs: Iterable[Input]) -> None:
        activity = f"hop:{_local(row.event_id)}"
        when = iso(row.at)
        attributes: dict[str, Any] = {
            "prov:type": _qname("lineage:Hop"),
            "prov:startTime": when,
            "prov:endTime": when,
        }
        for key, value in (
            ("lineage:integration", row.integration),
            ("lineage:transform", row.transform),
            ("lineage:status", status),
            ("lineage:declared", row.declared),
            ("lineage:verified", row.verified),
            ("lineage:error", row.error),
        ):
            if value is not None:
                attributes[key] = value
        self._add("activity", activity, attributes)
        self._relation(
            "wasGeneratedBy", {"prov:entity": entity, "prov:activity": activity, "prov:time": when}
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
                used = f"value:{_local(item.source)}"
            else:
                used = f"input:{_local(row.event_id)}/{item.position}"
                untraced: dict[str, Any] = {
                    "prov:type": _qname("lineage:UntracedInput"),
                    "prov:label": f"{item.system} {item.element} {item.record}",
                    "lineage:system": item.system,
                    "lineage:element": item.element,
                    "lineage:record": item.record,
                }
                if item.value is not None:
                    untraced["prov:value"] = item.value
                self._add("entity", used, untraced)
            self._relation(
                "used", {"prov:activity": activity, "prov:entity": used, "prov:time": when}
            )
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


__all__ = ["PREFIXES", "SECTIONS", "Input", "ProvJsonWriter"]
