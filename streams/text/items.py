"""Item (事项) classification: a trainable linear model and a keyword-lexicon fallback.

Model (settings chosen by 5-fold cross-validation on the training set, see docs/text.md):

* features: TF-IDF of word uni+bigrams over jieba tokens (our domain dictionary, stop words
  removed to match the publisher of the tipdm training tokens) + TF-IDF of character 1–3-grams
  within words (``char_wb``).  The character n-grams make the model robust to segmentation
  differences between the training tokens and our segmenter.
* title weighting: title tokens are repeated ``title_weight`` times at prediction (the title
  is the densest topical signal; training rows are already "title + content").
* LinearSVC(C=0.3, class_weight="balanced").
* confidence: softmax of the decision scores (temperature fitted on the training set is
  overkill here; scores of LinearSVC are margin-scaled, so a fixed scale is used) —
  ``low_confidence`` when the top probability is below ``low_confidence_below``.

Persistence: a single file (pickle) holding {"format": FORMAT, "version": ..., "model": ...}.
Loading anything else fails with ModelFormatError.
"""

from __future__ import annotations

import json
import math
import pickle
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterable, Sequence

from .segment import normalize, tokens

__all__ = [
    "PROJECT_ITEMS", "FALLBACK_ITEM", "Prediction", "ItemClassifier", "LexiconClassifier",
    "load_classifier", "ModelFormatError", "row_text", "text_tokens",
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

# Prediction-time speed knob: only the first N normalised characters of the content are
# segmented (titles always fully).  See docs/text.md for the accuracy/speed trade-off.
DEFAULT_MAX_CONTENT_CHARS = 600


class ModelFormatError(ValueError):
    """The file is not an item-classifier model of a supported format version."""


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float
    low_confidence: bool


def text_tokens(title: str | None, content: str | None, title_weight: int = 2,
                max_content_chars: int | None = DEFAULT_MAX_CONTENT_CHARS) -> list[str]:
    return tokens(title) * title_weight + tokens(content, max_chars=max_content_chars)


def row_text(row, title_weight: int = 2, max_content_chars: int | None = DEFAULT_MAX_CONTENT_CHARS) -> str:
    """Space-separated tokens for a row: {"tokens": "..."} is used as is, otherwise title/content
    (or text) are segmented.  A bare string is treated as content."""
    if isinstance(row, str):
        return " ".join(text_tokens(None, row, title_weight, max_content_chars))
    if isinstance(row, (tuple, list)) and len(row) == 2:
        return " ".join(text_tokens(row[0], row[1], title_weight, max_content_chars))
    if row.get("tokens") is not None:
        return row["tokens"]
    content = row.get("content") if row.get("content") is not None else row.get("text")
    return " ".join(text_tokens(row.get("title"), content, title_weight, max_content_chars))


def _split(s: str) -> list[str]:
    return s.split()


def _softmax(scores: Sequence[float], scale: float) -> list[float]:
    m = max(scores)
    exps = [math.exp((s - m) * scale) for s in scores]
    z = sum(exps)
    return [e / z for e in exps]


class ItemClassifier:
    """TF-IDF (words + characters) + LinearSVC item classifier."""

    def __init__(self, pipeline=None, labels: Sequence[str] = (), *, title_weight: int = 2,
                 max_content_chars: int | None = DEFAULT_MAX_CONTENT_CHARS,
                 softmax_scale: float = 3.0, low_confidence_below: float = 0.5, meta: dict | None = None):
        self.pipeline = pipeline
        self.labels = list(labels)
        self.title_weight = title_weight
        self.max_content_chars = max_content_chars
        self.softmax_scale = softmax_scale
        self.low_confidence_below = low_confidence_below
        self.meta = dict(meta or {})

    # -- training ----------------------------------------------------------------------------
    @staticmethod
    def build_pipeline(C: float = 0.3, char_ngrams: tuple[int, int] | None = (1, 3),
                       word_ngrams: tuple[int, int] = (1, 2), class_weight: str | None = "balanced"):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_pipeline, make_union
        from sklearn.svm import LinearSVC

        word = TfidfVectorizer(tokenizer=_split, token_pattern=None, lowercase=False,
                               ngram_range=word_ngrams, sublinear_tf=True)
        feats = word
        if char_ngrams:
            char = TfidfVectorizer(analyzer="char_wb", ngram_range=char_ngrams, sublinear_tf=True, min_df=2)
            feats = make_union(word, char)
        return make_pipeline(feats, LinearSVC(C=C, class_weight=class_weight))

    @classmethod
    def train(cls, rows: Iterable[dict], *, C: float = 0.3, char_ngrams: tuple[int, int] | None = (1, 3),
              word_ngrams: tuple[int, int] = (1, 2), class_weight: str | None = "balanced",
              title_weight: int = 2, max_content_chars: int | None = DEFAULT_MAX_CONTENT_CHARS,
              low_confidence_below: float = 0.5) -> "ItemClassifier":
        """Train on rows with "label" and either "tokens" (space separated) or "title"/"content"."""
        texts, labels = [], []
        for row in rows:
            label = row.get("label")
            if not label:
                continue
            # Training texts are not truncated and titles are not repeated: pre-tokenised rows
            # cannot separate the title, and raw rows should look the same.
            texts.append(row_text(row, title_weight=1, max_content_chars=None))
            labels.append(label)
        if len(set(labels)) < 2:
            raise ValueError("training needs at least two distinct labels")
        pipe = cls.build_pipeline(C=C, char_ngrams=char_ngrams, word_ngrams=word_ngrams, class_weight=class_weight)
        pipe.fit(texts, labels)
        meta = {"n_train": len(texts), "C": C, "char_ngrams": char_ngrams, "word_ngrams": word_ngrams,
                "class_weight": class_weight}
        return cls(pipe, list(pipe.classes_), title_weight=title_weight, max_content_chars=max_content_chars,
                   low_confidence_below=low_confidence_below, meta=meta)

    # -- prediction --------------------------------------------------------------------------
    def texts(self, items: Iterable) -> list[str]:
        return [row_text(it, self.title_weight, self.max_content_chars) for it in items]

    def predict(self, titles_and_contents: Iterable) -> list[Prediction]:
        """Items: (title, content) pairs, dicts with title/content or tokens, or plain strings."""
        texts = self.texts(titles_and_contents)
        if not texts:
            return []
        scores = self.pipeline.decision_function(texts)
        out = []
        for row in scores:
            row = [float(v) for v in (row if hasattr(row, "__len__") else [-row, row])]
            probs = _softmax(row, self.softmax_scale)
            best = max(range(len(probs)), key=probs.__getitem__)
            conf = probs[best]
            out.append(Prediction(self.labels[best], round(conf, 4), conf < self.low_confidence_below))
        return out

    def predict_labels(self, items: Iterable) -> list[str]:
        return [p.label for p in self.predict(items)]

    # -- persistence -------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        import sklearn

        payload = {
            "format": FORMAT, "version": FORMAT_VERSION, "sklearn": sklearn.__version__,
            "labels": self.labels, "title_weight": self.title_weight,
            "max_content_chars": self.max_content_chars, "softmax_scale": self.softmax_scale,
            "low_confidence_below": self.low_confidence_below, "meta": self.meta,
            "pipeline": self.pipeline,
        }
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
                head = fh.read(2)
                fh.seek(0)
                if not head or head[0] != 0x80:  # every pickle protocol ≥2 starts with PROTO 0x80
                    raise ModelFormatError(f"{path} is not an item-classifier model file")
                payload = pickle.load(fh)
        except ModelFormatError:
            raise
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError) as exc:
            raise ModelFormatError(f"{path} is not a readable item-classifier model: {exc}") from exc
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ModelFormatError(f"{path} is not an item-classifier model file")
        if payload.get("version") != FORMAT_VERSION:
            raise ModelFormatError(
                f"{path} has model format version {payload.get('version')}, this code reads {FORMAT_VERSION}; retrain it")
        return cls(payload["pipeline"], payload["labels"], title_weight=payload["title_weight"],
                   max_content_chars=payload["max_content_chars"], softmax_scale=payload["softmax_scale"],
                   low_confidence_below=payload["low_confidence_below"], meta=payload.get("meta"))


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
