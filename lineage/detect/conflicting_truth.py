"""``conflicting-truth``: a copy's current value is not what the golden value yields.

Set-based first, then per candidate: one streamed window-function query
(:func:`lineage.store.records.conflict_candidates`) picks the copies whose current value
*may* disagree (edited in place, observed different, arrived through a hop that did not
verify or whose source has changed since); each candidate, and whatever its value fed
downstream, is then judged by the same :class:`lineage.golden.Judge` that answers
``lineage golden``. A copy that was stale and has been refreshed since is current and
agrees: it is no candidate and no finding.

Memory is bounded by the number of suspicious copies (the set of places already judged),
never by the size of the store.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from ..golden import Copy, Judge
from ..model.findings import Finding
from ..store.records import EventRow, conflict_candidates, consumers
from .base import ScanContext

CODE = "conflicting-truth"


def conflicting_truth(ctx: ScanContext) -> Iterator[Finding]:
    """Copies that are stale or divergent against their golden value, as of ``ctx.as_of``."""
    systems_of_record = {
        e.name: e.system_of_record for e in ctx.registry.elements if e.system_of_record
    }
    if not systems_of_record:
        return
    judge = Judge(ctx.conn, ctx.registry, ctx.as_of)
    judged: set[tuple[str, str, str]] = set()
    for candidate in conflict_candidates(ctx.conn, systems_of_record, as_of=ctx.as_of):
        queue: deque[EventRow] = deque([candidate])
        while queue:
            place = queue.popleft()
            where = (place.system, place.element, place.record)
            if where in judged:
                continue
            judged.add(where)
            copy = judge.judge_place(place)
            if copy is None or copy.status == "agrees":
                continue
            if copy.status in ("stale", "divergent"):
                yield finding(copy, systems_of_record[place.element])
            # what this copy fed may carry its disagreement further down
            queue.extend(
                consumers(ctx.conn, place.system, place.element, place.record, as_of=ctx.as_of)
            )


def finding(copy: Copy, system_of_record: str) -> Finding:
    """The ``conflicting-truth`` finding for a stale or divergent copy."""
    where = f"{system_of_record} {copy.golden_record}" if copy.golden_record else system_of_record
    via = " then ".join(str(step) for step in copy.path or ())
    message = (
        f"{copy.system} {copy.record} {copy.element} is {_show(copy.value)}, {copy.status}: "
        f"the golden value {_show(copy.golden_value)} in {where} yields {_show(copy.expected)}"
        f" through {via}"
    )
    if copy.status == "stale":
        message += f"; {_show(copy.value)} is what the earlier golden value "
        message += f"{_show(copy.earlier_golden)} yielded"
    return Finding.of(
        CODE,
        message,
        owner=copy.owner,
        evidence={
            "status": copy.status,
            "golden_value": copy.golden_value,
            "golden_record": copy.golden_record,
            "value": copy.value,
            "expected": copy.expected,
            "system_of_record": system_of_record,
            "earlier_golden_value": copy.earlier_golden,
            "path": [str(step) for step in copy.path or ()],
        },
        element=copy.element,
        system=copy.system,
        record=copy.record,
        event=copy.event,
        integration=copy.integration,
    )


def _show(value: str | None) -> str:
    return "null" if value is None else repr(value)
