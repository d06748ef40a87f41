"""Side outputs: what retrying can fix is retried, what it cannot stops the worker (not a silent hang)."""
from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from streams.adapters.outputs import SideOutputError, SideOutputs, is_transient
from streams.adapters.fenced import FatalOutputError, FencedCounter, RedisRetry
from streams.core.pipeline import BatchResult
from streams.settings import Settings


class _Producer:
    """librdkafka's producer surface, failing the way the broker tells it to."""

    def __init__(self, produce_error=None, delivery_error=None):
        self.produce_error, self.delivery_error = produce_error, delivery_error
        self.pending = []

    def produce(self, topic, value=None, key=None, on_delivery=None):
        if self.produce_error is not None:
            raise KafkaException(KafkaError(self.produce_error))
        self.pending.append(on_delivery)

    def poll(self, timeout=0):
        return 0

    def flush(self, timeout=None):
        for cb in self.pending:
            cb(KafkaError(self.delivery_error) if self.delivery_error is not None else None, None)
        self.pending = []
        return 0


RECORDS = ([("T1", {"ticket_id": "T1"})], [])


@pytest.mark.parametrize("code", [KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.MSG_SIZE_TOO_LARGE,
                                  KafkaError.INVALID_CONFIG])
def test_a_refusal_retrying_cannot_fix_is_fatal(code):
    with pytest.raises(FatalOutputError):
        SideOutputs(Settings(), _Producer(delivery_error=code)).send(*RECORDS)
    with pytest.raises(FatalOutputError):
        SideOutputs(Settings(), _Producer(produce_error=code)).send(*RECORDS)


@pytest.mark.parametrize("code", [KafkaError._MSG_TIMED_OUT, KafkaError._TRANSPORT, KafkaError.LEADER_NOT_AVAILABLE,
                                  KafkaError.NOT_ENOUGH_REPLICAS])
def test_a_broker_away_or_moving_is_retried(code):
    assert is_transient(KafkaError(code))
    with pytest.raises(SideOutputError):
        SideOutputs(Settings(), _Producer(delivery_error=code)).send(*RECORDS)


def test_a_record_that_cannot_be_encoded_is_fatal():
    with pytest.raises(FatalOutputError):
        SideOutputs(Settings(), _Producer()).send([("T1", {"bad": object()})], [])


def test_the_fenced_path_retries_transient_errors_and_stops_on_fatal_ones():
    class Outputs:
        def __init__(self, errors):
            self.errors = list(errors)
            self.calls = 0

        def send(self, enriched, dead, callbacks=(), members=(), namespace=""):
            self.calls += 1
            if self.errors:
                raise self.errors.pop(0)

    result = BatchResult(enriched=[("T1", {})])
    flaky = Outputs([SideOutputError("broker away"), SideOutputError("still away")])
    counter = FencedCounter(None, None, retry=RedisRetry(), outputs=flaky, output_retry_s=0.01)
    counter._send([result])
    assert flaky.calls == 3
    fatal = Outputs([FatalOutputError("TOPIC_AUTHORIZATION_FAILED")])
    with pytest.raises(FatalOutputError):
        FencedCounter(None, None, retry=RedisRetry(), outputs=fatal, output_retry_s=0.01)._send([result])
    assert fatal.calls == 1
    buggy = Outputs([TypeError("send() takes 3 positional arguments but 4 were given")])
    with pytest.raises(FatalOutputError, match="TypeError"):
        FencedCounter(None, None, retry=RedisRetry(), outputs=buggy, output_retry_s=0.01)._send([result])
    assert buggy.calls == 1  # not retried forever


def test_an_error_retrying_cannot_fix_stops_the_worker_with_a_message_and_exit_70(tmp_path):
    """Not Faust's default (restart the agent, ack the batch in hand, step over it): stop, and let
    the next start resume at Redis' fences."""
    import subprocess
    import sys

    script = tmp_path / "agent.py"
    script.write_text(
        "import asyncio\n"
        "from types import SimpleNamespace\n"
        "from agents.tickets import count_forever\n"
        "class Stream:\n"
        "    def take_events(self, n, within):\n"
        "        async def gen():\n"
        "            yield [SimpleNamespace(message=SimpleNamespace(incref=lambda: None))]\n"
        "        return gen()\n"
        "class Counter:\n"
        "    app = None\n"
        "    def batches_of(self, events):\n"
        "        return list(events)\n"
        "    async def count(self, batches, ahead=()):\n"
        "        raise TypeError('a bug in a pure step')\n"
        "asyncio.run(count_forever(Counter(), Stream(), 10, 0.1))\n"
        "print('carried on')\n")
    from streams.layout import ROOT

    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=ROOT,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert res.returncode == 70, res.stderr[-2000:]
    assert "stopping on an error that retrying cannot fix: TypeError: a bug in a pure step" in res.stderr
    assert "carried on" not in res.stdout
