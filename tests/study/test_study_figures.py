"""The study's figures on a hand-made event list (tests/study/events.py says how each answer is counted)."""
from __future__ import annotations

from datetime import datetime

import pytest

from streams.generate import calibration
from streams.study import figures as F
from streams.core.testing import MemoryPipeline
from tests.study.events import EVENTS, Processor, ev, processor
from streams.study.figures import Text

H = 3600


def whole():
    return F.study_records(EVENTS, processor())


def june():
    return F.study_records(EVENTS, processor(), F.month_period("2024-06"))


def test_headline_is_the_memory_pipelines_report():
    """Without a month, the page's JSON is what `hotline report` (the same Processor and summarize) gives."""
    expected = MemoryPipeline(processor()).feed(EVENTS).report()
    got = whole().report
    expected["source"] = got["source"]
    assert got == expected
    assert got["tickets"] == 6 and got["replied"] == 4 and got["evaluated"] == 3 and got["withdrawn"] == 1


def test_whole_file_counts():
    fig = whole()
    rep = fig.report
    assert dict(fig.times.by_month) == {"2024-05": 1, "2024-06": 4, "2024-07": 1}
    hours = {h: n for h, n in enumerate(fig.times.by_hour) if n}
    assert hours == {8: 1, 9: 1, 10: 1, 19: 1, 20: 1, 23: 1}
    assert fig.times.off_hours == rep["off_hours"] == 4  # T1 08:30, T3 23:00, T4 20:00, T6 19:00
    assert rep["repeat"] == 1 and rep["withdrawn"] == 1
    assert rep["satisfaction_mean"] == pytest.approx(3.0)  # (5 + 1 + 3) / 3
    assert rep["response_seconds_mean"] == pytest.approx((4 + 24 + 4 + 24) * H / 4)


def test_a_month_counts_each_fact_when_it_happened():
    fig = june()
    rep = fig.report
    assert rep["window"] == "2024-06"
    assert rep["tickets"] == 4  # T1, T2, T3, T6 received in June; T4 in May, T5 in July
    assert dict(fig.times.by_month) == {"2024-06": 4}
    assert set(fig.times.by_day) == {"2024-06-01", "2024-06-15", "2024-06-30"}
    assert rep["off_hours"] == 3  # T1, T3, T6
    assert rep["replied"] == 3  # T1, T2 and May's T4 replied in June; T3's reply is July's
    assert rep["response_seconds_mean"] == pytest.approx((4 + 24 + 24) * H / 3)
    assert rep["evaluated"] == 3 and rep["evaluation_rate"] == pytest.approx(0.75)
    assert rep["withdrawn"] == 0  # T5 withdrew in July
    assert rep["reply_types"] == {"onsite": 2, "explanation": 1, "both": 0, "neither": 0}
    july = F.study_records(EVENTS, processor(), F.month_period("2024-07")).report
    assert (july["tickets"], july["replied"], july["withdrawn"]) == (1, 1, 1)


def test_months_partition_the_year():
    months = [F.study_records(EVENTS, processor(), F.month_period(f"2024-{m:02d}")).report for m in (5, 6, 7)]
    total = whole().report
    for k in ("tickets", "replied", "evaluated", "withdrawn", "off_hours", "repeat"):
        assert sum(m[k] for m in months) == total[k], k


@pytest.mark.parametrize("text,since,until", [
    ("2024-06", "2024-06-01T00:00:00+08:00", "2024-07-01T00:00:00+08:00"),
    ("2024-12", "2024-12-01T00:00:00+08:00", "2025-01-01T00:00:00+08:00"),
    (" 2025-1 ", "2025-01-01T00:00:00+08:00", "2025-02-01T00:00:00+08:00"),
])
def test_month_period_is_the_shanghai_calendar_month(text, since, until):
    p = F.month_period(text)
    assert p.since == int(datetime.fromisoformat(since).timestamp())
    assert p.until == int(datetime.fromisoformat(until).timestamp())
    assert p.since in p and p.until not in p and p.since - 1 not in p


@pytest.mark.parametrize("bad", ["2024-13", "2024-00", "June", "2024/06", "", "2024-06-01"])
def test_a_bad_month_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="YYYY-MM"):
        F.month_period(bad)


def test_the_study_needs_the_records():
    with pytest.raises(ValueError, match="emit_records"):
        F.StudyPass(Processor("k", processor().predictor, emit_records=False))


def test_ranks_share_ties_and_skip_unknowns():
    assert F.ranks({"a": 3, "b": 3, "c": 1, "d": None}, descending=True) == {"a": 1, "b": 1, "c": 3, "d": None}
    assert F.ranks({"a": 3.0, "b": 1.5}, descending=False) == {"a": 2, "b": 1}


