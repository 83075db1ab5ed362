"""Bad input, nothing lost: one file per bad-input class in a source folder next to good
articles. Every bad file lands in ``quarantine`` with the right reason code and a detail,
no exception escapes, the good files (and the decodable UTF-16 and cp1252 ones) are
published, the run summary lists every quarantined file, a rerun changes nothing, and a
fixed file is picked up by the next run.

The folder is written by ``write_bad_inputs`` (no third-party text): committed fixtures
could not carry a FIFO, a dangling symlink or a file without read permission.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import duckdb
import pytest

from tests.test_reliability import content, ingest, prefect_api  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300), pytest.mark.usefixtures("prefect_api")]

MAX_BYTES = 20_000  # SITREP_MAX_FILE_BYTES for these runs
GOOD_ARTICLES = 20


def article(n: int) -> str:
    return (
        f"Bridge reopens in Example Town {n}\n\n"
        f"Workers in Example Town {n} reopened the river bridge on Monday after {n + 2} weeks of repairs, "
        "local officials said. Traffic resumed in the afternoon and the ferry service was suspended."
    )


# file -> expected quarantine reason (None: decoded and published)
EXPECTED = {
    "empty.txt": "empty_file",
    "whitespace.txt": "whitespace_only",
    "nul_bytes.txt": "binary_content",
    "report.txt": "pdf_content",
    "archive.json": "zip_content",
    "broken_utf8.txt": "invalid_encoding",
    "utf16_bom.txt": None,
    "cp1252.txt": None,
    "huge.txt": "file_too_large",
    "repost.txt": "duplicate_document",  # the same bytes as good_00.txt
    "page.html": "html_page",
    "page_in_text.txt": "html_page",
    "truncated.json": "truncated_record",
    "records.jsonl": "truncated_record",  # its third record; the first two are published
    "no_text.json": "invalid_record",
    "notes.docx": "unsupported_extension",
    "locked.txt": "unreadable_file",  # no read permission
    "dangling.txt": "unreadable_file",  # a symlink to nothing
    "pipe.txt": "unreadable_file",  # a FIFO: never opened (reading would block the run)
}


def write_bad_inputs(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(GOOD_ARTICLES):
        (folder / f"good_{n:02d}.txt").write_text(article(n), encoding="utf-8")
    files = {
        "empty.txt": b"",
        "whitespace.txt": b"  \n\t \r\n   \n",
        "nul_bytes.txt": b"Title\n\nSome text\x00\x01\x02 and then binary",
        "report.txt": b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n",
        "archive.json": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(40)),
        "broken_utf8.txt": "Caf\u00e9 closes\n\nThe caf\u00e9 ".encode() + b"\xc3\x28 closed early.",
        "utf16_bom.txt": "Flood warning in Riverton\n\nThe river rose near the caf\u00e9 on Tuesday, officials said.".encode(
            "utf-16"
        ),
        "cp1252.txt": "Storm hits Porto\n\nThe mayor called it \u201cthe worst in years\u201d outside the caf\u00e9.".encode(
            "cp1252"
        ),
        "huge.txt": b"Very long report\n\n" + b"word " * (MAX_BYTES // 5 + 10),
        "repost.txt": article(0).encode(),
        "page.html": b"<!DOCTYPE html><html><head><title>Home</title></head><body><nav>Home | News</nav>"
        b"<footer>Copyright</footer></body></html>",
        "page_in_text.txt": b"<!DOCTYPE html>\n<html><body><p>Not an article but a saved page.</p></body></html>",
        "truncated.json": b'{"title": "Convoy attacked", "text": "Gunmen attacked a convoy near the',
        "records.jsonl": (
            json.dumps(
                {"title": "Port closed", "text": "The port was closed on Friday because of the storm."}
            )
            + "\n"
            + json.dumps(
                {"title": "Port reopens", "text": "The port reopened on Sunday after the storm passed."}
            )
            + '\n{"title": "Cut off", "text": "Half a rec'
        ).encode(),
        "no_text.json": json.dumps({"title": "Only a title"}).encode(),
        "notes.docx": b"PK not really a document",
        "locked.txt": article(100).encode(),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "locked.txt").chmod(0)
    (folder / "dangling.txt").symlink_to(folder.parent / "elsewhere" / "article.txt")
    os.mkfifo(folder / "pipe.txt")


@pytest.fixture
def unreadable(monkeypatch):
    """Make ``locked.txt`` unreadable also for root (who ignores file permissions): reading
    it raises the PermissionError the kernel would raise. ``unreadable.clear()`` fixes it."""
    locked = {"locked.txt"}
    if os.geteuid() == 0:
        real = Path.read_bytes

        def read_bytes(self):
            if self.name in locked:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
    return locked


def quarantine(warehouse: Path) -> dict[str, tuple[str, str, int]]:
    with contextlib.closing(duckdb.connect(str(warehouse), read_only=True)) as con:
        rows = con.execute(
            "SELECT source_path, reason, detail, source_record, run_id FROM quarantine"
        ).fetchall()
    return {path: (reason, detail, record, run_id) for path, reason, detail, record, run_id in rows}


def documents(warehouse: Path) -> dict[str, str]:
    with contextlib.closing(duckdb.connect(str(warehouse), read_only=True)) as con:
        rows = con.execute(
            "SELECT source_path || '#' || source_record, text FROM documents WHERE deleted_at IS NULL"
        ).fetchall()
    return dict(rows)


def test_every_bad_input_class_is_quarantined_with_its_reason_and_the_rest_is_published(
    tmp_path, monkeypatch, unreadable
):
    from flows.cli import _echo_quarantined

    source, warehouse = tmp_path / "inbox", tmp_path / "wh" / "sitrep.duckdb"
    write_bad_inputs(source)
    monkeypatch.setenv("SITREP_MAX_FILE_BYTES", str(MAX_BYTES))

    # no exception escapes, the run is published
    result = ingest(source, warehouse)
    assert result["status"] == "published"
    held = quarantine(warehouse)
    assert {path: reason for path, (reason, *_) in held.items()} == {
        path: reason for path, reason in EXPECTED.items() if reason
    }
    assert all(detail for _, detail, *_ in held.values())
    assert held["records.jsonl"][2] == 3  # the record (line) that was cut off
    assert held["pipe.txt"][1] == "not a regular file (fifo)"
    assert held["repost.txt"][1] == "same content as good_00.txt"
    # the run summary (and `sitrep ingest`'s output) lists every quarantined file with its reason
    assert result["documents_quarantined"] == len(held) == result["quarantined_this_run"]
    assert {(q["source_path"], q["reason"]) for q in result["quarantined"]} == {
        (path, reason) for path, (reason, *_) in held.items()
    }
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        _echo_quarantined(result["quarantined"], result["documents_quarantined"])
    for path, (reason, detail, record, _) in held.items():
        line = f"  {path}{f' record {record}' if record else ''}: {reason} ({detail})"
        assert line in printed.getvalue().splitlines()
    # the good files, the decodable encodings and the good JSONL records are published
    published = documents(warehouse)
    assert len(published) == GOOD_ARTICLES + 4
    assert "the caf\u00e9 on Tuesday" in published["utf16_bom.txt#0"]
    assert "\u201cthe worst in years\u201d outside the caf\u00e9" in published["cp1252.txt#0"]
    assert {"records.jsonl#1", "records.jsonl#2"} <= set(published)

    # a rerun on the same input changes nothing (no quarantined file is processed again)
    before = content(warehouse, bookkeeping=())
    rerun = ingest(source, warehouse)
    assert rerun["status"] == "unchanged"
    assert rerun["documents_quarantined"] == len(held)
    assert rerun["quarantined"] == []
    assert content(warehouse, bookkeeping=()) == before

    # fixed files are picked up by the next run; the others stay quarantined as they were
    (source / "empty.txt").write_text(article(200))
    (source / "whitespace.txt").write_text(article(201))
    (source / "repost.txt").write_text(article(202))
    (source / "truncated.json").write_text(json.dumps({"title": "Convoy attacked", "text": article(203)}))
    (source / "locked.txt").chmod(0o644)
    unreadable.clear()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "article.txt").write_text(article(204))  # the link's target appears
    (source / "pipe.txt").unlink()
    (source / "pipe.txt").write_text(article(205))
    monkeypatch.setenv("SITREP_MAX_FILE_BYTES", str(10 * MAX_BYTES))  # a raised cap: huge.txt fits
    fixed = ingest(source, warehouse)
    assert fixed["status"] == "published"
    now_held = quarantine(warehouse)
    repaired = {
        "empty.txt",
        "whitespace.txt",
        "repost.txt",
        "truncated.json",
        "locked.txt",
        "dangling.txt",
        "pipe.txt",
        "huge.txt",
    }
    assert set(now_held) == set(held) - repaired
    assert all(now_held[path] == held[path] for path in now_held)  # untouched, same run id
    published = documents(warehouse)
    assert {f"{path}#0" for path in repaired} <= set(published)
