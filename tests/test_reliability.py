"""Reliability of the ``ingest`` flow end to end: write-audit-publish under failure.

- kill -9 at random moments of real runs (spaCy included): the published warehouse is
  always the previous version or the new complete one, and the next run succeeds;
- read-only readers in other processes during ten runs: no lock error, no mixed version;
- three reruns give identical tables; a failure at every task boundary, then a normal run,
  gives what a clean run gives;
- deliberately bad batches never change a byte of the published warehouse and fail with a
  readable reason;
- killing the real CLI (with its embedded Prefect server) leaves no process behind.

Runs in-process under one Prefect test server (``prefect_api``); subprocesses reach the same
server through ``PREFECT_API_URL``. Most runs use ``nlp=False`` on seeds/ (the model is not
the point); the crash test runs the real pipeline on articles from ../shared/corpus.

The crash test's size is set by environment variables: ``SITREP_CRASH_KILLS`` (default 20,
e.g. 100 for a long run), ``SITREP_CRASH_ARTICLES`` (default 200), ``SITREP_CRASH_SEED``.
Run ``python -m tests.test_reliability zygote`` only through the test (it is the runner).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import types
from dataclasses import replace
from pathlib import Path

import duckdb
import polars as pl
import pytest

import flows  # noqa: F401  (Prefect defaults before prefect is imported)
from flows import warehouse as wh
from flows.ingest import FAIL_STEPS as FAIL_AT_STEPS
from tests.conftest import PROJECT_ROOT, SEEDS, shared_path

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

# --------------------------------------------------------------------------- shared helpers

# pytest imports this file as ``test_reliability`` and test_bad_input imports it as
# ``tests.test_reliability``: two module objects. The shared server's state therefore lives
# in one small module registered in sys.modules.
_SHARED = sys.modules.setdefault("_sitrep_test_harness", types.ModuleType("_sitrep_test_harness"))
_HARNESS: dict = _SHARED.__dict__.setdefault("state", {"users": 0, "context": None, "url": None})


@contextlib.contextmanager
def shared_prefect_harness():
    """One Prefect test server for every module that asks (test_reliability, test_bad_input)."""
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    if _HARNESS["users"] == 0:
        context = contextlib.ExitStack()
        context.enter_context(prefect_test_harness(server_startup_timeout=90))
        # No flow-run heartbeats (zombie detection for deployed runs) in-process: the
        # heartbeat thread sleeps in 1 s steps and adds up to 1 s to every flow run's end.
        # The crash test's runner processes keep them, as deployed runs do.
        context.enter_context(temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}))
        _HARNESS.update(context=context, url=PREFECT_API_URL.value())
    _HARNESS["users"] += 1
    try:
        yield _HARNESS["url"]
    finally:
        _HARNESS["users"] -= 1
        if _HARNESS["users"] == 0:
            _HARNESS["context"].close()
            _HARNESS.update(context=None, url=None)


@pytest.fixture(scope="session")
def prefect_api():
    with shared_prefect_harness() as url:
        yield url


def ingest(source: Path, warehouse: Path, nlp: bool = False, full_refresh: bool = False) -> dict:
    from flows.ingest import ingest as ingest_flow

    return ingest_flow(source=str(source), warehouse=str(warehouse), nlp=nlp, full_refresh=full_refresh)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# Columns that record *when* or *by which run* a row was written, not what it says.
BOOKKEEPING = ("run_id", "ingested_at", "quarantined_at", "deleted_at")
CONTENT_TABLES = {
    "documents": "doc_id",
    "sentences": "sentence_id",
    "entities": "entity_id",
    "incidents": "incident_id",
    "quarantine": "source_path, source_record",
}


def content(path: Path, bookkeeping: tuple[str, ...] = BOOKKEEPING) -> dict[str, tuple[int, str]]:
    """(rows, sha256 of the rows ordered by key) per content table. Bookkeeping columns are
    left out (``deleted_at`` becomes "is deleted"); doubles are rounded to 6 decimals."""
    digests = {}
    with contextlib.closing(duckdb.connect(str(path), read_only=True)) as con:
        for table, key in CONTENT_TABLES.items():
            columns = []
            for name, dtype, *_ in con.execute(f"DESCRIBE {table}").fetchall():
                if name == "deleted_at" and name in bookkeeping:
                    columns.append("deleted_at IS NULL")
                elif name not in bookkeeping:
                    columns.append(f"round({name}, 6)" if dtype == "DOUBLE" else name)
            rows = con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {key}").fetchall()
            digest = hashlib.sha256()
            for row in rows:
                digest.update(repr(row).encode())
            digests[table] = (len(rows), digest.hexdigest())
    return digests


def audit_failures(path: Path) -> dict[str, int]:
    with contextlib.closing(duckdb.connect(str(path), read_only=True)) as con:
        return {name: count for name, count in wh.audit(con).items() if count}


def runs_of(path: Path) -> list[tuple[str, str]]:
    with contextlib.closing(duckdb.connect(str(path), read_only=True)) as con:
        return con.execute("SELECT run_id, status FROM runs ORDER BY started_at").fetchall()


def link_copy(source: Path, target: Path) -> Path:
    """Copy a warehouse folder with hard links (instant; a published file is never written
    in place, so sharing inodes is safe and also checks that)."""
    shutil.copytree(source, target, copy_function=os.link)
    return target / "sitrep.duckdb"


def leftovers(paths: wh.WarehousePaths) -> list[str]:
    found = [p.name for p in paths.staging.iterdir()] if paths.staging.exists() else []
    if paths.swap.exists():
        found.append(paths.swap.name)
    return found


def session_processes(sid: int) -> list[int]:
    """Processes still alive in a session (a killed run's whole tree)."""
    import psutil

    alive = []
    for process in psutil.process_iter(["status"]):
        with contextlib.suppress(psutil.Error, ProcessLookupError, PermissionError):
            if os.getsid(process.pid) == sid and process.info["status"] != psutil.STATUS_ZOMBIE:
                alive.append(process.pid)
    return alive


def kill_session(sid: int) -> None:
    for pid in session_processes(sid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------- seeds split

HELD_OUT = (  # loaded by the "second night": they yield incidents even without the model
    "000_84c68ebb345634ad.txt",
    "fakes_0001.txt",
    "fakes_0075.txt",
    "fakes_0297.txt",
    "fakes_0556.txt",
    "fakes_0741.txt",
)


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> tuple[Path, Path]:
    """(first night: seeds without HELD_OUT, second night: all seeds)."""
    root = tmp_path_factory.mktemp("sources")
    full = root / "full"
    shutil.copytree(SEEDS, full)
    first = root / "first"
    shutil.copytree(SEEDS, first, ignore=shutil.ignore_patterns(*HELD_OUT))
    return first, full


@pytest.fixture(scope="module")
def first_night(prefect_api, sources, tmp_path_factory) -> Path:
    """A warehouse folder with the first night published (nlp off)."""
    warehouse = tmp_path_factory.mktemp("first-night") / "sitrep.duckdb"
    result = ingest(sources[0], warehouse)
    assert result["status"] == "published"
    return warehouse.parent


@pytest.fixture(scope="module")
def clean_second_night(first_night, sources, tmp_path_factory) -> dict:
    """Content after a clean second night (the reference for failed-then-rerun runs)."""
    warehouse = link_copy(first_night, tmp_path_factory.mktemp("clean") / "wh")
    result = ingest(sources[1], warehouse)
    assert (result["status"], result["documents_new"]) == ("published", len(HELD_OUT))
    assert audit_failures(warehouse) == {}
    return content(warehouse)


# --------------------------------------------------------------------------- idempotency


def test_three_reruns_give_identical_tables_and_agree_with_fresh_and_incremental_builds(
    prefect_api, sources, clean_second_night, tmp_path
):
    full = sources[1]
    warehouse = tmp_path / "a" / "sitrep.duckdb"
    assert ingest(full, warehouse)["status"] == "published"
    everything = content(warehouse, bookkeeping=())  # every column, run ids included
    for _ in range(3):
        result = ingest(full, warehouse)
        assert (result["status"], result["documents_unchanged"]) == ("unchanged", 23)
        assert content(warehouse, bookkeeping=()) == everything
    assert [status for _, status in runs_of(warehouse)] == ["published"] + ["unchanged"] * 3
    # fresh builds, a full refresh and the incremental two-night build agree on the content
    reference = content(warehouse)
    fresh = tmp_path / "b" / "sitrep.duckdb"
    ingest(full, fresh)
    assert content(fresh) == reference
    assert ingest(full, warehouse, full_refresh=True)["documents_reprocessed"] == 23
    assert content(warehouse) == reference
    assert clean_second_night == reference  # first night + second night == one fresh build
    assert audit_failures(warehouse) == {}


FAIL_STEPS = FAIL_AT_STEPS  # every task boundary of the flow


@pytest.mark.parametrize("step", FAIL_STEPS)
def test_a_failure_at_each_task_boundary_then_a_normal_run_equals_a_clean_run(
    step, first_night, sources, clean_second_night, tmp_path, monkeypatch
):
    from flows.ingest import FAIL_STEPS as declared
    from flows.ingest import InjectedFailure

    assert declared == FAIL_STEPS
    warehouse = link_copy(first_night, tmp_path / "wh")
    paths = wh.WarehousePaths(warehouse)
    before = sha256(warehouse)
    versions = wh.list_versions(paths)
    monkeypatch.setenv("SITREP_FAIL_AT", step)
    started = time.perf_counter()
    with pytest.raises(InjectedFailure, match=f"failing on purpose at {step}"):
        ingest(sources[1], warehouse)
    assert time.perf_counter() - started < 30  # permanent errors are not retried
    assert sha256(warehouse) == before
    assert wh.list_versions(paths) == versions
    assert leftovers(paths) == []  # the failed candidate was discarded
    monkeypatch.delenv("SITREP_FAIL_AT")
    result = ingest(sources[1], warehouse)
    assert (result["status"], result["documents_new"]) == ("published", len(HELD_OUT))
    assert content(warehouse) == clean_second_night
    assert audit_failures(warehouse) == {}


# --------------------------------------------------------------------------- bad batches


def _first(frame: pl.DataFrame, **columns) -> pl.DataFrame:
    """``frame`` with the given columns replaced in its first row."""
    first = pl.int_range(pl.len()) == 0
    return frame.with_columns(
        [
            pl.when(first).then(pl.lit(value)).otherwise(pl.col(name)).alias(name)
            for name, value in columns.items()
        ]
    )


def _without_first_document(t, context):
    doc = t.documents["doc_id"][0]
    keep = pl.col("doc_id") != doc
    return replace(
        t,
        sentences=t.sentences.filter(keep),
        entities=t.entities.filter(keep),
        incidents=t.incidents.filter(keep),
    )


def _crash(t, context):
    raise RuntimeError("extractor bug: index out of range")


def _no_incidents(t):
    return replace(t, incidents=t.incidents.clear())


# name -> (change to a batch's tables (tables, context) -> tables, what the error must say)
BAD_BATCHES = {
    "null document key": (
        lambda t, context: replace(t, documents=_first(t.documents, doc_id=None)),
        r"doc_id",
    ),
    "duplicate sentence keys": (
        lambda t, context: replace(t, sentences=pl.concat([t.sentences, t.sentences.head(2)])),
        r"sentence_id|duplicate sentence ids",
    ),
    "entity key of a published document": (
        lambda t, context: replace(t, entities=_first(t.entities, entity_id=context["entity_id"])),
        r"duplicate entity ids",
    ),
    "entity offsets out of range": (
        lambda t, context: replace(
            t, entities=t.entities.with_columns(char_end=pl.col("char_end") + 100_000)
        ),
        r"sitrep\.entities\.(document_length|text_matches_document)|entity offsets",
    ),
    "sentence offsets beyond the document": (
        lambda t, context: replace(
            t, sentences=t.sentences.with_columns(char_end=pl.col("char_end") + 100_000)
        ),
        r"sitrep\.sentences\.\w+|sentence offsets",
    ),
    "incident pointing at a missing sentence": (
        lambda t, context: replace(
            t, incidents=_first(t.incidents, sentence_id=f"{t.incidents['doc_id'][0]}:9999")
        ),
        r"sentence",
    ),
    "document without sentences": (_without_first_document, r"without sentences|sentence"),
    "schema drift: renamed column": (
        lambda t, context: replace(t, sentences=t.sentences.rename({"char_start": "start_char"})),
        r"schema drift: sentences.char_start: missing; sentences.start_char: not declared",
    ),
    "schema drift: retyped column": (
        lambda t, context: replace(t, entities=t.entities.with_columns(pl.col("char_start").cast(pl.Int64))),
        r"schema drift: entities.char_start: Int64 instead of Int32",
    ),
    "schema drift: dropped column": (
        lambda t, context: replace(t, incidents=t.incidents.drop("confidence")),
        r"schema drift: incidents.confidence: missing",
    ),
    "unknown event type": (
        lambda t, context: replace(t, incidents=_first(t.incidents, event_type="Alien invasion")),
        r"event_type|event_pair",
    ),
    "transform crash": (_crash, r"extractor bug"),
}


@pytest.fixture(scope="module")
def published_entity_id(first_night) -> str:
    with contextlib.closing(duckdb.connect(str(first_night / "sitrep.duckdb"), read_only=True)) as con:
        return con.execute("SELECT min(entity_id) FROM entities").fetchall()[0][0]


def _assert_untouched(warehouse: Path, before: str, versions: list) -> None:
    paths = wh.WarehousePaths(warehouse)
    assert sha256(warehouse) == before, "the published warehouse changed"
    assert wh.list_versions(paths) == versions
    assert leftovers(paths) == []


@pytest.mark.parametrize("case", list(BAD_BATCHES))
def test_a_bad_batch_leaves_the_published_warehouse_byte_for_byte_unchanged(
    case, first_night, sources, published_entity_id, tmp_path, monkeypatch
):
    import flows.parallel

    change, reason = BAD_BATCHES[case]
    real = flows.parallel.build_tables

    def bad_build_tables(raw, resources, **kwargs):
        return change(real(raw, resources, **kwargs), {"entity_id": published_entity_id})

    monkeypatch.setattr(flows.parallel, "build_tables", bad_build_tables)
    warehouse = link_copy(first_night, tmp_path / "wh")
    paths = wh.WarehousePaths(warehouse)
    before, versions = sha256(warehouse), wh.list_versions(paths)
    with pytest.raises(Exception, match=reason) as failure:
        ingest(sources[1], warehouse)
    _assert_untouched(warehouse, before, versions)
    rejected = sorted(paths.rejected.glob("*.duckdb")) if paths.rejected.exists() else []
    if case == "transform crash":
        assert rejected == []  # nothing was built to inspect
    else:  # kept for inspection, with the reason in its runs table
        assert len(rejected) == 1
        with contextlib.closing(duckdb.connect(str(rejected[0]), read_only=True)) as con:
            status, message = con.execute(
                "SELECT status, message FROM runs ORDER BY started_at DESC LIMIT 1"
            ).fetchall()[0]
        assert status == "rejected"
        assert message == str(failure.value)
    print(f"\n[bad batch] {case}: {str(failure.value).splitlines()[0][:160]}")


def test_an_over_threshold_quarantine_share_is_not_published(first_night, sources, tmp_path):
    source = tmp_path / "source"
    shutil.copytree(sources[1], source)
    for n in range(14):  # 14 broken files against the 6 new articles: 70% > 50%
        (source / f"broken_{n:02d}.txt").write_bytes(b"")
    warehouse = link_copy(first_night, tmp_path / "wh")
    before, versions = sha256(warehouse), wh.list_versions(wh.WarehousePaths(warehouse))
    with pytest.raises(wh.GateError, match=r"quarantine gate: 14 of the 20 documents of this run \(70%\)"):
        ingest(source, warehouse)
    _assert_untouched(warehouse, before, versions)


def test_a_sharp_row_count_drop_is_not_published(first_night, sources, tmp_path, monkeypatch):
    import flows.parallel

    real = flows.parallel.build_tables
    monkeypatch.setattr(
        flows.parallel,
        "build_tables",
        lambda raw, resources, **kw: _no_incidents(real(raw, resources, **kw)),
    )
    warehouse = link_copy(first_night, tmp_path / "wh")
    before, versions = sha256(warehouse), wh.list_versions(wh.WarehousePaths(warehouse))
    with pytest.raises(wh.GateError, match=r"row-count gate: incidents would drop from \d+ to 0 rows"):
        ingest(sources[0], warehouse, full_refresh=True)
    _assert_untouched(warehouse, before, versions)


def test_the_cli_says_why_a_run_was_not_published(prefect_api, first_night, sources, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from flows.cli import app

    source = tmp_path / "source"
    shutil.copytree(sources[1], source)
    for n in range(14):
        (source / f"broken_{n:02d}.txt").write_bytes(b"")
    warehouse = link_copy(first_night, tmp_path / "wh")
    before = sha256(warehouse)
    result = CliRunner().invoke(app, ["ingest", "--no-nlp", "-s", str(source), "-w", str(warehouse)])
    assert result.exit_code == 1
    assert "ingest failed: quarantine gate: 14 of the 20 documents" in result.output
    assert sha256(warehouse) == before
    # a disk that is too small: the run refuses to start, with the numbers
    monkeypatch.setenv("SITREP_DISK_RESERVE_BYTES", str(10**18))
    result = CliRunner().invoke(app, ["ingest", "--no-nlp", "-s", str(sources[1]), "-w", str(warehouse)])
    assert result.exit_code == 1
    assert "ingest failed: not enough free disk" in result.output
    assert "a new version needs about" in result.output
    assert sha256(warehouse) == before
    assert leftovers(wh.WarehousePaths(warehouse)) == []


# --------------------------------------------------------------------------- readers

READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import duckdb

    published, out, stop, mode = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
    SIGNATURE = (
        "SELECT (SELECT max(run_id) FROM runs), (SELECT count(*) FROM runs), "
        "(SELECT count(*) FROM documents), (SELECT count(*) FROM sentences), "
        "(SELECT count(*) FROM entities), (SELECT count(*) FROM incidents), "
        "(SELECT count(*) FROM quarantine), (SELECT max(run_id) FROM documents)"
    )
    # "fresh": a new read-only connection per query (an analyst's query); "held": one
    # connection kept open all along (a notebook). DuckDB shares one database per file within
    # a process, so the two kinds of reader must be separate processes.
    held = duckdb.connect(published, read_only=True) if mode == "held" else None
    with out.open("w") as log:
        while not stop.exists():
            started = time.monotonic()
            try:
                con = held or duckdb.connect(published, read_only=True)
                try:
                    row = con.execute(SIGNATURE).fetchall()[0]
                finally:
                    if held is None:
                        con.close()
                record = {"mode": mode, "row": list(row), "seconds": time.monotonic() - started}
            except Exception as error:
                record = {"mode": mode, "error": repr(error)}
            record["t"] = time.time()
            log.write(json.dumps(record) + "\\n")
            log.flush()
            time.sleep(0.05)
    """
)
READER_MODES = ("fresh", "fresh", "held")
SIGNATURE = (
    "SELECT (SELECT max(run_id) FROM runs), (SELECT count(*) FROM runs), "
    "(SELECT count(*) FROM documents), (SELECT count(*) FROM sentences), "
    "(SELECT count(*) FROM entities), (SELECT count(*) FROM incidents), "
    "(SELECT count(*) FROM quarantine), (SELECT max(run_id) FROM documents)"
)


def signature(path: Path) -> str:
    """Run id and row counts of a version, read in one statement (one snapshot)."""
    with contextlib.closing(duckdb.connect(str(path), read_only=True)) as con:
        return json.dumps(list(con.execute(SIGNATURE).fetchall()[0]))


@pytest.mark.timeout(300)
def test_readers_in_other_processes_never_block_and_never_see_a_mixture(first_night, sources, tmp_path):
    source = tmp_path / "source"
    shutil.copytree(sources[0], source)
    warehouse = link_copy(first_night, tmp_path / "wh")
    initial = signature(warehouse)
    version_of = {initial: 0}  # signature -> version number
    published_at = {}
    stop = tmp_path / "stop"
    logs = [tmp_path / f"reader{n}.jsonl" for n in range(len(READER_MODES))]
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(warehouse), str(log), str(stop), mode],
            start_new_session=True,
        )
        for log, mode in zip(logs, READER_MODES, strict=True)
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(log.exists() and log.stat().st_size for log in logs):
            assert time.monotonic() < deadline, "readers did not start"
            time.sleep(0.1)
        held_out = sorted(f for f in sources[1].glob("*.txt") if f.name in HELD_OUT)
        for night in range(10):  # ten consecutive runs, each publishing a new version
            if night < len(held_out):
                shutil.copy(held_out[night], source / held_out[night].name)
            else:
                (source / f"note_{night}.txt").write_text(
                    f"Night note {night}\n\nPatrols were reported near the river crossing on night {night}."
                )
            assert ingest(source, warehouse)["status"] == "published"
            published_at[signature(warehouse)] = time.time()
            version_of[signature(warehouse)] = night + 1
        time.sleep(0.5)
    finally:
        stop.touch()
        for reader in readers:
            try:
                reader.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(reader.pid, signal.SIGKILL)
                reader.wait(10)
    observations = [json.loads(line) for log in logs for line in log.read_text().splitlines()]
    errors = [o["error"] for o in observations if "error" in o]
    assert errors == [], errors[:5]
    assert len(version_of) == 11  # ten distinct published versions and the initial one
    answers = [json.dumps(o["row"]) for o in observations]
    mixed = [answer for answer in answers if answer not in version_of]
    assert mixed == [], mixed[:5]
    fresh = [o for o in observations if o["mode"] == "fresh"]
    held = [o for o in observations if o["mode"] == "held"]
    assert held
    assert all(json.dumps(o["row"]) == initial for o in held)  # a held connection keeps its version
    seen = {version_of[json.dumps(o["row"])] for o in fresh}
    assert len(seen) >= 6, f"readers saw only versions {sorted(seen)}"
    first_seen = {}
    for o in sorted(fresh, key=lambda o: o["t"]):
        first_seen.setdefault(json.dumps(o["row"]), o["t"])
    lag = [first_seen[key] - at for key, at in published_at.items() if key in first_seen]
    duration = max(o["t"] for o in observations) - min(o["t"] for o in observations)
    print(
        f"\n[readers] {len(observations)} read-only queries from {len(READER_MODES)} processes in "
        f"{duration:.1f} s ({len(observations) / max(duration, 1e-9):.1f} q/s) during 10 runs: "
        f"0 lock errors, 0 mixed answers; new connections saw {len(seen)} of 11 versions, a held "
        f"connection kept its version; slowest query {max(o['seconds'] for o in observations):.3f} s; "
        f"a new version reached new connections at most {max(lag, default=0):.2f} s after the run returned"
    )


# --------------------------------------------------------------------------- the real CLI


@pytest.mark.timeout(300)
def test_killing_the_cli_and_its_prefect_server_leaves_nothing_behind(first_night, sources, tmp_path):
    """`sitrep ingest` as an operator runs it (embedded Prefect server included), killed with
    SIGKILL on its process group once its candidate is being built."""
    warehouse = link_copy(first_night, tmp_path / "wh")
    paths = wh.WarehousePaths(warehouse)
    before = sha256(warehouse)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "SITREP_"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    log = (tmp_path / "cli.log").open("w")
    cli = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "ingest",
            "--no-nlp",
            "-s",
            str(sources[1]),
            "-w",
            str(warehouse),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not (paths.staging.exists() and any(paths.staging.iterdir())):
            assert cli.poll() is None, (tmp_path / "cli.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the run never started its candidate"
            time.sleep(0.02)
        tree = session_processes(cli.pid)
        assert len(tree) >= 2, "expected the CLI and its embedded Prefect server"
        os.killpg(cli.pid, signal.SIGKILL)
        cli.wait(30)
        deadline = time.monotonic() + 10
        while session_processes(cli.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert session_processes(cli.pid) == [], "processes of the killed run survived"
    finally:
        kill_session(cli.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            cli.wait(10)
        log.close()
    assert sha256(warehouse) == before
    assert audit_failures(warehouse) == {}
    result = ingest(sources[1], warehouse)  # the next run clears the half-built candidate
    assert result["status"] == "published"
    assert leftovers(paths) == []


# --------------------------------------------------------------------------- kill -9


class Zygote:
    """A pre-warmed runner (``python -m tests.test_reliability zygote``).

    It imports sitrep, Prefect, spaCy and Great Expectations once, then forks one child per
    run. A child loads the model and gazetteers (in memory only: polars' thread pool cannot
    cross a fork, so this happens in the child), says it is ready, and starts the ``ingest``
    flow when told to go: the kill clock starts with the flow, so kill times fall on the
    run's file work, not on Python's imports. The next child prepares while the test checks
    the previous kill. Each child is a session leader: SIGKILL on its process group kills
    the whole run."""

    def __init__(self, env: dict[str, str], log: Path):
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.test_reliability", "zygote"],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.arrived = threading.Condition()
        self.children: list[int] = []
        self.waited = 0.0  # seconds spent waiting for children to get ready
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            with self.arrived:
                self.lines.append(line.strip())
                self.arrived.notify_all()

    def expect(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for line in self.lines:
                    if line.startswith(prefix):
                        self.lines.remove(line)
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"runner: no {prefix!r} within {timeout} s")
                self.arrived.wait(left)

    def prepare(self, job: dict) -> int:
        """Fork a child for ``job``; it loads its resources, then waits for ``go``."""
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        pid = int(self.expect(f"pid {job['name']} ", 30).split()[2])
        self.children.append(pid)
        return pid

    def go(self, job: dict, timeout: float = 120) -> float:
        waited = time.monotonic()
        deadline = waited + timeout
        while not Path(job["ready"]).exists():
            assert time.monotonic() < deadline, "the runner's child never got ready"
            time.sleep(0.01)
        Path(job["go"]).touch()
        started = time.monotonic()
        self.waited += started - waited
        return started

    def wait(self, pid: int, timeout: float = 300) -> int:
        return int(self.expect(f"exit {pid} ", timeout).split()[2])

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        for pid in self.children:
            kill_session(pid)
        kill_session(self.process.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        self.log.close()


def _zygote_main() -> None:
    """The runner: one job (JSON) per stdin line; prints ``pid <name> <pid>`` when it forked
    the job's child and ``exit <pid> <status>`` when a child ended. Single-threaded (it
    forks): stdin is polled with select and children are reaped without blocking."""
    import select

    import spacy  # noqa: F401

    import flows.ingest  # noqa: F401
    from expectations.runner import _context

    _context()  # importing Great Expectations takes seconds; polars is not used before fork
    print("ready", flush=True)
    pending = b""
    open_stdin = True
    while open_stdin or _reap():
        if select.select([0], [], [], 0.05)[0]:
            chunk = os.read(0, 65536)
            open_stdin = bool(chunk)
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                job = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    _zygote_child(job)
                print(f"pid {job['name']} {pid}", flush=True)
        _reap()


def _reap() -> bool:
    """Report ended children; True while some are still running."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True
        print(f"exit {pid} {status}", flush=True)


def _zygote_child(job: dict) -> None:
    os.setsid()
    log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    code = 0
    try:
        from flows.ingest import ingest as ingest_flow
        from flows.settings import Settings
        from transforms.pipeline import load_resources

        settings = Settings(nlp_enabled=True).resolved()
        load_resources(settings.spacy_model, True, settings.cache_dir)
        Path(job["ready"]).touch()
        deadline = time.monotonic() + 600
        while not Path(job["go"]).exists():
            if time.monotonic() > deadline:
                os._exit(2)
            time.sleep(0.001)
        result = ingest_flow(source=job["source"], warehouse=job["warehouse"], nlp=True)
        Path(job["result"]).write_text(json.dumps({"status": result["status"]}))
    except BaseException as error:
        Path(job["result"]).write_text(json.dumps({"error": repr(error)}))
        code = 1
    os._exit(code)


@pytest.mark.slow
@pytest.mark.model
@pytest.mark.timeout(3600)
def test_kill_9_at_random_moments_never_damages_the_published_warehouse(prefect_api, tmp_path):
    corpus = shared_path("corpus", "fakes")
    kills = int(os.environ.get("SITREP_CRASH_KILLS", "20"))
    articles = int(os.environ.get("SITREP_CRASH_ARTICLES", "200"))
    seed = int(os.environ.get("SITREP_CRASH_SEED", str(random.SystemRandom().randrange(10**6))))
    rng = random.Random(seed)
    files = sorted(corpus.glob("fakes_*.txt"))[:articles]
    assert len(files) == articles
    first, second = files[:-6], files[-6:]
    source = tmp_path / "source"
    source.mkdir()
    for file in first:
        shutil.copy(file, source / file.name)
    if (corpus / "metadata.csv").exists():
        shutil.copy(corpus / "metadata.csv", source / "metadata.csv")
    warehouse = tmp_path / "wh" / "sitrep.duckdb"
    paths = wh.WarehousePaths(warehouse)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SITREP_")}
    env.update(PREFECT_API_URL=prefect_api, PREFECT_HOME=str(tmp_path / "prefect-home"))
    zygote = Zygote(env, tmp_path / "zygote.log")
    jobs = (tmp_path / "jobs").resolve()
    jobs.mkdir()

    def job(n: int) -> dict:
        return {
            "name": f"job{n}",
            "source": str(source),
            "warehouse": str(warehouse),
            "log": str(tmp_path / "runs.log"),
            "ready": str(jobs / f"{n}.ready"),
            "go": str(jobs / f"{n}.go"),
            "result": str(jobs / f"{n}.json"),
        }

    try:
        # the previous version: the first night, built in this process (real pipeline)
        clock = time.monotonic()
        assert ingest(source, warehouse, nlp=True)["status"] == "published"
        build_seconds = time.monotonic() - clock
        previous_sha, previous_runs = sha256(warehouse), runs_of(warehouse)
        previous_version = wh.current_version(paths)
        for file in second:
            shutil.copy(file, source / file.name)
        zygote.expect("ready", 180)

        def restore_previous() -> None:
            with wh.exclusive_lock(paths):
                while wh.current_version(paths) != previous_version:
                    wh.rollback(paths)
            assert sha256(warehouse) == previous_sha

        prepared: list[tuple[dict, int]] = []  # children loading while earlier runs are checked

        def prepare_ahead() -> None:
            while len(prepared) < 2:
                upcoming = job(len(zygote.children))
                prepared.append((upcoming, zygote.prepare(upcoming)))

        def publication_started() -> bool:
            """The run linked its version (the step before the rename) or renamed already."""
            return len(list(paths.versions.glob("*.duckdb"))) > 1 or sha256(warehouse) != previous_sha

        # a normal run, measured in the same conditions (the next child loading meanwhile):
        # its duration bounds the kill times; its result is the new version
        prepare_ahead()
        measured, pid = prepared.pop(0)
        started = zygote.go(measured)
        prepare_ahead()
        assert zygote.wait(pid) == 0, (tmp_path / "runs.log").read_text()[-3000:]
        duration = time.monotonic() - started
        assert json.loads(Path(measured["result"]).read_text()) == {"status": "published"}
        new_content = content(warehouse)
        assert new_content != content(paths.versions / previous_version.name)
        assert audit_failures(warehouse) == {}
        restore_previous()

        cycles_started = time.monotonic()
        follow_up_seconds = 0.0
        outcomes = {"previous": 0, "new": 0}
        half_built = unpublished_links = finished_first = 0
        kill_times = []
        while sum(outcomes.values()) < kills:
            assert finished_first <= kills, "the runs keep finishing before the kill"
            # three kills in four at a uniform moment of the run; one aimed at publication:
            # 0-200 ms after the run linked its version (just before or after the rename)
            aimed = len(kill_times) % 4 == 3
            at = rng.uniform(0, duration)
            current, pid = prepared.pop(0)
            started = zygote.go(current)
            if aimed:
                deadline = started + 3 * duration
                while not publication_started() and time.monotonic() < deadline:
                    time.sleep(0.002)
                time.sleep(rng.uniform(0, 0.2))
                at = time.monotonic() - started
            else:
                time.sleep(max(0.0, at - (time.monotonic() - started)))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            status = zygote.wait(pid)
            killed_pid = pid
            prepare_ahead()
            if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
                finished_first += 1  # the run ended before its kill time: runs got faster
                duration = min(duration, at)
                assert status == 0, (tmp_path / "runs.log").read_text()[-3000:]
                restore_previous()
                continue
            kill_times.append(at)
            assert session_processes(killed_pid) == []
            # the published warehouse opens, passes the audit and is one of the two versions
            assert audit_failures(warehouse) == {}
            if sha256(warehouse) == previous_sha:
                outcomes["previous"] += 1
            else:
                assert content(warehouse) == new_content, f"kill at {at:.2f} s: a third state"
                assert runs_of(warehouse)[:-1] == previous_runs
                assert runs_of(warehouse)[-1][1] == "published"
                outcomes["new"] += 1
            half_built += any(name.endswith(".duckdb") for name in leftovers(paths))
            versions = wh.list_versions(paths)
            unpublished_links += len(versions) - 1 - versions.index(wh.current_version(paths, versions))
            # the following run needs no clean-up by hand and ends with the new version
            clock = time.monotonic()
            result = ingest(source, warehouse, nlp=True)
            follow_up_seconds += time.monotonic() - clock
            assert result["status"] in ("published", "unchanged")
            assert content(warehouse) == new_content
            assert audit_failures(warehouse) == {}
            assert leftovers(paths) == []
            restore_previous()
        print(
            f"\n[crash] seed {seed}: {kills} SIGKILLs over {len(first) + len(second)} articles "
            f"(normal run {duration:.1f} s; kills at {min(kill_times):.2f}-{max(kill_times):.2f} s): "
            f"{outcomes['previous']} left the previous version, {outcomes['new']} the new one, 0 damaged; "
            f"{half_built} half-built candidates and {unpublished_links} unpublished version links cleared "
            f"by the next run; {kills} following runs succeeded; {finished_first} runs finished before their kill. "
            f"Time: first night {build_seconds:.0f} s, {kills} kill cycles {time.monotonic() - cycles_started:.0f} s "
            f"(following runs {follow_up_seconds:.0f} s, waiting for the runner {zygote.waited:.0f} s)"
        )
    finally:
        zygote.close()


if __name__ == "__main__" and sys.argv[1:] == ["zygote"]:
    _zygote_main()
