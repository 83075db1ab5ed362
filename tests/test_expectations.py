"""The GX suites pass on good tables and fail, with a readable report, on bad ones."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import polars as pl
import pytest

from expectations.runner import (
    SUITES_DIR,
    VALIDATED_TABLES,
    failure_report,
    load_suite_definition,
    validate_tables,
)
from transforms.documents import build_documents, raw_documents_frame
from transforms.schemas import (
    DATE_PRECISIONS,
    ENTITIES,
    ENTITY_LABELS,
    EVENT_TYPES,
    INCIDENTS,
    MODALITIES,
    QUARANTINE,
    QUARANTINE_REASONS,
    TABLES,
    conform,
)
from transforms.sentences import split_sentences

TEXT = "Drone strike hits convoy\n\nA Ukrainian drone hit a Russian convoy in Kursk. Nobody died."
NOW = datetime(2026, 11, 25, tzinfo=UTC)


@pytest.fixture(scope="module")
def good_tables() -> dict[str, pl.DataFrame]:
    raw = raw_documents_frame(
        [
            {
                "doc_id": "0123456789abcdef",
                "source_path": "a.txt",
                "source_record": 0,
                "file_hash": "h",
                "format": "txt",
                "title": "Drone strike hits convoy",
                "text": TEXT,
                "published_at": datetime(2024, 6, 5, tzinfo=UTC),
                "url": None,
                "source_name": None,
            }
        ]
    )
    documents = build_documents(raw, "run-1", NOW)
    sentences = split_sentences(documents)
    start = TEXT.index("Ukrainian")
    entities = conform(
        pl.DataFrame(
            [
                {
                    "entity_id": f"0123456789abcdef:{start}-{start + 9}",
                    "doc_id": "0123456789abcdef",
                    "sentence_id": "0123456789abcdef:1",
                    "text": "Ukrainian",
                    "label": "NORP",
                    "char_start": start,
                    "char_end": start + 9,
                    "normalized_name": "Ukrainian",
                    "detector": "model",
                }
            ],
            schema=ENTITIES,
        ),
        ENTITIES,
    )
    trigger = TEXT.index("drone hit")
    incidents = conform(
        pl.DataFrame(
            [
                {
                    "incident_id": "0123456789abcdef:1:0",
                    "doc_id": "0123456789abcdef",
                    "sentence_id": "0123456789abcdef:1",
                    "char_start": trigger,
                    "char_end": trigger + 9,
                    "trigger": "drone hit",
                    "event_type": "Explosions/Remote violence",
                    "sub_event_type": "Air/drone strike",
                    "modality": "asserted",
                    "actor1": "Military Forces of Ukraine",
                    "actor2": "Military Forces of Russia",
                    "location": "Kursk",
                    "admin1": "Kursk",
                    "country": "Russia",
                    "country_code": "RU",
                    "latitude": 51.7,
                    "longitude": 36.2,
                    "geo_precision": 3,
                    "event_date": date(2024, 6, 5),
                    "date_precision": "publication",
                    "date_text": None,
                    "fatalities": 0,
                    "weapons": ["drone"],
                    "confidence": 0.8,
                }
            ],
            schema=INCIDENTS,
        ),
        INCIDENTS,
    )
    quarantine = conform(
        pl.DataFrame(
            [
                {
                    "source_path": "bad.pdf",
                    "source_record": 0,
                    "file_hash": "x",
                    "reason": "pdf_content",
                    "detail": "PDF header",
                    "run_id": "run-1",
                    "quarantined_at": NOW,
                }
            ],
            schema=QUARANTINE,
        ),
        QUARANTINE,
    )
    return {
        "documents": documents,
        "sentences": sentences,
        "entities": entities,
        "incidents": incidents,
        "quarantine": quarantine,
    }


def test_every_table_has_a_suite_whose_value_sets_match_the_schemas():
    assert sorted(p.stem for p in SUITES_DIR.glob("*.json")) == sorted(VALIDATED_TABLES)
    sets = {}
    for table in VALIDATED_TABLES:
        definition = load_suite_definition(table)
        assert definition["expectations"][0]["kwargs"]["column_set"] == list(TABLES[table].names())
        for expectation in definition["expectations"]:
            if expectation["type"] == "expect_column_values_to_be_in_set":
                sets[(table, expectation["kwargs"]["column"])] = expectation["kwargs"]["value_set"]
    assert sets[("entities", "label")] == list(ENTITY_LABELS)
    assert sets[("incidents", "event_type")] == list(EVENT_TYPES)
    assert sets[("incidents", "modality")] == list(MODALITIES)
    assert sets[("incidents", "date_precision")] == list(DATE_PRECISIONS)
    assert sets[("quarantine", "reason")] == list(QUARANTINE_REASONS)
    # suites are plain GX 1.x JSON
    assert json.loads((SUITES_DIR / "incidents.json").read_text())["name"] == "sitrep.incidents"


def test_suites_pass_on_good_tables(good_tables):
    outcome = validate_tables(good_tables, "run-1")
    assert outcome.success, failure_report(outcome.results)
    assert set(outcome.results["suite"]) == {f"sitrep.{t}" for t in VALIDATED_TABLES}
    assert outcome.results["run_id"].unique().to_list() == ["run-1"]


BREAKAGES = {
    "duplicate sentence key": (
        "sentences",
        lambda f: pl.concat([f, f.head(1)]),
        "expect_column_values_to_be_unique",
    ),
    "null doc_id": (
        "documents",
        lambda f: f.with_columns(doc_id=pl.lit(None, pl.String)),
        "expect_column_values_to_not_be_null",
    ),
    "sentence beyond the text": (
        "sentences",
        lambda f: f.with_columns(char_end=pl.col("char_end") + 500),
        "expect_column_pair_values_a_to_be_greater_than_b",
    ),
    "entity label outside the set": (
        "entities",
        lambda f: f.with_columns(label=pl.lit("VEHICLE")),
        "expect_column_values_to_be_in_set",
    ),
    "event type outside the set": (
        "incidents",
        lambda f: f.with_columns(event_type=pl.lit("Bombing")),
        "expect_column_values_to_be_in_set",
    ),
    "latitude out of range": (
        "incidents",
        lambda f: f.with_columns(latitude=pl.lit(123.0)),
        "expect_column_values_to_be_between",
    ),
    "confidence above one": (
        "incidents",
        lambda f: f.with_columns(confidence=pl.lit(1.5)),
        "expect_column_values_to_be_between",
    ),
    "event date in the future": (
        "incidents",
        lambda f: f.with_columns(event_date=pl.lit(date(2999, 1, 1))),
        "expect_column_values_to_be_in_set",
    ),
    "unknown quarantine reason": (
        "quarantine",
        lambda f: f.with_columns(reason=pl.lit("weird")),
        "expect_column_values_to_be_in_set",
    ),
    "empty documents batch": (
        "documents",
        lambda f: f.head(0),
        "expect_table_row_count_to_be_between",
    ),
    "missing column": (
        "entities",
        lambda f: f.drop("normalized_name"),
        "expect_table_columns_to_match_set",
    ),
}


@pytest.mark.parametrize("case", sorted(BREAKAGES))
def test_suites_fail_on_broken_tables(good_tables, case):
    table, breakage, expectation = BREAKAGES[case]
    tables = dict(good_tables)
    tables[table] = breakage(tables[table])
    outcome = validate_tables(tables, "run-2")
    assert not outcome.success
    failed = outcome.failures()
    assert expectation in failed["expectation"].to_list()
    if table == "documents":  # other tables' offset checks depend on the documents
        assert f"sitrep.{table}" in set(failed["suite"])
    else:
        assert set(failed["suite"]) == {f"sitrep.{table}"}
    report = failure_report(outcome.results)
    assert report.startswith(f"{len(failed)} expectation(s) failed")
    assert f"sitrep.{table}" in report
