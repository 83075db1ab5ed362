"""``make serve``: a local Prefect server, the ``ingest/nightly`` deployment and a worker.

Runs in the foreground until Ctrl-C (SIGINT) or SIGTERM, then stops everything it started.

1. ``prefect server start`` on 127.0.0.1 (SQLite; state in ``.prefect/server/``, git-ignored;
   telemetry off), polled until ``/api/health`` answers.
2. A project-local ``prefect.toml`` pointing at that server is written, so that
   ``uv run prefect deployment run 'ingest/nightly' --watch`` from another shell in the
   project folder reaches it with no environment set by hand. It is removed on exit (and
   ``sitrep ingest`` ignores a stale one left by a killed ``make serve``).
3. The ``sitrep-local`` process work pool is created and ``prefect.yaml`` is deployed
   (schedule and concurrency limit 1 included); redeploying on every start keeps the
   schedule in step with ``prefect.yaml``. The server's database keeps it across restarts.
4. ``prefect worker start`` executes the runs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from flows import PROJECT_ROOT

PREFECT_TOML = "prefect.toml"
MARKER = "# Written by `make serve` (flows/serve.py)"
POOL = "sitrep-local"


def prefect_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "prefect", *args]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def is_healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def wait_healthy(api_url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the Prefect server exited with code {process.returncode} before it was healthy"
            )
        if is_healthy(api_url):
            return
        time.sleep(0.5)
    raise RuntimeError(f"the Prefect server did not answer {api_url}/health within {timeout:.0f} s")


def write_prefect_toml(project: Path, api_url: str) -> Path:
    path = project / PREFECT_TOML
    if path.exists() and not path.read_text(encoding="utf-8").startswith(MARKER):
        raise RuntimeError(f"{path} exists and was not written by make serve; move it away first")
    path.write_text(
        f"{MARKER} while the local Prefect server runs;\n"
        "# removed when it stops. It points the `prefect` CLI of this folder at that server.\n"
        f'[api]\nurl = "{api_url}"\n',
        encoding="utf-8",
    )
    return path


def remove_prefect_toml(project: Path) -> None:
    path = project / PREFECT_TOML
    with contextlib.suppress(FileNotFoundError):
        if path.read_text(encoding="utf-8").startswith(MARKER):
            path.unlink()


def stop(process: subprocess.Popen | None, name: str, timeout: float = 20.0) -> None:
    """SIGTERM the process group, then SIGKILL after ``timeout`` seconds."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        print(f"{name} did not stop in {timeout:.0f} s; killing it", flush=True)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def serve(project: Path, port: int, cron: str | None, timezone: str | None, startup_timeout: float) -> int:
    api_url = f"http://127.0.0.1:{port}/api"
    if not port_is_free(port):
        print(
            f"port {port} on 127.0.0.1 is in use: stop what uses it or set SITREP_PREFECT_PORT",
            file=sys.stderr,
        )
        return 2
    home = project / ".prefect" / "server"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PWD": str(project),  # resolves {{ $PWD }} in prefect.yaml to this project
    }
    stopping = False

    def request_stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    server = worker = None
    try:
        print(
            f"starting the Prefect server on {api_url} (state in {home.relative_to(project)}) ...", flush=True
        )
        server = subprocess.Popen(
            prefect_command("server", "start", "--host", "127.0.0.1", "--port", str(port)),
            cwd=project,
            env=env,
            start_new_session=True,
        )
        wait_healthy(api_url, server, startup_timeout)
        write_prefect_toml(project, api_url)
        subprocess.run(
            prefect_command("work-pool", "create", POOL, "--type", "process", "--overwrite"),
            cwd=project, env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deploy = prefect_command("--no-prompt", "deploy", "--name", "nightly")
        if cron:
            deploy += ["--cron", cron]
        if timezone:
            deploy += ["--timezone", timezone]
        subprocess.run(deploy, cwd=project, env=env, check=True)
        worker = subprocess.Popen(
            prefect_command("worker", "start", "--pool", POOL, "--type", "process"),
            cwd=project,
            env=env,
            start_new_session=True,
        )
        print(
            "\nsitrep nightly deployment is served.\n"
            f"  UI:      http://127.0.0.1:{port}\n"
            "  trigger: uv run prefect deployment run 'ingest/nightly' --watch\n"
            "  stop:    Ctrl-C\n",
            flush=True,
        )
        while not stopping:
            for name, process in (("server", server), ("worker", worker)):
                if process.poll() is not None:
                    print(
                        f"the Prefect {name} exited with code {process.returncode}; stopping", file=sys.stderr
                    )
                    return 1
            time.sleep(0.5)
        print("stopping the worker and the server ...", flush=True)
        return 0
    except (RuntimeError, subprocess.CalledProcessError) as error:
        print(f"make serve failed: {error}", file=sys.stderr)
        return 1
    finally:
        stop(worker, "worker")
        stop(server, "server")
        remove_prefect_toml(project)
        print("stopped.", flush=True)


def main(argv: list[str] | None = None) -> int:
    from flows.settings import Settings

    settings = Settings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=settings.prefect_port)
    parser.add_argument("--project", type=Path, default=PROJECT_ROOT)
    parser.add_argument("--cron", default=settings.nightly_cron, help="override the schedule in prefect.yaml")
    parser.add_argument(
        "--timezone", default=settings.nightly_timezone, help="override the schedule's timezone"
    )
    parser.add_argument("--startup-timeout", type=float, default=90.0)
    args = parser.parse_args(argv)
    return serve(args.project.resolve(), args.port, args.cron, args.timezone, args.startup_timeout)


if __name__ == "__main__":
    sys.exit(main())
