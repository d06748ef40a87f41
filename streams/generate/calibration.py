"""The figures the replica reproduces, and the generator parameters that reproduce them.

Source of the targets: the 2024 study of Dongguan's 12345 hotline (462,483 tickets received in
2024; rights-claim analysis of first-level items; off-hours, withdrawal/repeat, evaluation and
satisfaction figures). Definitions are those of the batch report (`hotline report`):

* off-hours = received_at local time-of-day in [18:00, 24:00) or [00:00, 09:00);
* evaluation rate = evaluated tickets / tickets; mean satisfaction = mean of all scores;
* rights claim of a ticket = its subcategory's override, else its item's claim;
* repeat = a ticket with a non-null repeat_of.

Everything else here (hour/week/season curves, channel and district mixes) is not from the study
but plausible for a Chinese city hotline; it is marked as such.
"""
from __future__ import annotations

import math

# --- targets (from the study) ------------------------------------------------------------------
STUDY_YEAR = 2024
STUDY_TICKETS = 462_483
TOP11_SHARE = 0.8951  # the 11 largest first-level items together
PUBLIC_SERVICE_CLAIM = "公共服务保障权"
PUBLIC_SERVICE_SHARE = 0.38  # tickets whose rights claim is 公共服务保障权 (22 items at item level)
OFF_HOURS_SHARE = 0.81  # received 18:00–09:00
WITHDRAWN_PLUS_REPEAT = 1_996  # withdrawn tickets + repeat complaints, at STUDY_TICKETS
EVALUATION_RATE = 0.1138
SATISFACTION_MEAN = 2.85
EVALUATED_ITEMS = 20  # first-level items that receive any evaluation
ITEMS_AT_OR_ABOVE_2_9 = 12  # of the evaluated items, those averaging >= 2.9
ENTERPRISE_ITEM = "企业服务"  # averages above 4
CHANNEL_SATISFACTION_SPREAD = 0.3  # per-channel means within this of each other

# --- item volumes (percent of tickets; the first 11 sum to TOP11_SHARE) -------------------------
# The study names 交通管理, 住房保障 and 公共安全 among the 11 major items; the rest of the
# ranking is a plausible one for a manufacturing city of migrant workers (wages, housing, noise).
ITEM_SHARES_PCT: dict[str, float] = {
    "城市管理": 14.00, "交通管理": 12.50, "住房保障": 11.00, "劳动保障": 9.50, "市场监管": 8.00,
    "公共安全": 7.50, "环境保护": 7.00, "消费维权": 6.50, "教育": 5.00, "医疗卫生": 4.50, "社会保障": 4.01,
    # the long tail: 23 items, 10.49 %
    "物业管理": 1.50, "水电气供应": 1.20, "公共交通": 0.90, "城乡建设": 0.80, "户政管理": 0.60, "政务服务": 0.55,
    "企业服务": 0.50, "民政服务": 0.45, "其他": 0.45, "税务": 0.40, "基层治理": 0.40, "应急管理": 0.35,
    "通信网络": 0.30, "人才人事": 0.30, "文化旅游": 0.28, "邮政快递": 0.28, "自然资源": 0.25, "金融服务": 0.25,
    "农业农村": 0.22, "行政执法监督": 0.20, "出入境": 0.13, "体育": 0.10, "知识产权": 0.08,
}
# Subcategories are drawn with geometric weights in taxonomy order (the first is the commonest).
SUBCATEGORY_DECAY = 0.8

# --- satisfaction per evaluated item (mean score 1–5) --------------------------------------------
# Exactly these 20 items are evaluated; the other 14 have tickets but never an evaluation.
# 12 items >= 2.9 (with margin), 企业服务 > 4. Low scores sit where complaints are about money
# or livelihoods (wages, housing, property fees), high ones on quick administrative fixes. Ranks are
# spread over item volumes so volume and satisfaction are not negatively correlated.
ITEM_SATISFACTION: dict[str, float] = {
    "城市管理": 3.20, "交通管理": 3.25, "住房保障": 2.40, "劳动保障": 2.20, "市场监管": 3.05, "公共安全": 3.30,
    "环境保护": 2.55, "消费维权": 3.00, "教育": 3.10, "医疗卫生": 3.00, "社会保障": 3.05,
    "物业管理": 2.25, "水电气供应": 3.15, "公共交通": 3.10, "城乡建设": 2.45, "户政管理": 2.70,
    "政务服务": 3.20, "企业服务": 4.25, "民政服务": 2.60, "税务": 2.65,
}
# Score mixture: a dissatisfied caller scores from DISSATISFIED, a satisfied one from SATISFIED;
# the mixing weight sets the mean. Hotline scores are bimodal, not bell-shaped.
DISSATISFIED = (0.70, 0.18, 0.08, 0.03, 0.01)  # P(score = 1..5), mean 1.47
SATISFIED = (0.01, 0.02, 0.10, 0.32, 0.55)  # mean 4.38

# --- withdrawal and repeat (from the study's total, split is ours) ------------------------------
WITHDRAWN_RATE = WITHDRAWN_PLUS_REPEAT / STUDY_TICKETS * 0.55
REPEAT_RATE = WITHDRAWN_PLUS_REPEAT / STUDY_TICKETS * 0.45
REPEAT_LOOKBACK = 20_000  # a repeat cites one of the previous tickets within about two weeks

