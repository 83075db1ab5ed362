"""Cheap rules around the statistical NER (see ``transforms.nlp``).

Before the model:

- :func:`restore_case`: an ALL-CAPS line (a headline, a dateline, a shouted table row) is
  given back its ordinary case so the model, trained on mixed-case text, can read it. Each
  word takes the case it has elsewhere in the same document ("WALES" -> "Wales" when the
  body says "Wales", "BEAT" -> "beat"); a word the document does not use otherwise is
  lower-cased when it is a function word, kept as an acronym when it is a known one, and
  capitalised otherwise. Only letters change case, so every offset stays valid: entity
  text is always cut from the original text.
- the ``sitrep_line_breaks`` component marks every token holding a line break as a
  sentence start, which spaCy's entity recogniser never crosses (a byline followed by a
  dateline is not one name).

After the model, :func:`refine_mentions` applies sitrep's entity convention (documented in
``transforms.nlp``) to the model's mentions of one text:

1. boundaries: numbers, punctuation, an unbalanced bracket, a possessive written apart
   ("Party 's"), a caption word ("Image:") and a sentence's full stop are not part of a
   name; a spaced dash separates two names ("Cricket - Sri Lanka"); "pro-Moscow" is an
   attitude, not a place; a "GPE" with a digit ("IE6") is a product;
2. known organisations (``organizations.csv``) are found where the model missed them;
3. sports reports (several sports words): team names in results lines ("Fulham 1 Carlisle
   0"), league tables, fixtures and cricket scores, and place names that beat, play or
   have a captain, are ORG, and so is every other mention of the same name in the text;
   athletes in results lists and scorecards are PERSON. Country names stay GPE;
4. a dateline's place ("COLOMBO 1996-08-30", "KABUL, Afghanistan (Reuters)") is a GPE;
5. a country's name is a GPE, a known organisation's name an ORG;
6. one name, one referent: once "Maria Lopez" is a PERSON, "Lopez" is a PERSON throughout
   the text (unless it is a place the text also names as one, or a common word there).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from spacy.language import Language
from spacy.tokens import Doc

from transforms.resources import trie_regex

_LETTERS = re.compile(r"[^\W\d_]+")
# Function words: lower-cased in a restored line unless the document says otherwise.
FUNCTION_WORDS = frozenset(
    """a an and are as at be been but by for from had has have he her his in into is it its
    of off on or our out over she than that the their them they this those to under up was
    were which who will with after before against amid about between during says said
    says vs v""".split()
)


def _is_caps_line(line: str) -> bool:
    """True for a line whose cased letters are all upper case (at least four of them)."""
    upper = 0
    for char in line:
        if char.islower():
            return False
        if char.isupper():
            upper += 1
    return upper >= 4


def _word_forms(lines: list[str]) -> dict[str, str]:
    """lower-case word -> the form it most often takes in mixed-case lines, not counting a
    capital that only marks the start of a sentence."""
    forms: dict[str, Counter] = {}
    initial: set[str] = set()
    for line in lines:
        for match in _LETTERS.finditer(line):
            word = match.group()
            key = word.lower()
            before = line[: match.start()].rstrip()
            sentence_initial = not before or before[-1] in ".!?:\"“‘'(-—–|"
            if sentence_initial and word[:1].isupper() and (word[1:].islower() or len(word) == 1):
                initial.add(key)
                continue
            forms.setdefault(key, Counter())[word] += 1
    chosen = {key: counter.most_common(1)[0][0] for key, counter in forms.items()}
    for key in initial - chosen.keys() - FUNCTION_WORDS:
        chosen[key] = key.capitalize()
    return chosen


def restore_case(text: str, acronyms: frozenset[str] = frozenset()) -> str:
    """``text`` with its ALL-CAPS lines in ordinary case (same length, same offsets)."""
    lines = text.split("\n")
    caps = [_is_caps_line(line) for line in lines]
    if not any(caps):
        return text
    forms = _word_forms([line for line, is_caps in zip(lines, caps, strict=True) if not is_caps])
    out = []
    for line, is_caps in zip(lines, caps, strict=True):
        if not is_caps:
            out.append(line)
            continue
        pieces, last, first = [], 0, True
        for match in _LETTERS.finditer(line):
            word = match.group()
            key = word.lower()
            form = forms.get(key)
            if form is None:
                if key in FUNCTION_WORDS:
                    form = key
                elif key in acronyms or (len(word) == 1 and line[match.end() : match.end() + 1] == "."):
                    form = word
                else:
                    form = key.capitalize()
            if first and form[:1].islower():
                form = form[:1].upper() + form[1:]
            first = False
            if len(form) != len(word) or form.lower() != key:
                form = word
            pieces.append(line[last : match.start()])
            pieces.append(form)
            last = match.end()
        pieces.append(line[last:])
        out.append("".join(pieces))
    restored = "\n".join(out)
    return restored if len(restored) == len(text) else text


@Language.component("sitrep_line_breaks")
def mark_line_breaks(doc: Doc) -> Doc:
    """Every whitespace token holding a line break starts a sentence, so no entity spans
    two lines (the recogniser respects preset sentence starts)."""
    for token in doc[1:]:
        if token.is_space and "\n" in token.text:
            token.is_sent_start = True
    return doc


# --------------------------------------------------------------------------- after the model

# Labels of names (not of numbers, dates or gazetteer WEAPON/MILITARY_UNIT spans).
NAME_LABELS = frozenset(("PERSON", "ORG", "GPE", "LOC", "NORP", "FAC"))
PLACE_LABELS = frozenset(("GPE", "LOC", "FAC"))
_NUMBER = re.compile(r"^(?:[-+]?\d[\d.,:/-]*|\d+(?:st|nd|rd|th))$")
_PUNCT = frozenset("- – — -- , ; : | / . ( ) [ ] \" “ ” ' ‘ ’ * • · ^".split())
_DASHES = frozenset(("-", "–", "—", "--"))
CAPTION_WORDS = frozenset(("Image", "Photo", "Picture", "Video", "Audio", "Credit", "Source", "File"))
# words that keep their dot at the end of a name
ABBREVIATIONS = frozenset(
    """Co Corp Inc Ltd Bros Jr Sr St Mt Ft Gen Col Lt Sgt Capt Adm Dr Mr Mrs Ms Prof Rev No
    Ave Blvd Rd Ala Ariz Ark Calif Colo Conn Del Fla Ga Ill Ind Kan Ky La Md Mass Mich Minn
    Miss Mo Mont Neb Nev Okla Ore Pa Tenn Tex Va Vt Wash Wis Wyo""".split()
)

# Sports: words that make a document a sports report, and the words around a team name.
SPORTS_WORDS = frozenset(
    """soccer football cricket rugby tennis golf baseball basketball hockey athletics cycling
    boxing league division standings fixtures fixture cup championship tournament innings
    wicket wickets goal goals halftime half-time scorer scorers striker midfielder goalkeeper
    qualifier qualifiers semifinal semifinals semi-final quarterfinal quarter-final homer
    homers pitcher batsman bowler inning stadium playoff playoffs scrum fly-half scrum-half
    flanker winger lineout tiebreak tie-break""".split()
)
TEAM_FOLLOWERS = frozenset(
    """captain coach manager striker midfielder defender goalkeeper skipper batsman bowler
    pitcher fans supporters player players squad side team teams chairman""".split()
)
TEAM_VERBS = frozenset(
    """beat beats beating defeated defeat drew draw lost lose won win wins trail trailed
    host hosts hosted play plays played face faces faced thrashed edged routed""".split()
)
TEAM_PREDECESSORS = frozenset(
    """beat beats beating defeated against v vs vs. versus play plays played playing face
    faces faced facing host hosts hosted rivals over thrashed edged routed""".split()
)
_W = r"[A-Z][\w.'&]*(?:-[\w.'&]+)*"
_CONN = r"(?:of|de|del|da|do|la|le|the|and|&|'s|upon|on)"
_TEAM = rf"{_W}(?:[ ](?:{_W}|{_CONN}(?=[ ][A-Z])))*(?:[ ]?\([ ]?[A-Z]{{1,3}}[ ]?\))?"
_SCORE = r"\d{1,3}"
_NUMERIC_FIELD = r"(?:[-+]?\d[\d./]*|-|\d+/\d+)"
# "Fulham 1 Carlisle 0", "Borussia Neunkirchen 1 St Pauli 3 ( aet )"
SCORE_LINE = re.compile(rf"^[ ]*(?P<a>{_TEAM})[ ]+{_SCORE}[ ]*,?[ ]+(?P<b>{_TEAM})[ ]+{_SCORE}(?![\w.-])")
# "York 4 2 0 2 6 6 6", "NEW YORK 74 59 .556 -": a league table row
TABLE_LINE = re.compile(rf"^[ ]*(?:\d+[.=]?[ ]+)?(?P<a>{_TEAM})(?:[ ]+{_NUMERIC_FIELD}){{3,}}[ ]*$")
# "BALTIMORE AT SEATTLE", "Birmingham v Barnsley"
FIXTURE = re.compile(rf"(?P<a>{_TEAM})[ ]+(?:v|vs\.?|V|VS|AT)[ ]+(?P<b>{_TEAM})(?=[ ]*(?:$|,|\(|\.))")
# "May 17 v Northampton", "v Kent ( three days )"
VERSUS = re.compile(rf"(?:^|[ ])(?:v|vs\.?)[ ]+(?P<a>{_TEAM})")
# cricket: "Glamorgan 259 and 207 , Durham 114", "Kent 108-3 ."
INNINGS = re.compile(
    rf"(?:^|[:,;][ ])[ ]*(?P<a>{_TEAM})[ ]+\d{{1,3}}(?:-\d{{1,2}})?"
    r"(?=[ ]+(?:and|\(|,|\.|;|points|pts|for)\b|[ ]*[,.;(]|[ ]*$)"
)


_PERSON_NAME = r"[A-Z][a-z]+(?:[- ][A-Z][a-z]+){1,2}"
# "7. Claus Hirsbro ( Denmark ) 20.90", "4 - Goran Ivanisevic ( Croatia ) beat"
ATHLETE = re.compile(rf"(?:^|\n|, |\d[.=] |\d - |beat |bt )[ ]*(?P<a>{_PERSON_NAME})[ ]?\([ ]?[A-Z][\w. ]*\)")
# cricket: "Wasim Akram c Knight b Hollioake 21", "Aamir Sohail lbw b Gough 0"
_CRICKETER = r"[A-Z][\w.'-]*(?:[ ][A-Z][\w.'-]*){0,2}"
SCORECARD = re.compile(
    rf"^(?P<a>{_CRICKETER})[ ]+(?:(?:c|st)[ ]+(?P<b>{_CRICKETER})[ ]+)?(?:lbw[ ]+)?(?:b[ ]+(?P<c>{_CRICKETER})|run out|not out)[ ]+\d+",
    re.MULTILINE,
)
# "( A. Dale 69 , H. Morris 69 ;", "W. Hegg 54": an initial, a surname and a score
INITIAL_SCORE = re.compile(r"(?<![\w.])(?P<a>(?:[A-Z]\.[ ]?){1,2}[A-Z][\w'-]+)[ ]+\d+(?:-\d+)?(?![\w.])")
_MONTH = (
    r"(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
CALENDAR_WORDS = frozenset(
    """mon tue tues wed thu thur thurs fri sat sun monday tuesday wednesday thursday friday
    saturday sunday jan feb mar apr may jun jul aug sep sept oct nov dec""".split()
)
DATELINE = re.compile(
    r"^[ ]*(?P<a>[A-Z][A-Za-z.'-]+(?:[ ][A-Z][A-Za-z.'-]+){0,2})(?:[ ]?,[ ]?(?P<b>[A-Z][A-Za-z.]+(?:[ ][A-Z][A-Za-z.]+)?))?"
    rf"[ ]+(?:\d{{4}}-\d\d-\d\d|\(\w+\)|[-–—][ ]|\d{{1,2}}[ ]{_MONTH}|{_MONTH}[ ]\d{{1,2}}\b)"
)


@dataclass
class Mention:
    """A mention being refined: character span in the segment, label, gazetteer category."""

    start: int
    end: int
    label: str
    category: str = ""
    fixed: bool = field(default=False, compare=False)  # set by a rule: not relabelled again


@dataclass(frozen=True)
class NameLexicon:
    """Name keys the rules look names up in (``resources.place_key`` / ``name_key`` form)."""

    places: frozenset[str] = frozenset()  # gazetteer place names
    countries: frozenset[str] = frozenset()  # country names and aliases
    organizations: frozenset[str] = frozenset()  # organisation names and aliases
    organization_names: frozenset[str] = frozenset()  # names found in text as they are


@lru_cache(maxsize=65536)
def _key(text: str) -> str:
    from transforms.resources import name_key

    return name_key(text)


def _trim(text: str, m: Mention) -> Mention | None:
    """Drop what is not part of a name at either end: punctuation, numbers, an unbalanced
    bracket and what follows it, a possessive written apart ("Party 's")."""
    start, end = m.start, m.end
    span = text[start:end]
    for open_, close in (("(", ")"), ("[", "]")):
        if span.count(open_) != span.count(close):
            cut_open, cut_close = span.find(open_), span.find(close)
            if (
                cut_open >= 0
                and (cut_close < 0 or cut_open < cut_close)
                and span.count(open_) > span.count(close)
            ):
                span = span[:cut_open]
            elif cut_close >= 0:
                offset = span.rfind(close) + 1 if span.count(close) > span.count(open_) else 0
                start += offset
                span = span[offset:]
            end = start + len(span)
    words = list(re.finditer(r"\S+", span))
    while words and (
        words[-1].group() in _PUNCT
        or _NUMBER.match(words[-1].group())
        or words[-1].group() in ("'s", "’s", "'", "’")
    ):
        words.pop()
    while words and (words[0].group() in _PUNCT or _NUMBER.match(words[0].group())):
        words.pop(0)
    if not words:
        return None
    # a caption credit: "Ahmed Mohamed Image: Twitter"
    if (
        len(words) > 1
        and words[-1].group() in CAPTION_WORDS
        and text[start + words[-1].end() :].startswith(":")
    ):
        words.pop()
    new_start, new_end = start + words[0].start(), start + words[-1].end()
    while new_end > new_start and text[new_end - 1] in ",;:":
        new_end -= 1
    # a dot ends an initial or an abbreviation ("U.S.", "Corp."); after a word it ends the sentence
    last = re.search(r"(\w+)\.$", text[new_start:new_end])
    if (
        last
        and len(last.group(1)) >= 2
        and "." not in text[new_start:new_end][:-1].split()[-1]
        and last.group(1) not in ABBREVIATIONS
    ):
        new_end -= 1
    if new_end <= new_start:
        return None
    return Mention(new_start, new_end, m.label, m.category, m.fixed)


def _split_dashes(text: str, m: Mention, lexicon: NameLexicon) -> list[Mention]:
    """ "Cricket - Sri Lanka", "Slovakia - Lubomir Moravcik": a spaced dash separates names."""
    span = text[m.start : m.end]
    parts = list(re.finditer(r"(?:(?! (?:-|–|—|--) ).)+", span))
    if len(parts) < 2:
        return [m]
    kept = []
    for part in parts:
        s, e = m.start + part.start(), m.start + part.end()
        if _key(text[s:e]) in lexicon.countries or _key(text[s:e]) in lexicon.organizations:
            kept.append(Mention(s, e, m.label, m.category))
    if not kept:
        longest = max(parts, key=lambda p: (len(p.group().split()), p.start()))
        kept.append(Mention(m.start + longest.start(), m.start + longest.end(), m.label, m.category))
    return kept


def _not_a_name(text: str, m: Mention) -> bool:
    """ "pro-Beijing", "anti-Pyongyang": an attitude, not the place."""
    before = text[max(0, m.start - 5) : m.start].lower()
    own = text[m.start : m.end].lower()
    return bool(re.search(r"(?:^|[^a-z])(?:pro|anti)-$", before)) or bool(re.match(r"(?:pro|anti)-\w+$", own))


def _lines(text: str):
    start = 0
    for line in text.split("\n"):
        yield start, line
        start += len(line) + 1


_WORD = re.compile(r"[a-z][a-z-]+")


def is_sports_text(text: str) -> bool:
    """True for a sports report: at least three sports words, two of them different."""
    found = Counter(filter(SPORTS_WORDS.__contains__, _WORD.findall(text.lower())))
    return sum(found.values()) >= 3 and len(found) >= 2


def team_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of team names in results lines, league tables and fixture lists."""
    spans = []
    for offset, line in _lines(text):
        found = []
        for pattern in (SCORE_LINE, TABLE_LINE):
            match = pattern.match(line)
            if match:
                found += [match.span(g) for g in ("a", "b") if g in match.groupdict() and match.group(g)]
        for match in FIXTURE.finditer(line):
            at = match.group(0).split()[len(match.group("a").split())] == "AT"
            if at and not (match.start() == 0 and match.end() == len(line.rstrip())):
                continue
            found.append(match.span("a"))
            if not at:  # "BALTIMORE AT SEATTLE": the second is where they play
                found.append(match.span("b"))
        for match in VERSUS.finditer(line):
            found.append(match.span("a"))
        for match in INNINGS.finditer(line):
            depth = line[: match.start("a")].count("(") - line[: match.start("a")].count(")")
            if depth == 0 and not re.match(r"^[A-Z]\.", match.group("a")):
                found.append(match.span("a"))
        spans += [(offset + a, offset + b) for a, b in dict.fromkeys(found)]
    return spans


