"""One consistent read on two connections: PostgreSQL's exported snapshots.

A full scan runs its detectors on two connections at once (:mod:`lineage.detect.run`). On
PostgreSQL the second connection imports the first one's snapshot, so both read exactly the
same committed state, whatever commits in between (``pg_export_snapshot``, ``SET TRANSACTION
SNAPSHOT``). SQLite has no such thing: each connection reads the state at its first read
(WAL mode), so two connections opened a moment apart may differ by a commit in that moment;
the second lane then finds another watermark than the first lane's and leaves its detectors
to the first (:func:`lineage.detect.run.run_detectors`).
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, text

__all__ = ["export_snapshot", "import_snapshot"]

# what pg_export_snapshot() returns: hexadecimal fields joined by dashes ("00000003-0000001B-1")
_SNAPSHOT = re.compile(r"[0-9A-Fa-f]+(?:-[0-9A-Fa-f]+)+")


def export_snapshot(conn: Connection) -> str | None:
    """The snapshot of ``conn``'s open ``REPEATABLE READ`` transaction, for another connection
    to import while that transaction stays open (None: the backend cannot share one)."""
    if conn.dialect.name != "postgresql":
        return None
    found = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
    return str(found) if found is not None else None


def import_snapshot(conn: Connection, snapshot: str) -> None:
    """Make ``conn``'s new ``REPEATABLE READ`` transaction read ``snapshot`` (its first
    statement). The identifier is the server's own, checked for its shape: the statement
    takes no bound parameter."""
    if not _SNAPSHOT.fullmatch(snapshot):
        raise ValueError(f"not a snapshot identifier: {snapshot!r}")
    conn.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
