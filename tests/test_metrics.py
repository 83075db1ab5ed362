"""The scoring functions of ``sitrep evaluate`` on small hand-made cases with known answers."""

from __future__ import annotations

import pytest

from transforms.metrics import (
    PRF,
    actors_agree,
    classification_scores,
    confusion_matrix,
    exact_match_rate,
    fold,
    haversine_km,
    iob_chunks,
    mean_absolute_error,
    median,
    multilabel_prf,
    normalize_actor,
    place_key,
    places_match,
    prf,
    prf_by_label,
    share,
)

DEMONYMS = {"freedonian": "Freedonia", "sylvanian": "Sylvania", "ruritanian": "Ruritania"}


def test_three_entity_example_by_hand():
    # gold: 3 entities; predicted: 2 exact, 1 with the wrong type, 1 with a wrong boundary
    gold = [("d1", 0, 5, "PER"), ("d1", 10, 16, "LOC"), ("d2", 3, 9, "ORG")]
    predicted = [
        ("d1", 0, 5, "PER"),
        ("d1", 10, 16, "LOC"),
        ("d2", 3, 9, "LOC"),  # right span, wrong type: a false positive and a false negative
        ("d2", 20, 24, "PER"),
    ]
    score = prf(gold, predicted)
    assert (score.tp, score.fp, score.fn) == (2, 2, 1)
    assert score.precision == pytest.approx(2 / 4)
    assert score.recall == pytest.approx(2 / 3)
    assert score.f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))  # 0.5714


def test_per_label_scores():
    gold = [("d", 0, 5, "PER"), ("d", 10, 16, "LOC"), ("d", 20, 22, "ORG")]
    predicted = [("d", 0, 5, "PER"), ("d", 10, 16, "ORG")]
    by_label = prf_by_label(gold, predicted, ("PER", "ORG", "LOC", "MISC"))
    assert by_label["PER"].f1 == 1.0
    assert (by_label["ORG"].tp, by_label["ORG"].fp, by_label["ORG"].fn) == (0, 1, 1)
    assert by_label["LOC"].recall == 0.0
    assert by_label["MISC"] == PRF(0, 0, 0)
    assert by_label["MISC"].f1 == 0.0  # conlleval: a type that never occurs scores 0


def test_duplicates_are_counted_as_a_multiset():
    score = prf(["a"], ["a", "a"])
    assert (score.tp, score.fp, score.fn) == (1, 1, 0)


def test_empty_gold_and_predictions_score_zero():
    assert prf([], []).f1 == 0.0
    assert prf([], ["x"]).precision == 0.0


def test_prf_add():
    assert PRF(1, 2, 3) + PRF(4, 5, 6) == PRF(5, 7, 9)


def test_iob1_chunks_follow_conlleval():
    tags = ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG", "I-ORG", "I-MISC"]
    assert iob_chunks(tags) == [(0, 2, "PER"), (3, 4, "LOC"), (4, 5, "LOC"), (5, 7, "ORG"), (7, 8, "MISC")]


def test_iob2_chunks():
    assert iob_chunks(["B-PER", "I-PER", "B-PER", "O", "O", "B-LOC"]) == [
        (0, 2, "PER"),
        (2, 3, "PER"),
        (5, 6, "LOC"),
    ]
    assert iob_chunks([]) == []
    assert iob_chunks(["O", "O"]) == []


def test_classification_macro_and_weighted_f1():
    gold = ["a", "a", "a", "b"]
    predicted = ["a", "a", "b", "b"]
    scores = classification_scores(gold, predicted)
    # a: tp 2, fp 0, fn 1 -> P 1, R 2/3, F1 0.8; b: tp 1, fp 1, fn 0 -> P 1/2, R 1, F1 2/3
    assert scores.per_label["a"].f1 == pytest.approx(0.8)
    assert scores.per_label["b"].f1 == pytest.approx(2 / 3)
    assert scores.macro_f1 == pytest.approx((0.8 + 2 / 3) / 2)  # 0.7333
    assert scores.weighted_f1 == pytest.approx((0.8 * 3 + (2 / 3) * 1) / 4)  # 0.7667
    assert scores.accuracy == pytest.approx(0.75)
    assert scores.support == {"a": 3, "b": 1}


def test_macro_f1_averages_over_gold_labels_only():
    scores = classification_scores(["x", "y"], ["x", "(none)"])
    assert scores.per_label["(none)"] == PRF(0, 1, 0)
    assert scores.macro_f1 == pytest.approx(0.5)  # x: 1.0, y: 0.0; "(none)" has no support
    assert scores.weighted_f1 == pytest.approx(0.5)


def test_classification_needs_aligned_labels():
    with pytest.raises(ValueError, match="2 gold labels but 1"):
        classification_scores(["a", "b"], ["a"])


def test_confusion_matrix():
    gold = ["clash", "clash", "strike", "protest", "clash"]
    predicted = ["clash", "strike", "strike", "(none)", "clash"]
    assert confusion_matrix(gold, predicted) == {
        "clash": {"clash": 2, "strike": 1},
        "strike": {"strike": 1},
        "protest": {"(none)": 1},
    }


def test_multilabel_micro_prf():
    score = multilabel_prf([{"x"}, {"x", "y"}, set()], [{"x"}, {"y", "z"}, set()])
    assert (score.tp, score.fp, score.fn) == (2, 1, 1)
    assert score.f1 == pytest.approx(2 / 3)


