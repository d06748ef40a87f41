"""Mask personal numbers (phones, ID cards, bank cards, e-mail) in citizen texts.

Design:

* One combined, precompiled regex.  Alternatives are tried in priority order at the
  leftmost position (e-mail, 18-digit ID, bank card, 15-digit ID, landline, mobile), so a
  long number is consumed as a whole and never half-masked as a phone.
* Matching runs on a *same-length* normalised copy of the text (full-width digits, ＋, －,
  NBSP, U+3000 folded to ASCII by ``str.translate``); offsets therefore map 1:1 back to the
  original text and everything that is not masked is returned byte-for-byte unchanged.
* Separators inside a number: 1–3 spaces, or a dash/dot/slash with spaces around; en/em
  dashes, U+2010, full-width forms and URL escapes (``%20``, ``%2B``, ``%2D``) fold to them.
  Groupings 3-4-4, 3-3-5, 4-4-3 for mobiles.  A number written with dots or slashes must be
  fully grouped (``138.12345678`` is a decimal).
* Number boundaries: a number may not be glued to a preceding digit (or a decimal point or
  currency sign), nor followed by a digit, a decimal part, or a money/measure unit
  (``13500000000元`` is an amount, not a phone).  Glued to ASCII letters or ``_`` it is masked
  (``phone13812345678``, ``ID44190019900101123X``) unless the letters are an upper-case code
  (``GD13812345678`` is a ticket id); bank cards, 15-digit IDs and bare local numbers keep the
  strict rule (no letter before them).
* A cheap pre-check (≥7 digits close together, or an ``@``) lets the ~all texts without any
  candidate skip the fold and the big regex; its character classes are derived from the fold
  table, so it passes whenever a pre-check on the folded text would.

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
    ord("‐"): ord("-"), ord("‑"): ord("-"), ord("‒"): ord("-"), ord("―"): ord("-"), ord("−"): ord("-"),
    ord("﹣"): ord("-"), ord("﹘"): ord("-"), ord("（"): ord("("), ord("）"): ord(")"),
    ord("\u00a0"): ord(" "), ord("\u3000"): ord(" "), ord("\t"): ord(" "), ord("\u2009"): ord(" "),
    ord("\u202f"): ord(" "), ord("＠"): ord("@"), ord("．"): ord("."), ord("／"): ord("/"),
    ord("Ｘ"): ord("X"), ord("ｘ"): ord("x"), ord("％"): ord("%"),
})
for _i in range(26):  # full-width Latin letters (e-mail addresses typed on a Chinese IME)
    _FOLD[ord("Ａ") + _i] = ord("A") + _i
    _FOLD[ord("ａ") + _i] = ord("a") + _i
# URL escapes of a space, + and - (texts pasted from links), folded to three same-length characters.
_URL_ESCAPE = re.compile(r"%2[0BbDd]")
_URL_FOLD = {"0": "   ", "B": "  +", "b": "  +", "D": "  -", "d": "  -"}

# Optional separator inside a number: 1-3 spaces, or a dash, dot or slash with up to 3 spaces
# around (after folding: en/em dashes, U+2010, full-width －, %20 ...).  Dots and slashes also
# write decimals and dates, so a number that uses them must be fully grouped (see _accept).
_SEP = r"(?:[ ]{0,3}[-./][ ]{0,3}|[ ]{1,3})?"
# The narrower separator of bank cards and cue-only local numbers (weaker evidence).
_SEP_NARROW = r"(?: ?- ?| )?"
# Not glued to a digit, a decimal point or a currency sign.  ASCII letters are checked in _accept:
# an upper-case code glued to digits is a ticket/case id (GD13812345678), a word is not (phone138…).
_LEFT = r"(?<![0-9¥￥$])(?<![0-9]\.)"
_NO_LETTER = r"(?<![A-Za-z_])"
# Not followed by more digits, a decimal part or a unit that makes it an amount/measure.
_RIGHT = r"(?![0-9])(?!\.[0-9])(?! ?(?:元|块|万|亿|千|百|米|平|吨|度|%|％|个|人|次|户|套|kg|KG))"

_DATE8 = r"(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
_DATE6 = r"[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
# Area code without its leading 0, as written after +86: 10, 2x, or 3 digits starting 3-9.
_AREA = r"(?:10|2[0-9]|[3-9][0-9]{2})"
_CC = r"(?:(?:\+|00)?86" + _SEP + r"|\(\+?86\) ?)"  # country code of a mobile

_PATTERN = re.compile(
    r"(?P<email>(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})"
    + "|" + _LEFT + "(?:"
    + rf"(?P<id18>[1-8][0-9]{{5}}{_SEP}{_DATE8}{_SEP}[0-9]{{3}}[0-9Xx])(?![0-9])"
    + rf"|{_NO_LETTER}(?P<bank>[0-9]{{4}}(?:[ \-][0-9]{{4}}){{3}}(?:[ \-]?[0-9]{{1,3}})?|[0-9]{{16,19}}){_RIGHT}"
    + rf"|{_NO_LETTER}(?P<id15>[1-8][0-9]{{5}}{_DATE6}[0-9]{{3}}){_RIGHT}"
    + r"|(?P<landline>(?:(?:\+|00)86" + _SEP + r"(?:\(0?" + _AREA + r"\) ?|0?" + _AREA + _SEP + r")"
    + r"|\(0[0-9]{2,3}\) ?|0[0-9]{2,3}" + _SEP + r")[2-9][0-9]{2,3}" + _SEP + r"[0-9]{4})" + _RIGHT
    # Mobile: 11 digits contiguous or grouped 3-4-4, 3-3-5 or 4-4-3.
    + r"|(?P<mobile>" + _CC + r"?1[3-9](?:[0-9](?:[0-9]{8}|" + _SEP + r"[0-9]{4}" + _SEP + r"[0-9]{4}|"
    + _SEP + r"[0-9]{3}" + _SEP + r"[0-9]{5})|[0-9]{2}" + _SEP + r"[0-9]{4}" + _SEP + r"[0-9]{3}))" + _RIGHT
    # Bare 7–8 digit local number: only with a phone cue just before it (see _accept).
    + r"|" + _NO_LETTER + r"(?P<local>[2-9][0-9]{2,3}" + _SEP_NARROW + r"[0-9]{4})" + _RIGHT
    + ")"
)

# Pre-check: at least 7 digits with at most 3 separator characters between neighbours, on the
# folded text.  Issue 13: the old pre-check ran on the raw text with a hand-written class and let
# en dashes, dots and %20 through unmasked.  Folding every text costs 2.5x the whole masking
# (91k -> 38k texts/s), so the pre-check runs on the raw text with classes *derived from the
# fold table*: every character that folds to a digit or separator is in them (and %, B, D of
# the URL escapes), so it passes whenever the folded pre-check would: a superset, never a leak.
def _class(chars: set[str]) -> str:
    return "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"


_FOLDS_TO = {chr(k): chr(v) for k, v in _FOLD.items()}
_RAW_DIGIT = _class(set("0123456789") | {k for k, v in _FOLDS_TO.items() if v.isdigit()})
_RAW_SEP = _class(set(" -./()%BbDd") | {k for k, v in _FOLDS_TO.items() if v in " -./()"})
# Up to 7 separator characters between digits: the pattern allows "   -   " (_SEP); a pre-check
# allowing only 3 let `138   -   1234   -   5678` through unmasked.
_PRECHECK = re.compile(rf"{_RAW_DIGIT}(?:{_RAW_SEP}{{0,7}}{_RAW_DIGIT}){{6}}")

_BANK_CUE = re.compile(r"(?:卡号|银行卡|账号|帐号|账户|帐户|卡)[^0-9]{0,6}$")
_PHONE_CUE = re.compile(r"(?:电话|座机|手机|联系方式|号码|致电|拨打|tel|Tel|TEL)[^0-9]{0,4}$")
_ID_CUE = re.compile(r"(?:身份证|证件)[^0-9]{0,8}$")
# Upper-case words that name the number rather than code a document: glued to digits they still
# introduce a personal number.
_UPPER_CUES = frozenset({"TEL", "PHONE", "MOBILE", "MOB", "CELL", "ID", "SFZ", "SJ", "DH"})
_LETTERS_BEFORE = re.compile(r"[A-Za-z]{1,12}$")
_DIGIT_RUNS = re.compile(r"[0-9]+")
_COUNTRY = re.compile(r"^(?:\(\+?86\)|(?:\+|00)?86(?=[ \-./]))")

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


def _fully_grouped(number: str, groups: int) -> bool:
    """A number written with a dot or slash must separate every group (138.1234.5678), since
    138.12345678 is a decimal and 2019/1234 a file number."""
    body = _COUNTRY.sub("", number)
    if "." not in body and "/" not in body:
        return True
    return len(_DIGIT_RUNS.findall(body)) >= groups


def _glued_code(folded: str, start: int) -> bool:
    """True when the number is glued to an upper-case ASCII code (GD13812345678: a ticket id)."""
    if start == 0 or not folded[start - 1].isascii() or not folded[start - 1].isalpha():
        return False
    run = _LETTERS_BEFORE.search(folded, max(0, start - 12), start).group()
    return run.isupper() and run not in _UPPER_CUES


def _accept(group: str, m: re.Match, folded: str) -> bool:
    """Second-stage checks that a regex cannot express (Luhn, cues before the number, grouping)."""
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
    if group == "id18":
        return _fully_grouped(m.group("id18"), 3)  # the birth-date structure outweighs any glued code
    if group == "mobile":
        return _fully_grouped(m.group("mobile"), 3) and not _glued_code(folded, m.start())
    if group == "landline":
        return not _glued_code(folded, m.start())
    return True


# _FOLD as a list indexed by code point: str.translate through it costs a quarter of the dict's
# (tipdm texts that pass the pre-check, 435 characters: 21.5 -> ~5 us). Code points past its end are
# left as they are (translate treats the IndexError as "no mapping"), as with the dict.
_FOLD_TABLE: list[int] = list(range(max(_FOLD) + 1))
for _k, _v in _FOLD.items():
    _FOLD_TABLE[_k] = _v

# Where a match can begin, from the pattern's alternatives: an e-mail starts with [A-Za-z0-9] not
# glued to an e-mail character; every number starts with [0-9+(] (digit, +86, 0086, (0xx), (+86))
# and, through _LEFT, not after a digit or currency sign. Trying the pattern only there, instead of
# letting finditer try it at every character, finds the same matches (finditer tries positions left
# to right and takes the first that matches; no other position can) at a quarter of the cost on the
# tipdm texts that pass the pre-check (68 -> ~15 us).
_START = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9]|(?<![0-9¥￥$])[0-9+(]")


_LEAD = 2  # characters of a number before its first digit: "(+" of "(+86) 138 1234 5678"


def _fold(text: str) -> str:
    folded = text.translate(_FOLD_TABLE)
    if "%" in folded:
        folded = _URL_ESCAPE.sub(lambda m: _URL_FOLD[m.group()[2]], folded)
    return folded


def _iter_matches(text: str):
    """Yield (kind, start, end) of every personal number, left to right, non-overlapping."""
    if not text:
        return
    if "@" not in text and "＠" not in text and not _PRECHECK.search(text):
        return
    folded = _fold(text)
    start, match, pre = _START.search, _PATTERN.match, _PRECHECK.search
    # Without an "@" only numbers can match, and every number has 7 digits, each within 7 separator
    # characters of the next, its first digit at most _LEAD characters into it ("(+86) 138…"): a
    # pre-check hit begins at or before its first digit. So a candidate more than _LEAD characters
    # before the next pre-check hit starts nothing, and the scan jumps there. Real texts that pass
    # the pre-check hold ~18 candidates each (dates: 2019年11月5日), most of them far from any hit.
    numbers_only = "@" not in folded
    hit = -1
    pos = 0
    while (c := start(folded, pos)) is not None:
        cs = c.start()
        if numbers_only:
            if hit < cs:
                h = pre(folded, cs)
                if h is None:
                    return
                hit = h.start()
            if cs + _LEAD < hit:
                pos = hit - _LEAD
                continue
        m = match(folded, cs)
        if m is None:
            pos = cs + 1
            continue
        pos = m.end()  # every alternative consumes characters: no empty match
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
