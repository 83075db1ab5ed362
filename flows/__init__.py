"""Prefect flows and the command line: the only layer that does I/O.

Importing this package sets Prefect's defaults for this project (each only when the
environment does not set it already): a project-local ``PREFECT_HOME``, no telemetry, and
a start-up timeout that fits the ephemeral API server on a fresh database (8-20 s).
"""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

PREFECT_DEFAULTS = {
    "PREFECT_HOME": str(PROJECT_ROOT / ".prefect"),
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_LOGGING_LOG_PRINTS": "true",
}
for _name, _value in PREFECT_DEFAULTS.items():
    os.environ.setdefault(_name, _value)
