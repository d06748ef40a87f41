"""schemas/taxonomy.json and the generator's vocabulary agree with each other and with the brief."""
from __future__ import annotations

import json
from pathlib import Path

from streams.generate import calibration as cal
from streams.generate import text

ROOT = Path(__file__).resolve().parents[2]
TAX = json.loads((ROOT / "schemas" / "taxonomy.json").read_text(encoding="utf-8"))

ITEMS = ("交通管理 住房保障 公共安全 城市管理 劳动保障 市场监管 环境保护 教育 医疗卫生 社会保障 消费维权 城乡建设 "
         "物业管理 水电气供应 公共交通 户政管理 企业服务 民政服务 文化旅游 农业农村 自然资源 应急管理 人才人事 税务 "
         "通信网络 邮政快递 金融服务 政务服务 行政执法监督 基层治理 体育 知识产权 出入境 其他").split()
CLAIMS = ["公共服务保障权", "财产权", "人身安全权", "环境权", "劳动权", "受教育权", "社会保障权", "参与监督权"]


def test_structure():
    assert TAX["version"] == 1 and TAX["fallback_item"] == "其他"
    assert [c["name"] for c in TAX["rights_claims"]] == CLAIMS
    assert [i["name"] for i in TAX["items"]] == ITEMS
    claims = set(CLAIMS)
    for it in TAX["items"]:
        assert it["rights_claim"] in claims
        assert 3 <= len(it["subcategories"]) <= 8, it["name"]
        names = [s["name"] for s in it["subcategories"]]
        assert len(set(names)) == len(names)
        for s in it["subcategories"]:
            assert s.get("rights_claim", it["rights_claim"]) in claims
    assert sum(i["rights_claim"] == "公共服务保障权" for i in TAX["items"]) == 22
    assert [c["name"] for c in TAX["channels"]] == ["电话", "微信", "网站", "APP", "小程序", "邮件", "短信", "其他"]
    districts = [d["name"] for d in TAX["districts"]]
    assert sum(d.endswith("街道") for d in districts) == 4 and sum(d.endswith("镇") for d in districts) == 28
    assert "其他" in districts and "松山湖" in districts


def test_lead_loader_reads_it():
    from schemas.taxonomy import from_dict

    tax = from_dict(TAX)
    assert tax.channel("i莞家") == "APP" and tax.channel("微信公众号") == "微信" and tax.channel("E-mail") == "邮件"
    assert tax.district("南城") == "南城街道"
    assert tax.rights_claim("住房保障", "房屋质量") == "财产权"


def test_every_raw_channel_spelling_is_an_alias():
    from schemas.taxonomy import from_dict

    tax = from_dict(TAX)
    for canonical, (_share, raws, _p_missing) in cal.CHANNELS.items():
        for raw, _w in raws:
            assert tax.channel(raw) == canonical, raw


def test_vocabulary_covers_the_taxonomy():
    names = {i["name"] for i in TAX["items"]}
    assert set(cal.ITEM_SHARES_PCT) == names
    assert set(text.CITY_DEPARTMENTS) == names
    assert set(cal.DISTRICT_POPULATION) == {d["name"] for d in TAX["districts"]}
    for it in TAX["items"]:
        for s in it["subcategories"]:
            assert len(text.ISSUES[it["name"]][s["name"]]) >= 2, (it["name"], s["name"])
    assert set(text.ISSUES) == names


def test_calibration_constants_are_consistent():
    shares = list(cal.ITEM_SHARES_PCT.values())
    assert abs(sum(shares) - 100) < 1e-9
    assert sorted(shares, reverse=True)[:11] == shares[:11]
    assert abs(sum(shares[:11]) / 100 - cal.TOP11_SHARE) < 1e-9
    assert {"交通管理", "住房保障", "公共安全"} <= set(list(cal.ITEM_SHARES_PCT)[:11])
    assert len(cal.ITEM_SATISFACTION) == cal.EVALUATED_ITEMS
    assert sum(m >= 2.9 for m in cal.ITEM_SATISFACTION.values()) == cal.ITEMS_AT_OR_ABOVE_2_9
    assert cal.ITEM_SATISFACTION[cal.ENTERPRISE_ITEM] > 4
    rates = cal.evaluation_rates()
    w = {i: cal.ITEM_SHARES_PCT[i] / 100 for i in rates}
    assert abs(sum(w[i] * rates[i] for i in rates) - cal.EVALUATION_RATE) < 1e-9
    pooled = sum(w[i] * rates[i] * cal.ITEM_SATISFACTION[i] for i in rates) / sum(w[i] * rates[i] for i in rates)
    assert abs(pooled - cal.SATISFACTION_MEAN) < 1e-6


def test_expected_public_service_share():
    total = 0.0
    for it in TAX["items"]:
        w = [cal.SUBCATEGORY_DECAY ** k for k in range(len(it["subcategories"]))]
        for s, wk in zip(it["subcategories"], w):
            if s.get("rights_claim", it["rights_claim"]) == cal.PUBLIC_SERVICE_CLAIM:
                total += cal.ITEM_SHARES_PCT[it["name"]] / 100 * wk / sum(w)
    assert abs(total - cal.PUBLIC_SERVICE_SHARE) < 0.005
