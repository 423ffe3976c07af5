"""What every detector receives and returns."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..model.findings import Finding
from ..model.registry import Registry
from ..rules import Judged
from ..store import Store
from ..store.detection import Connection
from ..verify import HopVerifier
from .scope import Scope


@dataclass(slots=True)
class ScanContext:
    """One scan: the store, its registry, the moment it judges as of, and an open connection.

    Attributes:
        store: the store being scanned.
        registry: the declarations in force (the latest loaded registry).
        as_of: the moment judged, in microseconds since the epoch (events after it are
            ignored; a hop still ``sent`` past its timeout at that moment is lost).
        conn: a connection detectors share (read-only use).
        verifier: re-runs transforms and normalizes values by element type.
        shared: what detectors compute once per scan and share.
        scope: what changed since the last judgement (:mod:`lineage.detect.scope`), or None
            for the whole store. A detector may look only at what it covers; the scan keeps
            only the findings it covers either way.
        judged: ``as_of`` and why that moment (``--as-of``, the store's clock, the wall clock
            of an empty store), for the answer to say.
    """

    store: Store
    registry: Registry
    as_of: int
    conn: Connection
    verifier: HopVerifier
    shared: dict[str, Any] = field(default_factory=dict)
    scope: Scope | None = None
    judged: Judged | None = None


Detector = Callable[[ScanContext], Iterable[Finding]]
