"""New flows into systems that hold an element: new writers, and backflow introduced.

A carry is new when BASE's integration of the same name (after renames) did not carry the
element into the same system. Into the element's system of record from anywhere but its
origin, it is ``backflow-introduced``; into its origin, or into a system another integration
already fed in BASE, it is ``new-writer``. A first flow into a system nothing fed is an
addition, not a second writer.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...model.findings import Finding
from ..codes import change
from ..pair import Pair


def new_writers(pair: Pair) -> Iterator[Finding]:
    """``new-writer`` and ``backflow-introduced`` for every new carry into a holding system."""
    for integ in pair.head.registry.integrations:
        before = pair.base.integrations.get(integ.name)
        for carry in integ.carries:
            element = carry.element
            if (
                before is not None
                and before.target == integ.target
                and before.carry(element) is not None
            ):
                continue
            declared = pair.head.elements.get(element)
            if declared is None:
                continue  # undeclared elements are lineage check's to report
            record, origin = declared.system_of_record, declared.system_of_origin
            others = pair.base.writers.get((integ.target, element), set()) - {integ.name}
            if integ.target == record and integ.source != origin:
                code = "backflow-introduced"
                message = (
                    f"integration {integ.name!r} now carries {element!r} from {integ.source} "
                    f"into {record}, its system of record: a copy would overwrite the truth"
                )
            elif integ.target == origin:
                code = "new-writer"
                message = (
                    f"integration {integ.name!r} now writes {element!r} into {origin}, the "
                    f"system that creates it: values created there and values arriving from "
                    f"{integ.source} will compete"
                )
            elif others:
                code = "new-writer"
                message = (
                    f"integration {integ.name!r} now writes {element!r} into {integ.target}, "
                    f"which {', '.join(sorted(others))} already feeds: two writers of one value"
                )
            else:
                continue
            yield change(
                code,
                message,
                owners=[
                    integ.owner,
                    pair.head.element_owner(element),
                    pair.head.system_owner(integ.target),
                ],
                location=carry.location or integ.location,
                before=sorted(others),
                after=sorted(others | {integ.name}),
                systems=[integ.target],
                element=element,
                integration=integ.name,
                system=integ.target,
            )
