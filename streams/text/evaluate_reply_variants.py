"""Reply type, issue 13 round 2: variants of the shipped model tried by 5-fold CV on the TRAIN part only.

    python -m streams.text.evaluate_reply_variants        (~4 min on two busy cores)

The blind part is never loaded here (``load_reply_labels(split="train")``).  Every variant is
compared with the shipped setting (two heads, C=30, cue weight 0.5, character 1–3-grams of the
first 2,000 characters) on the same folds (seed 13, as ``evaluate_reply.cv_grid``), with the
featurisers fitted inside each training fold.  Rule fixed before the runs: a variant replaces the
shipped model only if its CV macro-F1 beats the baseline by >= 0.015 *and* it is better in at
least 4 of the 5 folds; then it is retrained and the blind part scored once.

Variants: more cue features (13 regex families: 《》 citations, 第…条, 文号, procedures and
materials, conditions, action verb + place object, 经核实/经调查, staff dispatched, fixed/removed,
phone-only contact, meetings, penalties, plus the reply length), one feature per rule pattern,
jieba word 1–2-grams beside the characters, a multinomial model, the two heads as calibrated
LinearSVCs, two-head thresholds chosen by an inner CV (nested), the multinomial and two-head
probabilities averaged, more/less text, C=100, and the similarity-weighted label shares of the k
nearest training replies by character TF-IDF cosine (replies of one department follow templates).
"""

from __future__ import annotations

import re
import sys
import time

import numpy as np

from .reply_rules import REPLY_TYPES

__all__ = ["EXTRA_PATTERNS", "extra_cues", "main"]

_NP = r"[^,;!?。，；！？]"
_NUM = r"[一二三四五六七八九十百零0-9]+"
EXTRA_PATTERNS = [
    r"《[^》]{2,60}》",
    rf"第{_NUM}条|第{_NUM}款|第{_NUM}项",
    r"[〔\[【(（]\s*(?:19|20)\d\d\s*[〕\]】)）]\s*\d+\s*号|\d+\s*号文",
    rf"(?:法|条例|办法|规定|细则|意见|通知|政策)(?:{_NP}){{0,4}}(?:规定|明确|要求|指出)",
    r"办理流程|办理程序|需(?:要)?提供|所需材料|申请材料|相关材料|窗口|受理|网上办理|登录",
    r"条件|资格|标准为|补贴标准|比例|元/|每人每月|年限",
    rf"(?:到|赴|前往|深入|来到)(?:{_NP}){{0,15}}?(?:小区|村|组|工地|门店|学校|公司|路段|路口|市场|厂|店|现场|实地|家中)",
    r"经(?:现场|实地)?(?:核实|核查|调查|查实|了解|走访|排查|检查|勘查)",
    rf"(?:工作人员|执法人员|民警|城管|队员|技术人员|干部)(?:{_NP}){{0,8}}(?:到|对|进行|前往|赶到|上门)",
    rf"已(?:经)?(?:{_NP}){{0,6}}(?:完成|修复|清理|拆除|整改|安装|更换|疏通|清运|维修)",
    rf"(?:电话|致电|来电)(?:{_NP}){{0,4}}(?:联系|沟通|回复|告知|解释)",
    r"约谈|座谈|协调会|见面|面谈|当面",
    r"罚款|处罚|立案|查处|取缔|没收",
]
_EXTRA_RX = [re.compile(p) for p in EXTRA_PATTERNS]


def extra_cues(text: str | None) -> np.ndarray:
    """log1p counts and presence of the 13 extra cue families, and log1p(length)/8."""
    from .reply_rules import clean_reply

    t = clean_reply(text)
    counts = [len(r.findall(t)) for r in _EXTRA_RX]
    return np.array([np.log1p(n) for n in counts] + [float(n > 0) for n in counts] + [np.log1p(len(t)) / 8])


def _pattern_cues(text: str | None) -> np.ndarray:
    """One log1p count per pattern of the rules (instead of the four family counts)."""
    from . import reply_rules as rr

    t = rr.clean_reply(text)
    out = [np.log1p(len(re.findall(p, t))) for pats in (rr._ONSITE_STRONG, rr._ONSITE_WEAK, rr._EXPLAIN_STRONG,
                                                         rr._EXPLAIN_WEAK) for p in pats]
    return np.array(out + [float(bool(rr.find_words(t, rr._ONSITE_TOKENS)))])


