"""Plain Kafka clients (kafka-python) for the parts that are not stream processing: topic set-up
and replaying files into the raw topic."""
from __future__ import annotations

import logging
import re
import time
from typing import Iterable, Iterator

from streams.settings import Settings

log = logging.getLogger("hotline.kafka")

_TICKET_ID = re.compile(rb'"ticket_id"\s*:\s*"([A-Za-z0-9_.:\-]{1,64})"')
_EVENT_TIME = re.compile(rb'"event_time"\s*:\s*"([^"]{10,40})"')


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
        wanted = [settings.raw_topic, settings.enriched_topic, settings.dlq_topic, settings.alerts_topic]
        new = [NewTopic(t, settings.partitions, 1) for t in wanted if t not in existing]
        if new:
            try:
                admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


def ticket_key(record: bytes) -> bytes | None:
    """Partition key: the ticket id, so one ticket's events stay in order. Cheap: no JSON parse."""
    m = _TICKET_ID.search(record)
    return m.group(1) if m else None


def event_time_of(record: bytes) -> float | None:
    from streams.cleaning import parse_time

    m = _EVENT_TIME.search(record)
    if not m:
        return None
    try:
        return float(parse_time(m.group(1).decode(), "event_time"))
    except Exception:
        return None


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

    def __call__(self, err, msg):
        if err is not None:
            self.failed += 1
            self.first_error = self.first_error or err


def produce(producer, topic: str, key: bytes | None, value: bytes, on_delivery) -> None:
    while True:
        try:
            producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
            return
        except BufferError:  # local queue full: let deliveries drain, then retry
            producer.poll(0.05)


def replay(records: Iterable[bytes], settings: Settings, speed: float = 0.0, total: int | None = None,
           progress: bool = True, producer=None) -> int:
    """Produce records to the raw topic. speed 0: as fast as possible; X: X seconds of event time per second."""
    from tqdm import tqdm

    producer = producer or make_producer(settings)
    delivery = _Delivery()
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
            produce(producer, settings.raw_topic, ticket_key(rec), rec, delivery)
            sent += 1
            if sent % 1000 == 0:
                producer.poll(0)
                bar.update(1000)
        remaining = producer.flush(120)
        bar.update(sent % 1000)
        if remaining or delivery.failed:
            # Never a silent drop: the caller learns how many records the broker refused, and why.
            raise RuntimeError(f"{delivery.failed + remaining} of {sent} records were not accepted by the broker; "
                               f"first error: {delivery.first_error}")
    finally:
        bar.close()
    return sent


def iter_file(path: str) -> Iterator[bytes]:
    from streams.report import read_records

    with open(path, "rb") as fh:
        yield from read_records(fh)
