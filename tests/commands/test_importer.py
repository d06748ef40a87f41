"""`hotline import`: headers, encodings, dialects, ratings, bad rows with their row numbers, --map,
and the contract (every written event passes streams.core.cleaning.clean and the JSON Schema)."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from schemas.taxonomy import load_taxonomy
from streams.core.cleaning import CleanEvent, clean
from streams.commands.cli import main
from streams.importing import values as v
from streams.importing.columns import parse_map, recognise
from streams.importing.readers import open_table, sniff_delimiter
from streams.importing.rows import Options
from streams.importing.run import import_events
from streams.importing.tally import Tally
from streams.core.pipeline import Processor
from streams.core.testing import FixedPredictor, MemoryPipeline

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "ticket_event.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA)

HEADER = ["工单编号", "受理时间", "来源渠道", "所属镇街", "诉求类型", "诉求内容", "办理结果", "办结时间", "满意度",
          "回访时间", "撤件", "来电号码"]
ROWS = [
    ["DG001", "2024-06-01 08:30:00", "热线", "南城", "城市管理", "路灯不亮，晚上很黑, 请尽快修", "已派人现场维修",
     "2024/6/2 10:00", "满意", "2024-06-03 09:00", "否", "13800138000"],
    ["DG002", "2024-06-01 09:00", "微信公众号", "东城街道", "交通管理", "路口违章停车\n多次反映无人处理", "", "", "", "", "是", ""],
    ["DG003", "2024年6月2日 14时05分", "APP", "虎门", "环境保护", "工厂夜间排放废气", "经核实，已责令整改",
     "2024-06-04 16:00:00", "非常不满意", "2024-06-05 10:00:00", "", "0769-22223333"],
]


def write_csv(path: Path, header=HEADER, rows=ROWS, delimiter=",", encoding="utf-8", above=()) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    for line in above:
        w.writerow(line)
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def run(path: Path, overrides=None, **opt) -> tuple[list[dict], Tally]:
    table = open_table(str(path), opt.pop("sheet", None), opt.pop("encoding", None))
    tally = Tally(source=str(path))
    records = list(import_events(table, parse_map(overrides or []), Options(load_taxonomy(), **opt), tally))
    for rec in records:
        assert isinstance(clean(rec, "k"), CleanEvent), (rec, clean(rec, "k"))
        assert not list(VALIDATOR.iter_errors(json.loads(rec)))
    return [json.loads(r) for r in records], tally


def by_event(events: list[dict], kind: str) -> dict[str, dict]:
    return {e["ticket_id"]: e for e in events if e["event"] == kind}


# --- headers ------------------------------------------------------------------------------------

ISSUE_HEADERS = {  # the list of issue 12, field by field
    "ticket_id": ["工单编号", "留言编号", "编号"], "received_at": ["受理时间", "来电时间", "留言时间", "创建时间"],
    "content": ["诉求内容", "来电内容", "留言详情", "问题描述"], "title": ["标题", "留言主题"],
    "reply": ["答复意见", "办理结果", "回复内容", "处理结果"], "replied_at": ["答复时间", "办结时间", "回复时间"],
    "channel": ["来源渠道", "渠道", "来源"], "district": ["所属镇街", "镇街", "区域", "所属区县"],
    "category": ["诉求类型", "一级分类", "事项分类", "一级标签"], "subcategory": ["二级分类"],
    "satisfaction": ["满意度", "评价结果", "回访满意度"], "evaluated_at": ["评价时间", "回访时间"],
    "withdrawn": ["撤件", "是否撤销"], "caller": ["来电号码", "联系电话", "留言用户"],
}


@pytest.mark.parametrize("field,header", [(f, h) for f, hs in ISSUE_HEADERS.items() for h in hs])
def test_every_header_of_the_issue_is_recognised(field, header):
    base = {"ticket_id": "工单编号", "received_at": "受理时间", "content": "诉求内容"}
    headers = [h for f, h in base.items() if f != field] + [header]
    assert recognise(headers).columns[field] == len(headers) - 1


def test_headers_are_folded_and_the_more_specific_alias_wins():
    cmap = recognise([" *工单编号（必填）", "受理时间:", "来源", "来源渠道", "诉求内容", "备注"])
    assert cmap.columns == {"ticket_id": 0, "received_at": 1, "channel": 3, "content": 4}
    assert cmap.unused == ("来源", "备注")


def test_a_missing_required_column_names_the_headers_seen(tmp_path):
    with pytest.raises(ValueError) as exc:
        recognise(["序号", "受理时间", "诉求内容"])
    assert "ticket_id" in str(exc.value) and "序号, 受理时间, 诉求内容" in str(exc.value)
    path = write_csv(tmp_path / "x.csv", header=["序号", "受理时间", "诉求内容"], rows=[["1", "2024-06-01 08:00", "x"]])
    assert main(["import", str(path), "-o", str(tmp_path / "o.jsonl")]) == 2


def test_map_overrides_and_rejects_what_the_file_lacks(tmp_path):
    header = ["序号", "登记时间", "诉求描述", "来源"]
    path = write_csv(tmp_path / "m.csv", header=header, rows=[["7", "2024-06-01 08:00", "噪音", "短信"]])
    events, _ = run(path, ["序号=ticket_id", "登记时间=received_at", "诉求描述=content", "来源=district"])
    assert events == [{"ticket_id": "7", "event": "created", "event_time": "2024-06-01T08:00:00+08:00",
                       "received_at": "2024-06-01T08:00:00+08:00", "channel": "其他", "district": "短信",
                       "content": "噪音"}]
    with pytest.raises(ValueError, match="序号, 登记时间, 诉求描述, 来源"):
        recognise(header, parse_map(["工单号=ticket_id"]))
    with pytest.raises(ValueError, match="unknown field"):
        parse_map(["序号=ticketid"])


# --- encodings and dialects ---------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_encodings_are_detected(tmp_path, encoding):
    events, tally = run(write_csv(tmp_path / "e.csv", encoding=encoding))
    assert by_event(events, "created")["DG002"]["content"] == "路口违章停车\n多次反映无人处理"
    assert by_event(events, "created")["DG001"]["channel"] == "热线"
    assert tally.rows_read == 3 and tally.rows_imported == 3


def test_the_encoding_waits_for_the_first_non_ascii_line(tmp_path, capsys):
    # 10,000 ASCII rows (> the 256 KB sample) before the first Chinese one, written in GB18030.
    rows = [[f"N{i}", "2024-06-01 08:00", "phone", "street light broken " * 2] for i in range(10_000)]
    rows.append(["C1", "2024-06-01 09:00", "电话", "楼上噪音扰民"])
    path = write_csv(tmp_path / "a.csv", header=["ticket_id", "received_at", "channel", "content"], rows=rows,
                     encoding="gb18030")
    assert path.read_bytes()[: 256 * 1024].isascii()
    events, tally = run(path)
    assert events[-1]["content"] == "楼上噪音扰民" and tally.rows_imported == 10_001
    assert main(["import", str(path), "-o", str(tmp_path / "o.jsonl")]) == 0
    assert "(csv, GB18030, comma-separated)" in capsys.readouterr().err


def test_an_undecodable_line_costs_its_row_only(tmp_path):
    data = write_csv(tmp_path / "b.csv", encoding="gb18030").read_bytes()
    data += "C2,2024-06-01 10:00,电话,,,".encode("gb18030") + b"\x81\x20\xff" + "垃圾\r\n".encode("gb18030")
    data += "C3,2024-06-01 11:00,电话,,,垃圾未清运\r\n".encode("gb18030")
    (tmp_path / "b.csv").write_bytes(data)
    events, tally = run(tmp_path / "b.csv")
    created = by_event(events, "created")
    assert created["DG001"]["content"].startswith("路灯不亮") and created["C3"]["content"] == "垃圾未清运"
    assert "C2" not in created
    assert tally.problems["rejected"]["undecodable"].rows == [5]  # header is row 1


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_the_delimiter_is_sniffed(tmp_path, delimiter):
    events, _ = run(write_csv(tmp_path / "d.csv", delimiter=delimiter, above=[["东莞市12345工单导出（2024年6月）"]]))
    # The texts hold commas and a line break: quoted, they stay in their cell.
    assert by_event(events, "created")["DG001"]["content"] == "路灯不亮，晚上很黑, 请尽快修"
    assert set(by_event(events, "created")) == {"DG001", "DG002", "DG003"}


def test_sniffer_prefers_consistent_splits():
    sample = 'a\tb\tc\n"x, y"\t2\t3\n"p, q; r"\t5\t6\n'
    assert sniff_delimiter(sample) == "\t"
    assert sniff_delimiter("a;b\n1;2\n3;4\n") == ";"


# --- values -------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell,score", [("非常满意", 5), ("满意", 4), ("基本满意", 3), ("不满意", 2), ("非常不满意", 1),
                                        (5, 5), ("4分", 4), ("3.0", 3), (2.0, 2), ("未评价", None), ("", None)])
def test_rating_scale(cell, score):
    assert v.rating(cell, v.DEFAULT_RATINGS) == score


def test_unknown_ratings_are_reported_and_overridable(tmp_path):
    rows = [r[:] for r in ROWS]
    rows[0][8] = "一般"
    path = write_csv(tmp_path / "r.csv", rows=rows)
    events, tally = run(path)
    assert "DG001" not in by_event(events, "evaluated") and "DG001" in by_event(events, "replied")
    assert tally.problems["dropped"]["unknown_rating"].rows == [2]
    events, tally = run(path, ratings=v.parse_ratings(["一般=3"]))
    assert by_event(events, "evaluated")["DG001"]["satisfaction"] == 3
    with pytest.raises(ValueError):
        v.parse_ratings(["一般=6"])


@pytest.mark.parametrize("cell,iso", [
    ("2024-06-01 08:30:00", "2024-06-01T08:30:00+08:00"), ("2024/6/1 8:30", "2024-06-01T08:30:00+08:00"),
    ("2024年6月1日 8时30分", "2024-06-01T08:30:00+08:00"), ("2024-06-01T00:30:00Z", "2024-06-01T00:30:00+00:00"),
    (datetime(2024, 6, 1, 8, 30), "2024-06-01T08:30:00+08:00"), (date(2024, 6, 1), "2024-06-01T00:00:00+08:00"),
    (45444.5, "2024-06-01T12:00:00+08:00"), ("2018-04-24", "2018-04-24T00:00:00+08:00")])
def test_times_without_offset_are_shanghai(cell, iso):
    assert v.moment(cell, "t").iso == iso


def test_ooxml_carriage_returns_are_undone():
    assert v.text("第一行_x000D_\n第二行\r\n") == "第一行\n第二行"
    assert v.text(20240601001.0) == "20240601001"


# --- rows ---------------------------------------------------------------------------------------

def test_lifecycle_events_at_their_own_times(tmp_path):
    events, tally = run(write_csv(tmp_path / "l.csv"))
    assert by_event(events, "replied")["DG001"]["event_time"] == "2024-06-02T10:00:00+08:00"
    assert by_event(events, "evaluated")["DG003"] == {
        "ticket_id": "DG003", "event": "evaluated", "event_time": "2024-06-05T10:00:00+08:00", "satisfaction": 1,
        "evaluated_at": "2024-06-05T10:00:00+08:00"}
    assert set(by_event(events, "withdrawn")) == {"DG002"}
    assert by_event(events, "created")["DG001"]["caller"] == "13800138000"  # raw: cleaning hashes it
    times = [clean(json.dumps(e).encode(), "k").event_time for e in events]
    assert times == sorted(times)  # an export sorted by receipt comes out in event-time order
    assert dict(tally.events) == {"created": 3, "replied": 2, "evaluated": 2, "withdrawn": 1}


def test_snapshot_mode(tmp_path):
    events, _ = run(write_csv(tmp_path / "s.csv"), snapshot=True)
    assert [e["event"] for e in events] == ["snapshot"] * 3
    s = events[0]
    assert (s["event_time"], s["reply"], s["satisfaction"]) == ("2024-06-03T09:00:00+08:00", "已派人现场维修", 4)
    assert events[1]["withdrawn"] is True


def test_bad_rows_are_reported_with_their_row_numbers(tmp_path):
    rows = ROWS + [
        ["", "2024-06-01 08:00", "电话", "", "", "无编号", "", "", "", "", "", ""],
        ["DG 5", "2024-06-01 08:00", "电话", "", "", "编号含空格", "", "", "", "", "", ""],
        ["DG006", "昨天", "电话", "", "", "时间不可读", "", "", "", "", "", ""],
        ["DG007", "2024-06-01 08:00", "电话", "", "", "", "", "", "", "", "", ""],
        [""] * 12,
        ["DG008", "2024-06-03 08:00", "电话", "", "", "答复早于受理", "已答复", "2024-06-02 08:00", "", "", "", ""],
        ["DG009", "2024-06-03 08:00", "电话", "", "", "有答复无时间", "已答复", "", "满意", "", "也许", ""],
        ["DG010", "2024-06-03 08:00", "电话", "", "", "多出一列", "", "", "", "", "", "", "溢出"],
    ]
    events, tally = run(write_csv(tmp_path / "b.csv", rows=rows, above=[["导出时间 2024-06-30"]]))
    rejected = {r: rc.rows for r, rc in tally.problems["rejected"].items()}
    assert rejected == {"missing_ticket_id": [6], "invalid_ticket_id": [7], "invalid_received_at": [8],
                        "missing_content": [9], "misaligned_row": [13]}
    dropped = {r: rc.rows for r, rc in tally.problems["dropped"].items()}
    assert dropped == {"reply_without_time": [12], "rating_without_time": [12], "unknown_withdrawn": [12]}
    assert tally.problems["written"]["reply_before_received"].rows == [11]
    assert tally.blank_rows == 1 and tally.rows_read == 10 and tally.rows_imported == 5
    assert "DG009" in by_event(events, "created")
    # The counting step dead-letters the early reply with its reason.
    mem = MemoryPipeline(Processor("k", FixedPredictor("城市管理"), repeat_rules=None))
    rep = mem.feed(json.dumps(e, ensure_ascii=False).encode() for e in events).report()
    assert rep["tickets"] == 5 and rep["rejected_by_reason"] == {"impossible_time": 1}


def test_unknown_taxonomy_values_pass_raw_and_are_listed(tmp_path):
    rows = [["X1", "2024-06-01 08:00", "微博", "火星镇", "外星事项", "内容"]]
    path = write_csv(tmp_path / "t.csv", header=["工单编号", "受理时间", "渠道", "镇街", "一级分类", "诉求内容"], rows=rows)
    events, tally = run(path)
    assert (events[0]["channel"], events[0]["district"], events[0]["category"]) == ("微博", "火星镇", "外星事项")
    assert {k: dict(c) for k, c in tally.notes.items()} == {
        "channel_as_other": {"微博": 1}, "district_as_other": {"火星镇": 1}, "item_predicted": {"外星事项": 1}}


def test_xlsx_with_typed_cells(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "工单"
    ws.append(["工单编号", "受理时间", "诉求内容", "答复时间", "答复意见", "满意度", "评价时间"])
    ws.append([20240601001, datetime(2024, 6, 1, 8, 30), "噪音_x000D_\n扰民", date(2024, 6, 2), "已处理", 5,
               datetime(2024, 6, 3, 9, 0)])
    ws.append([None] * 7)
    ws.append([20240601002, "2024-06-01 09:00", None, None, None, None, None])
    wb.create_sheet("说明")
    wb.save(tmp_path / "w.xlsx")
    events, tally = run(tmp_path / "w.xlsx")
    assert by_event(events, "created")["20240601001"]["content"] == "噪音\n扰民"
    assert by_event(events, "replied")["20240601001"]["replied_at"] == "2024-06-02T00:00:00+08:00"
    assert by_event(events, "evaluated")["20240601001"]["satisfaction"] == 5
    assert tally.problems["rejected"]["missing_content"].rows == [4] and tally.blank_rows == 1
    with pytest.raises(ValueError, match="工单, 说明"):
        open_table(str(tmp_path / "w.xlsx"), "Sheet9")


def test_jsonl_input_and_bad_lines(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text('{"id": 1, "user": "A1", "title": "标题", "content": "内容", "created_at": "2019-01-01 08:00:00"}\n'
                    "not json\n\n"
                    '{"id": 2, "user": "A2", "title": "只有标题", "content": "  ", "created_at": "2019-01-02 08:00:00"}\n',
                    encoding="utf-8")
    events, tally = run(path)
    assert [e["ticket_id"] for e in events] == ["1", "2"] and events[1]["content"] == "只有标题"
    assert tally.problems["rejected"]["invalid_json"].rows == [2]


def test_cli_summary_rejects_file_and_exit_codes(tmp_path, capsys):
    rows = ROWS + [["", "2024-06-01 08:00", "电话", "", "", "无编号", "", "", "", "", "", ""]]
    path = write_csv(tmp_path / "c.csv", rows=rows, encoding="gb18030")
    out, rejects = tmp_path / "ev.jsonl", tmp_path / "rejects.jsonl"
    assert main(["import", str(path), "-o", str(out), "--rejects", str(rejects)]) == 0
    err = capsys.readouterr().err
    assert "rows read 4 · imported 3 · rejected 1" in err and "events written 8" in err
    assert "missing_ticket_id 1 (rows 5)" in err
    assert len(out.read_text(encoding="utf-8").splitlines()) == 8
    assert json.loads(rejects.read_text(encoding="utf-8").splitlines()[0])["row"] == 5
    assert main(["import", str(tmp_path / "absent.csv")]) == 2
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    assert main(["import", str(tmp_path / "old.xls")]) == 2
    assert ".xlsx" in capsys.readouterr().err


def test_to_kafka_hands_replay_an_iterable_of_byte_records(tmp_path, monkeypatch, capsys):
    import streams.adapters.kafka as kafka

    sent: list[bytes] = []
    monkeypatch.setattr(kafka, "ensure_topics", lambda settings: None)
    monkeypatch.setattr(kafka, "replay", lambda records, settings, **kw: sent.extend(records) or len(sent))
    assert main(["import", str(write_csv(tmp_path / "k.csv")), "--to-kafka"]) == 0
    assert len(sent) == 8 and all(isinstance(clean(r, "k"), CleanEvent) for r in sent)
    from streams.settings import Settings

    assert f"→ {Settings.from_env().raw_topic}" in capsys.readouterr().err
    # A missing column fails before the broker is touched.
    monkeypatch.setattr(kafka, "ensure_topics", lambda settings: pytest.fail("broker touched"))
    bad = write_csv(tmp_path / "bad.csv", header=["序号", "受理时间", "诉求内容"], rows=[["1", "2024-06-01 08:00", "x"]])
    assert main(["import", str(bad), "--to-kafka"]) == 2
