"""The webhook: findings opened or resolved are POSTed from the durable outbox, retried with
backoff until the receiver takes them, never lost and never accepted twice, on both databases.

The receiver is a real HTTP server on a local port that answers 500, then is gone
(connection refused), then comes back."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from receiver import Receiver
from scan_world import hop, load, write

from lineage.cli import main
from lineage.store import Store, open_store
from lineage.store.outbox import backlog, enqueue
from lineage.webhook import DeliveryThread, WebhookError, WebhookSettings, deliver, slack_text

ROOT = Path(__file__).resolve().parent.parent


class Clock:
    """A wall clock the test moves forward (seconds since the epoch)."""

    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


def finding(n: int, event: str = "opened") -> dict[str, Any]:
    return {
        "code": "lost-delivery",
        "severity": "error",
        "message": f"hop h-{n} sent at 2026-11-19T10:00:00Z was not delivered within 1d",
        "owner": "tina@example.com",
        "subject": {"element": "payment.amount", "system": "Bank", "integration": None,
                    "record": f"DD-{n}", "event": f"h-{n}"},
        "location": None,
        "evidence": {"timeout": "1d"},
        "event": event,
    }  # fmt: skip


def announce(store: Store, count: int, clock: Clock, event: str = "opened") -> None:
    with store.engine.begin() as conn:
        for n in range(1, count + 1):
            enqueue(conn, finding_id=n, event=event, payload=finding(n, event),
                    now=int(clock() * 1e6))  # fmt: skip


def test_webhook_survives_errors_then_refused_connections_and_sends_each_finding_once(
    store: Store, receiver: Receiver
) -> None:
    clock = Clock()
    settings = WebhookSettings(receiver.url, timeout=2.0, base_delay=10.0, max_delay=60.0)
    announce(store, 3, clock)

    receiver.status = 500
    first = deliver(store, settings, clock=clock, rand=lambda: 0.5)
    assert (first.delivered, first.failed) == (0, 3)
    held = backlog(store)
    assert held.pending == 3 and "HTTP 500" in (held.last_error or "")
    # backoff: the first retry waits between 5 and 10 s (10 s, jittered)
    assert held.next_attempt_at == int((clock.now + 7.5) * 1e6)

    clock.now += 5  # not due yet: nothing is sent
    assert deliver(store, settings, clock=clock).failed == 0
    assert len(receiver.requests) == 3

    receiver.stop()  # now the connection is refused
    clock.now += 10
    second = deliver(store, settings, clock=clock, rand=lambda: 0.0)
    assert (second.delivered, second.failed) == (0, 3)
    assert "cannot reach http://127.0.0.1" in (backlog(store).last_error or "")
    assert "/hook" not in (backlog(store).last_error or ""), "the URL's path may be a secret"

    receiver.start()  # it recovers
    receiver.status = 200
    clock.now += 120
    third = deliver(store, settings, clock=clock)
    assert (third.delivered, third.failed) == (3, 0)
    assert deliver(store, settings, clock=clock, include_later=True).delivered == 0

    got = receiver.accepted()
    assert [doc["_key"] for doc in got] == ["1", "2", "3"]  # each once, oldest first
    assert [doc["subject"]["record"] for doc in got] == ["DD-1", "DD-2", "DD-3"]
    assert all(doc["event"] == "opened" and doc["code"] == "lost-delivery" for doc in got)
    # every attempt that reached it (a 500, then the 200) carried the same key per finding
    keys = [(status, headers["Idempotency-Key"]) for status, headers, _b in receiver.requests]
    assert keys == [(500, "1"), (500, "2"), (500, "3"), (200, "1"), (200, "2"), (200, "3")]
    held = backlog(store)
    assert (held.pending, held.delivered, held.last_error) == (0, 3, None)


def test_concurrent_deliverers_never_send_one_finding_twice(
    store: Store, receiver: Receiver
) -> None:
    clock = Clock()
    announce(store, 40, clock)
    settings = WebhookSettings(receiver.url, timeout=5.0)
    reports = []

    def run() -> None:
        reports.append(deliver(store, settings, clock=clock, batch=3))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    keys = [doc["_key"] for doc in receiver.accepted()]
    assert sorted(keys, key=int) == [str(n) for n in range(1, 41)]
    assert sum(r.delivered for r in reports) == 40
    assert backlog(store).pending == 0


def test_slack_format_posts_one_escaped_text_line(store: Store, receiver: Receiver) -> None:
    clock = Clock()
    doc = {**finding(7, "resolved"), "message": "value <b>1 & 2</b> differs"}
    with store.engine.begin() as conn:
        enqueue(conn, finding_id=7, event="resolved", payload=doc, now=int(clock() * 1e6))
    deliver(store, WebhookSettings(receiver.url, format="slack"), clock=clock)
    (_status, _headers, body), = receiver.requests  # fmt: skip
    sent = json.loads(body)
    assert list(sent) == ["text"]
    assert sent["text"] == (
        ":white_check_mark: resolved error `lost-delivery`: value &lt;b&gt;1 &amp; 2&lt;/b&gt; "
        "differs (owner: tina@example.com)"
    )
    assert sent["text"] == slack_text(doc)


def test_settings_come_from_the_environment_and_refuse_what_cannot_work() -> None:
    assert WebhookSettings.from_environ({}) is None
    made = WebhookSettings.from_environ(
        {"LINEAGE_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/secret",
         "LINEAGE_WEBHOOK_FORMAT": "Slack", "LINEAGE_WEBHOOK_TIMEOUT": "3"}
    )  # fmt: skip
    assert made is not None and (made.format, made.timeout) == ("slack", 3.0)
    assert made.shown == "https://hooks.slack.com"
    for bad in (
        {"LINEAGE_WEBHOOK_URL": "file:///etc/passwd"},
        {"LINEAGE_WEBHOOK_URL": "http://x", "LINEAGE_WEBHOOK_FORMAT": "xml"},
        {"LINEAGE_WEBHOOK_URL": "http://x", "LINEAGE_WEBHOOK_TIMEOUT": "soon"},
    ):
        with pytest.raises(WebhookError):
            WebhookSettings.from_environ(bad)


def test_the_serve_thread_delivers_in_the_background(store: Store, receiver: Receiver) -> None:
    announce(store, 2, Clock())
    thread = DeliveryThread(store, WebhookSettings(receiver.url), interval=0.05).start()
    try:
        waited = time.monotonic() + 30
        while len(receiver.accepted()) < 2 and time.monotonic() < waited:
            time.sleep(0.05)
    finally:
        thread.stop(10)
    assert [doc["_key"] for doc in receiver.accepted()] == ["1", "2"]


def test_webhook_command_sends_by_hand_and_reports_status(
    store: Store, db_url: str, receiver: Receiver, runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    announce(store, 2, Clock())  # due long ago
    unset = runner.invoke(main, ["webhook", "--db", db_url])
    assert unset.exit_code == 2 and "LINEAGE_WEBHOOK_URL is not set" in unset.output

    monkeypatch.setenv("LINEAGE_WEBHOOK_URL", receiver.url)
    receiver.status = 503
    failed = runner.invoke(main, ["webhook", "--db", db_url])
    assert failed.exit_code == 1
    assert "webhook: 0 delivered, 2 failed, 2 pending" in failed.output
    assert "HTTP 503" in failed.output
    status = runner.invoke(main, ["webhook", "--status", "--db", db_url])
    assert status.exit_code == 0
    assert status.output.startswith("webhook outbox: 2 pending, next attempt ")
    assert "HTTP 503" in status.output

    receiver.status = 200
    later = runner.invoke(main, ["webhook", "--db", db_url])  # retries are not due yet
    assert later.output.strip().endswith("0 delivered, 0 failed, 2 pending")
    forced = runner.invoke(main, ["webhook", "--all", "--db", db_url])
    assert forced.exit_code == 0
    assert "webhook: 2 delivered, 0 failed, 0 pending" in forced.output
    assert [doc["_key"] for doc in receiver.accepted()] == ["1", "2"]


def test_ingest_is_not_held_or_failed_by_a_dead_webhook(
    store: Store, db_url: str, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    announce(store, 1, Clock())
    dead = Receiver()  # never started: connections are refused
    monkeypatch.setenv("LINEAGE_WEBHOOK_URL", dead.url)
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"kind": "write", "system": "CRM", "element": "customer.name", "record": "C-1", '
        '"value": "Ann", "at": "2026-11-20T09:00:00Z"}\n'
    )
    started = time.monotonic()
    result = runner.invoke(main, ["ingest", str(events), "--db", db_url])
    assert time.monotonic() - started < 30
    assert result.exit_code == 0, result.output
    assert "1 accepted" in result.output
    assert "warning: webhook: 1 not delivered yet" in result.output
    assert backlog(store).pending == 1  # kept for later


def test_lineage_serve_tells_the_webhook_in_the_background(
    store: Store, db_url: str, receiver: Receiver
) -> None:
    announce(store, 1, Clock())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LINEAGE_WEBHOOK_URL": receiver.url}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "lineage", "serve", "--port", str(port), "--db", db_url],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        waited = time.monotonic() + 60
        while not receiver.accepted() and time.monotonic() < waited and server.poll() is None:
            time.sleep(0.1)
    finally:
        server.terminate()
        _out, err = server.communicate(timeout=30)
    assert [doc["_key"] for doc in receiver.accepted()] == ["1"], err.decode()
    assert "telling findings opened and resolved to http://127.0.0.1" in err.decode()


def test_an_idle_deliverer_does_not_wait_for_a_writer_holding_sqlite(
    tmp_path: Path, receiver: Receiver
) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    open_store(url).close()
    impatient = open_store(url, busy_timeout=0.2)
    writer = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # a bulk load holds the write lock
        report = deliver(impatient, WebhookSettings(receiver.url))  # nothing due: no lock
        assert (report.delivered, report.failed) == (0, 0)
        writer.execute(
            "INSERT INTO findings_outbox (finding_id, event, payload, created_at, "
            "attempts, next_attempt_at) VALUES (1, 'opened', '{}', 0, 0, 0)"
        )
        writer.execute("COMMIT")
        assert deliver(impatient, WebhookSettings(receiver.url)).delivered == 1
    finally:
        writer.close()
        impatient.close()


def test_an_ingest_that_opens_a_finding_tells_the_webhook_and_so_does_the_fix(
    db_url: str, receiver: Receiver, runner: CliRunner, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    # the real flow: lineage ingest -> judged in its transaction -> outbox -> POST
    monkeypatch.setenv("LINEAGE_WEBHOOK_URL", receiver.url)
    load(open_store(db_url)).close()

    def ingest(name: str, *events: dict[str, Any]) -> None:
        path = tmp_path / name
        path.write_text("".join(json.dumps(e) + "\n" for e in events))
        result = runner.invoke(main, ["ingest", str(path), "--db", db_url])
        assert result.exit_code == 0, result.output
        assert "webhook" not in result.output  # delivered: no warning

    ingest(
        "first.jsonl",
        write("ERP", "order.total", "40017", "50.00", 0, id="w-1"),
        hop("h-1", "erp-to-bi", 5, [("ERP", "order.total", "40017", "50.00")],
            ("BI", "order.total", "R-9", "60.00")),
        write("ERP", "order.total", "40017", "55.00", 10, id="w-2"),
    )  # fmt: skip
    opened = [d for d in receiver.accepted() if d["subject"]["record"] == "R-9"]
    assert [(d["event"], d["code"]) for d in opened] == [("opened", "conflicting-truth")]

    ingest("fix.jsonl", write("ERP", "order.total", "40017", "50.00", 20, id="w-fix"))
    told = [(d["event"], d["code"]) for d in receiver.accepted() if d["subject"]["record"] == "R-9"]
    assert told == [("opened", "conflicting-truth"), ("resolved", "conflicting-truth")]
    keys = [d["_key"] for d in receiver.accepted()]
    assert len(keys) == len(set(keys))  # nothing sent twice
    store = open_store(db_url)
    try:
        assert backlog(store).pending == 0
    finally:
        store.close()
