"""The one rule for a purpose (a case reference), shared by the API's ``X-Purpose`` header and
the command line's ``--purpose``: printable text of at least a minimum length after trimming,
at most ``PURPOSE_MAX`` characters. What is checked is what the audit row stores."""

from __future__ import annotations

import unicodedata

from flowrisk.errors import InvalidParameter

__all__ = ["PURPOSE_MAX", "check_purpose"]

PURPOSE_MAX = 200
# control, format (zero-width), private-use, surrogate, unassigned, line and paragraph separators
_REFUSED = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}


def check_purpose(value: str | None, min_length: int, name: str = "purpose") -> str:
    """The trimmed purpose, or ``InvalidParameter`` naming ``name`` and what is wrong with it."""
    text = (value or "").strip()
    if not text:
        raise InvalidParameter(name, "a purpose (case reference) is required")
    for char in text:
        if unicodedata.category(char) in _REFUSED or (char.isspace() and char != " "):
            code = f"U+{ord(char):04X}"
            raise InvalidParameter(name, f"must be printable text; {code} is not allowed")
    if len(text) < min_length:
        raise InvalidParameter(name, f"must be at least {min_length} characters, got {len(text)}")
    if len(text) > PURPOSE_MAX:
        raise InvalidParameter(name, f"must be at most {PURPOSE_MAX} characters, got {len(text)}")
    return text
