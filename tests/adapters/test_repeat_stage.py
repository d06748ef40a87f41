"""The repeat stage (streams/core/members.py) through the one fenced path, on a single Redis and on a
Redis Cluster: repeat groups counted from the members topic's partitions equal the batch report's
in-memory join, whatever the interleaving, with memberships delivered twice."""
from __future__ import annotations

import random
import zlib

from streams.adapters.fenced import FencedCounter, PartitionBatch
from streams.core.members import MemberProcessor
from streams.core.pipeline import Processor
from streams.core.records import ticket_key
from streams.core.summary import summarize
from streams.core.testing import FixedPredictor, MemoryPipeline

RAW, MEMBERS = "raw", "members"
CLOCK = lambda: 1_800_000_000  # noqa: E731  (a fixed "now": no generated record is in the future)


class Sink:
    def __init__(self):
        self.members: list[tuple[str, dict]] = []

    def send(self, enriched, dead_letters, callbacks=(), members=()):
        self.members += members


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
        if rng.random() < 0.7:  # most complaints are one-offs: groups stay below their 64-member cap
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

    sink = Sink()
    counter = FencedCounter(store, Processor("k", FixedPredictor(), clock=CLOCK, repeat_members=True), outputs=sink,
                            members_topic=MEMBERS, member_processor=MemberProcessor(30))
    rng = random.Random(3)
    for p, start, chunk in _interleave(_by_partition(raws, ticket_key, 4), rng, 300):
        counter.count([PartitionBatch(RAW, p, list(range(start, start + len(chunk))), chunk)])
    assert store.all_time().get("all||repeat_caller", 0) == 0, "stage 1 must leave the groups to stage 2"

    # The members topic: keyed by group key; a batch's memberships are delivered twice once in a
    # while (a crash between send and apply), which the join absorbs.
    sent = [_encode(r) for _, r in sink.members]
    delivered = []
    for i, record in enumerate(sent):
        delivered.append(record)
        if i % 97 == 0:
            delivered.append(record)
    parts = _by_partition(delivered, lambda raw: __import__("orjson").loads(raw)["key"].encode(), 3)
    for p, start, chunk in _interleave(parts, rng, 200):
        counter.count([PartitionBatch(MEMBERS, p, list(range(start, start + len(chunk))), chunk)])

    pipe = store.pipeline_counters()
    assert pipe["members|sent"] == len(sent)
    # A copy is "again" unless its group evicted the first (64 newest members kept): then it rejoins.
    assert pipe["members|joined"] >= len(sent) and pipe["members|joined"] + pipe["members|again"] == len(delivered)
    live = summarize(store.all_time(), pipe, source="x")
    want = summarize(batch.fields, batch.pipeline, source="x")
    for figures in (live, want):
        figures.pop("late")
    assert live["repeat_by_rule"] == want["repeat_by_rule"]
    assert live == want


def test_a_member_record_that_is_not_one_is_dead_lettered_not_counted(store):
    counter = FencedCounter(store, Processor("k", FixedPredictor(), clock=CLOCK, repeat_members=True), outputs=None,
                            members_topic=MEMBERS, member_processor=MemberProcessor(30, emit_records=False))
    good = {"ns": store.ns, "rule": "caller", "key": "c:x:城市管理", "ticket_id": "A", "received_at": 1_700_000_000,
            "dims": [["all", ""], ["item", "城市管理"], ["sub", "城市管理/其他"], ["channel", "电话"], ["district", "南城街道"],
                     ["rights", "公共服务保障权"]]}
    unknown_district = [d if d[0] != "district" else ["district", "火星"] for d in good["dims"]]
    bad = [_encode({**good, "rule": "weather"}), _encode({**good, "received_at": "soon"}),
           _encode({k: v for k, v in good.items() if k != "dims"}), _encode({**good, "dims": good["dims"][:3]}),
           _encode({**good, "dims": unknown_district}), b'{"ns": "%s", "rule": ' % store.ns.encode()]
    other = _encode({**good, "ns": "another", "ticket_id": "B"})
    counter.count([PartitionBatch(MEMBERS, 0, list(range(8)), [_encode(good), *bad, other])])
    pipe = store.pipeline_counters()
    # the broken JSON has no readable namespace: it is read past like another namespace's record
    assert pipe["members|joined"] == 1 and pipe["members|bad"] == 5
    assert store.fences_of([f"{MEMBERS}:0"]) == {f"{MEMBERS}:0": 7}
