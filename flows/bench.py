"""``sitrep bench``: throughput and memory of the ingest code path on a replicated corpus.

What it does (issue 6):

1. Builds a corpus of at least ``words`` words in a temporary folder by replicating
   ``../shared/corpus`` (``bbc/`` and ``fakes/`` .txt files, see its PROVENANCE.md; the
   folder is ``$SITREP_SHARED_DIR/corpus`` when that is set). Copy ``k`` goes to
   ``c<k>/bbc/...`` and ``c<k>/fakes/...`` (with the ``fakes/metadata.csv`` sidecar, so
   publication dates come from metadata as in production). Every file gets a unique
   one-token title suffix (`` #0001234``) so that every file is a distinct document (its
   own content hash and ``doc_id``); the text is otherwise byte-identical to the original.
2. Runs the real Prefect flow ``ingest`` (flows/ingest.py, embedded Prefect as
   ``sitrep ingest`` runs it) on it into a temporary warehouse, instrumented at run time
   (nothing is edited): the bodies of its tasks (``task.fn``) and the helpers it calls are
   wrapped with a clock per stage:

   ``load``          ``plan`` (list + hash every file), ``read_metadata``, ``load_batch``
                     (read + parse) and ``split_duplicates``
   ``sentences``     ``build_documents`` + ``split_sentences`` (``Tables.seconds``)
   ``nlp``           ``extract_mentions``: spaCy ``nlp.pipe`` + mention rules
   ``incidents``     ``build_entities`` + ``detect_incidents``
   ``validation``    ``quarantine_rows`` + ``validate_batch`` (schema check, GX suites)
   ``publish``       ``prepare_candidate`` (recovery, disk check, candidate copy),
                     ``apply_deletions``, ``write_batch`` (DuckDB inserts), ``finalize``
                     (runs row, views, audit, gates, CHECKPOINT) and ``publish``
   ``orchestration`` the rest of ``run_ingest``: Prefect's per-task work (task runs,
                     state changes, input hashing) and the flow's own bookkeeping

   Why the real flow rather than calling the same functions in a copy of its loop: the
   flow is being changed, and a copy drifts (and would miss what the flow itself costs);
   this way the harness measures exactly what ``sitrep ingest`` runs, in its chunks
   (``SITREP_CHUNK_DOCUMENTS``). A task missing from a future flow is reported and its
   time counts as ``orchestration``. Starting Prefect's embedded server and loading the
   model, gazetteer and GX happen before the clock starts (``setup_seconds``,
   ``flow_call_seconds``).
3. Measures the NLP bound in the same process, on the same text (the ``text`` of the
   documents written, spilled to Parquet per batch): one bare ``nlp.pipe`` over all of it
   with the same ``Language`` object (``load_resources(...).nlp``, i.e.
   ``transforms.nlp.load_nlp(model)``), batch size and worker count, streaming (one pool
   of workers for the whole stream). With ``--no-nlp`` the "model" is the gazetteer ruler
   on plain text (``TextRuler``, which the pipeline then runs instead of spaCy) and the
   bound is measured on the first 1M words (``bound_words``).
4. Reports wall seconds, words/s and peak RSS per stage (RSS of the process tree: this
   process plus spaCy's worker processes and Prefect's embedded server, sampled every
   50 ms; PSS is reported too since forked workers share pages), and CPU seconds, as a
   table on stdout and, with ``json_out``, as JSON.
   The headline is ``pipeline_to_nlp_ratio`` (pipeline words/s over NLP-bound words/s).
5. Prints one progress line per batch on stderr.

Run it as ``python -m flows.bench --words 2000000 [--json OUT] [--no-nlp] [--workers N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import psutil

from flows import PROJECT_ROOT

STAGES = ("load", "sentences", "nlp", "incidents", "validation", "publish")
# + what no stage covers: Prefect's per-task work and the flow's bookkeeping
REPORTED_STAGES = (*STAGES, "orchestration")
CORPUS_FOLDERS = ("bbc", "fakes")
METADATA = "metadata.csv"
NO_NLP_BOUND_WORDS = 1_000_000  # the ruler-only bound is measured on a sample this large
SAMPLE_SECONDS = 0.05
MB = 1 << 20


class BenchError(RuntimeError):
    """The benchmark cannot run (no seed corpus, not enough disk, a failed run)."""


def shared_dir() -> Path:
    """``../shared`` next to the project, or ``$SITREP_SHARED_DIR`` (as tests/conftest.py)."""
    return Path(os.environ.get("SITREP_SHARED_DIR", PROJECT_ROOT.parent / "shared"))


def seed_corpus_dir() -> Path:
    return shared_dir() / "corpus"


def git_revision() -> str | None:
    """``<commit>`` or ``<commit>+dirty`` of the project (None outside a git checkout)."""
    import subprocess

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                "flows",
                "transforms",
                "expectations",
            ],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{commit}+dirty" if dirty else commit


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- corpus


@dataclass(frozen=True)
class SeedFile:
    folder: str  # bbc | fakes
    name: str
    title: bytes  # first line, without its newline
    rest: bytes  # everything from the first newline on
    words: int  # whitespace-split words of the original file


@dataclass
class Corpus:
    root: Path
    files: int = 0
    words: int = 0
    bytes: int = 0
    copies: int = 0
    seconds: float = 0.0


def load_seeds(corpus_dir: Path) -> tuple[list[SeedFile], dict[str, bytes]]:
    """The seed articles (sorted; bbc then fakes) and each folder's metadata sidecar."""
    if not corpus_dir.is_dir():
        raise BenchError(
            f"seed corpus {corpus_dir} is absent: the benchmark replicates ../shared/corpus "
            "(bbc/ and fakes/ .txt files). Set SITREP_SHARED_DIR to the shared data folder."
        )
    seeds: list[SeedFile] = []
    sidecars: dict[str, bytes] = {}
    for folder in CORPUS_FOLDERS:
        path = corpus_dir / folder
        if not path.is_dir():
            continue
        if (path / METADATA).is_file():
            sidecars[folder] = (path / METADATA).read_bytes()
        for file in sorted(path.glob("*.txt")):
            data = file.read_bytes()
            words = len(data.decode("utf-8", errors="replace").split())
            if not words:
                continue
            cut = data.find(b"\n")
            title, rest = (data, b"") if cut < 0 else (data[:cut].rstrip(b"\r"), data[cut:])
            seeds.append(SeedFile(folder, file.name, title, rest, words))
    if not seeds:
        raise BenchError(f"seed corpus {corpus_dir} has no .txt articles in {'/ or '.join(CORPUS_FOLDERS)}/")
    return seeds, sidecars


