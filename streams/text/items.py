"""Item (事项) classification: a trainable linear model and a keyword-lexicon fallback.

Model (every setting chosen by cross-validation on the training data only, nested where
families are compared: streams/text/item_selection.py, ``python -m streams.text.evaluate_items``):

* word block: TF-IDF (sublinear tf, l2) of word uni+bigrams over jieba tokens (our domain
  dictionary, stop words removed to match the publisher of the tipdm training tokens);
* character block: TF-IDF of character 1–3-grams of the text with punctuation removed.  It
  makes the model robust to segmentation differences between training tokens and our
  segmenter, and it needs no segmentation at all, so it can see more of the content cheaply;
* ``combine="joint"``: LinearSVC(C=1, class_weight="balanced") over both blocks.  Nested CV on
  train_tokens (out-of-fold macro-F1): joint 0.9296 ≥ word/char members calibrated and averaged
  0.9277 > plain word 1–2 TF-IDF + LinearSVC baseline 0.9129; C and class_weight by 5-fold CV;
* confidence: softmax of the decision scores with a temperature fitted on out-of-fold scores
  (log loss), so it is a calibrated probability (ECE 0.021 out-of-fold, 0.059 on dev);
  ``class_priors`` shifts it to another class mix; ``low_confidence`` below ``low_confidence_below``;
* prediction: the title is repeated ``title_weight`` times; words come from the title + first
  ``word_content_chars`` (default 0) characters of the content — jieba is the slow part, ~1.2 us
  per character — and characters from the title + first ``char_content_chars`` (600).  These
  knobs were set on dev in an earlier round (train_tokens has no title/content boundary to
  cross-validate them on) and are kept for the speed budget, see docs/text.md.

Prediction does not use sklearn: features are computed with numpy (see _CharFeaturizer), which
is ~10x faster than TfidfVectorizer.transform and keeps the model file free of pickled sklearn
objects (only dicts and numpy arrays), so a model survives scikit-learn upgrades.

Persistence: one pickle file {"format": FORMAT, "version": FORMAT_VERSION, ...}; anything else
fails with ModelFormatError.
"""

from __future__ import annotations

import json
import pickle
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterable, Sequence

from .segment import normalize, tokens

__all__ = [
    "PROJECT_ITEMS", "FALLBACK_ITEM", "Prediction", "ItemClassifier", "LexiconClassifier",
    "load_classifier", "ModelFormatError",
]

FORMAT = "hotline-streams/item-classifier"
FORMAT_VERSION = 2

PROJECT_ITEMS = (
    "交通管理", "住房保障", "公共安全", "城市管理", "劳动保障", "市场监管", "环境保护", "教育",
    "医疗卫生", "社会保障", "消费维权", "城乡建设", "物业管理", "水电气供应", "公共交通", "户政管理",
    "企业服务", "民政服务", "文化旅游", "农业农村", "自然资源", "应急管理", "人才人事", "税务",
    "通信网络", "邮政快递", "金融服务", "政务服务", "行政执法监督", "基层治理", "体育", "知识产权",
    "出入境", "其他",
)
FALLBACK_ITEM = "其他"

class ModelFormatError(ValueError):
    """The file is not an item-classifier model of a supported format version."""


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float
    low_confidence: bool


_GOLDEN = 0x9E3779B97F4A7C15


