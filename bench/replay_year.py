"""The year benchmark: batch report vs. end-to-end streaming replay of Dongguan's 2024 on this machine.

    python bench/replay_year.py [--tickets 462483] [--skip-latency]

Generates the full year once (lifecycle mode, cached in bench/out/), then measures in one run on the
same file: (a) `hotline report`, (b) end-to-end replay with 2 workers, from the first produce until
the snapshot equals the report, (a) the batch report again, (b) the same with 1 worker,
(c) produce-to-counted latency at 50 tickets/s, (d) peak RSS of worker and exporter, and Redis memory,
(e) produce-to-counted latency at 10x the busiest hour with 2 workers while `hotline rebuild` recounts
the year beside them (bench/live_latency.py, on the 2-worker replay's topic). Prints a table; the last
line is `streaming/batch ratio: R` (2-worker end-to-end time over the mean of the two batch runs
around it).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.taxonomy import load_taxonomy  # noqa: E402
from streams.adapters.embedded import free_port, start_broker, start_redis, wait_port  # noqa: E402
from streams.adapters.kafka import ensure_topics, make_producer, replay  # noqa: E402
from streams.core.records import iter_file  # noqa: E402
from streams.settings import Settings  # noqa: E402
from streams.commands.snapshot import take_snapshot  # noqa: E402
from streams.adapters.store import CounterStore, connect  # noqa: E402
from tests.support import env_for, live_vs_batch  # noqa: E402

OUT = ROOT / "bench" / "out"


def peak_rss_mb(pid: int) -> float:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def spawn(args, env, name):
    log = open(OUT / f"{name}.log", "wb")
    return subprocess.Popen([sys.executable, "-m", "streams.commands.cli", *args], env=env, cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


def batch_report(path: Path) -> tuple[float, dict]:
    """`hotline report` on the file: (wall seconds, the report)."""
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "streams.commands.cli", "report", str(path), "--json"], check=True, cwd=ROOT,
                         capture_output=True)
    return time.monotonic() - t0, json.loads(out.stdout)


def end_to_end(path: Path, report: dict, base: Settings, workers: int, records: list[bytes]) -> dict:
    ns = f"bench{workers}w{uuid.uuid4().hex[:6]}"
    s = base.with_(namespace=ns, topic_prefix=f"{ns}.")
    ensure_topics(s)
    env = env_for(s)
    procs = [spawn(["worker"], env, f"worker{workers}-{i}") for i in range(workers)]
    try:  # the workers run in sessions of their own: stop them whatever happens
        store = CounterStore(connect(s.redis_url), ns, load_taxonomy())
        time.sleep(s.session_timeout_s)  # let the group form, as a running deployment would have
        t0 = time.monotonic()
        replay(records, s, progress=False)
        produced = time.monotonic() - t0
        n = len(records)
        while not store.all_counted(store.pipeline_counters(), n):  # the repeat stage included
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a worker died; see bench/out/*.log")
            time.sleep(0.2)
        counted = time.monotonic() - t0
        snap = take_snapshot(store, "all", "event")
        diffs = live_vs_batch(report, snap)
        same = not diffs
        if diffs:
            print(f"    {workers} worker(s): snapshot != report, {len(diffs)} differences; the first: {diffs[:10]}", flush=True)
        rss = [peak_rss_mb(p.pid) for p in procs]
    finally:
        for p in procs:
            stop(p)
    return {"workers": workers, "produce_s": produced, "end_to_end_s": counted, "equal": same,
            "worker_peak_rss_mb": max(rss), "rate": n / counted, "tickets_rate": report["valid"] / counted, "store": store}


def latency(base: Settings, rate: float = 50.0, seconds: float = 60.0) -> dict:
    ns = f"lat{uuid.uuid4().hex[:6]}"
    s = base.with_(namespace=ns, topic_prefix=f"{ns}.", batch_within_s=0.05)
    ensure_topics(s)
    env = env_for(s)
    procs = [spawn(["worker"], env, f"latency-{i}") for i in range(2)]
    store = CounterStore(connect(s.redis_url), ns, load_taxonomy())
    time.sleep(s.session_timeout_s + 4)
    producer = make_producer(s, **{"linger.ms": 0})
    sent: list[float] = []
    done: list[float] = []
    stop_poll = threading.Event()

    def poll():
        seen = 0
        while not stop_poll.is_set():
            c = store.pipeline_counters().get("records", 0)
            now = time.monotonic()
            while seen < c:
                done.append(now)
                seen += 1
            time.sleep(0.005)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    n = int(rate * seconds)
    start = time.monotonic()
    for i in range(n):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        now = datetime.now(timezone(timedelta(hours=8))).isoformat(timespec="seconds")
        rec = json.dumps({"ticket_id": f"L{i}", "event": "created", "event_time": now, "received_at": now,
                          "channel": "电话", "category": "交通管理", "district": "南城", "caller": "13800000000",
                          "content": "路口违章停车严重，请尽快处理。"}, ensure_ascii=False).encode()
        sent.append(time.monotonic())
        producer.produce(s.raw_topic, key=f"L{i}".encode(), value=rec)
        producer.flush()
    deadline = time.monotonic() + 30
    while len(done) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    stop_poll.set()
    for p in procs:
        stop(p)
    lat = sorted(d - s_ for s_, d in zip(sent, done))
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")
    return {"n": len(lat), "p50_s": pick(0.5), "p99_s": pick(0.99)}


def live_line(res: dict, rate_h: float) -> str:
    return (f"p50 {res['p50_s'] * 1000:.0f} ms, p99 {res['p99_s'] * 1000:.0f} ms over {res['counted']} records "
            f"({rate_h:,.0f}/h), 2 workers beside a rebuild of {res['rebuilt_records']:,} records "
            f"({'done' if res['rebuild_done'] else 'cut'} in {res['rebuild_s']:.0f} s)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=462_483)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--skip-live", action="store_true", help="skip (e), the latency during a rebuild")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"year-{args.tickets}-{args.seed}.jsonl"
    if not path.exists():
        print(f"generating {args.tickets:,} tickets (lifecycle) -> {path}", flush=True)
        subprocess.run([sys.executable, "-m", "streams.commands.cli", "generate", "--tickets", str(args.tickets), "--seed",
                        str(args.seed), "--year", "2024", "--mode", "lifecycle", "-o", str(path)], check=True, cwd=ROOT)
    records = list(iter_file(str(path)))
    print(f"{len(records):,} records", flush=True)

    batch_s, report = batch_report(path)
    print(f"(a) batch report: {batch_s:.1f} s", flush=True)

    broker, redis_svc = start_broker(), start_redis()
    base = Settings.from_env({}).with_(kafka_url=broker.url, redis_url=redis_svc.url, session_timeout_s=8.0,
                                       caller_hash_key="bench-key")
    try:
        two = end_to_end(path, report, base, 2, records)
        print(f"(b) 2 workers: {two['end_to_end_s']:.1f} s, equal={two['equal']}", flush=True)
        # The batch report once more, right after the 2-worker replay: the ratio divides by the mean
        # of the two, which bracket the replay. The host's speed drifts ±15 % within a run: on one
        # host the same code printed 0.96 (batch 131.7 s, replay 126.6 s) and, an hour later, 1.20
        # (115.2 s, 138.3 s). A single batch run minutes away from the replay measured the drift.
        batch_after_s, again = batch_report(path)
        if again != report:
            raise RuntimeError("the batch report differs between two runs on the same file")
        print(f"(a) batch report, again: {batch_after_s:.1f} s", flush=True)
        one = end_to_end(path, report, base, 1, records)
        print(f"(b) 1 worker: {one['end_to_end_s']:.1f} s, equal={one['equal']}", flush=True)
        redis_mb = int(connect(redis_svc.url).info("memory")["used_memory"]) / 2**20
        # Redis memory of one year of counters: the 2-worker namespace alone.
        per_ns = 0
        r = connect(redis_svc.url)
        for key in two["store"].keys():
            per_ns += r.memory_usage(key) or 0
        exp_port = free_port()
        s2 = base.with_(namespace=two["store"].ns, exporter_addr=f"127.0.0.1:{exp_port}")
        exporter = spawn(["exporter"], env_for(s2), "exporter")
        wait_port(exp_port, 30, exporter, "exporter")
        t = time.monotonic()
        for _ in range(5):
            urllib.request.urlopen(f"http://127.0.0.1:{exp_port}/metrics", timeout=60).read()
        scrape_s = (time.monotonic() - t) / 5
        exporter_rss = peak_rss_mb(exporter.pid)
        stop(exporter)
        lat = None if args.skip_latency else latency(base)
        live = None
        if not args.skip_live:
            from bench.live_latency import busiest_hour, during_rebuild

            peak = busiest_hour(args.tickets)
            live_rate_h = 10 * peak["tickets"] * len(records) / report["valid"]
            ns2 = two["store"].ns
            live = during_rebuild(base.with_(namespace=ns2, topic_prefix=f"{ns2}."), path, live_rate_h / 3600)
    finally:
        broker.stop()
        redis_svc.stop()

    batch_mean_s = (batch_s + batch_after_s) / 2
    ratio = two["end_to_end_s"] / batch_mean_s
    rows = [
        ("machine", f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"),
        ("records / tickets", f"{len(records):,} / {report['valid']:,}"),
        ("(a) batch report", f"{batch_s:.1f} s before the replays, {batch_after_s:.1f} s after the 2-worker one "
                             f"(mean {batch_mean_s:.1f} s, {report['valid'] / batch_mean_s:,.0f} tickets/s)"),
        ("(b) replay, 1 worker", f"{one['end_to_end_s']:.1f} s ({one['tickets_rate']:,.0f} tickets/s, "
                                 f"{one['rate']:,.0f} events/s), snapshot == report: {one['equal']}"),
        ("(b) replay, 2 workers", f"{two['end_to_end_s']:.1f} s ({two['tickets_rate']:,.0f} tickets/s, "
                                  f"{two['rate']:,.0f} events/s), snapshot == report: {two['equal']}"),
        ("(c) latency at 50 tickets/s", "skipped" if lat is None else
         f"p50 {lat['p50_s'] * 1000:.0f} ms, p99 {lat['p99_s'] * 1000:.0f} ms over {lat['n']} tickets"),
        ("(e) live at 10x busiest hour", "skipped" if live is None else live_line(live, live_rate_h)),
        ("(d) worker peak RSS", f"{max(one['worker_peak_rss_mb'], two['worker_peak_rss_mb']):.0f} MB"),
        ("(d) exporter peak RSS", f"{exporter_rss:.0f} MB (scrape {scrape_s:.2f} s)"),
        ("(d) Redis, one year of counters", f"{per_ns / 2**20:.0f} MB (server total {redis_mb:.0f} MB)"),
    ]
    width = max(len(k) for k, _ in rows)
    print()
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    print(f"streaming/batch ratio: {ratio:.2f} (against each batch run: "
          f"{two['end_to_end_s'] / batch_s:.2f} before, {two['end_to_end_s'] / batch_after_s:.2f} after)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
