"""What an integration does with what it carries: transform changed, rerouted, carries
removed or added."""

from __future__ import annotations

from collections.abc import Iterator

from ...errors import TransformError
from ...model.findings import Finding
from ...transforms import parse_transform
from ..codes import change
from ..pair import Pair


def canonical(transform: str) -> str:
    """The transform's canonical text (``round( 2 )`` and ``round(2)`` are one transform)."""
    try:
        return parse_transform(transform).text
    except TransformError:
        return transform.strip()


def transform_changed(pair: Pair) -> Iterator[Finding]:
    """A carry of an integration in both registries with another transform or other inputs."""
    for name, integ in pair.head.integrations.items():
        before = pair.base.integrations.get(name)
        if before is None:
            continue
        for carry in integ.carries:
            old = before.carry(carry.element)
            if old is None:
                continue
            same_transform = canonical(old.transform) == canonical(carry.transform)
            if same_transform and old.input_elements == carry.input_elements:
                continue
            what = (
                f"through {carry.transform!r} instead of {old.transform!r}"
                if not same_transform
                else f"from {', '.join(carry.input_elements)} instead of "
                f"{', '.join(old.input_elements)}"
            )
            yield change(
                "transform-changed",
                f"integration {name!r} now carries {carry.element!r} into {integ.target} {what}: "
                "values recorded before were made the old way",
                owners=[
                    integ.owner,
                    pair.head.element_owner(carry.element),
                    pair.head.system_owner(integ.target),
                ],
                location=carry.location or integ.location,
                before={"transform": old.transform, "inputs": list(old.input_elements)},
                after={"transform": carry.transform, "inputs": list(carry.input_elements)},
                systems=[integ.target],
                element=carry.element,
                integration=name,
                system=integ.target,
            )


def integration_rerouted(pair: Pair) -> Iterator[Finding]:
    """An integration of the same name with another source or target."""
    for name, integ in pair.head.integrations.items():
        before = pair.base.integrations.get(name)
        if before is None or (before.source, before.target) == (integ.source, integ.target):
            continue
        yield change(
            "integration-rerouted",
            f"integration {name!r} now runs {integ.source} -> {integ.target} instead of "
            f"{before.source} -> {before.target}",
            owners=[integ.owner, pair.head.system_owner(integ.target)],
            location=integ.location,
            before=[before.source, before.target],
            after=[integ.source, integ.target],
            systems=[integ.target, before.target],
            integration=name,
        )


def carries_removed_or_added(pair: Pair) -> Iterator[Finding]:
    """``carry-removed`` at BASE's line, ``carry-added`` at HEAD's, for kept integrations."""
    for name, integ in pair.head.integrations.items():
        before = pair.base.integrations.get(name)
        if before is None:
            continue
        kept = {c.element for c in integ.carries}
        had = {c.element for c in before.carries}
        for carry in before.carries:
            if carry.element not in kept:
                yield change(
                    "carry-removed",
                    f"integration {name!r} no longer carries {carry.element!r} into "
                    f"{before.target}: the copy there stops being refreshed",
                    owners=[
                        integ.owner,
                        pair.head.element_owner(carry.element),
                        pair.head.system_owner(before.target),
                    ],
                    location=carry.location or before.location,
                    before=carry.transform,
                    after=None,
                    systems=[before.target],
                    element=carry.element,
                    integration=name,
                    system=before.target,
                )
        for carry in integ.carries:
            if carry.element not in had:
                yield change(
                    "carry-added",
                    f"integration {name!r} now also carries {carry.element!r} into "
                    f"{integ.target} ({carry.transform})",
                    owners=[integ.owner, pair.head.element_owner(carry.element)],
                    location=carry.location or integ.location,
                    before=None,
                    after=carry.transform,
                    systems=[integ.target],
                    element=carry.element,
                    integration=name,
                    system=integ.target,
                )
