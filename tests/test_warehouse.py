"""The warehouse layer on its own (no Prefect, no model): locking, recovery after a kill,
publication, versions and rollback, the disk check, the gates, schema drift and every
audit query. Fast: each test builds tiny DuckDB files."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from flows import warehouse as wh
from tests.conftest import PROJECT_ROOT
from transforms.schemas import TABLES

pytestmark = pytest.mark.timeout(120)

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def frame(table: str, *rows: dict) -> pl.DataFrame:
    schema = TABLES[table]
    return pl.DataFrame([{name: row.get(name) for name in schema} for row in rows], schema=schema)


TEXT = "Title\n\nShelling hit the town."
VALID_ROWS = {
    "documents": frame(
        "documents",
        {
            "doc_id": "d1",
            "source_path": "a.txt",
            "source_record": 0,
            "file_hash": "h",
            "format": "txt",
            "title": "Title",
            "text": TEXT,
            "char_count": len(TEXT),
            "word_count": 5,
            "ingested_at": NOW,
            "run_id": "r1",
            "pipeline_version": "v",
        },
    ),
    "sentences": frame(
        "sentences",
        {
            "sentence_id": "d1:0",
            "doc_id": "d1",
            "position": 0,
            "paragraph": 0,
            "char_start": 0,
            "char_end": 5,
        },
        {
            "sentence_id": "d1:1",
            "doc_id": "d1",
            "position": 1,
            "paragraph": 1,
            "char_start": 7,
            "char_end": len(TEXT),
        },
    ),
    "entities": frame(
        "entities",
        {
            "entity_id": "d1:24-28",
            "doc_id": "d1",
            "sentence_id": "d1:1",
            "text": "town",
            "label": "GPE",
            "char_start": 24,
            "char_end": 28,
        },
    ),
    "incidents": frame(
        "incidents",
        {
            "incident_id": "d1:1:0",
            "doc_id": "d1",
            "sentence_id": "d1:1",
            "char_start": 7,
            "char_end": len(TEXT),
            "event_type": "Explosions/Remote violence",
            "sub_event_type": "Shelling/artillery/missile attack",
            "modality": "asserted",
            "confidence": 0.9,
        },
    ),
    "quarantine": frame(
        "quarantine",
        {"source_path": "bad.txt", "source_record": 0, "reason": "empty_file", "detail": "0 bytes"},
    ),
    "runs": frame("runs", {"run_id": "r1", "status": "published"}),
}


def make_db(path: Path, marker: str = "r1", rows: dict | None = None) -> Path:
    """A small valid warehouse file (closed and checkpointed), its run row named ``marker``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(wh.connect(path)) as con:
        wh.ensure_tables(con)
        for table, data in (rows or VALID_ROWS).items():
            if table == "runs":
                data = data.with_columns(run_id=pl.lit(marker))
            wh.insert_frame(con, table, data)
        con.execute("CHECKPOINT")
    return path


def marker_of(path: Path) -> str:
    with contextlib.closing(wh.connect(path, read_only=True)) as con:
        return con.execute("SELECT max(run_id) FROM runs").fetchall()[0][0]


def publish_new(paths: wh.WarehousePaths, marker: str, keep: int = 7) -> Path:
    candidate = make_db(paths.candidate(marker), marker)
    return wh.publish(paths, candidate, marker, keep)


# --------------------------------------------------------------------------- locking

