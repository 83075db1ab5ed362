"""Entity rules (transforms.ner_rules) and the entities table, on hand-written inputs."""

from __future__ import annotations

import polars as pl
import pytest
import spacy

from transforms.entities import build_entities
from transforms.ner_rules import (
    Mention,
    NameLexicon,
    is_sports_text,
    refine_mentions,
    restore_case,
    team_spans,
)
from transforms.resources import entity_aliases, trie_regex

LEXICON = NameLexicon(
    places=frozenset({"kent", "surrey", "york", "bristol", "colombo", "lyon", "harrow"}),
    countries=frozenset({"sri lanka", "france", "wales", "united states", "us", "nigeria"}),
    organizations=frozenset({"reuters", "nato"}),
    organization_names=frozenset({"Reuters", "NATO"}),
)


def rows(text: str, mentions: list[Mention]) -> list[tuple[str, str]]:
    return [(text[m.start : m.end], m.label) for m in refine_mentions(text, mentions, LEXICON)]


def mention(text: str, name: str, label: str, occurrence: int = 0) -> Mention:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(name, start + 1)
    return Mention(start, start + len(name), label)


# --------------------------------------------------------------------------- case restoration


def test_restore_case_uses_the_documents_own_casing():
    text = "SOCCER - WALES BEAT FRANCE IN CARDIFF .\nCARDIFF 1996-08-31\nWales beat France in Cardiff ."
    restored = restore_case(text)
    assert restored == (
        "Soccer - Wales beat France in Cardiff .\nCardiff 1996-08-31\nWales beat France in Cardiff ."
    )
    assert len(restored) == len(text)


def test_restore_case_function_words_acronyms_and_unknown_words():
    text = "NATO TROOPS ENTER THE TOWN OF HARROW\nThe alliance said so."
    restored = restore_case(text, acronyms=frozenset({"nato"}))
    assert restored.split("\n")[0] == "NATO Troops Enter the Town of Harrow"
    assert restore_case("Nothing to restore here.") == "Nothing to restore here."


def test_line_breaks_start_sentences():
    nlp = spacy.blank("en")
    nlp.add_pipe("sitrep_line_breaks")
    doc = nlp("Deborah Charles\nRANGOON 1996-08-31")
    assert [t.text for t in doc if t.is_sent_start] == ["Deborah", "\n"]


# --------------------------------------------------------------------------- boundaries


def test_numbers_brackets_possessives_and_captions_are_trimmed():
    text = "Kent 108-3 . Olabisi Afolabi ( Nigeria ran . Conservative Party 's plan . Ahmed Image: AP ."
    found = rows(
        text,
        [
            mention(text, "Kent 108-3", "PERSON"),
            mention(text, "Olabisi Afolabi ( Nigeria", "ORG"),
            mention(text, "Conservative Party 's", "ORG"),
            mention(text, "Ahmed Image", "PERSON"),
        ],
    )
    assert found == [
        ("Kent", "PERSON"),
        ("Olabisi Afolabi", "ORG"),
        ("Conservative Party", "ORG"),
        ("Ahmed", "PERSON"),
    ]


def test_sentence_dot_is_trimmed_but_abbreviations_keep_theirs():
    text = "It was James To. Then Acme Corp. and the U.S. met."
    found = rows(
        text,
        [
            mention(text, "James To.", "PERSON"),
            mention(text, "Acme Corp.", "ORG"),
            mention(text, "U.S.", "GPE"),
        ],
    )
    assert found == [("James To", "PERSON"), ("Acme Corp.", "ORG"), ("U.S.", "GPE")]


def test_spaced_dash_separates_names_and_attitudes_are_not_places():
    text = "Cricket - Sri Lanka won . A pro-Moscow leader and anti-Kyiv rallies ."
    found = rows(
        text,
        [
            mention(text, "Cricket - Sri Lanka", "ORG"),
            mention(text, "Moscow", "GPE"),
            mention(text, "anti-Kyiv", "GPE"),
        ],
    )
    assert found == [("Sri Lanka", "GPE")]


