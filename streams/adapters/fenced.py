"""The one path every count takes: raw records of a Kafka partition -> Redis, exactly once.

The worker, `hotline rebuild`, a namespace switch and the refill of a hole all count through
`FencedCounter.count`, so each fix to exactness is made once, for both stages: partitions of the
raw topic (the Processor) and of the members topic (the repeat stage, streams/core/members.py,
whose records of other namespaces are read past). Per partition batch:

1. Read the partition's fence (the last offset Redis applied), the states and repeat groups the
   batch touches, and the partition's window clock: one Lua call.
2. Records at or below the fence were applied before (a redelivery): skip them.
3. A batch that starts beyond fence + 1 has a hole. If this counter did not itself see the
   consumer step over it (transaction markers, compaction), the records were counted into a Redis
   that lost them (restored from an older snapshot), or never counted (a namespace switched to, a
   batch abandoned by a crash): read the hole back from Kafka and count it first.
4. Process (pure), send the side outputs (at-least-once; the raw stage's repeat-group memberships
   among them, so they reach the members topic before the batch counts as done), apply in one Lua
   call that moves increments, states and fence together and refuses a stale fence (`FenceMoved`:
   re-read, redo).

Every Redis call goes through `RedisRetry`: any Redis error (lost connection, OOM, READONLY after a
failover, MISCONF, BUSY, NOSCRIPT, LOADING) is retried with back-off and logged loudly, and the
batch is never reported done before Redis took it. Only a stop request ends the wait (`Stopping`).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Protocol, Sequence

import redis

from streams.core.members import MAX_PER_MESSAGE, MemberProcessor, member_namespace
from streams.core.pipeline import BatchResult, Prepared, Processor, Source
from streams.adapters.store import CounterStore, FenceMoved, PartitionView

log = logging.getLogger("hotline.fenced")

MAX_BACKOFF_S = 10.0
# Records per Lua call when counting a stretch read back from Kafka (rebuilds, holes, catch-ups).
# A script holds Redis for its whole run, so live workers wait behind a rebuild's calls: at ~80 µs
# of Redis a record of the year, 5,000 records held it ~0.4 s; 1,000 hold it ~80 ms.
APPLY_MAX = 1000
BEGINNING = -2  # `handed` mark: the consumer was sent to the partition's first retained offset


class Stopping(Exception):
    """The process is stopping: a retry loop gave up waiting (nothing was applied or acked)."""


class FatalOutputError(RuntimeError):
    """Side outputs cannot be sent and retrying will not help (an ACL denial, a record too large)."""


class RetriableOutputError(RuntimeError):
    """Side outputs were not all taken yet; sending again may succeed (the broker away, a leader moving)."""


def redis_error_kind(exc: BaseException) -> str:
    """A bounded label for a Redis failure: the server's error code, or the kind of transport error."""
    if isinstance(exc, redis.ResponseError):
        text = str(exc)
        if "maxmemory" in text:  # inside a script Redis reports OOM as "ERR ... used memory > 'maxmemory'"
            return "OOM"
        if "read only replica" in text:  # and READONLY as "ERR You can't write against a read only replica"
            return "READONLY"
        code = text.split(" ", 1)[0].upper()
        if code in ("OOM", "READONLY", "MISCONF", "BUSY", "NOSCRIPT", "LOADING", "MASTERDOWN", "CLUSTERDOWN",
                    "TRYAGAIN", "MOVED", "ASK"):
            return code
        for code in ("READONLY", "MISCONF", "NOSCRIPT"):
            if code in text:
                return code
        return "ERR"
    if isinstance(exc, redis.BusyLoadingError):
        return "LOADING"
    if isinstance(exc, redis.TimeoutError):
        return "timeout"
    if isinstance(exc, (redis.ConnectionError, OSError)):
        return "connection"
    return "other"


