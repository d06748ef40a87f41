import threading


from streams.text import segment
from streams.text.segment import cut, get_tokenizer, normalize, tokens


def test_normalize_tipdm_artefacts():
    raw = "\n\t\t\t\t\n\t\t\t\t尊敬的领导：_x000D_\u00a0小区\u3000噪音１２３ＡＢ\n\t\t\t\t"
    assert normalize(raw) == "尊敬的领导: 小区 噪音123AB"
    assert normalize(None) == "" and normalize("") == ""


def test_domain_dictionary_words_stay_whole():
    toks = tokens("A市A3区的业委会和物业公司，违章停车、噪音扰民，12345热线；常平镇、松山湖、望牛墩")
    for word in ["A市", "A3区", "业委会", "物业公司", "违章停车", "噪音扰民", "12345热线", "松山湖", "望牛墩"]:
        assert word in toks


def test_stop_words_and_punctuation_removed():
    toks = tokens("我们的小区，为什么没有路灯？！")
    assert "的" not in toks and "我们" not in toks and "为什么" not in toks
    assert "，" not in toks and "?" not in toks
    assert "小区" in toks and "路灯" in toks
    assert "的" in tokens("我们的小区", keep_stopwords=True)


def test_fast_cut_matches_jieba():
    tk = get_tokenizer()
    samples = ["A市A3区ＡＢＣ小区物业乱收费,C++ 与 12.5% #tag a-b", "abc 你好world2024年3月5日",
               "南京市长江大桥", "", "   ", "x", "工单GD20240001234已办结"]
    for s in samples:
        s = normalize(s)
        assert cut(s) == [w for w in tk.cut(s, HMM=False) if not w.isspace()], s


def test_max_chars_truncates():
    toks = tokens("小区停车" * 100, max_chars=8)
    assert "".join(toks) == "小区停车小区停车"


def test_tokenizer_built_once_under_concurrency(monkeypatch):
    monkeypatch.setattr(segment, "_tokenizer", None)
    seen = []
    barrier = threading.Barrier(4)

    def work():
        barrier.wait()
        seen.append(id(get_tokenizer()))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 1
