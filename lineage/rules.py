"""The rules core: every verdict the questions and the detectors share, with no I/O.

This module reads no database, no file and no web request: it takes values and the registry
in force and answers. Trace, impact, golden, the detectors, the digest, the audit and the
pages take their verdicts from here, so that two answers about one value cannot disagree.

- **Owner** of any subject, in one order: the integration's owner, then the element's, then
  the system's (:data:`OWNER_ORDER`). A hop is answered for by its integration (when the
  registry in force declares one with an owner); a value by its element; anything else by
  the system that holds or received it. A registry finding on a declaration is answered for
  by its own owner, then by the systems it names (:func:`integration_owner`,
  :func:`element_owner`). A blank owner names nobody (:func:`blank`).
- **Hop status**, ordered ``sent`` < ``delivered`` | ``failed`` and decided by *event time*,
  never by arrival order (:func:`status_key`, :func:`supersedes`): a ``delivered`` that
  arrives before its ``sent`` (retried requests arrive out of order) still ends delivered,
  and as of a moment between the two it is in flight (:func:`own_statuses`). A hop recorded
  with no status is ``delivered`` (:data:`UNSTATED`).
- **Live hop**: a hop leaves its value unless its status as of the moment judged is
  ``failed`` (:func:`is_live`); a hop still ``sent`` past its integration's timeout is lost
  (:func:`overdue_us`), judged against the store's clock (:func:`judged_at`).
- **One clock**: a time-relative judgement is made as of ``--as-of`` when given, else the
  store's clock (the time of the latest event recorded, tracker or OpenLineage), else (an
  empty store) the wall clock (:func:`judged`); every answer says which moment, in the words
  of :func:`judged_text` and as ``as_of`` (:func:`judged_iso`) in its JSON.
- **Value comparison** by the element's declared type (:func:`same_value`) and the verdict
  of a copy against the golden value (:func:`copy_verdict`).
- **Findings**: each code's severity (:func:`severity_of`), the message of the codes this
  module words (:func:`message`), and the one command that shows a finding
  (:func:`see_it_with`) or the page (:func:`see_it_on`).

Example:
    >>> supersedes(("sent", 10), ("delivered", 20))
    False
    >>> current_status([("delivered", 20, 1), ("sent", 10, 2)])
    ('delivered', 20)
"""

from __future__ import annotations

import datetime as dt
import difflib
import shlex
from collections.abc import Iterable
from typing import Literal, NamedTuple
from urllib.parse import urlencode

from .model.findings import CODES, Finding, Severity
from .model.registry import Element, ElementType, Integration, Registry, blank
from .transforms import normalize

__all__ = [
    "DEFAULT_TIMEOUT",
    "JUDGED_BY",
    "OWNER_ORDER",
    "UNSTATED",
    "Judged",
    "Verdict",
    "blank",
    "conflicting_truth_message",
    "copy_verdict",
    "current_status",
    "declared_owners",
    "declared_route",
    "duration_text",
    "element_owner",
    "hop_owner",
    "integration_owner",
    "is_live",
    "judged",
    "judged_at",
    "judged_iso",
    "judged_text",
    "lost_before_us",
    "message",
    "overdue_us",
    "own_statuses",
    "owner",
    "recorded_status",
    "same_value",
    "see_it_on",
    "see_it_with",
    "severity_of",
    "status_key",
    "supersedes",
    "system_owner",
    "timeout_us",
    "undeclared_route",
    "unknown_owner_message",
    "unknown_transform_message",
    "value_owner",
]

# -- owners ---------------------------------------------------------------------------

OWNER_ORDER = ("integration", "element", "system")
"""Who answers for a subject: the first of these the registry in force declares an owner for."""


def owner(
    registry: Registry,
    *,
    integration: str | None = None,
    element: str | None = None,
    system: str | None = None,
) -> str | None:
    """The owner of a subject, in :data:`OWNER_ORDER`: integration, then element, then system.

    Only declarations of the registry in force count: a hop on an undeclared integration is
    answered for by its element's owner, else by the owner of the system it reached.

    >>> from lineage.model.registry import Registry
    >>> owner(Registry(), integration="x", element="y", system="z") is None
    True
    """
    if integration:
        declared = registry.integration(integration)
        if declared is not None and not blank(declared.owner):
            return declared.owner
    if element:
        known = registry.element(element)
        if known is not None and not blank(known.owner):
            return known.owner
    return system_owner(registry, system)


