"""Write the replica to disk: tickets -> events -> JSON Lines (+ bad records) -> manifest."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tqdm import tqdm

from streams.generate.dirty import KINDS, DirtyMixer
from streams.generate.model import generate_tickets
from streams.generate.writer import dumps, lifecycle_events, snapshot_events

MODES = {"snapshot": snapshot_events, "lifecycle": lifecycle_events}
_FLUSH_EVERY = 2_000  # lines per write() call and per progress-bar update


def manifest_path(output: str | Path) -> Path:
    """out/replica.jsonl -> out/replica.manifest.json (any other name: name + .manifest.json)."""
    p = Path(output)
    return p.with_suffix(".manifest.json") if p.suffix == ".jsonl" else p.with_name(p.name + ".manifest.json")


def write_replica(output: str | Path, tickets: int, seed: int, year: int = 2024, mode: str = "snapshot",
                  dirty_rate: float = 0.0, progress: bool = False) -> dict:
    """Generate the replica into `output` and its manifest next to it; returns the manifest."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if tickets < 0:
        raise ValueError("--tickets must be >= 0")
    mixer = DirtyMixer(dirty_rate, seed, mode, year)
    # Written under another name and renamed when whole: a run stopped midway must not leave a file
    # that passes for the replica (bench/replay_year.py reuses an existing year file; one cut short
    # at 362,000 of 977,556 records once did).
    part = Path(f"{output}.part")
    try:
        with open(part, "wb", buffering=1 << 20) as out:
            records, valid = _write_records(out, MODES[mode](generate_tickets(tickets, seed, year)), mixer,
                                            tickets, progress, f"generate {mode}")
        os.replace(part, output)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    manifest = {"tickets": tickets, "records": records, "valid_records": valid,
                "dirty": {k: mixer.counts[k] for k in KINDS}, "dirty_total": sum(mixer.counts.values()),
                "seed": seed, "year": year, "mode": mode, "dirty_rate": dirty_rate, "output": str(output)}
    manifest_path(output).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return manifest


def _write_records(out, events, mixer: DirtyMixer, tickets: int, progress: bool, desc: str) -> tuple[int, int]:
    """JSON Lines of the events, with the mixer's bad records after their neighbours: (records, valid)."""
    records = valid = done = 0
    buf: list[bytes] = []
    bar = tqdm(total=tickets, unit="ticket", unit_scale=True, disable=not progress, file=sys.stderr, desc=desc)
    for rec, _time in events:
        line = dumps(rec)
        buf.append(line)
        valid += 1
        if rec["event"] in ("created", "snapshot"):
            done += 1
        buf.extend(mixer.after(rec, line))
        if len(buf) >= _FLUSH_EVERY:
            records += len(buf)
            out.write(b"\n".join(buf) + b"\n")
            buf.clear()
            bar.update(done - bar.n)
    if buf:
        records += len(buf)
        out.write(b"\n".join(buf) + b"\n")
    bar.update(done - bar.n)
    bar.close()
    return records, valid


def summary_table(manifest: dict) -> str:
    lines = [f"wrote {manifest['records']:,} records ({manifest['valid_records']:,} valid) for "
             f"{manifest['tickets']:,} tickets, mode {manifest['mode']}, seed {manifest['seed']}"]
    if manifest["dirty_total"]:
        lines.append(f"  {'dirty kind':<16} {'records':>9}")
        for kind, n in manifest["dirty"].items():
            lines.append(f"  {kind:<16} {n:>9,}")
        lines.append(f"  {'total':<16} {manifest['dirty_total']:>9,}  "
                     f"({manifest['dirty_total'] / max(1, manifest['records']):.2%} of records)")
    return "\n".join(lines)
