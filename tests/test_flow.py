"""The ingest flow end to end on seeds/, with the real spaCy model, GX and DuckDB.

Runs the Prefect flow under a session-scoped ``prefect_test_harness`` (a temporary
SQLite-backed API) and asserts the actual rows the founding article must yield.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.conftest import FOUNDING_ARTICLE, SEEDS

pytestmark = [pytest.mark.e2e, pytest.mark.model]

CONTENT_TABLES = ("documents", "sentences", "entities", "incidents", "quarantine")


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


def run_ingest(source: Path, warehouse: Path) -> dict:
    from flows.ingest import ingest

    return ingest(source=str(source), warehouse=str(warehouse))


def read_table(warehouse: Path, table: str, order: str) -> pl.DataFrame:
    with contextlib.closing(duckdb.connect(str(warehouse), read_only=True)) as con:
        return con.sql(f"SELECT * FROM {table} ORDER BY {order}").pl()


@pytest.fixture(scope="session")
def seed_warehouse(prefect_harness, tmp_path_factory) -> tuple[Path, dict]:
    warehouse = tmp_path_factory.mktemp("seed-run") / "sitrep.duckdb"
    result = run_ingest(SEEDS, warehouse)
    return warehouse, result


@pytest.fixture(scope="session")
def founding_incidents(seed_warehouse) -> list[dict]:
    warehouse, _ = seed_warehouse
    with contextlib.closing(duckdb.connect(str(warehouse), read_only=True)) as con:
        return (
            con.sql(
                """
            SELECT i.*, s.text AS sentence
            FROM incidents i JOIN sentences s USING (sentence_id) JOIN documents d ON d.doc_id = i.doc_id
            WHERE d.source_path = '000_84c68ebb345634ad.txt'
            ORDER BY i.char_start
            """
            )
            .pl()
            .to_dicts()
        )


def _pick(incidents: list[dict], **expected) -> dict:
    matches = [i for i in incidents if all(i[k] == v for k, v in expected.items())]
    assert matches, (
        f"no incident with {expected}; got {[(i['sub_event_type'], i['actor1'], i['actor2']) for i in incidents]}"
    )
    return matches[0]


def test_run_publishes_every_table(seed_warehouse):
    warehouse, result = seed_warehouse
    assert result["status"] == "published"
    assert result["documents_seen"] == 23
    assert result["documents_new"] == 23
    assert result["documents_quarantined"] == 0
    assert result["validation_success"] is True
    assert warehouse.exists()
    with contextlib.closing(duckdb.connect(str(warehouse), read_only=True)) as con:
        counts = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in (*CONTENT_TABLES, "runs")
        }
        assert counts["documents"] == 23
        assert counts["sentences"] > 300
        assert counts["entities"] > 800
        assert counts["incidents"] > 50
        assert counts["quarantine"] == 0
        assert counts["runs"] == 1
        run = con.sql("SELECT * FROM runs").pl().row(0, named=True)
        assert (run["status"], run["documents_new"], run["validation_success"]) == (
            "published",
            23,
            True,
        )
        assert run["flow_run_id"] is not None
        stored = con.sql("SELECT DISTINCT suite FROM validation_results ORDER BY suite").fetchall()
        assert [s for (s,) in stored] == [
            "sitrep.documents",
            "sitrep.entities",
            "sitrep.incidents",
            "sitrep.quarantine",
            "sitrep.sentences",
        ]
        assert con.execute("SELECT bool_and(success) FROM validation_results").fetchall()[0][0] is True
        views = {
            name
            for (name,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        }
        assert {
            "incidents_per_day",
            "incident_evidence",
            "entity_mention_counts",
            "actor_target_pairs",
            "threats",
        } <= views
        # FA-KES publication dates come from the metadata.csv sidecar
        dates = dict(
            con.execute("SELECT source_path, CAST(published_at AS DATE)::VARCHAR FROM documents").fetchall()
        )
        assert dates["fakes_0001.txt"] == "2017-04-05"
        assert dates["000_84c68ebb345634ad.txt"] is None


def test_founding_article_drone_strike_on_the_convoy(founding_incidents):
    strike = _pick(founding_incidents, sub_event_type="Air/drone strike", actor2="Military Forces of Russia")
    assert strike["event_type"] == "Explosions/Remote violence"
    assert strike["modality"] == "asserted"
    assert strike["actor1"] == "Military Forces of Ukraine"
    assert (strike["location"], strike["admin1"], strike["country"], strike["country_code"]) == (
        "Kursk",
        "Kursk",
        "Russia",
        "RU",
    )
    assert strike["geo_precision"] == 3
    assert strike["latitude"] == pytest.approx(51.7, abs=0.2)
    assert strike["longitude"] == pytest.approx(36.2, abs=0.2)
    assert strike["fatalities"] is None  # "no clear reports on casualties" is not zero
    assert strike["weapons"] == ["drone"]
    assert strike["trigger"] == "drone strike"
    assert strike["sentence"].startswith(
        "Footage of a Ukrainian drone strike on a Russian military convoy in the Kursk region"
    )
    text = FOUNDING_ARTICLE.read_text(encoding="utf-8").strip()
    assert text[strike["char_start"] : strike["char_end"]] == "drone strike"


def test_founding_article_himars_strike_on_air_defence(founding_incidents):
    strike = _pick(founding_incidents, sub_event_type="Shelling/artillery/missile attack")
    assert strike["event_type"] == "Explosions/Remote violence"
    assert (strike["actor1"], strike["actor2"], strike["modality"]) == (
        "Military Forces of Ukraine",
        "Military Forces of Russia",
        "asserted",
    )
    assert "HIMARS" in strike["weapons"]
    assert strike["fatalities"] is None
    assert "HIMARS" in strike["sentence"]


def test_founding_article_warnings_are_threats_not_attacks(founding_incidents):
    threats = [i for i in founding_incidents if i["event_type"] == "Threats"]
    assert all(
        t["modality"] == "threatened" and t["sub_event_type"] == "Verbal threat/warning" for t in threats
    )
    speakers = {t["actor1"]: t for t in threats}
    assert {"Sergei Ryabkov", "Dmitry Peskov", "Dmitry Medvedev"} <= set(speakers)
    assert speakers["Sergei Ryabkov"]["actor2"] == "United States"
    assert speakers["Sergei Ryabkov"]["trigger"] == "warned"
    assert speakers["Dmitry Medvedev"]["trigger"] == "warned"
    # no attack row comes from the sentences that only carry warnings
    threat_sentences = {speakers[name]["sentence_id"] for name in ("Sergei Ryabkov", "Dmitry Medvedev")}
    assert not [
        i for i in founding_incidents if i["sentence_id"] in threat_sentences and i["event_type"] != "Threats"
    ]


def test_founding_article_interception_over_the_baltic(founding_incidents):
    interception = _pick(founding_incidents, sub_event_type="Interception")
    assert interception["event_type"] == "Military posture"
    assert (interception["actor1"], interception["actor2"]) == (
        "German Air Force",
        "Military Forces of Russia",
    )
    assert (interception["location"], interception["country"], interception["geo_precision"]) == (
        "Baltic Sea",
        None,
        3,
    )
    assert interception["date_text"] == "June 4"
    # the article has no publication date, so "June 4" cannot be given a year
    assert (interception["event_date"], interception["date_precision"]) == (None, None)
    assert interception["weapons"] == ["aircraft"]
    assert interception["modality"] == "asserted"


def test_founding_article_nato_exercises(founding_incidents):
    exercise = _pick(founding_incidents, sub_event_type="Military exercise")
    assert (exercise["event_type"], exercise["actor1"], exercise["modality"]) == (
        "Military posture",
        "NATO",
        "asserted",
    )
    assert exercise["location"] == "Europe"


def test_founding_article_entities(seed_warehouse):
    warehouse, _ = seed_warehouse
    with contextlib.closing(duckdb.connect(str(warehouse), read_only=True)) as con:
        rows = set(
            con.execute(
                """
                SELECT e.text, e.label FROM entities e JOIN documents d USING (doc_id)
                WHERE d.source_path = '000_84c68ebb345634ad.txt'
                """
            ).fetchall()
        )
        us = con.execute(
            "SELECT DISTINCT normalized_name FROM entities e JOIN documents d USING (doc_id) "
            "WHERE d.source_path = '000_84c68ebb345634ad.txt' AND e.text IN ('US', 'U.S.')"
        ).fetchall()
    for person in ("Sergei Ryabkov", "Dmitry Peskov", "Dmitry Medvedev", "Roman Alekhin"):
        assert (person, "PERSON") in rows
    assert ("NATO", "ORG") in rows
    assert ("HIMARS", "WEAPON") in rows
    assert ("Kursk", "GPE") in rows
    assert ("Sumy", "GPE") in rows
    assert ("the Baltic Sea", "LOC") in rows
    assert ("German Air Force", "MILITARY_UNIT") in rows
    assert us == [("United States",)]


def test_offsets_point_at_the_text(seed_warehouse):
    warehouse, _ = seed_warehouse
    with contextlib.closing(duckdb.connect(str(warehouse), read_only=True)) as con:
        bad = con.execute(
            """
            SELECT count(*) FROM entities e JOIN documents d USING (doc_id)
            WHERE substr(d.text, e.char_start + 1, e.char_end - e.char_start) <> e.text
            """
        ).fetchall()[0][0]
        bad_sentences = con.execute(
            """
            SELECT count(*) FROM sentences s JOIN documents d USING (doc_id)
            WHERE substr(d.text, s.char_start + 1, s.char_end - s.char_start) <> s.text
            """
        ).fetchall()[0][0]
    assert (bad, bad_sentences) == (0, 0)


def test_rerun_changes_nothing_and_duplicates_nothing(seed_warehouse):
    warehouse, _ = seed_warehouse
    before = {t: read_table(warehouse, t, "ALL") for t in CONTENT_TABLES}
    result = run_ingest(SEEDS, warehouse)
    assert result["status"] == "unchanged"
    assert (
        result["documents_new"],
        result["documents_changed"],
        result["documents_unchanged"],
    ) == (0, 0, 23)
    for table, frame in before.items():
        after = read_table(warehouse, table, "ALL")
        assert after.equals(frame), table
    assert len(read_table(warehouse, "runs", "started_at")) == 2


def test_bad_input_is_quarantined_and_the_rest_published(prefect_harness, tmp_path):
    source = tmp_path / "inbox"
    source.mkdir()
    shutil.copy(FOUNDING_ARTICLE, source / "good.txt")
    (source / "empty.txt").write_bytes(b"")
    (source / "binary.txt").write_bytes(b"\x00\x01\x02\x03 binary")
    (source / "latin.txt").write_bytes("Title\n\nCaf\u00e9 ".encode() + b"\xc3\x28 broken UTF-8")
    (source / "notes.docx").write_bytes(b"some bytes")
    warehouse = tmp_path / "wh" / "sitrep.duckdb"
    result = run_ingest(source, warehouse)
    assert result["status"] == "published"
    assert result["documents_quarantined"] == 4
    quarantine = read_table(warehouse, "quarantine", "source_path")
    assert quarantine.select("source_path", "reason").rows() == [
        ("binary.txt", "binary_content"),
        ("empty.txt", "empty_file"),
        ("latin.txt", "invalid_encoding"),
        ("notes.docx", "unsupported_extension"),
    ]
    assert quarantine["detail"].null_count() == 0
    assert read_table(warehouse, "documents", "source_path")["source_path"].to_list() == ["good.txt"]
