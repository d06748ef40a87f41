from streams.text.rights import load_rights_taxonomy, parse_taxonomy, rights_claim, rights_from_text

DOC = {
    "fallback_item": "其他",
    "rights_claims": ["公共服务保障权", "环境权", {"name": "劳动权"}, "财产权"],
    "items": [
        {"name": "城市管理", "rights_claim": "公共服务保障权",
         "subcategories": [{"name": "占道经营"}, {"name": "噪音扰民", "rights_claim": "环境权"}]},
        {"name": "劳动保障", "rights_claim": "劳动权", "subcategories": []},
        {"name": "其他", "rights_claim": "公共服务保障权", "subcategories": [{"name": "咨询求助"}]},
    ],
}
TAX = parse_taxonomy(DOC)


def test_item_and_subcategory():
    assert rights_claim("城市管理", "噪音扰民", taxonomy=TAX) == "环境权"
    assert rights_claim("城市管理", "占道经营", taxonomy=TAX) == "公共服务保障权"
    assert rights_claim("劳动保障", None, taxonomy=TAX) == "劳动权"


def test_subcategory_inferred_from_text_when_missing():
    assert rights_claim("城市管理", None, "楼下酒吧噪音扰民到凌晨", taxonomy=TAX) == "环境权"
    assert rights_claim("城市管理", "不存在", "噪音扰民", taxonomy=TAX) == "环境权"


def test_text_cues_when_item_missing_or_other():
    assert rights_claim("其他", None, "公司拖欠工资三个月", taxonomy=TAX) == "劳动权"
    assert rights_claim(None, None, "开发商不退押金", taxonomy=TAX) == "财产权"
    assert rights_claim("未知事项", None, "", taxonomy=TAX) == "公共服务保障权"
    assert rights_from_text("") is None


def test_project_taxonomy_loads():
    tax = load_rights_taxonomy()
    assert tax.fallback_item in tax.item_claim or tax.fallback_item == "其他"
    for item in tax.item_claim:
        assert rights_claim(item, None, "") in tax.claims
