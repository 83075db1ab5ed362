"""Raw files -> document records, and records -> the ``documents`` table.

``parse_file`` turns the bytes of one file into document records or a quarantine reason;
it is pure (the flow reads the bytes). ``build_documents`` is the polars transform that
derives publication dates from datelines and counts.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import PurePosixPath

import polars as pl

from transforms.schemas import DOCUMENTS, RAW_DOCUMENTS, conform

SUPPORTED_FORMATS = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
# Files in the source folder that describe it rather than being articles.
METADATA_FILENAME = "metadata.csv"
IGNORED_FILENAMES = {METADATA_FILENAME, "readme.md", "readme.txt", "readme", "license", ".gitkeep"}

TITLE_FIELDS = ("title", "headline", "article_title", "name")
TEXT_FIELDS = ("text", "body", "content", "maintext", "article_content", "article", "description")
DATE_FIELDS = (
    "published_at",
    "published",
    "date_publish",
    "publication_date",
    "pub_date",
    "date",
    "datetime",
)
URL_FIELDS = ("url", "link", "source_url")
SOURCE_FIELDS = ("source", "source_name", "outlet", "publisher", "source_domain")

_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}
# Unicode line and paragraph separators (common in press releases) are line breaks;
# other spaces become plain spaces. Each maps to one character, so lengths do not change.
_LINE_BREAKS = str.maketrans(
    {
        "\u2028": "\n",
        "\u2029": "\n",
        "\x85": "\n",
        "\x0b": "\n",
        "\x0c": "\n",
        "\xa0": " ",
        "\u202f": " ",
        "\u2009": " ",
    }
)


@dataclass(frozen=True)
class Rejection:
    """Why a file (or one record of it) cannot become a document."""

    reason: str
    detail: str
    source_record: int = 0


@dataclass
class ParsedFile:
    """The records parsed from one file, and any rejected parts of it."""

    records: list[dict] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def document_id(title: str, text: str) -> str:
    """Stable id from the content: the same title and text always give the same id."""
    return hashlib.sha256(f"{title}\x1f{text}".encode()).hexdigest()[:16]


def format_of(path: str) -> str | None:
    return SUPPORTED_FORMATS.get(PurePosixPath(path).suffix.lower())


def is_ignored(path: str) -> bool:
    name = PurePosixPath(path).name
    return name.startswith(".") or name.lower() in IGNORED_FILENAMES


# --------------------------------------------------------------------------- decoding


def sniff_binary(data: bytes) -> Rejection | None:
    """Reject content that is not text at all (PDF, ZIP, other binaries)."""
    head = data[:8]
    if head.startswith(b"%PDF-"):
        return Rejection("pdf_content", "file starts with a PDF header (%PDF-)")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return Rejection("zip_content", "file starts with a ZIP header (PK)")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None  # UTF-16 with a byte-order mark: decodable text
    for magic, kind in (
        (b"\x1f\x8b", "gzip"),
        (b"\x89PNG", "PNG image"),
        (b"\xff\xd8\xff", "JPEG image"),
        (b"GIF8", "GIF image"),
        (b"\x7fELF", "ELF executable"),
    ):
        if head.startswith(magic):
            return Rejection("binary_content", f"file starts with a {kind} header")
    nul = data.find(b"\x00")
    if nul >= 0:
        return Rejection("binary_content", f"NUL byte at offset {nul}: not a text file")
    return None


def decode_text(data: bytes) -> tuple[str | None, str, Rejection | None]:
    """Decode bytes to text. Returns (text, encoding, rejection).

    UTF-8 (with or without BOM) and UTF-16 with a BOM are decoded. Bytes that are not valid
    UTF-8 are decoded as cp1252 when they look like a single-byte Western text (no UTF-8
    multi-byte sequences anywhere, no undefined cp1252 bytes, no control characters);
    otherwise the file is rejected as ``invalid_encoding`` with the offending offset.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16", None
        except UnicodeDecodeError as error:
            return (
                None,
                "utf-16",
                Rejection("invalid_encoding", f"UTF-16 BOM but undecodable at byte {error.start}"),
            )
    try:
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError as error:
        utf8_error = error
    if _UTF8_MULTIBYTE.search(data) is None and not any(b in _CP1252_UNDEFINED for b in data):
        text = data.decode("cp1252")
        if _CONTROL.search(text) is None:
            return text, "cp1252", None
    return (
        None,
        "utf-8",
        Rejection(
            "invalid_encoding",
            f"invalid UTF-8 at byte {utf8_error.start} ({utf8_error.reason}) and not cp1252 text",
        ),
    )


