"""Model selection for the item classifier by (nested) cross-validation on the training data only.

Nothing here looks at the dev set.  ``nested_cv`` estimates each model family with its settings
chosen inside every outer training part (inner k-fold CV); ``select`` makes the same choice on
the whole training set for the model that is shipped.  Families:

* ``baseline`` — the bar to beat: sklearn TfidfVectorizer word 1–2 (defaults) + LinearSVC(C=1);
  no settings to choose.
* ``joint`` — one LinearSVC over word 1–2 + char 1–3 TF-IDF blocks (format-1 model).
* ``average`` — a word LinearSVC and a char LinearSVC, each calibrated by a softmax temperature
  fitted on out-of-fold scores, probabilities averaged.

Grid: C ∈ {0.3, 1, 3} per member and class_weight ∈ {balanced, None} (None = the training
class mix as prior).  Also: ``bootstrap_ci`` (macro-F1 interval by resampling rows) and
``reliability`` (ECE and the reliability-diagram table of the top-class confidence).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .items import (_char_text, fit_char_featurizer, fit_linear, fit_scale, fit_word_featurizer,
                    softmax_rows, stratified_folds, _stack)

__all__ = ["C_GRID", "CLASS_WEIGHTS", "FamilyChoice", "macro_f1", "select", "nested_cv", "bootstrap_ci",
           "paired_bootstrap_ci", "reliability", "baseline_pipeline"]

C_GRID = (0.3, 1.0, 3.0)
CLASS_WEIGHTS = ("balanced", None)


def macro_f1(y_true, y_pred, n_classes: int) -> float:
    """Macro-F1 over the classes present in y_true (integer labels), via one bincount."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    cm = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    tp = np.diag(cm).astype(float)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    denom = support + predicted
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    present = support > 0
    return float(f1[present].mean()) if present.any() else 0.0


@dataclass
class FamilyChoice:
    family: str
    settings: dict
    inner_macro_f1: float
    scales: dict = field(default_factory=dict)  # member -> softmax scale fitted on inner out-of-fold scores


def _oof(X, y_idx, idx, labels, folds, C, cw):
    """Out-of-fold decision scores on rows ``idx`` (folds are positions into idx)."""
    out = np.zeros((len(idx), len(labels)))
    y_names = [labels[i] for i in y_idx]
    for test in folds:
        train = np.setdiff1d(np.arange(len(idx)), test)
        coef, intercept = fit_linear(X[idx[train]], [y_names[idx[i]] for i in train], labels, C=C, class_weight=cw)
        out[test] = X[idx[test]] @ coef.T.astype(np.float64) + intercept
    return out


def select(mats: dict, y_idx, idx, labels: Sequence[str], k: int, seed: int = 13) -> dict[str, FamilyChoice]:
    """Best settings of the ``joint`` and ``average`` families by k-fold CV on rows ``idx``."""
    y_idx = np.asarray(y_idx)
    y_sub = y_idx[idx]
    folds = stratified_folds([labels[i] for i in y_sub], k, seed)
    joint_X = _stack([mats["word"], mats["char"]])
    n = len(labels)
    best: dict[str, FamilyChoice] = {}
    for cw in CLASS_WEIGHTS:
        probs = {}
        for block, X in (("word", mats["word"]), ("char", mats["char"])):
            for C in C_GRID:
                s = _oof(X, y_idx, idx, labels, folds, C, cw)
                scale = fit_scale(s, y_sub)
                probs[(block, C)] = (softmax_rows(s, scale), scale)
        for Cw in C_GRID:
            for Cc in C_GRID:
                p = probs[("word", Cw)][0] + probs[("char", Cc)][0]
                f = macro_f1(y_sub, p.argmax(axis=1), n)
                if "average" not in best or f > best["average"].inner_macro_f1:
                    best["average"] = FamilyChoice("average", {"C_word": Cw, "C_char": Cc, "class_weight": cw}, f,
                                                   {"word": probs[("word", Cw)][1], "char": probs[("char", Cc)][1]})
        for C in C_GRID:
            s = _oof(joint_X, y_idx, idx, labels, folds, C, cw)
            f = macro_f1(y_sub, s.argmax(axis=1), n)
            if "joint" not in best or f > best["joint"].inner_macro_f1:
                best["joint"] = FamilyChoice("joint", {"C": C, "class_weight": cw}, f, {"joint": fit_scale(s, y_sub)})
    return best


