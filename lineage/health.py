"""Health over time (``lineage health``): per day and per integration, owner, system or
element, the hops delivered, failed and lost and the findings opened, resolved and open.

Days are calendar days in UTC. The last day is the one holding the moment judged: the store's
clock (the time of the latest event recorded) unless ``as_of`` is given; it is counted up to
that moment. So a day's counts never change with the hour a question is asked, and a past
day's counts do not move when new events arrive (except for statuses recorded late).

- **delivered**, **failed**: hops reported so that day: a hop's ``delivered`` (``failed``)
  status, recorded with the hop or later as a status update, counted on the day of its event
  time. A hop that failed and was delivered on a retry counts once on each day.
- **lost**: hops whose integration's timeout ran out that day while they were still ``sent``
  (the rule of :func:`lineage.rules.overdue_us`, with :func:`lineage.rules.timeout_us`): what
  ``lineage scan --as-of <end of that day>`` newly reports as ``lost-delivery``. A hop is lost
  on one day at most.
- **opened**, **resolved**: stored findings (``lineage scan``'s state) first seen, resolved,
  that day; **open**: open at the end of the day.

A hop belongs to its integration, to the system and element it delivers to, and to its owner
(:func:`lineage.rules.hop_owner`); a finding to its subject's integration, system and element
and to its owner. Findings about no integration (a stale copy, say) fall in the group
``None`` of ``--by integration``.

>>> from lineage.store import open_store
>>> health(open_store("sqlite://"), days=2).as_dict()["days"]
[]
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from .model.registry import Registry
from .moment import now_us
from .rules import Judged, hop_owner, judged, judged_iso, judged_text, timeout_us
from .store import Store
from .store.health import (
    HopCount,
    Window,
    delivery_counts,
    findings_open_before,
    findings_opened,
    findings_resolved,
    lost_counts,
)
from .store.health import change_marker as marker
from .store.queries import clock
from .store.schema import from_us, iso, to_us

Grouping = Literal["integration", "owner", "system", "element"]
GROUPINGS: tuple[str, ...] = get_args(Grouping)
METRICS = ("delivered", "failed", "lost", "opened", "resolved", "open")
"""The counts of every day, in this order."""
DEFAULT_DAYS = 30
MAX_DAYS = 3660

__all__ = ["DEFAULT_DAYS", "GROUPINGS", "METRICS", "DayHealth", "GroupHealth", "Grouping",
           "HealthReport", "change_marker", "health"]  # fmt: skip


@dataclass(frozen=True, slots=True)
class DayHealth:
    """One day of one group: the counts of :data:`METRICS`."""

    day: dt.date
    delivered: int = 0
    failed: int = 0
    lost: int = 0
    opened: int = 0
    resolved: int = 0
    open: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), **{m: getattr(self, m) for m in METRICS}}


@dataclass(frozen=True, slots=True)
class GroupHealth:
    """One group's days (``name`` None: the hops and findings that name no such thing)."""

    name: str | None
    days: tuple[DayHealth, ...]

    def total(self, metric: str) -> int:
        """The sum of ``metric`` over the days (for ``open``: the last day's)."""
        if metric == "open":
            return self.days[-1].open if self.days else 0
        return sum(getattr(d, metric) for d in self.days)

    @property
    def quiet(self) -> bool:
        """Nothing happened and nothing was open in the window."""
        return not any(getattr(d, m) for d in self.days for m in METRICS)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "days": [d.as_dict() for d in self.days]}


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The answer of :func:`health` (``lineage health``, ``GET /api/v1/health``).

    Attributes:
        by: what the groups are (integration, owner, system or element).
        as_of: the moment judged (microseconds), None for an empty store.
        days: the days shown, oldest first.
        groups: one per name declared in the registry or seen in the window, sorted by
            name (the group None last).
        total: every hop and finding, whatever its group.
        judged: the moment judged as of and why that one (``--as-of``, the store's clock),
            in the words of every answer (:func:`lineage.rules.judged_text`); None when
            the store is empty.
    """

    by: Grouping
    as_of: int | None
    days: tuple[dt.date, ...]
    groups: tuple[GroupHealth, ...]
    total: GroupHealth = field(default_factory=lambda: GroupHealth("total", ()))
    judged: Judged | None = None

    def group(self, name: str | None) -> GroupHealth | None:
        """The group called ``name`` (None when it is not in the report)."""
        return next((g for g in self.groups if g.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (docs/CONTRACT.md §4, ``lineage health --format json``)."""
        return {
            "by": self.by,
            "as_of": self.judged_json(),
            "days": [d.isoformat() for d in self.days],
            "groups": [g.as_dict() for g in self.groups],
            "total": self.total.as_dict()["days"],
        }

    def judged_json(self) -> str | None:
        """The moment judged as of, ISO 8601 in UTC: the JSON's ``as_of`` (null: empty)."""
        if self.judged is not None:
            return judged_iso(self.judged)
        return iso(self.as_of) if self.as_of is not None else None

    def judged_text(self) -> str | None:
        """The line the text ends with: the moment judged as of, and why that one."""
        if self.judged is not None:
            return judged_text(self.judged)
        return f"judged as of {iso(self.as_of)}" if self.as_of is not None else None

    def text(self) -> str:
        """Per active group, a table of its days; quiet groups listed on one line."""
        if self.as_of is None:
            return "The store holds no events yet: no health to show."
        first, last = self.days[0], self.days[-1]
        lines = [
            f"Health by {self.by}, {len(self.days)} day{'s' if len(self.days) != 1 else ''} "
            f"{first.isoformat()} to {last.isoformat()}",
        ]
        quiet: list[str] = []
        for group in (*self.groups, self.total):
            label = _label(group.name)
            if group.quiet and group is not self.total:
                quiet.append(label)
                continue
            lines += ["", label, *_table(group)]
        if quiet:
            lines += ["", f"Nothing happened and nothing is open on: {', '.join(quiet)}"]
        lines += ["", self.judged_text() or ""]
        return "\n".join(lines)


def _label(name: str | None) -> str:
    return name if name is not None else "(none)"


def _table(group: GroupHealth) -> list[str]:
    header = ("day", *METRICS)
    rows = [header, *((d.day.isoformat(), *(str(getattr(d, m)) for m in METRICS))
                      for d in group.days)]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return [
        "  " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                         for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
        for row in rows
    ]  # fmt: skip


def health(
    store: Store,
    *,
    by: Grouping = "integration",
    days: int = DEFAULT_DAYS,
    as_of: dt.datetime | int | None = None,
    hops: bool = True,
) -> HealthReport:
    """Per day and per group: hops delivered, failed and lost, findings opened, resolved and
    open (see the module's docstring for what each count means).

    Args:
        store: the store to ask.
        by: ``integration``, ``owner``, ``system`` or ``element``.
        days: how many days, the last being the day of the moment judged (1 to 3660).
        as_of: judge as of this moment (a datetime, UTC when naive, or microseconds);
            default the store's clock.
        hops: count the hops too; False counts only the findings (what the findings page's
            chart needs: a few indexed reads of the small findings table, never the events),
            the hop counts then being 0.

    Returns:
        The report; an empty store answers no days.

    Raises:
        ValueError: ``by`` or ``days`` out of range.

    >>> from lineage.store import open_store
    >>> health(open_store("sqlite://"), by="owner").groups
    ()
    """
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, not {by!r}")
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}, not {days}")
    moment = as_of if not isinstance(as_of, dt.datetime) else _micros(as_of)
    with store.reader.connect() as conn:
        registry = store.registry(conn)
        latest = clock(conn)
        if latest is None and moment is None:
            return HealthReport(by, None, (), ())
        said = judged(moment, latest, now_us())
        judged_us = said.at
        last_day = from_us(judged_us).date()
        first_day = last_day - dt.timedelta(days=days - 1)
        window = Window(to_us(dt.datetime.combine(first_day, dt.time(), dt.UTC)), judged_us)
        counts = _Counts(days)
        if hops:
            for row in delivery_counts(conn, window):
                counts.add_hop(row.outcome, row, _hop_key(registry, by, row))
            for timeout, integrations, others in _timeouts(registry):
                for row in lost_counts(conn, window, timeout, integrations, others=others):
                    counts.add_hop("lost", row, _hop_key(registry, by, row))
        for metric, rows in (
            ("open", findings_open_before(conn, window, by)),
            ("opened", findings_opened(conn, window, by)),
            ("resolved", findings_resolved(conn, window, by)),
        ):
            for found in rows:
                counts.add_finding(metric, found.day, found.key, found.count)
    shown = tuple(first_day + dt.timedelta(days=n) for n in range(days))
    listed = set(_declared(registry, by)) | counts.keys()
    groups = tuple(counts.group(name, shown) for name in sorted(listed, key=_order))
    total = counts.group("total", shown, total=True)
    return HealthReport(by, judged_us, shown, groups, total, said)


