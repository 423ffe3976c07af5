"""Waivers added or extended: a finding accepted, or accepted for longer."""

from __future__ import annotations

from collections.abc import Iterator

from ...model.findings import Finding
from ...model.registry import Waiver
from ..codes import change
from ..pair import Pair, Side


def _key(waiver: Waiver) -> tuple[str, tuple[tuple[str, str], ...]]:
    return waiver.code, tuple(sorted(waiver.subject.items()))


def _subject_owner(side: Side, waiver: Waiver) -> str | None:
    subject = waiver.subject
    if "integration" in subject:
        return side.integration_owner(subject["integration"])
    if "element" in subject:
        return side.element_owner(subject["element"])
    if "system" in subject:
        return side.system_owner(subject["system"])
    return None


def _text(waiver: Waiver) -> str:
    subject = ", ".join(f"{k} {v!r}" for k, v in waiver.subject.items())
    return f"the waiver of {waiver.code} for {subject}"


def waivers_changed(pair: Pair) -> Iterator[Finding]:
    """``waiver-added`` for a new (code, subject), ``waiver-extended`` for a later expiry."""
    before = {_key(w): w for w in pair.base.registry.waivers}
    for waiver in pair.head.registry.waivers:
        old = before.get(_key(waiver))
        until = waiver.expires.isoformat() if waiver.expires else "no expiry"
        if old is None:
            code = "waiver-added"
            message = f"{_text(waiver)} is added ({until}): {waiver.reason}"
        elif old.expires is not None and (waiver.expires is None or waiver.expires > old.expires):
            code = "waiver-extended"
            message = f"{_text(waiver)} is extended from {old.expires.isoformat()} to {until}"
        else:
            continue
        yield change(
            code,
            message,
            owners=[waiver.owner, _subject_owner(pair.head, waiver)],
            location=waiver.location,
            before=old.expires.isoformat() if old is not None and old.expires else None,
            after=waiver.expires.isoformat() if waiver.expires else None,
            systems=[waiver.subject.get("system")],
            evidence={"code": waiver.code, "reason": waiver.reason},
            element=waiver.subject.get("element"),
            system=waiver.subject.get("system"),
            integration=waiver.subject.get("integration"),
            record=waiver.subject.get("record"),
        )
