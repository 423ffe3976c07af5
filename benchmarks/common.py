"""Shared benchmark helpers: a synthetic company, peak memory, databases, tables.

The data: ``n_hops`` hops in chains of ``chain_length`` hops through ``chain_length + 1``
systems (``S00`` → ``S01`` → … → ``S20``), each chain starting with a write at its origin.
Every integration ``sNN-to-sMM`` carries two elements with a declared transform that really
changes values (``multiply(2)``, ``multiply(0.5)``, ``round(2)``, ``upper``, ``lower``, …), so
checking each hop at entry re-runs a transform. A few hops are planted wrong (their output is
not what the transform makes: ``verified`` false), and a few are first ``sent`` and later
confirmed ``delivered`` under the same id (status updates).

Importable by every benchmark::

    from benchmarks.common import generate_events, write_registry
    for line in generate_events(1000, as_json=True): ...

Run from the repository root (``python -m benchmarks.ingest`` or
``python benchmarks/ingest.py``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import sqlite3
import sys
import threading
import tracemalloc
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from lineage.transforms import parse_transform  # noqa: E402 - after the path is set

POSTGRES_ADMIN = os.environ.get(
    "LINEAGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)

START = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)

#: The transforms integration ``i`` declares, per element, cycling along the chain.
DECIMAL_TRANSFORMS = ("multiply(2)", "identity", "multiply(0.5)", "round(2)", "add(0)")
STRING_TRANSFORMS = ("upper", "identity", "lower", "strip", "identity")

ELEMENTS = (("order.total", "decimal"), ("customer.name", "string"))

#: One hop in this many has an output its transform does not make.
WRONG_EVERY = 997
#: One hop in this many is first sent, then confirmed delivered further down the stream.
SENT_EVERY = 101


def system_name(index: int) -> str:
    return f"S{index:02d}"


def integration_name(index: int) -> str:
    """The integration from system ``index`` to system ``index + 1``."""
    return f"s{index:02d}-to-s{index + 1:02d}"


def transform_for(element: str, index: int) -> str:
    table = DECIMAL_TRANSFORMS if element == "order.total" else STRING_TRANSFORMS
    return table[index % len(table)]


def registry_yaml(chain_length: int = 20) -> str:
    """The registry of the synthetic company, as YAML (systems, elements, integrations)."""
    lines = ["systems:"]
    for i in range(chain_length + 1):
        lines += [f"  - name: {system_name(i)}", f"    owner: team{i:02d}@example.com"]
    lines.append("elements:")
    for name, kind in ELEMENTS:
        lines += [
            f"  - name: {name}",
            f"    system_of_origin: {system_name(0)}",
            f"    system_of_record: {system_name(0)}",
            "    owner: steward@example.com",
            f"    type: {kind}",
        ]
    lines.append("integrations:")
    for i in range(chain_length):
        lines += [
            f"  - name: {integration_name(i)}",
            f"    source: {system_name(i)}",
            f"    target: {system_name(i + 1)}",
            f"    owner: team{i:02d}@example.com",
            "    level: operations",
            "    mode: batch",
            f"    purpose: Hand records on from {system_name(i)} to {system_name(i + 1)}",
            "    fallback: Re-run the export by hand",
            "    carries:",
        ]
        for name, _kind in ELEMENTS:
            lines += [f"      - element: {name}", f"        transform: {transform_for(name, i)}"]
    return "\n".join(lines) + "\n"


def write_registry(path: Path, chain_length: int = 20) -> Path:
    """Write :func:`registry_yaml` to ``path`` and return it."""
    path.write_text(registry_yaml(chain_length), encoding="utf-8")
    return path


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _hop_id(seed: int, chain: int, hop: int) -> str:
    # Random-looking like the ids integrations send (UUIDs, hashes): the unique index on the
    # event id is then filled in no particular order, as in real life.
    digest = hashlib.blake2b(f"{seed}:{chain}:{hop}".encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest))


def _record(system: int, chain: int) -> str:
    return f"C-{chain}" if system == 0 else f"{system:02d}{chain:08d}"


def _apply_all(chain_length: int) -> dict[tuple[str, int], Callable[[str], str]]:
    table: dict[tuple[str, int], Callable[[str], str]] = {}
    for name, _kind in ELEMENTS:
        for i in range(chain_length):
            call = parse_transform(transform_for(name, i))
            table[name, i] = lambda value, call=call: str(call.apply([value]))
    return table


def generate_events(
    n_hops: int,
    chain_length: int = 20,
    *,
    seed: int = 0,
    block: int = 500,
    as_json: bool = False,
) -> Iterator[Any]:
    """Yield the events of ``n_hops`` hops in chains, plus a write at each chain's origin.

    Streams: memory does not grow with ``n_hops``. Events come in time order within blocks of
    ``block`` chains (all their writes, then every chain's first hop, then the second, ...),
    as many integrations running side by side would send them. Hops carry random-looking ids;
    writes carry none (the tracker derives a stable one). Late status updates of hops first
    sent come at the end of the following block.

    Args:
        n_hops: how many hops (the last chain is cut short when it does not divide).
        chain_length: hops per chain; the chain crosses ``chain_length + 1`` systems.
        seed: changes every id and value.
        block: chains interleaved in time.
        as_json: yield JSON text lines (no newline) instead of dicts.
    """
    apply = _apply_all(chain_length)
    chains = -(-n_hops // chain_length)
    emitted = 0
    late: list[dict[str, Any]] = []
    dump = json.dumps
    for first in range(0, chains, block):
        members = range(first, min(first + block, chains))
        values: dict[int, str] = {}
        for chain in members:
            element = ELEMENTS[chain % 2][0]
            if element == "order.total":
                value = str(Decimal(10 + (chain * 7919 + seed) % 99_000) / 100)
            else:
                value = f" Customer {chain:07d} of seed {seed} "
            values[chain] = value
            event = {
                "kind": "write", "system": system_name(0), "element": element,
                "record": _record(0, chain), "value": value,
                "at": _iso(START + dt.timedelta(seconds=chain)), "actor": "generator",
            }  # fmt: skip
            yield dump(event) if as_json else event
        pending = late
        late = []
        for hop in range(chain_length):
            for chain in members:
                if emitted >= n_hops:
                    break
                element = ELEMENTS[chain % 2][0]
                before = values[chain]
                after = apply[element, hop](before)
                emitted += 1
                sent_value = after + "9" if emitted % WRONG_EVERY == 0 else after
                values[chain] = sent_value  # what the target now holds, right or wrong
                at = START + dt.timedelta(seconds=chain, minutes=hop + 1)
                event = {
                    "kind": "hop", "id": _hop_id(seed, chain, hop),
                    "integration": integration_name(hop), "at": _iso(at),
                    "inputs": [{"system": system_name(hop), "element": element,
                                "record": _record(hop, chain), "value": before}],
                    "output": {"system": system_name(hop + 1), "element": element,
                               "record": _record(hop + 1, chain), "value": sent_value},
                    "transform": transform_for(element, hop), "status": "delivered",
                }  # fmt: skip
                if emitted % SENT_EVERY == 0:
                    event["status"] = "sent"
                    confirmed = dict(event, status="delivered",
                                     at=_iso(at + dt.timedelta(seconds=30)))  # fmt: skip
                    late.append(confirmed)
                yield dump(event) if as_json else event
        for event in pending:
            yield dump(event) if as_json else event
    for event in late:
        yield dump(event) if as_json else event


def write_events(path: Path, n_hops: int, chain_length: int = 20, *, seed: int = 0) -> int:
    """Write :func:`generate_events` to ``path`` as JSON Lines; returns the number of lines."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for line in generate_events(n_hops, chain_length, seed=seed, as_json=True):
            out.write(line)
            out.write("\n")
            count += 1
    return count


# --- memory -----------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB.

    On Linux ``VmHWM`` of ``/proc/self/status``: the peak of this program only. ``getrusage``'s
    ``ru_maxrss`` keeps, across ``exec``, the peak of the process that started it: a child a
    benchmark starts after ingesting 1,000,000 events in-process reported the parent's 690 MB
    as its own, where its judgement peaked at 259 MB. Elsewhere ``getrusage``.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024


def child_peak_rss_mb(rusage: resource.struct_rusage) -> float:
    """A waited-for child's peak RSS in MB, from the rusage ``os.wait4`` returns.

    At least the peak of the process that started it (see :func:`peak_rss_mb`): start such
    children from a small parent.
    """
    peak = rusage.ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024


class TreeMemory:
    """Peak memory of a process and all its descendants together, sampled (Linux ``/proc``).

    ``peak_rss_mb`` sums each process's resident set: a forked worker shares its parent's
    pages until it writes them, so this counts shared pages once per process and overstates.
    ``peak_pss_mb`` sums the proportional set size, where a page shared by n processes counts
    1/n in each: the memory the whole command really holds.

    >>> sampler = TreeMemory(os.getpid()).start()
    >>> sampler.stop() and sampler.peak_pss_mb > 0
    True
    """

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_rss_mb = 0.0
        self.peak_pss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> TreeMemory:
        self._sample()
        self._thread.start()
        return self

    def stop(self) -> TreeMemory:
        """Stop sampling (the peaks stay readable)."""
        self._stop.set()
        self._thread.join()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, ()))
        return found

    def _sample(self) -> None:
        rss = pss = 0
        for pid in self._tree():
            try:
                with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
                    for line in rollup:
                        if line.startswith(b"Rss:"):
                            rss += int(line.split()[1])
                        elif line.startswith(b"Pss:"):
                            pss += int(line.split()[1])
            except OSError:
                continue
        self.peak_rss_mb = max(self.peak_rss_mb, rss / 1024)
        self.peak_pss_mb = max(self.peak_pss_mb, pss / 1024)


