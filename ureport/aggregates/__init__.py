"""Anonymous results: dimensions, count tables, small-cell suppression and word counts (pure, no database)."""

from ureport.aggregates.dimensions import (
    DEFAULT_AGE_BANDS,
    AgeBand,
    AgeBandError,
    AgeBands,
    Dimension,
    Registry,
    Snapshot,
    UnknownDimension,
)
from ureport.aggregates.suppression import suppress
from ureport.aggregates.tables import SUPPRESSED_MARK, PercentOf, PublishedTable, Table
from ureport.aggregates.words import WordCount, top_words

__all__ = [
    "DEFAULT_AGE_BANDS",
    "SUPPRESSED_MARK",
    "AgeBand",
    "AgeBandError",
    "AgeBands",
    "Dimension",
    "PercentOf",
    "PublishedTable",
    "Registry",
    "Snapshot",
    "Table",
    "UnknownDimension",
    "WordCount",
    "suppress",
    "top_words",
]
