"""What a web page elsewhere cannot make the tracker do: the Host allow-list, the rule for
writes without a token, and the security headers on every response.

- **Host allow-list** (DNS rebinding): a request whose ``Host`` is not in ``ALLOWED_HOSTS``
  is refused with 400, so a page on a name that was rebound to 127.0.0.1 cannot read or write
  through the victim's browser. Default: ``localhost``, ``127.0.0.1``, ``::1`` and the host
  ``lineage serve`` listens on; ``*`` turns the check off. An entry starting with a dot also
  allows the names under it.
- **Writes without a token** (CSRF): a browser sends ``Origin`` with every cross-origin POST,
  and a page may send a body cross-origin without asking first only as ``text/plain``, a form,
  or multipart. So a write (POST, PUT, PATCH, DELETE) is refused with 403 when its ``Origin``
  is another origin, and with 415 when it has such a body without coming from this origin:
  writes are JSON (as the Recorder and the OpenLineage client send them) or same-origin.
  With ``API_TOKEN`` set the token is the guard (a page cannot add it to a cross-origin
  request without the tracker agreeing first, which it never does).
- **Headers**: a Content-Security-Policy allowing only the tracker's own scripts, styles and
  images and no framing, ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` and
  ``Referrer-Policy: same-origin``, on every response.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import BadRequest, Forbidden, UnsupportedMediaType

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
"""Names a client on this machine uses for it: always allowed."""

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SIMPLE_BODIES = frozenset(
    {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
)
"""Content types a page may send to another origin without a preflight (Fetch standard)."""


def allowed_hosts(setting: str | Iterable[str] | None, served: str | None = None) -> list[str]:
    """The allow-list: ``setting`` (a list, or names separated by commas; None: none) plus
    the local names and the host served on (a wildcard address adds nothing)."""
    if isinstance(setting, str):
        setting = setting.split(",")
    names = [*LOCAL_HOSTS, *(setting or ())]
    if served and not _wildcard(served):
        names.append(served)
    return sorted({_normal(name) for name in names if name.strip()})


def _wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def _normal(name: str) -> str:
    return name.strip().strip("[]").rstrip(".").lower()


def host_name(host: str) -> str:
    """The name in a ``Host`` header, without its port or IPv6 brackets, lower-case."""
    host = host.strip()
    if host.startswith("["):
        return _normal(host.partition("]")[0])
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return _normal(host)


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """True when ``host`` (a ``Host`` header) names one of ``allowed``."""
    name = host_name(host)
    if not name:
        return False
    for entry in allowed:
        if entry in ("*", name):
            return True
        if entry.startswith(".") and (name == entry[1:] or name.endswith(entry)):
            return True
    return False


def _same_origin(origin: str) -> bool:
    return origin.rstrip("/") == request.host_url.rstrip("/")


def check_host() -> None:
    """Refuse a request whose ``Host`` is not allowed (400)."""
    allowed = current_app.config["ALLOWED_HOSTS"]
    host = request.headers.get("Host", "")
    if not host_allowed(host, allowed):
        raise BadRequest(
            f"host {host_name(host)!r} is not one this tracker answers to; add it to "
            f"LINEAGE_ALLOWED_HOSTS (now: {', '.join(allowed)})"
        )


def check_write() -> None:
    """Without a token, refuse a write a page on another origin could have sent."""
    if request.method not in UNSAFE_METHODS or current_app.config.get("API_TOKEN"):
        return
    origin = request.headers.get("Origin")
    if origin is not None and not _same_origin(origin):
        raise Forbidden(
            f"a write from the web page at {origin} is refused: writes come from this "
            "tracker's own pages or from clients that send no Origin"
        )
    if origin is None and request.mimetype in SIMPLE_BODIES:
        raise UnsupportedMediaType(
            f"writes take JSON: send the body with 'Content-Type: application/json' "
            f"(not {request.mimetype})"
        )


def add_headers(response: Response) -> Response:
    """The security headers, on every response (a view's own value wins)."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def register(app: Flask) -> None:
    """Install the checks and the headers on ``app``; reads ``ALLOWED_HOSTS`` and
    ``SERVED_HOST`` from its configuration."""
    app.config["ALLOWED_HOSTS"] = allowed_hosts(
        app.config.get("ALLOWED_HOSTS"), app.config.get("SERVED_HOST")
    )
    app.before_request(check_host)
    app.before_request(check_write)
    app.after_request(add_headers)
