"""The registry: systems, elements and integrations as declared in YAML (docs/CONTRACT.md §1).

Every declaration remembers where it was written (:class:`Location`) so that a finding can
name the file and line. Models are frozen values; the loader builds them, nothing mutates them.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from decimal import Decimal
from enum import StrEnum
from fnmatch import fnmatchcase
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..limits import LIMITS


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Location(_Frozen):
    """Where a declaration stands: a file and a 1-based line."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


class ElementType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"


class Level(StrEnum):
    FOUNDATION = "foundation"
    OPERATIONS = "operations"
    INTELLIGENCE = "intelligence"
    EXPERIENCE = "experience"


class Mode(StrEnum):
    REALTIME = "realtime"
    BATCH = "batch"
    MANUAL = "manual"


class Cardinality(StrEnum):
    ONE_TO_ONE = "one-to-one"
    FAN_OUT = "fan-out"


RULE_KINDS = ("not_null", "min", "max", "pattern", "one_of")


def _bounded_number(arg: float) -> bool:
    """A rule bound values can be compared with: finite, within ``LINEAGE_MAX_EXPONENT``."""
    if isinstance(arg, float) and not math.isfinite(arg):
        return False
    number = Decimal(str(arg))
    return number.is_zero() or -LIMITS.exponent <= number.adjusted() <= LIMITS.exponent


class Rule(_Frozen):
    """A rule: ``not_null``, ``{min: N}``, ``{max: N}``, ``{pattern: RE}``, ``{one_of: [...]}``."""

    kind: str
    arg: Any = None

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, data: Any) -> Any:
        if isinstance(data, str):
            if data != "not_null":
                raise ValueError(
                    f"unknown rule {data!r}: use not_null, min, max, pattern or one_of"
                )
            return {"kind": "not_null"}
        if isinstance(data, dict) and "kind" not in data:
            if len(data) != 1:
                raise ValueError(f"a rule is one key, e.g. {{min: 0}}; got {sorted(data)}")
            ((kind, arg),) = data.items()
            return {"kind": kind, "arg": arg}
        return data

    @model_validator(mode="after")
    def _check(self) -> Rule:
        if self.kind not in RULE_KINDS:
            raise ValueError(f"unknown rule {self.kind!r}: use one of {', '.join(RULE_KINDS)}")
        if self.kind in ("min", "max") and not isinstance(self.arg, int | float):
            raise ValueError(f"rule {self.kind} takes a number, got {self.arg!r}")
        if self.kind in ("min", "max") and not _bounded_number(self.arg):
            raise ValueError(
                f"rule {self.kind} takes a finite number within 1e+/-{LIMITS.exponent} "
                f"(LINEAGE_MAX_EXPONENT), got {str(self.arg)[:40]}"
            )
        if self.kind == "pattern":
            if not isinstance(self.arg, str):
                raise ValueError("rule pattern takes a regular expression string")
            try:
                re.compile(self.arg)
            except re.error as exc:
                raise ValueError(f"rule pattern {self.arg!r} is not a valid regex: {exc}") from exc
        if self.kind == "one_of" and not isinstance(self.arg, list):
            raise ValueError("rule one_of takes a list of allowed values")
        return self

    def __str__(self) -> str:
        return self.kind if self.kind == "not_null" else f"{self.kind}: {self.arg!r}"


class Pattern(_Frozen):
    """An OpenLineage name or glob pattern (``s3://lake-*``), and where it was written.

    Patterns are shell-style globs matched case-sensitively on the whole name: ``*`` is any
    text (``/`` included), ``?`` one character, ``[abc]`` one of a set. A name without those
    characters matches only itself.
    """

    pattern: str = Field(min_length=1)
    location: Location | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        return {"pattern": data} if isinstance(data, str) else data

    @property
    def exact(self) -> bool:
        """True when the pattern has no glob characters (it names one thing)."""
        return not any(c in self.pattern for c in "*?[")

    def matches(self, name: str) -> bool:
        return name == self.pattern if self.exact else fnmatchcase(name, self.pattern)

    def overlaps(self, other: Pattern) -> bool:
        """True when some name is matched by both (exact for names; for two globs, when
        one matches the other's text, which catches ``a-*`` against ``a-*`` or ``*``)."""
        return (
            self.pattern == other.pattern
            or self.matches(other.pattern)
            or other.matches(self.pattern)
        )

    def __str__(self) -> str:
        return self.pattern