def change_marker(store: Store) -> tuple[int | None, ...]:
    """A value that changes whenever :func:`health` may answer differently (new events or
    statuses, findings opened or resolved, a judgement, a registry loaded): a cache key."""
    with store.reader.connect() as conn:
        return marker(conn)


def _micros(moment: dt.datetime) -> int:
    return to_us(moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC))


def _order(name: str | None) -> tuple[bool, str]:
    return (name is None, name or "")


def _hop_key(registry: Registry, by: Grouping, row: HopCount) -> str | None:
    if by == "owner":
        return hop_owner(registry, row.integration, row.element, row.system)
    value: str | None = getattr(row, by)
    return value


def _timeouts(registry: Registry) -> Iterator[tuple[int, list[str], bool]]:
    """(timeout, integrations, others): the declared integrations by timeout, then every other
    hop with the default timeout (:func:`lineage.rules.timeout_us` decides each)."""
    by_timeout: dict[int, list[str]] = defaultdict(list)
    for integration in registry.integrations:
        by_timeout[timeout_us(registry, integration.name)].append(integration.name)
    for timeout, names in sorted(by_timeout.items()):
        yield timeout, sorted(names), False
    yield timeout_us(registry, None), sorted(i.name for i in registry.integrations), True


def _declared(registry: Registry, by: Grouping) -> Iterable[str]:
    if by == "integration":
        return (i.name for i in registry.integrations)
    if by == "system":
        return (s.name for s in registry.systems)
    if by == "element":
        return (e.name for e in registry.merged_elements)
    owners = [
        *(s.owner for s in registry.systems),
        *(e.owner for e in registry.elements),
        *(i.owner for i in registry.integrations),
    ]
    return (o for o in owners if o)


