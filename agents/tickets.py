"""Glue between Faust events and the pure pipeline: group a batch by partition, process it, write
the side outputs, apply to Redis under the partition's offset fence, then let Faust ack."""
from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Sequence

import redis

from schemas.taxonomy import load_taxonomy
from streams.pipeline import Processor, Source
from streams.settings import Settings
from streams.store import CounterStore, FenceMoved

log = logging.getLogger("hotline.worker")

MAX_BACKOFF_S = 10.0
NAMESPACE_CHECK_S = 1.0


@dataclass
class _PartitionBatch:
    topic: str
    partition: int
    offsets: list[int]
    prepared: Any
    fence: str = ""
    view: Any = None
    result: Any = None
    lag: int = 0


class TicketCounter:
    def __init__(self, settings: Settings, store: CounterStore, predictor=None, *, app=None, outputs=None):
        if predictor is None:
            from streams.text.items import load_classifier

            predictor = load_classifier(settings.item_model)
        self.settings = settings
        self.store = store
        from streams.text.rights import rights_claim

        self.processor = Processor(settings.caller_hash_key, predictor, rights=rights_claim,
                                   emit_records=outputs is not None, repeat_rules=settings.repeats)
        self.app = app
        self.outputs = outputs  # agents.outputs.SideOutputs, or None to count only
        self.batches_applied = 0
        self.taxonomy = load_taxonomy()
        self._ns_checked = 0.0
        self._lock = asyncio.Lock()
        self._opened: set[tuple[str, str]] = set()  # (namespace, fence) opened by this worker

    def fence(self, topic: str, partition: int) -> str:
        return f"{topic}:{partition}"

    async def seek_to_fence(self, assigned) -> None:
        """Start each assigned raw partition right after the last offset Redis applied.

        The seek runs in Faust's consumer thread (`seek_wait`): Faust's plain `seek` calls
        aiokafka from the event loop's thread and races the fetcher, which then dies on a
        KeyError and stops consumption. A partition without a fence (no worker ever began it)
        is left where Faust starts it. A worker opens the fence before a partition's first
        batch (`open_fence`), so a partition begun but never applied is sought back to its start.
        """
        starts = {}
        for tp in assigned:
            if tp.topic != self.settings.raw_topic:
                continue
            fence = self.fence(tp.topic, tp.partition)
            hwm = await self._with_retry(lambda: self.store.fence_offset(fence))
            if hwm is not None:
                starts[tp] = hwm + 1
        if starts:
            await self.app.consumer.seek_wait(starts)
            log.info("resuming from Redis %s: %s", self.store.ns,
                     {tp.partition: offset for tp, offset in starts.items()})

    async def follow_active_namespace(self, force: bool = False) -> bool:
        """Switch to the active namespace when `hotline namespace activate` changed it.

        The consumer is never moved back: a backwards seek races the batches Faust has already
        fetched, and Faust then drops the re-read records as older than its read offset. Instead,
        for each partition we own, the stretch the old namespace counted beyond the new one's
        fence (what arrived while the rebuild ran) is read with a group-less consumer and counted
        into the new namespace, under the same fences; then counting goes on where it was.
        """
        if self.app is None:
            return False
        now = time.monotonic()
        if not force and now - self._ns_checked < NAMESPACE_CHECK_S:
            return False
        self._ns_checked = now
        from streams.namespaces import active

        name = await self._with_retry(lambda: active(self.settings, self.store.r))
        if name == self.store.ns:
            return False
        old, new = self.store, CounterStore(self.store.r, name, self.taxonomy)
        await self._with_retry(new.claim_namespace)
        try:
            assigned = self.app.consumer.assignment()
        except Exception:  # no consumer yet: partitions assigned later are placed by seek_to_fence
            assigned = set()
        done_old = await self._with_retry(old.offsets)
        done_new = await self._with_retry(new.offsets)
        spans = {}
        for tp in assigned:
            fence = self.fence(tp.topic, tp.partition)
            if tp.topic == self.settings.raw_topic and done_old.get(fence, -1) > done_new.get(fence, -1):
                spans[(tp.topic, tp.partition)] = (done_new.get(fence, -1) + 1, done_old[fence] + 1)
        caught_up = await self._catch_up_with_retry(new, spans) if spans else 0
        log.warning("active namespace changed %s -> %s: %d records counted into it to catch up",
                    old.ns, name, caught_up)
        self.store = new
        return True

    async def _catch_up_with_retry(self, store: CounterStore, spans: dict) -> int:
        # Safe to repeat after any failure: the fences skip whatever a failed try already applied.
        delay = 0.5
        while True:
            try:
                return await self._with_retry(lambda: self._catch_up(store, spans))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("catching up namespace %s failed (%s); retrying in %.1f s", store.ns, exc, delay)
                await asyncio.sleep(delay)
                delay = min(MAX_BACKOFF_S, delay * 2)

    def _catch_up(self, store: CounterStore, spans: dict) -> int:
        from kafka import KafkaConsumer, TopicPartition

        from streams.kafka import client_kwargs
        from streams.rebuild import count_spans

        consumer = KafkaConsumer(enable_auto_commit=False, group_id=None, auto_offset_reset="earliest",
                                 **client_kwargs(self.settings))
        try:
            return count_spans(consumer, store, self.processor,
                               {TopicPartition(t, p): se for (t, p), se in spans.items()})
        finally:
            consumer.close()

    async def handle(self, events: Sequence[Any]) -> None:
        async with self._lock:  # the namespace timer must not switch stores mid-batch
            await self.follow_active_namespace()
            await self._handle(events)

    async def check_namespace(self) -> None:
        """From a timer: an idle worker follows an activation too, not only at its next batch."""
        async with self._lock:
            await self.follow_active_namespace(force=True)

    async def _handle(self, events: Sequence[Any]) -> None:
        by_tp: dict[tuple[str, int], list] = defaultdict(list)
        for ev in events:
            by_tp[(ev.message.topic, ev.message.partition)].append(ev)
        pending = []
        for (topic, partition), group in by_tp.items():
            group.sort(key=lambda e: e.message.offset)
            pending.append(_PartitionBatch(topic, partition, [e.message.offset for e in group],
                                           self.processor.prepare([e.message.value or b"" for e in group])))
        while pending:
            ready = [pb for pb in [await self._compute(pb) for pb in pending] if pb.result is not None]
            # Side outputs of every partition first, in one flush: if we die after this, the batch
            # is redone and they are sent twice (at-least-once on those topics); the counters
            # below still move exactly once.
            await self._produce([pb.result for pb in ready])
            pending = []
            for pb in ready:
                try:
                    await self._with_retry(lambda: self.store.apply(pb.fence, pb.view, pb.offsets[-1], pb.result, pb.lag))
                    self.batches_applied += 1
                except FenceMoved as moved:
                    log.warning("fence moved, re-reading: %s", moved)
                    pending.append(pb)

    async def _compute(self, pb: "_PartitionBatch") -> "_PartitionBatch":
        """Read the partition's fence and states, and count the records Redis has not taken yet."""
        pb.fence = self.fence(pb.topic, pb.partition)
        if (self.store.ns, pb.fence) not in self._opened:
            await self._with_retry(lambda: self.store.open_fence(pb.fence, pb.offsets[0]))
            self._opened.add((self.store.ns, pb.fence))
        prep = pb.prepared
        pb.view = await self._with_retry(lambda: self.store.read_partition(pb.fence, prep.ticket_ids, prep.group_keys))
        keep = [i for i, o in enumerate(pb.offsets) if o > pb.view.hwm]
        if not keep:
            pb.result = None  # all applied before (a redelivery after a crash or a rebalance)
            return pb
        batch = prep if len(keep) == len(pb.offsets) else prep.subset(keep)
        sources = [Source(pb.topic, pb.partition, pb.offsets[i]) for i in keep]
        pb.result = self.processor.process(batch, pb.view.states, sources, groups=pb.view.groups)
        pb.lag = self._lag(pb.topic, pb.partition, pb.offsets[-1])
        return pb

    def _lag(self, topic: str, partition: int, last_offset: int) -> int:
        if self.app is None:
            return 0
        try:
            from faust.types import TP

            hw = self.app.consumer.highwater(TP(topic, partition))
            return max(0, int(hw) - last_offset - 1) if hw is not None else 0
        except Exception:  # lag is advisory; never fail a batch over it
            return 0

    async def _produce(self, results) -> None:
        """Send the side outputs and wait until the broker has them; retry until it does.

        A failure here must neither crash the agent (Faust would stop consuming) nor lose the
        batch: we back off and send again; duplicates on these topics are acceptable.
        """
        enriched = [r for res in results for r in res.enriched]
        dead = [r for res in results for r in res.dead_letters]
        if self.outputs is None or not (enriched or dead):
            return
        delay = 0.2
        while True:
            try:
                await asyncio.to_thread(self.outputs.send, enriched, dead)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("sending side outputs failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(MAX_BACKOFF_S, delay * 2)

    async def _with_retry(self, fn):
        """Redis down or failing over: back off and retry; the batch waits, nothing is acked."""
        delay = 0.1
        while True:
            try:
                # In a thread: a stalled Redis must not stall the event loop (and with it the
                # consumer's heartbeats, which would cost us the partitions).
                return await asyncio.to_thread(fn)
            except FenceMoved:
                raise
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, OSError) as exc:
                log.warning("Redis unavailable (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(MAX_BACKOFF_S, delay * 2)
