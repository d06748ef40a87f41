"""Cleaning rules: time zones, channels, masking, off-hours boundaries, rejections by reason."""
import json
from datetime import datetime, timezone

import pytest

from schemas.taxonomy import load_taxonomy
from streams.core.cleaning import CleanEvent, Rejection, clean, hash_caller, parse_time, _Bad
from streams.core.enrich import is_off_hours

KEY = "test-key"


def raw(**fields) -> bytes:
    doc = {"ticket_id": "T1", "event": "created", "event_time": "2024-03-05T10:00:00+08:00",
           "received_at": "2024-03-05T10:00:00+08:00", "channel": "电话", "content": "小区门口噪音扰民"}
    doc.update(fields)
    doc = {k: v for k, v in doc.items() if v is not ...}
    return json.dumps(doc, ensure_ascii=False).encode()


def ok(**fields) -> CleanEvent:
    out = clean(raw(**fields), KEY)
    assert isinstance(out, CleanEvent), out
    return out


def rejected(data: bytes | None = None, **fields) -> Rejection:
    out = clean(data if data is not None else raw(**fields), KEY)
    assert isinstance(out, Rejection), out
    return out


# ---- time zones -----------------------------------------------------------------------------
def test_time_without_offset_is_shanghai():
    assert parse_time("2024-03-05T10:00:00", "t") == int(datetime(2024, 3, 5, 2, 0, tzinfo=timezone.utc).timestamp())
    assert parse_time("2024-03-05 10:00:00", "t") == parse_time("2024-03-05T10:00:00+08:00", "t")


def test_time_with_offset_and_z():
    assert parse_time("2024-03-05T02:00:00Z", "t") == parse_time("2024-03-05T10:00:00+08:00", "t")
    assert parse_time("2024-03-04T21:00:00-05:00", "t") == parse_time("2024-03-05T10:00:00+08:00", "t")
    assert parse_time("2024-03-05T10:00", "t") == parse_time("2024-03-05T10:00:00+0800", "t")


@pytest.mark.parametrize("value,reason", [
    ("2024/03/05 10:00", "invalid_time"), ("yesterday", "invalid_time"), ("2024-13-05T10:00:00", "invalid_time"),
    ("1970-01-01T00:00:00", "impossible_time"), ("2999-01-01T00:00:00", "impossible_time"), (1709604000, "wrong_type"),
])
def test_bad_times(value, reason):
    with pytest.raises(_Bad) as exc:
        parse_time(value, "t")
    assert exc.value.reason == reason


def test_replied_before_received_is_impossible():
    r = rejected(event="snapshot", reply="已处理", replied_at="2024-03-04T10:00:00")
    assert r.reason == "impossible_time" and r.ticket_id == "T1"


# ---- channels ---------------------------------------------------------------------------------
@pytest.mark.parametrize("written,canonical", [
    ("电话", "电话"), ("语音", "电话"), ("12345热线", "电话"), ("微信公众号", "微信"), ("ＡＰＰ", "APP"),
    ("app", "APP"), ("门户网站", "网站"), ("微信小程序", "小程序"), ("E-mail", "邮件"), ("飞鸽传书", "其他"),
])
def test_channel_names_are_normalised(written, canonical):
    assert load_taxonomy().channel(written) == canonical


def test_district_aliases():
    tax = load_taxonomy()
    assert tax.district("南城") == "南城街道"
    assert tax.district("东莞市南城街道办事处") == "南城街道"
    assert tax.district("火星") == "其他"


# ---- off-hours boundaries ------------------------------------------------------------------------
@pytest.mark.parametrize("local,off", [
    ("08:59:59", True), ("09:00:00", False), ("12:00:00", False), ("17:59:59", False), ("18:00:00", True),
    ("23:59:59", True), ("00:00:00", True),
])
def test_off_hours_boundaries(local, off):
    assert is_off_hours(parse_time(f"2024-03-05T{local}", "t")) is off


def test_off_hours_uses_shanghai_time_even_for_utc_input():
    # 01:30 UTC is 09:30 in Dongguan: office hours.
    assert is_off_hours(parse_time("2024-03-05T01:30:00Z", "t")) is False


