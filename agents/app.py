"""The Faust application: one agent on the raw and members topics, thin around the fenced path.

Why one agent and not clean -> classify -> count hops: exactness needs the counters, the ticket
states and the raw topic's offset to move together, in one Redis Lua call fenced by that offset.
Extra Kafka hops would each need their own fence and would triple the broker traffic of a
backfill. The stages stay separate as pure functions (streams.core.cleaning, streams.core.enrich,
streams.core.counting); the enriched and dead-letter topics carry their results to other consumers.
The one hop there is, raw -> members topic, exists because repeat groups span raw partitions: it
has its own fences and costs a few messages per batch (streams/core/members.py).

Offsets: Redis is the source of truth. A batch is acknowledged to Faust (and so committed to
Kafka) only after Redis took it, and when partitions are assigned the consumer is moved to the
offset after the one Redis last applied, so nothing Redis has not taken is ever skipped.
"""
from __future__ import annotations

import logging
from datetime import timedelta

import faust

from schemas.taxonomy import load_taxonomy
from streams.settings import Settings
from streams.adapters.store import CounterStore

log = logging.getLogger("hotline.worker")

BUNDLES_PER_BATCH = 4
BUFFERED_RECORDS = 8192  # what Faust may hold fetched ahead of the agent, before it pauses the partitions


def broker_credentials(settings: Settings):
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    ssl_context = None
    if "SSL" in settings.kafka_security_protocol:
        import ssl

        ssl_context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile or None)
    if settings.kafka_sasl_mechanism:
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username, password=settings.kafka_sasl_password,
            mechanism=settings.kafka_sasl_mechanism, ssl_context=ssl_context)
    return faust.SSLCredentials(ssl_context)


def make_app(settings: Settings, predictor=None, store: CounterStore | None = None) -> faust.App:
    from streams.adapters.outputs import SideOutputs
    from agents.tickets import TicketCounter, count_forever
    from agents.transport import install
    from streams.adapters import wiring
    from streams.adapters.monitor import SpikeMonitor
    from streams.core.spikes import SpikeRules

    bundle_max = max(1, settings.batch_max // BUNDLES_PER_BATCH)
    app = faust.App(
        f"hotline-{settings.namespace}",
        broker=settings.kafka_url,
        broker_credentials=broker_credentials(settings),
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=max(1.0, settings.session_timeout_s / 5),
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=bool(settings.worker_web_port),
        web_port=settings.worker_web_port or 6066,
        web_bind="0.0.0.0" if settings.worker_web_port else "127.0.0.1",
        store="memory://",
        # Backfills push the producer hard; a larger buffer avoids "producer buffer full" stalls.
        producer_max_batch_size=512 * 1024,
        producer_linger=timedelta(milliseconds=20),
        # Counted in messages, and a message is a bundle of up to `bundle_max` records: with 8,192
        # bundles (up to 4M records) allowed ahead, a 1-worker replay of the year peaked at 637 MB;
        # with 8,192 records' worth, 340 MB.
        stream_buffer_maxsize=max(BUNDLES_PER_BATCH, BUFFERED_RECORDS // bundle_max),
        stream_wait_empty=False,
    )
    # The counted topics come in bundles of up to batch_max / BUNDLES_PER_BATCH records (agents/transport.py),
    # and the agent takes BUNDLES_PER_BATCH of them at a time: at most batch_max records a batch, as before.
    install(app, settings.fetch_max_wait_ms, (settings.raw_topic, settings.members_topic), bundle_max)
    on_redis_error = None
    if settings.worker_web_port:
        # Faust's own sensors (events/s, commit latency, assignment) on /metrics, for `up{job="hotline-worker"}`,
        # and the worker's view of Redis, which the exporter cannot report while Redis is away.
        from faust.sensors.prometheus import setup_prometheus_sensors
        from prometheus_client import Counter

        setup_prometheus_sensors(app, name_prefix="hotline_worker")
        errors = Counter("hotline_worker_redis_errors", "Redis calls that failed and were retried, by error",
                         ["error"])
        on_redis_error = lambda kind: errors.labels(kind).inc()  # noqa: E731
    # One agent counts both stages: raw tickets, and the repeat-group memberships they send to the
    # members topic (streams/core/members.py), each partition under its own fence.
    raw = app.topic(settings.raw_topic, settings.members_topic, partitions=settings.partitions, key_type=bytes,
                    value_type=bytes)
    for side in (settings.enriched_topic, settings.dlq_topic, settings.callbacks_topic):
        app.topic(side, partitions=settings.partitions, key_type=bytes, value_type=bytes)
    alerts = app.topic(settings.alerts_topic, partitions=settings.partitions, key_type=bytes, value_type=bytes)

    if store is None:
        from streams.adapters.namespaces import active

        client = wiring.redis_client(settings)
        store = CounterStore(client, active(settings, client), load_taxonomy())
    store.claim_namespace()
    # The enriched and DLQ topics are declared above (so Faust creates them) but written with
    # librdkafka: see streams/adapters/outputs.py.
    fenced = wiring.fenced_counter(settings, store, wiring.processor(settings, emit_records=True, item_predictor=predictor,
                                                                      repeat_members=True),
                                   outputs=SideOutputs(settings), on_redis_error=on_redis_error)
    if settings.worker_web_port:
        from prometheus_client import Gauge

        Gauge("hotline_worker_redis_outage_seconds", "How long Redis has been failing (0: it answers)") \
            .set_function(fenced.retry.outage_seconds)
    counter = TicketCounter(settings, fenced, app=app)
    app.hotline_counter = counter  # for tests and the CLI
    app.hotline_start_offsets = counter.start_offsets  # agents/transport.py: the fence decides where we start

    @app.agent(raw, name="count_tickets")
    async def count_tickets(stream):
        await count_forever(counter, stream, BUNDLES_PER_BATCH, settings.batch_within_s)

    monitor = SpikeMonitor(store, SpikeRules(min_count=settings.spike_min_count, threshold=settings.spike_threshold))

    @app.timer(interval=settings.spike_interval_s)
    async def watch_repeat_spikes():
        import asyncio
        import json as _json

        monitor.store = counter.store  # follows `hotline namespace activate`
        try:
            events = await asyncio.to_thread(monitor.evaluate)
        except Exception as exc:  # Redis away: the next tick tries again
            log.warning("spike monitor skipped a tick: %s", exc)
            return
        for event in events:
            await alerts.send(key=f"{event['scope_type']}:{event['scope']}".encode(),
                              value=_json.dumps(event, ensure_ascii=False).encode())

    @app.timer(interval=1.0)
    async def follow_activation():
        await counter.check_namespace()

    return app
