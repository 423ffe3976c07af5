"""Integrations without curation: ``missing-purpose``, ``missing-fallback``, ``pass-through``."""

from __future__ import annotations

from collections.abc import Iterator

from ...errors import TransformError
from ...model.findings import Finding
from ...model.registry import Level, Registry
from ...rules import blank, integration_owner
from ...transforms import parse_transform


def missing_purpose(registry: Registry) -> Iterator[Finding]:
    """An integration nobody can explain is integration debt."""
    for integration in registry.integrations:
        if not blank(integration.purpose):
            continue
        yield Finding.of(
            "missing-purpose",
            f"integration {integration.name!r} ({integration.source} -> {integration.target}) "
            "states no purpose: add purpose saying which business need it serves",
            owner=integration_owner(registry, integration),
            location=integration.location,
            integration=integration.name,
        )


def missing_fallback(registry: Registry) -> Iterator[Finding]:
    """A foundation integration must say what people do by hand while it is down."""
    for integration in registry.integrations:
        if integration.level != Level.FOUNDATION or not blank(integration.fallback):
            continue
        yield Finding.of(
            "missing-fallback",
            f"foundation integration {integration.name!r} ({integration.source} -> "
            f"{integration.target}) has no fallback: add fallback with the manual procedure "
            "or runbook link for when it is down",
            owner=integration_owner(registry, integration),
            location=integration.location,
            integration=integration.name,
        )


def pass_through(registry: Registry) -> Iterator[Finding]:
    """An element copied unchanged: worth asking why the target keeps a copy at all."""
    for integration in registry.integrations:
        for carry in integration.carries:
            if carry.input_elements != (carry.element,):
                continue
            try:
                identity = parse_transform(carry.transform).name == "identity"
            except TransformError:
                continue  # unknown-transform reports it
            if not identity:
                continue
            yield Finding.of(
                "pass-through",
                f"integration {integration.name!r} copies {carry.element!r} from "
                f"{integration.source} to {integration.target} unchanged: ask why "
                f"{integration.target} keeps a copy instead of reading {integration.source}, "
                "or waive pass-through with the reason",
                owner=integration_owner(registry, integration),
                location=carry.location or integration.location,
                evidence={"transform": carry.transform},
                element=carry.element,
                integration=integration.name,
            )
