"""The declared schema of every table: one ``pl.Schema`` per table, in column order.

Transforms end with :func:`conform`, the GX suites check the same column list, and the
warehouse tables are created from these schemas, so the three cannot drift apart.
"""

from __future__ import annotations

import polars as pl

UTC_DATETIME = pl.Datetime("us", "UTC")

# One row per raw record read from the source folder (a .txt/.md/.html file, or one record of
# a .json/.jsonl file). Produced by the loader, consumed by build_documents.
RAW_DOCUMENTS = pl.Schema(
    {
        "source_path": pl.String,  # path relative to the source folder, POSIX separators
        "source_record": pl.Int32,  # 0 for single-document files, line/item number otherwise
        "file_hash": pl.String,  # sha256 of the file's bytes (change detection)
        "format": pl.String,  # txt, md, html, json, jsonl
        "title": pl.String,
        "text": pl.String,  # full decoded text; the title is its first paragraph
        "published_at": UTC_DATETIME,  # from the record or the metadata sidecar, else null
        "url": pl.String,
        "source_name": pl.String,  # outlet, e.g. "reuters"
    }
)

# One row per document (current or deleted).
DOCUMENTS = pl.Schema(
    {
        "doc_id": pl.String,  # sha256 of title + text, first 16 hex digits
        "source_path": pl.String,
        "source_record": pl.Int32,
        "file_hash": pl.String,
        "format": pl.String,
        "title": pl.String,
        "text": pl.String,
        "published_at": UTC_DATETIME,
        "published_at_source": pl.String,  # metadata | dateline | null
        "url": pl.String,
        "source_name": pl.String,
        "char_count": pl.Int32,
        "word_count": pl.Int32,
        "ingested_at": UTC_DATETIME,
        "run_id": pl.String,  # run that ingested this version
        "pipeline_version": pl.String,  # fingerprint of the code, lexicons and model that processed it
        "deleted_at": UTC_DATETIME,  # set when the source file disappeared
    }
)

# One row per sentence of a document.
SENTENCES = pl.Schema(
    {
        "sentence_id": pl.String,  # "<doc_id>:<position>"
        "doc_id": pl.String,
        "position": pl.Int32,  # 0-based order within the document
        "paragraph": pl.Int32,  # 0-based paragraph number (the title is paragraph 0)
        "char_start": pl.Int32,  # offsets into documents.text, end exclusive
        "char_end": pl.Int32,
        "text": pl.String,
    }
)

ENTITY_LABELS = (
    "PERSON",
    "NORP",
    "FAC",
    "ORG",
    "GPE",
    "LOC",
    "PRODUCT",
    "EVENT",
    "WORK_OF_ART",
    "LAW",
    "LANGUAGE",
    "DATE",
    "TIME",
    "PERCENT",
    "MONEY",
    "QUANTITY",
    "ORDINAL",
    "CARDINAL",
    "WEAPON",
    "MILITARY_UNIT",
)

# One row per entity mention.
ENTITIES = pl.Schema(
    {
        "entity_id": pl.String,  # "<doc_id>:<char_start>-<char_end>"
        "doc_id": pl.String,
        "sentence_id": pl.String,
        "text": pl.String,
        "label": pl.String,  # one of ENTITY_LABELS
        "char_start": pl.Int32,  # offsets into documents.text
        "char_end": pl.Int32,
        "normalized_name": pl.String,  # "the US", "U.S." and "United States" -> "United States"
        "detector": pl.String,  # model | gazetteer
    }
)

EVENT_TYPES = (
    "Battles",
    "Explosions/Remote violence",
    "Violence against civilians",
    "Protests",
    "Riots",
    "Strategic developments",
    # Not coded by ACLED:
    "Threats",
    "Military posture",
)
# ACLED's taxonomy (event type -> sub-event types), plus the kinds ACLED does not code.
SUB_EVENT_TYPES: dict[str, tuple[str, ...]] = {
    "Battles": (
        "Government regains territory",
        "Non-state actor overtakes territory",
        "Armed clash",
    ),
    "Explosions/Remote violence": (
        "Chemical weapon",
        "Air/drone strike",
        "Suicide bomb",
        "Shelling/artillery/missile attack",
        "Remote explosive/landmine/IED",
        "Grenade",
    ),
    "Violence against civilians": ("Sexual violence", "Attack", "Abduction/forced disappearance"),
    "Protests": (
        "Excessive force against protesters",
        "Protest with intervention",
        "Peaceful protest",
    ),
    "Riots": ("Violent demonstration", "Mob violence"),
    "Strategic developments": (
        "Agreement",
        "Arrests",
        "Change to group/activity",
        "Disrupted weapons use",
        "Headquarters or base established",
        "Looting/property destruction",
        "Non-violent transfer of territory",
        "Other",
    ),
    "Threats": ("Verbal threat/warning",),
    "Military posture": (
        "Interception",
        "Military exercise",
        "Troop deployment",
        "Airspace or border violation",
    ),
}
CONFLICT_EVENT_TYPES = ("Battles", "Explosions/Remote violence", "Violence against civilians")
MODALITIES = ("asserted", "threatened", "denied", "hypothetical")
DATE_PRECISIONS = ("day", "week", "month", "year", "publication")

