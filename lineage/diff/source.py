"""BASE and HEAD: a registry read from paths on disk, or from a git revision.

A side that names an existing file or directory is read from disk (with ``PATH...`` inside
it when given); anything else must be a git revision of the repository the working directory
is in, read with ``git`` from the ``PATH...`` given. Locations name files as they are named
in the working tree, so a change points at the line a reviewer sees.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, RegistryError
from ..model.registry import Location, Registry
from ..registry import load_registry
from .git import is_revision, revision_files

__all__ = ["Side", "read_side", "rebuilt"]


@dataclass(frozen=True)
class Side:
    """One side of a comparison: what it was read from, and the registry."""

    label: str
    registry: Registry
    revision: bool


def read_side(spec: str, paths: Sequence[str], *, cwd: Path | None = None) -> Side:
    """Read the registry that ``spec`` names (a path, or a git revision with ``paths``).

    Raises:
        InputError: ``spec`` is neither a path nor a revision, a revision without ``paths``,
            or git fails; RegistryError: a file is not a valid registry (its name and line).
    """
    where = cwd or Path.cwd()  # the repository git reads; paths are as given, like check's
    path = Path(spec)
    if path.exists():
        if paths and path.is_dir():
            return Side(spec, load_registry([str(Path(spec) / p) for p in paths]), False)
        return Side(spec, load_registry([spec]), False)
    if not is_revision(spec, where):
        raise InputError(
            f"{spec!r} is neither a file or directory nor a git revision of the repository "
            f"here: name a registry path, or a commit, branch or tag"
        )
    if not paths:
        raise InputError(
            f"{spec} is a git revision: name the registry inside it after --, e.g. "
            f"lineage diff {spec} HEAD -- registry/"
        )
    return Side(spec, registry_at(spec, paths, where), True)


def registry_at(revision: str, paths: Sequence[str], cwd: Path) -> Registry:
    """The registry under ``paths`` as committed at ``revision`` (empty where none was)."""
    files = revision_files(revision, paths, cwd)
    if not files:
        return Registry()
    with tempfile.TemporaryDirectory(prefix="lineage-diff-") as tmp:
        names: dict[str, str] = {}
        written: list[str] = []
        for index, (name, content) in enumerate(files):
            folder = Path(tmp) / str(index)
            folder.mkdir()
            target = folder / Path(name).name
            target.write_bytes(content)
            names[str(target)] = name
            written.append(str(target))
        try:
            registry = load_registry(written)
        except RegistryError as exc:
            file = names.get(exc.file or "", exc.file)
            raise RegistryError(f"{exc.reason} (at {revision})", file=file, line=exc.line) from exc
    return relocate(registry, names)


def relocate(registry: Registry, names: dict[str, str]) -> Registry:
    """The registry with every location's file renamed through ``names``."""

    def moved(decl: Any) -> Any:
        location: Location | None = decl.location
        if location is None or location.file not in names:
            return decl
        return decl.model_copy(
            update={"location": location.model_copy(update={"file": names[location.file]})}
        )

    integrations = tuple(
        moved(i).model_copy(update={"carries": tuple(moved(c) for c in i.carries)})
        for i in registry.integrations
    )
    return rebuilt(
        registry,
        systems=tuple(moved(s) for s in registry.systems),
        elements=tuple(moved(e) for e in registry.elements),
        integrations=integrations,
        waivers=tuple(moved(w) for w in registry.waivers),
        files=tuple(names.get(f, f) for f in registry.files),
    )


def rebuilt(registry: Registry, **changed: Any) -> Registry:
    """A new registry with ``changed`` fields, every other field as in ``registry``.

    Built anew rather than with ``model_copy``: the registry caches its indexes by name, and
    a copy would keep the old ones.
    """
    fields = {name: getattr(registry, name) for name in Registry.model_fields}
    return Registry(**{**fields, **changed})
