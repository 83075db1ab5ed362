"""Scoring functions for ``sitrep evaluate``: pure, no I/O, no knowledge of any dataset.

- :func:`iob_chunks` decodes IOB1/IOB2 tags into chunks with conlleval's rules, and
  :func:`prf` scores gold against predicted items (entity spans, sentence boundaries) by
  exact match, as conlleval does: an item is a true positive only when the predicted one is
  identical (same document, same offsets, same type).
- :func:`classification_scores` and :func:`confusion_matrix` score one label per item
  (macro F1 over the gold labels, support-weighted F1); :func:`multilabel_prf` scores a
  set of labels per item (micro-averaged).
- :func:`exact_match_rate`, :func:`mean_absolute_error`, :func:`median` and
  :func:`haversine_km` summarise paired values.
- :func:`place_key`, :func:`places_match`, :func:`normalize_actor` and
  :func:`actors_agree` compare names after normalisation (rules in their docstrings).

Conventions: a ratio whose denominator is zero is 0.0 (conlleval reports 0.00 for a type
that never occurs); averages over no items are ``None`` (unknown, not zero).
"""

from __future__ import annotations

import math
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


# --------------------------------------------------------------------------- P/R/F1


@dataclass(frozen=True)
class PRF:
    """Counts of true positives, false positives and false negatives, and their ratios."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: PRF) -> PRF:
        return PRF(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


def prf(gold: Iterable[Hashable], predicted: Iterable[Hashable]) -> PRF:
    """Exact-match P/R/F1 of predicted items against gold items (multisets: an item
    predicted twice but annotated once is one true and one false positive)."""
    gold_counts, predicted_counts = Counter(gold), Counter(predicted)
    tp = sum((gold_counts & predicted_counts).values())
    return PRF(tp=tp, fp=sum(predicted_counts.values()) - tp, fn=sum(gold_counts.values()) - tp)


def prf_by_label(gold: Iterable[tuple], predicted: Iterable[tuple], labels: Iterable[str]) -> dict[str, PRF]:
    """Exact-match P/R/F1 per label, for tuples whose last element is the label."""
    gold, predicted = list(gold), list(predicted)
    return {
        label: prf(
            (item for item in gold if item[-1] == label),
            (item for item in predicted if item[-1] == label),
        )
        for label in labels
    }


def iob_chunks(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """IOB1 or IOB2 tags -> chunks ``(first token, last token + 1, type)``, by conlleval's
    rules: a chunk starts at ``B-X``, or at ``I-X`` after ``O`` or after a chunk of another
    type; it ends before ``O``, ``B-*`` or a change of type."""
    chunks: list[tuple[int, int, str]] = []
    start: int | None = None
    current = ""
    for index, tag in enumerate([*tags, "O"]):
        prefix, _, kind = tag.partition("-")
        if prefix not in ("B", "I"):
            prefix, kind = "O", ""
        ends = start is not None and (prefix in ("O", "B") or kind != current)
        if ends:
            assert start is not None
            chunks.append((start, index, current))
            start = None
        if prefix == "B" or (prefix == "I" and start is None):
            start, current = index, kind
    return chunks


# --------------------------------------------------------------------------- one label per item


@dataclass(frozen=True)
class ClassScores:
    """Single-label classification scores."""

    per_label: dict[str, PRF]  # every label seen in gold or predictions
    support: dict[str, int]  # gold count per label
    accuracy: float
    macro_f1: float  # unweighted mean of F1 over the labels that occur in gold
    weighted_f1: float  # mean of F1 over gold labels, weighted by their support


def classification_scores(gold: Sequence[str], predicted: Sequence[str]) -> ClassScores:
    """Scores of one predicted label per item against one gold label per item.

    Macro F1 averages over the labels present in gold only: a label that is only ever
    predicted has no support, and its false positives already lower the precision of
    nothing but itself, while they lower the recall of the gold labels they replaced.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    support = Counter(gold)
    labels = sorted(set(gold) | set(predicted))
    per_label = {}
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if p == label != g)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label != p)
        per_label[label] = PRF(tp, fp, fn)
    total = len(gold)
    gold_labels = [label for label in labels if support[label]]
    return ClassScores(
        per_label=per_label,
        support=dict(support),
        accuracy=sum(1 for g, p in zip(gold, predicted, strict=True) if g == p) / total if total else 0.0,
        macro_f1=sum(per_label[label].f1 for label in gold_labels) / len(gold_labels) if gold_labels else 0.0,
        weighted_f1=sum(per_label[label].f1 * support[label] for label in gold_labels) / total
        if total
        else 0.0,
    )


def confusion_matrix(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, dict[str, int]]:
    """gold label -> predicted label -> count (only the pairs that occur)."""
    matrix: dict[str, dict[str, int]] = {}
    for g, p in zip(gold, predicted, strict=True):
        row = matrix.setdefault(g, {})
        row[p] = row.get(p, 0) + 1
    return matrix