def normalize_text(text: str) -> str:
    """Canonical text: NFC, Unix newlines, no control characters, trimmed lines and ends."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("\ufeff", "")
    text = text.translate(_LINE_BREAKS)
    text = _CONTROL.sub(" ", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


# --------------------------------------------------------------------------- dates


_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for m in names
}


def parse_timestamp(value: object) -> datetime | None:
    """Parse a publication timestamp from metadata: ISO 8601, epoch seconds, 'D Month YYYY',
    'Month D, YYYY' or US 'M/D/YYYY'. Naive values are taken as UTC. None if unparseable."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if not text:
        return None
    iso = text.replace("Z", "+00:00") if text.endswith("Z") else text
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        parsed = None
    if parsed is None:
        match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        if match:
            month, day, year = (int(g) for g in match.groups())
            parsed = _safe_datetime(year, month, day)
    if parsed is None:
        match = re.fullmatch(r"(?:[A-Za-z]{3,9},?\s+)?(\d{1,2})\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})", text)
        if match and match.group(2).lower() in _MONTHS:
            parsed = _safe_datetime(int(match.group(3)), _MONTHS[match.group(2).lower()], int(match.group(1)))
    if parsed is None:
        match = re.fullmatch(r"([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})", text)
        if match and match.group(1).lower() in _MONTHS:
            parsed = _safe_datetime(int(match.group(3)), _MONTHS[match.group(1).lower()], int(match.group(2)))
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _safe_datetime(year: int, month: int, day: int) -> datetime | None:
    try:
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None


# --------------------------------------------------------------------------- formats


def _first(record: Mapping, names: tuple[str, ...]) -> object:
    lowered = {str(k).lower(): v for k, v in record.items()}
    for name in names:
        value = lowered.get(name)
        if value not in (None, ""):
            return value
    return None


def _compose(title: str | None, body: str) -> tuple[str, str]:
    """(title, text) where text starts with the title as its own paragraph."""
    body = normalize_text(body)
    title = normalize_text(title or "").replace("\n", " ")
    if not title:
        first_line = body.split("\n", 1)[0]
        return first_line.strip(), body
    if body.startswith(title):
        return title, body
    return title, f"{title}\n\n{body}" if body else title


def _record(
    title: str,
    text: str,
    *,
    source_record: int = 0,
    published_at: object = None,
    url: object = None,
    source_name: object = None,
) -> dict:
    return {
        "source_record": source_record,
        "title": title,
        "text": text,
        "published_at": parse_timestamp(published_at),
        "url": None if url is None else str(url),
        "source_name": None if source_name is None else str(source_name),
    }


def _parse_plain(text: str) -> ParsedFile:
    title, body = _compose(None, text)
    return ParsedFile(records=[_record(title, body)])


def _parse_markdown(text: str) -> ParsedFile:
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        line = re.sub(r"^\s{0,3}#{1,6}\s+", "", line)  # headings
        line = re.sub(r"^\s{0,3}>\s?", "", line)  # block quotes
        line = re.sub(r"^\s*[-*+]\s+", "", line)  # bullets
        line = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", line)  # images
        line = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line)  # links
        line = re.sub(r"(\*\*|__)(.+?)\1", r"\2", line)  # bold
        line = re.sub(r"(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\w*])", r"\2", line)  # italics
        line = line.replace("`", "")
        if re.fullmatch(r"\s*([-*_]\s*){3,}", line):  # horizontal rules
            line = ""
        lines.append(line)
    return _parse_plain("\n".join(lines))


_BOILERPLATE_TAGS = (
    "script, style, noscript, template, svg, nav, header, footer, aside, form, iframe, "
    "button, figure figcaption, [role=navigation], [role=banner], [role=contentinfo], "
    "[aria-hidden=true], .advert, .ad, .ads, .cookie, .newsletter, .related, .share, .social"
)
_BLOCK_SELECTOR = "h1, h2, h3, h4, h5, h6, p, li, blockquote, pre, td"
_HTML_DATE_META = (
    "article:published_time",
    "og:published_time",
    "datePublished",
    "pubdate",
    "publishdate",
    "date",
    "dc.date",
    "dcterms.created",
)


