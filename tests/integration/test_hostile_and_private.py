"""Hostile input through the live pipeline, and the personal-data scan of everything it wrote."""
from __future__ import annotations

import base64
import json
import re
import time
import urllib.request

import pytest

from schemas.taxonomy import load_taxonomy
from streams.adapters.embedded import free_port, wait_port
from streams.adapters.kafka import ensure_topics, replay
from streams.core.records import iter_file
from streams.commands.snapshot import take_snapshot
from streams.adapters.store import CounterStore, connect
from tests.hostile import VALID, hostile_records
from tests.pii import personal_numbers
from tests.support import comparable, diff, generate, hotline_json, start_exporter, start_worker, wait_for_records

pytestmark = pytest.mark.integration
MEMORY_CEILING_MB = 500  # documented in RELIABILITY.md


def consume_all(settings, topic: str, expected: int, timeout: float = 60) -> list:
    from kafka import KafkaConsumer, TopicPartition

    from streams.adapters.kafka import client_kwargs

    c = KafkaConsumer(enable_auto_commit=False, group_id=None, auto_offset_reset="earliest",
                      max_partition_fetch_bytes=8 * 1024 * 1024, **client_kwargs(settings))
    tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or [])]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    # At-least-once topics may hold duplicates, so "enough messages" is not "all of them": read
    # until the topic has been quiet for a while.
    out, deadline, quiet_since = [], time.monotonic() + timeout, time.monotonic()
    while time.monotonic() < deadline:
        got = [m for msgs in c.poll(timeout_ms=500, max_records=10000).values() for m in msgs]
        out += got
        if got:
            quiet_since = time.monotonic()
        elif len(out) >= expected and time.monotonic() - quiet_since > 3:
            break
    c.close()
    return out


