"""Mask personal numbers (phones, ID cards, bank cards, e-mail) in citizen texts.

Design:

* One combined, precompiled regex.  Alternatives are tried in priority order at the
  leftmost position (e-mail, 18-digit ID, bank card, 15-digit ID, landline, mobile), so a
  long number is consumed as a whole and never half-masked as a phone.
* Matching runs on a *same-length* normalised copy of the text (full-width digits, ＋, －,
  NBSP, U+3000 folded to ASCII by ``str.translate``); offsets therefore map 1:1 back to the
  original text and everything that is not masked is returned byte-for-byte unchanged.
* Number boundaries: a number may not be glued to a preceding digit/ASCII letter (that is a
  ticket id such as ``GD20240001234`` or a case number), nor followed by a digit, a decimal
  part, or a money/measure unit (``13500000000元`` is an amount, not a phone).
* A cheap pre-check (≥7 digits close together, or an ``@``) lets the ~all texts without any
  candidate skip the big regex.

Decisions (documented in docs/text.md):

* Bank cards (16–19 digits) are masked when the number passes the Luhn check, OR is written
  in groups of four (card formatting), OR a card cue (卡号/银行卡/账号/帐号/卡) precedes it.
  A bare non-Luhn 16–19 digit run without a cue is left alone: those are order, invoice and
  tracking numbers that caseworkers need.  Chinese UnionPay debit/credit cards are
  Luhn-valid, so the cue/grouping fallbacks only cover typos and old cards.
* 18-digit ID cards are recognised by structure (region digit 1–8, a real 19xx/20xx birth
  date, 3 digits, digit or X) without requiring the checksum (citizens mistype; masking a
  mistyped ID is still right).  15-digit (pre-1999) IDs are ambiguous with tracking numbers,
  so they are masked only with a 身份证/证件 cue just before them.
* Landlines need an area code (0 + 2–3 digits) and a 7–8 digit local number starting 2–9.
  Bare 7–8 digit local numbers are masked only right after a phone cue (电话/座机/拨打…):
  otherwise they collide with dates (20240305), amounts and file numbers.
  Service numbers (12345, 400-/800-) are not personal and are kept.
"""

from __future__ import annotations

import re

__all__ = ["PLACEHOLDERS", "mask_personal_numbers", "find_personal_numbers", "luhn_valid"]

PLACEHOLDERS: dict[str, str] = {
    "mobile": "[手机号]",
    "landline": "[电话]",
    "id_card": "[身份证号]",
    "bank_card": "[银行卡号]",
    "email": "[邮箱]",
}

# Same-length (1 char -> 1 char) folding so match offsets are valid in the original text.
_FOLD = {ord("０") + i: ord("0") + i for i in range(10)}
_FOLD.update({
    ord("＋"): ord("+"), ord("－"): ord("-"), ord("—"): ord("-"), ord("–"): ord("-"),
    ord("‐"): ord("-"), ord("﹣"): ord("-"), ord("（"): ord("("), ord("）"): ord(")"),
    ord("\u00a0"): ord(" "), ord("\u3000"): ord(" "), ord("\t"): ord(" "),
    ord("＠"): ord("@"), ord("．"): ord("."), ord("Ｘ"): ord("X"), ord("ｘ"): ord("x"),
})
for _i in range(26):  # full-width Latin letters (e-mail addresses typed on a Chinese IME)
    _FOLD[ord("Ａ") + _i] = ord("A") + _i
    _FOLD[ord("ａ") + _i] = ord("a") + _i

# Optional separator inside a number: one space, or a dash with optional spaces around.
_SEP = r"(?: ?- ?| )?"
# Not glued to a digit, an ASCII letter/underscore (ticket ids), a decimal point or a currency sign.
_LEFT = r"(?<![0-9A-Za-z_¥￥$])(?<![0-9]\.)"
# Not followed by more digits, a decimal part or a unit that makes it an amount/measure.
_RIGHT = r"(?![0-9])(?!\.[0-9])(?! ?(?:元|块|万|亿|千|百|米|平|吨|度|%|％|个|人|次|户|套|kg|KG))"

_DATE8 = r"(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
_DATE6 = r"[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"

