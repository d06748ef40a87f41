"""The reply-type gold set: ids + labels read by people, and its fixed train / blind split.

File: streams/text/data/reply_labels.jsonl, one {"id", "label", "split", "source"} per reply of
the shared tipdm2020 messages_with_replies.jsonl (texts are never copied into the project).
Sources: ``gold`` (the 313 replies the rules were written against), ``heldout`` (36, labelled
blind after the rules), ``a`` / ``b`` (two labellers, 550 replies each read by one of them),
``ab`` (100 replies both labelled independently and agreed) and ``adjudicated`` (the 9 of those
100 where they disagreed, decided by a third reading against the definitions in docs/text.md);
those 100 rows also keep both labellings as ``label_a`` / ``label_b`` (agreement 0.91, kappa 0.855).
Third round (the remaining 1,267 replies, so every reply of the file is labelled): each read twice,
independently (``label_c``, ``label_d``; different labellers, each against the definitions in
docs/text.md), ``cd`` where the two agreed and ``cd-adjudicated`` where they did not (279, decided by
a third reading that saw the two labels but not who gave them).

Split: ``blind`` when the SHA-256 of ``reply-split-v1:<id>`` is 0 mod 4 — a quarter, fixed by the
id alone and decided before any model saw the labels.  No choice (features, C, thresholds) is
made on the blind part; it is scored once, by ``python -m streams.text.evaluate_reply``.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Iterable

__all__ = ["LABELS_FILE", "split_of", "load_reply_labels", "cohen_kappa", "merge_labels"]

LABELS_FILE = "reply_labels.jsonl"
_SPLIT_SALT = "reply-split-v1:"


def split_of(reply_id) -> str:
    """"blind" for a fixed quarter of ids (hash of the id only), else "train"."""
    h = hashlib.sha256(f"{_SPLIT_SALT}{reply_id}".encode()).digest()
    return "blind" if int.from_bytes(h[:8], "big") % 4 == 0 else "train"


def load_reply_labels(path: str | Path | None = None, split: str | None = None) -> list[dict]:
    """Rows of the gold file (all, or one split); ValueError on a malformed row."""
    if path is None:
        raw = (resources.files("streams.text") / "data" / LABELS_FILE).read_text(encoding="utf-8")
    else:
        raw = Path(path).read_text(encoding="utf-8")
    from .reply_type import REPLY_TYPES

    rows = []
    for n, ln in enumerate(raw.splitlines(), 1):
        if not ln.strip():
            continue
        row = json.loads(ln)
        if row.get("label") not in REPLY_TYPES or "id" not in row:
            raise ValueError(f"{path or LABELS_FILE} line {n}: needs an id and a label in {REPLY_TYPES}")
        row.setdefault("split", split_of(row["id"]))
        if split is None or row["split"] == split:
            rows.append(row)
    return rows


def cohen_kappa(a: list[str], b: list[str]) -> float:
    """Cohen's kappa of two labellings of the same items."""
    if len(a) != len(b) or not a:
        raise ValueError("two non-empty labellings of equal length needed")
    n = len(a)
    po = sum(x == y for x, y in zip(a, b)) / n
    cats = set(a) | set(b)
    pe = sum((a.count(c) / n) * (b.count(c) / n) for c in cats)
    return (po - pe) / (1 - pe) if pe < 1 else 1.0


def merge_labels(sources: Iterable[tuple[str, dict]], adjudicated: dict) -> list[dict]:
    """One row per id from (source name, {id: label}) pairs in order; an id labelled by two
    sources must agree or be in ``adjudicated`` ({id: label}); ValueError otherwise."""
    seen: dict = {}
    for name, labels in sources:
        for rid, lab in labels.items():
            if rid in seen:
                prev_name, prev_lab = seen[rid]
                if rid in adjudicated:
                    seen[rid] = ("adjudicated", adjudicated[rid])
                elif prev_lab == lab:
                    seen[rid] = ("ab" if {prev_name, name} == {"a", "b"} else prev_name, lab)
                else:
                    raise ValueError(f"id {rid}: {prev_name} says {prev_lab}, {name} says {lab}, not adjudicated")
            else:
                seen[rid] = (name, lab)
    return [{"id": rid, "label": lab, "split": split_of(rid), "source": name}
            for rid, (name, lab) in sorted(seen.items(), key=lambda kv: str(kv[0]))]
