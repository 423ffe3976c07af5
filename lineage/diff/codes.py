"""The change codes ``lineage diff`` reports: stable, documented, contract from now on.

A change is a :class:`~lineage.model.findings.Finding` whose code is one of
:data:`DIFF_CODES`, so every report format of ``lineage check`` shows it. Add codes, never
rename them. The evidence of a change always holds ``change`` (the sentence, without the
owners and blast radius the message appends), ``owners`` (everyone to ask, most accountable
first), ``before`` and ``after`` (what BASE and HEAD declare), ``systems`` (the systems whose
data the change touches) and ``blast`` (what it touches in the recorded data, or what cannot
be known without a store).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..model.findings import CodeInfo, Finding, Severity, Subject
from ..model.registry import Location

__all__ = ["DIFF_CODES", "change"]


def _c(code: str, severity: str, description: str) -> CodeInfo:
    return CodeInfo(code=code, severity=Severity(severity), description=description, runtime=False)


_ALL = (
    _c(
        "system-of-record-moved",
        "error",
        "An element's system of record is a different system: its golden value moves.",
    ),
    _c(
        "system-of-origin-moved",
        "warning",
        "An element's system of origin is a different system: a new system creates its values.",
    ),
    _c(
        "new-writer",
        "warning",
        "An integration now writes an element into a system that already holds it (its origin, "
        "or a system another integration already feeds).",
    ),
    _c(
        "backflow-introduced",
        "error",
        "A new flow carries an element into its system of record from a copy.",
    ),
    _c("owner-removed", "error", "A system, element or integration no longer names an owner."),
    _c("owner-changed", "warning", "A system, element or integration names a different owner."),
    _c(
        "transform-changed",
        "warning",
        "An integration carries an element through a different transform (or from other inputs).",
    ),
    _c("integration-rerouted", "warning", "An integration has a different source or target."),
    _c("integration-removed", "warning", "An integration is no longer declared."),
    _c("element-removed", "warning", "An element is no longer declared."),
    _c("system-removed", "warning", "A system is no longer declared."),
    _c("carry-removed", "warning", "An integration no longer carries an element."),
    _c("rule-tightened", "warning", "An element's rules reject values they accepted before."),
    _c("rule-loosened", "warning", "An element's rules accept values they rejected before."),
    _c("type-changed", "warning", "An element is declared with a different type."),
    _c("waiver-added", "warning", "A new waiver silences a finding."),
    _c("waiver-extended", "warning", "A waiver silences its finding for longer (or for ever)."),
    _c("system-renamed", "info", "A system is declared under a new name, otherwise unchanged."),
    _c("element-renamed", "info", "An element is declared under a new name, otherwise unchanged."),
    _c(
        "integration-renamed",
        "info",
        "An integration with the same source, target and carries has a new name.",
    ),
    _c("system-added", "info", "A new system is declared."),
    _c("element-added", "info", "A new element is declared."),
    _c("integration-added", "info", "A new integration is declared."),
    _c("carry-added", "info", "An integration carries one more element."),
)

DIFF_CODES: dict[str, CodeInfo] = {info.code: info for info in _ALL}
"""Every change code with its severity and description (the SARIF rules and docs use it)."""


def change(
    code: str,
    message: str,
    *,
    owners: Iterable[str | None],
    location: Location | None,
    before: Any = None,
    after: Any = None,
    systems: Iterable[str | None] = (),
    evidence: dict[str, Any] | None = None,
    **subject: str | None,
) -> Finding:
    """One change as a finding: the severity its code has, every owner to ask in evidence.

    The finding's ``owner`` is the first owner named (the most accountable); the others are in
    ``evidence["owners"]``, and the message ends with the others (``also ask ...``).
    """
    asked = _unique(owners)
    text = message
    if len(asked) > 1:
        text += f" (also ask {', '.join(asked[1:])})"
    body: dict[str, Any] = {
        "change": message,
        "owners": asked,
        "before": before,
        "after": after,
        "systems": _unique(systems),
    }
    body.update(evidence or {})
    return Finding(
        code=code,
        severity=DIFF_CODES[code].severity,
        message=text,
        owner=asked[0] if asked else None,
        subject=Subject(**subject),
        location=location,
        evidence=body,
    )


def _unique(items: Iterable[str | None]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item is not None and item.strip() and item not in seen:
            seen.append(item)
    return seen
