import pickle

import pytest

from streams.text.items import (PROJECT_ITEMS, ItemClassifier, LexiconClassifier, ModelFormatError, Prediction,
                                load_classifier)

_TOPICS = {
    "环境保护": ["工厂 排放 废气 污染 严重", "夜间 噪音 扰民 工地 施工", "餐馆 油烟 扰民 污染"],
    "教育文体": ["学校 补课 收费 学生", "幼儿园 学位 入学 孩子", "老师 教师 工资 学校"],
    "交通运输": ["公交 线路 站点 增设", "出租车 拒载 司机", "道路 拥堵 红绿灯 交警"],
}


def _rows(n=12):
    rows = []
    for label, texts in _TOPICS.items():
        for i in range(n):
            rows.append({"tokens": texts[i % len(texts)] + f" 编号{i}", "label": label})
    return rows


@pytest.fixture(scope="module")
def model():
    return ItemClassifier.train(_rows())


def test_project_items_are_34_and_end_with_other():
    assert len(PROJECT_ITEMS) == 34 and len(set(PROJECT_ITEMS)) == 34 and PROJECT_ITEMS[-1] == "其他"


def test_train_and_predict_all_input_shapes(model):
    preds = model.predict([
        ("学校乱收补课费", "孩子的学校周末补课收费"),
        {"title": "工地夜间施工噪音扰民", "content": "每天晚上施工"},
        {"tokens": "公交 线路 站点"},
        "出租车司机拒载",
    ])
    assert [p.label for p in preds] == ["教育文体", "环境保护", "交通运输", "交通运输"]
    for p in preds:
        assert isinstance(p, Prediction) and 0 < p.confidence <= 1
        assert p.low_confidence == (p.confidence < model.low_confidence_below)
    assert model.predict([]) == []


def test_char_only_and_word_only_models():
    for kw in ({"word_ngrams": None}, {"char_ngrams": None}):
        m = ItemClassifier.train(_rows(), **kw)
        assert m.predict([("幼儿园入学", "学位不够")])[0].label == "教育文体"


def test_save_load_round_trip(model, tmp_path):
    path = tmp_path / "m.bin"
    model.save(path)
    loaded = load_classifier(str(path))
    items = [("餐馆油烟", "楼下餐馆油烟扰民"), ("公交站点", "请增设公交站点")]
    assert loaded.predict(items) == model.predict(items)


def test_load_rejects_wrong_files(model, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello", encoding="utf-8")
    with pytest.raises(ModelFormatError):
        ItemClassifier.load(text)
    other = tmp_path / "other.pkl"
    other.write_bytes(pickle.dumps({"some": "dict"}, protocol=4))
    with pytest.raises(ModelFormatError):
        ItemClassifier.load(other)
    good = tmp_path / "m.bin"
    model.save(good)
    payload = pickle.loads(good.read_bytes())
    payload["version"] = 999
    old = tmp_path / "old.bin"
    old.write_bytes(pickle.dumps(payload, protocol=4))
    with pytest.raises(ModelFormatError, match="version"):
        ItemClassifier.load(old)
    with pytest.raises(FileNotFoundError):
        ItemClassifier.load(tmp_path / "missing.bin")


def test_train_needs_two_labels():
    with pytest.raises(ValueError):
        ItemClassifier.train([{"tokens": "a b", "label": "x"}])


def test_lexicon_fallback():
    lex = load_classifier(None)
    assert isinstance(lex, LexiconClassifier)
    preds = lex.predict([("小区物业乱收费", "物业公司强行收取停车费"), ("", "今天天气不错"),
                         {"title": "公司拖欠工资", "content": "三个月没发工资"}])
    assert preds[0].label == "物业管理"
    assert preds[1] == Prediction("其他", 0.0, True)
    assert preds[2].label == "劳动保障"
    assert all(p.label in PROJECT_ITEMS for p in preds)


def test_lexicon_rejects_unknown_items():
    with pytest.raises(ValueError):
        LexiconClassifier({"不存在的事项": ["x"]})


@pytest.mark.shared
def test_real_data_small_training_beats_floor(tipdm):
    from streams.text.datasets import read_jsonl
    from streams.text.evaluate_items import evaluate_items

    train = list(read_jsonl(tipdm("train_tokens.jsonl")))[::3]
    dev = list(read_jsonl(tipdm("dev_labeled.jsonl")))
    rep = evaluate_items(ItemClassifier.train(train), dev)
    assert rep["macro_f1"] >= 0.78, rep["macro_f1"]


@pytest.mark.shared
@pytest.mark.slow
def test_real_data_dev_macro_f1_and_beats_baseline(tipdm):
    from streams.text.datasets import read_jsonl
    from streams.text.evaluate_items import baseline_classifier, evaluate_items

    train = list(read_jsonl(tipdm("train_tokens.jsonl")))
    dev = list(read_jsonl(tipdm("dev_labeled.jsonl")))
    ours = evaluate_items(ItemClassifier.train(train), dev)["macro_f1"]
    base = evaluate_items(baseline_classifier(train), dev)["macro_f1"]
    assert ours >= 0.86 and ours > base, (ours, base)
