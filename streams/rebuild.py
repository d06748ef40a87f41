"""`hotline rebuild`: recount the retained raw topic into a fresh namespace, beside live counting.

The rebuild reads every partition of the raw topic itself (no consumer group, so it never takes
partitions from the workers), keeps the records whose event time falls in [since, until), and
applies them with the same Processor and the same offset-fenced Lua as the workers, using the same
fence names. That last point makes the hand-over exact: after `hotline namespace activate NEW`,
each worker notices the switch, moves its partitions to the offsets the rebuild recorded in NEW,
and carries on from there — no event is skipped or counted twice.

Brokers that implement `offsets_for_times` let the rebuild start near `since`; the embedded broker
answers 0 for every timestamp, which is also correct, only slower (everything is read and
filtered by event time). The end of each partition is the fetch high watermark taken when the
rebuild starts (`end_offsets` is unreliable on the embedded broker).
"""
from __future__ import annotations

import sys
import time

from streams.cleaning import parse_time
from streams.kafka import client_kwargs, event_time_of
from streams.settings import Settings


def in_range(record: bytes, since: int | None, until: int | None) -> bool:
    """The time-range filter rebuilds and `report --since/--until` share. Records without a readable
    event time belong to every range: they are dead-lettered and counted, never silently skipped."""
    if since is None and until is None:
        return True
    t = event_time_of(record)
    if t is None:
        return True
    return (since is None or t >= since) and (until is None or t < until)


def parse_bound(text: str | None) -> int | None:
    """An ISO-8601 time or a date (midnight, Asia/Shanghai when no offset is given)."""
    if not text:
        return None
    from streams.cleaning import _Bad

    text = text.strip()
    if len(text) == 10:
        text += "T00:00:00"
    try:
        return parse_time(text, "time bound")
    except _Bad as bad:
        raise ValueError(bad.message) from None


def _high_watermarks(consumer, tps) -> dict:
    """Fetch once from each partition to learn its high watermark."""
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    hw = {}
    deadline = time.monotonic() + 30
    while len(hw) < len(tps) and time.monotonic() < deadline:
        consumer.poll(timeout_ms=500, max_records=1)
        for tp in tps:
            h = consumer.highwater(tp)
            if h is not None:
                hw[tp] = h
    for tp in tps:
        hw.setdefault(tp, 0)
    return hw


def count_spans(consumer, store, processor, spans: dict, keep=None, progress=None, stall_s: float = 120.0) -> int:
    """Count the raw records at offsets [start, end) of each partition into `store`.

    Applied with the workers' own offset fences, so a span that overlaps what the store already
    holds is counted once, and a concurrent writer on the same partition only makes us re-read.
    `consumer` is a kafka-python consumer without a group. Returns the number of records kept;
    raises RuntimeError when the broker sends nothing for `stall_s`.
    """
    from streams.pipeline import Source
    from streams.store import FenceMoved

    spans = {tp: se for tp, se in spans.items() if se[1] > se[0]}
    consumer.assign(list(spans))
    for tp, (start, _) in spans.items():
        consumer.seek(tp, start)
    pending, kept = set(spans), 0
    last_progress = time.monotonic()
    while pending:
        if time.monotonic() - last_progress > stall_s:
            raise RuntimeError(f"no records from {sorted(str(tp) for tp in pending)} for {stall_s:.0f} s "
                               "(deleted by retention, or the broker is away)")
        polled = consumer.poll(timeout_ms=1000, max_records=5000)
        if polled:
            last_progress = time.monotonic()
        for tp, msgs in polled.items():
            if tp not in pending:
                continue
            end = spans[tp][1]
            msgs = [m for m in msgs if m.offset < end]
            if not msgs:
                pending.discard(tp)
                continue
            chosen = [m for m in msgs if keep is None or keep(m.value or b"")]
            raws = [m.value or b"" for m in chosen]
            sources = [Source(tp.topic, tp.partition, m.offset) for m in chosen]
            fence = f"{tp.topic}:{tp.partition}"
            prepared = processor.prepare(raws)
            while True:
                view = store.read_partition(fence, prepared.ticket_ids, prepared.group_keys)
                fresh = [i for i, s in enumerate(sources) if s.offset > view.hwm]
                if msgs[-1].offset <= view.hwm:
                    break  # someone else counted this stretch already
                batch = prepared if len(fresh) == len(sources) else prepared.subset(fresh)
                result = processor.process(batch, view.states, [sources[i] for i in fresh], groups=view.groups)
                try:
                    store.apply(fence, view, msgs[-1].offset, result)
                    kept += len(fresh)
                    break
                except FenceMoved:
                    continue
            if progress:
                progress(len(msgs))
            if msgs[-1].offset >= end - 1:
                pending.discard(tp)
    return kept


def run_rebuild(args, settings: Settings) -> int:
    from kafka import KafkaConsumer, TopicPartition
    from tqdm import tqdm

    from schemas.taxonomy import load_taxonomy
    from streams.cli import _processor
    from streams.store import CounterStore, connect

    since, until = parse_bound(args.since), parse_bound(args.until)
    store = CounterStore(connect(settings.redis_url, settings.redis_ssl_ca_certs), args.namespace, load_taxonomy())
    if store.offsets():
        raise ValueError(f"namespace {args.namespace!r} already has counters; drop it or choose another name")
    store.claim_namespace()
    processor = _processor(settings)
    consumer = KafkaConsumer(enable_auto_commit=False, group_id=None, auto_offset_reset="earliest",
                             max_partition_fetch_bytes=4 * 1024 * 1024, **client_kwargs(settings))
    parts = consumer.partitions_for_topic(settings.raw_topic) or set()
    if not parts:
        raise ValueError(f"topic {settings.raw_topic} does not exist")
    tps = [TopicPartition(settings.raw_topic, p) for p in sorted(parts)]
    ends = _high_watermarks(consumer, tps)
    starts = {tp: 0 for tp in tps}
    if since is not None:
        try:
            found = consumer.offsets_for_times({tp: since * 1000 for tp in tps}) or {}
            for tp, ot in found.items():
                if ot is not None and ot.offset > 0:
                    # Producer timestamps are not event times: start a little earlier and filter.
                    starts[tp] = max(0, ot.offset - 10_000)
        except Exception:
            pass  # unsupported: read from the start, filter by event time
    spans = {tp: (starts[tp], ends[tp]) for tp in tps}
    total = sum(max(0, e - s) for s, e in spans.values())
    bar = tqdm(total=total, unit="rec", desc=f"rebuild {args.namespace}", disable=not sys.stderr.isatty())
    kept = count_spans(consumer, store, processor, spans, lambda raw: in_range(raw, since, until), bar.update)
    bar.close()
    consumer.close()
    print(f"rebuilt {args.namespace}: {kept:,} records in range of {total:,} read; "
          f"activate with: hotline namespace activate {args.namespace}", file=sys.stderr)
    return 0