# ---- masking and the caller hash -----------------------------------------------------------------
def test_personal_numbers_are_masked_and_ordinary_numbers_kept():
    ev = ok(content="我的电话138 1234 5678，身份证44190019900101123X，2024年3月5日在3栋502房交了1500元")
    assert "1234" not in ev.content and "123X" not in ev.content
    for kept in ("2024年3月5日", "3栋502房", "1500元"):
        assert kept in ev.content


def test_title_and_reply_are_masked_too():
    """Every free text the cleaning step lets out is masked, not only the content."""
    ev = ok(title="业主13812345678反映噪音", content="噪音扰民")
    assert "13812345678" not in ev.title and "[手机号]" in ev.title
    ev = ok(event="replied", received_at=..., channel=..., content=..., replied_at="2024-03-06T09:00:00",
            reply="已致电13812345678，身份证44190019900101123X核实")
    assert "13812345678" not in ev.reply and "44190019900101123X" not in ev.reply


def test_caller_is_hashed_with_the_key_and_never_kept():
    a = ok(caller="138-1234-5678")
    b = ok(caller="+86 13812345678")
    assert a.caller_hash == b.caller_hash  # same number however written
    assert "13812345678" not in repr(a)
    assert hash_caller("13812345678", "other-key") != a.caller_hash


# ---- rejections by reason -------------------------------------------------------------------------
@pytest.mark.parametrize("data,reason", [
    (b'{"ticket_id": "T1", "event": "crea', "invalid_json"),
    (b"\xff\xfe{}", "invalid_utf8"),
    (b"[1, 2]", "not_an_object"),
    (b"x" * (64 * 1024 + 1), "oversized"),
])
def test_undecodable_records(data, reason):
    assert rejected(data).reason == reason


@pytest.mark.parametrize("fields,reason", [
    ({"ticket_id": ...}, "missing_field"),
    ({"content": ...}, "missing_field"),
    ({"event": "replied", "reply": ...}, "missing_field"),
    ({"ticket_id": 42}, "wrong_type"),
    ({"channel": 12345}, "wrong_type"),
    ({"content": ["a", "b"]}, "wrong_type"),
    ({"event": "evaluated", "satisfaction": "五", "evaluated_at": "2024-03-06T10:00:00"}, "wrong_type"),
    ({"event": "evaluated", "satisfaction": 7, "evaluated_at": "2024-03-06T10:00:00"}, "invalid_value"),
    ({"event": "evaluated", "satisfaction": True, "evaluated_at": "2024-03-06T10:00:00"}, "wrong_type"),
    ({"event": "opened"}, "invalid_value"),
    ({"ticket_id": "有 空格"}, "invalid_value"),
    ({"content": "长" * 20001}, "oversized"),
    ({"event_time": "2024-02-30T10:00:00"}, "invalid_time"),
    ({"received_at": "1970-01-01T08:00:00"}, "impossible_time"),
])
def test_contract_violations(fields, reason):
    assert rejected(**fields).reason == reason


def test_lone_surrogate_in_json_is_rejected():
    data = raw(content="PLACEHOLDER").replace(b"PLACEHOLDER", b"\\ud800")
    assert rejected(data).reason == "invalid_value"


def test_deep_nesting_is_parsed_and_rejected_not_crashing():
    """A record 20,000 arrays deep (40 KB, under the 64 KiB limit, so the parser really meets it)
    is refused by the parser's depth guard as invalid JSON, with a message; a modestly nested extra
    field in an otherwise valid record is kept."""
    from streams.core.cleaning import MAX_RECORD_BYTES

    valid = raw()[:-1]
    deep = valid + b', "x": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    assert len(deep) < MAX_RECORD_BYTES
    out = rejected(deep)
    assert out.reason == "invalid_json" and "recursion" in out.message
    nested = valid + b', "x": ' + b"[" * 100 + b"]" * 100 + b"}"
    assert isinstance(clean(nested, KEY), CleanEvent)
    assert rejected(b"[" * 100_000 + b"]" * 100_000).reason == "oversized"  # too big: refused before parsing


def test_follow_up_events_need_only_their_fields():
    ev = ok(event="replied", received_at=..., channel=..., content=..., reply="经现场核实，已责令整改。",
            replied_at="2024-03-06T09:00:00")
    assert ev.event == "replied" and ev.replied_at is not None
    ev = ok(event="withdrawn", received_at=..., channel=..., content=...)
    assert ev.withdrawn is True
