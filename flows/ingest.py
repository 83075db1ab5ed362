"""The ``ingest`` flow: a source folder -> a validated, published DuckDB warehouse.

    lock -> candidate copy -> plan (hashes) -> per batch: load, transform, validate, write
         -> tombstones, quarantine, runs -> views -> audit -> atomic publish

Tasks are coarse (one per batch of documents, never per document); I/O tasks retry on
transient errors, while per-file problems never raise: they are quarantined.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from expectations.runner import ValidationError, failure_report, validate_tables
from flows import warehouse as wh
from flows.refresh import RefreshPlan, load_records, plan_refresh, quarantine_rows, split_duplicates
from flows.settings import Settings
from flows.sources import SourceFile, read_metadata
from transforms.pipeline import Tables, build_tables, load_resources, pipeline_version
from transforms.schemas import RUNS, TABLES, VALIDATION_RESULTS, conform

FAIL_AT_ENV = "SITREP_FAIL_AT"  # for crash tests: fail on purpose at a named step


def _maybe_fail(step: str) -> None:
    if os.environ.get(FAIL_AT_ENV) == step:
        raise RuntimeError(f"failing on purpose at {step} ({FAIL_AT_ENV})")


def new_run_id(now: datetime) -> str:
    """Sortable and unique: 20261125T134501Z-3f9a."""
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


@dataclass
class RunSummary:
    run_id: str
    status: str = "running"
    warehouse: str = ""
    documents_seen: int = 0
    documents_new: int = 0
    documents_changed: int = 0
    documents_reprocessed: int = 0
    documents_unchanged: int = 0
    documents_deleted: int = 0
    documents_quarantined: int = 0
    rows_written: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("documents", "sentences", "entities", "incidents"), 0
        )
    )
    table_rows: dict[str, int] = field(default_factory=dict)
    quarantined: list[dict] = field(default_factory=list)
    new_incidents: list[dict] = field(default_factory=list)
    validation_success: bool = True
    expectations_evaluated: int = 0
    message: str = ""


# --------------------------------------------------------------------------- tasks


@task(name="prepare-candidate", retries=2, retry_delay_seconds=[1, 5])
def prepare_candidate(paths: wh.WarehousePaths, run_id: str) -> Path:
    removed = wh.clear_stale_candidates(paths)
    if removed:
        get_run_logger().warning(
            "removed %d half-built candidate(s) left by an earlier run", len(removed)
        )
    candidate = wh.prepare_candidate(paths, run_id)
    _maybe_fail("prepare-candidate")
    return candidate


@task(name="plan-refresh", retries=2, retry_delay_seconds=[1, 5])
def plan(candidate: Path, settings: Settings) -> RefreshPlan:
    with contextlib.closing(wh.connect(candidate)) as con:
        documents, quarantine = wh.current_state(con)
    version = pipeline_version(settings.spacy_model, settings.nlp_enabled)
    refresh = plan_refresh(
        settings.source_dir,
        documents,
        quarantine,
        settings.max_file_bytes,
        version,
        settings.full_refresh,
    )
    _maybe_fail("plan-refresh")
    return refresh


@task(name="load-batch", retries=2, retry_delay_seconds=[1, 5])
def load_batch(files: list[SourceFile], metadata: dict, settings: Settings):
    return load_records(files, metadata, settings.max_file_bytes)


@task(name="transform-batch")
def transform_batch(
    raw: pl.DataFrame, settings: Settings, run_id: str, ingested_at: datetime
) -> Tables:
    resources = load_resources(settings.spacy_model, settings.nlp_enabled, settings.cache_dir)
    tables = build_tables(
        raw,
        resources,
        run_id=run_id,
        ingested_at=ingested_at,
        nlp_batch_size=settings.nlp_batch_size,
        nlp_workers=settings.nlp_workers,
        min_incident_confidence=settings.min_incident_confidence,
    )
    _maybe_fail("transform-batch")
    return tables


@task(name="validate-batch")
def validate_batch(tables: dict[str, pl.DataFrame], run_id: str) -> pl.DataFrame:
    outcome = validate_tables(tables, run_id)
    _maybe_fail("validate-batch")
    if not outcome.success:
        raise ValidationError(failure_report(outcome.results), outcome.results)
    return outcome.results


@task(name="write-batch", retries=2, retry_delay_seconds=[1, 5])
def write_batch(candidate: Path, tables: dict[str, pl.DataFrame]) -> dict[str, int]:
    written = {}
    with contextlib.closing(wh.connect(candidate)) as con:
        con.execute("BEGIN TRANSACTION")
        # rows of these documents may exist as tombstones of another path: replace them
        wh.delete_documents(con, tables["documents"]["doc_id"].to_list())
        for table, frame in tables.items():
            written[table] = wh.insert_frame(con, table, frame)
        con.execute("COMMIT")
    _maybe_fail("write-batch")
    return written


@task(name="apply-deletions", retries=2, retry_delay_seconds=[1, 5])
def apply_deletions(candidate: Path, refresh: RefreshPlan, at: datetime) -> None:
    with contextlib.closing(wh.connect(candidate)) as con:
        con.execute("BEGIN TRANSACTION")
        wh.delete_documents(con, refresh.replaced_doc_ids)
        wh.tombstone_documents(con, refresh.deleted_doc_ids, at)
        if refresh.dropped_quarantine_paths:
            con.register("_paths", pl.DataFrame({"source_path": refresh.dropped_quarantine_paths}))
            con.execute(
                "DELETE FROM quarantine WHERE source_path IN (SELECT source_path FROM _paths)"
            )
            con.unregister("_paths")
        con.execute("COMMIT")


@task(name="finalize-candidate", retries=2, retry_delay_seconds=[1, 5])
def finalize(candidate: Path, run_row: pl.DataFrame, validation: pl.DataFrame) -> dict[str, int]:
    """Record the run, (re)create the analyst views, audit, checkpoint."""
    with contextlib.closing(wh.connect(candidate)) as con:
        wh.insert_frame(con, "runs", run_row)
        wh.insert_frame(con, "validation_results", validation)
        wh.apply_views(con)
        outcome = wh.audit(con)
        if any(outcome.values()):
            raise wh.AuditError(wh.audit_report(outcome))
        counts = {
            name: con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] for name in TABLES
        }
        con.execute("CHECKPOINT")
    _maybe_fail("finalize-candidate")
    return counts


@task(name="publish", retries=2, retry_delay_seconds=[1, 5])
def publish(paths: wh.WarehousePaths, candidate: Path, run_id: str, keep_versions: int) -> None:
    _maybe_fail("publish")
    wh.publish(paths, candidate, run_id, keep_versions)


# --------------------------------------------------------------------------- flow


def _batches(files: list[SourceFile], size: int) -> list[list[SourceFile]]:
    return [files[i : i + size] for i in range(0, len(files), size)]


def _run_row(
    summary: RunSummary, settings: Settings, started: datetime, flow_run_id: str | None
) -> pl.DataFrame:
    row = {
        "run_id": summary.run_id,
        "flow_run_id": flow_run_id,
        "started_at": started,
        "ended_at": datetime.now(UTC),
        "status": summary.status,
        "source_dir": str(settings.source_dir),
        "documents_seen": summary.documents_seen,
        "documents_new": summary.documents_new,
        "documents_changed": summary.documents_changed,
        "documents_reprocessed": summary.documents_reprocessed,
        "documents_unchanged": summary.documents_unchanged,
        "documents_deleted": summary.documents_deleted,
        "documents_quarantined": summary.documents_quarantined,
        "sentences_written": summary.rows_written["sentences"],
        "entities_written": summary.rows_written["entities"],
        "incidents_written": summary.rows_written["incidents"],
        "validation_success": summary.validation_success,
        "message": summary.message,
    }
    return conform(pl.DataFrame([row], schema=RUNS), RUNS)


def _artifact(summary: RunSummary) -> str:
    lines = [
        f"# sitrep ingest run `{summary.run_id}`: {summary.status}",
        "",
        f"{summary.message}",
        "",
        "| documents | seen | new | changed | unchanged | deleted | quarantined |",
        "|---|---|---|---|---|---|---|",
        f"| | {summary.documents_seen} | {summary.documents_new} | {summary.documents_changed} | "
        f"{summary.documents_unchanged} | {summary.documents_deleted} | {summary.documents_quarantined} |",
        "",
        "| table | rows written this run | rows in warehouse |",
        "|---|---|---|",
    ]
    for table in ("documents", "sentences", "entities", "incidents", "quarantine", "runs"):
        lines.append(
            f"| {table} | {summary.rows_written.get(table, '')} | {summary.table_rows.get(table, '')} |"
        )
    lines += [
        "",
        f"Validation: {'passed' if summary.validation_success else 'FAILED'} "
        f"({summary.expectations_evaluated} expectation results).",
    ]
    if summary.quarantined:
        lines += [
            "",
            "## Quarantined",
            "",
            "| file | record | reason | detail |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {q['source_path']} | {q['source_record']} | {q['reason']} | {q['detail']} |"
            for q in summary.quarantined[:200]
        ]
    if summary.new_incidents:
        lines += [
            "",
            "## New incidents",
            "",
            "| date | type | actor1 | actor2 | location | modality |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {i['event_date']} | {i['sub_event_type']} | {i['actor1'] or ''} | {i['actor2'] or ''} | "
            f"{i['location'] or ''} | {i['modality']} |"
            for i in summary.new_incidents[:100]
        ]
    return "\n".join(lines)


@flow(name="ingest", log_prints=True, validate_parameters=True)
def ingest(
    source: str | None = None,
    warehouse: str | None = None,
    nlp: bool | None = None,
    full_refresh: bool = False,
) -> dict:
    """Load new and changed articles from ``source`` and publish a validated warehouse.

    Parameters default to the settings (``SITREP_SOURCE_DIR``, ``SITREP_WAREHOUSE_PATH``),
    whose defaults are ``seeds/`` and ``warehouse/sitrep.duckdb``.
    """
    overrides = {}
    if source is not None:
        overrides["source_dir"] = Path(source)
    if warehouse is not None:
        overrides["warehouse_path"] = Path(warehouse)
    if nlp is not None:
        overrides["nlp_enabled"] = nlp
    if full_refresh:
        overrides["full_refresh"] = True
    settings = Settings(**overrides).resolved()
    return run_ingest(settings)


def run_ingest(settings: Settings) -> dict:
    logger = get_run_logger()
    started = datetime.now(UTC)
    run_id = new_run_id(started)
    paths = wh.WarehousePaths(settings.warehouse_path)
    summary = RunSummary(run_id=run_id, warehouse=str(paths.published))
    flow_run_id = flow_run.get_id()
    validation_frames: list[pl.DataFrame] = []
    version = pipeline_version(settings.spacy_model, settings.nlp_enabled)
    logger.info(
        "run %s: %s -> %s (pipeline %s)", run_id, settings.source_dir, paths.published, version
    )

    with wh.exclusive_lock(paths, wait_seconds=settings.lock_wait_seconds):
        candidate = prepare_candidate(paths, run_id)
        try:
            refresh = plan(candidate, settings)
            summary.documents_seen = refresh.files_seen
            summary.documents_new, summary.documents_changed = refresh.new, refresh.changed
            summary.documents_unchanged = refresh.unchanged
            summary.documents_reprocessed = refresh.reprocessed
            summary.documents_deleted = len(refresh.deleted_paths)
            logger.info(
                "%d files: %d new, %d changed, %d reprocessed (newer pipeline), %d unchanged, %d deleted, %d still quarantined",
                refresh.files_seen,
                refresh.new,
                refresh.changed,
                refresh.reprocessed,
                refresh.unchanged,
                len(refresh.deleted_paths),
                refresh.quarantined_unchanged,
            )
            apply_deletions(candidate, refresh, started)
            metadata = read_metadata(settings.source_dir) if refresh.to_load else {}
            known = dict(refresh.known_doc_ids)
            rejections = [(file, None, _unreadable(error)) for file, error in refresh.unreadable]
            batches = _batches(refresh.to_load, settings.chunk_documents)
            for number, files in enumerate(batches, start=1):
                raw, rejected = load_batch(files, metadata, settings)
                raw, duplicates = split_duplicates(raw, known)
                batch_rejections = rejected + duplicates
                tables = (
                    transform_batch(raw, settings, run_id, started).as_dict() if raw.height else {}
                )
                quarantine = quarantine_rows(batch_rejections, run_id, started, version)
                to_check = (
                    {**tables, "quarantine": quarantine} if tables else {"quarantine": quarantine}
                )
                validation_frames.append(validate_batch(to_check, run_id))
                written = write_batch(candidate, to_check)
                for table, count in written.items():
                    summary.rows_written[table] = summary.rows_written.get(table, 0) + count
                summary.documents_quarantined += len(
                    {(f.path, r.source_record) for f, _, r in batch_rejections}
                )
                summary.quarantined += quarantine.select(
                    "source_path", "source_record", "reason", "detail"
                ).to_dicts()
                if tables:
                    summary.new_incidents += tables["incidents"].to_dicts()[:100]
                logger.info(
                    "batch %d/%d: %d files -> %d documents, %d sentences, %d entities, %d incidents, %d quarantined",
                    number,
                    len(batches),
                    len(files),
                    written.get("documents", 0),
                    written.get("sentences", 0),
                    written.get("entities", 0),
                    written.get("incidents", 0),
                    len(batch_rejections),
                )
            if rejections:
                quarantine = quarantine_rows(rejections, run_id, started, version)
                validation_frames.append(validate_batch({"quarantine": quarantine}, run_id))
                write_batch(candidate, {"quarantine": quarantine})
                summary.documents_quarantined += len(rejections)
                summary.quarantined += quarantine.select(
                    "source_path", "source_record", "reason", "detail"
                ).to_dicts()
            summary.documents_quarantined += refresh.quarantined_unchanged
            changed = (
                refresh.new + refresh.changed + refresh.reprocessed + len(refresh.deleted_paths)
            )
            summary.status = "published" if changed else "unchanged"
            summary.message = (
                f"{summary.rows_written['documents']} documents loaded, {summary.documents_quarantined} quarantined, "
                f"{summary.documents_deleted} deleted"
            )
            validation = (
                pl.concat(validation_frames)
                if validation_frames
                else pl.DataFrame(schema=VALIDATION_RESULTS)
            )
            summary.expectations_evaluated = len(validation)
            summary.table_rows = finalize(
                candidate, _run_row(summary, settings, started, flow_run_id), validation
            )
            publish(paths, candidate, run_id, settings.keep_versions)
        except (ValidationError, wh.AuditError) as error:
            summary.status, summary.validation_success = "rejected", False
            summary.message = str(error)
            _record_rejection(candidate, paths, summary, settings, started, flow_run_id, error)
            create_markdown_artifact(
                key="ingest-run", markdown=_artifact(summary), description=f"run {run_id}"
            )
            raise
        except BaseException:
            wh.discard(candidate)
            raise
    logger.info("published %s: %s", paths.published, summary.message)
    create_markdown_artifact(
        key="ingest-run", markdown=_artifact(summary), description=f"run {run_id}"
    )
    result = {k: v for k, v in summary.__dict__.items() if k not in ("new_incidents",)}
    result["new_incidents"] = len(summary.new_incidents)
    return result


def _unreadable(error: str):
    from transforms.documents import Rejection

    return Rejection("unreadable_file", error)


def _record_rejection(candidate, paths, summary, settings, started, flow_run_id, error) -> None:
    """Keep the rejected candidate, with its run row and failed expectations, for inspection."""
    logger = get_run_logger()
    try:
        results = getattr(error, "results", None)
        with contextlib.closing(wh.connect(candidate)) as con:
            wh.insert_frame(con, "runs", _run_row(summary, settings, started, flow_run_id))
            if results is not None:
                wh.insert_frame(con, "validation_results", results)
            con.execute("CHECKPOINT")
        kept = wh.reject(paths, candidate)
        logger.error(
            "run %s rejected, published warehouse unchanged; candidate kept at %s\n%s",
            summary.run_id,
            kept,
            error,
        )
    except Exception as secondary:  # never hide the original error
        logger.error("could not keep the rejected candidate: %s", secondary)
        wh.discard(candidate)
