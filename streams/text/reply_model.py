"""Learned reply-type classifier: character n-gram TF-IDF + the rules' cues, a linear model.

Features of a reply (normalised, transfer/acknowledgement boilerplate removed as by the rules):

* character 1..n-gram TF-IDF (sublinear tf, l2), computed with the numpy featuriser of the item
  classifier (no sklearn at prediction);
* the rules' cues (streams/text/reply_rules.py): log1p counts of strong/weak on-site and
  explanation cues, whether each fired, and the rules' decision one-hot, times ``cue_weight``.

Model: ``structure="multiclass"`` — multinomial logistic regression over the four types; or
``structure="two_heads"`` — two logistic regressions (on-site yes/no, explanation yes/no),
P(both) = p_on·p_ex, P(onsite) = p_on·(1−p_ex), …  Settings chosen by CV on the train part of
the gold set (streams/text/evaluate_reply.py); the confidence is the probability of the type.

File: one ``.npz`` (numpy arrays + a JSON settings string, loaded with allow_pickle=False).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .items import _CharFeaturizer, fit_char_featurizer
from .reply_rules import REPLY_TYPES, _cues, classify_reply_rules, clean_replies, clean_reply

__all__ = ["ReplyModel", "ReplyPrediction", "reply_features_text", "cue_vector", "MODEL_FILE", "FORMAT"]

FORMAT = "hotline-streams/reply-type-model"
FORMAT_VERSION = 1
MODEL_FILE = "reply_model.npz"
N_CUES = 12


@dataclass(frozen=True)
class ReplyPrediction:
    reply_type: str
    confidence: float


def reply_features_text(text: str | None, max_chars: int | None, cleaned: str | None = None) -> str:
    """The text the character block reads: clean_reply(text), cut to max_chars."""
    t = clean_reply(text) if cleaned is None else cleaned
    return t if max_chars is None else t[:max_chars]


def cue_values(text: str | None, cleaned: str | None = None) -> list[float]:
    """N_CUES numbers from the rules: log1p counts and presence of the four cue kinds, and the
    rules' decision one-hot (onsite, explanation, both, neither). A list: the model stacks a
    batch's rows in one np.array call (a small array per reply, np.log1p on scalars and a vstack
    cost ~6 us a reply; math.log1p gives the same doubles, checked for counts 0-5,000)."""
    c = _cues(text, cleaned)
    counts = [len(c[k]) for k in ("onsite_strong", "onsite_weak", "explain_strong", "explain_weak")]
    decision = classify_reply_rules(text, cues=c)
    return ([math.log1p(n) for n in counts] + [float(n > 0) for n in counts]
            + [float(decision == t) for t in REPLY_TYPES])


def cue_vector(text: str | None, cleaned: str | None = None) -> np.ndarray:
    """cue_values as an array."""
    return np.array(cue_values(text, cleaned))


def _to_two_heads(labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    on = np.array([lab in ("onsite", "both") for lab in labels], dtype=int)
    ex = np.array([lab in ("explanation", "both") for lab in labels], dtype=int)
    return on, ex


class ReplyModel:
    def __init__(self, char: _CharFeaturizer, coef: np.ndarray, intercept: np.ndarray, *, structure: str,
                 cue_weight: float, max_chars: int | None, meta: dict | None = None):
        self.char = char
        self.coef = np.asarray(coef, dtype=np.float64)          # (n_heads, n_char + N_CUES)
        self.intercept = np.asarray(intercept, dtype=np.float64)  # (n_heads,)
        self.structure = structure
        self.cue_weight = cue_weight
        self.max_chars = max_chars
        self.meta = dict(meta or {})
        self._w = np.ascontiguousarray(self.coef.T)

    # -- features ---------------------------------------------------------------------------
    def features(self, texts: Sequence[str | None]):
        from scipy.sparse import csr_matrix, hstack

        X = self.char.transform([reply_features_text(t, self.max_chars) for t in texts])
        cues = np.vstack([cue_vector(t) for t in texts]) * self.cue_weight if texts else np.zeros((0, N_CUES))
        return hstack([X, csr_matrix(cues)]).tocsr()

    # -- training ---------------------------------------------------------------------------
    @classmethod
    def train(cls, texts: Sequence[str | None], labels: Sequence[str], *, structure: str = "multiclass",
              C: float = 10.0, cue_weight: float = 1.0, char_ngrams: int = 3, max_chars: int | None = 2000,
              max_char_features: int | None = 50_000, class_weight: str | None = "balanced") -> "ReplyModel":
        from sklearn.linear_model import LogisticRegression

        if structure not in ("multiclass", "two_heads"):
            raise ValueError(f"structure must be 'multiclass' or 'two_heads', not {structure!r}")
        bad = set(labels) - set(REPLY_TYPES)
        if bad:
            raise ValueError(f"unknown reply types {sorted(bad)}; expected {REPLY_TYPES}")
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        char = fit_char_featurizer([reply_features_text(t, max_chars) for t in texts], max_n=char_ngrams,
                                   max_features=max_char_features)
        model = cls(char, np.zeros((1, 1)), np.zeros(1), structure=structure, cue_weight=cue_weight,
                    max_chars=max_chars)
        X = model.features(texts)
        if structure == "multiclass":
            lr = LogisticRegression(C=C, class_weight=class_weight, max_iter=3000).fit(X, list(labels))
            order = [list(lr.classes_).index(t) if t in lr.classes_ else None for t in REPLY_TYPES]
            coef = np.vstack([lr.coef_[i] if i is not None else np.zeros(X.shape[1]) for i in order])
            intercept = np.array([lr.intercept_[i] if i is not None else -1e3 for i in order])
        else:
            rows_c, rows_b = [], []
            for y in _to_two_heads(labels):
                lr = LogisticRegression(C=C, class_weight=class_weight, max_iter=3000).fit(X, y)
                rows_c.append(lr.coef_[0])
                rows_b.append(lr.intercept_[0])
            coef, intercept = np.vstack(rows_c), np.array(rows_b)
        meta = {"n_train": len(labels), "C": C, "char_ngrams": char_ngrams, "max_char_features": max_char_features,
                "class_weight": class_weight}
        return cls(char, coef, intercept, structure=structure, cue_weight=cue_weight, max_chars=max_chars, meta=meta)

    # -- prediction -------------------------------------------------------------------------
    def predict_proba(self, texts: Iterable[str | None]) -> np.ndarray:
        """(n, 4) probabilities, columns in REPLY_TYPES order (onsite, explanation, both, neither)."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(REPLY_TYPES)))
        return self._proba(texts, clean_replies(texts))

    def _proba(self, texts: list, cleaned: list[str]) -> np.ndarray:
        n_char = self.char.n_features
        cues = np.array([cue_values(t, c) for t, c in zip(texts, cleaned)]).reshape(-1, N_CUES) * self.cue_weight
        z = (self.char.scores([reply_features_text(t, self.max_chars, c) for t, c in zip(texts, cleaned)],
                              self._w[:n_char])
             + cues @ self._w[n_char:] + self.intercept)
        if self.structure == "multiclass":
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            return p / p.sum(axis=1, keepdims=True)
        on, ex = 1 / (1 + np.exp(-z[:, 0])), 1 / (1 + np.exp(-z[:, 1]))
        return np.column_stack([on * (1 - ex), (1 - on) * ex, on * ex, (1 - on) * (1 - ex)])

    def predict(self, texts: Iterable[str | None]) -> list[ReplyPrediction]:
        texts = list(texts)
        if not texts:
            return []
        cleaned = clean_replies(texts)
        p = self._proba(texts, cleaned)
        out = []
        for c, row in zip(cleaned, p):
            if not c:  # nothing to read: neither, certainly
                out.append(ReplyPrediction("neither", 1.0))
                continue
            k = int(row.argmax())
            out.append(ReplyPrediction(REPLY_TYPES[k], round(float(row[k]), 4)))
        return out

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        settings = {"format": FORMAT, "version": FORMAT_VERSION, "structure": self.structure,
                    "cue_weight": self.cue_weight, "max_chars": self.max_chars, "max_n": self.char.max_n,
                    "meta": self.meta}
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, settings=np.array(json.dumps(settings)), codes=self.char.codes,
                            ids=self.char.ids, idf=self.char.idf.astype(np.float32),
                            coef=self.coef.astype(np.float32), intercept=self.intercept)
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "ReplyModel":
        """The model at ``path`` (default: the one shipped in streams/text/data); ValueError if
        the file is not a reply-type model of this format version."""
        if path is None:
            with resources.as_file(resources.files("streams.text") / "data" / MODEL_FILE) as p:
                return cls.load(p)
        try:
            with np.load(path, allow_pickle=False) as z:
                settings = json.loads(str(z["settings"]))
                arrays = {k: z[k] for k in ("codes", "ids", "idf", "coef", "intercept")}
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"{path} is not a reply-type model file: {exc}") from exc
        if settings.get("format") != FORMAT or settings.get("version") != FORMAT_VERSION:
            raise ValueError(f"{path}: not a reply-type model of format version {FORMAT_VERSION}")
        char = _CharFeaturizer(None, arrays["idf"].astype(np.float64), settings["max_n"], codes=arrays["codes"],
                               ids=arrays["ids"])
        return cls(char, arrays["coef"], arrays["intercept"], structure=settings["structure"],
                   cue_weight=settings["cue_weight"], max_chars=settings["max_chars"], meta=settings["meta"])
