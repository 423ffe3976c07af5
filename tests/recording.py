"""Shared helpers of the recording tests: a small registry and event builders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from lineage.store import Store
from lineage.store.schema import events, hop_inputs, hop_status

REGISTRY = """\
systems:
  - {name: CRM, owner: crm@example.com}
  - {name: ERP, owner: erp@example.com}
  - {name: BI, owner: bi@example.com}
elements:
  - name: order.total
    system_of_origin: ERP
    system_of_record: ERP
    owner: controller@example.com
    type: decimal
  - name: customer.name
    system_of_origin: CRM
    system_of_record: CRM
    owner: carol@example.com
integrations:
  - name: erp-to-bi
    source: ERP
    target: BI
    owner: bi@example.com
    purpose: reports
    carries:
      - {element: order.total, transform: multiply(1.2)}
  - name: crm-to-erp
    source: CRM
    target: ERP
    owner: erp@example.com
    purpose: invoices
    carries:
      - {element: customer.name, transform: upper}
"""


def write_registry(folder: Path, text: str = REGISTRY) -> Path:
    path = folder / "registry.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def write_event(
    record: str = "40017", value: str = "50.00", *, at: str = "2026-11-20T09:00:00Z", **extra: Any
) -> dict[str, Any]:
    return {
        "kind": "write", "system": "ERP", "element": "order.total", "record": record,
        "value": value, "at": at, **extra,
    }  # fmt: skip


def hop_event(
    hop_id: str | None = "h-1",
    value: str = "50.00",
    output: str = "60.00",
    *,
    status: str = "delivered",
    at: str = "2026-11-20T09:05:00Z",
    integration: str | None = "erp-to-bi",
    source: str = "ERP",
    target: str = "BI",
    record: str = "40017",
    **extra: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "kind": "hop", "at": at, "status": status,
        "inputs": [{"system": source, "element": "order.total", "record": record,
                    "value": value}],
        "output": {"system": target, "element": "order.total", "record": f"R-{record}",
                   "value": output},
        **extra,
    }  # fmt: skip
    if hop_id is not None:
        event["id"] = hop_id
    if integration is not None:
        event["integration"] = integration
    return event


def jsonl(*items: dict[str, Any]) -> str:
    return "".join(json.dumps(item) + "\n" for item in items)


def numbered(text: str, source: str = "events.jsonl") -> list[tuple[str, int, str]]:
    return [(source, n, line) for n, line in enumerate(text.splitlines(), start=1)]


def row_counts(store: Store) -> dict[str, int]:
    """Rows in each table the writer fills (what a re-ingest must leave unchanged)."""
    with store.engine.connect() as conn:
        return {
            table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in (events, hop_inputs, hop_status)
        }


def stored(store: Store, event_id: str) -> dict[str, Any]:
    """The stored row of one event, as a dict."""
    with store.engine.connect() as conn:
        row = conn.execute(select(events).where(events.c.event_id == event_id)).mappings().one()
    return dict(row)


def status_history(store: Store, event_id: str) -> list[str]:
    """A hop's statuses in the order recorded: its first, then every change."""
    with store.engine.connect() as conn:
        first = conn.execute(
            select(events.c.status).where(events.c.event_id == event_id)
        ).scalar_one()
        later = conn.execute(
            select(hop_status.c.status)
            .where(hop_status.c.event_id == event_id)
            .order_by(hop_status.c.seq)
        ).scalars()
        return [first, *later]
