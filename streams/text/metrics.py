"""Small, dependency-free classification metrics (per-class P/R/F1, macro-F1, confusion)."""

from __future__ import annotations

from collections import Counter

__all__ = ["classification_report", "format_report", "format_confusion"]


def classification_report(y_true: list[str], y_pred: list[str], labels: list[str] | None = None) -> dict:
    if len(y_true) != len(y_pred):
        raise ValueError("y_true and y_pred differ in length")
    if labels is None:
        labels = sorted(set(y_true) | set(y_pred))
    pairs = Counter(zip(y_true, y_pred))
    per_class = {}
    for lab in labels:
        tp = pairs[(lab, lab)]
        pred = sum(n for (t, p), n in pairs.items() if p == lab)
        true = sum(n for (t, p), n in pairs.items() if t == lab)
        prec = tp / pred if pred else 0.0
        rec = tp / true if true else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per_class[lab] = {"precision": prec, "recall": rec, "f1": f1, "support": true}
    present = [lab for lab in labels if per_class[lab]["support"] > 0]
    macro = sum(per_class[lab]["f1"] for lab in present) / len(present) if present else 0.0
    acc = sum(n for (t, p), n in pairs.items() if t == p) / len(y_true) if y_true else 0.0
    confusion = [[pairs[(t, p)] for p in labels] for t in labels]
    return {"labels": labels, "per_class": per_class, "macro_f1": macro, "accuracy": acc,
            "n": len(y_true), "confusion": confusion}


def format_report(report: dict) -> str:
    lines = ["| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for lab in report["labels"]:
        m = report["per_class"][lab]
        lines.append(f"| {lab} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    lines.append(f"\naccuracy {report['accuracy']:.4f}   macro-F1 {report['macro_f1']:.4f}   n={report['n']}")
    return "\n".join(lines)


def format_confusion(report: dict) -> str:
    labels = report["labels"]
    lines = ["| true \\ pred | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for lab, row in zip(labels, report["confusion"]):
        lines.append(f"| {lab} | " + " | ".join(str(n) for n in row) + " |")
    return "\n".join(lines)
