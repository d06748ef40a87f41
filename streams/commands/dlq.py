"""`hotline dlq list | show | redrive`: look at what was dead-lettered, and count it again once fixed.

The dead-letter topic keeps each bad record's original bytes (base64, cut at 64 KiB), its reason
and where it came from. `redrive` sends the originals back to the raw topic: counting stays exact
because what was counted before is still a duplicate, so only what was never counted is counted.
The topic holds personal data (callers, texts): `show` masks phone and ID numbers, and who may read
the topic is an ACL decision (README "Dead letters").
"""
from __future__ import annotations

import base64
import json
import sys
from collections import Counter
from datetime import datetime
from typing import Iterator

from streams.core.cleaning import SHANGHAI
from streams.adapters.kafka import client_kwargs, ensure_topics, high_watermarks, make_producer, produce
from streams.core.records import parse_bound, ticket_key
from streams.settings import Settings
from streams.text.masking import mask_personal_numbers


def read_letters(settings: Settings) -> Iterator[tuple[int, dict]]:
    """(Kafka timestamp in seconds, dead letter) for every record on the DLQ topic, to its end now."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(enable_auto_commit=False, group_id=None, auto_offset_reset="earliest",
                             **client_kwargs(settings))
    try:
        parts = consumer.partitions_for_topic(settings.dlq_topic) or set()
        tps = [TopicPartition(settings.dlq_topic, p) for p in sorted(parts)]
        if not tps:
            return
        ends = high_watermarks(consumer, tps)
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending:
            for tp, msgs in consumer.poll(timeout_ms=1000, max_records=5000).items():
                for m in msgs:
                    if m.offset >= ends[tp]:
                        break
                    try:
                        letter = json.loads(m.value)
                    except ValueError:
                        letter = {"reason": "unreadable_letter", "message": "not a dead-letter record"}
                    yield m.timestamp // 1000, letter
                if consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        consumer.close()


def _hour(ts: int) -> str:
    return datetime.fromtimestamp(ts, SHANGHAI).strftime("%Y-%m-%d %H:00")


def original(letter: dict) -> bytes:
    return base64.b64decode(letter.get("original_b64") or "")


def run_dlq(args, settings: Settings) -> int:
    since = parse_bound(getattr(args, "since", None))
    reason = getattr(args, "reason", None)

    def chosen():
        for ts, letter in read_letters(settings):
            if (reason is None or letter.get("reason") == reason) and (since is None or ts >= since):
                yield ts, letter

    if args.action == "list":
        by = Counter((letter.get("reason"), _hour(ts)) for ts, letter in chosen())
        totals = Counter()
        for (r, _), n in by.items():
            totals[r] += n
        print(f"{sum(totals.values()):,} dead letters on {settings.dlq_topic}")
        for r, n in totals.most_common():
            print(f"  {r:<18} {n:>9,}")
            for (rr, hour), m in sorted(by.items(), key=lambda kv: kv[0][1]):
                if rr == r:
                    print(f"      {hour}  {m:>7,}")
        return 0
    if args.action == "show":
        for i, (ts, letter) in enumerate(chosen()):
            if i >= args.limit:
                break
            text = original(letter).decode("utf-8", errors="replace")[:600]
            print(json.dumps({"dead_lettered_at": _hour(ts), "reason": letter.get("reason"),
                              "message": letter.get("message"), "ticket_id": letter.get("ticket_id"),
                              "source": [letter.get("source_topic"), letter.get("source_partition"),
                                         letter.get("source_offset")],
                              "original_size": letter.get("original_size"),
                              "original_masked": mask_personal_numbers(text)}, ensure_ascii=False))
        return 0
    # redrive
    ensure_topics(settings)
    producer = make_producer(settings)
    sent, cut, failed = 0, 0, []
    on_delivery = lambda err, msg: failed.append(err) if err is not None else None  # noqa: E731
    for _, letter in chosen():
        if letter.get("original_truncated"):
            cut += 1  # only part of it was kept: it cannot be counted as it was
            continue
        raw = original(letter)
        produce(producer, settings.raw_topic, ticket_key(raw), raw, on_delivery)
        sent += 1
    left = producer.flush(120)
    if left or failed:
        raise RuntimeError(f"{len(failed) + left} of {sent} originals were not taken by the broker: {failed[:1]}")
    print(f"redrove {sent:,} originals to {settings.raw_topic}"
          + (f"; {cut:,} cut at 64 KiB were left on the dead-letter topic" if cut else ""), file=sys.stderr)
    return 0


def register(sub) -> None:
    s = sub.add_parser("dlq", help="dead letters: list by reason and hour, show (masked), redrive to the raw topic")
    s.add_argument("action", choices=["list", "show", "redrive"])
    s.add_argument("--reason", help="only this reason code (e.g. invalid_json, orphaned)")
    s.add_argument("--since", help="only letters dead-lettered at or after this time")
    s.add_argument("--limit", type=int, default=20, help="show: at most this many")
    s.set_defaults(func=lambda args: run_dlq(args, Settings.from_env()))
