"""argparse subcommands for the text tools: train, classify, evaluate, hot.

``register(subparsers)`` adds them to an existing parser (the ``hotline`` entry point);
``python -m streams.text …`` runs them stand-alone.
"""

from __future__ import annotations

import argparse
import json
import sys

from streams.core.records import chunks

__all__ = ["register", "main"]


def _read_jsonl(path: str):
    from .datasets import read_jsonl

    if path == "-":
        return (json.loads(ln) for ln in sys.stdin if ln.strip())
    return read_jsonl(path)


def _cmd_train(args) -> int:
    from .items import ItemClassifier

    rows = list(_read_jsonl(args.data))
    model = ItemClassifier.train(rows, combine=args.combine, C=args.C, C_word=args.C, C_char=args.C,
                                 word_ngrams=None if args.no_words else 2, word_min_df=args.word_min_df)
    model.save(args.output)
    print(f"trained on {model.meta['n_train']} rows, {len(model.labels)} labels -> {args.output}", file=sys.stderr)
    return 0


def _cmd_classify(args) -> int:
    if args.task == "reply":
        return _classify_replies(args)
    from .items import load_classifier

    model = load_classifier(args.model)
    out = sys.stdout
    for batch in chunks(_read_jsonl(args.file), 512):
        for row, pred in zip(batch, model.predict(batch)):
            if args.json:
                rec = {"id": row.get("id"), "label": pred.label, "confidence": pred.confidence,
                       "low_confidence": pred.low_confidence}
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
            else:
                flag = "\tlow" if pred.low_confidence else ""
                out.write(f"{row.get('id', '')}\t{pred.label}\t{pred.confidence:.3f}{flag}\n")
    return 0


def _classify_replies(args) -> int:
    """One {"reply_type", "confidence"} per input row, in input order.  A line that is not JSON,
    or a row without a ``reply`` field holding a string or null, stops with an error naming the
    line (exit 2); rows of earlier batches of 512 have been written, none of its own batch."""
    from .reply_type import classify_replies

    fh = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
    out = sys.stdout

    def rows():
        for n, ln in enumerate(fh, 1):
            if not ln.strip():
                continue
            try:
                row = json.loads(ln)
            except json.JSONDecodeError as exc:
                raise _BadRow(f"{args.file} line {n}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict) or "reply" not in row or not (row["reply"] is None or isinstance(row["reply"], str)):
                raise _BadRow(f"{args.file} line {n}: needs a 'reply' field holding a string or null")
            yield row

    try:
        for batch in chunks(rows(), 512):
            for row, (kind, conf) in zip(batch, classify_replies([r["reply"] for r in batch], args.model)):
                if args.json:
                    out.write(json.dumps({"reply_type": kind, "confidence": conf}) + "\n")
                else:
                    out.write(f"{row.get('id', '')}\t{kind}\t{conf:.3f}\n")
    except _BadRow as exc:
        out.flush()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if fh is not sys.stdin:
            fh.close()
    return 0


class _BadRow(ValueError):
    """An input row the command cannot classify."""


def _cmd_evaluate(args) -> int:
    from .evaluate_items import evaluate_items
    from .items import load_classifier
    from .metrics import format_confusion, format_report

    model = load_classifier(args.model)
    rep = evaluate_items(model, list(_read_jsonl(args.file)))
    print(f"accuracy {rep['accuracy']:.4f}  macro-F1 {rep['macro_f1']:.4f}  n={rep['n']}\n")
    print(format_report(rep))
    print()
    print(format_confusion(rep))
    return 0


def _cmd_hot(args) -> int:
    from .hot import HotIssueTracker, parse_time, parse_window

    window = parse_window(args.window)
    rows = []
    for row in _read_jsonl(args.file):
        t = row.get("created_at") or row.get("received_at")
        if t is None:
            continue
        rows.append((parse_time(t), row))
    rows.sort(key=lambda tr: tr[0])  # the tracker is event-time driven: feed in time order
    horizon = max(parse_window(args.horizon), 2 * window)
    tracker = HotIssueTracker(horizon=horizon, threshold=args.threshold)
    for t, row in rows:
        tracker.add(row.get("id"), t, row.get("title"), row.get("content"), row.get("likes") or 0)
    end = parse_time(args.end) if args.end else (rows[-1][0] if rows else None)
    top = tracker.top(end, window, args.top) if end else []
    if args.json:
        for c in top:
            print(json.dumps(c, ensure_ascii=False))
    else:
        print(f"top {len(top)} hot issues, window {args.window} ending {end}")
        for i, c in enumerate(top, 1):
            print(f"{i:2d}. heat {c['heat']:7.2f}  n={c['count']:3d} (prev {c['count_previous_window']})  "
                  f"likes {c['likes']:5d}  {c['first_seen'][:10]}..{c['last_seen'][:10]}  {c['title']}")
            print(f"    key terms: {' '.join(c['key_terms'])}")
    return 0


def register(subparsers) -> None:
    """Add train / classify / evaluate / hot to an argparse subparsers object."""
    p = subparsers.add_parser("train", help="train the item classifier on JSONL rows")
    p.add_argument("--data", required=True, help='JSONL: {"tokens"} or {"title","content"} plus "label"')
    p.add_argument("-o", "--output", required=True, help="model file to write")
    p.add_argument("--C", type=float, default=1.0, help="LinearSVC regularisation (default 1.0, chosen by CV)")
    p.add_argument("--combine", choices=("joint", "average"), default="joint",
                   help="joint (default, chosen by nested CV): one model over word + char blocks; "
                        "average: calibrated word and char models, probabilities averaged")
    p.add_argument("--no-words", action="store_true", help="character n-grams only (no jieba at prediction)")
    p.add_argument("--word-min-df", type=int, default=1, help="drop words seen in fewer documents (2: 3x smaller file)")
    p.set_defaults(func=_cmd_train)

    p = subparsers.add_parser("classify", help="classify JSONL tickets into items, or replies into reply types")
    p.add_argument("file", help="JSONL file, or - for stdin")
    p.add_argument("--task", choices=("item", "reply"), default="item",
                   help="item (default): rows with title/content -> item; reply: rows with a 'reply' field -> "
                        "onsite|explanation|both|neither")
    p.add_argument("--model", help="item: trained model (without it the keyword lexicon is used); "
                                   "reply: reply model .npz (default: the one shipped in the package)")
    p.add_argument("--json", action="store_true", help="one JSON object per input line, in input order")
    p.set_defaults(func=_cmd_classify)

    p = subparsers.add_parser("evaluate", help="accuracy, macro-F1, per-class table, confusion matrix")
    p.add_argument("file", help="labelled JSONL (title/content or tokens, and label)")
    p.add_argument("--model", help="trained model; without it the keyword lexicon is used")
    p.set_defaults(func=_cmd_evaluate)

    p = subparsers.add_parser("hot", help="hot issues: cluster similar complaints, rank by heat")
    p.add_argument("file", help="JSONL with title, content, created_at (or received_at), likes")
    p.add_argument("--window", default="7d", help="ranking window ending at the last message (default 7d)")
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.add_argument("--end", help="window end (default: time of the last message)")
    p.add_argument("--horizon", default="30d", help="how long clusters are remembered (default 30d)")
    p.add_argument("--threshold", type=float, default=0.4, help="similarity to join a cluster (default 0.4)")
    p.set_defaults(func=_cmd_hot)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.text", description="hotline text tools")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # e.g. piped into head: not an error
        return 0
