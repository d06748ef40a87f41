"""Follow-ups that arrive before their ticket's creation are parked and counted when it arrives
(issue: real platforms write intake, replies and evaluations from different systems)."""
import json
import random

from hypothesis import given, settings, strategies as st

from streams.core.pipeline import Processor
from streams.core.testing import FixedPredictor, MemoryPipeline


def proc():
    return Processor("k", FixedPredictor("城市管理"), clock=lambda: 1_800_000_000)


def lifecycle(n: int, seed: int) -> list[bytes]:
    """A small lifecycle file: each ticket created, most replied, some evaluated or withdrawn."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        day = 1 + i % 20
        t0 = f"2024-04-{day:02d}T{8 + i % 12:02d}:00:00"
        doc = {"ticket_id": f"T{i}", "event": "created", "event_time": t0, "received_at": t0, "channel": "电话",
               "category": "交通管理", "district": "南城", "content": f"第{i}号路口违章停车", "caller": f"1390000{i:04d}"}
        out.append(doc)
        if rnd.random() < 0.8:
            tr = f"2024-04-{day + 2:02d}T10:00:00"
            out.append({"ticket_id": f"T{i}", "event": "replied", "event_time": tr, "replied_at": tr,
                        "reply": rnd.choice(["经现场核实，已责令整改", "根据《道路交通安全法》第五十六条答复", "已收悉"])})
            if rnd.random() < 0.5:
                te = f"2024-04-{day + 3:02d}T10:00:00"
                out.append({"ticket_id": f"T{i}", "event": "evaluated", "event_time": te, "evaluated_at": te,
                            "satisfaction": rnd.randint(1, 5)})
        elif rnd.random() < 0.5:
            tw = f"2024-04-{day:02d}T23:00:00"
            out.append({"ticket_id": f"T{i}", "event": "withdrawn", "event_time": tw})
    return [json.dumps(d, ensure_ascii=False).encode() for d in out]


def one_ticket() -> tuple[bytes, bytes]:
    t0, tr = "2024-04-01T10:00:00", "2024-04-02T10:00:00"
    created = {"ticket_id": "A", "event": "created", "event_time": t0, "received_at": t0, "channel": "电话",
               "category": "交通管理", "district": "南城", "content": "路口违章停车"}
    replied = {"ticket_id": "A", "event": "replied", "event_time": tr, "replied_at": tr, "reply": "经现场核实，已责令整改"}
    return json.dumps(created, ensure_ascii=False).encode(), json.dumps(replied, ensure_ascii=False).encode()


def report(records, batch_size=7):
    rep = MemoryPipeline(proc()).feed(records, batch_size=batch_size).report()
    return rep


def test_a_reply_before_its_ticket_is_counted_when_the_ticket_arrives():
    created, replied = one_ticket()
    rep = report([replied, created])
    assert rep["tickets"] == 1 and rep["replied"] == 1
    assert rep["rejected"] == 0 and rep["parked"] == 0
    assert rep["events_counted"] == 2


def test_a_parked_follow_up_waits_visibly_and_its_duplicate_is_still_a_duplicate():
    created, replied = one_ticket()
    waiting = MemoryPipeline(proc()).feed([replied, replied])
    rep = waiting.report()
    assert rep["parked"] == 1 and rep["rejected_by_reason"] == {"duplicate_event": 1}
    assert rep["records"] == rep["events_counted"] + rep["rejected"] + rep["parked"]
    waiting.feed([created])
    rep = waiting.report()
    assert (rep["tickets"], rep["replied"], rep["parked"]) == (1, 1, 0)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), batch=st.integers(1, 40), data=st.randoms(use_true_random=False))
def test_any_permutation_of_a_lifecycle_gives_the_report_of_the_ordered_file(seed, batch, data):
    records = lifecycle(25, seed)
    ordered = report(records, batch)
    shuffled = list(records)
    data.shuffle(shuffled)
    got = report(shuffled, batch)
    for key in ("source",):
        got.pop(key), ordered.pop(key)
    assert got == ordered


def test_a_follow_up_unmatched_past_the_horizon_is_orphaned_and_dead_lettered_with_its_original():
    created, replied = one_ticket()
    later = [json.dumps({"ticket_id": f"L{i}", "event": "created", "event_time": t, "received_at": t,
                         "channel": "电话", "content": "噪音扰民", "category": "城市管理"}).encode()
             for i, t in enumerate(f"2024-06-01T10:{m}0:00" for m in range(5))]
    pipe = MemoryPipeline(proc()).feed([replied] + later, batch_size=1)
    rep = pipe.report()
    assert rep["orphaned"] == 1 and rep["parked"] == 0
    assert rep["rejected_by_reason"].get("orphaned") == 1
    letter = [d for _, d in pipe.dead_letters if d["reason"] == "orphaned"]
    assert len(letter) == 1
    import base64
    assert base64.b64decode(letter[0]["original_b64"]) == replied
    assert rep["records"] == rep["events_counted"] + rep["rejected"] + rep["parked"]
