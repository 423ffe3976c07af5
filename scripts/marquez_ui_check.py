"""Drive Marquez's own web UI against a running ``lineage serve`` and say what breaks.

Marquez's web UI (``web/`` of MarquezProject/marquez, built with ``npm ci && npm run build``)
is served by its own ``setupProxy.js``, which proxies ``/api/v1`` and ``/api/v2beta`` to the
tracker. Headless Chromium (Playwright) then walks the pages a Marquez user walks: the home
page's charts, the jobs and datasets lists, a job's page and its runs, a dataset's page and its
versions, the lineage graph of a job and of a dataset, column lineage, search and the events
page. Every request the UI makes that answers 4xx/5xx, every script error, and every page
that stays without what it should show is a failure::

    python scripts/marquez_ui_check.py ~/marquez/web http://127.0.0.1:8000 --seed \\
        --screenshots /tmp/marquez-ui

``--seed`` first posts a few Airflow-shaped OpenLineage runs dated in the last hours (so the
dashboard's charts and the events page have something to draw). Prints one line per page and
the failing requests; exits 1 when anything failed, 2 on bad usage. Needs ``node`` (for the
UI's proxy) and Chromium (``--chromium``, default ``/usr/bin/chromium``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Response, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

SEED_NAMESPACE = "marquez-ui-check"
SHOP = "postgres://shop-db:5432"
WAREHOUSE = "postgres://warehouse:5432"
PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/2.1.0"
RUN_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACETS = "https://openlineage.io/spec/facets/1-0-1/"

# Marquez's own build asks for these and they fail with no tracker involved: Google fonts (no
# network here), two images its public/ folder does not ship into dist/, and font files its
# webpack config emits as modules. Counted, not failures.
ASSET_NOISE = (
    "fonts.googleapis.com",
    "/img/favicon.png",
    "/img/icon.svg",
    "Failed to decode downloaded font",
    "OTS parsing error",
    "net::ERR_NAME_NOT_RESOLVED",
    "the server responded with a status of 404 (Not Found)",
    "Deprecation warning: value provided is not in a recognized RFC2822 or ISO format",
)


@dataclass
class Outcome:
    """What one page showed and what went wrong on it."""

    page: str
    shown: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class Watch:
    """Requests, script errors and console errors seen while a page was driven."""

    failing: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    noise: int = 0
    api_calls: list[str] = field(default_factory=list)

    def take(self) -> tuple[list[str], list[str], list[str]]:
        found = (self.failing, self.errors, self.api_calls)
        self.failing, self.errors, self.api_calls = [], [], []
        return found


# -- the tracker's side: seeding and picking what to look at -----------------------------------


def _event(
    kind: str,
    at: dt.datetime,
    *,
    run_id: str,
    job: str,
    inputs: list[tuple[str, str]],
    output: tuple[str, str],
    fields: dict[str, list[tuple[str, str, str]]],
) -> dict[str, Any]:
    run_facets: dict[str, Any] = {
        "nominalTime": {
            "_producer": PRODUCER,
            "_schemaURL": FACETS + "NominalTimeRunFacet.json",
            "nominalStartTime": at.isoformat(),
        }
    }
    if kind == "FAIL":
        run_facets["errorMessage"] = {
            "_producer": PRODUCER,
            "_schemaURL": FACETS + "ErrorMessageRunFacet.json",
            "message": "psycopg2.errors.UndefinedColumn: column orders.total does not exist",
            "programmingLanguage": "python",
        }
    out: dict[str, Any] = {"namespace": output[0], "name": output[1]}
    if kind != "START":
        out["facets"] = {
            "schema": {
                "_producer": PRODUCER,
                "_schemaURL": FACETS + "SchemaDatasetFacet.json",
                "fields": [{"name": f, "type": "VARCHAR"} for f in fields],
            },
            "columnLineage": {
                "_producer": PRODUCER,
                "_schemaURL": FACETS + "ColumnLineageDatasetFacet.json",
                "fields": {
                    f: {
                        "inputFields": [
                            {
                                "namespace": ns,
                                "name": name,
                                "field": source,
                                "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                            }
                            for ns, name, source in sources
                        ]
                    }
                    for f, sources in fields.items()
                },
            },
        }
    return {
        "eventType": kind,
        "eventTime": at.isoformat(),
        "producer": PRODUCER,
        "schemaURL": RUN_SCHEMA,
        "run": {"runId": run_id, "facets": run_facets},
        "job": {
            "namespace": SEED_NAMESPACE,
            "name": job,
            "facets": {
                "sql": {
                    "_producer": PRODUCER,
                    "_schemaURL": FACETS + "SQLJobFacet.json",
                    "query": f"INSERT INTO {output[1]} SELECT ...",
                }
            },
        },
        "inputs": [{"namespace": ns, "name": name} for ns, name in inputs],
        "outputs": [out],
    }


def seed_events(now: dt.datetime) -> list[dict[str, Any]]:
    """Two Airflow-shaped jobs run three times each in the last six hours, one run failing:
    shop orders and customers into the warehouse, the warehouse's orders into a report."""
    load = (
        "orders_dag.load_orders",
        [(SHOP, "public.orders"), (SHOP, "public.customers")],
        (WAREHOUSE, "analytics.orders"),
        {
            "order_id": [(SHOP, "public.orders", "id")],
            "total": [(SHOP, "public.orders", "total")],
            "customer_name": [(SHOP, "public.customers", "name")],
        },
    )
    report = (
        "orders_dag.daily_revenue",
        [(WAREHOUSE, "analytics.orders")],
        (WAREHOUSE, "analytics.daily_revenue"),
        {"revenue": [(WAREHOUSE, "analytics.orders", "total")]},
    )
    found = []
    for hours_ago in (5, 3, 1):
        for offset, (job, inputs, output, fields) in enumerate((load, report)):
            start = now - dt.timedelta(hours=hours_ago, minutes=-10 * offset)
            end = start + dt.timedelta(minutes=4)
            end_kind = "FAIL" if hours_ago == 3 and offset == 1 else "COMPLETE"
            run_id = str(uuid.uuid4())
            for kind, at in (("START", start), (end_kind, end)):
                found.append(
                    _event(
                        kind,
                        at,
                        run_id=run_id,
                        job=job,
                        inputs=inputs,
                        output=output,
                        fields=fields,
                    )
                )
    return found


