"""The spaCy step with the gazetteer ruler alone (no statistical model)."""

from __future__ import annotations

import polars as pl
import pytest

from tests.conftest import shared_path
from transforms.nlp import TextRuler, extract_mentions, known_acronyms, load_nlp


def test_ruler_only_pipeline_keeps_offsets_in_restored_caps_lines():
    nlp = load_nlp(with_model=False)
    assert nlp.pipe_names[0] == "sitrep_line_breaks"
    text = "UKRAINE STRIKES WITH HIMARS\nUkraine said HIMARS rockets hit the bridge ."
    found = extract_mentions(nlp, pl.DataFrame({"doc_id": ["d"], "text": [text]}))
    rows = [(r["text"], r["label"], r["char_start"], r["detector"]) for r in found.iter_rows(named=True)]
    assert ("HIMARS", "WEAPON", 21, "gazetteer") in rows
    for row in found.iter_rows(named=True):
        assert text[row["char_start"] : row["char_end"]] == row["text"]


def test_known_acronyms_come_from_the_lexicons_and_skip_common_words():
    acronyms = known_acronyms()
    assert {"nato", "himars", "us", "un"} <= acronyms
    assert "car" not in acronyms


RULER_TEXTS = [
    "Rebels fired anti-aircraft guns at the jets, and BMPs rolled in.",
    "U.S. special forces and u.s. special forces met the German Air Force.",
    "İstanbul police said troops and HIMARS were seen.",  # lower-casing changes the length
    'the F-16s, F-16 jets (F-16) and "Wagner" fighters; Su-34s.',
    "Su-34-style jets, F-16jets and pre-F-16 designs are no matches.",
    "Ukrainian drones hit Kursk.\nUKRAINIAN ARMED FORCES said the Orlan-10 drones fell.",
    "The Lebanese army and the Lebanese Army  fought Hezbollah's fighters in Tyre.",
]


def test_text_ruler_finds_what_the_spacy_rulers_find():
    """TextRuler is the no-model path's stand-in for the two spaCy rulers: same spans,
    labels and categories, overlaps settled alike (longest first, exact before lower)."""
    nlp = load_nlp(with_model=False)
    expected = [
        [(e.start_char, e.end_char, e.label_, e.ent_id_) for e in doc.ents] for doc in nlp.pipe(RULER_TEXTS)
    ]
    found = [[(m.start, m.end, m.label, m.category) for m in ms] for ms in TextRuler(nlp)(RULER_TEXTS)]
    assert found == expected
    assert [
        [(RULER_TEXTS[i][s:e], category) for s, e, _, category in doc] for i, doc in enumerate(found)
    ] == [
        [("anti-aircraft guns", "heavy_weapons"), ("jets", "aircraft"), ("BMPs", "armour")],
        [("U.S. special forces", "state_force"), ("German Air Force", "state_force")],
        [("HIMARS", "rocket_artillery")],
        [
            ("F-16s", "aircraft"),
            ("F-16 jets", "aircraft"),
            ("F-16", "aircraft"),
            ("Wagner", "private_military"),
            ("Su-34s", "aircraft"),
        ],
        [
            ("Su-34", "aircraft"),
            ("jets", "aircraft"),
            ("F-16", "aircraft"),
        ],  # spaCy cuts "pre-F-16", not "F-16jets"
        [("drones", "drone"), ("UKRAINIAN ARMED FORCES", "state_force"), ("Orlan-10 drones", "drone")],
        [
            ("Lebanese army", "state_force"),
            ("Lebanese Army", "state_force"),
            ("Hezbollah", "non_state_armed_group"),
        ],
    ]


def test_text_ruler_on_the_corpus_equals_the_spacy_rulers():
    from transforms.documents import parse_file
    from transforms.ner_rules import restore_case

    corpus = sorted(shared_path("corpus").glob("*/*.txt"))[::5]
    texts = [
        restore_case(record["text"], known_acronyms())
        for path in corpus
        for record in parse_file(path.name, path.read_bytes()).records
    ]
    nlp = load_nlp(with_model=False)
    expected = [
        [(e.start_char, e.end_char, e.label_, e.ent_id_) for e in doc.ents] for doc in nlp.pipe(texts)
    ]
    found = [[(m.start, m.end, m.label, m.category) for m in ms] for ms in TextRuler(nlp)(texts)]
    assert len(texts) > 500
    assert sum(map(len, expected)) > 1000
    assert found == expected


def test_a_phrase_with_two_readings_is_a_lexicon_error(monkeypatch):
    import transforms.nlp as nlp_module

    patterns = nlp_module.ruler_patterns()
    doubled = patterns[1][2] + [{"label": "WEAPON", "id": "armour", "pattern": patterns[1][2][0]["pattern"]}]
    monkeypatch.setattr(nlp_module, "ruler_patterns", lambda: [patterns[0], (*patterns[1][:2], doubled)])
    with pytest.raises(ValueError, match="is both"):
        TextRuler(load_nlp(with_model=False))


def test_text_ruler_offsets_hold_where_lower_casing_changes_a_characters_bytes():
    # the Kelvin sign and the ohm sign are three bytes; their lower cases ("k", "ω") fewer
    texts = [
        "Cooled to 4 \u212a tanks advanced.",
        "A 10\u2126 load. Rebels fired mortars and tanks advanced.",
    ]
    nlp = load_nlp(with_model=False)
    expected = [
        [(e.start_char, e.end_char, e.label_, e.ent_id_) for e in doc.ents] for doc in nlp.pipe(texts)
    ]
    found = [[(m.start, m.end, m.label, m.category) for m in ms] for ms in TextRuler(nlp)(texts)]
    assert (
        found
        == expected
        == [[(14, 19, "WEAPON", "armour")], [(25, 32, "WEAPON", "mortar"), (37, 42, "WEAPON", "armour")]]
    )