def test_a_place_with_digits_is_a_product():
    text = "Users of IE6 should upgrade."
    assert rows(text, [mention(text, "IE6", "GPE")]) == [("IE6", "PRODUCT")]


# --------------------------------------------------------------------------- sports


SPORTS = (
    "SOCCER - ENGLISH LEAGUE RESULTS .\n"
    "LONDON 1996-08-31\n"
    "Results of English league soccer matches on Saturday :\n"
    "Division two\n"
    "Bristol City 1 York 0\n"
    "Standings :\n"
    "York 4 2 1 1 6 4 7\n"
    "Cricket : Surrey 429-7 , Kent 108-3 .\n"
    "Kent captain Steve Marsh said York played well .\n"
    "Wales beat France 2-1 in a World Cup qualifier ."
)


def test_sports_text_needs_several_sports_words():
    assert is_sports_text(SPORTS)
    assert not is_sports_text("The goal of the offensive was to retake the town.")


def test_team_spans_in_results_tables_and_scores():
    spans = {SPORTS[a:b] for a, b in team_spans(SPORTS)}
    assert spans == {"Bristol City", "York", "Surrey", "Kent"}


def test_fixture_at_names_the_home_ground():
    text = "BALTIMORE AT SEATTLE\nMay 17 v Northampton\nBirmingham v Barnsley ,"
    spans = [text[a:b] for a, b in team_spans(text)]
    assert spans == ["BALTIMORE", "Northampton", "Birmingham", "Barnsley"]


def test_sports_report_teams_are_organisations_countries_stay_places():
    found = rows(
        SPORTS,
        [
            mention(SPORTS, "LONDON", "GPE", 0),
            mention(SPORTS, "Bristol", "GPE"),
            mention(SPORTS, "York", "GPE", 0),
            mention(SPORTS, "Kent", "PERSON", 1),
            mention(SPORTS, "Steve Marsh", "PERSON"),
            mention(SPORTS, "Wales", "ORG"),
            mention(SPORTS, "France", "GPE"),
        ],
    )
    assert found == [
        ("LONDON", "GPE"),
        ("Bristol City", "ORG"),
        ("York", "ORG"),
        ("York", "ORG"),
        ("Surrey", "ORG"),
        ("Kent", "ORG"),
        ("Kent", "ORG"),
        ("Steve Marsh", "PERSON"),
        ("York", "ORG"),
        ("Wales", "GPE"),
        ("France", "GPE"),
    ]


def test_athletes_in_results_lists_are_people():
    text = "Athletics results :\nWomen 's 100 metres\n5. Olabisi Afolabi ( Nigeria ) 51.98\n" + (
        "Another athletics championship and tournament ."
    )
    found = rows(text, [mention(text, "Olabisi Afolabi", "ORG")])
    assert found == [("Olabisi Afolabi", "PERSON")]


# --------------------------------------------------------------------------- other rules


def test_dateline_place_is_a_gpe():
    text = "Talks resume .\nCOLOMBO 1996-08-30\nTalks resumed on Friday ."
    assert rows(text, []) == [("COLOMBO", "GPE")]


def test_country_and_organisation_labels_and_unlabelled_organisations():
    text = "France said Reuters reported that NATO met ."
    found = rows(text, [mention(text, "France", "PERSON"), mention(text, "Reuters", "PERSON")])
    assert found == [("France", "GPE"), ("Reuters", "ORG"), ("NATO", "ORG")]


def test_a_surname_is_a_person_throughout_the_text():
    text = "Luis Tarango lost . Tarango said so . Later Tarango left for Lyon . A tarango is not one ."
    found = rows(
        text,
        [mention(text, "Luis Tarango", "PERSON"), mention(text, "Tarango", "ORG", 1)],
    )
    assert found == [("Luis Tarango", "PERSON"), ("Tarango", "PERSON")]
    text = "Luis Tarango lost . Tarango said so , and then Tarango left ."
    found = rows(text, [mention(text, "Luis Tarango", "PERSON"), mention(text, "Tarango", "ORG", 1)])
    assert found == [("Luis Tarango", "PERSON"), ("Tarango", "PERSON"), ("Tarango", "PERSON")]


