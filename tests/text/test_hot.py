from datetime import datetime, timedelta

import pytest

from streams.text.hot import HotIssueTracker, parse_time, parse_window

T0 = datetime(2024, 3, 1, 9, 0, 0)


def _feed(tracker, msgs):
    return [tracker.add(i, t, title, content, likes) for i, (t, title, content, likes) in enumerate(msgs)]


def _topic_msgs():
    msgs = []
    for i in range(6):
        msgs.append((T0 + timedelta(hours=3 * i), f"常平镇金美花园楼下搅拌站噪音扰民{i}",
                     "常平镇金美花园旁边的搅拌站日夜施工，噪音和粉尘污染严重，请尽快处理。", i))
    for i in range(4):
        msgs.append((T0 + timedelta(hours=3 * i + 1), "南城街道阳光小区物业乱收停车费",
                     "南城街道阳光小区物业公司强制收取高额停车费，业主不满。", 10))
    msgs.append((T0 + timedelta(hours=5), "咨询公积金提取", "想咨询住房公积金提取需要什么材料。", 0))
    return msgs


def test_similar_messages_share_a_cluster():
    tracker = HotIssueTracker()
    ids = _feed(tracker, _topic_msgs())
    assert len(set(ids[:6])) == 1
    assert len(set(ids[6:10])) == 1
    assert len({ids[0], ids[6], ids[10]}) == 3


def test_top_ranks_by_heat_and_reports_fields():
    tracker = HotIssueTracker()
    _feed(tracker, _topic_msgs())
    top = tracker.top(T0 + timedelta(days=1), "7d", 5)
    assert [c["count"] for c in top] == [6, 4]  # singletons are not hot
    first = top[0]
    assert "搅拌站" in first["title"] and "搅拌站" in first["key_terms"]
    assert first["first_seen"] < first["last_seen"]
    assert first["likes"] == sum(range(6))
    assert set(first) >= {"cluster_id", "title", "key_terms", "count", "first_seen", "last_seen", "heat"}
    # the window excludes messages outside it
    assert tracker.top(T0 - timedelta(days=1), "1d") == []


def test_growth_raises_heat():
    tracker = HotIssueTracker()
    # Same size in the window, but cluster B had no history before it: B grows, A is steady.
    msgs = []
    for d in range(14):
        msgs.append((T0 + timedelta(days=d), "东城街道路灯长期不亮", "东城街道主干道路灯长期不亮，晚上出行危险。", 0))
    for h in range(7):
        msgs.append((T0 + timedelta(days=7, hours=h * 20), "万江街道垃圾站臭味熏天", "万江街道垃圾站臭味熏天，夏天尤其严重。", 0))
    _feed(tracker, msgs)
    top = tracker.top(T0 + timedelta(days=13, hours=23), "7d", 2)
    assert "垃圾站" in top[0]["title"]


def test_memory_bounded_by_horizon_and_max_clusters():
    tracker = HotIssueTracker(horizon=timedelta(days=2), max_clusters=50)
    for i in range(300):
        tracker.add(i, T0 + timedelta(hours=i), f"话题{i}号独特问题编号{i}", f"内容{i}独一无二的描述{i * 7}", 0)
    assert len(tracker) <= 50
    # everything older than the horizon is gone
    newest = T0 + timedelta(hours=299)
    assert all(c.last_seen >= newest - timedelta(days=2) for c in tracker._clusters.values())


def test_deterministic():
    a, b = HotIssueTracker(), HotIssueTracker()
    assert _feed(a, _topic_msgs()) == _feed(b, _topic_msgs())


def test_parse_helpers():
    assert parse_window("7d") == timedelta(days=7)
    assert parse_window("24h") == timedelta(hours=24)
    assert parse_window("2w") == timedelta(weeks=2)
    with pytest.raises(ValueError):
        parse_window("week")
    assert parse_time("2019-04-25 09:32:09") == datetime(2019, 4, 25, 9, 32, 9)
    assert parse_time("2019-04-25") == datetime(2019, 4, 25)
    assert parse_time("2019-04-25T09:32:09+08:00") == datetime(2019, 4, 25, 9, 32, 9)


