"""``sitrep evaluate FORMAT PATH``: score the extractors against externally annotated data.

Each gold format is read into sitrep raw document records, run through the same code as
``ingest`` (:func:`transforms.pipeline.build_tables`, in chunks so that progress can be
printed to stderr), and the predicted tables are aligned with the gold annotations. The
result is ``{"dataset", "documents", "metrics": {name: value}, "timing", ...}``; the
scoring functions themselves are in :mod:`transforms.metrics`. A metric over no items is
``None``. Ratios with a zero denominator are 0.0 (conlleval's convention).

conll2003 (PATH: the CoNLL-2003 ``testa``/``testb`` file)
    Documents are split at ``-DOCSTART-`` lines; the text before the first one is a
    document too (in the English files the first ``-DOCSTART-`` sits at the end). A
    document's text is its sentences' tokens joined by single spaces, sentences joined by
    "\\n"; the title is the first sentence, ``published_at`` is unset (a dateline in the
    text may still be found). Gold entities are the IOB1 chunks (conlleval's rules), as
    character spans. sitrep labels map to CoNLL types: PERSON -> PER; ORG, MILITARY_UNIT ->
    ORG; GPE, LOC, FAC -> LOC; NORP, EVENT, PRODUCT, WORK_OF_ART, LAW, LANGUAGE -> MISC; all
    other labels (DATE, CARDINAL, WEAPON, ...) are dropped. Metrics: ``entity_precision``,
    ``entity_recall``, ``entity_f1`` (exact span and type, all four types); ``per_f1``,
    ``org_f1``, ``loc_f1``, ``misc_f1``; ``entity_f1_per_org_loc`` (MISC removed from gold
    and predictions); ``words_per_second`` (CoNLL tokens / seconds spent in build_tables).

gum (PATH: a GUM ``.conllu`` file, or a folder of them)
    The raw text is rebuilt exactly: surface tokens (a multiword token's range line, e.g.
    ``3-4 can't``; its syntactic words are placed inside it, and empty nodes ``3.1`` are
    skipped) are joined with a space unless ``SpaceAfter=No``; the sentences of a paragraph
    are joined by a space (none if the last token says ``SpaceAfter=No``); a sentence
    preceded by ``# newpar`` starts a new line. The first sentence is the title;
    ``published_at`` is ``# meta::dateCreated``. Sentence boundaries are the character
    offsets where sentences END, except the end of each document (always right, it would
    only inflate the score); the same rule is applied to sitrep's ``sentences``. Metrics:
    ``sentence_precision``, ``sentence_recall``, ``sentence_f1``. Gold entities are the
    NAMED mentions in ``Entity=`` brackets whose type is person, organization or place:
    the mention carries an identity (a Wikipedia name) AND one of its tokens is a proper
    noun (UPOS PROPN). GUM gives the identity to every mention of a named entity,
    pronouns ("he") and common nouns ("the team") included, which no named-entity
    recogniser marks; ``entity_f1_all_identity_mentions`` scores against all of them
    anyway, for reference. GUM gives no identity to named people and groups that have no
    Wikipedia page ("Ahmed Mohamed", "Civic Passion"), so ``entity_f1_proper_head`` scores
    against the person/organization/place mentions whose syntactic head (the first word
    whose head lies outside the mention) is a proper noun, identity or not. A mention's span is the whole mention (which includes e.g. a
    leading "the", a title or a possessive "'s" when GUM's mention does);
    ``entity_f1_without_article_possessive`` scores the same spans after dropping a leading
    article ("the", "a", "an") and a trailing possessive ("'s", "'") from gold and
    predicted spans alike (an annotation-convention difference, not a recognition error;
    titles and appositions still count). Predictions:
    PERSON -> person; ORG, MILITARY_UNIT -> organization; GPE, LOC, FAC -> place. Metrics:
    ``entity_precision``, ``entity_recall``, ``entity_f1`` (exact span and type), and
    ``person_f1``, ``organization_f1``, ``place_f1``.

acled (PATH: an ACLED CSV export)
    Each distinct ``notes`` text is one document (read like a one-line ``.txt`` file),
    published on its ``event_date`` (``9-May-20``). Rows sharing a note are one report
    split into events: the note's gold event type, sub-event type, date and actors are
    those of its first row (in the data all rows of a note agree on type and date); a
    place or actor matches if it matches ANY of the note's rows; gold fatalities are the
    sum over its rows. Gold conflict = an event type in Battles, Explosions/Remote
    violence, Violence against civilians. Predicted conflict = at least one ``asserted``
    incident of those types. The **primary incident** of a note is its first asserted
    incident (in text order) whose event type is one of ACLED's six.

    - ``incident_detection_precision/recall/f1``: conflict detection over notes.
    - ``sub_event_type_macro_f1`` / ``sub_event_type_weighted_f1`` (support-weighted) over
      all notes: gold = first row's sub-event type, predicted = the primary incident's, or
      ``(none)``; macro averages over the gold labels. The confusion matrix is in the
      result under ``confusion`` (gold -> predicted -> count) and in the printed table.
    - ``primary_coverage``: share of notes with a primary incident.
    - ``event_date_exact``: among notes with a primary incident, share whose primary
      event_date equals the gold date; ``event_date_coverage``: share of all notes whose
      primary incident has a date.
    - ``country_match``, ``admin1_match``, ``location_match``: among notes with a primary
      incident, share whose primary incident's country/admin1/location matches a row's.
      Countries compare by ISO code (gold names resolved with sitrep's own country
      lexicon, else by name); admin1 and location by :func:`transforms.metrics.places_match`
      (accents, case, punctuation, kind words like "province" and article words like
      "al" ignored; compass words read in English, "Sud-Kivu" = "South Kivu";
      transliteration variants tolerated through a consonant skeleton of at least three
      consonants, or of any length for admin1 names once the countries matched, when no
      other region of that country has the gold name's skeleton: "Dar'a" = "Daraa", but
      not "Hebei" = "Hubei"). No alias list is derived from the gold file.
    - ``geo_error_km_median``: median great-circle distance between the primary incident's
      coordinates and the nearest of the note's rows with ``geo_precision`` 1, over notes
      having both (``geo_error_notes`` counts them).
    - ``fatalities_exact``, ``fatalities_mae`` over all notes: predicted = sum over
      sentences of the largest ``fatalities`` among the note's asserted violent incidents
      (Battles, Explosions/Remote violence, Violence against civilians, Protests, Riots)
      in that sentence, NULL counting as 0 (ACLED codes unknown as 0). Also
      ``fatalities_exact_conflict`` over the gold conflict notes only (most other notes
      are trivially 0).
    - ``actor1_agreement``, ``actor2_agreement``: among notes with a primary incident,
      share whose primary actor agrees with a row's actor after
      :func:`transforms.metrics.actors_agree`: years like "(2019-)" and a "XYZ:" label
      dropped (the label also counts as a name), case, accents and punctuation folded,
      "X army"/"X military"/"armed forces of X"/"Ukrainian forces" -> "military forces of
      X" (demonyms from sitrep's country lexicon), police likewise; then equal, or one
      contained in the other as whole words. Both empty agrees (a note without actor2 and
      a prediction without one); one empty disagrees.

isaf (PATH: the ISAF press release JSONL ``{idx, first_line, text, gold}``)
    Each line's ``text`` is read like a ``.jsonl`` record with that text and no date, so
    the publication date comes from the pipeline's own dateline detection
    (``dateline_found``: share of documents where it found one). The **primary
    incident** is the first asserted incident (text order) that is an attack (Battles,
    Explosions/Remote violence, Violence against civilians) or Arrests.

    - ``primary_coverage``: share of documents with a primary incident.
    - ``start_date_exact``: among documents with a primary incident, share whose primary
      event_date equals ``gold.start_date``.
    - ``province_accuracy``: among documents with a primary incident and a gold province,
      share whose primary admin1 matches a gold province (:func:`places_match`, so
      "Kandahar Province" matches "kandahar", and as ACLED's admin1 with Afghanistan as
      the country: "Ghowr" matches "ghor").
    - ``event_type_precision/recall/f1``: micro-averaged multi-label scores of ISAF event
      types predicted from the document's asserted incidents: Air/drone strike ->
      airstrike; an attack on civilians (Violence against civilians, or actor2
      "Civilians ...") -> civiliancasualty; deaths in another attack (fatalities > 0) and
      Arrests -> captureandkill, deaths alone -> insurgentskilled, Arrests alone ->
      detention; an Armed clash with none of these -> exchangeoffire. Gold
      ``"a;b"`` entries are split.
    - ``min_killed_exact``: sum over sentences of the largest ``fatalities`` among the
      document's asserted attack incidents in that sentence (NULL as 0) == ``min_killed``.
    - ``min_captured_exact``: the same sum of ``detained`` over asserted Arrests incidents
      == ``min_captured``.

Every run also reports its timing (``timing``: wall seconds, seconds in build_tables,
words, words per second) and prints progress to stderr.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from transforms import metrics
from transforms.documents import document_id, parse_file, raw_documents_frame
from transforms.schemas import CONFLICT_EVENT_TYPES, EVENT_TYPES

if TYPE_CHECKING:
    from flows.settings import Settings
    from transforms.pipeline import Tables

FORMATS = ("conll2003", "gum", "acled", "isaf")
PROGRESS_EVERY = 250  # documents per build_tables call (one progress line each)
NO_INCIDENT = "(none)"

CONLL_LABELS = {
    "PERSON": "PER",
    "ORG": "ORG",
    "MILITARY_UNIT": "ORG",
    "GPE": "LOC",
    "LOC": "LOC",
    "FAC": "LOC",
    "NORP": "MISC",
    "EVENT": "MISC",
    "PRODUCT": "MISC",
    "WORK_OF_ART": "MISC",
    "LAW": "MISC",
    "LANGUAGE": "MISC",
}
GUM_LABELS = {
    "PERSON": "person",
    "ORG": "organization",
    "MILITARY_UNIT": "organization",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
}
GUM_TYPES = ("person", "organization", "place")
ACLED_EVENT_TYPES = tuple(t for t in EVENT_TYPES if t not in ("Threats", "Military posture"))
VIOLENT_EVENT_TYPES = (*CONFLICT_EVENT_TYPES, "Protests", "Riots")


class EvaluationInputError(ValueError):
    """The format or path given to ``sitrep evaluate`` cannot be evaluated."""


@dataclass
class GoldDocument:
    """One gold document: the raw record given to the pipeline and its annotations."""

    key: str  # the dataset's name for it (CoNLL number, GUM doc id, ACLED note, ISAF idx)
    record: dict[str, Any]  # a raw document record (RAW_DOCUMENTS + doc_id)
    spans: list[tuple[int, int, str]] = field(default_factory=list)  # gold entities
    sentence_ends: list[int] = field(default_factory=list)  # gold sentence end offsets
    tokens: int = 0  # gold tokens (CoNLL, GUM)
    gold: Any = None  # dataset-specific gold (ACLED rows, ISAF gold object)

    @property
    def doc_id(self) -> str:
        return self.record["doc_id"]


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _record(
    *,
    title: str,
    text: str,
    source_path: str,
    source_record: int,
    file_hash: str,
    fmt: str = "txt",
    published_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "doc_id": document_id(title, text),
        "source_path": source_path,
        "source_record": source_record,
        "file_hash": file_hash,
        "format": fmt,
        "title": title,
        "text": text,
        "published_at": published_at,
        "url": None,
        "source_name": None,
    }


def _parsed_record(name: str, data: bytes, *, source_record: int, file_hash: str) -> dict[str, Any] | None:
    """A record read by the ingest parser (``transforms.documents.parse_file``)."""
    parsed = parse_file(name, data)
    if not parsed.records:
        return None
    record = parsed.records[0]
    record.update(source_path=name, source_record=source_record, file_hash=file_hash)
    return record


# --------------------------------------------------------------------------- readers


def read_conll(path: Path) -> list[GoldDocument]:
    """CoNLL-2003 (``token POS chunk NER`` lines, IOB1 tags) -> gold documents."""
    digest = _file_hash(path)
    documents: list[list[list[tuple[str, str]]]] = [[]]
    sentence: list[tuple[str, str]] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if not fields:
                if sentence:
                    documents[-1].append(sentence)
                    sentence = []
                continue
            if fields[0] == "-DOCSTART-":
                if sentence:
                    documents[-1].append(sentence)
                    sentence = []
                documents.append([])
                continue
            sentence.append((fields[0], fields[-1]))
    if sentence:
        documents[-1].append(sentence)
    gold = []
    for number, sentences in enumerate(d for d in documents if d):
        lines, spans, ends, offset, tokens = [], [], [], 0, 0
        for words in sentences:
            starts = []
            for word, _ in words:
                starts.append(offset)
                offset += len(word) + 1
            for first, last, kind in metrics.iob_chunks([tag for _, tag in words]):
                end = starts[last - 1] + len(words[last - 1][0])
                spans.append((starts[first], end, kind))
            lines.append(" ".join(word for word, _ in words))
            ends.append(offset - 1)
            tokens += len(words)
        text = "\n".join(lines)
        record = _record(
            title=lines[0],
            text=text,
            source_path=path.name,
            source_record=number,
            file_hash=digest,
        )
        gold.append(GoldDocument(str(number), record, spans=spans, sentence_ends=ends, tokens=tokens))
    return gold


_NEWPAR = re.compile(r"^#\s*newpar(?:\s|$)")
_ENTITY_PART = re.compile(r"\((?P<open>[^()]+)(?P<single>\))?|(?P<close>[^()]+)\)")


@dataclass
class _Mention:
    """A GUM mention being read: where it starts, its type and identity, and whether one
    of its tokens is a proper noun."""

    start: int
    etype: str
    identity: str | None
    proper: bool = False
    words: list[tuple[int, int, str]] = field(default_factory=list)  # (id, head id, UPOS)

    def head_is_proper(self) -> bool:
        """Whether the mention's syntactic head (its first word whose head lies outside
        the mention) is a proper noun: "Ahmed Mohamed", "U.S. President Donald Trump",
        not "a stateless minority of Muslims from Myanmar"."""
        ids = {number for number, _, _ in self.words}
        return next((upos == "PROPN" for _, head, upos in self.words if head not in ids), False)


def parse_entity_field(value: str) -> list[tuple[str, str, str | None]]:
    """One token's ``Entity=`` value -> events in order: ("open", eid, fields),
    ("single", eid, fields) for a one-token mention, ("close", eid, None).

    ``(3-organization-new-...-Name`` opens mention 3, ``3)`` closes it, ``(6-abstract-...)``
    is a mention of this token alone; several may follow each other: ``(8-time-...)7)``.
    """
    events: list[tuple[str, str, str | None]] = []
    for match in _ENTITY_PART.finditer(value):
        if match.group("open") is not None:
            fields = match.group("open")
            eid = fields.split("-", 1)[0]
            events.append(("single" if match.group("single") else "open", eid, fields))
        else:
            events.append(("close", match.group("close"), None))
    return events


def _entity_fields(fields: str, order: list[str]) -> tuple[str, str | None]:
    """(etype, identity) of an opening bracket's dash-separated fields."""
    parts = fields.split("-", len(order) - 1)
    named = dict(zip(order, parts, strict=False))
    identity = named.get("identity")
    identity = None if identity in (None, "", "_") else urllib.parse.unquote(identity)
    return named.get("etype", ""), identity