# One row per event mention found in a sentence.
INCIDENTS = pl.Schema(
    {
        "incident_id": pl.String,  # "<sentence_id>:<n>", n the mention's order in the sentence
        "doc_id": pl.String,
        "sentence_id": pl.String,
        "char_start": pl.Int32,  # evidence span (the sentence) in documents.text
        "char_end": pl.Int32,
        "trigger": pl.String,  # the words that signalled the event
        "event_type": pl.String,
        "sub_event_type": pl.String,
        "modality": pl.String,
        "actor1": pl.String,  # who acted or spoke
        "actor2": pl.String,  # the target
        "location": pl.String,
        "admin1": pl.String,
        "country": pl.String,
        "country_code": pl.String,  # ISO 3166-1 alpha-2
        "latitude": pl.Float64,
        "longitude": pl.Float64,
        # 1 named town; 2 near a town / district; 3 region (admin1) or natural feature;
        # 4 country only. Null when no place was found.
        "geo_precision": pl.Int8,
        "event_date": pl.Date,
        "date_precision": pl.String,  # day | week | month | year | publication; null if unknown
        "date_text": pl.String,  # the expression the date came from
        "fatalities": pl.Int32,  # null when the text does not say
        "detained": pl.Int32,  # people arrested/detained/captured (arrests only); null when unstated
        "weapons": pl.List(pl.String),
        "confidence": pl.Float64,  # in [0, 1]
    }
)

QUARANTINE_REASONS = (
    "empty_file",
    "whitespace_only",
    "binary_content",
    "pdf_content",
    "zip_content",
    "invalid_encoding",
    "file_too_large",
    "duplicate_document",
    "html_page",
    "truncated_record",
    "invalid_record",
    "unsupported_extension",
    "unreadable_file",
)

# One row per quarantined file (or record) of the current source folder.
QUARANTINE = pl.Schema(
    {
        "source_path": pl.String,
        "source_record": pl.Int32,
        "file_hash": pl.String,  # null when the file could not be read
        "reason": pl.String,  # one of QUARANTINE_REASONS
        "detail": pl.String,
        "run_id": pl.String,
        "pipeline_version": pl.String,
        "quarantined_at": UTC_DATETIME,
    }
)

# One row per ingest run (published or not).
RUNS = pl.Schema(
    {
        "run_id": pl.String,
        "flow_run_id": pl.String,
        "started_at": UTC_DATETIME,
        "ended_at": UTC_DATETIME,
        "status": pl.String,  # published | unchanged | rejected | failed
        "source_dir": pl.String,
        "documents_seen": pl.Int32,
        "documents_new": pl.Int32,
        "documents_changed": pl.Int32,
        "documents_reprocessed": pl.Int32,  # unchanged files processed again by a newer pipeline
        "documents_unchanged": pl.Int32,
        "documents_deleted": pl.Int32,
        "documents_quarantined": pl.Int32,
        "sentences_written": pl.Int32,
        "entities_written": pl.Int32,
        "incidents_written": pl.Int32,
        "validation_success": pl.Boolean,
        "message": pl.String,
    }
)

# One row per expectation evaluated in a run.
VALIDATION_RESULTS = pl.Schema(
    {
        "run_id": pl.String,
        "suite": pl.String,
        "expectation": pl.String,
        "column_name": pl.String,
        "success": pl.Boolean,
        "observed_value": pl.String,
        "unexpected_count": pl.Int64,
        "details": pl.String,
    }
)

TABLES: dict[str, pl.Schema] = {
    "documents": DOCUMENTS,
    "sentences": SENTENCES,
    "entities": ENTITIES,
    "incidents": INCIDENTS,
    "quarantine": QUARANTINE,
    "runs": RUNS,
    "validation_results": VALIDATION_RESULTS,
}


def conform(frame: pl.DataFrame | pl.LazyFrame, schema: pl.Schema) -> pl.DataFrame:
    """Select the schema's columns in order and cast them strictly; missing columns fail."""
    lazy = frame.lazy()
    return lazy.select([pl.col(name).cast(dtype, strict=True) for name, dtype in schema.items()]).collect()


def empty(schema: pl.Schema) -> pl.DataFrame:
    """An empty frame with the schema."""
    return pl.DataFrame(schema=schema)