def hop_owner(
    registry: Registry, integration: str | None, element: str | None, system: str | None
) -> str | None:
    """Who answers for a hop (its integration, element, then receiving system)."""
    return owner(registry, integration=integration, element=element, system=system)


def value_owner(registry: Registry, element: str | None, system: str | None) -> str | None:
    """Who answers for a value a place holds (its element, then its system)."""
    return owner(registry, element=element, system=system)


def system_owner(registry: Registry, system: str | None) -> str | None:
    """The declared owner of ``system`` (None when it is not declared or has none)."""
    declared = registry.system(system) if system else None
    return declared.owner if declared is not None and not blank(declared.owner) else None


def integration_owner(registry: Registry, integration: Integration) -> str | None:
    """Who answers for an integration's declaration (a registry finding on it): its owner,
    else the receiving system's, else the sending system's."""
    if not blank(integration.owner):
        return integration.owner
    return system_owner(registry, integration.target) or system_owner(registry, integration.source)


def element_owner(registry: Registry, element: Element) -> str | None:
    """Who answers for an element's declaration (a registry finding on it): its owner, else
    its system of record's, else its system of origin's."""
    if not blank(element.owner):
        return element.owner
    return system_owner(registry, element.system_of_record) or system_owner(
        registry, element.system_of_origin
    )


def declared_owners(registry: Registry) -> set[str]:
    """Everyone the registry names as an owner: of a system, an element, an integration or a
    waiver.

    >>> from lineage.model.registry import Registry, System
    >>> sorted(declared_owners(Registry(systems=(System(name="ERP", owner="erp@x.com"),))))
    ['erp@x.com']
    """
    named = [
        *(s.owner for s in registry.systems),
        *(e.owner for e in registry.elements),
        *(i.owner for i in registry.integrations),
        *(w.owner for w in registry.waivers),
    ]
    return {who for who in named if who}


def unknown_owner_message(owner: str, known: Iterable[str]) -> str:
    """Why an owner's digest cannot be shown: nobody by that name, and the nearest names.

    >>> unknown_owner_message("bianka@x.com", ["bianca@x.com", "tom@x.com"]).split("; ")[-1]
    'did you mean bianca@x.com?'
    """
    said = f"no owner {owner!r}: the registry names nobody by that name and no finding is theirs"
    names = sorted(set(known), key=str.casefold)
    if not names:
        return f"{said}; the store knows no owners yet (load a registry first)"
    folded = {name.casefold(): name for name in names}
    near = difflib.get_close_matches(owner.casefold(), folded, n=1, cutoff=0.85)
    if near:
        return f"{said}; did you mean {folded[near[0]]}?"
    return f"{said}; known owners: {', '.join(names[:12])}{', ...' if len(names) > 12 else ''}"


# -- declared routes ------------------------------------------------------------------


def declared_route(
    registry: Registry,
    integration: str | None,
    *,
    sources: Iterable[str],
    target: str,
    element: str,
    input_elements: Iterable[str],
) -> str | None:
    """The integration of the registry in force that declares a hop's route, else None.

    A named integration must be declared, run from the inputs' one system to ``target`` and
    carry ``element`` from those inputs; an unnamed hop matches any declared integration
    that does. The registry in force decides: a hop undeclared when it arrived counts as
    declared once a registry declaring its route is loaded, and the reverse.
    """
    systems = set(sources)
    wanted = set(input_elements)
    if len(systems) != 1:
        return None
    (source,) = systems
    if integration is not None:
        named = registry.integration(integration)
        if named is None or named.source != source or named.target != target:
            return None
        carry = named.carry(element)
        return integration if carry is not None and wanted <= set(carry.input_elements) else None
    for candidate in registry.integrations_for(source, target, element):
        carry = candidate.carry(element)
        if carry is not None and wanted <= set(carry.input_elements):
            return candidate.name
    return None


