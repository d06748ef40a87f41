"""Live latency at 10x Dongguan's busiest hour, with 2 workers, while `hotline rebuild` recounts the year beside them.

    python bench/live_latency.py [--tickets 462483] [--factor 10] [--max-seconds 900]

The rate: the generator's calibration (streams/generate) puts the busiest hour of 2024 on its
busiest day at the evening peak hour; its tickets times the records a ticket makes in the
generated year (created, replied, evaluated, withdrawn: 977,556 / 462,483) is the busiest hour in
records. `--factor` times that is produced into the live raw topic, one record at a time with the
time of now, as new tickets of the year file (ticket ids made unique).

The setting: the year (bench/out, made by bench/replay_year.py) is in the raw topic; the live
namespace's fences are at its end, so 2 workers count only the live records, while
`hotline rebuild --since 2024-01-01 --namespace <new>` reads and counts the whole year on the same
machine. Latency is produce-to-counted: from the produce call until Redis' pipeline counter
shows the record (the counter is polled every 5 ms; at this rate one record is in flight at a
time). Measured for as long as the rebuild runs (`--max-seconds` at most). Prints p50/p99/max.
`bench/replay_year.py` runs the same measurement on its own broker after the 2-worker replay.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.taxonomy import load_taxonomy  # noqa: E402
from streams.adapters.kafka import make_producer  # noqa: E402
from streams.adapters.store import CounterStore, connect  # noqa: E402
from streams.settings import Settings  # noqa: E402
from bench.replay_year import peak_rss_mb, spawn, stop  # noqa: E402
from tests.support import env_for  # noqa: E402

OUT = ROOT / "bench" / "out"
SHANGHAI = timezone(timedelta(hours=8))


def busiest_hour(tickets: int = 462_483, year: int = 2024) -> dict:
    """Tickets in the busiest hour of the calibrated year: busiest day x the largest hour share."""
    from streams.generate.model import day_counts, hour_cum

    day, n = max(day_counts(tickets, year), key=lambda dc: dc[1])
    cum = hour_cum()
    shares = [cum[0]] + [cum[h] - cum[h - 1] for h in range(1, 24)]
    hour = max(range(24), key=lambda h: shares[h])
    return {"day": day.isoformat(), "hour": hour, "tickets": n * shares[hour] / cum[-1]}


def live_records(path: Path, n: int):
    """`created` records of the year file, as new tickets (unique ids); times are set when sent."""
    tag = uuid.uuid4().hex[:6]
    out = []
    with open(path, "rb") as fh:
        for line in fh:
            if b'"created"' not in line:
                continue
            doc = json.loads(line)
            if doc.get("event") != "created":
                continue
            doc["ticket_id"] = f"LIVE-{tag}-{len(out)}"
            doc.pop("repeat_of", None)
            out.append(doc)
            if len(out) >= n:
                break
    return out


def during_rebuild(s: Settings, year_file: Path, records_per_s: float, max_seconds: float = 900.0,
                   workers: int = 2) -> dict:
    """`s`: settings of a namespace whose raw topic holds the year and whose fences are at its end."""
    env = env_for(s)
    store = CounterStore(connect(s.redis_url), s.namespace, load_taxonomy())
    procs = [spawn(["worker"], env, f"live-{i}") for i in range(workers)]
    docs = live_records(year_file, int(records_per_s * max_seconds) + 10)
    producer = make_producer(s, **{"linger.ms": 0})
    sent: list[float] = []
    done: list[float] = []

    def send(doc):
        now = datetime.now(SHANGHAI).isoformat(timespec="seconds")
        doc["event_time"] = doc["received_at"] = now
        key = doc["ticket_id"].encode()
        sent.append(time.monotonic())
        producer.produce(s.raw_topic, key=key, value=json.dumps(doc, ensure_ascii=False).encode())
        producer.flush()

    try:
        # The group forms and every partition is assigned before the clock starts: a first record counted.
        time.sleep(s.session_timeout_s)
        base = store.pipeline_counters().get("records", 0)
        send(docs.pop())
        deadline = time.monotonic() + 120
        while store.pipeline_counters().get("records", 0) <= base:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError("the live workers did not count a first record; see bench/out/live-*.log")
            time.sleep(0.05)
        sent.clear()
        base = store.pipeline_counters().get("records", 0)
        stop_poll = threading.Event()

        def poll():
            seen = base
            while not stop_poll.is_set():
                c = store.pipeline_counters().get("records", 0)
                now = time.monotonic()
                while seen < c:
                    done.append(now)
                    seen += 1
                time.sleep(0.005)

        th = threading.Thread(target=poll, daemon=True)
        th.start()
        rb_ns = f"rb{uuid.uuid4().hex[:6]}"
        t0 = time.monotonic()
        rebuild = spawn(["rebuild", "--since", "2024-01-01", "--namespace", rb_ns], env, "live-rebuild")
        i = 0
        while rebuild.poll() is None and time.monotonic() - t0 < max_seconds and docs:
            due = t0 + i / records_per_s
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(min(delay, 0.5))
                continue
            send(docs.pop())
            i += 1
        rebuild_s = time.monotonic() - t0
        rebuild_done = rebuild.poll() is not None
        rebuild_rss = peak_rss_mb(rebuild.pid)
        stop(rebuild)
        wait_until = time.monotonic() + 30
        while len(done) < len(sent) and time.monotonic() < wait_until:
            time.sleep(0.05)
        stop_poll.set()
        th.join()
        rb_store = CounterStore(connect(s.redis_url), rb_ns, load_taxonomy())
        rebuilt = rb_store.pipeline_counters().get("records", 0)
        rb_store.drop()
    finally:
        rss = max(peak_rss_mb(p.pid) for p in procs)
        for p in procs:
            stop(p)
    lat = sorted(d - s_ for s_, d in zip(sent, done))
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")  # noqa: E731
    return {"sent": len(sent), "counted": len(done), "p50_s": pick(0.5), "p99_s": pick(0.99),
            "max_s": lat[-1] if lat else float("nan"), "rebuild_s": rebuild_s, "rebuild_done": rebuild_done,
            "rebuilt_records": rebuilt, "worker_peak_rss_mb": rss, "rebuild_peak_rss_mb": rebuild_rss}


def line(res: dict, rate_h: float, factor: float) -> str:
    return (f"p50 {res['p50_s'] * 1000:.0f} ms, p99 {res['p99_s'] * 1000:.0f} ms, max {res['max_s'] * 1000:.0f} ms "
            f"over {res['counted']}/{res['sent']} records at {rate_h:,.0f} records/h ({factor:g}x the busiest hour), "
            f"2 workers, beside a rebuild of {res['rebuilt_records']:,} records "
            f"({'done' if res['rebuild_done'] else 'cut'} after {res['rebuild_s']:.0f} s)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=462_483)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--factor", type=float, default=10.0)
    ap.add_argument("--max-seconds", type=float, default=900.0)
    args = ap.parse_args()
    from streams.adapters.embedded import start_broker, start_redis
    from streams.adapters.fenced import fence_name
    from streams.adapters.kafka import client_kwargs, ensure_topics, high_watermarks, replay
    from streams.core.records import iter_file

    path = OUT / f"year-{args.tickets}-{args.seed}.jsonl"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "streams.commands.cli", "generate", "--tickets", str(args.tickets), "--seed",
                        str(args.seed), "--year", "2024", "--mode", "lifecycle", "-o", str(path)], check=True, cwd=ROOT)
    manifest = json.loads(path.with_suffix(".manifest.json").read_text()) if path.with_suffix(".manifest.json").exists() \
        else {"records": sum(1 for _ in open(path, "rb")), "tickets": args.tickets}
    peak = busiest_hour(args.tickets)
    per_ticket = manifest["records"] / manifest["tickets"]
    rate_h = args.factor * peak["tickets"] * per_ticket
    print(f"busiest hour: {peak['day']} {peak['hour']:02d}:00, {peak['tickets']:.0f} tickets x {per_ticket:.2f} records "
          f"a ticket; live rate {rate_h:,.0f} records/h ({rate_h / 3600:.2f}/s)", flush=True)
    broker, redis_svc = start_broker(), start_redis()
    try:
        ns = f"live{uuid.uuid4().hex[:6]}"
        s = Settings.from_env({}).with_(kafka_url=broker.url, redis_url=redis_svc.url, session_timeout_s=8.0,
                                        caller_hash_key="bench-key", namespace=ns, topic_prefix=f"{ns}.")
        ensure_topics(s)
        replay(iter_file(str(path)), s, progress=False)
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(enable_auto_commit=False, group_id=None, **client_kwargs(s))
        tps = [TopicPartition(s.raw_topic, p) for p in sorted(consumer.partitions_for_topic(s.raw_topic))]
        ends = high_watermarks(consumer, tps)
        consumer.close()
        store = CounterStore(connect(s.redis_url), ns, load_taxonomy())
        store.claim_namespace()
        for tp in tps:  # the live workers start after the year; the rebuild counts it
            store.open_fence(fence_name(tp.topic, tp.partition), ends[tp])
        print(f"year in the raw topic: {sum(ends.values()):,} records", flush=True)
        res = during_rebuild(s, path, rate_h / 3600, args.max_seconds)
    finally:
        broker.stop()
        redis_svc.stop()
    print(f"live latency during a rebuild: {line(res, rate_h, args.factor)}")
    print(f"worker peak RSS {res['worker_peak_rss_mb']:.0f} MB, rebuild peak RSS {res['rebuild_peak_rss_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
