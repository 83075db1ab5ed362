"""Reading the source folder: which files are there, their bytes and their hashes."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from transforms.documents import METADATA_FILENAME, is_ignored, parse_metadata

HASH_CHUNK = 1 << 20


class SourceFolderError(RuntimeError):
    """The source folder is missing or is not a folder."""


@dataclass(frozen=True)
class SourceFile:
    """One file of the source folder."""

    path: str  # relative to the source folder, POSIX separators
    absolute: Path
    size: int  # -1 when the file could not be stat-ed (e.g. a dangling symlink)
    kind: str = "file"  # "file", or what else it is (fifo, socket, device): never read


def list_source_files(source_dir: Path) -> list[SourceFile]:
    """Every file under the folder (recursively, sorted), except hidden files and folders,
    READMEs and metadata sidecars."""
    if not source_dir.exists():
        raise SourceFolderError(f"source folder {source_dir} does not exist")
    if not source_dir.is_dir():
        raise SourceFolderError(f"source path {source_dir} is not a folder")
    found: list[SourceFile] = []
    for root, dirs, files in os.walk(source_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            absolute = Path(root) / name
            relative = absolute.relative_to(source_dir).as_posix()
            if is_ignored(relative):
                continue
            try:
                info = absolute.stat()
                size, kind = info.st_size, _kind(info.st_mode)
            except OSError:
                size, kind = -1, "file"
            found.append(SourceFile(relative, absolute, size, kind))
    found.sort(key=lambda f: f.path)
    return found


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def source_bytes(files: list[SourceFile]) -> int:
    """Total size of the (readable) source files."""
    return sum(f.size for f in files if f.size > 0)


def read_bytes(file: SourceFile, max_bytes: int) -> tuple[bytes | None, str | None, str | None]:
    """(data, sha256, error). Files over ``max_bytes`` are hashed but not returned. A FIFO,
    socket or device is never opened (reading a FIFO would block the run forever)."""
    if file.kind != "file":
        return None, None, f"not a regular file ({file.kind})"
    try:
        if file.size > max_bytes:
            digest = hashlib.sha256()
            with file.absolute.open("rb") as handle:
                while block := handle.read(HASH_CHUNK):
                    digest.update(block)
            return None, digest.hexdigest(), None
        data = file.absolute.read_bytes()
    except OSError as error:
        return None, None, f"{type(error).__name__}: {error.strerror or error}"
    return data, hashlib.sha256(data).hexdigest(), None


def read_metadata(source_dir: Path) -> dict[str, dict[str, str]]:
    """Rows of every ``metadata.csv`` sidecar, keyed by the described file's relative path."""
    rows: dict[str, dict[str, str]] = {}
    for sidecar in sorted(source_dir.rglob(METADATA_FILENAME)):
        folder = sidecar.parent.relative_to(source_dir).as_posix()
        try:
            parsed = parse_metadata(sidecar.read_bytes())
        except OSError:
            continue
        for name, row in parsed.items():
            key = name if folder in ("", ".") else f"{folder}/{name}"
            rows[key] = row
    return rows
