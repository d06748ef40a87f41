"""Dead letters are not a dead end: an oversized line is dead-lettered by the replay, `hotline dlq`
lists and shows (masked) what the workers dead-lettered, and a redrive counts what was never
counted, once, and nothing twice."""
from __future__ import annotations

import json

import pytest

from schemas.taxonomy import load_taxonomy
from streams.adapters.kafka import ensure_topics, replay
from streams.commands.snapshot import take_snapshot
from streams.adapters.store import CounterStore, connect
from tests.support import hotline, start_worker, wait_for_records

pytestmark = pytest.mark.integration


def created(tid: str, t: str) -> bytes:
    return json.dumps({"ticket_id": tid, "event": "created", "event_time": t, "received_at": t, "channel": "电话",
                       "category": "交通管理", "district": "南城", "caller": "13812345678",
                       "content": f"{tid} 路口违章停车，电话13812345678"}, ensure_ascii=False).encode()


def test_replay_dead_letters_oversized_lines_and_a_redrive_counts_the_orphans_once(settings, tmp_path):
    settings = settings.with_(orphan_horizon_days=1)
    ensure_topics(settings)
    early_reply = json.dumps({"ticket_id": "Z", "event": "replied", "event_time": "2024-03-01T10:00:00",
                              "replied_at": "2024-03-01T10:00:00", "reply": "经现场核实，已整改"},
                             ensure_ascii=False).encode()
    huge = b'{"ticket_id": "H", "event": "created", "content": "' + b"x" * 3_000_000 + b'"}'
    later = [created(f"L{i}", f"2024-03-05T10:{i:02d}:00") for i in range(20)]
    path = tmp_path / "batch.jsonl"
    path.write_bytes(b"\n".join([early_reply, b"{not json", huge] + later) + b"\n")
    res = hotline(["replay", str(path), "--no-progress"], settings)
    assert "dead-lettered 1 oversized" in res.stderr.decode(), res.stderr.decode()

    store = CounterStore(connect(settings.redis_url), settings.namespace, load_taxonomy())
    worker = start_worker(settings, HOTLINE_ORPHAN_HORIZON_DAYS=1)
    try:
        wait_for_records(store, 22, workers=[worker])
        # Z's reply waits for Z; 20 tickets four days later move the clock past the horizon.
        replay([created(f"M{i}", f"2024-03-06T11:{i:02d}:00") for i in range(5)], settings, progress=False)
        wait_for_records(store, 27, workers=[worker])
        snap = take_snapshot(store, "all", "event")
        assert snap["orphaned"] == 1 and snap["parked"] == 0 and snap["replied"] == 0

        listing = hotline(["dlq", "list"], settings).stdout.decode()
        assert "orphaned" in listing and "invalid_json" in listing and "oversized" in listing
        shown = [json.loads(line) for line in hotline(["dlq", "show", "--reason", "orphaned"], settings)
                 .stdout.decode().splitlines()]
        assert len(shown) == 1 and shown[0]["ticket_id"] == "Z" and "现场核实" in shown[0]["original_masked"]

        # The producer is fixed: Z's creation arrives; the redrive counts its reply, once.
        replay([created("Z", "2024-02-28T09:00:00")], settings, progress=False)
        wait_for_records(store, 28, workers=[worker])
        hotline(["dlq", "redrive", "--reason", "orphaned"], settings)
        wait_for_records(store, 29, workers=[worker])
        hotline(["dlq", "redrive", "--reason", "orphaned"], settings)  # again: a duplicate now
        wait_for_records(store, 30, workers=[worker])
        snap = take_snapshot(store, "all", "event")
        assert (snap["tickets"], snap["replied"]) == (26, 1)
        assert snap["rejected_by_reason"]["duplicate_event"] == 1
        # Masked on the way out, and no caller number in clear in Redis.
        assert "13812345678" not in json.dumps(shown, ensure_ascii=False)
    finally:
        worker.stop()
