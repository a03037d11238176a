"""Making text a game server sent safe to store, compare and show.

A server's reply is attacker's input: NUL bytes break PostgreSQL text
columns, control characters rewrite terminals, bidi overrides (U+202E)
reverse what a page shows. Everything a reply carries to the database, a
page or a terminal goes through here.
"""

from __future__ import annotations

import unicodedata

# Cc: controls (NUL, ESC...), Cf: format (bidi overrides, zero-width...),
# Cs: lone surrogates, Zl/Zp: line and paragraph separators.
_UNSAFE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def clean(text: str, limit: int) -> str:
    """`text` without control, format and bidi characters, cut to `limit` characters."""
    kept = "".join(ch for ch in text if unicodedata.category(ch) not in _UNSAFE)
    return kept[:limit]


def printable(text: str) -> str:
    """Multi-line `text` for a terminal: newlines and tabs stay, other controls go."""
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in _UNSAFE)
