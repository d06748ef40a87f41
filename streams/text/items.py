"""Item (事项) classification: a trainable linear model and a keyword-lexicon fallback.

Model (settings chosen by 5-fold cross-validation on the training set, see docs/text.md):

* word block: TF-IDF (sublinear tf, l2) of word uni+bigrams over jieba tokens (our domain
  dictionary, stop words removed to match the publisher of the tipdm training tokens);
* character block: TF-IDF of character 1–3-grams of the text with punctuation removed.  It
  makes the model robust to segmentation differences between training tokens and our
  segmenter, and it needs no segmentation at all, so it can see more of the content cheaply;
* LinearSVC(C=0.3, class_weight="balanced") on both blocks;
* prediction: the title is repeated ``title_weight`` times (the densest topical signal);
  words come from the title + first ``word_content_chars`` characters of the content (jieba is
  the slow part), characters from the title + first ``char_content_chars`` characters;
* confidence: softmax of the decision scores (fixed scale); ``low_confidence`` when the top
  probability is below ``low_confidence_below``.

Prediction does not use sklearn: features are computed with numpy (see _CharFeaturizer), which
is ~10x faster than TfidfVectorizer.transform and keeps the model file free of pickled sklearn
objects (only dicts and numpy arrays), so a model survives scikit-learn upgrades.

Persistence: one pickle file {"format": FORMAT, "version": FORMAT_VERSION, ...}; anything else
fails with ModelFormatError.
"""

from __future__ import annotations

import json
import math
import pickle
import re
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
FORMAT_VERSION = 1

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


def _split(s: str) -> list[str]:
    return s.split()


def _softmax(scores: Sequence[float], scale: float) -> list[float]:
    m = max(scores)
    exps = [math.exp((s - m) * scale) for s in scores]
    z = sum(exps)
    return [e / z for e in exps]


class _CharFeaturizer:
    """Character 1..n-gram TF-IDF (sublinear tf, l2) computed with numpy, no Python loop per n-gram.

    Every n-gram of ≤3 code points is packed into one uint64 (21 bits per code point; codes of
    different lengths cannot collide because a leading code point is never 0), the batch is
    scanned with vectorised shifts, and codes are mapped to feature ids by binary search in
    the sorted vocabulary.  This is what makes ≥5,000 tickets/s possible in pure Python.
    """

    def __init__(self, vocabulary: dict[str, int], idf, max_n: int):
        import numpy as np

        self.max_n = max_n
        codes = np.array([self._code(g) for g in vocabulary], dtype=np.uint64)
        ids = np.array(list(vocabulary.values()), dtype=np.int64)
        order = np.argsort(codes)
        self.codes = codes[order]
        self.ids = ids[order]
        self.idf = np.asarray(idf, dtype=np.float64)
        self.n_features = len(vocabulary)

    @staticmethod
    def _code(gram: str) -> int:
        c = 0
        for ch in gram:
            c = (c << 21) | ord(ch)
        return c

    def transform(self, texts: list[str]):
        import numpy as np
        from scipy.sparse import csr_matrix
        from sklearn.preprocessing import normalize as l2

        n_docs = len(texts)
        joined = "\x00".join(texts)  # n-grams spanning a separator contain code 0: never in vocab
        cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n_docs)
        starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
        doc_of = np.repeat(np.arange(n_docs), lengths + 1)[: len(cp)]
        parts_codes, parts_docs = [], []
        for n in range(1, self.max_n + 1):
            if len(cp) < n:
                break
            code = cp[: len(cp) - n + 1].copy()
            for k in range(1, n):
                code = (code << np.uint64(21)) | cp[k: len(cp) - n + 1 + k]
            parts_codes.append(code)
            parts_docs.append(doc_of[: len(code)])
        if not parts_codes:
            return csr_matrix((n_docs, self.n_features))
        codes = np.concatenate(parts_codes)
        docs = np.concatenate(parts_docs)
        pos = np.searchsorted(self.codes, codes)
        pos[pos >= len(self.codes)] = 0
        hit = self.codes[pos] == codes
        feats = self.ids[pos[hit]]
        docs = docs[hit]
        keys, counts = np.unique(docs * self.n_features + feats, return_counts=True)
        rows, cols = np.divmod(keys, self.n_features)
        data = (1.0 + np.log(counts)) * self.idf[cols]
        X = csr_matrix((data, (rows, cols)), shape=(n_docs, self.n_features))
        del starts
        return l2(X)


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