class RedisRetry:
    """Call a Redis operation until it succeeds; back off, log, and expose the current outage."""

    def __init__(self, stop: threading.Event | None = None, on_error: Callable[[str], None] | None = None,
                 sleep: Callable[[float], None] | None = None):
        self.stop = stop or threading.Event()
        self.on_error = on_error
        self.outage_since: float | None = None  # monotonic time of the first failure of the current outage
        self._sleep = sleep

    def outage_seconds(self) -> float:
        return 0.0 if self.outage_since is None else time.monotonic() - self.outage_since

    def __call__(self, fn: Callable, what: str = "calling Redis"):
        delay = 0.1
        while True:
            if self.stop.is_set():
                raise Stopping(f"stopping while waiting for {what}")
            try:
                value = fn()
            except FenceMoved:
                raise
            except (redis.RedisError, OSError) as exc:
                kind = redis_error_kind(exc)
                if self.outage_since is None:
                    self.outage_since = time.monotonic()
                if self.on_error:
                    self.on_error(kind)
                log.error("Redis error %s while %s: %s; nothing is acknowledged, retrying in %.1f s (outage %.0f s)",
                          kind, what, str(exc)[:200], delay, self.outage_seconds())
                if self._sleep:
                    self._sleep(delay)
                elif self.stop.wait(delay):
                    raise Stopping(f"stopping while waiting for {what}") from None
                delay = min(MAX_BACKOFF_S, delay * 2)
                continue
            if self.outage_since is not None:
                log.warning("%s answers again after %.1f s", what, self.outage_seconds())
                self.outage_since = None
            return value


class SpanReader(Protocol):
    """Reads a stretch of a partition back from Kafka: chunks of (offset, value), offsets in [start, end)."""

    def read(self, topic: str, partition: int, start: int, end: int) -> Iterator[list[tuple[int, bytes]]]: ...


class SideOutputs(Protocol):
    def send(self, enriched: list, dead_letters: list, callbacks: list = (), members: list = (),
             namespace: str = "") -> None: ...


@dataclass
class PartitionBatch:
    """Consecutive records of one partition, as the consumer handed them over (offsets ascending)."""
    topic: str
    partition: int
    offsets: list[int]
    raws: list[bytes]
    lag: int = 0
    refill: bool = False  # read back from Kafka to fill a hole: its own holes are real gaps
    prepared: Prepared | None = field(default=None, repr=False)  # of the chosen records
    chosen: list[int] = field(default_factory=list, repr=False)  # indices of the records counted
    prepared_in: str = field(default="", repr=False)  # the namespace `chosen` was taken for (members topic)

    @property
    def fence(self) -> str:
        return fence_name(self.topic, self.partition)


