import time

import pytest

from streams.text.masking import find_personal_numbers, luhn_valid, mask_personal_numbers

# A Luhn-valid 16-digit and 19-digit card (generated, not real).
CARD16 = "6222021234567894"
CARD19 = "6217001234567890122"


def test_fixture_cards_are_luhn_valid():
    assert luhn_valid(CARD16) and luhn_valid(CARD19)
    assert not luhn_valid("6222021234567890")


@pytest.mark.parametrize("text,expected", [
    ("我的电话13812345678请回电", "我的电话[手机号]请回电"),
    ("电话：138 1234 5678。", "电话：[手机号]。"),
    ("电话：138-1234-5678", "电话：[手机号]"),
    ("联系+86 138 1234 5678谢谢", "联系[手机号]谢谢"),
    ("联系+8613812345678", "联系[手机号]"),
    ("联系（+86）13812345678", "联系[手机号]"),
    ("手机１３８１２３４５６７８", "手机[手机号]"),
    ("手机１３８－１２３４－５６７８", "手机[手机号]"),
    ("两个号码13800138000 13900139000都打不通", "两个号码[手机号] [手机号]都打不通"),
    ("tel:19912345678", "tel:[手机号]"),
    ("座机0769-22345678", "座机[电话]"),
    ("座机(0769)2234 5678", "座机[电话]"),
    ("座机（0769）22345678", "座机[电话]"),
    ("座机0769 2234-5678", "座机[电话]"),
    ("座机020-8765432", "座机[电话]"),
    ("座机010 12345678x", "座机010 12345678x"),  # local numbers never start with 1
    ("身份证440102199003071234", "身份证[身份证号]"),
    ("身份证号44010219900307123X。", "身份证号[身份证号]。"),
    ("证件 44010219900307123x", "证件 [身份证号]"),
    ("身份证号码440102900307123", "身份证号码[身份证号]"),
    (f"卡号{CARD16}", "卡号[银行卡号]"),
    (f"转到{CARD19}了", "转到[银行卡号]了"),
    ("卡号6222 0212 3456 7890", "卡号[银行卡号]"),
    ("工资卡6222021234567890没到账", "工资卡[银行卡号]没到账"),  # non-Luhn but card cue
    ("邮箱 zhang.san@example.com 联系", "邮箱 [邮箱] 联系"),
    ("邮箱13812345678@163.com", "邮箱[邮箱]"),
    ("邮箱ｚｓ＠qq.com", "邮箱[邮箱]"),
])
def test_masks(text, expected):
    assert mask_personal_numbers(text) == expected


@pytest.mark.parametrize("text", [
    "2024年3月5日下午",
    "日期2024-03-05，时间20240305",
    "2024年03月05日 14:30:00",
    "拖欠工资1500元",
    "共计12,000.50元",
    "涉及金额13500000000元",
    "投资15000000万元",
    "住3栋502房",
    "12号楼1单元1203室",
    "粤0769-案字〔2024〕第123号",
    "工单GD20240001234已办结",
    "工单号GD13812345678",
    "车牌粤S12345",
    "拨打12345热线",
    "客服400-123-4567",
    "订单号6222021234567890已发货",  # non-Luhn 16 digits without a card cue: an order number
    "快递单号773012345678901",  # 15 digits without 身份证 cue
    "面积138.12345678平方米",
    "数值0.13812345678",
    "已脱敏0000-00000000和*****",
    "",
])
def test_does_not_mask(text):
    assert mask_personal_numbers(text) == text
    assert find_personal_numbers(text) == []


def test_find_returns_kinds_and_original_text():
    text = f"电话１３８ １２３４ ５６７８，座机0769-22345678，卡{CARD16}，邮箱a@b.cn，身份证440102199003071234"
    assert find_personal_numbers(text) == [
        ("mobile", "１３８ １２３４ ５６７８"),
        ("landline", "0769-22345678"),
        ("bank_card", CARD16),
        ("email", "a@b.cn"),
        ("id_card", "440102199003071234"),
    ]


