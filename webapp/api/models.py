"""The JSON the API answers with, as pydantic models (they also make the OpenAPI document)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lineage.store.writer import IngestResult


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class ErrorAnswer(_Answer):
    """Every 4xx and 5xx answer under ``/api``."""

    error: str = Field(description="What went wrong and what to do instead.")


class MarquezError(_Answer):
    """Every 4xx and 5xx answer of Marquez's read API, in Marquez's own shape."""

    code: int = Field(description="The HTTP status code.")
    message: str = Field(description="What went wrong.")


class EventError(_Answer):
    index: int | None = Field(description="Position of the event in the posted list (0-based).")
    id: str | None = Field(default=None, description="The event's id, when it has one.")
    reason: str


class IngestAnswer(_Answer):
    """Counts of one posted batch: the good events are kept whatever happens to the bad."""

    accepted: int = Field(description="New events recorded.")
    duplicate: int = Field(description="Events already recorded (re-sending changes nothing).")
    status_updates: int = Field(default=0, description="Later statuses of hops already known.")
    rejected: int = Field(description="Events refused; see errors.")
    errors: list[EventError] = Field(default_factory=list)
    warnings: list[EventError] = Field(
        default_factory=list,
        description="Events recorded with a remark, e.g. an OpenLineage eventTime without an "
        "offset, read as UTC.",
    )

    @classmethod
    def of(cls, result: IngestResult, ids: dict[int, str]) -> IngestAnswer:
        """The answer for ``result``; ``ids`` gives the ids sent, by position."""
        return cls(
            accepted=result.accepted,
            duplicate=result.duplicate,
            status_updates=result.status_updates,
            rejected=len(result.rejected),
            errors=[
                EventError(
                    index=r.line,
                    id=r.event_id or (ids.get(r.line) if r.line is not None else None),
                    reason=r.reason,
                )
                for r in result.rejected
            ],
            warnings=[
                EventError(index=w.line, id=w.event_id, reason=w.reason) for w in result.warnings
            ],
        )

    @property
    def status(self) -> int:
        """422 when events were sent and none of them was good, else 200."""
        good = self.accepted + self.duplicate + self.status_updates
        return 422 if self.rejected and not good else 200


def ids_by_position(items: list[Any]) -> dict[int, str]:
    return {
        i: item["id"]
        for i, item in enumerate(items)
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    }
