"""Findings as text, JSON, JUnit XML, SARIF 2.1.0, GitHub workflow commands (docs/CONTRACT.md §3-4)
and Markdown for pull-request comments.

Used by ``lineage check`` (registry findings, located by file and line) and ``lineage scan``
(runtime findings, placed by system, element and record). Every renderer takes the findings
and returns one document as text.

>>> print(render([], "text"))
lineage check: no findings
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any
from urllib.parse import quote

from .model.findings import CODES, CodeInfo, Finding, Severity, summarize
from .rules import Judged, judged_iso, judged_text

__all__ = ["FORMATS", "failing", "render"]

FORMATS = ("text", "json", "junit", "sarif", "github", "markdown")
"""The ``--format`` choices of ``lineage check``, ``lineage scan`` and ``lineage diff``."""

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render(
    findings: Sequence[Finding],
    fmt: str,
    *,
    tool: str = "lineage check",
    waived: int = 0,
    judged: Judged | None = None,
) -> str:
    """The findings as one document in format ``fmt``.

    Args:
        findings: what to report, in the order given (callers sort them).
        fmt: one of :data:`FORMATS`.
        tool: the command that found them, named in summaries and reports.
        waived: how many findings waivers silenced (the text summary mentions them).
        judged: the moment a runtime judgement judged as of: the text ends with the line
            saying it (:func:`lineage.rules.judged_text`), the JSON has it as ``as_of``, the
            JUnit suite as its properties ``as_of`` and ``judged``, the SARIF run as
            ``properties`` ``as_of`` and ``judged`` (and its invocation's end time), the
            GitHub workflow commands as a last ``::notice title=TOOL::judged as of ...``, the
            Markdown as a last paragraph holding the line.

    Returns:
        The document, without a trailing newline (empty for ``github`` with no findings and
        no moment judged).

    Raises:
        ValueError: an unknown format.
    """
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise ValueError(f"unknown report format {fmt!r}: use one of {', '.join(FORMATS)}")
    if judged is not None and fmt == "json":
        return _json(findings, tool, waived, judged)
    if judged is not None and fmt == "junit":
        return _junit(findings, tool, waived, judged)
    if judged is not None and fmt == "sarif":
        return _sarif(findings, tool, waived, judged)
    output = renderer(findings, tool, waived)
    if judged is not None and fmt == "text":
        return f"{output}\n{judged_text(judged)}"
    if judged is not None and fmt == "github":
        return "\n".join(line for line in (output, _github_judged(tool, judged)) if line)
    if judged is not None and fmt == "markdown":
        return f"{output}\n\n{judged_text(judged)}"
    return output


def failing(findings: Sequence[Finding], fail_on: str) -> list[Finding]:
    """The findings at or above severity ``fail_on`` (``error``, ``warning`` or ``info``)."""
    threshold = Severity(fail_on).rank
    return [f for f in findings if f.severity.rank <= threshold]


def place(finding: Finding) -> str:
    """Where a finding is: ``file:line`` for declarations, else ``system/element/record``."""
    if finding.location is not None:
        return str(finding.location)
    subject = finding.subject
    parts = [p for p in (subject.system, subject.element, subject.record) if p]
    if parts:
        return "/".join(parts)
    if subject.integration:
        return f"integration {subject.integration}"
    if subject.event:
        return f"event {subject.event}"
    return "-"


# --- text ------------------------------------------------------------------------------------


def _text(findings: Sequence[Finding], tool: str, waived: int) -> str:
    lines = []
    for finding in findings:
        owner = f" (owner: {finding.owner})" if finding.owner else ""
        lines.append(
            _one_line(
                f"{place(finding)}: {finding.severity.value} {finding.code} "
                f"{finding.message}{owner}{_resolved(finding)}"
            )
        )
    lines.append(f"{tool}: {_summary_text(findings, waived)}")
    return "\n".join(lines)


def _resolved(finding: Finding) -> str:
    """A stored finding no longer true says since when and why (``scan --state``)."""
    if finding.state != "resolved":
        return ""
    by = f" by {finding.resolved_by}" if finding.resolved_by else ""
    return f" [resolved at {finding.resolved_at}{by}]"


def _summary_text(findings: Sequence[Finding], waived: int) -> str:
    counts = summarize(list(findings))
    after = f" ({waived} waived)" if waived else ""
    if not findings:
        return f"no findings{after}"

    def plural(n: int, word: str) -> str:
        return f"{n} {word}" + ("s" if n != 1 and word != "info" else "")

    parts = [plural(counts[s.value], s.value) for s in Severity]
    return ", ".join(parts) + after


def _one_line(text: str) -> str:
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


# --- json ------------------------------------------------------------------------------------


def finding_json(finding: Finding) -> dict[str, Any]:
    """The JSON shape of one finding (docs/CONTRACT.md §3-4): subject with all five keys."""
    return finding.model_dump(mode="json")


def _json(findings: Sequence[Finding], tool: str, waived: int, judged: Judged | None = None) -> str:
    document: dict[str, Any] = {
        "findings": [finding_json(f) for f in findings],
        "summary": summarize(list(findings)),
    }
    if judged is not None:
        document["as_of"] = judged_iso(judged)
    return json.dumps(document, indent=2, ensure_ascii=False)


# --- junit -----------------------------------------------------------------------------------


def _xml_char(ch: str) -> str:
    code = ord(ch)
    if ch in "\t\n\r" or (0x20 <= code < 0xD800) or (0xE000 <= code <= 0xFFFD) or code > 0xFFFF:
        return ch
    return "\ufffd"


def _xml_text(text: str) -> str:
    # XML 1.0 cannot hold most control characters, even escaped; show them as U+FFFD.
    return "".join(_xml_char(ch) for ch in text)


def _junit(
    findings: Sequence[Finding], tool: str, waived: int, judged: Judged | None = None
) -> str:
    # The shape of Jenkins' junit-10.xsd (the schema the xunit plugin and most CI readers
    # accept): ``skipped`` on the suite only, a ``time`` everywhere, and a testcase has no
    # ``file``/``line`` attributes: its name and body say where the finding is.
    counts = summarize(list(findings))
    totals = {
        "name": tool,
        "tests": str(max(len(findings), 1)),
        "failures": str(counts["error"] + counts["warning"]),
        "errors": "0",
        "time": "0",
    }
    root = ET.Element("testsuites", totals)
    suite = ET.SubElement(root, "testsuite", {**totals, "skipped": str(counts["info"])})
    if judged is not None:  # the moment judged as of, as JUnit readers show a suite's setup
        properties = ET.SubElement(suite, "properties")
        for name, value in (("as_of", judged_iso(judged)), ("judged", judged_text(judged))):
            ET.SubElement(properties, "property", {"name": name, "value": value})
    if not findings:
        ET.SubElement(
            suite,
            "testcase",
            {"name": "no findings", "classname": _classname(tool), "time": "0"},
        )
    for finding in findings:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "name": _xml_text(f"{place(finding)}: {finding.code}"),
                "classname": f"{_classname(tool)}.{finding.code}",
                "time": "0",
            },
        )
        message = _xml_text(finding.message)
        body = _xml_text(_details(finding))
        if finding.severity == Severity.INFO:
            ET.SubElement(case, "skipped", {"message": message}).text = body
        else:
            failure = ET.SubElement(
                case, "failure", {"message": message, "type": finding.severity.value}
            )
            failure.text = body
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def _classname(tool: str) -> str:
    return tool.replace(" ", ".")


def _details(finding: Finding) -> str:
    lines = [f"{finding.severity.value} {finding.code}: {finding.message}"]
    lines.append(f"where: {place(finding)}")
    if finding.owner:
        lines.append(f"owner: {finding.owner}")
    if finding.evidence:
        lines.append("evidence: " + json.dumps(finding.evidence, ensure_ascii=False, default=str))
    return "\n".join(lines)


# --- sarif -----------------------------------------------------------------------------------


def _version() -> str:
    try:
        return metadata.version("lineage")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def _rule_name(code: str) -> str:
    return "".join(part.capitalize() for part in code.split("-"))


def _codes(findings: Sequence[Finding]) -> dict[str, CodeInfo]:
    """The finding codes, and lineage diff's change codes when a change is reported."""
    if all(f.code in CODES for f in findings):
        return CODES
    from .diff.codes import DIFF_CODES  # noqa: PLC0415  (lineage diff's change codes)

    return {**CODES, **DIFF_CODES}


def _sarif(
    findings: Sequence[Finding], tool: str, waived: int, judged: Judged | None = None
) -> str:
    codes = _codes(findings)
    index = {code: i for i, code in enumerate(codes)}
    rules = [
        {
            "id": code,
            "name": _rule_name(code),
            "shortDescription": {"text": info.description},
            "fullDescription": {"text": info.description},
            "defaultConfiguration": {"level": _SARIF_LEVEL[info.severity]},
            "properties": {"tags": [_tag(code, info)]},
        }
        for code, info in codes.items()
    ]
    results = [_sarif_result(f, index) for f in findings]
    invocation: dict[str, Any] = {"commandLine": tool, "executionSuccessful": True}
    moment: dict[str, Any] = {}
    if judged is not None:  # the moment judged as of: the run's own property bag says it
        moment = {"properties": {"as_of": judged_iso(judged), "judged": judged_text(judged)}}
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "lineage",
                        "version": _version(),
                        "semanticVersion": _version(),
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": f"{tool}/"},
                "invocations": [invocation],
                "results": results,
                **moment,
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _tag(code: str, info: CodeInfo) -> str:
    if code not in CODES:
        return "change"
    return "runtime" if info.runtime else "registry"


def _sarif_result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    text = finding.message + (f" (owner: {finding.owner})" if finding.owner else "")
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": _SARIF_LEVEL[finding.severity],
        "message": {"text": text},
    }
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    location = finding.location
    if location is not None:
        physical: dict[str, Any] = {
            "artifactLocation": {"uri": quote(location.file.replace("\\", "/"), safe="/")}
        }
        if location.line is not None and location.line >= 1:
            physical["region"] = {"startLine": location.line}
        result["locations"] = [{"physicalLocation": physical}]
    else:
        result["locations"] = [{"logicalLocations": [_logical(finding)]}]
    subject = finding.subject.model_dump()
    identity = json.dumps([finding.code, subject], sort_keys=True)
    result["partialFingerprints"] = {
        "lineageFinding/v1": hashlib.sha256(identity.encode()).hexdigest()[:32]
    }
    result["properties"] = {
        "owner": finding.owner,
        "subject": subject,
        "evidence": json.loads(json.dumps(finding.evidence, default=str)),
    }
    return result


