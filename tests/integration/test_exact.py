"""Exact in the real world: arrival in any order, every Redis failure, Faust's own seeks, a Redis
restored from an older snapshot. Real broker, real redis-server processes, real worker processes;
each scenario ends with the live counters equal to the batch report of the same file."""
from __future__ import annotations

import time

import pytest
import redis

from schemas.taxonomy import load_taxonomy
from streams.adapters.embedded import start_redis
from streams.adapters.kafka import ensure_topics, replay
from streams.core.records import iter_file
from streams.commands.snapshot import take_snapshot
from streams.adapters.store import CounterStore, connect
from tests.support import count_records, generate, shuffled_in_blocks, hotline_json, live_vs_batch, start_worker, wait_for_records

pytestmark = pytest.mark.integration
TICKETS = 6000


@pytest.fixture(scope="module")
def shuffled(tmp_path_factory):
    """A lifecycle file shuffled in blocks of 500 lines (about 12 days of events), as an export sorted
    by another column arrives: replies, evaluations and withdrawals often come before their ticket's
    creation. Blocks stay well inside the repeat rules' horizon (2 x 30 days, streams/core/repeats.py),
    beyond which repeat flags depend on arrival order by design."""
    d = tmp_path_factory.mktemp("exact")
    ordered = generate(d / "ordered.jsonl", TICKETS, seed=23, mode="lifecycle", dirty=0.01)
    return shuffled_in_blocks(ordered, d / "shuffled.jsonl", 500, seed=5)


