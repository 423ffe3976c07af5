"""Read registry YAML files and directories into one :class:`~lineage.model.Registry`.

Each team may own a file; a directory is read whole (``*.yaml`` and ``*.yml``, recursively,
in sorted order) and everything is merged in reading order. Every declaration remembers the
file and the 1-based line it was written on, and every error names them: malformed YAML, an
unknown key, a value of the wrong type or an unreadable path raise
:class:`~lineage.errors.RegistryError` with ``file`` and ``line`` set.

>>> registry = load_registry(["fixtures/demo/registry"])  # doctest: +SKIP
>>> str(registry.element("order.total").location)  # doctest: +SKIP
'fixtures/demo/registry/erp.yaml:12'
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError
from ruamel.yaml.tokens import (
    BlockEndToken,
    BlockMappingStartToken,
    BlockSequenceStartToken,
    FlowMappingEndToken,
    FlowMappingStartToken,
    FlowSequenceEndToken,
    FlowSequenceStartToken,
)

from ..errors import RegistryError
from ..model.findings import CODES, Subject
from ..model.registry import (
    Carry,
    Element,
    Integration,
    Location,
    Registry,
    System,
    Waiver,
)

__all__ = ["SECTIONS", "load_registry", "registry_files"]

SECTIONS = ("systems", "elements", "integrations", "waivers", "lookups")
"""The top-level keys a registry file may have."""

_MODELS: dict[str, type[BaseModel]] = {
    "systems": System,
    "elements": Element,
    "integrations": Integration,
    "waivers": Waiver,
}
_KIND = {
    "systems": "system",
    "elements": "element",
    "integrations": "integration",
    "waivers": "waiver",
}
_MAPPINGS = {
    "systems": ("openlineage_namespaces",),
    "elements": ("openlineage_fields",),
    "integrations": ("openlineage_jobs",),
}
"""List keys whose entries each remember their own line (OpenLineage mappings)."""
_SUFFIXES = (".yaml", ".yml")
_UNWAIVABLE = ("expired-waiver", "unused-waiver")
_SUBJECT_KEYS = tuple(Subject.model_fields)
# A YAML file of a few KB can expand aliases into billions of nodes; a registry never needs
# more than this many.
_MAX_NODES = 1_000_000
# Registries are a few levels deep; far deeper nesting is a mistake or an attack (the YAML
# parser recurses once per level and would fail with no line to show).
_MAX_DEPTH = 50
_PLAIN_TAGS = frozenset(
    {None, "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:str"}
)
_OPENERS = (BlockMappingStartToken, BlockSequenceStartToken, FlowMappingStartToken,
            FlowSequenceStartToken)  # fmt: skip
_CLOSERS = (BlockEndToken, FlowMappingEndToken, FlowSequenceEndToken)

_Path = tuple[str | int, ...]


class _Constructor(RoundTripConstructor):
    """ruamel's round-trip constructor, its value errors marked with the node's line.

    A date like ``0000-01-01`` or an integer of 5,000 digits makes the standard constructor
    raise a bare ValueError; here it becomes a marked YAML error (file and line).
    """

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, ArithmeticError) as exc:
            raise ConstructorError(
                None,
                None,
                f"cannot read the value {_shown(node)}: {str(exc).split(';')[0]}",
                node.start_mark,
            ) from exc


def _shown(node: Any) -> str:
    value = getattr(node, "value", None)
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return "here"


@dataclass
class _File:
    """One parsed file: plain data, and the 1-based line of every key and list item."""

    name: str
    data: Any
    lines: dict[_Path, int] = field(default_factory=dict)

    def line(self, path: _Path) -> int:
        """The line of ``path``, or of its nearest enclosing node that has one."""
        while path:
            line = self.lines.get(path)
            if line is not None:
                return line
            path = path[:-1]
        return 1

    def error(self, message: str, path: _Path) -> RegistryError:
        return RegistryError(message, file=self.name, line=self.line(path))


@dataclass
class _Merged:
    systems: list[System] = field(default_factory=list)
    elements: list[Element] = field(default_factory=list)
    integrations: list[Integration] = field(default_factory=list)
    waivers: list[Waiver] = field(default_factory=list)
    lookups: dict[str, dict[str, str]] = field(default_factory=dict)
    lookup_locations: dict[str, Location] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def load_registry(paths: Sequence[str | Path]) -> Registry:
    """Read registry files and directories, merged, every declaration with its file and line.

    Args:
        paths: files, or directories read whole (``*.yaml``/``*.yml`` recursively, sorted).
            A file's name in locations is the path as given, joined with its name inside a
            given directory (``registry/finance.yaml``).

    Returns:
        The merged registry, declarations in reading order.

    Raises:
        RegistryError: a path that is missing or unreadable, a directory with no YAML files,
            malformed YAML, or a declaration of the wrong shape; ``file`` and ``line`` say where.

    >>> load_registry(["registry/"]).element("order.total").system_of_record  # doctest: +SKIP
    'ERP'
    """
    if not paths:
        raise RegistryError("no registry path given: name registry YAML files or directories")
    merged = _Merged()
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    for name, path in registry_files(paths):
        parsed = _parse(yaml, name, path)
        _merge(parsed, merged)
        merged.files.append(name)
    return Registry(
        systems=tuple(merged.systems),
        elements=tuple(merged.elements),
        integrations=tuple(merged.integrations),
        waivers=tuple(merged.waivers),
        lookups=merged.lookups,
        files=tuple(merged.files),
    )


def registry_files(paths: Sequence[str | Path]) -> list[tuple[str, Path]]:
    """The files ``paths`` name, each as ``(name to report, path to read)``, without repeats.

    Raises:
        RegistryError: a path that does not exist, or a directory holding no YAML file.
    """
    found: list[tuple[str, Path]] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            inside = sorted(_yaml_files(path), key=lambda p: p.relative_to(path).as_posix())
            if not inside:
                raise RegistryError(
                    "directory holds no *.yaml or *.yml file: point at the registry directory",
                    file=str(path),
                )
            named = [(str(path / p.relative_to(path)), p) for p in inside]
        elif path.exists():
            named = [(str(path), path)]
        else:
            raise RegistryError(
                "no such file or directory: give registry YAML files or a directory of them",
                file=str(path),
            )
        for name, file in named:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                found.append((name, file))
    return found


def _yaml_files(directory: Path) -> Iterator[Path]:
    for entry in directory.iterdir():
        if entry.name.startswith("."):
            continue  # .git, editor swap files
        if entry.is_dir():
            yield from _yaml_files(entry)
        elif entry.suffix in _SUFFIXES and entry.is_file():
            yield entry


# --- reading ---------------------------------------------------------------------------------


def _parse(yaml: YAML, name: str, path: Path) -> _File:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise RegistryError(f"cannot read the file: {reason}", file=name) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        raise RegistryError(
            "not UTF-8 text: save the file as UTF-8", file=name, line=bad_line
        ) from exc
    try:
        with warnings.catch_warnings():
            # A redefined anchor is valid YAML; ruamel's warning would only be noise on stderr.
            warnings.simplefilter("ignore", ReusedAnchorWarning)
            document = yaml.load(text)
    except RecursionError as exc:
        raise RegistryError(
            f"nested deeper than {_MAX_DEPTH} levels: a registry is a few levels deep",
            file=name,
            line=_deep_line(text),
        ) from exc
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line: int | None = int(mark.line) + 1 if mark is not None else None
        problem = exc.problem or exc.context or "malformed"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        raise RegistryError(f"not valid YAML: {problem}{context}", file=name, line=line) from exc
    except YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "malformed"
        raise RegistryError(f"not valid YAML: {first}", file=name) from exc
    parsed = _File(name=name, data=None)
    counter = [0]
    parsed.data = _plain(document, (), parsed, counter, set())
    return parsed


def _deep_line(text: str) -> int | None:
    """The line where ``text`` first nests deeper than ``_MAX_DEPTH`` (the scanner does not
    recurse, so it reads what the parser could not)."""
    depth = 0
    try:
        for token in YAML(typ="rt").scan(text):
            if isinstance(token, _OPENERS):
                depth += 1
                if depth > _MAX_DEPTH:
                    return int(token.start_mark.line) + 1
            elif isinstance(token, _CLOSERS):
                depth -= 1
    except YAMLError:
        return None
    return None


def _tag_of(node: Any) -> str | None:
    tag = getattr(node, "tag", None)
    value = getattr(tag, "value", tag)
    return value if isinstance(value, str) else None


def _plain(node: Any, path: _Path, parsed: _File, counter: list[int], stack: set[int]) -> Any:
    """The YAML tree as plain dicts, lists and scalars, noting the line of each key and item."""
    counter[0] += 1
    if counter[0] > _MAX_NODES:
        raise parsed.error(
            f"more than {_MAX_NODES} YAML nodes (aliases expanding?): split or simplify the file",
            path,
        )
    if len(path) > _MAX_DEPTH:
        raise parsed.error(
            f"nested deeper than {_MAX_DEPTH} levels: a registry is a few levels deep", path
        )
    tag = _tag_of(node)
    if tag not in _PLAIN_TAGS:
        shown = tag.replace("tag:yaml.org,2002:", "!!") if tag else tag
        raise parsed.error(
            f"the tag {shown} is not allowed: a registry is plain YAML (mappings, lists, "
            "text, numbers, dates); remove the tag",
            path,
        )
    if isinstance(node, TaggedScalar):
        return str(node.value)  # !!str 5
    if isinstance(node, Mapping):
        if id(node) in stack:
            raise parsed.error("a YAML alias refers to itself: remove the recursive alias", path)
        stack.add(id(node))
        result: dict[Any, Any] = {}
        for key, value in node.items():
            if isinstance(node, CommentedMap) and key in node.lc.data:
                parsed.lines[(*path, _key(key))] = node.lc.key(key)[0] + 1
            result[key] = _plain(value, (*path, _key(key)), parsed, counter, stack)
        stack.discard(id(node))
        return result
    if isinstance(node, list):
        if id(node) in stack:
            raise parsed.error("a YAML alias refers to itself: remove the recursive alias", path)
        stack.add(id(node))
        items: list[Any] = []
        for index, value in enumerate(node):
            if isinstance(node, CommentedSeq) and index in node.lc.data:
                parsed.lines[(*path, index)] = node.lc.item(index)[0] + 1
            items.append(_plain(value, (*path, index), parsed, counter, stack))
        stack.discard(id(node))
        return items
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, dt.datetime):
        return dt.datetime(
            node.year,
            node.month,
            node.day,
            node.hour,
            node.minute,
            node.second,
            node.microsecond,
            tzinfo=node.tzinfo,
        )
    return node


def _key(key: Any) -> str | int:
    return key if isinstance(key, str | int) else str(key)


# --- shaping ---------------------------------------------------------------------------------


def _merge(parsed: _File, merged: _Merged) -> None:
    data = parsed.data
    if data is None:
        return  # an empty file (or only comments) declares nothing
    if not isinstance(data, dict):
        raise parsed.error(
            f"a registry file is a mapping of sections ({', '.join(SECTIONS)}), "
            f"got {_kind_of(data)}",
            (),
        )
    for section, body in data.items():
        if section not in SECTIONS:
            raise parsed.error(
                f"unknown section {section!r}: a registry file has {', '.join(SECTIONS)}",
                (_key(section),),
            )
        if body is None:
            continue
        if section == "lookups":
            _merge_lookups(parsed, body, merged)
            continue
        if not isinstance(body, list):
            raise parsed.error(
                f"section {section!r} is a list of entries (- name: ...), got {_kind_of(body)}",
                (section,),
            )
        target: list[Any] = getattr(merged, section)
        for index, entry in enumerate(body):
            target.append(_declaration(parsed, section, index, entry))


def _declaration(parsed: _File, section: str, index: int, entry: Any) -> Any:
    path: _Path = (section, index)
    kind = _KIND[section]
    if not isinstance(entry, dict):
        raise parsed.error(f"each {kind} is a mapping of keys, got {_kind_of(entry)}", path)
    what = _describe(kind, entry, index)
    model = _MODELS[section]
    if "location" in entry:
        raise _unknown_key(parsed, what, model, "location", (*path, "location"))
    data = dict(entry)
    data["location"] = Location(file=parsed.name, line=parsed.line(path))
    if section == "integrations" and isinstance(data.get("carries"), list):
        data["carries"] = [
            _carry(parsed, what, (*path, "carries", i), carry)
            for i, carry in enumerate(data["carries"])
        ]
    for key in _MAPPINGS.get(section, ()):
        if isinstance(data.get(key), list):
            data[key] = [
                _mapping(parsed, what, (*path, key, i), item) for i, item in enumerate(data[key])
            ]
    if section == "waivers" and isinstance(data.get("subject"), dict):
        data["subject"] = {
            key: str(value) if isinstance(value, int) and not isinstance(value, bool) else value
            for key, value in data["subject"].items()
        }  # record keys are often numbers: 40017
    try:
        declared = model.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(parsed, what, model, path, exc) from None
    except ArithmeticError as exc:  # a number too large for what it declares
        raise parsed.error(f"{what}: a number out of range: {exc}", path) from exc
    if isinstance(declared, Waiver):
        _check_waiver(parsed, what, path, declared)
    return declared


def _carry(parsed: _File, what: str, path: _Path, carry: Any) -> Any:
    if not isinstance(carry, dict):
        raise parsed.error(
            f"{what}, carries[{path[-1]}] is a mapping like {{element: order.total, "
            f"transform: round(2)}}, got {_kind_of(carry)}",
            path,
        )
    if "location" in carry:
        raise _unknown_key(
            parsed, f"{what}, carries[{path[-1]}]", Carry, "location", (*path, "location")
        )
    return {**carry, "location": Location(file=parsed.name, line=parsed.line(path))}


def _mapping(parsed: _File, what: str, path: _Path, item: Any) -> Any:
    """An OpenLineage mapping entry (a name, a pattern or a dataset field) with its line."""
    location = Location(file=parsed.name, line=parsed.line(path))
    if isinstance(item, str):
        return {"pattern": item, "location": location}
    if isinstance(item, dict):
        if "location" in item:
            raise parsed.error(
                f"{what}, {path[-2]}[{path[-1]}]: unknown key 'location'", (*path, "location")
            )
        return {**item, "location": location}
    return item  # the model says what is wrong with it


def _check_waiver(parsed: _File, what: str, path: _Path, waiver: Waiver) -> None:
    code = waiver.code
    if code not in CODES:
        raise parsed.error(
            f"{what} names unknown finding code {code!r}: use a finding code "
            "(missing-owner, pass-through, ...; every one is in docs/CONTRACT.md)",
            (*path, "code"),
        )
    if code in _UNWAIVABLE:
        raise parsed.error(f"{what}: a waiver cannot waive {code}", (*path, "code"))
    for key in waiver.subject:
        if key not in _SUBJECT_KEYS:
            raise parsed.error(
                f"{what}: unknown subject key {key!r}; use {', '.join(_SUBJECT_KEYS)}",
                (*path, "subject", key),
            )
    if not waiver.subject:
        raise parsed.error(
            f"{what} names no subject: add the element, system, integration or record it "
            "accepts the finding for, e.g. subject: {integration: erp-to-bi}",
            (*path, "subject"),
        )
    for key, meaning in (("reason", "why the finding is accepted"), ("owner", "who accepts it")):
        value = getattr(waiver, key)
        if value is None or not value.strip():
            raise parsed.error(f"{what} has no {key}: a waiver must say {meaning}", path)


def _merge_lookups(parsed: _File, body: Any, merged: _Merged) -> None:
    if not isinstance(body, dict):
        raise parsed.error(
            f"section 'lookups' maps table names to {{key: value}} tables, got {_kind_of(body)}",
            ("lookups",),
        )
    for table, rows in body.items():
        path: _Path = ("lookups", _key(table))
        if not isinstance(table, str):
            raise parsed.error(f"lookup table name {table!r} is not text", path)
        if not isinstance(rows, dict):
            raise parsed.error(
                f"lookup table {table!r} is a mapping of key: value, got {_kind_of(rows)}", path
            )
        if table in merged.lookups:
            raise parsed.error(
                f"lookup table {table!r} is declared twice (first at "
                f"{merged.lookup_locations[table]}): keep one declaration",
                path,
            )
        entries: dict[str, str] = {}
        for key, value in rows.items():
            if isinstance(value, dict | list) or value is None:
                raise parsed.error(
                    f"lookup table {table!r}: the value of {key!r} must be a single value, "
                    f"got {_kind_of(value)}",
                    (*path, _key(key)),
                )
            entries[_scalar_text(key)] = _scalar_text(value)
        merged.lookups[table] = entries
        merged.lookup_locations[table] = Location(file=parsed.name, line=parsed.line(path))


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# --- messages --------------------------------------------------------------------------------


def _describe(kind: str, entry: dict[str, Any], index: int) -> str:
    name = entry.get("name") if kind != "waiver" else entry.get("code")
    if isinstance(name, str) and name:
        return f"{kind} {name!r}"
    return f"{kind} #{index + 1}"


def _allowed(model: type[BaseModel]) -> str:
    return ", ".join(name for name in model.model_fields if name != "location")


def _unknown_key(
    parsed: _File, what: str, model: type[BaseModel], key: object, path: _Path
) -> RegistryError:
    return parsed.error(f"{what}: unknown key {key!r}; allowed keys: {_allowed(model)}", path)


def _validation_error(
    parsed: _File, what: str, model: type[BaseModel], base: _Path, exc: ValidationError
) -> RegistryError:
    error = exc.errors()[0]
    loc = tuple(part for part in error["loc"] if isinstance(part, str | int))
    path = (*base, *loc)
    where = what
    if len(loc) >= 2 and loc[0] == "carries" and isinstance(loc[1], int):
        where, loc, model = f"{what}, carries[{loc[1]}]", loc[2:], Carry
    kind = error["type"]
    if kind == "extra_forbidden" and loc:
        return _unknown_key(parsed, where, model, loc[-1], path)
    if kind == "missing" and loc:
        return parsed.error(f"{where} has no {loc[-1]!r}: add it", path[:-1])
    field_name = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in loc)
    field_name = field_name.replace(".[", "[")
    message = error["msg"].removeprefix("Value error, ")
    shown = error.get("input")
    got = ""
    if kind != "value_error":
        got = f", got {_kind_of(shown)}" if isinstance(shown, dict | list) else f", got {shown!r}"
    prefix = f"{where}: {field_name}" if field_name else where
    return parsed.error(f"{prefix}: {message}{got}", path)


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"{type(value).__name__} {value!r}"