def _http(url: str, body: Any = None, token: str | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")  # noqa: S310 - the tracker's URL, http(s) checked in main
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        return json.loads(answer.read() or b"null")


def seed(lineage: str, token: str | None) -> int:
    events = seed_events(dt.datetime.now(dt.UTC))
    _http(f"{lineage}/api/v1/lineage/batch", events, token)
    return len(events)


@dataclass(frozen=True)
class Targets:
    """The job, dataset and search text the pages are driven with."""

    job: tuple[str, str]
    dataset: tuple[str, str]
    query: str
    event_days: tuple[dt.date, ...]
    lineage: str


def _split(given: str) -> tuple[str, str]:
    namespace, _, name = given.rpartition("/")
    if not namespace or not name:
        raise SystemExit(f"marquez_ui_check: {given!r} is not NAMESPACE/NAME")
    return namespace, name


def pick_targets(lineage: str, args: argparse.Namespace) -> Targets:
    """The job and dataset given, else the most recently run job with inputs and outputs and
    its first output; the days of the latest events and those given."""
    api = f"{lineage}/api/v1"
    if args.job:
        job = _split(args.job)
    else:
        jobs = _http(f"{api}/jobs?limit=1000")["jobs"]
        run = [j for j in jobs if j.get("latestRun") and j.get("inputs") and j.get("outputs")]
        if not run:
            raise SystemExit("marquez_ui_check: no job has run yet (send events, or --seed)")
        best = max(run, key=lambda j: j["latestRun"].get("updatedAt", ""))
        job = (best["namespace"], best["name"])
    if args.dataset:
        dataset = _split(args.dataset)
    else:
        detail = _http(f"{api}/namespaces/{_q(job[0])}/jobs/{_q(job[1])}")
        first = (detail.get("outputs") or detail.get("inputs"))[0]
        dataset = (first["namespace"], first["name"])
    latest = _http(f"{api}/events/lineage?limit=1")["events"]
    days = {dt.datetime.fromisoformat(e["eventTime"].replace("Z", "+00:00")).date() for e in latest}
    days.update(dt.date.fromisoformat(d) for d in args.events_day)
    query = args.query or job[1].rsplit(".", 1)[-1][:6]
    return Targets(job, dataset, query, tuple(sorted(days)), lineage)


def _q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


# -- Marquez's web UI: its proxy and the pages -------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def marquez_web(web: Path, lineage: str, port: int) -> Iterator[str]:
    """Marquez's ``setupProxy.js`` serving ``web/dist`` and proxying the API to ``lineage``."""
    target = urllib.parse.urlsplit(lineage)
    env = {
        **os.environ,
        "MARQUEZ_HOST": target.hostname or "127.0.0.1",
        "MARQUEZ_PORT": str(target.port or (443 if target.scheme == "https" else 80)),
        "WEB_PORT": str(port),
    }
    node = shutil.which("node")
    if node is None:
        raise SystemExit("marquez_ui_check: node is not on PATH (Marquez's web UI needs it)")
    process = subprocess.Popen(  # noqa: S603 - node and a fixed script, no user text
        [node, "setupProxy.js"],
        cwd=web,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthcheck", timeout=2):  # noqa: S310
                    break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    error = process.stderr.read().decode() if process.stderr else ""
                    raise SystemExit(
                        f"marquez_ui_check: setupProxy.js did not start: {error}"
                    ) from None
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(10)


def _watch(page: Page, base: str) -> Watch:
    watch = Watch()

    def answered(response: Response) -> None:
        url = response.url
        if "/api/" in url:
            watch.api_calls.append(url.removeprefix(base))
        if response.status >= 400:
            if any(n in url for n in ASSET_NOISE):
                watch.noise += 1
                return
            body = ""
            try:
                body = response.text()[:200]
            except Exception:  # a body that cannot be read is still a failure
                body = "(no body)"
            request = response.request
            watch.failing.append(
                f"{request.method} {url.removeprefix(base)} -> {response.status} {body}"
            )

    def console(message: Any) -> None:
        if message.type != "error":
            return
        if any(n in message.text for n in ASSET_NOISE):
            watch.noise += 1
            return
        watch.errors.append(f"console: {message.text.splitlines()[0][:300]}")

    page.on("response", answered)
    page.on("requestfailed", lambda r: _failed_request(watch, r.url, r.failure))
    page.on("console", console)
    page.on("pageerror", lambda e: watch.errors.append(f"script error: {str(e)[:300]}"))
    return watch


def _failed_request(watch: Watch, url: str, failure: str | None) -> None:
    # A request cut short by the next page (net::ERR_ABORTED) is no answer of the tracker's,
    # unless it was the tracker's API.
    aborted = failure == "net::ERR_ABORTED" and "/api/" not in url
    if aborted or any(n in url for n in ASSET_NOISE):
        watch.noise += 1
    else:
        watch.failing.append(f"{url} failed: {failure}")


def _settle(page: Page) -> None:
    """Wait for the page's requests to end (the graphs' layout worker may keep one open)."""
    with suppress(PlaywrightTimeout):
        page.wait_for_load_state("networkidle", timeout=8000)
    page.wait_for_timeout(800)


def _after(text: str, label: str, *, digits: bool = False) -> str:
    """The line after ``label`` in a page's text (a detail panel's value), or ''; with
    ``digits``, the first such line that is a number (the side menu names the same labels)."""
    lines = [line.strip() for line in text.splitlines()]
    for i, line in enumerate(lines[:-1]):
        if line == label and (not digits or lines[i + 1].isdigit()):
            return lines[i + 1]
    return ""


def _node(kind: str, namespace: str, name: str) -> str:
    return f"/lineage/{kind}/{_q(namespace)}/{_q(name)}?tableLevelNode=" + _q(
        f"{kind}:{namespace}:{name}"
    )


def _expect(outcome: Outcome, condition: bool, problem: str, shown: str = "") -> None:
    if condition:
        if shown:
            outcome.shown.append(shown)
    else:
        outcome.problems.append(problem)


def check_home(page: Page, base: str, t: Targets) -> Outcome:
    outcome = Outcome("home (stats charts, jobs)")
    page.goto(base + "/")
    _settle(page)
    text = page.inner_text("body")
    events = next((x for x in text.splitlines() if re.fullmatch(r"\d+ EVENTS", x.strip())), "")
    _expect(outcome, bool(events), "no event count on the chart", events.lower())
    for label in ("DATASETS", "SOURCES", "JOBS"):
        value = _after(text, label, digits=True)
        _expect(
            outcome,
            value.isdigit(),
            f"the {label.lower()} count is {value!r}",
            f"{label.lower()} {value}",
        )
    _expect(outcome, "LAST 10 RUNS" in text, "no job card under Jobs", "job cards")
    # the week's charts: the same four counts by day, in the browser's time zone
    page.goto(base + "/?timeframe=week")
    _settle(page)
    week = page.inner_text("body")
    events = next((x for x in week.splitlines() if re.fullmatch(r"\d+ EVENTS", x.strip())), "")
    _expect(outcome, bool(events), "no event count on the week's chart", f"week {events.lower()}")
    return outcome


def _select_namespace(page: Page, namespace: str) -> None:
    page.locator("#namespace-select").click()
    page.get_by_role("option", name=namespace, exact=True).click()
    _settle(page)


def check_jobs(page: Page, base: str, t: Targets) -> Outcome:
    outcome = Outcome("jobs list")
    page.goto(base + "/jobs")
    _settle(page)
    _select_namespace(page, t.job[0])
    text = page.inner_text("body")
    total = next((line for line in text.splitlines() if line.endswith(" total")), "")
    _expect(outcome, t.job[1] in text, f"job {t.job[1]} not listed in {t.job[0]}", total)
    return outcome


def check_datasets(page: Page, base: str, t: Targets) -> Outcome:
    outcome = Outcome("datasets list")
    page.goto(base + "/datasets")
    _settle(page)
    _select_namespace(page, t.dataset[0])
    text = page.inner_text("body")
    total = next((line for line in text.splitlines() if line.endswith(" total")), "")
    _expect(outcome, t.dataset[1] in text, f"dataset {t.dataset[1]} not listed", total)
    return outcome


def _dated(value: str) -> bool:
    """A detail panel's date: blank (the next label read instead) or unparsed is not one."""
    return any(c.isdigit() for c in value) and value != "Invalid date"


def check_job(page: Page, base: str, t: Targets) -> Outcome:
    outcome = Outcome("job page and runs")
    api = f"{t.lineage}/api/v1/namespaces/{_q(t.job[0])}/jobs/{_q(t.job[1])}"
    runs = len(_http(f"{api}/runs?limit=14")["runs"])
    page.goto(base + _node("job", *t.job))
    _settle(page)
    text = page.inner_text("body")
    for label in ("CREATED AT", "UPDATED AT"):
        value = _after(text, label)
        _expect(outcome, _dated(value), f"{label.lower()} is {value!r}", f"{label.lower()} {value}")
    state = _after(text, "RUNNING STATUS")
    _expect(outcome, runs == 0 or state != "N/A", "a job that ran shows no state", state)
    page.get_by_role("tab", name="RUN HISTORY").click()
    _settle(page)
    rows = page.locator("table tbody tr")
    _expect(
        outcome,
        rows.count() == runs,
        f"{rows.count()} runs shown, the tracker answered {runs}",
        f"{rows.count()} runs",
    )
    if runs:
        rows.first.click()
        _settle(page)
        detail = page.inner_text("body")
        _expect(outcome, "RUN FACETS" in detail.upper(), "a run's page shows no facets", "a run")
    return outcome


def check_dataset(page: Page, base: str, t: Targets) -> Outcome:
    outcome = Outcome("dataset page and versions")
    api = f"{t.lineage}/api/v1/namespaces/{_q(t.dataset[0])}/datasets/{_q(t.dataset[1])}"
    versions = len(_http(f"{api}/versions?limit=10")["versions"])
    page.goto(base + _node("dataset", *t.dataset))
    _settle(page)
    text = page.inner_text("body")
    updated = _after(text, "UPDATED AT")
    _expect(outcome, _dated(updated), f"updated at is {updated!r}", f"updated {updated}")
    fields = _after(text, "FIELDS")
    _expect(outcome, bool(fields), "no field count", fields)
    page.get_by_role("tab", name="VERSION HISTORY").click()
    _settle(page)
    rows = page.locator("table tbody tr")
    _expect(
        outcome,
        rows.count() >= min(versions, 1),
        f"{rows.count()} versions shown, the tracker answered {versions}",
        f"{rows.count()} versions",
    )
    if versions and rows.count():
        rows.first.click()
        _settle(page)
        detail = page.inner_text("body")
        _expect(outcome, "FACETS" in detail.upper(), "a version's page shows nothing", "a version")
    return outcome


def _graph(page: Page, base: str, kind: str, target: tuple[str, str], name: str) -> Outcome:
    outcome = Outcome(name)
    page.goto(base + f"/lineage/{kind}/{_q(target[0])}/{_q(target[1])}?depth=2")
    _settle(page)
    text = page.inner_text("body")
    # The graph draws each node twice (the canvas and the minimap).
    jobs = text.splitlines().count("JOB") // 2
    datasets = text.splitlines().count("DATASET") // 2
    _expect(
        outcome,
        jobs > 0 and datasets > 0,
        "the graph has no job or no dataset",
        f"{jobs} jobs, {datasets} datasets",
    )
    return outcome


def check_job_graph(page: Page, base: str, t: Targets) -> Outcome:
    return _graph(page, base, "job", t.job, "lineage graph of a job")


def check_dataset_graph(page: Page, base: str, t: Targets) -> Outcome:
    return _graph(page, base, "dataset", t.dataset, "lineage graph of a dataset")


def check_column_lineage(page: Page, base: str, t: Targets) -> Outcome:
    outcome = Outcome("column lineage")
    page.goto(base + f"/datasets/column-level/{_q(t.dataset[0])}/{_q(t.dataset[1])}")
    _settle(page)
    text = page.inner_text("body").splitlines()
    # What the page asked for, from the tracker: every field node it answered must be drawn.
    node = _q(f"dataset:{t.dataset[0]}:{t.dataset[1]}")
    graph = _http(f"{t.lineage}/api/v1/column-lineage?nodeId={node}&depth=2&withDownstream=true")
    fields = {n["data"]["field"] for n in graph["graph"]}
    missing = sorted(f for f in fields if f not in text)
    _expect(
        outcome,
        bool(fields) and not missing,
        f"fields not drawn: {', '.join(missing)}" if fields else "no column lineage answered",
        f"{len(graph['graph'])} fields drawn",
    )
    return outcome


def check_search(page: Page, base: str, t: Targets) -> Outcome:
    outcome = Outcome("search")
    page.goto(base + "/")
    _settle(page)
    page.locator("#searchBar").click()
    page.keyboard.type(t.query, delay=40)
    _settle(page)
    box = page.locator("#searchContainer")
    # /api/v1/search's hits are links; a build with REACT_APP_ADVANCED_SEARCH=true lists
    # /api/v2beta/search's as clickable rows (names cut at 30 characters)
    links = box.locator("a[href^='/lineage/']")
    rows = box.get_by_text(t.job[1][:27], exact=False)
    hits = links if links.count() else rows
    _expect(
        outcome,
        hits.count() > 0 and t.job[0][:27].lower() in box.inner_text().lower(),
        f"searching {t.query!r} did not find {t.job[0]}/{t.job[1]}",
        f"{hits.count()} hits for {t.query!r}",
    )
    if hits.count():
        hits.first.click()
        _settle(page)
        _expect(outcome, "/lineage/" in page.url, "a hit does not open its graph", "a hit opened")
    return outcome


def check_events(page: Page, base: str, t: Targets) -> Outcome:
    outcome = Outcome("events")
    for day in t.event_days:
        after = f"{day.isoformat()}T00:00:00.000Z"
        before = f"{day.isoformat()}T23:59:59.000Z"
        page.goto(base + f"/events?dateFrom={_q(after)}&dateTo={_q(before)}")
        _settle(page)
        text = page.inner_text("body")
        total = next((line for line in text.splitlines() if line.endswith(" total")), "")
        _expect(
            outcome, total not in ("", "0 total"), f"no event shown on {day}", f"{day}: {total}"
        )
    return outcome


CHECKS: tuple[Callable[[Page, str, Targets], Outcome], ...] = (
    check_home,
    check_jobs,
    check_datasets,
    check_job,
    check_dataset,
    check_job_graph,
    check_dataset_graph,
    check_column_lineage,
    check_search,
    check_events,
)


def run(args: argparse.Namespace) -> int:
    lineage = args.lineage.rstrip("/")
    if args.seed:
        print(f"seeded {seed(lineage, args.token)} OpenLineage events of the last hours")
    targets = pick_targets(lineage, args)
    print(
        f"job {targets.job[0]}/{targets.job[1]}, dataset {targets.dataset[0]}/{targets.dataset[1]},"
        f" search {targets.query!r}, events on {', '.join(map(str, targets.event_days))}"
    )
    failed = 0
    failing_requests: list[str] = []
    noise = 0
    with (
        marquez_web(args.web, lineage, args.web_port or _free_port()) as base,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(
            executable_path=args.chromium, headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(args.timeout * 1000)
        watch = _watch(page, base)
        for check in CHECKS:
            try:
                outcome = check(page, base, targets)
            except Exception as exc:  # a page that cannot be driven is its result
                outcome = Outcome(check.__name__.removeprefix("check_"))
                outcome.problems.append(f"could not be driven: {str(exc).splitlines()[0]}")
            requests_failed, errors, calls = watch.take()
            outcome.problems += errors
            outcome.problems += [f"request {r}" for r in requests_failed]
            failing_requests += requests_failed
            if args.screenshots:
                args.screenshots.mkdir(parents=True, exist_ok=True)
                name = outcome.page.split(" (")[0].replace(" ", "-")
                page.screenshot(path=str(args.screenshots / f"{name}.png"))
            verdict = "ok  " if not outcome.problems else "FAIL"
            failed += bool(outcome.problems)
            print(f"{verdict} {outcome.page:<28} {'; '.join(outcome.shown)}")
            for problem in outcome.problems:
                print(f"       {problem}")
            if args.verbose:
                for call in calls:
                    print(f"       . {call}")
        noise = watch.noise
        browser.close()
    print(f"failing requests: {len(failing_requests)}")
    for request in failing_requests:
        print(f"  {request}")
    print(f"{noise} failures of the UI's own assets ignored (fonts, favicon)")
    print(f"{len(CHECKS) - failed} of {len(CHECKS)} pages ok")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("web", type=Path, help="Marquez's web/ folder, built (dist/ in it)")
    parser.add_argument("lineage", help="the tracker's base URL (http://127.0.0.1:8000)")
    parser.add_argument("--seed", action="store_true", help="post a few fresh runs first")
    parser.add_argument("--token", help="the tracker's API token, for --seed")
    parser.add_argument("--job", help="NAMESPACE/NAME of the job to open (default: latest run)")
    parser.add_argument("--dataset", help="NAMESPACE/NAME of the dataset to open")
    parser.add_argument("--query", help="text to search (default: from the job's name)")
    parser.add_argument(
        "--events-day", action="append", default=[], help="also open the events of this day"
    )
    parser.add_argument("--web-port", type=int, default=0, help="port for the UI (0: any)")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium to drive")
    parser.add_argument("--timeout", type=int, default=20, help="seconds per step")
    parser.add_argument("--screenshots", type=Path, help="save each page's screenshot here")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every API call")
    args = parser.parse_args(argv)
    if not (args.web / "setupProxy.js").is_file() or not (args.web / "dist").is_dir():
        parser.error(f"{args.web}: no setupProxy.js and dist/ (run npm ci && npm run build there)")
    if urllib.parse.urlsplit(args.lineage).scheme not in ("http", "https"):
        parser.error(f"{args.lineage}: not an http(s) URL")
    try:
        return run(args)
    except urllib.error.URLError as exc:
        print(f"marquez_ui_check: {args.lineage}: {exc.reason}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