HOLD_LOCK = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from flows import warehouse as wh
    paths = wh.WarehousePaths(Path(sys.argv[1]))
    with wh.exclusive_lock(paths, holder="test holder"):
        if sys.argv[2] == "fork":  # a child that outlives us, like an orphaned spaCy worker
            child = os.fork()
            if child == 0:
                time.sleep(60)
                os._exit(0)
            print(child, flush=True)
        print("locked", flush=True)
        time.sleep(60)
    """
)


def hold_lock(published: Path, mode: str = "plain") -> tuple[subprocess.Popen, int | None]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(published), mode],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    child = int(process.stdout.readline()) if mode == "fork" else None
    assert process.stdout.readline().strip() == "locked"
    return process, child


def test_lock_refuses_a_second_writer_and_dies_with_a_killed_holder(tmp_path):
    paths = wh.WarehousePaths(tmp_path / "sitrep.duckdb")
    holder, _ = hold_lock(paths.published)
    try:
        with pytest.raises(wh.WarehouseBusyError, match=r"test holder, pid \d+"), wh.exclusive_lock(paths):
            pass
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(10)
        with wh.exclusive_lock(paths, wait_seconds=5):  # no stale lock after kill -9
            pass
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(10)


def test_lock_is_not_kept_by_a_forked_child_of_a_killed_writer(tmp_path):
    """spaCy's n_process workers are forked while the lock is held: if the run is killed,
    an orphaned worker must not keep the warehouse locked (flock would; lockf does not)."""
    paths = wh.WarehousePaths(tmp_path / "sitrep.duckdb")
    holder, child = hold_lock(paths.published, "fork")
    try:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        os.kill(child, 0)  # the forked child is still alive...
        with wh.exclusive_lock(paths, wait_seconds=5):  # ...and does not hold the lock
            pass
    finally:
        for pid in (holder.pid, child):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        holder.wait(10)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child, os.WNOHANG)


def test_lock_refuses_a_second_holder_in_the_same_process(tmp_path):
    paths = wh.WarehousePaths(tmp_path / "sitrep.duckdb")
    with (
        wh.exclusive_lock(paths),
        pytest.raises(wh.WarehouseBusyError, match="this process"),
        wh.exclusive_lock(paths),
    ):
        pass
    with wh.exclusive_lock(paths):  # released
        pass


# --------------------------------------------------------------------------- publish, versions


def test_publish_keeps_numbered_versions_and_prunes_the_oldest(tmp_path):
    paths = wh.WarehousePaths(tmp_path / "sitrep.duckdb")
    for n in range(1, 6):
        publish_new(paths, f"run{n}", keep=3)
    versions = wh.list_versions(paths)
    assert [(v.seq, v.run_id) for v in versions] == [(3, "run3"), (4, "run4"), (5, "run5")]
    assert wh.current_version(paths).run_id == "run5"
    assert marker_of(paths.published) == "run5"
    assert list(paths.staging.iterdir()) == []


def test_publish_refuses_a_candidate_with_an_unmerged_wal(tmp_path):
    paths = wh.WarehousePaths(tmp_path / "sitrep.duckdb")
    candidate = make_db(paths.candidate("r9"), "r9")
    Path(f"{candidate}.wal").write_bytes(b"not checkpointed")
    with pytest.raises(RuntimeError, match="write-ahead log"):
        wh.publish(paths, candidate, "r9", 7)
    assert not paths.published.exists()


def test_version_order_is_publication_order_not_run_id_order(tmp_path):
    """A run that waited for the lock has an older run_id than the run it waited for."""
    paths = wh.WarehousePaths(tmp_path / "sitrep.duckdb")
    publish_new(paths, "20260101T000002Z-bbbb")
    publish_new(paths, "20260101T000001Z-aaaa")  # published later
    assert wh.current_version(paths).run_id == "20260101T000001Z-aaaa"
    assert wh.recover(paths) == []  # nothing is mistaken for an unpublished version
    result = wh.rollback(paths)
    assert result.restored.run_id == "20260101T000002Z-bbbb"


# --------------------------------------------------------------------------- recovery


def test_recover_clears_every_leftover_of_a_killed_run_and_never_touches_the_published_file(tmp_path):
    paths = wh.WarehousePaths(tmp_path / "sitrep.duckdb")
    publish_new(paths, "run1")
    before = sha256(paths.published)
    # a half-built candidate with its WAL and a spill folder
    paths.staging.mkdir(exist_ok=True)
    (paths.staging / "run2.duckdb").write_bytes(b"half a database")
    (paths.staging / "run2.duckdb.wal").write_bytes(b"wal")
    (paths.staging / "run2.duckdb.tmp").mkdir()
    (paths.staging / "run2.duckdb.tmp" / "spill.bin").write_bytes(b"x")
    # a version linked just before a killed rename, and a rollback's temporary link
    orphan = make_db(tmp_path / "orphan.duckdb", "run3")
    os.link(orphan, paths.versions / "000002-run3.duckdb")
    os.link(orphan, paths.swap)
    cleared = wh.recover(paths)
    assert len(cleared) == 5, cleared
    assert list(paths.staging.iterdir()) == []
    assert not paths.swap.exists()
    assert [v.run_id for v in wh.list_versions(paths)] == ["run1"]
    assert (paths.rolled_back / "000002-run3.duckdb").exists()
    assert sha256(paths.published) == before
    assert wh.recover(paths) == []  # idempotent


def test_recover_after_a_first_run_killed_before_its_rename(tmp_path):
    paths = wh.WarehousePaths(tmp_path / "sitrep.duckdb")
    paths.versions.mkdir(parents=True)
    os.link(make_db(tmp_path / "c.duckdb", "run1"), paths.versions / "000001-run1.duckdb")
    wh.recover(paths)
    assert wh.list_versions(paths) == []
    assert not paths.published.exists()


# --------------------------------------------------------------------------- rollback


def test_rollback_restores_the_previous_version_atomically_and_steps_back(tmp_path):
    paths = wh.WarehousePaths(tmp_path / "sitrep.duckdb")
    for n in (1, 2, 3):
        publish_new(paths, f"run{n}")
    reader = duckdb.connect(str(paths.published), read_only=True)  # opened on version 3
    try:
        started = time.perf_counter()
        result = wh.rollback(paths)
        seconds = time.perf_counter() - started
        assert (result.restored.run_id, result.replaced.run_id) == ("run2", "run3")
        assert seconds < 5
        # a reader that opened the old file keeps a consistent view of it
        assert reader.execute("SELECT max(run_id) FROM runs").fetchall() == [("run3",)]
    finally:
        reader.close()
    # (DuckDB shares one database instance per path within a process: a new connection sees
    # the restored version once every connection of this process to the old one is closed)
    assert marker_of(paths.published) == "run2"
    assert [v.run_id for v in wh.list_versions(paths)] == ["run1", "run2"]
    assert (paths.rolled_back / "000003-run3.duckdb").exists()
    # the next publication stacks on the restored version; a rollback returns to it
    publish_new(paths, "run4")
    assert [v.seq for v in wh.list_versions(paths)] == [1, 2, 3]
    assert wh.rollback(paths).restored.run_id == "run2"
    assert wh.rollback(paths).restored.run_id == "run1"
    with pytest.raises(wh.RollbackError, match="no version older"):
        wh.rollback(paths)
    assert marker_of(paths.published) == "run1"


def test_rollback_refuses_when_the_published_file_is_not_a_kept_version(tmp_path):
    paths = wh.WarehousePaths(tmp_path / "sitrep.duckdb")
    make_db(paths.published, "hand-made")
    with pytest.raises(wh.RollbackError, match="not one of the versions"):
        wh.rollback(paths)


def test_cli_rollback_and_versions(tmp_path):
    from flows.cli import app

    paths = wh.WarehousePaths(tmp_path / "sitrep.duckdb")
    publish_new(paths, "run1")
    publish_new(paths, "run2")
    runner = CliRunner()
    listed = runner.invoke(app, ["versions", "--warehouse", str(paths.published)])
    assert listed.exit_code == 0, listed.output
    assert "* 000002-run2.duckdb" in listed.output
    rolled = runner.invoke(app, ["rollback", "--warehouse", str(paths.published)])
    assert rolled.exit_code == 0, rolled.output
    assert "now version run1" in rolled.output
    assert marker_of(paths.published) == "run1"
    again = runner.invoke(app, ["rollback", "--warehouse", str(paths.published)])
    assert again.exit_code == 1
    assert "no version older" in again.output


def test_cli_rollback_waits_for_no_running_ingest(tmp_path):
    from flows.cli import app

    paths = wh.WarehousePaths(tmp_path / "sitrep.duckdb")
    publish_new(paths, "run1")
    publish_new(paths, "run2")
    holder, _ = hold_lock(paths.published)
    try:
        refused = CliRunner().invoke(app, ["rollback", "--warehouse", str(paths.published)])
        assert refused.exit_code == 1
        assert "holds the lock" in refused.output
        assert marker_of(paths.published) == "run2"
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(10)


# --------------------------------------------------------------------------- disk


def test_disk_estimate_and_refusal(tmp_path):
    paths = wh.WarehousePaths(tmp_path / "sitrep.duckdb")
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.published.write_bytes(b"x" * 1000)
    assert wh.space_needed(1000, 300, 50) == 2650
    ok = wh.check_disk_space(paths, 300, 50, disk_usage=lambda _: (10**9, 0, 2650))
    assert ok.enough
    with pytest.raises(wh.InsufficientDiskError, match=r"2\.6 KB free, a new version needs about 2\.6 KB"):
        wh.check_disk_space(paths, 300, 50, disk_usage=lambda _: (10**9, 0, 2649))


# --------------------------------------------------------------------------- gates, schema


@pytest.mark.parametrize(
    ("quarantined", "loaded", "blocked"),
    [(0, 100, False), (50, 50, False), (51, 49, True), (9, 0, False), (10, 0, True), (6, 4, True)],
)
def test_quarantine_gate(quarantined, loaded, blocked):
    reason = wh.quarantine_gate(quarantined, loaded, max_share=0.5, min_documents=10)
    assert (reason is not None) == blocked
    if blocked:
        assert f"{quarantined} of the {quarantined + loaded} documents" in reason


def test_row_count_gate():
    before = {"documents": 100, "sentences": 1000, "entities": 40, "incidents": 200}
    assert wh.row_count_gate(before, before, 0.5, 50) == []
    after = {"documents": 100, "sentences": 499, "entities": 0, "incidents": 100}
    problems = wh.row_count_gate(before, after, 0.5, 50)
    assert problems == [
        "row-count gate: sentences would drop from 1,000 to 499 rows (50% fewer, more than SITREP_MAX_ROW_DROP_SHARE=50%)"
    ]  # entities: too few published rows to judge; incidents: exactly half is allowed
    assert wh.row_count_gate(before, after, 1.0, 50) == []


def test_schema_problems():
    good = VALID_ROWS["sentences"]
    assert wh.schema_problems("sentences", good) == []
    drifted = good.rename({"char_start": "start"}).with_columns(pl.col("char_end").cast(pl.String))
    assert wh.schema_problems("sentences", drifted) == [
        "sentences.char_start: missing",
        "sentences.start: not declared",
        "sentences.char_end: String instead of Int32",
    ]
    with pytest.raises(wh.SchemaDriftError, match=r"sentences\.char_start: missing"):
        wh.check_schemas({"sentences": drifted})


# --------------------------------------------------------------------------- audit

BREAKS = {
    "duplicate document ids": "INSERT INTO documents SELECT * REPLACE ('b.txt' AS source_path) FROM documents",
    "duplicate current source records": "INSERT INTO documents SELECT * REPLACE ('d2' AS doc_id) FROM documents",
    "duplicate sentence ids": "INSERT INTO sentences SELECT * FROM sentences WHERE position = 0",
    "duplicate entity ids": "INSERT INTO entities SELECT * FROM entities",
    "duplicate incident ids": "INSERT INTO incidents SELECT * FROM incidents",
    "duplicate quarantine records": "INSERT INTO quarantine SELECT * FROM quarantine",
    "duplicate run ids": "INSERT INTO runs SELECT * FROM runs",
    "null keys": "UPDATE incidents SET incident_id = NULL",
    "sentences without a current document": "UPDATE sentences SET doc_id = 'gone' WHERE position = 0",
    "entities without their sentence": "UPDATE entities SET sentence_id = 'd1:7'",
    "entities without a current document": "UPDATE documents SET deleted_at = now()",
    "incidents without their sentence": "UPDATE incidents SET sentence_id = 'd1:9'",
    "incidents without a current document": "UPDATE incidents SET doc_id = 'gone'",
    "current documents without sentences": "DELETE FROM sentences",
    "document length differs from char_count": "UPDATE documents SET char_count = 5",
    "sentence offsets outside the text": "UPDATE sentences SET char_end = 999 WHERE position = 1",
    "entity offsets outside their sentence": "UPDATE entities SET char_start = 3",
    "entity offsets outside the text": "UPDATE entities SET char_end = 40",
    "incident evidence outside its sentence": "UPDATE incidents SET char_start = 3",
    "quarantined files that are also current documents": "UPDATE quarantine SET source_path = 'a.txt'",
}


def test_every_audit_query_is_exercised():
    assert set(BREAKS) == set(wh.AUDIT_QUERIES)


def test_a_valid_warehouse_passes_the_audit(tmp_path):
    with contextlib.closing(wh.connect(make_db(tmp_path / "w.duckdb"))) as con:
        assert not any(wh.audit(con).values()), wh.audit_report(wh.audit(con))


@pytest.mark.parametrize("check", sorted(BREAKS))
def test_each_audit_query_catches_its_violation(tmp_path, check):
    with contextlib.closing(wh.connect(make_db(tmp_path / "w.duckdb"))) as con:
        con.execute(BREAKS[check])
        outcome = wh.audit(con)
    assert outcome[check] > 0, outcome
    assert check in wh.audit_report(outcome)