@pytest.mark.shared
def test_real_hot_issue_found(tipdm):
    from streams.text.datasets import read_jsonl

    rows = sorted(read_jsonl(tipdm("messages_with_votes.jsonl")), key=lambda r: r["created_at"])
    tracker = HotIssueTracker(horizon=timedelta(days=400))
    for r in rows:
        tracker.add(r["id"], r["created_at"], r["title"], r["content"], r.get("likes", 0))
    top = tracker.top(rows[-1]["created_at"], "365d", 10)
    # the two issues the competition's reference answer puts first, each once, with their posts
    bundling = [c for c in top if "捆绑" in c["key_terms"] and "车位" in c["key_terms"]]
    mixing_plant = [c for c in top if "丽发新城" in c["title"] or "搅拌" in " ".join(c["key_terms"])]
    assert len(bundling) == 1 and bundling[0]["count"] >= 30
    assert len(mixing_plant) == 1 and mixing_plant[0]["count"] >= 30
    assert {top[0]["cluster_id"], top[1]["cluster_id"]} == {bundling[0]["cluster_id"], mixing_plant[0]["cluster_id"]}


NIGHT_STALLS = "每天晚上十点以后楼下的夜宵摊在人行道上摆桌子，烧烤油烟熏得住户不能开窗，吵闹声持续到凌晨两点，多次投诉没有效果。"


def test_a_message_posted_twice_with_a_word_changed_is_one_complaint_with_two_posts():
    tracker = HotIssueTracker()
    a = tracker.add(1, T0, "金沙湾小区楼下夜宵摊扰民", NIGHT_STALLS)
    b = tracker.add(2, T0 + timedelta(hours=5), "金沙湾小区夜宵摊油烟太大", NIGHT_STALLS.replace("两点", "三点"))
    tracker.add(3, T0 + timedelta(hours=6), "咨询公积金提取", "想咨询住房公积金提取需要什么材料。")
    assert a == b
    top = tracker.top(T0 + timedelta(days=1), "7d")
    assert [(c["count"], c["complaints"]) for c in top] == [(2, 1)]


def test_one_estate_one_problem_in_different_words_is_one_issue_other_problems_and_estates_are_not():
    tracker = HotIssueTracker()
    msgs = [
        ("翠湖花园小区楼下烧烤夜宵摊油烟扰民", "小区一楼的烧烤店和夜宵摊每晚经营到深夜，油烟直接排放，住户苦不堪言。"),
        ("翠湖花园临街门面油烟直排扰民", "临街的餐饮门面没有专用烟道，油烟往楼上飘，晚上还有喝酒吵闹。"),
        ("翠湖花园底层商铺夜宵摊噪音扰民", "底层商铺改成夜宵摊位，每天凌晨还在营业，噪音很大影响休息。"),
        ("翠湖花园楼板开裂漏水", "交房一年楼板和墙面多处开裂，下雨天漏水严重，开发商不予维修。"),
        ("锦绣家园小区楼下烧烤夜宵摊油烟扰民", "锦绣家园楼下烧烤店每晚营业到深夜，油烟噪音扰民，请城管处理。"),
    ]
    ids = [tracker.add(i, T0 + timedelta(days=i), t, c) for i, (t, c) in enumerate(msgs)]
    final = {tracker.add(10 + i, T0 + timedelta(days=6, hours=i), t, c) for i, (t, c) in enumerate(msgs[:3])}
    assert len(final) == 1  # the three wordings of the stalls/fumes/noise issue end in one cluster
    stalls = final.pop()
    assert ids[3] != stalls and ids[4] != stalls  # cracked floors; the other estate's stalls
    assert ids[3] != ids[4]


def test_top_keeps_the_fields_the_live_hotspots_publish():
    tracker = HotIssueTracker()
    _feed(tracker, _topic_msgs())
    for c in tracker.top(T0 + timedelta(days=1), timedelta(days=7), 10):
        assert {"title", "key_terms", "count", "first_seen", "last_seen", "heat", "likes", "complaints"} <= set(c)


@pytest.mark.shared
def test_year_view_purity_and_recall_against_the_hand_labelled_2019_issues(tipdm):
    """Measured (docs/text.md): top-20 mean purity 0.899, issue recall 0.68 (19 of the 28 pooled
    real issues), 1 duplicate.  Held with a margin: purity >= 0.85 (one cluster of the 20 falling
    to purity 0), recall >= 0.60 (two issues fewer), <= 1 duplicate."""
    from streams.text.evaluate_hot import load_labels, score, year_view

    view = year_view("messages_with_votes.jsonl", 20)
    result = score(view, load_labels("messages_with_votes.jsonl"))
    assert result["mean_purity"] >= 0.85
    assert result["issue_recall"] >= 0.60
    assert result["duplicates"] <= 1
    issues = [r["issue"] for r in result["rows"]]
    # the two defects of issue 13: one estate's night stalls twice, the college not in the top 15
    assert issues.count("魅力之城临街商铺夜宵摊油烟噪音") == 1
    assert "涉外经济学院强制学生实习外出打工" in issues[:15]


