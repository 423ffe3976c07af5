"""``undeclared-integration``'s statements: the hops recorded as undeclared (the partial index
on undeclared hops), those recorded as declared on a route since withdrawn, and the earlier
registry versions that say which routes were withdrawn. In a scoped judgement only the groups
the scope names are read: hops naming one of its integrations, or naming none and reaching
one of its routes' (target, element)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from sqlalchemy import Connection, Row, and_, false, func, or_, select, true

from ..schema import UNDECLARED, events, hop_inputs, registry_versions
from .common import HOP, stream

_SOURCE = (
    select(func.min(hop_inputs.c.system))
    .where(hop_inputs.c.event_id == events.c.event_id)
    .correlate(events)
    .scalar_subquery()
)
_COLUMNS = (
    events.c.event_id,
    events.c.at,
    events.c.integration,
    events.c.system,
    events.c.element,
    events.c.record,
    _SOURCE.label("source"),
)


def undeclared_hops(
    conn: Connection,
    as_of: int,
    *,
    integrations: Collection[str] | None = None,
    targets: Collection[tuple[str, str]] | None = None,
) -> Iterator[Row[Any]]:
    """Rows ``event_id, at, integration, system, element, record, source`` of the hops
    recorded as travelling on no declared integration; with ``integrations`` and ``targets``
    only the hops naming one of those integrations, or naming none and reaching one of those
    (system, element) pairs."""
    query = select(*_COLUMNS).where(UNDECLARED, events.c.kind == HOP, events.c.at <= as_of)
    if integrations is None and targets is None:
        return stream(conn, query)
    # the undeclared hops first (the partial index), then the groups asked for: left to
    # choose, SQLite read every hop of the named integrations through ix_events_integration
    # for the OR below (a 1,000-event batch at 1M events: 0.5 s of its 1.0 s judgement)
    hops = query.cte("undeclared").prefix_with("MATERIALIZED")
    named = hops.c.integration.in_(sorted(integrations or ()))
    unnamed = [
        and_(hops.c.system == system, hops.c.element == element)
        for system, element in sorted(targets or ())
    ]
    reaching = or_(false(), *unnamed)
    return stream(
        conn, select(hops).where(or_(named, and_(hops.c.integration.is_(None), reaching)))
    )


def declared_hops_on(
    conn: Connection, as_of: int, integration: str, target: str, element: str
) -> list[Row[Any]]:
    """The hops recorded as declared on ``integration`` into ``target`` carrying ``element``
    (same columns as :func:`undeclared_hops`)."""
    return list(
        conn.execute(
            select(*_COLUMNS).where(
                events.c.element == element,
                events.c.system == target,
                events.c.kind == HOP,
                events.c.integration == integration,
                events.c.declared == true(),
                events.c.at <= as_of,
            )
        )
    )


def earlier_registry_digests(conn: Connection) -> list[str]:
    """The digests of every registry version but the latest, newest first, each once (a
    digest is the SHA-256 of the version's document: it names that document for good)."""
    query = select(registry_versions.c.digest).order_by(registry_versions.c.id.desc()).offset(1)
    return list(dict.fromkeys(str(digest) for digest in conn.execute(query).scalars()))


def registry_document(conn: Connection, digest: str) -> str | None:
    """The document of the registry version with ``digest`` (None: there is none)."""
    query = (
        select(registry_versions.c.document)
        .where(registry_versions.c.digest == digest)
        .order_by(registry_versions.c.id)
        .limit(1)
    )
    document = conn.execute(query).scalar()
    return None if document is None else str(document)
