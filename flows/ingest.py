"""The ``ingest`` flow: a source folder -> a validated, published DuckDB warehouse.

    lock -> recover (leftovers of killed runs) -> disk check -> candidate copy
         -> plan (hashes) -> per batch: load, transform, validate (schema, GX), write
         -> tombstones, quarantine -> quarantine gate -> runs, views -> audit, row-count gate
         -> CHECKPOINT -> atomic publish

Tasks are coarse (one per batch of documents, never per document); I/O tasks retry on
transient errors (never on permanent ones: failed validation, audit or gate, no disk),
while per-file problems never raise: they are quarantined. A candidate that fails
validation, the audit or a gate is kept in ``rejected/``; the published version is untouched.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.runtime import flow_run

from expectations.runner import ValidationError, failure_report, validate_tables
from flows import warehouse as wh
from flows.parallel import close_workers, in_flight, overlapped, task_runner_for, transform
from flows.refresh import RefreshPlan, load_records, plan_refresh, quarantine_rows, split_duplicates
from flows.settings import Settings
from flows.sources import SourceFile, SourceFolderError, list_source_files, read_metadata, source_bytes
from transforms.pipeline import Tables, pipeline_version
from transforms.resources import gazetteer_cached
from transforms.schemas import RUNS, TABLES, VALIDATION_RESULTS, conform

# Test-only fault injection: SITREP_FAIL_AT=<step> makes the run fail on purpose at the end
# of that step (prepare-candidate, plan-refresh, transform-batch, validate-batch,
# write-batch, finalize-candidate, publish). Never set it in production.
FAIL_AT_ENV = "SITREP_FAIL_AT"
FAIL_STEPS = (
    "prepare-candidate",
    "plan-refresh",
    "transform-batch",
    "validate-batch",
    "write-batch",
    "finalize-candidate",
    "publish",
)


class InjectedFailure(RuntimeError):
    """A failure asked for with SITREP_FAIL_AT (tests only)."""


def _maybe_fail(step: str) -> None:
    if os.environ.get(FAIL_AT_ENV) == step:
        raise InjectedFailure(f"failing on purpose at {step} ({FAIL_AT_ENV})")


# Errors that a retry cannot fix: the task fails at once instead of retrying.
PERMANENT_ERRORS = (
    InjectedFailure,
    ValidationError,
    wh.AuditError,
    wh.InsufficientDiskError,
    wh.WarehouseBusyError,
    SourceFolderError,
)


def transient_only(task, task_run, state) -> bool:
    """Prefect ``retry_condition_fn``: retry I/O hiccups, not permanent errors."""
    return not isinstance(state.data, PERMANENT_ERRORS)


# No task result is ever reused, so Prefect must not hash the inputs to build cache keys
# (hashing a batch's frames costs seconds per batch).
TASK = {"cache_policy": NO_CACHE}
RETRY = {**TASK, "retries": 2, "retry_delay_seconds": [1, 5], "retry_condition_fn": transient_only}


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
    quarantined_this_run: int = 0  # records quarantined by this run (the rest were already)
    duplicates_this_run: int = 0  # of which exact duplicates of another document
    rows_written: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("documents", "sentences", "entities", "incidents"), 0)
    )
    table_rows: dict[str, int] = field(default_factory=dict)
    quarantined: list[dict] = field(default_factory=list)
    new_incidents: list[dict] = field(default_factory=list)
    validation_success: bool = True
    expectations_evaluated: int = 0
    message: str = ""


# --------------------------------------------------------------------------- tasks


@task(name="prepare-candidate", **RETRY)
def prepare_candidate(
    paths: wh.WarehousePaths, run_id: str, settings: Settings
) -> tuple[Path, dict[str, int]]:
    """Clear what killed runs left, check the disk, copy the published version to the
    candidate. Returns the candidate and the published row counts (for the row gate)."""
    logger = get_run_logger()
    for cleared in wh.recover(paths):
        logger.warning("recovered from an interrupted run: cleared %s", cleared)
    estimate = wh.check_disk_space(
        paths, source_bytes(list_source_files(settings.source_dir)), settings.disk_reserve_bytes
    )
    logger.info("disk: %d MB free, about %d MB needed", estimate.free // 10**6, estimate.needed // 10**6)
    candidate = wh.prepare_candidate(paths, run_id)
    try:
        with contextlib.closing(wh.connect(candidate, read_only=True)) as con:
            baseline = wh.table_counts(con)
        _maybe_fail("prepare-candidate")
    except BaseException:
        wh.discard(candidate)
        raise
    return candidate, baseline


@task(name="plan-refresh", **RETRY)
def plan(candidate: Path, settings: Settings) -> RefreshPlan:
    with contextlib.closing(wh.connect(candidate, read_only=True)) as con:
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


@task(name="load-batch", **RETRY)
def load_batch(files: list[SourceFile], metadata: dict, settings: Settings):
    return load_records(files, metadata, settings.max_file_bytes)


@task(name="transform-batch", **TASK)
def transform_batch(raw: pl.DataFrame, settings: Settings, run_id: str, ingested_at: datetime) -> Tables:
    tables = transform(raw, settings, run_id, ingested_at)
    _maybe_fail("transform-batch")
    return tables


@task(name="validate-batch", **TASK)
def validate_batch(tables: dict[str, pl.DataFrame], run_id: str) -> pl.DataFrame:
    """Declared schema first (a drifted frame must never be cast silently into a table),
    then the GX suites."""
    wh.check_schemas(tables)
    outcome = validate_tables(tables, run_id)
    _maybe_fail("validate-batch")
    if not outcome.success:
        raise ValidationError(failure_report(outcome.results), outcome.results)
    return outcome.results


@task(name="write-batch", **RETRY)
def write_batch(candidate: Path, tables: dict[str, pl.DataFrame]) -> dict[str, int]:
    """Write a batch in one transaction. Idempotent: the batch's documents and quarantine
    records are deleted first, so a retry never duplicates rows."""
    written = {}
    with contextlib.closing(wh.connect(candidate)) as con:
        con.execute("BEGIN TRANSACTION")
        # rows of these documents may exist as tombstones of another path: replace them
        if "documents" in tables:
            wh.delete_documents(con, tables["documents"]["doc_id"].to_list())
        if "quarantine" in tables:
            wh.delete_quarantine(con, tables["quarantine"])
        for table, frame in tables.items():
            written[table] = wh.insert_frame(con, table, frame)
        con.execute("COMMIT")
    _maybe_fail("write-batch")
    return written


@task(name="apply-deletions", **RETRY)
def apply_deletions(candidate: Path, refresh: RefreshPlan, at: datetime) -> None:
    with contextlib.closing(wh.connect(candidate)) as con:
        con.execute("BEGIN TRANSACTION")
        wh.delete_documents(con, refresh.replaced_doc_ids)
        wh.tombstone_documents(con, refresh.deleted_doc_ids, at)
        if refresh.dropped_quarantine_paths:
            con.register("_paths", pl.DataFrame({"source_path": refresh.dropped_quarantine_paths}))
            con.execute("DELETE FROM quarantine WHERE source_path IN (SELECT source_path FROM _paths)")
            con.unregister("_paths")
        con.execute("COMMIT")


@task(name="finalize-candidate", **RETRY)
def finalize(
    candidate: Path,
    run_row: pl.DataFrame,
    validation: pl.DataFrame,
    baseline: dict[str, int],
    settings: Settings,
) -> dict[str, int]:
    """Record the run, (re)create the analyst views, audit, gate row counts, checkpoint."""
    with contextlib.closing(wh.connect(candidate)) as con:
        wh.record_run(con, run_row, validation)
        wh.apply_views(con)
        outcome = wh.audit(con)
        if any(outcome.values()):
            raise wh.AuditError(wh.audit_report(outcome))
        drops = wh.row_count_gate(
            baseline, wh.table_counts(con), settings.max_row_drop_share, settings.row_drop_min_rows
        )
        if drops:
            raise wh.GateError("; ".join(drops))
        counts = {name: con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] for name in TABLES}
        con.execute("CHECKPOINT")
    _maybe_fail("finalize-candidate")
    return counts


@task(name="publish", **RETRY)
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


def _default_task_runner():
    """Dask when the environment names a cluster (``SITREP_DASK_ADDRESS``, e.g. for the
    deployment's worker), else the flow's own process. Bad settings are reported by the run."""
    try:
        return task_runner_for(Settings())
    except Exception:
        return task_runner_for(Settings.model_construct())


@flow(name="ingest", log_prints=True, validate_parameters=True, task_runner=_default_task_runner())
def ingest(
    source: str | None = None,
    warehouse: str | None = None,
    nlp: bool | None = None,
    full_refresh: bool = False,
    nlp_workers: int | None = None,
    dask_address: str | None = None,
) -> dict:
    """Load new and changed articles from ``source`` and publish a validated warehouse.

    Parameters default to the settings (``SITREP_SOURCE_DIR``, ``SITREP_WAREHOUSE_PATH``),
    whose defaults are ``seeds/`` and ``warehouse/sitrep.duckdb``. ``dask_address`` runs the
    transform batches on that Dask cluster (see ``ingest_on``).
    """
    overrides = {}
    if nlp_workers is not None:
        overrides["nlp_workers"] = nlp_workers
    if dask_address is not None:
        overrides["dask_address"] = dask_address
    if source is not None:
        overrides["source_dir"] = Path(source)
    if warehouse is not None:
        overrides["warehouse_path"] = Path(warehouse)
    if nlp is not None:
        overrides["nlp_enabled"] = nlp
    if full_refresh:
        overrides["full_refresh"] = True
    settings = Settings(**overrides).resolved()
    runner = FlowRunContext.get().task_runner
    if settings.dask_address and type(runner).__name__ != "DaskTaskRunner":
        raise ValueError(
            f"a Dask address ({settings.dask_address}) is set but this run uses {type(runner).__name__}: "
            "start it with `sitrep ingest --dask ADDRESS` (or ingest_on(settings)), or set "
            "SITREP_DASK_ADDRESS in the environment that imports the flow"
        )
    return run_ingest(settings)


def ingest_on(settings: Settings):
    """The ``ingest`` flow with the task runner these settings ask for (Dask or local)."""
    return ingest.with_options(task_runner=task_runner_for(settings))


def run_ingest(settings: Settings) -> dict:
    logger = get_run_logger()
    started = datetime.now(UTC)
    run_id = new_run_id(started)
    paths = wh.WarehousePaths(settings.warehouse_path)
    summary = RunSummary(run_id=run_id, warehouse=str(paths.published))
    flow_run_id = flow_run.get_id()
    version = pipeline_version(settings.spacy_model, settings.nlp_enabled)
    logger.info("run %s: %s -> %s (pipeline %s)", run_id, settings.source_dir, paths.published, version)

    with wh.exclusive_lock(paths, wait_seconds=settings.lock_wait_seconds, holder=f"ingest {run_id}"):
        candidate, baseline = prepare_candidate(paths, run_id, settings)
        try:
            refresh = plan(candidate, settings)
            _count_plan(summary, refresh)
            apply_deletions(candidate, refresh, started)
            validation = _load_transform_write(candidate, refresh, settings, summary, started, version)
            summary.documents_quarantined = summary.quarantined_this_run + refresh.quarantined_unchanged
            changed = refresh.new + refresh.changed + refresh.reprocessed + len(refresh.deleted_paths)
            summary.status = "published" if changed else "unchanged"
            summary.message = (
                f"{summary.rows_written['documents']} documents loaded, {summary.documents_quarantined} quarantined "
                f"({summary.quarantined_this_run} by this run), {summary.documents_deleted} deleted"
            )
            gate = wh.quarantine_gate(
                # a re-delivered copy of a known article is not bad input
                summary.quarantined_this_run - summary.duplicates_this_run,
                summary.rows_written["documents"],
                settings.max_quarantine_share,
                settings.quarantine_gate_min_documents,
            )
            if gate:
                raise wh.GateError(gate)
            summary.expectations_evaluated = len(validation)
            summary.table_rows = finalize(
                candidate,
                _run_row(summary, settings, started, flow_run_id),
                validation,
                baseline,
                settings,
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
    create_markdown_artifact(key="ingest-run", markdown=_artifact(summary), description=f"run {run_id}")
    result = {k: v for k, v in summary.__dict__.items() if k not in ("new_incidents",)}
    result["new_incidents"] = len(summary.new_incidents)
    return result


def _count_plan(summary: RunSummary, refresh: RefreshPlan) -> None:
    summary.documents_seen = refresh.files_seen
    summary.documents_new, summary.documents_changed = refresh.new, refresh.changed
    summary.documents_unchanged = refresh.unchanged
    summary.documents_reprocessed = refresh.reprocessed
    summary.documents_deleted = len(refresh.deleted_paths)
    get_run_logger().info(
        "%d files: %d new, %d changed, %d reprocessed (newer pipeline), %d unchanged, %d deleted, %d still quarantined",
        refresh.files_seen,
        refresh.new,
        refresh.changed,
        refresh.reprocessed,
        refresh.unchanged,
        len(refresh.deleted_paths),
        refresh.quarantined_unchanged,
    )


def _load_transform_write(
    candidate: Path,
    refresh: RefreshPlan,
    settings: Settings,
    summary: RunSummary,
    started: datetime,
    version: str,
) -> pl.DataFrame:
    """Per batch: load, transform, validate, write. Returns the validation results."""
    logger = get_run_logger()
    run_id = summary.run_id
    if refresh.to_load and not gazetteer_cached(settings.cache_dir):
        logger.info(
            "building the gazetteer from the installed place packages into %s "
            "(once per package versions, about 15 s)",
            settings.cache_dir,
        )
    validation_frames: list[pl.DataFrame] = []
    metadata = read_metadata(settings.source_dir) if refresh.to_load else {}
    known = dict(refresh.known_doc_ids)
    batches = _batches(refresh.to_load, settings.chunk_documents)
    # Transform batches are submitted to the flow's task runner (Dask when configured, else a
    # thread that waits for the local worker processes) ahead of the one being validated and
    # written here, in order; without worker processes each batch is transformed in line.
    ahead = overlapped(settings)
    pending: deque = deque()
    upcoming = iter(enumerate(batches, start=1))

    def load_next() -> tuple | None:
        step = next(upcoming, None)
        if step is None:
            return None
        number, files = step
        # only this batch's sidecar rows: Prefect walks a task's arguments on every call,
        # which costs ~0.3 s per 20,000 rows when the whole inbox's metadata is passed
        batch_metadata = {file.path: metadata[file.path] for file in files if file.path in metadata}
        raw, rejected = load_batch(files, batch_metadata, settings)
        raw, duplicates = split_duplicates(raw, known)
        return number, files, rejected + duplicates, raw

    def submit(loaded: tuple | None) -> bool:
        if loaded is None:
            return False
        number, files, rejections, raw = loaded
        if not raw.height:
            future = None
        elif ahead:
            future = transform_batch.submit(raw, settings, run_id, started)
        else:  # in this process and thread, as a plain task call
            future = _Done(transform_batch(raw, settings, run_id, started))
        pending.append((number, files, rejections, future))
        return True

    try:
        while len(pending) < in_flight(settings) and submit(load_next()):
            pass
        while pending:
            number, files, rejections, future = pending.popleft()
            # read the next batch while the workers still transform this one, so they wait
            # for no file reading once it is done
            loaded = load_next() if ahead else None
            tables = future.result().as_dict() if future is not None else {}
            if ahead:  # keep the workers busy while this batch is validated and written
                submit(loaded)
            quarantine = quarantine_rows(rejections, run_id, started, version)
            to_check = {**tables, "quarantine": quarantine}
            validation_frames.append(validate_batch(to_check, run_id))
            written = write_batch(candidate, to_check)
            _count_written(summary, written, quarantine)
            if not ahead:  # one batch in memory at a time
                submit(load_next())
            if tables:
                summary.new_incidents += tables["incidents"].head(100).to_dicts()
            del tables, to_check
            logger.info(
                "batch %d/%d: %d files -> %d documents, %d sentences, %d entities, %d incidents, %d quarantined",
                number,
                len(batches),
                len(files),
                written.get("documents", 0),
                written.get("sentences", 0),
                written.get("entities", 0),
                written.get("incidents", 0),
                len(rejections),
            )
    except BaseException:
        close_workers(abort=True)  # do not wait for shards nobody will read
        raise
    else:
        close_workers()  # the local worker processes, if this run started them
    if refresh.unreadable:
        rejections = [(file, None, _unreadable(error)) for file, error in refresh.unreadable]
        quarantine = quarantine_rows(rejections, run_id, started, version)
        validation_frames.append(validate_batch({"quarantine": quarantine}, run_id))
        _count_written(summary, write_batch(candidate, {"quarantine": quarantine}), quarantine)
    return pl.concat(validation_frames) if validation_frames else pl.DataFrame(schema=VALIDATION_RESULTS)


@dataclass
class _Done:
    """A transform result computed in place, with the future's ``result()``."""

    value: Tables

    def result(self) -> Tables:
        return self.value


def _count_written(summary: RunSummary, written: dict[str, int], quarantine: pl.DataFrame) -> None:
    for table, count in written.items():
        summary.rows_written[table] = summary.rows_written.get(table, 0) + count
    summary.quarantined_this_run += quarantine.height
    summary.duplicates_this_run += quarantine.filter(pl.col("reason") == "duplicate_document").height
    summary.quarantined += quarantine.select("source_path", "source_record", "reason", "detail").to_dicts()


def _unreadable(error: str):
    from transforms.documents import Rejection

    return Rejection("unreadable_file", error)


def _record_rejection(candidate, paths, summary, settings, started, flow_run_id, error) -> None:
    """Keep the rejected candidate, with its run row and failed expectations, for inspection."""
    logger = get_run_logger()
    try:
        results = getattr(error, "results", None)
        with contextlib.closing(wh.connect(candidate)) as con:
            wh.record_run(con, _run_row(summary, settings, started, flow_run_id), results)
            con.execute("CHECKPOINT")
        kept = wh.reject(paths, candidate, settings.keep_rejected)
        logger.error(
            "run %s rejected, published warehouse unchanged; candidate kept at %s\n%s",
            summary.run_id,
            kept,
            error,
        )
    except Exception as secondary:  # never hide the original error
        logger.error("could not keep the rejected candidate: %s", secondary)
        wh.discard(candidate)
