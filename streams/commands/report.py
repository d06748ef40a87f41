"""`hotline report FILE`: the study's figures computed straight from a JSON Lines file.

No Kafka, no Redis: the same Processor as the worker, with ticket states in a dict. This is the
reference the live counters are checked against.
"""
from __future__ import annotations

import sys
from streams.core.pipeline import Processor
from streams.core.records import in_range, read_records
from streams.core.testing import MemoryPipeline

CHUNK = 2000


def build_report(path: str, processor: Processor, since: int | None = None, until: int | None = None) -> dict:
    pipe = MemoryPipeline(processor, keep_outputs=False)
    with open(path, "rb") as fh:
        records = read_records(fh)
        if since is not None or until is not None:
            records = (r for r in records if in_range(r, since, until))
        pipe.feed(records, CHUNK)
    return pipe.report(source=path)


def pad(text: str, width: int) -> str:
    """Left-justify to a terminal width: CJK characters take two columns."""
    import unicodedata

    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - used)


def format_table(rep: dict) -> str:
    def pct(x):
        return "—" if x is None else f"{100 * x:6.2f}%"

    def num(x, nd=2):
        return "—" if x is None else f"{x:.{nd}f}"

    lines = [
        f"Report of {rep['source']}",
        f"  records {rep['records']:,}   valid tickets {rep['valid']:,}   rejected {rep['rejected']:,}",
    ]
    for reason, n in rep["rejected_by_reason"].items():
        lines.append(f"    {reason:<18} {n:>8,}")
    sp = rep["volume_satisfaction_spearman"]
    lines += [
        f"  off-hours share (18:00–09:00) {pct(rep['off_hours_share'])}",
        f"  withdrawn {rep['withdrawn']:,} ({pct(rep['withdrawal_rate'])})   repeat {rep['repeat']:,} ({pct(rep['repeat_rate'])})",
        f"  evaluation rate {pct(rep['evaluation_rate'])}   mean satisfaction {num(rep['satisfaction_mean'], 3)}",
        f"  replies {rep['replied']:,}: " + ", ".join(f"{t} {pct(s)}" for t, s in rep["reply_type_shares"].items()),
        f"  mean response time {num((rep['response_seconds_mean'] or 0) / 3600, 1)} h",
        f"  11 largest items {pct(rep['top11_items_share'])}   items evaluated {rep['evaluated_items']}",
        f"  volume–satisfaction Spearman rho {num(sp['rho'], 3)} p {num(sp['p'], 3)}",
        "",
        f"  {pad('item', 14)} {'tickets':>9} {'share':>8} {'eval':>7} {'sat':>5}",
    ]
    for name, row in rep["by_item"].items():
        lines.append(f"  {pad(name, 14)} {row['tickets']:>9,} {pct(row['share'])} {row['evaluated']:>7,} {num(row['satisfaction_mean'])}")
    lines.append("")
    lines.append(f"  {pad('channel', 14)} {'tickets':>9} {'share':>8} {'eval':>7} {'sat':>5}")
    for name, row in rep["by_channel"].items():
        lines.append(f"  {pad(name, 14)} {row['tickets']:>9,} {pct(row['share'])} {row['evaluated']:>7,} {num(row['satisfaction_mean'])}")
    lines.append("")
    lines.append(f"  {pad('rights claim', 14)} {'tickets':>9} {'share':>8}")
    for name, row in rep["by_rights_claim"].items():
        lines.append(f"  {pad(name, 14)} {row['tickets']:>9,} {pct(row['share'])}")
    return "\n".join(lines)


def write_report(rep: dict, as_json: bool, out=sys.stdout) -> None:
    import json

    if as_json:
        json.dump(rep, out, ensure_ascii=False, indent=2, sort_keys=False)
        out.write("\n")
    else:
        out.write(format_table(rep) + "\n")
