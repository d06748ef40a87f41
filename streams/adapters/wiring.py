"""Shared wiring: settings -> the Redis client, the counter store, the processor, the fenced counter.

Every command builds its parts here, so a setting (a TLS CA, an orphan horizon) reaches every
process the same way.
"""
from __future__ import annotations

from streams.settings import Settings


def redis_client(settings: Settings):
    from streams.adapters.store import connect

    return connect(settings.redis_url, settings.redis_ssl_ca_certs)


def counter_store(settings: Settings, namespace: str | None = None, client=None):
    """The store of `namespace`, or of the one readers show now (`hotline namespace activate`)."""
    from schemas.taxonomy import load_taxonomy
    from streams.adapters.namespaces import visible
    from streams.adapters.store import CounterStore

    client = client or redis_client(settings)
    return CounterStore(client, namespace or visible(settings, client), load_taxonomy())


def predictor(settings: Settings, model: str | None = None):
    from streams.text.items import load_classifier

    return load_classifier(model or settings.item_model)


def processor(settings: Settings, model: str | None = None, emit_records: bool = False, item_predictor=None,
              repeat_members: bool = False):
    """`repeat_members`: hand repeat groups to the repeat stage (every Kafka counting path does;
    the batch report joins them in memory)."""
    from streams.core.pipeline import Processor
    from streams.text.rights import rights_claim

    return Processor(settings.caller_hash_key, item_predictor or predictor(settings, model), rights=rights_claim,
                     emit_records=emit_records, repeat_rules=settings.repeats, max_future_s=settings.max_future_s,
                     orphan_horizon_s=settings.orphan_horizon_days * 86400, deadlines=settings.deadlines,
                     repeat_members=repeat_members)


def fenced_counter(settings: Settings, store, proc, *, outputs=None, keep=None, on_redis_error=None):
    """The one counting path (streams/adapters/fenced.py), for the raw topic and the members topic."""
    from streams.adapters.fenced import FencedCounter, RedisRetry
    from streams.adapters.kafka import KafkaSpanReader
    from streams.core.members import MemberProcessor

    return FencedCounter(store, proc, retry=RedisRetry(on_error=on_redis_error), reader=KafkaSpanReader(settings),
                         outputs=outputs, keep=keep, members_topic=settings.members_topic,
                         member_processor=MemberProcessor(settings.repeat_days, emit_records=proc.emit_records))
