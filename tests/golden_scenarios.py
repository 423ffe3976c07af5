"""Hand-made stores for the golden record, conflicting-truth and export tests.

One small company: CRM -> ERP -> BI -> Portal. ``C-1042`` in CRM is ``40017`` in ERP is
``R-9`` in BI is ``P-1`` in the portal.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lineage.model.registry import Cardinality, Carry, Element, Integration, Registry, System
from lineage.store import Store
from lineage.store.writer import Writer

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


def at(minutes: int) -> str:
    """The scenario clock: minutes after 2026-11-20T09:00:00Z, as ISO text."""
    return (T0 + dt.timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def registry() -> Registry:
    systems = tuple(
        System(name=name, owner=f"{name.lower()}-team@example.com")
        for name in ("CRM", "ERP", "BI", "Portal", "WMS")
    )
    elements = (
        Element(
            name="customer.name",
            system_of_origin="CRM",
            system_of_record="CRM",
            owner="carol@example.com",
        ),
        Element(
            name="order.total",
            system_of_origin="ERP",
            system_of_record="ERP",
            owner="controller@example.com",
            type="decimal",
        ),
        Element(
            name="order.status",
            system_of_origin="ERP",
            system_of_record="ERP",
            owner="ops@example.com",
        ),
        Element(
            name="order.lines_total",
            system_of_origin="ERP",
            system_of_record="ERP",
            owner="controller@example.com",
            type="decimal",
        ),
        Element(
            name="order.carrier",
            system_of_origin="ERP",
            system_of_record="ERP",
            owner="ops@example.com",
        ),
    )
    integrations = (
        Integration(
            name="crm-to-erp",
            source="CRM",
            target="ERP",
            owner="dave@example.com",
            carries=(Carry(element="customer.name", transform="upper"),),
        ),
        Integration(
            name="erp-to-bi",
            source="ERP",
            target="BI",
            owner="bi@example.com",
            carries=(
                Carry(element="order.total", transform="multiply(1.2)"),
                Carry(element="order.status"),
                Carry(element="order.lines_total", transform="sum"),
            ),
        ),
        Integration(
            name="bi-to-portal",
            source="BI",
            target="Portal",
            owner="portal@example.com",
            carries=(Carry(element="order.total", transform="round(2)"),),
        ),
        Integration(
            name="erp-to-wms",
            source="ERP",
            target="WMS",
            owner="wms@example.com",
            cardinality=Cardinality.FAN_OUT,
            carries=(Carry(element="order.carrier"),),
        ),
    )
    return Registry(systems=systems, elements=elements, integrations=integrations)


def write(
    system: str, element: str, record: str, value: Any, minute: int, eid: str | None = None
) -> dict[str, Any]:
    event = {
        "kind": "write",
        "system": system,
        "element": element,
        "record": record,
        "value": value,
        "at": at(minute),
        "actor": "carol",
    }
    if eid:
        event["id"] = eid
    return event


def hop(
    eid: str,
    integration: str | None,
    source: tuple[str, str, str, Any],
    output: tuple[str, str, str, Any],
    minute: int,
    *,
    status: str = "delivered",
    inputs: list[tuple[str, str, str, Any]] | None = None,
) -> dict[str, Any]:
    given = inputs if inputs is not None else [source]
    event: dict[str, Any] = {
        "kind": "hop",
        "id": eid,
        "at": at(minute),
        "inputs": [{"system": s, "element": e, "record": r, "value": v} for s, e, r, v in given],
        "output": {
            "system": output[0],
            "element": output[1],
            "record": output[2],
            "value": output[3],
        },
        "status": status,
    }
    if integration is not None:
        event["integration"] = integration
    return event


def snapshot(system: str, element: str, record: str, value: Any, minute: int) -> dict[str, Any]:
    return {
        "kind": "snapshot",
        "system": system,
        "element": element,
        "record": record,
        "value": value,
        "at": at(minute),
    }


def load(store: Store, events: list[dict[str, Any]], reg: Registry | None = None) -> None:
    """Declare the registry and record ``events`` through the real writer."""
    store.save_registry(reg or registry())
    with Writer(store) as writer:
        for number, event in enumerate(events, start=1):
            writer.add_data(event, source="scenario", line=number)
    assert writer.result.rejected == [], writer.result.rejected


def company(store: Store) -> None:
    """The main scenario.

    - customer.name: CRM -> ERP upper, agrees.
    - order.total: ERP 50.00 -> BI 60.00 -> Portal 60.00, then ERP becomes 80.004 (minute
      30) and nothing is refreshed: BI and the portal are stale (expected 96.0048 and 96.00).
    - order.status: ERP "shipped", BI got "cancelled": divergent.
    - order.lines_total: carried with ``sum``: unknown.
    - order.carrier: ERP -> WMS on a fan-out integration: WMS keys are other records.
    """
    load(
        store,
        [
            write("CRM", "customer.name", "C-1042", "Ada Lovelace", 0, "w-name"),
            hop(
                "h-name",
                "crm-to-erp",
                ("CRM", "customer.name", "C-1042", "Ada Lovelace"),
                ("ERP", "customer.name", "40017", "ADA LOVELACE"),
                1,
            ),
            write("ERP", "order.total", "40017", "50.00", 2, "w-total-1"),
            hop(
                "h-bi",
                "erp-to-bi",
                ("ERP", "order.total", "40017", "50.00"),
                ("BI", "order.total", "R-9", "60.00"),
                3,
            ),
            hop(
                "h-portal",
                "bi-to-portal",
                ("BI", "order.total", "R-9", "60.00"),
                ("Portal", "order.total", "P-1", "60.00"),
                4,
            ),
            write("ERP", "order.status", "40017", "shipped", 5, "w-status"),
            hop(
                "h-status",
                "erp-to-bi",
                ("ERP", "order.status", "40017", "shipped"),
                ("BI", "order.status", "R-9", "cancelled"),
                6,
            ),
            write("ERP", "order.lines_total", "40017", "12.50", 7, "w-lines"),
            hop(
                "h-lines",
                "erp-to-bi",
                ("ERP", "order.lines_total", "40017", "12.50"),
                ("BI", "order.lines_total", "R-9", "12.50"),
                8,
            ),
            write("ERP", "order.carrier", "40017", "DHL", 9, "w-carrier"),
            hop(
                "h-wms-1",
                "erp-to-wms",
                ("ERP", "order.carrier", "40017", "DHL"),
                ("WMS", "order.carrier", "S-1", "DHL"),
                10,
            ),
            hop(
                "h-wms-2",
                "erp-to-wms",
                ("ERP", "order.carrier", "40017", "DHL"),
                ("WMS", "order.carrier", "S-2", "DHL"),
                10,
            ),
            write("ERP", "order.total", "40017", "80.004", 30, "w-total-2"),
        ],
    )


def refresh(store: Store) -> None:
    """The order total delivered again after the change: BI and the portal agree."""
    with Writer(store) as writer:
        writer.add_data(
            hop(
                "h-bi-2",
                "erp-to-bi",
                ("ERP", "order.total", "40017", "80.004"),
                ("BI", "order.total", "R-9", "96.0048"),
                40,
            )
        )
        writer.add_data(
            hop(
                "h-portal-2",
                "bi-to-portal",
                ("BI", "order.total", "R-9", "96.0048"),
                ("Portal", "order.total", "P-1", "96.00"),
                41,
            )
        )
    assert writer.result.rejected == []
