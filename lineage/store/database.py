"""Opening a store: the URL, the engine's settings per backend, and migrations on first use.

Writers never fail on each other at once: a writer that finds another one writing waits for
it up to the store's **busy timeout** (:data:`DEFAULT_BUSY_TIMEOUT` seconds, or
``$LINEAGE_BUSY_TIMEOUT``, or ``open_store(busy_timeout=...)``): SQLite's busy handler
retries the lock until then, and PostgreSQL's ``lock_timeout`` bounds the wait for the
writers' advisory lock. Only past it does a writer give up, with a :class:`StoreError` that
says the store was busy. A writer's PostgreSQL transaction that sits idle longer than that
(its process was killed but the connection lingers) is ended by the server
(``idle_in_transaction_session_timeout``), so no lock outlives its writer for long.

The first open creates the schema, and an upgrade migrates it, in **one transaction** taken
under a lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock): a process killed
half-way leaves the store as it was, and processes opening the same new store at once
wait for the first one and find it migrated.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from ..errors import StoreError
from ..model.registry import Registry
from .schema import registry_versions

# Alembic is imported only to migrate (0.1-0.3 s of every command otherwise): a store already
# at the newest revision is told so by one read (see _migrate)
if TYPE_CHECKING:
    from alembic.config import Config

DEFAULT_URL = "sqlite:///lineage.db"
URL_VARIABLE = "LINEAGE_DATABASE_URL"
BUSY_VARIABLE = "LINEAGE_BUSY_TIMEOUT"
#: Seconds a writer waits for another writer's lock before it gives up.
DEFAULT_BUSY_TIMEOUT = 60.0
#: PostgreSQL advisory lock keys: migrating the schema, storing a registry version.
MIGRATION_LOCK = 0x6C696E656101
REGISTRY_LOCK = 0x6C696E656102


def resolve_url(url: str | None = None) -> str:
    """The database URL: the one given, else ``$LINEAGE_DATABASE_URL``, else ``lineage.db`` here.

    ``postgresql://`` and ``postgres://`` mean psycopg 3; a plain file path means SQLite.
    """
    url = url or os.environ.get(URL_VARIABLE) or DEFAULT_URL
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if "://" not in url:
        url = f"sqlite:///{url}"
    return url


def resolve_busy_timeout(seconds: float | None = None) -> float:
    """The busy timeout: the one given, else ``$LINEAGE_BUSY_TIMEOUT``, else 60 seconds.

    Raises:
        StoreError: ``$LINEAGE_BUSY_TIMEOUT`` is not a number of seconds.
    """
    if seconds is None:
        raw = os.environ.get(BUSY_VARIABLE)
        if raw is None or not raw.strip():
            return DEFAULT_BUSY_TIMEOUT
        try:
            seconds = float(raw)
        except ValueError:
            seconds = -1.0
        if not 0 <= seconds < 1e6:
            raise StoreError(f"{BUSY_VARIABLE}={raw!r} is not a number of seconds (like 60)")
    return max(0.0, seconds)


SQLITE_CACHE_KIB = 16_384
"""The page cache of each SQLite connection (``PRAGMA cache_size``), in KiB.

Each pooled connection keeps its own, on top of the operating system's cache of the file;
a server's connections each fill theirs in turn. At 64 MiB the findings benchmark's process
peaked at 370 MB (1,000,000 events) and a 1,000,000-event ``lineage ingest`` at 335 MB; at
16 MiB, 248 MB and 191 MB, with the full judgement, the pages, a trace and the load as quick
(CHANGELOG.md)."""


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # The busy timeout was set on connecting (sqlite3's ``timeout``), before this first
    # statement: switching a new file to WAL takes a lock another opener may hold.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB:d}")  # an int: nothing to inject
    cursor.close()


def lock_for_writing(conn: Connection, key: int, busy_timeout: float) -> None:
    """Start ``conn``'s transaction holding the store's write lock ``key`` (or wait for it).

    SQLite: ``BEGIN IMMEDIATE`` (the database's one write lock, retried by the busy
    handler); call it before anything else on the connection. PostgreSQL: the advisory
    lock ``key`` for this transaction, waiting at most ``busy_timeout`` seconds; the
    transaction is ended by the server if it sits idle that long.
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        return
    conn.execute(text(POSTGRES_LOCK), {"ms": f"{milliseconds(busy_timeout)}ms", "key": key})


