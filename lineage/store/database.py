"""Opening a store: the URL, the engine's settings per backend, and migrations on first use."""

from __future__ import annotations

import hashlib
import json
import os
import time
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from ..errors import StoreError
from ..model.registry import Registry
from .schema import registry_versions

DEFAULT_URL = "sqlite:///lineage.db"
URL_VARIABLE = "LINEAGE_DATABASE_URL"


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


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("lineage.store") / "migrations"))
    return cfg


def _head_revision(cfg: Config) -> str | None:
    return ScriptDirectory.from_config(cfg).get_current_head()


class Store:
    """One lineage database: the engine and the registry currently declared in it.

    Example:
        >>> store = open_store("sqlite://")
        >>> store.registry().systems
        ()
    """

    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        self.engine = engine
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
        with self.engine.begin() as conn:
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


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    """Open (and on first use create or upgrade) the store at ``url``.

    Args:
        url: an SQLAlchemy URL, a ``postgresql://`` URL, or an SQLite file path; default
            ``$LINEAGE_DATABASE_URL`` or ``lineage.db`` in the working directory.
        migrate: run the Alembic migrations up to the newest schema when behind.

    Raises:
        StoreError: the database cannot be reached, opened or migrated.
    """
    resolved = resolve_url(url)
    try:
        parsed = make_url(resolved)
    except ArgumentError as exc:
        raise StoreError(f"{url!r} is not a database URL: {exc}") from exc
    kwargs: dict[str, object] = {}
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database or "").parent
        if not folder.exists():
            raise StoreError(f"{parsed.database}: folder {folder} does not exist")
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
        cfg = _alembic_config()
        try:
            with engine.begin() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
                if current != _head_revision(cfg):
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
        except OperationalError as exc:
            engine.dispose()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise StoreError(f"cannot open database {parsed.render_as_string()}: {reason}") from exc
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(f"cannot migrate database {parsed.render_as_string()}: {exc}") from exc
    reader = None
    if engine.dialect.name == "postgresql":
        reader = create_engine(resolved, isolation_level="AUTOCOMMIT", **kwargs)
    return Store(engine, reader)
