"""Documents -> ``sentences``: one row per sentence, with offsets into ``documents.text``.

A rule-based splitter in polars expressions (no look-behind is available in polars' regex
engine, so boundaries are marked by inserting a NUL character and splitting on it; only
inserted characters are removed, so offsets stay exact):

1. Dots that do not end a sentence are masked: titles before names (``Dr.``, ``Gen.``),
   months and numbering before digits (``Jan. 25``, ``No. 10``), initials and initialisms
   (``R.J.``, ``U.S.``), unless an initialism is followed by a typical sentence opener
   (``... by the U.S. The``).
2. A boundary follows ``.``, ``!``, ``?`` or ``…`` (plus closing quotes/brackets) when the
   next token starts with an upper-case letter, a digit or an opening quote; decimals never
   match because they have no space after the dot.
3. A boundary is placed at every paragraph break, and at a single line break unless the
   next line continues in lower case (headlines and datelines become their own sentences).
"""

from __future__ import annotations

import polars as pl

from transforms.schemas import SENTENCES, conform

BOUNDARY = "\x00"
MASK = "\x01"

_TITLES = (
    "Mr|Mrs|Ms|Messrs|Dr|Prof|Gen|Lt|Col|Capt|Cpt|Sgt|Maj|Adm|Cmdr|Cdr|Cpl|Pvt|Pfc|Spc|Brig|"
    "Lieut|Gov|Sen|Rep|Rev|Hon|Pres|Amb|Supt|Insp|Det|Fr|Sr|St|Mt|Ft|Gens|Sens|Reps"
)
_BEFORE_NUMBER = (
    "No|Nos|Art|Arts|Sec|Fig|Figs|Vol|Vols|Ch|pp|p|Para|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|"
    "Oct|Nov|Dec|Rte|Hwy|Ave|approx|ca"
)
_LOWER_ABBREVIATIONS = "e\\.g|i\\.e|vs|viz|cf|approx|incl|esp|est|etc"
_SENTENCE_OPENERS = (
    "The|A|An|He|She|It|They|We|I|In|On|At|But|And|This|That|These|Those|There|His|Her|Their|"
    "Its|However|Meanwhile|Officials|According|After|Before|When|While|Earlier|Later|Also"
)
_CLOSERS = "\"'”’)\\]»"
_OPENERS = "\"'“‘(\\[«"


def _mark_boundaries(text: pl.Expr) -> pl.Expr:
    """Insert BOUNDARY after each sentence end; masks are restored before returning."""
    masked = (
        text
        # initialism followed by a sentence opener ends a sentence: "the U.S. The ..."
        .str.replace_all(
            rf"((?:\b\p{{Lu}}\.){{2,}})(\s+)((?:{_SENTENCE_OPENERS})\b)", f"${{1}}{BOUNDARY}$2$3"
        )
        # initialisms and initials: U.S. / R.J. / George W. Bush
        .str.replace_all(r"\b(\p{Lu})\.(\p{Lu})", f"${{1}}{MASK}$2")
        .str.replace_all(r"\b(\p{Lu})\.(\p{Lu})", f"${{1}}{MASK}$2")
        .str.replace_all(rf"\b(\p{{Lu}}{MASK}\p{{Lu}})\.", f"${{1}}{MASK}")
        .str.replace_all(r"(\s|^|\()(\p{Lu})\.(\s+\p{Lu})", f"$1$2{MASK}$3")
        # titles before names (twice: 'Lt. Col. X' overlaps), numbering and months before numbers
        .str.replace_all(rf"\b({_TITLES})\.(\s+\p{{Lu}})", f"${{1}}{MASK}$2")
        .str.replace_all(rf"\b({_TITLES})\.(\s+\p{{Lu}})", f"${{1}}{MASK}$2")
        .str.replace_all(rf"\b({_BEFORE_NUMBER})\.(\s*\d)", f"${{1}}{MASK}$2")
        .str.replace_all(rf"\b({_LOWER_ABBREVIATIONS})\.", f"${{1}}{MASK}")
    )
    marked = (
        masked
        # sentence-final punctuation followed by a capitalised or numeric start
        .str.replace_all(rf"([.!?…]+[{_CLOSERS}]*)(\s+)([{_OPENERS}]*[\p{{Lu}}\d])", f"$1{BOUNDARY}$2$3")
        # a quoted sentence that ends inside its quotes, then a new sentence: '." The'
        .str.replace_all(rf"([.!?][{_CLOSERS}]+)(\s+)(\p{{Lu}})", f"$1{BOUNDARY}$2$3")
        # paragraph breaks always end a sentence
        .str.replace_all(r"([^\s\x00])([ \t]*\n[ \t]*\n)", f"$1{BOUNDARY}$2")
        # a single line break ends a sentence unless the next line continues in lower case
        .str.replace_all(r"([^\s\x00,;(\-])([ \t]*\n[ \t]*)([^\s\p{Ll}])", f"$1{BOUNDARY}$2$3")
    )
    return marked.str.replace_all(MASK, ".", literal=True)


def split_sentences(documents: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Documents (``doc_id``, ``text``) -> ``sentences``: one row per sentence."""
    pieces = (
        documents.lazy()
        .select("doc_id", piece=_mark_boundaries(pl.col("text")).str.split(BOUNDARY))
        .explode("piece")
        .with_columns(length=pl.col("piece").str.len_chars())
        .with_columns(
            start=pl.col("length").cum_sum().over("doc_id") - pl.col("length"),
            stripped=pl.col("piece").str.strip_chars(),
            lead=pl.col("piece").str.len_chars() - pl.col("piece").str.strip_chars_start().str.len_chars(),
            new_paragraph=pl.col("piece").str.strip_chars_end(" \t").str.contains(r"^\s*\n"),
        )
        .filter(pl.col("stripped").str.len_chars() > 0)
        .with_columns(
            position=pl.int_range(pl.len()).over("doc_id"),
            paragraph=pl.col("new_paragraph").cast(pl.Int32).cum_sum().over("doc_id"),
            char_start=pl.col("start") + pl.col("lead"),
        )
        .with_columns(
            char_end=pl.col("char_start") + pl.col("stripped").str.len_chars(),
            sentence_id=pl.concat_str(pl.col("doc_id"), pl.lit(":"), pl.col("position").cast(pl.String)),
            text=pl.col("stripped"),
        )
    )
    return conform(pieces, SENTENCES)
