"""Bearer tokens for the write endpoints, when the app has an ``API_TOKEN``."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

F = TypeVar("F", bound=Callable[..., Any])


def check_token() -> None:
    """Raise 401 unless the request carries the app's token (or the app has none)."""
    expected = current_app.config.get("API_TOKEN")
    if not expected:
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), str(expected).encode()
    ):
        return
    raise Unauthorized(
        "this endpoint needs the header 'Authorization: Bearer <token>' with the tracker's "
        "token (LINEAGE_API_TOKEN)",
        www_authenticate=WWWAuthenticate("bearer", {"realm": "lineage"}),
    )


def token_required(view: F) -> F:
    """Decorate a write view: the token is checked before the body is read."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        check_token()
        return view(*args, **kwargs)

    guarded.requires_token = True  # type: ignore[attr-defined]
    return guarded  # type: ignore[return-value]
