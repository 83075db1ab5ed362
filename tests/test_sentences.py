"""Sentence splitting: boundaries, offsets, and the cases that must not split."""

from __future__ import annotations

import polars as pl
import pytest

from transforms.schemas import SENTENCES
from transforms.sentences import split_sentences


def _split(text: str) -> list[str]:
    sentences = split_sentences(pl.DataFrame({"doc_id": ["d"], "text": [text]}))
    return sentences["text"].to_list()


def test_golden_rows_with_offsets_and_paragraphs():
    text = "Drone strike hits convoy\n\nA drone hit a convoy. Two trucks burned.\nOfficials said so."
    sentences = split_sentences(pl.DataFrame({"doc_id": ["abc"], "text": [text]}))
    assert sentences.schema == SENTENCES
    assert sentences.rows() == [
        ("abc:0", "abc", 0, 0, 0, 24, "Drone strike hits convoy"),
        ("abc:1", "abc", 1, 1, 26, 47, "A drone hit a convoy."),
        ("abc:2", "abc", 2, 1, 48, 66, "Two trucks burned."),
        ("abc:3", "abc", 3, 2, 67, 85, "Officials said so."),
    ]
    for start, end, sentence in sentences.select("char_start", "char_end", "text").rows():
        assert text[start:end] == sentence


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The U.S. Army said so. It left.", ["The U.S. Army said so.", "It left."]),
        (
            "Dr. Ursula von der Leyen spoke. Then Gen. Smith did.",
            ["Dr. Ursula von der Leyen spoke.", "Then Gen. Smith did."],
        ),
        (
            "It happened on Jan. 25 in Kabul. Nobody died.",
            ["It happened on Jan. 25 in Kabul.", "Nobody died."],
        ),
        ("Prices rose 3.5 percent. Rates fell.", ["Prices rose 3.5 percent.", "Rates fell."]),
        (
            'He said "We will respond." Then he left.',
            ['He said "We will respond."', "Then he left."],
        ),
        ('"Stop!" he shouted. Nobody did.', ['"Stop!" he shouted.', "Nobody did."]),
        ("Lt. Col. R.J. Peek led it. Good.", ["Lt. Col. R.J. Peek led it.", "Good."]),
        ("Aid reached the U.S. The rest stayed.", ["Aid reached the U.S.", "The rest stayed."]),
        (
            "KABUL, Afghanistan (Jan. 25, 2013)\nToday, forces detained two.",
            ["KABUL, Afghanistan (Jan. 25, 2013)", "Today, forces detained two."],
        ),
        (
            "A hard-wrapped line that\ncontinues in lower case.",
            ["A hard-wrapped line that\ncontinues in lower case."],
        ),
        ("Was it real? Yes! Really.", ["Was it real?", "Yes!", "Really."]),
        ("No. 10 Downing St. is busy. It is.", ["No. 10 Downing St. is busy.", "It is."]),
    ],
)
def test_boundaries(text, expected):
    assert _split(text) == expected


def test_empty_text_gives_no_sentences_and_offsets_survive_unicode():
    sentences = split_sentences(
        pl.DataFrame(
            {
                "doc_id": ["a", "b"],
                "text": ["", "Kyiv’s mayor — Vitali Klitschko — spoke. «Enough», he said."],
            }
        )
    )
    assert sentences["doc_id"].to_list() == ["b", "b"]
    text = "Kyiv’s mayor — Vitali Klitschko — spoke. «Enough», he said."
    for start, end, sentence in sentences.select("char_start", "char_end", "text").rows():
        assert text[start:end] == sentence
