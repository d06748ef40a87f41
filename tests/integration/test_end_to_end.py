"""The product's central promise: the live counters equal the batch report of the same file, exactly,
through a real broker, real Redis (single and Cluster) and real worker processes."""
from __future__ import annotations

import re
import time
import urllib.request

import pytest

from schemas.taxonomy import load_taxonomy
from streams.adapters.kafka import ensure_topics, replay
from streams.core.records import iter_file
from streams.commands.snapshot import take_snapshot
from streams.adapters.store import CounterStore, connect
from tests.support import (comparable, count_records, diff, generate, hotline_json, live_vs_batch, start_exporter, start_worker,
                           wait_for_records)

pytestmark = pytest.mark.integration
TICKETS = 20_000


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    path = generate(tmp_path_factory.mktemp("e2e") / "lifecycle.jsonl", TICKETS, seed=11, mode="lifecycle", dirty=0.02)
    return path


@pytest.fixture(scope="module")
def batch_report(sample):
    return hotline_json(["report", str(sample), "--json"])


@pytest.fixture
def on_both(settings, any_redis_url):
    """The same scenario on a single Redis and on a 3-primary Redis Cluster."""
    return settings.with_(redis_url=any_redis_url)


def live_report(settings) -> dict:
    store = CounterStore(connect(settings.redis_url), settings.namespace, load_taxonomy())
    return take_snapshot(store, "all", "event")


def assert_equal(batch: dict, live: dict) -> None:
    problems = live_vs_batch(batch, live)
    print(f"compared {len(comparable(batch))} top-level fields of batch and live reports: {len(problems)} differences")
    assert not problems, "\n".join(problems[:40])


def test_sample_has_bad_records_of_every_kind(batch_report):
    assert batch_report["valid"] == TICKETS
    assert {"invalid_json", "invalid_utf8", "missing_field", "wrong_type", "impossible_time", "duplicate_event",
            "oversized"} <= set(batch_report["rejected_by_reason"])


def test_live_equals_batch_then_replay_again_changes_nothing(on_both, sample, batch_report):
    settings = on_both
    ensure_topics(settings)
    store = CounterStore(connect(settings.redis_url), settings.namespace, load_taxonomy())
    n = count_records(sample)
    worker = start_worker(settings)
    try:
        replay(iter_file(str(sample)), settings, progress=False)
        wait_for_records(store, n, workers=[worker])
        first = live_report(settings)
        assert_equal(batch_report, first)

        # The same export produced twice: every ticket figure stays; only duplicates are added.
        replay(iter_file(str(sample)), settings, progress=False)
        wait_for_records(store, 2 * n, workers=[worker])
        second = live_report(settings)
        ticket_fields = {k for k in first if k not in ("records", "rejected", "rejected_by_reason", "late",
                                                        "source", "window_end")}
        problems = diff({k: first[k] for k in ticket_fields}, {k: second[k] for k in ticket_fields})
        assert not problems, problems[:20]
        assert second["rejected_by_reason"]["duplicate_event"] >= first["valid"]

        # The exporter publishes the same ratios as the report.
        from streams.adapters.embedded import free_port, wait_port

        settings2 = settings.with_(exporter_addr=f"127.0.0.1:{free_port()}")
        exporter = start_exporter(settings2, HOTLINE_WINDOW_CLOCK="event")
        try:
            wait_port(settings2.exporter_host_port[1], 30, exporter.p, "exporter")
            body = urllib.request.urlopen(f"http://{settings2.exporter_addr}/metrics", timeout=30).read().decode()
        finally:
            exporter.stop()
        metric = lambda name: float(re.search(rf'^{name}{{window="all"}} (\S+)$', body, re.M).group(1))
        assert metric("hotline_off_hours_ratio") == pytest.approx(batch_report["off_hours_share"], abs=1e-6)
        assert metric("hotline_evaluation_ratio") == pytest.approx(batch_report["evaluation_rate"], abs=1e-6)
        assert metric("hotline_satisfaction_mean") == pytest.approx(batch_report["satisfaction_mean"], abs=1e-6)
        assert metric("hotline_withdrawal_ratio") == pytest.approx(batch_report["withdrawal_rate"], abs=1e-6)
        assert metric("hotline_repeat_ratio") == pytest.approx(batch_report["repeat_rate"], abs=1e-6)
        assert re.search(rf'^hotline_tickets_total {float(TICKETS)}$', body, re.M)
        assert "hotline_up 1.0" in body
    finally:
        worker.stop()


def test_worker_killed_mid_replay_and_restarted_ends_exact(on_both, sample, batch_report):
    settings = on_both
    ensure_topics(settings)
    store = CounterStore(connect(settings.redis_url), settings.namespace, load_taxonomy())
    n = count_records(sample)
    worker = start_worker(settings)
    try:
        replay(iter_file(str(sample)), settings, progress=False)
        deadline = time.monotonic() + 120
        while store.pipeline_counters().get("records", 0) < n // 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.kill()  # SIGKILL: no shutdown, no commit
        killed_at = store.pipeline_counters().get("records", 0)
        assert 0 < killed_at < n, f"kill landed at {killed_at} of {n}"
        worker = start_worker(settings, name="worker-restarted")
        wait_for_records(store, n, workers=[worker])
        time.sleep(1)  # anything counted twice would show up now
        assert_equal(batch_report, live_report(settings))
    finally:
        worker.stop()