# -- hop statuses ---------------------------------------------------------------------

SENT, DELIVERED, FAILED = "sent", "delivered", "failed"

UNSTATED = DELIVERED
"""The status of a hop recorded with none: ``delivered``, as a hop event that names no status
is (``lineage.model.events.Hop``), in the store's SQL and in its writer alike."""


def recorded_status(status: str | None) -> str:
    """A hop's recorded status, :data:`UNSTATED` for none.

    >>> recorded_status(None), recorded_status("sent")
    ('delivered', 'sent')
    """
    return status or UNSTATED


def own_statuses(status: str | None, at: int, status_at: int | None) -> list[tuple[str, int, int]]:
    """The ``(status, at, seq)`` a hop's own stored row stands for, before its later statuses.

    A hop's time ``at`` is the earliest status time the store has heard of; the status it
    arrived with keeps its own time ``status_at`` (None: ``at``). When an earlier status
    arrived after it, the hop was ``sent`` from ``at`` until that status's time: as of any
    moment in between it is in flight, whichever message arrived first.

    >>> own_statuses("delivered", 10, 20)
    [('sent', 10, -2), ('delivered', 20, -1)]
    """
    own = (recorded_status(status), at if status_at is None else status_at, -1)
    if status_at is None or status_at <= at:
        return [own]
    return [(SENT, at, -2), own]


def status_key(status: str, at: int, seq: int = 0) -> tuple[int, int, int]:
    """The order of a hop's statuses: any final status (``delivered``, ``failed``) after
    ``sent``, then by event time, then by recording order (``seq``) within one moment."""
    return (0 if status == SENT else 1, at, seq)


def supersedes(new: tuple[str, int], current: tuple[str, int]) -> bool:
    """Whether a status ``(status, at)`` arriving now replaces the hop's ``current`` one.

    A ``sent`` never replaces a final status, whenever it arrives; between final statuses
    the later event time wins (a tie goes to the one that arrives last).

    >>> supersedes(("failed", 30), ("delivered", 20)), supersedes(("delivered", 5), ("failed", 9))
    (True, False)
    """
    if new[0] == current[0]:
        return False
    return status_key(*new) >= status_key(*current)


def current_status(
    history: Iterable[tuple[str, int, int]], as_of: int | None = None
) -> tuple[str, int] | None:
    """A hop's status as of ``as_of`` from every ``(status, at, seq)`` recorded for it."""
    best: tuple[tuple[int, int, int], str, int] | None = None
    for status, at, seq in history:
        if as_of is not None and at > as_of:
            continue
        key = status_key(status, at, seq)
        if best is None or key > best[0]:
            best = (key, status, at)
    return None if best is None else (best[1], best[2])


def is_live(status: str | None) -> bool:
    """A hop leaves (and explains) its value unless its status is ``failed``."""
    return status != FAILED


DEFAULT_TIMEOUT = dt.timedelta(hours=1)
"""How long a hop may stay ``sent`` when its integration declares no timeout."""


def timeout_us(registry: Registry, integration: str | None) -> int:
    """The timeout of ``integration`` in microseconds (the default when undeclared)."""
    declared = registry.integration(integration) if integration else None
    delta = declared.timeout if declared is not None else DEFAULT_TIMEOUT
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def duration_text(micros: int) -> str:
    """A duration as findings and answers word it: the largest whole unit (``1d``, ``2h``,
    ``30m``), else seconds.

    >>> duration_text(86_400_000_000), duration_text(5_400_000_000), duration_text(1_500_000)
    ('1d', '90m', '1s')
    """
    seconds = micros // 1_000_000
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def overdue_us(status: str | None, sent_at: int, timeout: int, as_of: int) -> int:
    """How long past its timeout a hop still ``sent`` at ``as_of`` is (> 0: lost)."""
    if status != SENT:
        return 0
    return max(0, as_of - sent_at - timeout)


def lost_before_us(timeout: int, as_of: int) -> int:
    """The moment before which a hop still ``sent`` at ``as_of`` is lost (the same judgement
    as :func:`overdue_us`, said of the time it was sent, for a range of an index)."""
    return as_of - timeout


