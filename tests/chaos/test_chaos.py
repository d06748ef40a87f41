"""Chaos: processes killed with SIGKILL at seeded random points, services stopped and frozen.
After every scenario the live counters must equal the batch report of the same file, exactly.

Each scenario runs HOTLINE_CHAOS_RUNS times (default 2) with different seeds; set it higher for a
longer soak. The worker, group and broker scenarios run on a single Redis (even runs) and on a
3-primary Redis Cluster (odd runs); Redis' own faults are in tests/integration/test_exact.py (single)
and tests/integration/test_cluster.py (a primary killed, its replica promoted). Every run prints what it compared, and asserts that its fault landed mid-replay: the
records counter read at the fault is strictly between 0 and the number of records (a fault before
the first or after the last batch would prove nothing).
"""
from __future__ import annotations

import os
import random
import signal
import threading
import time
import urllib.request

import pytest

from schemas.taxonomy import load_taxonomy
from streams.adapters.embedded import free_port, start_redis, wait_port
from streams.adapters.kafka import ensure_topics, replay
from streams.core.records import iter_file
from streams.commands.snapshot import take_snapshot
from streams.adapters.store import CounterStore, connect
from tests.support import (count_records, generate, live_vs_batch, hotline_json, settled, start_exporter,
                           start_worker, wait_for_records, wait_until as wait_for)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RUNS = int(os.environ.get("HOTLINE_CHAOS_RUNS", "2"))
TICKETS = 6000


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("chaos") / "sample.jsonl", TICKETS, seed=99, mode="lifecycle", dirty=0.01)


@pytest.fixture(scope="module")
def reference(sample):
    return hotline_json(["report", str(sample), "--json"])


def check_exact(settings, reference, label: str) -> None:
    store = CounterStore(connect(settings.redis_url), settings.namespace, load_taxonomy())
    live = take_snapshot(store, "all", "event")
    a, b = reference, live
    problems = live_vs_batch(a, b)
    print(f"[{label}] compared batch report and live snapshot: tickets {a['valid']} vs {b['valid']}, "
          f"records {a['records']} vs {b['records']}, evaluated {a['evaluated']} vs {b['evaluated']}, "
          f"{len(problems)} differing fields")
    assert not problems, "\n".join(problems[:30])


def wait_until(store, fraction: float, n: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = store.pipeline_counters().get("records", 0)
        if seen >= fraction * n:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"never reached {fraction:.0%} of {n}")


def _store(settings):
    return CounterStore(connect(settings.redis_url), settings.namespace, load_taxonomy())


def counted(store) -> int:
    return store.pipeline_counters().get("records", 0)


def assert_mid_way(at: int, n: int, fault: str) -> None:
    assert 0 < at < n, f"the {fault} did not land mid-replay: {at} of {n} records counted at the fault"


def settle(store) -> None:
    """Wait until the counters stop moving (anything counted twice would show up by then)."""
    settled(lambda: store.pipeline_counters(), quiet=1.0)


def on_kind(settings, request, run: int):
    """Even runs on a single Redis, odd runs on the 3-primary Redis Cluster (tests/conftest.py)."""
    if run % 2 == 0:
        return settings
    return settings.with_(redis_url=request.getfixturevalue("redis_cluster_url"))


def pause(proc, sig) -> None:
    os.killpg(proc.p.pid, sig)


@pytest.mark.parametrize("run", range(RUNS))
def test_worker_killed_mid_replay_then_restarted(settings, sample, reference, run, request):
    settings = on_kind(settings, request, run)
    rnd = random.Random(1000 + run)
    ensure_topics(settings)
    store, n = _store(settings), count_records(sample)
    worker = start_worker(settings)
    try:
        replay(iter_file(str(sample)), settings, progress=False)
        wait_until(store, rnd.uniform(0.1, 0.8), n)
        worker.kill()
        at = counted(store)  # the worker is dead: this is what Redis holds at the fault
        assert_mid_way(at, n, "worker SIGKILL")
        worker = start_worker(settings, name="restarted")
        wait_for_records(store, n, workers=[worker])
        settle(store)
        check_exact(settings, reference, f"worker SIGKILL at {at}/{n}")
    finally:
        worker.stop()


