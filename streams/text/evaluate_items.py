"""Evaluate item classifiers on labelled raw rows; compare with a plain TF-IDF + LinearSVC baseline.

``python -m streams.text.evaluate_items`` trains our model and the baseline on
train_tokens.jsonl and scores both on dev_labeled.jsonl (raw title + content, segmented by
streams.text.segment).  Model settings were chosen by cross-validation on the training set.
"""

from __future__ import annotations

import sys
import time

from .datasets import read_jsonl, shared_file
from .items import ItemClassifier, Prediction
from .segment import tokens
from .metrics import classification_report, format_confusion, format_report

__all__ = ["evaluate_items", "baseline_classifier", "BaselineClassifier", "main"]


def evaluate_items(model, rows: list[dict]) -> dict:
    """accuracy, macro-F1, per-class table and confusion matrix of ``model.predict`` on rows."""
    rows = [r for r in rows if r.get("label")]
    y_true = [r["label"] for r in rows]
    y_pred = [p.label for p in model.predict(rows)]
    labels = sorted(set(y_true) | set(y_pred))
    return classification_report(y_true, y_pred, labels=labels)


class BaselineClassifier:
    """The bar to beat: TF-IDF of word uni+bigrams + LinearSVC(C=1), sklearn defaults otherwise;
    raw rows are segmented in full with our segmenter (title + content, no weighting)."""

    def __init__(self, train_rows: list[dict]):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_pipeline
        from sklearn.svm import LinearSVC

        rows = [r for r in train_rows if r.get("label")]
        self.pipeline = make_pipeline(
            TfidfVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False, ngram_range=(1, 2)),
            LinearSVC(C=1.0))
        self.pipeline.fit([self._text(r) for r in rows], [r["label"] for r in rows])

    @staticmethod
    def _text(row) -> str:
        if row.get("tokens") is not None:
            return row["tokens"]
        return " ".join(tokens(row.get("title")) + tokens(row.get("content")))

    def predict(self, rows) -> list[Prediction]:
        return [Prediction(label, 1.0, False) for label in self.pipeline.predict([self._text(r) for r in rows])]


def baseline_classifier(train_rows: list[dict]) -> BaselineClassifier:
    return BaselineClassifier(train_rows)


def main(argv: list[str] | None = None) -> int:
    train = list(read_jsonl(shared_file("train_tokens.jsonl")))
    dev = list(read_jsonl(shared_file("dev_labeled.jsonl")))
    t0 = time.perf_counter()
    ours = ItemClassifier.train(train)
    print(f"trained in {time.perf_counter() - t0:.1f}s on {len(train)} rows")
    base = baseline_classifier(train)
    for name, model in (("ours", ours), ("baseline TF-IDF+LinearSVC", base)):
        rep = evaluate_items(model, dev)
        print(f"\n## {name}: accuracy {rep['accuracy']:.4f}  macro-F1 {rep['macro_f1']:.4f}")
        print(format_report(rep))
        print(format_confusion(rep))
    return 0


if __name__ == "__main__":
    sys.exit(main())
