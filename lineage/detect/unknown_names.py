"""``unknown-system`` and ``unknown-element``: events naming what the registry in force does
not declare.

Such events are kept (nothing recorded is ever dropped) and judged again against whichever
registry is in force: declaring the system or element later makes the finding go away. One
finding per unknown name, with the count of events naming it and a few examples. Where an
event names them (the place it leaves a value in, or a hop's input) does not matter.

The names recorded are read grouped from the covering indexes ``ix_events_element_system``
and ``ix_hop_inputs_place``; only the few unknown ones are looked at event by event
(statements: :mod:`lineage.store.detection.unknown_names`). A scoped judgement looks only at
the unknown names its scope's places name, each counted whole. A store
whose registry declares no system at all (nothing loaded yet) is not judged for systems, nor
one declaring no element for elements: there is nothing to judge against.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..model.findings import Finding
from ..rules import message, owner
from ..store.detection.unknown_names import named_pairs, naming_at, pairs_naming, reading_from
from .base import ScanContext
from .common import SAMPLES, when


@dataclass(slots=True)
class _Unknown:
    """Everything recorded that names one unknown system or element."""

    places: list[tuple[str, str]] = field(default_factory=list)  # (system, element)
    inputs: list[tuple[str, str]] = field(default_factory=list)


def unknown_names(ctx: ScanContext) -> Iterator[Finding]:
    """``unknown-system`` and ``unknown-element`` findings (see the module docstring)."""
    registry = ctx.registry
    judge_systems = bool(registry.systems)
    judge_elements = bool(registry.elements)
    if not (judge_systems or judge_elements):
        return
    systems: dict[str, _Unknown] = {}
    elements: dict[str, _Unknown] = {}
    scope = ctx.scope
    if scope is None:
        places, inputs = named_pairs(ctx.conn)
        for side, pairs in (("places", places), ("inputs", inputs)):
            for system, element in pairs:
                if judge_systems and registry.system(system) is None:
                    getattr(systems.setdefault(system, _Unknown()), side).append((system, element))
                if judge_elements and registry.element(element) is None:
                    getattr(elements.setdefault(element, _Unknown()), side).append(
                        (system, element)
                    )
    else:
        # the groups the scope names, each whole: every pair naming the unknown name
        for name in sorted(scope.systems) if judge_systems else ():
            if registry.system(name) is None:
                places, inputs = pairs_naming(ctx.conn, system=name)
                systems[name] = _Unknown(places, inputs)
        for name in sorted(scope.elements) if judge_elements else ():
            if registry.element(name) is None:
                places, inputs = pairs_naming(ctx.conn, element=name)
                elements[name] = _Unknown(places, inputs)
    for name, found in sorted(systems.items()):
        finding = _finding(ctx, "unknown-system", name, found)
        if finding is not None:
            yield finding
    for name, found in sorted(elements.items()):
        finding = _finding(ctx, "unknown-element", name, found)
        if finding is not None:
            yield finding


def _samples(ctx: ScanContext, found: _Unknown) -> tuple[int, list[Any]]:
    """How many events (by the scan's moment) name it, and the earliest few."""
    count = 0
    samples: list[Any] = []
    for side, look in ((found.places, naming_at), (found.inputs, reading_from)):
        for system, element in side:
            counted, rows = look(ctx.conn, system, element, ctx.as_of, SAMPLES)
            count += counted
            samples.extend(rows)
    samples.sort(key=lambda row: (row.at, row.seq))
    return count, samples[:SAMPLES]


def _finding(ctx: ScanContext, code: str, name: str, found: _Unknown) -> Finding | None:
    count, samples = _samples(ctx, found)
    if not samples:  # every event naming it is after the moment judged
        return None
    first = samples[0]
    registry = ctx.registry
    if first.kind == "hop":
        # the integration that carried it, else the element's owner, else the system that
        # sent it (the hop's source), else the one that received it
        who = owner(registry, integration=first.integration, element=first.element,
                    system=first.source) or owner(registry, system=first.system)  # fmt: skip
        via = f" (on {first.integration or 'no declared integration'})"
    else:
        who = owner(registry, element=first.element, system=first.system)
        via = ""
    also = f"; {count} events name it" if count > 1 else ""
    kind = first.kind
    text = message(code, kind=kind, event=first.event_id, system=name, element=name, via=via)
    systems = sorted({system for system, _ in (*found.places, *found.inputs)})
    elements = sorted({element for _, element in (*found.places, *found.inputs)})
    return Finding.of(
        code,
        text + also,
        owner=who,
        system=name if code == "unknown-system" else (systems[0] if len(systems) == 1 else None),
        element=name
        if code == "unknown-element"
        else (elements[0] if len(elements) == 1 else None),
        integration=first.integration,
        record=first.record,
        event=first.event_id,
        evidence={
            "count": count,
            "events": [row.event_id for row in samples],
            "systems": systems,
            "elements": elements,
            "first_at": when(first.at),
        },
    )
