"""A small company for the web tests, with markup planted in every user string it can hold.

ERP owns ``order.total``; BI copies it with VAT (``multiply(1.2)``) and the Portal copies BI.
The ERP total changes from 50.00 to 80.00; BI then receives 100.00 (the transform gives
96.00: an unexplained transformation, BI's fault) and the Portal never hears of the change
(stale). CRM owns ``customer.address``; its owner, a record key, a value, a purpose and a
description carry ``<script>`` so the pages and diagrams can prove they escape them.
"""

from __future__ import annotations

from typing import Any

from steward_scenarios import hop, record, write

from lineage.model.registry import Carry, Element, Integration, Registry, System
from lineage.store import Store

SCRIPT = "<script>alert('x')</script>"
HOSTILE_OWNER = f"{SCRIPT}@example.com"
HOSTILE_RECORD = "C-<b>1</b>"
HOSTILE_VALUE = f'{SCRIPT} & "Main St"'
BI_OWNER = "bi@example.com"
PORTAL_OWNER = "portal@example.com"
CONTROLLER = "controller@example.com"

REGISTRY = Registry(
    systems=(
        System(name="CRM", owner=HOSTILE_OWNER, description=f"CRM {SCRIPT}"),
        System(name="ERP", owner="erp-ops@example.com", description="Orders and invoices"),
        System(name="BI", owner="data@example.com"),
        System(name="Portal", owner=PORTAL_OWNER),
    ),
    elements=(
        Element(
            name="order.total",
            system_of_origin="ERP",
            system_of_record="ERP",
            owner=CONTROLLER,
            type="decimal",
            description="Gross order total",
        ),
        Element(
            name="customer.address",
            system_of_origin="CRM",
            system_of_record="CRM",
            owner=HOSTILE_OWNER,
            description=f"Where invoices go {SCRIPT}",
        ),
    ),
    integrations=(
        Integration(
            name="erp-to-bi",
            source="ERP",
            target="BI",
            owner=BI_OWNER,
            level="intelligence",
            mode="batch",
            purpose="Sales reports",
            carries=(Carry(element="order.total", transform="multiply(1.2)"),),
        ),
        Integration(
            name="bi-to-portal",
            source="BI",
            target="Portal",
            owner=PORTAL_OWNER,
            level="experience",
            mode="realtime",
            purpose="Customers follow their orders",
            carries=(Carry(element="order.total"),),
        ),
        Integration(
            name="crm-to-erp",
            source="CRM",
            target="ERP",
            owner="dave@example.com",
            level="foundation",
            mode="batch",
            purpose=f"Invoices go to the current address {SCRIPT}",
            fallback="Export by hand",
            carries=(Carry(element="customer.address", transform="upper"),),
        ),
    ),
)


def events() -> list[dict[str, Any]]:
    """The company's day, minute by minute from 09:00 UTC on 2026-11-20."""
    return [
        write("w-erp-1", "ERP", "order.total", "40017", "50.00", 0),
        hop(
            "h-bi-1",
            [("ERP", "order.total", "40017", "50.00")],
            ("BI", "order.total", "R-9", "60.00"),
            5,
        ),
        hop(
            "h-portal-1",
            [("BI", "order.total", "R-9", "60.00")],
            ("Portal", "order.total", "P-9", "60.00"),
            10,
        ),
        write("w-erp-2", "ERP", "order.total", "40017", "80.00", 20),
        hop(
            "h-bi-2",
            [("ERP", "order.total", "40017", "80.00")],
            ("BI", "order.total", "R-9", "100.00"),
            25,
        ),
        write("w-crm", "CRM", "customer.address", HOSTILE_RECORD, HOSTILE_VALUE, 30),
        hop(
            "h-crm-erp",
            [("CRM", "customer.address", HOSTILE_RECORD, HOSTILE_VALUE)],
            ("ERP", "customer.address", "40017", HOSTILE_VALUE.upper()),
            35,
        ),
    ]


def load(store: Store) -> None:
    """Store the registry and the day's events."""
    record(store, *events(), registry=REGISTRY)
