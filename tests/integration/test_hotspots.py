"""Hot issues, live: `hotline hotspots` clusters the enriched topic; the exporter publishes the sizes."""
from __future__ import annotations

import re
import time
import urllib.request

import pytest

from schemas.taxonomy import load_taxonomy
from streams.adapters.embedded import free_port, wait_port
from streams.commands.hotspots import read_hot
from streams.adapters.kafka import ensure_topics, replay
from streams.core.records import iter_file
from streams.adapters.store import CounterStore, connect
from tests.support import Proc, count_records, env_for, generate, hotline, start_exporter, start_worker, wait_for_records

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
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not read_hot(store.r, store.ns, "30d"):
            assert hot.alive(), hot.output()
            time.sleep(0.5)
        top = read_hot(store.r, store.ns, "30d")
        assert top, hot.output()
        assert [r["rank"] for r in top] == list(range(1, len(top) + 1))
        assert all(r["count"] >= 2 and r["title"] and r["key_terms"] for r in top)
        assert top[0]["count"] >= top[-1]["count"] or top[0]["heat"] >= top[-1]["heat"]
        out = hotline(["hot-live", "--window", "30d"], settings).stdout.decode()
        assert top[0]["title"][:10] in out
        wait_port(settings.exporter_host_port[1], 30, exporter.p, "exporter")
        body = urllib.request.urlopen(f"http://{settings.exporter_addr}/metrics", timeout=30).read().decode()
        m = re.search(r'^hotline_hot_cluster_tickets\{rank="1",window="30d"\} (\S+)$', body, re.M)
        assert m and float(m.group(1)) == top[0]["count"]
        print("live hot issues (30d):", [(r["count"], r["title"]) for r in top[:5]])
    finally:
        for p in (exporter, hot, worker):
            p.stop()
