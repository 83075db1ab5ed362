"""Incremental refresh: what changed in the source folder since the published version.

Content hashes decide. A file whose hash equals the published one is skipped; a new or
changed file is (re)loaded and the rows of its previous version are replaced everywhere;
a file that disappeared is tombstoned (``documents.deleted_at``) and its derived rows are
removed. A quarantined file is retried when its bytes change, when it became readable, when
it now fits under a raised size cap, or (for duplicates) when this run removes or replaces
documents, since the document it duplicated may be gone; otherwise its quarantine row is
left exactly as it is, so that rerunning on the same input changes nothing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from flows.sources import SourceFile, list_source_files, read_bytes
from transforms.documents import Rejection, apply_metadata, parse_file, raw_documents_frame
from transforms.schemas import QUARANTINE, conform


@dataclass
class RefreshPlan:
    files_seen: int = 0
    to_load: list[SourceFile] = field(default_factory=list)
    new: int = 0
    changed: int = 0
    reprocessed: int = 0  # unchanged content, processed by an older pipeline version
    unchanged: int = 0
    quarantined_unchanged: int = 0  # quarantined records kept as they are (files not retried)
    replaced_doc_ids: list[str] = field(default_factory=list)  # rows to remove before loading
    deleted_doc_ids: list[str] = field(default_factory=list)  # documents to tombstone
    deleted_paths: list[str] = field(default_factory=list)
    dropped_quarantine_paths: list[str] = field(default_factory=list)
    known_doc_ids: dict[str, str] = field(default_factory=dict)  # kept current doc -> path
    unreadable: list[tuple[SourceFile, str]] = field(default_factory=list)


def plan_refresh(
    source_dir: Path,
    documents: pl.DataFrame,
    quarantine: pl.DataFrame,
    max_bytes: int,
    version: str,
    full_refresh: bool = False,
) -> RefreshPlan:
    """Compare the source folder with the candidate's current state. Files processed by
    another pipeline ``version`` (or all files, with ``full_refresh``) are processed again."""
    files = list_source_files(source_dir)
    current: dict[str, tuple[str, list[str]]] = {}
    stale: set[str] = set()  # paths processed by another pipeline version
    tombstoned: dict[str, list[str]] = defaultdict(list)
    for row in documents.iter_rows(named=True):
        if row["deleted_at"] is None:
            file_hash, ids = current.get(row["source_path"], (row["file_hash"], []))
            ids.append(row["doc_id"])
            current[row["source_path"]] = (file_hash, ids)
            if full_refresh or row["pipeline_version"] != version:
                stale.add(row["source_path"])
        else:
            tombstoned[row["source_path"]].append(row["doc_id"])
    held_any = set(quarantine["source_path"].to_list())
    held_rows = Counter(quarantine["source_path"].to_list())  # records quarantined per file
    held: dict[str, tuple[str | None, str, str]] = {
        row["source_path"]: (row["file_hash"], row["reason"], row["detail"])
        for row in quarantine.iter_rows(named=True)
        if not full_refresh and row["pipeline_version"] == version
    }
    plan = RefreshPlan(files_seen=len(files))
    present = set()
    held_duplicates: list[SourceFile] = []
    for file in files:
        present.add(file.path)
        _, file_hash, error = read_bytes(file, max_bytes)
        if error is not None:
            if file.path not in current and held.get(file.path) == (None, "unreadable_file", error):
                plan.quarantined_unchanged += held_rows[file.path]  # still unreadable, same reason
                continue
            plan.unreadable.append((file, error))
            if file.path in current:
                plan.replaced_doc_ids.extend(current[file.path][1])
            plan.dropped_quarantine_paths.append(file.path)
            continue
        if file.path in current and current[file.path][0] == file_hash and file.path not in stale:
            plan.unchanged += 1
            plan.quarantined_unchanged += held_rows[file.path]  # its rejected records, if any
            for doc_id in current[file.path][1]:
                plan.known_doc_ids[doc_id] = file.path
            continue
        if file.path in held and held[file.path][0] == file_hash:
            reason = held[file.path][1]
            if reason == "duplicate_document":
                held_duplicates.append(file)
                continue
            if not (reason == "file_too_large" and 0 <= file.size <= max_bytes):
                plan.quarantined_unchanged += held_rows[file.path]
                continue
        _add(plan, file, file_hash, current, held_any, tombstoned)
    for path, (_, ids) in current.items():
        if path not in present:
            plan.deleted_paths.append(path)
            plan.deleted_doc_ids.extend(ids)
    # A duplicate is retried only when the document it duplicated may be gone (this run
    # removes or replaces documents); otherwise its quarantine row stays as it is.
    for file in held_duplicates:
        if plan.replaced_doc_ids or plan.deleted_doc_ids:
            _add(plan, file, held[file.path][0], current, held_any, tombstoned)
        else:
            plan.quarantined_unchanged += held_rows[file.path]
    for path in held_any:
        if path not in present:
            plan.dropped_quarantine_paths.append(path)
    return plan


def _add(
    plan: RefreshPlan,
    file: SourceFile,
    file_hash: str | None,
    current: dict[str, tuple[str, list[str]]],
    held_any: set[str],
    tombstoned: dict[str, list[str]],
) -> None:
    """Plan to (re)load a file, replacing whatever its previous version left."""
    plan.to_load.append(file)
    if file.path in current:
        if current[file.path][0] == file_hash:
            plan.reprocessed += 1
        else:
            plan.changed += 1
        plan.replaced_doc_ids.extend(current[file.path][1])
    elif file.path in held_any or file.path in tombstoned:
        plan.changed += 1
    else:
        plan.new += 1
    plan.replaced_doc_ids.extend(tombstoned.get(file.path, []))
    if file.path in held_any:
        plan.dropped_quarantine_paths.append(file.path)


def load_records(
    files: list[SourceFile], metadata: dict[str, dict[str, str]], max_bytes: int
) -> tuple[pl.DataFrame, list[tuple[SourceFile, str | None, Rejection]]]:
    """Read and parse files -> (raw records frame, rejections with the file and its hash)."""
    records: list[dict] = []
    rejections: list[tuple[SourceFile, str | None, Rejection]] = []
    for file in files:
        data, file_hash, error = read_bytes(file, max_bytes)
        if error is not None:
            rejections.append((file, None, Rejection("unreadable_file", error)))
            continue
        if data is None:
            rejections.append(
                (
                    file,
                    file_hash,
                    Rejection("file_too_large", f"{file.size} bytes > limit {max_bytes}"),
                )
            )
            continue
        parsed = parse_file(file.path, data, max_bytes)
        for record in parsed.records:
            record = apply_metadata(record, metadata.get(file.path))
            record.update(source_path=file.path, file_hash=file_hash)
            records.append(record)
        rejections.extend((file, file_hash, rejection) for rejection in parsed.rejections)
    return raw_documents_frame(records), rejections


def quarantine_rows(
    rejections: list[tuple[SourceFile, str | None, Rejection]],
    run_id: str,
    at: datetime,
    version: str,
) -> pl.DataFrame:
    rows = [
        {
            "source_path": file.path,
            "source_record": rejection.source_record,
            "file_hash": file_hash,
            "reason": rejection.reason,
            "detail": rejection.detail,
            "run_id": run_id,
            "pipeline_version": version,
            "quarantined_at": at,
        }
        for file, file_hash, rejection in rejections
    ]
    return conform(pl.DataFrame(rows, schema=QUARANTINE), QUARANTINE)


def split_duplicates(
    raw: pl.DataFrame, known: dict[str, str]
) -> tuple[pl.DataFrame, list[tuple[SourceFile, str | None, Rejection]]]:
    """Drop records whose content is already a current document (or an earlier record of
    this run): they become ``duplicate_document`` rejections. ``known`` (doc_id -> path)
    is updated with the records kept."""
    keep: list[bool] = []
    rejections = []
    for doc_id, path, record, file_hash in raw.select(
        "doc_id", "source_path", "source_record", "file_hash"
    ).iter_rows():
        if doc_id in known:
            keep.append(False)
            original = known[doc_id]
            detail = (
                f"same content as {original}" if original != path else f"repeats an earlier record of {path}"
            )
            rejections.append(
                (
                    SourceFile(path, Path(path), -1),
                    file_hash,
                    Rejection("duplicate_document", detail, record),
                )
            )
        else:
            keep.append(True)
            known[doc_id] = path
    return raw.filter(pl.Series(keep, dtype=pl.Boolean)), rejections