@contextlib.contextmanager
def traced_peak() -> Iterator[list[float]]:
    """Peak Python heap inside the block, in MB (``tracemalloc``; slows the code down).

    >>> with traced_peak() as peak:
    ...     data = list(range(1000))
    >>> peak[0] > 0
    True
    """
    box = [0.0]
    tracemalloc.start()
    try:
        yield box
    finally:
        box[0] = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()


# --- databases ----------------------------------------------------------------------------


def postgres_available(admin: str = POSTGRES_ADMIN) -> str | None:
    """None when a PostgreSQL server answers at ``admin``, else why not."""
    try:
        with psycopg.connect(admin, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip()


@contextlib.contextmanager
def scratch_database(backend: str, folder: Path, name: str) -> Iterator[str]:
    """A fresh empty database URL on ``backend`` (sqlite or postgresql), removed afterwards."""
    if backend == "sqlite":
        path = folder / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    database = f"lineage_bench_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        yield f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{database}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


# --- reporting ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    title: str
    align: str = ">"  # ">" right, "<" left


def table(columns: Sequence[Column | str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table with a header rule, columns sized to fit."""
    cols = [c if isinstance(c, Column) else Column(c) for c in columns]
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(col.title)] + [len(r[i]) for r in cells]) for i, col in enumerate(cols)]
    header = "  ".join(f"{c.title:{c.align}{w}}" for c, w in zip(cols, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = [
        "  ".join(f"{v:{c.align}{w}}" for v, c, w in zip(r, cols, widths, strict=True))
        for r in cells
    ]
    return "\n".join([header, rule, *body])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def machine() -> str:
    """One line describing where the numbers were measured."""
    cpus = os.cpu_count()
    return (
        f"{platform.machine()} {cpus} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, psycopg {psycopg.__version__}, "
        f"SQLAlchemy {sqlalchemy.__version__}"
    )
