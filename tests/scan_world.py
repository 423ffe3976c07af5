"""A small company for the detector tests: a registry and helpers that record events.

Not a test module: the ``test_detect_*``, ``test_scan_cli``, ``test_digest`` and
``test_audit`` modules import it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lineage.detect import DETECTORS
from lineage.detect.run import Filters, ScanResult, scan_report
from lineage.model import Carry, Element, Integration, Registry, Rule, System, Waiver
from lineage.model.findings import Finding
from lineage.store import Store
from lineage.store.schema import to_us
from lineage.store.writer import Writer

START = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)

#: Every detector but ``conflicting-truth`` (another area's, tested there).
OWN_DETECTORS = [d for d in DETECTORS if d.__module__ != "lineage.detect.conflicting_truth"]


def at(minutes: float) -> str:
    """ISO time ``minutes`` after 2026-11-20 09:00 UTC."""
    return (START + dt.timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def us(minutes: float) -> int:
    """Microseconds since the epoch, ``minutes`` after the start."""
    return to_us(START + dt.timedelta(minutes=minutes))


def registry(**changes: Any) -> Registry:
    """CRM -> ERP -> BI and ERP -> WMS, with owners, rules and one fan-out integration."""
    base = Registry(
        systems=(
            System(name="CRM", owner="sales-ops@example.com"),
            System(name="ERP", owner="erp-team@example.com"),
            System(name="BI", owner="bi-team@example.com"),
            System(name="WMS", owner="wms-team@example.com"),
        ),
        elements=(
            Element(
                name="customer.address",
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
                rules=(Rule(kind="not_null"), Rule(kind="min", arg=0)),
            ),
            Element(
                name="order.status",
                system_of_origin="ERP",
                system_of_record="ERP",
                owner="ops@example.com",
                rules=(Rule(kind="one_of", arg=["open", "shipped"]),),
            ),
        ),
        integrations=(
            Integration(
                name="crm-to-erp-customers",
                source="CRM",
                target="ERP",
                owner="dave@example.com",
                level="foundation",
                mode="batch",
                purpose="Invoices go to the current address",
                fallback="Export CSV from CRM and import by hand",
                carries=(Carry(element="customer.address", transform="upper"),),
            ),
            Integration(
                name="erp-to-bi",
                source="ERP",
                target="BI",
                owner="bi-lead@example.com",
                level="intelligence",
                mode="batch",
                purpose="Revenue reports",
                timeout=dt.timedelta(hours=2),
                carries=(Carry(element="order.total", transform="multiply(1.2)"),),
            ),
            Integration(
                name="erp-to-wms",
                source="ERP",
                target="WMS",
                owner="wms-lead@example.com",
                level="operations",
                mode="realtime",
                purpose="Pick and ship",
                cardinality="fan-out",
                carries=(Carry(element="order.status"),),
            ),
        ),
    )
    return base.model_copy(update=changes)


def waiver(code: str, expires: str | None = None, **subject: str) -> Waiver:
    return Waiver(
        code=code,
        subject=subject,
        reason="accepted for the test",
        owner="lead@example.com",
        expires=dt.date.fromisoformat(expires) if expires else None,
    )


def load(store: Store, reg: Registry | None = None) -> Store:
    store.save_registry(reg or registry())
    return store


def record(store: Store, *events: dict[str, Any]) -> None:
    """Record events (after the registry is loaded: hops are checked against it)."""
    with Writer(store) as writer:
        for event in events:
            writer.add_data(event)
    assert not writer.result.rejected, writer.result.rejected


def write(
    system: str, element: str, rec: str, value: Any, minutes: float, **extra: Any
) -> dict[str, Any]:
    return {
        "kind": "write",
        "system": system,
        "element": element,
        "record": rec,
        "value": value,
        "at": at(minutes),
        **extra,
    }


def snapshot(
    system: str, element: str, rec: str, value: Any, minutes: float, **extra: Any
) -> dict[str, Any]:
    return {
        "kind": "snapshot",
        "system": system,
        "element": element,
        "record": rec,
        "value": value,
        "at": at(minutes),
        **extra,
    }


def hop(
    hop_id: str,
    integration: str | None,
    minutes: float,
    inputs: list[tuple[str, str, str, Any]],
    output: tuple[str, str, str, Any],
    **extra: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "kind": "hop",
        "id": hop_id,
        "at": at(minutes),
        "inputs": [{"system": s, "element": e, "record": r, "value": v} for s, e, r, v in inputs],
        "output": dict(zip(("system", "element", "record", "value"), output, strict=True)),
        **extra,
    }
    if integration is not None:
        event["integration"] = integration
    return event


def clean_chain() -> list[dict[str, Any]]:
    """An order total written in ERP, delivered to BI through its transform, observed there."""
    return [
        write("ERP", "order.total", "40017", "50.00", 0, actor="erp-user"),
        hop(
            "h-1",
            "erp-to-bi",
            5,
            [("ERP", "order.total", "40017", "50.00")],
            ("BI", "order.total", "R-9", "60.00"),
        ),
        snapshot("BI", "order.total", "R-9", "60", 60),
        write("CRM", "customer.address", "C-1042", "12 Main St", 0),
        hop(
            "h-2",
            "crm-to-erp-customers",
            5,
            [("CRM", "customer.address", "C-1042", "12 Main St")],
            ("ERP", "customer.address", "40017", "12 MAIN ST"),
        ),
        write("ERP", "order.status", "40017", "open", 1),
        hop(
            "h-3",
            "erp-to-wms",
            2,
            [("ERP", "order.status", "40017", "open")],
            ("WMS", "order.status", "P-1", "open"),
        ),
    ]


def run(store: Store, *, as_of: float | None = 24 * 60, **filters: Any) -> ScanResult:
    """Scan with every detector of this area, as of ``as_of`` minutes after the start."""
    return scan_report(
        store,
        as_of=None if as_of is None else us(as_of),
        filters=Filters(**filters),
        detectors=OWN_DETECTORS,
    )


def found(store: Store, code: str, **kwargs: Any) -> list[Finding]:
    return [f for f in run(store, **kwargs).findings if f.code == code]
