"""Evaluate item classifiers; every setting is chosen by cross-validation on the training data.

``python -m streams.text.evaluate_items [--save MODEL] [--jobs 2]``:

1. nested CV on train_tokens.jsonl (outer 5 folds; settings of each family chosen by 3-fold CV
   inside each outer training part): out-of-fold macro-F1 of the plain baseline and each family,
   a bootstrap interval, and the paired interval of the difference to the baseline;
2. the family with the best nested score, its settings chosen by 5-fold CV on all of
   train_tokens, is trained on all of it;
3. only then dev_labeled.jsonl (raw title + content, no choice made on it): macro-F1 with bootstrap
   interval, paired difference to the baseline, per-class table, and the reliability table of the
   confidence (ECE).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from .datasets import read_jsonl, shared_file
from .items import ItemClassifier, Prediction, _char_text, _rows_to_tokens
from .metrics import classification_report, format_confusion, format_report
from .segment import tokens

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
        from .item_selection import baseline_pipeline

        rows = [r for r in train_rows if r.get("label")]
        self.pipeline = baseline_pipeline()
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


def _fmt_ci(ci) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def main(argv: list[str] | None = None) -> int:
    import argparse

    from .item_selection import (bootstrap_ci, macro_f1, nested_cv, paired_bootstrap_ci, reliability, select)
    from .items import fit_char_featurizer, fit_word_featurizer

    ap = argparse.ArgumentParser(description="nested CV on train_tokens, then one look at dev")
    ap.add_argument("--save", help="write the final model here")
    ap.add_argument("--jobs", type=int, default=2, help="outer folds in parallel (default 2)")
    args = ap.parse_args(argv)

    train = list(read_jsonl(shared_file("train_tokens.jsonl")))
    dev = list(read_jsonl(shared_file("dev_labeled.jsonl")))
    token_lists, y = _rows_to_tokens(train)

    t0 = time.perf_counter()
    cv = nested_cv(token_lists, y, n_jobs=args.jobs)
    labels, yi, n = cv["labels"], cv["y"], len(cv["labels"])
    print(f"## nested CV on train_tokens ({len(y)} rows, outer 5 x inner 3; {time.perf_counter() - t0:.0f}s)\n")
    print("| family | out-of-fold macro-F1 | 95% bootstrap | per fold | minus baseline (paired 95%) |")
    print("|---|---|---|---|---|")
    base_pred = cv["probs"]["baseline"].argmax(axis=1)
    scores = {}
    for fam, p in cv["probs"].items():
        pred = p.argmax(axis=1)
        scores[fam] = macro_f1(yi, pred, n)
        diff = "" if fam == "baseline" else _fmt_ci(paired_bootstrap_ci(yi, pred, base_pred, n))
        folds = " ".join(f"{f:.3f}" for f in cv["fold_f1"][fam])
        print(f"| {fam} | {scores[fam]:.4f} | {_fmt_ci(bootstrap_ci(yi, pred, n))} | {folds} | {diff} |")
    print("\nsettings chosen per outer fold:")
    for i, ch in enumerate(cv["choices"]):
        print(f"  fold {i}: " + "; ".join(f"{f} {c.settings} (inner {c.inner_macro_f1:.4f})" for f, c in ch.items()))
    family = max((f for f in scores if f != "baseline"), key=scores.get)
    rel_cv = reliability(cv["probs"][family].max(axis=1), cv["probs"][family].argmax(axis=1) == yi)
    print(f"\nfamily chosen by nested CV: {family}; out-of-fold ECE {rel_cv['ece']:.4f}")

    # Settings of the shipped model: the same inner procedure on all of train_tokens (5-fold).
    word = fit_word_featurizer(token_lists)
    char = fit_char_featurizer([_char_text(t) for t in token_lists])
    mats = {"word": word.transform(token_lists), "char": char.transform([_char_text(t) for t in token_lists])}
    choice = select(mats, yi, np.arange(len(yi)), labels, 5)[family]
    print(f"settings by 5-fold CV on all training rows: {choice.settings} (CV macro-F1 {choice.inner_macro_f1:.4f})")
    t0 = time.perf_counter()
    model = ItemClassifier.train(train, combine=family, **choice.settings)
    print(f"trained in {time.perf_counter() - t0:.1f}s; member scales "
          + ", ".join(f"{'+'.join(m.blocks)} {m.scale:.2f}" for m in model.members))
    if args.save:
        model.save(args.save)
        print(f"saved to {args.save}")

    # One look at dev.
    base = baseline_classifier(train)
    dev = [r for r in dev if r.get("label")]
    dl = sorted(set(r["label"] for r in dev) | set(labels))
    d_true = np.array([dl.index(r["label"]) for r in dev])
    probs = model.predict_proba(dev)
    d_ours = np.array([dl.index(model.labels[j]) for j in probs.argmax(axis=1)])
    d_base = np.array([dl.index(p.label) for p in base.predict(dev)])
    print(f"\n## dev_labeled ({len(dev)} rows, no choice made on it)\n")
    print("| model | macro-F1 | 95% bootstrap | minus baseline (paired 95%) |\n|---|---|---|---|")
    print(f"| baseline | {macro_f1(d_true, d_base, len(dl)):.4f} | {_fmt_ci(bootstrap_ci(d_true, d_base, len(dl)))} | |")
    print(f"| ours ({family}) | {macro_f1(d_true, d_ours, len(dl)):.4f} | "
          f"{_fmt_ci(bootstrap_ci(d_true, d_ours, len(dl)))} | "
          f"{_fmt_ci(paired_bootstrap_ci(d_true, d_ours, d_base, len(dl)))} |")
    rep = classification_report([dl[i] for i in d_true], [dl[i] for i in d_ours], labels=dl)
    print("\n" + format_report(rep) + "\n\n" + format_confusion(rep))
    rel = reliability(probs.max(axis=1), d_ours == d_true)
    print(f"\nreliability on dev (top-class confidence), ECE {rel['ece']:.4f}\n")
    print("| confidence | n | mean confidence | accuracy |\n|---|---|---|---|")
    for b in rel["bins"]:
        print(f"| {b['bin']} | {b['n']} | {b['confidence']:.3f} | {b['accuracy']:.3f} |")
    low = probs.max(axis=1) < model.low_confidence_below
    print(f"\nlow_confidence (< {model.low_confidence_below}): {low.mean():.1%} of dev, "
          f"accuracy there {np.mean((d_ours == d_true)[low]) if low.any() else float('nan'):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
