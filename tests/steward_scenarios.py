"""A small company for the steward's questions: a registry and events written as they arrive.

ERP is the origin and system of record of orders; BI copies totals with VAT added
(``multiply(1.2)``) and the Portal shows BI's figure; Billing sums order lines into an invoice
total, which BI copies too; CRM owns customer addresses and ERP keeps them upper-cased.
"""

from __future__ import annotations

from typing import Any

from lineage.model.registry import Carry, Element, Integration, Registry, Rule, System
from lineage.store import Store
from lineage.store.writer import Writer

CONTROLLER = "controller@example.com"
BI_OWNER = "bi@example.com"
PORTAL_OWNER = "portal@example.com"
BILLING_OWNER = "billing@example.com"

REGISTRY = Registry(
    systems=tuple(
        System(name=name, owner=f"{name.lower()}-ops@example.com")
        for name in ("CRM", "ERP", "BI", "Portal", "Billing")
    ),
    elements=(
        Element(
            name="order.total",
            system_of_origin="ERP",
            system_of_record="ERP",
            owner=CONTROLLER,
            type="decimal",
            rules=(Rule(kind="min", arg=0),),
        ),
        Element(
            name="order.line_amount",
            system_of_origin="ERP",
            system_of_record="ERP",
            owner=CONTROLLER,
            type="decimal",
        ),
        Element(
            name="invoice.total",
            system_of_origin="Billing",
            system_of_record="Billing",
            owner=BILLING_OWNER,
            type="decimal",
        ),
        Element(
            name="customer.address",
            system_of_origin="CRM",
            system_of_record="CRM",
            owner="carol@example.com",
            rules=(Rule(kind="not_null"),),
        ),
    ),
    integrations=(
        Integration(
            name="erp-to-bi",
            source="ERP",
            target="BI",
            owner=BI_OWNER,
            carries=(Carry(element="order.total", transform="multiply(1.2)"),),
        ),
        Integration(
            name="bi-to-portal",
            source="BI",
            target="Portal",
            owner=PORTAL_OWNER,
            carries=(Carry(element="order.total"),),
        ),
        Integration(
            name="erp-to-billing",
            source="ERP",
            target="Billing",
            owner=BILLING_OWNER,
            carries=(
                Carry(element="invoice.total", transform="sum", inputs=("order.line_amount",)),
            ),
        ),
        Integration(
            name="billing-to-bi",
            source="Billing",
            target="BI",
            owner=BI_OWNER,
            carries=(Carry(element="invoice.total"),),
        ),
        Integration(
            name="crm-to-erp",
            source="CRM",
            target="ERP",
            owner="dave@example.com",
            carries=(Carry(element="customer.address", transform="upper"),),
        ),
    ),
)


def at(minute: int) -> str:
    """A time on the scenario's day, minutes after 09:00 UTC."""
    return f"2026-11-20T{9 + minute // 60:02d}:{minute % 60:02d}:00Z"


def write(
    eid: str, system: str, element: str, record: str, value: Any, minute: int, actor: str = "carol"
) -> dict[str, Any]:
    return {
        "kind": "write",
        "id": eid,
        "system": system,
        "element": element,
        "record": record,
        "value": value,
        "at": at(minute),
        "actor": actor,
    }


def snapshot(
    eid: str, system: str, element: str, record: str, value: Any, minute: int
) -> dict[str, Any]:
    return {
        "kind": "snapshot",
        "id": eid,
        "system": system,
        "element": element,
        "record": record,
        "value": value,
        "at": at(minute),
    }


def hop(
    eid: str,
    inputs: list[tuple[str, str, str, Any]],
    output: tuple[str, str, str, Any],
    minute: int,
    **extra: Any,
) -> dict[str, Any]:
    def place(p: tuple[str, str, str, Any]) -> dict[str, Any]:
        return {"system": p[0], "element": p[1], "record": p[2], "value": p[3]}

    return {
        "kind": "hop",
        "id": eid,
        "at": at(minute),
        "inputs": [place(i) for i in inputs],
        "output": place(output),
        **extra,
    }


def record(store: Store, *events: dict[str, Any], registry: Registry = REGISTRY) -> None:
    """Load the registry (when it changed) and write the events through the Writer."""
    store.save_registry(registry)
    with Writer(store) as writer:
        for event in events:
            writer.add_data(event)
    assert not writer.result.rejected, writer.result.rejected


def order_chain(bi_value: str = "60.00", portal_value: str | None = None) -> list[dict[str, Any]]:
    """ERP writes a total of 50.00; BI receives it with VAT; the Portal copies BI."""
    return [
        write("w-erp", "ERP", "order.total", "40017", "50.00", 0),
        hop(
            "h-bi",
            [("ERP", "order.total", "40017", "50.00")],
            ("BI", "order.total", "R-9", bi_value),
            5,
        ),
        hop(
            "h-portal",
            [("BI", "order.total", "R-9", bi_value)],
            ("Portal", "order.total", "P-9", portal_value or bi_value),
            10,
        ),
    ]


def sent_then_failed() -> tuple[dict[str, Any], dict[str, Any]]:
    """A second ERP -> BI hop sent at 09:20 (BI then shows 61.00), reported failed at 09:30."""
    sent = hop(
        "h-bi-2",
        [("ERP", "order.total", "40017", "50.00")],
        ("BI", "order.total", "R-9", "61.00"),
        20,
        status="sent",
    )
    return sent, dict(sent, status="failed", error="timeout", at="2026-11-20T09:30:00Z")
