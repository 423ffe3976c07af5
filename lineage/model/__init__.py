"""Pydantic domain models: the registry, runtime events and findings. No SQLAlchemy here."""

from __future__ import annotations

from .events import EVENT_ADAPTER as EVENT_ADAPTER
from .events import Hop as Hop
from .events import HopStatus as HopStatus
from .events import Place as Place
from .events import PlacedValue as PlacedValue
from .events import Snapshot as Snapshot
from .events import Write as Write
from .events import event_id as event_id
from .findings import CODES as CODES
from .findings import Finding as Finding
from .findings import Severity as Severity
from .findings import Subject as Subject
from .registry import Carry as Carry
from .registry import Element as Element
from .registry import ElementType as ElementType
from .registry import Integration as Integration
from .registry import Location as Location
from .registry import Registry as Registry
from .registry import Rule as Rule
from .registry import System as System
from .registry import Waiver as Waiver

__all__ = [
    "CODES",
    "EVENT_ADAPTER",
    "Carry",
    "Element",
    "ElementType",
    "Finding",
    "Hop",
    "HopStatus",
    "Integration",
    "Location",
    "Place",
    "PlacedValue",
    "Registry",
    "Rule",
    "Severity",
    "Snapshot",
    "Subject",
    "System",
    "Waiver",
    "Write",
    "event_id",
]
