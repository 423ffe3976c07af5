"""Where each thing the explorer shows lives: one URL builder per kind, used by the pages, the
search API and the diagrams' node links alike."""

from __future__ import annotations

import re
from urllib.parse import quote_plus

from flask import g, url_for

from lineage.explore import Hit
from lineage.render import Links

QUERY_SAFE = "!$'()*,/:;?@"
"""What a query string keeps as it is: the characters Werkzeug's ``url_for`` leaves unquoted
(``werkzeug.urls._urlencode``, after the URL standard's percent-encode sets)."""

_AS_IT_IS = re.compile(r"[A-Za-z0-9_.~!$'()*,/:;?@-]*")
"""A value the query holds unchanged: ``quote_plus`` keeps letters, digits and ``_.-~``, and
:data:`QUERY_SAFE`. Most names and keys are; telling so costs a tenth of quoting them."""


def _quoted(value: str) -> str:
    return value if _AS_IT_IS.fullmatch(value) else quote_plus(value, safe=QUERY_SAFE)


def _with_query(endpoint: str, **params: str | None) -> str:
    """``url_for(endpoint, **params)`` for an endpoint without path arguments: its path built
    once a request, the query encoded as ``url_for`` encodes it. A page of 500 findings links
    1,500 places; ``url_for`` took 15 ms of it."""
    paths: dict[str, str] = g.setdefault("lineage_paths", {})
    path = paths.get(endpoint)
    if path is None:
        path = paths[endpoint] = url_for(endpoint)
    query = "&".join(f"{k}={_quoted(v)}" for k, v in params.items() if v is not None)
    return f"{path}?{query}" if query else path


def system_url(name: str) -> str:
    """The system's page."""
    return url_for("explore.system", name=name)


def element_url(name: str) -> str:
    """The element's page (built once a request: a page links few elements, many times)."""
    known: dict[str, str] = g.setdefault("lineage_elements", {})
    url = known.get(name)
    if url is None:
        url = known[name] = url_for("pages.element", element=name)
    return url


def integration_url(name: str) -> str:
    """The integration's page."""
    return url_for("explore.integration", name=name)


def owner_url(owner: str) -> str:
    """What one owner must act on: their digest page."""
    return url_for("digest.owner", owner=owner)


def records_url(system: str, element: str, after: str | None = None) -> str:
    """A page of the records holding ``element`` in ``system``."""
    return url_for("explore.records", system=system, element=element, after=after or None)


def trace_url(system: str, element: str, record: str, as_of: str | None = None) -> str:
    """The trace of the value at a place (as of ``as_of`` when given)."""
    return _with_query("steward.trace", system=system, element=element, record=record, as_of=as_of)


def impact_url(system: str, element: str, record: str) -> str:
    """Everything downstream of the value at a place."""
    return url_for("steward.impact", system=system, element=element, record=record)


def golden_url(system: str, record: str, as_of: str | None = None) -> str:
    """The golden record of the business record known in ``system`` as ``record`` (as of
    ``as_of`` when given)."""
    return _with_query("steward.golden", system=system, record=record, as_of=as_of)


def hit_url(hit: Hit) -> str:
    """The page a search hit lands on: a record key lands on its trace."""
    if hit.kind == "record" and hit.system and hit.element and hit.record:
        return trace_url(hit.system, hit.element, hit.record)
    if hit.kind == "system":
        return system_url(hit.label)
    if hit.kind == "element":
        return element_url(hit.label)
    if hit.kind == "integration":
        return integration_url(hit.label)
    return owner_url(hit.label)


def diagram_links() -> Links:
    """The links a page's diagrams carry: a value to its trace, a system and an integration
    to their pages."""
    return Links(place=trace_url, system=system_url, integration=integration_url)
