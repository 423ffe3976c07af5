"""lineage: value-level data lineage and golden-record tracking.

Every data element has one system of origin, exactly one system of record and one owner;
data may flow anywhere, but truth has a home, and every hop leaves a trail.

Example:
    >>> import lineage
    >>> with lineage.Recorder("sqlite:///lineage.db") as rec:  # doctest: +SKIP
    ...     rec.write(system="CRM", element="customer.address", record="C-1042",
    ...               value="12 Main St")

The names that need the database layer (SQLAlchemy, Alembic) are imported on first use, so
that ``lineage check`` in a CI gate starts without them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .diff import diff_registries as diff_registries
from .errors import ConflictError as ConflictError
from .errors import EventError as EventError
from .errors import InputError as InputError
from .errors import LineageError as LineageError
from .errors import NotFoundError as NotFoundError
from .errors import RegistryError as RegistryError
from .errors import StoreError as StoreError
from .errors import TransformError as TransformError
from .model import Finding as Finding
from .model import Hop as Hop
from .model import Registry as Registry
from .model import Severity as Severity
from .model import Snapshot as Snapshot
from .model import Write as Write
from .registry import check_registry as check_registry
from .registry import load_registry as load_registry
from .transforms import parse_transform as parse_transform
from .transforms import register as register_transform

if TYPE_CHECKING:
    from .detect.run import scan as scan
    from .golden import golden as golden
    from .impact import impact as impact
    from .recorder import Recorder as Recorder
    from .store import Store as Store
    from .store import open_store as open_store
    from .trace import trace as trace

_LAZY = {
    "Recorder": "lineage.recorder",
    "Store": "lineage.store",
    "open_store": "lineage.store",
    "trace": "lineage.trace",
    "impact": "lineage.impact",
    "golden": "lineage.golden",
    "scan": "lineage.detect.run",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lineage' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "ConflictError",
    "EventError",
    "Finding",
    "Hop",
    "InputError",
    "LineageError",
    "NotFoundError",
    "Recorder",
    "Registry",
    "RegistryError",
    "Severity",
    "Snapshot",
    "Store",
    "StoreError",
    "TransformError",
    "Write",
    "check_registry",
    "diff_registries",
    "golden",
    "impact",
    "load_registry",
    "open_store",
    "parse_transform",
    "register_transform",
    "scan",
    "trace",
]
