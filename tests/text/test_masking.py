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