def _char_text(tokens_or_text) -> str:
    """Text for the character block: lower-cased, punctuation and spaces removed."""
    if isinstance(tokens_or_text, list):
        tokens_or_text = "".join(tokens_or_text)
    return _NON_WORD.sub("", tokens_or_text.lower())


class ItemClassifier:
    """Word (jieba) + character n-gram TF-IDF, LinearSVC; fast numpy featurisation at predict time."""

    def __init__(self, labels: Sequence[str], word: "_WordFeaturizer | None", char: "_CharFeaturizer | None",
                 coef, intercept, *, title_weight: int = 2, word_content_chars: int | None = 100,
                 char_content_chars: int | None = 600, softmax_scale: float = 3.0,
                 low_confidence_below: float = 0.5, meta: dict | None = None):
        self.labels = list(labels)
        self.word = word
        self.char = char
        self.coef = coef            # (n_classes, n_word + n_char), dense float32
        self.intercept = intercept  # (n_classes,)
        self.title_weight = title_weight
        self.word_content_chars = word_content_chars
        self.char_content_chars = char_content_chars
        self.softmax_scale = softmax_scale
        self.low_confidence_below = low_confidence_below
        self.meta = dict(meta or {})

    # -- training ----------------------------------------------------------------------------
    @classmethod
    def train(cls, rows: Iterable[dict], *, C: float = 0.3, char_ngrams: int | None = 3,
              word_ngrams: int | None = 2, class_weight: str | None = "balanced",
              title_weight: int = 2, word_content_chars: int | None = 100,
              char_content_chars: int | None = 600, max_char_features: int | None = 150_000,
              low_confidence_below: float = 0.5) -> "ItemClassifier":
        """Train on rows with "label" and either "tokens" (space separated) or "title"/"content".

        Set word_ngrams=None for a character-only model or char_ngrams=None for words only.
        """
        import numpy as np
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

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
            labels.append(label)
        if len(set(labels)) < 2:
            raise ValueError("training needs at least two distinct labels")
        if not word_ngrams and not char_ngrams:
            raise ValueError("need word and/or character features")
        blocks, word, char = [], None, None
        if word_ngrams:
            tv = TfidfVectorizer(analyzer=lambda toks: toks, sublinear_tf=True)
            if word_ngrams >= 2:
                tv = TfidfVectorizer(analyzer=lambda toks: toks + [a + " " + b for a, b in zip(toks, toks[1:])],
                                     sublinear_tf=True)
            tv.fit(token_lists)
            word = _WordFeaturizer(dict(tv.vocabulary_), tv.idf_, bigrams=word_ngrams >= 2)
            blocks.append(word.transform(token_lists))
        if char_ngrams:
            char_texts = [_char_text(t) for t in token_lists]
            # max_char_features keeps the most frequent n-grams: a smaller sorted vocabulary makes
            # the binary-search lookup cache-friendly (2-3x faster) at no measurable accuracy cost.
            cv = TfidfVectorizer(analyzer="char", ngram_range=(1, char_ngrams), sublinear_tf=True, min_df=2,
                                 lowercase=False, max_features=max_char_features)
            cv.fit(char_texts)
            char = _CharFeaturizer(dict(cv.vocabulary_), cv.idf_, char_ngrams)
            blocks.append(char.transform(char_texts))
        X = hstack(blocks).tocsr() if len(blocks) > 1 else blocks[0]
        svm = LinearSVC(C=C, class_weight=class_weight).fit(X, labels)
        coef = np.asarray(svm.coef_, dtype=np.float32)
        intercept = np.asarray(svm.intercept_, dtype=np.float32)
        if coef.shape[0] == 1:  # binary: sklearn stores one row for classes_[1]
            coef = np.vstack([-coef, coef])
            intercept = np.concatenate([-intercept, intercept])
        meta = {"n_train": len(labels), "C": C, "char_ngrams": char_ngrams, "word_ngrams": word_ngrams,
                "class_weight": class_weight, "max_char_features": max_char_features}
        return cls(list(svm.classes_), word, char, coef, intercept, title_weight=title_weight,
                   word_content_chars=word_content_chars, char_content_chars=char_content_chars,
                   low_confidence_below=low_confidence_below, meta=meta)

    # -- prediction --------------------------------------------------------------------------
    def _parts(self, item) -> tuple[list[str] | None, str]:
        """(word tokens, char text) for one input item."""
        if isinstance(item, str):
            title, content, pre = "", item, None
        elif isinstance(item, (tuple, list)):
            title, content, pre = item[0] or "", item[1] or "", None
        else:
            pre = item.get("tokens")
            title = item.get("title") or ""
            content = item.get("content") if item.get("content") is not None else (item.get("text") or "")
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
            t = _char_text(normalize(title))
            if self.char_content_chars is not None:
                # Cut before normalising (NFKC of a long text is the costly part); the slack
                # covers the whitespace padding that normalisation removes.
                c = normalize(content[: self.char_content_chars + 64])[: self.char_content_chars]
            else:
                c = normalize(content)
            ctext = t * tw + _char_text(c)
        return toks, ctext

    def decision_function(self, items: Iterable):
        import numpy as np
        from scipy.sparse import hstack

        parts = [self._parts(it) for it in items]
        blocks = []
        if self.word is not None:
            blocks.append(self.word.transform([p[0] for p in parts]))
        if self.char is not None:
            blocks.append(self.char.transform([p[1] for p in parts]))
        X = hstack(blocks).tocsr() if len(blocks) > 1 else blocks[0]
        return np.asarray(X @ self.coef.T) + self.intercept

    def predict(self, titles_and_contents: Iterable) -> list[Prediction]:
        """Items: (title, content) pairs, dicts with title/content (or text, or tokens), or strings."""
        items = list(titles_and_contents)
        if not items:
            return []
        scores = self.decision_function(items)
        out = []
        for row in scores:
            probs = _softmax([float(v) for v in row], self.softmax_scale)
            best = max(range(len(probs)), key=probs.__getitem__)
            conf = probs[best]
            out.append(Prediction(self.labels[best], round(conf, 4), conf < self.low_confidence_below))
        return out

    def predict_labels(self, items: Iterable) -> list[str]:
        return [p.label for p in self.predict(items)]

    # -- persistence -------------------------------------------------------------------------
    _SETTINGS = ("title_weight", "word_content_chars", "char_content_chars", "softmax_scale",
                 "low_confidence_below", "meta")

    def save(self, path: str | Path) -> None:
        """One pickle file with only builtins and numpy arrays (no sklearn objects inside)."""
        payload = {"format": FORMAT, "version": FORMAT_VERSION, "labels": self.labels,
                   "coef": self.coef, "intercept": self.intercept,
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
        """Load a model saved by save(); ModelFormatError on anything else.

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
        if payload.get("version") != FORMAT_VERSION:
            raise ModelFormatError(f"{path} has model format version {payload.get('version')}, "
                                   f"this code reads {FORMAT_VERSION}; retrain it")
        word = None
        if payload["word"] is not None:
            w = payload["word"]
            word = _WordFeaturizer(w["vocab"], w["idf"], w["bigrams"])
        char = None
        if payload["char"] is not None:
            c = payload["char"]
            char = _CharFeaturizer.__new__(_CharFeaturizer)
            char.codes, char.ids, char.idf = c["codes"], c["ids"], c["idf"]
            char.max_n, char.n_features = c["max_n"], c["n_features"]
        return cls(payload["labels"], word, char, payload["coef"], payload["intercept"],
                   **{k: payload[k] for k in cls._SETTINGS})


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
        self.keywords.sort(key=lambda k: -len(k[0]))
        self.low_confidence_below = low_confidence_below

    def _score(self, title: str, content: str) -> dict[str, float]:
        scores: dict[str, float] = {}
        for word, item, weight in self.keywords:
            n = 2 * title.count(word) + content.count(word)
            if n:
                scores[item] = scores.get(item, 0.0) + weight * n
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
            scores = self._score(normalize(title), normalize(content)[:2000])
            if not scores:
                out.append(Prediction(FALLBACK_ITEM, 0.0, True))
                continue
            item, best = max(scores.items(), key=lambda kv: (kv[1], -PROJECT_ITEMS.index(kv[0])))
            conf = best / sum(scores.values())
            out.append(Prediction(item, round(conf, 4), conf < self.low_confidence_below))
        return out

    def predict_labels(self, items: Iterable) -> list[str]:
        return [p.label for p in self.predict(items)]


def load_classifier(path: str | Path | None):
    """The trained model at ``path``, or the lexicon fallback when no path is configured."""
    if path:
        return ItemClassifier.load(path)
    return LexiconClassifier()
