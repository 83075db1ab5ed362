"""The nightly deployment for real: `make serve`'s supervisor, a Prefect server, a process
worker, and `prefect deployment run 'ingest/nightly' --watch` from a "second shell".

The project is copied to a temporary folder (as a user's clone), the supervisor
(`python -m flows.serve`, what `make serve` runs) is started there on a free port, and
every process it started is stopped at the end, also when an assertion fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.model, pytest.mark.timeout(900)]

NEW_ARTICLES = {
    "inbox_new_1.txt": (
        "Shelling hits market in frontline town\n\n"
        "Artillery shelling struck a market in Kramatorsk on Tuesday, killing three civilians, "
        "local officials said. Emergency services put out fires in several shops."
    ),
    "inbox_new_2.txt": (
        "Militants ambush army convoy\n\n"
        "Militants ambushed an army convoy near Maiduguri on Monday. Five soldiers were killed "
        "in the exchange of fire, a military source said."
    ),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_project(target: Path) -> Path:
    """The tracked files of the project (what a clone holds), without the environment."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=False)
    if listed.returncode == 0 and listed.stdout:
        for name in listed.stdout.decode().split("\0"):
            if name and (PROJECT_ROOT / name).is_file():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(PROJECT_ROOT / name, target / name)
    else:  # not a git checkout: copy the project folders
        for name in (
            "flows",
            "transforms",
            "expectations",
            "warehouse",
            "seeds",
            "prefect.yaml",
            "pyproject.toml",
        ):
            source = PROJECT_ROOT / name
            if source.is_dir():
                shutil.copytree(
                    source, target / name, ignore=shutil.ignore_patterns("*.duckdb*", "__pycache__")
                )
            else:
                shutil.copy2(source, target / name)
    return target