@pytest.mark.parametrize("run", range(RUNS))
def test_group_member_killed_then_one_added_back(settings, sample, reference, run, request):
    settings = on_kind(settings, request, run)
    rnd = random.Random(2000 + run)
    size = 2 + run % 2  # two, then three workers
    ensure_topics(settings)
    store, n = _store(settings), count_records(sample)
    workers = [start_worker(settings, name=f"w{i}") for i in range(size)]
    try:
        # Let the group form with all members. A fixed pause (open): the workers log assignments at
        # INFO, below their log level, so there is no condition to wait on; the test is exact
        # whenever the group forms, this only makes the kill land on a full group more often.
        time.sleep(settings.session_timeout_s)
        replay(iter_file(str(sample)), settings, progress=False)
        wait_until(store, rnd.uniform(0.1, 0.6), n)
        victim = workers.pop(rnd.randrange(size))
        victim.kill()
        at = counted(store)
        assert_mid_way(at, n, "group member SIGKILL")
        wait_until(store, min(1.0, at / n + 0.15), n, timeout=180)
        workers.append(start_worker(settings, name="added"))
        wait_for_records(store, n, workers=workers)
        settle(store)
        check_exact(settings, reference, f"{size} workers, one SIGKILLed at {at}/{n}, one added back")
    finally:
        for w in workers:
            w.stop()


@pytest.mark.parametrize("run", range(RUNS))
def test_redis_stopped_mid_replay_and_started_again(kafka_url, sample, reference, namespace, run):
    from streams.settings import Settings

    rnd = random.Random(3000 + run)
    # A Redis that keeps what it acknowledged across a restart (AOF, fsync always), as production does.
    redis_svc = start_redis(extra=["--appendonly", "yes", "--appendfsync", "always"])
    settings = Settings.from_env({}).with_(kafka_url=kafka_url, redis_url=redis_svc.url, namespace=namespace,
                                           topic_prefix=f"{namespace}.", session_timeout_s=6.0,
                                           caller_hash_key="test-secret-key")
    ensure_topics(settings)
    store, n = _store(settings), count_records(sample)
    worker = start_worker(settings)
    try:
        replay(iter_file(str(sample)), settings, progress=False)
        wait_until(store, rnd.uniform(0.1, 0.7), n)
        redis_svc.proc.kill()  # SIGKILL: no goodbye
        redis_svc.proc.wait(5)
        time.sleep(rnd.uniform(2, 6))  # the outage itself (a chosen duration, not a wait for anything)
        assert worker.alive(), worker.output()
        # What Redis held when it died (AOF, fsync always): read with the worker paused so it cannot
        # add to it first; the pause is far below the session timeout.
        pause(worker, signal.SIGSTOP)
        try:
            redis_svc.restart()
            at = wait_for(lambda: store.r.ping() and (counted(store),), 60, "the restarted Redis to load")[0]
        finally:
            pause(worker, signal.SIGCONT)
        assert_mid_way(at, n, "Redis SIGKILL")
        wait_for_records(store, n, workers=[worker])
        settle(store)
        check_exact(settings, reference, f"Redis SIGKILLed at {at}/{n}, down a few seconds")
    finally:
        worker.stop()
        redis_svc.stop()


@pytest.mark.parametrize("run", range(RUNS))
def test_broker_frozen_longer_than_the_session_timeout(settings, sample, reference, run, request):
    from streams.adapters.embedded import start_broker

    rnd = random.Random(4000 + run)
    broker = start_broker()  # our own: freezing the shared one would stall other tests
    settings = on_kind(settings, request, run).with_(kafka_url=broker.url)
    ensure_topics(settings)
    store, n = _store(settings), count_records(sample)
    worker = start_worker(settings)
    try:
        replay(iter_file(str(sample)), settings, progress=False)
        wait_until(store, rnd.uniform(0.1, 0.7), n)
        broker.freeze()
        time.sleep(settings.session_timeout_s + 4)  # the fault's chosen duration: past the session timeout
        at = counted(store)  # all the worker could count without the broker
        broker.thaw()
        assert_mid_way(at, n, "broker freeze")
        wait_for_records(store, n, workers=[worker], timeout=240)
        settle(store)
        check_exact(settings, reference, f"broker SIGSTOPped at {at}/{n} for {settings.session_timeout_s + 4:.0f} s")
    finally:
        worker.stop()
        broker.stop()


