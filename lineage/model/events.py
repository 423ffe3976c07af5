"""Runtime events (docs/CONTRACT.md §2): writes, hops and snapshots, as sent by integrations.

Values travel as JSON strings or numbers; the engine keeps them as text exactly as sent (a
number keeps its JSON spelling) and compares them by the element's declared type.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, field_validator


def _value_text(value: Any) -> str | None:
    """A JSON scalar as the text the store keeps: strings as they are, numbers as spelled."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        # JSON has no NaN or Infinity; a number too large for a float reads as one.
        raise ValueError(
            "NaN, Infinity and numbers beyond 1e308 are not values: send a finite "
            "number, a decimal string, or null"
        )
    if isinstance(value, int | float):
        return json.dumps(value)
    raise ValueError(f"a value must be a JSON string or number, got {type(value).__name__}")


Value = Annotated[str | None, BeforeValidator(_value_text)]


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("a time needs a timezone, e.g. 2026-11-20T09:00:00Z")
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(
            f"{value.isoformat()} is outside years 1 to 9999 once in UTC; send a time in range"
        ) from None


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Place(_Event):
    """Where a value lives: one element of one record in one system."""

    system: str = Field(min_length=1)
    element: str = Field(min_length=1)
    record: str = Field(min_length=1)

    @field_validator("record", mode="before")
    @classmethod
    def _record_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class PlacedValue(Place):
    value: Value = None


class HopStatus(StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


class Write(PlacedValue):
    """A value created or edited inside a system."""

    kind: Literal["write"]
    id: str | None = Field(default=None, min_length=1)
    at: dt.datetime
    actor: str | None = None

    _at = field_validator("at")(_utc)


class Snapshot(PlacedValue):
    """What a system was observed to hold at a moment."""

    kind: Literal["snapshot"]
    id: str | None = Field(default=None, min_length=1)
    at: dt.datetime
    source: str | None = None

    _at = field_validator("at")(_utc)


class Hop(_Event):
    """One value (or several inputs) moving into one system's record through an integration."""

    kind: Literal["hop"]
    id: str | None = Field(default=None, min_length=1)
    at: dt.datetime
    integration: str | None = None
    inputs: tuple[PlacedValue, ...] = Field(min_length=1)
    output: PlacedValue
    transform: str | None = None
    status: HopStatus = HopStatus.DELIVERED
    error: str | None = None
    actor: str | None = None

    _at = field_validator("at")(_utc)


Event = Annotated[Write | Hop | Snapshot, Field(discriminator="kind")]
EVENT_ADAPTER: TypeAdapter[Write | Hop | Snapshot] = TypeAdapter(Event)


def event_id(event: Write | Hop | Snapshot) -> str:
    """The event's own id, or a stable hash of its content when it has none.

    The hash leaves out a hop's ``status`` and ``error`` so that a status update sent without
    an id still lands on the same hop.
    """
    if event.id is not None:
        return event.id
    content = event.model_dump(mode="json", exclude={"id", "status", "error"})
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    # surrogatepass: defined for any text (the writer refuses unpaired surrogates itself)
    data = canonical.encode("utf-8", "surrogatepass")
    return f"{event.kind[0]}-" + hashlib.sha256(data).hexdigest()[:32]
