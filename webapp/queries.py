"""The questions a reader asks, as query-string models shared by the JSON API and the pages.

Field names are the parameter names; an empty parameter (a form field left blank) counts as
not given. A time without a zone is UTC, as on the command line.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, TypeVar

from flask import request
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from werkzeug.exceptions import BadRequest

from lineage.detect.run import RUNTIME_CODES

SCAN_CODES: tuple[str, ...] = tuple(sorted(RUNTIME_CODES | {"expired-waiver", "unused-waiver"}))
"""The codes a scan reports (``lineage scan --code``)."""

PAGE_SIZE = 500
"""Findings per answer of ``GET /api/v1/findings`` and per findings page, unless asked."""
MAX_PAGE_SIZE = 10_000
MAX_OFFSET = 1_000_000_000_000
"""The largest ``offset`` a paged answer takes (far beyond any store, and within the
databases' 64-bit integers with a page added: a larger one is a 400, not a server error)."""

Name = Annotated[str, StringConstraints(min_length=1, max_length=500)]
"""A system, element or record key as a parameter: not blank, not huge."""


class _Query(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_missing(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                for text in value if isinstance(value, list) else [value]:
                    if isinstance(text, str) and "\x00" in text:
                        # no store holds one (PostgreSQL cannot): nothing to look up
                        raise ValueError(f"{key} holds a NUL character (%00): remove it")
            return {key: value for key, value in data.items() if value not in ("", [])}
        return data


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(
            f"{moment.isoformat()} is outside years 1 to 9999 once in UTC; give a time in range"
        ) from None


class AsOf(_Query):
    as_of: dt.datetime | None = Field(
        default=None,
        description="Answer as the store was at this moment (ISO 8601, e.g. "
        "2026-11-20T09:00:00Z; UTC when no zone is given). Default: now.",
    )

    @field_validator("as_of")
    @classmethod
    def _zone(cls, value: dt.datetime | None) -> dt.datetime | None:
        return _utc(value)


class PlaceQuery(AsOf):
    """A value's place: the system, the element and the record key as known in that system."""

    system: Name = Field(description="The system holding the value, e.g. BI.")
    element: Name = Field(description="The data element, e.g. order.total.")
    record: Name = Field(description="The record key as known in that system.")


class GraphQuery(PlaceQuery):
    """A place, and how far from it to draw (a diagram grown one step at a time)."""

    up: int | None = Field(
        default=None, ge=1, le=1000, description="A trace: draw this many hops upstream."
    )
    down: int | None = Field(
        default=None, ge=1, le=1000, description="An impact: draw this many hops downstream."
    )


class RecordQuery(AsOf):
    """A business record, by its key in any one system it is known in."""

    system: Name = Field(description="A system the record is known in, e.g. ERP.")
    record: Name = Field(description="The record's key in that system.")


class FindingsQuery(AsOf):
    """Which findings of the scan to keep (each may repeat; none given keeps all)."""

    system: list[str] = Field(default_factory=list, description="Only findings about this system.")
    element: list[str] = Field(
        default_factory=list, description="Only findings about this element."
    )
    owner: list[str] = Field(
        default_factory=list,
        description="Only findings this person owns ('(unowned)' for findings without one).",
    )
    code: list[str] = Field(
        default_factory=list,
        description="Only findings with this code: " + ", ".join(SCAN_CODES) + ".",
    )
    integration: list[str] = Field(
        default_factory=list, description="Only findings about this integration."
    )
    state: Literal["open", "resolved", "all"] = Field(
        default="open",
        description="Which stored findings: open (default), resolved, or all. Not with as_of.",
    )
    since: dt.datetime | None = Field(
        default=None,
        description="Only findings opened (resolved, with state=resolved|all) at or after this "
        "time of the store's clock (ISO 8601; UTC when no zone is given). Not with as_of.",
    )
    limit: int = Field(
        default=PAGE_SIZE,
        ge=1,
        le=MAX_PAGE_SIZE,
        description=f"At most this many findings in the answer (default {PAGE_SIZE}, at most "
        f"{MAX_PAGE_SIZE}); next gives the following page.",
    )
    offset: int = Field(
        default=0, ge=0, le=MAX_OFFSET, description="Skip this many findings (paging)."
    )

    @field_validator("since")
    @classmethod
    def _since_zone(cls, value: dt.datetime | None) -> dt.datetime | None:
        return _utc(value)

    @property
    def every_open(self) -> bool:
        """Whether the query keeps every stored open finding (no filter, no moment)."""
        narrowed = (self.system, self.element, self.owner, self.code, self.integration)
        return (
            self.as_of is None and self.state == "open" and self.since is None and not any(narrowed)
        )

    @model_validator(mode="after")
    def _live_or_stored(self) -> FindingsQuery:
        if self.as_of is not None and (self.state != "open" or self.since is not None):
            raise ValueError(
                "as_of judges the store live as it was then; it cannot be combined with "
                "state or since, which read the stored findings"
            )
        return self

    @field_validator("code")
    @classmethod
    def _known_codes(cls, value: list[str]) -> list[str]:
        for code in value:
            if code not in SCAN_CODES:
                raise ValueError(f"unknown code {code!r}: use one of {', '.join(SCAN_CODES)}")
        return value


class SearchQuery(_Query):
    """Text to find: a name of the registry or the start of a record key."""

    q: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="What to find, e.g. R-17, order or bianca."
    )
    limit: int = Field(default=10, ge=1, le=50, description="At most this many hits (1-50).")


LIST_FIELDS = ("system", "element", "owner", "code", "integration")
Q = TypeVar("Q", bound=_Query)


def _args(model: type[_Query]) -> dict[str, Any]:
    if model is FindingsQuery:
        data: dict[str, Any] = {}
        for key in request.args:
            values = [v for v in request.args.getlist(key) if v.strip()]
            data[key] = values if key in LIST_FIELDS else (values[0] if values else "")
        return data
    return request.args.to_dict()


def given(model: type[_Query]) -> bool:
    """True when the request names any of ``model``'s parameters (a blank form is not asked)."""
    names = set(model.model_fields)
    return any(value.strip() for key, value in request.args.items(multi=True) if key in names)


def reason(exc: ValidationError) -> str:
    """What is wrong with the parameters, in words: each named, at most three."""
    parts = []
    for error in exc.errors(include_url=False)[:3]:
        name = ".".join(str(p) for p in error["loc"][:1]) or "query"
        if error["type"] == "missing":
            parts.append(f"{name} is required")
        elif error["type"] == "value_error":
            parts.append(
                str(error["ctx"].get("error", error["msg"])) if "ctx" in error else error["msg"]
            )
        else:
            parts.append(f"{name}: {error['msg']}")
    return "; ".join(parts)


def read_query(model: type[Q]) -> Q:
    """The query string validated into ``model``.

    Raises:
        BadRequest: (400) a missing or malformed parameter, named, with what to give instead.
    """
    try:
        return model.model_validate(_args(model))
    except ValidationError as exc:
        raise BadRequest(f"bad query parameters: {reason(exc)}") from exc
