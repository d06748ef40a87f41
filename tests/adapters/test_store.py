"""The Redis store: offset fence, idempotent re-application, windows, pruning, AUTH and TLS."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from datetime import datetime, timedelta, timezone

from schemas.taxonomy import load_taxonomy
from streams.core.pipeline import Processor
from streams.adapters.store import CounterStore, FenceMoved, connect
from streams.core.testing import FixedPredictor
from streams.core.windows import RESOLUTIONS

FIVE_MINUTES = next(r for r in RESOLUTIONS if r.name == "5m")
SHANGHAI = timezone(timedelta(hours=8))

pytestmark = pytest.mark.integration


def ev(tid, t, kind="created", **extra):
    doc = {"ticket_id": tid, "event": kind, "event_time": t, "received_at": t, "channel": "电话",
           "category": "交通管理", "district": "南城", "content": f"{tid} 路口违章停车", "caller": "13900000000"}
    doc.update(extra)
    return json.dumps(doc, ensure_ascii=False).encode()


def apply(store, fence, records, first_offset):
    proc = Processor("k", FixedPredictor(), repeat_rules=None)
    prep = proc.prepare(records)
    view = store.read_partition(fence, prep.ticket_ids, prep.group_keys)
    result = proc.process(prep, view.states, groups=view.groups)
    store.apply(fence, view, list(range(first_offset, first_offset + len(records))), result)
    return view


def test_a_batch_applies_once_and_a_stale_writer_is_refused(store):
    records = [ev("A", "2024-05-01T10:00:00"), ev("B", "2024-05-01T11:00:00")]
    proc = Processor("k", FixedPredictor(), repeat_rules=None)
    prep = proc.prepare(records)
    view = store.read_partition("raw:0", prep.ticket_ids)
    result = proc.process(prep, view.states)
    store.apply("raw:0", view, [0, 1], result)
    with pytest.raises(FenceMoved):  # the same batch again (a redelivery with a stale view)
        store.apply("raw:0", view, [0, 1], result)
    assert store.all_time()["all||tickets"] == 2
    assert store.offsets() == {"raw:0": 1}


def test_windows_sum_buckets_and_old_buckets_are_pruned(store):
    apply(store, "raw:0", [ev(t, f"2024-05-01T10:{m}:00") for t, m in (("A", "00"), ("B", "10"), ("X", "20"))], 0)
    end = int(store.meta()["watermark"])  # the clock follows three records (see windows.advance_watermark)
    assert store.window("1h", end)["all||tickets"] == 3
    assert store.window("30d", end)["all||tickets"] == 3
    # 40 days later: the old 5-minute and hourly buckets are gone, all-time remains.
    apply(store, "raw:0", [ev(t, "2024-06-10T10:00:00") for t in "CDE"], 3)
    end = int(store.meta()["watermark"])
    assert store.window("30d", end)["all||tickets"] == 3
    assert store.all_time()["all||tickets"] == 6
    kept = list(store.r.scan_iter(store.pk("raw:0", "b:5m:*")))
    assert kept and all(int(k.rsplit(":", 1)[1]) >= end - FIVE_MINUTES.retention - 300 for k in kept)


def test_a_batch_spanning_days_writes_five_minute_buckets_only_within_their_retention(store):
    """A replay's batch spans many hours of event time: its 5-minute buckets older than their
    retention at the batch's end are never written, and every window at the end is the same as
    when the records come in batches of 7 (what a live worker would have written and pruned)."""
    start = 1714492800 + 600  # 2024-05-01 00:10 Shanghai
    times = [start + i * 1200 for i in range(217)]  # every 20 minutes (at :10, :30, :50), the last at :10
    records = [ev(f"T{i}", datetime.fromtimestamp(t, SHANGHAI).isoformat()) for i, t in enumerate(times)]
    apply(store, "raw:0", records, 0)
    end = int(store.meta()["watermark"])
    assert end == times[-1]
    five = [int(k.rsplit(":", 1)[1]) for k in store.r.scan_iter(store.pk("raw:0", "b:5m:*"))]
    assert five and min(five) >= end - FIVE_MINUTES.retention - 300
    assert len(five) == sum(1 for t in times if t >= end - FIVE_MINUTES.retention)
    hour = (end // 3600) * 3600
    expected = {"1h": sum(1 for t in times if t >= end - end % 300 - 11 * 300),
                "24h": sum(1 for t in times if t >= hour - 23 * 3600),
                "7d": 217, "30d": 217}
    got = {w: store.window(w, end)["all||tickets"] for w in expected}
    assert got == expected
    other = CounterStore(store.r, store.ns + "-in-sevens", load_taxonomy())
    other.claim_namespace()
    try:
        for i in range(0, len(records), 7):
            apply(other, "raw:0", records[i:i + 7], i)
        assert {w: other.window(w, end) for w in expected} == {w: store.window(w, end) for w in expected}
    finally:
        other.drop()


def test_hashes_a_batch_opens_hold_what_increments_would_whatever_their_size(store):
    """A bucket or all-time hash that a batch opens takes its fields in one HSET (in pieces past
    2,000 fields); the next batch adds into it. Every field is the sum of its increments."""
    from streams.core.counting import Increment
    from streams.core.pipeline import BatchResult

    at = 1714532400  # 2024-05-01 11:00 Shanghai
    expected: dict[str, int] = {}
    for n, first in ((5000, 0), (3000, 1)):
        result = BatchResult()
        for i in range(n):  # 5,000 then 3,000 distinct fields, some of them twice in a batch
            dims = [("all", ""), ("sub", f"x{i}")]
            result.increments.append(Increment(at + i % 7, dims, {"tickets": 1, "response_s": i + 1}))
            if i % 3 == 0:
                result.increments.append(Increment(at, dims[1:], {"tickets": 2}))
            for m, amount in (("tickets", 1 + (2 if i % 3 == 0 else 0)), ("response_s", i + 1)):
                expected[f"sub|x{i}|{m}"] = expected.get(f"sub|x{i}|{m}", 0) + amount
            expected["all||tickets"] = expected.get("all||tickets", 0) + 1
            expected["all||response_s"] = expected.get("all||response_s", 0) + i + 1
        result.event_times = [at] * 3
        view = store.read_partition("raw:0", [])
        store.apply("raw:0", view, [first], result)
        assert store.all_time() == expected
        day = store.buckets("1d", since=0)
        assert list(day.values()) == [expected]  # every increment is in the day's bucket too


def test_events_older_than_retention_count_as_late_not_dropped(store):
    apply(store, "raw:0", [ev(t, "2024-06-10T10:00:00") for t in "ACD"], 0)
    apply(store, "raw:0", [ev("B", "2024-01-01T10:00:00")], 3)
    assert store.pipeline_counters()["late"] == 1
    assert store.all_time()["all||tickets"] == 4


def test_a_namespace_refuses_another_taxonomy(store):
    store.r.hset(store.k("meta"), "taxonomy", "deadbeef")
    with pytest.raises(RuntimeError, match="rebuild"):
        CounterStore(store.r, store.ns, load_taxonomy()).claim_namespace()


def test_a_namespace_of_another_key_layout_is_refused(store):
    store.r.hset(store.k("meta"), "layout", "1")
    with pytest.raises(RuntimeError, match="key layout 1"):
        CounterStore(store.r, store.ns, load_taxonomy()).claim_namespace()


def _make_certs(d):
    def run(*args):
        subprocess.run(args, check=True, capture_output=True, cwd=d)

    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=hotline-test-ca",
        "-keyout", "ca.key", "-out", "ca.crt")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
        "-out", "server.csr")
    with open(os.path.join(d, "san.cnf"), "w") as fh:
        fh.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "1", "-out", "server.crt", "-extfile", "san.cnf")


def test_redis_with_password_and_tls(tmp_path, namespace):
    from streams.adapters.embedded import free_port, start_redis

    _make_certs(tmp_path)
    port = free_port()
    svc = start_redis(port=free_port(), extra=[
        "--tls-port", str(port), "--tls-cert-file", str(tmp_path / "server.crt"),
        "--tls-key-file", str(tmp_path / "server.key"), "--tls-ca-cert-file", str(tmp_path / "ca.crt"),
        "--tls-auth-clients", "no", "--requirepass", "s3cret-pass"])
    try:
        url = f"rediss://:s3cret-pass@127.0.0.1:{port}/0"
        s = CounterStore(connect(url, str(tmp_path / "ca.crt")), namespace, load_taxonomy())
        s.claim_namespace()
        apply(s, "raw:0", [ev("A", "2024-05-01T10:00:00")], 0)
        assert s.all_time()["all||tickets"] == 1
        # Without the password, or without TLS, the server refuses.
        import redis

        with pytest.raises(redis.AuthenticationError):
            connect(f"rediss://127.0.0.1:{port}/0", str(tmp_path / "ca.crt")).ping()
        with pytest.raises(redis.ConnectionError):
            connect(f"redis://:s3cret-pass@127.0.0.1:{port}/0").ping()
    finally:
        svc.stop()


def test_repeat_examples_are_the_newest_across_partitions(store):
    """A scope's examples sit in several partitions' lists; alerts cite the newest (a spike's own
    tickets), whichever partition holds them. Merged in partition order they cited an old ticket."""
    apply(store, "raw:0", [ev(f"OLD{i}", "2024-05-01T10:00:00", repeat_of="X") for i in range(3)], 0)
    apply(store, "raw:1", [ev(f"NEW{i}", "2024-05-01T11:00:00", repeat_of="X") for i in range(3)], 0)
    scope = f"district:{store.taxonomy.district(json.loads(ev('x', '2024-05-01T10:00:00'))['district'])}"
    assert store.repeat_examples(scope, 3) == ["NEW2", "NEW1", "NEW0"]
    assert store.repeat_examples(scope, 5)[3:] == ["OLD2", "OLD1"]
