"""Glue between Faust and the fenced counting path (streams/adapters/fenced.py): thin on purpose.

A batch of Faust events becomes one `PartitionBatch` per partition and is counted in a thread
(a stalled Redis must not stall the event loop, and with it the consumer's heartbeats). The stream
is read one take ahead, so the next batch is cleaned and classified while Redis applies this one;
a take's events are acked to Faust only once Redis took their batch (`hold`, `release`). What the
agent never does is raise: a raised exception makes Faust restart the agent on the same stream,
ack the batch in hand, and the next batch would step over it. A Redis failure is waited out (streams.adapters.fenced.RedisRetry); anything
else stops the worker (`fatal`), and the next start resumes at the fences.
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections import defaultdict
from typing import Any, Sequence

from streams.adapters.fenced import FencedCounter, PartitionBatch, Stopping, fence_name
from streams.adapters.namespaces import active
from streams.settings import Settings
from streams.adapters.store import CounterStore

log = logging.getLogger("hotline.worker")

NAMESPACE_CHECK_S = 1.0
EXIT_FATAL = 70  # EX_SOFTWARE


def fatal(exc: BaseException) -> None:
    """Stop the worker now, loudly. Redis' fences make the next start count exactly what is left."""
    msg = f"hotline worker: stopping on an error that retrying cannot fix: {type(exc).__name__}: {exc}"
    log.critical(msg, exc_info=exc)
    print(msg, file=sys.stderr, flush=True)
    logging.shutdown()
    os._exit(EXIT_FATAL)


class TicketCounter:
    def __init__(self, settings: Settings, counter: FencedCounter, app=None):
        self.settings = settings
        self.counter = counter
        self.app = app
        self._lock = asyncio.Lock()  # the namespace timer must not switch stores mid-batch
        self._ns_checked = 0.0

    @property
    def counted_topics(self) -> tuple[str, str]:
        return self.settings.raw_topic, self.settings.members_topic

    @property
    def store(self) -> CounterStore:
        return self.counter.store

    async def _in_thread(self, fn, *args):
        return await asyncio.to_thread(fn, *args)

    async def count(self, batches: list[PartitionBatch], ahead: list[PartitionBatch] = ()) -> None:
        """Count batches; returns once Redis took them. `ahead`: the next ones, prepared meanwhile."""
        async with self._lock:
            await self.follow_active_namespace()
            await self._in_thread(self.counter.count, batches, ahead)

    def batches_of(self, events: Sequence[Any]) -> list[PartitionBatch]:
        """One PartitionBatch per partition of the events (records one a message, or runs of them:
        `agents.transport.Bundle`), its records in offset order."""
        by_tp: dict[tuple[str, int], list] = defaultdict(list)
        for ev in events:
            by_tp[(ev.message.topic, ev.message.partition)].append(ev.message)
        batches = []
        for (topic, partition), messages in by_tp.items():
            offsets: list[int] = []
            values: list[bytes] = []
            for m in sorted(messages, key=lambda m: m.offset):
                if hasattr(m, "offsets"):
                    offsets += m.offsets
                    values += m.values
                else:
                    offsets.append(m.offset)
                    values.append(m.value or b"")
            batches.append(PartitionBatch(topic, partition, offsets, values, self._lag(topic, partition, offsets[-1])))
        return batches

    async def start_offsets(self, assigned) -> dict:
        """Where each assigned partition (raw or members topic) starts: Redis' fence + 1, or None (the beginning)."""
        raw = [tp for tp in assigned if tp.topic in self.counted_topics]
        if not raw:
            return {}
        starts = await self._in_thread(self.counter.start_offsets, [(tp.topic, tp.partition) for tp in raw])
        log.info("starting from Redis %s: %s", self.store.ns, {p: o for (_, p), o in starts.items()})
        return {tp: starts[(tp.topic, tp.partition)] for tp in raw}

    async def check_namespace(self) -> None:
        """From a timer: an idle worker follows an activation too, not only at its next batch."""
        async with self._lock:
            await self.follow_active_namespace(force=True)

    async def follow_active_namespace(self, force: bool = False) -> bool:
        """Switch to the active namespace when `hotline namespace activate` changed it.

        The consumer is never moved back (a backwards seek races the batches Faust has fetched).
        For each partition we own, what the old namespace counted beyond the new one's fence is
        read back from Kafka and counted into the new one through the same fenced path; the
        next batch then finds no hole."""
        now = time.monotonic()
        if self.app is None or (not force and now - self._ns_checked < NAMESPACE_CHECK_S):
            return False
        self._ns_checked = now
        name = await self._in_thread(self.counter.retry, lambda: active(self.settings, self.store.r))
        if name == self.store.ns:
            return False
        old, new = self.store, CounterStore(self.store.r, name, self.store.taxonomy)
        await self._in_thread(self.counter.retry, new.claim_namespace)
        done_old = await self._in_thread(self.counter.retry, old.offsets)
        try:
            assigned = self.app.consumer.assignment()
        except Exception:  # no consumer yet: partitions assigned later start at the new fences
            assigned = set()
        self.counter.store = new
        caught_up = {topic: 0 for topic in self.counted_topics}
        for tp in assigned:
            end = done_old.get(fence_name(tp.topic, tp.partition))
            if tp.topic in self.counted_topics and end is not None:
                caught_up[tp.topic] += await self._in_thread(self.counter.catch_up, tp.topic, tp.partition, end + 1)
        log.warning("active namespace changed %s -> %s: %d records counted into it to catch up "
                    "(and %d records of the members topic)", old.ns, name, *caught_up.values())
        return True

    def _lag(self, topic: str, partition: int, last_offset: int) -> int:
        if self.app is None:
            return 0
        try:
            from faust.types import TP

            hw = self.app.consumer.highwater(TP(topic, partition))
            return max(0, int(hw) - last_offset - 1) if hw is not None else 0
        except Exception:  # lag is advisory; never fail a batch over it
            return 0


