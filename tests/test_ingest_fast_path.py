"""The ingest fast path (``RowMaker.prepare_json``) makes exactly the rows the validated path
makes, or steps aside: a line it takes is stored the same, a line it refuses is judged by
pydantic and rejected with the same reason as before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from benchmarks.common import generate_events, registry_yaml
from lineage.errors import EventError
from lineage.model.events import EVENT_ADAPTER
from lineage.registry import load_registry
from lineage.store.rows import RowMaker
from lineage.store.writer import validation_reason

ROOT = Path(__file__).resolve().parent.parent
NOW = 1_790_000_000_000_000


@pytest.fixture(scope="module")
def maker(tmp_path_factory: pytest.TempPathFactory) -> RowMaker:
    path = tmp_path_factory.mktemp("registry") / "registry.yaml"
    path.write_text(registry_yaml(20), encoding="utf-8")
    return RowMaker(load_registry([path]))


def slow(maker: RowMaker, line: bytes) -> tuple[Any, ...] | str:
    """The validated path: the fields of the event, or the reason it is rejected."""
    try:
        event = EVENT_ADAPTER.validate_json(line)
    except ValidationError as exc:
        return validation_reason(exc)
    try:
        return maker.prepare_fields(event, NOW, "f", 1)
    except EventError as exc:
        return exc.reason


def fast(maker: RowMaker, line: bytes) -> tuple[Any, ...] | str | None:
    try:
        return maker.prepare_json(line, NOW, "f", 1)
    except EventError as exc:
        return exc.reason


HOP: dict[str, Any] = {
    "kind": "hop", "id": "h-1", "integration": "s00-to-s01", "at": "2026-11-20T09:01:05Z",
    "inputs": [{"system": "S00", "element": "order.total", "record": "C-0", "value": "0.1"}],
    "output": {"system": "S01", "element": "order.total", "record": "9", "value": "0.2"},
    "transform": "multiply(2)", "status": "delivered",
}  # fmt: skip


def variant(**changes: Any) -> bytes:
    hop = {**HOP, **changes}
    return json.dumps({k: v for k, v in hop.items() if v is not ...}).encode()


def out(**changes: Any) -> dict[str, Any]:
    return {**HOP["output"], **changes}


VARIANTS = [
    variant(),
    variant(id=...),  # no id: the content hash, computed by the validated path
    variant(id=""),
    variant(id="x" * 600),
    variant(status=...),
    variant(status="sent"),
    variant(status="failed", error="timeout\x00"),
    variant(status=None),
    variant(status="lost"),
    variant(status=["sent"]),
    variant(at="2026-11-20T09:01:05"),  # no zone
    variant(at="2026-11-20T10:01:05.25+01:00"),
    variant(at="0001-01-01T00:00:00+14:00"),
    variant(at="2026-11-20 09:01:05Z"),
    variant(at=1790000000),
    variant(integration=None, transform=None),
    variant(integration=7),
    variant(actor="", error=""),
    variant(extra="field"),
    variant(inputs=[]),
    variant(inputs={"system": "S00"}),
    variant(inputs=[{"system": "S00", "element": "order.total", "record": 17, "value": 3}]),
    variant(inputs=[{"system": "S00", "element": "order.total", "record": "C", "value": 0.1}]),
    variant(inputs=[{"system": "S00", "element": "order.total", "record": "C", "value": True}]),
    variant(inputs=[{"system": "S00", "element": "order.total", "record": "C", "value": 2**70}]),
    variant(inputs=[{"system": "S00", "element": "order.total", "record": 1.5, "value": "1"}]),
    variant(inputs=[{"system": "", "element": "order.total", "record": "C", "value": "1"}]),
    variant(inputs=[{"system": "S00", "element": "order.total", "record": "C", "valeu": "1"}]),
    variant(output=out(value=None)),
    variant(output=out(value="a\x00b")),
    variant(output=out(record="r" * 600)),
    variant(output=out(value="1e999999999")),
    variant(output=...),
    variant(output=out(system=None)),
    b'{"kind": "hop", "id": "h-1", "id": "h-2", ' + variant()[1:].split(b", ", 1)[1],
    b'{"kind": "hop", "id": "\\ud800"}',
    # read by msgspec since 2026-12-06: integers past 64 bits, a lone surrogate, a repeated
    # key inside a place, a record that is a boolean
    variant(inputs=[{"system": "S00", "element": "order.total", "record": 2**70, "value": "1"}]),
    variant(inputs=[{"system": "S00", "element": "order.total", "record": "C", "value": -(2**64)}]),
    variant(output=out(value="\ud800")),
    b'{"kind": "hop", "id": "h-1", "at": "2026-11-20T09:01:05Z", "integration": "s00-to-s01", '
    b'"inputs": [{"system": "S00", "element": "order.total", "record": "C-0", "value": "0.1", '
    b'"value": "0.3"}], "output": {"system": "S01", "element": "order.total", "record": "9", '
    b'"value": "0.2"}, "transform": "multiply(2)"}',
    variant(output=out(record=True)),
    b"[1, 2]",
    b"{not json",
]


def test_the_fast_path_takes_well_formed_hops_and_makes_the_same_rows(maker: RowMaker) -> None:
    lines = [line.encode() for line in generate_events(2_000, as_json=True)]
    lines += (ROOT / "lineage" / "fixtures" / "demo" / "events.jsonl").read_bytes().splitlines()
    for path in sorted((ROOT / "tests" / "cases" / "ingest").glob("*.jsonl")):
        lines += path.read_bytes().splitlines()
    taken = hops = 0
    for line in [*lines, *VARIANTS]:
        if not line.strip():
            continue
        expected = slow(maker, line)  # first: the route is then known to the fast path
        made = fast(maker, line)
        hops += b'"hop"' in line
        if made is None or isinstance(made, str):
            continue  # stepped aside: the validated path judges the line, as before
        taken += 1
        assert made == expected, line
    assert taken > 0.9 * hops, (taken, hops)  # the fast path is really taken


@pytest.mark.parametrize("line", VARIANTS, ids=range(len(VARIANTS)))
def test_a_line_the_fast_path_takes_is_one_validation_accepts_unchanged(
    maker: RowMaker, line: bytes
) -> None:
    expected = slow(maker, line)
    made = fast(maker, line)
    if made is not None:  # rows, or refused by a limit: the validated path says the same
        assert made == expected


def test_bad_lines_read_as_before_through_the_writer(maker: RowMaker, tmp_path: Path) -> None:
    from lineage.store import open_store  # noqa: PLC0415
    from lineage.store.writer import ingest_lines  # noqa: PLC0415

    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        store.save_registry(maker.verifier.registry)
        rows = [("f", n, line) for n, line in enumerate(VARIANTS, start=1)]
        result = ingest_lines(store, rows, workers=0)
    finally:
        store.close()
    reasons = {r.line: r.reason for r in result.rejected}
    for number, line in enumerate(VARIANTS, start=1):
        expected = slow(maker, line)
        if isinstance(expected, str) and number in reasons:
            assert reasons[number] == expected, line
    assert reasons[7].startswith("error holds a NUL")
    assert "a time needs a timezone" in reasons[11]
