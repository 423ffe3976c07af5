"""Each owner's findings, short: how many, the few that matter most, and where to look.

The scan answers "what is wrong"; the digest answers "who must act, on what first". Findings
are grouped by owner (``(unowned)`` for those without one); within an owner, errors come
before warnings and warnings before info, and among equals a finding on a foundation
integration before operations, intelligence and experience ones (the business runs on the
foundation). Owners are ordered by their most urgent finding, then by how many errors they
hold. Every finding carries the one command (and the web page) that shows it.

>>> from lineage.model import Registry
>>> digest([], Registry())
[]
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import rules
from .detect.run import UNOWNED, Filters
from .errors import NotFoundError
from .findings import read_findings
from .model.findings import Finding, Severity
from .model.registry import Level, Registry
from .report import finding_json
from .rules import Judged, judged_iso, judged_text
from .store import Store

LEVEL_RANK = {
    Level.FOUNDATION: 0,
    Level.OPERATIONS: 1,
    Level.INTELLIGENCE: 2,
    Level.EXPERIENCE: 3,
}
_NO_LEVEL = len(LEVEL_RANK)


@dataclass(slots=True)
class OwnerDigest:
    """One owner's share of the findings, most urgent first.

    Attributes:
        owner: the owner, or :data:`UNOWNED`.
        findings: every finding of this owner, most urgent first.
        judged: the moment the findings were judged as of (:func:`owner_digest` says it).
    """

    owner: str
    findings: list[Finding] = field(default_factory=list)
    judged: Judged | None = None

    @property
    def count(self) -> int:
        return len(self.findings)

    def counts(self) -> dict[str, int]:
        """Findings per severity."""
        totals = {s.value: 0 for s in Severity}
        for finding in self.findings:
            totals[finding.severity.value] += 1
        return totals


def level_rank(finding: Finding, registry: Registry) -> int:
    """0 for a foundation integration's finding, up to 3 for experience; 4 without a level.

    A finding without an integration takes the most critical level among the integrations
    that carry its element (a bad value in a system feeds them all).
    """
    subject = finding.subject
    if subject.integration is not None:
        declared = registry.integration(subject.integration)
        if declared is not None and declared.level is not None:
            return LEVEL_RANK[declared.level]
        return _NO_LEVEL
    if subject.element is None:
        return _NO_LEVEL
    ranks = [
        LEVEL_RANK[i.level]
        for i in registry.integrations
        if i.level is not None and i.carry(subject.element) is not None
    ]
    return min(ranks, default=_NO_LEVEL)


def urgency(finding: Finding, registry: Registry) -> tuple[int, int, str, str, str, str]:
    """The sort key of a finding inside one owner's digest (smaller is more urgent)."""
    subject = finding.subject
    return (
        finding.severity.rank,
        level_rank(finding, registry),
        finding.code,
        subject.system or "",
        subject.element or "",
        subject.record or "",
    )


def show_command(finding: Finding) -> str:
    """The one command that shows a finding (:func:`lineage.rules.see_it_with`)."""
    return rules.see_it_with(finding)


def show_page(finding: Finding) -> str | None:
    """The web page that shows a finding (:func:`lineage.rules.see_it_on`)."""
    return rules.see_it_on(finding)


def digest(
    findings: Sequence[Finding], registry: Registry, *, owner: str | None = None
) -> list[OwnerDigest]:
    """Group ``findings`` by owner, most urgent owner first (see the module docstring).

    Args:
        findings: what a scan reported (after waivers).
        registry: the declarations, for integration levels.
        owner: keep only this owner's entry (:data:`UNOWNED` for findings without one).
    """
    groups: dict[str, OwnerDigest] = {}
    for finding in findings:
        who = finding.owner or UNOWNED
        if owner is not None and who != owner:
            continue
        groups.setdefault(who, OwnerDigest(who)).findings.append(finding)
    for group in groups.values():
        group.findings.sort(key=lambda f: urgency(f, registry))

    def owner_key(group: OwnerDigest) -> tuple[tuple[int, int, str, str, str, str], int, int, str]:
        counts = group.counts()
        return (urgency(group.findings[0], registry), -counts["error"], -group.count, group.owner)

    return sorted(groups.values(), key=owner_key)


def owner_digest(store: Store, owner: str) -> OwnerDigest:
    """One owner's open stored findings (after waivers), most urgent first: what ``lineage
    digest --owner`` prints, and the web UI's ``/digest/<owner>`` page.

    An owner the registry declares (or :data:`UNOWNED`) with nothing open gets an empty digest.

    Raises:
        NotFoundError: neither the registry in force nor any stored finding, open or
            resolved, names ``owner``.
    """
    chosen = Filters(owners=(owner,))
    stored = read_findings(store, filters=chosen)
    found = stored.findings
    registry = store.registry()
    declared = rules.declared_owners(registry)
    if (
        not found
        and owner != UNOWNED
        and owner not in declared
        and not read_findings(store, state="resolved", filters=chosen, limit=1).total
    ):
        raise NotFoundError(rules.unknown_owner_message(owner, declared))
    shares = digest(found, registry, owner=owner)
    share = shares[0] if shares else OwnerDigest(owner)
    share.judged = stored.judged
    return share


def digest_json(digests: Sequence[OwnerDigest], judged: Judged | None = None) -> dict[str, Any]:
    """The contract's JSON: ``{"owners": [{"owner", "count", "findings": [...]}], "as_of"}``.

    Each finding is the scan's JSON shape plus ``show`` (the command) and ``page`` (the web
    page, or null); ``as_of`` is the moment the findings were judged as of (with ``judged``).
    """
    moment = {"as_of": judged_iso(judged)} if judged is not None else {}
    return {
        "owners": [
            {
                "owner": group.owner,
                "count": group.count,
                "summary": group.counts(),
                "findings": [
                    {**finding_json(f), "show": show_command(f), "page": show_page(f)}
                    for f in group.findings
                ],
            }
            for group in digests
        ],
        **moment,
    }


def digest_text(
    digests: Sequence[OwnerDigest], *, top: int = 3, judged: Judged | None = None
) -> str:
    """One short message per owner: the count, the ``top`` most urgent, how to see the rest;
    with ``judged``, a last line saying the moment the findings were judged as of."""
    said = f"\n{judged_text(judged)}" if judged is not None else ""
    if not digests:
        return "lineage digest: nothing to act on" + said
    blocks = []
    for group in digests:
        counts = group.counts()
        parts = [
            f"{counts[s.value]} {s.value}"
            + ("s" if counts[s.value] != 1 and s.value != "info" else "")
            for s in Severity
            if counts[s.value]
        ]
        lines = [
            f"{group.owner}: {group.count} finding{'s' if group.count != 1 else ''} "
            f"({', '.join(parts)})"
        ]
        for finding in group.findings[:top]:
            message = _one_line(finding.message)
            lines.append(f"  {finding.severity.value:<7} {finding.code}: {message}")
            lines.append(f"          see: {show_command(finding)}")
        rest = group.count - top
        if rest > 0:
            lines.append(f"  ... and {rest} more: lineage scan --owner {shlex.quote(group.owner)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" + said if said else "")


def _one_line(text: str) -> str:
    return " ".join(text.split())
