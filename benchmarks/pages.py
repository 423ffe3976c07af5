"""Benchmark: the web pages and read endpoints on a big store (README, Performance).

Targets at 1,000,000 hops: every page under 150 ms server-side (the trace page of a 20-hop
chain with its SVG, impact, golden record, system map, element, and the explorer's system,
integration, records, elements and search pages), search (``GET /api/v1/find``) under 50 ms.

The store is the one ``benchmarks/trace.py`` builds (:func:`benchmarks.common.generate_events`:
chains of 20 hops through S00 → … → S20); when it is present it is reused as it is
(SQLite ``/tmp/lineage-bench-trace/trace-<hops>.db``, PostgreSQL database
``lineage_bench_trace_<hops>``), otherwise it is built here with ``benchmarks.trace.build``
(``--hops``, default 1,000,000; try ``--hops 100000`` on a small machine). With ``--scope``
it is the store ``benchmarks/scope.py --build-only`` builds instead (the same chains, 950,000
hops and their origin writes, about 1,000,000 events, with a few of every defect planted:
SQLite ``/tmp/lineage-bench-scope/scope-950000.db``, database ``lineage_bench_scope_950000``),
never built here; run ``lineage scan --full`` on it first so that the owner's digest page
has stored findings to show.

Measured on a sample of chains spread over the store (``--samples``), each URL asked
``--repeat`` times, medians reported; each page through the Flask app in-process (routing,
query validation, the engine, Graphviz, the template: the server's whole work) and the trace
page once more over real HTTP on loopback (a threaded server, as a browser would ask it).
Beside them, in the same run: the engine's ``trace`` alone and the SVG layout alone.

Usage (from the repository root)::

    python benchmarks/pages.py                        # 1,000,000 hops, SQLite and PostgreSQL
    python benchmarks/pages.py --backend sqlite --hops 100000
    python benchmarks/pages.py --scope --samples 5 --repeat 3   # benchmarks/scope.py's stores

Results are written to benchmarks/results/pages.txt (``--scope``: pages-scope.txt).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from live_server import serving
from sqlalchemy import text

from benchmarks.common import (
    ELEMENTS,
    POSTGRES_ADMIN,
    Column,
    integration_name,
    machine,
    postgres_available,
    system_name,
    table,
)
from benchmarks.trace import CHAIN, _has_events, _postgres_database, build
from lineage.render import to_svg
from lineage.store import open_store
from lineage.trace import trace
from webapp import create_app

RESULTS = Path(__file__).resolve().parent / "results" / "pages.txt"
RESULTS_SCOPE = RESULTS.with_name("pages-scope.txt")
SCOPE_FOLDER = Path("/tmp/lineage-bench-scope")
TRACE_PAGE_TARGET_MS = 150.0
PAGE_TARGET_MS = 150.0
SEARCH_TARGET_MS = 50.0


def _record(system: int, chain: int) -> str:
    # the generator's record keys: C-<chain> at the origin, <system><chain:08> elsewhere
    return f"C-{chain}" if system == 0 else f"{system:02d}{chain:08d}"


def _timed_ms(func: Callable[[], Any]) -> float:
    started = time.perf_counter()
    func()
    return (time.perf_counter() - started) * 1000


def _url(backend: str, hops: int, folder: Path, scope: bool = False) -> str:
    kind = "scope" if scope else "trace"
    if backend == "postgresql":
        return f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/lineage_bench_{kind}_{hops}"
    if scope:
        return f"sqlite:///{SCOPE_FOLDER / f'scope-{hops}.db'}"
    return f"sqlite:///{folder / f'trace-{hops}.db'}"


def _busiest_owner(url: str) -> str:
    """The owner with the most open stored findings (the digest page with the most to show)."""
    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT owner FROM findings WHERE resolved_at IS NULL AND owner IS NOT NULL "
                    "GROUP BY owner ORDER BY COUNT(*) DESC LIMIT 1"
                )
            ).first()
    finally:
        store.close()
    return str(row[0]) if row else "team10@example.com"


def measure(
    url: str, hops: int, samples: int, repeat: int, owner: str = "team10@example.com"
) -> dict[str, list[float]]:
    """Milliseconds per question, every run, over ``samples`` chains."""
    app = create_app({"DATABASE_URL": url, "API_TOKEN": None})
    client = app.test_client()
    store = open_store(url)
    chains = hops // CHAIN
    picked = [(chains - 1) * (i + 1) // (samples + 1) for i in range(samples)]
    runs: dict[str, list[float]] = {}

    def get(path: str) -> Callable[[], None]:
        def ask() -> None:
            response = client.get(path)
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code} {response.data[:300]!r}")
            response.close()

        return ask

    with serving(app) as base:
        for chain in picked:
            element = ELEMENTS[chain % 2][0]
            last = {"system": system_name(CHAIN), "element": element,
                    "record": _record(CHAIN, chain)}  # fmt: skip
            origin = {"system": system_name(0), "element": element, "record": _record(0, chain)}
            middle = {"system": system_name(CHAIN // 2), "record": _record(CHAIN // 2, chain)}
            query = urlencode(last)

            def over_http(path: str = f"/trace?{query}") -> None:
                with urllib.request.urlopen(base + path, timeout=30) as answer:
                    answer.read()

            result = trace(store, *last.values())
            questions: dict[str, Callable[[], Any]] = {
                "trace page": get(f"/trace?{query}"),
                "trace page over HTTP": over_http,
                "trace (engine)": lambda last=last: trace(store, *last.values()),
                "SVG of the trace": lambda result=result: to_svg(result, standalone=False),
                "GET /api/v1/trace": get(f"/api/v1/trace?{query}"),
                "GET /api/v1/graph/trace.svg": get(f"/api/v1/graph/trace.svg?{query}"),
                "impact page": get(f"/impact?{urlencode(origin)}"),
                "golden page": get(f"/golden?{urlencode(middle)}"),
                "system map page": get("/"),
                "element page": get(f"/elements/{element}"),
                "system page": get(f"/systems/{middle['system']}"),
                "integration page": get(f"/integrations/{integration_name(CHAIN // 2)}"),
                "records page": get(
                    "/records?"
                    + urlencode(
                        {
                            "system": middle["system"],
                            "element": element,
                            "after": middle["record"][:-2],
                        }
                    )
                ),
                "elements page": get("/elements"),
                "search page": get(f"/search?q={middle['record'][:-3]}"),
                "GET /api/v1/find (record prefix)": get(f"/api/v1/find?q={middle['record'][:-3]}"),
                # six characters from inside the key: its chain's number, in every system
                "GET /api/v1/find (record contains)": get(
                    f"/api/v1/find?q={middle['record'][-6:]}"
                ),
                "GET /api/v1/find (name)": get("/api/v1/find?q=team1"),
                "digest page": get(f"/digest/{owner}"),
            }
            for question in questions.values():  # warm up: templates, layouts, statements
                question()
            for _ in range(repeat):
                for key, question in questions.items():
                    runs.setdefault(key, []).append(_timed_ms(question))
    store.close()
    app.extensions["lineage"].close()
    return runs


def _target(key: str) -> float | None:
    """The issue's targets: every page under 150 ms server-side, search under 50 ms."""
    if key.startswith("GET /api/v1/find"):
        return SEARCH_TARGET_MS
    if key.endswith("page"):
        return PAGE_TARGET_MS
    if key == "trace page over HTTP":
        return TRACE_PAGE_TARGET_MS
    return None


