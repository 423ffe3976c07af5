"""The names the events of a store carry: systems, elements, integrations (for commands
that must say which names exist when one names nothing known)."""

from __future__ import annotations

from sqlalchemy import Column, literal, select, union

from .database import Store
from .schema import events, hop_inputs

KINDS = ("system", "element", "integration")
"""The kinds of name an event carries."""


def _columns(kind: str) -> list[Column[str]]:
    if kind == "system":
        return [events.c.system, hop_inputs.c.system]
    if kind == "element":
        return [events.c.element, hop_inputs.c.element]
    if kind == "integration":
        return [events.c.integration]
    return []


def recorded_names(store: Store, kind: str) -> set[str]:
    """Every name of ``kind`` the events carry (none for a kind events do not carry)."""
    columns = _columns(kind)
    if not columns:
        return set()
    query = union(*(select(c).where(c.is_not(None)).distinct() for c in columns))
    with store.reader.connect() as conn:
        return {str(name) for name in conn.execute(query).scalars()}


def is_recorded(store: Store, kind: str, name: str) -> bool:
    """Whether an event names ``name`` as a ``kind`` (indexed for systems and elements)."""
    with store.reader.connect() as conn:
        return any(
            conn.execute(select(literal(1)).where(c == name).limit(1)).first() is not None
            for c in _columns(kind)
        )


__all__ = ["KINDS", "is_recorded", "recorded_names"]
