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


def late_creations(seed: int) -> list[bytes]:
    """Replies parked for 10–50 days before their ticket's creation (or forever), among daily
    intake that moves the clock: some creations beat the orphan horizon (30 days), some do not."""
    rnd = random.Random(seed)
    base = 1_704_067_200  # 2024-01-01
    iso = lambda t: __import__("datetime").datetime.utcfromtimestamp(t).strftime("%Y-%m-%dT%H:%M:%S")
    events = []
    for i in range(120):  # intake: a few tickets a day for 120 days
        t = base + i * 86400 + rnd.randrange(3600)
        events.append((t, {"ticket_id": f"D{i}", "event": "created", "event_time": iso(t), "received_at": iso(t),
                           "channel": "电话", "category": "城市管理", "district": "南城", "content": "噪音扰民"}))
    for i in range(12):
        tr = base + rnd.randrange(40) * 86400 + rnd.randrange(86400)
        events.append((tr, {"ticket_id": f"R{i}", "event": "replied", "event_time": iso(tr), "replied_at": iso(tr),
                            "reply": "已收悉"}))
        if i % 4:  # the creation is written later, when the intake system catches up
            tc = tr + rnd.randrange(10, 50) * 86400 + rnd.randrange(86400)
            events.append((tc, {"ticket_id": f"R{i}", "event": "created", "event_time": iso(tr - 3600),
                                "received_at": iso(tr - 3600), "channel": "电话", "category": "城市管理",
                                "district": "南城", "content": "路灯不亮"}))
    events.sort(key=lambda e: e[0])  # in arrival order
    return [json.dumps(d, ensure_ascii=False).encode() for _, d in events]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), sizes=st.lists(st.integers(1, 60), min_size=2, max_size=3))
def test_what_is_orphaned_does_not_depend_on_where_batches_begin(seed, sizes):
    records = late_creations(seed)
    seen = []
    for size in sizes + [len(records)]:
        pipe = MemoryPipeline(proc()).feed(records, batch_size=size)
        rep = pipe.report()
        rep.pop("source")
        letters = sorted((d["reason"], d["ticket_id"]) for _, d in pipe.dead_letters)
        seen.append((size, rep["orphaned"], rep["parked"], letters, rep))
    first = seen[0]
    for other in seen[1:]:
        assert other[1:] == first[1:], (first[:4], other[:4])
