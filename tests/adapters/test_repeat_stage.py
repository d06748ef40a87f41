"""The repeat stage (streams/core/members.py) through the one fenced path, on a single Redis and on a
Redis Cluster: repeat groups counted from the members topic's partitions equal the batch report's
in-memory join, whatever the interleaving, with memberships delivered twice."""
from __future__ import annotations

import random
import zlib

import orjson

from streams.adapters.fenced import FencedCounter, PartitionBatch
from streams.core.members import MemberProcessor, member_messages
from streams.core.pipeline import Processor
from streams.core.records import ticket_key
from streams.core.summary import summarize
from streams.core.testing import FixedPredictor, MemoryPipeline

RAW, MEMBERS = "raw", "members"
CLOCK = lambda: 1_800_000_000  # noqa: E731  (a fixed "now": no generated record is in the future)


class Sink:
    """The members topic in memory: messages by partition, as SideOutputs would produce them."""

    def __init__(self, partitions: int = 3):
        self.partitions = partitions
        self.members: list[tuple[str, dict]] = []
        self.messages: dict[int, list[bytes]] = {p: [] for p in range(partitions)}

    def send(self, enriched, dead_letters, callbacks=(), members=(), namespace=""):
        self.members += members
        for p, message in member_messages(namespace, members, self.partitions):
            self.messages[p].append(message)


def _encode(record: dict) -> bytes:
    import orjson

    return orjson.dumps(record)


def _by_partition(items, key_of, n):
    parts: dict[int, list] = {p: [] for p in range(n)}
    for item in items:
        parts[zlib.crc32(key_of(item)) % n].append(item)
    return parts


def _interleave(parts: dict[int, list], rng: random.Random, chunk: int):
    """Chunks of each partition in order, the partitions interleaved at random (as workers run)."""
    cursors = {p: 0 for p in parts}
    while any(cursors[p] < len(parts[p]) for p in parts):
        p = rng.choice([p for p in parts if cursors[p] < len(parts[p])])
        size = rng.randint(1, chunk)
        yield p, cursors[p], parts[p][cursors[p]:cursors[p] + size]
        cursors[p] += size


COMPLAINTS = ["小区楼下烧烤店每天晚上油烟很大，噪音扰民，希望相关部门尽快处理", "某某路口红绿灯坏了三天没人修，早晚高峰车辆拥堵严重",
              "学校附近的工地夜间施工，噪音很大，影响学生休息，请尽快查处", "物业公司不作为，电梯经常故障，业主多次反映无果"]


def tickets(n: int, seed: int) -> list[bytes]:
    """Tickets of 40 callers over two months: callers come back, complaints are re-submitted with a
    word changed, in any order of time (a partition's order is not time order)."""
    import json

    rng = random.Random(seed)
    out = []
    for i in range(n):
        day, minute = rng.randint(1, 60), rng.randint(0, 24 * 60 - 1)
        t = f"2024-{4 + day // 31:02d}-{day % 31 + 1:02d}T{minute // 60:02d}:{minute % 60:02d}:00"
        text = rng.choice(COMPLAINTS)
        if rng.random() < 0.5:
            text = text.replace("尽快", "马上")
        if rng.random() < 0.2:  # a few one-offs; the re-submitted complaints fill groups of 70 to 100
            text = "".join(rng.choice("东南西北上下左右前后大小多少高低长短") for _ in range(30))
        out.append(json.dumps({"ticket_id": f"T{i:05d}", "event": "created", "event_time": t, "received_at": t,
                               "channel": "电话", "category": rng.choice(["交通管理", "城市管理"]),
                               "district": rng.choice(["南城", "莞城"]), "caller": f"1380000{rng.randint(0, 39):04d}",
                               "content": text}, ensure_ascii=False).encode())
    return out