def peak_rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_hostile_records_all_dead_lettered_valid_counts_untouched_nothing_personal_leaks(settings, tmp_path):
    valid_path = generate(tmp_path / "valid.jsonl", 2000, seed=5, mode="lifecycle")
    first = json.dumps(dict(VALID, ticket_id="DUPLICATE-1"), ensure_ascii=False).encode()
    valid_records = [first] + list(iter_file(str(valid_path)))
    with open(tmp_path / "valid_all.jsonl", "wb") as fh:
        fh.write(b"\n".join(valid_records) + b"\n")
    reference = hotline_json(["report", str(tmp_path / "valid_all.jsonl"), "--json"])

    hostile = [d for k, d in hostile_records(10_000, seed=2) if k != "megabyte_text"]
    hostile += [d for k, d in hostile_records(60, seed=3) if k == "megabyte_text"]  # 6 x 1 MB
    hostile += [d for k, d in hostile_records(2000, seed=4) if k != "megabyte_text"][: 10_000 - len(hostile) + 50]
    assert len(hostile) >= 10_000
    # Interleave: valid records keep their order (one ticket's events stay in order).
    mixed, hi = [valid_records[0]], 0
    for i, rec in enumerate(valid_records[1:]):
        mixed.append(rec)
        take = 5 if i % 2 else 4
        mixed += hostile[hi:hi + take]
        hi += take
    mixed += hostile[hi:]

    settings = settings.with_(exporter_addr=f"127.0.0.1:{free_port()}")
    ensure_topics(settings)
    store = CounterStore(connect(settings.redis_url), settings.namespace, load_taxonomy())
    worker = start_worker(settings)
    try:
        replay(mixed, settings, progress=False)
        wait_for_records(store, len(mixed), workers=[worker], timeout=600)
        rss = peak_rss_mb(worker.p.pid)
        live = take_snapshot(store, "all", "event")

        # Valid ticket figures are exactly those of the valid records alone.
        keep = lambda r: {k: v for k, v in comparable(r).items()
                          if k not in ("records", "rejected", "rejected_by_reason", "late")}
        problems = diff(keep(reference), keep(live))
        assert not problems, problems[:20]
        assert live["rejected"] - reference["rejected"] == len(hostile)
        print(f"hostile records {len(hostile)}, dead-lettered {live['rejected'] - reference['rejected']}, "
              f"by reason {live['rejected_by_reason']}, worker peak RSS {rss:.0f} MB")
        assert rss < MEMORY_CEILING_MB

        # The DLQ holds exactly the bad records (each at least once: the topic is at-least-once).
        dlq = consume_all(settings, settings.dlq_topic, len(hostile))
        originals = {}
        for m in dlq:
            rec = json.loads(m.value)
            assert rec["reason"] and rec["message"] and rec["source_topic"] == settings.raw_topic
            body = base64.b64decode(rec["original_b64"])
            assert rec["original_truncated"] or len(body) == rec["original_size"]
            originals[(rec["source_partition"], rec["source_offset"])] = rec["original_sha256"]
        import hashlib

        assert sorted(originals.values()) == sorted(hashlib.sha256(h).hexdigest() for h in hostile)

        # Personal data, found by an independent detector (tests/pii.py: plain patterns, none of the
        # masking code), in every byte the pipeline wrote: every Redis key and value, every message
        # of every topic but the raw input (dead letters without their originals, which are personal
        # data by design: RELIABILITY.md), the whole worker and exporter logs, the metrics.
        secrets = set()
        for rec in valid_records:
            doc = json.loads(rec)
            if doc.get("caller"):
                secrets.add(re.sub(r"\D", "", doc["caller"]))
            secrets |= {digits for _kind, digits in personal_numbers(doc.get("content") or "")}
        secrets = {s for s in secrets if len(s) >= 7}
        assert len(secrets) > 1000
        enriched = consume_all(settings, settings.enriched_topic, reference["events_counted"])
        assert len(enriched) >= reference["events_counted"]
        alerts = consume_all(settings, settings.alerts_topic, 0, timeout=15)
        letters = []
        for m in dlq:
            rec = json.loads(m.value)
            for k in [k for k in rec if k.startswith("original")]:
                rec.pop(k)
            letters.append(f"{m.key!r} {json.dumps(rec, ensure_ascii=False)}")
        redis_dump = []
        for key in store.keys():
            t = store.r.type(key)
            redis_dump.append(key)
            if t == "hash":
                redis_dump += [f"{k}={v}" for k, v in store.r.hgetall(key).items()]
            elif t == "list":
                redis_dump += store.r.lrange(key, 0, -1)
            elif t == "zset":
                redis_dump += [f"{m} {score}" for m, score in store.r.zrange(key, 0, -1, withscores=True)]
            elif t == "set":
                redis_dump += sorted(store.r.smembers(key))
            elif t == "string":
                redis_dump.append(store.r.get(key))
            else:
                raise AssertionError(f"Redis key {key} of type {t} is not scanned")
        exporter = start_exporter(settings)
        try:
            wait_port(settings.exporter_host_port[1], 60, exporter.p, "exporter")
            metrics = urllib.request.urlopen(f"http://{settings.exporter_addr}/metrics", timeout=60).read().decode()
        finally:
            exporter.stop()
        places = {
            "redis": "\n".join(map(str, redis_dump)),
            "enriched topic": "\n".join(f"{m.key!r} {m.value.decode()}" for m in enriched),
            "dead letters (originals removed)": "\n".join(letters),
            "alerts topic": "\n".join(f"{m.key!r} {m.value.decode()}" for m in alerts),
            "worker log": worker.full_output(),
            "exporter log": exporter.full_output(),
            "metrics": metrics,
        }
        for where, text in places.items():
            found = personal_numbers(text)
            assert not found, f"{len(found)} personal numbers in clear in {where}, e.g. {found[:3]}"
            leaked = [s for s in secrets if s in text]
            assert not leaked, f"{len(leaked)} of the records' personal numbers in {where}, e.g. {leaked[:3]}"
        print(f"scanned {sum(len(t) for t in places.values()):,} characters ({', '.join(places)}) for personal "
              f"numbers, and for the {len(secrets)} the valid records hold: none found")
    finally:
        worker.stop()
