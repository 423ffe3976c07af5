"""The store's tables (SQLAlchemy Core). Alembic migrations own their creation and changes.

The record of what happened is append-only: events, hop inputs, hop statuses, OpenLineage
events and registry versions are inserted, never updated or deleted. A hop's later status is a
new row in ``hop_status``; a re-loaded registry is a new row in ``registry_versions``. What the
engine *judges* of that record is state (migration 0007): ``findings`` (each occurrence of a
finding, opened, seen again, resolved), ``findings_outbox`` (what to tell the webhook) and
``detection_state`` (how far incremental detection has judged).

Times are integers, microseconds since the Unix epoch (UTC): they sort and compare the same
on SQLite and PostgreSQL and make the as-of lookups plain indexed range scans.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    literal_column,
)

metadata = MetaData()

# The text of the tables a judgement probes (events, hop_inputs, hop_status, findings)
# compares by code point on both backends (migration 0019): SQLite's BINARY, PostgreSQL's
# "C" whatever the database's default collation. Python's str orders the same way, so an
# answer sorted in SQL merges with one sorted in Python, a page's keys come in the same
# order on either backend, and a key prefix is a range of the index. An index probe then
# compares bytes instead of calling the locale's collation.
KEY = String().with_variant(String(collation="C"), "postgresql")
"""A key or name column (varchar): compared by code point."""
BODY = Text().with_variant(Text(collation="C"), "postgresql")
"""A value, message or JSON column (text): compared by code point."""
CODE_POINT = {"sqlite": "", "postgresql": ' COLLATE "C"'}
"""What follows a value a statement makes (a parameter, a cast ``NULL``) to compare it as
those columns do, per dialect name. A recursive statement needs it where its first term
makes a column that its recursive term fills from these tables: PostgreSQL refuses a
column whose two terms have different collations."""

registry_versions = Table(
    "registry_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("loaded_at", BigInteger, nullable=False),
    Column("digest", String(), nullable=False),
    Column("sources", Text, nullable=False),  # JSON list of the files read
    Column("document", Text, nullable=False),  # the Registry model as JSON
)

events = Table(
    "events",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("event_id", KEY, nullable=False),
    Column("kind", KEY, nullable=False),  # write | hop | snapshot
    Column("at", BigInteger, nullable=False),
    # the place the event leaves a value in (a hop's output)
    Column("system", KEY, nullable=False),
    Column("element", KEY, nullable=False),
    Column("record", KEY, nullable=False),
    Column("value", BODY),
    Column("value_norm", BODY),  # value in the element type's canonical form
    # hops only: the path and what checking it at the point of entry found
    Column("integration", KEY),  # as given, or matched by source/target/element
    Column("declared", Boolean),  # the integration is declared and carries the element
    Column("transform", KEY),  # the transform that applies (given, else declared)
    Column("expected_norm", BODY),  # what the transform makes of the inputs, canonical
    Column("verified", Boolean),  # expected == output; null when it cannot be computed
    Column("status", KEY),  # the status it arrived with: sent | delivered | failed
    # that status's own event time when an earlier status arrived after it (migration 0014):
    # then ``at`` is the earliest status time heard of, and the hop was sent in between
    Column("status_at", BigInteger),
    # true once hop_status holds a later status for the hop (migration 0005): the questions
    # look a hop's status up only then, not on every step
    Column("status_updated", Boolean),
    Column("error", BODY),
    Column("actor", KEY),
    Column("digest", KEY, nullable=False),  # content hash, for re-send conflicts
    Column("recorded_at", BigInteger, nullable=False),
)
Index("ix_events_event_id", events.c.event_id, unique=True)
# "the latest event at a place as of a moment" (greatest at, then seq) is one backward index
# step (migration 0004_place_index_seq)
Index(
    "ix_events_place_at",
    events.c.system,
    events.c.element,
    events.c.record,
    events.c.at,
    events.c.seq,
)
Index("ix_events_element_system", events.c.element, events.c.system, events.c.kind)
# a business record's keys are found by (system, record) whatever the element (golden record)
Index("ix_events_system_record", events.c.system, events.c.record)
# the store's clock (the latest event's time) is one step at the index's right edge
# (migration 0006_events_at)
Index("ix_events_at", events.c.at)
# an integration's hops by element and status, and its last one, from the index alone
# (migration 0011_explorer_indexes, which also adds the trigram index of record keys that
# search reads: see lineage/store/explore.py)
Index(
    "ix_events_integration",
    events.c.integration,
    events.c.element,
    events.c.status,
    events.c.status_updated,
    events.c.at,
)

TRIGRAM_OBJECTS = frozenset(
    {
        "ix_events_record_trigrams",  # PostgreSQL: pg_trgm's GIN index on events.record
        "events_record_trigrams",  # SQLite: the FTS5 table, and the tables it keeps
        *(f"events_record_trigrams_{part}" for part in ("data", "idx", "docsize", "config")),
        "events_record_trigrams_mark",  # SQLite: how far the FTS5 table goes (migration 0015)
    }
)
"""The trigram index of record keys (migration 0011), which a database builds only when it
can (FTS5's trigram tokenizer, the pg_trgm extension): not part of :data:`metadata`."""


BACKEND_OBJECTS = frozenset(
    {
        "ix_findings_open_order",
        "ix_findings_open_golden",
        "ix_findings_open_input",
        "ix_findings_open_source",
        "ix_events_may_fail_place",
        "ix_events_may_fail_id",
    }
)
"""Indexes each backend spells its own way, not part of :data:`metadata`: the open findings
in the findings page's order (migration 0016; PostgreSQL's in the ``C`` collation), by the
key of their golden value in the evidence (migration 0017: ``json_extract`` / ``->>``), and
by the place their evidence's ``input`` and ``source`` name (migration 0018); on PostgreSQL
only, the hops that can be failed by place and by id (migration 0020: SQLite's planner, with
no statistics, keeps to the place and id indexes, so there they would only be written)."""


def in_metadata(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name`` hook: compare everything but :data:`TRIGRAM_OBJECTS` and
    :data:`BACKEND_OBJECTS`."""
    return name not in TRIGRAM_OBJECTS and name not in BACKEND_OBJECTS


# Partial indexes on the few hops that need attention (migration 0003_detection_indexes): the
# runtime detectors read them instead of the whole table. A query uses one only when it
# carries the same predicate, so detectors import these expressions rather than rewrite them.
UNVERIFIED = events.c.verified == false()
"""Hops whose output is not what their transform makes of their inputs."""
UNDECLARED = events.c.declared == false()
"""Hops that travelled on no declared integration."""
UNDELIVERED = events.c.status != literal_column("'delivered'")
"""Hops sent as ``sent`` or ``failed`` (later statuses are in ``hop_status``)."""
Index("ix_events_unverified", events.c.at, sqlite_where=UNVERIFIED, postgresql_where=UNVERIFIED)
Index("ix_events_undeclared", events.c.at, sqlite_where=UNDECLARED, postgresql_where=UNDECLARED)
Index("ix_events_undelivered", events.c.at, sqlite_where=UNDELIVERED, postgresql_where=UNDELIVERED)

# the few hops whose status arrived before an earlier one (migration 0014): what the clock
# reaching their own status's time changes, and the health of that day
MOVED = events.c.status_at.is_not(None)
Index("ix_events_status_at", events.c.status_at, sqlite_where=MOVED, postgresql_where=MOVED)

hop_inputs = Table(
    "hop_inputs",
    metadata,
    Column("event_id", KEY, nullable=False),
    Column("position", Integer, nullable=False),
    Column("system", KEY, nullable=False),
    Column("element", KEY, nullable=False),
    Column("record", KEY, nullable=False),
    Column("value", BODY),
    Column("value_norm", BODY),
)
Index("ix_hop_inputs_event", hop_inputs.c.event_id, hop_inputs.c.position)
Index("ix_hop_inputs_place", hop_inputs.c.system, hop_inputs.c.element, hop_inputs.c.record)
Index("ix_hop_inputs_system_record", hop_inputs.c.system, hop_inputs.c.record)

hop_status = Table(
    "hop_status",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("event_id", KEY, nullable=False),
    Column("status", KEY, nullable=False),
    Column("error", BODY),
    Column("at", BigInteger, nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
)
Index("ix_hop_status_event", hop_status.c.event_id, hop_status.c.seq)
# a hop's statuses in the rules' order, event time then arrival (migration 0013)
Index("ix_hop_status_event_at", hop_status.c.event_id, hop_status.c.at, hop_status.c.seq)
# statuses dated after the clock count once it passes them (migration 0008_scope_indexes)
Index("ix_hop_status_at", hop_status.c.at)

openlineage_events = Table(
    "openlineage_events",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("digest", String(), nullable=False),
    Column("event_type", String()),
    Column("event_time", BigInteger, nullable=False),
    Column("run_id", String(), nullable=False),
    Column("job_namespace", String(), nullable=False),
    Column("job_name", String(), nullable=False),
    Column("producer", Text),
    Column("payload", Text, nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
)
Index("ix_openlineage_events_digest", openlineage_events.c.digest, unique=True)
Index("ix_openlineage_events_time", openlineage_events.c.event_time)

# What the OpenLineage events say, summed up as they are stored (migration 0009): every
# OpenLineage answer (observed-flow findings, the unmapped list, Marquez's read API) is an
# indexed query of these instead of a pass over every event. Maintained by
# ``lineage/store/openlineage.py`` in the transaction that stores the events; facets and
# fields are JSON (merged: a later event's facet replaces an earlier one of the same name).
ol_namespaces = Table(
    "ol_namespaces",
    metadata,
    Column("name", String(), primary_key=True),
    Column("first_at", BigInteger),
    Column("last_at", BigInteger),
    Column("dataset_mentions", BigInteger, nullable=False),  # inputs/outputs naming it
    Column("job_events", BigInteger, nullable=False),  # events of jobs in it
)

ol_jobs = Table(
    "ol_jobs",
    metadata,
    Column("namespace", String(), primary_key=True),
    Column("name", String(), primary_key=True),
    Column("first_at", BigInteger, nullable=False),
    Column("last_at", BigInteger, nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("runs", BigInteger, nullable=False),
    Column("description", Text),
    Column("parent", String()),
    Column("facets", Text, nullable=False),
)

# Marquez's dashboard counts the jobs and datasets known at each hour or day (migration 0010)
Index("ix_ol_jobs_first", ol_jobs.c.first_at)
# Marquez lists jobs most recently updated first (migration 0012)
Index("ix_ol_jobs_recent", ol_jobs.c.last_at)
Index("ix_ol_jobs_namespace_recent", ol_jobs.c.namespace, ol_jobs.c.last_at)

ol_datasets = Table(
    "ol_datasets",
    metadata,
    Column("namespace", String(), primary_key=True),
    Column("name", String(), primary_key=True),
    Column("first_at", BigInteger),  # null: named only as a column-lineage source
    Column("last_at", BigInteger),
    Column("mentions", BigInteger, nullable=False),
    Column("description", Text),
    Column("facets", Text, nullable=False),
    Column("fields", Text, nullable=False),  # JSON [[name, type, description, from schema, output]]
    Column("current_version", String()),  # ol_dataset_versions.version of the latest
    Column("last_modified_at", BigInteger),
)

Index("ix_ol_datasets_first", ol_datasets.c.first_at)

ol_dataset_versions = Table(
    "ol_dataset_versions",
    metadata,
    Column("namespace", String(), primary_key=True),
    Column("name", String(), primary_key=True),
    Column("version", String(), primary_key=True),  # the run that wrote it, else its time
    Column("at", BigInteger, nullable=False),
    Column("run_id", String()),
)
Index(
    "ix_ol_dataset_versions_at",
    ol_dataset_versions.c.namespace,
    ol_dataset_versions.c.name,
    ol_dataset_versions.c.at,
)

ol_job_io = Table(
    "ol_job_io",
    metadata,
    Column("job_namespace", String(), primary_key=True),
    Column("job_name", String(), primary_key=True),
    Column("io", String(), primary_key=True),  # in | out
    Column("namespace", String(), primary_key=True),
    Column("name", String(), primary_key=True),
)
Index("ix_ol_job_io_dataset", ol_job_io.c.namespace, ol_job_io.c.name)

ol_runs = Table(
    "ol_runs",
    metadata,
    # a run belongs to its job: producers that template run ids (dbt-ol's test expectations)
    # give many jobs the same one
    Column("job_namespace", String(), primary_key=True),
    Column("job_name", String(), primary_key=True),
    Column("run_id", String(), primary_key=True),
    Column("first_at", BigInteger, nullable=False),
    Column("last_at", BigInteger, nullable=False),  # the latest event (by time, then seq)
    Column("last_seq", BigInteger, nullable=False),
    Column("state", String()),  # the latest event's eventType
    Column("ended_state", String()),  # the latest COMPLETE, FAIL or ABORT
    Column("ended_at", BigInteger),
    Column("ended_seq", BigInteger),
    Column("started_at", BigInteger),  # the earliest START or RUNNING
    Column("error", Text),  # the errorMessage facet's message
    Column("language", String()),
    Column("facets", Text, nullable=False),
    Column("events", BigInteger, nullable=False),
)
Index("ix_ol_runs_job", ol_runs.c.job_namespace, ol_runs.c.job_name, ol_runs.c.last_at)
Index("ix_ol_runs_state", ol_runs.c.state, ol_runs.c.job_namespace, ol_runs.c.job_name)
Index("ix_ol_runs_id", ol_runs.c.run_id)

ol_run_io = Table(
    "ol_run_io",
    metadata,
    Column("run_id", String(), primary_key=True),
    Column("io", String(), primary_key=True),
    Column("namespace", String(), primary_key=True),
    Column("name", String(), primary_key=True),
)

ol_field_edges = Table(
    "ol_field_edges",
    metadata,
    Column("key", String(), primary_key=True),  # digest of every other column
    Column("job", String(), nullable=False),  # namespace/name; '' for a DatasetEvent
    Column("output", Boolean, nullable=False),  # reported on a job's output dataset
    Column("source_namespace", String(), nullable=False),
    Column("source_dataset", String(), nullable=False),
    Column("source_field", String(), nullable=False),
    Column("target_namespace", String(), nullable=False),
    Column("target_dataset", String(), nullable=False),
    Column("target_field", String(), nullable=False),
    Column("description", Text),
    Column("kind", String()),
)
Index(
    "ix_ol_field_edges_target",
    ol_field_edges.c.target_namespace,
    ol_field_edges.c.target_dataset,
    ol_field_edges.c.target_field,
)
Index(
    "ix_ol_field_edges_source",
    ol_field_edges.c.source_namespace,
    ol_field_edges.c.source_dataset,
    ol_field_edges.c.source_field,
)
Index("ix_ol_field_edges_job", ol_field_edges.c.job)

observed_flows = Table(
    "observed_flows",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("ol_seq", BigInteger, nullable=False),  # openlineage_events.seq
    Column("job", String(), nullable=False),  # namespace/name
    Column("source_system", String(), nullable=False),
    Column("source_element", String(), nullable=False),
    Column("target_system", String(), nullable=False),
    Column("target_element", String(), nullable=False),
    Column("transformation", Text),  # JSON list of OpenLineage transformation objects
    Column("at", BigInteger, nullable=False),
)
Index("ix_observed_flows_target", observed_flows.c.target_system, observed_flows.c.target_element)
Index("ix_observed_flows_source", observed_flows.c.source_system, observed_flows.c.source_element)

# Findings as state (migration 0007_findings_state). One row per occurrence of a finding: a
# fingerprint (code and subject) is open while ``resolved_at`` is null, and at most one
# occurrence of it is open at a time (``ux_findings_open``). Times are the store's clock.
findings = Table(
    "findings",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("fingerprint", KEY, nullable=False),
    Column("occurrence", Integer, nullable=False),  # 1, then 2 when reopened, ...
    Column("code", KEY, nullable=False),
    Column("severity", KEY, nullable=False),
    Column("system", KEY),
    Column("element", KEY),
    Column("record", KEY),
    Column("integration", KEY),
    Column("event", KEY),
    Column("owner", KEY),
    Column("message", BODY, nullable=False),
    Column("evidence", BODY, nullable=False),  # JSON object
    Column("first_seen_at", BigInteger, nullable=False),
    Column("first_seen_event", KEY),
    Column("last_seen_at", BigInteger, nullable=False),
    Column("last_seen_event", KEY),
    Column("resolved_at", BigInteger),
    Column("resolved_by", KEY),  # the event id whose arrival made it untrue
    Column("registry_version", Integer),  # registry_versions.id judged under
)
Index(
    "ux_findings_fingerprint_occurrence", findings.c.fingerprint, findings.c.occurrence, unique=True
)
_OPEN_FINDING = findings.c.resolved_at.is_(None)
Index(
    "ux_findings_open",
    findings.c.fingerprint,
    unique=True,
    sqlite_where=_OPEN_FINDING,
    postgresql_where=_OPEN_FINDING,
)
# a code's open findings on a key (system, record), any element (migration 0017): what a
# scoped judgement reads again for the keys its batch touched
Index(
    "ix_findings_open_record",
    findings.c.code,
    findings.c.system,
    findings.c.record,
    sqlite_where=_OPEN_FINDING,
    postgresql_where=_OPEN_FINDING,
)
Index("ix_findings_code", findings.c.code, findings.c.resolved_at)
Index("ix_findings_owner", findings.c.owner, findings.c.resolved_at)
Index("ix_findings_place", findings.c.system, findings.c.element, findings.c.record)
Index("ix_findings_integration", findings.c.integration)
Index("ix_findings_event", findings.c.event)
Index("ix_findings_first_seen", findings.c.first_seen_at)
Index("ix_findings_resolved", findings.c.resolved_at)

findings_outbox = Table(
    "findings_outbox",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("finding_id", BigInteger, nullable=False),
    Column("event", String(), nullable=False),  # opened | resolved
    Column("payload", Text, nullable=False),  # the JSON document to POST
    Column("created_at", BigInteger, nullable=False),  # wall clock
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", BigInteger, nullable=False),  # wall clock
    Column("delivered_at", BigInteger),
    Column("last_error", Text),
)
_PENDING = findings_outbox.c.delivered_at.is_(None)
Index(
    "ix_findings_outbox_pending",
    findings_outbox.c.next_attempt_at,
    sqlite_where=_PENDING,
    postgresql_where=_PENDING,
)

detection_state = Table(
    "detection_state",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1
    Column("events_seq", BigInteger, nullable=False),  # last events.seq judged
    Column("status_seq", BigInteger, nullable=False),  # last hop_status.seq judged
    Column("openlineage_seq", BigInteger, nullable=False),  # last openlineage_events.seq
    Column("clock", BigInteger),  # the store's clock when last judged
    Column("registry_version", Integer),  # registry_versions.id judged under
    Column("judged_at", BigInteger, nullable=False),  # wall clock
)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_us(moment: dt.datetime) -> int:
    """A timezone-aware datetime as integer microseconds since the epoch."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def as_micros(moment: dt.datetime | int | None) -> int | None:
    """A moment as microseconds since the epoch: a datetime without a zone is UTC, an int is
    taken as microseconds already, None stays None (no moment: now or ever)."""
    if moment is None or isinstance(moment, int):
        return moment
    return to_us(moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC))


def from_us(micros: int) -> dt.datetime:
    """Integer microseconds since the epoch as an aware UTC datetime."""
    return _EPOCH + dt.timedelta(microseconds=micros)


def iso(micros: int) -> str:
    """Microseconds since the epoch as ISO 8601 with ``Z`` (seconds unless sub-second)."""
    moment = from_us(micros)
    spec = "seconds" if moment.microsecond == 0 else "microseconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")
