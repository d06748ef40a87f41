"""Evaluate item classifiers on labelled raw rows; compare with a plain TF-IDF + LinearSVC baseline.

``python -m streams.text.evaluate_items`` trains our model and the baseline on
train_tokens.jsonl and scores both on dev_labeled.jsonl (raw title + content, segmented by
streams.text.segment).  Model settings were chosen by cross-validation on the training set.
"""

from __future__ import annotations

import sys
import time

from .datasets import read_jsonl, shared_file
from .items import ItemClassifier
from .metrics import classification_report, format_confusion, format_report

__all__ = ["evaluate_items", "baseline_classifier", "main"]


def evaluate_items(model, rows: list[dict]) -> dict:
    """accuracy, macro-F1, per-class table and confusion matrix of ``model.predict`` on rows."""
    rows = [r for r in rows if r.get("label")]
    y_true = [r["label"] for r in rows]
    y_pred = [p.label for p in model.predict(rows)]
    labels = sorted(set(y_true) | set(y_pred))
    return classification_report(y_true, y_pred, labels=labels)


def baseline_classifier(train_rows: list[dict]) -> ItemClassifier:
    """The bar to beat: TF-IDF word uni+bigrams + LinearSVC(C=1), no char n-grams, no balancing,
    no title weighting."""
    model = ItemClassifier.train(train_rows, C=1.0, char_ngrams=None, class_weight=None)
    model.title_weight = 1
    model.max_content_chars = None
    return model


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