def refine_mentions(
    text: str, mentions: list[Mention], lexicon: NameLexicon, restored: str | None = None
) -> list[Mention]:
    """The model's mentions of one text -> cleaned, relabelled, completed mentions."""
    restored = restored if restored is not None else text
    out: list[Mention] = []
    for m in mentions:
        if m.label not in NAME_LABELS or m.category:
            out.append(m)
            continue
        for part in _split_dashes(text, m, lexicon):
            trimmed = _trim(text, part)
            if trimmed is None or _not_a_name(text, trimmed):
                continue
            if trimmed.label == "GPE" and re.search(r"\d", text[trimmed.start : trimmed.end]):
                trimmed.label = "PRODUCT"  # "IE6", "F-16": places have no digits
            out.append(trimmed)
    out = _add_unlabelled(text, out, lexicon.organization_names, "ORG")

    sports = is_sports_text(restored)
    if sports:
        out = _sports(text, out, lexicon)
    out = _datelines(text, out, lexicon)
    out = _relabel(text, out, lexicon)
    out = _person_names(text, out, lexicon, sports)
    return sorted(out, key=lambda m: (m.start, m.end))


def _sports(text: str, mentions: list[Mention], lexicon: NameLexicon) -> list[Mention]:
    """Teams in a sports report: the names in results lines, tables and fixtures, names
    that play, beat or have a captain, and every other mention of those names; athletes
    in results lists and scorecards."""
    teams: set[str] = set()
    additions = []
    for a, b in team_spans(text):
        name = text[a:b]
        if _key(name) in lexicon.countries:
            continue
        same = [m for m in mentions if m.start == a and m.end == b]
        if same and same[0].label == "PERSON" and " " in name and _key(name) not in lexicon.places:
            continue  # an athlete in a results table
        teams.add(name)
        additions.append(Mention(a, b, "ORG", fixed=True))
    mentions = _replace(mentions, additions)
    for m in mentions:
        if m.fixed or m.category or m.label not in ("GPE", "LOC", "PERSON", "NORP", "FAC", "ORG"):
            continue
        name = text[m.start : m.end]
        key = _key(name)
        if key in lexicon.countries or (m.label == "PERSON" and key not in lexicon.places):
            continue
        before, after = _word_before(text, m.start), _word_after(text, m.end)
        if after in TEAM_FOLLOWERS or after in TEAM_VERBS or before in TEAM_PREDECESSORS:
            teams.add(name)
    # every mention of a team name is the team, also where the model saw none
    for m in mentions:
        if text[m.start : m.end] in teams and not m.category:
            m.label, m.fixed = "ORG", True
    mentions = _add_unlabelled(text, mentions, teams, "ORG")
    # athletes: "7. Claus Hirsbro ( Denmark ) 20.90", "Wasim Akram c Knight b Hollioake 21"
    people = []
    for match in ATHLETE.finditer(text):
        people.append(match.span("a"))
    for match in SCORECARD.finditer(text):
        people += [match.span(g) for g in ("a", "b", "c") if match.group(g)]
    for match in INITIAL_SCORE.finditer(text):
        people.append(match.span("a"))
    for a, b in people:
        if _key(text[a:b]) in lexicon.countries or text[a:b] in teams:
            continue
        mentions = _replace(mentions, [Mention(a, b, "PERSON", fixed=True)])
    return mentions


