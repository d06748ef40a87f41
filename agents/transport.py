"""Faust's aiokafka transport, with four changes to its consumer.

Where a partition starts. Faust's recovery ends every rebalance with `perform_seek()`, which moves
every assigned partition to Kafka's committed offset. Kafka's commit can be ahead of Redis (a
batch acked when the agent stopped, a Redis restored from an older snapshot), so for the raw
topic we seek again, to Redis' fence + 1 (or the beginning when Redis has none), and tell Faust's
offset book-keeping so: the fence is the only source of the start offset.

The fetch wait. Faust builds its aiokafka consumer with `fetch_max_wait_ms=1500` and no way to
change it. Apache Kafka answers a fetch as soon as records are there, so the wait only matters
when idle; the embedded broker holds the fetch for much of the wait even when records arrive. Measured here at
50 tickets/s: p50 produce-to-fetch 393 ms with 1500 ms, 26 ms with 100 ms.

The hand-off of each message to the stream. Faust's drain loop hands every message over with
`wait_first(callback(message), suspend_flow.wait())`, which wraps both in tasks and adds two more
for the service's stopped/crashed events: four tasks and an `asyncio.wait` per message, about a
sixth of a worker's CPU on a backfill. While the flow is not suspended we await the callback
directly; see `_Consumer.wait_first` for what happens when a rebalance comes meanwhile.

A fetch becomes bundles, not messages. The counted topics (raw and members) are read in runs: each
partition's records of one fetch reach the agent as `Bundle`s of up to `bundle_max` records (one
Faust message each, carrying the run's offsets and values; its own offset is the run's last), so
Faust's per-message path (the drain loop, the conductor, the stream's iterator and ack, its
sensors) runs once a bundle: py-spy on 200,000 records of the year, 2 workers, it took 18.4 % of a
worker's busy samples with one message a record and takes 0.6 % now. Faust's commit book-keeping
knows only the bundle's offset; the run's other offsets are declared a gap (`_add_gap`, Faust's own
means for offsets it never delivers), so Kafka's commit still follows the acks and stops at a bundle
not acked. Nothing here decides what is counted: Redis' fence does.
"""
from __future__ import annotations

import asyncio

from faust.transport.drivers import aiokafka as driver
from faust.types.tuples import ConsumerMessage


class Bundle(ConsumerMessage):
    """A run of one partition's consecutive records, delivered as one message (offset: the last)."""

    __slots__ = ("offsets", "values")


def bundle(tp, records: list, generation_id) -> Bundle:
    last = records[-1]
    values = [r.value or b"" for r in records]
    msg = Bundle(last.topic, last.partition, last.offset, last.timestamp / 1000.0 if last.timestamp is not None else None,
                 last.timestamp_type, None, None, b"", None, 0, sum(map(len, values)), tp,
                 generation_id=generation_id)
    msg.offsets = [r.offset for r in records]
    msg.values = values
    return msg


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport):
        consumer = super()._create_worker_consumer(transport)
        wait_ms = getattr(self.app, "hotline_fetch_max_wait_ms", None)
        if wait_ms:
            consumer._fetch_max_wait_ms = int(wait_ms)  # read by aiokafka's Fetcher at start()
        return consumer


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self):
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def wait_first(self, *coros, timeout=None):
        # Only the drain loop calls this on the consumer, as (callback(message), suspend_flow.wait()).
        if len(coros) != 2 or timeout is not None or self.suspend_flow.is_set():
            return await super().wait_first(*coros, timeout=timeout)
        deliver, suspended = coros
        suspended.close()
        try:
            await deliver
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():
                raise  # we are being stopped
            # A rebalance cleared the stream buffer and cancelled the put this message was
            # waiting in; Faust's own wait_first drops the message the same way. Nothing is lost:
            # it was not acked, and Redis' fence decides where the partition's next owner starts.
        return None


    async def getmany(self, timeout: float):
        """Faust's getmany (consumer.py), with the counted topics' records in bundles."""
        topics, size = self.app.hotline_bundled_topics, self.app.hotline_bundle_max
        records, active_partitions = await self._wait_next_records(timeout)
        generation_id = self.app.consumer_generation_id
        if records is None or self.should_stop:
            return
        if not self.flow_active:  # as Faust does: seek back to the committed offsets
            try:
                await self.perform_seek()
            except Exception as ex:
                self.log.warning(f"exception performing seek when flow not active {ex}")
            return
        for tp, recs in records.items():
            if not self.flow_active or self.app.consumer_generation_id != generation_id:
                break  # a rebalance: what is left is fetched again by the partition's next owner
            if not (active_partitions is None or tp in active_partitions or tp in self._buffered_partitions):
                continue
            self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
            if tp.topic not in topics:
                for record in recs:
                    yield tp, self._to_message(tp, record)
                continue
            for i in range(0, len(recs), size):
                run = recs[i:i + size]
                if len(run) > 1:  # Faust's drain loop also infers gaps, but not after a seek to 0
                    await self._add_gap(tp, run[0].offset, run[-1].offset - 1)
                yield tp, bundle(tp, run, generation_id)

    async def perform_seek(self) -> None:
        await super().perform_seek()
        placer = getattr(self.app, "hotline_start_offsets", None)
        if placer is None:
            return
        starts = await placer(self.assignment())
        if not starts:
            return
        # Offset 0 sends a partition to its first retained offset (aiokafka resets an offset out of
        # range to the earliest) and clears Faust's read offset, so nothing is dropped as "old".
        await self.seek_wait({tp: offset or 0 for tp, offset in starts.items()})
        for tp, offset in starts.items():
            # Faust commits only offsets above what it believes committed, and stops committing at
            # a hole after it: it must believe what Redis says.
            self._committed_offset[tp] = offset
        self.log.info("partitions start at Redis' fences: %s", {f"{tp.topic}:{tp.partition}": o for tp, o in starts.items()})


class Transport(driver.Transport):
    Consumer = _Consumer


def install(app, fetch_max_wait_ms: int, bundled_topics: tuple[str, ...], bundle_max: int) -> None:
    """Give `app` this transport (before it starts); `bundled_topics` reach the agent in `Bundle`s."""
    app.hotline_fetch_max_wait_ms = fetch_max_wait_ms
    app.hotline_bundled_topics = frozenset(bundled_topics)
    app.hotline_bundle_max = max(1, bundle_max)
    app.transport = Transport(app.conf.broker_consumer, app)
