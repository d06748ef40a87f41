import pytest

from streams.text.reply_gold import cohen_kappa, load_reply_labels, merge_labels, split_of
from streams.text.reply_type import REPLY_TYPES, classify_replies, classify_reply, classify_reply_rules


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
def test_rules_examples(text, expected):
    assert classify_reply_rules(text) == expected


def test_always_a_known_type_with_confidence_in_range():
    texts = ["随便", "现场", "《》", "根据", "x" * 5000, None, "", "经现场核实，已责令整改。"]
    for text in texts:
        assert classify_reply_rules(text) in REPLY_TYPES
        assert classify_reply(text) in REPLY_TYPES
    out = classify_replies(texts)
    assert len(out) == len(texts)
    assert all(kind in REPLY_TYPES and 0.0 <= conf <= 1.0 for kind, conf in out)
    assert out[5] == ("neither", 1.0) and out[6] == ("neither", 1.0)  # nothing to read
    assert [kind for kind, _ in out] == [classify_reply(t) for t in texts]


def test_learned_model_reads_clear_cases():
    # Unambiguous replies of each kind (written here, not from the gold set).
    assert classify_reply("您好，您的留言已收悉，已转交市住建局调查处理。") == "neither"
    assert classify_reply("经我局执法人员现场核查，该餐馆油烟直排属实，已下达责令整改通知书，要求三日内安装油烟净化设施。") == "onsite"
    assert classify_reply("根据《A市城乡居民最低生活保障办法》第八条规定，申请低保需提供户口簿、身份证、收入证明等材料，"
                          "向户籍所在地街道办事处提出申请。") == "explanation"


def test_split_is_a_fixed_quarter_of_ids():
    ids = range(100_000, 104_000)
    blind = sum(split_of(i) == "blind" for i in ids)
    assert 900 < blind < 1100  # ~1/4
    assert split_of(12345) == split_of(12345) and split_of("12345") == split_of(12345)


def test_gold_file_split_matches_the_hash():
    rows = load_reply_labels()
    assert len(rows) >= 1500
    assert all(r["split"] == split_of(r["id"]) and r["label"] in REPLY_TYPES for r in rows)
    assert len({r["id"] for r in rows}) == len(rows)


def test_kappa_and_merge():
    assert cohen_kappa(["a", "b", "a", "b"], ["a", "b", "a", "b"]) == 1.0
    assert cohen_kappa(["a", "a", "b", "b"], ["a", "b", "a", "b"]) == 0.0
    rows = merge_labels([("a", {1: "onsite", 2: "both"}), ("b", {1: "onsite", 2: "neither", 3: "both"})], {2: "both"})
    assert [(r["id"], r["label"], r["source"]) for r in rows] == [(1, "onsite", "ab"), (2, "both", "adjudicated"),
                                                                   (3, "both", "b")]
    with pytest.raises(ValueError, match="not adjudicated"):
        merge_labels([("a", {1: "onsite"}), ("b", {1: "both"})], {})


@pytest.mark.shared
def test_rules_on_the_replies_they_were_written_against(tipdm):
    from streams.text.evaluate_reply import evaluate_reply

    report = evaluate_reply(classify_reply_rules, split=None, replies_path=tipdm("messages_with_replies.jsonl"),
                            sources={"gold"})
    assert report["n"] == 313
    assert report["macro_f1"] >= 0.85, report["per_class"]  # 0.860 measured (tuned on these: optimistic)


@pytest.mark.shared
def test_learned_model_on_the_blind_part(tipdm):
    from streams.text.evaluate_reply import evaluate_reply

    report = evaluate_reply(split="blind", replies_path=tipdm("messages_with_replies.jsonl"))
    rules = evaluate_reply(classify_reply_rules, split="blind", replies_path=tipdm("messages_with_replies.jsonl"))
    assert report["n"] == 665
    # 0.748 measured on the blind part (no choice made on it; rules 0.705); the assert sits
    # 0.03 below.  The data and the shipped model are fixed, so the comparison is deterministic.
    assert report["macro_f1"] >= 0.72, report["per_class"]
    assert report["macro_f1"] > rules["macro_f1"]


@pytest.mark.shared
def test_learned_model_beats_the_plain_baseline_on_the_blind_part(tipdm):
    """Character 1-3-gram TF-IDF + LinearSVC with sklearn's defaults, trained on the same train part:
    0.682 [0.631, 0.730] on the blind part, the model 0.748 (docs/text.md)."""
    from streams.text.evaluate_reply import evaluate_reply, load_texts, plain_baseline
    from streams.text.reply_gold import load_reply_labels

    gold = load_reply_labels()
    train = [g for g in gold if g["split"] == "train"]
    texts = load_texts([g["id"] for g in train], tipdm("messages_with_replies.jsonl"))
    baseline = plain_baseline([texts[g["id"]] for g in train], [g["label"] for g in train])
    plain = evaluate_reply(lambda t: baseline([t])[0], split="blind", replies_path=tipdm("messages_with_replies.jsonl"))
    model = evaluate_reply(split="blind", replies_path=tipdm("messages_with_replies.jsonl"))
    assert plain["n"] == model["n"] == 665
    assert model["macro_f1"] >= plain["macro_f1"] + 0.04, (model["macro_f1"], plain["macro_f1"])


def test_reply_model_train_save_load(tmp_path):
    from streams.text.reply_model import ReplyModel

    texts = ["经A6区园林局现场核实调查，已安排绿化施工单位进行整改。", "根据《西地省居住登记规定》第三条，需提供身份证。",
             "您的留言已收悉，已转市人社局调查处理。", "执法人员约谈施工方负责人。根据《噪声污染防治法》第三十条规定，禁止夜间施工。"] * 4
    labels = ["onsite", "explanation", "neither", "both"] * 4
    for structure in ("multiclass", "two_heads"):
        m = ReplyModel.train(texts, labels, structure=structure, C=10.0)
        assert [p.reply_type for p in m.predict(texts[:4])] == labels[:4]
        path = tmp_path / f"{structure}.npz"
        m.save(path)
        loaded = ReplyModel.load(path)
        assert loaded.predict(texts[:4] + [None]) == m.predict(texts[:4] + [None])
    with pytest.raises(ValueError, match="unknown reply types"):
        ReplyModel.train(texts, ["maybe"] * len(texts))
    bad = tmp_path / "bad.npz"
    bad.write_text("not a model", encoding="utf-8")
    with pytest.raises(ValueError, match="not a reply-type model"):
        ReplyModel.load(bad)
