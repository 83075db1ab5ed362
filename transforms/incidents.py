"""Sentences + entities -> ``incidents``: one row per event mention found in a sentence.

How a row is made (rules, no training data):

1. **Trigger.** Each sentence is scanned with the trigger lexicon
   (``lexicons/event_triggers.csv``: ACLED event and sub-event types plus threats and
   military posture). A polars ``str.contains`` over a union of all patterns selects the
   candidate sentences; only those are examined further. Sentences are cut into clauses
   (";", ", while", ", but"), and each clause yields at most one incident per family
   (attack, strategic, protest, riot, threat, posture): the most specific trigger, ties
   broken by ACLED's hierarchy (e.g. air/drone strike before shelling).
2. **Filters.** Generic triggers ("killed", "fighting", "explosion") need conflict context
   in the clause (armed actors, weapons). Triggers referring back ("these attacks") are
   skipped. An attack or posture word after a threat word in the same clause is the
   content of the threat, not an event.
3. **Modality.** threatened (threat family), denied ("denied", "did not"), hypothetical
   ("would", "could", "if", "plans to" before the trigger), else asserted.
4. **Roles.** actor1: the agent of a passive ("by Ukrainian forces"), else an actor
   entity modifying the trigger ("Ukrainian drone strike"), else the nearest actor entity
   before it that is not inside a prepositional phrase; for threats the speaker.
   actor2: the first actor entity after the trigger, or victims named by a noun
   ("civilians"). Nationalities become ACLED-style names ("Military Forces of Ukraine",
   "Civilians (Syria)"); persons, organisations and units keep their normalised name.
5. **Place, date, deaths.** The most specific geocodable place of the sentence (else the
   last place named earlier in the document, else its main country); the date expression
   nearest the trigger resolved against the publication date (else the last date stated
   earlier in the document, else the publication date with precision ``publication``);
   deaths as stated (fatalities.py), for violent families only.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache

import polars as pl

from transforms.dates import DateMention, dateline_end, find_dates, pick_date
from transforms.fatalities import find_detained, find_fatalities
from transforms.geocode import COMPASS_PREFIX, MAJOR_CITY, REGION_KINDS, SUBDIVISION_WORDS, Geocoder, Place
from transforms.ner_rules import is_sports_text
from transforms.resources import (
    affiliation_pattern,
    capital_keys,
    demonym_lookup,
    event_cues,
    name_key,
    weapon_categories,
)
from transforms.schemas import CONFLICT_EVENT_TYPES, INCIDENTS, conform

# ACLED's hierarchy: when tactics co-occur, the earlier sub-event type wins.
SUB_EVENT_ORDER = (
    "Government regains territory",
    "Non-state actor overtakes territory",
    "Armed clash",
    "Chemical weapon",
    "Air/drone strike",
    "Suicide bomb",
    "Shelling/artillery/missile attack",
    "Remote explosive/landmine/IED",
    "Grenade",
    "Sexual violence",
    "Attack",
    "Abduction/forced disappearance",
    "Excessive force against protesters",
    "Protest with intervention",
    "Peaceful protest",
    "Violent demonstration",
    "Mob violence",
    "Agreement",
    "Arrests",
    "Disrupted weapons use",
    "Headquarters or base established",
    "Looting/property destruction",
    "Non-violent transfer of territory",
    "Interception",
    "Airspace or border violation",
    "Military exercise",
    "Troop deployment",
    "Verbal threat/warning",
)
FAMILY_ORDER = ("attack", "strategic", "protest", "riot", "posture", "threat")
VIOLENT_FAMILIES = ("attack", "protest", "riot")
ACTOR_LABELS = ("PERSON", "ORG", "NORP", "GPE", "MILITARY_UNIT")
PLACE_LABELS = ("GPE", "LOC", "FAC")

_CLAUSE_BREAK = re.compile(r";\s+|,\s+(?:while|whereas|but)\s+|\s+while\s+|,\s+meanwhile\s+", re.IGNORECASE)
_ANAPHORA = re.compile(
    r"\b(?:these|those|such|the same|previous|earlier|similar|past|recent|prior)\s+(?:\w+\s+)?$",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(?:denied|denies|deny|denying|did not|didn't|does not|doesn't|has not|have not|had not|never|rejected claims|refuted)\b"
    r"|\b(?:no|not)\s+(?:\w+\s+)?$",
    re.IGNORECASE,
)
# Modal verbs are matched in lower case only: "May" is a month, "Will" a name.
_HYPOTHETICAL = re.compile(
    r"\b(?:would|could|might|may|will|shall)\b"
    r"|\b(?i:if|unless|in case|plans? to|planning to|planned to|prepar\w* to|ready to|threaten\w* to|intends? to|vow\w* to|possible|potential|risk of)\b"
)
# "suspects can be detained", "who cannot be arrested": a modal right before the trigger (not
# "they cannot return home after shelling killed five", "as far as we can tell, gunmen killed")
_MODAL_BEFORE = re.compile(
    r"\b(?:can|cannot|can't|should)(?:\s+(?:not|be|also|now|still|only|then))*\s+$", re.IGNORECASE
)
_SUPPLIER_SUFFIX = re.compile(
    r"^-(?:supplied|made|provided|built|donated|manufactured|produced|designed|funded|based)\b"
)
# sources and reporters are not actors: "... the Observatory said", "according to Reuters"
_REPORTED_AFTER = re.compile(
    r"^\s*(?:[\w-]+\s+){0,2}?(?:said|says|reported|reports|told|stated|claimed|announced|added|quoted|cited|confirmed|observed|recorded|documented|noted|monitored|counted)\b",
    re.IGNORECASE,
)
_REPORTED_BEFORE = re.compile(
    r"\b(?:according to|told|quoted by|cited by|reported by|said)\s+(?:the\s+)?$", re.IGNORECASE
)
_OBLIQUE = re.compile(
    r"\b(?:on|against|in|at|of|from|near|to|with|over|into|for|across|toward|towards|inside|outside|between|and)\s+(?:the\s+|a\s+|an\s+)?$",
    re.IGNORECASE,
)
_PASSIVE_BY = re.compile(r"^\s*(?:[\w-]+\s+){0,6}?by\s+(?:the\s+|a\s+|an\s+)?$", re.IGNORECASE)
_MODIFIER_GAP = re.compile(r"^[\s-]*(?:[A-Za-z-]+\s+){0,2}$")
_PLACE_PREPOSITION = re.compile(
    r"\b(?:in|near|at|over|outside|around|across|into|inside|from|of|on|off|to|towards?|between|west of|east of|north of|south of)\s+(?:the\s+)?$",
    re.IGNORECASE,
)
_NEAR = re.compile(
    r"\b(?:near|outside|close to|outskirts of|vicinity of|around|west of|east of|north of|south of|\d+\s*(?:km|kilometres|kilometers|miles)\s+from)\s+(?:the\s+)?$",
    re.IGNORECASE,
)
_VICTIM_NOUNS = re.compile(
    r"^\s*(?:[\w-]+\s+){0,4}?(?P<noun>civilians?|villagers?|residents?|farmers?|herders?|women|children|worshippers|pilgrims|students|journalists?|aid workers?|passengers|protesters|demonstrators|police(?:men)?|police officers|soldiers|troops|militants|insurgents|rebels)\b",
    re.IGNORECASE,
)
_GROUP_WORDS = {
    "police": "Police Forces of {country}",
    "civilians": "Civilians ({country})",
    "protesters": "Protesters ({country})",
    "rebels": "Rebel Groups ({country})",
}
_ROLE_AFTER = re.compile(
    r"^\s*(?:[\w-]+\s+){0,3}?(?P<word>police(?:men)?|officers?|civilians?|villagers?|residents?|people|children|women|family|families|protesters|demonstrators|rebels?|insurgents?|opposition|militants?|militias?)\b",
    re.IGNORECASE,
)
# A weapon named next to an attack verb is an attack of the weapon's kind, even without a
# trigger phrase: "used a HIMARS to destroy a Russian air defense system".
ATTACK_VERBS = (
    r"destroy(?:ed|ing|s)?|hit(?:s|ting)?|struck|strikes?|striking|target(?:ed|ing|s)?|attack(?:ed|ing|s)?|"
    r"fir(?:ed|ing)|launch(?:ed|es|ing)?|pound(?:ed|ing|s)?|bomb(?:ed|ing|s)?|shell(?:ed|ing|s)?|dropp(?:ed|ing)|"
    r"kill(?:ed|ing|s)?|blew up|blow up|slammed|rained down|fell on|landed"
)
_ATTACK_VERB = re.compile(rf"\b(?:{ATTACK_VERBS})\b", re.IGNORECASE)
_NUMBER_JUST_BEFORE = re.compile(r"\d[\s-]*$")
WEAPON_SUB_EVENTS = {
    "drone": ("Explosions/Remote violence", "Air/drone strike"),
    "aircraft": ("Explosions/Remote violence", "Air/drone strike"),
    "helicopter": ("Explosions/Remote violence", "Air/drone strike"),
    "rocket_artillery": ("Explosions/Remote violence", "Shelling/artillery/missile attack"),
    "artillery": ("Explosions/Remote violence", "Shelling/artillery/missile attack"),
    "mortar": ("Explosions/Remote violence", "Shelling/artillery/missile attack"),
    "missile": ("Explosions/Remote violence", "Shelling/artillery/missile attack"),
    "munition": ("Explosions/Remote violence", "Shelling/artillery/missile attack"),
    # fired from a distance at positions: ACLED codes one-sided fire of these as shelling
    "heavy_weapons": ("Explosions/Remote violence", "Shelling/artillery/missile attack"),
    "explosive": ("Explosions/Remote violence", "Remote explosive/landmine/IED"),
    "grenade": ("Explosions/Remote violence", "Grenade"),
    "chemical": ("Explosions/Remote violence", "Chemical weapon"),
}
_HEADLINE_WORD = re.compile(r"[A-Za-z][\w'’-]*")
_GENERIC_FORCES = re.compile(
    r"\b(?:army|military|armed forces|forces|troops|defen[cs]e forces)$", re.IGNORECASE
)
_NAME_TOKEN = r"[A-Z‘'’][\w'’‘-]*"
_ADMIN_WORDS = (
    "region", "province", "oblast", "governorate", "district", "state", "subdivision", "county",
    "municipality", "town", "village", "LGA",
)  # fmt: skip
_ADMIN_PHRASE = re.compile(
    rf"(?<![\w'’‘])((?:{_NAME_TOKEN}\s){{0,2}}{_NAME_TOKEN})\s+({'|'.join(_ADMIN_WORDS)})\b"
)
# a written place name: capitalised words, perhaps with an article first ("La Libertad",
# "El Alto", "An Najaf") and particles inside ("Ras al Ain", "San Jose del Monte")
_NAME_ARTICLES = frozenset("La Le Las Los El Al As Ad Ar An Az De Da Do Du".split())
_PLACE_NAME = (
    rf"(?:(?:{'|'.join(sorted(_NAME_ARTICLES))})\s|(?:al|el|as|ad|ar|an|az)-)?[A-Z][a-z][\w'’-]+"
    # not "as"/"an": "in Gaza as Israeli troops pushed in" is two names
    r"(?:[\s-](?:(?:al|el|ad|ar|de|del|da|do|dos|la)\s|(?:al|el|ad|ar|as|an|az|ez)-)?[A-Z][a-z][\w'’-]+){0,3}"
)
_COMPASS = r"(?:north|south|east|west|central|(?:north|south)-?(?:east|west))(?:ern)?"
_LOCATIVE_PHRASE = re.compile(
    # also "In" opening the sentence: "In western Aleppo rebel shelling killed two people"
    r"\b(?P<preposition>[Ii]n|near|at|outside|around|into|inside|towards?)\s+(?:the\s+)?"
    rf"(?:{_COMPASS}\s+)?(?P<place>{_PLACE_NAME})(?!\s*(?:'s|’s))"
)
# a part of a place, wherever it stands: "a school in government-held west Aleppo", not a
# hometown ("Mr Mubanga, from north London, was detained in Zambia") (the
# phrases added by a capital "In" or a compass word only take a major place: see
# Geocoder.knows_major)
_COMPASS_PHRASE = re.compile(rf"(?<!from )\b{_COMPASS}\s+({_PLACE_NAME})(?!\s*(?:'s|’s))")
_OF_PLACE_PHRASE = re.compile(
    r"\b(?:countryside|outskirts|area|areas|vicinity|province|region|city|town|village|district|governorate|suburbs?|"
    r"neighbou?rhoods?|"
    r"north|south|east|west|northeast|northwest|southeast|southwest|centre|center|part|parts|border|environs|periphery) of "
    rf"(?:the\s+)?({_PLACE_NAME})"
)
_COMMA_PLACE = re.compile(rf",\s+({_PLACE_NAME})\b(?!\s*(?:'s|’s))")
_TOWN_BEFORE = re.compile(
    rf"\b({_PLACE_NAME})(?:\s+(?i:city|town|village|subdivision|district|county|LGA))?\s*$"
)
_KIND_WORD_AFTER = re.compile(
    r"\s+(?i:district|county|province|region|state|subdivision|municipality|town|village|city|area|LGA)\b"
)
_PARENTHESES = re.compile(r"\(([^()]{1,80})\)")
# a sentence without a digit or one of these words cannot state a date (saves running every
# date pattern)
_DATE_WORDS = (
    r"yesterday|today|tonight|night|overnight|morning|afternoon|evening|ago|week|weekend|month|year|"
    r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun"
)
_DATE_HINT = re.compile(rf"\d|\b(?i:{_DATE_WORDS})")
_DATE_HINT_LOWER = re.compile(rf"\d|\b(?:{_DATE_WORDS})")


def _may_state_date(text: str) -> bool:
    """Whether the sentence may state a date. ASCII text is searched lower-cased, several
    times faster than the IGNORECASE alternation; other text keeps that alternation, as
    Unicode lower-casing can join a sign to the word after it ("™Monday")."""
    if text.isascii():
        return _DATE_HINT_LOWER.search(text.lower()) is not None
    return _DATE_HINT.search(text) is not None


_NOT_PLACES = frozenset(
    "January February March April May June July August September October November December Monday "
    "Tuesday Wednesday Thursday Friday Saturday Sunday The This That These Those His Her Their Its Our "
    "An Some Parliament Congress Court Government Ministry Council".split()
)
_LEADING_FUNCTION_WORDS = re.compile(
    r"(?:(?:In|On|At|Near|From|During|After|Before|Across|Around|Inside|Outside|Into|Within|"
    r"Throughout|Along|Across|Between|And|Of|For|By|With|Since|Also|Meanwhile|Elsewhere|"
    r"Yesterday|Today|Tonight|Later|Earlier|Overnight|Finally|Separately)\s+)+"
)
_THREAT_NOUN = re.compile(r"^(?:threats?|warnings?|ultimatums?)$", re.IGNORECASE)
CARRY_PLACE_SENTENCES = 3  # a place named this many sentences back still locates an event
# a lead naming only a country ("... killed in southern Afghanistan") is made precise by a
# place of that country in the next sentences ("In Helmand province, ...")
DETAIL_PLACE_SENTENCES = 2
_SEPARATE_EVENT = re.compile(
    r"\b(?:separate|another|elsewhere|meanwhile|in other|last (?:week|month|year))\b", re.IGNORECASE
)
_STATEMENT = re.compile(
    r"\b(?:said|says|told|confirmed|announced|reported|according|spokes(?:man|woman|person)|officials?|"
    r"ministry|statement|embassy|headquarters|based)\b",
    re.IGNORECASE,
)
# "In Helmand province, ...", "... in Nowzad district, Helmand province"
_DETAIL_LOCATIVE = re.compile(
    r"\b(?i:in|near|outside|at)\s+(?:the\s+)?(?:[A-Z][\w'’-]*(?:\s+[\w'’-]+){0,2},\s+)?$"
)

_UNKNOWN_ATTACKERS = re.compile(
    r"\b(?:gunmen|unidentified (?:armed )?(?:men|group|assailants|attackers)|unknown (?:armed )?(?:men|assailants|attackers)|assailants|attackers)\b",
    re.IGNORECASE,
)
_GENERIC_MILITANTS = re.compile(
    r"\b(?:militants|insurgents|rebels|jihadists|terrorists|extremists|fighters)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Trigger:
    family: str
    event_type: str
    sub_event_type: str
    specificity: int
    needs_context: bool
    pattern: re.Pattern[str]
    polars_pattern: str = ""  # the same in polars' regex syntax (to find the sentences it can match)


@dataclass(frozen=True)
class IncidentRules:
    triggers: tuple[Trigger, ...]
    context: re.Pattern[str]
    prefilter: str  # one regex for polars selecting candidate sentences


def compile_rules(rows: Iterable[dict[str, str]]) -> IncidentRules:
    """Trigger lexicon rows (resources.event_triggers()) -> compiled rules."""
    triggers, context, union = [], [], []
    for row in rows:
        if row["family"] == "context":
            context.append(row["pattern"])
            continue
        triggers.append(
            Trigger(
                family=row["family"],
                event_type=row["event_type"],
                sub_event_type=row["sub_event_type"],
                specificity=int(row["specificity"]),
                needs_context=row["needs_context"] == "yes",
                pattern=re.compile(rf"\b(?:{row['pattern']})\b", re.IGNORECASE | re.ASCII),
                polars_pattern=_polars_regex(row["pattern"]),
            )
        )
        union.append(row["pattern"])
    return IncidentRules(
        triggers=tuple(triggers),
        context=re.compile(rf"\b(?:{'|'.join(context)})\b", re.IGNORECASE),
        prefilter=_polars_regex("|".join([*union, ATTACK_VERBS])),
    )


def _polars_regex(pattern: str) -> str:
    """A trigger pattern as compiled above (ASCII, any case, whole words) in the syntax of
    polars' regex engine. ASCII word boundaries and classes: ~15x faster there than Unicode
    ones, and the trigger words are ASCII. Polars has no look-around: look-aheads and
    look-behinds ("captured (?!by )") are dropped, which only widens what the pattern
    selects, and the sentences selected are then matched with the full pattern."""
    pattern = _without_lookaround(pattern)
    return rf"(?i-u)\b(?:{pattern})\b".replace(r"\w", "[A-Za-z0-9_]")


_LOOKAROUND = re.compile(r"\(\?<?[!=]")


def _without_lookaround(pattern: str) -> str:
    """The pattern without its look-ahead and look-behind groups (nested groups, escapes and
    character classes such as ``[)(]`` inside them included)."""
    while (found := _LOOKAROUND.search(pattern)) is not None:
        depth, end = 0, found.start()
        while True:
            char = pattern[end]
            if char == "\\":
                end += 2
                continue
            if char == "[":  # a class ends at the first "]" not escaped and not first in it
                end += 2 if pattern[end + 1 : end + 2] in ("]", "^") else 1
                end += 1 if pattern[end - 1 : end + 1] == "^]" else 0
                while pattern[end] != "]":
                    end += 2 if pattern[end] == "\\" else 1
                end += 1
                continue
            depth += {"(": 1, ")": -1}.get(char, 0)
            end += 1
            if depth == 0:
                break
        pattern = pattern[: found.start()] + pattern[end:]
    return pattern


@dataclass
class Mention:
    """An entity mention with offsets relative to its sentence."""

    start: int
    end: int
    label: str
    text: str
    name: str
    category: str | None = None


@dataclass
class DocumentContext:
    published: date | None
    countries: list[str]  # ISO2 codes, most mentioned first
    affiliations: Counter = field(default_factory=Counter)  # countries of named forces/missions
    # sentence position -> every date expression after its dateline (find_dates, read once)
    stated: dict[int, list[DateMention]] = field(default_factory=dict)
    found: dict[int, list[tuple[Mention, Place]]] = field(default_factory=dict)  # position -> places named
    texts: dict[int, str] = field(default_factory=dict)  # position -> sentence
    named_regions: set[tuple[str, str]] = field(default_factory=set)  # (country, admin1) named so far
    # the countries a long report keeps naming (three times or more, as countries, their
    # people or their big cities): a small town elsewhere is then a homonym (see _abroad)
    settled_countries: list[str] = field(default_factory=list)
    named_countries: list[str] = field(default_factory=list)  # named at all, or their forces
    # place key -> the regions a hierarchy put that name in, where its gazetteer homonym lay
    # elsewhere ("Khugyani district, Nangarhar province": Khugyani is not Kandahar's)
    held_in: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    # place keys of spelling variants already found to name no town abroad (_alike_elsewhere)
    not_variants: set[str] = field(default_factory=set)
    # the place of the report's dateline when it is a region or a town under 100,000
    # ("URUZGAN, Afghanistan (Oct. 3, 2011)"; not "KABUL, Afghanistan", nor a news agency's
    # "MOSUL, Iraq (AFP)"): False where there is none
    dateline_place: Place | bool | None = None
    regions: dict[tuple[str, str], Place | None] = field(default_factory=dict)  # region_of cache

    def stated_dates(self, position: int) -> list[DateMention]:
        """Every date expression of the sentence after its dateline (found once)."""
        found = self.stated.get(position)
        if found is None:
            text = self.texts[position]
            found = self.stated[position] = find_dates(text[dateline_end(text) :], self.published)
        return found

    def date_before(self, position: int) -> DateMention | None:
        """The date stated last before this sentence (a report's narrative carries it on).
        Read backwards and only as far as needed: most sentences are never asked."""
        for earlier in range(position - 1, -1, -1):
            text = self.texts.get(earlier)
            if text is None or not _may_state_date(text):
                continue
            chosen = pick_date(self.stated_dates(earlier), self.published)
            if chosen is not None and chosen.value is not None:
                return chosen
        return None

    def place_after(self, position: int, country_code: str, geocoder: Geocoder) -> Place | None:
        """The region of the detail that follows a lead naming only a country: the first of
        the next few sentences naming a place, when it opens a new report of that country's
        events ("In Helmand province, ..."), not a separate incident, a statement made
        somewhere ("A NATO spokesman in Kabul said ...") or a dateline."""
        for later in range(position + 1, position + 1 + DETAIL_PLACE_SENTENCES):
            found = sorted(self.found.get(later, ()), key=lambda item: item[0].start)
            if not found:
                continue
            text = self.texts.get(later, "")
            for mention, place in found:
                if place.country_code != country_code or place.kind == "country":
                    continue
                before = text[: mention.start]
                if (
                    _SEPARATE_EVENT.search(before)
                    or _STATEMENT.search(before)
                    or not _DETAIL_LOCATIVE.search(before[-60:])
                ):
                    return None
                return self.region_of(place, geocoder)
            return None
        return None

    def region_of(self, place: Place, geocoder: Geocoder) -> Place | None:
        """The first-level region a place lies in, as a place."""
        if place.kind == "admin1":
            return place
        if not place.admin1 or not place.country_code:
            return None
        key = (place.country_code, place.admin1)
        if key not in self.regions:
            region = geocoder.geocode(f"{place.admin1} region", [place.country_code])
            found = region is not None and region.kind == "admin1" and region.admin1 == place.admin1
            self.regions[key] = region if found else None
        return self.regions[key]

    def main_region(self, position: int, geocoder: Geocoder) -> Place | None:
        """The region of the document's main country named last before this sentence:
        where a report is, when a sentence and the few before it name no place
        ("Khanabad district, Kunduz province" four sentences back)."""
        if not self.countries:
            return None
        for earlier in sorted((p for p in self.found if p < position), reverse=True):
            inside = [
                place
                for _, place in self.found[earlier]
                if place.kind != "country" and place.admin1 and place.country_code == self.countries[0]
            ]
            if inside:
                return self.region_of(min(inside, key=lambda p: p.precision), geocoder)
        return None

    def dateline_region(self, sentence: str, geocoder: Geocoder) -> Place | None:
        """The region of the dateline's place, when it lies in the document's main country
        and the sentence does not point elsewhere in it ("in the north of the country"):
        where a report filed from the field is, when nothing in it says more."""
        place = self.dateline_place
        if not isinstance(place, Place) or not self.countries or place.country_code != self.countries[0]:
            return None
        if _ELSEWHERE_IN_COUNTRY.search(sentence):
            return None
        return self.region_of(place, geocoder)

    def place_before(self, position: int) -> Place | None:
        """The most precise place of the latest of the previous few sentences naming one.
        Where that sentence names only countries, and several ("from Pakistan to
        Afghanistan": a route, not where the report is), a town or region of one of them
        named earlier in the window is more precise ("in Nadir Shah Kot district, Khost
        province, ... He moves weapons from Pakistan to insurgents in Afghanistan. The
        security force detained ...": Khost). A sentence naming one country ("across
        Syria") keeps it: a background sentence of a long report is often about the war as
        a whole."""
        latest: Place | None = None
        for earlier in range(position - 1, max(-1, position - 1 - CARRY_PLACE_SENTENCES), -1):
            if not self.found.get(earlier):
                continue
            best = min((place for _, place in self.found[earlier]), key=lambda p: p.precision)
            if latest is None:
                countries = {place.country_code for _, place in self.found[earlier]}
                if best.kind != "country" or len(countries) < 2:
                    return best
                latest = best
            elif best.kind != "country" and best.country_code in countries:
                return best
        return latest


# --------------------------------------------------------------------------- helpers


def _sub_event_rank(trigger: Trigger) -> tuple[int, int]:
    order = SUB_EVENT_ORDER.index(trigger.sub_event_type) if trigger.sub_event_type in SUB_EVENT_ORDER else 99
    return (-trigger.specificity, order)


def _clauses(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in _CLAUSE_BREAK.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if e > s]


def _country_of_mention(mention: Mention, geocoder: Geocoder) -> str | None:
    if mention.label == "NORP":
        return demonym_lookup().get(name_key(mention.text)) or demonym_lookup().get(name_key(mention.name))
    code = None
    if mention.label == "GPE":
        code = (
            geocoder.country_of(mention.name)
            or geocoder.country_of(mention.text)
            # "Syrian" labelled a place
            or demonym_lookup().get(name_key(mention.text))
        )
    if code is None and mention.label in ("GPE", "LOC"):
        # "Southern Afghanistan" (often labelled LOC) is about Afghanistan
        bare = COMPASS_PREFIX.sub("", mention.text)
        code = geocoder.country_of(bare) if bare != mention.text else None
    return code


# "Mine 6/7", "Checkpoint 2.": a number naming the site; not "Daraa 16 civilians were
# killed", nor "Huliaipole 3.5 km from the front"
_NUMBER_AFTER = re.compile(r"\s+\d+(?:/\d+|(?=\s*(?:[.,;:)](?!\d)|$)))")
_QUARTER_AFTER = re.compile(r"\s+(?:neighbou?rhoods?|quarter)\b", re.IGNORECASE)


def actor_name(
    mention: Mention, sentence: str, family: str, geocoder: Geocoder, unit_countries: dict[str, str]
) -> str:
    """ACLED-style actor name for an entity playing a role in an event."""
    if mention.label in ("NORP", "GPE"):
        code = _country_of_mention(mention, geocoder)
        if code is None:
            return mention.name
        country = geocoder.country_name(code) or mention.name
        role = _ROLE_AFTER.match(sentence[mention.end :])
        if role:
            word = role.group("word").lower()
            if word.startswith(("police", "officer")):
                return _GROUP_WORDS["police"].format(country=country)
            if word.startswith(("civilian", "villager", "resident", "people", "children", "women", "famil")):
                return _GROUP_WORDS["civilians"].format(country=country)
            if word.startswith(("protester", "demonstrator")):
                return _GROUP_WORDS["protesters"].format(country=country)
            if word.startswith(("rebel", "insurgent", "opposition", "militant", "militia")):
                return _GROUP_WORDS["rebels"].format(country=country)
        if family == "threat":
            return country
        return f"Military Forces of {country}"
    if mention.label == "MILITARY_UNIT":
        code = unit_countries.get(mention.name)
        if code and _GENERIC_FORCES.search(mention.text.strip()):
            return f"Military Forces of {geocoder.country_name(code) or code}"
    return mention.name


def is_headline(sentence: str) -> bool:
    """A title-case line without final punctuation ("Russian Outrage Over Drone Strike")."""
    if sentence.rstrip().endswith((".", "!", "?", '"', "”")):
        return False
    words = _HEADLINE_WORD.findall(sentence)
    if len(words) < 3:
        return False
    capitalised = sum(1 for w in words if w[0].isupper() or w.lower() in _SMALL_WORDS)
    return capitalised / len(words) >= 0.8 and sum(1 for w in words if w[0].isupper()) >= 3


def headline_expr(text: pl.Expr) -> pl.Expr:
    """``is_headline`` as a polars expression."""
    words = text.str.extract_all(r"[A-Za-z][\w'’-]*")
    capitalised = words.list.eval(pl.element().str.contains(r"^[A-Z]").cast(pl.Int32)).list.sum()
    small = words.list.eval(
        (
            pl.element().str.contains(r"^[A-Z]").not_()
            & pl.element().str.to_lowercase().is_in(list(_SMALL_WORDS))
        ).cast(pl.Int32)
    ).list.sum()
    count = words.list.len()
    return (
        text.str.strip_chars_end().str.contains(r"[.!?\"”]$").not_()
        & (count >= 3)
        & (capitalised >= 3)
        & ((capitalised + small) >= 0.8 * count)
    )


_SMALL_WORDS = frozenset(
    (
        "a",
        "an",
        "the",
        "of",
        "on",
        "in",
        "at",
        "to",
        "for",
        "and",
        "or",
        "as",
        "by",
        "with",
        "over",
        "after",
        "into",
        "from",
    )
)


def lexicon_mentions(sentence: str, mentions: list[Mention]) -> list[Mention]:
    """Nationality words the model missed ("Ukrainian" in a title-case line), as NORP."""
    extra = []
    for match in re.finditer(r"\b[A-Z][a-z]+(?:-[A-Z][a-z]+)?s?\b", sentence):
        if any(m.start < match.end() and match.start() < m.end for m in mentions):
            continue
        word = match.group(0)
        if name_key(word) in demonym_lookup():
            extra.append(Mention(match.start(), match.end(), "NORP", word, word))
    return extra


# --------------------------------------------------------------------------- roles


def _eligible_actors(
    mentions: list[Mention], sentence: str, lo: int, hi: int, family: str, geocoder: Geocoder | None
) -> list[Mention]:
    chosen = []
    for m in mentions:
        if m.label not in ACTOR_LABELS or m.start < lo or m.end > hi:
            continue
        if _SUPPLIER_SUFFIX.match(sentence[m.end : m.end + 16]):
            continue  # "US-supplied HIMARS", "Britain-based monitor"
        if m.label == "GPE" and geocoder is not None and _country_of_mention(m, geocoder) is None:
            continue  # a town or region is where something happened, not who did it
        if family != "threat" and (
            _REPORTED_AFTER.match(sentence[m.end : m.end + 40])
            or _REPORTED_BEFORE.search(sentence[max(0, m.start - 20) : m.start])
        ):
            continue  # the source of the report, not a party to the event
        chosen.append(m)
    return chosen


def find_roles(
    sentence: str,
    mentions: list[Mention],
    trigger: tuple[int, int],
    clause: tuple[int, int],
    family: str,
    geocoder: Geocoder | None = None,
) -> tuple[Mention | None, Mention | None]:
    """(actor1, actor2) entity mentions for the trigger within its clause."""
    lo, hi = clause
    actors = _eligible_actors(mentions, sentence, lo, hi, family, geocoder)
    t_start, t_end = trigger
    head = re.match(r"[\w'’-]+", sentence[t_start:t_end])
    t_end = t_start + head.end() if head else t_end  # "intercept two Russian aircraft": after "intercept"
    before = [m for m in actors if m.end <= t_start]
    after = [m for m in actors if m.start >= t_end]
    actor1 = actor2 = None
    threat_noun = family == "threat" and bool(_THREAT_NOUN.match(sentence[t_start : trigger[1]]))

    # the agent of a passive: "... was hit by Ukrainian drones" / "threats from Russia"
    for m in after:
        gap = sentence[t_end : m.start]
        if _PASSIVE_BY.match(gap) or (threat_noun and re.fullmatch(r"\s*(?:from|by)\s+(?:the\s+)?", gap)):
            actor1 = m
            break
    if actor1 is None and before:
        if family == "threat":
            people = [m for m in before if m.label == "PERSON"]
            pool = people or [m for m in before if not _OBLIQUE.search(sentence[lo : m.start])]
            actor1 = pool[-1] if pool else None
        else:
            nearest = before[-1]
            if _MODIFIER_GAP.match(sentence[nearest.end : t_start]) and nearest.label in (
                "NORP",
                "GPE",
                "MILITARY_UNIT",
                "ORG",
            ):
                actor1 = nearest  # "Ukrainian drone strike", "Israeli airstrikes"
            else:
                subjects = [m for m in before if not _OBLIQUE.search(sentence[lo : m.start])]
                actor1 = subjects[0] if subjects else None
    for m in after:
        if m is actor1:
            continue
        prefix = sentence[t_end : m.start]
        if m.label in ("PERSON", "ORG") and re.search(r"\b(?:in|near|at|outside)\s+(?:the\s+)?$", prefix):
            continue  # "in Nad 'Ali": a place the model took for a name
        if family == "threat" and not re.fullmatch(
            r"\s*(?:the\s+)?|\s*(?:[\w-]+\s+){0,3}?(?:against|to|at)\s+(?:the\s+)?", prefix
        ):
            break  # "warned the US", "threats against Kyiv"; anything else is too loose
        if (
            m.label == "GPE"
            and _PLACE_PREPOSITION.search(prefix)
            and not re.search(r"\b(?:on|against|targeting)\s+(?:the\s+)?$", prefix, re.IGNORECASE)
        ):
            continue  # "in Syria" is a place, not a target
        if len(prefix.split()) <= 8:
            actor2 = m
        break
    return actor1, actor2


def _victims(sentence: str, t_end: int, clause_end: int, family: str) -> str | None:
    """Target named by a noun rather than an entity: "killed three civilians"."""
    if family not in ("attack", "protest", "riot"):
        return None
    match = _VICTIM_NOUNS.match(sentence[t_end:clause_end])
    if not match:
        return None
    noun = match.group("noun").lower()
    if noun.startswith(
        (
            "civilian",
            "villager",
            "resident",
            "farmer",
            "herder",
            "women",
            "children",
            "worshipper",
            "pilgrim",
            "student",
            "journalist",
            "aid",
            "passenger",
        )
    ):
        return "Civilians"
    if noun.startswith(("protester", "demonstrator")):
        return "Protesters"
    if noun.startswith("police"):
        return "Police Forces"
    return None


# --------------------------------------------------------------------------- places and dates


def _without_demonym(text: str) -> str:
    """A place run into the nationality after it ("Aleppo Syrian" in "Aleppo Syrian state
    TV", text without punctuation) -> the place alone."""
    head, _, last = text.rpartition(" ")
    return head if head and name_key(last) in demonym_lookup() else text


def _model_place(mention: Mention) -> Mention:
    """A place mention of the model, without a nationality it ran into or a possessive
    ("Kunar province's Dara Noor district")."""
    text = _without_demonym(mention.text)
    possessive = _POSSESSIVE_END.search(text)
    if possessive:
        text = text[: possessive.start(1)]
    if text == mention.text:
        return mention
    return replace(mention, end=mention.start + len(text), text=text, name=text)


_POSSESSIVE_END = re.compile(
    r"\b(?:province|region|district|state|governorate|oblast|county)(['’]s)$", re.IGNORECASE
)


def _place_candidates(sentence: str, mentions: list[Mention], major: Callable[[str], bool]) -> list[Mention]:
    """Spans of the sentence that may name places: GPE/LOC/FAC entities, "X region",
    capitalised names after a locative ("in Kramatorsk", even when the model called them
    something else) or a compass word ("government-held west Aleppo") and names in
    parentheses after a place ("Kumbo (Bui, Nord-Ouest)"). ``major`` says whether a name
    from the looser phrases (a sentence-opening "In", a compass word) is a major place
    (Geocoder.knows_major)."""
    candidates = [_model_place(m) for m in mentions if m.label in PLACE_LABELS]
    taken = [(m.start, m.end) for m in candidates]

    def add(start: int, end: int) -> None:
        # "In Charkh district, ...": a capitalised preposition opening the sentence is not
        # part of the name
        lead = _LEADING_FUNCTION_WORDS.match(sentence, start, end)
        if lead:
            start = lead.end()
        end = start + len(_without_demonym(sentence[start:end]))  # "district of Aleppo Syrian state TV"
        if start >= end:
            return
        inside = [(a, b) for a, b in taken if start <= a and b <= end and (a, b) != (start, end)]
        if inside and len(inside) == sum(1 for a, b in taken if a < end and start < b):
            # "Nad 'Ali district" holds the model's "Ali": the longer name wins
            for a, b in inside:
                taken.remove((a, b))
                candidates[:] = [c for c in candidates if (c.start, c.end) != (a, b)]
        elif any(a < end and start < b for a, b in taken):
            return
        text = sentence[start:end]
        words = text.split()
        if (words[0] in _NOT_PLACES and not (words[0] in _NAME_ARTICLES and len(words) > 1)) or (
            _QUARTER_AFTER.match(sentence, end)
        ):
            return  # "the western Zahraa neighborhood": a quarter of a town, not a town
        if _NUMBER_AFTER.match(sentence, end):
            return  # "Mine 6/7", "Street 50": a named site, not the town of that name
        for m in mentions:
            if m.start < end and start < m.end:
                if m.label in ("DATE", "TIME", "WEAPON", "MILITARY_UNIT"):
                    return
                if m.label == "NORP" and name_key(m.text) in demonym_lookup():
                    return  # "Syrian", not a place; but the model also calls "Aleppo" NORP
        candidates.append(Mention(start, end, "GPE", text, text))
        taken.append((start, end))

    # (substring tests first: most sentences hold no region word, no " of " and no bracket)
    if any(word in sentence for word in _ADMIN_WORDS):
        for match in _ADMIN_PHRASE.finditer(sentence):
            add(*match.span(1))
    for match in _LOCATIVE_PHRASE.finditer(sentence):
        if match.group("preposition") == "In" and not major(match.group("place")):
            continue  # "In Tears of the Sun Willis plays ...": not Theresa, Wisconsin
        add(*match.span("place"))
    for match in _COMPASS_PHRASE.finditer(sentence):
        if major(match.group(1)):  # not "the southern Front" (Front, Italy)
            add(*match.span(1))
    if " of " in sentence:
        for match in _OF_PLACE_PHRASE.finditer(sentence):
            add(*match.span(1))
    # "Zacatecas, Zacatecas" / "Uzhivka, Donetsk": each name of a comma list is a place
    for m in list(candidates):
        text = sentence[m.start : m.end]
        if "," in text:
            candidates.remove(m)
            taken.remove((m.start, m.end))
            for part in re.finditer(r"[^,]+", text):
                name = part.group(0).strip()
                if name:
                    begin = m.start + part.start() + part.group(0).index(name)
                    add(begin, begin + len(name))
    chain = sorted(candidates, key=lambda c: c.start)
    for m in chain:  # grows: "Barangay Gaya-gaya, San Jose del Monte, Bulacan"
        # "Uzhivka, Donetsk" / "Andar district, Ghazni"
        kind = _KIND_WORD_AFTER.match(sentence, m.end)
        follow = _COMMA_PLACE.match(sentence, kind.end() if kind else m.end)
        if follow:
            known = len(candidates)
            add(*follow.span(1))
            if len(candidates) > known:
                chain.append(candidates[-1])
    for match in _PARENTHESES.finditer(sentence) if "(" in sentence else ():
        offset = match.start(1)
        parts = [part for part in re.finditer(r"[^,]+", match.group(1)) if part.group(0).strip()]
        for part in parts:
            name = part.group(0).strip()
            if _name_start(name):  # capitalised, or "eThekwini", "iLembe"
                begin = offset + part.start() + (len(part.group(0)) - len(part.group(0).lstrip()))
                add(begin, begin + len(name))
        if len(parts) > 1 and all(_is_name(part.group(0).strip()) for part in parts):
            # the town a hierarchy is written after: "prison of Yaounde city (Mfoundi, Centre)"
            town = _TOWN_BEFORE.search(sentence, max(0, match.start() - 60), match.start())
            if town:
                add(*town.span(1))
    return sorted(candidates, key=lambda m: m.start)


def _sentence_places(
    sentence: str, mentions: list[Mention], context: DocumentContext, geocoder: Geocoder
) -> list[tuple[Mention, Place]]:
    found = []
    attempts: list[tuple[Mention, str, bool, list[str], bool]] = []
    # a dateline's city ("KABUL, Afghanistan (Jan. 25)") is where the report was filed
    dateline = dateline_end(sentence)
    candidates = _place_candidates(sentence, mentions, geocoder.knows_major)
    if dateline and context.dateline_place is None:
        context.dateline_place = _dateline_place(sentence[:dateline], geocoder)
    candidates = [m for m in candidates if m.start >= dateline]
    texts = [sentence[m.start : m.end] for m in candidates]
    place_ends = {m.end for m in candidates}
    slots = {m.start: _hierarchy_slot(sentence, m, place_ends) for m in candidates}
    for m in candidates:
        if is_modifier(sentence, m):
            continue  # "Britain-based monitor", "US dollar": not where something happened
        if name_key(sentence[m.start : m.end]) in demonym_lookup() and not _NAMED_REGION_AFTER.match(
            sentence, m.end
        ):
            continue  # "Syrian state TV", "the Syrian province of Aleppo": a nationality
        if _hometown(sentence, m, mentions):
            continue  # "said Capt. Aaron Schwengler, Company B commander, from Bismarck, N.D."
        if _foreign_forces(sentence, m, context, geocoder):
            continue  # "U.S. service members searched the village" in a report on Afghanistan
        if _metonym(sentence, m, geocoder):
            continue  # "Washington accuses the regime", "accused Damascus of": a government
        region = slots[m.start] > 0
        if (
            sentence[m.start : m.end].lower() in _GENERIC_REGION_WORDS
            and not _REGION_WORD_AFTER.match(sentence[m.end : m.end + 20])
            and not region
        ):
            continue  # "in Southern, Eastern Afghanistan": a direction, not Malawi's Southern Region;
            # "in the Capital": Kabul, not Venezuela's Capital District
        prefix = sentence[max(0, m.start - 40) : m.start]
        near = bool(_NEAR.search(prefix))
        text = sentence[m.start : m.end]
        # keep a following "region/province" word with the name: "the Kursk region"
        tail = re.match(
            r"^\s+(region|province|oblast|governorate|district|state|county|municipality)\b",
            sentence[m.end : m.end + 20],
            re.IGNORECASE,
        )
        if tail:
            text = f"{text} {tail.group(1)}"
        # "Russia's Sumy region": the owner narrows the country
        owner = re.search(r"([A-Z][\w-]+)'s\s+(?:the\s+)?$", prefix.replace("’", "'"))
        if owner:
            text = f"{owner.group(1)}'s {text}"
        hints = [t for t in texts if t != sentence[m.start : m.end]]
        attempts.append((m, text, near, hints, region))
        place = geocoder.geocode(
            text, context.countries, near=near, hints=hints, region=region, regions=context.named_regions
        )
        if place is not None:
            found.append((m, place))
    if not found:
        return []  # (most sentences: nothing below has anything to weigh)
    # a second pass reads every name in the country most of the passage points to
    votes: Counter = Counter()
    regions = _called_regions(found, sentence, slots)
    for m, place in found:
        if place.country_code:
            votes[place.country_code] += _weight(place, m.start in regions)
    if len(votes) > 1 or (votes and len(found) < len(attempts)):
        leader = votes.most_common(1)[0][0]
        countries = [leader, *[c for c in context.countries if c != leader]]
        found = []
        for m, text, near, hints, region in attempts:
            place = geocoder.geocode(
                text, countries, near=near, hints=hints, region=region, regions=context.named_regions
            )
            if place is not None:
                found.append((m, place))
    agreeing = _agreeing(found, sentence, slots)
    placed = _consistent(agreeing, sentence, slots)
    # the capital a government speaks from, beside a place in another country, is where it
    # spoke ("... air strikes in Syria, the defence ministry in Moscow said"); alone, or
    # beside its own country's places, it may be where things happened ("The interior
    # ministry in Baghdad said a car bomb exploded")
    seats = {m.start for m, p in placed if _government_seat(sentence, m)}
    if seats:
        elsewhere = {p.country_code for m, p in placed if m.start not in seats}
        placed = [(m, p) for m, p in placed if m.start not in seats or not elsewhere - {p.country_code}]
    # one sense per document: a name a written hierarchy put in another region keeps out of
    # the homonym later ("... throughout Khugyani district" after "Khugyani district,
    # Nangarhar province, today"; not "Idlib province ... the nearby city of Aleppo")
    # (only the towns written just before the region: not "Andar district, Ghazni province,
    # and in Kandahar")
    written = [(m.start, (p.country_code, p.admin1)) for m, p in placed if slots.get(m.start, 0) >= 2]
    for m, place in agreeing:
        regions = {key for start, key in written if 0 <= start - m.end <= SLOT_WINDOW}
        if regions and (m, place) not in placed:
            context.held_in[name_key(sentence[m.start : m.end])] = regions
    # a variant in another country than every other place of its sentence names no town
    # there, in this sentence or later on: "Monari village and nearby Omar Khel, Kushamond
    # District, Paktika Province" is not Monroe, Louisiana, even where a later sentence names
    # a soldier from Bismarck, N.D.
    beside = {p.country_code for _, p in found if p.country_code and not _variant(p)}
    for m, p in found:
        if _variant(p) and beside and p.country_code not in beside:
            context.not_variants.add(name_key(sentence[m.start : m.end]))
    return [
        (m, p)
        for m, p in placed
        if _held(context, sentence[m.start : m.end], p)
        and not _abroad(context, p, placed)
        and not (_variant(p) and name_key(sentence[m.start : m.end]) in context.not_variants)
        and not _alike_elsewhere(context, p, placed)
    ]


SETTLED_MENTIONS = 3


def _abroad(context: DocumentContext, place: Place, placed: list[tuple[Mention, Place]]) -> bool:
    """A town of under 100,000 people in another country than the ones a report keeps
    naming: the homonym of a village the gazetteer lacks ("Zahra" in a report on Syria is
    not Az Zahra, Libya; "the Jubar district of the capital" is not Jübar, Germany). A
    short note naming a country once or twice says too little ("Saudi-led airstrikes
    targeted Mukayras district" is in Yemen), and a town the passage places with another
    name of its country stays ("Miranshah, North Waziristan" in a report on Afghanistan)."""
    return (
        place.kind == "city"
        and place.population < MAJOR_CITY
        and bool(context.settled_countries)
        and place.country_code not in context.named_countries
        and not any(other is not place and other.country_code == place.country_code for _, other in placed)
    )


def _variant(place: Place) -> bool:
    """A town of under 100,000 people read from a spelling variant of its name."""
    return place.spelled_alike and place.kind == "city" and place.population < MAJOR_CITY


def _alike_elsewhere(context: DocumentContext, place: Place, placed: list[tuple[Mention, Place]]) -> bool:
    """A town of under 100,000 people read from a spelling variant of its name, in another
    country than every other place the document names and than the country it names most:
    "Tokhar" next to "Manbij" in a report on Syria is not Tucker, Georgia, though the
    report names American airstrikes. Alone in a note ("east of Khuzaa", Khuza'ah) the
    variant stands. (Where a report names the U.S. most, Tucker stays.)"""

    if not _variant(place):
        return False
    found = [*placed, *(item for items in context.found.values() for item in items)]
    named = {p.country_code for _, p in found if p.country_code and not _variant(p)}
    return bool(named) and place.country_code not in named | set(context.countries[:1])


def _held(context: DocumentContext, name: str, place: Place) -> bool:
    """Whether the place lies where the document's hierarchies put this name, if anywhere."""
    regions = context.held_in.get(name_key(name))
    return regions is None or (place.country_code, place.admin1) in regions


# a place named as the subject of what governments do, or as the one they accuse or
# urge, is the government (metonymy)
_SPEAKS = re.compile(
    r"\s+(?:has\s+|have\s+|had\s+|also\s+)?(?:announced|accuse[sd]?|said|says|warn(?:ed|s)|vetoed|"
    r"den(?:ied|ies)|insist(?:ed|s)|agreed|claim(?:ed|s)|reject(?:ed|s)|blame[sd]?|urge[sd]?|"
    r"condemn(?:ed|s)|responded|intervened|decided|vowed|pledged|promised|threatened)\b(?!\s+by\b)"
)
_SPOKEN_TO = re.compile(
    r"\b(?:accus(?:ed|es|ing)|blam(?:ed|es|ing)|urg(?:ed|es|ing)|warn(?:ed|s|ing)|condemn(?:ed|s|ing)|"
    r"critici[sz](?:ed|es|ing)|called on|pressed|told)\s+$"
    # "triggering criticism from Moscow"
    r"|\b(?:criticism|condemnation|warnings?|protests?|pressure|objections?)\s+from\s+$"
)
# a government seated in its capital: "the defence ministry in Moscow said" (with _SPEAKS)
_GOVERNMENT_IN = re.compile(
    r"\b(?:ministry|ministries|government|officials|authorities|embassy|allies|leadership|"
    r"spokes(?:man|woman|person))\s+in\s+$",
    re.IGNORECASE,
)
_PREPOSITION_BEFORE = re.compile(
    r"\b(?:in|at|from|of|near|to|into|inside|outside|across|around|by|for)\s+(?:the\s+)?"
    r"(?:(?:north|south|east|west|central|(?:north|south)-?(?:east|west))(?:ern)?\s+)?$"
)


def _metonym(sentence: str, mention: Mention, geocoder: Geocoder) -> bool:
    """ "Washington accuses the regime", "Moscow had announced", "accused Damascus of",
    "criticism from Moscow": a country or capital standing for its government, not a place
    of the event; but not "the council in Daraya accused", "a ceasefire in Aleppo announced
    by Russia", nor a town ("Mosul announced a curfew after a car bomb")."""
    before = max(0, mention.start - 32)
    spoken = _SPOKEN_TO.search(sentence, before, mention.start) or (
        _SPEAKS.match(sentence, mention.end)
        and not _PREPOSITION_BEFORE.search(sentence, before, mention.start)
    )
    if not spoken:
        return False
    name = sentence[mention.start : mention.end]
    return name_key(name) in capital_keys() or geocoder.country_of(name) is not None


def _government_seat(sentence: str, mention: Mention) -> bool:
    """ "the defence ministry in Moscow said": the capital a government speaks from (see
    _sentence_places: it places nothing only beside a place in another country)."""
    before = max(0, mention.start - 32)
    return bool(
        _GOVERNMENT_IN.search(sentence, before, mention.start)
        and _SPEAKS.match(sentence, mention.end)
        and name_key(sentence[mention.start : mention.end]) in capital_keys()
    )


# Words that name a region only with a region word after them ("Southern Region", "Capital
# District"): alone they are a direction or "the capital" of the country in question.
_GENERIC_REGION_WORDS = frozenset(
    "north south east west northern southern eastern western central northeast northwest "
    "southeast southwest north-east north-west south-east south-west capital".split()
)
_HIERARCHY_WORDS = frozenset(
    "lga district county state province region subdivision sub-district municipality governorate "
    "department division prefecture commune rayon town city village area de del la el al".split()
)


def _is_name(text: str) -> bool:
    """A written place name: capitalised words ("Oshimili North", "Équateur", "eThekwini"),
    possibly with kind words ("Mobbar LGA", "Bara district"); not a phrase
    ("as reported", "near the border with Niger")."""
    words = text.split()
    return (
        bool(words)
        and _name_start(words[0])
        and all(_name_start(word) or word.lower() in _HIERARCHY_WORDS for word in words)
    )


def _name_start(word: str) -> bool:
    return word[:1].isupper() or bool(re.match(r"[a-z]{1,2}[A-Z]", word))


HOLDING_TOWN = 3
SLOT_WINDOW = 80  # characters before a name searched for what makes it a region slot


def _hierarchy_slot(sentence: str, mention: Mention, place_ends: Collection[int]) -> int:
    """Whether the name stands where gazetteer-style reports write the region: 2 at the
    end of a parenthesised list after a place ("Kerawa (Kolofata, Extreme-Nord)") or
    after a comma closing a place's clause ("Andar district, Ghazni."; ``place_ends`` are
    the ends of the sentence's place names), 1 alone in parentheses ("Villa Nueva
    (Mendoza)"), HOLDING_TOWN (3) for the place an area of a named place lies in ("the
    Soba area of Khartoum"), else 0 (also for acronyms: "Agency of Nigeria (NAN)")."""
    if not re.match(r"\s*\)", sentence[mention.end : mention.end + 3]):
        within = _BEFORE_OF_SLOT.search(sentence, max(0, mention.start - SLOT_WINDOW), mention.start)
        if (
            within is not None
            and within.end(1) in place_ends
            and not _KIND_WORD_AFTER.match(sentence, mention.end)
        ):
            return HOLDING_TOWN  # not "Borgi village of Ahmadabad district"
        return 2 if _comma_slot(sentence, mention, place_ends) else 0
    opening = sentence.rfind("(", 0, mention.start)
    if opening <= 0 or ")" in sentence[opening : mention.start]:
        return 0
    name = sentence[mention.start : mention.end]
    if name.isupper() and len(name) <= 4:
        return 0
    before = re.search(r"([\w'’.-]+)\s*$", sentence[max(0, opening - 40) : opening])
    if before is None or not (_name_start(before.group(1)) or before.group(1).lower() in _HIERARCHY_WORDS):
        return 0
    parts = sentence[opening + 1 : mention.end].split(",")
    if not all(_is_name(part) for part in parts):
        return 0
    if len(parts) == 1 and sentence[max(0, opening - len(name) - 5) : opening].rstrip().endswith(name):
        return 0  # "Colon (Colon)": a town that is its own district
    if len(parts) == 1 and before.group(1).lower() in SUBDIVISION_WORDS:
        return 2  # "Tuban district (Lahij)": the region of a district
    return 2 if len(parts) > 1 else 1


def _comma_slot(sentence: str, mention: Mention, place_ends: Collection[int]) -> bool:
    """ "Borgi village of Ahmadabad district, Paktia." / "Munjuglu, Tovuz.": a name after a
    comma that follows a place name (and perhaps its kind word) and closes the clause."""
    before = _BEFORE_COMMA_SLOT.search(sentence, max(0, mention.start - SLOT_WINDOW), mention.start)
    if before is None or before.end(1) not in place_ends:
        return False
    name = sentence[mention.start : mention.end]
    return (
        _is_name(name)
        and not (name.isupper() and len(name) <= 4)
        and bool(_CLAUSE_END.match(sentence, mention.end))
    )


# the place before the comma, then its kind word: "Ahmadabad district, "
_BEFORE_COMMA_SLOT = re.compile(
    rf"(\w)(?:\s+(?i:{'|'.join(w for w in sorted(_HIERARCHY_WORDS) if len(w) > 3)}))?(?:\s*,|\s+in)\s+$"
)
_BEFORE_OF_SLOT = re.compile(
    r"(\w)(?:\s+(?:area|suburbs?|outskirts|district|village)|\s+in\s+the(?:\s+[a-z-]+ern)?\s+(?:countryside|outskirts|suburbs))"
    r"\s+of\s+(?:the\s+)?$"
)
_CLAUSE_END = re.compile(
    r"(?:\s+(?i:state|province|region|department|governorate))?\s*(?:$|[.;:(\[]|,\s+[a-z])"
)

# "Ethiopia's Somali region" is a region's name; "the Syrian province of Aleppo" and
# "Syrian state TV" are not
_REGION_WORDS = "province|region|oblast|governorate"
# ", from X" or ", from X, " before the state of X
_FROM_AFTER_COMMA = re.compile(
    r",\s+(?i:a native of|from)\s+(?:[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,2},\s+)?$"
)
HOMETOWN_REACH = 80  # characters from a person's name to ", from X"
_SPEECH_BEFORE = re.compile(
    r"\b(?:said|says|told|according to|added|explained|noted|stated)\b", re.IGNORECASE
)


def _dateline_place(dateline: str, geocoder: Geocoder) -> Place | bool:
    """The place a dateline names first ("URUZGAN" of "URUZGAN, Afghanistan (Oct. 3, 2011)
    -"), unless it is a capital (a ministry's or a command's seat files reports on the whole
    country), a city of 100,000 or more, or a country; False when there is none."""
    first = _DATELINE_NAME.match(dateline)
    if first is None or _WEEKDAY.match(first.group(1)) or name_key(first.group(1)) in capital_keys():
        return False  # "Sun, 16 Apr 2017" dates a report
    place = geocoder.geocode(first.group(1))
    if place is None or place.kind == "country":
        return False
    # a news agency's bureau city ("MOSUL, Iraq (AFP)") files on a whole region; a region
    # or a small town is where a field report is
    return place if place.kind != "city" or place.population < MAJOR_CITY else False


_ELSEWHERE_IN_COUNTRY = re.compile(
    r"\b(?:north|south|east|west|central)(?:ern|-?east(?:ern)?|-?west(?:ern)?)?\b|\bthe country(?:'s|’s)?\b|"
    r"\bnationwide\b|\bacross the\b",
    re.IGNORECASE,
)
_WEEKDAY = re.compile(r"(?i)(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?$")
_DATELINE_NAME = re.compile(r"\s*([^\W\d][^,(]{1,40}?)\s*[,(]")


def _hometown(sentence: str, mention: Mention, mentions: list[Mention]) -> bool:
    """Whether a place is where a person named just before comes from: "said Lt. Col. David
    Fivecoat, commander of 3rd Battalion, from Delaware, Ohio" is no place of the event."""
    if not _FROM_AFTER_COMMA.search(sentence[max(0, mention.start - 60) : mention.start]):
        return False
    # the person is quoted ("said Capt. ..."), not acting ("Forces loyal to Khalifa Haftar
    # withdrew on Friday, from Gharyan")
    return any(
        m.label == "PERSON"
        and m.end <= mention.start
        and mention.start - m.end <= HOMETOWN_REACH
        and _SPEECH_BEFORE.search(sentence[max(0, m.start - 60) : m.start])
        for m in mentions
    )


def _foreign_forces(sentence: str, mention: Mention, context: DocumentContext, geocoder: Geocoder) -> bool:
    """Whether a country named before "troops", "service members", ... is their nationality
    rather than the place: so it is unless the report is about that country ("Pakistan
    military personnel were killed" in a note on Pakistan)."""
    if not _FORCE_NOUN_AFTER.match(sentence, mention.end):
        return False
    if _LOCATIVE_BEFORE.search(sentence[max(0, mention.start - 12) : mention.start]):
        return False  # "shelling in Lebanon forces thousands to flee": "forces" the verb
    code = geocoder.country_of(sentence[mention.start : mention.end])
    return code is not None and code not in context.countries[:1]


_LOCATIVE_BEFORE = re.compile(
    r"\b(?:in|into|across|near|from|at|to|inside|throughout)\s+(?:the\s+)?$", re.IGNORECASE
)
_FORCE_NOUN_AFTER = re.compile(
    r"\s+(?:service\s?(?:members?|men|women)|troops|soldiers|forces|marines|sailors|airmen|"
    r"personnel|commandos|warplanes|jets|drones|officials|diplomats|nationals|advis[eo]rs|"
    r"military|navy|air force|army)\b",
    re.IGNORECASE,
)
_NAMED_REGION_AFTER = re.compile(rf"\s+(?:{_REGION_WORDS})\b(?!\s+of\b)", re.IGNORECASE)
_REGION_WORD_AFTER = re.compile(rf"^\s+(?:{_REGION_WORDS}|state)\b", re.IGNORECASE)
_REGION_WORD_IN = re.compile(rf"(?:^\s+|\s)(?:{_REGION_WORDS}|state)\b", re.IGNORECASE)


def _called_regions(
    found: list[tuple[Mention, Place]], sentence: str, slots: dict[int, int], word_in_name: bool = False
) -> set[int]:
    """Starts of the region readings the text itself calls regions: "Ghazni province"
    (the word after the name, or with ``word_in_name`` also inside it), the last of a
    parenthesised list after a place ("Okpanam (Oshimili North, Delta)": the gazetteer
    knows every region but not every village, so such a region outweighs a town homonym
    elsewhere), or a single parenthesised name holding a town of the passage or after
    small towns only ("Dunda (Uttarakhand)"; not "Maiduguri (Mon)"). A big city holding a
    named area stands for its region ("the Soba area of Khartoum")."""
    towns = {(p.country_code, p.admin1) for _, p in found if p.kind == "city"}
    big_towns = any(p.kind == "city" and p.population >= MAJOR_CITY for _, p in found)
    called = set()
    for m, place in found:
        slot = slots.get(m.start, 0)  # see _hierarchy_slot
        if place.kind == "city" and place.population >= MAJOR_CITY and slot == HOLDING_TOWN:
            called.add(m.start)
        if place.kind not in REGION_KINDS:
            continue
        if (
            _REGION_WORD_IN.search(sentence[m.start : m.end + 20])
            if word_in_name
            else _REGION_WORD_AFTER.match(sentence[m.end : m.end + 20])
        ):
            called.add(m.start)
            continue
        if slot >= 2 or (slot == 1 and ((place.country_code, place.admin1) in towns or not big_towns)):
            called.add(m.start)
    return called


def _weight(place: Place, called_region: bool = False) -> int:
    """How much a place says about the country of a passage: a country or a region the
    text calls one ("Ghazni province") a lot, a big city much, a village little."""
    if place.kind in ("country", "continent"):
        return 4
    if place.kind in REGION_KINDS:
        return 4 if called_region else 3
    if place.population >= 100_000:
        return 3
    return 2 if place.population >= 10_000 else 1


def _consistent(
    found: list[tuple[Mention, Place]], sentence: str, slots: dict[int, int]
) -> list[tuple[Mention, Place]]:
    """A town named next to a region the text calls a province or region ("Andar district,
    Ghazni province", "Kumbo (Bui, Nord-Ouest)") must lie in that region; a homonym
    elsewhere is dropped."""
    called = _called_regions(found, sentence, slots, word_in_name=True)
    keys = {(p.country_code, p.admin1) for m, p in found if m.start in called}
    if not keys:
        return found
    return [
        (m, p)
        for m, p in found
        if m.start in called or p.kind not in ("city", *REGION_KINDS) or (p.country_code, p.admin1) in keys
    ]


def _agreeing(
    found: list[tuple[Mention, Place]], sentence: str, slots: dict[int, int]
) -> list[tuple[Mention, Place]]:
    """Drop places in a country that the rest of the passage outweighs ("Shakhta" read in
    Russia next to "Donetsk", Ukraine; "Roma" read as Rome in a passage about Dar'a):
    countries are weighed as in :func:`_weight`, and a country with less than half the
    leader's weight loses its places."""
    weights: Counter = Counter()
    regions = _called_regions(found, sentence, slots)
    for m, place in found:
        if place.country_code:
            weights[place.country_code] += _weight(place, m.start in regions)
    if len(weights) < 2:
        return found
    (leader, top), *_ = weights.most_common(1)
    return [
        (m, p) for m, p in found if p.country_code in (leader, None) or weights[p.country_code] * 2 >= top
    ]


def _best_place(places: list[tuple[Mention, Place]], sentence: str, trigger_start: int) -> Place | None:
    if not places:
        return None

    def rank(item: tuple[Mention, Place]) -> tuple:
        m, place = item
        prefixed = bool(_PLACE_PREPOSITION.search(sentence[max(0, m.start - 30) : m.start]))
        return (place.precision, not prefixed, abs(m.start - trigger_start))

    return min(places, key=rank)[1]


# --------------------------------------------------------------------------- main


def _find_triggers(
    clause_text: str,
    clause_mentions: list[Mention],
    rules: IncidentRules,
    has_context: bool,
    triggers: Sequence[Trigger] | None = None,
) -> dict[str, tuple[Trigger, int, int]]:
    """The best trigger per family in a clause: (trigger, start, end) relative to the clause.
    ``triggers``: those that can match in the sentence (all of them when not given)."""
    best: dict[str, tuple[Trigger, int, int]] = {}

    def consider(trigger: Trigger, start: int, end: int) -> None:
        if _ANAPHORA.search(clause_text[:start]):
            return
        current = best.get(trigger.family)
        if current is None or (_sub_event_rank(trigger), start) < (
            _sub_event_rank(current[0]),
            current[1],
        ):
            best[trigger.family] = (trigger, start, end)

    for trigger in rules.triggers if triggers is None else triggers:
        if trigger.needs_context and not has_context:
            continue
        for match in trigger.pattern.finditer(clause_text):
            consider(trigger, match.start(), match.end())
    weapons = [m for m in clause_mentions if m.label == "WEAPON" and m.category in WEAPON_SUB_EVENTS]
    if weapons:
        verbs = [
            v
            for v in _ATTACK_VERB.finditer(clause_text)
            # "80 pounds of explosives", "a 500-pound bomb": a weight, not pounding
            if not (
                v.group(0).lower().startswith("pound")
                and _NUMBER_JUST_BEFORE.search(clause_text, 0, v.start())
            )
        ]
        for weapon in weapons:
            near = [v for v in verbs if abs(v.start() - weapon.start) <= 80]
            if near:
                verb = min(near, key=lambda v: abs(v.start() - weapon.start))
                event_type, sub_event_type = WEAPON_SUB_EVENTS[weapon.category]
                consider(
                    Trigger("attack", event_type, sub_event_type, 3, False, _ATTACK_VERB),
                    verb.start(),
                    verb.end(),
                )
    if "threat" in best:
        threat_at = best["threat"][1]
        for family in ("attack", "posture", "strategic"):
            if family in best and best[family][1] > threat_at:
                del best[family]  # "warned that strikes would follow": the strikes are the threat
    return best


REMOTE_SUB_EVENTS = (
    "Shelling/artillery/missile attack",
    "Air/drone strike",
    "Grenade",
    "Remote explosive/landmine/IED",
)
INDIRECT_FIRE = ("Shelling/artillery/missile attack", "Grenade")


def refine(
    best: dict[str, tuple[Trigger, int, int]],
    clause_text: str,
    window: str,
    clause_mentions: list[Mention] = (),
) -> None:
    """Settle sub-event types the trigger word alone cannot decide, as ACLED codes them:

    - an unarmed crowd attacking ("locals pelted stones and clashed with police") is a
      Riot (a violent demonstration if it protests, else mob violence);
    - both sides firing ("exchanged fire", "clashes") is a Battle, also amid shelling or
      airstrikes (ACLED: the higher event type wins); direct fire with small arms at
      armed targets is a Battle even when mortars or grenades are fired too;
    - otherwise an attack on civilians ("opened fire on a vehicle", "two civilians were
      killed by militia fire") is Violence against civilians and one on armed targets
      (soldiers, positions, a checkpoint) a Battle; passives ("killed by X") are read
      from their subject;
    - a protest is with intervention when the police disperse or arrest protesters, a
      violent demonstration (Riots) when protesters throw stones or burn, and excessive
      force when protesters are killed; ``window`` is the sentence and the next one;
      arrests in a protest report are that intervention, not another event.
    """
    cues = _cues()
    if "attack" in best:
        trigger, start, end = best["attack"]
        sub = trigger.sub_event_type
        before = clause_text[:start]
        armed_subject = bool(cues["armed_target"].search(before[-100:])) or any(
            m.label == "MILITARY_UNIT" and m.end <= start for m in clause_mentions
        )
        small_arms = any(m.label == "WEAPON" and m.category == "small_arms" for m in clause_mentions)

        def become(event_type: str, sub_event_type: str, family: str = "attack") -> None:
            best.pop("attack")
            best[family] = (
                replace(trigger, family=family, event_type=event_type, sub_event_type=sub_event_type),
                start,
                end,
            )

        # monitors' counts: observed bursts and shots of small arms are an exchange of fire
        if (
            sub == "Shelling/artillery/missile attack"
            and re.match(r"(?i)observed|recorded|heard|registered", clause_text[start:end])
            and re.search(r"(?i)\b(?:shots|bursts|small[- ]arms|machine-?guns?)\b", clause_text)
        ):
            become("Battles", "Armed clash")
            return _refine_protest(best, window, cues)
        if sub in ("Armed clash", "Attack") or sub in REMOTE_SUB_EVENTS:
            if (
                cues["crowd_subject"].search(before[-100:])
                and not armed_subject
                and sub not in REMOTE_SUB_EVENTS[1:]
            ):
                if re.search(r"\b(?:protest|demonstrat|rall(?:y|ies)|march)", window, re.IGNORECASE):
                    become("Riots", "Violent demonstration", "riot")
                else:
                    become("Riots", "Mob violence", "riot")
            elif (cues["exchange"].search(clause_text) and sub != "Air/drone strike") or (
                sub in INDIRECT_FIRE and small_arms and target_class(clause_text, start, end, cues) == "armed"
            ):
                become("Battles", "Armed clash")
            elif sub in ("Armed clash", "Attack"):
                target = target_class(clause_text, start, end, cues)
                if target == "civilian" or (target is None and cues["civilian_victims"].search(clause_text)):
                    become("Violence against civilians", "Attack")
                elif target == "armed":
                    become("Battles", "Armed clash")
    _refine_protest(best, window, cues)


def _refine_protest(
    best: dict[str, tuple[Trigger, int, int]], window: str, cues: dict[str, re.Pattern[str]]
) -> None:
    if "protest" in best:
        trigger, start, end = best["protest"]
        if cues["protest_excessive"].search(window):
            trigger = replace(
                trigger, event_type="Protests", sub_event_type="Excessive force against protesters"
            )
        elif cues["protest_violent"].search(window):
            trigger = replace(
                trigger, family="riot", event_type="Riots", sub_event_type="Violent demonstration"
            )
        elif cues["protest_intervention"].search(window):
            trigger = replace(trigger, event_type="Protests", sub_event_type="Protest with intervention")
        best["protest"] = (trigger, start, end)
        best.pop("riot", None)
        if "strategic" in best and best["strategic"][0].sub_event_type == "Arrests":
            del best["strategic"]


def target_class(clause_text: str, start: int, end: int, cues: dict[str, re.Pattern[str]]) -> str | None:
    """Whom an attack hit: "civilian", "armed" or None. Read after the trigger, or, for a
    passive ("two civilians were killed", "was killed by militia fire"), before it. The
    trigger phrase may name the target itself ("attacked Jubaland security forces"), so
    the words after its first word are read."""
    head = re.match(r"[\w'’-]+", clause_text[start:end])
    end = start + head.end() if head else end
    after = clause_text[end : end + 90]
    before = clause_text[max(0, start - 80) : start]
    passive = bool(re.search(r"\b(?:was|were|been|being)\s+(?:\w+\s+)?$", before)) or bool(
        re.match(r"^\s*(?:[\w-]+\s+){0,2}?by\b", after)
    )
    found = []
    for kind in ("civilian", "armed"):
        for match in cues[f"{kind}_target"].finditer(before if passive else after):
            found.append((match.start(), kind))
    if not found:
        return None
    return (max(found) if passive else min(found))[1]


@lru_cache(maxsize=1)
def _cues() -> dict[str, re.Pattern[str]]:
    # target nouns are matched in lower case ("people", not "People's Militia")
    case_sensitive = ("civilian_target", "armed_target", "crowd_subject")
    return {
        name: re.compile(rf"\b(?:{pattern})\b", 0 if name in case_sensitive else re.IGNORECASE)
        for name, pattern in event_cues().items()
    }


def _incidents_for_sentence(
    row: dict,
    mentions: list[Mention],
    context: DocumentContext,
    rules: IncidentRules,
    geocoder: Geocoder,
    unit_countries: dict[str, str],
    window: str = "",
    triggers: Sequence[Trigger] | None = None,
) -> list[dict]:
    sentence: str = row["text"]
    mentions = sorted(mentions + lexicon_mentions(sentence, mentions), key=lambda m: m.start)
    places = context.found.get(row["position"])
    if places is None:
        places = _sentence_places(sentence, mentions, context, geocoder)
    results: list[dict] = []
    # "KABUL, Afghanistan (Jan. 2) - ...": the dateline's city files the report, it acts in nothing
    dateline = dateline_end(sentence)
    after_dateline = [m for m in mentions if m.start >= dateline]
    clauses = _clauses(sentence)
    # the context words matter only to triggers that need them (the search is a long
    # IGNORECASE alternation: skipped where no such trigger can match)
    needs_context = any(t.needs_context for t in (rules.triggers if triggers is None else triggers))
    deaths: dict[str, int | None] = {}  # text -> deaths it states (each family asks again)

    def deaths_in(text: str) -> int | None:
        if text not in deaths:
            deaths[text] = find_fatalities(text)[0]
        return deaths[text]

    for clause in clauses:
        lo, hi = clause
        clause_text = sentence[lo:hi]
        clause_mentions = [
            Mention(m.start - lo, m.end - lo, m.label, m.text, m.name, m.category)
            for m in mentions
            if lo <= m.start < hi
        ]
        has_context = needs_context and (
            bool(rules.context.search(clause_text))
            or any(m.label in ("WEAPON", "MILITARY_UNIT") for m in clause_mentions)
        )
        best = _find_triggers(clause_text, clause_mentions, rules, has_context, triggers)
        refine(best, clause_text, window or sentence, clause_mentions)
        for family in FAMILY_ORDER:
            if family not in best:
                continue
            trigger, m_start, m_end = best[family]
            t_start, t_end = lo + m_start, lo + m_end
            before = sentence[lo:t_start]
            if family == "threat":
                modality = "threatened"
            elif _NEGATION.search(before[-40:]):
                modality = "denied"
            elif _HYPOTHETICAL.search(before[-60:]) or _MODAL_BEFORE.search(before[-40:]):
                modality = "hypothetical"
            else:
                modality = "asserted"
            actor1_m, actor2_m = find_roles(
                sentence, after_dateline, (t_start, t_end), clause, family, geocoder
            )
            actor1 = actor_name(actor1_m, sentence, family, geocoder, unit_countries) if actor1_m else None
            actor2 = actor_name(actor2_m, sentence, family, geocoder, unit_countries) if actor2_m else None

            if family == "threat":
                # where a threat was made, not what it was about: only "In Moscow, X warned ..."
                limit = actor1_m.start if actor1_m is not None and actor1_m.start < t_start else t_start
                usable = [
                    p
                    for p in places
                    if p[0].start < limit
                    and re.search(
                        r"\b(?:in|from|at)\s+(?:the\s+)?$",
                        sentence[max(0, p[0].start - 12) : p[0].start],
                        re.IGNORECASE,
                    )
                ]
                place = _best_place(usable, sentence, t_start)
            else:
                place = _best_place([p for p in places if lo <= p[0].start < hi] or places, sentence, t_start)
            place_in_sentence = place is not None
            if place is None and family != "threat":
                place = (
                    context.place_before(row["position"])
                    or context.main_region(row["position"], geocoder)
                    or context.dateline_region(sentence, geocoder)
                )
                if place is None and context.countries:
                    place = geocoder.geocode(geocoder.country_name(context.countries[0]) or "", ())
            if place_in_sentence and place is not None and place.kind == "country" and family != "threat":
                # "... killed in southern Afghanistan. In Helmand province, ...": the detail's region
                place = context.place_after(row["position"], place.country_code or "", geocoder) or place
            country_name = geocoder.country_name(place.country_code) if place else None
            if actor2 is None:
                victims = _victims(sentence, t_end, hi, family)
                if victims:
                    actor2 = f"{victims} ({country_name})" if country_name else victims
            if actor1 is None and family == "attack" and _UNKNOWN_ATTACKERS.search(clause_text):
                actor1 = (
                    f"Unidentified Armed Group ({country_name})"
                    if country_name
                    else "Unidentified Armed Group"
                )

            mention = pick_date(
                context.stated_dates(row["position"]), context.published, near=t_start - dateline
            )
            carried = context.date_before(row["position"]) if mention is None else None
            if mention is not None:
                event_date, precision, date_text = mention.value, mention.precision, mention.text
            elif carried is not None:
                event_date, precision, date_text = carried.value, carried.precision, carried.text
            elif context.published is not None:
                event_date, precision, date_text = context.published, "publication", None
            else:
                event_date = precision = date_text = None

            fatalities = None
            if family in VIOLENT_FAMILIES and modality == "asserted":
                fatalities = deaths_in(clause_text)
                if fatalities is None and len(clauses) > 1:
                    fatalities = deaths_in(sentence)
            detained = (
                find_detained(clause_text)
                if trigger.sub_event_type == "Arrests" and modality == "asserted"
                else None
            )
            weapons = sorted({m.name for m in clause_mentions if m.label == "WEAPON"})

            confidence = 0.45 if trigger.specificity <= 2 else 0.6
            confidence += 0.15 if actor1 else 0.0
            confidence += 0.05 if actor2 else 0.0
            confidence += 0.1 if place_in_sentence else (0.03 if place else 0.0)
            confidence += 0.05 if mention is not None and mention.value is not None else 0.0
            confidence += 0.05 if weapons and family == "attack" else 0.0
            confidence -= 0.1 if modality in ("hypothetical", "denied") else 0.0
            results.append(
                {
                    "incident_id": f"{row['sentence_id']}:{len(results)}",
                    "doc_id": row["doc_id"],
                    "sentence_id": row["sentence_id"],
                    "char_start": row["char_start"] + t_start,
                    "char_end": row["char_start"] + t_end,
                    "trigger": sentence[t_start:t_end],
                    "event_type": trigger.event_type,
                    "sub_event_type": trigger.sub_event_type,
                    "modality": modality,
                    "actor1": actor1,
                    "actor2": actor2,
                    "location": place.name if place else None,
                    "admin1": place.admin1 if place else None,
                    "country": country_name,
                    "country_code": place.country_code if place else None,
                    "latitude": place.latitude if place else None,
                    "longitude": place.longitude if place else None,
                    "geo_precision": place.precision if place else None,
                    "event_date": event_date,
                    "date_precision": precision,
                    "date_text": date_text,
                    "fatalities": fatalities,
                    "detained": detained,
                    "weapons": weapons,
                    "confidence": round(max(0.05, min(0.95, confidence)), 2),
                }
            )
    return results


def is_modifier(sentence: str, mention: Mention) -> bool:
    """ "US dollar", "US-backed", "Britain-based": a name modifying a noun, not a party or
    a place of the event."""
    following = sentence[mention.end : mention.end + 12]
    return bool(
        re.match(
            r"^(?:-(?:based|backed|led|made|supplied|funded|owned)|\s(?:dollars?|currency|exchange|embassy|consulate|passport|citizens?)\b)",
            following,
        )
    )


def _document_contexts(
    documents: pl.DataFrame,
    entities_by_doc: dict[str, list[tuple[int, str, str, str, bool]]],
    geocoder: Geocoder,
    unit_countries: dict[str, str],
) -> dict[str, DocumentContext]:
    """Per document: publication date and the countries it is about, most mentioned
    first (countries, nationalities, big cities, and the home countries of armed forces
    and groups named: "Houthi forces" -> Yemen)."""
    contexts = {}
    for doc_id, published in zip(documents["doc_id"], documents["published_at"], strict=True):
        counts: Counter = Counter()
        places: Counter = Counter()  # the same without the home countries of forces
        for _, label, text, name, modifier in entities_by_doc.get(doc_id, ()):
            if modifier:
                continue
            mention = Mention(0, 0, label, text, name)
            code = _country_of_mention(mention, geocoder)
            if code is None and label == "GPE" and name.lower() not in _GENERIC_REGION_WORDS:
                place = geocoder.geocode(name)
                # a big city abroad read from a spelling variant says little of what the
                # document is about ("Katasana" near Kabul is not Katsina, Nigeria)
                big = place is not None and place.population >= MAJOR_CITY and not place.spelled_alike
                code = place.country_code if big else None
            if code:
                places[code] += 1
            if code is None and label in ("MILITARY_UNIT", "ORG"):
                code = unit_countries.get(name)
            if code:
                counts[code] += 1
        contexts[doc_id] = DocumentContext(
            published=published.date() if published is not None else None,
            countries=[code for code, _ in counts.most_common()],
            settled_countries=[code for code, n in places.most_common() if n >= SETTLED_MENTIONS],
        )
    return contexts


def detect_incidents(
    sentences: pl.DataFrame,
    entities: pl.DataFrame,
    documents: pl.DataFrame,
    *,
    rules: IncidentRules,
    geocoder: Geocoder,
    unit_countries: dict[str, str] | None = None,
) -> pl.DataFrame:
    """Sentences, entities and documents (``doc_id``, ``published_at``) -> ``incidents``."""
    unit_countries = unit_countries or {}
    candidates = sentences.filter(pl.col("text").str.contains(rules.prefilter)).sort("doc_id", "position")
    # headlines (the title paragraph, title-case lines) repeat what the body says: use them
    # only for documents whose candidates are all headlines
    headline = candidates.select(headline=(pl.col("paragraph") == 0) | headline_expr(pl.col("text")))[
        "headline"
    ]
    body_docs = candidates.filter(~headline)["doc_id"].unique().implode()
    candidates = candidates.filter(~(headline & pl.col("doc_id").is_in(body_docs)))
    if candidates.is_empty():
        return conform(pl.DataFrame(schema=INCIDENTS), INCIDENTS)
    candidate_docs = candidates["doc_id"].unique()
    doc_entities = entities.filter(pl.col("doc_id").is_in(candidate_docs.implode())).join(
        sentences.select("sentence_id", sentence_start="char_start", position="position"),
        on="sentence_id",
    )
    weapons = weapon_categories()
    doc_sentences = sentences.filter(pl.col("doc_id").is_in(candidate_docs.implode()))
    sentence_texts = dict(zip(doc_sentences["sentence_id"], doc_sentences["text"], strict=True))
    by_sentence: dict[str, list[Mention]] = {}
    by_doc: dict[str, list[tuple[int, str, str, str]]] = {}
    columns = (
        "doc_id",
        "sentence_id",
        "position",
        "sentence_start",
        "char_start",
        "char_end",
        "label",
        "text",
        "normalized_name",
    )
    for doc_id, sentence_id, position, offset, start, end, label, text, name in (
        doc_entities.sort("doc_id", "char_start").select(columns).iter_rows()
    ):
        mention = Mention(
            start - offset,
            end - offset,
            label,
            text,
            name,
            weapons.get(text.lower()) if label == "WEAPON" else None,
        )
        by_sentence.setdefault(sentence_id, []).append(mention)
        if label in ("GPE", "NORP", "MILITARY_UNIT", "ORG"):  # the labels that can name a country
            modifier = is_modifier(sentence_texts.get(sentence_id, ""), mention)
            by_doc.setdefault(doc_id, []).append((position, label, text, name, modifier))
    contexts = _document_contexts(
        documents.filter(pl.col("doc_id").is_in(candidate_docs.implode())), by_doc, geocoder, unit_countries
    )
    # forces named in any sentence of these documents (the dates each states are read when a
    # candidate asks: DocumentContext.date_before); only sentences holding one of the phrases
    # (one Aho-Corasick pass in polars) can match the phrase regex, which is slow over many
    # alternatives
    affiliations, affiliation_country = affiliation_pattern()
    last_candidate = dict(candidates.group_by("doc_id").agg(pl.col("position").max()).rows())
    rows_of_sentences = doc_sentences.select(
        "doc_id",
        "position",
        "sentence_id",
        "text",
        named=pl.col("text").str.contains_any(list(affiliation_country)),
    ).rows()
    for doc_id, position, _, text, named in rows_of_sentences:
        context = contexts[doc_id]
        context.texts[position] = text
        if named:
            for match in affiliations.finditer(text):
                context.affiliations[affiliation_country[match.group(0)]] += 1
    for context in contexts.values():
        # countries named (or whose forces and missions are named)
        mentioned = Counter(context.countries) + context.affiliations
        context.countries = [c for c, _ in mentioned.most_common()]
        context.named_countries = list(context.countries)
    # places of the sentences that can locate an incident: its own, the few after it and
    # all before it (the document's main region)
    for doc_id, position, sentence_id, text, _ in rows_of_sentences:
        if position <= last_candidate[doc_id] + DETAIL_PLACE_SENTENCES:
            context = contexts[doc_id]
            found = _sentence_places(text, by_sentence.get(sentence_id, []), context, geocoder)
            context.found[position] = found
            # regions named so far prefer their homonyms in the sentences that follow
            context.named_regions.update((p.country_code, p.admin1) for _, p in found if p.kind == "admin1")
    for context in contexts.values():
        # countries of the places found come first: they are where things happened
        placed = Counter(
            p.country_code for found in context.found.values() for _, p in found if p.country_code
        )
        context.countries = [c for c, _ in placed.most_common()] + [
            c for c in context.countries if c not in placed
        ]

    # which triggers can match in each candidate (one vectorised pass per trigger): the
    # rules below then try only those
    can_match = candidates.select(
        pl.col("text").str.contains(trigger.polars_pattern).alias(str(number))
        for number, trigger in enumerate(rules.triggers)
    ).rows()
    rows: list[dict] = []
    for row, matches in zip(candidates.iter_rows(named=True), can_match, strict=True):
        context = contexts[row["doc_id"]]
        window = f"{row['text']} {context.texts.get(row['position'] + 1, '')}"
        rows.extend(
            _incidents_for_sentence(
                row,
                by_sentence.get(row["sentence_id"], []),
                context,
                rules,
                geocoder,
                unit_countries,
                window,
                [trigger for trigger, match in zip(rules.triggers, matches, strict=True) if match],
            )
        )
    rows = _without_idle_warnings(rows, sentence_texts, by_sentence, rules, geocoder)
    rows = _without_sports_metaphors(rows, doc_sentences, sentence_texts)
    rows = _without_filming(rows, sentence_texts)
    rows = _protests_by_outcome(rows)
    if not rows:
        return conform(pl.DataFrame(schema=INCIDENTS), INCIDENTS)
    return conform(pl.DataFrame(rows, schema=INCIDENTS, strict=False), INCIDENTS)


# film production in the sentence ("the actor hoped to start shooting", "location shooting")
_PRODUCTION = re.compile(
    r"\b(?:films?|filming|filmed|movies?|sequel|documentar(?:y|ies)|actors?|actress(?:es)?|"
    r"box office|premiered?|principal photography|location shooting|cinemas?)\b",
    re.IGNORECASE,
)
# what was shot is a film: "shooting video", "footage was shot", "a video purportedly shot in"
_FILM_OBJECT = re.compile(
    r"\b(?:shoot(?:ing)?|shot) (?:\w+ ){0,2}?(?:video|footage|films?|movies?|scenes|pictures|photos|"
    r"photographs|episodes?)\b",
    re.IGNORECASE,
)
_FILMED = re.compile(
    r"\b(?:footage|films?|movies?|videos?|scenes?|episodes?|series|documentar(?:y|ies)|version|sequel|"
    r"pictures?|photos?)\b(?:[\s,]+\w+){0,4}?\s+shot\b",
    re.IGNORECASE,
)
# never filming: "shot down", "shot at", "shot in the thigh", "the shooting took place"
_NOT_FILMING = re.compile(
    r"\bshot (?:down|at|dead|and|by)\b|\bshooting (?:at|of)\b|"
    r"\bshot in the (?:\w+ )?(?:thigh|legs?|arms?|chest|head|back|neck|stomach|foot|feet|face|shoulder)\b|"
    r"\b(?:the|a) shooting (?:took place|happened|occurred|broke out)\b",
    re.IGNORECASE,
)
_HARM = re.compile(
    r"\b(?:kill\w*|dead|death|died|dies|wounded|injur\w*|gun\w*|police|bullets?|victims?|murder\w*|"
    r"attack\w*|stabbed|hospital\w*|security|assailants?|fled)\b",
    re.IGNORECASE,
)


def _without_filming(rows: list[dict], sentence_texts: dict[str, str]) -> list[dict]:
    """A shot or shooting that is filming is no event: what was shot is a film ("Principal
    footage was shot in Morocco", "keen to start shooting video"), or the sentence speaks of
    film production and of no harm ("the actor hoped to start shooting Racing The Monsoon
    next year"). Never "shot down", "shot at", "shot in the thigh outside the studios", nor
    "a journalist was shot outside a TV station"."""

    def filming(r: dict) -> bool:
        trigger = (r["trigger"] or "").lower()
        if "shot" not in trigger and "shooting" not in trigger:
            return False
        sentence = sentence_texts.get(r["sentence_id"], "")
        if _NOT_FILMING.search(sentence):
            return False
        if _FILM_OBJECT.search(sentence) or _FILMED.search(sentence):
            return True
        return bool(_PRODUCTION.search(sentence)) and not _HARM.search(sentence)

    return [r for r in rows if not filming(r)]


PROTEST_OUTCOME_SENTENCES = 2  # how far after a protest its outcome is still read as its own
_PROTEST_OUTCOMES = ("Protest with intervention", "Excessive force against protesters")


def _protests_by_outcome(rows: list[dict]) -> list[dict]:
    """A peaceful protest followed within two sentences, in the same place, by the police
    stepping in ("14 protesters were arrested by the police", "Police intervened ...,
    detaining 2 protesters") is coded by that outcome, as ACLED codes the event as a whole: "Protest
    with intervention" (or "Excessive force against protesters"). Arrests alone do not
    count: a protest is often about someone's arrest."""
    outcomes: dict[str, list[dict]] = {}
    for r in rows:
        if r["modality"] == "asserted" and r["sub_event_type"] in _PROTEST_OUTCOMES:
            outcomes.setdefault(r["doc_id"], []).append(r)
    if not outcomes:
        return rows
    for r in rows:
        if r["sub_event_type"] != "Peaceful protest" or r["modality"] != "asserted":
            continue
        here = _position(r["sentence_id"])
        later = [
            (_position(o["sentence_id"]), o["sub_event_type"])
            for o in outcomes.get(r["doc_id"], ())
            if here < _position(o["sentence_id"]) <= here + PROTEST_OUTCOME_SENTENCES and _same_place(o, r)
        ]
        if later:
            r["sub_event_type"] = min(later)[1]
    return rows


def _same_place(a: dict, b: dict) -> bool:
    """Two incidents in one country, and in one region where both name one."""
    return a["country_code"] == b["country_code"] and (
        a["admin1"] is None or b["admin1"] is None or a["admin1"] == b["admin1"]
    )


def _position(sentence_id: str) -> int:
    """A sentence's position in its document (``sentence_id`` is ``doc_id:position``)."""
    return int(sentence_id.rsplit(":", 1)[1])


# the words of conflict that sports reports use for play: "a low shot", "Chelsea's clash with
# Barcelona", "threatened the defence", "stormed to victory", "lodge a protest"
_SPORTS_METAPHORS = frozenset(
    """shot shots shootout snap-shot clash clashes clashed attack attacks attacked attacking
    threat threats threaten threatens threatened threatening struck blast blasted battle battles
    battled fought fight fights fighting protest protests protested against demonstrated stormed
    beat beating beaten offensive bombarded skirmish skirmishes fired firing war raid""".split()
)


# armed actors: what makes "attacked" or "fired on" in a report on sport an attack
_ARMED_ACTORS = re.compile(
    r"\b(?:troops?|soldiers?|army|military|militants?|rebels?|insurgents?|gunm[ae]n|fighters|militias?|"
    r"militiamen|jihadists?|terrorists?|armed|guerrillas?|paramilitar(?:y|ies)|police(?:men)?|"
    r"security forces|bandits|attackers|assailants|separatists?|bombers?)\b",
    re.IGNORECASE,
)
_CROWD = re.compile(
    r"\b(?:fans|supporters|crowds?|hundreds|thousands|dozens|residents|people|protesters)\b", re.IGNORECASE
)


def _without_sports_metaphors(
    rows: list[dict], doc_sentences: pl.DataFrame, sentence_texts: dict[str, str]
) -> list[dict]:
    """In a sports report (``is_sports_text``), a shot, clash, attack, threat or protest
    is play, not an event ("Rooney met Neville's cross with a low shot", "Chelsea's clash
    with Barcelona"), unless it states deaths (even none), names weapons, or its sentence
    names armed actors ("rebels attacked the bus carrying the football team") or, for a
    protest, a crowd ("fans protested outside the stadium").
    Arrests, stabbings and riots by fans stay."""

    def metaphor(r: dict) -> bool:
        first = r["trigger"].split(maxsplit=1)[0].lower() if r["trigger"] else ""
        sentence = sentence_texts.get(r["sentence_id"], "")
        return (
            first in _SPORTS_METAPHORS
            and r["fatalities"] is None
            and not r["weapons"]
            and not _ARMED_ACTORS.search(sentence)
            and not (r["event_type"] == "Protests" and _CROWD.search(sentence))
        )

    metaphors = [metaphor(r) for r in rows]
    docs = {r["doc_id"] for r, played in zip(rows, metaphors, strict=True) if played}
    if not docs:
        return rows
    documents = (
        doc_sentences.filter(pl.col("doc_id").is_in(list(docs)))
        .group_by("doc_id")
        .agg(pl.col("text").str.join(" "))
    )
    sports = {doc_id for doc_id, text in documents.iter_rows() if is_sports_text(text)}
    return [r for r, played in zip(rows, metaphors, strict=True) if not (played and r["doc_id"] in sports)]


_BARE_WARNING = re.compile(
    r"(?i)warn(?:ed|s|ing)?|threat(?:en|ens|ened|ening|s)?|(?:would|will|could) (?:strike|attack|target|retaliate|hit)"
)


# what makes a warning a threat of armed force, beyond the context words of the lexicon
_ARMED_THREAT = re.compile(
    r"\b(?:missiles?|rockets?|nuclear|air ?strikes?|bomb(?:s|ing|ings)?|invasion|invade|"
    r"retaliat\w*|revenge|legitimate targets?|immunity|ultimatum|hostilities|military action)\b",
    re.IGNORECASE,
)


def _state_speaks(sentence: str, actor: str | None, geocoder: Geocoder) -> bool:
    """Whether the sentence opens with a state as its speaker ("Iran threatened to close the
    Strait of Hormuz"; not "Sri Lanka's banks face hard times, officials warned")."""
    return bool(
        actor
        and geocoder.country_of(actor)
        and re.match(rf"(?i:the\s+)?{re.escape(actor)}\b(?!['’]s)", sentence.strip())
    )


def _without_idle_warnings(
    rows: list[dict],
    sentence_texts: dict[str, str],
    mentions: dict[str, list[Mention]],
    rules: IncidentRules,
    geocoder: Geocoder,
) -> list[dict]:
    """A bare "warned" or "threat" is a threat in a report of armed conflict (one with an
    asserted battle, explosion or violence against civilians), where its own sentence
    speaks of arms, forces or retaliation, names an armed group or force, or where a state
    speaks ("Iran threatened to close the Strait of Hormuz"); not "analysts warned that
    growth may slow" or "a profit warning" in business news, nor "the figure could hit
    150,000". Threat phrases ("vowed to retaliate", "would face consequences") stand
    anywhere."""
    conflict = {
        r["doc_id"] for r in rows if r["event_type"] in CONFLICT_EVENT_TYPES and r["modality"] == "asserted"
    }

    def armed(r: dict) -> bool:
        text = sentence_texts.get(r["sentence_id"], "")
        return bool(
            rules.context.search(text)
            or _ARMED_THREAT.search(text)
            or any(m.label in ("MILITARY_UNIT", "WEAPON") for m in mentions.get(r["sentence_id"], ()))
            or _state_speaks(text, r["actor1"], geocoder)
        )

    return [
        r
        for r in rows
        if r["event_type"] != "Threats"
        or r["doc_id"] in conflict
        or not _BARE_WARNING.fullmatch(r["trigger"] or "")
        or armed(r)
    ]
