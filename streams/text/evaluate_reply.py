"""Reply type: choose the learned model by CV on the train part of the gold set, score it once
on the blind part beside the hand-written rules.

``python -m streams.text.evaluate_reply [--save streams/text/data/reply_model.npz]``:

1. agreement of the independent labellings (a/b: 100 replies of the first rounds; c/d: the 1,267 of
   the third, each read twice): raw agreement and Cohen's kappa — what a careful reader reaches;
2. 5-fold CV on the train part (settings grid below; featurisers fitted inside each fold);
3. the best setting by CV macro-F1 is trained on the whole train part;
4. blind part (never used for a choice): macro-F1 with bootstrap interval, per-class F1, for the
   model, the rules, a plain baseline (character 1-3-gram TF-IDF + LinearSVC, sklearn defaults, trained
   on the same train part) and (``--previous``) a model saved before; also by part of the blind set
   (the third round's replies had never been scored). ``--shipped`` skips steps 2-3 and scores the
   shipped model.

The gold file holds ids and labels only; texts are read from the shared tipdm2020 data.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

from .datasets import shared_file
from .metrics import classification_report, format_report
from .reply_gold import cohen_kappa, load_reply_labels
from .reply_type import REPLY_TYPES, classify_reply_rules

__all__ = ["load_texts", "evaluate_reply", "cv_grid", "GRID", "main"]

GRID = {"structure": ("multiclass", "two_heads"), "C": (3.0, 10.0, 30.0), "cue_weight": (0.0, 0.5, 1.0)}


def load_texts(ids, replies_path: str | Path | None = None) -> dict:
    """{id: reply text} for the given ids; ValueError when some id is not in the file."""
    replies_path = Path(replies_path) if replies_path else shared_file("messages_with_replies.jsonl")
    want, texts = set(ids), {}
    with open(replies_path, encoding="utf-8") as fh:
        for ln in fh:
            row = json.loads(ln)
            if row["id"] in want:
                texts[row["id"]] = row.get("reply")
    missing = want - set(texts)
    if missing:
        raise ValueError(f"{len(missing)} gold ids not found in {replies_path}")
    return texts


def evaluate_reply(classify=None, split: str | None = "blind", replies_path: str | Path | None = None,
                   gold_path: str | Path | None = None, sources: set[str] | None = None) -> dict:
    """Per-class P/R/F1, accuracy and macro-F1 of ``classify`` (text -> type; default the
    package's classify_reply) on one split of the gold set (None: all of it)."""
    if classify is None:
        from .reply_type import classify_reply as classify
    gold = [g for g in load_reply_labels(gold_path, split) if sources is None or g["source"] in sources]
    texts = load_texts([g["id"] for g in gold], replies_path)
    y_true = [g["label"] for g in gold]
    y_pred = [classify(texts[g["id"]]) for g in gold]
    return classification_report(y_true, y_pred, labels=list(REPLY_TYPES))


def cv_grid(texts: list, labels: list[str], k: int = 5, seed: int = 13) -> list[dict]:
    """CV macro-F1 and `both` F1 of every GRID setting (featurisers fitted on each training fold)."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.linear_model import LogisticRegression

    from .item_selection import macro_f1
    from .items import fit_char_featurizer, stratified_folds
    from .reply_model import _to_two_heads, cue_vector, reply_features_text

    y = np.array([REPLY_TYPES.index(v) for v in labels])
    cues = np.vstack([cue_vector(t) for t in texts])
    ctext = [reply_features_text(t, 2000) for t in texts]
    settings = [dict(zip(GRID, v)) for v in itertools.product(*GRID.values())]
    preds = {i: np.zeros(len(y), dtype=int) for i in range(len(settings))}
    for test in stratified_folds(labels, k, seed):
        train = np.setdiff1d(np.arange(len(y)), test)
        char = fit_char_featurizer([ctext[i] for i in train], max_n=3, max_features=50_000)
        Xc = char.transform(ctext)
        for i, s in enumerate(settings):
            X = hstack([Xc, csr_matrix(cues * s["cue_weight"])]).tocsr()
            if s["structure"] == "multiclass":
                lr = LogisticRegression(C=s["C"], class_weight="balanced", max_iter=3000).fit(X[train], y[train])
                preds[i][test] = lr.classes_[lr.predict_proba(X[test]).argmax(axis=1)]
            else:
                p = []
                for yy in _to_two_heads(labels):
                    lr = LogisticRegression(C=s["C"], class_weight="balanced", max_iter=3000).fit(X[train], yy[train])
                    p.append(lr.predict_proba(X[test])[:, 1])
                on, ex = p
                probs = np.column_stack([on * (1 - ex), (1 - on) * ex, on * ex, (1 - on) * (1 - ex)])
                preds[i][test] = probs.argmax(axis=1)
    out = []
    for i, s in enumerate(settings):
        rep = classification_report([REPLY_TYPES[v] for v in y], [REPLY_TYPES[v] for v in preds[i]],
                                    labels=list(REPLY_TYPES))
        out.append({**s, "macro_f1": macro_f1(y, preds[i], 4), "both_f1": rep["per_class"]["both"]["f1"]})
    return out


def _per_class(rep: dict) -> str:
    return " ".join(f"{t} {rep['per_class'][t]['f1']:.3f}" for t in REPLY_TYPES)


def plain_baseline(texts: list, labels: list[str]):
    """The plain baseline the model must beat: character 1-3-gram TF-IDF + LinearSVC, sklearn's
    defaults, on the raw reply (no cleaning, no cues). Returns a predict(texts) -> labels function."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    pipe = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 3)), LinearSVC())
    pipe.fit([t or "" for t in texts], list(labels))
    return lambda xs: [str(v) for v in pipe.predict([t or "" for t in xs])]


def _select_and_train(t_texts: list, t_labels: list[str], save: str | None):
    from .reply_model import ReplyModel

    t0 = time.perf_counter()
    table = cv_grid(t_texts, t_labels)
    print(f"\n## 5-fold CV on the train part ({time.perf_counter() - t0:.0f}s)\n")
    print("| structure | C | cue weight | CV macro-F1 | CV both F1 |\n|---|---|---|---|---|")
    for r in sorted(table, key=lambda r: -r["macro_f1"]):
        print(f"| {r['structure']} | {r['C']:g} | {r['cue_weight']:g} | {r['macro_f1']:.4f} | {r['both_f1']:.3f} |")
    rules_train = classification_report(t_labels, [classify_reply_rules(t) for t in t_texts], labels=list(REPLY_TYPES))
    print(f"\nrules on the train part: macro-F1 {rules_train['macro_f1']:.4f} ({_per_class(rules_train)})")
    best = max(table, key=lambda r: r["macro_f1"])
    chosen = {k: best[k] for k in GRID}
    print(f"chosen by CV: {chosen} (CV macro-F1 {best['macro_f1']:.4f})")
    model = ReplyModel.train(t_texts, t_labels, **chosen)
    if save:
        model.save(save)
        print(f"saved to {save} ({Path(save).stat().st_size / 1e6:.2f} MB)")
    return model


def main(argv: list[str] | None = None) -> int:
    import argparse

    from .item_selection import bootstrap_ci, paired_bootstrap_ci
    from .reply_model import ReplyModel

    ap = argparse.ArgumentParser(description="reply type: CV on the train part, one look at the blind part")
    ap.add_argument("--replies", help="messages_with_replies.jsonl (default: the shared tipdm2020 copy)")
    ap.add_argument("--save", help="write the final model here (the shipped one: streams/text/data/reply_model.npz)")
    ap.add_argument("--previous", help="also score this saved model on the blind part (the one shipped before)")
    ap.add_argument("--shipped", action="store_true",
                    help="no CV and no training: score the shipped model, the rules and the plain baseline on the blind part")
    args = ap.parse_args(argv)

    gold = load_reply_labels()
    texts = load_texts([g["id"] for g in gold], args.replies)
    for first, second in (("a", "b"), ("c", "d")):
        double = [g for g in gold if f"label_{first}" in g]
        if not double:
            continue
        a, b = [g[f"label_{first}"] for g in double], [g[f"label_{second}"] for g in double]
        agree = sum(x == y for x, y in zip(a, b)) / len(double)
        print(f"## agreement of two independent labellings {first}/{second} ({len(double)} replies): raw {agree:.3f}, "
              f"Cohen's kappa {cohen_kappa(a, b):.3f}; the {sum(x != y for x, y in zip(a, b))} disagreements adjudicated")
        for name, other in ((f"labeller {first.upper()}", a), (f"labeller {second.upper()}", b)):
            rep = classification_report([g["label"] for g in double], other, labels=list(REPLY_TYPES))
            print(f"   {name} vs adjudicated: macro-F1 {rep['macro_f1']:.3f} ({_per_class(rep)})")

    train = [g for g in gold if g["split"] == "train"]
    blind = [g for g in gold if g["split"] == "blind"]
    print(f"\ngold: {len(gold)} replies, train {len(train)}, blind {len(blind)}")
    t_texts, t_labels = [texts[g["id"]] for g in train], [g["label"] for g in train]

    if args.shipped:
        model = ReplyModel.load()  # the shipped one
    else:
        model = _select_and_train(t_texts, t_labels, args.save)

    # One look at the blind part.
    b_texts, b_labels = [texts[g["id"]] for g in blind], [g["label"] for g in blind]
    yb = np.array([REPLY_TYPES.index(v) for v in b_labels])
    print(f"\n## blind part ({len(blind)} replies, no choice made on it)\n")
    print("| classifier | macro-F1 | 95% bootstrap | onsite | explanation | both | neither | accuracy |")
    print("|---|---|---|---|---|---|---|---|")
    preds = {"learned model": [p.reply_type for p in model.predict(b_texts)],
             "rules": [classify_reply_rules(t) for t in b_texts],
             "plain baseline": plain_baseline(t_texts, t_labels)(b_texts)}
    for name, pred in preds.items():
        rep = classification_report(b_labels, pred, labels=list(REPLY_TYPES))
        pi = np.array([REPLY_TYPES.index(v) for v in pred])
        ci = bootstrap_ci(yb, pi, 4)
        pc = " | ".join(f"{rep['per_class'][t]['f1']:.3f}" for t in REPLY_TYPES)
        print(f"| {name} | {rep['macro_f1']:.4f} | [{ci[0]:.3f}, {ci[1]:.3f}] | {pc} | {rep['accuracy']:.3f} |")
    pm = np.array([REPLY_TYPES.index(v) for v in preds["learned model"]])
    pr = np.array([REPLY_TYPES.index(v) for v in preds["rules"]])
    lo, hi = paired_bootstrap_ci(yb, pm, pr, 4)
    print(f"\nlearned model minus rules, macro-F1 (paired bootstrap 95%): [{lo:.3f}, {hi:.3f}]")
    pb = np.array([REPLY_TYPES.index(v) for v in preds["plain baseline"]])
    lo, hi = paired_bootstrap_ci(yb, pm, pb, 4)
    print(f"learned model minus plain baseline, macro-F1 (paired bootstrap 95%): [{lo:.3f}, {hi:.3f}]")
    if args.previous:  # the model shipped before this run, on the same blind rows
        preds[f"previous model ({args.previous})"] = [p.reply_type for p in ReplyModel.load(args.previous).predict(b_texts)]
    parts = {"the rules were not written against (source != gold)": lambda g: g["source"] != "gold",
             "labelled in the third round (sources c, cd; never scored before)": lambda g: g["source"].startswith("c"),
             "of the first two rounds (scored twice before)": lambda g: not g["source"].startswith("c")}
    for title, keep in parts.items():
        idx = [i for i, g in enumerate(blind) if keep(g)]
        yi = np.array([yb[i] for i in idx])
        print(f"\nblind replies {title}, n={len(idx)}:")
        for name, pred in preds.items():
            rep = classification_report([b_labels[i] for i in idx], [pred[i] for i in idx], labels=list(REPLY_TYPES))
            ci = bootstrap_ci(yi, np.array([REPLY_TYPES.index(pred[i]) for i in idx]), 4)
            print(f"  {name}: macro-F1 {rep['macro_f1']:.4f} [{ci[0]:.3f}, {ci[1]:.3f}] ({_per_class(rep)})")
    print("\nlearned model, blind part:\n" + format_report(
        classification_report(b_labels, preds["learned model"], labels=list(REPLY_TYPES))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
