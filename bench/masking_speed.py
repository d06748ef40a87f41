"""Masking throughput on the real tipdm texts (titles, messages and replies), one thread.

    PYTHONPATH=. python bench/masking_speed.py [--passes 5]

Prints texts/s (best and median of the passes) and how many personal numbers each kind found.
The worker masks the title, content and reply of every ticket, so this is on the hot path.
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter

from streams.text.datasets import read_jsonl, shared_available, shared_file
from streams.text.masking import find_personal_numbers, mask_personal_numbers


def texts() -> list[str]:
    out = []
    for name in ("messages_with_votes.jsonl", "messages_with_replies.jsonl"):
        for r in read_jsonl(shared_file(name)):
            out += [r[k] for k in ("title", "content", "reply") if r.get(k)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--passes", type=int, default=5)
    args = ap.parse_args()
    if not shared_available("README.md"):
        raise SystemExit("shared tipdm2020 data not found (../shared/data/tipdm2020 or HOTLINE_SHARED_DIR)")
    corpus = texts()
    rates = []
    for _ in range(args.passes):
        t0 = time.perf_counter()
        for t in corpus:
            mask_personal_numbers(t)
        rates.append(len(corpus) / (time.perf_counter() - t0))
    kinds = Counter(k for t in corpus for k, _ in find_personal_numbers(t))
    chars = sum(map(len, corpus)) / len(corpus)
    print(f"{len(corpus)} texts ({chars:.0f} chars on average): best {max(rates):,.0f} texts/s, "
          f"median {statistics.median(rates):,.0f} texts/s")
    print("found:", dict(sorted(kinds.items())))


if __name__ == "__main__":
    main()