def test_paired_value_summaries():
    assert exact_match_rate([(1, 1), (2, 3), (0, 0), (None, 4)]) == pytest.approx(0.5)
    assert exact_match_rate([]) is None
    assert mean_absolute_error([(1, 1), (2, 5), (0, 2)]) == pytest.approx(5 / 3)
    assert mean_absolute_error([]) is None
    assert median([3.0, 1.0, 10.0]) == 3.0
    assert median([1.0, 2.0]) == 1.5
    assert median([]) is None
    assert share([True, False, True, True]) == pytest.approx(0.75)
    assert share([]) is None


def test_haversine():
    assert haversine_km(0, 0, 0, 1) == pytest.approx(111.195, abs=0.01)  # 1 degree on the equator
    assert haversine_km(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(343.5, abs=1.5)
    assert haversine_km(40.7128, -74.0060, 51.5074, -0.1278) == pytest.approx(5570, abs=15)
    assert haversine_km(10.0, 20.0, 10.0, 20.0) == 0.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sana'a", "sanaa"),
        ("Zaporizhzhia  Oblast", "zaporizhzhia oblast"),
        ("Kandahār", "kandahar"),
        ("Port-au-Prince", "port au prince"),
    ],
)
def test_fold(text, expected):
    assert fold(text) == expected


def test_place_key_drops_kind_and_article_words():
    assert place_key("Kandahar Province") == "kandahar"
    assert place_key("Al Hudaydah Governorate") == "hudaydah"
    assert place_key("Province") == "province"  # nothing else left: kept as it is


@pytest.mark.parametrize(
    ("predicted", "gold", "expected"),
    [
        ("Kandahar", "kandahar", True),
        ("Kandahar Province", "kandahar", True),
        ("Ad Dali'", "Ad Dali", True),
        ("Muhafazat Hadramawt", "Hadramawt", True),
        ("Lowgar", "logar", True),  # transliteration variants
        ("Vardak", "wardak", True),
        ("Oruzgan", "uruzgan", True),
        ("Paktika", "paktya", False),  # a different province
        ("Kabul", "kandahar", False),
        (None, "kandahar", False),
        ("Kandahar", "", False),
        # compass words read in English, in any word order
        ("South Kivu", "Sud-Kivu", True),
        ("Far North", "Extreme-Nord", True),
        ("North-West", "Nord-Ouest", True),
        ("Southern Darfur", "South Darfur", True),
        ("Khorasan-e Shomali", "North Khorasan", True),
        ("North Kivu", "Sud-Kivu", False),
        ("Sur", "South", False),  # Tyre's Arabic name, not a compass word
        ("Mine 6/7", "Mine 8", False),  # numbers are kept
        # review cases: single letters, word order and compass words still tell places apart
        ("Ye", "Ye-U", False),
        ("Area A", "Area C", False),
        ("Thanh Hoa", "Ha Tinh", False),
        ("Western North", "North West", False),
        ("Centre-Est", "Est-Centre", False),
        ("Eastern", "Asyut", False),
        # two consonants: only between the regions of one country (see below)
        ("Daraa", "Dar'a", False),
        ("Ghowr", "Ghor", False),
    ],
)
def test_places_match(predicted, gold, expected):
    assert places_match(predicted, gold) is expected


@pytest.mark.parametrize(
    ("predicted", "gold", "expected"),
    [
        ("Daraa", "Dar'a", True),
        ("Ar-Raqqah", "Ar-Raqqa", True),
        ("Shamal Sina'", "North Sinai", True),
        ("Ghowr", "Ghor", True),
        ("Ninawa", "Ninewa", True),
        ("Homs", "Hama", False),
        ("Ghowr", "Herat", False),
    ],
)
def test_places_match_short_skeletons_within_one_country(predicted, gold, expected):
    assert places_match(predicted, gold, same_country=True) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Military Forces of Freedonia (2015-)", "military forces of freedonia"),
        ("Military Forces of Sylvania (1990-2010)", "military forces of sylvania"),
        ("Freedonian army", "military forces of freedonia"),
        ("the Freedonian military", "military forces of freedonia"),
        ("Armed Forces of Freedonia", "military forces of freedonia"),
        ("Ruritanian troops", "military forces of ruritania"),
        ("Sylvanian police", "police forces of sylvania"),
        ("Civilians (Freedonia)", "civilians freedonia"),
        ("FLF: Free Lands Front", "free lands front"),
        ("The Hill Brigade", "hill brigade"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_actor(name, expected):
    assert normalize_actor(name, DEMONYMS) == expected


@pytest.mark.parametrize(
    ("predicted", "gold", "expected"),
    [
        ("Military Forces of Freedonia", "Military Forces of Freedonia (2015-)", True),
        ("Freedonian forces", "Military Forces of Freedonia (2015-)", True),
        ("Military Forces of Sylvania", "Military Forces of Sylvania (2010-) Northern Command", True),
        ("FLF", "FLF: Free Lands Front", True),  # the label names it
        ("Hill Brigade", "Military Forces of Sylvania (2010-)", False),
        ("Ruritania", "Military Forces of Ruritania (1990-)", True),  # contained as whole words
        ("Ruritan", "Military Forces of Ruritania (1990-)", False),  # not a whole word
        ("Protesters (Freedonia)", "Protesters (Freedonia)", True),
        (None, "", True),  # both empty
        (None, "Civilians (Freedonia)", False),
        ("Civilians (Freedonia)", None, False),
    ],
)
def test_actors_agree(predicted, gold, expected):
    assert actors_agree(predicted, gold, DEMONYMS) is expected