def test_repeat_groups_from_the_members_topic_equal_the_in_memory_join(store):
    raws = tickets(1500, seed=5)
    batch = MemoryPipeline(Processor("k", FixedPredictor(), clock=CLOCK), keep_outputs=False).feed(raws)
    assert batch.fields.get("all||repeat_caller", 0) > 100 and batch.fields.get("all||repeat_text", 0) > 100
    assert max(len(g.members) for g in batch.groups.values()) > 64  # more than a group once kept

    sink = Sink()
    counter = FencedCounter(store, Processor("k", FixedPredictor(), clock=CLOCK, repeat_members=True), outputs=sink,
                            members_topic=MEMBERS, member_processor=MemberProcessor(30))
    rng = random.Random(3)
    for p, start, chunk in _interleave(_by_partition(raws, ticket_key, 4), rng, 300):
        counter.count([PartitionBatch(RAW, p, list(range(start, start + len(chunk))), chunk)])
    assert store.all_time().get("all||repeat_caller", 0) == 0, "stage 1 must leave the groups to stage 2"

    # The members topic: a group's memberships always on one partition; a message is delivered twice
    # once in a while (a crash between send and apply), which the join absorbs.
    sent = len(sink.members)
    parts = {p: [] for p in sink.messages}
    copies = 0
    for p, messages in sink.messages.items():
        for i, message in enumerate(messages):
            parts[p].append(message)
            if i % 7 == 0:
                parts[p].append(message)
                copies += len(orjson.loads(message)["members"])
    for p, start, chunk in _interleave(parts, rng, 5):
        counter.count([PartitionBatch(MEMBERS, p, list(range(start, start + len(chunk))), chunk)])

    pipe = store.pipeline_counters()
    assert pipe["members|sent"] == sent
    assert (pipe["members|joined"], pipe["members|again"]) == (sent, copies)
    live = summarize(store.all_time(), pipe, source="x")
    want = summarize(batch.fields, batch.pipeline, source="x")
    for figures in (live, want):
        figures.pop("late")
    assert live["repeat_by_rule"] == want["repeat_by_rule"]
    assert live == want


def test_a_member_record_that_is_not_one_is_dead_lettered_not_counted(store):
    counter = FencedCounter(store, Processor("k", FixedPredictor(), clock=CLOCK, repeat_members=True), outputs=None,
                            members_topic=MEMBERS, member_processor=MemberProcessor(30, emit_records=False))
    good = {"rule": "caller", "key": "c:x:城市管理", "ticket_id": "A", "received_at": 1_700_000_000,
            "dims": [["all", ""], ["item", "城市管理"], ["sub", "城市管理/其他"], ["channel", "电话"], ["district", "南城街道"],
                     ["rights", "公共服务保障权"]]}
    unknown_district = [d if d[0] != "district" else ["district", "火星"] for d in good["dims"]]
    bad = [{**good, "rule": "weather"}, {**good, "received_at": "soon"}, {k: v for k, v in good.items() if k != "dims"},
           {**good, "dims": good["dims"][:3]}, {**good, "dims": unknown_district}, "not a membership"]
    messages = [_encode({"ns": store.ns, "members": [good, *bad]}),
                _encode({"ns": store.ns, "members": "not a list"}),
                _encode({"ns": store.ns}),
                b'{"ns": "%s", "members": [' % store.ns.encode(),  # broken JSON: no readable namespace
                _encode({"ns": "another", "members": [{**good, "ticket_id": "B"}]})]
    counter.count([PartitionBatch(MEMBERS, 0, list(range(5)), messages)])
    pipe = store.pipeline_counters()
    # the broken JSON is read past like another namespace's message (the dead letters of the raw
    # stage's own records are where its producer's bugs would show)
    assert pipe["members|joined"] == 1 and pipe["members|bad"] == len(bad) + 2
    assert store.fences_of([f"{MEMBERS}:0"]) == {f"{MEMBERS}:0": 4}


def test_a_members_span_read_back_is_applied_a_message_a_call(store):
    """A rebuild reads the members topic back in chunks of thousands of messages, each holding up to
    MAX_PER_MESSAGE memberships: one Lua call (which blocks Redis for the live workers) takes the
    memberships of about `apply_max` records, not `apply_max` messages."""
    raws = tickets(600, seed=9)
    sink = Sink(partitions=1)
    FencedCounter(store, Processor("k", FixedPredictor(), clock=CLOCK, repeat_members=True), outputs=sink,
                  members_topic=MEMBERS, member_processor=MemberProcessor(30)).count(
        [PartitionBatch(RAW, 0, list(range(len(raws))), raws)])
    messages = dict(enumerate(sink.messages[0]))
    assert len(messages) >= 2

    class Reader:
        def read(self, topic, partition, start, end):
            yield [(o, messages[o]) for o in range(start, end)]

    counter = FencedCounter(store, Processor("k", FixedPredictor(), clock=CLOCK, repeat_members=True),
                            reader=Reader(), members_topic=MEMBERS, member_processor=MemberProcessor(30))
    calls = []
    real_apply = store.apply
    store.apply = lambda fence, view, offsets, *a, **k: (calls.append(len(offsets)), real_apply(fence, view, offsets, *a, **k))
    got = counter.count_span(MEMBERS, 0, 0, len(messages))
    assert calls == [1] * len(messages)
    assert got.records == len(messages)
    assert store.pipeline_counters()["members|joined"] == len(sink.members)
