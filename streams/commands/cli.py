"""`hotline`: the one entry point. Every command reads its settings from the environment
(streams.settings.Settings) and a few flags."""
from __future__ import annotations

import argparse
import gc
import json
import logging
import sys

from streams.adapters import wiring
from streams.settings import Settings


def _settings() -> Settings:
    return Settings.from_env()


def cmd_report(args) -> int:
    from streams.commands.report import build_report, write_report

    settings = _settings()
    from streams.core.records import parse_bound

    rep = build_report(args.file, wiring.processor(settings, args.model), parse_bound(args.since), parse_bound(args.until))
    write_report(rep, args.json)
    return 0


def cmd_snapshot(args) -> int:
    from streams.commands.report import write_report
    from streams.commands.snapshot import take_snapshot

    settings = _settings()
    store = wiring.counter_store(settings, args.namespace)
    write_report(take_snapshot(store, args.window, settings.window_clock), args.json)
    return 0


def cmd_worker(args) -> int:
    from streams.commands.worker import run_worker

    return run_worker(_settings(), model=args.model)


def cmd_exporter(args) -> int:
    from streams.commands.exporter import serve_forever

    settings = _settings()
    if args.addr:
        settings = settings.with_(exporter_addr=args.addr)
    return serve_forever(settings)


def cmd_replay(args) -> int:
    from streams.adapters.kafka import ensure_topics, replay
    from streams.core.records import iter_file

    settings = _settings()
    ensure_topics(settings)
    total = None
    if not args.no_progress:
        with open(args.file, "rb") as fh:
            total = sum(1 for line in fh if line.strip())
    done = replay(iter_file(args.file), settings, speed=args.speed, total=total,
               progress=not args.no_progress and sys.stderr.isatty())
    print(done.summary(settings.raw_topic), file=sys.stderr)
    return 0


def cmd_hotspots(args) -> int:
    from streams.commands.hotspots import run_hotspots

    return run_hotspots(_settings())


def cmd_hot_live(args) -> int:
    from streams.commands.hotspots import read_hot
    from streams.commands.report import pad

    settings = _settings()
    store = wiring.counter_store(settings)
    rows = read_hot(store.r, store.ns, args.window)[: args.top]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print(f"no hot issues in {args.window} yet (is `hotline hotspots` running?)")
    for r in rows:
        print(f"{r['rank']:>2}. {r['count']:>4}  {pad(r['title'][:30], 62)} {r['first_seen']} → {r['last_seen']}  "
              f"{' '.join(r['key_terms'][:6])}")
    return 0


def cmd_demo(args) -> int:
    from streams.commands.demo import run_demo

    return run_demo(args)


def cmd_namespace(args) -> int:
    from streams.adapters import namespaces

    return namespaces.cli(args, _settings())


def cmd_rebuild(args) -> int:
    from streams.commands.rebuild import run_rebuild

    return run_rebuild(args, _settings())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hotline", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    try:
        from streams.generate.cli import register as register_generate

        register_generate(sub)
    except ImportError as exc:  # pragma: no cover - only while the generator is missing
        logging.getLogger("hotline").debug("generate unavailable: %s", exc)

    s = sub.add_parser("report", help="the batch study report of a JSONL file (no Kafka, no Redis)")
    s.add_argument("file")
    s.add_argument("--json", action="store_true", help="machine-readable output (schema in README)")
    s.add_argument("--model", help="item classifier model (default: HOTLINE_ITEM_MODEL, else the lexicon)")
    s.add_argument("--since", help="only events at or after this time (as `hotline rebuild` filters)")
    s.add_argument("--until", help="only events before this time")
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("snapshot", help="the live figures from Redis, same schema as report")
    s.add_argument("--json", action="store_true")
    s.add_argument("--window", default="all", help="1h, 24h, 7d, 30d or all")
    s.add_argument("--namespace", help="read this namespace instead of the active one")
    s.set_defaults(func=cmd_snapshot)

    s = sub.add_parser("worker", help="run a stream worker (Faust) on the raw topic")
    s.add_argument("--model", help="item classifier model")
    s.set_defaults(func=cmd_worker)

    s = sub.add_parser("exporter", help="serve Prometheus /metrics read from Redis")
    s.add_argument("--addr", help="host:port (default HOTLINE_EXPORTER_ADDR, 127.0.0.1:9464)")
    s.set_defaults(func=cmd_exporter)

    s = sub.add_parser("replay", help="produce a JSONL file into the raw topic")
    s.add_argument("file")
    s.add_argument("--speed", type=float, default=0.0,
                   help="0: as fast as possible; X: X seconds of event time per second (3600: an hour a second)")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(func=cmd_replay)

    s = sub.add_parser("demo", help="the whole pipeline on embedded services, with a replayed sample")
    s.add_argument("--once", action="store_true", help="exit once every event is counted")
    s.add_argument("--json", action="store_true", help="with --once: print the snapshot as JSON")
    s.add_argument("--tickets", type=int, default=5000)
    s.add_argument("--seed", type=int, default=2024)
    s.add_argument("--speed", type=float, default=0.0)
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("hotspots", help="cluster the enriched topic into hot issues, live (run one per namespace)")
    s.set_defaults(func=cmd_hotspots)

    s = sub.add_parser("hot-live", help="the live hot issues (what `hotline hot FILE` shows for a file)")
    s.add_argument("--window", default="7d", choices=["24h", "7d", "30d"])
    s.add_argument("--top", type=int, default=10)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_hot_live)

    s = sub.add_parser("namespace", help="list, activate or drop counter namespaces")
    s.add_argument("action", choices=["list", "activate", "drop"])
    s.add_argument("name", nargs="?")
    s.add_argument("--yes", action="store_true", help="drop without asking (needed when not on a terminal)")
    s.set_defaults(func=cmd_namespace)

    s = sub.add_parser("rebuild", help="re-count the retained raw topic into a fresh namespace")
    s.add_argument("--since", required=True)
    s.add_argument("--until")
    s.add_argument("--namespace", required=True)
    s.set_defaults(func=cmd_rebuild)

    from streams.commands.dlq import register as register_dlq
    from streams.study.cli import register as register_study

    register_dlq(sub)
    register_study(sub)
    try:
        from streams.text.cli import register as register_text

        register_text(sub)
    except ImportError as exc:  # pragma: no cover
        logging.getLogger("hotline").debug("text commands unavailable: %s", exc)

    from streams.importing.cli import register as register_import

    register_import(sub)
    return p


# The cyclic garbage collector's first generation, in container objects allocated: CPython's 700
# made it run every few records, and each run of the older generations walks every live ticket
# state, group and model object. Our objects are freed by reference counting (few cycles), so the
# collections found little and cost much: `hotline report` on 200,000 records of the year 20.2 ->
# 15.7 s of CPU, on 200,000 real-text tickets 79.6 -> 70.3 s, peak memory unchanged (269 / 519 MB).
GC_THRESHOLDS = (100_000, 50, 100)


def main(argv: list[str] | None = None) -> int:
    gc.set_threshold(*GC_THRESHOLDS)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        return 130
    except (ValueError, RuntimeError, FileNotFoundError) as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
