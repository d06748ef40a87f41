"""The real-text benchmark: batch report and 2-worker replay on citizen texts as long as real tickets.

    python bench/real_text.py [--tickets 200000] [--skip-replay] [--keep FILE]

The year benchmark (bench/replay_year.py) runs on generated contents of about 100 characters; real
citizen texts run to several hundred (the shared tipdm messages with replies: content 349, reply 361
characters on average). This benchmark turns /work/shared/data/tipdm2020/messages_with_replies.jsonl
(or the tipdm2020 folder $HOTLINE_SHARED_DIR names) into contract events (created + replied, through the importer's own
`convert`), repeats them with new ticket ids and shifted times up to `--tickets` tickets, writes them
in event-time order into a temporary directory (never into the project: the texts are not ours), and
measures in one run on that file: (a) `hotline report` on one core, as events/s; (b) the end-to-end
replay with 2 workers through the embedded broker and a redis-server it starts, as in replay_year.py,
and its time over the batch time. The last lines are
`real-text batch events/s: N` and `real-text streaming/batch ratio: R`.

Copy k of a message: ticket id `<id>r<k>`, every time shifted by k weeks, its own caller (the user id
with k appended) and district k of the taxonomy's districts (the messages name none). Without the
districts every copy of a text would join one repeat group (64 members, each copy a text repeat of
the one a week before), a shape no real year has; with them a text's copies in one district are
38 weeks apart, beyond the 30-day repeat span.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterable, Iterator

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.taxonomy import Taxonomy, load_taxonomy  # noqa: E402
from streams.importing.columns import recognise  # noqa: E402
from streams.importing.rows import Options, convert  # noqa: E402
from streams.text.datasets import shared_dir  # noqa: E402

MESSAGES = "messages_with_replies.jsonl"
SHIFT = timedelta(days=7)
TIME_FIELDS = ("event_time", "received_at", "replied_at")


def shared_file() -> Path:
    return shared_dir() / MESSAGES


def message_events(rows: Iterable[dict], taxonomy: Taxonomy) -> list[list[dict]]:
    """Each message -> its contract events (created, replied), through the importer's `convert`.
    Messages the importer rejects are left out (none in the shared file)."""
    rows = list(rows)
    if not rows:
        return []
    header = list(rows[0])
    cmap = recognise(header)
    opt = Options(taxonomy, channel="网站")  # a message board
    out = []
    for row in rows:
        cells = {f: row.get(header[i]) for f, i in cmap.columns.items()}
        conv = convert(cells, opt)
        if conv.events:
            out.append([ev for _, ev in conv.events])
    return out


def _shift(iso: str, by: timedelta) -> str:
    return (datetime.fromisoformat(iso) + by).isoformat()


def copies(messages: list[list[dict]], tickets: int, districts: tuple[str, ...]) -> Iterator[tuple[int, int, bytes]]:
    """(event time, sequence, record) of `tickets` tickets: copy k of every message, k = 0, 1, ..."""
    seq = 0
    made = 0
    k = 0
    while made < tickets:
        by = SHIFT * k
        for events in messages:
            if made >= tickets:
                break
            made += 1
            for ev in events:
                ev = dict(ev, ticket_id=f"{ev['ticket_id']}r{k}")
                for f in TIME_FIELDS:
                    if f in ev:
                        ev[f] = _shift(ev[f], by)
                if ev["event"] == "created":
                    ev["district"] = districts[k % len(districts)]
                    if "caller" in ev:
                        ev["caller"] = f"{ev['caller']}{k}"
                seq += 1
                yield int(datetime.fromisoformat(ev["event_time"]).timestamp()), seq, orjson.dumps(ev)
        k += 1


def write_events(src: Path, dest: Path, tickets: int) -> int:
    """Write the events of `tickets` tickets to `dest` in event-time order; returns the record count."""
    tax = load_taxonomy()
    with open(src, encoding="utf-8") as fh:
        messages = message_events((json.loads(line) for line in fh if line.strip()), tax)
    if not messages:
        raise ValueError(f"{src} holds no message")
    districts = tuple(d for d in tax.districts if d != "其他") or tax.districts
    records = sorted(copies(messages, tickets, districts))
    with open(dest, "wb") as out:
        for _, _, rec in records:
            out.write(rec)
            out.write(b"\n")
    return len(records)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=200_000)
    ap.add_argument("--skip-replay", action="store_true", help="the batch report only")
    ap.add_argument("--keep", help="also copy the events file here (outside the project)")
    args = ap.parse_args()
    src = shared_file()
    if not src.exists():
        print(f"real-text benchmark skipped: {src} is absent", flush=True)
        return 0
    with tempfile.TemporaryDirectory(prefix="hotline-real-text-") as tmp:
        path = Path(tmp) / "events.jsonl"
        n = write_events(src, path, args.tickets)
        if args.keep:
            Path(args.keep).write_bytes(path.read_bytes())
        print(f"real text: {args.tickets:,} tickets, {n:,} events (from {src.name})", flush=True)
        t0, cpu0 = time.monotonic(), _children_cpu()
        out = subprocess.run([sys.executable, "-m", "streams.commands.cli", "report", str(path), "--json"], check=True,
                             cwd=ROOT, capture_output=True)
        batch_s, batch_cpu = time.monotonic() - t0, _children_cpu() - cpu0
        report = json.loads(out.stdout)
        print(f"(a) batch report: {batch_s:.1f} s ({batch_cpu:.1f} s CPU: {n / batch_cpu:,.0f} events per CPU second), valid tickets {report['valid']:,}, rejected {report['rejected']:,}",
              flush=True)
        two = None
        if not args.skip_replay:
            two = replay(path, report)
    print(f"real-text batch events/s: {n / batch_s:,.0f}")
    if two is not None:
        print(f"(b) replay, 2 workers: {two['end_to_end_s']:.1f} s ({two['rate']:,.0f} events/s), "
              f"snapshot == report: {two['equal']}, worker peak RSS {two['worker_peak_rss_mb']:.0f} MB")
        print(f"real-text streaming/batch ratio: {two['end_to_end_s'] / batch_s:.2f}")
    return 0


def _children_cpu() -> float:
    """CPU seconds of finished child processes: on a shared host the wall time also counts others' work."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def replay(path: Path, report: dict) -> dict:
    """The 2-worker end-to-end replay of replay_year.py, on this file."""
    from bench import replay_year
    from streams.adapters.embedded import start_broker, start_redis
    from streams.core.records import iter_file
    from streams.settings import Settings

    replay_year.OUT.mkdir(parents=True, exist_ok=True)
    records = list(iter_file(str(path)))
    broker, redis_svc = start_broker(), start_redis()
    try:
        base = Settings.from_env({}).with_(kafka_url=broker.url, redis_url=redis_svc.url, session_timeout_s=8.0,
                                           caller_hash_key="bench-key")
        return replay_year.end_to_end(path, report, base, 2, records)
    finally:
        broker.stop()
        redis_svc.stop()


if __name__ == "__main__":
    sys.exit(main())
