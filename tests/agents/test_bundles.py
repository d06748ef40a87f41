"""Runs of records as one Faust message (agents/transport.py) and how the agent reads them back."""
from __future__ import annotations

import asyncio
import random
import threading
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
    asyncio.run(counter.count(counter.batches_of(events)))
    by_partition = {b.partition: b for b in capture.batches}
    assert sorted(by_partition) == [0, 1] and len(capture.batches) == 2
    assert by_partition[0].offsets == list(range(12))
    assert by_partition[0].raws == [f"v{o}".encode() for o in range(12)]
    assert by_partition[1].offsets == [100, 101, 102]


class AckingConsumer:
    def __init__(self):
        self.acked = []

    def ack(self, message):
        self.acked.append(message.offset)
        return True


class ReadAheadCounter:
    """A TicketCounter stand-in for count_forever: records what it counts, what it was given ahead,
    and which offsets Kafka could commit (the consumer's final acks) at each call."""

    def __init__(self):
        self.consumer = AckingConsumer()
        self.out = []
        self.app = SimpleNamespace(consumer=self.consumer,
                                   sensors=SimpleNamespace(on_message_out=lambda tp, o, m: self.out.append(o)))
        self.counter = SimpleNamespace(retry=SimpleNamespace(stop=threading.Event()))
        self.calls = []

    def batches_of(self, events):
        return [ev.message.offset for ev in events]

    async def count(self, batches, ahead=()):
        self.calls.append((list(batches), list(ahead), list(self.consumer.acked)))
        await asyncio.sleep(0.02)  # Redis at work: the stream is read ahead meanwhile


def test_the_agent_reads_a_take_ahead_and_acks_each_only_after_its_batch_was_counted():
    from agents.tickets import count_forever

    counter = ReadAheadCounter()
    takes = [[SimpleNamespace(message=bundle(TP("raw", 0), records("raw", 0, 10 * k + i, 1), 1)) for i in range(2)]
             for k in range(5)]

    class Stream:
        def take_events(self, n, within):
            async def gen():
                for take in takes:
                    for ev in take:
                        ev.message.incref()  # the conductor's reference, one stream
                    yield take
                    for ev in take:  # Faust's take_events acks a take when the next is asked for
                        ev.message.ack(counter.consumer)
            return gen()

    asyncio.run(asyncio.wait_for(count_forever(counter, Stream(), 2, 0.1), 10))  # the end of the stream ends it
    counted = [c[0] for c in counter.calls]
    assert counted == [[10 * k, 10 * k + 1] for k in range(5)]  # each take once, in order
    for i, (batches, ahead, acked_before) in enumerate(counter.calls):
        assert not set(batches) & set(acked_before), f"take {i} acked before it was counted"
        assert ahead in ([], counted[i + 1] if i + 1 < len(counted) else [])
    assert any(ahead for _, ahead, _ in counter.calls), "no batch was ever given the next one ahead"
    assert sorted(counter.consumer.acked) == sorted(o for c in counted for o in c)  # each acked once
    assert counter.out == counter.consumer.acked  # and reported to Faust's sensors
