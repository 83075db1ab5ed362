"""The ``sitrep`` command line."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated

import typer

import flows  # noqa: F401  (sets Prefect defaults before prefect is imported)

app = typer.Typer(
    name="sitrep",
    help=(
        "Turn conflict news into validated sentence, entity and incident tables in DuckDB.\n\n"
        "Typical use: `sitrep ingest` (seeds/ -> warehouse/sitrep.duckdb), then `sitrep summary`, "
        "or query the warehouse with `duckdb -readonly warehouse/sitrep.duckdb`."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

SourceOption = Annotated[
    Path | None,
    typer.Option("--source", "-s", help="Folder of articles (.txt .md .html .json .jsonl). Default: seeds/"),
]
WarehouseOption = Annotated[
    Path | None,
    typer.Option("--warehouse", "-w", help="Published DuckDB file. Default: warehouse/sitrep.duckdb"),
]


def _settings(**overrides):
    from flows.settings import Settings

    return Settings(**{k: v for k, v in overrides.items() if v is not None}).resolved()


def _fail(message: str, code: int = 1) -> typer.Exit:
    """Print the error in red on stderr; the caller raises the returned Exit."""
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _published_warehouse(warehouse: Path | None):
    """Settings for a command that reads the published warehouse; exit 1 when there is none."""
    settings = _settings(warehouse_path=warehouse)
    if not settings.warehouse_path.exists():
        raise _fail(f"no warehouse at {settings.warehouse_path}: run `sitrep ingest` first")
    return settings


def _reachable_prefect_api():
    """Run against the configured Prefect server, or embedded when the configured one is a
    local server that is not running (e.g. a prefect.toml left by a killed `make serve`)."""
    from urllib.parse import urlparse

    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    from flows.serve import is_healthy

    url = get_current_settings().api.url
    if url and urlparse(url).hostname in ("127.0.0.1", "localhost", "::1") and not is_healthy(url):
        typer.secho(
            f"the Prefect server at {url} is not running (stale prefect.toml?); running embedded instead",
            fg=typer.colors.YELLOW,
            err=True,
        )
        return temporary_settings(restore_defaults={PREFECT_API_URL})
    return contextlib.nullcontext()


@app.command()
def ingest(
    source: SourceOption = None,
    warehouse: WarehouseOption = None,
    nlp: Annotated[
        bool,
        typer.Option("--nlp/--no-nlp", help="Run the spaCy model (--no-nlp: rules and gazetteers only)."),
    ] = True,
    full_refresh: Annotated[
        bool,
        typer.Option("--full-refresh", help="Process every file again, not only new and changed ones."),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Transform worker processes on this machine (default SITREP_NLP_WORKERS, 1); with --dask, "
            "the transform batches kept in flight are this + 1 (at least 3).",
        ),
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            metavar="ADDRESS",
            help="Run the transform batches on this Dask cluster (e.g. tcp://host:8786) "
            "through Prefect's Dask task runner; default SITREP_DASK_ADDRESS.",
        ),
    ] = None,
) -> None:
    """Load new and changed articles, validate every table and publish the warehouse.

    Runs the Prefect flow `ingest` in Prefect's embedded (ephemeral) mode: no server to
    start. Only files whose content changed since the last published version are
    processed (and all of them again when sitrep's extractors changed); bad files land in
    the `quarantine` table with a reason.
    """
    from flows.ingest import ingest_on

    settings = _settings(source_dir=source, warehouse_path=warehouse, nlp_workers=workers, dask_address=dask)
    try:
        with _reachable_prefect_api():
            result = ingest_on(settings)(
                source=str(settings.source_dir),
                warehouse=str(settings.warehouse_path),
                nlp=nlp,
                full_refresh=full_refresh,
                nlp_workers=settings.nlp_workers,
                dask_address=settings.dask_address,
            )
    except Exception as error:
        raise _fail(f"ingest failed: {error}") from error
    typer.echo(
        f"run {result['run_id']} {result['status']}: {result['documents_seen']} files seen, "
        f"{result['documents_new']} new, {result['documents_changed']} changed, "
        f"{result['documents_reprocessed']} reprocessed, "
        f"{result['documents_unchanged']} unchanged, {result['documents_deleted']} deleted, "
        f"{result['documents_quarantined']} quarantined -> {result['warehouse']}"
    )
    _echo_quarantined(result.get("quarantined", []), result.get("documents_quarantined", 0))


def _echo_quarantined(rows: list[dict], total: int, limit: int = 50) -> None:
    """List what this run quarantined (reason and detail per file or record)."""
    if rows:
        typer.echo(f"quarantined by this run ({len(rows)}):")
        for row in rows[:limit]:
            record = f" record {row['source_record']}" if row.get("source_record") else ""
            typer.echo(f"  {row['source_path']}{record}: {row['reason']} ({row['detail']})")
        if len(rows) > limit:
            typer.echo(f"  ... and {len(rows) - limit} more: select * from quarantine")
    if total > len(rows):
        typer.echo(f"{total - len(rows)} file(s) still quarantined from earlier runs (unchanged)")


@app.command()
def summary(
    warehouse: WarehouseOption = None,
    limit: Annotated[int, typer.Option(help="Incidents to list.")] = 40,
) -> None:
    """Print rows per table and the incidents found (reads the published warehouse only)."""
    from flows import warehouse as wh
    from transforms.schemas import TABLES

    settings = _published_warehouse(warehouse)
    with contextlib.closing(wh.connect(settings.warehouse_path, read_only=True)) as con:
        typer.echo(f"warehouse {settings.warehouse_path}")
        for table in TABLES:
            count = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            typer.echo(f"  {table:<20} {count:>9,} rows")
        last = con.execute(
            "SELECT run_id, status, documents_new, documents_changed, documents_quarantined "
            "FROM runs ORDER BY started_at DESC LIMIT 1"
        ).fetchall()
        if last:
            run_id, status, new, changed, quarantined = last[0]
            typer.echo(
                f"  last run {run_id}: {status}, {new} new, {changed} changed, {quarantined} quarantined"
            )
        rows = con.execute(
            """
            SELECT i.event_date, i.sub_event_type, i.modality, i.actor1, i.actor2,
                   CASE WHEN i.location IS NULL OR i.location = i.country THEN i.country
                        ELSE i.location || coalesce(', ' || i.country, '') END, i.fatalities,
                   d.source_path
            FROM incidents i JOIN documents d USING (doc_id)
            ORDER BY d.source_path, i.char_start LIMIT ?
            """,
            [limit],
        ).fetchall()
        total = con.execute("SELECT count(*) FROM incidents").fetchall()[0][0]
    typer.echo(f"\nincidents ({min(limit, total)} of {total}):")
    header = f"  {'date':<10}  {'type':<34} {'modality':<12} {'actor1':<32} {'actor2':<30} {'where':<28} {'dead':>4}  file"
    typer.echo(header)
    for date, sub, modality, actor1, actor2, where, dead, path in rows:
        typer.echo(
            f"  {date!s:<10}  {sub[:34]:<34} {modality:<12} {(actor1 or '-')[:32]:<32} {(actor2 or '-')[:30]:<30} "
            f"{(where or '-')[:28]:<28} {'' if dead is None else dead:>4}  {path}"
        )


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help='SQL to run, e.g. "select * from threats".')],
    warehouse: WarehouseOption = None,
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
    max_rows: Annotated[int, typer.Option(help="Rows to print in table mode.")] = 100,
) -> None:
    """Run one SQL query on the published warehouse, read-only (never blocks the nightly job)."""
    from flows import warehouse as wh

    settings = _published_warehouse(warehouse)
    import duckdb

    with contextlib.closing(wh.connect(settings.warehouse_path, read_only=True)) as con:
        try:
            frame = con.sql(sql).pl()
        except duckdb.Error as error:
            raise _fail(f"query failed: {error}") from error
    if csv:
        typer.echo(frame.write_csv(), nl=False)
        return
    import polars as pl

    with pl.Config(
        tbl_rows=max_rows,
        tbl_cols=-1,
        fmt_str_lengths=60,
        tbl_width_chars=200,
        tbl_hide_dataframe_shape=True,
    ):
        typer.echo(frame)
    typer.echo(f"({len(frame)} rows)")


@app.command()
def rollback(
    warehouse: WarehouseOption = None,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for a running ingest to release the lock.")
    ] = 0.0,
) -> None:
    """Make the previous published version current again (atomic, like a publication).

    Holds the writer lock, so it never races an ingest run. The replaced version moves to
    rolled_back/; running rollback again goes one further version back. The next ingest
    compares the source folder with the restored version, so it reprocesses whatever
    changed since that version was published.
    """
    from flows import warehouse as wh

    settings = _settings(warehouse_path=warehouse)
    paths = wh.WarehousePaths(settings.warehouse_path)
    try:
        with wh.exclusive_lock(paths, wait_seconds=wait, holder="sitrep rollback"):
            result = wh.rollback(paths, keep=settings.keep_rejected)
    except (wh.RollbackError, wh.WarehouseBusyError) as error:
        raise _fail(f"rollback failed: {error}") from error
    typer.echo(
        f"rolled back {paths.published}: now version {result.restored.run_id} "
        f"({result.restored.name}); replaced version {result.replaced.run_id} moved to "
        f"{paths.rolled_back.name}/"
    )
    typer.echo("the next ingest reprocesses whatever changed in the source folder since that version")


@app.command()
def versions(warehouse: WarehouseOption = None) -> None:
    """List the kept published versions (newest last), rejected candidates and rolled-back versions."""
    from flows import warehouse as wh

    settings = _settings(warehouse_path=warehouse)
    paths = wh.WarehousePaths(settings.warehouse_path)
    kept = wh.list_versions(paths)
    current = wh.current_version(paths, kept)
    typer.echo(f"published {paths.published}" + ("" if paths.published.exists() else " (none yet)"))
    for version in kept:
        marker = "*" if current is not None and version.path == current.path else " "
        size = version.path.stat().st_size / 1e6
        typer.echo(f" {marker} {version.name}  {size:,.1f} MB")
    for folder in (paths.rejected, paths.rolled_back):
        names = sorted(p.name for p in folder.glob("*.duckdb")) if folder.exists() else []
        if names:
            typer.echo(f"{folder.name}/: {', '.join(names)}")


@app.command()
def evaluate(
    fmt: Annotated[str, typer.Argument(help="Gold format: conll2003, gum, acled or isaf.")],
    path: Annotated[Path, typer.Argument(help="The gold file (a .conllu file or folder for gum).")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the result as JSON to this file.")
    ] = None,
) -> None:
    """Score the extraction against a gold dataset (the same pipeline code as ingest)."""
    from flows.evaluate import command

    command(fmt, path, json_out)


@app.command()
def bench(
    words: Annotated[
        int, typer.Option("--words", min=1, help="Corpus size in words (at least).")
    ] = 2_000_000,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the result as JSON to this file.")
    ] = None,
    nlp: Annotated[
        bool,
        typer.Option("--nlp/--no-nlp", help="Run the spaCy model (--no-nlp: measure everything else)."),
    ] = True,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Transform worker processes (default SITREP_NLP_WORKERS); the bound uses as many.",
        ),
    ] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the temporary corpus and warehouse.")] = False,
    bound_words: Annotated[
        int | None,
        typer.Option("--bound-words", min=0, help="Cap the text of the bare nlp.pipe bound (0: skip it)."),
    ] = None,
) -> None:
    """Benchmark: replicate ../shared/corpus to N words, run the real ingest flow on it into a
    temporary warehouse, and report wall time, words/s and peak RSS per stage, next to bare
    nlp.pipe on the same text (the NLP bound). Needs ../shared/corpus (or SITREP_SHARED_DIR)."""
    from flows.bench import BenchError, command

    try:
        result = command(words, json_out, nlp=nlp, workers=workers, keep=keep, bound_words=bound_words)
    except BenchError as error:
        raise _fail(f"bench: {error}", 2) from error
    if result["error"]:
        raise typer.Exit(3)


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
