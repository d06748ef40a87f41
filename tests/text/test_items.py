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


def test_char_only_word_only_and_joint_models():
    for kw in ({"word_ngrams": None}, {"char_ngrams": None}, {"combine": "joint"}):
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


def test_probabilities_calibration_and_priors(model):
    import numpy as np

    assert [m.blocks for m in model.members] == [("word", "char")]
    average = ItemClassifier.train(_rows(), combine="average")
    assert [m.blocks for m in average.members] == [("word",), ("char",)]
    assert all(m.scale > 0 for m in model.members + average.members)  # temperatures fitted out-of-fold
    items = [("学校乱收补课费", "孩子的学校周末补课收费"), ("随便", "说说")]
    p = model.predict_proba(items)
    assert p.shape == (2, len(model.labels)) and np.allclose(p.sum(axis=1), 1.0)
    preds = model.predict(items)
    assert [pr.confidence for pr in preds] == [round(float(v), 4) for v in p.max(axis=1)]
    # A city where 教育文体 is rare: its probability drops, the others rise; None restores.
    edu = model.labels.index("教育文体")
    model.set_class_priors({"教育文体": 0.02, "环境保护": 0.49, "交通运输": 0.49})
    q = model.predict_proba(items)
    assert q[0, edu] < p[0, edu] and np.allclose(q.sum(axis=1), 1.0)
    model.set_class_priors(None)
    assert np.allclose(model.predict_proba(items), p)
    with pytest.raises(ValueError, match="does not know"):
        model.set_class_priors({"不存在": 1.0})


def test_reads_format_1_models(model, tmp_path):
    import numpy as np

    from streams.text.items import FORMAT

    joint = ItemClassifier.train(_rows(), combine="joint", calibration_folds=0)
    m = joint.members[0]
    v1 = {"format": FORMAT, "version": 1, "labels": joint.labels, "coef": m.coef, "intercept": m.intercept,
          "word": {"vocab": joint.word.vocab, "idf": joint.word.idf, "bigrams": True},
          "char": {"codes": joint.char.codes, "ids": joint.char.ids, "idf": joint.char.idf, "max_n": 3,
                   "n_features": joint.char.n_features},
          "title_weight": 2, "word_content_chars": 0, "char_content_chars": 600, "softmax_scale": 3.0,
          "low_confidence_below": 0.5, "meta": {}}
    path = tmp_path / "v1.bin"
    path.write_bytes(pickle.dumps(v1, protocol=4))
    loaded = ItemClassifier.load(path)
    items = [("餐馆油烟", "楼下餐馆油烟扰民")]
    assert loaded.predict(items) == joint.predict(items)
    assert np.allclose(loaded.predict_proba(items), joint.predict_proba(items))


def test_bad_item_is_a_clear_error(model):
    with pytest.raises(TypeError, match="item is"):
        model.predict([42])


def test_selection_helpers():
    import numpy as np

    from streams.text.item_selection import bootstrap_ci, macro_f1, paired_bootstrap_ci, reliability
    from streams.text.items import fit_scale, stratified_folds

    y = ["a"] * 10 + ["b"] * 5 + ["c"] * 3
    folds = stratified_folds(y, 3)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(y)))
    assert all(sum(y[i] == "a" for i in f) in (3, 4) for f in folds)
    t = np.array([0, 0, 1, 1, 2, 2])
    assert macro_f1(t, t, 3) == 1.0
    assert macro_f1(t, np.array([0, 0, 1, 1, 1, 1]), 3) == pytest.approx((1 + 2 / 3 + 0) / 3)
    lo, hi = bootstrap_ci(t, np.array([0, 0, 1, 1, 1, 2]), 3, n=200)
    assert 0 <= lo <= hi <= 1
    lo, hi = paired_bootstrap_ci(t, t, np.array([0, 1, 1, 1, 2, 2]), 3, n=200)
    assert lo >= 0 and hi > 0
    rel = reliability([0.95, 0.95, 0.55, 0.55], [1, 1, 1, 0])
    assert rel["ece"] == pytest.approx(0.5 * 0.05 + 0.5 * 0.05)
    assert [b["n"] for b in rel["bins"]] == [2, 2]
    # Temperature: confidently right scores get a larger scale than noisy ones.
    rng = np.random.default_rng(0)
    yi = rng.integers(0, 3, 500)
    clean = np.eye(3)[yi] + rng.normal(0, 0.1, (500, 3))
    noisy = np.eye(3)[yi] + rng.normal(0, 1.0, (500, 3))
    assert fit_scale(clean, yi) > fit_scale(noisy, yi)


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
    rep = evaluate_items(ItemClassifier.train(train, calibration_folds=0), dev)
    assert rep["macro_f1"] >= 0.82, rep["macro_f1"]  # dev 0.851 measured with a third of the rows; 0.03 below


@pytest.mark.shared
@pytest.mark.slow
def test_real_data_dev_macro_f1_and_beats_baseline(tipdm):
    from streams.text.datasets import read_jsonl
    from streams.text.evaluate_items import baseline_classifier, evaluate_items

    train = list(read_jsonl(tipdm("train_tokens.jsonl")))
    dev = list(read_jsonl(tipdm("dev_labeled.jsonl")))
    ours = evaluate_items(ItemClassifier.train(train), dev)["macro_f1"]
    base = evaluate_items(baseline_classifier(train), dev)["macro_f1"]
    # Dev (no choice made on it): 0.860 measured, baseline 0.836; the assert sits 0.02 below.
    assert ours >= 0.84 and ours > base, (ours, base)


def test_features_of_a_text_do_not_depend_on_its_batch(model):
    # Regression: n-grams starting at the batch separator used to give each text the first
    # character and bigram of the next one.
    import numpy as np

    texts = ["学校补课", "工地噪音", "公交站点", ""]
    together = model.char.transform(texts).toarray()
    alone = np.vstack([model.char.transform([t]).toarray() for t in texts])
    assert np.allclose(together, alone)
    items = [("学校乱收补课费", "周末补课"), ("", "噪音"), ("公交", "")]
    assert model.predict(items) == [model.predict([it])[0] for it in items]
