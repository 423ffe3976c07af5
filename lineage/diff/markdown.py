"""Findings and changes as Markdown for a pull-request comment.

A short summary table (one row per code, worst first), then each change or finding with its
place, its owners and, for changes, its blast radius. Every user string is escaped so that
a name cannot break the table or inject HTML. The first line is an HTML comment a CI job
can look for to update its earlier comment instead of adding one.

>>> print(render_markdown([], tool="lineage diff"))  # doctest: +NORMALIZE_WHITESPACE
<!-- lineage-report: lineage diff -->
### lineage diff: no changes
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from ..model.findings import Finding, Severity, summarize
from ..report import place

__all__ = ["MARKER", "render_markdown"]

MARKER = "<!-- lineage-report: {tool} -->"
"""The first line of the comment (``{tool}`` is the command)."""

_ICON = {
    Severity.ERROR: "\N{CROSS MARK}",
    Severity.WARNING: "\N{WARNING SIGN}\ufe0f",
    Severity.INFO: "\N{INFORMATION SOURCE}\ufe0f",
}


def _text(value: Any) -> str:
    """User text safe inside Markdown: no HTML, no table breaks, no newlines."""
    shown = html.escape(str(value), quote=False)
    for ch in "|`*_[]":
        shown = shown.replace(ch, "\\" + ch)
    return " ".join(shown.split())


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("s" if count != 1 and word != "info" else "")


def _code(value: str) -> str:
    return "`" + value.replace("`", "'") + "`"


def render_markdown(
    findings: Sequence[Finding], *, tool: str = "lineage diff", waived: int = 0
) -> str:
    """The findings (registry findings, runtime findings or changes) as one Markdown comment.

    Args:
        findings: in the order to show them (callers sort them, worst first).
        tool: the command, named in the heading.
        waived: how many findings waivers silenced (mentioned under the heading).
    """
    noun = "changes" if tool == "lineage diff" else "findings"
    lines = [MARKER.format(tool=tool)]
    if not findings:
        lines.append(f"### {tool}: no {noun}")
        return "\n".join(lines)
    counts = summarize(list(findings))
    total = ", ".join(_plural(counts[s.value], s.value) for s in Severity if counts[s.value])
    lines.append(f"### {tool}: {total}")
    if waived:
        lines.append(f"\n{waived} findings silenced by waivers.")
    lines += ["", "| | code | count | first at |", "|---|---|---:|---|"]
    seen: dict[str, list[Finding]] = {}
    for finding in findings:
        seen.setdefault(finding.code, []).append(finding)
    for code, group in sorted(seen.items(), key=lambda kv: (kv[1][0].severity.rank, kv[0])):
        first = group[0]
        where = _text(place(first))
        lines.append(f"| {_ICON[first.severity]} | {_code(code)} | {len(group)} | {where} |")
    unknown: set[str] = set()
    for finding in findings:
        lines += ["", _one(finding)]
        blast = finding.evidence.get("blast")
        if isinstance(blast, dict) and not blast.get("known", True):
            unknown.update(blast.get("unknown", []))
    if unknown:
        lines += [
            "",
            "_Blast radius not measured: no store was given (`--db`), so "
            + _text("; ".join(sorted(unknown)))
            + " cannot be known._",
        ]
    return "\n".join(lines)


def _one(finding: Finding) -> str:
    evidence = finding.evidence
    sentence = evidence.get("change") if isinstance(evidence.get("change"), str) else None
    owners = evidence.get("owners")
    if not isinstance(owners, list) or not owners:
        owners = [finding.owner] if finding.owner else []
    where = f" at {_code(place(finding))}"
    head = f"**{_ICON[finding.severity]} {finding.severity.value} {_code(finding.code)}**{where}"
    lines = [f"{head}: {_text(sentence or finding.message)}"]
    details = []
    if owners:
        details.append("- Owners to ask: " + ", ".join(_text(o) for o in owners))
    blast = evidence.get("blast")
    if isinstance(blast, dict) and blast.get("known") and blast.get("summary"):
        details.append("- Blast radius: " + _text(blast["summary"]))
    if details:
        lines += ["", *details]
    return "\n".join(lines)