def begin_read(conn: Connection) -> None:
    """On SQLite, start a read transaction on ``conn`` if none is open, so that its later
    statements read the state the first one saw whatever writers commit meanwhile (sqlite3
    begins none before a read; PostgreSQL's transactions need nothing here)."""
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "sqlite" and not driver.in_transaction:
        conn.exec_driver_sql("BEGIN")


@contextlib.contextmanager
def file_lock(path: str, busy_timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created if missing), waiting for another
    holder (another process, or another thread of this one) at most ``busy_timeout`` seconds.

    Raises:
        StoreError: it stayed held that long.
    """
    import fcntl  # noqa: PLC0415 - POSIX only: see Store.judgement_lock_path

    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + busy_timeout
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"the store stayed busy: another judgement held {path} for more "
                        f"than {busy_timeout:g} s; try again when it is done, or wait longer "
                        f"with {BUSY_VARIABLE}=SECONDS"
                    ) from None
                time.sleep(0.02)
        yield
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock


#: Bound the wait for the lock and the idle time inside the transaction, then take the lock.
POSTGRES_LOCK = """
SELECT set_config('lock_timeout', :ms, true),
       set_config('idle_in_transaction_session_timeout', :ms, true),
       pg_advisory_xact_lock(:key)
"""


def milliseconds(seconds: float) -> int:
    """``seconds`` as whole milliseconds, at least 1 (0 would mean "no limit")."""
    return max(1, round(seconds * 1000))


def busy_error(exc: BaseException, busy_timeout: float) -> StoreError | None:
    """A :class:`StoreError` for a driver error that means "another writer held the lock
    past the busy timeout"; None for any other error."""
    text_ = str(getattr(exc, "orig", None) or exc).lower()
    if "database is locked" in text_ or "lock timeout" in text_:
        return StoreError(
            f"the store stayed busy: another writer held its write lock for more than "
            f"{busy_timeout:g} s (a bulk load?); try again when it is done, or wait longer "
            f"with {BUSY_VARIABLE}=SECONDS"
        )
    return None


def _alembic_config() -> Config:
    from alembic.config import Config  # noqa: PLC0415 - only to migrate

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("lineage.store") / "migrations"))
    return cfg


def _head_revision(cfg: Config) -> str | None:
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - only to migrate

    return ScriptDirectory.from_config(cfg).get_current_head()


_REVISION_LINE = re.compile(
    r'^(revision|down_revision)\b[^=\n]*=\s*(?:"([^"]*)"|\'([^\']*)\'|None)', re.MULTILINE
)


@cache
def newest_revision() -> str | None:
    """The newest migration's revision, read from the version files' own ``revision`` and
    ``down_revision`` lines without importing Alembic: the one revision no other names as
    its predecessor (None when that is not exactly one: then Alembic decides). A test holds
    it equal to Alembic's head."""
    folder = resources.files("lineage.store") / "migrations" / "versions"
    revisions: set[str] = set()
    parents: set[str] = set()
    for entry in folder.iterdir():
        if not entry.name.endswith(".py") or entry.name.startswith("_"):
            continue
        for match in _REVISION_LINE.finditer(entry.read_text(encoding="utf-8")):
            name = match.group(2) or match.group(3)
            if name:
                (revisions if match.group(1) == "revision" else parents).add(name)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _stored_revision(conn: Connection) -> str | None:
    """The revision the store's ``alembic_version`` table records (None: none, or no table)."""
    try:
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:
        conn.rollback()
        return None
    return str(rows[0][0]) if len(rows) == 1 else None


