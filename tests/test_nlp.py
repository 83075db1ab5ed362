"""The spaCy step with the gazetteer ruler alone (no statistical model)."""

from __future__ import annotations

import polars as pl

from transforms.nlp import extract_mentions, known_acronyms, load_nlp


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
