"""A stored finding row as the contract's :class:`~lineage.model.findings.Finding`."""

from __future__ import annotations

import json
from typing import Any

from ..model.findings import Finding, Severity, Subject
from ..store.findings import FindingRow
from ..store.schema import iso


def evidence_text(evidence: dict[str, Any]) -> str:
    """Evidence as stored: canonical JSON, so that equal evidence compares equal as text."""
    return json.dumps(evidence, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def to_finding(row: FindingRow) -> Finding:
    """The finding ``row`` stores, with its history (``state``, ``first_seen`` ...)."""
    return Finding(
        code=row.code,
        severity=Severity(row.severity),
        message=row.message,
        owner=row.owner,
        subject=Subject(
            element=row.element,
            system=row.system,
            integration=row.integration,
            record=row.record,
            event=row.event,
        ),
        location=None,
        evidence=json.loads(row.evidence),
        state="open" if row.resolved_at is None else "resolved",
        first_seen=iso(row.first_seen_at),
        last_seen=iso(row.last_seen_at),
        resolved_at=None if row.resolved_at is None else iso(row.resolved_at),
        resolved_by=row.resolved_by,
        occurrence=row.occurrence,
    )
