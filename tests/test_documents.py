"""Parsing raw files into document records, and the documents table."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import polars as pl
import pytest

from transforms.documents import (
    build_documents,
    decode_text,
    document_id,
    parse_file,
    parse_timestamp,
    raw_documents_frame,
)
from transforms.schemas import DOCUMENTS

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _only(path: str, data: bytes) -> dict:
    parsed = parse_file(path, data)
    assert parsed.rejections == []
    assert len(parsed.records) == 1
    return parsed.records[0]


def test_txt_first_line_is_the_title():
    record = _only("a.txt", b"Drone strike hits convoy\n\nA drone hit a convoy.\r\nSecond line.\n")
    assert record["title"] == "Drone strike hits convoy"
    assert record["text"] == "Drone strike hits convoy\n\nA drone hit a convoy.\nSecond line."
    assert record["format"] == "txt"
    assert record["doc_id"] == document_id(record["title"], record["text"])


def test_doc_id_is_stable_and_content_derived():
    a = _only("a.txt", b"Title\n\nBody text here.")
    b = _only("elsewhere/b.txt", b"Title\n\nBody text here.")
    c = _only("a.txt", b"Title\n\nBody text changed.")
    assert a["doc_id"] == b["doc_id"] == "0" * 0 + a["doc_id"]
    assert len(a["doc_id"]) == 16
    assert a["doc_id"] != c["doc_id"]


def test_markdown_is_stripped_of_markup():
    record = _only("a.md", b"# Shelling in *Donetsk*\n\nArtillery **shelled** the [city](http://x).\n")
    assert record["title"] == "Shelling in Donetsk"
    assert record["text"] == "Shelling in Donetsk\n\nArtillery shelled the city."


def test_html_article_text_without_boilerplate():
    html = b"""<html><head><title>Site | Airstrike</title>
    <meta property="article:published_time" content="2024-06-05T08:00:00Z">
    <link rel="canonical" href="https://news.example/a1"></head>
    <body><nav>Home | World | Sport</nav><article><h1>Airstrike kills 12</h1>
    <p>An airstrike killed 12 people in Idlib on Tuesday.</p><p>The monitor said so.</p></article>
    <footer>Copyright 2024</footer><script>var x = 1;</script></body></html>"""
    record = _only("a.html", html)
    assert record["title"] == "Airstrike kills 12"
    assert (
        record["text"]
        == "Airstrike kills 12\n\nAn airstrike killed 12 people in Idlib on Tuesday.\n\nThe monitor said so."
    )
    assert record["published_at"] == datetime(2024, 6, 5, 8, 0, tzinfo=UTC)
    assert record["url"] == "https://news.example/a1"


def test_json_and_jsonl_fields():
    obj = {
        "headline": "Clashes in Sudan",
        "body": "Fighting continued.",
        "date": "2023-04-16",
        "link": "u",
        "outlet": "x",
    }
    record = _only("a.json", json.dumps(obj).encode())
    assert (record["title"], record["url"], record["source_name"]) == ("Clashes in Sudan", "u", "x")
    assert record["published_at"] == datetime(2023, 4, 16, tzinfo=UTC)
    lines = b'{"title": "One", "text": "First body."}\n\n{"title": "Two", "text": "Second body."}\n'
    parsed = parse_file("b.jsonl", lines)
    assert [(r["title"], r["source_record"]) for r in parsed.records] == [("One", 1), ("Two", 3)]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty_file"),
        ("blank.txt", b"  \n\t\n ", "whitespace_only"),
        ("bin.txt", b"abc\x00\x01\x02def", "binary_content"),
        ("doc.txt", b"%PDF-1.7\n%...", "pdf_content"),
        ("arc.json", b"PK\x03\x04rest", "zip_content"),
        ("bad.txt", "Café ok".encode() + b" then \xc3\x28 broken", "invalid_encoding"),
        ("page.txt", b"<!DOCTYPE html><html><body>Paywall</body></html>", "html_page"),
        ("cut.json", b'{"title": "T", "text": "unfinished', "truncated_record"),
        ("notext.json", b'{"title": "T"}', "invalid_record"),
        ("image.png", b"\x89PNG....", "unsupported_extension"),
        ("nav.html", b"<html><body><nav>Home</nav><p>Hi</p></body></html>", "html_page"),
    ],
)
def test_bad_input_is_rejected_with_a_reason(name, data, reason):
    parsed = parse_file(name, data)
    assert parsed.records == []
    assert [r.reason for r in parsed.rejections] == [reason]
    assert parsed.rejections[0].detail


def test_size_cap():
    parsed = parse_file("big.txt", b"x" * 101, max_bytes=100)
    assert [r.reason for r in parsed.rejections] == ["file_too_large"]


def test_utf16_and_cp1252_are_decoded_not_quarantined():
    text = "Title\n\nThe minister’s café said “no”."
    assert _only("a.txt", text.encode("utf-16"))["text"] == text
    assert _only("b.txt", text.encode("cp1252"))["text"] == text
    assert decode_text(text.encode("cp1252"))[1] == "cp1252"


def test_jsonl_keeps_good_lines_and_quarantines_the_truncated_one():
    data = b'{"title": "A", "text": "Alpha text."}\n{"title": "B", "text": "Bet'
    parsed = parse_file("feed.jsonl", data)
    assert [r["title"] for r in parsed.records] == ["A"]
    assert [(r.reason, r.source_record) for r in parsed.rejections] == [("truncated_record", 2)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-06-05", datetime(2024, 6, 5, tzinfo=UTC)),
        ("2024-06-05T10:00:00+02:00", datetime(2024, 6, 5, 8, tzinfo=UTC)),
        ("4/5/2017", datetime(2017, 4, 5, tzinfo=UTC)),
        ("5 April 2017", datetime(2017, 4, 5, tzinfo=UTC)),
        ("Apr. 5, 2017", datetime(2017, 4, 5, tzinfo=UTC)),
        ("not a date", None),
        ("", None),
    ],
)
def test_parse_timestamp(value, expected):
    assert parse_timestamp(value) == expected


def test_build_documents_takes_dates_from_metadata_then_datelines():
    records = [
        {
            "doc_id": "a" * 16,
            "source_path": "isaf.txt",
            "source_record": 0,
            "file_hash": "h1",
            "format": "txt",
            "title": "2013-01-S-022",
            "text": "2013-01-S-022\n\nKABUL, Afghanistan (Jan. 22, 2013)\nToday, forces detained two.",
            "published_at": None,
            "url": None,
            "source_name": None,
        },
        {
            "doc_id": "b" * 16,
            "source_path": "fakes.txt",
            "source_record": 0,
            "file_hash": "h2",
            "format": "txt",
            "title": "Strikes hit Idlib",
            "text": "Strikes hit Idlib\n\nSun 16 Apr 2017 Strikes hit Idlib. Warplanes struck.",
            "published_at": None,
            "url": None,
            "source_name": None,
        },
        {
            "doc_id": "c" * 16,
            "source_path": "meta.txt",
            "source_record": 0,
            "file_hash": "h3",
            "format": "txt",
            "title": "T",
            "text": "T\n\nOn June 4, 2020 something (Jan. 1, 2001).",
            "published_at": datetime(2024, 6, 6, tzinfo=UTC),
            "url": None,
            "source_name": None,
        },
        {
            "doc_id": "d" * 16,
            "source_path": "none.txt",
            "source_record": 0,
            "file_hash": "h4",
            "format": "txt",
            "title": "No date",
            "text": "No date\n\nNothing here says when.",
            "published_at": None,
            "url": None,
            "source_name": None,
        },
    ]
    documents = build_documents(raw_documents_frame(records), "run-1", NOW)
    assert documents.schema == DOCUMENTS
    got = documents.select("source_path", pl.col("published_at").dt.date(), "published_at_source").rows()
    assert got == [
        ("isaf.txt", date(2013, 1, 22), "dateline"),
        ("fakes.txt", date(2017, 4, 16), "dateline"),
        ("meta.txt", date(2024, 6, 6), "metadata"),
        ("none.txt", None, None),
    ]
    assert documents["word_count"].to_list() == [10, 12, 9, 6]
    assert documents["char_count"].to_list() == [len(r["text"]) for r in records]


def test_datelines_without_a_year_and_impossible_dates():
    records = [
        {
            "doc_id": "e" * 16,
            "source_path": "a.txt",
            "source_record": 0,
            "file_hash": "h",
            "format": "txt",
            "title": "Release",
            "text": "Release\n\n2012-06-S-026\nKABUL, Afghanistan (June 14) - Forces detained two.",
            "published_at": None,
            "url": None,
            "source_name": None,
        },
        {
            "doc_id": "f" * 16,
            "source_path": "b.txt",
            "source_record": 0,
            "file_hash": "h",
            "format": "txt",
            "title": "Dec. 6: Operations in Kandahar",
            "text": "Dec. 6: Operations in Kandahar\n\n2009-12-CA-060\nForces detained a leader.",
            "published_at": None,
            "url": None,
            "source_name": None,
        },
        {
            "doc_id": "0" * 16,
            "source_path": "c.txt",
            "source_record": 0,
            "file_hash": "h",
            "format": "txt",
            "title": "Bad",
            "text": "Bad\n\nKABUL, Afghanistan (Feb. 31, 2013) - Nothing.",
            "published_at": None,
            "url": None,
            "source_name": None,
        },
        {
            "doc_id": "1" * 16,
            "source_path": "d.txt",
            "source_record": 0,
            "file_hash": "h",
            "format": "txt",
            "title": "No year",
            "text": "No year\n\nKABUL, Afghanistan (Jan. 28) - Forces captured a leader today.",
            "published_at": None,
            "url": None,
            "source_name": None,
        },
    ]
    documents = build_documents(raw_documents_frame(records), "run-1", NOW)
    assert documents.select(pl.col("published_at").dt.date()).to_series().to_list() == [
        date(2012, 6, 14),
        date(2009, 12, 6),
        None,  # 31 February: no date, and no error
        None,  # no year anywhere: not guessed
    ]


def test_unicode_line_separators_are_line_breaks():
    record = _only("a.txt", "Title\u2028\u2028KABUL (Reuters)\u2028Body\xa0text.".encode())
    assert record["text"] == "Title\n\nKABUL (Reuters)\nBody text."