class _CodeTable:
    """uint64 code -> feature id, an open-addressing hash table probed with vectorised numpy.

    Binary search (np.searchsorted) over the vocabulary was the bottleneck of prediction: ~17
    cache-missing steps per n-gram.  Multiplicative hashing with linear probing at load ≤0.4
    needs ~1.3 probes on average.  Code 0 is the empty-slot marker (no n-gram has code 0).
    """

    def __init__(self, codes, ids):
        import numpy as np

        codes = np.asarray(codes, dtype=np.uint64)
        ids = np.asarray(ids, dtype=np.int64)
        bits = max(4, int(np.ceil(np.log2(max(1, len(codes)) * 2.5))))
        self.mask = np.uint64((1 << bits) - 1)
        self.shift = np.uint64(64 - bits)
        self.keys = np.zeros(1 << bits, dtype=np.uint64)
        self.vals = np.full(1 << bits, -1, dtype=np.int32)  # feature ids: half the cache of int64
        slot = self._slot(codes)
        pending = np.arange(len(codes))
        while len(pending):  # insert in rounds: first claimant of each free slot wins
            s = slot[pending]
            free = self.keys[s] == 0
            cand = pending[free]
            _, first = np.unique(slot[cand], return_index=True)
            won = cand[first]
            self.keys[slot[won]] = codes[won]
            self.vals[slot[won]] = ids[won]
            placed = np.zeros(len(codes), dtype=bool)
            placed[won] = True
            pending = pending[~placed[pending]]
            slot[pending] = (slot[pending] + np.uint64(1)) & self.mask

    def _slot(self, codes):
        import numpy as np

        with np.errstate(over="ignore"):
            return (codes * np.uint64(_GOLDEN)) >> self.shift

    def lookup(self, codes):
        """Feature id per code (int32), -1 where the code is not in the vocabulary."""
        import numpy as np

        # First probe over the whole array without index arrays: ~86 % of the codes of real
        # replies end there (76 % hits, 10 % at an empty slot), so only the rest is probed on
        # by index. 2.87M codes of the 2,816 tipdm replies: 133 -> 72 ms. The first probe's ids by
        # np.where, not by boolean indexing (res[hit] = vals[slot[hit]]): 24 -> 17 us a reply.
        slot = self._slot(codes)
        k = self.keys[slot]
        hit = k == codes
        res = np.where(hit, self.vals[slot], np.int32(-1))
        active = np.flatnonzero(~hit & (k != 0))
        while len(active):
            s = (slot[active] + np.uint64(1)) & self.mask
            slot[active] = s
            k = self.keys[s]
            h = k == codes[active]
            res[active[h]] = self.vals[s[h]]
            active = active[~h & (k != 0)]
        return res


