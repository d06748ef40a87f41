"""A slice of the year, replayed end to end: for profiling and for A/B runs of two code trees.

    python bench/replay_slice.py [--records 80000] [--workers 2] [--code DIR ...] [--rounds 1] [--py-spy]

Takes the first `--records` lines of the year file (bench/out, made by bench/replay_year.py: in
event-time order, so 80,000 records are about the first month), runs `hotline report` on them
once, then for each round and each `--code` tree (interleaved: A B A B ...) replays them into a
fresh namespace with N workers of that tree and waits until every record is counted. Prints, per
run: end-to-end seconds, CPU seconds of the workers and of Redis, and whether the snapshot equals
the report. `--py-spy` records each worker with py-spy into bench/out/*.txt (collapsed stacks of
running threads).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.taxonomy import load_taxonomy  # noqa: E402
from streams.adapters.embedded import start_broker, start_redis  # noqa: E402
from streams.adapters.kafka import ensure_topics, replay  # noqa: E402
from streams.adapters.store import CounterStore, connect  # noqa: E402
from streams.commands.snapshot import take_snapshot  # noqa: E402
from streams.settings import Settings  # noqa: E402
from tests.support import env_for, live_vs_batch  # noqa: E402

OUT = ROOT / "bench" / "out"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU of a process (all its threads) so far."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except OSError:
        return float("nan")


def peak_rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine so far."""
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def redis_cpu(r) -> float:
    info = r.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def counted(store, n: int) -> bool:
    pipe = store.pipeline_counters()
    if pipe:
        return store.all_counted(pipe, n)  # the repeat stage included
    return int(store.r.hget(f"{store.ns}:pipe", "records") or 0) >= n  # a tree of the older key layout


def run_once(code: Path, records: list[bytes], report: dict, base: Settings, workers: int, py_spy: bool, tag: str,
             extra_env: dict) -> dict:
    ns = f"slice{uuid.uuid4().hex[:6]}"
    s = base.with_(namespace=ns, topic_prefix=f"{ns}.")
    ensure_topics(s)
    env = env_for(s, PYTHONPATH=str(code), **extra_env)
    procs, spies = [], []
    for i in range(workers):
        log = open(OUT / f"slice-{tag}-{i}.log", "wb")
        cmd = [sys.executable, "-m", "streams.commands.cli", "worker"]
        if py_spy:
            spy = Path(sys.executable).with_name("py-spy")
            cmd = [str(spy), "record", "--threads", "-r", "50", "-f", "raw", "-o",
                   str(OUT / f"slice-{tag}-{i}.txt"), "--", *cmd]
        procs.append(subprocess.Popen(cmd, env=env, cwd=code, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True))
    # Whatever happens, the workers stop: they run in sessions of their own, and two left behind by a
    # failed run once kept 5 % of a core each busy under every benchmark of a session.
    try:
        r = connect(s.redis_url)
        store = CounterStore(r, ns, load_taxonomy())
        time.sleep(s.session_timeout_s)  # let the group form, as a running deployment would have
        pids = [p.pid for p in procs]
        if py_spy:  # the workers are py-spy's children
            time.sleep(1)
            pids = [int(open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()[0]) for p in procs]
        cpu0 = [cpu_s(p) for p in pids]
        r.config_resetstat()  # commandstats from here: where Redis' CPU goes
        rc0 = redis_cpu(r)
        m0 = machine_busy()
        t0 = time.monotonic()
        replay(records, s, progress=False)
        n = len(records)
        while not counted(store, n):
            if any(p.poll() is not None for p in procs):
                raise RuntimeError(f"a worker died; see bench/out/slice-{tag}-*.log")
            time.sleep(0.1)
        elapsed = time.monotonic() - t0
        wcpu = sum(cpu_s(p) - c for p, c in zip(pids, cpu0))
        rcpu = redis_cpu(r) - rc0
        m1 = machine_busy()
        busy = (m1[0] - m0[0]) / max(1, m1[1] - m0[1])
        rss = max(peak_rss_mb(p) for p in pids)
        stats = sorted(r.info("commandstats").items(), key=lambda kv: -kv[1]["usec"])
        print("Redis by command (calls, s): " + ", ".join(
            f"{k.removeprefix('cmdstat_')} {v['calls']:,} {v['usec'] / 1e6:.1f}" for k, v in stats[:8]), flush=True)
        # a tree of the key layout before the cluster one (no {ns}:parts) cannot be read by this one
        diffs = live_vs_batch(report, take_snapshot(store, "all", "event")) if store.partitions() else None
        same = None if diffs is None else not diffs
        if diffs:
            print(f"snapshot != report ({len(diffs)} differences), the first: {diffs[:10]}", flush=True)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(2 if py_spy else 15)
        for p in procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
    store.drop()
    for key in store.r.scan_iter(f"{ns}:*", count=1000):  # the older layout's keys
        store.r.delete(key)
    return {"code": str(code), "s": elapsed, "worker_cpu": wcpu, "redis_cpu": rcpu, "equal": same, "busy": busy, "rss": rss}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", default=str(OUT / "year-462483-2024.jsonl"))
    ap.add_argument("--records", type=int, default=80_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--code", action="append", help="code trees to compare (default: this one)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--py-spy", action="store_true")
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for the workers")
    args = ap.parse_args()
    codes = [Path(c).resolve() for c in (args.code or [ROOT])]
    extra_env = dict(e.split("=", 1) for e in args.env)
    OUT.mkdir(parents=True, exist_ok=True)
    records = []
    with open(args.file, "rb") as fh:
        for line in fh:
            if line.strip():
                records.append(line.rstrip(b"\n"))
                if len(records) >= args.records:
                    break
    part = OUT / f"slice-{len(records)}.jsonl"
    part.write_bytes(b"\n".join(records) + b"\n")
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "streams.commands.cli", "report", str(part), "--json"], check=True,
                         cwd=ROOT, capture_output=True)
    batch_s = time.monotonic() - t0
    report = json.loads(out.stdout)
    print(f"{len(records):,} records, {report['valid']:,} tickets; batch report {batch_s:.1f} s", flush=True)
    broker, redis_svc = start_broker(), start_redis()
    base = Settings.from_env({}).with_(kafka_url=broker.url, redis_url=redis_svc.url, session_timeout_s=8.0,
                                       caller_hash_key="bench-key")
    results: dict[str, list[dict]] = {str(c): [] for c in codes}
    try:
        for k in range(args.rounds):
            for j, code in enumerate(codes):
                res = run_once(code, records, report, base, args.workers, args.py_spy, f"{k}-{j}", extra_env)
                results[str(code)].append(res)
                print(f"round {k} {code}: {res['s']:.1f} s, worker CPU {res['worker_cpu']:.1f} s, "
                      f"Redis CPU {res['redis_cpu']:.1f} s, machine busy {res['busy']:.0%}, worker peak RSS {res['rss']:.0f} MB, equal={res['equal']}", flush=True)
    finally:
        broker.stop()
        redis_svc.stop()
    for code, rs in results.items():
        med = lambda key: statistics.median(r[key] for r in rs)  # noqa: E731
        print(f"median {code}: {med('s'):.1f} s, worker CPU {med('worker_cpu'):.1f} s, Redis CPU {med('redis_cpu'):.1f} s, "
              f"all equal: {all(r['equal'] for r in rs if r['equal'] is not None)}")
    if len(codes) == 2:
        a, b = results[str(codes[0])], results[str(codes[1])]
        ratios = [y["s"] / x["s"] for x, y in zip(a, b)]
        print(f"pair ratios (second/first): {', '.join(f'{x:.2f}' for x in ratios)}; median {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