def _logical(finding: Finding) -> dict[str, str]:
    subject = finding.subject
    name = subject.record or subject.element or subject.integration or subject.system or "-"
    return {"name": name, "fullyQualifiedName": place(finding), "kind": "resource"}


# --- github ----------------------------------------------------------------------------------


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _github(findings: Sequence[Finding], tool: str, waived: int) -> str:
    lines = []
    for finding in findings:
        properties = []
        message = finding.message
        if finding.location is not None:
            properties.append(f"file={_escape_property(finding.location.file)}")
            if finding.location.line is not None:
                properties.append(f"line={finding.location.line}")
        else:
            message = f"{place(finding)}: {message}"
        properties.append(f"title={_escape_property(finding.code)}")
        if finding.owner:
            message += f" (owner: {finding.owner})"
        level = _GITHUB_LEVEL[finding.severity]
        lines.append(f"::{level} {','.join(properties)}::{_escape_data(message)}")
    return "\n".join(lines)


def _github_judged(tool: str, judged: Judged) -> str:
    """The moment judged as of, as a notice (annotations carry no properties of a run)."""
    return f"::notice title={_escape_property(tool)}::{_escape_data(judged_text(judged))}"


# --- markdown --------------------------------------------------------------------------------


def _markdown(findings: Sequence[Finding], tool: str, waived: int) -> str:
    from .diff.markdown import render_markdown  # noqa: PLC0415  (pull-request comments)

    return render_markdown(findings, tool=tool, waived=waived)


_RENDERERS: dict[str, Callable[[Sequence[Finding], str, int], str]] = {
    "text": _text,
    "json": _json,
    "junit": _junit,
    "sarif": _sarif,
    "github": _github,
    "markdown": _markdown,
}
