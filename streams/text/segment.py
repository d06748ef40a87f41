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
import re
import threading
import unicodedata
from functools import lru_cache
from importlib import resources

__all__ = ["normalize", "tokens", "cut", "stopwords", "get_tokenizer", "domain_words"]

_DATA = resources.files("streams.text") / "data"

# tipdm artefacts: Excel's literal "_x000D_", padding "\n\t\t…", NBSP, ideographic space.
_ARTEFACT = re.compile(r"_x000[dD]_")
_SPACES = re.compile(r"\s+")

_lock = threading.Lock()
_tokenizer = None


def normalize(text: str | None) -> str:
    """NFKC (full-width → half-width letters/digits/punctuation), drop tipdm artefacts,
    collapse all whitespace (incl. NBSP/U+3000, which NFKC maps to spaces) to single spaces."""
    if not text:
        return ""
    text = _ARTEFACT.sub(" ", text)
    text = unicodedata.normalize("NFKC", text)
    return _SPACES.sub(" ", text).strip()


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


def cut(text: str, hmm: bool = False) -> list[str]:
    """Raw jieba segmentation of already-normalised text (whitespace tokens dropped)."""
    return [w for w in get_tokenizer().cut(text, HMM=hmm) if not w.isspace()]


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
