"""Entity mentions -> ``entities``: one row per mention, placed in its sentence and named.

``normalized_name`` folds the surface variants of one name together: a leading "the",
possessive endings, dots in initialisms and case are ignored, then countries, demonyms,
organisations and military units are looked up in the alias lexicons ("the US", "U.S."
and "United States" all become "United States"; "Russians" becomes "Russian").
"""

from __future__ import annotations

import polars as pl

from transforms.schemas import ENTITIES, conform

# Labels whose names are looked up in the alias lexicons (not PERSON: "Jordan" the person
# must not become the country).
_ALIASED_LABELS = ("NORP", "FAC", "ORG", "GPE", "LOC", "MILITARY_UNIT", "WEAPON")


def cleaned_name(text: pl.Expr) -> pl.Expr:
    """Surface form without a leading article, possessive ending or extra whitespace."""
    return (
        text.str.replace_all(r"[’`]", "'")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars(" \"'“”()[],.;:")
        .str.replace(r"^(?i:the)\s+", "")
        .str.replace(r"'s?$", "")
        .str.strip_chars()
    )


def alias_key(text: pl.Expr) -> pl.Expr:
    """The lookup key of resources.name_key, as a polars expression."""
    return (
        text.str.replace_all(r"\b([A-Za-z])\.([A-Za-z])", "$1$2")
        .str.replace_all(r"\b([A-Za-z])\.([A-Za-z])", "$1$2")
        .str.to_lowercase()
        .str.normalize("NFKD")
        .str.replace_all(r"\p{Mn}", "")
        .str.replace_all(r"['`ʻʼ‘’]", "")
        .str.replace_all(r"[^a-z0-9]+", " ")
        .str.strip_chars()
        .str.replace(r"^the ", "")
    )


def build_entities(
    mentions: pl.DataFrame | pl.LazyFrame,
    sentences: pl.DataFrame | pl.LazyFrame,
    aliases: pl.DataFrame,
) -> pl.DataFrame:
    """Mentions (doc offsets) + sentences + alias table -> ``entities``."""
    sentence_starts = (
        sentences.lazy()
        .select("doc_id", "sentence_id", sentence_start="char_start")
        .sort("doc_id", "sentence_start")
    )
    located = (
        mentions.lazy()
        .filter(pl.col("char_end") > pl.col("char_start"))
        .sort("doc_id", "char_start")
        .join_asof(
            sentence_starts,
            left_on="char_start",
            right_on="sentence_start",
            by="doc_id",
            strategy="backward",
        )
        .filter(pl.col("sentence_id").is_not_null())
        .with_columns(cleaned=cleaned_name(pl.col("text")))
        .with_columns(key=alias_key(pl.col("cleaned")))
        .with_columns(possessive_key=pl.col("key").str.replace(r"(\w{3,})s$", "$1"))
        .join(
            aliases.lazy().select("key", alias_name="canonical", alias_kind="kind"),
            on="key",
            how="left",
        )
        .join(
            # "Syrias": a possessive that lost its apostrophe (common in scraped text)
            aliases.lazy()
            .filter(pl.col("kind") == "country")
            .select(possessive_key="key", possessive_name="canonical"),
            on="possessive_key",
            how="left",
        )
        .with_columns(
            alias_name=pl.coalesce("alias_name", "possessive_name"),
            alias_kind=pl.when(pl.col("alias_name").is_null() & pl.col("possessive_name").is_not_null())
            .then(pl.lit("country"))
            .otherwise("alias_kind"),
        )
        .with_columns(
            normalized_name=pl.when(pl.col("label").is_in(_ALIASED_LABELS))
            .then(pl.coalesce("alias_name", "cleaned"))
            .otherwise(pl.col("cleaned")),
            # a country name is a GPE whatever the model said (OntoNotes labels them GPE)
            label=pl.when(pl.col("label").is_in(_ALIASED_LABELS) & (pl.col("alias_kind") == "country"))
            .then(pl.lit("GPE"))
            .otherwise("label"),
            entity_id=pl.concat_str(
                "doc_id",
                pl.lit(":"),
                pl.col("char_start").cast(pl.String),
                pl.lit("-"),
                pl.col("char_end").cast(pl.String),
            ),
        )
        .unique(subset="entity_id", keep="first", maintain_order=True)
    )
    return conform(located, ENTITIES)