def test_rest_of_text_unchanged_and_idempotent():
    text = "\n\t\t业主\u00a0张先生\u3000电话13812345678，2024年3月5日反映3栋502房漏水。"
    masked = mask_personal_numbers(text)
    assert masked == "\n\t\t业主\u00a0张先生\u3000电话[手机号]，2024年3月5日反映3栋502房漏水。"
    assert mask_personal_numbers(masked) == masked


def test_fast_on_texts_without_numbers():
    text = "小区物业管理混乱，噪音扰民严重，请相关部门尽快处理。" * 20
    t0 = time.perf_counter()
    for _ in range(2000):
        mask_personal_numbers(text)
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize("text,expected", [
    ("联系电话：3322792、3321100", "联系电话：[电话]、3321100"),
    ("办公电话为: 3353715， 具体", "办公电话为: [电话]， 具体"),
    ("备案编号：2019301", "备案编号：2019301"),
    ("拨打0731-12315投诉", "拨打0731-12315投诉"),  # a service number, not personal
])
def test_local_numbers_need_a_phone_cue(text, expected):
    assert mask_personal_numbers(text) == expected


# Leaks found in issue 13: each of these was returned unmasked before the fix.
@pytest.mark.parametrize("text,expected", [
    ("电话138–1234–5678", "电话[手机号]"),  # en dash
    ("电话138—1234—5678", "电话[手机号]"),  # em dash
    ("电话138‐1234‐5678", "电话[手机号]"),  # U+2010 hyphen
    ("电话138  1234  5678", "电话[手机号]"),  # double spaces
    ("电话138.1234.5678", "电话[手机号]"),
    ("电话138/1234/5678", "电话[手机号]"),
    ("电话138 123 45678", "电话[手机号]"),  # 3-3-5
    ("电话1381-2345-678", "电话[手机号]"),  # 4-4-3
    ("phone13812345678", "phone[手机号]"),
    ("my_phone_13812345678", "my_phone_[手机号]"),
    ("ID44190019900101123X", "ID[身份证号]"),
    ("sfz441900.19900101.123X号", "sfz[身份证号]号"),
    ("q=%2013812345678", "q=%20[手机号]"),  # URL-encoded space before the number
    ("tel=138%201234%205678&x", "tel=[手机号]&x"),
    ("电话+86-20-87654321", "电话[电话]"),
    ("电话+86 769 2234 5678", "电话[电话]"),
    ("座机0769.22345678", "座机[电话]"),
    ("座机0769–2234–5678", "座机[电话]"),
])
def test_masks_issue13_leaks(text, expected):
    assert mask_personal_numbers(text) == expected


@pytest.mark.parametrize("text", [
    "面积138.12345678平方米",  # a decimal, not a phone with a dot
    "价格138.1234元",
    "日期2019.10.15，2019/10/15",
    "工单号GD13812345678",  # upper-case code glued to the digits: a ticket/case id
    "案号AB0769-22345678",
    "文件编号2019/1234/5678",  # not a mobile (does not start 1[3-9]), no cue
])
def test_issue13_fixes_keep_false_positive_protections(text):
    assert mask_personal_numbers(text) == text


# --- property: any personal number, in any of the issue-13 spellings, glued to any text, is masked ---
from hypothesis import assume, given, settings, strategies as st  # noqa: E402

SEPARATORS = ["", " ", "  ", "-", "–", "—", "‐", "－", ".", "/", " - ", "%20", "\u00a0", "\u3000"]
_D = st.integers(0, 9).map(str)


def _digits(n):
    return st.lists(_D, min_size=n, max_size=n).map("".join)


