"""The HTML pages, one blueprint per area (docs/CONTRACT.md §6).

- :data:`bp` (``pages``): the system map at ``/`` and one element's page ``/elements/<element>``;
- :mod:`.steward` (``steward``): ``/trace``, ``/impact``, ``/golden``;
- :mod:`.findings` (``findings``): ``/findings``;
- :mod:`.digest` (``digest``): ``/digest/<owner>``, what one owner must act on;
- :mod:`.openlineage` (``openlineage``): ``/openlineage``, what the mapping does not cover;
- :mod:`.explore` (``explore``): ``/systems/<name>``, ``/integrations/<name>``, ``/records``,
  ``/elements`` and ``/search``.

Templates extend ``base.html``; every value is autoescaped. Diagrams come from
:mod:`lineage.render`, which escapes every user string in its SVG, so they are inlined as
:class:`~markupsafe.Markup`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, Flask, render_template

from lineage.model.registry import Carry, Element, Integration

from ..charts import DAYS, health_charts, health_judged
from ..questions import element_flow, known_element, registry, system_map
from .common import inline_svg, page_errors
from .text import nobreak

bp = Blueprint("pages", __name__, template_folder="templates")
page_errors(bp)


@bp.get("/")
def index() -> str:
    """The system map: systems, elements and integrations as declared."""
    declared = registry()
    truths: dict[str, list[str]] = {}
    for element in declared.merged_elements:
        if element.system_of_record:
            truths.setdefault(element.system_of_record, []).append(element.name)
    return render_template(
        "pages/index.html",
        registry=declared,
        truths={name: sorted(set(names)) for name, names in truths.items()},
        svg=inline_svg(system_map("inline")) if declared.systems or declared.integrations else None,
        integration_health=health_charts("integration"),
        system_health=health_charts("system"),
        health_days=DAYS,
        health_judged=health_judged("integration"),
    )


@dataclass
class Holding:
    """A system that holds an element by declaration, and how the element gets there.

    ``arrivals`` are the carries delivering the element into the system; ``feeds`` the
    carries that read it there to compute another element.
    """

    system: str
    roles: list[str] = field(default_factory=list)
    arrivals: list[tuple[Integration, Carry]] = field(default_factory=list)
    feeds: list[tuple[Integration, Carry]] = field(default_factory=list)


def holdings(
    name: str, declared: Element | None, carried: list[tuple[Integration, Carry]]
) -> list[Holding]:
    """Where an element is held by declaration: origin, system of record, every copy."""
    found: dict[str, Holding] = {}

    def at(system: str) -> Holding:
        return found.setdefault(system, Holding(system))

    if declared is not None:
        for system, role in (
            (declared.system_of_origin, "system of origin"),
            (declared.system_of_record, "system of record"),
        ):
            if system:
                at(system).roles.append(role)
    for integration, carry in carried:
        if name in carry.input_elements:
            source = at(integration.source)
            if carry.element != name:
                source.feeds.append((integration, carry))
        if carry.element == name:
            at(integration.target).arrivals.append((integration, carry))
    for holding in found.values():
        if not holding.roles:
            holding.roles.append("copy" if holding.arrivals else "source")
    return list(found.values())


@bp.get("/elements/<element>")
def element(element: str) -> str:
    """One element: its declaration, owner, system of record and declared flow."""
    declared, carried = known_element(element)
    return render_template(
        "pages/element.html",
        name=element,
        declared=declared,
        carried=carried,
        held=holdings(element, declared, carried),
        svg=inline_svg(element_flow(element, "inline")),
    )


def register(app: Flask) -> None:
    """Register every page blueprint on ``app``."""
    from . import digest, explore, findings, openlineage, steward  # noqa: PLC0415 - they import helpers here

    app.add_template_filter(nobreak)
    for blueprint in (bp, steward.bp, findings.bp, openlineage.bp, explore.bp, digest.bp):
        app.register_blueprint(blueprint)
