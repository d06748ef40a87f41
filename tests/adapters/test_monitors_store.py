"""The monitors read from Redis equal the batch report's, and the exporter publishes them.

Records go through the fenced path (streams/adapters/fenced.py) into a real redis-server, split
over partitions in a shuffled order; `hotline snapshot` must give the report's `monitors`, open,
overdue, on-time and call-back figures, and the exporter the same numbers as gauges."""
from __future__ import annotations

import json
import random

import pytest

from streams.adapters.fenced import FencedCounter, PartitionBatch
from streams.adapters.store import CounterStore
from streams.commands.exporter import HotlineCollector
from streams.commands.snapshot import read_monitors, take_snapshot
from streams.core.monitors import Deadlines
from streams.core.pipeline import Processor
from streams.core.testing import FixedPredictor, MemoryPipeline
from tests.core.test_monitors import at, created, evaluated, hourly_docs, replied, withdrawn

pytestmark = pytest.mark.integration
DEADLINES = Deadlines(15, (("交通管理", 5),))


class Outputs:
    def __init__(self):
        self.callbacks = []

    def send(self, enriched, dead_letters, callbacks=(), members=(), namespace=""):
        self.callbacks += callbacks


def proc():
    return Processor("k", FixedPredictor("城市管理"), repeat_rules=None, clock=lambda: 1_800_000_000,
                     deadlines=DEADLINES)


def sample() -> list[bytes]:
    rnd = random.Random(3)
    docs = hourly_docs(burst=25)
    items = ["城市管理", "交通管理", "环境保护"]
    for i in range(300):  # May tickets with replies, withdrawals, bad ratings, some never closed
        day, tid = 1 + i % 28, f"M{i}"
        item = items[i % 3]
        docs.append(created(tid, at(day, 8 + i % 10, 5), item=item, district=["南城街道", "东城街道"][i % 2]))
        r = rnd.random()
        if r < 0.5:
            docs.append(replied(tid, at(min(30, day + rnd.randint(0, 20)), 17, 5)))
            if rnd.random() < 0.5:
                docs.append(evaluated(tid, at(min(31, day + 21), 18, 5), rnd.randint(1, 5)))
        elif r < 0.65:
            docs.append(withdrawn(tid, at(day, 20, 5)))
    return [json.dumps(d, ensure_ascii=False).encode() for d in docs]


def count_live(store: CounterStore, records: list[bytes], partitions: int = 3) -> Outputs:
    rnd = random.Random(9)
    # In event-time order, shuffled within runs of 40 records: follow-ups come before their
    # creation, partitions interleave, and the window clock still follows the replay.
    order = sorted(records, key=lambda r: json.loads(r)["event_time"])
    for i in range(0, len(order), 40):
        run = order[i:i + 40]
        rnd.shuffle(run)
        order[i:i + 40] = run
    parts: dict[int, list[bytes]] = {p: [] for p in range(partitions)}
    for rec in order:
        parts[hash(json.loads(rec)["ticket_id"]) % partitions].append(rec)
    outputs = Outputs()
    counter = FencedCounter(store, proc(), outputs=outputs)
    offsets = {p: 0 for p in parts}
    while any(parts.values()):
        batches = []
        for p, recs in parts.items():
            take, parts[p] = recs[:400], recs[400:]
            if take:
                batches.append(PartitionBatch("raw", p, list(range(offsets[p], offsets[p] + len(take))), take))
                offsets[p] += len(take)
        counter.count(batches)
    return outputs


def test_live_monitors_equal_the_batch_report_and_the_exporter_publishes_them(store):
    records = sample()
    batch = MemoryPipeline(proc()).feed(records, 500)
    expected = batch.report()
    outputs = count_live(store, records)
    live = take_snapshot(store, "all", "event")
    for key in ("closed", "open", "replied_on_time", "on_time_reply_rate", "callbacks", "overdue", "monitors"):
        assert live[key] == expected[key], key
    for dim in ("by_item", "by_district"):
        for name, row in expected[dim].items():
            assert {k: live[dim][name][k] for k in ("open", "callbacks", "replied_on_time")} == \
                   {k: row[k] for k in ("open", "callbacks", "replied_on_time")}
    mon = expected["monitors"]
    assert mon["overdue"]["overdue"] > 0 and mon["rising"]["weeks"] == 4
    assert mon["rising"]["by_item"]["水电气供应"]["score"] >= 10

    # Call-backs: one per bad rating counted, keyed by ticket id (at least once: none lost).
    assert {t for t, _ in outputs.callbacks} == {t for t, _ in batch.callbacks}
    assert len({t for t, _ in outputs.callbacks}) == expected["callbacks"] > 0

    # The exporter, at the same time as the snapshot, publishes the same numbers.
    as_of = mon["overdue"]["as_of"]
    collector = HotlineCollector(store, window_clock="event")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in collector.collect() for s in fam.samples}
    at_wm = read_monitors(store, store.window_end("event"))
    assert samples[("hotline_overdue_tickets", ())] == at_wm["overdue"]["overdue"]
    assert samples[("hotline_open_tickets", ())] == expected["open"]
    for name, row in at_wm["overdue"]["by_district"].items():
        assert samples[("hotline_district_overdue_tickets", (("district", name),))] == row["overdue"]
    assert samples[("hotline_item_rising_score", (("item", "水电气供应"),))] == \
        at_wm["rising"]["by_item"]["水电气供应"]["score"]
    assert samples[("hotline_item_rising_score", (("item", "户政管理"),))] == 0.0  # in the taxonomy, no tickets
    assert samples[("hotline_callbacks_total", ())] == expected["callbacks"]
    assert samples[("hotline_on_time_reply_ratio", (("window", "all"),))] == pytest.approx(expected["on_time_reply_rate"])
    print(f"as of {as_of}: overdue {expected['overdue']}, open {expected['open']}, "
          f"callbacks {expected['callbacks']}, rising 水电气供应 {mon['rising']['by_item']['水电气供应']}")


def test_hourly_bucket_memory(store):
    """Prints what an hourly bucket costs in Redis (the figure behind the 29-day retention)."""
    count_live(store, sample())
    keys = [k for fence in store.partitions()
            for k, _ in store.r.zrange(store.pk(fence, "idx:1h"), 0, -1, withscores=True)]
    sizes = [store.r.memory_usage(k) or 0 for k in keys]
    fields = [store.r.hlen(k) for k in keys]
    mean = sum(sizes) / len(sizes)
    print(f"{len(keys)} hourly buckets, mean {mean:.0f} bytes, {sum(fields) / len(fields):.1f} fields; "
          f"21 extra days = {21 * 24 * mean / 1e6:.2f} MB")
    assert len(keys) >= 28 * 24
