"""Place names -> coordinates, admin1 and country, offline, from the gazetteer.

Candidates for a name are ranked by: the kind the text asks for ("Kursk region" wants an
admin1, "the Baltic Sea" a natural feature), membership of the countries the document is
about, whether the name is the place's primary name, then population. Precision follows
ACLED's spirit: 1 a named town or village, 3 a region (admin1) or natural feature, 4 a
country; 2 is used for places given as "near"/"outside" a town.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from transforms.resources import place_key

ADMIN_WORDS = (
    "region", "province", "oblast", "governorate", "state", "district", "county", "prefecture",
    "territory", "department", "municipality", "krai", "republic", "emirate", "division",
    "provinces", "regions",
)  # fmt: skip
_ADMIN_SUFFIX = re.compile(rf"\s+(?:{'|'.join(ADMIN_WORDS)})$", re.IGNORECASE)
_CITY_SUFFIX = re.compile(r"\s+(?:city|town|village|camp|area|outskirts|suburb)$", re.IGNORECASE)
_POSSESSIVE = re.compile(r"^(?P<owner>[\w .'-]+?)'s\s+(?P<place>.+)$")

PRECISION = {"city": 1, "admin1": 3, "natural": 3, "country": 4, "continent": 4}


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


class Geocoder:
    """Lookup of place names in a gazetteer (see resources.load_gazetteer)."""

    def __init__(self, places: pl.DataFrame, names: pl.DataFrame, country_names: dict[str, str]):
        self.country_names = country_names
        rows = {row["place_id"]: row for row in places.iter_rows(named=True)}
        self._by_key: dict[str, list[tuple[bool, dict]]] = {}
        for key, place_id, is_primary in names.iter_rows():
            place = rows.get(place_id)
            if place is not None:
                self._by_key.setdefault(key, []).append((is_primary, place))

    def candidates(self, key: str) -> list[tuple[bool, dict]]:
        return self._by_key.get(key, [])

    def country_of(self, text: str) -> str | None:
        """ISO2 code when the text names a country."""
        for _, place in self.candidates(place_key(_clean(text))):
            if place["kind"] == "country":
                return place["country_code"]
        return None

    def geocode(
        self, text: str, context_countries: Iterable[str] = (), near: bool = False
    ) -> Place | None:
        """The best place for the text, or None."""
        cleaned = _clean(text)
        owner_country: str | None = None
        possessive = _POSSESSIVE.match(cleaned)
        if possessive:
            owner_country = self.country_of(possessive.group("owner"))
            cleaned = possessive.group("place")
        wants = None
        if _ADMIN_SUFFIX.search(cleaned):
            wants = "admin1"
            cleaned = _ADMIN_SUFFIX.sub("", cleaned)
        elif _CITY_SUFFIX.search(cleaned):
            wants = "city"
            cleaned = _CITY_SUFFIX.sub("", cleaned)
        key = place_key(cleaned)
        found = self.candidates(key)
        if not found and key.startswith(("al ", "el ", "ar ", "as ", "ad ", "an ")):
            found = self.candidates(key[3:])
        if not found:
            return None
        context = list(context_countries)
        preferred = [owner_country] if owner_country else context

        def rank(item: tuple[bool, dict]) -> tuple:
            is_primary, place = item
            in_context = place["country_code"] in preferred if preferred else False
            context_rank = preferred.index(place["country_code"]) if in_context else len(preferred)
            return (
                wants is not None and place["kind"] != wants,
                not in_context,
                context_rank,
                _kind_score(place),
                not is_primary,
                -(place["population"] or 0),
            )

        _, best = min(found, key=rank)
        if wants == "admin1" and best["kind"] == "city":
            # "X region" where X is only known as a town: use the town's admin1 region
            admin = [
                p
                for _, p in found
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
        )

    def country_name(self, code: str | None) -> str | None:
        return self.country_names.get(code) if code else None


def _kind_score(place: dict) -> float:
    """Without a hint: countries and named features first, then towns of some size, then
    regions, then villages ("Kandahar" the city, "Helmand" the province, not a hamlet)."""
    kind = place["kind"]
    if kind in ("country", "natural", "continent"):
        return 0.0
    if kind == "city":
        return 1.0 if (place["population"] or 0) >= 50_000 else 2.0
    return 1.5


def _clean(text: str) -> str:
    text = re.sub(r"\s+", " ", text.replace("’", "'")).strip(" .,;:\"'()")
    return re.sub(r"^(?i:the)\s+", "", text)
