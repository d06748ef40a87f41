"""Near-duplicate complaint texts: MinHash over normalised character shingles.

Real repeat complaints are rewritten, not copied: the same message comes back with a word
changed, a sentence added, a date updated.  An exact hash of the normalised text misses all of
those.  Here a text becomes the set of its character ``SHINGLE``-grams (after removing spaces,
digits, punctuation and mask placeholders), and MinHash estimates the Jaccard similarity of two
such sets: for each of ``rows`` hash functions, the probability that two texts share the minimum
equals their Jaccard similarity J.  Shingles of 3 characters: Chinese words are 1–3
characters, so a changed word changes few shingles.

``repeat_key(text)`` is the *single* group key of the repeat rule `text` (streams/core/repeats.py):
the ``rows`` minima together.  Two texts share it with probability J**rows, so near-copies
(J ≈ 0.9) usually share it and different complaints (J < 0.3) practically never do.  Why one
key and not LSH bands (several keys per ticket, higher recall): the counting design counts a
ticket as a repeat inside each group it joins, with no view of its other groups, so a ticket in
several band groups would be counted once per band that finds an earlier near-copy, and the
order-independent "at most once per rule" cannot be kept without a per-ticket lookup the worker
does not do.  Figures (precision/recall on hand-labelled tipdm pairs) are in docs/text.md.

Pure and deterministic: hashes are computed from code points with fixed 64-bit multipliers
(no Python ``hash``), so every worker process gives the same key.
"""
from __future__ import annotations

import hashlib
import re
from typing import Iterable

import numpy as np

__all__ = ["SHINGLE", "ROWS", "MIN_CHARS", "normalise", "shingle_hashes", "minhash", "signature", "jaccard",
           "repeat_key", "repeat_keys"]

SHINGLE = 3
ROWS = 3  # chosen on the tuning half of the labelled pairs, see streams/text/evaluate_neardup.py
MIN_CHARS = 8  # shorter texts ("请尽快处理") say nothing about which complaint they are

_PLACEHOLDER = re.compile(r"\[[^\]]{1,6}\]")  # what masking left: [手机号], [身份证号] ...
_MASK64 = (1 << 64) - 1
# Letters of the Basic Multilingual Plane (CJK, Latin ...): spaces, digits, punctuation and symbols
# are dropped.  A lookup table instead of a regex: 4x faster on 370-character complaints.
_LETTER = np.array([chr(i).isalpha() for i in range(0x10000)], dtype=bool)
# Kept or dropped, by code point, over all of Unicode (1.1 MB): characters beyond the BMP are kept.
# Full-width Latin letters are letters before folding as after, so the filter comes first and the
# fold (rare) after: 9.6 -> 4.4 us a tipdm text.
_KEEP = np.ones(0x110000, dtype=bool)
_KEEP[:0x10000] = _LETTER


def _constants(n: int, seed: int) -> np.ndarray:
    out = []
    for _ in range(n):
        seed = (seed * 6364136223846793005 + 1442695040888963407) & _MASK64
        out.append(seed | 1)  # odd multipliers
    return np.array(out, dtype=np.uint64)


# Shingle hash: c0·K0 + c1·K1 + c2·K2 (mod 2^64) over code points; MinHash functions: odd
# multiply + add (mod 2^64), compared on the whole 64-bit value.
_SHINGLE_K = _constants(SHINGLE, 0x9E3779B97F4A7C15)
_PERM_A = _constants(16, 0x2545F4914F6CDD1D)
_PERM_B = _constants(16, 0x5851F42D4C957F2D)


def _letters(text: str | None) -> np.ndarray:
    """Code points of the text that a repeat is judged on: letters only (full-width Latin folded to
    ASCII), no mask placeholders.  Not NFKC: it cost 40 µs a complaint, and besides full-width
    forms it only changes characters that are dropped here anyway (NBSP, U+3000, digits)."""
    if not text:
        return np.zeros(0, dtype=np.uint32)
    cps = np.frombuffer(_unmasked(text).encode("utf-32-le"), dtype=np.uint32)
    return _fold_latin(cps[_KEEP[cps]])


def _unmasked(text: str) -> str:
    return _PLACEHOLDER.sub("", text) if "[" in text else text


def _fold_latin(cps: np.ndarray) -> np.ndarray:
    """Full-width Latin letters (U+FF21-FF5A) -> ASCII."""
    if len(cps) and cps.max() >= 0xFF21:
        return np.where((cps >= 0xFF21) & (cps <= 0xFF5A), cps - 0xFEE0, cps)
    return cps


def normalise(text: str | None) -> str:
    """The text a repeat is judged on (see _letters), as a string."""
    return _letters(text).tobytes().decode("utf-32-le")