def judged_at(as_of: int | None, clock: int | None, now: int) -> int:
    """The moment a time-relative judgement is made: ``as_of`` when given, else the store's
    clock (the time of the latest event recorded), else (an empty store) ``now``."""
    return judged(as_of, clock, now).at


JudgedBy = Literal["as-of", "clock", "wall-clock"]

JUDGED_BY: dict[JudgedBy, str] = {
    "as-of": "--as-of",
    "clock": "the store's clock: its latest event",
    "wall-clock": "the wall clock: nothing is recorded",
}
"""Why an answer judged as of its moment, in the words every answer uses."""


class Judged(NamedTuple):
    """The moment an answer judged as of (microseconds since the epoch) and why that one."""

    at: int
    by: JudgedBy


def judged(as_of: int | None, clock: int | None, now: int) -> Judged:
    """The moment judged: ``as_of`` when given, else the store's clock (the time of the
    latest event recorded), else (an empty store) ``now``, the wall clock.

    >>> judged(None, 1_773_478_800_000_000, 0)
    Judged(at=1773478800000000, by='clock')
    """
    if as_of is not None:
        return Judged(as_of, "as-of")
    if clock is not None:
        return Judged(clock, "clock")
    return Judged(now, "wall-clock")


def judged_iso(moment: Judged) -> str:
    """The moment as ISO 8601 in UTC with ``Z`` (seconds unless sub-second): the ``as_of``
    of every answer's JSON."""
    at = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=moment.at)
    spec = "seconds" if at.microsecond == 0 else "microseconds"
    return at.isoformat(timespec=spec).replace("+00:00", "Z")


def judged_text(moment: Judged) -> str:
    """The line every answer for people ends its verdict with.

    >>> judged_text(Judged(1_773_478_800_000_000, "clock"))
    "judged as of 2026-03-14T09:00:00Z (the store's clock: its latest event)"
    >>> judged_text(Judged(1_773_478_800_000_000, "as-of"))
    'judged as of 2026-03-14T09:00:00Z (--as-of)'
    """
    return f"judged as of {judged_iso(moment)} ({JUDGED_BY[moment.by]})"


# -- values ---------------------------------------------------------------------------

Verdict = Literal["agrees", "stale", "divergent"]


def same_value(kind: ElementType, a: str | None, b: str | None) -> bool:
    """Equal by the element's declared type (``"120.00"`` equals ``"120"`` for a decimal)."""
    return a == b or normalize(a, kind) == normalize(b, kind)


def copy_verdict(copy_norm: str | None, expected_norm: str | None,
                 earlier_norms: Iterable[str | None] = ()) -> Verdict:  # fmt: skip
    """A copy against the golden value, all in canonical form (:func:`normalize`).

    ``agrees`` when the copy equals what the golden value yields; ``stale`` when it equals
    what an earlier golden value yielded through the same path; else ``divergent``.

    >>> copy_verdict("96", "96"), copy_verdict("72", "96", ["72"]), copy_verdict("1", "96")
    ('agrees', 'stale', 'divergent')
    """
    if copy_norm == expected_norm:
        return "agrees"
    if any(copy_norm == earlier for earlier in earlier_norms):
        return "stale"
    return "divergent"


# -- findings -------------------------------------------------------------------------


def severity_of(code: str) -> Severity:
    """The severity every finding of ``code`` has (docs/CONTRACT.md §3-4)."""
    return CODES[code].severity


def _shown(value: str | None) -> str:
    return "null" if value is None else repr(value)


_TEMPLATES = {
    "unknown-system": "{kind} {event} names system {system!r}, which the registry in force "
    "does not declare{via}",
    "unknown-element": "{kind} {event} names element {element!r}, which the registry in force "
    "does not declare{via}",
    "failed-delivery": "hop {event} on {via} failed to deliver {element} to {system} record "
    "{record}: {reason}",
    "lost-delivery": "hop {event} on {via} was sent at {sent_at} and neither delivered "
    "{element} to {system} record {record} nor failed within {timeout}",
}


