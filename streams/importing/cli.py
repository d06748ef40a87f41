"""argparse wiring of `hotline import` (``register(subparsers)``, like streams/text/cli.py)."""
from __future__ import annotations

import argparse
import os
import sys
from contextlib import ExitStack

__all__ = ["register", "cmd_import"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "import", help="a platform export (.xlsx, .csv/.tsv, .jsonl; Chinese headers) -> contract events",
        description="Reads an export row by row and writes each ticket's created, replied, evaluated and withdrawn "
                    "events at their own times (or one snapshot per ticket). Ends with a summary on stderr: rows read, "
                    "events written, rows rejected by reason with their row numbers. Non-zero exit only when the "
                    "file cannot be read, a required column is missing or the output closes early.")
    p.add_argument("file")
    out = p.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", default="-", help="events JSONL to write (default: stdout)")
    out.add_argument("--to-kafka", action="store_true", help="produce into the raw topic (HOTLINE_KAFKA_URL)")
    p.add_argument("--map", action="append", default=[], metavar="COLUMN=field",
                   help="read COLUMN as field (ticket_id, received_at, content, title, reply, replied_at, channel, "
                        "district, category, subcategory, department, satisfaction, evaluated_at, withdrawn, "
                        "withdrawn_at, caller); repeatable")
    p.add_argument("--rating", action="append", default=[], metavar="WORD=N",
                   help="a satisfaction word and its score 1–5, on top of 非常满意 5, 满意 4, 基本满意 3, 不满意 2, "
                        "非常不满意 1; repeatable")
    p.add_argument("--sheet", help=".xlsx: the sheet to read (default: the first)")
    p.add_argument("--encoding", help="CSV/JSONL encoding (default: detected; UTF-8, UTF-8 with BOM, GB18030, UTF-16)")
    p.add_argument("--snapshot", action="store_true", help="one snapshot event per ticket instead of its lifecycle")
    p.add_argument("--channel", default="其他",
                   help="channel of tickets whose channel is blank or absent (default 其他; e.g. 网站 for a message board)")
    p.add_argument("--rejects", help="write every rejected row, dropped fact and flagged value here (JSONL)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    from schemas.taxonomy import load_taxonomy
    from streams.importing.columns import parse_map
    from streams.importing.readers import open_table
    from streams.importing.rows import Options
    from streams.importing.run import import_events
    from streams.importing.tally import Tally
    from streams.importing.values import parse_ratings

    overrides = parse_map(args.map)
    opt = Options(load_taxonomy(), parse_ratings(args.rating), args.channel.strip() or "其他", args.snapshot)
    table = open_table(args.file, args.sheet, args.encoding)
    tally = Tally(source=args.file)
    with ExitStack() as stack:
        if args.rejects:
            tally.sink = stack.enter_context(open(args.rejects, "w", encoding="utf-8"))
        bar = None
        if not args.no_progress and sys.stderr.isatty():
            from tqdm import tqdm

            bar = stack.enter_context(tqdm(total=table.total, unit=table.unit, unit_scale=True, desc="import"))

        def progress() -> None:
            bar.update(table.position[0] - bar.n)

        records = import_events(table, overrides, opt, tally, progress if bar is not None else None)
        if args.to_kafka:
            from streams.adapters.kafka import ensure_topics, replay
            from streams.settings import Settings

            settings = Settings.from_env()
            first = next(records, None)  # a missing column fails here, before the broker is touched
            ensure_topics(settings)
            replay(_chain(first, records), settings, progress=False)
            destination = settings.raw_topic
        else:
            fh = sys.stdout.buffer if args.output == "-" else stack.enter_context(open(args.output, "wb"))
            destination = "stdout" if args.output == "-" else args.output
            try:
                for rec in records:
                    fh.write(rec)
                    fh.write(b"\n")
                fh.flush()
            except BrokenPipeError:  # `hotline import x.csv | head`: the reader left; say so, no traceback
                sys.stdout = open(os.devnull, "w")
                print(_summary(tally, table, opt) + f"\n→ {destination} closed early: not every event was written",
                      file=sys.stderr)
                return 1
    print(_summary(tally, table, opt) + f"\n→ {destination}", file=sys.stderr)
    return 0


def _summary(tally, table, opt) -> str:
    tally.detail = f"{table.kind}, {table.detail}" + tally.detail
    return tally.format(opt.channel)


def _chain(first, rest):
    if first is not None:
        yield first
    yield from rest
