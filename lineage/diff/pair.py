"""BASE and HEAD side by side, BASE's names already carried through the renames found.

Detectors compare declarations by name; after :func:`~lineage.diff.renames.find_renames` a
renamed system, element or integration has its HEAD name in :attr:`Pair.base` too, so it is
compared with itself instead of reported as removed and added.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from ..model.registry import Element, Integration, Registry, System
from ..registry.checks.base import Declared, declared_elements
from ..rules import owner, system_owner

__all__ = ["Pair", "Side"]


@dataclass(frozen=True)
class Side:
    """One registry with the merged views the detectors ask for."""

    registry: Registry

    @cached_property
    def elements(self) -> dict[str, Declared]:
        """Each element name with its merged system of record and origin."""
        return declared_elements(self.registry)

    @cached_property
    def systems(self) -> dict[str, System]:
        return {s.name: s for s in reversed(self.registry.systems)}

    @cached_property
    def integrations(self) -> dict[str, Integration]:
        return {i.name: i for i in reversed(self.registry.integrations)}

    @cached_property
    def writers(self) -> dict[tuple[str, str], set[str]]:
        """``(target system, element)`` -> the integrations that carry the element there."""
        found: dict[tuple[str, str], set[str]] = {}
        for integ in self.registry.integrations:
            for carry in integ.carries:
                found.setdefault((integ.target, carry.element), set()).add(integ.name)
        return found

    def element_owner(self, name: str) -> str | None:
        """The element's own owner (the first any declaration of it names), as every
        question answers it (:func:`lineage.rules.owner`)."""
        return owner(self.registry, element=name)

    def element_declaration(self, name: str, key: str) -> Element | None:
        """The first declaration of ``name`` that sets ``key`` (else the first at all)."""
        declarations = [e for e in self.registry.elements if e.name == name]
        chosen = next((e for e in declarations if getattr(e, key) is not None), None)
        return chosen or (declarations[0] if declarations else None)

    def system_owner(self, name: str | None) -> str | None:
        """The system's declared owner (:func:`lineage.rules.system_owner`)."""
        return system_owner(self.registry, name)

    def integration_owner(self, name: str) -> str | None:
        """The integration's own owner (:func:`lineage.rules.owner`)."""
        return owner(self.registry, integration=name)


@dataclass(frozen=True)
class Pair:
    """The two registries compared: ``base`` renamed into HEAD's names, and ``head``.

    ``original`` is BASE as read (removals point at its lines, which renaming keeps).
    """

    base: Side
    head: Side
    original: Registry = field(default_factory=Registry)