def main(argv: list[str] | None = None) -> int:
    from scipy.sparse import csr_matrix, hstack
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    from .evaluate_reply import load_texts
    from .item_selection import macro_f1
    from .items import fit_char_featurizer, fit_word_featurizer, stratified_folds
    from .metrics import classification_report
    from .reply_gold import load_reply_labels
    from .reply_model import _to_two_heads, cue_vector, reply_features_text
    from .segment import cut, stopwords

    train = load_reply_labels(split="train")
    assert all(g["split"] == "train" for g in train)
    texts = load_texts([g["id"] for g in train])
    T, L = [texts[g["id"]] for g in train], [g["label"] for g in train]
    y = np.array([REPLY_TYPES.index(v) for v in L])
    heads = _to_two_heads(L)
    folds = stratified_folds(L, 5, 13)
    cues = np.vstack([cue_vector(t) for t in T])
    extra = np.vstack([extra_cues(t) for t in T])
    per_pattern = np.vstack([_pattern_cues(t) for t in T])
    stop = stopwords()
    words = [[w for w in cut(reply_features_text(t, 2000)) if w not in stop and not re.fullmatch(r"\W+", w)] for t in T]
    char_cache: dict = {}

    def chars(max_chars):
        if max_chars not in char_cache:
            ctext = [reply_features_text(t, max_chars) for t in T]
            char_cache[max_chars] = []
            for test in folds:
                tr = np.setdiff1d(np.arange(len(y)), test)
                char_cache[max_chars].append(
                    fit_char_featurizer([ctext[i] for i in tr], max_n=3, max_features=50_000).transform(ctext))
        return char_cache[max_chars]

    onehot = np.eye(len(REPLY_TYPES))[y]

    def knn_shares(X, tr, test, k):
        """Per reply: the label shares of its k most similar training replies (cosine of the l2-normed
        character TF-IDF), weighted by similarity, and the best similarity. A training reply never
        counts itself; a test reply sees the training part of its fold only."""
        out = np.zeros((X.shape[0], len(REPLY_TYPES) + 1))
        for rows, exclude_self in ((tr, True), (test, False)):
            S = (X[rows] @ X[tr].T).toarray()
            if exclude_self:
                S[np.arange(len(rows)), np.arange(len(rows))] = -1
            near = np.argpartition(-S, k, axis=1)[:, :k]
            w = np.take_along_axis(S, near, 1).clip(0)
            out[rows, :-1] = (onehot[tr][near] * w[..., None]).sum(1) / (w.sum(1, keepdims=True) + 1e-9)
            out[rows, -1] = w.max(1)
        return out

    def lr(C):
        return LogisticRegression(C=C, class_weight="balanced", max_iter=3000)

    def two(on, ex, t_on=0.5, t_ex=0.5):
        if t_on == 0.5 and t_ex == 0.5:
            return np.column_stack([on * (1 - ex), (1 - on) * ex, on * ex, (1 - on) * (1 - ex)]).argmax(1)
        o, e = on >= t_on, ex >= t_ex
        return np.where(o & e, 2, np.where(o, 0, np.where(e, 1, 3)))

    def variant(model="two_heads", C=30.0, cw=0.5, blocks=(), max_chars=2000):
        pred = np.zeros(len(y), dtype=int)
        for f, test in enumerate(folds):
            tr = np.setdiff1d(np.arange(len(y)), test)
            parts = [chars(max_chars)[f], csr_matrix(cues * cw)]
            for b in blocks:
                if b.startswith("knn"):  # "knn<k>": label shares of the k nearest training replies
                    parts.append(csr_matrix(knn_shares(chars(max_chars)[f], tr, test, int(b[3:]))))  # weight 1
                elif b == "words":
                    parts.append(fit_word_featurizer([words[i] for i in tr], bigrams=True).transform(words))
                else:
                    parts.append(csr_matrix({"extra": extra, "pattern": per_pattern}[b] * cw))
            X = hstack(parts).tocsr()
            if model == "multiclass":
                m = lr(C).fit(X[tr], y[tr])
                pred[test] = m.classes_[m.predict_proba(X[test]).argmax(1)]
            elif model == "svc":
                p = [CalibratedClassifierCV(LinearSVC(C=C / 30, class_weight="balanced"), cv=3).fit(X[tr], h[tr])
                     .predict_proba(X[test])[:, 1] for h in heads]
                pred[test] = two(*p)
            elif model == "average":
                m = lr(C).fit(X[tr], y[tr])
                pm = np.zeros((len(test), 4))
                pm[:, m.classes_] = m.predict_proba(X[test])
                on, ex = [lr(C).fit(X[tr], h[tr]).predict_proba(X[test])[:, 1] for h in heads]
                pred[test] = (pm + np.column_stack([on * (1 - ex), (1 - on) * ex, on * ex, (1 - on) * (1 - ex)])).argmax(1)
            elif model == "nested_thresholds":
                inner = stratified_folds([L[i] for i in tr], 5, 7)
                oof = np.zeros((len(tr), 2))
                for te in inner:
                    itr = np.setdiff1d(np.arange(len(tr)), te)
                    for k, h in enumerate(heads):
                        oof[te, k] = lr(C).fit(X[tr[itr]], h[tr[itr]]).predict_proba(X[tr[te]])[:, 1]
                grid = np.arange(0.3, 0.71, 0.05)
                best = max((macro_f1(y[tr], two(oof[:, 0], oof[:, 1], a, b), 4), -abs(a - .5) - abs(b - .5), a, b)
                           for a in grid for b in grid)
                p = [lr(C).fit(X[tr], h[tr]).predict_proba(X[test])[:, 1] for h in heads]
                pred[test] = two(*p, best[2], best[3])
            else:
                pred[test] = two(*[lr(C).fit(X[tr], h[tr]).predict_proba(X[test])[:, 1] for h in heads])
        return pred

    variants = [
        ("shipped: two heads, C=30, cue weight 0.5", {}),
        ("+ 13 extra cue families", {"blocks": ("extra",)}),
        ("+ one feature per rule pattern", {"blocks": ("pattern",)}),
        ("+ jieba word 1-2-grams", {"blocks": ("words",)}),
        ("+ extra cues + words", {"blocks": ("extra", "words")}),
        ("multiclass", {"model": "multiclass"}),
        ("multiclass + extra cues", {"model": "multiclass", "blocks": ("extra",)}),
        ("calibrated LinearSVC heads", {"model": "svc"}),
        ("calibrated LinearSVC heads + extra cues", {"model": "svc", "blocks": ("extra",)}),
        ("multiclass and two heads averaged", {"model": "average"}),
        ("head thresholds by inner CV (nested)", {"model": "nested_thresholds"}),
        ("C=100", {"C": 100.0}),
        ("+ label shares of the 5 nearest training replies", {"blocks": ("knn5",)}),
        ("+ label shares of the 10 nearest training replies", {"blocks": ("knn10",)}),
        ("+ label shares of the 20 nearest training replies", {"blocks": ("knn20",)}),
        ("first 1,000 characters", {"max_chars": 1000}),
        ("whole reply", {"max_chars": None}),
    ]
    print("| variant | CV macro-F1 | minus shipped | folds better | onsite | explanation | both | neither |")
    print("|---|---|---|---|---|---|---|---|")
    base_folds, base_macro = None, None
    t0 = time.perf_counter()
    for name, kw in variants:
        pred = variant(**kw)
        per_fold = np.array([macro_f1(y[t], pred[t], 4) for t in folds])
        rep = classification_report(L, [REPLY_TYPES[v] for v in pred], labels=list(REPLY_TYPES))
        if base_folds is None:
            base_folds, base_macro = per_fold, rep["macro_f1"]
        diff = rep["macro_f1"] - base_macro
        pc = " | ".join(f"{rep['per_class'][t]['f1']:.3f}" for t in REPLY_TYPES)
        print(f"| {name} | {rep['macro_f1']:.4f} | {diff:+.4f} | {int((per_fold > base_folds).sum())} of 5 | {pc} |",
              flush=True)
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
