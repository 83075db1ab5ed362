"""Reported deaths in a sentence, with ACLED's conservative conventions.

Numbers may be digits ("12", "1,200") or words ("twenty-five", "a dozen"). Vague counts
follow ACLED's codebook: "a few"/"several" -> 3, "many"/"scores of" -> 10, "dozens" -> 12,
"hundreds" -> 100. "At least 5", "more than 5" and "up to 5" give 5; of conflicting figures
the lowest is kept. A sentence that does not state deaths gives None (never 0 for "no
clear reports"); only an explicit "no one was killed" / "no casualties" gives 0.
"""

from __future__ import annotations

import re

from transforms.dates import ignorecase_lower

UNITS = {
    "zero": 0, "no": 0, "one": 1, "a": 1, "an": 1, "single": 1, "two": 2, "three": 3,
    "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
VAGUE = {
    "a few": 3, "few": 3, "several": 3, "a number of": 3, "some": 3, "many": 10,
    "scores of": 10, "a dozen": 12, "dozens of": 12, "dozens": 12, "tens of": 10,
    "hundreds of": 100, "hundreds": 100, "thousands of": 1000, "a handful of": 3,
}  # fmt: skip

_WORD_NUMBER = (
    r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?"
    r"|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
    r"|sixteen|seventeen|eighteen|nineteen)(?:\s+hundred(?:\s+(?:and\s+)?\w+)?)?"
)
_VAGUE = r"a few|several|a number of|many|scores of|a dozen|dozens of|dozens|tens of|hundreds of|hundreds|thousands of|a handful of"
NUMBER = rf"(?:\d{{1,3}}(?:,\d{{3}})+|\d+|{_WORD_NUMBER}|{_VAGUE}|an?|one)"
_QUALIFIER = r"(?:at least|at most|more than|over|about|around|some|nearly|almost|up to|as many as|an estimated|approximately|roughly|a total of|another|other|a further|further)\s+"
_MODIFIER = r"(?:(?!(?:at|least|more|than|about|over|some|nearly|almost|and|were|was|killed|injured|wounded)\b)[A-Za-z][A-Za-z'-]*\s+)"
_VICTIMS = (
    rf"{_MODIFIER}{{0,3}}?(?:people|persons|civilians?|soldiers?|troops|servicemen|servicemembers|members|militants?|insurgents?|rebels?|fighters?"
    r"|police(?:men|officers)?|officers?|guards?|children|women|men|man|woman|villagers?|residents?|protesters?|demonstrators?"
    r"|workers?|students?|worshippers|pilgrims|personnel|gunmen|attackers|assailants|combatants|recruits|conscripts|others?"
    r"|individuals?|farmers?|herders?|passengers|family members|relatives|journalists?|doctors?|nurses?|bodies|Taliban|terrorists?|jihadists?)\b"
)
_DEATH = r"(?:killed|dead|died|slain|massacred|executed|murdered|beheaded|lost their lives|were killed|was killed|have been killed|had been killed|shot dead|gunned down|perished|deaths?|fatalities|bodies)"

_ARTICLES = ("a", "an")
# "executed an arrest warrant", "executed the plan": carried out, not put to death
_NOT_A_KILLING = (
    r"(?!\s+(?:an?|the|this|that|its|their)\s+(?:\w+\s+)?(?:warrants?|orders?|plans?|operations?|contracts?|deals?"
    r"|agreements?|transactions?|trades?|strateg(?:y|ies)|programmes?|programs?|moves?|manoeuvres?|maneuvers?)\b)"
)
_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        # "killing 12 people", "killed at least 5 soldiers" (not "killed 2, injured 43 others")
        rf"\b(?:killing|killed|kills|kill|claimed the lives of|claiming the lives of|(?:executed|executing){_NOT_A_KILLING}|massacred|murdered|beheaded)\s+(?:{_QUALIFIER})?(?P<n>{NUMBER})\b(?!\s*(?:%|percent|km|kilomet|miles?|metres?|meters?|years?|days?|hours?|minutes?|times))(?:\s+{_VICTIMS})?(?!\s+(?:were\s+|others\s+)?(?:injured|wounded|hurt))",
        # "leaving 3 dead", "left 12 people dead"
        rf"\b(?:leaving|left)\s+(?:{_QUALIFIER})?(?P<n>{NUMBER})\s+(?:{_VICTIMS}\s+)?dead\b",
        # "12 people were killed", "five soldiers died", "3 dead"
        rf"(?:^|[\s,(])(?:{_QUALIFIER})?(?P<n>{NUMBER})\s+(?:(?P<v>{_VICTIMS})\s+)?(?:were|was|have been|had been|are|been)?\s*(?:reportedly\s+|also\s+|later\s+)?(?:killed|dead|died|slain|massacred|executed|murdered|beheaded|lost their lives|shot dead|gunned down|perished)\b",
        # "two soldiers and three civilians were killed": both counts
        rf"(?:^|[\s,(])(?:{_QUALIFIER})?(?P<n>{NUMBER})\s+(?P<v>{_VICTIMS})\s+(?:and|as well as)\s+(?:{_QUALIFIER})?(?P<m>{NUMBER})\s+{_VICTIMS}\s+(?:were|have been|had been)\s+(?:reportedly\s+)?(?:killed|slain|shot dead|executed)\b",
        # "death toll rose to 12", "a death toll of 12"
        rf"\bdeath toll\s+(?:\w+\s+){{0,3}}?(?:to|of|at|reached|stands at|stood at|is|was|hit)\s+(?:{_QUALIFIER})?(?P<n>{NUMBER})\b",
        # "12 deaths", "3 fatalities"
        rf"(?:^|[\s,(])(?:{_QUALIFIER})?(?P<n>{NUMBER})\s+(?:\w+\s+)?(?:deaths|fatalities|dead bodies|bodies)\b",
    )
)
_ZERO = re.compile(
    r"\b(?:no(?:body| one|-one)\s+(?:was\s+|were\s+)?(?:killed|hurt|injured|died)|no\s+(?:deaths|fatalities|casualties|injuries|one died)\s+(?:were\s+|was\s+)?(?:reported|recorded|caused)"
    r"|without\s+(?:causing\s+)?(?:any\s+)?casualties|caused no (?:casualties|deaths|injuries)|no (?:casualties|deaths|fatalities)\b(?!\s+(?:figures|reports|data))|no reports? of (?:casualties|deaths|injuries))",
    re.IGNORECASE,
)
# Totals of a whole war are not an incident's deaths: "the conflict has killed 300,000 since 2011".
_CUMULATIVE = re.compile(
    r"\b(?:since (?:the )?(?:start|beginning|outbreak|onset)|since (?:19|20)\d\d|since (?:early |late |mid-?)?(?:January|February|March|April|May|June|July|August|September|October|November|December|last)|since (?:it|the (?:war|conflict|uprising|revolt|crisis)) (?:began|started|erupted)"
    r"|(?:war|conflict|uprising|crisis|fighting) (?:has|have|had) (?:so far )?(?:killed|claimed)|death toll (?:of|in) the (?:war|conflict)|in total|overall toll)\b",
    re.IGNORECASE,
)
MAX_INCIDENT_DEATHS = 10_000  # larger figures in one sentence are war totals, not one incident
_NOT_DEATH_CONTEXT = re.compile(
    r"\b(?:injur|wound|hurt|arrest|detain|captur|rescued|evacuat)\w*\s*$", re.IGNORECASE
)


