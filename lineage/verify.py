"""Checking a hop against the registry: which integration it travelled, which transform
applies, and whether re-running that transform on the inputs gives the output.

This is the one place where a hop's expected output is computed; the writer records the
answer at the point of entry and the steward's questions and the detectors read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from .errors import TransformError
from .model.events import Hop
from .model.registry import Element, ElementType, Integration, Registry
from .transforms import normalize, parse_transform


class HopCheck(NamedTuple):
    """What checking one hop at the point of entry found (a named tuple: the steward's
    questions make one per hop they judge).

    Attributes:
        integration: the integration named by the hop, else the declared one its route
            matches (source system, target system, element), else None.
        declared: the integration is declared and carries the output element from the
            inputs' system to the output's system.
        transform: the transform that applies: the declared carry's, else the hop's own.
        expected_norm: what the transform makes of the inputs, in canonical form; None when
            it cannot be computed.
        verified: ``expected_norm`` equals the output's canonical value; None when there is
            no transform to re-run or it is not in the catalogue.
        reason: why the hop does not verify, for people.
    """

    integration: str | None
    declared: bool
    transform: str | None
    expected_norm: str | None
    verified: bool | None
    reason: str | None = None


class HopVerifier:
    """Checks hops against one registry; cheap to call once per event."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def element_type(self, element: str) -> ElementType:
        declared = self.registry.element(element)
        return declared.type if declared else ElementType.STRING

    def normalize(self, element: str, value: str | None) -> str | None:
        """``value`` in the canonical form of ``element``'s declared type."""
        return normalize(value, self.element_type(element))

    def integration_of(self, hop: Hop) -> tuple[Integration | None, bool]:
        """The declared integration a hop travelled, and whether it really declares this path."""
        out = hop.output
        sources = {i.system for i in hop.inputs}
        if hop.integration is not None:
            named = self.registry.integration(hop.integration)
            if named is None:
                return None, False
            carry = named.carry(out.element)
            fits = (
                carry is not None
                and named.target == out.system
                and sources == {named.source}
                and all(i.element in carry.input_elements for i in hop.inputs)
            )
            return named, fits
        if len(sources) != 1:
            return None, False
        (source,) = sources
        for candidate in self.registry.integrations_for(source, out.system, out.element):
            carry = candidate.carry(out.element)
            if carry is not None and all(i.element in carry.input_elements for i in hop.inputs):
                return candidate, True
        return None, False

    def check(self, hop: Hop) -> HopCheck:
        """Check one hop (see :class:`HopCheck`)."""
        integration, declared = self.integration_of(hop)
        name = (
            hop.integration
            if hop.integration is not None
            else (integration.name if integration else None)
        )
        transform = hop.transform
        if integration is not None and declared:
            carry = integration.carry(hop.output.element)
            transform = carry.transform if carry else transform
        if transform is None:
            return HopCheck(name, declared, None, None, None, "no transform is declared or given")
        expected, verified, reason = self.rerun(
            transform, [i.value for i in hop.inputs], hop.output.element, hop.output.value
        )
        return HopCheck(name, declared, transform, expected, verified, reason)

    def rerun(
        self, transform: str, inputs: Sequence[str | None], element: str, actual: str | None
    ) -> tuple[str | None, bool | None, str | None]:
        """Re-run ``transform`` on ``inputs``: (expected canonical value, verified, reason)."""
        kind = self.element_type(element)
        try:
            call = parse_transform(transform)
        except TransformError as exc:
            return None, None, str(exc)
        try:
            result = call.apply(list(inputs), out_type=kind, lookups=self.registry.lookups)
        except TransformError as exc:
            return None, False, f"{transform} cannot run on {list(inputs)!r}: {exc}"
        expected = normalize(result, kind)
        if expected == normalize(actual, kind):
            return expected, True, None
        return expected, False, f"{transform} of {list(inputs)!r} gives {result!r}, not {actual!r}"

    def element(self, name: str) -> Element | None:
        return self.registry.element(name)