def test_league_table():
    rows = {r["district"]: r for r in F.league_table(whole().report, min_evaluations=1)}
    south, east = rows["南城街道"], rows["东城街道"]
    assert (south["tickets"], east["tickets"]) == (4, 2)
    assert (south["rank_volume"], east["rank_volume"]) == (1, 2)
    assert south["response_hours_mean"] == pytest.approx((4 + 4 + 24) / 3)  # T1, T3, T4
    assert east["response_hours_mean"] == pytest.approx(24)  # T2
    assert (south["rank_response"], east["rank_response"]) == (1, 2)
    assert south["satisfaction_mean"] == pytest.approx(4.0) and east["satisfaction_mean"] == pytest.approx(1.0)
    assert (south["rank_satisfaction"], east["rank_satisfaction"]) == (1, 2)
    # with the default minimum (30 scores) neither is ranked on satisfaction, and both are marked
    default = F.league_table(whole().report)
    assert all(r["rank_satisfaction"] is None and r["few"] for r in default)


def test_evaluation_rows_mark_items_with_few_scores():
    rows = {r["name"]: r for r in F.evaluation_rows(whole().report["by_item"], min_evaluations=2)}
    assert rows["交通管理"]["evaluated"] == 2 and not rows["交通管理"]["few"]  # T1, T2
    assert rows["城市管理"]["evaluated"] == 1 and rows["城市管理"]["few"]  # T6
    assert rows["住房保障"]["evaluated"] == 0 and not rows["住房保障"]["few"]  # no mean to mark


def test_item_volumes_and_reply_types():
    rep = whole().report
    vol = F.item_volume_rows(rep)
    assert [(r["item"], r["tickets"]) for r in vol] == [("城市管理", 3), ("交通管理", 2), ("住房保障", 1)]
    assert vol[-1]["cumulative_share"] == pytest.approx(1.0) and all(r["top11"] for r in vol)
    replies = {r["item"]: r["reply_types"] for r in F.reply_type_rows(rep)}
    assert replies["城市管理"]["onsite"] == 2 and replies["交通管理"] == {"onsite": 1, "explanation": 1, "both": 0,
                                                                       "neither": 0}
    assert "住房保障" not in replies  # withdrawn, never replied


def test_withdrawal_rows():
    rows = {r["key"]: r for r in F.withdrawal_repeat_rows(whole().report)}
    assert rows["withdrawn"]["count"] == 1 and rows["withdrawn"]["rate"] == pytest.approx(1 / 6, abs=1e-6)
    assert rows["repeat"]["count"] == 1


def test_comparison_reads_the_published_figures_from_the_calibration():
    rep = whole().report
    rows = {r["key"]: r for r in F.comparison_rows(rep)}
    assert rows["off_hours_share"]["published"] == calibration.OFF_HOURS_SHARE
    assert rows["off_hours_share"]["computed"] == rep["off_hours_share"]
    assert rows["top11_items_share"]["published"] == calibration.TOP11_SHARE
    assert rows["satisfaction_mean"]["published"] == calibration.SATISFACTION_MEAN
    assert rows["withdrawn_plus_repeat_rate"]["computed"] == pytest.approx(2 / 6)
    assert rows["evaluated_items"]["computed"] == 2  # 交通管理 and 城市管理
    assert rows["items_at_or_above_2_9"]["computed"] == 2  # 交通管理 (5 + 1) / 2 = 3.0, 城市管理 3.0
    assert rows["tickets"]["published"] == calibration.STUDY_TICKETS


def test_hot_issues_rank_a_burst_and_draw_its_trend():
    base = int(datetime.fromisoformat("2024-06-30T00:00:00+08:00").timestamp())
    day = 86400
    texts = [Text(base - 10 * day, "P1", "小区夜间施工噪音扰民", "工地夜间施工噪音很大影响休息")]
    texts += [Text(base - (6 - i) * day + 3600, f"N{i}", "小区夜间施工噪音扰民", "工地夜间施工噪音很大影响休息")
              for i in range(5)]
    texts += [Text(base - 3 * day, "X", "公交车站台损坏", "站台雨棚破损")]
    rows = F.hot_issues(texts, base, 7 * day)
    assert len(rows) == 1  # a single complaint is not an issue (min_count 2)
    top = rows[0]
    assert top["count"] == 5 and top["count_previous_window"] == 1
    assert sum(top["daily"]) == 5 and len(top["daily"]) == 7
    assert top["daily"] == [0, 1, 1, 1, 1, 1, 0]
    assert "message_ids" not in top  # ticket ids stay off the published page


def test_a_months_hot_issues_are_the_months():
    """July has 31 days: a 30-day window would drop 1 July; the month's own span keeps it."""
    burst = [ev(f"J{i}", "created", f"2024-07-{d:02d}T10:00:00", category="环境保护", title="工地夜间施工噪音扰民",
                content="工地夜间施工噪音很大影响休息") for i, d in enumerate((1, 1, 1, 31))]
    burst += [ev("Jun", "created", "2024-06-30T10:00:00", category="环境保护", title="工地夜间施工噪音扰民",
                 content="工地夜间施工噪音很大影响休息")]
    fig = F.study_records(EVENTS + burst, processor(), F.month_period("2024-07"))
    assert fig.hot_window == "2024-07"
    top = fig.hot[0]
    assert top["count"] == 4 and top["count_previous_window"] == 1
    assert len(top["daily"]) == 31 and top["daily"][0] == 3 and top["daily"][-1] == 1
