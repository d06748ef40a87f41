"""Plain Kafka clients (kafka-python) for the parts that are not stream processing: topic set-up
and replaying files into the raw topic."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Iterable

from streams.core.records import event_time_of, ticket_key
from streams.settings import Settings

log = logging.getLogger("hotline.kafka")



def bootstrap(settings: Settings) -> str:
    return ",".join(u.split("://", 1)[-1] for u in settings.kafka_url.split(";") if u)


def client_kwargs(settings: Settings) -> dict:
    kw: dict = {"bootstrap_servers": bootstrap(settings)}
    if settings.kafka_security_protocol != "PLAINTEXT":
        kw["security_protocol"] = settings.kafka_security_protocol
        if settings.kafka_ssl_cafile:
            kw["ssl_cafile"] = settings.kafka_ssl_cafile
        if settings.kafka_sasl_mechanism:
            kw.update(sasl_mechanism=settings.kafka_sasl_mechanism,
                      sasl_plain_username=settings.kafka_sasl_username,
                      sasl_plain_password=settings.kafka_sasl_password)
    return kw


class KafkaSpanReader:
    """Reads stretches of partitions back (holes, namespace catch-up, rebuilds) with a group-less
    kafka-python consumer: it never joins the workers' group, so it takes no partition from them.

    The end of a stretch is found by position, not `end_offsets` (wrong on the embedded broker)."""

    def __init__(self, settings: Settings, chunk: int = 5000, stall_s: float = 120.0,
                 chunk_bytes: int = 8 * 1024 * 1024):
        self.settings = settings
        self.chunk = chunk
        self.chunk_bytes = chunk_bytes  # members-topic messages run to ~200 KB: bound a chunk's memory too
        self.stall_s = stall_s
        self._consumer = None

    def _client(self):
        if self._consumer is None:
            from kafka import KafkaConsumer

            self._consumer = KafkaConsumer(enable_auto_commit=False, group_id=None, auto_offset_reset="earliest",
                                           max_partition_fetch_bytes=4 * 1024 * 1024, **client_kwargs(self.settings))
        return self._consumer

    def read(self, topic: str, partition: int, start: int, end: int):
        from kafka import TopicPartition

        consumer = self._client()
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, start)
        last = time.monotonic()
        chunk: list[tuple[int, bytes]] = []
        size = 0
        while True:
            polled = consumer.poll(timeout_ms=500, max_records=self.chunk).get(tp, [])
            if polled:
                last = time.monotonic()
            for m in polled:
                if m.offset >= end:
                    break
                chunk.append((m.offset, m.value or b""))
                size += len(m.value or b"")
                if len(chunk) >= self.chunk or size >= self.chunk_bytes:
                    yield chunk
                    chunk, size = [], 0
            # Only the position ends a stretch: `end` always exists (a batch's first offset, a fence
            # + 1, a high watermark), and a high watermark remembered from an earlier read of the
            # same partition would end it too early.
            position = consumer.position(tp)
            if position >= end:
                break
            if time.monotonic() - last > self.stall_s:
                raise RuntimeError(f"no records from {topic}:{partition} at offset {position} for "
                                   f"{self.stall_s:.0f} s (deleted by retention, or the broker is away)")
        if chunk:
            yield chunk

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


def high_watermarks(consumer, tps) -> dict:
    """Each partition's high watermark, learnt by fetching once (`end_offsets` is wrong on the
    embedded broker). `consumer`: a group-less kafka-python consumer."""
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


def ensure_topics(settings: Settings, timeout: float = 30.0) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    deadline = time.monotonic() + timeout
    while True:
        try:
            admin = KafkaAdminClient(client_id="hotline-admin", request_timeout_ms=10000, **client_kwargs(settings))
            break
        except Exception as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kafka at {settings.kafka_url} does not answer: {exc}") from None
            time.sleep(0.5)
    try:
        existing = set(admin.list_topics())
        wanted = [settings.raw_topic, settings.enriched_topic, settings.dlq_topic, settings.alerts_topic,
                  settings.callbacks_topic, settings.members_topic]
        new = [NewTopic(t, settings.partitions, 1) for t in wanted if t not in existing]
        if new:
            try:
                admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


def producer_config(settings: Settings, **overrides) -> dict:
    conf = {
        "bootstrap.servers": bootstrap(settings),
        "linger.ms": 20,
        "batch.size": 1_000_000,
        "queue.buffering.max.messages": 500_000,
        "message.max.bytes": 2 * 1024 * 1024,
        "acks": "all",
        # One request in flight keeps a ticket's events in order when a send is retried (the
        # embedded broker has no idempotent producer, which would otherwise allow more).
        "max.in.flight.requests.per.connection": 1,
        "enable.idempotence": False,
        "retries": 10,
    }
    if settings.kafka_security_protocol != "PLAINTEXT":
        conf["security.protocol"] = settings.kafka_security_protocol
        if settings.kafka_ssl_cafile:
            conf["ssl.ca.location"] = settings.kafka_ssl_cafile
        if settings.kafka_sasl_mechanism:
            conf.update({"sasl.mechanisms": settings.kafka_sasl_mechanism,
                         "sasl.username": settings.kafka_sasl_username,
                         "sasl.password": settings.kafka_sasl_password})
    conf.update(overrides)
    return conf


def make_producer(settings: Settings, **overrides):
    """A librdkafka producer: it sends ~400k records/s here where kafka-python manages ~14k, which
    is what makes a year's backfill a matter of seconds on the producing side."""
    from confluent_kafka import Producer

    return Producer(producer_config(settings, **overrides))


