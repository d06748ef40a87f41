"""Side outputs (the enriched and dead-letter topics), sent with librdkafka.

Faust's per-message `Topic.send` cost ~90 µs an event here, about a quarter of the worker's time
on a backfill; librdkafka's `produce` is a C call of a few µs, and one `flush` per batch waits for
the broker's acknowledgement of all of them. Delivery errors are collected and raised, so the
caller retries the batch instead of losing records.
"""
from __future__ import annotations

import orjson

from streams.kafka import make_producer, produce
from streams.settings import Settings


def _json(record: dict) -> bytes:
    # One enriched record per event: orjson takes 0.4 µs where json.dumps took 6 (UTF-8, compact).
    return orjson.dumps(record)


class SideOutputError(RuntimeError):
    pass


class SideOutputs:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.enriched_topic = settings.enriched_topic
        self.dlq_topic = settings.dlq_topic
        self._producer = None

    @property
    def producer(self):
        if self._producer is None:  # lazily: a worker that never sends never connects
            self._producer = make_producer(self.settings, **{"linger.ms": 5})
        return self._producer

    def send(self, enriched: list[tuple[str, dict]], dead_letters: list[tuple[str | None, dict]],
             timeout: float = 60.0) -> None:
        """Send and wait until the broker has every record; raise if it refused any."""
        errors: list = []

        def on_delivery(err, msg):
            if err is not None:
                errors.append(err)

        for key, record in enriched:
            produce(self.producer, self.enriched_topic, key.encode(), _json(record), on_delivery)
        for key, record in dead_letters:
            produce(self.producer, self.dlq_topic, key.encode() if key else None, _json(record), on_delivery)
        left = self.producer.flush(timeout)
        if left or errors:
            raise SideOutputError(f"{left} records undelivered, {len(errors)} refused; first: {errors[:1]}")

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(10)
