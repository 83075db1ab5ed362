"""Date expressions resolved against the publication date."""

from __future__ import annotations

from datetime import date

import pytest

from transforms.dates import find_date, find_dates

PUBLISHED = date(2013, 1, 22)  # a Tuesday


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("On 9 May 2020, militants attacked a post.", (date(2020, 5, 9), "day", "9 May 2020")),
        ("KABUL, Afghanistan (Jan. 25, 2013)", (date(2013, 1, 25), "day", "Jan. 25, 2013")),
        ("The attack on 2012-12-30 was repelled.", (date(2012, 12, 30), "day", "2012-12-30")),
        (
            "a leader was arrested in Maiwand district, Kandahar province, Sunday.",
            (date(2013, 1, 20), "day", "Sunday"),
        ),
        ("Forces detained two suspects yesterday.", (date(2013, 1, 21), "day", "yesterday")),
        ("Insurgents attacked the base last night.", (date(2013, 1, 21), "day", "last night")),
        ("Forces killed two insurgents today.", (date(2013, 1, 22), "day", "today")),
        (
            "the day before yesterday a bomb exploded",
            (date(2013, 1, 20), "day", "the day before yesterday"),
        ),
        ("Three days ago a convoy was hit.", (date(2013, 1, 19), "day", "Three days ago")),
        ("The strike, reported on June 4, killed two.", (date(2012, 6, 4), "day", "June 4")),
        ("The clashes of 20 January left one dead.", (date(2013, 1, 20), "day", "20 January")),
        ("Fighting flared last week.", (date(2013, 1, 15), "week", "last week")),
        ("Shelling continued in early December.", (date(2012, 12, 15), "month", "early December")),
        ("Raids began in 2011.", (date(2011, 7, 1), "year", "in 2011")),
        ("On Tuesday, a drone struck.", (date(2013, 1, 22), "day", "On Tuesday")),
    ],
)
def test_find_date(sentence, expected):
    mention = find_date(sentence, PUBLISHED)
    assert mention is not None
    assert (mention.value, mention.precision, mention.text) == expected


def test_no_date_and_no_guessing_without_publication_date():
    assert find_date("Troops fired on the convoy.", PUBLISHED) is None
    unresolved = find_date("reported on June 4, the Air Force", None)
    assert (unresolved.value, unresolved.precision, unresolved.text) == (None, None, "June 4")
    # an explicit full date needs no publication date
    assert find_date("On 9 May 2020 it happened", None).value == date(2020, 5, 9)
    # "may" the verb is not a month
    assert find_dates("they may 4 times", PUBLISHED) == []


def test_nearest_expression_to_the_trigger_wins():
    sentence = "Jets struck the town on Saturday, days after talks that began on Monday."
    assert find_date(sentence, PUBLISHED, near=sentence.index("struck")).text == "on Saturday"


def test_datelines_at_the_start_or_after_a_release_header():
    from transforms.dates import dateline_end

    assert dateline_end("KABUL, Afghanistan (Jan. 25, 2013) - Forces ...") == 34
    headed = "2012-04-S-052 For Immediate Release KABUL, Afghanistan (Apr. 26) In Sayyidabad ..."
    assert headed[: dateline_end(headed)].endswith("(Apr. 26)")
    # a parenthesis without a date is no dateline; a mixed-case city is not trusted mid-sentence
    assert dateline_end("The US, Russia (and China) met in Geneva.") == 0
    assert dateline_end("Officials said Kabul, Afghanistan (Apr. 26) was calm.") == 0
    # a weekday dateline needs no bracket; a sentence with neither opening has no dateline
    assert dateline_end("Sun 16 Apr 2017 Jets struck Idlib.") == len("Sun 16 Apr 2017")
    assert dateline_end(" Monday 3 June 2024 Talks began.") == len(" Monday 3 June 2024")
    assert dateline_end("KABUL, Afghanistan - Forces detained two men.") == 0