def _parse_html(text: str, min_words: int = 5) -> ParsedFile:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(text)
    meta: dict[str, str] = {}
    for node in tree.css("meta"):
        key = (
            node.attributes.get("property") or node.attributes.get("name") or node.attributes.get("itemprop")
        )
        value = node.attributes.get("content")
        if key and value:
            meta.setdefault(key.lower(), value)
    title_node = tree.css_first("h1") or tree.css_first("title")
    title = meta.get("og:title") or (title_node.text(strip=True) if title_node else "")
    canonical = tree.css_first("link[rel=canonical]")
    url = meta.get("og:url") or (canonical.attributes.get("href") if canonical else None)
    published = next((meta[k.lower()] for k in _HTML_DATE_META if k.lower() in meta), None)
    if published is None:
        time_node = tree.css_first("time[datetime]")
        published = time_node.attributes.get("datetime") if time_node else None
    for node in tree.css(_BOILERPLATE_TAGS):
        node.decompose()
    root = tree.css_first("article") or tree.css_first("main") or tree.body or tree.root
    blocks: list[str] = []
    if root is not None:
        for node in root.css(_BLOCK_SELECTOR):
            # Skip containers whose text is reported by a nested block element.
            if node.tag in ("li", "td", "blockquote") and node.css_first("p"):
                continue
            block = re.sub(r"\s+", " ", node.text(deep=True, separator=" ")).strip()
            if block and (not blocks or blocks[-1] != block):
                blocks.append(block)
        if not blocks:
            blocks = [re.sub(r"\s+", " ", root.text(separator=" ")).strip()]
    body = "\n\n".join(b for b in blocks if b)
    if title and body.startswith(title):
        body = body[len(title) :].lstrip()
    if len(body.split()) < min_words:
        return ParsedFile(rejections=[Rejection("html_page", "no article text found in the HTML page")])
    title, full = _compose(title, body)
    return ParsedFile(
        records=[
            _record(
                title,
                full,
                published_at=published,
                url=url,
                source_name=meta.get("og:site_name"),
            )
        ]
    )


def _json_record(obj: object, source_record: int) -> dict | Rejection:
    if not isinstance(obj, dict):
        return Rejection("invalid_record", f"expected a JSON object, got {type(obj).__name__}", source_record)
    body = _first(obj, TEXT_FIELDS)
    if not isinstance(body, str) or not body.strip():
        return Rejection(
            "invalid_record",
            "no text field (one of: " + ", ".join(TEXT_FIELDS) + ")",
            source_record,
        )
    if _HTML_START.match(body.encode()[:200]):
        return Rejection("html_page", "the text field holds an HTML page", source_record)
    title = _first(obj, TITLE_FIELDS)
    title, text = _compose(title if isinstance(title, str) else None, body)
    return _record(
        title,
        text,
        source_record=source_record,
        published_at=_first(obj, DATE_FIELDS),
        url=_first(obj, URL_FIELDS),
        source_name=_first(obj, SOURCE_FIELDS),
    )


def _is_truncated(text: str, error: json.JSONDecodeError) -> bool:
    """The parser ran out of input (a cut-off record) rather than meeting bad syntax."""
    return error.msg.startswith("Unterminated string") or error.pos >= len(text.rstrip()) - 1


def _parse_json(text: str) -> ParsedFile:
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        reason = "truncated_record" if _is_truncated(text, error) else "invalid_record"
        return ParsedFile(rejections=[Rejection(reason, f"JSON error: {error.msg} at char {error.pos}")])
    items = payload if isinstance(payload, list) else [payload]
    parsed = ParsedFile()
    for number, obj in enumerate(items):
        result = _json_record(obj, number)
        (parsed.rejections if isinstance(result, Rejection) else parsed.records).append(result)
    return parsed


def _parse_jsonl(text: str) -> ParsedFile:
    parsed = ParsedFile()
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as error:
            truncated = _is_truncated(line, error)
            parsed.rejections.append(
                Rejection(
                    "truncated_record" if truncated else "invalid_record",
                    f"line {number}: JSON error: {error.msg} at char {error.pos}",
                    number,
                )
            )
            continue
        result = _json_record(obj, number)
        (parsed.rejections if isinstance(result, Rejection) else parsed.records).append(result)
    return parsed