@st.composite
def mobiles(draw):
    digits = "1" + draw(st.sampled_from("3456789")) + draw(_digits(9))
    grouping = draw(st.sampled_from([(11,), (3, 4, 4), (3, 3, 5), (4, 4, 3)]))
    sep = draw(st.sampled_from(SEPARATORS))
    parts, i = [], 0
    for n in grouping:
        parts.append(digits[i:i + n])
        i += n
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "+86-", "0086", "(+86)"]))
    return digits, prefix + sep.join(parts)


@st.composite
def id_cards(draw):
    year = draw(st.integers(1930, 2019))
    date = f"{year}{draw(st.integers(1, 12)):02d}{draw(st.integers(1, 28)):02d}"
    digits = draw(st.sampled_from("12345678")) + draw(_digits(5)) + date + draw(_digits(3)) + draw(
        st.sampled_from("0123456789Xx"))
    sep = draw(st.sampled_from(SEPARATORS))
    grouped = draw(st.booleans())
    return digits, (sep.join([digits[:6], digits[6:14], digits[14:]]) if grouped else digits)


@st.composite
def landlines(draw):
    area = draw(st.sampled_from(["10", "20", "21", "769", "731", "571"]))
    local = draw(st.sampled_from("23456789")) + draw(_digits(draw(st.sampled_from([6, 7]))))
    sep = draw(st.sampled_from(SEPARATORS[1:]))  # area code and number need some separator or ( )
    split = draw(st.booleans()) and len(local) == 8
    body = sep.join([local[:4], local[4:]]) if split else local
    if draw(st.booleans()):
        return area + local, "+86" + sep + area + sep + body
    style = draw(st.sampled_from(["sep", "brackets"]))
    return "0" + area + local, (f"(0{area}){body}" if style == "brackets" else "0" + area + sep + body)


# Glue text may be anything except what changes the number itself or makes it an amount/code:
# a digit (after folding full-width ones), a decimal point after a digit, a currency sign, '%' (URL
# escapes), or an upper-case ASCII code glued to it (ticket/case ids, documented); after it a digit,
# a decimal part or a unit.
_UNITS = ("元", "块", "万", "亿", "千", "百", "米", "平", "吨", "度", "%", "％", "个", "人", "次", "户", "套", "kg", "KG")


def _fold_char(ch):
    from streams.text.masking import _FOLD
    return ch.translate(_FOLD)


def _ok_prefix(p):
    if not p:
        return True
    last = _fold_char(p[-1])
    return not (last.isdigit() or last in "¥￥$%.+" or ("A" <= last <= "Z") or p.endswith("%2"))


def _ok_suffix(s):
    if not s:
        return True
    first = _fold_char(s[0])
    if first.isdigit() or first in ".．" or unicodedata_digit(first):
        return False
    return not any(s.lstrip(" \u00a0\u3000").startswith(u) for u in _UNITS)


def unicodedata_digit(ch):
    import unicodedata
    return unicodedata.digit(ch, None) is not None or unicodedata.category(ch) == "Nd"


def _strip_separators(text):
    return "".join(ch for ch in text.replace("%20", "") if _fold_char(ch).isalnum() and not ch.isspace())


@settings(max_examples=400, deadline=None)
@given(st.one_of(mobiles(), id_cards(), landlines()), st.text(max_size=12), st.text(max_size=12))
def test_any_number_glued_to_any_text_is_masked(number, prefix, suffix):
    digits, written = number
    assume(_ok_prefix(prefix) and _ok_suffix(suffix))
    assume(not any(unicodedata_digit(c) for c in prefix + suffix))  # no other numbers to blur the check
    masked = mask_personal_numbers(prefix + written + suffix)
    assert digits.upper() not in _strip_separators(masked).upper(), (prefix + written + suffix, masked)


def test_wide_separators_the_pattern_allows_pass_the_pre_check_too():
    """The pre-check allowed 3 separator characters, the pattern 7: this number stayed in clear."""
    from streams.text.masking import mask_personal_numbers

    out = mask_personal_numbers("电话138   -   1234   -   5678，请回电")
    assert "5678" not in out and "138" not in out, out
