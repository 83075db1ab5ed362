"""Date expressions in a sentence, resolved against the document's publication date.

``find_date`` returns the event date a sentence states (explicit: "9 May 2020", "June 4",
"Jan. 25, 2013"; relative: "yesterday", "on Tuesday", "last week", "earlier this month")
with a precision (day, week, month, year) and the expression it came from. Dates without a
year take the publication year, moved back a year when that would put them more than a
week after publication. Weekdays are the most recent such day on or before publication.
Nothing is guessed without a publication date to resolve against, except explicit dates.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4,
    "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11,
    "dec": 12, "december": 12,
}  # fmt: skip
WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5,
    "sunday": 6, "sun": 6,
}  # fmt: skip

_MONTH = r"(?P<month>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_WEEKDAY = r"(?P<weekday>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "a": 1,
    "an": 1,
}


@dataclass(frozen=True)
class DateMention:
    value: date | None  # None: the expression needs a publication date that is unknown
    precision: str | None  # day | week | month | year
    text: str
    start: int  # offsets of the expression in the sentence
    end: int


# (regex, kind); the earliest match in the sentence wins, ties go to the earlier pattern.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE if kind not in ("md", "dm") else 0), kind)
    for pattern, kind in (
        (rf"\b{_YEAR}-(?P<month_num>[01]\d)-(?P<day>[0-3]\d)\b", "iso"),
        (rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b", "dmy"),
        (rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b", "mdy"),
        (rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}(?!\s*,?\s*\d)", "dm"),
        (rf"\b{_MONTH}\s+{_DAY}\b(?!\s*,?\s*\d)", "md"),
        (r"\b(?:the\s+)?day\s+before\s+yesterday\b", "before_yesterday"),
        (r"\byesterday\b|\blast\s+night\b|\bovernight\b", "yesterday"),
        (
            r"\btoday\b|\btonight\b|\bthis\s+(?:morning|afternoon|evening)\b|\bearlier\s+today\b",
            "today",
        ),
        (r"\b(?P<count>\d|one|two|three|four|five|six|seven|a|an)\s+days?\s+ago\b", "days_ago"),
        (
            rf"\b(?:on\s+|last\s+|early\s+|late\s+)?{_WEEKDAY}(?:\s+(?:morning|afternoon|evening|night))?\b",
            "weekday",
        ),
        (r"\blast\s+week(?:end)?\b|\bearlier\s+this\s+week\b|\bthis\s+week\b", "last_week"),
        (rf"\b(?:early|late|mid|in|since|during)[\s-]+{_MONTH}(?:\s+{_YEAR})?\b", "month"),
        (r"\b(?:earlier\s+)?this\s+month\b", "this_month"),
        (r"\blast\s+month\b", "last_month"),
        (rf"\bin\s+{_YEAR}\b", "year"),
    )
)


# What each kind of pattern above needs somewhere in the sentence: a sentence without it
# cannot match the pattern, which a substring test says faster than the pattern itself.
_MONTH_WORD = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", re.IGNORECASE)
_DIGIT = re.compile(r"\d")
_NEEDS: dict[str, tuple[str, ...]] = {
    "before_yesterday": ("yesterday",),
    "yesterday": ("yesterday", "night"),
    "today": ("today", "tonight", "this"),
    "days_ago": ("ago",),
    "weekday": ("day",),
    "last_week": ("week",),
    "this_month": ("month",),
    "last_month": ("month",),
}
_NEEDS_DIGIT = frozenset(("iso", "dmy", "mdy", "dm", "md", "year"))
_NEEDS_MONTH = frozenset(("dmy", "mdy", "dm", "md", "month"))


def ignorecase_lower(text: str) -> str:
    """Lower case as the patterns' IGNORECASE matches it: "ſ" (long s) is "s", "K" (Kelvin)
    is "k", "İ" and "ı" are "i" (str.lower() alone keeps them apart)."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", text).replace("İ", "I").replace("ı", "i").lower()


def _could_match(kind: str, lowered: str, digit: bool, month: bool) -> bool:
    if (kind in _NEEDS_DIGIT and not digit) or (kind in _NEEDS_MONTH and not month):
        return False
    words = _NEEDS.get(kind)
    return words is None or any(word in lowered for word in words)


def _month(match: re.Match[str]) -> int:
    name = ignorecase_lower(match.group("month")).rstrip(".")
    return MONTHS.get(name) or MONTHS[name[:3]]


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _resolve(match: re.Match[str], kind: str, published: date | None) -> tuple[date, str] | None:
    if kind == "iso":
        value = _safe(int(match.group("year")), int(match.group("month_num")), int(match.group("day")))
        return (value, "day") if value else None
    if kind in ("dmy", "mdy"):
        value = _safe(int(match.group("year")), _month(match), int(match.group("day")))
        return (value, "day") if value else None
    if published is None:
        return None
    if kind in ("dm", "md"):
        month, day = _month(match), int(match.group("day"))
        value = _safe(published.year, month, day)
        if value and value > published + timedelta(days=7):
            value = _safe(published.year - 1, month, day)
        return (value, "day") if value else None
    if kind == "before_yesterday":
        return published - timedelta(days=2), "day"
    if kind == "yesterday":
        return published - timedelta(days=1), "day"
    if kind == "today":
        return published, "day"
    if kind == "days_ago":
        count = match.group("count").lower()
        days = int(count) if count.isdigit() else _NUMBER_WORDS[count]
        return published - timedelta(days=days), "day"
    if kind == "weekday":
        weekday = WEEKDAYS[ignorecase_lower(match.group("weekday"))]
        back = (published.weekday() - weekday) % 7
        if match.group(0).lower().startswith("last") and back == 0:
            back = 7
        return published - timedelta(days=back), "day"
    if kind == "last_week":
        return published - timedelta(days=7 if "last" in match.group(0).lower() else 3), "week"
    if kind == "month":
        year = int(match.group("year")) if match.group("year") else published.year
        month = _month(match)
        if not match.group("year") and month > published.month:
            year -= 1
        return date(year, month, 15), "month"
    if kind == "this_month":
        return published.replace(day=15) if published.day >= 15 else published.replace(day=1), "month"
    if kind == "last_month":
        first = published.replace(day=1) - timedelta(days=1)
        return first.replace(day=15), "month"
    if kind == "year":
        return date(int(match.group("year")), 7, 1), "year"
    return None


