"""Faust test_context unit tests of the agent: no broker, real Redis, the real pure pipeline."""
from __future__ import annotations

import asyncio
import json

import pytest

from schemas.taxonomy import load_taxonomy
from streams.settings import Settings
from streams.adapters.store import CounterStore, connect


def event(tid, kind="created", **extra) -> bytes:
    doc = {"ticket_id": tid, "event": kind, "event_time": "2024-05-01T20:00:00", "received_at": "2024-05-01T20:00:00",
           "channel": "微信", "category": "交通管理", "district": "南城", "caller": "13800001111",
           "content": "路口违章停车严重，请处理。联系电话13800001111"}
    doc.update(extra)
    return json.dumps(doc, ensure_ascii=False).encode()


@pytest.fixture
def app_and_store(redis_url, namespace):
    from agents.app import make_app

    settings = Settings.from_env({}).with_(kafka_url="kafka://127.0.0.1:1", redis_url=redis_url, namespace=namespace,
                                           topic_prefix=f"{namespace}.", batch_within_s=0.05)
    store = CounterStore(connect(redis_url), namespace, load_taxonomy())
    app = make_app(settings, store=store)
    app.finalize()
    yield app, store
    store.drop()


class Sink:
    """Side outputs kept in memory."""

    def __init__(self):
        self.enriched, self.dead, self.callbacks, self.members, self.namespaces = [], [], [], [], set()

    def send(self, enriched, dead_letters, callbacks=(), members=(), namespace=""):
        self.enriched += enriched
        self.dead += dead_letters
        self.callbacks += callbacks
        self.members += members
        self.namespaces.add(namespace)


def run(coro):
    return asyncio.get_event_loop_policy().new_event_loop().run_until_complete(coro)


def test_agent_counts_each_ticket_once_and_dead_letters_bad_records(app_and_store):
    app, store = app_and_store
    agent = app.agents[next(iter(app.agents))]
    counter = app.hotline_counter
    sent = Sink()  # side outputs need a broker; the counting path is what we test
    counter.counter.outputs = sent
    counter.counter.reader = None

    async def scenario():
        async with agent.test_context() as ctx:
            await ctx.put(event("A1"), key=b"A1")
            await ctx.put(event("A1"), key=b"A1")  # duplicate event
            await ctx.put(b'{"ticket_id": "A2", "event": ', key=b"A2")  # broken JSON
            await ctx.put(event("A3", category=None, content="小区楼下烧烤油烟很大"), key=b"A3")
            await ctx.put(event("A1", "evaluated", satisfaction=5, evaluated_at="2024-05-03T10:00:00"), key=b"A1")
            # Bounded generously: the first batch loads jieba and the models (seconds on a loaded
            # 2-core machine); the wait ends as soon as the five records are counted.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 120
            while store.pipeline_counters().get("records", 0) < 5 and loop.time() < deadline:
                await asyncio.sleep(0.05)

    run(scenario())
    pipe = store.pipeline_counters()
    assert pipe["records"] == 5
    assert pipe["events|counted"] == 3
    assert pipe["dlq|duplicate_event"] == 1 and pipe["dlq|invalid_json"] == 1
    all_time = store.all_time()
    assert all_time["all||tickets"] == 2
    assert all_time["all||off_hours"] == 2  # 20:00 is off-hours
    assert all_time["item|交通管理|evaluated"] == 1 and all_time["all||sat_5"] == 1
    assert all_time.get("all||predicted") == 1  # A3 had no item
    # Each new ticket's repeat-group memberships went to the repeat stage, tagged with the namespace
    # and counted as sent in the same fenced apply (what the drained check compares with).
    # (a membership: [rule, key, ticket_id, received_at, item, sub, channel, district, rights])
    assert {(r[2], r[0]) for _, r in sent.members} >= {("A1", "caller"), ("A3", "caller")}
    assert sent.namespaces - {""} == {store.ns} and all(key == r[1] for key, r in sent.members)  # "": no memberships
    assert pipe["members|sent"] == len(sent.members)
    # No personal number in clear anywhere in Redis.
    dump = json.dumps({k: store.r.hgetall(k) for k in store.keys() if store.r.type(k) == "hash"},
                      ensure_ascii=False)
    assert "13800001111" not in dump


def test_partitions_start_at_redis_fences_or_at_the_beginning(app_and_store):
    """What the transport's perform_seek asks for (the real seek is proved in tests/integration/test_exact.py)."""
    from faust.types import TP

    app, store = app_and_store
    counter = app.hotline_counter
    raw = counter.settings.raw_topic
    members = counter.settings.members_topic
    tps = [TP(raw, 0), TP(raw, 1), TP(members, 0), TP("other", 0)]
    assert run(counter.start_offsets(tps)) == {TP(raw, 0): None, TP(raw, 1): None, TP(members, 0): None}
    store.r.hset(store.pk(f"{raw}:1", "part"), "hwm", 41)
    store.r.hset(store.pk(f"{members}:0", "part"), "hwm", 7)
    assert run(counter.start_offsets(tps)) == {TP(raw, 0): None, TP(raw, 1): 42, TP(members, 0): 8}