def message(code: str, **fields: object) -> str:
    """The message of a finding of ``code`` worded here, from its fields.

    >>> message("unknown-system", kind="write", event="w-1", system="Nowhere", via="")
    "write w-1 names system 'Nowhere', which the registry in force does not declare"
    """
    return _TEMPLATES[code].format(**fields)


#: Codes whose subject place may hold no value (the hop that should have left it failed):
#: they are shown by a narrowed scan, not by a trace of a place that holds nothing.
_NO_VALUE_CODES = frozenset({"failed-delivery", "unknown-system", "unknown-element"})


def _traceable(finding: Finding) -> bool:
    """Whether a trace of the finding's place shows it: the place holds a value the finding
    is about. An ``untraced-value`` read by hops from a place where nothing was recorded
    (its evidence says when it was ``read_at``) is not: that place may hold nothing at all,
    and what it holds later is another story."""
    subject = finding.subject
    if not (subject.system and subject.element and subject.record):
        return False
    if finding.code in _NO_VALUE_CODES:
        return False
    return not (finding.code == "untraced-value" and "read_at" in finding.evidence)


def see_it_with(finding: Finding) -> str:
    """The one command that shows ``finding`` (it exits 0 or 1, never 2): a trace of its
    place when it has one that holds a value, else a scan narrowed to it.

    >>> see_it_with(Finding.of("rule-violation", "m", system="ERP", element="order.total",
    ...                        record="40017"))
    'lineage trace ERP order.total 40017'
    """
    subject = finding.subject
    if finding.location is not None:
        return f"lineage check {shlex.quote(finding.location.file)}"
    if _traceable(finding):
        parts = [subject.system or "", subject.element or "", subject.record or ""]
        return "lineage trace " + " ".join(shlex.quote(p) for p in parts)
    words = ["lineage", "scan", "--code", finding.code]
    if subject.system:
        words += ["--system", subject.system]
    if subject.element:
        words += ["--element", subject.element]
    return " ".join(shlex.quote(w) for w in words)


def see_it_on(finding: Finding) -> str | None:
    """The web page that shows ``finding`` (``/trace?...``, ``/elements/...``), if any."""
    subject = finding.subject
    if finding.location is not None:
        return None
    if _traceable(finding):
        query = urlencode(
            {"system": subject.system, "element": subject.element, "record": subject.record}
        )
        return f"/trace?{query}"
    if subject.element:
        return f"/elements/{subject.element}"
    return "/findings"


# -- detector messages ----------------------------------------------------------------
# What each runtime finding says, from the facts its detector found. None names the moment
# judged: a finding judged again later, unchanged, says the same (the scope contract).


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def competing_origin_message(element: str, system: str, writes: int, origin: str) -> str:
    """``competing-origin``: ``element`` written ``writes`` times in ``system``.

    >>> competing_origin_message("order.total", "BI", 2, "ERP")
    'order.total is written in BI (2 writes), but its system of origin is ERP'
    """
    return (
        f"{element} is written in {system} ({_plural(writes, 'write')}), but its system of "
        f"origin is {origin}"
    )


def untraced_snapshot_message(
    place: tuple[str, str, str],
    value: str | None,
    *,
    snapshots: int,
    held: tuple[str, str | None, str | None] | None,
) -> str:
    """``untraced-value`` of a snapshot at ``place`` (system, element, record); ``held`` is the
    latest write or hop there ``(event id, ISO time, value)``, None when nothing put a value
    there."""
    system, element, record = place
    if held is None:
        why = "no write or hop ever put a value there"
    else:
        why = f"the latest write or hop there ({held[0]} at {held[1]}) left {_shown(held[2])}"
    more = f" (seen in {snapshots} snapshots)" if snapshots > 1 else ""
    return f"{system} holds {element} = {_shown(value)} for record {record}{more}, but {why}"


def untraced_input_message(
    event: str, place: tuple[str, str, str], value: str | None, *, hops: int
) -> str:
    """``untraced-value`` of a hop input: ``hops`` hops read a place nothing was recorded at."""
    system, element, record = place
    later = hops - 1
    more = f" (and {_plural(later, 'later hop')})" if later else ""
    return (
        f"hop {event} read {element} = {_shown(value)} from {system} record {record}{more}, "
        "where no write, hop or snapshot was ever recorded before it"
    )


