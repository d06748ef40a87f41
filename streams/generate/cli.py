"""`hotline generate`: the argparse subcommand. The lead's `streams/commands/cli.py` calls `register()`."""
from __future__ import annotations

import argparse
import sys
import time

from streams.generate.calibration import STUDY_TICKETS, STUDY_YEAR
from streams.generate.replica import MODES, manifest_path, summary_table, write_replica


def _rate(value: str) -> float:
    r = float(value)
    if not 0 <= r < 0.5:
        raise argparse.ArgumentTypeError("must be in [0, 0.5)")
    return r


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tickets", type=int, default=STUDY_TICKETS,
                   help=f"number of tickets (default {STUDY_TICKETS:,}, the Dongguan 2024 volume)")
    p.add_argument("--seed", type=int, default=2024, help="RNG seed; the same seed gives the same bytes")
    p.add_argument("--year", type=int, default=STUDY_YEAR, help="year the tickets are received in")
    p.add_argument("--mode", choices=sorted(MODES), default="snapshot",
                   help="snapshot: one final-state record per ticket; lifecycle: created/replied/evaluated/withdrawn events")
    p.add_argument("--dirty-rate", type=_rate, default=0.0, help="fraction of records that are bad (default 0)")
    p.add_argument("-o", "--output", required=True, help="output JSON Lines file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary")


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    manifest = write_replica(args.output, args.tickets, args.seed, args.year, args.mode, args.dirty_rate,
                             progress=not args.quiet and sys.stderr.isatty())
    if not args.quiet:
        print(summary_table(manifest), file=sys.stderr)
        print(f"  manifest {manifest_path(args.output)}   {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


def register(subparsers) -> argparse.ArgumentParser:
    """Add the `generate` subcommand; its parser's default `func` is `run(args) -> exit code`."""
    p = subparsers.add_parser("generate", help="write a replica of Dongguan's 2024 hotline tickets",
                              description="Generate a calibrated replica of the Dongguan 12345 hotline, 2024.")
    add_arguments(p)
    p.set_defaults(func=run)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.generate")
    add_arguments(parser)
    return run(parser.parse_args(argv))
