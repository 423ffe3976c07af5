"""Told, not asked: each finding opened or resolved is POSTed to ``$LINEAGE_WEBHOOK_URL``.

The announcements wait in the store's durable outbox (:mod:`lineage.store.outbox`), written
in the transaction that opens or resolves the finding; this module sends them. Each is one
POST of JSON (the finding's contract shape plus ``"event": "opened" | "resolved"``, or
``{"text": ...}`` for a Slack incoming webhook with ``LINEAGE_WEBHOOK_FORMAT=slack``), with a
timeout and an ``Idempotency-Key`` header (the outbox row's number, the same on every retry).
A 2xx answer marks it delivered; anything else (an error status, a refused connection, a
timeout) schedules another attempt after an exponential backoff with jitter, for as long as
it takes: nothing is dropped.

Delivery never blocks or fails ingest. ``lineage serve`` runs a :class:`DeliveryThread`;
``lineage ingest`` sends for a few seconds at most after its summary; ``lineage webhook``
sends what is due by hand.

Example:
    >>> settings = WebhookSettings.from_environ({"LINEAGE_WEBHOOK_URL": "https://hooks.example/x"})
    >>> settings.url, settings.format
    ('https://hooks.example/x', 'json')
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from .errors import LineageError, StoreError
from .store import Store
from .store.outbox import OutboxRow, claim, mark_delivered, release, reschedule

URL_VARIABLE = "LINEAGE_WEBHOOK_URL"
FORMAT_VARIABLE = "LINEAGE_WEBHOOK_FORMAT"
TIMEOUT_VARIABLE = "LINEAGE_WEBHOOK_TIMEOUT"

Format = Literal["json", "slack"]
FORMATS: tuple[Format, ...] = ("json", "slack")

log = logging.getLogger(__name__)

_MICROS = 1_000_000
_FOREVER = 2**62


class WebhookError(LineageError):
    """The webhook is configured wrongly (a URL that is not http(s), an unknown format)."""


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Where and how to send.

    Args:
        url: the receiver, ``http://`` or ``https://``.
        format: ``json`` (the finding as the contract shapes it, plus ``event``) or
            ``slack`` (``{"text": ...}``).
        timeout: seconds one POST may take, connecting included.
        base_delay: seconds before the first retry; each failure doubles it, up to
            ``max_delay``, and the wait is drawn between half of it and all of it (jitter).
        max_delay: the longest wait between two attempts, in seconds.
    """

    url: str
    format: Format = "json"
    timeout: float = 5.0
    base_delay: float = 5.0
    max_delay: float = 3600.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise WebhookError(
                f"{URL_VARIABLE}={self.url!r} is not an http:// or https:// URL; "
                "name the receiver, e.g. https://hooks.slack.com/services/..."
            )
        if self.format not in FORMATS:
            raise WebhookError(
                f"{FORMAT_VARIABLE}={self.format!r} is not a webhook format; use json or slack"
            )
        if not 0 < self.timeout <= 600:
            raise WebhookError(
                f"{TIMEOUT_VARIABLE}={self.timeout!r} is not a number of seconds from 0 to 600"
            )

    @property
    def shown(self) -> str:
        """The receiver without its path and credentials (a Slack URL's path is its secret)."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> WebhookSettings | None:
        """The settings ``LINEAGE_WEBHOOK_*`` give, or None when no URL is set.

        Raises:
            WebhookError: the URL, the format or the timeout cannot be used.
        """
        url = environ.get(URL_VARIABLE, "").strip()
        if not url:
            return None
        fmt = environ.get(FORMAT_VARIABLE, "json").strip().lower() or "json"
        raw_timeout = environ.get(TIMEOUT_VARIABLE, "").strip()
        try:
            timeout = float(raw_timeout) if raw_timeout else 5.0
        except ValueError:
            timeout = -1.0
        if fmt not in FORMATS:
            raise WebhookError(
                f"{FORMAT_VARIABLE}={fmt!r} is not a webhook format; use json or slack"
            )
        if not 0 < timeout <= 600:
            raise WebhookError(
                f"{TIMEOUT_VARIABLE}={raw_timeout!r} is not a number of seconds from 0 to 600"
            )
        return cls(url=url, format=fmt, timeout=timeout)


@dataclass(slots=True)
class DeliveryReport:
    """What one :func:`deliver` did: rows accepted by the receiver, rows that failed."""

    delivered: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int, settings: WebhookSettings, rand: Callable[[], float]) -> float:
    """Seconds to wait after the ``attempts``-th failure: exponential, capped, jittered.

    "Equal jitter": half the exponential delay for sure, the other half drawn at random, so
    retries of many rows spread out yet none comes back sooner than half its delay.
    """
    delay = min(settings.max_delay, settings.base_delay * 2.0 ** max(0, attempts - 1))
    return delay / 2 + delay / 2 * rand()


def render(row: OutboxRow, fmt: Format) -> bytes:
    """The body to POST for ``row``: its payload as stored, or Slack's ``{"text": ...}``."""
    if fmt == "json":
        return row.payload.encode()
    return json.dumps({"text": slack_text(json.loads(row.payload))}).encode()