def multilabel_prf(gold: Sequence[Iterable[Hashable]], predicted: Sequence[Iterable[Hashable]]) -> PRF:
    """Micro-averaged P/R/F1 of a set of labels per item: every (item, label) pair is one
    decision."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold label sets but {len(predicted)} predictions")
    total = PRF(0, 0, 0)
    for g, p in zip(gold, predicted, strict=True):
        total += prf(set(g), set(p))
    return total


# --------------------------------------------------------------------------- paired values


def exact_match_rate(pairs: Iterable[tuple[object, object]]) -> float | None:
    """Share of (predicted, gold) pairs that are equal; None when there are no pairs."""
    pairs = list(pairs)
    if not pairs:
        return None
    return sum(1 for predicted, gold in pairs if predicted == gold) / len(pairs)


def mean_absolute_error(pairs: Iterable[tuple[float, float]]) -> float | None:
    """Mean of |predicted - gold|; None when there are no pairs."""
    errors = [abs(predicted - gold) for predicted, gold in pairs]
    return sum(errors) / len(errors) if errors else None


def median(values: Iterable[float]) -> float | None:
    """The median, or None for no values."""
    values = list(values)
    return statistics.median(values) if values else None


def share(flags: Iterable[bool]) -> float | None:
    """Share of true values; None for no values."""
    flags = list(flags)
    return sum(1 for flag in flags if flag) / len(flags) if flags else None


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


# --------------------------------------------------------------------------- names


def fold(text: str) -> str:
    """Lower case ASCII letters and digits separated by single spaces: accents removed,
    apostrophes dropped ("Sana'a" -> "sanaa"), other punctuation made a space."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"['`ʻʼ‘’]", "", text)
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


# Words that say what kind of place a name is rather than which one ("Kandahar province").
ADMIN_WORDS = frozenset(
    (
        "province", "provinces", "region", "regions", "governorate", "oblast", "state",
        "district", "county", "department", "prefecture", "municipality", "territory",
        "division", "city", "town", "village", "muhafazat", "wilayat", "velayat", "krai",
    )
)  # fmt: skip
# Transliterated Arabic articles written as separate words ("Al Hudaydah", "Ad Dali").
ARTICLES = frozenset(("al", "el", "ad", "ar", "as", "an", "ash", "az", "at", "adh", "the"))


def place_key(name: str) -> str:
    """Comparable form of a place name: :func:`fold`, then kind words ("province",
    "governorate", ...) and article words ("al", "the", ...) dropped. Returns the folded
    name unchanged if nothing else would be left."""
    words = fold(name).split()
    kept = [w for w in words if w not in ADMIN_WORDS and w not in ARTICLES]
    return " ".join(kept or words)


def skeleton(key: str) -> str:
    """Consonant skeleton of a folded name, to tolerate transliteration variants: a w
    after a vowel is dropped ("ow" is a vowel), other w read as v, q as k; a leading vowel
    becomes "a"; other vowels, y and h are dropped; doubled letters collapse ("Lowgar" and
    "Logar" -> "lgr", "Vardak" and "Wardak" -> "vrdk", "Oruzgan" and "Uruzgan" -> "arzgn")."""
    skeletons = []
    for word in key.split():
        word = re.sub(r"(?<=[aeiou])w", "", word).replace("w", "v").replace("q", "k")
        head = "a" if word[0] in "aeiouy" else word[0]
        word = head + re.sub(r"[aeiouyh]", "", word[1:])
        skeletons.append(re.sub(r"(.)\1+", r"\1", word))
    return " ".join(skeletons)


# Compass words of the languages region names come in ("Sud-Kivu", "Extreme-Nord",
# "Shamal Sina'", "Khorasan-e Shomali", "Panama Oeste"), read as their English words;
# not "sur" and "este", which are towns too (Tyre's Arabic name, Este in Italy).
COMPASS_WORDS = {
    "nord": "north", "norte": "north", "northern": "north", "shamal": "north",
    "shamali": "north", "shomali": "north",
    "sud": "south", "southern": "south", "janub": "south",
    "janubi": "south", "jonubi": "south",
    "ouest": "west", "oeste": "west", "western": "west", "gharb": "west", "gharbi": "west",
    "est": "east", "eastern": "east", "sharq": "east", "sharqi": "east",
    "extreme": "far", "centre": "central", "center": "central", "centro": "central",
}  # fmt: skip


_COMPASS = frozenset(COMPASS_WORDS.values())


def name_form(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A region or place name as (compass words, other words), each in the order written:
    :func:`place_key`, compass words read in English (:data:`COMPASS_WORDS`) and the
    Persian joining "e" dropped ("Khorasan-e Shomali" and "North Khorasan" -> (("north",),
    ("khorasan",))). Moving the compass words aside is the only reordering: "Western
    North" and "North West" stay two regions."""
    words = place_key(name).split()
    words = [w for i, w in enumerate(words) if not (w == "e" and 0 < i < len(words) - 1)]
    words = [COMPASS_WORDS.get(w, w) for w in words]
    return tuple(w for w in words if w in _COMPASS), tuple(w for w in words if w not in _COMPASS)


def name_skeleton(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """:func:`name_form` with the other words as their :func:`skeleton` (compass words are
    compared as words: "Eastern" is no skeleton of "Asyut")."""
    compass, rest = name_form(name)
    return compass, tuple(skeleton(w) for w in rest)


def places_match(predicted: str | None, gold: str | None, *, same_country: bool = False) -> bool:
    """Whether a predicted place name names the gold place: equal :func:`place_key`, or
    equal :func:`name_form` (compass words read in English: "Extreme-Nord" is "Far
    North", "Khorasan-e Shomali" is "North Khorasan"), or the same compass words and the
    same :func:`skeleton` of the other words when those have at least three consonants.

    ``same_country`` says the two are regions of one country and the gold name's skeleton
    names no other region there (see ``flows.evaluate.Predictions.regions_match``): then
    shorter skeletons count too ("Dar'a" and "Daraa", "Ghor" and "Ghowr")."""
    if not predicted or not gold:
        return False
    p, g = place_key(predicted), place_key(gold)
    if not p or not g:
        return False
    if p == g or name_form(predicted) == name_form(gold):
        return True
    sp, sg = name_skeleton(predicted), name_skeleton(gold)
    if sp != sg or not sp[1]:
        return False
    return same_country or len("".join(sp[1])) >= 3


_YEARS = re.compile(r"\(\s*\d{4}\s*-\s*(?:\d{4})?\s*\)")
_LABEL_PREFIX = re.compile(r"^[^:()]{1,12}:\s+")
_FORCES = "military forces|armed forces|defen[cs]e forces|security forces|military|army|forces|troops"
_FORCES_AFTER = re.compile(rf"^(?P<x>.+?) (?:{_FORCES})$")
_FORCES_BEFORE = re.compile(r"^(?:military forces|armed forces|army|military|forces) of (?P<x>.+)$")
_POLICE_AFTER = re.compile(r"^(?P<x>.+?) (?:police forces|police force|police)$")
_POLICE_BEFORE = re.compile(r"^(?:police forces|police force|police) of (?P<x>.+)$")


def normalize_actor(name: str | None, demonyms: Mapping[str, str] | None = None) -> str:
    """Comparable form of an actor name (ACLED's or sitrep's).

    1. Parenthesised years are dropped ("Military Forces of Freedonia (2015-)"), and so is a
       short label before a colon ("FLF: Free Lands Front").
    2. :func:`fold` (lower case, no accents or punctuation; "Civilians (Freedonia)" ->
       "civilians india") and a leading "the" dropped.
    3. The forms of a state's forces are unified: "X military", "X army", "X armed
       forces", "X forces", "X troops", "armed forces of X", "army of X" all become
       "military forces of X"; "X police" and "police of X" become "police forces of X".
       X is replaced by its country when ``demonyms`` (folded demonym -> country name)
       knows it ("ukrainian army" -> "military forces of ukraine").
    """
    if not name:
        return ""
    text = _LABEL_PREFIX.sub("", _YEARS.sub(" ", name).strip())
    key = re.sub(r"^the ", "", fold(text))
    demonyms = demonyms or {}

    def country(x: str) -> str:
        x = re.sub(r"^the ", "", x)
        return fold(demonyms.get(x, x))

    for pattern, canonical in (
        (_POLICE_BEFORE, "police forces of {}"),
        (_POLICE_AFTER, "police forces of {}"),
        (_FORCES_BEFORE, "military forces of {}"),
        (_FORCES_AFTER, "military forces of {}"),
    ):
        match = pattern.match(key)
        if match:
            return canonical.format(country(match.group("x")))
    return key


def actor_forms(name: str | None, demonyms: Mapping[str, str] | None = None) -> set[str]:
    """The comparable forms of an actor name: :func:`normalize_actor` of it, plus its
    label when it has one ("FLF: Free Lands Front" -> also "flf")."""
    if not name:
        return set()
    forms = {normalize_actor(name, demonyms)}
    label = _LABEL_PREFIX.match(_YEARS.sub(" ", name).strip())
    if label:
        forms.add(fold(label.group(0)))
    return {form for form in forms if form}


def actors_agree(predicted: str | None, gold: str | None, demonyms: Mapping[str, str] | None = None) -> bool:
    """Whether two actor names agree: both empty, or a form of one (:func:`actor_forms`)
    equals a form of the other or is contained in it as whole words ("military forces
    of freedonia" agrees with "Military Forces of Freedonia (2015-) Northern Command",
    "FLF" with "FLF: Free Lands Front")."""
    p, g = actor_forms(predicted, demonyms), actor_forms(gold, demonyms)
    if not p or not g:
        return not p and not g
    return any(a == b or f" {a} " in f" {b} " or f" {b} " in f" {a} " for a in p for b in g)