class _Counts:
    """Per-day counts being summed per group (the database grouped them already)."""

    def __init__(self, days: int) -> None:
        self.days = days
        self.flows: dict[tuple[str | None, str], list[int]] = {}
        self.before: dict[str | None, int] = defaultdict(int)
        self.total: dict[str, list[int]] = defaultdict(lambda: [0] * days)
        self.total_before = 0

    def keys(self) -> set[str | None]:
        return {key for key, _ in self.flows} | set(self.before)

    def _add(self, metric: str, day: int, key: str | None, count: int) -> None:
        if not 0 <= day < self.days:
            return
        self.flows.setdefault((key, metric), [0] * self.days)[day] += count
        self.total[metric][day] += count

    def add_hop(self, metric: str, row: HopCount, key: str | None) -> None:
        self._add(metric, row.day, key, row.count)

    def add_finding(self, metric: str, day: int, key: str | None, count: int) -> None:
        if metric == "open":
            self.before[key] += count
            self.total_before += count
            return
        self._add(metric, day, key, count)

    def group(self, name: str | None, shown: tuple[dt.date, ...], *, total: bool = False
              ) -> GroupHealth:  # fmt: skip
        def series(metric: str) -> list[int]:
            if total:
                return self.total[metric]
            return self.flows.get((name, metric), [0] * self.days)

        opened, resolved = series("opened"), series("resolved")
        still = self.total_before if total else self.before.get(name, 0)
        days: list[DayHealth] = []
        for n, day in enumerate(shown):
            still += opened[n] - resolved[n]
            days.append(
                DayHealth(
                    day,
                    delivered=series("delivered")[n],
                    failed=series("failed")[n],
                    lost=series("lost")[n],
                    opened=opened[n],
                    resolved=resolved[n],
                    open=still,
                )
            )
        return GroupHealth(name if not total else "total", tuple(days))
