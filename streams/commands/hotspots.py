"""`hotline hotspots`: hot issues, live. Clusters the complaints of the enriched topic as they
arrive (streams.text.hot.HotIssueTracker) and keeps each window's top clusters in Redis, where the
exporter (`hotline_hot_cluster_tickets`) and `hotline hot-live` read them.

One instance sees every partition (clusters must see all complaints); run it once per namespace.
Its state is the tracker in memory: on start it re-reads the enriched topic from the beginning
(or from `offsets_for_times(now - horizon)` where the broker supports it), so a restart rebuilds
the clusters. Similarity clustering depends on arrival order, so unlike the counters these
figures are approximate by nature; the cluster sizes are exact counts of the tickets each holds.
"""
from __future__ import annotations

import json
import logging
import signal
import time
from datetime import datetime, timedelta

from streams.settings import Settings

log = logging.getLogger("hotline.hotspots")
WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
TOP_N = 10


def local_time(ts: int) -> datetime:
    """Naive Asia/Shanghai time: what the tracker shows as first/last seen."""
    return datetime.utcfromtimestamp(ts + 8 * 3600)


def hot_key(namespace: str) -> str:
    return f"{{{namespace}}}:hot"  # the namespace-level tag of streams/adapters/store.py


def publish(client, namespace: str, tracker, end: datetime, tickets: int = 0) -> dict[str, list]:
    """The top clusters of each window, with `updated` (wall time) and `tickets` (the tickets added to
    the clusters so far, each once: how far through the enriched topic the ranking has got)."""
    tops = {}
    for name, span in WINDOWS.items():
        tops[name] = [{k: c[k] for k in ("title", "key_terms", "count", "first_seen", "last_seen", "heat", "likes")}
                      | {"rank": i} for i, c in enumerate(tracker.top(end, span, TOP_N), start=1)]
    client.hset(hot_key(namespace), mapping={w: json.dumps(v, ensure_ascii=False) for w, v in tops.items()}
                | {"updated": int(time.time()), "tickets": tickets})
    return tops


def read_hot(client, namespace: str, window: str) -> list[dict]:
    raw = client.hget(hot_key(namespace), window)
    return json.loads(raw) if raw else []


def hot_tickets_read(client, namespace: str) -> int:
    """How many tickets the published ranking was built from (0 before the first publish)."""
    return int(client.hget(hot_key(namespace), "tickets") or 0)


def run_hotspots(settings: Settings, publish_every_s: float = 5.0, stop_after_idle_s: float | None = None) -> int:
    from kafka import KafkaConsumer, TopicPartition

    from streams.adapters.kafka import client_kwargs, ensure_topics
    from streams.adapters.namespaces import active
    from streams.adapters.store import connect
    from streams.text.hot import HotIssueTracker

    ensure_topics(settings)
    client = connect(settings.redis_url, settings.redis_ssl_ca_certs)
    tracker = HotIssueTracker(horizon=timedelta(days=35))
    consumer = KafkaConsumer(enable_auto_commit=False, group_id=None, auto_offset_reset="earliest",
                             **client_kwargs(settings))
    tps = [TopicPartition(settings.enriched_topic, p)
           for p in sorted(consumer.partitions_for_topic(settings.enriched_topic) or [])]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    seen: set[str] = set()  # the enriched topic is at-least-once: one ticket joins one cluster once
    newest = 0
    last_publish = idle_since = time.monotonic()
    try:
        while not stop["now"]:
            batch = consumer.poll(timeout_ms=500, max_records=2000)
            for msgs in batch.values():
                for m in msgs:
                    try:
                        rec = json.loads(m.value)
                    except ValueError:
                        continue
                    if rec.get("event") not in ("created", "snapshot") or rec["ticket_id"] in seen:
                        continue
                    seen.add(rec["ticket_id"])
                    newest = max(newest, rec["received_at"])
                    tracker.add(rec["ticket_id"], local_time(rec["received_at"]), rec.get("title"), rec.get("content"))
            now = time.monotonic()
            if batch:
                idle_since = now
            if newest and now - last_publish >= publish_every_s:
                publish(client, active(settings, client), tracker, local_time(newest), len(seen))
                last_publish = now
            if stop_after_idle_s is not None and now - idle_since > stop_after_idle_s:
                break
            if len(seen) > 2_000_000:  # bound memory on very long runs; old ids cannot recur in-horizon
                seen.clear()
    except KeyboardInterrupt:
        pass
    finally:
        if newest:
            publish(client, active(settings, client), tracker, local_time(newest), len(seen))
        consumer.close()
    return 0