@lru_cache(maxsize=256)
def _names_pattern(names: frozenset[str]) -> re.Pattern[str]:
    """Whole-word occurrences of any of the names, the longest where several start alike."""
    return re.compile(rf"(?<![\w.'’-]){trie_regex(names)}(?![\w'’-])")


def _add_unlabelled(
    text: str, mentions: list[Mention], names: set[str] | frozenset[str], label: str
) -> list[Mention]:
    """Mentions plus every other whole-word occurrence of ``names`` that overlaps none."""
    if not names:
        return mentions
    pattern = _names_pattern(frozenset(names))
    taken = sorted((m.start, m.end) for m in mentions)
    added = []
    for match in pattern.finditer(text):
        a, b = match.span()
        if any(s < b and a < e for s, e in taken):
            continue
        added.append(Mention(a, b, label, fixed=True))
    return mentions + added


def _datelines(text: str, mentions: list[Mention], lexicon: NameLexicon) -> list[Mention]:
    """ "COLOMBO 1996-08-30", "KABUL, Afghanistan (Reuters) -": a dateline names a place."""
    additions = []
    for offset, line in _lines(text):
        match = DATELINE.match(line)
        if not match:
            continue
        for group in ("a", "b"):
            if match.group(group) is None:
                continue
            a, b = offset + match.start(group), offset + match.end(group)
            key = _key(text[a:b])
            if key in CALENDAR_WORDS:
                continue
            overlapping = [m for m in mentions if m.start < b and a < m.end]
            if (key in lexicon.places or key in lexicon.countries) and not any(
                m.fixed or m.category for m in overlapping
            ):
                additions.append(Mention(a, b, "GPE", fixed=True))
    return _replace(mentions, additions) if additions else mentions