@pytest.fixture(scope="module")
def batch_report(shuffled):
    rep = hotline_json(["report", str(shuffled), "--json"])
    ordered = hotline_json(["report", str(shuffled.with_name("ordered.jsonl")), "--json"])
    problems = live_vs_batch(ordered, rep)
    assert not problems, f"the shuffled file's report differs from the ordered file's: {problems[:10]}"
    return rep


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server this test may break (its snapshots go to tmp_path)."""
    svc = start_redis(extra=["--dir", str(tmp_path), "--dbfilename", "dump.rdb"])
    yield svc
    svc.stop()


def live(settings) -> dict:
    return take_snapshot(CounterStore(connect(settings.redis_url), settings.namespace, load_taxonomy()), "all", "event")


def assert_exact(batch_report, settings):
    problems = live_vs_batch(batch_report, live(settings))
    assert not problems, "\n".join(problems[:30])


def wait_until(cond, timeout=120, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cond():
                return
        except redis.RedisError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_shuffled_lifecycle_parks_follow_ups_live_as_in_batch(settings, shuffled, batch_report):
    assert batch_report["parked"] == 0 and batch_report["orphaned"] == 0
    ensure_topics(settings)
    store = CounterStore(connect(settings.redis_url), settings.namespace, load_taxonomy())
    worker = start_worker(settings)
    try:
        replay(iter_file(str(shuffled)), settings, progress=False)
        wait_for_records(store, count_records(shuffled), workers=[worker])
        assert_exact(batch_report, settings)
    finally:
        worker.stop()


def _replay_with_fault(settings, shuffled, fault, recover, *, restart_worker=False):
    ensure_topics(settings)
    store = CounterStore(connect(settings.redis_url), settings.namespace, load_taxonomy())
    n = count_records(shuffled)
    worker = start_worker(settings)
    workers = [worker]
    try:
        replay(iter_file(str(shuffled)), settings, progress=False)
        wait_until(lambda: store.pipeline_counters().get("records", 0) >= n // 4, what="a quarter counted")
        at = fault(store)
        assert at < n, f"the fault landed after the replay was counted ({at} of {n})"
        time.sleep(3)  # the worker meets the fault for a while
        recover(store)
        if restart_worker:
            worker.stop()
            worker = start_worker(settings, name="worker-restarted")
            workers.append(worker)
        wait_for_records(store, n, workers=workers)
        time.sleep(1)  # anything counted twice would show up now
        return worker
    finally:
        for w in workers:
            w.stop()


def test_redis_out_of_memory_mid_replay_loses_nothing(settings, own_redis, shuffled, batch_report):
    settings = settings.with_(redis_url=own_redis.url)
    r = connect(own_redis.url)

    def fault(store):
        at = store.pipeline_counters().get("records", 0)
        r.config_set("maxmemory", 1)  # every write, and every script, now fails with OOM
        return at

    def recover(store):
        r.config_set("maxmemory", 0)

    worker = _replay_with_fault(settings, shuffled, fault, recover)
    assert "OOM" in worker.full_output(), "the worker never met the OOM error"
    assert_exact(batch_report, settings)


def test_redis_turned_read_only_replica_then_promoted_loses_nothing(settings, own_redis, shuffled, batch_report):
    """A failover gone both ways: the primary becomes a replica (READONLY; its data replaced by the
    other node's, which may lag), then is promoted again. Holes are read back from Kafka."""
    settings = settings.with_(redis_url=own_redis.url)
    other = start_redis()
    r, o = connect(own_redis.url), connect(other.url)
    try:
        host, port = "127.0.0.1", own_redis.url.rsplit(":", 1)[1].split("/")[0]
        o.execute_command("REPLICAOF", host, port)
        wait_until(lambda: o.info("replication")["master_link_status"] == "up", what="the replica to sync")

        def fault(store):
            at = store.pipeline_counters().get("records", 0)
            o.execute_command("REPLICAOF", "NO", "ONE")
            r.execute_command("REPLICAOF", "127.0.0.1", other.url.rsplit(":", 1)[1].split("/")[0])
            return at

        def recover(store):
            wait_until(lambda: r.info("replication")["master_link_status"] == "up", what="the demoted node to sync")
            r.execute_command("REPLICAOF", "NO", "ONE")

        worker = _replay_with_fault(settings, shuffled, fault, recover)
        assert "READONLY" in worker.full_output(), "the worker never met the READONLY error"
        assert_exact(batch_report, settings)
    finally:
        other.stop()


def test_redis_restored_from_an_older_snapshot_is_recounted_from_kafka(settings, tmp_path, shuffled, batch_report):
    """Kafka's committed offsets are far ahead of the restored fences: Faust's own recovery seek
    must not win, or the records after the restored fences are never counted again."""
    svc = start_redis(extra=["--dir", str(tmp_path), "--dbfilename", "dump.rdb"])
    settings = settings.with_(redis_url=svc.url)
    r = connect(svc.url)
    ensure_topics(settings)
    store = CounterStore(r, settings.namespace, load_taxonomy())
    n = count_records(shuffled)
    worker = start_worker(settings)
    try:
        replay(iter_file(str(shuffled)), settings, progress=False)
        wait_until(lambda: store.pipeline_counters().get("records", 0) >= n // 3, what="a third counted")
        saved_at = store.pipeline_counters()["records"]  # read before the save: the worker goes on counting
        r.save()  # the backup
        (tmp_path / "backup.rdb").write_bytes((tmp_path / "dump.rdb").read_bytes())
        wait_for_records(store, n, workers=[worker])
        time.sleep(3)  # Faust commits what it acked: Kafka's offsets are now at the end
        worker.stop()
        port = int(svc.url.rsplit(":", 1)[1].split("/")[0])
        svc.stop()
        (tmp_path / "dump.rdb").write_bytes((tmp_path / "backup.rdb").read_bytes())
        svc = start_redis(port=port, extra=["--dir", str(tmp_path), "--dbfilename", "dump.rdb"])
        store = CounterStore(connect(svc.url), settings.namespace, load_taxonomy())
        wait_until(lambda: store.r.ping() and store.pipeline_counters(), what="the restored Redis to load")
        assert saved_at <= store.pipeline_counters()["records"] < n, "the restore did not go back in time"
        worker = start_worker(settings, name="worker-after-restore")
        wait_for_records(store, n, workers=[worker])
        time.sleep(1)
        assert_exact(batch_report, settings)
    finally:
        worker.stop()
        svc.stop()


def commit_group_at_end(settings) -> None:
    """Join the workers' consumer group (the worker is stopped) and commit the end of every partition."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    from streams.adapters.kafka import client_kwargs

    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.errors import InconsistentGroupProtocolError

    class AsFaust(RangePartitionAssignor):  # the group's protocol is Faust's; alone in it, range is fine
        name = "faust"

    tps = {TopicPartition(settings.raw_topic, p) for p in range(settings.partitions)}
    deadline = time.monotonic() + 120
    while True:  # the stopped worker's membership (Faust's own assignor) lasts until its session times out
        consumer = KafkaConsumer(settings.raw_topic, group_id=f"hotline-{settings.namespace}",
                                 enable_auto_commit=False, session_timeout_ms=int(settings.session_timeout_s * 1000),
                                 partition_assignment_strategy=[AsFaust], **client_kwargs(settings))
        try:
            wait_until(lambda: consumer.poll(timeout_ms=200, max_records=1) is not None
                       and consumer.assignment() == tps, what="joining the workers' group")
            break
        except InconsistentGroupProtocolError:
            consumer.close()
            assert time.monotonic() < deadline, "could not join the workers' group"
            time.sleep(0.5)
    try:
        # The end by fetching: the embedded broker answers ListOffsets(latest) wrongly (seek_to_end: 1).
        ends = {}
        while len(ends) < len(tps):
            consumer.poll(timeout_ms=200, max_records=1)
            ends.update({tp: consumer.highwater(tp) for tp in tps if consumer.highwater(tp) is not None})
        assert sum(ends.values()) >= 1000, ends
        consumer.commit({tp: OffsetAndMetadata(ends[tp], "", -1) for tp in tps})
        assert all(consumer.committed(tp) == ends[tp] for tp in tps)
    finally:
        consumer.close()


def test_a_worker_stopped_gracefully_while_redis_stalls_loses_nothing(settings, own_redis, shuffled, batch_report):
    """SIGTERM while the batch in hand cannot be applied: Faust acks it on the way out and commits;
    the next start must begin at Redis' fence, not at Kafka's commit."""
    settings = settings.with_(redis_url=own_redis.url)
    ensure_topics(settings)
    store = CounterStore(connect(own_redis.url), settings.namespace, load_taxonomy())
    n = count_records(shuffled)
    worker = start_worker(settings)
    try:
        replay(iter_file(str(shuffled)), settings, progress=False)
        wait_until(lambda: store.pipeline_counters().get("records", 0) >= n // 4, what="a quarter counted")
        own_redis.freeze()
        try:
            time.sleep(2)
            worker.stop()  # graceful: Faust stops the agent and commits what it acked
        finally:
            own_redis.thaw()
        assert store.pipeline_counters()["records"] < n
        # Whatever Faust managed to commit on the way out, make Kafka's commit as far ahead of Redis
        # as it can be (the end of every partition): only Redis' fences may decide where the next
        # start begins. With Faust's own recovery seek in charge, everything after the fences is lost.
        commit_group_at_end(settings)
        worker = start_worker(settings, name="worker-restarted")
        wait_for_records(store, n, workers=[worker])
        time.sleep(1)
        assert_exact(batch_report, settings)
    finally:
        worker.stop()


def group_commits(settings) -> dict[int, int]:
    """The workers' group's committed offsets on the raw topic, fetched without joining the group."""
    from kafka import KafkaConsumer, TopicPartition

    from streams.adapters.kafka import client_kwargs

    c = KafkaConsumer(group_id=f"hotline-{settings.namespace}", enable_auto_commit=False, **client_kwargs(settings))
    try:
        got = {p: c.committed(TopicPartition(settings.raw_topic, p)) for p in range(settings.partitions)}
    finally:
        c.close(autocommit=False)
    return {p: o for p, o in got.items() if o is not None and o >= 0}


def test_kafka_commit_never_runs_ahead_of_what_redis_has_taken(settings, own_redis, shuffled):
    """Writes to Redis are paused mid-replay (reads still served) while the worker holds a batch it
    cannot apply; Faust keeps committing what was acked (every second). Kafka's commit must not pass
    Redis' fence + 1 on any partition: a batch is acked only after Redis has taken it."""
    from streams.adapters.fenced import fence_name

    settings = settings.with_(redis_url=own_redis.url)
    ensure_topics(settings)
    admin_redis = redis.Redis.from_url(own_redis.url)
    store = CounterStore(connect(own_redis.url), settings.namespace, load_taxonomy())
    n = count_records(shuffled)
    worker = start_worker(settings)
    try:
        replay(iter_file(str(shuffled)), settings, progress=False)
        wait_until(lambda: store.pipeline_counters().get("records", 0) >= n // 4, what="a quarter counted")
        admin_redis.execute_command("CLIENT", "PAUSE", 15_000, "WRITE")  # the worker's Lua apply waits
        try:
            time.sleep(4)  # several of Faust's commit intervals (1 s) with a batch in hand
            at = store.pipeline_counters()["records"]
            fences = store.fences_of(fence_name(settings.raw_topic, p) for p in range(settings.partitions))
            commits = group_commits(settings)
        finally:
            admin_redis.execute_command("CLIENT", "UNPAUSE")
        assert 0 < at < n, f"the pause did not land mid-replay: {at} of {n}"
        assert commits, "the workers' group committed nothing: the check below would prove nothing"
        ahead = {p: (c, fences.get(fence_name(settings.raw_topic, p), -1) + 1) for p, c in commits.items()
                 if c > fences.get(fence_name(settings.raw_topic, p), -1) + 1}
        print(f"paused at {at}/{n}: commits {commits}, fences {fences}")
        assert not ahead, f"Kafka's commit ahead of Redis' fence + 1 (partition: (commit, fence + 1)): {ahead}"
        wait_for_records(store, n, workers=[worker])
        # And it follows: once all is counted, the commit reaches every fence + 1 (the worker reads
        # runs of records as one message each; the run's other offsets must not hold the commit back).
        fences = store.fences_of(fence_name(settings.raw_topic, p) for p in range(settings.partitions))
        want = {p: fences[fence_name(settings.raw_topic, p)] + 1 for p in range(settings.partitions)
                if fence_name(settings.raw_topic, p) in fences}
        wait_until(lambda: group_commits(settings) == want, what=f"Kafka's commit to reach the fences {want}")
    finally:
        worker.stop()
