"""Where the transform batches run: in the flow's process, or on a Dask cluster.

The costly step is the NLP inside ``transform-batch``. On one machine it uses
``SITREP_NLP_WORKERS`` processes through spaCy's ``nlp.pipe(n_process=...)``. With
``SITREP_DASK_ADDRESS`` (or ``sitrep ingest --dask ADDRESS``) the same ``ingest`` flow runs
on Prefect's Dask task runner against that cluster: each ``transform-batch`` (a chunk of
``SITREP_CHUNK_DOCUMENTS`` documents) is sent to a Dask worker, which loads the spaCy model
and the gazetteer once and returns the batch's tables. Loading files, validating and writing
the single DuckDB candidate stay in the flow's process (DuckDB allows one writer per file).
The workers need sitrep installed (the same code and ``uv.lock``); they read no files
besides sitrep's own resources.
"""

from __future__ import annotations

from prefect.task_runners import ThreadPoolTaskRunner

from flows.settings import Settings


def task_runner_for(settings: Settings):
    """The Prefect task runner for these settings."""
    if settings.dask_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=settings.dask_address)
    return ThreadPoolTaskRunner(max_workers=1)


def in_flight(settings: Settings) -> int:
    """Transform batches submitted ahead of the one being written: on Dask enough to keep
    the workers busy, few enough that memory stays bounded (finished batches wait in the
    flow's process until they are validated and written); locally one at a time."""
    return max(2, settings.nlp_workers) + 1 if settings.dask_address else 1