def unexplained_transformation_message(
    event: str,
    integration: str | None,
    place: tuple[str, str, str],
    value: str | None,
    *,
    transform: str | None,
    inputs: Iterable[str | None],
    expected: str | None,
) -> str:
    """``unexplained-transformation``: what a hop carried to ``place`` (system, element,
    record) against what its transform gives. "Carried", whatever the hop's status: the
    finding stands from the hop's arrival, while it is still in flight (``sent``) as once it
    is delivered (a failed hop is a ``failed-delivery`` only)."""
    system, element, record = place
    values = ", ".join(_shown(v) for v in inputs)
    return (
        f"hop {event} on {integration or 'no declared integration'} carried {element} = "
        f"{_shown(value)} to {system} record {record}, but {transform} of [{values}] gives "
        f"{_shown(expected)}"
    )


def undeclared_route(
    sources: Iterable[str], targets: Iterable[str], elements: Iterable[str]
) -> str:
    """How an ``undeclared-integration`` message names the route its hops took.

    >>> undeclared_route(["WMS"], ["ERP"], ["stock.on_hand"])
    'WMS -> ERP, stock.on_hand'
    """
    return (
        f"{'+'.join(sorted(set(sources)))} -> {'+'.join(sorted(set(targets)))}, "
        f"{', '.join(sorted(set(elements)))}"
    )


def undeclared_hops_message(hops: int, integration: str | None, declared: bool, route: str) -> str:
    """``undeclared-integration`` of recorded hops (``route``: sources -> targets, elements);
    ``declared``: the registry in force declares ``integration`` (for another route)."""
    counted = _plural(hops, "hop")
    if integration is None:
        return f"{counted} travelled on no declared integration ({route})"
    if not declared:
        return f"{counted} name integration {integration!r}, which is not declared ({route})"
    return f"{counted} on {integration} travelled a route it does not declare ({route})"


def unknown_transform_message(event: str, integration: str | None, transform: str | None) -> str:
    """A hop whose transform is not in the catalogue: its output cannot be checked (a trace
    names it when the values are sound but the path is not).

    >>> unknown_transform_message("h-1", "erp-to-bi", "magic(3)").split(";")[0]
    "hop h-1 on erp-to-bi: transform 'magic(3)' is not in the catalogue"
    """
    return (
        f"hop {event} on {integration or 'no declared integration'}: transform {transform!r} "
        "is not in the catalogue; its output cannot be checked"
    )


def conflicting_truth_message(
    copy: tuple[str, str, str],
    value: str | None,
    *,
    status: str,
    direction: str | None,
    where: str,
    path: Iterable[object],
    golden: str | None,
    expected: str | None,
    yields: str | None,
    earlier: str | None,
) -> str:
    """``conflicting-truth``: a copy at ``copy`` (system, record, element) is ``status``
    (stale or divergent) against the golden value ``golden`` held at ``where`` (the system of
    record and its key); downstream it should be ``expected``, upstream it ``yields`` another
    value there, through the declared ``path``; ``earlier`` is the earlier golden value a
    stale downstream copy equals the yield of.

    >>> conflicting_truth_message(("BI", "R-17", "order.total"), "115.20", status="divergent",
    ...     direction="downstream", where="ERP 40017", path=["erp-to-bi-sales"], golden="96.00",
    ...     expected="103.68", yields=None, earlier=None)  # doctest: +NORMALIZE_WHITESPACE
    "BI R-17 order.total is '115.20', divergent: the golden value '96.00' in ERP 40017 yields
    '103.68' through erp-to-bi-sales"
    """
    system, record, element = copy
    via = " then ".join(str(step) for step in path)
    if direction == "upstream":
        text = (
            f"{system} {record} {element} is {_shown(value)}, {status}: upstream of the system "
            f"of record it yields {_shown(yields)} through {via}, but the golden value in "
            f"{where} is {_shown(golden)}"
        )
        if status == "stale":
            text += f"; {_shown(yields)} is the earlier golden value"
        return text
    text = (
        f"{system} {record} {element} is {_shown(value)}, {status}: the golden value "
        f"{_shown(golden)} in {where} yields {_shown(expected)} through {via}"
    )
    if status == "stale":
        text += f"; {_shown(value)} is what the earlier golden value {_shown(earlier)} yielded"
    return text