def baseline_pipeline():
    """The plain baseline: word 1–2 TF-IDF (sklearn defaults) + LinearSVC(C=1) over space-separated tokens."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    return make_pipeline(TfidfVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False, ngram_range=(1, 2)),
                         LinearSVC(C=1.0))


def _fit_predict(choice: FamilyChoice, mats: dict, y_idx, train, test, labels) -> np.ndarray:
    """Probabilities on ``test`` of the chosen family fitted on ``train``."""
    names = [labels[i] for i in np.asarray(y_idx)[train]]
    s = choice.settings
    if choice.family == "joint":
        X = _stack([mats["word"], mats["char"]])
        coef, b = fit_linear(X[train], names, labels, C=s["C"], class_weight=s["class_weight"])
        return softmax_rows(X[test] @ coef.T.astype(np.float64) + b, choice.scales["joint"])
    p = 0
    for block, C in (("word", s["C_word"]), ("char", s["C_char"])):
        X = mats[block]
        coef, b = fit_linear(X[train], names, labels, C=C, class_weight=s["class_weight"])
        p = p + softmax_rows(X[test] @ coef.T.astype(np.float64) + b, choice.scales[block])
    return p / 2


def _one_outer_fold(token_lists, y_idx, labels, train, test, inner_k, seed):
    word = fit_word_featurizer([token_lists[i] for i in train])
    char = fit_char_featurizer([_char_text(token_lists[i]) for i in train])
    mats = {"word": word.transform(token_lists), "char": char.transform([_char_text(t) for t in token_lists])}
    choices = select(mats, y_idx, train, labels, inner_k, seed)
    probs = {fam: _fit_predict(ch, mats, y_idx, train, test, labels) for fam, ch in choices.items()}
    base = baseline_pipeline().fit([" ".join(token_lists[i]) for i in train], [labels[y_idx[i]] for i in train])
    pred = base.predict([" ".join(token_lists[i]) for i in test])
    probs["baseline"] = np.eye(len(labels))[[labels.index(p) for p in pred]]
    return test, choices, probs


def nested_cv(token_lists: list[list[str]], y: Sequence[str], *, outer_k: int = 5, inner_k: int = 3,
              seed: int = 13, n_jobs: int = 1) -> dict:
    """Outer-fold predictions of every family with settings chosen by inner CV in each outer
    training part (featurisers fitted on the outer training part too).

    Returns {"labels", "y" (int), "probs": {family: (n, n_labels) out-of-fold probabilities},
    "choices": [per outer fold {family: FamilyChoice}], "fold_f1": {family: [macro-F1 per fold]}}."""
    from joblib import Parallel, delayed

    labels = sorted(set(y))
    y_idx = np.array([labels.index(v) for v in y])
    outer = stratified_folds(list(y), outer_k, seed)
    everything = np.arange(len(y_idx))
    jobs = [delayed(_one_outer_fold)(token_lists, y_idx, labels, np.setdiff1d(everything, test), test, inner_k, seed)
            for test in outer]
    results = Parallel(n_jobs=n_jobs)(jobs)
    probs: dict[str, np.ndarray] = {}
    fold_f1: dict[str, list[float]] = {}
    choices = []
    for test, ch, pr in results:
        choices.append(ch)
        for fam, p in pr.items():
            probs.setdefault(fam, np.zeros((len(y_idx), len(labels))))[test] = p
            fold_f1.setdefault(fam, []).append(macro_f1(y_idx[test], p.argmax(axis=1), len(labels)))
    return {"labels": labels, "y": y_idx, "probs": probs, "choices": choices, "fold_f1": fold_f1}


def bootstrap_ci(y_true, y_pred, n_classes: int, *, n: int = 1000, seed: int = 7,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of macro-F1 over ``n`` resamples of the rows (with replacement)."""
    rng = np.random.default_rng(seed)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    stats = [macro_f1(y_true[s], y_pred[s], n_classes)
             for s in rng.integers(0, len(y_true), size=(n, len(y_true)))]
    a = (1 - level) / 2
    return float(np.quantile(stats, a)), float(np.quantile(stats, 1 - a))


def paired_bootstrap_ci(y_true, pred_a, pred_b, n_classes: int, *, n: int = 1000, seed: int = 7,
                        level: float = 0.95) -> tuple[float, float]:
    """Interval of macro-F1(a) − macro-F1(b) resampling the same rows for both (paired)."""
    rng = np.random.default_rng(seed)
    y_true, pred_a, pred_b = np.asarray(y_true), np.asarray(pred_a), np.asarray(pred_b)
    stats = [macro_f1(y_true[s], pred_a[s], n_classes) - macro_f1(y_true[s], pred_b[s], n_classes)
             for s in rng.integers(0, len(y_true), size=(n, len(y_true)))]
    a = (1 - level) / 2
    return float(np.quantile(stats, a)), float(np.quantile(stats, 1 - a))


def reliability(confidence, correct, bins: int = 10) -> dict:
    """Expected calibration error and the reliability-diagram table (equal-width confidence bins)."""
    confidence, correct = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        m = which == b
        if not m.any():
            continue
        conf, acc = float(confidence[m].mean()), float(correct[m].mean())
        ece += m.sum() / len(confidence) * abs(conf - acc)
        rows.append({"bin": f"{edges[b]:.1f}–{edges[b + 1]:.1f}", "n": int(m.sum()), "confidence": conf,
                     "accuracy": acc})
    return {"ece": float(ece), "bins": rows}
