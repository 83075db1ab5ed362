"""Deaths stated in a sentence, with ACLED's conventions."""

from __future__ import annotations

import pytest

from transforms.fatalities import find_fatalities, parse_number


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Al shabaab militants claimed to have killed two soldiers and injured five others.", 2),
        ("An airstrike killed 12 people and wounded 30.", 12),
        ("At least five civilians were killed in the shelling.", 5),
        ("The death toll rose to 70, the WHO said.", 70),
        ("Three people died and dozens were injured.", 3),
        ("The raid left dozens dead.", 12),
        ("Clashes killed several soldiers.", 3),
        ("Security forces killed one insurgent and detained two others.", 1),
        ("Twenty-five fighters were killed in the assault.", 25),
        ("Air strikes killed 1,200 people over the year.", 1200),
        ("Two soldiers and three civilians were killed.", 5),
        ("No one was killed in the blast.", 0),
        ("The strike caused no casualties.", 0),
    ],
)
def test_counts(sentence, expected):
    assert find_fatalities(sentence)[0] == expected


@pytest.mark.parametrize(
    "sentence",
    [
        "The strike happened two miles from the border, with no clear reports on casualties.",
        "Drones targeted a convoy transporting 100 conscripts.",
        "An airstrike hit the market.",
        "Five people were injured.",
        "Police arrested 12 protesters.",
    ],
)
def test_unstated_deaths_are_none_never_zero(sentence):
    assert find_fatalities(sentence) == (None, None)


def test_parse_number():
    assert [
        parse_number(t) for t in ("12", "1,200", "twenty-one", "a dozen", "hundreds", "three hundred", "x")
    ] == [
        12,
        1200,
        21,
        12,
        100,
        300,
        None,
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        "The conflict has killed more than 170,000 people since 2011.",
        "More than 300,000 people have been killed since the start of the war.",
        "Air strikes killed 250,000 people.",
    ],
)
def test_war_totals_are_not_incident_deaths(sentence):
    assert find_fatalities(sentence) == (None, None)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("AFP Thursday 5 Feb 2015 At least 45 people were killed in air strikes.", 45),
        ("13 civilians killed 43 others injured due to rocket attacks.", 13),
        ("Forces have killed 304 militants and left more than 170 wounded.", 304),
        ("The blast left 12 people dead.", 12),
        ("More than 300 people have been killed in air strikes since April.", None),
    ],
)
def test_years_injuries_and_running_totals_are_not_counted(sentence, expected):
    assert find_fatalities(sentence)[0] == expected


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("During the operation, the security force also detained two suspected insurgents.", 2),
        ("Police arrested 12 protesters in the capital.", 12),
        ("Three suspects were arrested on Sunday.", 3),
        ("A Taliban leader was arrested during a security operation.", 1),
        ("The force detained a suspected insurgent.", 1),
        ("The leader was arrested in 2012.", None),
    ],
)
def test_detained_counts(sentence, expected):
    from transforms.fatalities import find_detained

    assert find_detained(sentence) == expected


def test_counts_and_dates_in_letters_that_lower_case_apart_are_still_read():
    from datetime import date

    from transforms.dates import find_dates

    assert find_fatalities("Five soldiers were KİLLED")[0] == 5  # a Turkish dotted capital I
    assert find_fatalities("two were ſlain")[0] == 2  # a long s
    assert [m.value for m in find_dates("on FRİDAY", date(2020, 5, 6))] == [date(2020, 5, 1)]
    assert [m.value for m in find_dates("on ſunday", date(2020, 5, 6))] == [date(2020, 5, 3)]


def test_an_order_carried_out_is_no_killing():
    assert find_fatalities("Police executed an arrest warrant at the house.") == (None, None)
    assert find_fatalities("The army executed the plan on Monday.") == (None, None)
    assert find_fatalities("Militants executed a prisoner.")[0] == 1
    assert find_fatalities("IS executed 12 men in Raqqa.")[0] == 12
