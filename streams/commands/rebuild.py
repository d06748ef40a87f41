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

Repeat groups are counted in a second pass, as the workers count them: the first pass sends each
ticket's memberships (tagged with the new namespace) to the members topic; the second counts that
topic's partitions, keeping the new namespace's records, up to where the first pass left them.
"""
from __future__ import annotations

import sys

from streams.adapters import wiring
from streams.adapters.fenced import fence_name
from streams.adapters.kafka import client_kwargs, high_watermarks
from streams.adapters.outputs import SideOutputs
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
    counter = wiring.fenced_counter(settings, store, wiring.processor(settings, repeat_members=True),
                                    keep=lambda raw: in_range(raw, since, until),
                                    outputs=SideOutputs(settings, members_only=True))
    total = sum(max(0, ends[tp] - starts[tp]) for tp in tps)
    bar = tqdm(total=total, unit="rec", desc=f"rebuild {args.namespace}", disable=not sys.stderr.isatty())
    kept = 0
    for tp in tps:
        if ends[tp] > starts[tp]:
            if starts[tp] > 0:
                store.open_fence(fence_name(tp.topic, tp.partition), starts[tp])
            kept += counter.count_span(tp.topic, tp.partition, starts[tp], ends[tp], progress=bar.update).processed
    # The members the first pass sent (each flushed before its batch was applied), then the repeat stage.
    member_tps = [TopicPartition(settings.members_topic, p)
                  for p in sorted(consumer.partitions_for_topic(settings.members_topic) or ())]
    member_ends = high_watermarks(consumer, member_tps) if member_tps else {}
    consumer.close()
    for tp in member_tps:
        fence = store.fence_offset(fence_name(tp.topic, tp.partition))
        counter.count_span(tp.topic, tp.partition, 0 if fence is None else fence + 1, member_ends[tp])
    bar.close()
    counter.reader.close()
    print(f"rebuilt {args.namespace}: {kept:,} records in range of {total:,} read; "
          f"activate with: hotline namespace activate {args.namespace}", file=sys.stderr)
    return 0
