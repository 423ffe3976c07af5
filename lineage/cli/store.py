"""``lineage load``, ``lineage stats``, ``lineage ingest``: filling a store (CONTRACT.md §5)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import IO, Any

import click
from tqdm import tqdm  # type: ignore[import-untyped]

from ..errors import InputError, LineageError
from ..findings import judge_after_ingest, judge_in_background, judging
from ..findings.process import judge_in_a_process, stop_judging_process
from ..live import WITHIN, Pause, is_live, paced_lines
from ..registry import load_registry
from ..stats import count_store
from ..store import Store
from ..store.writer import IngestResult, Rejection, ingest_lines
from ..webhook import DeliveryThread, WebhookError, WebhookSettings
from .options import db_option, open_db
from .webhook import tell_after_ingest

STDIN = "-"
_PROGRESS_EVERY = 4096  # lines between progress bar updates


@click.command("load")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@db_option
def load(paths: tuple[str, ...], db: str | None) -> None:
    """Store the registry read from YAML files or directories in the database.

    Loading a changed registry adds a new version (earlier ones stay answerable); loading an
    unchanged one adds nothing. Hops are checked against the registry in force when they are
    recorded, so load the registry before ingesting events. Exit 2 when a file cannot be read
    as a registry (the message names the file and line).
    """
    registry = load_registry(list(paths))
    store = open_db(db)
    try:
        changed = store.save_registry(registry)
        if changed:
            judge_after_ingest(store, what="loading the registry")
        versions = store.registry_versions()
        earlier = count_store(store).events["hop"] if changed else 0
    finally:
        store.close()
    counts = (
        f"{len({s.name for s in registry.systems})} systems, "
        f"{len({e.name for e in registry.elements})} elements, "
        f"{len({i.name for i in registry.integrations})} integrations, "
        f"{len(registry.waivers)} waivers"
    )
    files = len(registry.files)
    source = f"{files} file" + ("" if files == 1 else "s")
    if changed:
        click.echo(f"loaded {counts} from {source} as registry version {versions}")
    else:
        click.echo(f"registry unchanged (version {versions}): {counts} from {source}")
    if earlier:
        click.echo(
            f"lineage: note: the {earlier} hops already stored keep the check made when they "
            f"were recorded (against the registry then in force, or none); hops ingested from "
            f"now on are checked against version {versions}",
            err=True,
        )


@click.command("stats")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for scripts.",
)
@db_option
def stats(fmt: str, db: str | None) -> None:
    """Count what the store holds: systems, elements and integrations of the latest registry,
    and recorded events (distinct ids) by kind."""
    store = open_db(db, must_exist=True)
    try:
        counted = count_store(store)
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps(counted.as_dict()))
    else:
        click.echo(counted.text())


@click.command("ingest")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "openlineage"]),
    default="jsonl",
    show_default=True,
    help="jsonl: lineage events (write, hop, snapshot), one JSON object a line; "
    "openlineage: OpenLineage RunEvents, one a line.",
)
@click.option(
    "--commit-within",
    "within",
    type=click.FloatRange(min=0),
    default=WITHIN,
    show_default=True,
    metavar="SECONDS",
    help="From an input that can pause (standard input from a pipe, a FIFO): commit and "
    "judge what was read at most this long after it was read, and whenever the input "
    "pauses. 0 reads it as a file is read (batches of 20,000 lines).",
)
@click.option(
    "--judge/--no-judge",
    default=True,
    show_default=True,
    help="Judge the findings the new events open or resolve. With --no-judge the next "
    "judgement covers them (lineage scan, a read of the findings, the next ingest).",
)
@db_option
def ingest(files: tuple[str, ...], fmt: str, within: float, judge: bool, db: str | None) -> None:
    """Record events from JSON Lines files (``-`` reads standard input).

    Every good line is kept; each bad one is reported on stderr as FILE:LINE: reason.
    Re-ingesting a file changes nothing (its events count as duplicates), and a hop sent
    again with a new status records the status change. A live stream on standard input or a
    FIFO (``producer | lineage ingest -``) is committed and judged as it comes, at least every
    --commit-within seconds, while it is read on. The summary (accepted, duplicate, status
    updates, rejected) goes to stdout. A progress bar shows on stderr when it is a terminal.
    Exit 0 when every line was recorded, 1 when some were rejected, 2 when a file cannot be
    read or the database cannot be opened.
    """
    if list(files).count(STDIN) > 1:
        raise click.UsageError("'-' (standard input) can be given only once")
    openlineage = _openlineage_ingester() if fmt == "openlineage" else None
    with ExitStack() as stack:
        streams = [(name, _open_input(name, stack)) for name in files]
        store = open_db(db)
        stack.callback(store.close)
        if fmt == "jsonl" and store.registry_versions() == 0:
            click.echo(
                "lineage: warning: no registry is loaded in this database, so hops are "
                "checked against no declarations (recorded as undeclared); run "
                "`lineage load REGISTRY` before `lineage ingest`",
                err=True,
            )
        progress = _Progress(streams)
        stack.callback(progress.close)
        live = _Live(store, judge=judge)
        stack.callback(live.close)
        reading_live = within > 0 and any(is_live(stream) for _, stream in streams)
        if reading_live:
            live.begin()  # its judging process starts while the first lines come
        lines = progress.lines(streams, within=within, wanted=live.wanted)
        # A live input is judged after every commit, the first batch's included; a file
        # once, at the end.
        committed = live.committed if reading_live else None
        if openlineage is not None:
            result = openlineage(store, lines, on_reject=progress.report, on_commit=committed)
        else:
            # A live input is parsed in this process: worker processes are forked, and a
            # fork beside the judging and webhook threads could copy a lock one of them holds
            # (a file poured in through a pipe loses about a tenth of its speed).
            result = ingest_lines(
                store, lines, on_reject=progress.report, keep_rejections=0,
                on_commit=committed, workers=0 if reading_live else None,
            )  # fmt: skip
        if judge:
            judge_after_ingest(store, what="ingest")
    names = ", ".join("<stdin>" if name == STDIN else name for name in files)
    click.echo(f"ingested {names}: {result.summary()}")
    tell_after_ingest(db)  # the findings this ingest opened or resolved, best effort
    if result.rejected_count:
        sys.exit(1)


def _openlineage_ingester() -> Callable[..., IngestResult]:
    try:
        from ..interop.openlineage import ingest_openlineage  # noqa: PLC0415 - optional part
    except ImportError as exc:
        raise LineageError(
            "--format openlineage is not available: this installation has no "
            f"lineage.interop.openlineage ({exc}); ingest lineage events with --format jsonl"
        ) from exc
    return ingest_openlineage


def _open_input(name: str, stack: ExitStack) -> IO[bytes]:
    # click.open_file reads "-" as binary stdin (left open on exit) on every click >= 8.0;
    # click.get_binary_stream is deprecated from 8.5.
    try:
        stream: IO[bytes] = click.open_file(name, "rb")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(f"cannot read: {reason}", file=name) from exc
    return stack.enter_context(stream)


class _Progress:
    """A byte-counting tqdm bar on stderr, only when stderr is a terminal."""

    def __init__(self, streams: list[tuple[str, IO[bytes]]]) -> None:
        self.bar: Any = None
        if not sys.stderr.isatty():
            return
        total: int | None = 0
        for name, stream in streams:
            size = _size(stream) if name != STDIN else None
            total = None if size is None or total is None else total + size
        # No monitor thread: worker processes are forked later, and forking a process with
        # threads can deadlock the child.
        tqdm.monitor_interval = 0
        self.bar = tqdm(
            total=total, unit="B", unit_scale=True, unit_divisor=1024, desc="ingest",
            file=sys.stderr, leave=False, dynamic_ncols=True,
        )  # fmt: skip

    def lines(
        self,
        streams: list[tuple[str, IO[bytes]]],
        *,
        within: float,
        wanted: Callable[[], bool] | None = None,
    ) -> Iterator[tuple[str, int, bytes] | Pause]:
        """Every line of every stream, numbered, with the bar advanced as they are read; with
        ``within`` above 0, a stream that can pause is read live
        (:func:`lineage.live.paced_lines`, ``wanted`` passed on), its pauses marked."""
        bar = self.bar
        for name, stream in streams:
            source = "<stdin>" if name == STDIN else name
            number = 0
            read = 0
            texts: Iterator[bytes | Pause] | IO[bytes] = stream
            if within > 0 and is_live(stream):
                texts = paced_lines(stream, within=within, wanted=wanted)
            try:
                for text in texts:
                    if isinstance(text, Pause):
                        yield text
                        continue
                    number += 1
                    if bar is not None:
                        read += len(text)
                        if number % _PROGRESS_EVERY == 0:
                            bar.update(read)
                            read = 0
                    yield source, number, text
            except OSError as exc:
                raise InputError(
                    f"cannot read after line {number}: {exc.strerror or exc}", file=source
                ) from exc
            if bar is not None:
                bar.update(read)

    def report(self, rejection: Rejection) -> None:
        """Print one bad line as ``file:line: reason`` on stderr (above the bar)."""
        if self.bar is not None:
            self.bar.write(str(rejection), file=sys.stderr)
        else:
            click.echo(str(rejection), err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _Live:
    """What ``lineage ingest`` does each time a live stream's events are committed: judge
    them in the background, in a child process (as ``lineage serve`` does: on the other core,
    while this one reads on; judgements coalesce), and tell the webhook as it goes. Started
    when an input is live, before its first line (the child takes a second to start), or at
    the first such commit: a file never needs it."""

    def __init__(self, store: Store, *, judge: bool) -> None:
        self.store = store
        self.judge = judge
        self.started = False
        self.delivery: DeliveryThread | None = None

    def wanted(self) -> bool:
        """Whether to commit what was read so far, short of a full batch: nothing is being
        judged, so their judgement would begin at once. The first lines of a stream are
        judged as soon as the judging process is ready, not after a batch of 20,000, and
        while the judgement keeps up every read is."""
        return self.judge and not judging(self.store)

    def begin(self) -> None:
        """Start the judging process and the webhook's delivery (once; not with --no-judge)."""
        if not self.judge or self.started:
            return
        self.started = True
        judge_in_a_process(self.store, quick=True)  # forked: ready at once
        try:
            settings = WebhookSettings.from_environ(os.environ)
        except WebhookError:  # said once, after the summary (tell_after_ingest)
            settings = None
        if settings is not None:
            self.delivery = DeliveryThread(self.store, settings).start()

    def committed(self) -> None:
        if not self.judge:
            return
        self.begin()
        judge_in_background(self.store, what="ingest")

    def close(self) -> None:
        if self.delivery is not None:
            self.delivery.stop()
        if self.started:
            stop_judging_process(self.store)


def _size(stream: IO[bytes]) -> int | None:
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return None
    return info.st_size if info.st_size > 0 else None


COMMANDS: list[click.Command] = [load, stats, ingest]
