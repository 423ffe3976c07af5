"""The findings page's groups: by owner (the person who must act), then by code.

Owners come most urgent first and each owner's findings most urgent first, as ``lineage
digest`` orders them (:func:`lineage.digest.digest`); codes within an owner keep the order of
their most urgent finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from lineage.digest import digest
from lineage.model.findings import Finding, Severity
from lineage.model.registry import Registry


class HasFinding(Protocol):
    """A table row standing for one finding."""

    @property
    def finding(self) -> Finding: ...


R = TypeVar("R", bound=HasFinding)


@dataclass(slots=True)
class CodeGroup(Generic[R]):
    """One owner's rows of one finding code."""

    code: str
    rows: list[R] = field(default_factory=list)


@dataclass(slots=True)
class OwnerGroup(Generic[R]):
    """One owner's rows, by code; ``owner`` is :data:`lineage.detect.run.UNOWNED` when none."""

    owner: str
    codes: list[CodeGroup[R]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(group.rows) for group in self.codes)

    def severities(self) -> dict[str, int]:
        """Rows per severity, the most severe first, leaving out those with none."""
        totals: dict[str, int] = {}
        for rows in self.codes:
            for row in rows.rows:
                key = row.finding.severity.value
                totals[key] = totals.get(key, 0) + 1
        return {s.value: totals[s.value] for s in Severity if s.value in totals}


def by_owner(rows: Sequence[R], registry: Registry) -> list[OwnerGroup[R]]:
    """``rows`` grouped by their finding's owner, then by code, most urgent first."""
    row_of = {id(row.finding): row for row in rows}
    groups: list[OwnerGroup[R]] = []
    for share in digest([row.finding for row in rows], registry):
        group: OwnerGroup[R] = OwnerGroup(share.owner)
        codes: dict[str, CodeGroup[R]] = {}
        for finding in share.findings:
            if finding.code not in codes:
                codes[finding.code] = CodeGroup(finding.code)
                group.codes.append(codes[finding.code])
            codes[finding.code].rows.append(row_of[id(finding)])
        groups.append(group)
    return groups