def _replace(mentions: list[Mention], additions: list[Mention]) -> list[Mention]:
    """Mentions with ``additions`` added and whatever they overlap removed."""
    kept = [m for m in mentions if not any(m.start < a.end and a.start < m.end for a in additions)]
    return kept + additions


def _word_before(text: str, start: int) -> str:
    match = re.search(r"(\S+)\s*$", text[:start])
    return match.group(1).lower() if match else ""


def _word_after(text: str, end: int) -> str:
    match = re.match(r"\s*(\S+)", text[end:])
    return match.group(1).lower() if match else ""


def _relabel(text: str, mentions: list[Mention], lexicon: NameLexicon) -> list[Mention]:
    """A country's name is a GPE; a known organisation's name is an ORG."""
    for m in mentions:
        if m.fixed or m.category or m.label not in NAME_LABELS:
            continue
        key = _key(text[m.start : m.end])
        if key in lexicon.countries and m.label in ("PERSON", "ORG", "LOC", "FAC"):
            m.label = "GPE"
        elif key in lexicon.organizations and m.label in ("PERSON", "GPE", "LOC", "FAC", "NORP"):
            m.label = "ORG"
    return mentions


def _person_names(text: str, mentions: list[Mention], lexicon: NameLexicon, sports: bool) -> list[Mention]:
    """One name, one referent: a surname (or full name) first seen as a PERSON is a PERSON
    wherever else the document uses it."""
    full: set[str] = set()
    for m in mentions:
        if m.label == "PERSON":
            name = text[m.start : m.end]
            words = name.split()
            if len(words) >= 2 and all(w[:1].isupper() for w in words):
                full.add(name)
                if len(words[-1]) >= 3 and words[-1][1:].islower():
                    full.add(words[-1])
    places_here = {text[m.start : m.end] for m in mentions if m.label in PLACE_LABELS and not m.fixed}

    def is_place(word: str) -> bool:
        key = _key(word)
        keys = (key, key[:-1]) if key.endswith("s") else (key,)  # "Syrias": a lost apostrophe
        return any(k in lexicon.countries for k in keys) or (
            key in lexicon.places and (word in places_here or word.upper() == word)
        )

    full = {
        n for n in full if not any(is_place(w) for w in n.split()) and _key(n) not in lexicon.organizations
    }
    if not full:
        return mentions
    for m in mentions:
        if (
            m.fixed
            or m.category
            or m.label not in ("ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT", "WORK_OF_ART")
        ):
            continue
        if text[m.start : m.end] in full:
            m.label = "PERSON"
    # a surname the model missed: standalone, and never a lower-case word in this text
    lower = set(re.findall(r"\b[a-z][a-z'-]+\b", text))
    surnames = {n for n in full if " " not in n and n.lower() not in lower}
    additions = []
    for m in _add_unlabelled(text, [], surnames, "PERSON"):
        before, after = text[max(0, m.start - 2) : m.start], text[m.end : m.end + 2]
        if re.search(r"[A-Z]\w*\s$", text[max(0, m.start - 20) : m.start]) or re.match(r"\s[A-Z]", after):
            continue  # part of a longer capitalised name
        if before.endswith(("-", "'")):
            continue
        additions.append(m)
    return _add_unlabelled_spans(mentions, additions)


def _add_unlabelled_spans(mentions: list[Mention], additions: list[Mention]) -> list[Mention]:
    """Mentions plus the additions that overlap none of them."""
    taken = [(m.start, m.end) for m in mentions]
    return mentions + [a for a in additions if not any(s < a.end and a.start < e for s, e in taken)]
