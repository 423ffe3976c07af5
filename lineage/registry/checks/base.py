"""What every registry check is, and the small helpers they share.

Who answers for a declaration, and what counts as blank, are the rules core's
(:func:`lineage.rules.integration_owner`, :func:`lineage.rules.element_owner`,
:func:`lineage.rules.blank`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ...model.findings import Finding
from ...model.registry import Element, Location, Registry

Check = Callable[[Registry], Iterable[Finding]]
"""A registry check: reads the declarations, yields findings (never raises on bad data)."""


def element_declarations(registry: Registry) -> dict[str, list[Element]]:
    """Every declaration of each element name, in reading order (teams may repeat one)."""
    found: dict[str, list[Element]] = {}
    for element in registry.elements:
        found.setdefault(element.name, []).append(element)
    return found


@dataclass(frozen=True, slots=True)
class Declared:
    """An element as all its declarations together say it: the first one that names each."""

    first: Element
    system_of_record: str | None
    system_of_origin: str | None


def declared_elements(registry: Registry) -> dict[str, Declared]:
    """Each declared element name with its system of record and origin, merged."""
    result: dict[str, Declared] = {}
    for name, declarations in element_declarations(registry).items():
        record = next((d.system_of_record for d in declarations if d.system_of_record), None)
        origin = next((d.system_of_origin for d in declarations if d.system_of_origin), None)
        result[name] = Declared(declarations[0], record, origin)
    return result


def at(location: Location | None) -> str:
    """``file:line`` of a declaration, for messages."""
    return str(location) if location is not None else "an unknown place"
