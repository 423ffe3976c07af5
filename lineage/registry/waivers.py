"""Waivers: findings accepted on purpose, by a person, for a while.

:func:`apply_waivers` works on any findings (``lineage check`` and ``lineage scan`` both use
it). A waiver silences the findings of its code whose subject agrees with every key the
waiver names; it need not name them all (``{integration: erp-to-bi}`` covers every element
that integration carries). A waiver past its expiry silences nothing and is reported as
``expired-waiver``; one that silences nothing as ``unused-waiver``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Sequence

from ..model.findings import Finding
from ..model.registry import Waiver

__all__ = ["apply_waivers", "judge_waivers"]


def apply_waivers(
    findings: Iterable[Finding],
    waivers: Sequence[Waiver],
    today: dt.date | None = None,
    *,
    codes: Collection[str] | None = None,
) -> tuple[list[Finding], list[Finding]]:
    """Split findings into those still reported and those a live waiver silences.

    Args:
        findings: what the checks or detectors found.
        waivers: the registry's waivers.
        today: the date expiry is judged on (default: today).
        codes: judge only waivers for these codes (``lineage check`` passes the registry
            codes, ``lineage scan`` the runtime ones), so that a waiver meant for the other
            command is neither applied nor reported as unused; ``None`` judges all.

    Returns:
        ``(kept, waived)``: ``kept`` holds the unwaived findings plus one ``expired-waiver``
        or ``unused-waiver`` finding per waiver that deserves it; ``waived`` the silenced ones.

    >>> kept, waived = apply_waivers(findings, registry.waivers)  # doctest: +SKIP
    """
    day = today or dt.date.today()
    judged = [w for w in waivers if codes is None or w.code in codes]
    live: dict[str, list[Waiver]] = {}
    for waiver in judged:
        if not waiver.expired(day):
            live.setdefault(waiver.code, []).append(waiver)
    used: set[int] = set()
    kept: list[Finding] = []
    waived: list[Finding] = []
    for finding in findings:
        candidates = live.get(finding.code)
        if not candidates:
            kept.append(finding)
            continue
        subject = finding.subject.model_dump()
        matching = [w for w in candidates if w.matches(finding.code, subject)]
        if matching:
            used.update(id(w) for w in matching)
            waived.append(finding)
        else:
            kept.append(finding)
    for waiver in judged:
        if waiver.expired(day):
            kept.append(_expired(waiver))
        elif id(waiver) not in used:
            kept.append(_unused(waiver))
    return kept, waived


def judge_waivers(
    waivers: Iterable[Waiver], used: Callable[[Waiver], bool], today: dt.date
) -> list[Finding]:
    """The ``expired-waiver`` and ``unused-waiver`` findings of ``waivers`` when whether each
    silences something is known otherwise (``used``: stored findings read page by page)."""
    found: list[Finding] = []
    for waiver in waivers:
        if waiver.expired(today):
            found.append(_expired(waiver))
        elif not used(waiver):
            found.append(_unused(waiver))
    return found


def _subject_text(waiver: Waiver) -> str:
    return ", ".join(f"{key} {value!r}" for key, value in waiver.subject.items()) or "anything"


def _subject(waiver: Waiver) -> dict[str, str | None]:
    keys = ("element", "system", "integration", "record", "event")
    return {key: waiver.subject.get(key) for key in keys}


def _evidence(waiver: Waiver) -> dict[str, object]:
    return {
        "code": waiver.code,
        "subject": dict(waiver.subject),
        "reason": waiver.reason,
        "expires": waiver.expires.isoformat() if waiver.expires else None,
    }


def _expired(waiver: Waiver) -> Finding:
    return Finding.of(
        "expired-waiver",
        f"the waiver of {waiver.code} for {_subject_text(waiver)} expired on {waiver.expires}"
        " and silences nothing now: fix the findings, or renew the waiver with a new date "
        "and reason",
        owner=waiver.owner,
        location=waiver.location,
        evidence=_evidence(waiver),
        **_subject(waiver),
    )


def _unused(waiver: Waiver) -> Finding:
    return Finding.of(
        "unused-waiver",
        f"the waiver of {waiver.code} for {_subject_text(waiver)} matches no finding: remove "
        "it, or fix its code or subject",
        owner=waiver.owner,
        location=waiver.location,
        evidence=_evidence(waiver),
        **_subject(waiver),
    )
