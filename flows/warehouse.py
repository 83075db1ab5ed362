"""The DuckDB side: candidate versions, audits, atomic publication, versions and locking.

Write-audit-publish: a run never opens the published file for writing. It copies the
published version to ``<warehouse dir>/staging/<run_id>.duckdb`` (the *candidate*),
applies the run's changes there, runs the audit queries, CHECKPOINTs and closes it, then
publishes it with an atomic ``os.replace`` over the published path. Readers that hold the
old file open keep reading the old version (the inode stays valid); new readers get the
new one; nobody ever sees a half-written file. Each published version is also kept as a
hard link in ``versions/`` for rollback; a failed candidate is moved to ``rejected/``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
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


class WarehouseBusyError(RuntimeError):
    """Another run holds the warehouse lock."""


class AuditError(RuntimeError):
    """The candidate failed an audit query: it is not published."""


def duckdb_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMPTZ"
    if isinstance(dtype, pl.List):
        return f"{duckdb_type(dtype.inner)}[]"
    return _DUCKDB_TYPES[type(dtype) if not isinstance(dtype, type) else dtype]


def create_table_sql(name: str, schema: pl.Schema) -> str:
    columns = ",\n    ".join(f"{column} {duckdb_type(dtype)}" for column, dtype in schema.items())
    return f"CREATE TABLE IF NOT EXISTS {name} (\n    {columns}\n)"


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=read_only)
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
    def lock(self) -> Path:
        return self.root / f".{self.published.name}.lock"

    def candidate(self, run_id: str) -> Path:
        return self.staging / f"{run_id}.duckdb"


# --------------------------------------------------------------------------- locking


@contextlib.contextmanager
def exclusive_lock(paths: WarehousePaths, wait_seconds: float = 0.0) -> Iterator[None]:
    """One writer per warehouse. An flock dies with its process, so a killed run never
    leaves a stale lock behind."""
    paths.root.mkdir(parents=True, exist_ok=True)
    handle = paths.lock.open("a+")
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    raise WarehouseBusyError(
                        f"another ingest run ({holder}) is writing {paths.published}; try again when it has finished"
                    ) from None
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def clear_stale_candidates(paths: WarehousePaths) -> list[Path]:
    """Remove half-built candidates left by killed runs (only call while holding the lock)."""
    removed = []
    if paths.staging.exists():
        for leftover in paths.staging.iterdir():
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
            removed.append(leftover)
    return removed


# --------------------------------------------------------------------------- candidate


def prepare_candidate(paths: WarehousePaths, run_id: str) -> Path:
    """Copy the published version (if any) to a fresh candidate file with all tables."""
    paths.staging.mkdir(parents=True, exist_ok=True)
    candidate = paths.candidate(run_id)
    for suffix in ("", ".wal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{candidate}{suffix}").unlink()
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


def current_state(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(documents: source_path, file_hash, doc_id, deleted_at; quarantine rows)."""
    documents = con.sql(
        "SELECT source_path, source_record, file_hash, doc_id, pipeline_version, deleted_at FROM documents"
    ).pl()
    quarantine = con.sql("SELECT * FROM quarantine").pl()
    return documents, quarantine


def apply_views(con: duckdb.DuckDBPyConnection, views_dir: Path = VIEWS_DIR) -> list[str]:
    """Run every ``warehouse/*.sql`` file (one view each) in name order."""
    applied = []
    for sql_file in sorted(views_dir.glob("*.sql")):
        con.execute(sql_file.read_text(encoding="utf-8"))
        applied.append(sql_file.stem)
    return applied


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
    "null keys": (
        "SELECT 'documents' FROM documents WHERE doc_id IS NULL UNION ALL "
        "SELECT 'sentences' FROM sentences WHERE sentence_id IS NULL OR doc_id IS NULL UNION ALL "
        "SELECT 'entities' FROM entities WHERE entity_id IS NULL OR sentence_id IS NULL UNION ALL "
        "SELECT 'incidents' FROM incidents WHERE incident_id IS NULL OR sentence_id IS NULL"
    ),
    "sentences without a current document": (
        "SELECT s.sentence_id FROM sentences s LEFT JOIN documents d "
        "ON d.doc_id = s.doc_id AND d.deleted_at IS NULL WHERE d.doc_id IS NULL"
    ),
    "entities without their sentence": (
        "SELECT e.entity_id FROM entities e LEFT JOIN sentences s "
        "ON s.sentence_id = e.sentence_id AND s.doc_id = e.doc_id WHERE s.sentence_id IS NULL"
    ),
    "incidents without their sentence": (
        "SELECT i.incident_id FROM incidents i LEFT JOIN sentences s "
        "ON s.sentence_id = i.sentence_id AND s.doc_id = i.doc_id WHERE s.sentence_id IS NULL"
    ),
    "current documents without sentences": (
        "SELECT d.doc_id FROM documents d WHERE d.deleted_at IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM sentences s WHERE s.doc_id = d.doc_id)"
    ),
    "sentence offsets outside the text": (
        "SELECT s.sentence_id FROM sentences s JOIN documents d USING (doc_id) "
        "WHERE s.char_start < 0 OR s.char_end > d.char_count OR s.char_end <= s.char_start"
    ),
    "entity offsets outside their sentence": (
        "SELECT e.entity_id FROM entities e JOIN sentences s USING (sentence_id) "
        "WHERE e.char_start < s.char_start OR e.char_start >= s.char_end OR e.char_end <= e.char_start"
    ),
    "incident evidence outside its sentence": (
        "SELECT i.incident_id FROM incidents i JOIN sentences s USING (sentence_id) "
        "WHERE i.char_start < s.char_start OR i.char_end > s.char_end"
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


# --------------------------------------------------------------------------- publish


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(paths: WarehousePaths, candidate: Path, run_id: str, keep_versions: int) -> Path:
    """Atomically make the (closed, checkpointed) candidate the published warehouse."""
    paths.versions.mkdir(parents=True, exist_ok=True)
    _fsync(candidate)
    version = paths.versions / f"{run_id}.duckdb"
    with contextlib.suppress(FileNotFoundError):
        version.unlink()
    os.link(candidate, version)
    candidate.replace(paths.published)
    _fsync(paths.root)
    prune_versions(paths, keep_versions)
    return version


def prune_versions(paths: WarehousePaths, keep: int) -> None:
    versions = sorted(paths.versions.glob("*.duckdb"), key=lambda p: p.name)
    for old in versions[:-keep] if keep > 0 else versions:
        old.unlink(missing_ok=True)


def reject(paths: WarehousePaths, candidate: Path) -> Path:
    """Keep a failed candidate for inspection in ``rejected/``."""
    paths.rejected.mkdir(parents=True, exist_ok=True)
    target = paths.rejected / candidate.name
    candidate.replace(target)
    with contextlib.suppress(FileNotFoundError):
        Path(f"{candidate}.wal").unlink()
    return target


def discard(candidate: Path) -> None:
    for suffix in ("", ".wal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{candidate}{suffix}").unlink()
