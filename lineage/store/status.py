"""A hop's status as of a moment, in SQL: the one definition every statement of the store uses.

The rules are :mod:`lineage.rules` (``status_key``, ``own_statuses``, ``is_live``); this module
says them in SQL, once, for the store's statements to call:

- A hop's own row holds its time ``at`` (the earliest status time the store has heard of),
  the status it arrived with (none: :data:`lineage.rules.UNSTATED`) and, when an earlier
  status arrived after it, that status's own time ``status_at`` (NULL: ``at``). Before
  ``status_at`` the hop is ``sent``.
- ``hop_status`` holds the statuses that arrived later. Final ones (``delivered``,
  ``failed``) count in the rules' order: after ``sent``, then the later event time, then
  the later arrival; one dated before a final status the hop arrived with never beats it.
  A late ``sent`` is kept as history (it moved the hop's time) and decides nothing more.
- ``hop_status`` is probed only for the hops that have rows there (``status_updated``):
  almost none do, and a walk asks on every step (a probe each was a fifth of a PostgreSQL
  trace). The probe is one backward step of ``ix_hop_status_event_at``.

Every builder takes the alias of the ``events`` row it judges and the SQL of the moment (a
bound parameter such as ``:horizon``), and returns SQL text built from constants only.
:func:`status_column` and :func:`live_clause` wrap the same text for SQLAlchemy Core
statements, the moment bound as a parameter.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, TextClause, bindparam, text, type_coerce

from ..rules import FAILED, SENT, UNSTATED

_SENT = f"'{SENT}'"
_FAILED = f"'{FAILED}'"


def own_sql(e: str) -> str:
    """The status hop ``e`` arrived with (:func:`lineage.rules.recorded_status`)."""
    return f"COALESCE({e}.status, '{UNSTATED}')"


def own_time_sql(e: str) -> str:
    """The event time of the status hop ``e`` arrived with."""
    return f"COALESCE({e}.status_at, {e}.at)"


def _later_sql(e: str, horizon: str, column: str) -> str:
    # the later-arriving final status that decides hop e at the moment, if one does
    return (
        f"(SELECT hs.{column} FROM hop_status hs WHERE hs.event_id = {e}.event_id "  # noqa: S608
        f"AND hs.at <= {horizon} AND hs.status <> {_SENT} AND ({e}.status = {_SENT} "
        f"OR {e}.status_at > {horizon} OR hs.at >= {own_time_sql(e)}) "
        "ORDER BY hs.at DESC, hs.seq DESC LIMIT 1)"
    )


def deciding_seq_sql(e: str, horizon: str = ":horizon") -> str:
    """The ``hop_status.seq`` of the later status that decides hop ``e`` at the moment, NULL
    when its own row does (for statements that also want that status's error and time)."""
    return f"CASE WHEN {e}.status_updated THEN {_later_sql(e, horizon, 'seq')} END"


def own_status_sql(e: str, horizon: str = ":horizon") -> str:
    """Hop ``e``'s status at the moment from its own row alone: the status it arrived with,
    or ``sent`` before that status's time."""
    return f"CASE WHEN {e}.status_at > {horizon} THEN {_SENT} ELSE {own_sql(e)} END"


def status_sql(e: str, horizon: str = ":horizon") -> str:
    """Hop ``e``'s status at the moment (:func:`lineage.rules.current_status`)."""
    later = _later_sql(e, horizon, "status")
    return (
        f"CASE WHEN {e}.status_updated THEN COALESCE({later}, {own_status_sql(e, horizon)}) "
        f"ELSE {own_sql(e)} END"
    )


def live_sql(e: str, horizon: str = ":horizon") -> str:
    """Event ``e`` leaves its value at its place as known at the moment: a write, a snapshot,
    or a hop whose status then is not ``failed`` (:func:`lineage.rules.is_live`; a ``sent``
    hop counts: never confirmed is a finding of its own, not a reason to look past it)."""
    return f"NOT ({e}.kind = 'hop' AND {status_sql(e, horizon)} = {_FAILED})"


def failed_sql(e: str, horizon: str = ":horizon") -> str:
    """Hop ``e``'s status at the moment is ``failed`` (for the failed hops of a scan)."""
    return f"{status_sql(e, horizon)} = {_FAILED}"


def may_fail_sql(e: str) -> str:
    """Hop ``e`` can be ``failed`` at some moment: it arrived failed, or later statuses came
    (what :func:`failed_sql` needs, read from its own row: a cheap filter before it)."""
    return f"({e}.status_updated OR {e}.status = {_FAILED})"


def _bound(sql: str, moment: int) -> TextClause:
    return text(sql).bindparams(bindparam("moment", moment, unique=True))


def status_column(table: Any, moment: int) -> ColumnElement[str]:
    """:func:`status_sql` of the rows of ``table`` (``events`` or an alias of it) as a Core
    column, the moment bound."""
    return type_coerce(_bound(status_sql(table.name, ":moment"), moment), String)


def live_clause(table: Any, moment: int) -> TextClause:
    """:func:`live_sql` of the rows of ``table`` as a Core clause, the moment bound."""
    return _bound(live_sql(table.name, ":moment"), moment)


__all__ = [
    "deciding_seq_sql",
    "failed_sql",
    "live_clause",
    "live_sql",
    "may_fail_sql",
    "own_sql",
    "own_status_sql",
    "own_time_sql",
    "status_column",
    "status_sql",
]
