"""Backpressure: a burst of 500,000 events produced at once into the raw topic.

    python bench/burst.py [--events 500000]

Prints the worker's peak RSS against the documented ceiling (RELIABILITY.md: 500 MB) and checks
that what was produced equals what the pipeline accounted for: records = counted + dead-lettered,
with late events reported separately.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.taxonomy import load_taxonomy  # noqa: E402
from streams.adapters.embedded import start_broker, start_redis  # noqa: E402
from streams.adapters.kafka import ensure_topics, replay
from streams.core.records import iter_file  # noqa: E402
from streams.settings import Settings  # noqa: E402
from streams.adapters.store import CounterStore, connect  # noqa: E402
from tests.support import env_for  # noqa: E402

CEILING_MB = 500


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=500_000)
    args = ap.parse_args()
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"burst-{args.events}.jsonl"
    if not path.exists():
        tickets = int(args.events / 2.0)  # lifecycle files hold ~2.1 records a ticket: enough for the burst
        subprocess.run([sys.executable, "-m", "streams.commands.cli", "generate", "--tickets", str(tickets), "--seed", "5",
                        "--mode", "lifecycle", "--dirty-rate", "0.01", "-o", str(path)], check=True, cwd=ROOT)
    records = list(iter_file(str(path)))[: args.events]
    broker, redis_svc = start_broker(), start_redis()
    ns = f"burst{uuid.uuid4().hex[:6]}"
    s = Settings.from_env({}).with_(kafka_url=broker.url, redis_url=redis_svc.url, namespace=ns,
                                    topic_prefix=f"{ns}.", session_timeout_s=8.0, caller_hash_key="bench")
    worker = None
    try:
        ensure_topics(s)
        t0 = time.monotonic()
        replay(records, s, progress=False)  # the whole burst lands before the worker starts
        produced_s = time.monotonic() - t0
        log = open(out / "burst-worker.log", "wb")
        worker = subprocess.Popen([sys.executable, "-m", "streams.commands.cli", "worker"], env=env_for(s), cwd=ROOT,
                                  stdout=log, stderr=subprocess.STDOUT)
        store = CounterStore(connect(s.redis_url), ns, load_taxonomy())
        peak = 0.0
        t1 = time.monotonic()
        while store.pipeline_counters().get("records", 0) < len(records):
            for line in open(f"/proc/{worker.pid}/status"):
                if line.startswith("VmRSS:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
            if worker.poll() is not None:
                raise SystemExit("worker died; see bench/out/burst-worker.log")
            time.sleep(0.5)
        took = time.monotonic() - t1
        for line in open(f"/proc/{worker.pid}/status"):
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) / 1024)
        worker.terminate()
        worker.wait(30)
        pipe = store.pipeline_counters()
        counted = pipe.get("events|counted", 0)
        dead = sum(v for k, v in pipe.items() if k.startswith("dlq|"))
        print(f"events produced        {len(records):,} in {produced_s:.1f} s")
        print(f"drained in             {took:.1f} s ({len(records) / took:,.0f} events/s)")
        print(f"records accounted      {pipe.get('records', 0):,} = counted {counted:,} + dead-lettered {dead:,}: "
              f"{'OK' if pipe.get('records', 0) == counted + dead == len(records) else 'MISMATCH'}")
        print(f"late (in all-time)     {pipe.get('late', 0):,}")
        print(f"worker peak RSS        {peak:.0f} MB (ceiling {CEILING_MB} MB): {'OK' if peak < CEILING_MB else 'OVER'}")
        return 0 if peak < CEILING_MB and pipe.get("records", 0) == counted + dead == len(records) else 1
    finally:
        if worker is not None and worker.poll() is None:  # a failed run leaves no worker behind
            worker.kill()
            worker.wait()
        broker.stop()
        redis_svc.stop()


if __name__ == "__main__":
    sys.exit(main())
