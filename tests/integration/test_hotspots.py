"""Hot issues, live: `hotline hotspots` clusters the enriched topic; the exporter publishes the sizes."""
from __future__ import annotations

import json
import re
import urllib.request

import pytest

from schemas.taxonomy import load_taxonomy
from streams.adapters.embedded import free_port, wait_port
from streams.commands.hotspots import hot_tickets_read, read_hot
from streams.adapters.kafka import ensure_topics, replay
from streams.core.records import iter_file
from streams.adapters.store import CounterStore, connect
from tests.support import (Proc, count_records, env_for, generate, hotline, start_exporter, start_worker,
                           wait_for_records, wait_until)

pytestmark = pytest.mark.integration


def test_hot_issues_are_clustered_live_and_exported(settings, tmp_path):
    sample = generate(tmp_path / "s.jsonl", 1500, seed=31, mode="snapshot")
    settings = settings.with_(exporter_addr=f"127.0.0.1:{free_port()}")
    ensure_topics(settings)
    store = CounterStore(connect(settings.redis_url), settings.namespace, load_taxonomy())
    worker = start_worker(settings)
    hot = Proc(["hotspots"], env_for(settings), "hotspots")
    exporter = start_exporter(settings, HOTLINE_WINDOW_CLOCK="event")
    try:
        replay(iter_file(str(sample)), settings, progress=False)
        wait_for_records(store, count_records(sample), workers=[worker])
        tickets = len({json.loads(line)["ticket_id"] for line in sample.open(encoding="utf-8")})

        def ranked():  # the ranking of every ticket, not an early one published while reading
            assert hot.alive(), hot.output()
            return hot_tickets_read(store.r, store.ns) >= tickets

        wait_until(ranked, 300, "the hot issues of every ticket")
        top = read_hot(store.r, store.ns, "30d")
        assert len(top) >= 3, top  # a ranking of one proves nothing
        assert [r["rank"] for r in top] == list(range(1, len(top) + 1))
        assert all(r["count"] >= 2 and r["title"] and r["key_terms"] for r in top)
        # The ranking: hottest first (heat, then size), and heat is the window's tickets plus
        # non-negative growth and likes terms (streams/text/hot.py), so never below the count.
        order = [(r["heat"], r["count"]) for r in top]
        assert order == sorted(order, reverse=True), f"not ranked by heat then size: {order}"
        assert all(r["heat"] >= r["count"] for r in top), order
        out = hotline(["hot-live", "--window", "30d"], settings).stdout.decode()
        assert top[0]["title"][:10] in out
        wait_port(settings.exporter_host_port[1], 60, exporter.p, "exporter")
        body = urllib.request.urlopen(f"http://{settings.exporter_addr}/metrics", timeout=60).read().decode()
        published = {int(rank): float(v) for rank, v in
                     re.findall(r'^hotline_hot_cluster_tickets\{rank="(\d+)",window="30d"\} (\S+)$', body, re.M)}
        assert published == {r["rank"]: float(r["count"]) for r in top[:len(published)]} and 1 in published
        print("live hot issues (30d):", [(r["count"], r["title"]) for r in top[:5]])
    finally:
        for p in (exporter, hot, worker):
            p.stop()
