"""The monitors' figures on hand-countable tickets: overdue (逾期工单), on-time replies (按时答复率),
rising items (热点预警) and bad ratings to call back (差评回访)."""
import json
import random
from datetime import datetime, timedelta, timezone

import pytest

from streams.core.monitors import Deadlines, local_day, rising_score, replied_on_time
from streams.core.pipeline import Processor
from streams.core.testing import FixedPredictor, MemoryPipeline

SH = timezone(timedelta(hours=8))


def at(day: int, hour: int = 10, month: int = 6) -> str:
    return datetime(2024, month, day, hour, tzinfo=SH).isoformat()


def created(tid, when, item="城市管理", district="南城街道", content="路口违章停车"):
    return {"ticket_id": tid, "event": "created", "event_time": when, "received_at": when, "channel": "电话",
            "category": item, "district": district, "content": content}


def replied(tid, when):
    return {"ticket_id": tid, "event": "replied", "event_time": when, "replied_at": when, "reply": "经现场核实，已责令整改"}


def evaluated(tid, when, score):
    return {"ticket_id": tid, "event": "evaluated", "event_time": when, "evaluated_at": when, "satisfaction": score}


def withdrawn(tid, when):
    return {"ticket_id": tid, "event": "withdrawn", "event_time": when}


def run(docs, deadlines=Deadlines(), batch_size=3) -> MemoryPipeline:
    proc = Processor("k", FixedPredictor("城市管理"), clock=lambda: 1_800_000_000, deadlines=deadlines)
    return MemoryPipeline(proc).feed([json.dumps(d, ensure_ascii=False).encode() for d in docs], batch_size)


def test_on_time_is_by_the_end_of_the_deadline_day_in_shanghai():
    rec = int(datetime(2024, 6, 1, 23, 30, tzinfo=SH).timestamp())
    assert local_day(rec) == local_day(int(datetime(2024, 6, 1, 0, 0, tzinfo=SH).timestamp()))
    assert replied_on_time(rec, int(datetime(2024, 6, 16, 23, 59, tzinfo=SH).timestamp()), 15)
    assert not replied_on_time(rec, int(datetime(2024, 6, 17, 0, 1, tzinfo=SH).timestamp()), 15)


def test_overdue_open_and_on_time_by_hand():
    # As of June 30 (the newest event), with 15 days: received on or before June 14 and open -> overdue.
    docs = [
        created("A", at(1)), replied("A", at(10)),            # closed, on time
        created("B", at(2)), replied("B", at(20)),            # closed, late (due by June 17)
        created("C", at(3)),                                  # open since June 3: overdue
        created("D", at(14, 9), district="东城街道"),           # open, due by June 29: overdue on June 30
        created("E", at(15), district="东城街道"),              # open, due by June 30: not overdue yet
        created("F", at(5)), withdrawn("F", at(6)),           # closed by withdrawal
        created("G", at(6)), withdrawn("G", at(7)), replied("G", at(8)),  # closed once, reply on time
        created("H", at(30, 8)),                              # open, just received
    ]
    rep = run(docs).report()
    assert (rep["tickets"], rep["closed"], rep["open"]) == (8, 4, 4)
    assert (rep["replied"], rep["replied_on_time"], rep["on_time_reply_rate"]) == (3, 2, round(2 / 3, 6))
    od = rep["monitors"]["overdue"]
    assert rep["overdue"] == od["overdue"] == 2
    assert od["open"] == 4
    assert od["by_district"]["南城街道"] == {"open": 2, "overdue": 1}
    assert od["by_district"]["东城街道"] == {"open": 2, "overdue": 1}
    assert od["by_item"]["城市管理"] == {"open": 4, "overdue": 2}
    assert rep["by_district"]["东城街道"]["open"] == 2


def test_a_deadline_per_item_is_exact_in_every_breakdown():
    # 交通管理 has 5 days: its ticket of June 20 is overdue on June 30; 城市管理's (15 days) is not.
    docs = [created("T", at(20), item="交通管理"), created("C", at(20), item="城市管理"),
            created("N", at(30), item="城市管理")]
    rep = run(docs, Deadlines(15, (("交通管理", 5),))).report()
    od = rep["monitors"]["overdue"]
    assert od["overdue"] == 1
    assert od["by_item"]["交通管理"]["overdue"] == 1 and od["by_item"]["城市管理"]["overdue"] == 0
    assert od["by_district"]["南城街道"] == {"open": 3, "overdue": 1}