def _misc(value: str) -> dict[str, str]:
    if value in ("", "_"):
        return {}
    items = {}
    for item in value.split("|"):
        name, _, val = item.partition("=")
        items[name] = val
    return items


def _gum_documents(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """CoNLL-U lines -> raw GUM documents: sentences of (newpar, comments, token rows)."""
    document: dict[str, Any] | None = None
    comments: list[str] = []
    rows: list[list[str]] = []

    def flush() -> None:
        nonlocal comments, rows
        if rows and document is not None:
            document["sentences"].append((comments, rows))
        elif rows:
            raise EvaluationInputError("CoNLL-U tokens before any '# newdoc'")
        comments, rows = [], []

    for raw in lines:
        line = raw.rstrip("\n")
        if not line.strip():
            flush()
            continue
        if line.startswith("#"):
            if rows:
                flush()
            if re.match(r"^#\s*newdoc\b", line):
                if document is not None:
                    yield document
                doc_id = line.split("=", 1)[1].strip() if "=" in line else ""
                document = {"id": doc_id, "meta": {}, "sentences": []}
            elif document is not None and line.startswith("# meta::") and "=" in line:
                name, _, value = line[len("# meta::") :].partition("=")
                document["meta"][name.strip()] = value.strip()
            elif document is not None and line.startswith("# global.Entity") and "=" in line:
                document["entity_order"] = line.split("=", 1)[1].strip().lower().split("-")
            comments.append(line)
            continue
        rows.append(line.split("\t"))
    flush()
    if document is not None:
        yield document


def build_gum_document(
    raw: dict[str, Any], *, source_path: str, source_record: int, file_hash: str
) -> GoldDocument:
    """A parsed GUM document -> rebuilt text, gold sentence ends and named entity spans."""
    order = raw.get("entity_order") or [
        "eid", "etype", "infstat", "salience", "centering", "minspan", "link", "identity",
    ]  # fmt: skip
    order = ["eid" if name == "grp" else name for name in order]
    pieces: list[str] = []
    offset = 0
    sentence_ends: list[int] = []
    spans: list[tuple[int, int, str]] = []
    identity_spans: list[tuple[int, int, str]] = []
    open_mentions: dict[str, list[_Mention]] = {}

    named_spans: list[tuple[int, int, str]] = []

    def finish(mention: _Mention, end: int) -> None:
        if mention.etype in GUM_TYPES and mention.head_is_proper():
            named_spans.append((mention.start, end, mention.etype))
        if mention.identity and mention.etype in GUM_TYPES:
            identity_spans.append((mention.start, end, mention.etype))
            if mention.proper:
                spans.append((mention.start, end, mention.etype))

    tokens = 0
    title = ""
    previous_no_space = False
    for index, (comments, rows) in enumerate(raw["sentences"]):
        new_paragraph = any(_NEWPAR.match(c) for c in comments)
        if index > 0:
            separator = "\n" if new_paragraph else ("" if previous_no_space else " ")
            pieces.append(separator)
            offset += len(separator)
        sentence_start = offset
        range_end = 0  # last word id covered by the current multiword token
        range_start_offset = 0
        range_form = ""
        range_cursor = 0
        space_after = True
        for row in rows:
            if len(row) < 10:
                raise EvaluationInputError(f"{source_path}: CoNLL-U row with {len(row)} columns")
            token_id, form, misc = row[0], row[1], _misc(row[9])
            if "." in token_id:
                continue  # empty node: not in the text
            if "-" in token_id:
                last = int(token_id.split("-")[1])
                range_end, range_form = last, form
                range_start_offset, range_cursor = offset, 0
                pieces.append(form)
                offset += len(form)
                space_after = misc.get("SpaceAfter") != "No"
                if space_after:
                    pieces.append(" ")
                    offset += 1
                tokens += 1
                continue
            number = int(token_id)
            if number <= range_end:
                # a syntactic word inside a multiword token: placed within its surface form
                found = range_form.find(form, range_cursor)
                if found >= 0:
                    start = range_start_offset + found
                    end = start + len(form)
                    range_cursor = found + len(form)
                else:
                    start, end = range_start_offset, range_start_offset + len(range_form)
            else:
                start = offset
                end = start + len(form)
                pieces.append(form)
                offset = end
                space_after = misc.get("SpaceAfter") != "No"
                if space_after:
                    pieces.append(" ")
                    offset += 1
                tokens += 1
            proper = row[3] == "PROPN"
            word = (number, int(row[6]) if row[6].isdigit() else 0, row[3])
            for stack in open_mentions.values():  # every mention still open contains this word
                for mention in stack:
                    mention.proper = mention.proper or proper
                    mention.words.append(word)
            for kind, eid, fields in parse_entity_field(misc.get("Entity", "")):
                if kind == "close":
                    stack = open_mentions.get(eid)
                    if not stack:
                        raise EvaluationInputError(f"{source_path}: entity {eid} closed but never opened")
                    finish(stack.pop(), end)
                    continue
                assert fields is not None
                etype, identity = _entity_fields(fields, order)
                mention = _Mention(start, etype, identity, proper, [word])
                if kind == "single":
                    finish(mention, end)
                else:
                    open_mentions.setdefault(eid, []).append(mention)
        # the sentence ends at its last surface token (without the space after it)
        if space_after and pieces and pieces[-1] == " ":
            pieces.pop()
            offset -= 1
        previous_no_space = not space_after
        sentence_ends.append(offset)
        if index == 0:
            title = "".join(pieces)[sentence_start:offset]
    unclosed = [eid for eid, stack in open_mentions.items() if stack]
    if unclosed:
        raise EvaluationInputError(f"{source_path}: entities never closed: {unclosed[:5]}")
    text = "".join(pieces)
    created = raw["meta"].get("dateCreated")
    published_at = None
    if created:
        try:
            published_at = datetime.fromisoformat(created).replace(tzinfo=UTC)
        except ValueError:
            published_at = None
    record = _record(
        title=title,
        text=text,
        source_path=source_path,
        source_record=source_record,
        file_hash=file_hash,
        published_at=published_at,
    )
    return GoldDocument(
        raw["id"] or source_path,
        record,
        spans=sorted(spans),
        sentence_ends=sentence_ends,
        tokens=tokens,
        gold={"identity_spans": sorted(identity_spans), "named_spans": sorted(named_spans)},
    )


def read_gum(path: Path) -> list[GoldDocument]:
    """A GUM ``.conllu`` file, or every ``.conllu`` file of a folder -> gold documents."""
    files = sorted(path.glob("*.conllu")) if path.is_dir() else [path]
    if not files:
        raise EvaluationInputError(f"no .conllu files in {path}")
    documents = []
    for file in files:
        digest = _file_hash(file)
        with file.open(encoding="utf-8") as handle:
            for number, raw in enumerate(_gum_documents(handle)):
                documents.append(
                    build_gum_document(raw, source_path=file.name, source_record=number, file_hash=digest)
                )
    return documents


def _acled_date(value: str) -> date | None:
    """An ACLED ``event_date`` (``9-May-20``, or ISO / long forms) as a date, or None."""
    for pattern in ("%d-%b-%y", "%d %B %Y", "%Y-%m-%d", "%d-%B-%Y"):
        try:
            return datetime.strptime(value.strip(), pattern).date()
        except ValueError:
            continue
    return None


def read_acled(path: Path) -> list[GoldDocument]:
    """An ACLED CSV export -> one gold document per distinct note (rows in ``gold``)."""
    digest = _file_hash(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    required = {"notes", "event_date", "event_type", "sub_event_type"}
    if rows and not required <= set(rows[0]):
        raise EvaluationInputError(f"{path} lacks ACLED columns {sorted(required - set(rows[0]))}")
    by_doc: dict[str, GoldDocument] = {}
    for number, row in enumerate(rows):
        note = (row.get("notes") or "").strip()
        if not note:
            continue
        record = _parsed_record(
            f"{path.name}#{number}.txt", note.encode(), source_record=number, file_hash=digest
        )
        if record is None:
            continue
        document = by_doc.get(record["doc_id"])
        if document is None:
            day = _acled_date(row["event_date"])
            record["published_at"] = datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None
            record["source_path"] = path.name
            document = by_doc[record["doc_id"]] = GoldDocument(str(number), record, gold=[])
        document.gold.append(row)
    return list(by_doc.values())


def read_isaf(path: Path) -> list[GoldDocument]:
    """The ISAF press releases JSONL -> gold documents (``gold`` the annotation object)."""
    digest = _file_hash(path)
    documents = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                raise EvaluationInputError(f"{path}:{number}: not JSON ({error.msg})") from error
            if "text" not in item or "gold" not in item:
                raise EvaluationInputError(f"{path}:{number}: no 'text' or 'gold' field")
            record = _parsed_record(
                path.name,
                json.dumps({"text": item["text"]}).encode(),
                source_record=number,
                file_hash=digest,
            )
            if record is None:
                continue
            documents.append(GoldDocument(str(item.get("idx", number)), record, gold=item["gold"]))
    return documents


READERS: dict[str, Callable[[Path], list[GoldDocument]]] = {
    "conll2003": read_conll,
    "gum": read_gum,
    "acled": read_acled,
    "isaf": read_isaf,
}


# --------------------------------------------------------------------------- pipeline


@dataclass
class Predictions:
    """The pipeline's tables for the gold documents, and how long producing them took."""

    tables: Tables
    seconds: float  # inside build_tables
    stage_seconds: dict[str, float]
    # (country code, name_skeleton) -> how many first-level regions of that country have it
    region_skeletons: dict[tuple[str, tuple], int] = field(default_factory=dict)

    def regions_match(self, predicted: str | None, gold: str | None, country_code: str | None) -> bool:
        """Whether a predicted admin1 names the gold one (:func:`transforms.metrics.places_match`).
        ``country_code`` is the country both are known to lie in, or None. There shorter
        skeletons count too, when the gold name's skeleton is that of one region of the
        country only: "Hebei" and "Hubei", GeoNames' "Kyiv" (Kyiv City) and "Kiev" (Kyiv
        Oblast) share theirs, so those pairs never match by skeleton."""
        unique = (
            country_code is not None
            and gold is not None
            and self.region_skeletons.get((country_code, metrics.name_skeleton(gold))) == 1
        )
        return metrics.places_match(predicted, gold, same_country=unique)

    def rows(self, table: str) -> dict[str, list[dict[str, Any]]]:
        """doc_id -> rows of a table, in text order."""
        frame = getattr(self.tables, table)
        order = ["doc_id", "char_start"] if "char_start" in frame.columns else ["doc_id"]
        if table == "incidents":
            order = ["doc_id", "char_start", "incident_id"]
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in frame.sort(order).iter_rows(named=True):
            grouped.setdefault(row["doc_id"], []).append(row)
        return grouped


def run_pipeline(documents: list[GoldDocument], settings: Settings, label: str) -> Predictions:
    """Run the ingest transforms (``build_tables``) on the gold documents' records."""
    from transforms.pipeline import Tables, build_tables, load_resources
    from transforms.resources import load_gazetteer

    started = time.perf_counter()
    resources = load_resources(settings.spacy_model, True, settings.cache_dir)
    _log(f"{label}: resources loaded in {time.perf_counter() - started:.1f} s")
    records, seen = [], set()
    for document in documents:
        if document.doc_id not in seen:
            seen.add(document.doc_id)
            records.append(document.record)
    ingested_at = datetime.now(UTC)
    run_id = f"evaluate-{label}-{ingested_at:%Y%m%dT%H%M%S}"
    parts: list[Tables] = []
    seconds = 0.0
    stages: dict[str, float] = {}
    words = 0
    for first in range(0, len(records), PROGRESS_EVERY):
        chunk = records[first : first + PROGRESS_EVERY]
        raw = raw_documents_frame(chunk)
        begun = time.perf_counter()
        tables = build_tables(
            raw,
            resources,
            run_id=run_id,
            ingested_at=ingested_at,
            nlp_batch_size=settings.nlp_batch_size,
            nlp_workers=settings.nlp_workers,
            min_incident_confidence=settings.min_incident_confidence,
        )
        seconds += time.perf_counter() - begun
        for stage, value in tables.seconds.items():
            stages[stage] = stages.get(stage, 0.0) + value
        words += int(tables.documents["word_count"].sum() or 0)
        parts.append(tables)
        done = first + len(chunk)
        _log(
            f"{label}: {done}/{len(records)} documents processed "
            f"({seconds:.1f} s, {words / seconds if seconds else 0:,.0f} words/s)"
        )
    if not parts:
        empty = build_tables(raw_documents_frame([]), resources, run_id=run_id, ingested_at=ingested_at)
        parts.append(empty)
    tables = Tables(**{name: pl.concat([getattr(p, name) for p in parts]) for name in parts[0].as_dict()})
    places, _ = load_gazetteer(settings.cache_dir)
    regions = places.filter(pl.col("kind") == "admin1").select("country_code", "name").iter_rows()
    region_skeletons = Counter((code, metrics.name_skeleton(name)) for code, name in regions)
    return Predictions(tables, seconds, stages, dict(region_skeletons))


# --------------------------------------------------------------------------- scoring helpers


def _ratio_metrics(prefix: str, score: metrics.PRF) -> dict[str, float]:
    """``{prefix}_precision``, ``{prefix}_recall`` and ``{prefix}_f1``."""
    return {
        f"{prefix}_precision": score.precision,
        f"{prefix}_recall": score.recall,
        f"{prefix}_f1": score.f1,
    }


def _predicted_spans(
    documents: list[GoldDocument], predictions: Predictions, mapping: dict[str, str]
) -> list[tuple[int, int, int, str]]:
    entities = predictions.rows("entities")
    spans = []
    for index, document in enumerate(documents):
        for row in entities.get(document.doc_id, []):
            label = mapping.get(row["label"])
            if label is not None:
                spans.append((index, row["char_start"], row["char_end"], label))
    return spans


def _gold_spans(documents: list[GoldDocument]) -> list[tuple[int, int, int, str]]:
    return [(index, *span) for index, document in enumerate(documents) for span in document.spans]


def score_conll(documents: list[GoldDocument], predictions: Predictions) -> dict[str, Any]:
    """CoNLL-2003 entity metrics (see the module docstring)."""
    gold = _gold_spans(documents)
    predicted = _predicted_spans(documents, predictions, CONLL_LABELS)
    overall = metrics.prf(gold, predicted)
    by_type = metrics.prf_by_label(gold, predicted, ("PER", "ORG", "LOC", "MISC"))
    core = ("PER", "ORG", "LOC")
    tokens = sum(d.tokens for d in documents)
    values: dict[str, Any] = {
        **_ratio_metrics("entity", overall),
        **{f"{kind.lower()}_f1": score.f1 for kind, score in by_type.items()},
        "entity_f1_per_org_loc": metrics.prf(
            (s for s in gold if s[-1] in core), (s for s in predicted if s[-1] in core)
        ).f1,
        "words_per_second": tokens / predictions.seconds if predictions.seconds else None,
    }
    support = {
        "gold_entities": len(gold),
        "predicted_entities": len(predicted),
        "tokens": tokens,
        **{f"gold_{kind.lower()}": score.tp + score.fn for kind, score in by_type.items()},
    }
    return {"metrics": values, "support": support}


def _boundaries(ends_by_doc: Iterable[tuple[int, list[int]]]) -> list[tuple[int, int]]:
    """(document, end offset) for every sentence end but the last of its document."""
    items = []
    for index, ends in ends_by_doc:
        ordered = sorted(set(ends))
        items.extend((index, end) for end in ordered[:-1])
    return items


_LEADING_ARTICLE = re.compile(r"(?i:the|a|an)\s+(?=\S)")
_TRAILING_POSSESSIVE = re.compile(r"\s*['’]s?$")


def _without_affixes(text: str, span: tuple[int, int, int, str]) -> tuple[int, int, int, str]:
    """A span without a leading article ("the Taliban") or a trailing possessive
    ("Google's"): GUM's mentions include both, CoNLL's and sitrep's names do not."""
    index, start, end, label = span
    article = _LEADING_ARTICLE.match(text, start, end)
    if article:
        start = article.end()
    possessive = _TRAILING_POSSESSIVE.search(text[start:end])
    if possessive and possessive.start() > 0:
        end = start + possessive.start()
    return index, start, end, label


def score_gum(documents: list[GoldDocument], predictions: Predictions) -> dict[str, Any]:
    """GUM sentence-boundary and named-entity metrics (see the module docstring)."""
    sentences = predictions.rows("sentences")
    gold_boundaries = _boundaries((i, d.sentence_ends) for i, d in enumerate(documents))
    predicted_boundaries = _boundaries(
        (i, [row["char_end"] for row in sentences.get(d.doc_id, [])]) for i, d in enumerate(documents)
    )
    gold = _gold_spans(documents)
    predicted = _predicted_spans(documents, predictions, GUM_LABELS)
    values = {
        **_ratio_metrics("sentence", metrics.prf(gold_boundaries, predicted_boundaries)),
        **_ratio_metrics("entity", metrics.prf(gold, predicted)),
    }
    by_type = metrics.prf_by_label(gold, predicted, GUM_TYPES)
    values.update({f"{kind}_f1": score.f1 for kind, score in by_type.items()})
    every_mention = [
        (index, *span) for index, document in enumerate(documents) for span in document.gold["identity_spans"]
    ]
    values["entity_f1_all_identity_mentions"] = metrics.prf(every_mention, predicted).f1
    proper_heads = [
        (index, *span) for index, document in enumerate(documents) for span in document.gold["named_spans"]
    ]
    values["entity_f1_proper_head"] = metrics.prf(proper_heads, predicted).f1
    texts = [document.record["text"] for document in documents]
    values["entity_f1_without_article_possessive"] = metrics.prf(
        {_without_affixes(texts[s[0]], s) for s in gold},
        {_without_affixes(texts[s[0]], s) for s in predicted},
    ).f1
    support = {
        "gold_sentences": sum(len(d.sentence_ends) for d in documents),
        "predicted_sentences": sum(len(sentences.get(d.doc_id, [])) for d in documents),
        "gold_entities": len(gold),
        "gold_identity_mentions": len(every_mention),
        "gold_proper_head_mentions": len(proper_heads),
        "predicted_entities": len(predicted),
        "tokens": sum(d.tokens for d in documents),
    }
    return {"metrics": values, "support": support}


def primary_incident(
    incidents: list[dict[str, Any]], accept: Callable[[dict[str, Any]], bool]
) -> dict[str, Any] | None:
    """The first asserted incident (text order) that ``accept`` accepts, or None."""
    for row in incidents:
        if row["modality"] == "asserted" and accept(row):
            return row
    return None


def sentence_sum(incidents: Iterable[dict[str, Any]], column: str) -> int:
    """Sum over sentences of the largest value of ``column`` among the sentence's
    incidents (NULL as 0): one sentence's clauses often restate the same count."""
    best: dict[str, int] = {}
    for row in incidents:
        value = row[column] or 0
        best[row["sentence_id"]] = max(best.get(row["sentence_id"], 0), value)
    return sum(best.values())


def _country_code(name: str | None) -> str | None:
    """ISO2 code of a country name in sitrep's own country lexicon, or None."""
    from transforms.resources import country_lookup, name_key

    if not name:
        return None
    found = country_lookup().get(name_key(name))
    return found[0] if found else None


def _demonyms() -> dict[str, str]:
    """Folded demonym -> country name, from sitrep's own country lexicon."""
    from transforms.resources import countries

    return {
        metrics.fold(demonym): row["name"]
        for row in countries().iter_rows(named=True)
        for demonym in row["demonyms"]
    }


def _int(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def score_acled(documents: list[GoldDocument], predictions: Predictions) -> dict[str, Any]:
    """ACLED note-level incident metrics and the sub-event confusion matrix."""
    incidents = predictions.rows("incidents")
    demonyms = _demonyms()
    gold_conflict, predicted_conflict = [], []
    gold_sub, predicted_sub = [], []
    dates, date_known = [], []
    countries, admin1s, locations, actor1s, actor2s = [], [], [], [], []
    distances: list[float] = []
    fatalities: list[tuple[int, int]] = []
    conflict_fatalities: list[tuple[int, int]] = []
    has_primary = []
    for document in documents:
        rows: list[dict[str, str]] = document.gold
        first = rows[0]
        found = incidents.get(document.doc_id, [])
        is_conflict = any(r["event_type"] in CONFLICT_EVENT_TYPES for r in rows)
        gold_conflict.append(is_conflict)
        predicted_conflict.append(
            any(i["modality"] == "asserted" and i["event_type"] in CONFLICT_EVENT_TYPES for i in found)
        )
        primary = primary_incident(found, lambda i: i["event_type"] in ACLED_EVENT_TYPES)
        has_primary.append(primary is not None)
        gold_sub.append(first["sub_event_type"])
        predicted_sub.append(primary["sub_event_type"] if primary else NO_INCIDENT)
        violent = [i for i in found if i["modality"] == "asserted" and i["event_type"] in VIOLENT_EVENT_TYPES]
        pair = (sentence_sum(violent, "fatalities"), sum(_int(r["fatalities"]) for r in rows))
        fatalities.append(pair)
        if is_conflict:
            conflict_fatalities.append(pair)
        date_known.append(primary is not None and primary["event_date"] is not None)
        if primary is None:
            continue
        dates.append((primary["event_date"], _acled_date(first["event_date"])))
        code = primary["country_code"]
        same_country = [
            (code is not None and code == _country_code(r["country"]))
            or metrics.places_match(primary["country"], r["country"])
            for r in rows
        ]
        countries.append(any(same_country))
        admin1s.append(
            any(
                predictions.regions_match(primary["admin1"], r["admin1"], code if same else None)
                for r, same in zip(rows, same_country, strict=True)
            )
        )
        locations.append(any(metrics.places_match(primary["location"], r["location"]) for r in rows))
        actor1s.append(any(metrics.actors_agree(primary["actor1"], r["actor1"], demonyms) for r in rows))
        actor2s.append(any(metrics.actors_agree(primary["actor2"], r["actor2"], demonyms) for r in rows))
        if primary["latitude"] is not None and primary["longitude"] is not None:
            exact = [
                (_float(r["latitude"]), _float(r["longitude"]))
                for r in rows
                if r.get("geo_precision", "").strip() == "1"
            ]
            exact = [(lat, lon) for lat, lon in exact if lat is not None and lon is not None]
            if exact:
                distances.append(
                    min(
                        metrics.haversine_km(primary["latitude"], primary["longitude"], lat, lon)
                        for lat, lon in exact
                    )
                )
    detection = metrics.prf(
        (i for i, flag in enumerate(gold_conflict) if flag),
        (i for i, flag in enumerate(predicted_conflict) if flag),
    )
    classes = metrics.classification_scores(gold_sub, predicted_sub)
    values = {
        **_ratio_metrics("incident_detection", detection),
        "sub_event_type_macro_f1": classes.macro_f1,
        "sub_event_type_weighted_f1": classes.weighted_f1,
        "sub_event_type_accuracy": classes.accuracy,
        "primary_coverage": metrics.share(has_primary),
        "event_date_exact": metrics.exact_match_rate(dates),
        "event_date_coverage": metrics.share(date_known),
        "country_match": metrics.share(countries),
        "admin1_match": metrics.share(admin1s),
        "location_match": metrics.share(locations),
        "geo_error_km_median": metrics.median(distances),
        "geo_error_notes": len(distances),
        "fatalities_exact": metrics.exact_match_rate(fatalities),
        "fatalities_mae": metrics.mean_absolute_error(fatalities),
        "fatalities_exact_conflict": metrics.exact_match_rate(conflict_fatalities),
        "actor1_agreement": metrics.share(actor1s),
        "actor2_agreement": metrics.share(actor2s),
    }
    support = {
        "notes": len(documents),
        "rows": sum(len(d.gold) for d in documents),
        "gold_conflict_notes": sum(gold_conflict),
        "predicted_conflict_notes": sum(predicted_conflict),
        "notes_with_primary": sum(has_primary),
    }
    return {
        "metrics": values,
        "support": support,
        "confusion": metrics.confusion_matrix(gold_sub, predicted_sub),
        "per_label_f1": {
            label: {"f1": score.f1, "support": classes.support.get(label, 0)}
            for label, score in classes.per_label.items()
        },
    }


def isaf_event_labels(incidents: Iterable[dict[str, Any]]) -> set[str]:
    """ISAF event types implied by a document's incidents (see the module docstring)."""
    asserted = [i for i in incidents if i["modality"] == "asserted"]
    attacks = [i for i in asserted if i["event_type"] in CONFLICT_EVENT_TYPES]
    air = any(i["sub_event_type"] == "Air/drone strike" for i in attacks)
    on_civilians = [
        i
        for i in attacks
        if i["event_type"] == "Violence against civilians" or (i["actor2"] or "").startswith("Civilians")
    ]
    killed = any(
        (i["fatalities"] or 0) > 0
        for i in attacks
        if i["sub_event_type"] != "Air/drone strike" and i not in on_civilians
    )
    captured = any(i["sub_event_type"] == "Arrests" for i in asserted)
    labels = set()
    if air:
        labels.add("airstrike")
    if on_civilians:
        labels.add("civiliancasualty")
    if killed and captured:
        labels.add("captureandkill")
    elif killed:
        labels.add("insurgentskilled")
    elif captured:
        labels.add("detention")
    if not labels and any(i["sub_event_type"] == "Armed clash" for i in attacks):
        labels.add("exchangeoffire")
    return labels


def _gold_list(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [
        part.strip().lower()
        for item in items
        if item is not None
        for part in str(item).split(";")
        if part.strip()
    ]


def score_isaf(documents: list[GoldDocument], predictions: Predictions) -> dict[str, Any]:
    """ISAF press-release metrics (see the module docstring)."""
    incidents = predictions.rows("incidents")
    sources = dict(
        zip(
            predictions.tables.documents["doc_id"],
            predictions.tables.documents["published_at_source"],
            strict=True,
        )
    )
    dates, provinces, has_primary = [], [], []
    gold_labels, predicted_labels = [], []
    killed, captured = [], []
    for document in documents:
        gold = document.gold
        found = incidents.get(document.doc_id, [])
        primary = primary_incident(
            found,
            lambda i: i["event_type"] in CONFLICT_EVENT_TYPES or i["sub_event_type"] == "Arrests",
        )
        has_primary.append(primary is not None)
        if primary is not None:
            if gold.get("start_date"):
                dates.append((primary["event_date"], date.fromisoformat(gold["start_date"])))
            names = _gold_list(gold.get("province"))
            if names:
                # ISAF's provinces are Afghanistan's
                in_afghanistan = "AF" if primary["country_code"] == "AF" else None
                provinces.append(
                    any(predictions.regions_match(primary["admin1"], n, in_afghanistan) for n in names)
                )
        gold_labels.append(set(_gold_list(gold.get("event_type"))))
        predicted_labels.append(isaf_event_labels(found))
        asserted = [i for i in found if i["modality"] == "asserted"]
        attacks = [i for i in asserted if i["event_type"] in CONFLICT_EVENT_TYPES]
        arrests = [i for i in asserted if i["sub_event_type"] == "Arrests"]
        killed.append((sentence_sum(attacks, "fatalities"), _int(gold.get("min_killed"))))
        captured.append((sentence_sum(arrests, "detained"), _int(gold.get("min_captured"))))
    values = {
        "dateline_found": metrics.share(sources.get(d.doc_id) == "dateline" for d in documents),
        "primary_coverage": metrics.share(has_primary),
        "start_date_exact": metrics.exact_match_rate(dates),
        "province_accuracy": metrics.share(provinces),
        **_ratio_metrics("event_type", metrics.multilabel_prf(gold_labels, predicted_labels)),
        "min_killed_exact": metrics.exact_match_rate(killed),
        "min_killed_mae": metrics.mean_absolute_error(killed),
        "min_captured_exact": metrics.exact_match_rate(captured),
        "min_captured_mae": metrics.mean_absolute_error(captured),
    }
    labels = sorted({label for labels in gold_labels for label in labels})
    support = {
        "documents_with_primary": sum(has_primary),
        **{f"gold_{label}": sum(1 for labels in gold_labels if label in labels) for label in labels},
    }
    return {"metrics": values, "support": support}


SCORERS: dict[str, Callable[[list[GoldDocument], Predictions], dict[str, Any]]] = {
    "conll2003": score_conll,
    "gum": score_gum,
    "acled": score_acled,
    "isaf": score_isaf,
}


# --------------------------------------------------------------------------- entry points


def check_input(fmt: str, path: Path) -> None:
    """Raise :class:`EvaluationInputError` with a clear message for a bad format or path."""
    if fmt not in FORMATS:
        raise EvaluationInputError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if not path.exists():
        raise EvaluationInputError(f"{fmt} gold data not found: {path} does not exist")
    if path.is_dir() and fmt != "gum":
        raise EvaluationInputError(f"{path} is a folder; {fmt} needs a file")


def evaluate(fmt: str, path: Path, settings: Settings | None = None) -> dict[str, Any]:
    """Score sitrep's extraction on one gold dataset.

    Returns ``{"dataset", "documents", "metrics", "timing", "support", ...}`` (ACLED adds
    ``confusion``: gold sub-event type -> predicted -> count)."""
    from flows.settings import Settings

    path = Path(path)
    check_input(fmt, path)
    settings = settings or Settings().resolved()
    started = time.perf_counter()
    _log(f"{fmt}: reading {path}")
    documents = READERS[fmt](path)
    if not documents:
        raise EvaluationInputError(f"no {fmt} documents found in {path}")
    _log(f"{fmt}: {len(documents)} documents")
    predictions = run_pipeline(documents, settings, fmt)
    scored = SCORERS[fmt](documents, predictions)
    wall = time.perf_counter() - started
    words = int(predictions.tables.documents["word_count"].sum() or 0)
    result: dict[str, Any] = {
        "dataset": fmt,
        "path": str(path),
        "documents": len(documents),
        "metrics": scored.pop("metrics"),
        "timing": {
            "wall_seconds": round(wall, 2),
            "pipeline_seconds": round(predictions.seconds, 2),
            "stage_seconds": {k: round(v, 2) for k, v in predictions.stage_seconds.items()},
            "words": words,
            "words_per_second": round(words / predictions.seconds, 1) if predictions.seconds else None,
        },
        "spacy_model": settings.spacy_model,
        **scored,
    }
    _log(f"{fmt}: done in {wall:.1f} s")
    return result


def _format_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.4f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def render_confusion(confusion: dict[str, dict[str, int]]) -> str:
    """A gold x predicted count table; labels are numbered, with a legend."""
    gold_labels = sorted(confusion, key=lambda g: -sum(confusion[g].values()))
    predicted = {p for row in confusion.values() for p in row}
    labels = gold_labels + sorted(predicted - set(gold_labels))
    number = {label: n for n, label in enumerate(labels, start=1)}
    columns = [label for label in labels if label in predicted]
    lines = ["sub-event confusion (rows: gold, columns: predicted):"]
    lines.extend(f"  [{number[label]:>2}] {label}" for label in labels)
    width = 8
    lines.append(" " * width + "".join(f"{'[' + str(number[c]) + ']':>6}" for c in columns) + "   total")
    for label in gold_labels:
        row = confusion[label]
        cells = "".join(f"{row.get(c) or '.':>6}" for c in columns)
        lines.append(f"  [{number[label]:>2}]".ljust(width) + cells + f"{sum(row.values()):>8}")
    return "\n".join(lines)


def render(result: dict[str, Any]) -> str:
    """The printable report of :func:`evaluate`'s result."""
    timing = result.get("timing", {})
    lines = [
        f"sitrep evaluate {result['dataset']}: {result['documents']:,} documents ({result.get('path', '')})",
        f"wall time {timing.get('wall_seconds', 0):.1f} s, pipeline "
        f"{timing.get('pipeline_seconds', 0):.1f} s, "
        f"{timing.get('words_per_second') or 0:,.0f} words/s "
        f"({timing.get('words', 0):,} words)",
        "",
    ]
    names = list(result["metrics"])
    width = max(len(name) for name in names) if names else 10
    lines.append(f"  {'metric':<{width}}  value")
    lines.extend(f"  {name:<{width}}  {_format_value(value)}" for name, value in result["metrics"].items())
    support = result.get("support")
    if support:
        lines.append("")
        lines.append("  support: " + ", ".join(f"{k} {_format_value(v)}" for k, v in support.items()))
    if result.get("per_label_f1"):
        lines.append("")
        lines.append("  sub-event F1 per label (gold support):")
        for label, item in sorted(result["per_label_f1"].items(), key=lambda kv: -kv[1]["support"]):
            lines.append(f"    {label:<36} {item['f1']:.4f}  ({item['support']})")
    if result.get("confusion"):
        lines.append("")
        lines.append(render_confusion(result["confusion"]))
    return "\n".join(lines)


def command(fmt: str, path: Path, json_out: Path | None = None) -> dict[str, Any]:
    """What ``sitrep evaluate FORMAT PATH [--json FILE]`` does: evaluate, print the table,
    write the result as JSON when asked. Bad input exits with status 2 and a message."""
    import typer

    try:
        result = evaluate(fmt, Path(path))
    except EvaluationInputError as error:
        typer.secho(f"sitrep evaluate: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from error
    typer.echo(render(result))
    if json_out is not None:
        json_out = Path(json_out)
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
        typer.echo(f"\nwrote {json_out}")
    return result
