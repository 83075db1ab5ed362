"""Place names -> coordinates, admin1 and country, offline, from the gazetteer.

Candidates for a name are ranked by: the kind the text asks for ("Kursk region" wants an
admin1, "the Baltic Sea" a natural feature), membership of the countries the document is
about, whether the name is the place's primary name, then population. Precision follows
ACLED's spirit: 1 a named town or village, 3 a region (admin1) or natural feature, 4 a
country; 2 is used for places given as "near"/"outside" a town.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from functools import lru_cache

import polars as pl

from transforms.resources import place_key

# First-level divisions ("Kandahar province"): the name is looked up as a region.
ADMIN_WORDS = (
    "region", "province", "oblast", "governorate", "state", "prefecture", "territory",
    "department", "krai", "republic", "emirate", "provinces", "regions",
)  # fmt: skip
# Lower divisions ("Maiwand district") are named after their main town, which is the
# best the gazetteer (towns and first-level regions) can give for them.
SUBDIVISION_WORDS = (
    "district",
    "county",
    "municipality",
    "subdistrict",
    "subdivision",
    "division",
    "sub-district",
    "commune",
    "lga",
    "rayon",
    "raion",
)
_ADMIN_SUFFIX = re.compile(rf"\s+(?:{'|'.join(ADMIN_WORDS)})$", re.IGNORECASE)
_CITY_SUFFIX = re.compile(
    rf"\s+(?:city|town|village|camp|area|outskirts|suburb|{'|'.join(SUBDIVISION_WORDS)})$", re.IGNORECASE
)
# a facility named after its town ("Donetsk Airport", "Hama Airbase") is near that town
_FACILITY_SUFFIX = re.compile(
    r"\s+(?:international\s+)?(?:airport|air\s?base|(?:military|naval)\s+base|(?:railway|train|bus|power|"
    r"filtration|pumping)\s+station|prison|dam|refinery)$",
    re.IGNORECASE,
)
_SUBDIVISION_SUFFIX = re.compile(rf"\s+(?:{'|'.join(SUBDIVISION_WORDS)})$", re.IGNORECASE)
# "Northern Iraq", "the southern Kandahar": a compass word before a name
COMPASS_PREFIX = re.compile(
    r"^(?:the\s+)?(?:north|south|east|west|central|(?:north|south)-?(?:east|west))(?:ern)?\s+(?=\w)",
    re.IGNORECASE,
)
_POSSESSIVE = re.compile(r"^(?P<owner>[\w .'-]+?)'s\s+(?P<place>.+)$")

PRECISION = {"city": 1, "admin1": 3, "admin2": 3, "natural": 3, "country": 4, "continent": 4}
REGION_KINDS = ("admin1", "admin2")
MAJOR_CITY = 100_000
TOWN = 10_000  # below this a populated place is a village
_ARTICLE_END = re.compile(r"\s(?i:al|el|an|ar|as|ad|az|ez|ash|at)$")
_ARTICLE = re.compile(r"^(?:al|as|ad|ar|an|at|az|ash|adh|ath) (?=\w{5})")
_COMPASS = {
    "sud": "South",
    "nord": "North",
    "est": "East",
    "ouest": "West",
    "extreme": "Far",
    "extrême": "Far",
}
# Countries whose place names carry the Arabic article (al-, as-, ash- ...)
ARABIC_NAMES = frozenset(
    "AE AF BH DJ DZ EG EH IL IQ IR JO KM KW LB LY MA MR OM PS QA SA SD SO SY TD TN YE".split()
)


@dataclass(frozen=True)
class Place:
    name: str
    kind: str
    admin1: str | None
    country_code: str | None
    latitude: float | None
    longitude: float | None
    population: int
    precision: int
    spelled_alike: bool = False  # read from a spelling variant of its name ("Nabatiyeh")


class Geocoder:
    """Lookup of place names in a gazetteer (see resources.load_gazetteer)."""

    def __init__(self, places: pl.DataFrame, names: pl.DataFrame, country_names: dict[str, str]):
        self.country_names = country_names
        rows = {row["place_id"]: row for row in places.iter_rows(named=True)}
        self._by_key: dict[str, list[tuple[bool, dict]]] = {}
        self._by_skeleton: dict[str, list[tuple[bool, dict]]] | None = None
        for key, place_id, is_primary in names.iter_rows():
            place = rows.get(place_id)
            if place is not None:
                self._by_key.setdefault(key, []).append((is_primary, place))
        # "Qamishli" for "Al Qamishli", "Sulaymaniyah" for "As Sulaymaniyah": Arabic names
        # are written with and without the article; the bare form is added only where it
        # names nothing else
        bare: dict[str, list[tuple[bool, dict]]] = {}
        for key, entries in self._by_key.items():
            article = _ARTICLE.match(key)
            if article and key[article.end() :] not in self._by_key:
                arabic = [(False, place) for _, place in entries if place["country_code"] in ARABIC_NAMES]
                if arabic:
                    bare.setdefault(key[article.end() :], []).extend(arabic)
        self._by_key.update(bare)
        self._bare_keys = set(bare)

    def candidates(self, key: str) -> list[tuple[bool, dict]]:
        return self._by_key.get(key, [])

    def knows_major(self, text: str) -> bool:
        """Whether the name, as written (no spelling variant read), is a country, a
        first-level region, a natural region or a city of 100,000 people or more: what a
        loose phrase may take for a place ("In Iraq", "west Aleppo", "eastern Ghouta"; not
        "In Tears of the Sun", "the southern Front", Italy, nor "a western Union office",
        the counties named Union)."""
        return any(
            place["kind"] in ("country", "admin1", "natural")
            or (place["kind"] == "city" and (place["population"] or 0) >= MAJOR_CITY)
            for _, place in self.candidates(place_key(_clean(text)))
        )

    def sound_alike(self, key: str, countries: Iterable[str]) -> list[tuple[bool, dict]]:
        """Places in the given countries whose name is spelled differently but
        transliterates alike ("Nabatiyeh" / "Nabatieh", "Wassit" / "Wasit")."""
        wanted = set(countries)
        if not wanted or len(key) < 5:
            return []
        if self._by_skeleton is None:
            index: dict[str, list[tuple[bool, dict]]] = {}
            for name_key, entries in self._by_key.items():
                for is_primary, place in entries:
                    if (is_primary or name_key in self._bare_keys) and (
                        place["kind"] != "city" or (place["population"] or 0) >= 1000
                    ):
                        index.setdefault(skeleton(name_key), []).append((is_primary, place))
            self._by_skeleton = index
        folded = skeleton(key)
        return [
            item
            for item in self._by_skeleton.get(folded, [])
            if item[1]["country_code"] in wanted
            # two consonants say little: "Bocachica" is not "Boyaca"; "Raqqa" is "Raqqah"
            and (len(folded.replace(" ", "")) >= 3 or _alike(key, item[1]["name"]))
        ]

    def sound_alike_anywhere(self, key: str, region: bool = False) -> list[tuple[bool, dict]]:
        """Without a country to look in: sound-alike regions and cities of 100,000 people
        or more (with ``region``, regions of any size: the text called it a province), when
        they all lie in one country ("Quamishli" / "Al Qamishli", "Nimroz province" /
        Nimruz)."""
        if len(skeleton(key).replace(" ", "")) < (3 if region else 4):
            return []  # "Khaldeh" ~ "Kolda": three consonants say too little of a town
        self.sound_alike(key, ("",))  # builds the index
        assert self._by_skeleton is not None
        major = [
            item
            for item in self._by_skeleton.get(skeleton(key), [])
            if (
                (item[1]["kind"] in REGION_KINDS and region)
                or (item[1]["kind"] in ("admin1", "city") and (item[1]["population"] or 0) >= MAJOR_CITY)
            )
            # spelled nearly alike too: "Taksim" is not "Tokushima"
            and _alike(key, item[1]["name"])
        ]
        return major if len({place["country_code"] for _, place in major}) == 1 else []

    def country_of(self, text: str) -> str | None:
        """ISO2 code when the text names a country."""
        for _, place in self.candidates(place_key(_clean(text))):
            if place["kind"] == "country":
                return place["country_code"]
        return None

    def geocode(
        self,
        text: str,
        context_countries: Iterable[str] = (),
        near: bool = False,
        hints: Iterable[str] = (),
        region: bool = False,
        regions: Collection[tuple[str, str]] = (),
    ) -> Place | None:
        """The best place for the text, or None.

        ``region`` says the text stands where a region is written: last in a parenthesised
        hierarchy after a place ("Okpanam (Oshimili North, Delta)"), so a region or country
        of that name beats a town of it (Delta State, Nigeria, not Delta, Canada).

        ``hints`` are the other place names of the same passage ("Kumbo (Bui, Nord-Ouest)"):
        a candidate whose region is one of them is preferred, which resolves most homonyms
        with the admin hierarchy the text itself gives; one whose country is one of them is
        preferred after the passage's own countries ("Russia and the United States" does not
        make Russia a village in Ohio).

        ``regions`` are the (country code, admin1) regions the document named before: among
        otherwise equal homonyms ("Qarah Bagh" after "Qarah Bagh district, Ghazni
        province"), the one in such a region is preferred.
        """
        cleaned = _clean(text)
        context = list(context_countries)
        owner_country: str | None = None
        owner_town: Place | None = None
        possessive = _POSSESSIVE.match(cleaned)
        if possessive:
            owner = possessive.group("owner")
            owner_country = self.country_of(owner)
            if owner_country is None and self.candidates(place_key(owner)):
                # "Beirut's Hamra district": a quarter of the town, in the town's country (a
                # town known by that very name, big or in the text's countries: not
                # "Hamas's Gaza" read as Hamm, Germany)
                town = self.geocode(owner, context)
                if (
                    town is not None
                    and town.kind == "city"
                    and (town.population >= MAJOR_CITY or town.country_code in context)
                ):
                    owner_town = replace(town, precision=2)
                    owner_country = town.country_code
            cleaned = possessive.group("place")
        wants = None
        if _ADMIN_SUFFIX.search(cleaned):
            wants = "admin1"
            cleaned = _ADMIN_SUFFIX.sub("", cleaned)
        elif _CITY_SUFFIX.search(cleaned):
            wants = "city"
            cleaned = _CITY_SUFFIX.sub("", cleaned)
        elif _FACILITY_SUFFIX.search(cleaned):
            wants, near = "city", True
            cleaned = _FACILITY_SUFFIX.sub("", cleaned)
        key = place_key(cleaned)
        if not key:
            return None
        # a second-level division is read as one only where the text writes a region
        # ("Mentao (Pobe-Mengao, Soum)", "Soum province", "Tuban district")
        divisions = region or wants == "admin1" or bool(_SUBDIVISION_SUFFIX.search(text))
        found = self.candidates(key)
        if not divisions:
            found = [item for item in found if item[1]["kind"] != "admin2"]
        if not found and key.startswith(("al ", "el ", "ar ", "as ", "ad ", "an ")):
            # "Ar-Raqqa" is Ar Raqqah; but "Al Mashhad" is not Mashhad, Iran, a name without
            # the article, unless the text is about Iran
            found = [
                item
                for item in self.candidates(key[3:])
                if not context
                or item[1]["country_code"] in context
                or _ARTICLE.match(place_key(item[1]["name"]))
            ]
        if not found and key.endswith("s"):
            # "Syrias second city": a possessive that lost its apostrophe names the country
            found = [item for item in self.candidates(key[:-1]) if item[1]["kind"] == "country"]
        spelled_alike = not found  # what is found from here on is spelled otherwise
        if not found:
            found = [
                item
                for item in self.sound_alike(key, [owner_country] if owner_country else context[:2])
                if divisions or item[1]["kind"] != "admin2"
            ]
        if not found and not context and not owner_country and len(key) >= 6:
            found = self.sound_alike_anywhere(key, region=region or wants == "admin1")
        if not found:
            return self._compound(cleaned, context, near, hints, region) or owner_town
        preferred = [owner_country] if owner_country else context
        hint_keys = {_name_key(h) for h in hints} - {key}
        # a region is hinted by the towns of the passage that lie in it ("Armenia" names
        # the country, not the Colombian town)
        holding: set[tuple[str, str]] = set()
        # the regions of the hint towns that are not mere villages: a village name recurs in
        # many regions, so its homonym elsewhere says little ("Shyroka Balka, Donetsk")
        towns_holding: set[tuple[str, str]] = set()
        for hint in hints if region else ():
            entries = self.candidates(_name_key(hint))
            if not any(p["kind"] == "country" for _, p in entries):
                towns = [p for _, p in entries if p["kind"] == "city"]
                holding |= {(p["country_code"], p["admin1"]) for p in towns}
                if any((p["population"] or 0) >= TOWN for p in towns):
                    towns_holding |= {(p["country_code"], p["admin1"]) for p in towns}

        # a town named after a country is not what the name means, in whatever country the
        # passage is ("Russia", Ohio; "Jordan", Minnesota), unless the text places it
        named_like_country = any(p["kind"] == "country" for _, p in found)

        def rank(item: tuple[bool, dict]) -> tuple:
            is_primary, place = item
            in_context = place["country_code"] in preferred if preferred else False
            context_rank = preferred.index(place["country_code"]) if in_context else len(preferred)
            # the passage names the place's region, or only its country ("Russia and the
            # United States" says nothing for Russia, Ohio)
            regional = bool(hint_keys or holding) and (
                place_key(place["admin1"] or "") in hint_keys
                or (place["kind"] in REGION_KINDS and (place["country_code"], place["admin1"]) in holding)
            )
            national = bool(hint_keys) and (
                place_key(self.country_names.get(place["country_code"] or "", "")) in hint_keys
            )
            return (
                wants is not None and place["kind"] != wants,
                not regional,
                named_like_country and place["kind"] == "city" and (place["population"] or 0) < MAJOR_CITY,
                region and place["kind"] not in (*REGION_KINDS, "country"),
                not in_context,
                not national,
                context_rank,
                _kind_score(place),
                not is_primary,
                (place["country_code"], place["admin1"]) not in regions,
                -(place["population"] or 0),
            )

        _, best = min(found, key=rank)
        if (
            owner_town is not None
            and best["country_code"] != owner_town.country_code
            and best["kind"] != "country"
            and best["country_code"] not in context
        ):
            return owner_town  # the quarter is unknown, its town is not
        if region and holding and (best["country_code"], best["admin1"]) not in holding:
            # "Bamenda (Mezam, Nord-Ouest)": the region of the town, under its English name
            translated = _english_compass(cleaned)
            if translated is not None:
                place = self.geocode(translated, context, near, hints, region)
                if place is not None and (place.country_code, place.admin1) in holding:
                    return place
            # no region of this name holds the towns named: read it like any other name
            # ("Maiduguri (Mon)" is not Mon State), unless those towns are villages or were
            # read in a country where no place of this name lies ("Zhari district, Balkh":
            # Zhari read as Żary, Poland, says nothing about which Balkh)
            if {code for code, _ in towns_holding} & {p["country_code"] for _, p in found}:
                region = False
                _, best = min(found, key=rank)
        if wants == "admin1" and best["kind"] == "city":
            # "X region" where X is only known as a town: use the town's admin1 region
            admin = [
                p for _, p in found if p["kind"] == "admin1" and p["country_code"] == best["country_code"]
            ] or [
                # "Uruzgan province": the town's own region under its gazetteer name (Oruzgan)
                p
                for _, p in self.candidates(place_key(best["admin1"] or ""))
                if p["kind"] == "admin1" and p["country_code"] == best["country_code"]
            ]
            if admin:
                best = admin[0]
        precision = PRECISION[best["kind"]]
        if near and precision == 1:
            precision = 2
        country = best["country_code"]
        return Place(
            name=best["name"],
            kind=best["kind"],
            admin1=best["admin1"],
            country_code=country,
            latitude=best["latitude"],
            longitude=best["longitude"],
            population=best["population"] or 0,
            precision=precision,
            spelled_alike=spelled_alike,
        )

    def _compound(
        self, cleaned: str, context: list[str], near: bool, hints: Iterable[str], region: bool = False
    ) -> Place | None:
        """A name the gazetteer lacks, read from the forms it is written in: "Rural
        Damascus" (Rif Dimashq, the countryside of the town), a compass word before a name
        (:meth:`_compass_part`), "Ciudad de Mexico", French compass words ("Sud-Kivu" is
        South Kivu), or a hyphenated district named after its town ("Mogadishu-Bondhere")."""
        if cleaned.startswith("Rural "):
            return self.geocode(cleaned[6:], context, True, hints)
        compass = COMPASS_PREFIX.match(cleaned)
        if compass:
            return self._compass_part(cleaned, compass, context, near, hints, region)
        if cleaned.startswith(("Ciudad de ", "City of ")):
            return self.geocode(cleaned.split(" ", 2)[2], context, near, hints)
        translated = _english_compass(cleaned)
        if translated is not None:
            place = self.geocode(translated, context, near, hints, region)
            if place is not None:
                return place
        parts = cleaned.split("-")
        if (
            len(parts) == 2
            and all(len(part) >= 4 and part[:1].isupper() for part in parts)
            and not _ARTICLE_END.search(parts[0])  # "Maarat al-Numan" is one name
        ):
            # only when the other half names nothing: "Kyiv-Moscow" is a pair of places
            places = [self.geocode(part, context, True, hints) for part in parts]
            known = [place for place in places if place is not None]
            if (
                len(known) == 1
                and known[0].kind == "city"
                and (not context or known[0].country_code in context)
            ):
                return known[0]
        return None

    def _compass_part(
        self,
        cleaned: str,
        compass: re.Match[str],
        context: list[str],
        near: bool,
        hints: Iterable[str],
        region: bool,
    ) -> Place | None:
        """ "Northern Iraq": a part of the country, region or big city the rest names
        exactly; not "the Central Market" (Marquette, Michigan, sounds like Market)."""
        word = compass.group(0).split()[-1]
        other = word[:-3] if word.lower().endswith("ern") else f"{word}ern"
        variant = f"{other} {cleaned[compass.end() :]}"  # "South Darfur" / Southern Darfur
        if self.candidates(place_key(variant)):
            return self.geocode(variant, context, near, hints, region)
        rest = cleaned[compass.end() :]
        place = self.geocode(rest, context, near, hints) if self.candidates(place_key(rest)) else None
        if place is not None and place.kind == "city":
            # "Southern Kaduna": the region named like the town, in the town's country
            region_place = self.geocode(rest, [place.country_code or ""], near, hints, True)
            if (
                region_place is not None
                and region_place.kind in REGION_KINDS
                and region_place.country_code == place.country_code
            ):
                place = region_place
            elif place.population >= MAJOR_CITY:
                return replace(place, precision=2)  # "East Mosul", "North Gaza": part of a city
        return place if place is not None and place.kind in ("country", "natural", *REGION_KINDS) else None

    def country_name(self, code: str | None) -> str | None:
        return self.country_names.get(code) if code else None


def _alike(key: str, name: str) -> bool:
    """Spelled nearly alike, articles aside ("Quamishli" / "Al Qamishli")."""
    return SequenceMatcher(None, key, _ARTICLE.sub("", place_key(name))).ratio() >= 0.8


def _english_compass(name: str) -> str | None:
    """The name with French compass words in English ("Sud-Kivu" -> "South Kivu"), or None
    when it has none."""
    translated = " ".join(_COMPASS.get(word.lower(), word) for word in re.split(r"[-\s]+", name))
    return translated if translated.lower() != re.sub(r"[-\s]+", " ", name).lower() else None


def skeleton(key: str) -> str:
    """A transliteration-tolerant form of a place key, word by word: digraphs folded,
    vowels (after the first letter) and doubled letters dropped."""
    return " ".join(_word_skeleton(word) for word in key.replace("-", " ").split())


def _word_skeleton(text: str) -> str:
    for digraph, letter in (
        ("kh", "k"),
        ("gh", "g"),
        ("sh", "s"),
        ("th", "t"),
        ("dh", "d"),
        ("ph", "f"),
        ("ou", "u"),
        ("q", "k"),
        ("c", "k"),
    ):
        text = text.replace(digraph, letter)
    if not text:
        return text
    text = re.sub(r"(?<=[aeiou])w(?![aeiouy])", "", text)  # Lowgar / Logar, Khowst / Khost
    text = text.replace("w", "v")  # Wardak / Vardak
    head, tail = text[0], text[1:]
    if head in "aeiou":
        head = "a"  # Uruzgan / Oruzgan, Urgun / Orgun
    tail = "".join(ch for ch in tail if ch not in "aeiouyh")
    folded = head
    for ch in tail:
        if ch != folded[-1]:
            folded += ch
    return folded


def _kind_score(place: dict) -> float:
    """Without a hint: countries and named features first, then towns of some size, then
    regions, then villages ("Kandahar" the city, "Helmand" the province, not a hamlet)."""
    kind = place["kind"]
    if kind in ("country", "natural", "continent"):
        return 0.0
    if kind == "city":
        population = place["population"] or 0
        # a city of half a million is what a bare name means ("Dnipro", not the river)
        return 0.0 if population >= 500_000 else 1.0 if population >= 50_000 else 2.0
    return 1.5 if kind == "admin1" else 1.75


@lru_cache(maxsize=65536)
def _name_key(text: str) -> str:
    """The key of a name without its kind word ("Yaounde city", "Bamenda subdivision")."""
    return place_key(_CITY_SUFFIX.sub("", _ADMIN_SUFFIX.sub("", _clean(text))))


def _clean(text: str) -> str:
    text = re.sub(r"\s+", " ", text.replace("’", "'")).strip(" .,;:\"'()")
    return re.sub(r"^(?i:the)\s+", "", text)
