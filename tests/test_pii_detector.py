"""The independent personal-number detector used by the privacy scans finds what people write and
nothing in the figures, hashes and timestamps the pipeline writes."""
from __future__ import annotations

import pytest

from tests.pii import personal_numbers


@pytest.mark.parametrize("text,found", [
    ("联系电话：13812345678。", [("mobile", "13812345678")]),
    ("电话：138 1234 5678", [("mobile", "13812345678")]),
    ("手机号138-1234-5678", [("mobile", "13812345678")]),
    ("手机号138\u30001234\u30005678", [("mobile", "13812345678")]),
    ("身份证号44190019900101123X。", [("id_card", "44190019900101123X")]),
    ("证件号 4419 0019 9001 0112 34", [("id_card", "441900199001011234")]),
    ('{"content": "回电15912345678"}', [("mobile", "15912345678")]),
])
def test_finds_numbers_as_people_write_them(text, found):
    assert personal_numbers(text) == found


@pytest.mark.parametrize("text", [
    "hotline_newest_event_timestamp_seconds 1715000000.0",
    "hotline_response_seconds_total 15000000000.0",  # a decimal point is not a separator
    "caller_hash=3f9a13812345678bc0d1",  # digits inside a hexadecimal hash
    "2024-05-01T10:00:00+08:00", "座机：0769-21234567", "offset 12345678901234",
    "ns:b:5m:1715000000", "138****5678", "12812345678",
])
def test_ignores_what_is_not_a_personal_number(text):
    assert personal_numbers(text) == []