async def count_forever(counter: TicketCounter, stream, take: int, within_s: float) -> None:
    """The agent's body: count batches of up to `take` events (each a record or a bundle of them)
    until the stream stops; stop the worker on a fatal error.

    When the next batch has already arrived (a backlog, a replay), it is cleaned and classified
    while Redis applies this one (`FencedCounter.count(ahead=…)`). It arrives because a task reads
    the stream one take ahead; Faust acks a take's events as soon as the next is read, so each event
    is held (one more reference on its message: Faust's own count of the streams still working on
    it) and released once Redis took its batch. Kafka's commit never passes what Redis holds."""
    app = counter.app
    # Takes read ahead (None: the stream ended). Two, so that when a batch is counted the next one is
    # usually there already: with room for one, the reader refilled the queue only after the
    # counter had looked, and no batch ever found the next one waiting.
    takes: asyncio.Queue = asyncio.Queue(maxsize=2)

    async def read_ahead():
        async for events in stream.take_events(take, within=within_s):
            hold(events)
            await takes.put(events)
        await takes.put(None)

    reader = asyncio.ensure_future(read_ahead())
    reader.add_done_callback(_stop_on_failure)
    waiting = object()  # nothing read ahead yet (None is the stream's end)
    try:
        events = await takes.get()
        batches = counter.batches_of(events) if events is not None else []
        while events is not None:
            following = takes.get_nowait() if not takes.empty() else waiting
            ahead = counter.batches_of(following) if following not in (None, waiting) else []
            await counter.count(batches, ahead)
            release(app, events)
            if following is waiting:
                following = await takes.get()
                ahead = counter.batches_of(following) if following is not None else []
            events, batches = following, ahead
    except asyncio.CancelledError:
        counter.counter.retry.stop.set()  # the worker stops: a thread still waiting for Redis gives up
        raise
    except Stopping:
        raise
    except Exception as exc:  # a bug, a fatal side-output error: never let Faust restart us past a batch
        fatal(exc)
    finally:
        reader.cancel()


def hold(events: Sequence[Any]) -> None:
    """Keep Faust's ack at the end of a take from acking these events (see count_forever)."""
    for ev in events:
        ev.message.incref()


def release(app, events: Sequence[Any]) -> None:
    """Ack events whose batch Redis took: the last reference, so Faust may commit their offsets."""
    if app is None:
        return
    for ev in events:
        m = ev.message
        if m.ack(app.consumer):
            app.sensors.on_message_out(m.tp, m.offset, m)


def _stop_on_failure(task: asyncio.Future) -> None:
    """The stream reader failed (a bug): stop now, as the agent would."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None and not isinstance(exc, Stopping):
        fatal(exc)