_PATTERN = re.compile(
    r"(?P<email>(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})"
    + "|" + _LEFT + "(?:"
    + rf"(?P<id18>[1-8][0-9]{{5}}{_SEP}{_DATE8}{_SEP}[0-9]{{3}}[0-9Xx])(?![0-9A-Za-z])"
    + rf"|(?P<bank>[0-9]{{4}}(?:[ \-][0-9]{{4}}){{3}}(?:[ \-]?[0-9]{{1,3}})?|[0-9]{{16,19}}){_RIGHT}"
    + rf"|(?P<id15>[1-8][0-9]{{5}}{_DATE6}[0-9]{{3}}){_RIGHT}"
    + r"|(?P<landline>(?:\+86 ?-? ?)?(?:\(0[0-9]{2,3}\) ?|0[0-9]{2,3}" + _SEP + r")[2-9][0-9]{2,3}" + _SEP + r"[0-9]{4})" + _RIGHT
    + r"|(?P<mobile>(?:(?:\+|00)?86 ?-? ?|\(\+?86\) ?)?1[3-9][0-9](?:[0-9]{8}|" + _SEP + r"[0-9]{4}" + _SEP + r"[0-9]{4}))" + _RIGHT
    # Bare 7–8 digit local number: only with a phone cue just before it (see _accept).
    + r"|(?P<local>[2-9][0-9]{2,3}" + _SEP + r"[0-9]{4})" + _RIGHT
    + ")"
)

# Pre-check: at least 7 digits with at most 3 separator characters between neighbours.
_PRECHECK = re.compile(r"[0-9０-９](?:[ \-－()（）\u3000\u00a0]{0,3}[0-9０-９]){6}")

_BANK_CUE = re.compile(r"(?:卡号|银行卡|账号|帐号|账户|帐户|卡)[^0-9]{0,6}$")
_PHONE_CUE = re.compile(r"(?:电话|座机|手机|联系方式|号码|致电|拨打|tel|Tel|TEL)[^0-9]{0,4}$")
_ID_CUE = re.compile(r"(?:身份证|证件)[^0-9]{0,8}$")

_KIND_OF_GROUP = {"email": "email", "id18": "id_card", "id15": "id_card",
                  "bank": "bank_card", "landline": "landline", "mobile": "mobile",
                  "local": "landline"}


def luhn_valid(digits: str) -> bool:
    """Luhn (mod 10) check over a string of ASCII digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _accept(group: str, m: re.Match, folded: str) -> bool:
    """Second-stage checks that a regex cannot express (Luhn, cues before the number)."""
    if group == "bank":
        s = m.group("bank")
        if " " in s or "-" in s:
            return True  # grouped like a card: 6222 0212 3456 7890
        if luhn_valid(s):
            return True
        return bool(_BANK_CUE.search(folded, max(0, m.start() - 12), m.start()))
    if group == "local":
        return bool(_PHONE_CUE.search(folded, max(0, m.start() - 10), m.start()))
    if group == "id15":
        return bool(_ID_CUE.search(folded, max(0, m.start() - 14), m.start()))
    return True


def _iter_matches(text: str):
    """Yield (kind, start, end) of every personal number, left to right, non-overlapping."""
    if not text:
        return
    if "@" not in text and "＠" not in text and not _PRECHECK.search(text):
        return
    folded = text.translate(_FOLD)
    for m in _PATTERN.finditer(folded):
        group = m.lastgroup
        if group is None or not _accept(group, m, folded):
            continue
        yield _KIND_OF_GROUP[group], m.start(), m.end()


def find_personal_numbers(text: str) -> list[tuple[str, str]]:
    """Return ``[(kind, matched_text), ...]`` with kind in PLACEHOLDERS (original spelling kept)."""
    return [(kind, text[s:e]) for kind, s, e in _iter_matches(text)]


def mask_personal_numbers(text: str) -> str:
    """Replace every personal number with its kind's placeholder (see PLACEHOLDERS)."""
    if not text:
        return text
    parts: list[str] = []
    pos = 0
    for kind, s, e in _iter_matches(text):
        parts.append(text[pos:s])
        parts.append(PLACEHOLDERS[kind])
        pos = e
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)
