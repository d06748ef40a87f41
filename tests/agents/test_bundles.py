"""Runs of records as one Faust message (agents/transport.py) and how the agent reads them back."""
from __future__ import annotations

import asyncio
import random
from types import SimpleNamespace

from aiokafka.structs import ConsumerRecord
from faust.types import TP

from agents.tickets import TicketCounter
from agents.transport import bundle
from streams.settings import Settings


def records(topic: str, partition: int, first: int, n: int) -> list[ConsumerRecord]:
    return [ConsumerRecord(topic, partition, o, 1_700_000_000_000 + o, 0, None, f"v{o}".encode(), None, 0, 4, ())
            for o in range(first, first + n)]


def test_a_bundle_carries_its_run_and_stands_at_its_last_offset():
    tp = TP("raw", 3)
    b = bundle(tp, records("raw", 3, 40, 5), generation_id=7)
    assert (b.topic, b.partition, b.offset, b.tp, b.generation_id) == ("raw", 3, 44, tp, 7)
    assert b.offsets == [40, 41, 42, 43, 44] and b.values == [b"v40", b"v41", b"v42", b"v43", b"v44"]
    assert b.serialized_value_size == sum(len(v) for v in b.values)


class Capture:
    def __init__(self):
        self.batches = []
        self.retry = SimpleNamespace(stop=None)

    def count(self, batches, ahead=()):
        self.batches += batches


def test_the_agent_counts_bundles_and_single_messages_of_a_partition_as_one_batch_in_offset_order():
    """A take of events may hold several bundles of one partition, in any order, beside single
    records (Faust's test context, a topic not bundled): one PartitionBatch each partition, its
    offsets ascending, each value beside its own offset."""
    raw = records("raw", 0, 0, 12)
    events = [SimpleNamespace(message=bundle(TP("raw", 0), raw[0:5], 1)),
              SimpleNamespace(message=bundle(TP("raw", 0), raw[5:9], 1)),
              *[SimpleNamespace(message=SimpleNamespace(topic="raw", partition=0, offset=r.offset, value=r.value))
                for r in raw[9:]],
              SimpleNamespace(message=bundle(TP("raw", 1), records("raw", 1, 100, 3), 1))]
    random.Random(4).shuffle(events)
    capture = Capture()
    counter = TicketCounter(Settings.from_env({}), capture, app=None)
    asyncio.run(counter.handle(events))
    by_partition = {b.partition: b for b in capture.batches}
    assert sorted(by_partition) == [0, 1] and len(capture.batches) == 2
    assert by_partition[0].offsets == list(range(12))
    assert by_partition[0].raws == [f"v{o}".encode() for o in range(12)]
    assert by_partition[1].offsets == [100, 101, 102]
