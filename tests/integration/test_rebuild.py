"""Rebuilds into a fresh namespace, and the atomic switch to it."""
from __future__ import annotations

import threading
import time
import urllib.request

import pytest

from schemas.taxonomy import load_taxonomy
from streams.embedded import free_port, wait_port
from streams.kafka import ensure_topics, iter_file, replay
from streams.snapshot import take_snapshot
from streams.store import CounterStore, connect
from tests.support import (comparable, count_records, diff, generate, hotline, hotline_json, start_exporter,
                           start_worker, wait_for_records)

pytestmark = pytest.mark.integration


def same(batch: dict, live: dict) -> list[str]:
    strip = lambda r: {k: v for k, v in comparable(r).items() if k != "late"}
    return diff(strip(batch), strip(live))


def test_range_rebuild_equals_range_report_and_activation_hands_over_exactly(settings, tmp_path):
    first = generate(tmp_path / "first.jsonl", 2500, seed=21, mode="lifecycle", dirty=0.01)
    second = generate(tmp_path / "second.jsonl", 800, seed=22, mode="snapshot")
    ensure_topics(settings)
    settings = settings.with_(exporter_addr=f"127.0.0.1:{free_port()}")
    live = CounterStore(connect(settings.redis_url), settings.namespace, load_taxonomy())
    worker = start_worker(settings)
    exporter = None
    try:
        replay(iter_file(str(first)), settings, progress=False)
        wait_for_records(live, count_records(first), workers=[worker])

        # A range rebuild equals the batch report of the same range.
        ranged = settings.namespace + "_q2"
        hotline(["rebuild", "--since", "2024-04-01", "--until", "2024-07-01", "--namespace", ranged], settings)
        want = hotline_json(["report", str(first), "--json", "--since", "2024-04-01", "--until", "2024-07-01"])
        got = take_snapshot(CounterStore(live.r, ranged, load_taxonomy()), "all", "event")
        assert want["valid"] > 300
        problems = same(want, got)
        print(f"range rebuild: {got['valid']} tickets, {len(problems)} differences from the range report")
        assert not problems, problems[:20]

        # A full rebuild, then activation while the exporter is scraped and new events arrive.
        full = settings.namespace + "_v2"
        hotline(["rebuild", "--since", "2000-01-01", "--namespace", full], settings)
        exporter = start_exporter(settings, HOTLINE_WINDOW_CLOCK="event")
        wait_port(settings.exporter_host_port[1], 30, exporter.p, "exporter")
        seen, stop = [], threading.Event()

        def scrape():
            while not stop.is_set():
                body = urllib.request.urlopen(f"http://{settings.exporter_addr}/metrics", timeout=10).read().decode()
                line = next(l for l in body.splitlines() if l.startswith("hotline_tickets_total "))
                seen.append(float(line.split()[1]))
                time.sleep(0.02)

        th = threading.Thread(target=scrape, daemon=True)
        th.start()
        time.sleep(0.5)
        hotline(["namespace", "activate", full], settings)
        time.sleep(0.5)
        replay(iter_file(str(second)), settings, progress=False)
        new = CounterStore(live.r, full, load_taxonomy())
        wait_for_records(new, count_records(first) + count_records(second), workers=[worker])
        time.sleep(1)
        stop.set()
        th.join(10)
        # No gap: every scrape saw the full count of the first file or more, never less.
        assert seen and min(seen) >= 2500, (min(seen), len(seen))
        with open(tmp_path / "both.jsonl", "wb") as fh:
            fh.write(first.read_bytes() + second.read_bytes())
        want = hotline_json(["report", str(tmp_path / "both.jsonl"), "--json"])
        problems = same(want, take_snapshot(new, "all", "event"))
        print(f"after activation: {len(seen)} scrapes, min tickets {min(seen):.0f}; {len(problems)} differences")
        assert not problems, problems[:20]
        listing = hotline(["namespace", "list"], settings).stdout.decode()
        assert f"* {full}" in listing
    finally:
        if exporter:
            exporter.stop()
        worker.stop()
