"""Purity and recall of the hot-issue top list (`hotline hot`) against hand-labelled issues.

    PYTHONPATH=. python -m streams.text.evaluate_hot [--file messages_with_votes.jsonl] [--top 20]

Labels: `streams/text/data/hot_issues_<file stem>.jsonl`, one row per message id read, with the
issue it raises (`issue`, a short label of the place/organisation and problem) or `null` when it
belongs to no recurring issue.  2019 file (messages_with_votes, the design set): the messages read
are the pool of the top clusters of the year view of the trackers compared (IR-style pooling), so
recall is relative to the real issues they found.  messages_with_replies (held-out) and unlabeled
(third file): every message of the year window was read (``read: full``), before any tracker ran on
the file, so recall is over all real issues.  An issue is *real* when at least two distinct
complaints raise it.

* purity of a cluster: share of its window's messages that raise its majority issue (unlabelled
  and null messages count against it); a cluster whose majority is null is impure (purity 0).
* issue recall: share of the real issues of the pool that are the majority issue of some cluster
  of the top list; duplicates: clusters of the list whose majority issue an earlier one already has.
* message recall of an issue shown: share of its labelled messages in the cluster that shows it.
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from streams.text.datasets import read_jsonl, shared_file
from streams.text.hot import HotIssueTracker, parse_time, parse_window

DATA = Path(__file__).parent / "data"


def labels_path(file: str) -> Path:
    return DATA / f"hot_issues_{Path(file).stem}.jsonl"


def year_view(file: str, top: int, tracker_cls=HotIssueTracker, window: str = "365d",
              horizon: str = "400d") -> list[tuple[dict, list]]:
    """The top clusters of the year view, each with the ids of its messages in the window."""
    rows = sorted(read_jsonl(shared_file(file)), key=lambda r: r["created_at"])
    tracker = tracker_cls(horizon=parse_window(horizon))
    for r in rows:
        tracker.add(r["id"], r["created_at"], r["title"], r["content"], r.get("likes", 0))
    end = parse_time(rows[-1]["created_at"])
    start = end - parse_window(window)
    out = []
    for c in tracker.top(end, window, top):
        members = tracker._clusters[c["cluster_id"]].members
        out.append((c, [m[1] for m in members if start < m[0] <= end]))
    return out


def score(view: list[tuple[dict, list]], labels: dict[int, str | None]) -> dict:
    complaints = Counter()
    for issue in labels.values():
        if issue:
            complaints[issue] += 1
    real = {i for i, n in complaints.items() if n >= 2}
    shown: dict[str, int] = {}
    rows = []
    for rank, (c, ids) in enumerate(view, 1):
        issues = Counter(labels.get(i) for i in ids)
        majority, n = max(((k, v) for k, v in issues.items() if k), key=lambda kv: (kv[1], kv[0]), default=(None, 0))
        purity = n / len(ids) if ids and majority in real else 0.0
        duplicate = majority in shown if majority in real else False
        if majority in real and not duplicate:
            shown[majority] = rank
        msg_recall = n / complaints[majority] if majority in real else 0.0
        rows.append({"rank": rank, "title": c["title"], "posts": len(ids), "issue": majority,
                     "purity": purity, "duplicate": duplicate, "message_recall": msg_recall})
    return {"rows": rows, "real_issues": len(real), "issues_shown": len(shown),
            "issue_recall": len(shown) / len(real) if real else float("nan"),
            "mean_purity": sum(r["purity"] for r in rows) / len(rows) if rows else float("nan"),
            "duplicates": sum(r["duplicate"] for r in rows), "missed": sorted(real - shown.keys())}


def load_labels(file: str) -> dict[int, str | None]:
    return {int(r["id"]): r["issue"] for r in read_jsonl(labels_path(file))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", default="messages_with_votes.jsonl",
                    help="messages_with_votes.jsonl, messages_with_replies.jsonl or unlabeled.jsonl")
    ap.add_argument("--top", type=int, default=20)
    args = ap.parse_args()
    result = score(year_view(args.file, args.top), load_labels(args.file))
    for r in result["rows"]:
        print(f"{r['rank']:2d} posts {r['posts']:3d} purity {r['purity']:.2f} msg-recall {r['message_recall']:.2f} "
              f"{'DUP ' if r['duplicate'] else ''}{r['issue']} | {r['title'][:40]}")
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, ensure_ascii=False))


if __name__ == "__main__":
    main()
