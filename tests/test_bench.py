"""The benchmark harness (flows/bench.py) on a tiny corpus: correctness only, no speed targets."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

import duckdb
import pytest

from flows import bench

ARTICLES = {
    "bbc/politics_001.txt": (
        "Minister visits troops in Basra\n\n"
        "The defence secretary visited British troops in Basra on Tuesday.\n\n"
        "He said the mission would continue until Iraqi forces were ready."
    ),
    "bbc/tech_001.txt": (
        "New phone sales surge\n\nSales of smartphones rose sharply in the last quarter, analysts said."
    ),
    "fakes/fakes_0001.txt": (
        "Air strikes hit Idlib\n\n"
        "Air strikes killed 12 civilians in Idlib province on Monday, a monitor said.\n"
        "Rebels shelled government positions near Aleppo."
    ),
}
METADATA = "file,csv_row,unit_id,source,date,location\nfakes_0001.txt,1,1,nna,4/5/2017,idlib\n"
SEED_WORDS = sum(len(text.split()) for text in ARTICLES.values())


@pytest.fixture(scope="session")
def prefect_harness():
    """The harness runs the real Prefect flow: on a temporary API, as tests/test_flow.py."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture(autouse=True)
def temporary_folders(tmp_path, monkeypatch) -> Path:
    """The harness's temporary folders go under tmp_path."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def shared(tmp_path, monkeypatch, prefect_harness) -> Path:
    """A tiny ../shared/corpus made here, with SITREP_SHARED_DIR pointing at it."""
    root = tmp_path / "shared"
    for name, text in ARTICLES.items():
        path = root / "corpus" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "corpus" / "fakes" / "metadata.csv").write_text(METADATA, encoding="utf-8")
    monkeypatch.setenv("SITREP_SHARED_DIR", str(root))
    monkeypatch.setenv("SITREP_CHUNK_DOCUMENTS", "4")  # several batches, as in a big run
    return root


def test_corpus_replicates_distinct_documents(shared, tmp_path):
    from flows.refresh import load_records
    from flows.sources import list_source_files, read_metadata

    seeds, sidecars = bench.load_seeds(shared / "corpus")
    assert [s.name for s in seeds] == ["politics_001.txt", "tech_001.txt", "fakes_0001.txt"]
    assert sum(s.words for s in seeds) == SEED_WORDS
    # one word more than two copies (each file gets one suffix token): a third copy is begun
    corpus = bench.build_corpus(2 * (SEED_WORDS + 3) + 1, tmp_path / "out", seeds, sidecars)
    assert corpus.files == 7
    assert corpus.copies == 3
    assert corpus.words == 2 * (SEED_WORDS + 3) + seeds[0].words + 1

    files = list_source_files(corpus.root)
    assert len(files) == corpus.files  # the metadata sidecars are not articles
    assert sum(len(f.absolute.read_text(encoding="utf-8").split()) for f in files) == corpus.words
    raw, rejections = load_records(files, read_metadata(corpus.root), 1_000_000)
    assert rejections == []
    assert raw["doc_id"].n_unique() == raw["file_hash"].n_unique() == corpus.files
    # the copies differ only by the title suffix; the body is the original's
    copies = sorted(corpus.root.glob("c*/bbc/politics_001.txt"))
    original = ARTICLES["bbc/politics_001.txt"]
    first, rest = original.split("\n", 1)
    assert [c.read_text(encoding="utf-8") for c in copies] == [
        f"{first} #0000000\n{rest}",
        f"{first} #0000003\n{rest}",
        f"{first} #0000006\n{rest}",
    ]
    # publication dates come from the copied metadata sidecar
    fakes = raw.filter(raw["source_path"].str.ends_with("fakes_0001.txt"))
    assert fakes["published_at"].null_count() == 0


def test_no_nlp_run_writes_complete_json(shared, tmp_path):
    out = tmp_path / "bench.json"
    result = bench.command(3 * (SEED_WORDS + 3), out, nlp=False, keep=True)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data == json.loads(json.dumps(result))
    for key in (
        "words",
        "documents",
        "pipeline_words_per_s",
        "nlp_bound_words_per_s",
        "pipeline_to_nlp_ratio",
        "peak_rss_mb",
        "stages",
    ):
        assert key in data, key
    assert data["words"] == SEED_WORDS * 3 + 9  # 9 files, one suffix token each
    assert data["documents"] == data["files"] == 9
    assert data["quarantined"] == 0
    assert data["batches"] == 3  # SITREP_CHUNK_DOCUMENTS=4
    assert list(data["stages"]) == [*bench.STAGES, "orchestration"]
    for stage, row in data["stages"].items():
        assert set(row) >= {"seconds", "words_per_s", "peak_rss_mb"}, stage
        assert row["seconds"] >= 0, stage
        assert row["peak_rss_mb"] > 0, stage
    assert data["pipeline_seconds"] == pytest.approx(
        sum(row["seconds"] for row in data["stages"].values()), abs=0.01
    )
    assert data["nlp"] is False
    assert data["nlp_bound"]["documents"] == 9
    assert data["pipeline_words_per_s"] > 0
    assert data["nlp_bound_words_per_s"] > 0
    assert data["pipeline_to_nlp_ratio"] == pytest.approx(
        data["pipeline_words_per_s"] / data["nlp_bound_words_per_s"], rel=1e-3, abs=1e-4
    )
    # the kept warehouse is a published, complete version
    kept = Path(data["kept"])
    with contextlib.closing(duckdb.connect(str(kept / "warehouse" / "sitrep.duckdb"), read_only=True)) as con:
        assert con.execute("select count(distinct doc_id) from documents").fetchone()[0] == 9
        assert con.execute("select count(*) from sentences").fetchone()[0] > 9
        # written by the real Prefect flow run
        assert con.execute("select status, flow_run_id is not null from runs").fetchall() == [
            ("published", True)
        ]


def test_flow_is_restored_after_a_run(shared):
    import flows.ingest as flow

    before = {name: getattr(flow, name).fn for name in (*bench.TASK_STAGES, "transform_batch")}
    run_ingest = flow.run_ingest
    bench.command(SEED_WORDS, None, nlp=False, bound_words=0)
    assert flow.run_ingest is run_ingest
    assert {name: getattr(flow, name).fn for name in before} == before


def test_temporary_folder_is_removed(shared, temporary_folders):
    result = bench.command(SEED_WORDS, None, nlp=False, bound_words=0)
    assert result["kept"] is None
    assert result["nlp_bound"]["seconds"] == 0
    assert result["pipeline_to_nlp_ratio"] is None
    assert list(temporary_folders.glob("sitrep-bench-*")) == []


def test_missing_corpus_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SITREP_SHARED_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(bench.BenchError, match=r"corpus .* is absent.*SITREP_SHARED_DIR"):
        bench.command(1000, None, nlp=False)
    assert bench.main(["--words", "1000", "--no-nlp"]) == 2


@pytest.mark.model
def test_nlp_run_measures_the_model(shared, tmp_path):
    result = bench.command(SEED_WORDS, tmp_path / "nlp.json", nlp=True, workers=1)
    assert result["nlp"] is True
    assert result["workers"] == 1
    assert result["documents"] == 3
    assert result["nlp_bound"]["words"] == result["words"]
    assert result["rows"]["entities"] > 0


def test_stage_labels_are_per_thread_and_a_sample_counts_for_every_stage_running():
    """Under overlap the flow validates one batch while a thread waits for the workers to
    transform the next: the memory sampled then belongs to both stages, and neither
    thread's label leaks into the other's."""
    import threading

    monitor = bench.Monitor()
    inside, leave = threading.Event(), threading.Event()

    def transform_thread():
        with monitor.stage("nlp"):
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=transform_thread)
    with monitor.stage("validation"):
        thread.start()
        assert inside.wait(5)
        monitor._sample()
        assert monitor._active() == {"validation", "nlp"}
        leave.set()
        thread.join(5)
        # the other thread left its stage: this one is still validating
        assert monitor._active() == {"validation"}
    assert monitor._active() == {"setup"}
    assert monitor.peak_rss["nlp"] > 0
    assert monitor.peak_rss["validation"] >= monitor.peak_rss["nlp"]