def find_dates(sentence: str, published: date | None) -> list[DateMention]:
    """All date expressions in the sentence, in text order. Without a publication date,
    relative expressions are returned with ``value=None`` (stated but not resolvable)."""
    lowered = ignorecase_lower(sentence)
    digit, month = _DIGIT.search(sentence) is not None, _MONTH_WORD.search(sentence) is not None
    found: dict[int, DateMention] = {}
    taken: list[tuple[int, int]] = []
    for pattern, kind in _PATTERNS:
        if not _could_match(kind, lowered, digit, month):
            continue
        for match in pattern.finditer(sentence):
            span = match.span()
            if any(span[0] < end and start < span[1] for start, end in taken):
                continue
            resolved = _resolve(match, kind, published)
            if resolved is None:
                if published is not None or kind in ("iso", "dmy", "mdy"):
                    continue  # an impossible date such as 31 February
                resolved = (None, None)
            taken.append(span)
            found[span[0]] = DateMention(resolved[0], resolved[1], match.group(0).strip(), span[0], span[1])
    return [found[k] for k in sorted(found)]


# A dateline's place: capitalised words, with the particles of names such as "Dar es
# Salaam", "Sharm el-Sheikh", "Rio de Janeiro".
_DATELINE_PLACE = r"[A-Z][\w.'’-]*(?: (?:[A-Z][\w.'’-]*|[a-z]{1,3}(?:-[A-Z][\w.'’-]*)?)){0,4}"
# What a dateline's parentheses hold: a date ("Jan. 25, 2013", "Apr. 26", "3/14") or a
# news agency. "(since 2000)" or "(about 2,000 soldiers)" is neither.
_DATELINE_BRACKET = (
    r"\((?:(?=[^)]{3,30}\))[^)]*?\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2}\b[^)]*"
    r"|\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{1,2}\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?(?:\s+\d{4})?"
    r"|Reuters|AFP|AP|dpa|DPA|ANI|UPI|IANS|PTI|Xinhua|TASS|AA|IRNA|SANA|Anadolu)\)"
)
_WEEKDAY_ABBREVIATIONS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DATELINE = re.compile(
    rf"^\s*(?:{_DATELINE_PLACE},\s*)?{_DATELINE_PLACE}\s*{_DATELINE_BRACKET}|"
    rf"^\s*(?:{'|'.join(_WEEKDAY_ABBREVIATIONS)})[a-z]*\.?,?\s+\d{{1,2}}\s+[A-Z][a-z]+\.?\s+\d{{4}}\b"
)


# A dateline after a release header in the same sentence ("2012-04-S-052 For Immediate
# Release KABUL, Afghanistan (Apr. 26) In ..."): only after such a header, and only with an
# upper-case city.
_HEADED_DATELINE = re.compile(
    rf"\b[A-Z]{{3,}}(?:[ .'’-]+[A-Z]{{2,}})*,\s*{_DATELINE_PLACE}\s*{_DATELINE_BRACKET}"
)
_RELEASE_HEADER = re.compile(r"\bRelease\b|\b\d{4}-\d{1,2}-[A-Z]{1,3}-\d+\b")
HEADER_CHARS = 160


def dateline_end(sentence: str) -> int:
    """Where a leading dateline ("KABUL, Afghanistan (Jan. 25, 2013) –", "Sun 16 Apr
    2017") ends, or 0: it dates the report, not the events that follow it."""
    if "(" not in sentence and not sentence.lstrip().startswith(_WEEKDAY_ABBREVIATIONS):
        return 0  # every dateline form has a bracket or opens with a weekday
    match = _DATELINE.match(sentence)
    if match is None:
        match = _HEADED_DATELINE.search(sentence, 0, HEADER_CHARS)
        if match is not None and not _RELEASE_HEADER.search(sentence, 0, match.start()):
            match = None
    return match.end() if match else 0


def find_date(sentence: str, published: date | None, near: int | None = None) -> DateMention | None:
    """The sentence's event date: the expression closest to ``near`` (e.g. the trigger),
    else the first one; None when the sentence states no date (``value`` is None when it
    states one that cannot be resolved without a publication date)."""
    return pick_date(find_dates(sentence, published), published, near)


def pick_date(
    mentions: list[DateMention], published: date | None, near: int | None = None
) -> DateMention | None:
    """:func:`find_date`'s choice among a sentence's :func:`find_dates` (computed once, read
    for each trigger)."""
    if not mentions:
        return None
    if len(mentions) > 1 and published is not None:
        # "Today, forces confirmed a leader was arrested ... Sunday": the other expression
        # dates the event; the publication day dates the report
        earlier = [m for m in mentions if m.value is not None and m.value != published]
        mentions = earlier or mentions
    if near is None:
        return mentions[0]
    return min(mentions, key=lambda m: m.start - near if m.start >= near else max(0, near - m.end))
