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
    from kafka import TopicPartition  # noqa: F401

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


def run_rebuild(args, settings: Settings) -> int:
    from kafka import KafkaConsumer, TopicPartition
    from tqdm import tqdm

    from schemas.taxonomy import load_taxonomy
    from streams.cli import _processor
    from streams.pipeline import Source
    from streams.store import CounterStore, FenceMoved, connect

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
    for tp in tps:
        consumer.seek(tp, starts[tp])
    total = sum(max(0, ends[tp] - starts[tp]) for tp in tps)
    bar = tqdm(total=total, unit="rec", desc=f"rebuild {args.namespace}", disable=not sys.stderr.isatty())
    pending = {tp for tp in tps if ends[tp] > starts[tp]}
    hwm = {tp: starts[tp] - 1 for tp in tps}
    kept = 0
    while pending:
        polled = consumer.poll(timeout_ms=1000, max_records=5000)
        for tp, msgs in polled.items():
            msgs = [m for m in msgs if m.offset < ends[tp]]
            if not msgs:
                pending.discard(tp)
                continue
            raws = [m.value or b"" for m in msgs if in_range(m.value or b"", since, until)]
            srcs = [Source(tp.topic, tp.partition, m.offset) for m in msgs if in_range(m.value or b"", since, until)]
            fence = f"{tp.topic}:{tp.partition}"
            prepared = processor.prepare(raws)
            while True:
                view = store.read_partition(fence, prepared.ticket_ids, prepared.group_keys)
                result = processor.process(prepared, view.states, srcs, groups=view.groups)
                try:
                    store.apply(fence, view, msgs[-1].offset, result)
                    break
                except FenceMoved:
                    continue
            kept += len(raws)
            bar.update(len(msgs))
            if msgs[-1].offset >= ends[tp] - 1:
                pending.discard(tp)
    bar.close()
    consumer.close()
    print(f"rebuilt {args.namespace}: {kept:,} records in range of {total:,} read; "
          f"activate with: hotline namespace activate {args.namespace}", file=sys.stderr)
    return 0