def fence_name(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"


@dataclass
class Counted:
    records: int = 0  # offsets applied (beyond the fences)
    processed: int = 0  # of which counted (the rest were outside a rebuild's range)
    skipped: int = 0  # records at or below a fence: applied before
    refilled: int = 0  # records read back from Kafka to fill holes
    batches: int = 0  # Lua applies


class FencedCounter:
    def __init__(self, store: CounterStore, processor: Processor, *, retry: RedisRetry | None = None,
                 reader: SpanReader | None = None, outputs: SideOutputs | None = None,
                 keep: Callable[[bytes], bool] | None = None, output_retry_s: float = MAX_BACKOFF_S,
                 members_topic: str | None = None, member_processor: MemberProcessor | None = None,
                 apply_max: int = APPLY_MAX):
        """`members_topic`: the repeat stage's topic (streams/core/members.py). Its partitions are
        counted with `member_processor`, keeping the records of this counter's namespace; the raw
        stage's memberships are sent to it before the batch is applied."""
        self.store = store
        self.members_topic = members_topic
        self.member_processor = member_processor
        self.keep = keep  # records it rejects are read past (the fence moves) but not counted: rebuild ranges
        self.processor = processor
        self.retry = retry or RedisRetry()
        self.reader = reader
        self.outputs = outputs
        self.output_retry_s = output_retry_s
        self.apply_max = apply_max
        # Per partition: the last offset handed to this counter, or BEGINNING. A hole right after it
        # was stepped over by the consumer itself (markers, compaction), not lost.
        self.handed: dict[tuple[str, int], int] = {}

    # ---- where a partition starts ------------------------------------------------------------
    def start_offsets(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int | None]:
        """Where the consumer must start each partition: right after its fence, or None (the first
        retained offset) when Redis has none. The fence is the only source: Kafka's committed offset
        may be ahead of Redis (a batch acked but not applied) and is ignored."""
        partitions = list(partitions)
        fences = self.retry(lambda: self.store.fences_of(fence_name(t, p) for t, p in partitions), "reading the fences")
        out: dict[tuple[str, int], int | None] = {}
        for topic, partition in partitions:
            hwm = fences.get(fence_name(topic, partition))
            out[(topic, partition)] = None if hwm is None else hwm + 1
            self.handed[(topic, partition)] = BEGINNING if hwm is None else hwm
        return out

    # ---- counting ----------------------------------------------------------------------------
    def prepare(self, batches: Sequence[PartitionBatch]) -> None:
        """The stateless steps (clean, classify) of the batches not prepared yet. Pure."""
        for b in batches:
            if b.offsets and (b.prepared is None or b.prepared_in != self._keeps_for(b)):
                keep = self._keep(b)
                b.chosen = [i for i, raw in enumerate(b.raws) if keep is None or keep(raw)]
                b.prepared = self._processor(b).prepare([b.raws[i] for i in b.chosen])
                b.prepared_in = self._keeps_for(b)

    def count(self, batches: Sequence[PartitionBatch], ahead: Sequence[PartitionBatch] = ()) -> Counted:
        """Count batches (any partitions) into the store; returns when Redis has taken all of them.

        `ahead`: the batches to count next. While Redis runs the apply of each batch here, one of
        them is prepared (clean, classify: pure) in this thread; the rest are prepared when their
        turn comes. 2 workers on 200,000 records of the year: bench/RESULTS.md (2026-12-06)."""
        done = Counted()
        self.prepare(batches)  # those prepared ahead are kept (again if the namespace changed since)
        waiting = [b for b in ahead if b.offsets and b.prepared is None]

        def meanwhile() -> None:
            if waiting:
                self.prepare([waiting.pop(0)])

        pending = [b for b in batches if b.offsets]
        while pending:
            ready: list[tuple[PartitionBatch, PartitionView, BatchResult, list[int]]] = []
            # Repeat groups span partitions: a batch computed after another of this round sees the
            # groups that one will have written (and expects them in Redis), so the two do not
            # refuse each other and recompute, which would send their side outputs twice.
            written: dict[str, object] = {}
            for b in pending:
                view = self._read(b)
                hole = self._hole(b, view)
                if hole is not None:
                    done.refilled += self._refill(b, *hole, done)
                    view = self._read(b)
                for key in set(b.prepared.group_keys) & written.keys():
                    view.groups[key] = written[key]
                    view.group_raw[key] = self.store.codec.encode_group(written[key])
                fresh = [o for o in b.offsets if o > view.hwm]
                done.skipped += len(b.offsets) - len(fresh)
                if not fresh:
                    continue
                keep = [j for j, i in enumerate(b.chosen) if b.offsets[i] > view.hwm]
                prep = b.prepared if len(keep) == len(b.chosen) else b.prepared.subset(keep)
                sources = [Source(b.topic, b.partition, b.offsets[b.chosen[j]]) for j in keep]
                result = self._processor(b).process(prep, view.states, sources, groups=view.groups,
                                                    clock=view.clock(), waiting=view.waiting or ())
                ready.append((b, view, result, fresh))
                written.update(result.groups)
            # Side outputs of every partition first, in one flush: if we die after this, the batch
            # is redone and they are sent twice (at-least-once on those topics); counters move once.
            self._send([r for _, _, r, _ in ready])
            pending = []
            for b, view, result, offsets in ready:
                try:
                    self.retry(lambda: self.store.apply(b.fence, view, offsets, result, b.lag, len(result.members),
                                                        meanwhile if waiting else None),
                               "applying a batch")
                except FenceMoved as moved:
                    log.warning("fence moved, re-reading: %s", moved)
                    pending.append(b)
                    continue
                done.records += len(offsets)
                done.processed += result.pipeline.get("records", 0)
                done.batches += 1
        for b in batches:
            if b.offsets and not b.refill:
                self.handed[(b.topic, b.partition)] = b.offsets[-1]
        return done

    def _processor(self, b: PartitionBatch):
        return self.member_processor if b.topic == self.members_topic else self.processor

    def _keeps_for(self, b: PartitionBatch) -> str:
        """What the choice of a batch's records depends on: the namespace, for the members topic."""
        return self.store.ns if b.topic == self.members_topic else ""

    def _keep(self, b: PartitionBatch) -> Callable[[bytes], bool] | None:
        if b.topic == self.members_topic:
            ns = self.store.ns  # the namespace counted now: the others' memberships are read past
            return lambda raw: member_namespace(raw) == ns
        return self.keep

    def _read(self, b: PartitionBatch) -> PartitionView:
        prep, proc = b.prepared, self._processor(b)
        return self.retry(lambda: self.store.read_partition(b.fence, prep.ticket_ids, prep.group_keys,
                                                            proc.orphan_horizon_s, proc.newest_event_time(prep)),
                          "reading a batch's state")

    def _hole(self, b: PartitionBatch, view: PartitionView) -> tuple[int, int] | None:
        """[start, end) to read back from Kafka before this batch, or None."""
        if b.refill or self.reader is None:
            return None
        handed = self.handed.get((b.topic, b.partition))
        first = b.offsets[0]
        if not view.fenced:
            # Nothing applied yet: the consumer began at the first retained offset, or this is a
            # namespace that never saw the partition: count it from the beginning.
            return None if handed == BEGINNING else (0, first)
        if first <= view.hwm + 1:
            return None
        if handed == view.hwm:
            return None  # the consumer itself stepped from the fence over missing offsets
        return view.hwm + 1, first

    def _refill(self, b: PartitionBatch, start: int, end: int, done: Counted) -> int:
        log.warning("%s: offsets %d..%d are not in Redis; reading them back from Kafka", b.fence, start, end - 1)
        got = self.count_span(b.topic, b.partition, start, end, lag=b.lag)
        done.batches += got.batches
        return got.records

    def count_span(self, topic: str, partition: int, start: int, end: int, lag: int = 0,
                   progress: Callable[[int], None] | None = None) -> Counted:
        """Count offsets [start, end) of a partition read from Kafka, under the same fences (what
        the store already holds is skipped). For holes, namespace catch-up and rebuilds."""
        total = Counted()
        if self.reader is None or end <= start:
            return total
        # A members-topic message holds up to MAX_PER_MESSAGE memberships: a call takes the
        # memberships of about `apply_max` records, not `apply_max` messages (a rebuild's members
        # pass once applied ~250,000 memberships in one call: Redis held ~1 s, 872 MB in the process).
        per_call = max(1, self.apply_max // MAX_PER_MESSAGE) if topic == self.members_topic else self.apply_max
        for chunk in self.reader.read(topic, partition, start, end):
            for i in range(0, len(chunk), per_call):
                piece = chunk[i:i + per_call]
                got = self.count([PartitionBatch(topic, partition, [o for o, _ in piece], [v for _, v in piece],
                                                 lag, refill=True)])
                total.records += got.records
                total.processed += got.processed
                total.skipped += got.skipped
                total.batches += got.batches
                if progress:
                    progress(len(piece))
        return total

    def catch_up(self, topic: str, partition: int, end: int) -> int:
        """Count [fence + 1, end) of a partition from Kafka (a namespace switched to while idle)."""
        fence = self.retry(lambda: self.store.fence_offset(fence_name(topic, partition)), "reading a fence")
        return self.count_span(topic, partition, 0 if fence is None else fence + 1, end).records

    def _send(self, results: Sequence[BatchResult]) -> None:
        """Send the side outputs and wait until the broker has them: retry what can succeed later,
        raise FatalOutputError for what cannot (the fence keeps counts exact for the next start)."""
        enriched = [r for res in results for r in res.enriched]
        dead = [r for res in results for r in res.dead_letters]
        callbacks = [r for res in results for r in res.callbacks]  # bad ratings, keyed by ticket id
        members = [m for res in results for m in res.members]  # (group key, membership), for `namespace`
        if members and self.outputs is None:
            raise FatalOutputError("repeat-group memberships to send but no producer to send them with")
        if self.outputs is None or not (enriched or dead or callbacks or members):
            return
        delay = 0.2
        while True:
            try:
                self.outputs.send(enriched, dead, callbacks, members, self.store.ns if members else "")
                return
            except RetriableOutputError as exc:  # by the producer's own judgement (see streams/adapters/outputs.py)
                log.error("sending side outputs failed (%s); retrying in %.1f s", exc, delay)
                if self.retry.stop.wait(delay):
                    raise Stopping("stopping while sending side outputs") from None
                delay = min(self.output_retry_s, delay * 2)
            except FatalOutputError:
                raise
            except Exception as exc:  # a bug: retrying it forever would hang the worker silently
                raise FatalOutputError(f"sending side outputs failed: {type(exc).__name__}: {exc}") from exc