def test_a_place_named_as_one_is_not_taken_for_a_surname():
    text = "Kent Smith arrived . He drove to Kent ."
    found = rows(text, [mention(text, "Kent Smith", "PERSON"), mention(text, "Kent", "GPE", 1)])
    assert found == [("Kent Smith", "PERSON"), ("Kent", "GPE")]


# --------------------------------------------------------------------------- entities table


def test_build_entities_rows():
    text = "The US and U.S. envoys met Russia's Lavrov."
    mentions = pl.DataFrame(
        {
            "doc_id": ["d"] * 4,
            "text": ["The US", "U.S.", "Russia", "Lavrov"],
            "label": ["GPE", "GPE", "ORG", "PERSON"],
            "char_start": [0, 11, 27, 36],
            "char_end": [6, 15, 33, 42],
            "detector": ["model"] * 4,
            "category": [None] * 4,
        },
        schema_overrides={"char_start": pl.Int32, "char_end": pl.Int32},
    )
    for row in mentions.iter_rows(named=True):
        assert text[row["char_start"] : row["char_end"]] == row["text"]
    sentences = pl.DataFrame(
        {"doc_id": ["d"], "sentence_id": ["d:0"], "char_start": [0]},
        schema_overrides={"char_start": pl.Int32},
    )
    entities = build_entities(mentions, sentences, entity_aliases())
    assert entities.sort("char_start").select("text", "label", "normalized_name").rows() == [
        ("The US", "GPE", "United States"),
        ("U.S.", "GPE", "United States"),
        ("Russia", "GPE", "Russia"),
        ("Lavrov", "PERSON", "Lavrov"),
    ]


# --------------------------------------------------------------------------- with the model


@pytest.fixture(scope="module")
def nlp_and_keys(resources):
    return resources.nlp, resources.place_keys


def test_extract_mentions_on_a_caps_headline_and_a_results_line(nlp_and_keys):
    from transforms.nlp import extract_mentions

    nlp, keys = nlp_and_keys
    text = (
        "SOCCER - WALES BEAT SAN MARINO IN WORLD CUP QUALIFIER .\n"
        "CARDIFF 1996-08-31\n"
        "Wales beat San Marino 6-0 in a World Cup qualifying match in Cardiff on Saturday .\n"
        "Fulham 1 Carlisle 0"
    )
    documents = pl.DataFrame({"doc_id": ["d"], "text": [text]})
    found = extract_mentions(nlp, documents, place_keys=keys)
    for row in found.iter_rows(named=True):
        assert text[row["char_start"] : row["char_end"]] == row["text"]
        assert "\n" not in row["text"]
    names = [(r["text"], r["label"]) for r in found.iter_rows(named=True)]
    assert ("SAN MARINO", "GPE") in names
    assert ("Wales", "GPE") in names  # a country, also as a national team
    assert ("CARDIFF", "GPE") in names
    assert ("Fulham", "ORG") in names
    assert ("Carlisle", "ORG") in names


@pytest.mark.parametrize(
    "text",
    [
        "the Royal Navy and the Royal Air Forces met",  # "Royal Air Force" + "s": only "Royal"
        "Royals, Roy, R. and Royal.",
        "a.b and axb",  # an escaped dot is a dot
        "Navy Navy-blue Navyy",
    ],
)
def test_a_trie_regex_matches_what_a_flat_alternation_longest_first_matches(text):
    import re

    phrases = ["Royal Navy", "Royal Air Force", "Royal", "Roy", "R", "a.b", "Navy"]
    flat = re.compile(
        r"\b(?:" + "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True)) + r")\b"
    )
    trie = re.compile(rf"\b{trie_regex(phrases)}\b")
    expected = [(m.start(), m.group(0)) for m in flat.finditer(text)]
    assert [(m.start(), m.group(0)) for m in trie.finditer(text)] == expected
    assert expected  # each text holds at least one phrase