class _CharFeaturizer:
    """Character 1..n-gram TF-IDF (sublinear tf, l2) computed with numpy, no Python loop per n-gram.

    Every n-gram of ≤3 code points is packed into one uint64 (21 bits per code point; codes of
    different lengths cannot collide because a leading code point is never 0), the batch is
    scanned with vectorised shifts, and codes are mapped to feature ids through _CodeTable.
    This is what makes ≥5,000 tickets/s possible in Python.
    """

    def __init__(self, vocabulary: dict[str, int] | None, idf, max_n: int, *, codes=None, ids=None):
        import numpy as np

        self.max_n = max_n
        if vocabulary is not None:
            codes = np.array([self._code(g) for g in vocabulary], dtype=np.uint64)
            ids = np.array(list(vocabulary.values()), dtype=np.int64)
        self.codes = np.asarray(codes, dtype=np.uint64)
        self.ids = np.asarray(ids, dtype=np.int64)
        self.table = _CodeTable(self.codes, self.ids)
        self.idf = np.asarray(idf, dtype=np.float64)
        self.n_features = len(self.codes)

    @staticmethod
    def _code(gram: str) -> int:
        c = 0
        for ch in gram:
            c = (c << 21) | ord(ch)
        return c

    def _grams(self, texts: list[str]):
        """(document of each character position, [codes of the n-grams starting there, n = 1..max_n])."""
        import numpy as np

        n_docs = len(texts)
        joined = "\x00".join(texts)  # n-grams containing a separator (code point 0) are never in vocab
        cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n_docs)
        doc_of = np.repeat(np.arange(n_docs), lengths + 1)[: len(cp)]
        codes = []
        for n in range(1, self.max_n + 1):
            if len(cp) < n:
                break
            code = cp[: len(cp) - n + 1].copy()
            for k in range(1, n):
                code = (code << np.uint64(21)) | cp[k: len(cp) - n + 1 + k]
            # An n-gram starting at a separator (code point 0) has the code of the shorter n-gram
            # after it, and belongs to the previous document: without this, each text got the
            # first character and bigram of the next text of the batch.  Code 0 is never found.
            code[cp[: len(code)] == 0] = 0
            codes.append(code)
        return doc_of, codes

    def feature_ids(self, texts: list[str]):
        """(document index, feature id) of every in-vocabulary n-gram occurrence of the texts."""
        import numpy as np

        doc_of, codes = self._grams(texts)
        if not codes:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        feats = self.table.lookup(np.concatenate(codes)).astype(np.int64)
        hit = feats >= 0
        return np.concatenate([doc_of[: len(c)] for c in codes])[hit], feats[hit]

    def transform(self, texts: list[str]):
        import numpy as np
        from scipy.sparse import csr_matrix
        from sklearn.preprocessing import normalize as l2

        n_docs = len(texts)
        docs, feats = self.feature_ids(texts)
        if not len(feats):
            return csr_matrix((n_docs, self.n_features))
        # COO -> CSR sums duplicate (doc, feature) pairs: term counts without a global sort.
        X = csr_matrix((np.ones(len(feats)), (docs, feats)), shape=(n_docs, self.n_features))
        X.sum_duplicates()
        X.data = (1.0 + np.log(X.data)) * self.idf[X.indices]
        return l2(X)

    # Characters featurised at once: each costs ~max_n uint64 codes plus their sort, so 2,000 real
    # replies in one go (~720k characters) peaked at +221 MB in a worker; 64k characters ~20 MB,
    # as fast (3,327 vs 3,334 replies/s in chunks of 256 vs all at once).
    SCORE_CHUNK_CHARS = 64_000

    def scores(self, texts: list[str], weights):
        """TF-IDF (sublinear, l2) of each text times ``weights`` (n_features, k), without building
        a sparse matrix: for one text at a time (the worker) ~10x cheaper than transform + @.
        Long batches are scored in chunks of about SCORE_CHUNK_CHARS characters (memory)."""
        import numpy as np

        start, size, parts = 0, 0, []
        for i, t in enumerate(texts):
            size += len(t) + 1
            if size >= self.SCORE_CHUNK_CHARS:
                parts.append(self._scores(texts[start:i + 1], weights))
                start, size = i + 1, 0
        if start < len(texts) or not parts:
            parts.append(self._scores(texts[start:], weights))
        return parts[0] if len(parts) == 1 else np.vstack(parts)

    def _scores(self, texts: list[str], weights):
        import numpy as np

        n_docs = len(texts)
        out = np.zeros((n_docs, weights.shape[1]))
        doc_of, codes = self._grams(texts)
        if not codes:
            return out
        # Key = document × n_features + feature id of every n-gram occurrence, -1 for those not in
        # the vocabulary: they sort first and are cut off in one slice, where selecting the hits
        # by a mask (documents and ids, ~1,000 n-grams a reply) cost more than sorting them along.
        # A chunk's keys fit in 32 bits when n_docs * n_features does: the sort is ~1.6x faster.
        wide = np.int32 if n_docs * self.n_features < 2**31 else np.int64
        base = doc_of.astype(wide) * wide(self.n_features)
        keys = np.concatenate([np.where(f >= 0, base[: len(f)] + f.astype(wide), wide(-1))
                               for f in (self.table.lookup(c) for c in codes)])
        keys.sort()
        keys = keys[np.searchsorted(keys, 0):]
        if not len(keys):
            return out
        # np.unique(return_counts=True) without its argument checks and copies: sort, run starts.
        first = np.empty(len(keys), dtype=bool)
        first[0] = True
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        counts = np.diff(starts, append=len(keys))
        d, f = np.divmod(keys[starts].astype(np.int64), self.n_features)
        val = (1.0 + np.log(counts)) * self.idf[f]
        norm = np.sqrt(np.bincount(d, val * val, minlength=n_docs))
        val /= norm[d]
        for j in range(weights.shape[1]):
            out[:, j] = np.bincount(d, val * weights[f, j], minlength=n_docs)
        return out


class _WordFeaturizer:
    """Word uni+bigram TF-IDF (sublinear tf, l2) over token lists, dictionary lookups only."""

    def __init__(self, vocabulary: dict[str, int], idf, bigrams: bool = True):
        import numpy as np

        self.vocab = vocabulary
        self.idf = np.asarray(idf, dtype=np.float64)
        self.bigrams = bigrams
        self.n_features = len(vocabulary)

    def transform(self, token_lists: list[list[str]]):
        import numpy as np
        from scipy.sparse import csr_matrix
        from sklearn.preprocessing import normalize as l2

        get = self.vocab.get
        rows, cols = [], []
        for i, toks in enumerate(token_lists):
            ids = [get(t) for t in toks]
            if self.bigrams:
                ids += [get(a + " " + b) for a, b in zip(toks, toks[1:])]
            ids = [j for j in ids if j is not None]
            rows.extend([i] * len(ids))
            cols.extend(ids)
        n_docs = len(token_lists)
        if not cols:
            return csr_matrix((n_docs, self.n_features))
        keys, counts = np.unique(np.asarray(rows, dtype=np.int64) * self.n_features + np.asarray(cols, dtype=np.int64),
                                 return_counts=True)
        r, c = np.divmod(keys, self.n_features)
        data = (1.0 + np.log(counts)) * self.idf[c]
        return l2(csr_matrix((data, (r, c)), shape=(n_docs, self.n_features)))


