"""Findings: what the registry checks and the runtime detectors report (docs/CONTRACT.md §3-4).

Codes are stable and listed once in :data:`CODES` with their severity and a description
(the SARIF rules and the docs are generated from it). Add codes, never rename them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from .registry import Location


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for error, 1 for warning, 2 for info (the order they are declared in): sort keys
        put errors first."""
        return list(Severity).index(self)


class CodeInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    severity: Severity
    description: str
    runtime: bool
    registry: bool = True
    """``lineage check`` reports it (a code may be both: ``unknown-system``)."""


def _c(
    code: str,
    severity: str,
    description: str,
    runtime: bool = False,
    registry: bool | None = None,
) -> CodeInfo:
    return CodeInfo(
        code=code,
        severity=Severity(severity),
        description=description,
        runtime=runtime,
        registry=not runtime if registry is None else registry,
    )


_ALL = (
    # registry findings (lineage check)
    _c("missing-system-of-record", "error", "An element declares no system of record."),
    _c(
        "multiple-systems-of-record",
        "error",
        "Declarations name two different systems of record for one element.",
    ),
    _c("undeclared-element", "error", "An integration carries an element that is not declared."),
    _c(
        "unknown-system",
        "error",
        "A declaration, or a recorded event, names a system the registry in force does not "
        "declare (the event is kept).",
        True,
        True,
    ),
    _c("missing-owner", "error", "A system, element or integration has no owner."),
    _c(
        "unknown-transform",
        "error",
        "A transform that is not in the catalogue, or is called with bad arguments.",
    ),
    _c(
        "backflow-into-system-of-record",
        "error",
        "An element's declared flow runs from a copy back into its system of record.",
    ),
    _c(
        "unreachable-copy",
        "warning",
        "An integration carries an element from a system that no declared flow supplies it to.",
    ),
    _c("missing-purpose", "warning", "An integration states no purpose."),
    _c("missing-fallback", "warning", "A foundation integration has no fallback procedure."),
    _c(
        "pass-through", "info", "An element arrives in the same form it left: ask why it is copied."
    ),
    _c(
        "duplicate-declaration", "error", "A system or integration name is declared more than once."
    ),
    _c("expired-waiver", "warning", "A waiver's expiry date has passed; it silences nothing."),
    _c("unused-waiver", "info", "A waiver matches no finding: remove it or fix its subject."),
    _c(
        "ambiguous-namespace",
        "error",
        "An OpenLineage namespace (or pattern) is claimed by two systems.",
    ),
    _c("ambiguous-job", "error", "An OpenLineage job (or pattern) is claimed by two integrations."),
    _c(
        "ambiguous-dataset-field",
        "error",
        "One OpenLineage dataset field of a system is mapped to two elements.",
    ),
    _c(
        "unmapped-element",
        "warning",
        "An integration run by OpenLineage jobs carries an element with no dataset field in its "
        "source or target system, so the jobs' flows of it cannot be recognised.",
    ),
    _c(
        "unreadable-registry",
        "error",
        "A registry file cannot be read as a registry (not YAML, an unknown key, a wrong type); "
        "nothing else in it was checked.",
    ),
    # runtime findings (lineage scan)
    _c(
        "conflicting-truth",
        "error",
        "A copy's current value differs from what the golden value yields through the declared "
        "transforms.",
        True,
    ),
    _c(
        "competing-origin",
        "error",
        "Values are written for an element in a system that is not its system of origin.",
        True,
    ),
    _c("untraced-value", "error", "A system holds a value that no write or hop explains.", True),
    _c(
        "unexplained-transformation",
        "error",
        "A hop's output is not what its transform makes of its inputs.",
        True,
    ),
    _c("undeclared-integration", "error", "A hop travelled on no declared integration.", True),
    _c(
        "broken-chain",
        "warning",
        "A hop's input is not the value its source system held at that time.",
        True,
    ),
    _c("failed-delivery", "error", "A hop failed.", True),
    _c("lost-delivery", "error", "A hop was sent and never delivered nor failed.", True),
    _c(
        "duplicate-delivery",
        "error",
        "One source record was delivered to several target records by a one-to-one integration.",
        True,
    ),
    _c("rule-violation", "error", "A value breaks its element's validation rules.", True),
    _c(
        "unknown-element",
        "error",
        "A recorded event names an element the registry in force does not declare (the event "
        "is kept).",
        True,
    ),
)

CODES: dict[str, CodeInfo] = {info.code: info for info in _ALL}


class Subject(BaseModel):
    """What a finding is about; unset parts are null in JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    element: str | None = None
    system: str | None = None
    integration: str | None = None
    record: str | None = None
    event: str | None = None


HISTORY_FIELDS = ("state", "first_seen", "last_seen", "resolved_at", "resolved_by", "occurrence")
"""The keys a stored finding adds to the contract's JSON shape (docs/CONTRACT.md §4)."""


class Finding(BaseModel):
    """One detected problem, with the evidence and the person to talk to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    severity: Severity
    message: str
    owner: str | None = None
    subject: Subject = Field(default_factory=Subject)
    location: Location | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    # A stored runtime finding's history (lineage/findings): set when read from the store's
    # state, absent from the JSON of a finding judged live (check, diff, scan --as-of).
    state: Literal["open", "resolved"] | None = None
    first_seen: str | None = None
    """When it was first judged true (ISO 8601, the store's clock)."""
    last_seen: str | None = None
    """When a judgement last found it true."""
    resolved_at: str | None = None
    resolved_by: str | None = None
    """The latest event of the batch whose judgement found it no longer true."""
    occurrence: int | None = None
    """1 the first time, 2 when it came back after being resolved, and so on."""

    @model_serializer(mode="wrap")
    def _without_absent_history(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        if self.state is None:
            for key in HISTORY_FIELDS:
                dumped.pop(key, None)
        return dumped

    @classmethod
    def of(
        cls,
        code: str,
        message: str,
        *,
        owner: str | None = None,
        location: Location | None = None,
        evidence: dict[str, Any] | None = None,
        **subject: str | None,
    ) -> Finding:
        """A finding with the severity its ``code`` has in :data:`CODES`."""
        return cls(
            code=code,
            severity=CODES[code].severity,
            message=message,
            owner=owner,
            subject=Subject(**subject),
            location=location,
            evidence=evidence or {},
        )

    def sort_key(self) -> tuple[int, str, int, str, str]:
        loc = self.location
        return (
            self.severity.rank,
            loc.file if loc else "",
            (loc.line or 0) if loc else 0,
            self.code,
            self.message,
        )


def summarize(findings: list[Finding]) -> dict[str, int]:
    """Counts per severity, as the JSON ``summary`` shows them."""
    counts = {s.value: 0 for s in Severity}
    for finding in findings:
        counts[finding.severity.value] += 1
    return counts
