"""Findings as living state: judged as events arrive, kept with their history.

- :mod:`.fingerprint`: what makes two judgements the same finding.
- :mod:`.state`: :func:`judge` (run the detectors, reconcile, advance the watermark) and the
  ingest paths' :func:`judge_after_ingest`.
- :mod:`.read`: :func:`read_findings` and the indexed lookups the answers use.
"""

from __future__ import annotations

from .fingerprint import fingerprint as fingerprint
from .read import StateReport as StateReport
from .read import open_findings_at as open_findings_at
from .read import open_findings_on as open_findings_on
from .read import read_findings as read_findings
from .state import Judgement as Judgement
from .state import judge as judge
from .state import judge_after_ingest as judge_after_ingest
from .state import judge_in_background as judge_in_background
from .state import judging as judging

__all__ = [
    "Judgement",
    "StateReport",
    "fingerprint",
    "judge",
    "judge_after_ingest",
    "judge_in_background",
    "judging",
    "open_findings_at",
    "open_findings_on",
    "read_findings",
]
