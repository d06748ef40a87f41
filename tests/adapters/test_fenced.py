"""The fenced path against a real Redis: redeliveries move nothing, Redis itself refuses offsets at
or below its fence, a record from the future moves no window, holes are read back."""
from __future__ import annotations

import json
import time

import pytest
import redis

from streams.adapters.fenced import FencedCounter, PartitionBatch, RedisRetry, redis_error_kind
from streams.core.pipeline import Processor
from streams.adapters.store import FenceMoved
from streams.core.testing import FixedPredictor

pytestmark = pytest.mark.integration


def ev(tid: str, t: str, kind: str = "created", **extra) -> bytes:
    doc = {"ticket_id": tid, "event": kind, "event_time": t, "received_at": t, "channel": "电话",
           "category": "交通管理", "district": "南城", "content": f"{tid} 路口违章停车"}
    doc.update(extra)
    return json.dumps(doc, ensure_ascii=False).encode()


def counter(store, reader=None) -> FencedCounter:
    return FencedCounter(store, Processor("k", FixedPredictor(), repeat_rules=None, clock=lambda: 1_800_000_000),
                         reader=reader)


def everything(store) -> dict:
    return {k: store.r.hgetall(k) for k in store.keys()
            if store.r.type(k) == "hash" and not k.endswith(":meta")}


def test_a_redelivered_batch_moves_no_figure_records_included(store):
    c = counter(store)
    batch = [ev(f"T{i}", f"2024-05-01T10:{i:02d}:00") for i in range(5)]
    c.count([PartitionBatch("raw", 0, list(range(5)), batch)])
    before = everything(store)
    got = c.count([PartitionBatch("raw", 0, list(range(5)), batch)])  # after a crash, the same batch again
    assert (got.records, got.skipped) == (0, 5)
    assert everything(store) == before


def test_redis_refuses_offsets_at_or_below_its_fence_whatever_the_caller_expected(store):
    proc = Processor("k", FixedPredictor(), repeat_rules=None)
    batch = [ev("A", "2024-05-01T10:00:00"), ev("B", "2024-05-01T10:01:00")]
    prep = proc.prepare(batch)
    view = store.read_partition("raw:0", prep.ticket_ids)
    store.apply("raw:0", view, [0, 1], proc.process(prep, view.states))
    # A caller that re-read the fence but kept the applied offsets (the old agent's bug class):
    view = store.read_partition("raw:0", prep.ticket_ids)
    before = everything(store)
    with pytest.raises(FenceMoved):
        store.apply("raw:0", view, [1, 2], proc.process(prep, view.states))
    assert everything(store) == before


def test_one_record_from_the_future_changes_no_window(store):
    c = counter(store)
    normal = [ev(f"T{i}", f"2024-05-01T10:{i:02d}:00") for i in range(10)]
    c.count([PartitionBatch("raw", 0, list(range(10)), normal)])
    wm = int(store.meta()["watermark"])
    windows = {w: store.window(w, wm) for w in ("1h", "24h", "7d", "30d")}
    wild = [ev("X", "2099-01-01T00:00:00"),  # ahead of the wall clock: future_time
            ev("Y", "2026-01-01T00:00:00")]  # not in the future, but far ahead of this partition
    c.count([PartitionBatch("raw", 0, [10, 11], wild)])
    c.count([PartitionBatch("raw", 0, [12], [ev("T10", "2024-05-01T10:30:00")])])
    assert store.pipeline_counters()["dlq|future_time"] == 1
    assert int(store.meta()["watermark"]) < 1_735_660_800  # still 2024 (before 2025-01-01 Shanghai)
    new_wm = int(store.meta()["watermark"])
    assert store.window("1h", new_wm)["all||tickets"] >= windows["1h"]["all||tickets"]
    assert store.window("30d", new_wm)["all||tickets"] == 11  # T0..T10: nothing pruned
    assert store.all_time()["all||tickets"] == 12  # Y is counted, in its own (future) buckets


class _Reader:
    def __init__(self, records: dict[int, bytes]):
        self.records = records
        self.asked = []

    def read(self, topic, partition, start, end):
        self.asked.append((start, end))
        yield [(o, self.records[o]) for o in range(start, end) if o in self.records]