def replicated_bytes(seed: SeedFile, number: int) -> bytes:
    """The seed's bytes with a unique one-token title suffix (a distinct document)."""
    return seed.title + f" #{number:07d}".encode() + seed.rest


def build_corpus(target_words: int, root: Path, seeds: list[SeedFile], sidecars: dict[str, bytes]) -> Corpus:
    """Write copies of the seeds under ``root`` until at least ``target_words`` words."""
    started = time.perf_counter()
    corpus = Corpus(root=root)
    root.mkdir(parents=True, exist_ok=True)
    copy = 0
    while corpus.words < target_words:
        made: set[str] = set()
        for seed in seeds:
            if corpus.words >= target_words:
                break
            folder = root / f"c{copy:05d}" / seed.folder
            if seed.folder not in made:
                folder.mkdir(parents=True, exist_ok=True)
                if seed.folder in sidecars:
                    (folder / METADATA).write_bytes(sidecars[seed.folder])
                made.add(seed.folder)
            data = replicated_bytes(seed, corpus.files)
            (folder / seed.name).write_bytes(data)
            corpus.files += 1
            corpus.words += seed.words + 1  # + the suffix token
            corpus.bytes += len(data)
            if corpus.files % 100_000 == 0:
                _log(f"corpus: {corpus.files:,} files, {corpus.words / 1e6:,.1f}M words written")
        copy += 1
    corpus.copies = copy
    corpus.seconds = time.perf_counter() - started
    return corpus


