"""Text padded to the columns a terminal shows it in.

A Chinese, Japanese or Korean character, or a full-width one, takes two columns, so padding
by the number of characters (as format specs do) leaves a list of Chinese names askew.
"""

from __future__ import annotations

import unicodedata


def columns(text: object) -> int:
    """The columns `text` takes in a terminal."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(text))


def fit(text: object, width: int) -> str:
    """`text` (or a number) padded with spaces to `width` columns; longer is left whole."""
    return f"{text}" + " " * max(0, width - columns(text))