_NON_WORD = re.compile(r"[\W_]+")
_FULLWIDTH_ALNUM = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_EXCEL_CR = "_x000D_"


def _char_text(tokens_or_text) -> str:
    """Text for the character block: punctuation/spaces removed, full-width letters and digits
    folded, lower-cased.  Cheaper than segment.normalize (no NFKC over the whole text: Chinese
    punctuation is full-width, so NFKC would run on every text only to have it removed here)."""
    if isinstance(tokens_or_text, list):
        tokens_or_text = "".join(tokens_or_text)
    if _EXCEL_CR in tokens_or_text:
        tokens_or_text = tokens_or_text.replace(_EXCEL_CR, "")
    s = _NON_WORD.sub("", tokens_or_text)
    if _FULLWIDTH_ALNUM.search(s):
        s = unicodedata.normalize("NFKC", s)
    return s.lower()


def fit_word_featurizer(token_lists: list[list[str]], *, bigrams: bool = True,
                        min_df: int = 1) -> _WordFeaturizer:
    """Word uni(+bi)gram vocabulary and idf (sublinear tf, as at prediction) from token lists."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if bigrams:
        analyzer = lambda toks: toks + [a + " " + b for a, b in zip(toks, toks[1:])]  # noqa: E731
    else:
        analyzer = lambda toks: toks  # noqa: E731
    tv = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, min_df=min_df).fit(token_lists)
    return _WordFeaturizer(dict(tv.vocabulary_), tv.idf_, bigrams=bigrams)


def fit_char_featurizer(char_texts: list[str], *, max_n: int = 3,
                        max_features: int | None = 100_000) -> _CharFeaturizer:
    """Character 1..max_n-gram vocabulary (the max_features most frequent, min_df 2) and idf.

    max_features keeps the lookup table cache-friendly at no measurable accuracy cost."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    cv = TfidfVectorizer(analyzer="char", ngram_range=(1, max_n), sublinear_tf=True, min_df=2,
                         lowercase=False, max_features=max_features).fit(char_texts)
    return _CharFeaturizer(dict(cv.vocabulary_), cv.idf_, max_n)


def fit_linear(X, y: Sequence[str], labels: Sequence[str], *, C: float,
               class_weight: str | None) -> tuple:
    """LinearSVC one-vs-rest weights (coef (n_classes, n_features) float32, intercept) in the
    order of ``labels``; a label absent from ``y`` gets a row that never wins."""
    import numpy as np
    from sklearn.svm import LinearSVC

    svm = LinearSVC(C=C, class_weight=class_weight).fit(X, list(y))
    coef = np.asarray(svm.coef_, dtype=np.float32)
    intercept = np.asarray(svm.intercept_, dtype=np.float32)
    classes = [str(c) for c in svm.classes_]
    if coef.shape[0] == 1:  # binary: sklearn stores one row for classes_[1]
        coef = np.vstack([-coef, coef])
        intercept = np.concatenate([-intercept, intercept])
    full_coef = np.zeros((len(labels), X.shape[1]), dtype=np.float32)
    full_int = np.full(len(labels), -1e3, dtype=np.float32)
    for i, c in enumerate(classes):
        j = list(labels).index(c)
        full_coef[j], full_int[j] = coef[i], intercept[i]
    return full_coef, full_int


def softmax_rows(scores, scale: float):
    """Row-wise softmax of scale × scores (numpy, numerically stable)."""
    import numpy as np

    z = np.asarray(scores, dtype=np.float64) * scale
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def fit_scale(scores, y_idx) -> float:
    """Temperature calibration: the softmax scale that minimises the log loss of out-of-fold
    decision scores (a 1-D search on a log grid; one parameter, thousands of rows)."""
    import numpy as np

    y_idx = np.asarray(y_idx)
    best, best_loss = 1.0, float("inf")
    for scale in np.exp(np.linspace(np.log(0.25), np.log(40.0), 61)):
        p = softmax_rows(scores, scale)[np.arange(len(y_idx)), y_idx]
        loss = -float(np.mean(np.log(np.maximum(p, 1e-12))))
        if loss < best_loss:
            best, best_loss = float(scale), loss
    return best