def estimated_disk_bytes(target_words: int, seeds: list[SeedFile], spill: bool) -> int:
    """Corpus (whole 4 KiB blocks per file) + warehouse (~3x the text) + text spill."""
    seed_words = sum(s.words for s in seeds)
    files = max(1, round(target_words / seed_words * len(seeds)))
    per_file = sum(len(s.title) + len(s.rest) + 9 for s in seeds) / len(seeds)
    corpus = files * (-(-int(per_file) // 4096) * 4096)
    text = files * per_file
    return int(corpus + 3 * text + (text if spill else 0))


# --------------------------------------------------------------------------- memory


class Monitor:
    """Samples the RSS of this process and its children in a thread (every 50 ms; the
    list of children and their PSS every second, as those reads are costlier); keeps the
    peak per stage label. Each thread sets its own label with :meth:`stage`: where the
    flow validates one batch while another thread waits for the workers to transform the
    next, a sample counts for both stages running."""

    def __init__(self, interval: float = SAMPLE_SECONDS, slow_every: int = 20):
        self.process = psutil.Process()
        self.interval = interval
        self.slow_every = slow_every
        self._labels: dict[int, str] = {}  # thread ident -> its current stage label
        self._labels_lock = threading.Lock()
        self.peak_rss: dict[str, int] = defaultdict(int)
        self.peak_pss: dict[str, int] = defaultdict(int)
        self.current_rss = 0
        self.max_children = 0
        self._processes: list[psutil.Process] = [self.process]
        self._ticks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)

    def __enter__(self) -> Monitor:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(psutil.Error):
                self._sample()

    def _active(self) -> set[str]:
        with self._labels_lock:
            return set(self._labels.values()) or {"setup"}

    def _sample(self) -> None:
        labels = self._active()
        slow = self._ticks % self.slow_every == 0
        self._ticks += 1
        if slow:
            with contextlib.suppress(psutil.Error):
                self._processes = [self.process, *self.process.children(recursive=True)]
            self.max_children = max(self.max_children, len(self._processes) - 1)
        rss = pss = 0
        for proc in self._processes:
            with contextlib.suppress(psutil.Error):
                if slow:
                    info = proc.memory_full_info()
                    pss += getattr(info, "pss", info.rss)
                else:
                    info = proc.memory_info()
                rss += info.rss
        self.current_rss = rss
        for label in labels:
            self.peak_rss[label] = max(self.peak_rss[label], rss)
            if slow:
                self.peak_pss[label] = max(self.peak_pss[label], pss)

    def _self_rss(self) -> None:
        """Cheap sample of this process alone (at stage boundaries, to catch short stages)."""
        with contextlib.suppress(psutil.Error):
            rss = self.process.memory_info().rss
            for label in self._active():
                self.peak_rss[label] = max(self.peak_rss[label], rss)

    @contextlib.contextmanager
    def stage(self, label: str) -> Iterator[None]:
        thread = threading.get_ident()
        with self._labels_lock:
            previous = self._labels.get(thread)
            self._labels[thread] = label
        self._self_rss()
        try:
            yield
        finally:
            self._self_rss()
            with self._labels_lock:
                if previous is None:
                    self._labels.pop(thread, None)
                else:
                    self._labels[thread] = previous

    def overall_peak_rss(self) -> int:
        """Largest sampled tree RSS, and never below this process's own high-water mark."""
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
        return max([own, *self.peak_rss.values()])


def _live_children_cpu(workers_only: bool = False) -> float:
    """CPU time of the live child processes (not yet counted by RUSAGE_CHILDREN); with
    ``workers_only``, of the transform worker processes (multiprocessing's children)."""
    total = 0.0
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if workers_only and "multiprocessing" not in " ".join(child.cmdline()):
                    continue
                times = child.cpu_times()
                total += times.user + times.system
    return total


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (spaCy's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Clock:
    """Wall and CPU seconds per stage, accumulated over batches (CPU time helps to read
    wall times measured on a busy machine)."""

    def __init__(self, monitor: Monitor):
        self.monitor = monitor
        self.seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self.cpu: dict[str, float] = dict.fromkeys(STAGES, 0.0)

    @contextlib.contextmanager
    def stage(self, name: str, wall: bool = True) -> Iterator[None]:
        with self.monitor.stage(name):
            started, cpu = time.perf_counter(), cpu_seconds()
            try:
                yield
            finally:
                self.cpu[name] = self.cpu.get(name, 0.0) + cpu_seconds() - cpu
                if wall:
                    self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


@contextlib.contextmanager
def _labelled_transforms(clock: Clock) -> Iterator[None]:
    """Label the stages inside ``build_tables`` (for per-stage peak RSS and CPU time) by
    wrapping the functions it calls; its wall times come from ``Tables.seconds``."""
    import transforms.pipeline as pipeline

    labels = {
        "build_documents": "sentences",
        "split_sentences": "sentences",
        "extract_mentions": "nlp",
        "build_entities": "incidents",
        "detect_incidents": "incidents",
    }
    originals: dict[str, Callable] = {}
    for name, label in labels.items():
        original = getattr(pipeline, name, None)
        if original is None:
            continue
        originals[name] = original

        def labelled(*args, _original=original, _label=label, **kwargs):
            with clock.stage(_label, wall=False):
                return _original(*args, **kwargs)

        setattr(pipeline, name, labelled)
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(pipeline, name, original)


# --------------------------------------------------------------------------- pipeline

# Stage of each task of flows/ingest.py (timed around ``task.fn``, i.e. without Prefect's
# own per-task work, which lands in ``orchestration``) and of the helpers the flow calls
# directly. ``transform-batch`` is split with ``Tables.seconds``. Names missing from a
# future flow are skipped: their time then shows up as ``orchestration``.
TASK_STAGES = {
    "prepare_candidate": "publish",
    "plan": "load",
    "apply_deletions": "publish",
    "load_batch": "load",
    "validate_batch": "validation",
    "write_batch": "publish",
    "finalize": "publish",
    "publish": "publish",
}
HELPER_STAGES = {"read_metadata": "load", "split_duplicates": "load", "quarantine_rows": "validation"}
ORCHESTRATION = REPORTED_STAGES[-1]


@dataclass
class PipelineRun:
    seconds: dict[str, float]
    cpu: dict[str, float]
    settings: object = None
    wall: float = 0.0  # run_ingest, start to end
    flow_call: float = 0.0  # the whole flow call (adds Prefect's start and flow-run overhead)
    result: dict = field(default_factory=dict)
    batches: int = 0
    batches_done: int = 0
    files_to_load: int = 0
    files_done: int = 0
    overhead: float = 0.0  # the harness's own work inside the run (spill, progress lines)
    cpu_total: float = 0.0  # this process and its reaped children, over run_ingest
    other_cpu: float = 0.0  # live child processes over run_ingest (the embedded Prefect server)
    spilled_words: int = 0
    spill_files: list[Path] = field(default_factory=list)
    error: str | None = None  # the flow failed (e.g. a rejected candidate): timings still count
    documents_written: int = 0  # seen by write_batch (also when the run fails later)

    @property
    def documents(self) -> int:
        return int((self.result.get("rows_written") or {}).get("documents", self.documents_written))

    @property
    def quarantined(self) -> int:
        return int(self.result.get("documents_quarantined", 0))


def _fmt_eta(seconds: float) -> str:
    seconds = int(seconds)
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
        if seconds >= 3600
        else f"{seconds // 60}m{seconds % 60:02d}s"
    )


@contextlib.contextmanager
def _patched(target: object, name: str, replacement: object) -> Iterator[None]:
    original = getattr(target, name)
    setattr(target, name, replacement)
    try:
        yield
    finally:
        setattr(target, name, original)


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _prefect_api():
    """The CLI's choice of Prefect API (embedded when a configured local server is down)."""
    try:
        from flows.cli import _reachable_prefect_api
    except ImportError:  # pragma: no cover - the CLI is part of the package
        return contextlib.nullcontext()
    return _reachable_prefect_api()


class FlowProbe:
    """Instruments flows/ingest.py at run time (never edits it): times its tasks' bodies
    and the helpers it calls into stages, spills the documents' text for the NLP bound,
    prints progress."""

    def __init__(self, clock: Clock, corpus: Corpus, spill_dir: Path | None, spill_words: int):
        self.clock = clock
        self.corpus = corpus
        self.spill_dir = spill_dir
        self.spill_words = spill_words
        self.run = PipelineRun(seconds=clock.seconds, cpu=clock.cpu)
        self._started = 0.0
        self._batch_clock: dict[str, float] = {}
        self._batch_started = 0.0

    def timed(self, function: Callable, stage: str, after: Callable | None = None) -> Callable:
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with self.clock.stage(stage):
                value = function(*args, **kwargs)
            if after is not None:
                after(args, value)
            return value

        return wrapper

    def transform(self, function: Callable) -> Callable:
        clock = self.clock

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            workers_cpu = _live_children_cpu(workers_only=True)
            # the batch's memory peak (worker processes included) counts as "nlp" unless the
            # stages run in this process, where the labelled functions say which one
            with clock.monitor.stage("nlp"), _labelled_transforms(clock):
                tables = function(*args, **kwargs)
            elapsed = time.perf_counter() - started
            seconds = getattr(tables, "seconds", {}) or {}
            # CPU of the worker processes (flows/parallel.py) goes to the stages in the
            # proportions of their time; in this process the labelled functions counted it
            in_workers = max(0.0, _live_children_cpu(workers_only=True) - workers_cpu)
            if in_workers > 0 and sum(seconds.values()) > 0:
                for stage in ("sentences", "nlp", "incidents"):
                    clock.cpu[stage] += in_workers * seconds.get(stage, 0.0) / sum(seconds.values())
            for stage in ("sentences", "nlp", "incidents"):
                clock.seconds[stage] += seconds.get(stage, 0.0)
            # outside build_tables' own clocks (resources lookup, call overhead): microseconds
            clock.seconds["sentences"] += max(0.0, elapsed - sum(seconds.values()))
            self._spill(tables)
            return tables

        return wrapper

    def run_ingest(self, function: Callable) -> Callable:
        @functools.wraps(function)
        def wrapper(settings, *args, **kwargs):
            self.run.settings = settings
            self._started = self._batch_started = time.perf_counter()
            self._batch_clock = dict(self.clock.seconds)
            cpu, other = cpu_seconds(), _live_children_cpu()
            try:
                with self.clock.monitor.stage(ORCHESTRATION):
                    return function(settings, *args, **kwargs)
            finally:
                self.run.wall = time.perf_counter() - self._started
                self.run.cpu_total = cpu_seconds() - cpu
                self.run.other_cpu = max(0.0, _live_children_cpu() - other)

        return wrapper

    def _planned(self, args: tuple, refresh) -> None:
        settings = self.run.settings or (args[1] if len(args) > 1 else None)
        chunk = getattr(settings, "chunk_documents", 1) or 1
        self.run.files_to_load = len(getattr(refresh, "to_load", []))
        self.run.batches = -(-self.run.files_to_load // chunk)
        _log(
            f"planned {getattr(refresh, 'files_seen', 0):,} files ({getattr(refresh, 'new', 0):,} new, "
            f"{getattr(refresh, 'unchanged', 0):,} unchanged) in {self.clock.seconds['load']:.1f} s; "
            f"{self.run.files_to_load:,} to load in {self.run.batches:,} batches of {chunk:,}"
        )

    def _loaded(self, args: tuple, value) -> None:
        self.run.files_done += len(args[0]) if args else 0

    def _written(self, args: tuple, value) -> None:
        tables = args[1] if len(args) > 1 else {}
        if "documents" not in tables and self.run.batches_done >= self.run.batches:
            return  # the quarantine of unreadable files, after the batches
        self.run.documents_written += tables["documents"].height if "documents" in tables else 0
        started = time.perf_counter()
        self.run.batches_done += 1
        now = time.perf_counter()
        seconds = self.clock.seconds
        delta = {s: seconds[s] - self._batch_clock.get(s, 0.0) for s in STAGES}
        so_far = now - self._started
        words = self.run.files_done * self.corpus.words / max(self.corpus.files, 1)
        left = self.run.files_to_load - self.run.files_done
        eta = so_far / max(self.run.files_done, 1) * left
        other = now - self._batch_started - sum(delta.values())  # Prefect + flow bookkeeping
        _log(
            f"batch {self.run.batches_done}/{self.run.batches}: {now - self._batch_started:.1f} s ("
            + " ".join(f"{s[:4]} {delta[s]:.2f}" for s in STAGES)
            + f" orch {other:.2f}) | {words / 1e6:,.1f}M/{self.corpus.words / 1e6:,.1f}M words, "
            f"{words / max(so_far, 1e-9):,.0f} words/s | rss {self.clock.monitor.current_rss / MB:,.0f} MB"
            f" | eta {_fmt_eta(eta)}"
        )
        self._batch_clock = dict(seconds)
        self._batch_started = now
        self.run.overhead += time.perf_counter() - started

    def _spill(self, tables) -> None:
        if self.spill_dir is None or self.run.spilled_words >= self.spill_words:
            return
        documents = getattr(tables, "documents", None)
        if documents is None or documents.is_empty():
            return
        started = time.perf_counter()
        texts = documents.select("text")
        path = self.spill_dir / f"{len(self.run.spill_files):06d}.parquet"
        texts.write_parquet(path)
        self.run.spill_files.append(path)
        self.run.spilled_words += int(texts.select(pl.col("text").str.count_matches(r"\S+").sum()).item())
        self.run.overhead += time.perf_counter() - started

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        from flows import ingest as flow

        hooks = {"plan": self._planned, "load_batch": self._loaded, "write_batch": self._written}
        with contextlib.ExitStack() as stack:
            for name, stage in TASK_STAGES.items():
                task = getattr(flow, name, None)
                if getattr(task, "fn", None) is None:
                    _log(f"note: flows.ingest has no task {name!r}; its time counts as {ORCHESTRATION}")
                    continue
                stack.enter_context(_patched(task, "fn", self.timed(task.fn, stage, hooks.get(name))))
            task = getattr(flow, "transform_batch", None)
            if getattr(task, "fn", None) is not None:
                stack.enter_context(_patched(task, "fn", self.transform(task.fn)))
            for name, stage in HELPER_STAGES.items():
                if callable(getattr(flow, name, None)):
                    stack.enter_context(_patched(flow, name, self.timed(getattr(flow, name), stage)))
            stack.enter_context(_patched(flow, "run_ingest", self.run_ingest(flow.run_ingest)))
            yield


def run_pipeline(
    corpus: Corpus,
    warehouse: Path,
    nlp: bool,
    clock: Clock,
    spill_dir: Path | None,
    spill_words: int,
    environment: dict[str, str],
) -> PipelineRun:
    """Run the real Prefect flow ``ingest`` (flows/ingest.py) on the corpus, instrumented
    by :class:`FlowProbe`. ``orchestration`` is what the stages do not cover: Prefect's
    per-task work and the flow's own bookkeeping."""
    from flows.ingest import ingest

    probe = FlowProbe(clock, corpus, spill_dir, spill_words)
    with _environment(**environment), probe.installed(), _prefect_api():
        started = time.perf_counter()
        try:
            probe.run.result = ingest(source=str(corpus.root), warehouse=str(warehouse), nlp=nlp)
        except Exception as error:  # a rejected run still measured every stage it went through
            probe.run.error = f"{type(error).__name__}: {error}"
            _log(f"the ingest run FAILED: {probe.run.error}")
        probe.run.flow_call = time.perf_counter() - started
    run = probe.run
    if run.settings is None:
        raise BenchError(
            "the ingest flow did not reach flows.ingest.run_ingest, the harness cannot time it"
            + (f": {run.error}" if run.error else "")
        )
    run.seconds[ORCHESTRATION] = max(0.0, run.wall - run.overhead - sum(run.seconds[s] for s in STAGES))
    run.cpu[ORCHESTRATION] = max(0.0, run.cpu_total - sum(run.cpu[s] for s in STAGES))
    return run


# --------------------------------------------------------------------------- NLP bound


@dataclass
class BoundRun:
    words: int
    documents: int
    seconds: float
    cpu: float = 0.0


def run_nlp_bound(
    nlp, spill_files: list[Path], words: int, batch_size: int, n_process: int, ruler=None
) -> BoundRun:
    """One bare, streaming ``nlp.pipe`` over the spilled document texts; without the model,
    the pipeline's :class:`~transforms.nlp.TextRuler` over each spilled batch instead."""

    def texts() -> Iterator[str]:
        for path in spill_files:
            yield from pl.read_parquet(path)["text"]

    documents = 0
    started, cpu = time.perf_counter(), cpu_seconds()
    if ruler is not None:
        for path in spill_files:
            documents += len(ruler(pl.read_parquet(path)["text"].to_list()))
        return BoundRun(words, documents, time.perf_counter() - started, cpu_seconds() - cpu)
    last = started
    for doc in nlp.pipe(texts(), batch_size=batch_size, n_process=n_process):
        documents += 1
        _ = doc.ents
        now = time.perf_counter()
        if now - last >= 30:
            last = now
            _log(f"nlp bound: {documents:,} documents, {now - started:.0f} s")
    return BoundRun(words, documents, time.perf_counter() - started, cpu_seconds() - cpu)


# --------------------------------------------------------------------------- report


def _rate(words: float, seconds: float) -> float:
    return words / seconds if seconds > 0 else 0.0


def format_table(result: dict) -> str:
    lines = [
        *(
            [f"THE INGEST RUN FAILED (timings up to the failure): {result['error']}", ""]
            if result["error"]
            else []
        ),
        f"sitrep bench: {result['words']:,} words, {result['documents']:,} documents, "
        f"nlp={'on' if result['nlp'] else 'off'} ({result['model']}), workers={result['workers']}, "
        f"batch size {result['nlp_batch_size']}, chunk {result['chunk_documents']:,} documents",
        "",
        f"| {'stage':<16} | {'seconds':>9} | {'share':>6} | {'words/s':>12} | {'peak RSS MB':>11} | {'CPU s':>8} |",
        f"|{'-' * 18}|{'-' * 11}|{'-' * 8}|{'-' * 14}|{'-' * 13}|{'-' * 10}|",
    ]
    total = result["pipeline_seconds"]
    for stage, row in result["stages"].items():
        share = row["seconds"] / total * 100 if total else 0.0
        rss = "(in nlp)" if row["peak_rss_mb"] is None else f"{row['peak_rss_mb']:,.0f}"
        lines.append(
            f"| {stage:<16} | {row['seconds']:>9.2f} | {share:>5.1f}% | {row['words_per_s']:>12,.0f} | "
            f"{rss:>11} | {row['cpu_seconds']:>8.1f} |"
        )
    lines.append(
        f"| {'pipeline':<16} | {total:>9.2f} | {100.0:>5.1f}% | {result['pipeline_words_per_s']:>12,.0f} | "
        f"{result['pipeline_peak_rss_mb']:>11,.0f} | {result['pipeline_cpu_seconds']:>8.1f} |"
    )
    bound = result["nlp_bound"]
    if bound["seconds"]:
        lines.append(
            f"| {'nlp bound':<16} | {bound['seconds']:>9.2f} | {'':>6} | {result['nlp_bound_words_per_s']:>12,.0f} | "
            f"{bound['peak_rss_mb']:>11,.0f} | {bound['cpu_seconds']:>8.1f} |"
        )
    overlap = sum(row["seconds"] for row in result["stages"].values()) - total
    lines += [
        *(
            [
                f"(the stages overlap by {overlap:.2f} s: worker processes transform the next batch "
                "while the flow validates and writes one)"
            ]
            if overlap > 0.01
            else []
        ),
        "",
        f"pipeline / NLP bound = {result['pipeline_to_nlp_ratio'] or 0:.3f} on wall time, "
        f"{result['pipeline_to_nlp_cpu_ratio'] or 0:.3f} on CPU time"
        + (f" (bound on {bound['words']:,} words)" if bound["words"] != result["words"] else ""),
        f"peak RSS {result['peak_rss_mb']:,.0f} MB (process tree; PSS {result['peak_pss_mb']:,.0f} MB, "
        f"{result['max_child_processes']} child processes at most); setup {result['setup_seconds']:.1f} s, "
        f"corpus build {result['corpus_build_seconds']:.1f} s; load average before/after "
        f"{result['load_average'][0]:.1f}/{result['load_average'][1]:.1f} on {result['cpu_count']} CPUs",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- command


def _terminate(signum, frame) -> None:
    raise SystemExit(128 + signum)


def command(
    words: int,
    json_out: Path | None,
    nlp: bool = True,
    workers: int | None = None,
    keep: bool = False,
    bound_words: int | None = None,
) -> dict:
    """Build a corpus of at least ``words`` words, run the ingest code path on it and the
    bare ``nlp.pipe`` bound on the same text; print the stage table, write ``json_out``.

    ``workers`` overrides ``SITREP_NLP_WORKERS`` (spaCy processes; used by the pipeline
    only when the model runs, by the bound likewise). ``keep`` leaves the temporary corpus
    and warehouse in place (printed). ``bound_words`` caps the text of the NLP bound
    (default: all of it with the model, 1M words without). Returns the JSON document.
    """
    from flows.settings import Settings

    if words < 1:
        raise BenchError("--words must be at least 1")
    seeds, sidecars = load_seeds(seed_corpus_dir())
    overrides: dict = {"nlp_enabled": nlp}
    if workers is not None:
        overrides["nlp_workers"] = workers
    base = Settings(**overrides)
    if bound_words is None:
        bound_words = words if nlp else NO_NLP_BOUND_WORDS
    root = Path(tempfile.mkdtemp(prefix="sitrep-bench-"))
    previous_handler = None
    if threading.current_thread() is threading.main_thread():
        # `kill` (SIGTERM) cleans up too: the temporary folder, spaCy's workers, Prefect's server
        previous_handler = signal.signal(signal.SIGTERM, _terminate)
    try:
        needed = estimated_disk_bytes(words, seeds, spill=bound_words > 0)
        free = shutil.disk_usage(root).free
        if needed * 1.2 + (2 << 30) > free:
            raise BenchError(
                f"not enough disk in {root.parent}: the run needs about {needed / 2**30:,.1f} GiB "
                f"(+20% and 2 GiB headroom), {free / 2**30:,.1f} GiB free; set TMPDIR elsewhere"
            )
        _log(f"building a corpus of {words:,} words in {root} (about {needed / 2**30:,.2f} GiB on disk)")
        corpus = build_corpus(words, root / "corpus", seeds, sidecars)
        _log(
            f"corpus: {corpus.files:,} files, {corpus.words:,} words, {corpus.bytes / MB:,.0f} MB, "
            f"{corpus.copies} copies, {corpus.seconds:.1f} s"
        )
        warehouse = root / "warehouse" / "sitrep.duckdb"
        spill_dir = root / "spill"
        spill_dir.mkdir()
        environment = {"SITREP_NLP_WORKERS": str(workers)} if workers is not None else {}

        load_before = os.getloadavg()[0]
        revision = git_revision()
        with Monitor() as monitor:
            setup_started = time.perf_counter()
            from expectations.runner import _context
            from transforms.pipeline import load_resources, pipeline_version

            _log(f"setup: loading {base.spacy_model if nlp else 'the gazetteer ruler'}, gazetteer, GX")
            resources = load_resources(base.spacy_model, nlp, base.cache_dir)
            _context()
            import flows.ingest  # noqa: F401  (Prefect and the flow module)

            setup_seconds = time.perf_counter() - setup_started

            clock = Clock(monitor)
            run = run_pipeline(
                corpus,
                warehouse,
                nlp,
                clock,
                spill_dir if bound_words > 0 else None,
                bound_words,
                environment,
            )
            settings = run.settings
            n_process = settings.nlp_workers
            bound = BoundRun(0, 0, 0.0)
            if run.spill_files:
                _log(
                    f"nlp bound: bare {'nlp.pipe' if nlp else 'TextRuler'} on {run.spilled_words:,} words, batch size "
                    f"{settings.nlp_batch_size}, n_process {n_process}"
                )
                with monitor.stage("nlp_bound"):
                    bound = run_nlp_bound(
                        resources.nlp,
                        run.spill_files,
                        run.spilled_words,
                        settings.nlp_batch_size,
                        n_process,
                        ruler=resources.ruler,
                    )
        if run.documents != corpus.files:
            _log(
                f"warning: {corpus.files:,} files but {run.documents:,} documents ({run.quarantined:,} quarantined)"
            )

        # the flow's wall time: with worker processes the next batch's transform runs while
        # this one is validated and written, so the stages then add up to more than it
        pipeline_seconds = max(0.0, run.wall - run.overhead)
        pipeline_rate = _rate(corpus.words, pipeline_seconds)
        bound_rate = _rate(bound.words, bound.seconds)
        pipeline_cpu = max(run.cpu_total, sum(run.cpu[s] for s in REPORTED_STAGES))
        cpu_ratio = _rate(corpus.words, pipeline_cpu) / _rate(bound.words, bound.cpu) if bound.cpu else None
        stages = {
            stage: {
                "seconds": round(run.seconds[stage], 3),
                "words_per_s": round(_rate(corpus.words, run.seconds[stage]), 1),
                # None: the stage ran only in worker processes, sampled under "nlp"
                "peak_rss_mb": round(monitor.peak_rss[stage] / MB, 1)
                if monitor.peak_rss.get(stage)
                else None,
                "cpu_seconds": round(run.cpu[stage], 3),
            }
            for stage in REPORTED_STAGES
        }
        result = {
            "status": "failed" if run.error else run.result.get("status", "published"),
            "error": run.error,
            "words": corpus.words,
            "documents": run.documents,
            "pipeline_words_per_s": round(pipeline_rate, 1),
            "nlp_bound_words_per_s": round(bound_rate, 1),
            "pipeline_to_nlp_ratio": round(pipeline_rate / bound_rate, 4) if bound_rate else None,
            "peak_rss_mb": round(monitor.overall_peak_rss() / MB, 1),
            "stages": stages,
            # context
            "files": corpus.files,
            "quarantined": run.quarantined,
            "rows": run.result.get("table_rows", {}),
            "batches": run.batches,
            "pipeline_seconds": round(pipeline_seconds, 3),
            "pipeline_cpu_seconds": round(pipeline_cpu, 3),
            # the same ratio on CPU time (this process + spaCy workers): robust to a busy machine
            "pipeline_to_nlp_cpu_ratio": round(cpu_ratio, 4) if cpu_ratio else None,
            "pipeline_peak_rss_mb": round(max(monitor.peak_rss.get(s, 0) for s in REPORTED_STAGES) / MB, 1),
            "flow_call_seconds": round(run.flow_call, 3),  # + Prefect's start and flow-run overhead
            "prefect_server_cpu_seconds": round(run.other_cpu, 3),
            "peak_pss_mb": round(max(monitor.peak_pss.values(), default=0) / MB, 1),
            "max_child_processes": monitor.max_children,
            "setup_seconds": round(setup_seconds, 3),
            "corpus_build_seconds": round(corpus.seconds, 3),
            "nlp_bound": {
                "words": bound.words,
                "documents": bound.documents,
                "seconds": round(bound.seconds, 3),
                "cpu_seconds": round(bound.cpu, 3),
                "peak_rss_mb": round(monitor.peak_rss.get("nlp_bound", 0) / MB, 1),
            },
            "nlp": nlp,
            "model": settings.spacy_model if nlp else "gazetteer ruler on plain text",
            "workers": settings.nlp_workers,
            "nlp_batch_size": settings.nlp_batch_size,
            "chunk_documents": settings.chunk_documents,
            "pipeline_version": pipeline_version(settings.spacy_model, settings.nlp_enabled),
            "git_revision": revision,
            "cpu_count": os.cpu_count(),
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "kept": str(root) if keep else None,
        }
        print(format_table(result))
        if json_out is not None:
            json_out = Path(json_out)
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
            _log(f"wrote {json_out}")
        return result
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
        if keep:
            _log(f"kept {root} (corpus/, warehouse/sitrep.duckdb, spill/)")
        else:
            shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--words", type=int, required=True, help="Corpus size in words (at least).")
    parser.add_argument("--json", type=Path, default=None, help="Write the results as JSON here.")
    parser.add_argument("--no-nlp", dest="nlp", action="store_false", help="Rules and gazetteers only.")
    parser.add_argument("--workers", type=int, default=None, help="spaCy processes (SITREP_NLP_WORKERS).")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary corpus and warehouse.")
    parser.add_argument(
        "--bound-words", type=int, default=None, help="Cap the text of the NLP bound (0: skip)."
    )
    args = parser.parse_args(argv)
    try:
        result = command(
            args.words,
            args.json,
            nlp=args.nlp,
            workers=args.workers,
            keep=args.keep,
            bound_words=args.bound_words,
        )
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    return 3 if result["error"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