class DatasetField(_Frozen):
    """Where an element is held, as OpenLineage names it: a dataset's field in one system.

    ``dataset`` is the OpenLineage dataset name inside one of the system's namespaces
    (``public.customers``, ``mock-project.test.upload``), ``field`` the column.
    """

    system: str
    dataset: str = Field(min_length=1)
    field: str = Field(min_length=1)
    location: Location | None = None


class System(_Frozen):
    name: str
    owner: str | None = None
    description: str | None = None
    openlineage_namespaces: tuple[Pattern, ...] = ()
    location: Location | None = None


class Element(_Frozen):
    name: str
    system_of_origin: str | None = None
    system_of_record: str | None = None
    owner: str | None = None
    type: ElementType = ElementType.STRING
    rules: tuple[Rule, ...] = ()
    description: str | None = None
    openlineage_fields: tuple[DatasetField, ...] = ()
    location: Location | None = None


class Carry(_Frozen):
    """One element an integration carries, and the transform applied on the way.

    ``inputs`` names the source elements when they differ from the carried one (for example
    ``order.line_amount`` summed into ``invoice.total``); by default the element itself.
    """

    element: str
    transform: str = "identity"
    inputs: tuple[str, ...] = ()
    location: Location | None = None

    @property
    def input_elements(self) -> tuple[str, ...]:
        return self.inputs or (self.element,)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | int | float) -> dt.timedelta:
    """``"90s"``, ``"15m"``, ``"1h"``, ``"2d"``, ``"1w"`` (or seconds) as a timedelta.

    Raises:
        ValueError: not a duration, or longer than Python's timedelta (999,999,999 days).
    """
    try:
        if isinstance(text, int | float):
            return dt.timedelta(seconds=text)
        match = _DURATION.match(text)
        if not match:
            raise ValueError(f"duration {text!r} is not like 30s, 15m, 1h, 2d or 1w")
        return dt.timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    except OverflowError:
        raise ValueError(
            f"duration {str(text)[:40]!r} is too long: at most 999999999 days"
        ) from None


class Integration(_Frozen):
    name: str
    source: str
    target: str
    owner: str | None = None
    level: Level | None = None
    mode: Mode | None = None
    purpose: str | None = None
    fallback: str | None = None
    cardinality: Cardinality = Cardinality.ONE_TO_ONE
    timeout: dt.timedelta = dt.timedelta(hours=1)
    carries: tuple[Carry, ...] = ()
    description: str | None = None
    openlineage_jobs: tuple[Pattern, ...] = ()
    location: Location | None = None

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip().upper().startswith("P"):
            return parse_duration(value)  # ISO 8601 (PT1H) is left to pydantic
        return value

    def carry(self, element: str) -> Carry | None:
        """The carry that delivers ``element`` to the target, if declared."""
        return next((c for c in self.carries if c.element == element), None)


class Waiver(_Frozen):
    """A finding accepted on purpose, by a person, maybe until a date."""

    code: str
    subject: dict[str, str] = Field(default_factory=dict)
    reason: str | None = None
    owner: str | None = None
    expires: dt.date | None = None
    location: Location | None = None

    def matches(self, code: str, subject: dict[str, str | None]) -> bool:
        """True when this waiver covers a finding with ``code`` on ``subject``."""
        if code != self.code:
            return False
        return all(subject.get(key) == value for key, value in self.subject.items())

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today


def blank(text: str | None) -> bool:
    """True for a missing or whitespace-only value: an owner of ``""`` names nobody.

    >>> blank(None), blank("  "), blank("carol@example.com")
    (True, True, False)
    """
    return text is None or not text.strip()


def _merged(declarations: list[Element]) -> Element:
    """One element as all its declarations together say it: each field from the first
    declaration that sets it (an owner: the first that names somebody; a type: the first
    other than ``string``), the rules and OpenLineage fields of all of them (each once), the
    first declaration's place."""
    first = declarations[0]
    if len(declarations) == 1:
        return first
    update: dict[str, Any] = {}
    for name in ("system_of_origin", "system_of_record", "owner", "description"):
        update[name] = next((v for d in declarations if not blank(v := getattr(d, name))), None)
    # the type: the first that names one other than the default (a registry read back from
    # the store has every field set, so "sets it" cannot be told from the fields set)
    update["type"] = next(
        (d.type for d in declarations if d.type != ElementType.STRING), first.type
    )
    for name in ("rules", "openlineage_fields"):
        combined: list[Any] = []
        for declaration in declarations:
            combined += (item for item in getattr(declaration, name) if item not in combined)
        update[name] = tuple(combined)
    return first.model_copy(update=update)