class Supervisor:
    """`python -m flows.serve` in a project folder, started and stopped like `make serve`."""

    def __init__(self, project: Path, port: int, env: dict[str, str]):
        self.project, self.port, self.env = project, port, env
        self.process: subprocess.Popen | None = None
        self.log = project / f"serve-{port}.log"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self, timeout: float = 180) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flows.serve", "--port", str(self.port), "--project", str(self.project)],
            cwd=self.project,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"make serve exited early:\n{self.log.read_text()[-3000:]}")
            output = self.log.read_bytes()[offset:].decode(errors="replace")
            if "Worker '" in output and "started!" in output:
                return
            time.sleep(1)
        raise AssertionError(f"make serve not ready in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Ctrl-C, as a user would; SIGKILL the whole group if it does not stop."""
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def second_shell_env(tmp_path: Path) -> dict[str, str]:
    """A user's other terminal: no Prefect settings in the environment at all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "other-shell-home")
    return env


def prefect_cli(
    *args: str, cwd: Path, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "prefect", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read(warehouse: Path, sql: str) -> pl.DataFrame:
    with contextlib.closing(duckdb.connect(str(warehouse), read_only=True)) as con:
        return con.sql(sql).pl()


async def _deployment(api_url: str):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        async with get_client() as client:
            deployment = await client.read_deployment_by_name("ingest/nightly")
            runs = await client.read_flow_runs()
            # the scheduler pre-creates the next nightly runs: only count the triggered ones
            return deployment, [r for r in runs if not r.auto_scheduled]


def test_nightly_deployment_end_to_end(tmp_path):
    project = copy_project(tmp_path / "project")
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_PREFETCH_SECONDS": "1",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    }
    env.pop("PREFECT_API_URL", None)
    supervisor = Supervisor(project, port, env)
    shell = second_shell_env(tmp_path)
    warehouse = project / "warehouse" / "sitrep.duckdb"
    try:
        supervisor.start()
        assert (project / "prefect.toml").read_text().count(supervisor.api_url) == 1

        # -- the schedule exists on the deployment (read through the API)
        deployment, _ = asyncio.run(_deployment(supervisor.api_url))
        assert deployment.name == "nightly"
        assert not deployment.paused
        assert [(s.schedule.cron, s.schedule.timezone, s.active) for s in deployment.schedules] == [
            ("0 2 * * *", "UTC", True)
        ]
        assert deployment.global_concurrency_limit.limit == 1
        assert deployment.parameters == {"source": "seeds", "warehouse": "warehouse/sitrep.duckdb"}

        # -- first run from a second shell with no environment: reaches the server via prefect.toml
        first = prefect_cli(
            "deployment", "run", "ingest/nightly", "--watch", "--watch-interval", "1", cwd=project, env=shell
        )
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        assert "Completed" in first.stdout
        runs = read(warehouse, "SELECT * FROM runs ORDER BY started_at")
        assert runs.select("status", "documents_seen", "documents_new", "validation_success").rows() == [
            ("published", 23, 23, True)
        ]
        assert runs["flow_run_id"][0] is not None
        assert read(warehouse, "SELECT count(*) AS n FROM documents")["n"][0] == 23
        before = read(warehouse, "SELECT * FROM sentences ORDER BY sentence_id")
        before_docs = read(
            warehouse, "SELECT doc_id, source_path, run_id FROM documents ORDER BY source_path"
        )

        # -- two new articles and one changed: only those three are processed
        for name, text in NEW_ARTICLES.items():
            (project / "seeds" / name).write_text(text, encoding="utf-8")
        changed = project / "seeds" / "fakes_0149.txt"
        changed.write_text(
            changed.read_text(encoding="utf-8") + "\nThe monitor later revised the toll.", encoding="utf-8"
        )
        second = prefect_cli(
            "deployment", "run", "ingest/nightly", "--watch", "--watch-interval", "1", cwd=project, env=shell
        )
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
        last = read(warehouse, "SELECT * FROM runs ORDER BY started_at DESC LIMIT 1").row(0, named=True)
        assert (
            last["documents_seen"],
            last["documents_new"],
            last["documents_changed"],
            last["documents_unchanged"],
        ) == (25, 2, 1, 22)
        assert last["documents_reprocessed"] == 0
        after_docs = read(warehouse, "SELECT doc_id, source_path, run_id FROM documents ORDER BY source_path")
        assert len(after_docs) == 25
        untouched = before_docs.filter(pl.col("source_path") != "fakes_0149.txt")
        assert after_docs.join(untouched, on=["doc_id", "source_path", "run_id"]).height == 22
        after = read(warehouse, "SELECT * FROM sentences ORDER BY sentence_id")
        kept_ids = untouched["doc_id"].implode()
        assert after.filter(pl.col("doc_id").is_in(kept_ids)).equals(
            before.filter(pl.col("doc_id").is_in(kept_ids))
        )
        new_docs = after_docs.filter(pl.col("source_path").is_in([*list(NEW_ARTICLES), "fakes_0149.txt"]))
        assert new_docs["run_id"].unique().to_list() == [last["run_id"]]
        shelling = read(
            warehouse,
            "SELECT sub_event_type, location, country, fatalities FROM incidents i JOIN documents d USING (doc_id) "
            "WHERE d.source_path = 'inbox_new_1.txt' ORDER BY i.char_start",
        )
        assert shelling.rows() == [("Shelling/artillery/missile attack", "Kramatorsk", "Ukraine", 3)]

        # -- two triggers at once: the second waits for the first (concurrency limit 1)
        triggered = [
            prefect_cli("deployment", "run", "ingest/nightly", cwd=project, env=shell) for _ in range(2)
        ]
        assert all(t.returncode == 0 for t in triggered), [t.stdout + t.stderr for t in triggered]
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline:
            _, flow_runs = asyncio.run(_deployment(supervisor.api_url))
            if len(flow_runs) >= 4 and all(r.state and r.state.is_final() for r in flow_runs):
                break
            time.sleep(2)
        _, flow_runs = asyncio.run(_deployment(supervisor.api_url))
        assert len(flow_runs) == 4
        assert all(r.state.is_completed() for r in flow_runs), [r.state for r in flow_runs]
        spans = sorted((r.start_time, r.end_time) for r in flow_runs)
        for (_, first_end), (second_start, _) in itertools.pairwise(spans):
            assert first_end <= second_start, "two nightly runs overlapped"
        rows = read(warehouse, "SELECT started_at, ended_at, status FROM runs ORDER BY started_at")
        assert rows["status"].to_list() == ["published", "published", "unchanged", "unchanged"]
        ended = rows["ended_at"].to_list()
        started = rows["started_at"].to_list()
        assert all(isinstance(v, datetime) for v in ended)
        assert all(ended[i] <= started[i + 1] for i in range(len(rows) - 1))

        # -- restart make serve: the schedule is still there, active, and the history is kept
        supervisor.stop()
        assert supervisor.process.returncode == 0
        assert not (project / "prefect.toml").exists()
        supervisor.start()
        deployment, flow_runs = asyncio.run(_deployment(supervisor.api_url))
        assert not deployment.paused
        assert [(s.schedule.cron, s.active) for s in deployment.schedules] == [("0 2 * * *", True)]
        assert len([r for r in flow_runs if r.state and r.state.is_completed()]) == 4
    finally:
        supervisor.stop()
        log = supervisor.log.read_text(errors="replace") if supervisor.log.exists() else ""
    # every process the supervisor started is gone
    import psutil

    leftovers = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if ("prefect" in " ".join(cmdline) and str(port) in cmdline) or (
            "sitrep-local" in cmdline and str(project) in " ".join(cmdline)
        ):
            leftovers.append(cmdline)
    assert leftovers == [], log[-2000:]
