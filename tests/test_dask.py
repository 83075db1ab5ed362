"""Scale-out: the same ``ingest`` flow on Prefect's Dask task runner equals the local run.

Starts a real local Dask cluster (two worker processes, loopback only), runs the flow on
seeds/ with small chunks so that the transform batches are spread over both workers, and
compares every content table row for row with a run in the flow's own process. Only the
run's own stamps (run id, ingestion and quarantine times) may differ.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.conftest import SEEDS

pytestmark = [pytest.mark.e2e, pytest.mark.model, pytest.mark.timeout(600)]

TABLES = {
    "documents": "doc_id",
    "sentences": "sentence_id",
    "entities": "entity_id",
    "incidents": "incident_id",
    "quarantine": "source_path, source_record",
}
RUN_STAMPS = {"run_id", "ingested_at", "quarantined_at"}
CHUNK = 5  # 23 seed articles -> 5 transform batches


@pytest.fixture(scope="module")
def prefect_api():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        yield cluster


def content(warehouse: Path) -> dict[str, pl.DataFrame]:
    with contextlib.closing(duckdb.connect(str(warehouse), read_only=True)) as con:
        return {
            table: con.sql(f"SELECT * FROM {table} ORDER BY {order}").pl().drop(RUN_STAMPS, strict=False)
            for table, order in TABLES.items()
        }


def run(warehouse: Path, dask_address: str | None, nlp_workers: int | None = None) -> dict:
    from flows.ingest import ingest_on
    from flows.settings import Settings

    settings = Settings(
        source_dir=SEEDS, warehouse_path=warehouse, chunk_documents=CHUNK, dask_address=dask_address
    ).resolved()
    return ingest_on(settings)(
        source=str(SEEDS), warehouse=str(warehouse), dask_address=dask_address, nlp_workers=nlp_workers
    )


def test_the_flow_on_a_dask_cluster_equals_the_local_run_and_chunks_change_nothing(
    prefect_api, dask_cluster, tmp_path, monkeypatch
):
    from distributed import Client

    monkeypatch.setenv("SITREP_CHUNK_DOCUMENTS", str(CHUNK))
    local = run(tmp_path / "local" / "sitrep.duckdb", None)
    on_dask = run(tmp_path / "dask" / "sitrep.duckdb", dask_cluster.scheduler_address)

    assert local["status"] == on_dask["status"] == "published"
    assert local["documents_new"] == on_dask["documents_new"] == 23
    assert on_dask["rows_written"] == local["rows_written"]

    # the batches really ran on the cluster, on both workers
    with Client(dask_cluster.scheduler_address) as client:
        ran = client.run(lambda dask_worker: dask_worker.state.executed_count)
    assert len(ran) == 2
    assert all(count > 0 for count in ran.values())

    expected = content(tmp_path / "local" / "sitrep.duckdb")
    actual = content(tmp_path / "dask" / "sitrep.duckdb")
    for table in TABLES:
        assert actual[table].columns == expected[table].columns, table
        assert actual[table].height == expected[table].height, table
        assert actual[table].equals(expected[table], null_equal=True), f"{table} differs between runs"
    assert expected["incidents"].height > 50

    # chunks change nothing either: the same seeds in one batch give the same tables
    monkeypatch.setenv("SITREP_CHUNK_DOCUMENTS", "2000")
    whole = run(tmp_path / "whole" / "sitrep.duckdb", None)
    assert whole["rows_written"] == local["rows_written"]
    one_batch = content(tmp_path / "whole" / "sitrep.duckdb")
    for table in TABLES:
        assert one_batch[table].equals(expected[table], null_equal=True), f"{table}: chunked != one batch"


def test_local_worker_processes_equal_one_process(prefect_api, tmp_path, monkeypatch):
    """SITREP_NLP_WORKERS=2: each batch is cut into two shards transformed in two spawned
    worker processes; the tables equal the one-process run row for row."""
    import flows.parallel as parallel

    monkeypatch.setenv("SITREP_CHUNK_DOCUMENTS", "2000")
    monkeypatch.setattr(parallel, "MIN_SHARD_DOCUMENTS", 4)  # 23 seeds -> 2 shards
    merged: list[int] = []
    original_merge = parallel.merge

    def counting_merge(parts, wall_seconds):
        merged.append(len(parts))
        return original_merge(parts, wall_seconds)

    monkeypatch.setattr(parallel, "merge", counting_merge)
    one = run(tmp_path / "one" / "sitrep.duckdb", None, nlp_workers=1)
    assert merged == []
    two = run(tmp_path / "two" / "sitrep.duckdb", None, nlp_workers=2)
    assert merged == [2], "the batch was not shared by two worker processes"
    assert parallel._POOLS == {}, "the worker processes outlived the run"
    assert two["rows_written"] == one["rows_written"]
    expected = content(tmp_path / "one" / "sitrep.duckdb")
    actual = content(tmp_path / "two" / "sitrep.duckdb")
    assert expected["incidents"].height > 50
    for table in TABLES:
        assert actual[table].equals(expected[table], null_equal=True), f"{table}: 2 workers != 1"


def test_local_workers_transform_the_next_batch_while_the_flow_writes_this_one(
    prefect_api, tmp_path, monkeypatch
):
    """With worker processes the flow submits the next batch's transform before it validates
    and writes the current one, and reads the batch after it while the workers transform;
    the tables still equal the one-process run in the same chunks."""
    import flows.ingest as ingest_module
    import flows.parallel as parallel

    monkeypatch.setenv("SITREP_CHUNK_DOCUMENTS", "10")  # 23 seeds -> 3 batches
    monkeypatch.setattr(parallel, "MIN_SHARD_DOCUMENTS", 2)
    events: list[str] = []
    transform, write_batch = ingest_module.transform, ingest_module.write_batch
    load_records = ingest_module.load_records

    def recording_load(files, *args, **kwargs):
        events.append(f"loaded {len(files)}")
        return load_records(files, *args, **kwargs)

    def recording_transform(raw, *args, **kwargs):
        events.append(f"transform {raw.height}")
        tables = transform(raw, *args, **kwargs)
        events.append(f"transformed {raw.height}")
        return tables

    def recording_write(candidate, tables):
        written = write_batch(candidate, tables)
        events.append(f"written {tables['documents'].height if 'documents' in tables else 0}")
        return written

    monkeypatch.setattr(ingest_module, "transform", recording_transform)
    monkeypatch.setattr(ingest_module, "write_batch", recording_write)
    monkeypatch.setattr(ingest_module, "load_records", recording_load)
    one = run(tmp_path / "one" / "sitrep.duckdb", None, nlp_workers=1)
    assert events == [
        *("loaded 10", "transform 10", "transformed 10", "written 10"),
        *("loaded 10", "transform 10", "transformed 10", "written 10"),
        *("loaded 3", "transform 3", "transformed 3", "written 3"),
    ]
    events.clear()
    run(tmp_path / "two" / "sitrep.duckdb", None, nlp_workers=2)
    steps = [e for e in events if e.startswith(("transform ", "written"))]
    assert steps == ["transform 10", "transform 10", "written 10", "transform 3", "written 10", "written 3"]
    # the next batch is read while the workers still transform the one before it (the
    # first transform waits for the workers to start: seconds, against milliseconds of reading)
    loads = [i for i, e in enumerate(events) if e.startswith("loaded")]
    assert [events[i] for i in loads] == ["loaded 10", "loaded 10", "loaded 3"]
    assert loads[1] < events.index("transformed 10")
    assert parallel._POOLS == {}, "the worker processes outlived the run"
    expected = content(tmp_path / "one" / "sitrep.duckdb")
    actual = content(tmp_path / "two" / "sitrep.duckdb")
    assert one["documents_new"] == 23
    for table in TABLES:
        assert actual[table].equals(expected[table], null_equal=True), f"{table}: 2 workers != 1"


def test_shards_are_contiguous_balanced_and_never_empty():
    from flows.parallel import shard_bounds

    assert shard_bounds([10, 10, 10, 10], 2) == [(0, 2), (2, 4)]
    assert shard_bounds([30, 1, 1, 1, 1], 2) == [(0, 1), (1, 5)]
    assert shard_bounds([5, 5, 5], 3) == [(0, 1), (1, 2), (2, 3)]
    assert shard_bounds([1, 1], 4) == [(0, 1), (1, 2)]
    assert shard_bounds([100], 2) == [(0, 1)]
    assert shard_bounds([0, 0, 0, 0], 2) == [(0, 4)]  # no text to share


def test_a_dask_address_without_the_dask_runner_is_refused(prefect_api, tmp_path):
    from flows.ingest import ingest

    with pytest.raises(ValueError, match="Dask address"):
        ingest(source=str(SEEDS), warehouse=str(tmp_path / "w.duckdb"), dask_address="tcp://127.0.0.1:1")


def test_a_worker_that_cannot_load_the_model_says_why_and_small_batches_reuse_the_workers(monkeypatch):
    from datetime import UTC, datetime

    import flows.parallel as parallel
    from flows.settings import Settings
    from transforms.documents import raw_documents_frame

    records = [
        {
            "doc_id": f"d{n}",
            "source_path": f"{n}.txt",
            "source_record": 0,
            "file_hash": "h",
            "format": "txt",
            "title": f"Report {n}",
            "text": f"Report {n}\n\nGunmen killed two people in Kano on Sunday.",
            "published_at": None,
            "url": None,
            "source_name": None,
        }
        for n in range(8)
    ]
    raw = raw_documents_frame(records)
    monkeypatch.setattr(parallel, "MIN_SHARD_DOCUMENTS", 4)  # 8 documents -> 2 shards
    broken = Settings(spacy_model="no_such_model_xyz", nlp_workers=2)
    with pytest.raises(parallel.TransformWorkerError, match=r"could not start: .*no_such_model_xyz"):
        parallel.transform(raw, broken, "r", datetime.now(UTC))
    parallel.close_workers(abort=True)
    assert parallel._POOLS == {}

    settings = Settings(nlp_enabled=False, nlp_workers=2)
    try:
        shared = parallel.transform(raw, settings, "r", datetime.now(UTC))
        pool = parallel._pool(settings, create=False)
        assert pool is not None
        # a batch too small to share goes to the running workers, not a model of this process
        small = parallel.transform(raw.head(3), settings, "r", datetime.now(UTC))
        assert parallel._pool(settings, create=False) is pool
    finally:
        parallel.close_workers()
    assert shared.incidents.height == 8
    assert small.incidents["doc_id"].to_list() == ["d0", "d1", "d2"]


def test_a_transform_stopped_with_the_run_is_cancelled_not_a_dead_worker(monkeypatch):
    """After a failed validation the run kills its workers while the next batch is still
    being transformed: that transform says it was cancelled, not that a worker died."""
    from concurrent.futures import Future
    from datetime import UTC, datetime

    import flows.parallel as parallel
    from flows.settings import Settings
    from transforms.documents import raw_documents_frame

    class StoppedPool:  # the shard futures of a pool shut down with cancel_futures=True
        def submit(self, *args, **kwargs):
            future = Future()
            future.cancel()
            return future

    raw = raw_documents_frame(
        [
            {
                "doc_id": f"d{n}",
                "source_path": f"{n}.txt",
                "source_record": 0,
                "file_hash": "h",
                "format": "txt",
                "title": "Report",
                "text": "Report\n\nGunmen killed two people in Kano on Sunday.",
                "published_at": None,
                "url": None,
                "source_name": None,
            }
            for n in range(8)
        ]
    )
    monkeypatch.setattr(parallel, "MIN_SHARD_DOCUMENTS", 4)
    settings = Settings(nlp_enabled=False, nlp_workers=2)
    stopped = StoppedPool()
    monkeypatch.setattr(parallel, "_pool", lambda settings, create: stopped)
    parallel._ENDED[stopped] = None  # stopped by the run
    with pytest.raises(parallel.TransformCancelled, match="cancelled: the run stopped"):
        parallel.transform(raw, settings, "r", datetime.now(UTC))
    # the same failure in a pool nobody stopped is a worker fault ...
    del parallel._ENDED[stopped]
    with pytest.raises(parallel.TransformWorkerError, match="killed or out of memory"):
        parallel.transform(raw, settings, "r", datetime.now(UTC))
    # ... and another transform waiting on that pool says so too, though the first one's
    # error then stopped the workers
    parallel._ENDED.setdefault(stopped, None)  # the run then stops the pool
    with pytest.raises(parallel.TransformWorkerError, match="killed or out of memory"):
        parallel.transform(raw, settings, "r", datetime.now(UTC))
