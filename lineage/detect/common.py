"""What the detectors share: the as-of view of hop statuses, owners, samples, streaming.

Two rules hold in every detector (the same as in :mod:`lineage.store.queries`):

- "Latest" means the greatest ``(at, seq)``: among events at the same moment the one recorded
  last wins. Events after the scan's ``as_of`` do not exist.
- A hop's status is its latest ``hop_status`` row at or before ``as_of`` (by ``seq``), else
  the status it was sent with. A hop whose status is ``failed`` never left its value
  anywhere: it explains nothing and is skipped when asking what a place held.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    MetaData,
    Row,
    Select,
    Subquery,
    Table,
    and_,
    case,
    func,
    insert,
    literal_column,
    not_,
    select,
)
from sqlalchemy.schema import CreateTable, DropTable
from sqlalchemy.sql.expression import FromClause

from ..store.schema import UNDELIVERED, events, hop_inputs, hop_status, iso
from .base import ScanContext

T = TypeVar("T")

SAMPLES = 5
"""How many example events a grouped finding names."""

STREAM_BATCH = 2000
"""Rows fetched at a time from a streamed query (a server-side cursor on PostgreSQL)."""

# Fixed literals (never user values) so that the partial indexes' predicates match the
# queries' terms exactly, bound parameters would not.
HOP: ColumnElement[str] = literal_column("'hop'")
WRITE: ColumnElement[str] = literal_column("'write'")
SNAPSHOT: ColumnElement[str] = literal_column("'snapshot'")
FAILED: ColumnElement[str] = literal_column("'failed'")
SENT: ColumnElement[str] = literal_column("'sent'")


def batches(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    """``rows`` in lists of at most ``size`` (``itertools.batched`` from Python 3.12)."""
    chunk: list[T] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def stream(ctx: ScanContext, stmt: Select[Any]) -> Iterator[Row[Any]]:
    """Run ``stmt`` and yield its rows a batch at a time, never the whole result at once."""
    result = ctx.conn.execute(stmt.execution_options(yield_per=STREAM_BATCH))
    try:
        yield from result
    finally:
        result.close()


def latest_status(ctx: ScanContext) -> Subquery:
    """The latest ``hop_status`` row at or before ``as_of`` of each hop that has one.

    Columns: ``event_id``, ``status``, ``error``, ``at``.
    """
    rank = func.row_number().over(
        partition_by=hop_status.c.event_id, order_by=hop_status.c.seq.desc()
    )
    ranked = (
        select(
            hop_status.c.event_id,
            hop_status.c.status,
            hop_status.c.error,
            hop_status.c.at,
            rank.label("rank"),
        )
        .where(hop_status.c.at <= ctx.as_of)
        .subquery("ranked_status")
    )
    return (
        select(ranked.c.event_id, ranked.c.status, ranked.c.error, ranked.c.at)
        .where(ranked.c.rank == 1)
        .subquery("latest_status")
    )


FAILED_TABLE = Table(
    "lineage_scan_failed_hops",
    MetaData(),
    Column("seq", BigInteger, primary_key=True),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
"""A temporary table (one connection, one scan) of the hops failed as of the scan."""


def failed_hops(ctx: ScanContext) -> Select[Any]:
    """The ``seq`` of every hop whose status as of the scan is ``failed``.

    Sequence numbers rather than ids, because ``seq`` is in every index of ``events``
    (SQLite's rowid): checking a candidate against this set needs no look-up in the table.
    The set is computed once per scan into :data:`FAILED_TABLE`, a temporary table: a
    subquery in its place would be evaluated again inside every correlated look-up on
    PostgreSQL. :func:`lineage.detect.run.scan_context` creates it first thing, on a fresh
    connection; PostgreSQL drops it when the scan's transaction ends, :func:`drop_shared`
    drops it on SQLite.
    """
    if "failed_hops" not in ctx.shared:
        for statement in (
            DropTable(FAILED_TABLE, if_exists=True),
            CreateTable(FAILED_TABLE),
            insert(FAILED_TABLE).from_select(["seq"], _failed_query(ctx)),
        ):
            ctx.conn.execute(statement)
        ctx.shared["failed_hops"] = True
    return select(FAILED_TABLE.c.seq)


def drop_shared(ctx: ScanContext) -> None:
    """Drop what :func:`failed_hops` created for this scan, if anything."""
    if ctx.shared.pop("failed_hops", None) and ctx.conn.dialect.name != "postgresql":
        ctx.conn.execute(DropTable(FAILED_TABLE, if_exists=True))


def _failed_query(ctx: ScanContext) -> Select[Any]:
    """Hops failed as of the scan: through the partial index on undelivered hops and the
    (small) ``hop_status`` table; never the whole event table."""
    later = latest_status(ctx)
    relabelled = (
        select(events.c.seq)
        .select_from(later.join(events, events.c.event_id == later.c.event_id))
        .where(later.c.status == FAILED)
    )
    sent_failed = select(events.c.seq).where(
        UNDELIVERED,
        events.c.status == FAILED,
        events.c.at <= ctx.as_of,
        not_(events.c.event_id.in_(select(later.c.event_id))),
    )
    return relabelled.union_all(sent_failed)  # type: ignore[return-value]


def holds_value(table: FromClause, failed: Select[Any]) -> ColumnElement[bool]:
    """Rows of ``table`` (an events alias) that leave a value: writes, snapshots, live hops."""
    return not_(table.c.seq.in_(failed))


def explains_value(table: FromClause, failed: Select[Any]) -> ColumnElement[bool]:
    """Rows that explain a value (writes and live hops; a snapshot only observes)."""
    return and_(table.c.kind != SNAPSHOT, holds_value(table, failed))


def when(micros: int | None) -> str | None:
    """Microseconds as ISO 8601 text (None stays None)."""
    return iso(micros) if micros is not None else None


def shown(value: str | None) -> str:
    """A value quoted for a message; null as ``null``."""
    return "null" if value is None else repr(value)


def inputs_of(ctx: ScanContext, event_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The inputs of a few hops, by hop id, in position order (for evidence)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(event_ids), 500):
        chunk = list(event_ids[start : start + 500])
        rows = ctx.conn.execute(
            select(
                hop_inputs.c.event_id,
                hop_inputs.c.system,
                hop_inputs.c.element,
                hop_inputs.c.record,
                hop_inputs.c.value,
            )
            .where(hop_inputs.c.event_id.in_(chunk))
            .order_by(hop_inputs.c.event_id, hop_inputs.c.position)
        )
        for row in rows:
            found.setdefault(row.event_id, []).append(
                {
                    "system": row.system,
                    "element": row.element,
                    "record": row.record,
                    "value": row.value,
                }
            )
    return found


def _holder_terms(
    src: FromClause,
    place: tuple[Any, Any, Any],
    at: Any,
    failed: Select[Any],
    *,
    explaining: bool,
    exclude_seq: Any = None,
) -> list[ColumnElement[bool]]:
    system, element, record = place
    terms = [
        src.c.system == system,
        src.c.element == element,
        src.c.record == record,
        src.c.at <= at,
        explains_value(src, failed) if explaining else holds_value(src, failed),
    ]
    if exclude_seq is not None:
        terms.append(src.c.seq != exclude_seq)
    return terms


def agrees_with_holder(
    place: tuple[Any, Any, Any],
    at: Any,
    value_norm: Any,
    failed: Select[Any],
    *,
    explaining: bool = False,
    exclude_seq: Any = None,
    correlate: Sequence[FromClause] = (),
) -> Any:
    """A correlated look-up: 1 when the latest event holding a value at ``place`` at or
    before ``at`` holds ``value_norm``, 0 when it holds another, NULL when there is none.

    One index probe of ``ix_events_place_at`` per row, answered from the index alone on
    SQLite. Returning the verdict rather than the event keeps the look-up to one mention
    (a join back to the event would make PostgreSQL hash the whole table, and SQLite repeat
    the look-up for every mention of a flattened column); the few rows that do not agree
    are detailed afterwards with :func:`holder`.

    Args:
        explaining: consider only writes and live hops (a snapshot only observes).
    """
    src = events.alias("src")
    agrees = case((src.c.value_norm.is_not_distinct_from(value_norm), 1), else_=0)
    return (
        select(agrees)
        .where(
            *_holder_terms(src, place, at, failed, explaining=explaining, exclude_seq=exclude_seq)
        )
        .order_by(src.c.at.desc(), src.c.seq.desc())
        .limit(1)
        .correlate(*correlate)
        .scalar_subquery()
    )


def holder(
    ctx: ScanContext,
    place: tuple[str, str, str],
    at: int,
    *,
    explaining: bool = False,
    exclude_seq: int | None = None,
) -> Row[Any, Any, Any, Any, Any] | None:
    """The latest event holding a value at ``place`` at or before ``at`` (see
    :func:`agrees_with_holder`): ``seq, event_id, kind, at, value``, or None."""
    src = events.alias("src")
    terms = _holder_terms(
        src, place, at, failed_hops(ctx), explaining=explaining, exclude_seq=exclude_seq
    )
    return ctx.conn.execute(
        select(src.c.seq, src.c.event_id, src.c.kind, src.c.at, src.c.value)
        .where(*terms)
        .order_by(src.c.at.desc(), src.c.seq.desc())
        .limit(1)
    ).first()