def parse_number(text: str) -> int | None:
    """'12' -> 12, '1,200' -> 1200, 'twenty-five' -> 25, 'dozens' -> 12, 'a' -> 1."""
    value = text.strip().lower()
    if not value:
        return None
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+|\d+", value):
        return int(value.replace(",", ""))
    if value in VAGUE:
        return VAGUE[value]
    words = re.split(r"[\s-]+", value.replace(" and ", " "))
    total, current = 0, 0
    for word in words:
        if word in UNITS:
            current += UNITS[word]
        elif word in TENS:
            current += TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word == "thousand":
            total += max(current, 1) * 1000
            current = 0
        else:
            return None
    return total + current


# A word every pattern above (and _ZERO) needs: a sentence without one states no deaths,
# which a substring test says faster than the patterns.
_DEATH_STEMS = (
    "kill", "execut", "massacr", "murder", "behead", "dead", "died", "slain", "lives", "gunned",
    "perish", "death", "fatalit", "bodies", "hurt", "injur", "casualt",
)  # fmt: skip


def find_fatalities(sentence: str) -> tuple[int | None, str | None]:
    """(deaths stated in the sentence, the words stating them); (None, None) if unstated."""
    lowered = ignorecase_lower(sentence)
    if not any(stem in lowered for stem in _DEATH_STEMS) or _CUMULATIVE.search(sentence):
        return None, None
    counts: list[tuple[int, int, str]] = []  # (start, value, text)
    toll: tuple[int, str] | None = None
    for number, pattern in enumerate(_PATTERNS):
        for match in pattern.finditer(sentence):
            value = parse_number(match.group("n"))
            if value is None:
                continue
            before = sentence[max(0, match.start("n") - 25) : match.start("n")]
            if number == 2 and _NOT_DEATH_CONTEXT.search(before):
                continue
            if re.search(r"\bno\s+$", before, re.IGNORECASE):
                continue  # "no one was killed" is handled as zero below
            if match.group("n").lower() in _ARTICLES and not (match.groupdict().get("v") or number == 0):
                continue  # "an airstrike killed ..." is not a count
            if number == 3:
                second = parse_number(match.group("m"))
                if second is not None:
                    counts = [c for c in counts if not match.start() <= c[0] < match.end()]
                    counts.append((match.start("n"), value + second, match.group(0).strip()))
                continue
            if number == 4:
                toll = (
                    (value, match.group(0).strip())
                    if toll is None
                    else min(toll, (value, match.group(0).strip()))
                )
                continue
            span_start = match.start("n")
            if any(abs(span_start - start) < 3 for start, _, _ in counts):
                continue
            counts.append((span_start, value, match.group(0).strip()))
    if toll is not None:
        return toll if toll[0] <= MAX_INCIDENT_DEATHS else (None, None)
    if counts:
        counts.sort()
        total = sum(value for _, value, _ in counts)
        if total > MAX_INCIDENT_DEATHS:
            return None, None
        return total, "; ".join(text for _, _, text in counts)
    zero = _ZERO.search(sentence)
    if zero:
        return 0, zero.group(0)
    return None, None


