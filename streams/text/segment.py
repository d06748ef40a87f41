"""Text normalisation and jieba segmentation with the hotline domain dictionary.

* One private ``jieba.Tokenizer`` (not the global one, so other code using ``jieba`` is not
  affected by our dictionary), built lazily on first use under a lock: importing this module
  costs nothing, and concurrent first calls build it once.
* jieba's logging is silenced (it prints "Building prefix dict…" to stderr otherwise).
* ``HMM=False`` by default: the HMM pass only discovers out-of-vocabulary words, and it is the
  slow part of jieba (~3x).  On the item classifier it changes dev macro-F1 by <0.5 pt
  (see docs/text.md), so tokens() exposes it as a parameter rather than paying for it.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
from functools import lru_cache
from typing import Sequence
from importlib import resources

__all__ = ["normalize", "normalize_all", "tokens", "cut", "find_words", "stopwords", "get_tokenizer", "domain_words"]

_DATA = resources.files("streams.text") / "data"

# tipdm artefacts: Excel's literal "_x000D_", padding "\n\t\t…", NBSP, ideographic space.
_ARTEFACT = re.compile(r"_x000[dD]_")

_lock = threading.Lock()
_tokenizer = None


def _nfkc_table() -> list[int | str]:
    """NFKC of every Basic Multilingual Plane character, indexed by code point (for str.translate).
    Characters NFKC keeps map to their own code point: an int table holds 2.6 MB, one of
    one-character strings 5.2 MB, and translates as fast."""
    table: list[int | str] = list(range(0x10000))
    for i in range(0x10000):
        if not 0xD800 <= i < 0xE000:  # lone surrogates have no normal form
            folded = unicodedata.normalize("NFKC", chr(i))
            if folded != chr(i):
                table[i] = folded
    return table


_NFKC_BMP: list[int | str] | None = None


def _nfkc(text: str) -> str:
    """unicodedata.normalize("NFKC", text), exactly, at a fifth of the cost on real complaints.

    NFKC runs on ~all real texts (a full-width comma is a compatibility character) and cost 45 us
    of a 355-character tipdm text; str.translate through a per-character table costs 8 us.
    Exactness: each character c is replaced by NFKC(c), and NFKD(NFKC(c)) == NFKD(c), so the
    translated text t has the same NFKD as the original and therefore the same NFKC. When t is
    already in NFKC (is_normalized: 0.14 us; it normalises in full when its quick check is
    unsure), t *is* NFKC(text); otherwise (composition across characters: a letter followed by a
    combining accent, Hangul jamo, characters beyond the BMP) the full NFKC of t is taken.
    """
    # Code points beyond the table are left as they are (translate treats the IndexError as no mapping).
    return _finish_nfkc(text.translate(_nfkc_bmp()))


def _nfkc_bmp() -> list[int | str]:
    global _NFKC_BMP
    if _NFKC_BMP is None:
        _NFKC_BMP = _nfkc_table()  # 65,536 entries, built once (~30 ms); a race builds it twice, harmlessly
    return _NFKC_BMP


def _finish_nfkc(folded: str) -> str:
    """NFKC of a text whose characters were each replaced by their NFKC: itself, unless a
    composition across characters is left."""
    return folded if unicodedata.is_normalized("NFKC", folded) else unicodedata.normalize("NFKC", folded)


def _collapse_spaces(text: str) -> str:
    # str.split() splits on exactly the characters re's \s matches (str.isspace) and drops them at
    # both ends: the same as _SPACES.sub(" ", text).strip() at 1.0 us instead of 6.2 us a text.
    return " ".join(text.split())


def normalize(text: str | None) -> str:
    """NFKC (full-width → half-width letters/digits/punctuation), drop tipdm artefacts,
    collapse all whitespace (incl. NBSP/U+3000, which NFKC maps to spaces) to single spaces."""
    if not text:
        return ""
    text = _without_artefacts(text)
    # NFKC only when the text is not in NFKC already: 99.6 % of the raw tipdm texts are not (a
    # full-width comma is a compatibility character), and every text normalize() returns is. The
    # quick check costs 0.6 us on a 435-character complaint; the regex of compatibility blocks it
    # replaced took 2.5 us, missed compositions across characters (e + U+0301) and matched general
    # punctuation NFKC keeps (“ —), so 14 % of normalised texts (the lexicon and the rights cues
    # normalise their input again) paid a second NFKC of 14 us.
    if not unicodedata.is_normalized("NFKC", text):
        text = _nfkc(text)
    return _collapse_spaces(text)


def _without_artefacts(text: str) -> str:
    return _ARTEFACT.sub(" ", text) if "_x000" in text else text


_NFKC_ONE = None  # numpy: NFKC of each BMP code point where it is one code point, else the point itself
_NFKC_WIDE = None  # numpy bool: NFKC of the code point is several (… -> ..., ㎡ -> m2): per-text path


def _nfkc_arrays():
    global _NFKC_ONE, _NFKC_WIDE
    if _NFKC_WIDE is None:
        import numpy as np

        one = np.arange(0x10000, dtype=np.uint32)
        wide = np.zeros(0x10000, dtype=bool)
        for i, v in enumerate(_nfkc_bmp()):
            if isinstance(v, str):
                if len(v) == 1:
                    one[i] = ord(v)
                else:
                    wide[i] = True
        _NFKC_ONE, _NFKC_WIDE = one, wide
    return _NFKC_ONE, _NFKC_WIDE


def normalize_all(texts: Sequence[str | None]) -> list[str]:
    """``[normalize(t) for t in texts]``, exactly, with the texts' NFKC in one numpy pass.

    str.translate costs ~30 ns a character outside ASCII (an int object per lookup): 14 us of a
    435-character complaint, the largest single cost of cleaning real text. Here the texts that
    need folding are joined by U+0000 (NFKC keeps it and nothing composes across it), mapped
    through an array of each code point's one-point NFKC, and split again; a text holding U+0000,
    a point beyond the BMP or one whose NFKC is several points (…, ㎡: ~1 % of real texts) takes
    normalize() itself. Each folded text then gets normalize()'s own check (is_normalized, full
    NFKC when a composition across characters is left)."""
    import numpy as np

    out = [""] * len(texts)
    todo: list[int] = []
    raw: list[str] = []
    for i, t in enumerate(texts):
        if not t:
            continue
        t = _without_artefacts(t)
        if unicodedata.is_normalized("NFKC", t):
            out[i] = _collapse_spaces(t)
        elif "\x00" in t:
            out[i] = normalize(t)
        else:
            todo.append(i)
            raw.append(t)
    if not raw:
        return out
    try:
        data = "\x00".join(raw).encode("utf-32-le")
    except UnicodeEncodeError:  # a lone surrogate (cleaning rejects them; other callers may not)
        return [normalize(t) for t in texts]
    one, wide = _nfkc_arrays()
    cps = np.frombuffer(data, dtype=np.uint32)
    bmp = np.minimum(cps, 0xFFFF)  # a point beyond the BMP makes its text odd: the fold there is not used
    odd = (cps > 0xFFFF) | wide[bmp]
    folded = one[bmp].tobytes().decode("utf-32-le").split("\x00")
    if odd.any():  # which texts: the separators before each odd point
        seps = np.flatnonzero(cps == 0)
        for k in set(np.searchsorted(seps, np.flatnonzero(odd)).tolist()):
            folded[k] = raw[k].translate(_nfkc_bmp())
    for i, t in zip(todo, folded):
        out[i] = _collapse_spaces(_finish_nfkc(t))
    return out


def _read_lines(name: str) -> list[str]:
    raw = (_DATA / name).read_text(encoding="utf-8")
    return [ln.strip() for ln in raw.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


@lru_cache(maxsize=1)
def domain_words() -> tuple[tuple[str, int | None, str | None], ...]:
    """(word, freq, tag) entries of streams/text/data/hotline_dict.txt."""
    out = []
    for ln in _read_lines("hotline_dict.txt"):
        parts = ln.split()
        word = parts[0]
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[2] if len(parts) > 2 else None
        out.append((word, freq, tag))
    return tuple(out)


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    words: set[str] = set()
    for ln in _read_lines("stopwords.txt"):
        words.update(ln.split())
    return frozenset(words)


def get_tokenizer():
    """The shared, initialised jieba tokenizer with the domain dictionary (thread-safe, lazy)."""
    global _tokenizer
    if _tokenizer is not None:
        return _tokenizer
    with _lock:
        if _tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tk = jieba.Tokenizer()
            tk.initialize()
            for word, freq, tag in domain_words():
                # Force the word to win segmentation unless a frequency is given.
                tk.add_word(word, freq if freq is not None else None, tag)
            _tokenizer = tk
    return _tokenizer


# jieba's own block regexes (jieba.re_han_default, re_skip_default, re_eng).
_RE_HAN = re.compile(r"([\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+)")
_RE_SKIP = re.compile(r"(\r\n|\s)")
_RE_ENG1 = re.compile(r"[a-zA-Z0-9]")


def _dag_route_cut(sentence: str, freq: dict, logtotal: float, out: list) -> None:
    """jieba's __cut_DAG_NO_HMM (get_DAG + calc + the English-run buffer) fused into one pass.

    Same dictionary, same scores, same tie-breaking (max over (score, end) tuples), so the
    output is identical to ``Tokenizer.cut(HMM=False)``; about twice as fast because it builds
    no DAG dict, no generator and no tuples per candidate.
    """
    n = len(sentence)
    score = [0.0] * (n + 1)
    end = [0] * (n + 1)
    log_ = math.log
    for idx in range(n - 1, -1, -1):
        best, best_x = None, idx
        i = idx
        frag = sentence[idx]
        while i < n and frag in freq:
            f = freq[frag]
            if f:
                sc = log_(f) - logtotal + score[i + 1]
                if best is None or sc > best or (sc == best and i > best_x):
                    best, best_x = sc, i
            i += 1
            frag = sentence[idx:i + 1]
        if best is None:  # no dictionary word starts here: single character, freq 1
            best, best_x = -logtotal + score[idx + 1], idx
        score[idx], end[idx] = best, best_x
    x, buf = 0, ""
    while x < n:
        y = end[x] + 1
        word = sentence[x:y]
        if y - x == 1 and _RE_ENG1.match(word):
            buf += word
        else:
            if buf:
                out.append(buf)
                buf = ""
            out.append(word)
        x = y
    if buf:
        out.append(buf)


def cut(text: str, hmm: bool = False) -> list[str]:
    """jieba segmentation of already-normalised text (whitespace tokens dropped).

    With hmm=False this is a faster re-implementation of ``Tokenizer.cut(text, HMM=False)``
    (identical output, tested) over the shared tokenizer's dictionary.
    """
    tk = get_tokenizer()
    if hmm:
        return [w for w in tk.cut(text, HMM=True) if not w.isspace()]
    out: list[str] = []
    freq, logtotal = tk.FREQ, _logtotal(tk)
    for blk in _RE_HAN.split(text):
        if not blk:
            continue
        if _RE_HAN.match(blk):
            _dag_route_cut(blk, freq, logtotal, out)
        else:
            for x in _RE_SKIP.split(blk):
                if x and not _RE_SKIP.match(x):
                    out.extend(ch for ch in x if not ch.isspace())
    return out


def find_words(text: str, words: frozenset[str]) -> list[str]:
    """``[w for w in cut(text) if w in words]``, exactly, cutting only the blocks that could yield one.

    A token is a substring of its block, and blocks are segmented independently, so a block in
    which no word of ``words`` occurs cannot yield one: one substring test per word on the whole
    text settles most texts with no segmentation at all. For the reply classifier's six on-site
    tokens (走访, 约谈 ...) on the tipdm replies: cut() costs ~300 us a reply, this ~2 us.
    The words must be free of whitespace (cut() drops whitespace tokens anyway).
    """
    if not text or not any(w in text for w in words):
        return []
    present = [w for w in words if w in text]
    tk = get_tokenizer()
    out: list[str] = []
    freq, logtotal = tk.FREQ, _logtotal(tk)
    for blk in _RE_HAN.findall(text):
        if any(w in blk for w in present):
            toks: list[str] = []
            _dag_route_cut(blk, freq, logtotal, toks)
            out.extend(w for w in toks if w in words)
    # Characters outside the blocks become one-character tokens (whitespace dropped).
    if any(len(w) == 1 for w in present):
        return [w for w in cut(text) if w in words]
    return out


def _logtotal(tk) -> float:
    # tk.total changes when words are added; cache per value.
    cached = getattr(tk, "_hotline_logtotal", None)
    if cached is None or cached[0] != tk.total:
        cached = (tk.total, math.log(tk.total))
        tk._hotline_logtotal = cached
    return cached[1]


def _is_content(word: str) -> bool:
    # Punctuation and symbols carry no meaning for classification: the publisher of the
    # training tokens removed them too.  Keep CJK, letters and digits.
    return any(ch.isalnum() for ch in word)


def tokens(text: str | None, hmm: bool = False, keep_stopwords: bool = False,
           max_chars: int | None = None) -> list[str]:
    """Normalise, segment and drop punctuation and stop words.

    ``max_chars`` truncates the normalised text before segmentation (speed knob for long
    complaints; the first few hundred characters carry the topic).
    """
    text = normalize(text)
    if max_chars is not None:
        text = text[:max_chars]
    if not text:
        return []
    stop = frozenset() if keep_stopwords else stopwords()
    return [w for w in cut(text, hmm=hmm) if _is_content(w) and w not in stop]
