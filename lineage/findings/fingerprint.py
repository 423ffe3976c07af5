"""A finding's fingerprint: what makes two judgements "the same finding".

The fingerprint is the SHA-256 (hex, first 32 digits) of the JSON array ``[code, system,
element, record, integration, event]`` of a finding's code and subject, nulls as JSON null.
The message and the evidence are not part of it: they may change while the finding stays
open (a count grows, a sample moves), and the stored finding is then updated, not replaced.

>>> from lineage.model.findings import Finding
>>> fingerprint(Finding.of("lost-delivery", "...", system="Bank", event="h-1"))
'b0b4e7bb61d2ba3e5a9e96e4a0a8a6e6'  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json

from ..model.findings import Finding

__all__ = ["fingerprint"]


def fingerprint(finding: Finding) -> str:
    """The stable hash of ``finding``'s code and subject (see the module docstring)."""
    subject = finding.subject
    key = [
        finding.code,
        subject.system,
        subject.element,
        subject.record,
        subject.integration,
        subject.event,
    ]
    text = json.dumps(key, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]
