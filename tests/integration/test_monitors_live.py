"""The monitors through a real broker, a real worker and Redis: open, overdue, on-time replies,
rising scores and call-backs in `hotline snapshot` equal `hotline report` of the same file, and
every bad rating lands on `<prefix>callbacks`, keyed by its ticket id."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from schemas.taxonomy import load_taxonomy
from streams.adapters.kafka import ensure_topics, replay
from streams.adapters.store import CounterStore, connect
from streams.commands.snapshot import take_snapshot
from tests.support import consume_topic, generate, hotline_json, live_vs_batch, start_worker, wait_for_records

pytestmark = pytest.mark.integration
MONITOR_KEYS = ("closed", "open", "replied_on_time", "on_time_reply_rate", "callbacks", "overdue", "monitors")


def monitor_sample(path) -> tuple[list[bytes], set[str]]:
    """A generated lifecycle where every 7th ticket is never replied (open, overdue once 15 days
    pass) and every 11th is replied 20 days late; returns the lines and the bad-rating ticket ids."""
    generate(path, 4000, seed=17, mode="lifecycle")
    lines, bad = [], set()
    for line in path.read_bytes().splitlines():
        rec = json.loads(line)
        n = int(rec["ticket_id"][-5:])
        if rec["event"] in ("replied", "evaluated") and n % 7 == 0:
            continue
        if rec["event"] == "replied" and n % 11 == 0:
            late = (datetime.fromisoformat(rec["replied_at"]) + timedelta(days=20)).isoformat()
            rec.update(replied_at=late, event_time=late)
        if rec["event"] == "evaluated" and rec["satisfaction"] <= 2:
            bad.add(rec["ticket_id"])
        lines.append(json.dumps(rec, ensure_ascii=False).encode())
    return lines, bad


def test_monitors_live_equal_batch_and_callbacks_land_on_their_topic(settings, tmp_path):
    lines, bad = monitor_sample(tmp_path / "lifecycle.jsonl")
    path = tmp_path / "monitors.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    batch = hotline_json(["report", str(path), "--json"])
    assert batch["overdue"] > 0 and batch["replied_on_time"] < batch["replied"]
    assert batch["callbacks"] == len(bad) > 0
    assert batch["monitors"]["rising"]["weeks"] == 4

    ensure_topics(settings)
    store = CounterStore(connect(settings.redis_url), settings.namespace, load_taxonomy())
    worker = start_worker(settings)
    try:
        replay(lines, settings, speed=0, progress=False)
        wait_for_records(store, len(lines), workers=[worker])
        live = take_snapshot(store, "all", "event")
    finally:
        worker.stop()
    problems = live_vs_batch(batch, live)
    assert not problems, "\n".join(problems[:40])
    for key in MONITOR_KEYS:
        assert live[key] == batch[key], key

    msgs = consume_topic(settings, settings.callbacks_topic, want=len(bad))
    records = [json.loads(m.value) for m in msgs]
    assert {m.key.decode() for m in msgs} == {r["ticket_id"] for r in records} == bad
    for r in records:
        assert r["satisfaction"] in (1, 2) and r["district"] and r["item"]
    print(f"{len(lines)} records: overdue {batch['overdue']}, open {batch['open']}, on-time "
          f"{batch['on_time_reply_rate']}, call-backs {len(bad)} ({len(msgs)} messages)")
