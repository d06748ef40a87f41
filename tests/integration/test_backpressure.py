"""Backpressure: a burst many times larger than a batch (HOTLINE_BATCH_MAX) and than Faust's stream
buffer (stream_buffer_maxsize 8192, agents/app.py) waits in Kafka, not in the worker: it is counted
exactly, and the worker's peak memory stays bounded.

The whole burst is in the broker before the worker starts, so the worker meets all of it at once.
bench/burst.py does the same with 500,000 events and prints the figures."""
from __future__ import annotations

import threading
import time

import pytest

from schemas.taxonomy import load_taxonomy
from streams.adapters.kafka import ensure_topics, replay
from streams.adapters.fenced import fence_name
from streams.adapters.store import CounterStore, connect
from streams.commands.snapshot import take_snapshot
from streams.core.records import iter_file
from tests.support import count_records, generate, hotline_json, live_vs_batch, settled, start_worker, wait_for_records

pytestmark = pytest.mark.integration
TICKETS = 20_000
MEMORY_CEILING_MB = 500  # RELIABILITY.md, "Backpressure and memory"
STREAM_BUFFER = 8192


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


def watch_fence_steps(store, settings, stop: threading.Event) -> dict[int, int]:
    """Poll every raw partition's fence and keep the largest step between two reads: one apply
    moves a fence by the records of that partition in the batch, so a step above HOTLINE_BATCH_MAX
    is a batch above it (or two applies between two reads, a few ms apart, while one batch takes far
    longer to compute)."""
    names = {p: fence_name(settings.raw_topic, p) for p in range(settings.partitions)}
    steps = {p: 0 for p in names}
    last: dict[int, int] = {}
    while not stop.is_set():
        fences = store.fences_of(names.values())
        for p, name in names.items():
            if name in fences:
                steps[p] = max(steps[p], fences[name] - last.get(p, -1))
                last[p] = fences[name]
        time.sleep(0.002)
    return steps


def test_a_burst_larger_than_batch_and_buffer_is_counted_exactly_in_bounded_memory(settings, tmp_path):
    sample = generate(tmp_path / "burst.jsonl", TICKETS, seed=41, mode="lifecycle", dirty=0.01)
    n = count_records(sample)
    assert n > 4 * STREAM_BUFFER and n > 4 * settings.batch_max, (n, settings.batch_max)
    reference = hotline_json(["report", str(sample), "--json"])
    ensure_topics(settings)
    replay(iter_file(str(sample)), settings, progress=False)  # all of it waits in Kafka
    store = CounterStore(connect(settings.redis_url), settings.namespace, load_taxonomy())
    stop, steps = threading.Event(), {}
    watcher = threading.Thread(target=lambda: steps.update(watch_fence_steps(store, settings, stop)), daemon=True)
    watcher.start()
    worker = start_worker(settings)
    try:
        wait_for_records(store, n, workers=[worker], timeout=600)
        settled(lambda: store.pipeline_counters())
        stop.set()
        watcher.join(30)
        rss = peak_rss_mb(worker.p.pid)
        live = take_snapshot(store, "all", "event")
        problems = live_vs_batch(reference, live)
        print(f"burst of {n} records (batch {settings.batch_max}, stream buffer {STREAM_BUFFER}): "
              f"{len(problems)} differing fields, worker peak RSS {rss:.0f} MB, largest fence step per partition {steps}")
        assert not problems, problems[:20]
        assert live["records"] == n
        assert rss < MEMORY_CEILING_MB
        assert steps and max(steps.values()) <= settings.batch_max, (steps, settings.batch_max)
    finally:
        worker.stop()