def broken_chain_message(
    event: str,
    integration: str | None,
    source: tuple[str, str, str],
    carried: str | None,
    held: tuple[str, str | None, str | None],
) -> str:
    """``broken-chain``: a hop carried ``carried`` from ``source`` (system, element, record),
    which held another value then (``held``: event id, ISO time, value)."""
    system, element, record = source
    return (
        f"hop {event} on {integration or 'no declared integration'} carried {element} = "
        f"{_shown(carried)} from {system} record {record}, but {system} held "
        f"{_shown(held[2])} then ({held[0]} at {held[1]})"
    )


def duplicate_delivery_message(
    integration: str, source: tuple[str, str, str], system: str, targets: Iterable[str]
) -> str:
    """``duplicate-delivery``: a one-to-one integration delivered one source record to several
    target records."""
    listed = list(targets)
    src_system, src_element, src_record = source
    return (
        f"{integration} is one-to-one but delivered {src_system} record {src_record} "
        f"({src_element}) to {len(listed)} {system} records: {', '.join(listed)}"
    )


def rule_violation_message(
    system: str, element: str, record: str, value: str | None, reasons: Iterable[str]
) -> str:
    """``rule-violation``: the value a place holds breaks its element's rules."""
    return f"{system} holds {element} = {_shown(value)} for record {record}: {'; '.join(reasons)}"


# -- OpenLineage jobs -----------------------------------------------------------------


def undeclared_job_message(
    job: str,
    route: tuple[str, str],
    *,
    elements: Iterable[str],
    reads: Iterable[str],
    writes: Iterable[str],
    declared_between: Iterable[str],
) -> str:
    """``undeclared-integration`` of an OpenLineage job no integration lists that moved data
    between two mapped systems (``route``: source, target), with what to declare.

    >>> undeclared_job_message("airflow/sync", ("CRM", "ERP"), elements=["customer.address"],
    ...     reads=["pg/contacts"], writes=["pg/customers"], declared_between=[])
    ... # doctest: +NORMALIZE_WHITESPACE
    'OpenLineage job airflow/sync moved data from CRM to ERP, carrying customer.address
    (pg/contacts -> pg/customers), on no declared integration: declare an integration
    CRM -> ERP with the job under openlineage_jobs'
    """
    source, target = route
    declared = list(declared_between)
    hint = (
        f"list the job under openlineage_jobs of {', '.join(declared)}"
        if declared
        else f"declare an integration {source} -> {target} with the job under openlineage_jobs"
    )
    carried = sorted(elements)
    carrying = f", carrying {', '.join(carried)}" if carried else ""
    return (
        f"OpenLineage job {job} moved data from {source} to {target}{carrying} "
        f"({', '.join(sorted(reads))} -> {', '.join(sorted(writes))}), on no "
        f"declared integration: {hint}"
    )


def job_outside_message(job: str, integrations: Iterable[str], outside: Iterable[str]) -> str:
    """``undeclared-integration`` of a listed OpenLineage job that read or wrote, in mapped
    systems, datasets or fields its integrations do not carry (``outside``: each one said)."""
    return (
        f"OpenLineage job {job} of integration {', '.join(integrations)} moves data outside "
        f"what it carries: {'; '.join(dict.fromkeys(outside))}"
    )


def failed_run_message(
    run: str, job: str, integration: str, *, state: str | None, at: str | None, error: str | None
) -> str:
    """``failed-delivery`` of a run of a listed OpenLineage job whose latest state is FAIL or
    ABORT (``at``: ISO time of that state; ``error``: its errorMessage facet, if any).

    >>> failed_run_message("r1", "etl/a", "crm-to-erp", state="FAIL", at="09:05", error=None)
    'run r1 of OpenLineage job etl/a on crm-to-erp ended FAIL at 09:05: no errorMessage facet'
    """
    return (
        f"run {run} of OpenLineage job {job} on {integration} ended {state} at {at}: "
        f"{error or 'no errorMessage facet'}"
    )