def parse_file(path: str, data: bytes, max_bytes: int | None = None) -> ParsedFile:
    """Parse the bytes of one file from the source folder into document records.

    Never raises on bad content: every problem becomes a :class:`Rejection` with a reason
    code from ``QUARANTINE_REASONS``.
    """
    fmt = format_of(path)
    if fmt is None:
        suffix = PurePosixPath(path).suffix or "(none)"
        return ParsedFile(rejections=[Rejection("unsupported_extension", f"extension {suffix} is not read")])
    if max_bytes is not None and len(data) > max_bytes:
        return ParsedFile(rejections=[Rejection("file_too_large", f"{len(data)} bytes > limit {max_bytes}")])
    if not data:
        return ParsedFile(rejections=[Rejection("empty_file", "file has 0 bytes")])
    binary = sniff_binary(data)
    if binary is not None:
        return ParsedFile(rejections=[binary])
    text, _encoding, rejection = decode_text(data)
    if rejection is not None:
        return ParsedFile(rejections=[rejection])
    assert text is not None
    if not text.strip():
        return ParsedFile(rejections=[Rejection("whitespace_only", f"{len(data)} bytes of whitespace")])
    if fmt != "html" and _HTML_START.match(text[:200].encode()):
        return ParsedFile(rejections=[Rejection("html_page", f"a .{fmt} file that holds an HTML page")])
    try:
        parsed = {
            "txt": _parse_plain,
            "md": _parse_markdown,
            "html": _parse_html,
            "json": _parse_json,
            "jsonl": _parse_jsonl,
        }[fmt](text)
    except Exception as error:  # a parser bug must not lose the file: quarantine it
        return ParsedFile(rejections=[Rejection("invalid_record", f"{type(error).__name__}: {error}")])
    kept = []
    for record in parsed.records:
        if not record["text"].strip():
            parsed.rejections.append(
                Rejection("whitespace_only", "record has no text", record["source_record"])
            )
        else:
            record["format"] = fmt
            record["doc_id"] = document_id(record["title"], record["text"])
            kept.append(record)
    parsed.records = kept
    return parsed


