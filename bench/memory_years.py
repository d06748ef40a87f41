"""Redis memory for several simulated years of Dongguan, counted through the one fenced path.

    python bench/memory_years.py [--years 3] [--tickets 462483] [--partitions 4]

Each year is generated like the year benchmark's (lifecycle mode, cached in bench/out/), then
counted in-process through FencedCounter: raw records split over `--partitions` partitions by ticket
id, the repeat stage's memberships routed over as many members partitions by group key, exactly as
the broker would (no broker: this measures Redis, not Kafka). A fresh redis-server holds only this
namespace. After each year it prints used_memory, keys, bytes per ticket, and what each kind of key
holds (MEMORY USAGE of every key).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
import zlib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streams.adapters import wiring  # noqa: E402
from streams.adapters.embedded import start_redis  # noqa: E402
from streams.adapters.fenced import FencedCounter, PartitionBatch  # noqa: E402
from streams.adapters.store import CounterStore, connect  # noqa: E402
from streams.core.members import MemberProcessor, member_messages  # noqa: E402
from streams.core.records import iter_file, ticket_key  # noqa: E402
from schemas.taxonomy import load_taxonomy  # noqa: E402
from streams.settings import Settings  # noqa: E402

OUT = ROOT / "bench" / "out"
RAW, MEMBERS = "tickets.raw", "repeat.members"


class Router:
    """Side outputs: memberships go to the members partitions, in order, by group key."""

    def __init__(self, partitions: int):
        self.parts: dict[int, list[bytes]] = defaultdict(list)
        self.n = partitions

    def send(self, enriched, dead_letters, callbacks=(), members=(), namespace=""):
        for partition, message in member_messages(namespace, members, self.n):
            self.parts[partition].append(message)


def kind_of(key: str) -> str:
    suffix = key.split("}:", 1)[1]
    return suffix.split(":", 1)[0]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--tickets", type=int, default=462_483)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--redis-config", action="append", default=[], help="NAME=VALUE for redis-server (e.g. hash-max-listpack-value=256)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    extra = [part for kv in args.redis_config for part in (f"--{kv.split('=', 1)[0]}", kv.split("=", 1)[1])]
    redis_svc = start_redis(extra=extra)
    try:
        r = connect(redis_svc.url)
        settings = Settings.from_env({}).with_(redis_url=redis_svc.url)
        store = CounterStore(r, "mem", load_taxonomy())
        store.claim_namespace()
        router = Router(args.partitions)
        proc = wiring.processor(settings, repeat_members=True)
        counter = FencedCounter(store, proc, outputs=router, members_topic=MEMBERS,
                                member_processor=MemberProcessor(settings.repeat_days, emit_records=False))
        offsets = defaultdict(int)
        tickets = 0
        print(f"{'after':>8} {'tickets':>10} {'used_memory':>12} {'keys':>8} {'bytes/ticket':>13}  by kind of key (MB)")
        for i in range(args.years):
            year = 2024 + i
            path = OUT / f"year-{args.tickets}-{7 + i}-{year}.jsonl"
            if not path.exists():
                subprocess.run([sys.executable, "-m", "streams.commands.cli", "generate", "--tickets", str(args.tickets),
                                "--seed", str(7 + i), "--year", str(year), "--mode", "lifecycle", "-o", str(path)],
                               check=True, cwd=ROOT)
            started = time.monotonic()
            parts: dict[int, list[bytes]] = defaultdict(list)
            for raw in iter_file(str(path)):
                parts[zlib.crc32(ticket_key(raw) or b"") % args.partitions].append(raw)

            def flush(topic: str, p: int, chunk: list[bytes]) -> None:
                start = offsets[(topic, p)]
                counter.count([PartitionBatch(topic, p, list(range(start, start + len(chunk))), chunk)])
                offsets[(topic, p)] += len(chunk)

            longest = max(len(v) for v in parts.values())
            for at in range(0, longest, args.batch):
                for p, recs in parts.items():
                    if recs[at:at + args.batch]:
                        flush(RAW, p, recs[at:at + args.batch])
                for p in list(router.parts):
                    chunk, router.parts[p] = router.parts[p], []
                    if chunk:
                        flush(MEMBERS, p, chunk)
            tickets += args.tickets
            info = r.info("memory")
            sizes: dict[str, int] = defaultdict(int)
            counts: dict[str, int] = defaultdict(int)
            keys = list(store.keys())
            for at in range(0, len(keys), 5000):
                chunk = keys[at:at + 5000]
                with r.pipeline(transaction=False) as p:
                    for key in chunk:
                        p.memory_usage(key, samples=0)
                    for key, size in zip(chunk, p.execute()):
                        counts[kind_of(key)] += 1
                        sizes[kind_of(key)] += size or 0
            kinds = "  ".join(f"{k} {v / 2**20:.1f}" for k, v in sorted(sizes.items(), key=lambda kv: -kv[1]) if v > 2**19)
            print(f"{year:>8} {tickets:>10,} {info['used_memory'] / 2**20:>10.1f}MB {len(keys):>8,} "
                  f"{info['used_memory'] / tickets:>13.0f}  {kinds}   ({time.monotonic() - started:.0f} s)", flush=True)
        pipe = store.pipeline_counters()
        print(f"memberships sent {pipe.get('members|sent', 0):,}, joined {pipe.get('members|joined', 0):,}; "
              f"repeat_caller {store.all_time().get('all||repeat_caller', 0):,}, "
              f"repeat_text {store.all_time().get('all||repeat_text', 0):,}")
    finally:
        redis_svc.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
