"""Where an element's truth lives and where it is created: system of record and of origin moved."""

from __future__ import annotations

from collections.abc import Iterator

from ...model.findings import Finding
from ..codes import change
from ..pair import Pair


def system_of_record_moved(pair: Pair) -> Iterator[Finding]:
    """An element's system of record names a different system in HEAD."""
    for name, head in pair.head.elements.items():
        base = pair.base.elements.get(name)
        if base is None or base.system_of_record == head.system_of_record:
            continue
        before, after = base.system_of_record, head.system_of_record
        declaration = pair.head.element_declaration(name, "system_of_record")
        yield change(
            "system-of-record-moved",
            f"element {name!r} moves its system of record from {before or 'none'} to "
            f"{after or 'none'}: its golden value will be read from {after or 'nowhere'}, and "
            f"every copy judged against it",
            owners=[
                pair.head.element_owner(name),
                pair.base.element_owner(name),
                pair.base.system_owner(before),
                pair.head.system_owner(after),
            ],
            location=declaration.location if declaration else None,
            before=before,
            after=after,
            systems=[before, after],
            element=name,
        )


def system_of_origin_moved(pair: Pair) -> Iterator[Finding]:
    """An element's system of origin names a different system: a new system creates it."""
    for name, head in pair.head.elements.items():
        base = pair.base.elements.get(name)
        if base is None or base.system_of_origin == head.system_of_origin:
            continue
        before, after = base.system_of_origin, head.system_of_origin
        declaration = pair.head.element_declaration(name, "system_of_origin")
        yield change(
            "system-of-origin-moved",
            f"element {name!r} is now created in {after or 'no declared system'} instead of "
            f"{before or 'no declared system'}: a new writer of its values",
            owners=[
                pair.head.element_owner(name),
                pair.base.system_owner(before),
                pair.head.system_owner(after),
            ],
            location=declaration.location if declaration else None,
            before=before,
            after=after,
            systems=[before, after],
            element=name,
        )
