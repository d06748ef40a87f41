import pytest

from streams.text.reply_type import REPLY_TYPES, classify_reply


@pytest.mark.parametrize("text,expected", [
    (None, "neither"),
    ("", "neither"),
    ("网友：您好！留言已收悉", "neither"),
    ("您的留言已收悉。关于您反映的问题，已转市人社局调查处理。", "neither"),
    ("网友您好，您反映的问题已转至市公安局交通警察支队，感谢您的问政。", "neither"),
    ("经A6区园林局现场核实调查，部分乔木枯萎，已安排绿化施工单位进行整改。", "onsite"),
    ("接到投诉后，城管执法中队于1月2日晚至安置小区一期核实情况，已告知施工方降低噪音。", "onsite"),
    ("我局执法人员约谈施工方负责人，要求立即改正。", "onsite"),
    ("街道城管办工作人员已经上门批评教育门店老板。", "onsite"),
    ("根据《西地省实际居住登记和服务规定》，实际居住人口是指连续居住30日以上的人员。", "explanation"),
    ("根据《中国公民收养子女登记办法》第二条，收养子女应当办理登记。", "explanation"),
    ("您可以携带本人身份证到发卡银行营业网点办理挂失手续。", "explanation"),
    ("申请人需提交以下材料：身份证、户口簿。", "explanation"),
    ("执法人员约谈施工方负责人。根据《中华人民共和国噪声污染防治法》第三十条规定，禁止夜间施工。", "both"),
    ("我局严格按照国家规定规范办学。", "neither"),  # a promise, not an explanation
    ("经查，该项目手续齐全。感谢您的支持！", "neither"),
])
def test_examples(text, expected):
    assert classify_reply(text) == expected


def test_always_a_known_type():
    for text in ["随便", "现场", "《》", "根据", "x" * 5000]:
        assert classify_reply(text) in REPLY_TYPES


@pytest.mark.shared
def test_gold_set_macro_f1(tipdm):
    from streams.text.evaluate_reply import evaluate_reply

    report = evaluate_reply(tipdm("messages_with_replies.jsonl"))
    assert report["n"] >= 300
    assert report["macro_f1"] >= 0.85, report["per_class"]