def slack_text(payload: Mapping[str, Any]) -> str:
    """One Slack message line for a finding payload: what happened, to what, whose it is.

    Slack reads ``&``, ``<`` and ``>`` as markup, so they are escaped in every user string.
    """

    def esc(value: object) -> str:
        return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    event = str(payload.get("event", "opened"))
    mark = ":white_check_mark: resolved" if event == "resolved" else ":rotating_light: opened"
    code = esc(payload.get("code", "finding"))
    severity = esc(payload.get("severity", ""))
    message = esc(payload.get("message", ""))
    owner = payload.get("owner")
    tail = f" (owner: {esc(owner)})" if owner else ""
    return f"{mark} {severity} `{code}`: {message}{tail}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not a delivery: urllib would turn the POST into a GET, so it fails."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def post(row: OutboxRow, settings: WebhookSettings, timeout: float) -> tuple[bool, str, float]:
    """POST one row; (accepted, the error when not, the receiver's Retry-After seconds or 0)."""
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked to be http(s)
        settings.url,
        data=render(row, settings.format),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": str(row.seq),
            "X-Lineage-Event": row.event,
            "User-Agent": "lineage-webhook",
        },
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(65_536)
            return True, "", 0.0
    except urllib.error.HTTPError as exc:
        with contextlib.closing(exc):
            body = exc.read(200).decode("utf-8", "replace").strip()
        retry_after = _seconds(exc.headers.get("Retry-After") if exc.headers else None)
        shown = f": {body}" if body else ""
        return False, f"HTTP {exc.code} {exc.reason}{shown}", retry_after
    except urllib.error.URLError as exc:
        return False, f"cannot reach {settings.shown}: {exc.reason}", 0.0
    except (TimeoutError, http.client.HTTPException, OSError) as exc:
        return False, f"cannot deliver to {settings.shown}: {exc or type(exc).__name__}", 0.0


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, min(86_400.0, float(value))) if value else 0.0
    except ValueError:
        return 0.0


def deliver(
    store: Store,
    settings: WebhookSettings,
    *,
    deadline: float | None = None,
    include_later: bool = False,
    batch: int = 20,
    clock: Callable[[], float] = time.time,
    rand: Callable[[], float] = random.random,
) -> DeliveryReport:
    """Send what is due, oldest first, until nothing is due or ``deadline`` passes.

    Args:
        store: the store whose outbox to work off.
        settings: where and how to send.
        deadline: ``time.monotonic()`` value after which nothing more is sent (rows taken
            but not sent are given back); None: until nothing is due.
        include_later: also send rows waiting for a later retry, now (by hand).
        batch: rows taken per claim.
        clock: the wall clock (seconds since the epoch), for the outbox's times.
        rand: a uniform draw in [0, 1), for the jitter.

    Raises:
        StoreError: the outbox cannot be read or updated (the caller decides whether that
            matters; ingest only warns).
    """
    report = DeliveryReport()
    # A lease longer than any POST can take: nobody else sends the row meanwhile.
    lease = int((settings.timeout * 2 + 30) * _MICROS)
    after = 0  # one pass over the outbox: a row that fails now waits for the next one
    while True:
        if deadline is not None and time.monotonic() >= deadline:
            return report
        now = int(clock() * _MICROS)
        due_by = _FOREVER if include_later else now
        rows = claim(store, due_by=due_by, lease_until=now + lease, limit=batch, after=after)
        if not rows:
            return report
        after = rows[-1].seq
        for index, row in enumerate(rows):
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                release(store, [r.seq for r in rows[index:]], now=int(clock() * _MICROS))
                return report
            timeout = settings.timeout if remaining is None else min(settings.timeout, remaining)
            ok, error, retry_after = post(row, settings, max(0.1, timeout))
            done = int(clock() * _MICROS)
            if ok:
                mark_delivered(store, row.seq, now=done)
                report.delivered += 1
                continue
            wait = max(backoff(row.attempts + 1, settings, rand), retry_after)
            reschedule(store, row.seq, next_attempt_at=done + int(wait * _MICROS), error=error)
            report.failed += 1
            report.errors.append(f"#{row.seq}: {error}")


def deliver_briefly(store: Store, settings: WebhookSettings, seconds: float) -> DeliveryReport:
    """Best effort for at most ``seconds``: what ``lineage ingest`` does after its summary."""
    return deliver(store, settings, deadline=time.monotonic() + seconds)


class DeliveryThread:
    """Works the outbox off in the background of ``lineage serve``, every ``interval`` seconds.

    A failing receiver or a busy store only delays delivery: the thread logs the error and
    tries again at the next round. :meth:`stop` ends it between two POSTs.
    """

    def __init__(self, store: Store, settings: WebhookSettings, *, interval: float = 2.0) -> None:
        self.store = store
        self.settings = settings
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lineage-webhook", daemon=True)

    def start(self) -> DeliveryThread:
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                # one round at most an interval long past its timeout, so stop() is heard
                deliver(
                    self.store,
                    self.settings,
                    deadline=time.monotonic() + self.interval + self.settings.timeout,
                )
            except StoreError as exc:
                log.warning("lineage webhook: %s; trying again in %g s", exc, self.interval)
            self._stop.wait(self.interval)
