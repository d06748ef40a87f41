"""`hotline study FILE.jsonl | --live`: the study's figures as one self-contained HTML page (and PDF)."""
from __future__ import annotations

import sys
from pathlib import Path


def cmd_study(args) -> int:
    from streams.adapters import wiring
    from streams.settings import Settings
    from streams.study.figures import Period, StudyFigures, month_period, study_file
    from streams.study.page import render

    settings = Settings.from_env()
    if args.live == bool(args.file):
        raise ValueError("give either a FILE.jsonl or --live")
    if args.live:
        if args.month:
            raise ValueError("--month needs a file: live counters keep windows (1h, 24h, 7d, 30d, all), not months")
        from streams.commands.snapshot import take_snapshot

        rep = take_snapshot(wiring.counter_store(settings, args.namespace), args.window or "30d", settings.window_clock)
        fig = StudyFigures(rep, Period(rep["window"]), live=True)
    else:
        period = month_period(args.month) if args.month else Period()
        fig = study_file(args.file, wiring.processor(settings, args.model, emit_records=True), period,
                         hot_window=args.window or "30d")
    out = Path(args.output)
    out.write_text(render(fig), encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size:,} bytes, {fig.report['tickets']:,} tickets)", file=sys.stderr)
    if args.pdf:
        from streams.study.pdf import print_pdf

        pdf = out.with_suffix(".pdf")
        print_pdf(str(out), str(pdf))
        print(f"wrote {pdf}", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    s = subparsers.add_parser("study", help="the study's figures as one self-contained HTML page (inline SVG charts)")
    s.add_argument("file", nargs="?", help="contract events (JSONL), as `hotline generate` or `hotline import` write")
    s.add_argument("--live", action="store_true", help="read the live counters (Redis) instead of a file")
    s.add_argument("--window", help="live: 1h, 24h, 7d, 30d or all (default 30d); "
                                     "file: the hot issues' window, ending at the file's last ticket (default 30d; "
                                     "with --month, the month)")
    s.add_argument("--month", help="file: only this month's facts, YYYY-MM (Asia/Shanghai)")
    s.add_argument("-o", "--output", required=True, help="the HTML file to write")
    s.add_argument("--pdf", action="store_true", help="also print it to PDF next to it (needs Chromium)")
    s.add_argument("--model", help="item classifier model (default: HOTLINE_ITEM_MODEL, else the lexicon)")
    s.add_argument("--namespace", help="live: read this namespace instead of the active one")
    s.set_defaults(func=cmd_study)
