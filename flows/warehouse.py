"""The DuckDB side: candidate versions, audits, gates, atomic publication, versions, rollback
and locking.

Write-audit-publish: a run never opens the published file for writing. It copies the
published version to ``<warehouse dir>/staging/<run_id>.duckdb`` (the *candidate*),
applies the run's changes there, runs the audit queries and gates, CHECKPOINTs and closes
it, then publishes it with an atomic ``os.replace`` over the published path. Readers that
hold the old file open keep reading the old version (the inode stays valid); new readers get
the new one; nobody ever sees a half-written file. Each published version is also kept as a
hard link in ``versions/<seq>-<run_id>.duckdb`` (``seq`` is the publication order) for
rollback; a failed candidate is moved to ``rejected/``.

Crash safety: the published path only ever changes by a rename, so a run killed at any
moment leaves it as it was. What a killed run can leave behind (a half-built candidate, a
version link made just before the rename, a rollback's temporary link) is cleared by
:func:`recover`, which every writer runs first while holding the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from transforms.schemas import TABLES

log = logging.getLogger(__name__)

VIEWS_DIR = Path(__file__).resolve().parent.parent / "warehouse"
_DUCKDB_TYPES = {
    pl.String: "VARCHAR",
    pl.Int8: "TINYINT",
    pl.Int32: "INTEGER",
    pl.Int64: "BIGINT",
    pl.Float64: "DOUBLE",
    pl.Boolean: "BOOLEAN",
    pl.Date: "DATE",
}
# Tables whose row counts are compared with the published version (row-count gate).
GATED_TABLES = ("documents", "sentences", "entities", "incidents")


class WarehouseBusyError(RuntimeError):
    """Another run holds the warehouse lock."""


class AuditError(RuntimeError):
    """The candidate failed an audit query or a gate: it is not published (kept in rejected/)."""


class GateError(AuditError):
    """A threshold gate (quarantine share, row-count drop) refused to publish the candidate."""


class SchemaDriftError(AuditError):
    """A batch's table does not have the declared columns and types."""


class InsufficientDiskError(RuntimeError):
    """Not enough free disk for a new version: the run refuses to start."""


class RollbackError(RuntimeError):
    """There is no earlier published version to restore."""


def duckdb_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMPTZ"
    if isinstance(dtype, pl.List):
        return f"{duckdb_type(dtype.inner)}[]"
    return _DUCKDB_TYPES[type(dtype) if not isinstance(dtype, type) else dtype]


def create_table_sql(name: str, schema: pl.Schema) -> str:
    columns = ",\n    ".join(f"{column} {duckdb_type(dtype)}" for column, dtype in schema.items())
    return f"CREATE TABLE IF NOT EXISTS {name} (\n    {columns}\n)"


# sitrep's DuckDB memory: beyond this, joins of the audit and the CHECKPOINT spill to a
# folder next to the candidate (in staging/, cleared with it) instead of growing with the
# warehouse. DuckDB's own default is 80% of the machine's RAM.
WRITER_MEMORY_LIMIT = "1GB"


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    # the same configuration for readers and the writer: DuckDB refuses a second connection
    # to a file from the same process with a different one
    con = duckdb.connect(str(path), read_only=read_only, config={"memory_limit": WRITER_MEMORY_LIMIT})
    con.execute("SET TimeZone = 'UTC'")
    return con