def _summary(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    return (
        statistics.median(ordered),
        ordered[0],
        ordered[max(0, int(len(ordered) * 0.95) - 1)],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--hops", type=int, default=1_000_000, help="hops in the store")
    parser.add_argument(
        "--backend",
        nargs="+",
        default=["sqlite", "postgresql"],
        choices=["sqlite", "postgresql"],
        help="backends to measure",
    )
    parser.add_argument("--samples", type=int, default=20, help="chains to ask about")
    parser.add_argument("--repeat", type=int, default=10, help="runs per chain and URL")
    parser.add_argument(
        "--folder",
        type=Path,
        default=Path("/tmp/lineage-bench-trace"),
        help="where the SQLite store is (shared with benchmarks/trace.py)",
    )
    parser.add_argument(
        "--scope",
        action="store_true",
        help="measure benchmarks/scope.py's stores (--hops 950000 unless given)",
    )
    parser.add_argument("--no-save", action="store_true", help="do not write results/pages.txt")
    args = parser.parse_args(argv)
    if args.scope and args.hops == 1_000_000:
        args.hops = 950_000  # benchmarks/scope.py's default: about 1,000,000 events
    args.folder.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    rows: list[list[Any]] = []
    notes: list[str] = []
    for backend in args.backend:
        if backend == "postgresql":
            reason = postgres_available()
            if reason:
                print(f"skipping PostgreSQL: {reason}", file=sys.stderr)
                continue
        url = _url(backend, args.hops, args.folder, args.scope)
        if args.scope and not _has_events(url):
            print(
                f"{backend}: no store at {url}: run benchmarks/scope.py --build-only",
                file=sys.stderr,
            )
            continue
        if not _has_events(url):
            print(f"{backend}: building the store ({args.hops:,} hops)...", file=sys.stderr)
            if backend == "postgresql":
                _postgres_database(args.hops, create=True, drop=True)
            seconds = build(url, args.hops, args.folder)
            print(f"{backend}: built in {seconds:.0f} s", file=sys.stderr)
        print(f"{backend}: measuring...", file=sys.stderr)
        load = os.getloadavg()[0]
        runs = measure(url, args.hops, args.samples, args.repeat, _busiest_owner(url))
        load = max(load, os.getloadavg()[0])
        for key, values in runs.items():
            median, best, p95 = _summary(values)
            limit = _target(key)
            target = f"< {limit:g} ms" if limit else ""
            met = ("yes" if median < limit else "NO") if limit else ""
            rows.append([backend, key, median, best, p95, target, met])
        notes.append(
            f"{backend}: {args.samples} chains x {args.repeat} runs per URL; 1-minute load "
            f"average up to {load:.1f} on {os.cpu_count()} cores during the measurement"
        )
    report = "\n".join(
        [
            f"lineage web pages at {args.hops:,} hops, 20-hop chains ({machine()})",
            f"command: python benchmarks/pages.py {'--scope ' if args.scope else ''}"
            f"--hops {args.hops} --samples {args.samples} --repeat {args.repeat}",
            "milliseconds per request, in-process through the Flask app unless 'over HTTP': "
            "median, best and 95th percentile",
            "",
            table(
                [
                    Column("backend", "<"),
                    Column("work", "<"),
                    "median ms",
                    "best ms",
                    "p95 ms",
                    "target",
                    "met",
                ],
                rows,
            ),
            "",
            *notes,
        ]
    )
    print(report)
    if not args.no_save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        (RESULTS_SCOPE if args.scope else RESULTS).write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
