"""Side outputs (the enriched, dead-letter, call-back and repeat-members topics), sent with librdkafka.

Faust's per-message `Topic.send` cost ~90 µs an event here, about a quarter of the worker's time
on a backfill; librdkafka's `produce` is a C call of a few µs, and one `flush` per batch waits for
the broker's acknowledgement of all of them. A failure is raised for the caller to retry, unless
retrying cannot help (an ACL denial, a record the broker will never take, a bug): then
`FatalOutputError` stops the worker with a clear message, and the fences keep the counts exact
for the next start.
"""
from __future__ import annotations

import orjson

from streams.adapters.fenced import FatalOutputError, RetriableOutputError
from streams.adapters.kafka import make_producer, produce
from streams.core.members import member_messages
from streams.settings import Settings


def _json(record: dict) -> bytes:
    # One enriched record per event: orjson takes 0.4 µs where json.dumps took 6 (UTF-8, compact).
    return orjson.dumps(record)


class SideOutputError(RetriableOutputError):
    """The broker did not take every record yet; sending again may succeed."""


# Errors a later attempt can get past: the broker away, leadership moving, a topic still being created.
_TRANSIENT = {"_MSG_TIMED_OUT", "_TIMED_OUT", "_TRANSPORT", "_ALL_BROKERS_DOWN", "_QUEUE_FULL", "_UNKNOWN_PARTITION",
              "UNKNOWN_TOPIC_OR_PART", "LEADER_NOT_AVAILABLE", "NOT_LEADER_FOR_PARTITION", "REQUEST_TIMED_OUT",
              "NETWORK_EXCEPTION", "NOT_ENOUGH_REPLICAS", "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "KAFKA_STORAGE_ERROR"}


def is_transient(err) -> bool:
    """A librdkafka KafkaError worth retrying."""
    if err.fatal():
        return False
    return err.retriable() or err.name() in _TRANSIENT


class SideOutputs:
    def __init__(self, settings: Settings, producer=None, members_only: bool = False):
        """`members_only`: send the repeat-group memberships and nothing else (a rebuild: its
        enriched records and dead letters were sent when the records were first counted)."""
        self.settings = settings
        self.members_only = members_only
        self.members_topic = settings.members_topic
        self._counts: dict[str, int] = {}
        self.enriched_topic = settings.enriched_topic
        self.dlq_topic = settings.dlq_topic
        self.callbacks_topic = settings.callbacks_topic
        self._producer = producer

    def _partitions(self, topic: str) -> int:
        """The topic's partition count, asked of the broker once (a group's partition must not move)."""
        if topic not in self._counts:
            meta = self.producer.list_topics(topic, timeout=30).topics.get(topic)
            if meta is None or meta.error is not None or not meta.partitions:
                raise SideOutputError(f"topic {topic} has no partitions yet: {getattr(meta, 'error', None)}")
            self._counts[topic] = len(meta.partitions)
        return self._counts[topic]

    @property
    def producer(self):
        if self._producer is None:  # lazily: a worker that never sends never connects
            self._producer = make_producer(self.settings, **{"linger.ms": 5})
        return self._producer

    def send(self, enriched: list[tuple[str, dict]], dead_letters: list[tuple[str | None, dict]],
             callbacks: list[tuple[str, dict]] = (), members: list[tuple[str, dict]] = (), namespace: str = "",
             timeout: float = 60.0) -> None:
        """Send and wait until the broker has every record; raise if it refused any.

        At least once, like every side output: a batch redone after a crash sends its records
        again. Call-backs are keyed by ticket id, so a consumer keeps the first of each key;
        memberships (of `namespace`) go to their group key's partition of the members topic, a few
        messages per batch (streams/core/members.py)."""
        from confluent_kafka import KafkaException

        errors: list = []

        def on_delivery(err, msg):
            if err is not None:
                errors.append(err)

        if self.members_only:
            enriched, dead_letters, callbacks = (), (), ()
        try:
            if members:
                for partition, message in member_messages(namespace, members, self._partitions(self.members_topic)):
                    produce(self.producer, self.members_topic, namespace.encode(), message, on_delivery, partition)
            for key, record in enriched:
                produce(self.producer, self.enriched_topic, key.encode(), _json(record), on_delivery)
            for key, record in dead_letters:
                produce(self.producer, self.dlq_topic, key.encode() if key else None, _json(record), on_delivery)
            for key, record in callbacks:
                produce(self.producer, self.callbacks_topic, key.encode(), _json(record), on_delivery)
        except KafkaException as exc:
            err = exc.args[0]
            if is_transient(err):
                raise SideOutputError(f"producing failed: {err}") from exc
            raise FatalOutputError(f"the broker will not take side outputs: {err.name()} ({err.str()})") from exc
        except (TypeError, ValueError, orjson.JSONEncodeError) as exc:
            raise FatalOutputError(f"a side output record cannot be encoded: {exc}") from exc
        left = self.producer.flush(timeout)
        fatal = [e for e in errors if not is_transient(e)]
        if fatal:
            raise FatalOutputError(f"the broker refused side outputs: {fatal[0].name()} ({fatal[0].str()}); "
                                   f"{len(fatal)} of {len(errors)} errors cannot be retried")
        if left or errors:
            raise SideOutputError(f"{left} records undelivered, {len(errors)} refused; first: {errors[:1]}")
