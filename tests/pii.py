"""An independent personal-number detector for the privacy scans: plain patterns, no project code.

It must not share a line with streams/text/masking.py (a scan that finds numbers with the masking
code's own detector cannot find what that detector misses). A number is a run of digits in which
a person may write separators: spaces of any width, hyphens and dashes (`138 1234 5678`,
`138-1234-5678`, `4419 0019 9001 0112 34`). With the separators removed, a run of exactly 11
digits `1[3-9]\\d{9}` is a mobile number, and a run of exactly 17 digits and a digit or X is an
ID-card number. A run must not touch letters or digits (hexadecimal hashes hold digit runs by
chance). A point is not a separator, and a run with a decimal point is a figure, not a number a
person wrote: `15000000000.0` in a metric must not read as a mobile number.
"""
from __future__ import annotations

import re

SEPARATORS = " \t\u00a0\u3000\u2002\u2003\u2009-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_SEP = "[" + re.escape(SEPARATORS) + "]"
# A run of digits with single separators between them, optionally ending in X (ID check character).
_RUN = re.compile(rf"(?<![0-9A-Za-z])(?<!\d\.)[0-9](?:{_SEP}?[0-9])*(?:{_SEP}?[Xx])?(?![0-9A-Za-z])(?!\.\d)")
_STRIP = re.compile(_SEP)
MOBILE = re.compile(r"1[3-9]\d{9}")
ID_CARD = re.compile(r"\d{17}[\dXx]")


def personal_numbers(text: str) -> list[tuple[str, str]]:
    """(kind, digits) of every mobile or ID-card number written in `text`, separators removed."""
    found = []
    for m in _RUN.finditer(text):
        digits = _STRIP.sub("", m.group())
        if MOBILE.fullmatch(digits):
            found.append(("mobile", digits))
        elif ID_CARD.fullmatch(digits):
            found.append(("id_card", digits.upper()))
    return found