class Store:
    """One lineage database: the engine and the registry currently declared in it.

    Example:
        >>> store = open_store("sqlite://")
        >>> store.registry().systems
        ()
    """

    def __init__(
        self,
        engine: Engine,
        reader: Engine | None = None,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        self.engine = engine
        #: seconds a writer waits for another writer's lock (see the module's docstring)
        self.busy_timeout = busy_timeout
        #: the engine the steward's questions read through: on PostgreSQL a second pool whose
        #: connections are in autocommit from the start (no transaction round trips, and no
        #: isolation level set and reset on every checkout, which cost 40 us a question)
        self.reader = reader or engine
        # (version id, parsed registry): one tuple, swapped whole, so that threads sharing
        # the store never see one version's id with another's document
        self._parsed: tuple[int, Registry] | None = None

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @property
    def reads_beside(self) -> bool:
        """Whether a second connection reads the same database at once, so that work can be
        done beside the work on the first: not in an in-memory SQLite store (each
        connection there holds a database of its own)."""
        return self.dialect == "postgresql" or self.engine.url.database not in (
            None,
            "",
            ":memory:",
        )

    def registry(self, conn: Connection | None = None) -> Registry:
        """The latest registry loaded into the store (an empty one before any ``load``).

        ``conn``: read on this open connection instead of checking one out (a question
        answered in a millisecond saves the round trips).
        """
        if conn is None:
            with self.engine.connect() as own:
                return self.registry(own)
        # Only the newest version's id is read on every question; the document (which can be
        # large) only when a new version was loaded since this store last parsed one.
        newest = conn.execute(select(func.max(registry_versions.c.id))).scalar()
        return self.registry_version(conn, newest)

    def registry_version(self, conn: Connection, newest: int | None) -> Registry:
        """The registry stored as version ``newest`` (the newest id, read by the caller).

        The steward's questions read that id in their own query (:data:`~lineage.store.
        walks.REGISTRY_VERSION`), so a question costs one statement; the document is only
        read and parsed when it differs from the version this store parsed last.
        """
        if newest is None:
            return Registry()
        parsed = self._parsed
        if parsed is None or parsed[0] != newest:
            document = conn.execute(
                select(registry_versions.c.document).where(registry_versions.c.id == newest)
            ).scalar_one()
            parsed = (newest, Registry.model_validate_json(document))
            self._parsed = parsed
        return parsed[1]

    def save_registry(self, registry: Registry) -> bool:
        """Store ``registry`` as the current declarations; False when nothing changed.

        Each change is a new version, so what was declared when stays answerable.
        """
        document = registry.model_dump_json()
        digest = hashlib.sha256(document.encode()).hexdigest()
        with self.writing(REGISTRY_LOCK) as conn:
            # Under the lock: two identical loads at once store one version, not two.
            latest = conn.execute(
                select(registry_versions.c.digest).order_by(registry_versions.c.id.desc()).limit(1)
            ).scalar()
            if latest == digest:
                return False
            conn.execute(
                insert(registry_versions).values(
                    loaded_at=time.time_ns() // 1000,
                    digest=digest,
                    sources=json.dumps(list(registry.files)),
                    document=document,
                )
            )
        return True

    @contextlib.contextmanager
    def writing(self, key: int) -> Iterator[Connection]:
        """A committed-on-exit transaction that holds the write lock ``key`` from its start.

        Raises:
            StoreError: another writer held the lock for longer than the busy timeout.
        """
        try:
            with self.engine.begin() as conn:
                lock_for_writing(conn, key, self.busy_timeout)
                yield conn
        except OperationalError as exc:
            busy = busy_error(exc, self.busy_timeout)
            if busy is None:
                raise
            raise busy from exc

    def judgement_lock_path(self) -> str | None:
        """The file whose lock serializes judgements apart from the write lock (an SQLite file
        on a system with ``fcntl``: the database's path with ``-judge.lock``), or None: the
        judgement holds the write lock instead (PostgreSQL, where its advisory lock does not
        stop writers anyway; an in-memory SQLite store; a system without ``fcntl``)."""
        database = self.engine.url.database
        if self.dialect != "sqlite" or database in (None, "", ":memory:") or os.name != "posix":
            return None
        return f"{database}-judge.lock"

    def registry_versions(self) -> int:
        """How many versions of the registry were loaded over time."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(registry_versions)).scalar_one()
            )

    def close(self) -> None:
        self.engine.dispose()
        if self.reader is not self.engine:
            self.reader.dispose()


def open_store(
    url: str | None = None, *, migrate: bool = True, busy_timeout: float | None = None
) -> Store:
    """Open (and on first use create or upgrade) the store at ``url``.

    Args:
        url: an SQLAlchemy URL, a ``postgresql://`` URL, or an SQLite file path; default
            ``$LINEAGE_DATABASE_URL`` or ``lineage.db`` in the working directory.
        migrate: run the Alembic migrations up to the newest schema when behind (in one
            transaction, under a lock: see the module's docstring).
        busy_timeout: seconds a writer waits for another's lock; default
            ``$LINEAGE_BUSY_TIMEOUT``, else :data:`DEFAULT_BUSY_TIMEOUT`.

    Raises:
        StoreError: the database cannot be reached, opened or migrated.
    """
    resolved = resolve_url(url)
    try:
        parsed = make_url(resolved)
    except ArgumentError as exc:
        raise StoreError(f"{url!r} is not a database URL: {exc}") from exc
    busy = resolve_busy_timeout(busy_timeout)
    kwargs: dict[str, object] = {}
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database or "").parent
        if not folder.exists():
            raise StoreError(f"{parsed.database}: folder {folder} does not exist")
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": busy}
    if parsed.get_backend_name() == "postgresql":
        # The questions are many small indexed lookups: PostgreSQL's JIT costs them up to
        # 200 ms each when its cost estimate misfires (seen right after a bulk load).
        kwargs["connect_args"] = {"options": "-c jit=off"}
    try:
        engine = create_engine(resolved, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use database {parsed.render_as_string()}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if migrate:
        try:
            _migrate_patiently(engine, busy)
        except OperationalError as exc:
            engine.dispose()
            locked = busy_error(exc, busy)
            if locked is not None:
                raise locked from exc
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise StoreError(f"cannot open database {parsed.render_as_string()}: {reason}") from exc
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(f"cannot migrate database {parsed.render_as_string()}: {exc}") from exc
    reader = None
    if engine.dialect.name == "postgresql":
        reader = create_engine(resolved, isolation_level="AUTOCOMMIT", **kwargs)
    return Store(engine, reader, busy_timeout=busy)


def _migrate_patiently(engine: Engine, busy_timeout: float) -> None:
    """:func:`_migrate`, tried again while the busy timeout lasts when SQLite answers "locked".

    SQLite's busy handler does not wait where waiting could deadlock (a connection that read
    asks to write while another holds or awaits the lock, or a new file switching to WAL while
    another opener does): it answers "database is locked" at once. Seen with four processes
    opening one new store together on a busy machine. The migration is one transaction, so
    trying it again from the start is safe.
    """
    started = time.monotonic()
    while True:
        try:
            _migrate(engine, busy_timeout)
            return
        except OperationalError as exc:
            if busy_error(exc, busy_timeout) is None:
                raise
            if time.monotonic() - started >= busy_timeout:
                raise
            engine.dispose()  # connections that may hold a stale snapshot or lock
            time.sleep(0.05)


def _migrate(engine: Engine, busy_timeout: float) -> None:
    """Bring the schema to the newest revision: all of it in one transaction, one process
    at a time (the others wait for the lock, then find nothing left to do)."""
    newest = newest_revision()
    with engine.connect() as conn:
        if newest is not None and _stored_revision(conn) == newest:
            return  # the usual case: one read, no lock, no Alembic
    from alembic import command  # noqa: PLC0415 - only to migrate
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    cfg = _alembic_config()
    head = _head_revision(cfg)
    with engine.connect() as conn:
        if MigrationContext.configure(conn).get_current_revision() == head:
            return
    with engine.begin() as conn:
        lock_for_writing(conn, MIGRATION_LOCK, busy_timeout)
        if MigrationContext.configure(conn).get_current_revision() != head:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