# --- time curves (plausible, not from the study) -------------------------------------------------
# Relative weights per hour. Off-hours and on-hours are normalised separately to hit
# OFF_HOURS_SHARE exactly in expectation: citizens at work call after 18:00, peaking 20–22h,
# with a long night tail (shift workers in factories) and a morning rise before 09:00.
HOUR_WEIGHTS = (
    3.2, 2.4, 1.8, 1.3, 1.0, 1.2, 2.0, 3.4, 4.6,  # 00–08 (off-hours)
    2.6, 2.8, 2.7, 2.0, 2.2, 2.6, 2.6, 2.5, 2.4,  # 09–17 (on-hours)
    5.6, 6.8, 8.0, 8.4, 7.6, 5.4,  # 18–23 (off-hours)
)
ON_HOURS = range(9, 18)
WEEKDAY_WEIGHTS = (1.10, 1.05, 1.00, 1.00, 0.98, 0.92, 0.95)  # Monday first: weekend backlog lands on Monday
MONTH_WEIGHTS = (1.00, 0.82, 1.00, 1.00, 1.03, 1.10, 1.14, 1.12, 1.02, 0.95, 0.94, 0.96)  # summer: noise, heat, power
SPRING_FESTIVAL_2024 = ("2024-02-08", "2024-02-17")  # holiday dip (factories close, migrants go home)
SPRING_FESTIVAL_FACTOR = 0.6

# --- channels (plausible): canonical share, raw spellings with weights, P(category missing) ------
# WeChat and web forms let citizens skip the category; the call centre's agents always fill it.
CHANNELS: dict[str, tuple[float, tuple[tuple[str, float], ...], float]] = {
    "电话": (0.56, (("电话", 6), ("12345热线", 2), ("热线电话", 1), ("语音", 1), ("phone", 0.3)), 0.02),
    "微信": (0.16, (("微信", 4), ("微信公众号", 3), ("公众号", 1), ("wechat", 0.3)), 0.20),
    "网站": (0.09, (("网站", 4), ("门户网站", 2), ("网页", 1), ("web", 0.3)), 0.20),
    "APP": (0.09, (("i莞家", 4), ("APP", 2), ("莞家APP", 1), ("手机客户端", 1)), 0.08),
    "小程序": (0.05, (("微信小程序", 3), ("小程序", 2), ("i莞家小程序", 1)), 0.14),
    "短信": (0.025, (("短信", 3), ("SMS", 1)), 0.10),
    "邮件": (0.015, (("邮件", 2), ("电子邮件", 2), ("email", 1), ("E-mail", 1)), 0.20),
    "其他": (0.01, (("其他", 2), ("来信", 1), ("来访", 1)), 0.05),
}
LANDLINE_SHARE = 0.06  # callers on a 0769 landline
PERSONAL_NUMBER_IN_TEXT = 0.03  # texts where citizens write a phone or ID-card number

# --- districts: resident population, 10k (2020 census, rounded) ----------------------------------
DISTRICT_POPULATION: dict[str, float] = {
    "莞城街道": 18, "南城街道": 33, "东城街道": 56, "万江街道": 26, "石碣镇": 26, "石龙镇": 15, "茶山镇": 18,
    "石排镇": 23, "企石镇": 18, "横沥镇": 21, "桥头镇": 20, "谢岗镇": 13, "东坑镇": 17, "常平镇": 47, "寮步镇": 53,
    "樟木头镇": 13, "大朗镇": 58, "黄江镇": 31, "清溪镇": 39, "塘厦镇": 53, "凤岗镇": 47, "大岭山镇": 34,
    "长安镇": 68, "虎门镇": 70, "厚街镇": 50, "沙田镇": 18, "道滘镇": 14, "洪梅镇": 6, "麻涌镇": 13, "望牛墩镇": 8,
    "中堂镇": 15, "高埗镇": 22, "松山湖": 10, "东莞滨海湾新区": 4, "东莞港": 1, "东莞生态园": 2, "水乡新城": 2,
    "其他": 3,
}
DISTRICT_ROUTED_SHARE = 0.45  # tickets handled by the town's own office rather than a city bureau

# --- reply types (plausible) ---------------------------------------------------------------------
REPLY_TYPES = (("both", 0.36), ("onsite", 0.30), ("explanation", 0.24), ("neither", 0.10))
# Delays in hours, log-normal (median, sigma), clipped to [low, high].
REPLY_DELAY_H = (20.0, 0.9, 0.5, 240.0)
EVALUATION_DELAY_H = (10.0, 1.0, 0.2, 120.0)
WITHDRAWAL_DELAY_H = (3.0, 1.0, 0.1, 48.0)


def evaluation_rates(shares: dict[str, float] | None = None, sat: dict[str, float] | None = None,
                     rate: float = EVALUATION_RATE, mean: float = SATISFACTION_MEAN) -> dict[str, float]:
    """Per-item P(evaluated) so that overall rate and mean satisfaction hit their targets.

    Unhappy callers rate more often, so P(evaluated | item) = c * exp(-g * (m_item - mean)).
    The item means alone average above 2.85; g tilts the evaluation weight towards the low items
    until the pooled mean is `mean`, then c scales the overall rate to `rate`. Pure: bisection on g.
    """
    shares = shares or ITEM_SHARES_PCT
    sat = sat or ITEM_SATISFACTION
    total = sum(shares.values())
    w = {i: shares[i] / total for i in sat}

    def pooled(g: float) -> float:
        e = {i: w[i] * math.exp(-g * (sat[i] - mean)) for i in sat}
        return sum(e[i] * sat[i] for i in sat) / sum(e.values())

    lo, hi = -10.0, 10.0  # pooled() decreases in g
    for _ in range(100):
        mid = (lo + hi) / 2
        if pooled(mid) > mean:
            lo = mid
        else:
            hi = mid
    g = (lo + hi) / 2
    raw = {i: math.exp(-g * (sat[i] - mean)) for i in sat}
    c = rate / sum(w[i] * raw[i] for i in sat)
    return {i: c * raw[i] for i in sat}