def test_deadlines_are_validated():
    with pytest.raises(ValueError, match="1..30"):
        Deadlines(31)
    with pytest.raises(ValueError, match="item=days"):
        Deadlines.parse(15, "交通管理")
    assert Deadlines.parse(15, " 交通管理=7, 城市管理=10 ").days("城市管理") == 10


def test_bad_ratings_are_counted_once_and_sent_once_with_the_texts_of_the_creation_that_released_them():
    docs = [evaluated("A", at(5), 1), created("A", at(1)),   # parked, released by the creation
            created("B", at(1)), evaluated("B", at(5), 2), evaluated("B", at(6), 2),  # second: duplicate
            created("C", at(1)), evaluated("C", at(5), 4)]
    pipe = run(docs, batch_size=1)
    rep = pipe.report()
    assert rep["callbacks"] == 2 and rep["by_district"]["南城街道"]["callbacks"] == 2
    assert sorted(t for t, _ in pipe.callbacks) == ["A", "B"]
    rec = dict(pipe.callbacks)
    assert rec["A"]["content"] == "路口违章停车" and rec["B"]["content"] is None
    assert rec["A"]["district"] == "南城街道" and rec["A"]["item"] == "城市管理" and rec["A"]["satisfaction"] == 1


def test_callback_text_is_masked():
    pipe = run([created("A", at(1), content="我的电话13912345678，请回电"), replied("A", at(2)),
                {**evaluated("A", at(3), 1), "content": "再打13912345678"}])
    (tid, rec), = pipe.callbacks
    assert "13912345678" not in json.dumps(rec, ensure_ascii=False)
    assert rec["reply_type"] is not None


def hourly_docs(burst: int = 0) -> list[dict]:
    """Five weeks of 4 tickets an hour in 城市管理 (Mondays 9-12 a few more), then a Monday morning."""
    rnd = random.Random(5)
    docs, n = [], 0
    start = datetime(2024, 5, 6, 0, tzinfo=SH)  # a Monday
    for h in range(35 * 24 + 12):
        t = start + timedelta(hours=h)
        busy = t.weekday() == 0 and 9 <= t.hour < 12
        for _ in range(4 + (rnd.randint(2, 4) if busy else 0)):
            n += 1
            docs.append(created(f"B{n}", (t + timedelta(minutes=rnd.randint(0, 59))).isoformat()))
    last = start + timedelta(days=35, hours=11, minutes=30)
    for i in range(burst):
        docs.append(created(f"X{i}", (last - timedelta(minutes=i % 150)).isoformat(), item="水电气供应", district="长安镇"))
    return docs


def test_a_burst_of_one_item_rises_far_above_its_weeks_and_a_calm_replay_does_not():
    calm = run(hourly_docs(), batch_size=500).report()["monitors"]["rising"]
    assert calm["weeks"] == 4 and calm["hours"] == 3
    assert max(r["score"] for r in calm["by_item"].values()) < 2
    burst = run(hourly_docs(burst=40), batch_size=500).report()["monitors"]["rising"]
    row = burst["by_item"]["水电气供应"]
    assert row["observed"] == 40 and row["expected"] == 0 and row["score"] == pytest.approx(40.0)
    assert burst["by_district"]["长安镇"]["score"] == pytest.approx(40.0)
    assert burst["by_item"]["城市管理"]["score"] == calm["by_item"]["城市管理"]["score"]


def test_rising_score_is_against_the_weeks_mean_and_spread():
    assert rising_score(12, [10, 10, 10, 10]) == (10.0, pytest.approx(2 / 11 ** 0.5))
    expected, score = rising_score(12, [4, 16, 4, 16])
    assert expected == 10 and score == pytest.approx(2 / (36 + 11) ** 0.5)


def test_weeks_before_the_first_counted_hour_are_not_a_baseline():
    docs = [created(f"A{i}", at(20, 10)) for i in range(3)] + [created("B", at(30, 10))]
    rising = run(docs).report()["monitors"]["rising"]
    assert rising["weeks"] == 1  # June 23 is after the first hour (June 20); June 16, 9, 2 are before
    assert rising["by_item"]["城市管理"]["expected"] == 0
