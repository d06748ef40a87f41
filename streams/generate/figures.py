"""The study's figures of a replica, computed with the batch report's definitions (see calibration.py).

A plain-Python cross-check for the generator's own tests and for calibrating it, independent of
the pipeline: from `Ticket`s (true items, also where the record hides the category) or from a
clean JSONL file (items as written; tickets whose category is missing are then counted under
None, since predicting them is the pipeline's job).

    python -m streams.generate.figures FILE.jsonl      # figures of a clean snapshot/lifecycle file
"""
from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from streams.generate.calibration import PUBLIC_SERVICE_CLAIM
from streams.generate.model import DAY, Ticket, load_taxonomy_doc


@dataclass(frozen=True, slots=True)
class Row:
    """What the figures need of one ticket."""
    item: str | None
    subcategory: str | None
    received: int  # local seconds
    channel: str  # canonical
    withdrawn: bool
    repeat: bool
    satisfaction: int | None


def rows_from_tickets(tickets: Iterable[Ticket]) -> Iterable[Row]:
    for t in tickets:
        yield Row(t.item, t.subcategory, t.received, t.channel, t.withdrawn_at is not None, t.repeat_of is not None,
                  t.satisfaction)


def _local_seconds(value: str) -> int:
    dt = datetime.fromisoformat(value)
    return int(dt.timestamp()) + 8 * 3600  # any offset -> Shanghai wall clock


def rows_from_file(path: str) -> list[Row]:
    """Final states of the tickets of a clean snapshot or lifecycle file."""
    from schemas.taxonomy import from_dict

    tax = from_dict(load_taxonomy_doc())
    state: dict[str, dict] = {}
    with open(path, "rb") as fh:
        for line in fh:
            r = json.loads(line)
            state.setdefault(r["ticket_id"], {}).update(r)
    return [Row(r.get("category"), r.get("subcategory"), _local_seconds(r["received_at"]), tax.channel(r["channel"]),
                bool(r.get("withdrawn")) or r["event"] == "withdrawn", r.get("repeat_of") is not None,
                r.get("satisfaction")) for r in state.values()]


def study_figures(rows: Iterable[Row]) -> dict:
    doc = load_taxonomy_doc()
    item_claim = {it["name"]: it["rights_claim"] for it in doc["items"]}
    sub_claim = {(it["name"], s["name"]): s["rights_claim"] for it in doc["items"] for s in it["subcategories"]
                 if "rights_claim" in s}
    n = off = withdrawn = repeat = public = 0
    items: Counter = Counter()
    item_scores: dict[str | None, list[int]] = defaultdict(list)
    channel_scores: dict[str, list[int]] = defaultdict(list)
    scores: list[int] = []
    for r in rows:
        n += 1
        hour = (r.received % DAY) // 3600
        off += not 9 <= hour < 18
        withdrawn += r.withdrawn
        repeat += r.repeat
        items[r.item] += 1
        if r.item is not None:
            claim = sub_claim.get((r.item, r.subcategory)) or item_claim.get(r.item)
            public += claim == PUBLIC_SERVICE_CLAIM
        if r.satisfaction is not None:
            scores.append(r.satisfaction)
            item_scores[r.item].append(r.satisfaction)
            channel_scores[r.channel].append(r.satisfaction)
    known = {k: v for k, v in items.items() if k is not None}
    top = sorted(known.values(), reverse=True)[:11]
    item_means = {k: sum(v) / len(v) for k, v in item_scores.items()}
    channel_means = {k: sum(v) / len(v) for k, v in channel_scores.items()}
    evaluated = [k for k in item_means if k is not None]
    rho = p = None
    if len(evaluated) >= 3:
        from scipy.stats import spearmanr

        res = spearmanr([known[k] for k in evaluated], [item_means[k] for k in evaluated])
        rho, p = float(res.statistic), float(res.pvalue)
    return {
        "tickets": n,
        "top11_share": sum(top) / n if n else None,
        "top11_items": sorted(known, key=known.get, reverse=True)[:11],
        "public_service_share": public / n if n else None,
        "off_hours_share": off / n if n else None,
        "withdrawn": withdrawn,
        "repeat": repeat,
        "withdrawn_plus_repeat": withdrawn + repeat,
        "evaluation_rate": len(scores) / n if n else None,
        "satisfaction_mean": sum(scores) / len(scores) if scores else None,
        "evaluated_items": len(evaluated),
        "items_at_or_above_2_9": sum(item_means[k] >= 2.9 for k in evaluated),
        "item_satisfaction": {k: round(item_means[k], 3) for k in sorted(evaluated, key=known.get, reverse=True)},
        "spearman_volume_satisfaction": {"rho": rho, "p": p},
        "channel_satisfaction": {k: round(v, 3) for k, v in sorted(channel_means.items())},
        "channel_satisfaction_spread": max(channel_means.values()) - min(channel_means.values()) if channel_means else None,
        "category_missing": items.get(None, 0),
        "item_shares": {k: round(v / n, 5) for k, v in sorted(known.items(), key=lambda kv: -kv[1])},
    }


if __name__ == "__main__":
    json.dump(study_figures(rows_from_file(sys.argv[1])), sys.stdout, ensure_ascii=False, indent=1)
    print()