@pytest.mark.shared
def test_year_view_purity_on_the_held_out_file(tipdm):
    """The held-out file (messages_with_replies, every message of the year window labelled before
    the tracker ran on it; design chosen on the 2019 file): top-10 purity 0.817 measured (0.650
    before the locality rule), no duplicate.  Held with a margin: purity >= 0.75 (one top-10 cluster
    falling from 1.0 to 0.33), no duplicate, and no cluster at the top made of one common noun
    (自来水 of 自来水公司 gathered seven villages' water complaints in seven cities at #1)."""
    from streams.text.evaluate_hot import load_labels, score, year_view

    view = year_view("messages_with_replies.jsonl", 10)
    result = score(view, load_labels("messages_with_replies.jsonl"))
    assert result["mean_purity"] >= 0.75
    assert result["duplicates"] == 0
    water = {45572, 40967, 112500, 135138, 110441, 81840, 115830}  # seven villages' or estates' water supply
    assert all(len(water.intersection(ids)) <= 1 for _, ids in view)


def test_clusters_do_not_depend_on_the_process_hash_seed():
    # str hashes are salted per process: sets of names/problem features must not decide anything
    import subprocess
    import sys
    from pathlib import Path

    import streams

    code = ("from tests.text.test_hot import _feed, _topic_msgs, NIGHT_STALLS, T0\n"
            "from datetime import timedelta\nfrom streams.text.hot import HotIssueTracker\n"
            "t = HotIssueTracker()\nmsgs = _topic_msgs() + [(T0 + timedelta(hours=i), f'翠湖花园夜宵摊{w}扰民', NIGHT_STALLS[i:], 0)"
            " for i, w in enumerate(['油烟', '噪音', '烧烤'])]\n"
            "print(_feed(t, msgs), [(c['cluster_id'], c['count'], c['heat']) for c in t.top(T0 + timedelta(days=1), '7d')])")
    root = str(Path(streams.__file__).parents[1])
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root,
                           env={"PYTHONHASHSEED": seed, "PYTHONPATH": root}).stdout for seed in ("1", "2", "3")}
    assert len(outs) == 1


def _water_msgs():
    """Held-out defect of issue 13: 自来水(公司) learned as a place name from one city's title
    anchored other cities' village water complaints into one topic cluster (#1, purity 0)."""
    return [
        ("投诉J1区自来水公司频繁停水", "J1区自来水公司这个月已经停水五次，没有任何通知，居民做饭洗澡都成问题。"),
        ("请求解决C4市直冲村生活用水问题", "自来水一直没有通到我们直冲村，村民只能到一百多米外的厂子里挑水，请政府帮忙打井。"),
        ("请求解决K2区水汲江村张家组的生活用水问题", "自来水公司说管网到不了张家组，夏季井水干涸，只能去河里挑水，希望早日通水。"),
        ("K7县上江圩镇甘益行政村村民请求解决用水问题", "自来水没有接到甘益村，村民挖山引用小溪的水，天旱就断水。"),
    ]


def test_a_name_written_in_several_cities_anchors_nothing():
    tracker = HotIssueTracker()
    ids = [tracker.add(i, T0 + timedelta(days=i), t, c) for i, (t, c) in enumerate(_water_msgs())]
    assert len(set(ids[1:])) == 3  # three villages in three cities: three issues, not one 自来水 topic


def test_a_name_of_one_city_still_anchors_its_issue():
    tracker = HotIssueTracker()
    msgs = [("投诉K9县同兴物流公司夜间装卸货扰民", "同兴物流晚上九点半开始装卸货，要到十二点多才结束，严重影响周边居民休息。"),
            ("K9县同兴物流公司扰民还管不管", "向你们反映两个多月了，同兴物流今晚又吵到凌晨一点，装卸货的噪音让人无法入睡。")]
    ids = [tracker.add(i, T0 + timedelta(days=i), t, c) for i, (t, c) in enumerate(msgs)]
    assert ids[0] == ids[1]
    assert tracker._find_names("K9县同兴物流公司又扰民", "", T0) >= {"同兴物流公司", "同兴物流"}


def test_problem_bigrams_do_not_run_across_filler_words():
    tracker = HotIssueTracker()
    problem = tracker._problem("请求解决C4市直冲村生活用水问题", set(), {})
    assert {"生活", "用水"} <= problem
    assert not problem & {"求解", "决直", "水问"}
