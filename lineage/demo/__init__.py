"""The demo company: its registry, its week of runtime events, and loading both into a store.

Lumen & Co. (see :mod:`lineage.demo.story`) runs a web shop, an ERP, a warehouse, a bank
interface, a tax gateway, a data warehouse and a customer portal. Its registry lives in
``lineage/fixtures/demo/registry``; its events in ``lineage/fixtures/demo/events.jsonl``,
written by :func:`demo_events` (``python -m lineage.demo --write``) and committed, so that the
file is reproducible and reviewable.

>>> from lineage.store import open_store
>>> loaded = load_demo(open_store("sqlite://"))  # doctest: +SKIP
>>> loaded.result.accepted > 0  # doctest: +SKIP
True
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from ..findings import judge_after_ingest
from ..model.registry import Registry
from ..registry import load_registry
from ..store import Store
from ..store.writer import IngestResult, ingest_lines

REGISTRY_NAME = "fixtures/demo/registry"
"""How the demo registry's files are named in locations, wherever the package is installed."""

EVENTS_NAME = "fixtures/demo/events.jsonl"
"""The committed events file, inside the ``lineage`` package."""


def _resource(name: str) -> Traversable:
    return files("lineage").joinpath(*name.split("/"))


@contextmanager
def _directory(resource: Traversable) -> Iterator[Path]:
    """A resource directory as a real path: itself when installed as files, else a copy."""
    if isinstance(resource, Path):
        yield resource
        return
    with tempfile.TemporaryDirectory(prefix="lineage-demo-") as folder:
        _copy(resource, Path(folder))
        yield Path(folder)


def _copy(resource: Traversable, target: Path) -> None:
    for entry in resource.iterdir():
        if entry.is_dir():
            (target / entry.name).mkdir()
            _copy(entry, target / entry.name)
        else:
            (target / entry.name).write_bytes(entry.read_bytes())


def demo_registry() -> Registry:
    """The demo company's registry, read from the installed package.

    Its files are named ``fixtures/demo/registry/<file>.yaml`` in locations whatever the
    install path, so loading it from two installations stores one registry version.
    """
    with _directory(_resource(REGISTRY_NAME)) as folder:
        registry = load_registry([folder])
        prefix = str(folder)
    data = _relabel(json.loads(registry.model_dump_json()), prefix, REGISTRY_NAME)
    return Registry.model_validate_json(json.dumps(data))


def _relabel(node: Any, prefix: str, label: str) -> Any:
    if isinstance(node, str):
        return label + node[len(prefix) :] if node.startswith(prefix) else node
    if isinstance(node, list):
        return [_relabel(item, prefix, label) for item in node]
    if isinstance(node, dict):
        return {key: _relabel(value, prefix, label) for key, value in node.items()}
    return node


def demo_events(registry: Registry | None = None) -> list[dict[str, Any]]:
    """The demo company's events (the content of ``events.jsonl``), deterministic.

    Args:
        registry: the declarations the hops follow (default: :func:`demo_registry`).
    """
    from .story import week  # noqa: PLC0415 - only the generator needs the story

    return week(registry if registry is not None else demo_registry()).events()


def events_text(registry: Registry | None = None) -> str:
    """The demo events as JSON Lines, exactly as committed."""
    return "".join(json.dumps(event, ensure_ascii=False) + "\n" for event in demo_events(registry))


def events_file_text() -> str:
    """The committed ``events.jsonl`` of the installed package."""
    return _resource(EVENTS_NAME).read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class DemoLoad:
    """What loading the demo did.

    Attributes:
        registry: the demo registry.
        registry_changed: False when the store already held this registry as its latest.
        registry_version: how many registry versions the store holds now.
        result: the ingestion's counts (all duplicates when the demo was loaded before).
        kinds: the demo's events by kind (``write``, ``hop``, ``snapshot``), distinct ids.
    """

    registry: Registry
    registry_changed: bool
    registry_version: int
    result: IngestResult
    kinds: dict[str, int]

    @property
    def unchanged(self) -> bool:
        """True when this load added nothing (the demo was already there)."""
        result = self.result
        return (
            not self.registry_changed
            and result.accepted == 0
            and result.status_updates == 0
            and result.rejected_count == 0
        )


def load_demo(store: Store) -> DemoLoad:
    """Store the demo registry and ingest the demo events; loading twice changes nothing."""
    registry = demo_registry()
    changed = store.save_registry(registry)
    text = events_file_text()
    lines = text.splitlines()
    result = IngestResult()
    # one day at a time, judged after each as a live tracker would have: the findings keep
    # a history (opened on one day, resolved on a later one) instead of one final verdict
    for day in _days(lines):
        result.merge(ingest_lines(store, [(EVENTS_NAME, n, line) for n, line in day]))
        judge_after_ingest(store, what="loading the demo")
    return DemoLoad(registry, changed, store.registry_versions(), result, _kinds(lines))


def _days(lines: list[str]) -> Iterator[list[tuple[int, str]]]:
    """The numbered lines in runs of one day (by the date of ``at``), in file order."""
    run: list[tuple[int, str]] = []
    current = None
    for number, line in enumerate(lines, 1):
        day = str(json.loads(line).get("at", ""))[:10]
        if run and day != current:
            yield run
            run = []
        current = day
        run.append((number, line))
    if run:
        yield run


def _kinds(lines: list[str]) -> dict[str, int]:
    ids: dict[str, set[str]] = {"write": set(), "hop": set(), "snapshot": set()}
    for line in lines:
        event = json.loads(line)
        ids.setdefault(event["kind"], set()).add(event["id"])
    return {kind: len(found) for kind, found in ids.items()}


__all__ = [
    "EVENTS_NAME",
    "REGISTRY_NAME",
    "DemoLoad",
    "demo_events",
    "demo_registry",
    "events_file_text",
    "events_text",
    "load_demo",
]