def _shingles(cps: np.ndarray) -> np.ndarray:
    """64-bit hashes of the character shingles (with repeats: the minimum does not care)."""
    if len(cps) < SHINGLE:
        return np.zeros(0, dtype=np.uint64)
    n = len(cps) - SHINGLE + 1
    cps = cps.astype(np.uint64)
    with np.errstate(over="ignore"):
        h = cps[:n] * _SHINGLE_K[0]
        for i in range(1, SHINGLE):
            h += cps[i:i + n] * _SHINGLE_K[i]
    return h


def shingle_hashes(norm: str) -> np.ndarray:
    """Distinct 64-bit hashes of the character shingles of a normalised text."""
    return np.unique(_shingles(np.frombuffer(norm.encode("utf-32-le"), dtype=np.uint32)))


def minhash(hashes: np.ndarray, rows: int = ROWS) -> tuple[int, ...]:
    """The `rows` MinHash values of a shingle-hash set."""
    if rows > len(_PERM_A):
        raise ValueError(f"at most {len(_PERM_A)} MinHash rows")
    if not len(hashes):
        raise ValueError("no shingles to hash")
    with np.errstate(over="ignore"):
        return tuple(int((hashes * _PERM_A[i] + _PERM_B[i]).min()) for i in range(rows))


def jaccard(a: str | None, b: str | None) -> float:
    """Exact Jaccard similarity of the shingle sets of two texts (for evaluation)."""
    sa, sb = set(shingle_hashes(normalise(a)).tolist()), set(shingle_hashes(normalise(b)).tolist())
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


def signature(text: str | None, values: int) -> tuple[int, ...] | None:
    """`values` MinHash values of the text's shingles; None for texts under MIN_CHARS letters."""
    cps = _letters(text)
    if len(cps) < MIN_CHARS:
        return None
    return minhash(_shingles(cps), values)


def _key(sig: tuple[int, ...]) -> str:
    return hashlib.blake2b(repr(sig).encode(), digest_size=8).hexdigest()


def repeat_key(text: str | None, rows: int = ROWS) -> str | None:
    """One group key shared by near-duplicates (probability J**rows); None for too-short texts."""
    sig = signature(text, rows)
    return None if sig is None else _key(sig)


# Characters keyed at once by repeat_keys: each costs ~(2 + rows) uint64 temporaries; 64k
# characters keep them in cache (a batch of 2,816 real complaints at once: 21 us a text, in
# chunks of ~64k characters 8 us).
KEY_CHUNK_CHARS = 64_000


def repeat_keys(texts: Iterable[str | None], rows: int = ROWS) -> list[str | None]:
    """``[repeat_key(t, rows) for t in texts]``, exactly, with numpy calls per chunk of texts
    instead of per text: 41 -> 8 us a real complaint (the per-text calls were ~10 small numpy
    operations, each a microsecond or more of overhead on a few hundred elements)."""
    if rows > len(_PERM_A):
        raise ValueError(f"at most {len(_PERM_A)} MinHash rows")
    texts = [_unmasked(t) if t else "" for t in texts]
    out: list[str | None] = []
    start = size = 0
    for i, t in enumerate(texts):
        size += len(t)
        if size >= KEY_CHUNK_CHARS or i == len(texts) - 1:
            out += _chunk_keys(texts[start:i + 1], rows)
            start, size = i + 1, 0
    return out


def _chunk_keys(texts: list[str], rows: int) -> list[str | None]:
    """Keys of placeholder-free texts: the _letters of all of them in one array, each code point
    tagged with its text; shingles that straddle two texts are dropped, and each text's minima are
    taken over its own run of shingles (np.minimum.reduceat)."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    cps = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    keep = _KEEP[cps]
    doc = np.repeat(np.arange(len(texts)), lengths)[keep]
    cps = _fold_latin(cps[keep])
    letters = np.bincount(doc, minlength=len(texts))
    hashes = _shingles(cps)
    hdoc = doc[:len(hashes)]
    inside = hdoc == doc[SHINGLE - 1:]
    hashes, hdoc = hashes[inside], hdoc[inside]
    out: list[str | None] = [None] * len(texts)
    if not len(hashes):
        return out
    starts = np.flatnonzero(np.r_[True, hdoc[1:] != hdoc[:-1]])
    with np.errstate(over="ignore"):
        mins = np.minimum.reduceat(hashes[None, :] * _PERM_A[:rows, None] + _PERM_B[:rows, None], starts, axis=1)
    for j, d in enumerate(hdoc[starts].tolist()):
        if letters[d] >= MIN_CHARS:
            out[d] = _key(tuple(mins[:, j].tolist()))
    return out