def stratified_folds(y: Sequence[str], k: int, seed: int = 13) -> list:
    """k test-index arrays, stratified by label, shuffled with a fixed seed (reproducible)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    folds: list[list[int]] = [[] for _ in range(k)]
    offset = 0
    for lab in sorted(set(y.tolist())):
        idx = np.flatnonzero(y == lab)
        rng.shuffle(idx)
        for i, j in enumerate(idx):
            folds[(i + offset) % k].append(int(j))
        offset += len(idx)
    return [np.array(sorted(f), dtype=np.int64) for f in folds]


def _rows_to_tokens(rows: Iterable[dict]) -> tuple[list[list[str]], list[str]]:
    token_lists, labels = [], []
    for row in rows:
        label = row.get("label")
        if not label:
            continue
        if row.get("tokens") is not None:
            toks = row["tokens"].split()
        else:
            content = row.get("content") if row.get("content") is not None else row.get("text")
            toks = tokens(row.get("title")) + tokens(content)
        token_lists.append(toks)
        labels.append(str(label))
    return token_lists, labels


@dataclass
class _Member:
    """One linear model of the ensemble: which feature blocks it reads, its weights, and the
    softmax scale (temperature) that calibrates its scores into probabilities."""
    blocks: tuple[str, ...]   # ("word",), ("char",) or ("word", "char")
    coef: object              # (n_classes, n_features of its blocks), float32
    intercept: object         # (n_classes,)
    scale: float

    def weights(self):
        w = getattr(self, "_w_cache", None)
        if w is None:
            import numpy as np

            # csr @ dense is fast only with a C-contiguous float64 right operand: cache coef.T.
            w = self._w_cache = np.ascontiguousarray(np.asarray(self.coef, dtype=np.float64).T)
        return w


class ItemClassifier:
    """Word + character n-gram linear model(s), calibrated probabilities; numpy featurisation.

    ``combine="joint"`` (default, chosen by nested CV: 0.9296 vs 0.9277 out-of-fold macro-F1):
    one LinearSVC(C=1, balanced) over both blocks, its scores turned into probabilities by a
    softmax temperature fitted on 5-fold out-of-fold scores.  ``combine="average"``: a word-block
    and a char-block LinearSVC, each calibrated that way, probabilities averaged."""

    def __init__(self, labels: Sequence[str], word: "_WordFeaturizer | None", char: "_CharFeaturizer | None",
                 members: Sequence[_Member], *, title_weight: int = 2, word_content_chars: int | None = 0,
                 char_content_chars: int | None = 600, low_confidence_below: float = 0.5,
                 class_priors: dict[str, float] | None = None, meta: dict | None = None):
        self.labels = list(labels)
        self.word = word
        self.char = char
        self.members = list(members)
        self.title_weight = title_weight
        self.word_content_chars = word_content_chars
        self.char_content_chars = char_content_chars
        self.low_confidence_below = low_confidence_below
        self.meta = dict(meta or {})
        self.class_priors = None
        self.set_class_priors(class_priors)

    def set_class_priors(self, priors: dict[str, float] | None) -> None:
        """Shift probabilities to another class mix (e.g. the city's): p(k) ∝ p_model(k) ×
        prior(k) / train_prior(k).  None: the training mix.  Unknown labels raise ValueError."""
        self.class_priors = None if priors is None else dict(priors)
        self._prior_ratio = None
        if priors is None:
            return
        import numpy as np

        unknown = set(priors) - set(self.labels)
        if unknown:
            raise ValueError(f"class_priors names labels the model does not know: {sorted(unknown)}")
        train = self.meta.get("train_priors") or {lab: 1.0 / len(self.labels) for lab in self.labels}
        total = sum(priors.values())
        if total <= 0 or any(v < 0 for v in priors.values()):
            raise ValueError("class_priors must be non-negative with a positive sum")
        self._prior_ratio = np.array([(priors.get(lab, 0.0) / total) / max(train.get(lab, 0.0), 1e-9)
                                      for lab in self.labels])

    # -- training ----------------------------------------------------------------------------
    @classmethod
    def train(cls, rows: Iterable[dict], *, combine: str = "joint", C: float = 1.0,
              C_word: float = 1.0, C_char: float = 1.0, char_ngrams: int | None = 3,
              word_ngrams: int | None = 2, class_weight: str | None = "balanced",
              title_weight: int = 2, word_content_chars: int | None = 0,
              char_content_chars: int | None = 600, max_char_features: int | None = 100_000,
              word_min_df: int = 1, low_confidence_below: float = 0.5, calibration_folds: int = 5,
              class_priors: dict[str, float] | None = None) -> "ItemClassifier":
        """Train on rows with "label" and either "tokens" (space separated) or "title"/"content".

        Set word_ngrams=None for a character-only model or char_ngrams=None for words only (one
        member either way).  ``calibration_folds``-fold out-of-fold scores fit each member's
        softmax temperature (calibration_folds < 2: no calibration, scale 3).
        """
        import numpy as np

        if combine not in ("average", "joint"):
            raise ValueError(f"combine must be 'average' or 'joint', not {combine!r}")
        token_lists, y = _rows_to_tokens(rows)
        if len(set(y)) < 2:
            raise ValueError("training needs at least two distinct labels")
        if not word_ngrams and not char_ngrams:
            raise ValueError("need word and/or character features")
        labels = sorted(set(y))
        mats: dict[str, object] = {}
        word = char = None
        if word_ngrams:
            word = fit_word_featurizer(token_lists, bigrams=word_ngrams >= 2, min_df=word_min_df)
            mats["word"] = word.transform(token_lists)
        if char_ngrams:
            char = fit_char_featurizer([_char_text(t) for t in token_lists], max_n=char_ngrams,
                                       max_features=max_char_features)
            mats["char"] = char.transform([_char_text(t) for t in token_lists])
        if combine == "joint" or len(mats) == 1:
            specs = [(tuple(mats), C if combine == "joint" else (C_word if "word" in mats else C_char))]
        else:
            specs = [(("word",), C_word), (("char",), C_char)]
        y_idx = np.array([labels.index(v) for v in y])
        members = []
        for blocks, c in specs:
            X = _stack([mats[b] for b in blocks])
            coef, intercept = fit_linear(X, y, labels, C=c, class_weight=class_weight)
            scale = 3.0
            if calibration_folds >= 2 and min(np.bincount(y_idx)) >= calibration_folds:
                oof = out_of_fold_scores(X, y, labels, C=c, class_weight=class_weight, k=calibration_folds)
                scale = fit_scale(oof, y_idx)
            members.append(_Member(blocks, coef, intercept, scale))
        counts = np.bincount(y_idx, minlength=len(labels))
        meta = {"n_train": len(y), "combine": combine, "C": C, "C_word": C_word, "C_char": C_char,
                "char_ngrams": char_ngrams, "word_ngrams": word_ngrams, "class_weight": class_weight,
                "max_char_features": max_char_features, "word_min_df": word_min_df,
                "train_priors": {lab: float(n) / len(y) for lab, n in zip(labels, counts)}}
        return cls(labels, word, char, members, title_weight=title_weight,
                   word_content_chars=word_content_chars, char_content_chars=char_content_chars,
                   low_confidence_below=low_confidence_below, class_priors=class_priors, meta=meta)

    # -- prediction --------------------------------------------------------------------------
    def _parts(self, item) -> tuple[list[str] | None, str]:
        """(word tokens, char text) for one input item."""
        if isinstance(item, str):
            title, content, pre = "", item, None
        elif isinstance(item, (tuple, list)):
            title, content, pre = item[0] or "", item[1] or "", None
        elif isinstance(item, dict):
            pre = item.get("tokens")
            title = item.get("title") or ""
            content = item.get("content") if item.get("content") is not None else (item.get("text") or "")
        else:
            raise TypeError(f"an item is a (title, content) pair, a dict or a string, not {type(item).__name__}")
        if pre is not None:
            toks = pre.split()
            return toks, _char_text(toks)
        tw = self.title_weight
        toks = None
        if self.word is not None:
            toks = tokens(title) * tw
            if self.word_content_chars is None:
                toks += tokens(content)
            elif self.word_content_chars > 0:
                toks += tokens(content[: self.word_content_chars + 64], max_chars=self.word_content_chars)
        ctext = ""
        if self.char is not None:
            t = _char_text(title)
            if self.char_content_chars is not None:
                # Cut before cleaning; the slack covers padding and punctuation removed by it.
                c = _char_text(content[: 2 * self.char_content_chars])[: self.char_content_chars]
            else:
                c = _char_text(content)
            ctext = t * tw + c
        return toks, ctext

    def predict_proba(self, items: Iterable):
        """(n_items, n_labels) calibrated class probabilities, columns in ``self.labels`` order."""
        parts = [self._parts(it) for it in items]
        mats = {}
        if self.word is not None:
            mats["word"] = self.word.transform([p[0] for p in parts])
        if self.char is not None:
            mats["char"] = self.char.transform([p[1] for p in parts])
        probs = None
        for m in self.members:
            X = _stack([mats[b] for b in m.blocks])
            p = softmax_rows(X @ m.weights() + m.intercept, m.scale)
            probs = p if probs is None else probs + p
        probs /= len(self.members)
        if self._prior_ratio is not None:
            probs *= self._prior_ratio
            probs /= probs.sum(axis=1, keepdims=True)
        return probs

    def predict(self, titles_and_contents: Iterable) -> list[Prediction]:
        """Items: (title, content) pairs, dicts with title/content (or text, or tokens), or strings."""
        items = list(titles_and_contents)
        if not items:
            return []
        probs = self.predict_proba(items)
        best = probs.argmax(axis=1)
        conf = probs[range(len(items)), best].tolist()
        return [Prediction(self.labels[b], round(c, 4), c < self.low_confidence_below)
                for b, c in zip(best.tolist(), conf)]

    def predict_labels(self, items: Iterable) -> list[str]:
        return [p.label for p in self.predict(items)]

    # -- persistence -------------------------------------------------------------------------
    _SETTINGS = ("title_weight", "word_content_chars", "char_content_chars", "low_confidence_below",
                 "class_priors", "meta")

    def save(self, path: str | Path) -> None:
        """One pickle file with only builtins and numpy arrays (no sklearn objects inside)."""
        payload = {"format": FORMAT, "version": FORMAT_VERSION, "labels": self.labels,
                   "members": [{"blocks": list(m.blocks), "coef": m.coef, "intercept": m.intercept,
                                "scale": m.scale} for m in self.members],
                   "word": None if self.word is None else {"vocab": self.word.vocab, "idf": self.word.idf,
                                                           "bigrams": self.word.bigrams},
                   "char": None if self.char is None else {
                       "codes": self.char.codes, "ids": self.char.ids, "idf": self.char.idf,
                       "max_n": self.char.max_n, "n_features": self.char.n_features}}
        payload.update({k: getattr(self, k) for k in self._SETTINGS})
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)  # atomic: a half-written model is never picked up

    @classmethod
    def load(cls, path: str | Path) -> "ItemClassifier":
        """Load a model saved by save() (format version 1 or 2); ModelFormatError on anything else.

        Only load model files you produced: pickle can execute code from the file.
        """
        path = Path(path)
        try:
            with open(path, "rb") as fh:
                head = fh.read(1)
                fh.seek(0)
                if head != b"\x80":  # pickle protocol >= 2 starts with the PROTO opcode
                    raise ModelFormatError(f"{path} is not an item-classifier model file")
                payload = pickle.load(fh)
        except ModelFormatError:
            raise
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError,
                ValueError) as exc:
            raise ModelFormatError(f"{path} is not a readable item-classifier model: {exc}") from exc
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ModelFormatError(f"{path} is not an item-classifier model file")
        version = payload.get("version")
        if version not in (1, FORMAT_VERSION):
            raise ModelFormatError(f"{path} has model format version {version}, "
                                   f"this code reads 1 and {FORMAT_VERSION}; retrain it")
        word = None
        if payload["word"] is not None:
            w = payload["word"]
            word = _WordFeaturizer(w["vocab"], w["idf"], w["bigrams"])
        char = None
        if payload["char"] is not None:
            c = payload["char"]
            char = _CharFeaturizer(None, c["idf"], c["max_n"], codes=c["codes"], ids=c["ids"])
        if version == 1:  # one joint LinearSVC over the blocks present, fixed softmax scale
            blocks = tuple(b for b, f in (("word", word), ("char", char)) if f is not None)
            members = [_Member(blocks, payload["coef"], payload["intercept"], payload["softmax_scale"])]
            payload = {**payload, "class_priors": None}
        else:
            members = [_Member(tuple(m["blocks"]), m["coef"], m["intercept"], m["scale"])
                       for m in payload["members"]]
        return cls(payload["labels"], word, char, members, **{k: payload[k] for k in cls._SETTINGS})


def _stack(blocks: list):
    from scipy.sparse import hstack

    return hstack(blocks).tocsr() if len(blocks) > 1 else blocks[0]


def out_of_fold_scores(X, y: Sequence[str], labels: Sequence[str], *, C: float, class_weight: str | None,
                       k: int = 5, seed: int = 13):
    """Decision scores of each row from a LinearSVC trained on the other k-1 folds."""
    import numpy as np

    y = list(y)
    oof = np.zeros((X.shape[0], len(labels)))
    for test in stratified_folds(y, k, seed):
        train = np.setdiff1d(np.arange(X.shape[0]), test)
        coef, intercept = fit_linear(X[train], [y[i] for i in train], labels, C=C, class_weight=class_weight)
        oof[test] = X[test] @ coef.T.astype(np.float64) + intercept
    return oof


class LexiconClassifier:
    """Keyword → first-level item fallback (streams/text/data/item_lexicon.json).

    Score of an item = Σ keyword weight × occurrences (title occurrences count double); the
    best item wins, confidence = its share of the total score.  Nothing matched → 其他 with
    confidence 0 and low_confidence True.
    """

    def __init__(self, lexicon: dict[str, list[str]] | None = None, low_confidence_below: float = 0.5):
        if lexicon is None:
            raw = (resources.files("streams.text") / "data" / "item_lexicon.json").read_text(encoding="utf-8")
            lexicon = json.loads(raw)["items"]
        unknown = set(lexicon) - set(PROJECT_ITEMS)
        if unknown:
            raise ValueError(f"lexicon names unknown items: {sorted(unknown)}")
        # Longest keywords first so that a long phrase is preferred in ties of equal weight.
        self.keywords: list[tuple[str, str, float]] = []
        for item, words in lexicon.items():
            for w in words:
                weight = 1.0 + 0.25 * (len(w) - 2) if len(w) > 2 else 1.0
                self.keywords.append((w, item, weight))
        # The taxonomy's own subcategory names (二级事项) are the strongest cue there is: citizens
        # and call-takers name the matter ("关于商品房交付的反映"). A name used by one item only.
        self.keywords += self._taxonomy_keywords({w for w, _, _ in self.keywords})
        self.keywords.sort(key=lambda k: -len(k[0]))
        self.low_confidence_below = low_confidence_below
        # One alternation, longest keywords first (leftmost-longest wins at each position):
        # one C-level scan per text instead of one str.count per keyword.
        self._rx = re.compile(_first_char_groups([w for w, _, _ in self.keywords]))
        self._kw: dict[str, list[tuple[str, float]]] = {}
        for w, item, weight in self.keywords:
            self._kw.setdefault(w, []).append((item, weight))

    @staticmethod
    def _taxonomy_keywords(known: set[str]) -> list[tuple[str, str, float]]:
        from schemas.taxonomy import load_taxonomy

        tax = load_taxonomy()
        owners: dict[str, set[str]] = {}
        for item, subs in tax.subcategories.items():
            for sub in subs:
                if len(sub) >= 2 and sub != tax.fallback_item:
                    owners.setdefault(sub, set()).add(item)
        return [(sub, next(iter(items)), 3.0 + 0.25 * len(sub)) for sub, items in owners.items()
                if len(items) == 1 and sub not in known and next(iter(items)) != tax.fallback_item]

    def _score(self, title: str, content: str) -> dict[str, float]:
        scores: dict[str, float] = {}
        for text, mult in ((title, 2.0), (content, 1.0)):
            for w in self._rx.findall(text):
                for item, weight in self._kw[w]:
                    scores[item] = scores.get(item, 0.0) + weight * mult
        return scores

    def predict(self, titles_and_contents: Iterable) -> list[Prediction]:
        out = []
        for it in titles_and_contents:
            if isinstance(it, str):
                title, content = "", it
            elif isinstance(it, (tuple, list)):
                title, content = it[0], it[1]
            else:
                title = it.get("title") or ""
                content = it.get("content") or it.get("text") or it.get("tokens") or ""
            scores = self._score(normalize(title), normalize(content[:1200])[:1000])  # cheap when already normalised
            if not scores:
                out.append(Prediction(FALLBACK_ITEM, 0.0, True))
                continue
            item, best = max(scores.items(), key=lambda kv: (kv[1], -PROJECT_ITEMS.index(kv[0])))
            conf = best / sum(scores.values())
            out.append(Prediction(item, round(conf, 4), conf < self.low_confidence_below))
        return out

    def predict_labels(self, items: Iterable) -> list[str]:
        return [p.label for p in self.predict(items)]


def _first_char_groups(words: list[str]) -> str:
    """``"|".join(map(re.escape, words))``, grouped by first character: the engine tried every
    keyword at every position that starts one; grouped, only those sharing that character. At a
    position only one group can match, and inside it the words keep their order, so the match
    found is the same (leftmost, first in `words`)."""
    groups: dict[str, list[str]] = {}
    for w in words:
        groups.setdefault(w[0], []).append(re.escape(w[1:]))
    return "|".join(f"{re.escape(ch)}(?:{'|'.join(rests)})" for ch, rests in groups.items())


def load_classifier(path: str | Path | None):
    """The trained model at ``path``, or the lexicon fallback when no path is configured."""
    if path:
        return ItemClassifier.load(path)
    return LexiconClassifier()