class Registry(_Frozen):
    """Every declaration read from one or many files, merged, in reading order.

    Repeated element declarations are kept (two teams may both declare ``tax.rate``, one
    naming its system of record, the other its rules): the checks report conflicts between
    them, and every question takes the element as all of them together say it
    (:meth:`element`, :attr:`merged_elements`: each field from the first declaration that
    sets it), so that a detector, a trace and a diff never read different declarations.
    """

    systems: tuple[System, ...] = ()
    elements: tuple[Element, ...] = ()
    integrations: tuple[Integration, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    lookups: dict[str, dict[str, str]] = Field(default_factory=dict)
    files: tuple[str, ...] = ()

    @cached_property
    def _systems_by_name(self) -> dict[str, System]:
        return {s.name: s for s in reversed(self.systems)}

    @cached_property
    def _elements_by_name(self) -> dict[str, Element]:
        declarations: dict[str, list[Element]] = {}
        for element in self.elements:
            declarations.setdefault(element.name, []).append(element)
        return {name: _merged(found) for name, found in declarations.items()}

    @property
    def merged_elements(self) -> tuple[Element, ...]:
        """Each declared element once, in order of first declaration, as all its
        declarations together say it (see :meth:`element`)."""
        return tuple(self._elements_by_name.values())

    @cached_property
    def _integrations_by_name(self) -> dict[str, Integration]:
        return {i.name: i for i in reversed(self.integrations)}

    @cached_property
    def _integrations_by_route(self) -> dict[tuple[str, str, str], list[Integration]]:
        routes: dict[tuple[str, str, str], list[Integration]] = {}
        for integ in self.integrations:
            for carry in integ.carries:
                routes.setdefault((integ.source, integ.target, carry.element), []).append(integ)
        return routes

    def system(self, name: str) -> System | None:
        return self._systems_by_name.get(name)

    def element(self, name: str) -> Element | None:
        """The element ``name`` as all its declarations together say it: each field from the
        first declaration that sets it, the rules of all of them."""
        return self._elements_by_name.get(name)

    def integration(self, name: str) -> Integration | None:
        return self._integrations_by_name.get(name)

    def integrations_for(self, source: str, target: str, element: str) -> Iterator[Integration]:
        """Integrations from ``source`` to ``target`` that carry ``element`` (indexed)."""
        yield from self._integrations_by_route.get((source, target, element), ())

    # -- OpenLineage mapping (systems' namespaces, elements' dataset fields, integrations' jobs)

    @cached_property
    def _namespaces(self) -> tuple[dict[str, str], list[tuple[Pattern, str]]]:
        exact: dict[str, str] = {}
        globs: list[tuple[Pattern, str]] = []
        for system in self.systems:
            for pattern in system.openlineage_namespaces:
                if pattern.exact:
                    exact.setdefault(pattern.pattern, system.name)
                else:
                    globs.append((pattern, system.name))
        return exact, globs

    @cached_property
    def _fields(self) -> dict[tuple[str, str, str], str]:
        found: dict[tuple[str, str, str], str] = {}
        for element in self.elements:
            for held in element.openlineage_fields:
                found.setdefault((held.system, held.dataset, held.field), element.name)
        return found

    @cached_property
    def _jobs(self) -> list[tuple[Pattern, Integration]]:
        return [(p, i) for i in self.integrations for p in i.openlineage_jobs]

    @property
    def maps_openlineage(self) -> bool:
        """True when any system declares OpenLineage namespaces."""
        exact, globs = self._namespaces
        return bool(exact or globs)

    def system_of_namespace(self, namespace: str) -> str | None:
        """The system an OpenLineage dataset namespace is (an exact name before a pattern)."""
        exact, globs = self._namespaces
        found = exact.get(namespace)
        if found is not None:
            return found
        return next((system for pattern, system in globs if pattern.matches(namespace)), None)

    def element_at(self, system: str, dataset: str, field: str) -> str | None:
        """The element held in ``field`` of OpenLineage ``dataset`` in ``system``, if mapped."""
        return self._fields.get((system, dataset, field))

    def fields_of(self, system: str, dataset: str) -> dict[str, str]:
        """The mapped fields of one dataset in one system: field -> element."""
        return {f: e for (s, d, f), e in self._fields.items() if s == system and d == dataset}

    def integrations_of_job(self, job: str) -> list[Integration]:
        """The integrations an OpenLineage job (``namespace/name``) runs."""
        return [integ for pattern, integ in self._jobs if pattern.matches(job)]