def test_a_hole_the_consumer_did_not_step_over_is_read_back_and_a_real_gap_is_counted(store):
    records = {o: ev(f"T{o}", f"2024-05-01T10:{o:02d}:00") for o in range(12) if o != 7}  # 7: a marker
    reader = _Reader(records)
    c = counter(store, reader)
    c.start_offsets([("raw", 0)])  # no fence: the consumer starts at the beginning
    c.count([PartitionBatch("raw", 0, [0, 1, 2], [records[o] for o in (0, 1, 2)])])
    # Redis "forgets" (a restore): the fence goes back to 0 while this counter had applied 2.
    store.r.hset(store.pk("raw:0", "part"), "hwm", 0)
    store.r.hincrby(store.pk("raw:0", "all"), "all||tickets", -2)
    store.r.hincrby(store.pk("raw:0", "pipe"), "records", -2)
    store.r.hincrby(store.pk("raw:0", "pipe"), "events|counted", -2)
    for tid in ("T1", "T2"):
        from streams.adapters.store import state_shard
        store.r.hdel(store.pk("raw:0", state_shard(tid)), tid)
    c.count([PartitionBatch("raw", 0, [5, 6], [records[5], records[6]])])
    assert reader.asked == [(1, 5)]
    c.count([PartitionBatch("raw", 0, [8, 9], [records[8], records[9]])])  # the consumer stepped over 7
    assert reader.asked == [(1, 5)]
    assert store.all_time()["all||tickets"] == 9  # 0..6, 8, 9
    assert store.pipeline_counters()["gap"] == 1


def test_a_span_read_back_holds_redis_for_at_most_apply_max_records_a_call(store):
    """A rebuild reads chunks of thousands of records; each Lua call (which blocks Redis for live
    workers) takes at most `apply_max` of them, and the counts are those of one big call."""
    records = {o: ev(f"T{o}", f"2024-05-01T{10 + o // 60:02d}:{o % 60:02d}:00") for o in range(250)}
    calls = []
    c = FencedCounter(store, Processor("k", FixedPredictor(), repeat_rules=None, clock=lambda: 1_800_000_000),
                      reader=_Reader(records), apply_max=100)
    real_apply = store.apply
    store.apply = lambda fence, view, offsets, *a, **k: (calls.append(len(offsets)), real_apply(fence, view, offsets, *a, **k))
    got = c.count_span("raw", 0, 0, 250)
    assert calls == [100, 100, 50]
    assert (got.records, got.batches) == (250, 3)
    assert store.all_time()["all||tickets"] == 250
    assert store.fence_offset("raw:0") == 249


def test_field_values_with_json_and_separator_characters_survive_the_apply(store):
    """The batch travels to Lua as one JSON document: quotes, backslashes, the old blob separators
    and non-BMP characters in a value are counted under exactly that value."""
    from streams.core.counting import Increment
    from streams.core.pipeline import BatchResult

    odd = 'a"b\\c\x1e\x1fd|e 𠀀区'
    view = store.read_partition("raw:0", [])
    result = BatchResult(increments=[Increment(1_714_528_800, [("all", ""), ("district", odd)], {"tickets": 1, "sat_sum": 5}),
                                     Increment(1_714_528_900, [("all", ""), ("district", odd)], {"tickets": 1, "sat_sum": -2})],
                         event_times=[1_714_528_800, 1_714_528_900])
    store.apply("raw:0", view, [0, 1], result)
    assert store.all_time() == {"all||tickets": 2, "all||sat_sum": 3, f"district|{odd}|tickets": 2, f"district|{odd}|sat_sum": 3}


@pytest.mark.parametrize("message,kind", [
    ("OOM command not allowed when used memory > 'maxmemory'.", "OOM"),
    ("Error running script: @user_script:65: command not allowed when used memory > 'maxmemory'.", "OOM"),
    ("READONLY You can't write against a read only replica.", "READONLY"),
    ("You can't write against a read only replica. script: f2f9, on @user_script:65.", "READONLY"),
    ("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.", "MISCONF"),
    ("BUSY Redis is busy running a script.", "BUSY"),
    ("NOSCRIPT No matching script.", "NOSCRIPT"),
])
def test_every_redis_error_is_retried_not_raised(message, kind):
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise redis.ResponseError(message)
        return "ok"

    seen = []
    retry = RedisRetry(on_error=seen.append, sleep=lambda s: None)
    assert retry(flaky) == "ok" and seen == [kind, kind]
    assert redis_error_kind(redis.ResponseError(message)) == kind