def parse_metadata(data: bytes) -> dict[str, dict[str, str]]:
    """Read a ``metadata.csv`` sidecar: one row per file of its folder.

    Column ``file`` (or ``path``) names the file; ``published_at`` (or ``date``), ``url``,
    ``source`` and ``title`` fill in what the file itself does not say.
    """
    text, _, rejection = decode_text(data)
    if rejection is not None or text is None:
        return {}
    rows: dict[str, dict[str, str]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        row = {str(k).strip().lower(): (v or "").strip() for k, v in row.items() if k}
        name = row.get("file") or row.get("path") or row.get("filename")
        if name:
            rows[name] = row
    return rows


def apply_metadata(record: dict, metadata: Mapping[str, str] | None) -> dict:
    """Fill a record's missing publication date, URL and outlet from its metadata row."""
    if not metadata:
        return record
    if record.get("published_at") is None:
        record["published_at"] = parse_timestamp(
            metadata.get("published_at") or metadata.get("date") or metadata.get("published")
        )
    if not record.get("url") and metadata.get("url"):
        record["url"] = metadata["url"]
    if not record.get("source_name") and (metadata.get("source") or metadata.get("source_name")):
        record["source_name"] = metadata.get("source") or metadata.get("source_name")
    return record


def raw_documents_frame(records: list[dict]) -> pl.DataFrame:
    """Records (as produced by parse_file + the loader) -> a RAW_DOCUMENTS frame (+ doc_id)."""
    schema = pl.Schema({"doc_id": pl.String, **RAW_DOCUMENTS})
    if not records:
        return pl.DataFrame(schema=schema)
    return pl.DataFrame(records, schema=schema, strict=False).select(schema.names())


# --------------------------------------------------------------------------- datelines

_MONTH_ALT = (
    "Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    "Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?"
)
_WEEKDAY_ALT = (
    "Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
)

# Patterns tried in order on the start of the text; each captures (month, day, year) or
# (day, month, year) as named below.
DATELINE_PATTERNS: tuple[tuple[str, str], ...] = (
    # KABUL, Afghanistan (Jan. 25, 2013)
    (rf"\((?P<month>{_MONTH_ALT})\.?\s+(?P<day>\d{{1,2}}),?\s+(?P<year>\d{{4}})\)", "mdy"),
    # Sun 16 Apr 2017 / Sunday, 16 April 2017
    (
        rf"\b(?:{_WEEKDAY_ALT})\.?,?\s+(?P<day>\d{{1,2}})\s+(?P<month>{_MONTH_ALT})\.?,?\s+(?P<year>\d{{4}})\b",
        "dmy",
    ),
    # Sunday, April 16, 2017
    (
        rf"\b(?:{_WEEKDAY_ALT})\.?,?\s+(?P<month>{_MONTH_ALT})\.?\s+(?P<day>\d{{1,2}}),?\s+(?P<year>\d{{4}})\b",
        "mdy",
    ),
    # 2017-04-16
    (r"\b(?P<year>(?:19|20)\d{2})-(?P<month>[01]\d)-(?P<day>[0-3]\d)\b", "iso"),
    # April 16, 2017 / Apr. 16, 2017
    (rf"\b(?P<month>{_MONTH_ALT})\.?\s+(?P<day>\d{{1,2}}),\s+(?P<year>\d{{4}})\b", "mdy"),
    # 16 April 2017
    (rf"\b(?P<day>\d{{1,2}})\s+(?P<month>{_MONTH_ALT})\.?,?\s+(?P<year>\d{{4}})\b", "dmy"),
)
# Datelines without a year; the year comes from the first year written near the start.
YEARLESS_DATELINE_PATTERNS: tuple[tuple[str, str], ...] = (
    # KABUL, Afghanistan (June 14)
    (rf"\((?P<month>{_MONTH_ALT})\.?\s+(?P<day>\d{{1,2}})\)", "md"),
    # a title that starts "Dec. 6: Operations in ..."
    (rf"^(?P<month>{_MONTH_ALT})\.?\s+(?P<day>\d{{1,2}}):", "md"),
)
DATELINE_WINDOW = 300  # characters from the start of the body searched for a dateline


def _month_number(expr: pl.Expr) -> pl.Expr:
    return (
        expr.str.to_lowercase()
        .str.slice(0, 3)
        .replace_strict(
            {k: v for k, v in _MONTHS.items() if len(k) == 3}, default=None, return_dtype=pl.Int32
        )
    )


def dateline_date() -> pl.Expr:
    """The date in a dateline near the start of ``text`` (after the title), or null.

    Datelines without a year ("KABUL, Afghanistan (June 14)", a title "Dec. 6: ...") take
    the first year written near the start (a release number such as "2012-06-S-026").
    Impossible dates (31 February) give null, never an error.
    """
    head = pl.col("text").str.slice(0, pl.col("title").str.len_chars() + DATELINE_WINDOW)
    year_near = head.str.extract(r"\b((?:19|20)\d{2})\b")
    candidates = []
    for pattern, kind in (*DATELINE_PATTERNS, *YEARLESS_DATELINE_PATTERNS):
        groups = head.str.extract_groups(pattern)
        month = groups.struct.field("month")
        month = month.cast(pl.Int32, strict=False) if kind == "iso" else _month_number(month)
        year = year_near if kind == "md" else groups.struct.field("year")
        candidates.append(
            pl.concat_str(
                year.cast(pl.Int32, strict=False).cast(pl.String),
                month.cast(pl.String).str.zfill(2),
                groups.struct.field("day").cast(pl.Int32, strict=False).cast(pl.String).str.zfill(2),
                separator="-",
            ).str.to_date("%Y-%m-%d", strict=False)
        )
    return pl.coalesce(candidates)


def build_documents(
    raw: pl.DataFrame, run_id: str, ingested_at: datetime, pipeline_version: str = "unversioned"
) -> pl.DataFrame:
    """Raw records -> ``documents``: one row per document.

    The publication date comes from the record's metadata, else from a dateline in the
    text (``KABUL, Afghanistan (Jan. 25, 2013)``, ``Sun 16 Apr 2017``), else null.
    """
    dateline = dateline_date()
    plausible = dateline.is_between(date(1900, 1, 1), ingested_at.date())
    frame = raw.lazy().with_columns(
        published_at_source=pl.when(pl.col("published_at").is_not_null())
        .then(pl.lit("metadata"))
        .when(dateline.is_not_null() & plausible)
        .then(pl.lit("dateline")),
        published_at=pl.coalesce(
            pl.col("published_at"),
            pl.when(plausible).then(dateline).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        ),
        char_count=pl.col("text").str.len_chars(),
        word_count=pl.col("text").str.count_matches(r"\S+"),
        ingested_at=pl.lit(ingested_at, dtype=DOCUMENTS["ingested_at"]),
        run_id=pl.lit(run_id),
        pipeline_version=pl.lit(pipeline_version),
        deleted_at=pl.lit(None, dtype=DOCUMENTS["deleted_at"]),
    )
    return conform(frame, DOCUMENTS)
