"""Where the transform batches run: in worker processes of this machine, or on a Dask cluster.

The costly step is the NLP inside ``transform-batch``. On one machine a batch is cut into
``SITREP_NLP_WORKERS`` shards of about equal text, and each shard goes through the whole
of ``build_tables`` (spaCy, entity rules, incident rules) in a worker process; the
shards' tables are concatenated in document order. The workers start at the run's first
batch big enough to share (``MIN_SHARD_DOCUMENTS`` per worker), load the model and
lexicons once, and stop at the end of the run. Running every transform step in the
workers, not only ``nlp.pipe``, is what keeps the pipeline near the bare-NLP bound with
several workers: with ``nlp.pipe(n_process=...)`` the incident rules ran in the flow's
process after the NLP, on a core the NLP workers needed.

With ``SITREP_DASK_ADDRESS`` (or ``sitrep ingest --dask ADDRESS``) the same ``ingest`` flow
runs on Prefect's Dask task runner against that cluster: each ``transform-batch`` (a chunk
of ``SITREP_CHUNK_DOCUMENTS`` documents) is sent to a Dask worker, which loads the spaCy
model and the gazetteer once and returns the batch's tables. Loading files, validating and
writing the single DuckDB candidate stay in the flow's process (DuckDB allows one writer
per file). The workers need sitrep installed (the same code and ``uv.lock``); they read no
files besides sitrep's own resources.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import multiprocessing
import os
import signal
import threading
import time
import weakref
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from pathlib import Path

import polars as pl
from prefect.task_runners import ThreadPoolTaskRunner

from flows.settings import Settings
from transforms.pipeline import Tables, build_tables, load_resources

# below this many documents per worker a batch is not shared: it is transformed in the
# flow's process, or by one worker when the run's workers are already up
MIN_SHARD_DOCUMENTS = 16
PR_SET_PDEATHSIG = 1


class TransformWorkerError(RuntimeError):
    """A transform worker process died (killed, or out of memory)."""


class TransformCancelled(RuntimeError):
    """A transform in progress was stopped because the run stopped (another batch failed
    validation, the run was interrupted): not a fault of the workers."""


def task_runner_for(settings: Settings):
    """The Prefect task runner for these settings."""
    if settings.dask_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=settings.dask_address)
    return ThreadPoolTaskRunner(max_workers=1)


def in_flight(settings: Settings) -> int:
    """Transform batches submitted ahead of the one being written: on Dask enough to keep
    the workers busy, few enough that memory stays bounded (finished batches wait in the
    flow's process until they are validated and written); locally one at a time (with
    workers, the flow also reads the next batch's files meanwhile: one more raw batch in
    memory)."""
    return max(2, settings.nlp_workers) + 1 if settings.dask_address else 1


def overlapped(settings: Settings) -> bool:
    """Whether transform batches run beside the flow's own work: on a Dask cluster, and in
    local worker processes, which transform the next batch while the flow validates and
    writes this one (the flow's thread only waits for them). Without worker processes a
    transform in the flow's own process would merely take turns with that work, so it runs
    in line. (A batch too small to share that comes before the workers are up is still
    transformed on that thread, in the flow's process, beside the validation.)"""
    return bool(settings.dask_address) or settings.nlp_workers > 1


def shard_bounds(text_lengths: list[int], shards: int) -> list[tuple[int, int]]:
    """Cut documents (their text lengths, in order) into at most ``shards`` contiguous,
    non-empty ``[start, end)`` ranges of about equal total length."""
    total = sum(text_lengths)
    bounds, start, done = [], 0, 0
    for shard in range(1, shards):
        goal = total * shard / shards
        end = start
        while end < len(text_lengths) and done + text_lengths[end] <= goal:
            done += text_lengths[end]
            end += 1
        end = max(end, start + 1)  # every shard gets a document
        if end >= len(text_lengths):
            break
        done = sum(text_lengths[:end])
        bounds.append((start, end))
        start = end
    bounds.append((start, len(text_lengths)))
    return [(s, e) for s, e in bounds if e > s]


_START_ERROR: str | None = None  # in a worker: why loading the model failed


def _start_worker(spacy_model: str, nlp_enabled: bool, cache_dir: Path | None) -> None:
    """Worker initializer: die with the flow's process (a killed run leaves no worker
    finishing a shard nobody will read), then load the model and lexicons once. A loading
    error is kept and raised with the first shard, so the run says what went wrong."""
    global _START_ERROR
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # at exit, skip the interpreter's teardown of the model and gazetteer objects (~2 s of
    # freeing memory the kernel reclaims anyway); runs after the worker sent its last result
    atexit.register(os._exit, 0)
    try:
        load_resources(spacy_model, nlp_enabled, cache_dir)
    except Exception as error:  # reported with the first shard
        _START_ERROR = f"{type(error).__name__}: {error}"


def _transform_shard(
    raw: pl.DataFrame,
    spacy_model: str,
    nlp_enabled: bool,
    cache_dir: Path | None,
    run_id: str,
    ingested_at: datetime,
    nlp_batch_size: int,
    min_incident_confidence: float,
) -> Tables:
    if _START_ERROR is not None:
        raise TransformWorkerError(f"a transform worker could not start: {_START_ERROR}")
    return build_tables(
        raw,
        load_resources(spacy_model, nlp_enabled, cache_dir),
        run_id=run_id,
        ingested_at=ingested_at,
        nlp_batch_size=nlp_batch_size,
        min_incident_confidence=min_incident_confidence,
    )


_POOLS: dict[tuple, ProcessPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()
# pools that ended early -> why: None when the run stopped them (close_workers(abort=True)),
# else the error of the worker that died (for any transform still waiting on them)
_ENDED: weakref.WeakKeyDictionary[ProcessPoolExecutor, str | None] = weakref.WeakKeyDictionary()


def _pool(settings: Settings, create: bool) -> ProcessPoolExecutor | None:
    """The run's worker processes (``settings.nlp_workers`` of them), started at its first
    big batch and kept until :func:`close_workers`; None when there are none and
    ``create`` is false. Spawned, not forked: polars' thread pool does not survive a fork
    (the child waits forever for threads that were not copied)."""
    key = (settings.spacy_model, settings.nlp_enabled, settings.cache_dir, settings.nlp_workers)
    with _POOLS_LOCK:
        if key not in _POOLS and create:
            _close(abort=False)
            _POOLS[key] = ProcessPoolExecutor(
                settings.nlp_workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=key[:3],
            )
        return _POOLS.get(key)


def _close(abort: bool) -> None:
    while _POOLS:
        _, pool = _POOLS.popitem()
        if abort:  # an interrupted run: do not wait for the shards in progress
            _ENDED.setdefault(pool, None)
            processes = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                with contextlib.suppress(Exception):
                    process.terminate()
        else:
            pool.shutdown(wait=True, cancel_futures=True)


def close_workers(abort: bool = False) -> None:
    """Stop the worker processes (the end of a run); ``abort`` kills them without waiting
    for the shards in progress (a failed or interrupted run)."""
    with _POOLS_LOCK:
        _close(abort)


def transform(raw: pl.DataFrame, settings: Settings, run_id: str, ingested_at: datetime) -> Tables:
    """Raw records -> tables, in ``settings.nlp_workers`` worker processes when the batch
    is big enough or the workers already run (in this process on a Dask worker). The result
    does not depend on the number of workers: documents are transformed independently and
    kept in order."""
    arguments = (
        settings.spacy_model,
        settings.nlp_enabled,
        settings.cache_dir,
        run_id,
        ingested_at,
        settings.nlp_batch_size,
        settings.min_incident_confidence,
    )
    if settings.dask_address or settings.nlp_workers <= 1:
        return _transform_shard(raw, *arguments)
    shards = max(1, min(settings.nlp_workers, raw.height // MIN_SHARD_DOCUMENTS))
    # a small batch stays in this process unless the workers are up (then it goes to one of
    # them, so this process never loads a model of its own next to theirs)
    pool = _pool(settings, create=shards > 1)
    if pool is None:
        return _transform_shard(raw, *arguments)
    bounds = shard_bounds(raw["text"].str.len_bytes().fill_null(0).to_list(), shards)
    started = time.perf_counter()
    try:
        futures = [pool.submit(_transform_shard, raw.slice(s, e - s), *arguments) for s, e in bounds]
        parts = [future.result() for future in futures]
    except (BrokenProcessPool, CancelledError) as error:
        with _POOLS_LOCK:
            died = _ENDED.setdefault(
                pool,
                f"a transform worker process died ({settings.nlp_workers} workers, {raw.height} "
                "documents): killed or out of memory; lower SITREP_NLP_WORKERS or SITREP_CHUNK_DOCUMENTS",
            )
        if died is None:  # the run stopped the workers: nothing went wrong here
            raise TransformCancelled(
                f"transform of {raw.height} documents cancelled: the run stopped (see its error)"
            ) from error
        close_workers(abort=True)
        raise TransformWorkerError(died) from error
    return merge(parts, time.perf_counter() - started)


def merge(parts: list[Tables], wall_seconds: float) -> Tables:
    """The shards' tables in order; stage seconds are the shards' summed stage times scaled
    to the wall time of the parallel section (so stages still add up to the batch's time)."""
    summed: dict[str, float] = {}
    for part in parts:
        for stage, seconds in part.seconds.items():
            summed[stage] = summed.get(stage, 0.0) + seconds
    scale = wall_seconds / sum(summed.values()) if sum(summed.values()) > 0 else 0.0
    tables = {name: pl.concat([part.as_dict()[name] for part in parts]) for name in parts[0].as_dict()}
    return Tables(**tables, seconds={stage: seconds * scale for stage, seconds in summed.items()})