def test_every_waiting_ticket_past_the_horizon_is_orphaned_however_many(store):
    """Six hundred replies whose tickets never come, then records a horizon later: the worker
    orphans all of them in that batch, as the report does. The waiting read once stopped at 500,
    and the other 100 stayed parked until some later batch (at rest: never)."""
    from streams.core.testing import MemoryPipeline

    replies = [ev(f"W{i:03d}", "2024-05-01T10:00:00", "replied", reply="已派员现场处理。",
                  replied_at="2024-05-01T10:00:00") for i in range(600)]
    later = [ev("X", "2024-06-15T10:00:00"), ev("Y", "2024-06-15T10:05:00")]  # two: the clock needs a quorum
    c = counter(store)
    c.count([PartitionBatch("raw", 0, list(range(600)), replies)])
    c.count([PartitionBatch("raw", 0, [600, 601], later)])
    live = store.pipeline_counters()

    report = MemoryPipeline(Processor("k", FixedPredictor(), repeat_rules=None, clock=lambda: 1_800_000_000))
    report.feed_batch(replies)
    report.feed_batch(later)
    assert report.pipeline["events|orphaned"] == 600 and report.pipeline.get("events|parked", 0) == 0
    assert (live.get("events|orphaned", 0), live.get("events|parked", 0)) == (600, 0)


def test_the_next_batches_are_prepared_while_redis_applies_this_one(store):
    """`count(batches, ahead)`: each ahead batch is cleaned and classified after the apply of the
    batch before was sent to Redis (Redis has it: the fence already moved) and before its answer is
    read; it is not prepared again when its own turn comes, and the counts are those of counting
    one batch after the other."""
    c = counter(store)
    batches = [PartitionBatch("raw", p, list(range(10 * k, 10 * k + 10)),
                              [ev(f"T{p}-{k}-{i}", f"2024-05-0{k + 1}T10:{i:02d}:00") for i in range(10)])
               for k in range(3) for p in range(2)]
    prepared, fences_seen = [], []
    inner = c.processor.prepare

    def watching(raws):
        prepared.append(raws[0])
        if len(prepared) > 2:  # an ahead batch: the apply before it must already be in Redis
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not any(store.fence_offset(f"raw:{p}") for p in range(2)):
                time.sleep(0.005)
            fences_seen.append({p: store.fence_offset(f"raw:{p}") for p in range(2)})
        return inner(raws)

    c.processor.prepare = watching
    c.count(batches[0:2], ahead=batches[2:4])
    assert len(prepared) == 4 and all(b.prepared is not None for b in batches[2:4])
    assert fences_seen[0][0] == 9 or fences_seen[0][1] == 9, fences_seen
    c.count(batches[2:4], ahead=batches[4:6])
    c.count(batches[4:6])
    assert len(prepared) == 6, "a batch prepared ahead was prepared again"
    assert store.all_time()["all||tickets"] == 60
    assert store.offsets() == {"raw:0": 29, "raw:1": 29}


def test_a_script_sent_before_the_work_meanwhile_is_answered_even_after_redis_forgot_it(store):
    """`run_script(meanwhile=…)` sends EVALSHA, runs the work, then reads the answer; when Redis lost
    its scripts (a restart) it loads the script and runs it once."""
    script = store.r.register_script("redis.call('INCR', KEYS[1]); return redis.call('GET', KEYS[1])")
    key = store.pk("raw:0", "probe")
    ran = []
    assert store.run_script(script, [key], [], lambda: ran.append(store.r.get(key))) == "1"
    assert ran == ["1"] or ran == [None]  # the work ran between sending and reading
    store.r.script_flush()
    assert store.run_script(script, [key], [], lambda: ran.append("again")) == "2"
    assert ran[-1] == "again" and store.r.get(key) == "2"
    store.r.delete(key)
