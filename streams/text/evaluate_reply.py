"""Score classify_reply against the hand-labelled gold set (streams/text/data/reply_gold.jsonl).

The gold file holds ids and labels only; the reply texts are read from the shared tipdm2020
data (never copied into the project).  Run: ``python -m streams.text.evaluate_reply``.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

from .datasets import shared_file
from .metrics import classification_report, format_report
from .reply_type import REPLY_TYPES, classify_reply

__all__ = ["load_gold", "evaluate_reply", "main"]


def load_gold(path: str | Path | None = None) -> list[dict]:
    if path is None:
        raw = (resources.files("streams.text") / "data" / "reply_gold.jsonl").read_text(encoding="utf-8")
    else:
        raw = Path(path).read_text(encoding="utf-8")
    return [json.loads(ln) for ln in raw.splitlines() if ln.strip()]


def evaluate_reply(replies_path: str | Path | None = None, gold_path: str | Path | None = None,
                   return_pairs: bool = False) -> dict:
    """Per-class precision/recall/F1, accuracy and macro-F1 of classify_reply on the gold set."""
    replies_path = Path(replies_path) if replies_path else shared_file("messages_with_replies.jsonl")
    gold = {g["id"]: g["label"] for g in load_gold(gold_path)}
    texts: dict = {}
    with open(replies_path, encoding="utf-8") as fh:
        for ln in fh:
            row = json.loads(ln)
            if row["id"] in gold:
                texts[row["id"]] = row.get("reply")
    missing = set(gold) - set(texts)
    if missing:
        raise ValueError(f"{len(missing)} gold ids not found in {replies_path}")
    ids = sorted(gold)
    y_true = [gold[i] for i in ids]
    y_pred = [classify_reply(texts[i]) for i in ids]
    report = classification_report(y_true, y_pred, labels=list(REPLY_TYPES))
    if return_pairs:
        report["pairs"] = list(zip(ids, y_true, y_pred))
    return report


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="score classify_reply on a hand-labelled set")
    ap.add_argument("--gold", help="ids+labels JSONL (default: streams/text/data/reply_gold.jsonl; "
                                   "the blind held-out set is streams/text/data/reply_heldout.jsonl)")
    ap.add_argument("--replies", help="messages_with_replies.jsonl (default: the shared tipdm2020 copy)")
    args = ap.parse_args(argv)
    report = evaluate_reply(args.replies, args.gold)
    print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