@pytest.mark.parametrize("run", range(RUNS))
def test_a_worker_frozen_past_its_session_wakes_as_a_zombie_and_counts_nothing_twice(settings, sample, reference,
                                                                                      run, request):
    """Two workers; one is frozen (SIGSTOP) mid-replay for longer than the session timeout. The group
    gives its partitions to the other, which resumes them at Redis' fences: the test waits until every
    raw partition's fence has moved while the zombie is frozen. Thawed, the zombie may still hold a
    batch it read before the freeze and apply it late: the fences refuse what the other applied."""
    settings = on_kind(settings, request, run)
    rnd = random.Random(6000 + run)
    ensure_topics(settings)
    store, n = _store(settings), count_records(sample)
    workers = [start_worker(settings, name="a"), start_worker(settings, name="b")]
    zombie = workers[rnd.randrange(2)]
    try:
        time.sleep(settings.session_timeout_s)  # let the group form with both (see the group test)
        replay(iter_file(str(sample)), settings, progress=False)
        wait_until(store, rnd.uniform(0.1, 0.4), n)
        pause(zombie, signal.SIGSTOP)
        at = counted(store)
        assert_mid_way(at, n, "worker freeze")
        raw = [f"{settings.raw_topic}:{p}" for p in range(settings.partitions)]
        frozen_at = store.fences_of(raw)
        # Every partition moves on without the zombie (or was already at its end).
        wait_for(lambda: all(store.fences_of(raw).get(f, -1) > frozen_at.get(f, -1) or counted(store) >= n
                             for f in raw), timeout=180, what="the other worker to take every partition")
        pause(zombie, signal.SIGCONT)
        wait_for_records(store, n, workers=workers)
        settle(store)
        check_exact(settings, reference, f"a worker SIGSTOPped at {at}/{n} past its session, then thawed")
    finally:
        pause(zombie, signal.SIGCONT)
        for w in workers:
            w.stop()


def figures(body: str) -> dict[str, str]:
    """The exporter's figures (every hotline_* sample but the scrape's own duration), by series."""
    out = {}
    for line in body.splitlines():
        if line.startswith("hotline_") and not line.startswith("hotline_exporter_scrape_duration"):
            series, _, value = line.rpartition(" ")
            out[series] = value
    return out


@pytest.mark.parametrize("run", range(RUNS))
def test_exporter_killed_and_restarted_during_scrapes(settings, sample, reference, run):
    """Mid-replay, with the worker paused so the figures hold still: a scrape, the exporter
    SIGKILLed (scrapes fail), restarted, a scrape: the two scrapes publish the same figures. Then the
    replay ends and the restarted exporter publishes the batch report's ticket count."""
    rnd = random.Random(5000 + run)
    settings = settings.with_(exporter_addr=f"127.0.0.1:{free_port()}")
    ensure_topics(settings)
    store, n = _store(settings), count_records(sample)
    worker = start_worker(settings)
    exporter = start_exporter(settings, HOTLINE_WINDOW_CLOCK="event")
    url = f"http://{settings.exporter_addr}/metrics"
    scrapes = {"ok": 0, "failed": 0}
    stop = threading.Event()
    get = lambda: urllib.request.urlopen(url, timeout=30).read().decode()

    def scrape():
        while not stop.is_set():
            try:
                urllib.request.urlopen(url, timeout=30).read()
                scrapes["ok"] += 1
            except OSError:
                scrapes["failed"] += 1
            time.sleep(0.05)

    th = threading.Thread(target=scrape, daemon=True)
    try:
        wait_port(settings.exporter_host_port[1], 60, exporter.p, "exporter")
        th.start()
        replay(iter_file(str(sample)), settings, progress=False)
        wait_until(store, rnd.uniform(0.1, 0.7), n)
        pause(worker, signal.SIGSTOP)
        try:
            at = settled(lambda: counted(store), quiet=0.5)
            assert_mid_way(at, n, "exporter SIGKILL")
            before = figures(get())
            exporter.kill()
            failed_before = scrapes["failed"]
            wait_for(lambda: scrapes["failed"] > failed_before, 30, "a scrape to fail while the exporter is down")
            time.sleep(rnd.uniform(0.5, 2))  # the outage's chosen duration
            exporter = start_exporter(settings, HOTLINE_WINDOW_CLOCK="event")
            wait_port(settings.exporter_host_port[1], 60, exporter.p, "exporter")
            after = figures(get())
        finally:
            pause(worker, signal.SIGCONT)
        changed = {k: (before.get(k), after.get(k)) for k in set(before) | set(after) if before.get(k) != after.get(k)}
        assert before and not changed, f"{len(changed)} series differ across the restart, e.g. {list(changed.items())[:5]}"
        assert before['hotline_events_total{outcome="counted"}'] != "0.0"
        ok_after = scrapes["ok"]
        wait_for_records(store, n, workers=[worker])
        settle(store)
        wait_for(lambda: scrapes["ok"] > ok_after, 30, "a scrape of the restarted exporter")
        stop.set()
        th.join(30)
        body = get()
        print(f"[exporter restart at {at}/{n}] {len(before)} series equal before and after; "
              f"scrapes ok {scrapes['ok']}, failed while down {scrapes['failed']}")
        assert f"hotline_tickets_total {float(reference['valid'])}" in body
        check_exact(settings, reference, "exporter SIGKILLed and restarted during scrapes")
    finally:
        stop.set()
        exporter.stop()
        worker.stop()