_DETAINEES = rf"(?:{_VICTIMS}|(?:{_MODIFIER}){{0,3}}?(?:suspect(?:ed|s)?(?:\s+\w+)?|leaders?|commanders?|facilitators?|members?|operatives?|bomb-?makers?))"
_DETAINED_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        # "detained two suspected insurgents", "arrested 12 people"
        rf"\b(?:detain(?:ed|ing|s)?|arrest(?:ed|ing|s)?|captur(?:ed|ing|es)|apprehend(?:ed|ing|s)?|took|taken)\s+(?:{_QUALIFIER})?(?P<n>{NUMBER})\b(?:\s+(?P<v>{_DETAINEES}))?(?!\s*(?:%|percent|km|years?|days?|hours?))",
        # "two suspects were detained", "12 people were arrested"
        rf"(?:^|[\s,(])(?:{_QUALIFIER})?(?P<n>{NUMBER})\s+(?:(?P<v>{_DETAINEES})\s+)?(?:were|was|have been|had been)\s+(?:\w+\s+)?(?:detained|arrested|captured|apprehended|taken into custody)\b",
    )
)


def find_detained(sentence: str) -> int | None:
    """People stated as detained, arrested or captured in the sentence; None if unstated."""
    counts: dict[int, int] = {}
    for number, pattern in enumerate(_DETAINED_PATTERNS):
        for match in pattern.finditer(sentence):
            value = parse_number(match.group("n"))
            if value is None or re.fullmatch(r"(?:19|20)\d\d", match.group("n")):
                continue
            if match.group("n").lower() in _ARTICLES and not match.group("v"):
                continue
            if number == 0 and not match.group("v") and match.group(0).lower().startswith(("took", "taken")):
                continue
            if any(abs(match.start("n") - start) < 3 for start in counts):
                continue
            counts[match.start("n")] = value
    return sum(counts.values()) if counts else None
