"""Run the Great Expectations suites in ``expectations/suites`` on polars tables.

GX 1.x validates pandas frames (it has no polars engine, and its DuckDB route through
SQLAlchemy is broken), so each table is prepared in polars — the columns of its declared
schema plus a few derived check columns (``document_length``, ``text_matches_document``,
...) — and handed over with ``to_pandas()``. The column list of every suite is checked
against the declared schema, so suites and schemas cannot drift apart.

``import great_expectations`` costs about 5 s, so it happens on first use only.
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl

from transforms.schemas import SUB_EVENT_TYPES, TABLES, VALIDATION_RESULTS

SUITES_DIR = Path(__file__).parent / "suites"
VALIDATED_TABLES = ("documents", "sentences", "entities", "incidents", "quarantine")
EARLIEST_PLAUSIBLE = date(1900, 1, 1)
VALID_EVENT_PAIRS = [f"{t}|{s}" for t, subs in SUB_EVENT_TYPES.items() for s in subs]

log = logging.getLogger(__name__)


class ValidationError(RuntimeError):
    """A suite failed: the tables must not be published."""

    def __init__(self, report: str, results: pl.DataFrame):
        super().__init__(report)
        self.report = report
        self.results = results


@dataclass(frozen=True)
class SuiteOutcome:
    results: pl.DataFrame  # VALIDATION_RESULTS rows
    success: bool

    def failures(self) -> pl.DataFrame:
        return self.results.filter(~pl.col("success"))


def load_suite_definition(table: str) -> dict[str, Any]:
    """The suite JSON of a table, plus the ordered column check from its schema."""
    definition = json.loads((SUITES_DIR / f"{table}.json").read_text(encoding="utf-8"))
    columns = {
        "type": "expect_table_columns_to_match_set",
        "kwargs": {"column_set": list(TABLES[table].names()), "exact_match": False},
    }
    definition["expectations"] = [columns, *definition["expectations"]]
    return definition


# --------------------------------------------------------------------------- preparation


def _now() -> datetime:
    return datetime.now(UTC)


def prepare(table: str, frame: pl.DataFrame, document_lengths: pl.DataFrame | None) -> pl.DataFrame:
    """The frame with the derived columns its suite checks."""
    lengths = (
        document_lengths
        if document_lengths is not None
        else pl.DataFrame(
            schema={"doc_id": pl.String, "document_length": pl.Int32, "document_text": pl.String}
        )
    )
    latest = _now() + timedelta(days=2)
    if table == "documents":
        return frame.with_columns(
            text_length=pl.col("text").str.len_chars().cast(pl.Int32),
            published_at_is_plausible=pl.col("published_at").is_null()
            | pl.col("published_at").is_between(
                datetime(1900, 1, 1, tzinfo=UTC), pl.lit(latest, dtype=pl.Datetime("us", "UTC"))
            ),
        )
    if table in ("sentences", "entities", "incidents"):
        joined = frame.join(lengths, on="doc_id", how="left", maintain_order="left")
        checks: dict[str, pl.Expr] = {}
        if table in ("sentences", "entities"):
            checks["text_matches_document"] = (
                pl.col("document_text").str.slice(
                    pl.col("char_start"), pl.col("char_end") - pl.col("char_start")
                )
                == pl.col("text")
            ).fill_null(False)
        if table == "incidents":
            checks["event_pair_is_valid"] = pl.concat_str("event_type", pl.lit("|"), "sub_event_type").is_in(
                VALID_EVENT_PAIRS
            )
            checks["coordinates_have_precision"] = (
                pl.col("latitude").is_null() & pl.col("longitude").is_null()
            ) | (
                pl.col("latitude").is_not_null()
                & pl.col("longitude").is_not_null()
                & pl.col("geo_precision").is_not_null()
            )
            checks["event_date_is_plausible"] = pl.col("event_date").is_null() | pl.col(
                "event_date"
            ).is_between(EARLIEST_PLAUSIBLE, latest.date())
        return joined.with_columns(**checks).drop("document_text")
    return frame


def document_lengths(documents: pl.DataFrame) -> pl.DataFrame:
    return documents.select(
        "doc_id",
        document_length=pl.col("text").str.len_chars().cast(pl.Int32),
        document_text="text",
    )


def _to_pandas(frame: pl.DataFrame):
    # GX handles plain numpy/object dtypes most predictably; lists become strings.
    converted = frame.with_columns(
        pl.col(name).list.join("|") for name, dtype in frame.schema.items() if isinstance(dtype, pl.List)
    )
    return converted.to_pandas()


# --------------------------------------------------------------------------- GX


@lru_cache(maxsize=1)
def _context():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("sitrep")
    batches = {}
    suites = {}
    for table in VALIDATED_TABLES:
        batches[table] = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe("batch")
        suites[table] = context.suites.add(gx.ExpectationSuite(**load_suite_definition(table)))
    return context, batches, suites


def _stringify(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text[:500]


def validate_tables(tables: dict[str, pl.DataFrame], run_id: str) -> SuiteOutcome:
    """Validate each given table with its suite; never raises for failed expectations."""
    _, batches, suites = _context()
    lengths = document_lengths(tables["documents"]) if "documents" in tables else None
    rows = []
    for table, frame in tables.items():
        if table not in batches:
            continue
        prepared = prepare(table, frame, lengths)
        batch = batches[table].get_batch(batch_parameters={"dataframe": _to_pandas(prepared)})
        # BASIC holds everything recorded below (observed value, unexpected count, a sample
        # of unexpected values) without SUMMARY's value counts: a third less time per batch
        result = batch.validate(suites[table], result_format="BASIC")
        for item in result.results:
            config = item.expectation_config
            details = item.result or {}
            exception = (item.exception_info or {}).get("exception_message")
            column = (
                config.kwargs.get("column")
                or config.kwargs.get("column_A")
                or ",".join(config.kwargs.get("column_list", []) or [])
            )
            rows.append(
                {
                    "run_id": run_id,
                    "suite": suites[table].name,
                    "expectation": config.type,
                    "column_name": column or None,
                    "success": bool(item.success),
                    "observed_value": _stringify(details.get("observed_value")),
                    "unexpected_count": details.get("unexpected_count"),
                    "details": _stringify(
                        exception or details.get("partial_unexpected_list") or details.get("details")
                    ),
                }
            )
    results = pl.DataFrame(rows, schema=VALIDATION_RESULTS)
    return SuiteOutcome(results=results, success=bool(results["success"].all()) if len(results) else True)


def failure_report(results: pl.DataFrame) -> str:
    """A readable list of failed expectations."""
    failed = results.filter(~pl.col("success"))
    if failed.is_empty():
        return "all expectations passed"
    lines = [f"{len(failed)} expectation(s) failed:"]
    for row in failed.iter_rows(named=True):
        where = f"{row['suite']}.{row['column_name']}" if row["column_name"] else row["suite"]
        observed = f" observed={row['observed_value']}" if row["observed_value"] else ""
        unexpected = f" unexpected={row['unexpected_count']}" if row["unexpected_count"] else ""
        sample = f" e.g. {row['details']}" if row["details"] else ""
        lines.append(f"  - {where}: {row['expectation']}{observed}{unexpected}{sample}")
    return "\n".join(lines)