def ensure_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create missing tables, and add columns that a newer sitrep declares (as NULL) to
    tables of an older warehouse. Returns the columns added."""
    added = []
    for name, schema in TABLES.items():
        con.execute(create_table_sql(name, schema))
        existing = {row[0] for row in con.execute(f"DESCRIBE {name}").fetchall()}
        for column, dtype in schema.items():
            if column not in existing:
                con.execute(f"ALTER TABLE {name} ADD COLUMN {column} {duckdb_type(dtype)}")
                added.append(f"{name}.{column}")
    return added


# --------------------------------------------------------------------------- paths


@dataclass(frozen=True)
class WarehousePaths:
    published: Path

    @property
    def root(self) -> Path:
        return self.published.parent

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def versions(self) -> Path:
        return self.root / "versions"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"

    @property
    def rolled_back(self) -> Path:
        return self.root / "rolled_back"

    @property
    def lock(self) -> Path:
        return self.root / f".{self.published.name}.lock"

    @property
    def swap(self) -> Path:
        """Temporary link used by rollback before it is renamed over the published file."""
        return self.root / f".{self.published.name}.swap"

    def candidate(self, run_id: str) -> Path:
        return self.staging / f"{run_id}.duckdb"


# --------------------------------------------------------------------------- locking

_held_locks: set[Path] = set()
_held_guard = threading.Lock()


@contextlib.contextmanager
def exclusive_lock(
    paths: WarehousePaths, wait_seconds: float = 0.0, holder: str = "ingest"
) -> Iterator[None]:
    """One writer per warehouse (ingest runs and rollbacks).

    A POSIX record lock (``lockf``) belongs to the process that took it: the kernel drops it
    when that process dies, however it dies (kill -9 included), and, unlike ``flock``, it is
    not inherited by forked children (spaCy's ``n_process`` workers), so an orphaned child
    can never keep a dead run's lock. Within one process a registry refuses a second holder.
    """
    paths.root.mkdir(parents=True, exist_ok=True)
    key = paths.lock.resolve()
    with _held_guard:
        if key in _held_locks:
            raise WarehouseBusyError(f"this process is already writing {paths.published}")
        _held_locks.add(key)
    handle = paths.lock.open("a+")
    deadline = time.monotonic() + wait_seconds
    locked = False
    try:
        while True:
            try:
                fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked = True
                break
            except OSError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    who = handle.read().strip() or "unknown"
                    raise WarehouseBusyError(
                        f"another writer ({who}) holds the lock on {paths.published}; "
                        "try again when it has finished"
                    ) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{holder}, pid {os.getpid()}, since {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}")
        handle.flush()
        yield
    finally:
        if locked:
            with contextlib.suppress(OSError):
                handle.seek(0)
                handle.truncate()
                handle.flush()
                fcntl.lockf(handle, fcntl.LOCK_UN)
        handle.close()
        with _held_guard:
            _held_locks.discard(key)


# --------------------------------------------------------------------------- versions

_VERSION_NAME = re.compile(r"^(\d+)-(.+)\.duckdb$")


@dataclass(frozen=True)
class Version:
    path: Path
    seq: int  # publication order (0 for versions named by an older sitrep)
    run_id: str

    @property
    def name(self) -> str:
        return self.path.name


def list_versions(paths: WarehousePaths) -> list[Version]:
    """Kept published versions, oldest first (publication order)."""
    if not paths.versions.exists():
        return []
    found = []
    for path in paths.versions.glob("*.duckdb"):
        match = _VERSION_NAME.match(path.name)
        if match:
            found.append(Version(path, int(match.group(1)), match.group(2)))
        else:
            found.append(Version(path, 0, path.stem))
    return sorted(found, key=lambda v: (v.seq, v.path.name))


def current_version(paths: WarehousePaths, versions: list[Version] | None = None) -> Version | None:
    """The kept version that *is* the published file (same inode), if any."""
    if not paths.published.exists():
        return None
    for version in versions if versions is not None else list_versions(paths):
        with contextlib.suppress(OSError):
            if version.path.samefile(paths.published):
                return version
    return None


def _prune(folder: Path, keep: int, protect: Path | None = None) -> list[Path]:
    """Keep the ``keep`` newest ``*.duckdb`` files of a folder (by name)."""
    if not folder.exists():
        return []
    files = sorted(folder.glob("*.duckdb"), key=lambda p: p.name)
    removed = []
    for old in files[:-keep] if keep > 0 else files:
        if protect is not None and old == protect:
            continue
        old.unlink(missing_ok=True)
        removed.append(old)
    return removed


def prune_versions(paths: WarehousePaths, keep: int) -> list[Path]:
    """Keep the last ``keep`` published versions (never the current one)."""
    versions = list_versions(paths)
    current = current_version(paths, versions)
    removed = []
    for old in versions[:-keep] if keep > 0 else versions:
        if current is not None and old.path == current.path:
            continue
        old.path.unlink(missing_ok=True)
        removed.append(old.path)
    return removed


# --------------------------------------------------------------------------- recovery


def recover(paths: WarehousePaths) -> list[str]:
    """Clear what killed writers left behind (call only while holding the lock).

    - half-built candidates (and their ``.wal`` / spill folders) in ``staging/``;
    - a rollback's temporary link;
    - version links newer than the published version: made by a run killed between linking
      its version and renaming it into place (never published), or by a rollback killed
      after its rename; they are moved to ``rolled_back/`` so that the version history
      always ends with the published version.

    Returns a description of each thing cleared. The published file is never touched.
    """
    cleared = []
    if paths.staging.exists():
        for leftover in sorted(paths.staging.iterdir()):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
            cleared.append(f"half-built candidate {leftover.name}")
    if paths.swap.exists() or paths.swap.is_symlink():
        paths.swap.unlink(missing_ok=True)
        cleared.append(f"temporary link {paths.swap.name}")
    versions = list_versions(paths)
    current = current_version(paths, versions)
    if current is not None:
        newer = [v for v in versions if (v.seq, v.name) > (current.seq, current.name)]
    else:  # no published file yet: a first run was killed just before its rename
        newer = versions if not paths.published.exists() else []
    if newer:
        paths.rolled_back.mkdir(parents=True, exist_ok=True)
        for version in newer:
            version.path.replace(paths.rolled_back / version.name)
            cleared.append(f"unpublished version {version.name} (moved to rolled_back/)")
    return cleared


# --------------------------------------------------------------------------- disk


@dataclass(frozen=True)
class DiskEstimate:
    free: int
    needed: int
    published: int
    source: int
    reserve: int

    @property
    def enough(self) -> bool:
        return self.free >= self.needed

    def message(self, folder: Path) -> str:
        return (
            f"not enough free disk in {folder}: {_size(self.free)} free, a new version needs about "
            f"{_size(self.needed)} (2 x published {_size(self.published)} + 2 x source files "
            f"{_size(self.source)} + reserve {_size(self.reserve)}, SITREP_DISK_RESERVE_BYTES); "
            "free some space (old versions in versions/ and rejected/ can go) and run again"
        )


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def space_needed(published_bytes: int, source_bytes: int, reserve_bytes: int) -> int:
    """Disk a new version may take: the candidate copy of the published file and as much
    again for its growth and WAL, twice the source files (their text is stored in
    ``documents`` and again in ``sentences``), and a fixed reserve."""
    return 2 * published_bytes + 2 * source_bytes + reserve_bytes


def estimate_disk(
    paths: WarehousePaths,
    source_bytes: int,
    reserve_bytes: int,
    disk_usage: Callable[[Path], tuple] = shutil.disk_usage,
) -> DiskEstimate:
    paths.root.mkdir(parents=True, exist_ok=True)
    published = paths.published.stat().st_size if paths.published.exists() else 0
    free = disk_usage(paths.root)[2]
    return DiskEstimate(
        free=free,
        needed=space_needed(published, source_bytes, reserve_bytes),
        published=published,
        source=source_bytes,
        reserve=reserve_bytes,
    )


def check_disk_space(
    paths: WarehousePaths,
    source_bytes: int,
    reserve_bytes: int,
    disk_usage: Callable[[Path], tuple] = shutil.disk_usage,
) -> DiskEstimate:
    """Raise :class:`InsufficientDiskError` when a new version may not fit."""
    estimate = estimate_disk(paths, source_bytes, reserve_bytes, disk_usage)
    if not estimate.enough:
        raise InsufficientDiskError(estimate.message(paths.root))
    return estimate


# --------------------------------------------------------------------------- candidate


def prepare_candidate(paths: WarehousePaths, run_id: str) -> Path:
    """Copy the published version (if any) to a fresh candidate file with all tables."""
    paths.staging.mkdir(parents=True, exist_ok=True)
    candidate = paths.candidate(run_id)
    discard(candidate)
    if paths.published.exists():
        shutil.copyfile(paths.published, candidate)
    with contextlib.closing(connect(candidate)) as con:
        ensure_tables(con)
    return candidate


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    if frame.is_empty():
        return 0
    con.register("_incoming", frame.select(TABLES[table].names()))
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _incoming")
    finally:
        con.unregister("_incoming")
    return len(frame)


def delete_documents(con: duckdb.DuckDBPyConnection, doc_ids: list[str]) -> None:
    """Remove every row of the given documents from all document tables."""
    if not doc_ids:
        return
    frame = pl.DataFrame({"doc_id": doc_ids}, schema={"doc_id": pl.String})
    con.register("_gone", frame)
    try:
        for table in ("incidents", "entities", "sentences", "documents"):
            con.execute(f"DELETE FROM {table} WHERE doc_id IN (SELECT doc_id FROM _gone)")
    finally:
        con.unregister("_gone")


def delete_quarantine(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> None:
    """Remove the quarantine rows of the (source_path, source_record) pairs in ``frame``
    (so that writing a batch twice, e.g. on a retry, never duplicates them)."""
    if frame.is_empty():
        return
    con.register("_requeued", frame.select("source_path", "source_record").unique())
    try:
        con.execute(
            "DELETE FROM quarantine q USING _requeued r "
            "WHERE q.source_path = r.source_path AND q.source_record IS NOT DISTINCT FROM r.source_record"
        )
    finally:
        con.unregister("_requeued")


def tombstone_documents(con: duckdb.DuckDBPyConnection, doc_ids: list[str], deleted_at) -> None:
    """Mark documents whose file disappeared; their derived rows are removed."""
    if not doc_ids:
        return
    frame = pl.DataFrame({"doc_id": doc_ids}, schema={"doc_id": pl.String})
    con.register("_gone", frame)
    try:
        for table in ("incidents", "entities", "sentences"):
            con.execute(f"DELETE FROM {table} WHERE doc_id IN (SELECT doc_id FROM _gone)")
        con.execute(
            "UPDATE documents SET deleted_at = ? WHERE doc_id IN (SELECT doc_id FROM _gone)",
            [deleted_at],
        )
    finally:
        con.unregister("_gone")


def record_run(
    con: duckdb.DuckDBPyConnection, run_row: pl.DataFrame, validation: pl.DataFrame | None
) -> None:
    """(Re)write a run's row and its validation results: idempotent, so a retried task or
    the rejection path never duplicates them."""
    run_id = run_row["run_id"][0]
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM runs WHERE run_id = ?", [run_id])
    if validation is not None:
        con.execute("DELETE FROM validation_results WHERE run_id = ?", [run_id])
        insert_frame(con, "validation_results", validation)
    insert_frame(con, "runs", run_row)
    con.execute("COMMIT")


def current_state(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(documents: source_path, file_hash, doc_id, deleted_at; quarantine rows)."""
    documents = con.sql(
        "SELECT source_path, source_record, file_hash, doc_id, pipeline_version, deleted_at FROM documents"
    ).pl()
    quarantine = con.sql("SELECT * FROM quarantine").pl()
    return documents, quarantine


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per gated table (current documents only)."""
    row = con.execute(
        "SELECT (SELECT count(*) FROM documents WHERE deleted_at IS NULL), "
        "(SELECT count(*) FROM sentences), (SELECT count(*) FROM entities), "
        "(SELECT count(*) FROM incidents)"
    ).fetchall()[0]
    return dict(zip(GATED_TABLES, row, strict=True))


def apply_views(con: duckdb.DuckDBPyConnection, views_dir: Path = VIEWS_DIR) -> list[str]:
    """Run every ``warehouse/*.sql`` file (one view each) in name order."""
    applied = []
    for sql_file in sorted(views_dir.glob("*.sql")):
        con.execute(sql_file.read_text(encoding="utf-8"))
        applied.append(sql_file.stem)
    return applied


# --------------------------------------------------------------------------- schema


def schema_problems(table: str, frame: pl.DataFrame) -> list[str]:
    """How a batch's frame differs from the declared schema of its table (empty if not)."""
    declared = TABLES[table]
    actual = frame.schema
    problems = [f"{table}.{name}: missing" for name in declared if name not in actual]
    problems += [f"{table}.{name}: not declared" for name in actual if name not in declared]
    problems += [
        f"{table}.{name}: {actual[name]} instead of {dtype}"
        for name, dtype in declared.items()
        if name in actual and actual[name] != dtype
    ]
    return problems


def check_schemas(tables: dict[str, pl.DataFrame]) -> None:
    problems = [p for table, frame in tables.items() for p in schema_problems(table, frame)]
    if problems:
        raise SchemaDriftError("schema drift: " + "; ".join(problems))


# --------------------------------------------------------------------------- audit

AUDIT_QUERIES: dict[str, str] = {
    "duplicate document ids": "SELECT doc_id FROM documents GROUP BY doc_id HAVING count(*) > 1",
    "duplicate current source records": (
        "SELECT source_path, source_record FROM documents WHERE deleted_at IS NULL "
        "GROUP BY ALL HAVING count(*) > 1"
    ),
    "duplicate sentence ids": "SELECT sentence_id FROM sentences GROUP BY sentence_id HAVING count(*) > 1",
    "duplicate entity ids": "SELECT entity_id FROM entities GROUP BY entity_id HAVING count(*) > 1",
    "duplicate incident ids": "SELECT incident_id FROM incidents GROUP BY incident_id HAVING count(*) > 1",
    "duplicate quarantine records": (
        "SELECT source_path, source_record FROM quarantine GROUP BY ALL HAVING count(*) > 1"
    ),
    "duplicate run ids": "SELECT run_id FROM runs GROUP BY run_id HAVING count(*) > 1",
    "null keys": (
        "SELECT 'documents' FROM documents WHERE doc_id IS NULL OR source_path IS NULL UNION ALL "
        "SELECT 'sentences' FROM sentences WHERE sentence_id IS NULL OR doc_id IS NULL UNION ALL "
        "SELECT 'entities' FROM entities WHERE entity_id IS NULL OR sentence_id IS NULL OR doc_id IS NULL UNION ALL "
        "SELECT 'incidents' FROM incidents WHERE incident_id IS NULL OR sentence_id IS NULL OR doc_id IS NULL UNION ALL "
        "SELECT 'quarantine' FROM quarantine WHERE source_path IS NULL OR reason IS NULL UNION ALL "
        "SELECT 'runs' FROM runs WHERE run_id IS NULL"
    ),
    "sentences without a current document": (
        "SELECT s.sentence_id FROM sentences s LEFT JOIN documents d "
        "ON d.doc_id = s.doc_id AND d.deleted_at IS NULL WHERE d.doc_id IS NULL"
    ),
    "entities without their sentence": (
        "SELECT e.entity_id FROM entities e LEFT JOIN sentences s "
        "ON s.sentence_id = e.sentence_id AND s.doc_id = e.doc_id WHERE s.sentence_id IS NULL"
    ),
    "entities without a current document": (
        "SELECT e.entity_id FROM entities e LEFT JOIN documents d "
        "ON d.doc_id = e.doc_id AND d.deleted_at IS NULL WHERE d.doc_id IS NULL"
    ),
    "incidents without their sentence": (
        "SELECT i.incident_id FROM incidents i LEFT JOIN sentences s "
        "ON s.sentence_id = i.sentence_id AND s.doc_id = i.doc_id WHERE s.sentence_id IS NULL"
    ),
    "incidents without a current document": (
        "SELECT i.incident_id FROM incidents i LEFT JOIN documents d "
        "ON d.doc_id = i.doc_id AND d.deleted_at IS NULL WHERE d.doc_id IS NULL"
    ),
    "current documents without sentences": (
        "SELECT d.doc_id FROM documents d WHERE d.deleted_at IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM sentences s WHERE s.doc_id = d.doc_id)"
    ),
    "document length differs from char_count": (
        "SELECT doc_id FROM documents WHERE char_count IS DISTINCT FROM length(text)"
    ),
    "sentence offsets outside the text": (
        "SELECT s.sentence_id FROM sentences s JOIN documents d USING (doc_id) "
        "WHERE s.char_start < 0 OR s.char_end > d.char_count OR s.char_end <= s.char_start"
    ),
    # An entity starts in its sentence; it may run past the sentence's end (the model's
    # span can cross a split such as "Jay-Z. Soul"), never past the document's text.
    "entity offsets outside their sentence": (
        "SELECT e.entity_id FROM entities e JOIN sentences s USING (sentence_id) "
        "WHERE e.char_start < s.char_start OR e.char_start >= s.char_end OR e.char_end <= e.char_start"
    ),
    "entity offsets outside the text": (
        "SELECT e.entity_id FROM entities e JOIN documents d USING (doc_id) "
        "WHERE e.char_start < 0 OR e.char_end > d.char_count"
    ),
    "incident evidence outside its sentence": (
        "SELECT i.incident_id FROM incidents i JOIN sentences s USING (sentence_id) "
        "WHERE i.char_start < s.char_start OR i.char_end > s.char_end OR i.char_end <= i.char_start"
    ),
    "quarantined files that are also current documents": (
        "SELECT q.source_path FROM quarantine q JOIN documents d USING (source_path, source_record) "
        "WHERE d.deleted_at IS NULL"
    ),
}


def audit(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Cross-table checks on the whole candidate. Returns {check: offending rows}."""
    return {name: len(con.execute(sql).fetchall()) for name, sql in AUDIT_QUERIES.items()}


def audit_report(outcome: dict[str, int]) -> str:
    failed = {name: count for name, count in outcome.items() if count}
    if not failed:
        return f"all {len(outcome)} audit queries returned 0 rows"
    return "audit failed: " + "; ".join(f"{name}: {count} row(s)" for name, count in failed.items())


# --------------------------------------------------------------------------- gates


def quarantine_gate(quarantined: int, loaded: int, max_share: float, min_documents: int) -> str | None:
    """Why the run must not publish because too much of its input was quarantined, or None.

    ``quarantined`` and ``loaded`` count this run's records (files, or records of a
    .json/.jsonl file); the gate applies from ``min_documents`` records on, so that a night
    with three new files of which two are broken is not mistaken for a broken feed."""
    total = quarantined + loaded
    if total < max(min_documents, 1) or quarantined <= max_share * total:
        return None
    return (
        f"quarantine gate: {quarantined} of the {total} documents of this run ({quarantined / total:.0%}) "
        f"were quarantined, more than SITREP_MAX_QUARANTINE_SHARE={max_share:.0%}; "
        "see the quarantine table of the rejected candidate, fix the input (or raise the share) and run again"
    )


def row_count_gate(
    before: dict[str, int], after: dict[str, int], max_drop: float, min_rows: int
) -> list[str]:
    """Tables whose row count would drop by more than ``max_drop`` (a share) against the
    published version. Tables with fewer than ``min_rows`` published rows are not gated."""
    problems = []
    for table in GATED_TABLES:
        old, new = before.get(table, 0), after.get(table, 0)
        if old >= max(min_rows, 1) and new < old * (1 - max_drop):
            problems.append(
                f"row-count gate: {table} would drop from {old:,} to {new:,} rows "
                f"({(old - new) / old:.0%} fewer, more than SITREP_MAX_ROW_DROP_SHARE={max_drop:.0%})"
            )
    return problems


# --------------------------------------------------------------------------- publish


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _next_seq(versions: list[Version]) -> int:
    return max((v.seq for v in versions), default=0) + 1


def publish(paths: WarehousePaths, candidate: Path, run_id: str, keep_versions: int) -> Path:
    """Atomically make the (closed, checkpointed) candidate the published warehouse.

    Order: link the candidate into ``versions/`` under the next sequence number, then rename
    it over the published path (the atomic step), then prune. A crash before the rename
    leaves an unpublished version link, which :func:`recover` moves away."""
    wal = Path(f"{candidate}.wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise RuntimeError(f"{candidate} still has a write-ahead log: it was not checkpointed")
    wal.unlink(missing_ok=True)
    paths.versions.mkdir(parents=True, exist_ok=True)
    versions = list_versions(paths)
    existing = [v for v in versions if v.run_id == run_id]
    if not candidate.exists() and existing and current_version(paths, versions) == existing[-1]:
        return existing[-1].path  # already published (a retried task)
    _fsync(candidate)
    for version in existing:  # a retry after the link but before the rename
        version.path.unlink(missing_ok=True)
    version = paths.versions / f"{_next_seq(versions):06d}-{run_id}.duckdb"
    os.link(candidate, version)
    _fsync(paths.versions)
    candidate.replace(paths.published)
    _fsync(paths.root)
    prune_versions(paths, keep_versions)
    return version


def reject(paths: WarehousePaths, candidate: Path, keep: int = 7) -> Path:
    """Keep a failed candidate for inspection in ``rejected/`` (the newest ``keep``)."""
    paths.rejected.mkdir(parents=True, exist_ok=True)
    target = paths.rejected / candidate.name
    candidate.replace(target)
    Path(f"{candidate}.wal").unlink(missing_ok=True)
    _prune(paths.rejected, keep, protect=target)
    return target


def discard(candidate: Path) -> None:
    for suffix in ("", ".wal"):
        Path(f"{candidate}{suffix}").unlink(missing_ok=True)
    spill = Path(f"{candidate}.tmp")
    if spill.is_dir():
        shutil.rmtree(spill, ignore_errors=True)


# --------------------------------------------------------------------------- rollback


@dataclass(frozen=True)
class RollbackResult:
    restored: Version
    replaced: Version


def rollback(paths: WarehousePaths, keep: int = 7) -> RollbackResult:
    """Make the version published before the current one the published warehouse again
    (call only while holding the lock).

    Atomic like a publication: the earlier version is hard-linked to a temporary name and
    renamed over the published path, so readers see the old or the new file, never a
    mixture. The replaced version (and anything newer) then leaves ``versions/`` for
    ``rolled_back/``, so that a second rollback goes one further step back and the next
    ingest publishes on top of the restored version."""
    recover(paths)
    versions = list_versions(paths)
    current = current_version(paths, versions)
    if current is None:
        raise RollbackError(
            f"{paths.published} is not one of the versions kept in {paths.versions}: nothing to roll back to"
        )
    index = versions.index(current)
    if index == 0:
        raise RollbackError(
            f"no version older than {current.name} is kept in {paths.versions} "
            "(SITREP_KEEP_VERSIONS keeps the newest ones)"
        )
    target = versions[index - 1]
    paths.swap.unlink(missing_ok=True)
    os.link(target.path, paths.swap)
    paths.swap.replace(paths.published)
    _fsync(paths.root)
    paths.rolled_back.mkdir(parents=True, exist_ok=True)
    for version in versions[index:]:
        version.path.replace(paths.rolled_back / version.name)
    _prune(paths.rolled_back, keep)
    return RollbackResult(restored=target, replaced=current)
