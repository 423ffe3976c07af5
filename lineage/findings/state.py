"""Judging the store: run the detectors, reconcile the stored findings, advance the watermark.

A judgement reads the store in one snapshot, runs the detectors over what changed since the
last judgement (:func:`lineage.detect.scope.changes_since`; the whole store on the first
judgement, after a registry change, or with ``full``) and
brings the stored state up to date in **one transaction**:

- a finding found and not open is **opened** (occurrence 1, or the previous one plus one:
  a finding that comes back after being resolved is a new occurrence);
- an open finding found again is **seen** (``last_seen``); its message, evidence, severity
  or owner are replaced when they changed (**changed**);
- an open finding the judgement covers and did not find is **resolved**, at the store's
  clock, by the latest event of the batch;
- the watermark (``detection_state``) records what was read, and with
  ``LINEAGE_WEBHOOK_URL`` set each opened or resolved finding is queued in the outbox.

Judgements are serialized (PostgreSQL: an advisory lock; SQLite: its write lock), and the
unique index ``ux_findings_open`` makes a doubled open finding impossible.

Every ingest path judges right after its commit through :func:`judge_after_ingest`, which
never raises: the events are already committed, and the next judgement catches up from the
watermark. In one process, judgements after ingest **coalesce**: while one runs, another
caller does not queue a second one behind the lock (holding a pooled connection while it
waits: a burst of concurrent POSTs during a long judgement used to exhaust the server's
pool, and the next POST got a 503); it asks the running one to judge once more when it ends,
which covers its events, and either returns at once (``wait=False``: the server, after the
answer is sent) or waits for that to end without holding a connection (a reader catching
up, the CLI, the Recorder).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from ..detect.run import Detected, finding_order, run_detectors
from ..detect.scope import Scope, Watermark, changes_since, covers, touching, watermark_now
from ..model.findings import Finding
from ..report import finding_json
from ..store import Connection, Store
from ..store.database import begin_read, file_lock
from ..store.detection.scope import stored_watermark
from ..store.findings import (
    JUDGE_LOCK,
    FindingRow,
    add_to_outbox,
    hold_while_judging,
    insert_findings,
    last_occurrences,
    mark_seen,
    newest_event,
    open_rows,
    open_rows_by_fingerprint,
    open_rows_touching,
    refresh_statistics,
    replace_content,
    resolve,
    save_watermark,
)
from ..store.schema import iso
from .fingerprint import fingerprint
from .process import ProcessGoneError, forget, judging_process
from .stored import evidence_text, to_finding

__all__ = [
    "WEBHOOK_VARIABLE",
    "Judgement",
    "judge",
    "judge_after_ingest",
    "judge_in_background",
    "judging",
    "up_to_date",
]

WEBHOOK_VARIABLE = "LINEAGE_WEBHOOK_URL"
"""When set, each opened or resolved finding is queued in ``findings_outbox``."""

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Judgement:
    """What one judgement did to the stored findings.

    Attributes:
        added: findings opened.
        changed: open findings whose message, evidence, severity or owner were replaced.
        resolved: open findings no longer true.
        seen: open findings found again unchanged.
        as_of: the moment judged (the store's clock), microseconds since the epoch.
        full: True when every detector ran over the whole store.
        skipped: True when nothing had changed since the last judgement.
    """

    added: int = 0
    changed: int = 0
    resolved: int = 0
    seen: int = 0
    as_of: int = 0
    full: bool = True
    skipped: bool = False

    def as_dict(self) -> dict[str, int]:
        """``{"added", "changed", "resolved"}``, as ``lineage scan --full`` reports them."""
        return {"added": self.added, "changed": self.changed, "resolved": self.resolved}


def _wall_us() -> int:
    return time.time_ns() // 1000


def up_to_date(store: Store) -> bool:
    """Whether the stored findings were judged on everything the store holds now."""
    with store.engine.connect() as conn:
        return stored_watermark(conn) == watermark_now(conn)


def judge(store: Store, *, full: bool = False, webhook: bool | None = None) -> Judgement:
    """Judge what changed since the last judgement (or everything) and store the verdict.

    A scoped judgement of a big batch is made in steps
    (:func:`lineage.detect.scope.step_toward`), each stored with its watermark before the next
    one is read: what it holds in memory is bounded by a step, and a judgement interrupted
    part of the way keeps the steps it made. It ends where the store was when it began.

    Args:
        store: the store to judge.
        full: re-run every detector over the whole store, even when nothing changed.
        webhook: queue opened and resolved findings for the webhook; default: whether
            ``$LINEAGE_WEBHOOK_URL`` is set.

    Returns:
        What changed in the stored findings.

    Raises:
        StoreError: another writer held the lock past the store's busy timeout.
    """
    notify = bool(os.environ.get(WEBHOOK_VARIABLE)) if webhook is None else webhook
    total: Judgement | None = None
    target: Watermark | None = None  # after a first step: where the first one aimed
    while True:
        judgement, target = _judge_a_step(store, full, notify, target)
        total = judgement if total is None else _add(total, judgement)
        if target is None:
            return total


def _add(done: Judgement, step: Judgement) -> Judgement:
    """Two steps of one judgement, told as one."""
    return Judgement(
        added=done.added + step.added,
        changed=done.changed + step.changed,
        resolved=done.resolved + step.resolved,
        seen=done.seen + step.seen,
        as_of=max(done.as_of, step.as_of),
        full=False,
    )


def _judge_a_step(
    store: Store, full: bool, notify: bool, target: Watermark | None
) -> tuple[Judgement, Watermark | None]:
    """:func:`judge` up to ``target`` (None: the watermark of the store now), or a step toward
    it; and, when that step fell short of it, the target to judge again toward. The target
    stays the first step's: under a stream that never stops, a judgement of a big batch
    ends, and the events that came meanwhile are the next judgement's."""
    lock_path = store.judgement_lock_path()
    if lock_path is None:
        return _judge_holding_the_write_lock(store, full, notify, target)
    with file_lock(lock_path, store.busy_timeout):
        # SQLite: what changed is read beside the writers, and a scoped judgement's detectors
        # read one state of their own (lineage.detect.run.scan_context); only storing the
        # verdict takes the write lock, so ingest goes on while a batch is judged
        with store.engine.connect() as conn, conn.begin():
            begin_read(conn)
            looked = _look(store, conn, full, target)
        if isinstance(looked, Judgement):
            return looked, None
        if looked.scope is None:
            # a full judgement's two lanes read one state only while nothing commits
            return _judge_holding_the_write_lock(store, full, notify, target)
        detected, touched = _detect(store, looked.scope)
        with store.writing(JUDGE_LOCK) as conn:
            return _settle(conn, detected, looked, notify=notify, touched=touched), looked.further


def _judge_holding_the_write_lock(
    store: Store, full: bool, notify: bool, target: Watermark | None
) -> tuple[Judgement, Watermark | None]:
    """:func:`_judge_a_step` with the store's write lock held throughout: on SQLite nothing
    else commits meanwhile; on PostgreSQL (an advisory lock of judgements only) ingests may,
    and the detectors' snapshot may see more than ``mark`` (judged again next time:
    harmless)."""
    with store.writing(JUDGE_LOCK) as conn:
        hold_while_judging(conn)
        looked = _look(store, conn, full, target)
        if isinstance(looked, Judgement):
            return looked, None
        detected, touched = _detect(store, looked.scope)
        return _settle(conn, detected, looked, notify=notify, touched=touched), looked.further


def _detect(store: Store, scope: Scope | None) -> tuple[Detected | None, list[FindingRow] | None]:
    """Run the detectors over ``scope`` (None: the whole store; an empty scope: nothing) and,
    beside them on a connection of its own, read the stored open findings a scoped judgement
    may change (:func:`_stored_touching`), when the store reads beside: the reconcile then
    starts with them. Only judgements change the stored findings, and this judgement holds
    their lock, so they are read the same before the detectors end as after. (A 1,000-event
    batch at 1,000,000 events: about 0.05 ms an event of PostgreSQL's judgement, its
    look-ups of every key of the scope, now made while the detectors run.)"""
    if scope is None:
        return run_detectors(store), None
    if scope.empty:
        return None, None
    if not store.reads_beside:
        return run_detectors(store, scope=scope), None
    with ThreadPoolExecutor(1, thread_name_prefix="lineage-judge") as pool:
        touched = pool.submit(_read_touching, store, scope)
        try:
            detected = run_detectors(store, scope=scope)
        finally:
            wait([touched])
        return detected, touched.result()


def _read_touching(store: Store, scope: Scope) -> list[FindingRow]:
    with store.engine.connect() as conn:
        return _stored_touching(conn, scope)


def _stored_touching(conn: Connection, scope: Scope) -> list[FindingRow]:
    """The open findings ``scope`` covers (looked up by its keys, never all): every stored
    finding a scoped judgement can undo."""
    return [
        row for row in open_rows_touching(conn, touching(scope)) if covers(scope, to_finding(row))
    ]


@dataclass(frozen=True, slots=True)
class _Looked:
    """What one step of a judgement covers.

    Attributes:
        before: the last judgement's watermark (None: there was none).
        mark: the watermark this step judges up to.
        scope: what changed up to ``mark`` (None: judge everything).
        target: where the judgement aims (``mark``, or further when this is a step of it).
    """

    before: Watermark | None
    mark: Watermark
    scope: Scope | None
    target: Watermark

    @property
    def further(self) -> Watermark | None:
        """The target when this step fell short of it (judge again toward it), else None."""
        return None if self.mark == self.target else self.target


def _look(
    store: Store, conn: Connection, full: bool, target: Watermark | None = None
) -> Judgement | _Looked:
    """What a step of a judgement covers, read on ``conn``: a step toward ``target`` (by
    default the store's now); or the skipped :class:`Judgement` when nothing changed."""
    before = stored_watermark(conn)
    # another process's judgement may have gone past the target meanwhile: aim at now
    now = target if target is not None and not _past(before, target) else watermark_now(conn)
    if not full and before is not None and before == now:
        return Judgement(as_of=before.clock or 0, full=False, skipped=True)
    scope = None if full else changes_since(store, conn=conn, since=before, until=now, stepped=True)
    return _Looked(before, now if scope is None else scope.until, scope, now)


def _past(judged: Watermark | None, target: Watermark) -> bool:
    """Whether the watermark ``judged`` went past ``target`` in one of its sequences."""
    return judged is not None and (
        judged.events_seq > target.events_seq
        or judged.status_seq > target.status_seq
        or judged.openlineage_seq > target.openlineage_seq
    )


def _settle(
    conn: Connection,
    detected: Detected | None,
    looked: _Looked,
    *,
    notify: bool,
    touched: list[FindingRow] | None = None,
) -> Judgement:
    """Store the verdict of ``detected`` (None: the scope was empty, nothing to judge) and
    the watermark ``looked.mark``, in the judgement's write transaction (``touched``: the
    open findings the scope covers, when read already). What it opens or resolves is by the
    latest event up to the target: the batch's, in every step of one."""
    scope, before, mark = looked.scope, looked.before, looked.mark
    if detected is None:
        save_watermark(conn, mark, _wall_us())
        return Judgement(as_of=mark.clock or 0, full=False)
    judgement = _reconcile(
        conn,
        detected.findings,
        scope=scope,
        moment=detected.as_of,
        batch_event=newest_event(conn, before, looked.target),
        mark=mark,
        notify=notify,
        touched=touched,
    )
    refresh_statistics(conn, judgement.added + judgement.changed + judgement.resolved)
    save_watermark(conn, mark, _wall_us())
    return judgement


class _Gate:
    """One process's judgements after ingest of one store: at most one runs at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ended = threading.Condition(self.lock)
        self.running = False
        self.again = False  # a caller committed events after the running judgement began
        self.started = 0  # judgements begun, counted
        self.finished = 0  # judgements ended, counted
        self.last: Judgement | None = None

    def take(self) -> int | None:
        """With :attr:`lock` held: None when the caller is to judge now; else the running
        judgement is asked to judge once more, and this is the number of the judgement that
        will cover the caller's events."""
        if self.running:
            self.again = True
            return self.started + 1
        self.running = True
        self.started += 1
        return None


_GATES: weakref.WeakKeyDictionary[Store, _Gate] = weakref.WeakKeyDictionary()
_GATES_LOCK = threading.Lock()


def _gate(store: Store) -> _Gate:
    with _GATES_LOCK:
        gate = _GATES.get(store)
        if gate is None:
            gate = _GATES[store] = _Gate()
        return gate


def judge_after_ingest(
    store: Store, *, what: str = "ingest", wait: bool = True
) -> Judgement | None:
    """:func:`judge`, for an ingest path right after its commit: never raises.

    The events are committed already; a judgement that fails (another writer kept the lock
    past the busy timeout, a detector's bug) is logged, and the next judgement catches up
    from the watermark. While another judgement of ``store`` runs in this process, this one
    asks it to judge once more when it ends (covering what the caller committed) instead of
    queueing behind it; with ``wait`` it returns when that ends, without holding a
    connection meanwhile, else at once.

    Returns:
        The judgement that covered the caller's events; None when it failed, or when
        ``wait`` is false and another judgement will cover them.
    """
    gate = _gate(store)
    with gate.lock:
        covering = gate.take()
        if covering is not None:
            if not wait:
                return None
            # the judgement after the running one covers the caller's events: wait for it,
            # not for a quiet moment (under steady ingest the runner may never stop)
            while gate.finished < covering:
                gate.ended.wait()
            return gate.last
    return _judge_until_caught_up(store, gate, what)


def judging(store: Store) -> bool:
    """Whether a judgement of ``store`` after ingest runs in this process now (or is asked
    of its judging process): when it does not, events committed now are judged at once."""
    gate = _GATES.get(store)
    return gate is not None and gate.running


def judge_in_background(store: Store, *, what: str = "ingest") -> None:
    """:func:`judge_after_ingest` without waiting, in a thread of its own: the caller (a
    server's request thread, free to serve the next request on its connection) goes on at
    once. While a judgement of ``store`` runs in this process, it is asked to judge once more
    instead."""
    gate = _gate(store)
    with gate.lock:
        if gate.take() is not None:
            return
    threading.Thread(
        target=_judge_until_caught_up, args=(store, gate, what), name="lineage-judge", daemon=True
    ).start()


def _judge_until_caught_up(store: Store, gate: _Gate, what: str) -> Judgement | None:
    """Judge (the gate is this caller's), once more as long as callers ask, then open the
    gate; waiters are woken after each judgement."""
    judgement: Judgement | None = None
    try:
        while True:
            judgement = _judge_where_asked(store, what)
            with gate.lock:
                gate.finished += 1
                gate.last = judgement
                gate.ended.notify_all()
                if not gate.again:
                    gate.running = False
                    return judgement
                gate.again = False
                gate.started += 1
    except BaseException:  # interrupted: no caller may wait for a judgement that won't come
        with gate.lock:
            gate.started = gate.finished = gate.started + 1
            gate.running = gate.again = False
            gate.last = None
            gate.ended.notify_all()
        raise


def _judge_where_asked(store: Store, what: str) -> Judgement | None:
    """:func:`judge_logged`, in the child process judging ``store`` if one was started
    (:mod:`lineage.findings.process`), else (or once it is gone) in this one."""
    process = judging_process(store)
    if process is not None:
        try:
            return process.judge(what)
        except ProcessGoneError as exc:
            forget(store, process)
            log.warning(
                "lineage: warning: the process judging the findings ended (%s); they are "
                "judged in this one from now on",
                exc,
            )
    return judge_logged(store, what)


def judge_logged(store: Store, what: str) -> Judgement | None:
    """:func:`judge` after an ingest path's commit (``what``, for the log): never raises; a
    failed judgement is logged and answers None."""
    try:
        return judge(store)
    except Exception as exc:  # the ingest succeeded: its caller must not see this as failing
        # one line for people (no traceback reaches a user); the traceback for debugging
        log.warning(
            "lineage: warning: the findings were not judged after %s (%s); the events are "
            "recorded, and the next ingest or scan judges them",
            what,
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        )
        log.debug("the judgement's error", exc_info=True)
        return None


def _reconcile(
    conn: Connection,
    found: Iterable[Finding],
    *,
    scope: Scope | None,
    moment: int,
    batch_event: str | None,
    mark: Watermark,
    notify: bool,
    touched: list[FindingRow] | None = None,
) -> Judgement:
    fresh: dict[str, Finding] = {}
    for finding in sorted(found, key=finding_order):
        # two findings with one code and subject: the first in report order is kept
        fresh.setdefault(fingerprint(finding), finding)
    if scope is None:
        stored = {row.fingerprint: row for row in open_rows(conn)}
    else:
        # only the open findings this judgement can find again or undo: those with a key it
        # found, and those its scope covers (looked up by the scope's keys, never all); so
        # every stored one it did not find is covered
        stored = {row.fingerprint: row for row in open_rows_by_fingerprint(conn, fresh)}
        if touched is None:
            touched = _stored_touching(conn, scope)
        stored.update((row.fingerprint, row) for row in touched)
    seen: list[int] = []
    changes: list[dict[str, Any]] = []
    for key, finding in fresh.items():
        row = stored.get(key)
        if row is None:
            continue
        seen.append(row.id)
        content = _content(finding)
        if any(getattr(row, name) != value for name, value in content.items()):
            changes.append({"id": row.id, **content, "registry_version": mark.registry_version})
    gone = [row for key, row in stored.items() if key not in fresh]
    new_keys = [key for key in fresh if key not in stored]
    previous = last_occurrences(conn, new_keys)
    new_rows = [
        {
            "fingerprint": key,
            "occurrence": previous.get(key, 0) + 1,
            **_subject(fresh[key]),
            **_content(fresh[key]),
            "first_seen_at": moment,
            "first_seen_event": batch_event,
            "last_seen_at": moment,
            "last_seen_event": batch_event,
            "resolved_at": None,
            "resolved_by": None,
            "registry_version": mark.registry_version,
        }
        for key in new_keys
    ]
    ids = insert_findings(conn, new_rows, ids=notify)  # the ids only for the outbox
    mark_seen(conn, seen, moment, batch_event)
    replace_content(conn, changes)
    resolve(conn, [row.id for row in gone], moment, batch_event)
    if notify:
        outbox = [
            (finding_id, "opened", _payload(_opened(row, finding_id), "opened"))
            for finding_id, row in zip(ids, new_rows, strict=True)
        ]
        outbox += [
            (row.id, "resolved", _payload(_resolved(row, moment, batch_event), "resolved"))
            for row in gone
        ]
        add_to_outbox(conn, outbox, _wall_us())
    return Judgement(
        added=len(new_rows),
        changed=len(changes),
        resolved=len(gone),
        seen=len(seen) - len(changes),
        as_of=moment,
        full=scope is None,
    )


def _subject(finding: Finding) -> dict[str, Any]:
    subject = finding.subject
    return {
        "code": finding.code,
        "system": subject.system,
        "element": subject.element,
        "record": subject.record,
        "integration": subject.integration,
        "event": subject.event,
    }


def _content(finding: Finding) -> dict[str, Any]:
    return {
        "severity": finding.severity.value,
        "owner": finding.owner,
        "message": finding.message,
        "evidence": evidence_text(finding.evidence),
    }


def _opened(row: dict[str, Any], finding_id: int) -> Finding:
    return to_finding(FindingRow(id=finding_id, **row))


def _resolved(row: FindingRow, moment: int, by: str | None) -> Finding:
    finding = to_finding(row)
    return finding.model_copy(
        update={"state": "resolved", "resolved_at": iso(moment), "resolved_by": by}
    )


def _payload(finding: Finding, event: str) -> str:
    """The webhook's JSON: the finding's contract shape plus ``event``."""
    return json.dumps({**finding_json(finding), "event": event}, ensure_ascii=False)
