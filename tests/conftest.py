"""Shared fixtures: paths to the project, its seeds and the optional ../shared data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import flows  # noqa: F401  (Prefect defaults: project-local home, no telemetry)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEEDS = PROJECT_ROOT / "seeds"
SHARED = Path(os.environ.get("SITREP_SHARED_DIR", PROJECT_ROOT.parent / "shared"))
FOUNDING_ARTICLE = SEEDS / "000_84c68ebb345634ad.txt"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with the reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (set SITREP_SHARED_DIR to the shared data folder)")
    return path


@pytest.fixture(scope="session")
def resources(tmp_path_factory):
    """The real spaCy model, gazetteer and lexicons (loaded once per test session)."""
    from transforms.pipeline import load_resources

    return load_resources("en_core_web_sm", True, PROJECT_ROOT / ".cache")