class _Delivery:
    def __init__(self):
        self.failed = 0
        self.first_error = None
        self.too_large: list[bytes] = []

    def __call__(self, err, msg):
        if err is None:
            return
        if err.name() in _TOO_LARGE:
            self.too_large.append(msg.value())
            return
        self.failed += 1
        self.first_error = self.first_error or err


# What the broker (or librdkafka's own bound) refuses for size: dead-lettered, never a lost file.
_TOO_LARGE = {"MSG_SIZE_TOO_LARGE", "RECORD_LIST_TOO_LARGE", "_MSG_SIZE_TOO_LARGE"}


def produce(producer, topic: str, key: bytes | None, value: bytes, on_delivery, partition: int | None = None) -> None:
    extra = {} if partition is None else {"partition": partition}
    while True:
        try:
            producer.produce(topic, value=value, key=key, on_delivery=on_delivery, **extra)
            return
        except BufferError:  # local queue full: let deliveries drain, then retry
            producer.poll(0.05)


@dataclass
class Replayed:
    sent: int = 0  # records the broker took into the raw topic
    dead_lettered: dict[str, int] = field(default_factory=dict)  # reason -> records sent to the DLQ instead

    def summary(self, topic: str) -> str:
        text = f"replayed {self.sent:,} records into {topic}"
        if self.dead_lettered:
            text += "; dead-lettered " + ", ".join(f"{n:,} {reason}" for reason, n in self.dead_lettered.items())
        return text


def _dead_letter_oversized(producer, settings: Settings, records: list[bytes], done: Replayed, delivery) -> None:
    from streams.core.cleaning import Rejection
    from streams.core.pipeline import dead_letter

    import orjson

    for rec in records:
        letter = dead_letter(rec, Rejection("oversized", f"the record has {len(rec):,} bytes, more than the broker "
                                            "takes; it was never produced to the raw topic", None), None)
        produce(producer, settings.dlq_topic, ticket_key(rec), orjson.dumps(letter), delivery)
        done.dead_lettered["oversized"] = done.dead_lettered.get("oversized", 0) + 1


def replay(records: Iterable[bytes], settings: Settings, speed: float = 0.0, total: int | None = None,
           progress: bool = True, producer=None) -> Replayed:
    """Produce records to the raw topic. speed 0: as fast as possible; X: X seconds of event time per second.

    A record larger than the broker takes goes to the dead-letter topic as `oversized` (its original
    cut to the dead-letter bound, with its size and SHA-256), and the replay goes on."""
    from confluent_kafka import KafkaException
    from tqdm import tqdm

    producer = producer or make_producer(settings)
    delivery = _Delivery()
    done = Replayed()
    sent = 0
    first_event = start_wall = None
    bar = tqdm(total=total, unit="rec", disable=not progress, desc="replay", smoothing=0.1)
    try:
        for rec in records:
            if speed > 0:
                et = event_time_of(rec)
                if et is not None:
                    if first_event is None:
                        first_event, start_wall = et, time.monotonic()
                    ahead = (et - first_event) / speed - (time.monotonic() - start_wall)
                    if ahead > 0:
                        producer.flush()
                        time.sleep(ahead)
            try:
                produce(producer, settings.raw_topic, ticket_key(rec), rec, delivery)
            except KafkaException as exc:
                if exc.args[0].name() not in _TOO_LARGE:
                    raise
                delivery.too_large.append(rec)  # refused locally, before any send
            sent += 1
            if sent % 1000 == 0:
                producer.poll(0)
                bar.update(1000)
        remaining = producer.flush(120)
        bar.update(sent % 1000)
        if delivery.too_large:
            _dead_letter_oversized(producer, settings, delivery.too_large, done, delivery)
            remaining += producer.flush(120)
        if remaining or delivery.failed:
            # Never a silent drop: the caller learns how many records the broker refused, and why.
            raise RuntimeError(f"{delivery.failed + remaining} of {sent} records were not accepted by the broker; "
                               f"first error: {delivery.first_error}")
    finally:
        bar.close()
    done.sent = sent - sum(done.dead_lettered.values())
    return done


