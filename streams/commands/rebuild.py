"""`hotline rebuild`: recount the retained raw topic into a fresh namespace, beside live counting.

The rebuild reads every partition of the raw topic itself (no consumer group, so it never takes
partitions from the workers), keeps the records whose event time falls in [since, until), and
counts them through the same fenced path as the workers (streams/adapters/fenced.py), with the same fence
names. That makes the hand-over exact: after `hotline namespace activate NEW`, each worker counts
into NEW what it had counted into the old namespace beyond NEW's fences (read back from Kafka),
then carries on: no event is skipped or counted twice.

Brokers that implement `offsets_for_times` let the rebuild start near `since`; the embedded broker
answers 0 for every timestamp, which is also correct, only slower (everything is read and
filtered by event time). The end of each partition is the fetch high watermark taken when the
rebuild starts (`end_offsets` is unreliable on the embedded broker).
"""
from __future__ import annotations

import sys

from streams.adapters import wiring
from streams.adapters.fenced import fence_name
from streams.adapters.kafka import client_kwargs, high_watermarks
from streams.core.records import in_range, parse_bound
from streams.settings import Settings


def run_rebuild(args, settings: Settings) -> int:
    from kafka import KafkaConsumer, TopicPartition
    from tqdm import tqdm

    since, until = parse_bound(args.since), parse_bound(args.until)
    store = wiring.counter_store(settings, args.namespace)
    if store.offsets():
        raise ValueError(f"namespace {args.namespace!r} already has counters; drop it or choose another name")
    store.claim_namespace()
    consumer = KafkaConsumer(enable_auto_commit=False, group_id=None, auto_offset_reset="earliest",
                             **client_kwargs(settings))
    parts = consumer.partitions_for_topic(settings.raw_topic) or set()
    if not parts:
        raise ValueError(f"topic {settings.raw_topic} does not exist")
    tps = [TopicPartition(settings.raw_topic, p) for p in sorted(parts)]
    ends = high_watermarks(consumer, tps)
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
    consumer.close()
    counter = wiring.fenced_counter(settings, store, wiring.processor(settings),
                                    keep=lambda raw: in_range(raw, since, until))
    total = sum(max(0, ends[tp] - starts[tp]) for tp in tps)
    bar = tqdm(total=total, unit="rec", desc=f"rebuild {args.namespace}", disable=not sys.stderr.isatty())
    kept = 0
    for tp in tps:
        if ends[tp] > starts[tp]:
            if starts[tp] > 0:
                store.open_fence(fence_name(tp.topic, tp.partition), starts[tp])
            kept += counter.count_span(tp.topic, tp.partition, starts[tp], ends[tp], progress=bar.update).processed
    bar.close()
    counter.reader.close()
    print(f"rebuilt {args.namespace}: {kept:,} records in range of {total:,} read; "
          f"activate with: hotline namespace activate {args.namespace}", file=sys.stderr)
    return 0
