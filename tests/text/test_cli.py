import json

from streams.text.cli import main


def _write(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return str(path)


def test_classify_with_lexicon_json_keeps_input_order(tmp_path, capsys):
    f = _write(tmp_path / "in.jsonl", [
        {"id": 1, "title": "小区物业乱收费", "content": "物业公司强收停车费"},
        {"id": 2, "title": "你好", "content": "随便说说"},
        {"id": 3, "title": "公司拖欠工资", "content": "三个月没发工资"},
    ])
    assert main(["classify", f, "--json"]) == 0
    out = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert [o["id"] for o in out] == [1, 2, 3]
    assert [o["label"] for o in out] == ["物业管理", "其他", "劳动保障"]
    assert all("confidence" in o for o in out)


def test_train_classify_evaluate(tmp_path, capsys):
    rows = []
    for i in range(10):
        rows.append({"title": "工地夜间施工噪音", "content": f"工地晚上施工噪音扰民{i}", "label": "环境保护"})
        rows.append({"title": "学校补课收费", "content": f"学校周末补课乱收费{i}", "label": "教育文体"})
    data = _write(tmp_path / "train.jsonl", rows)
    model = str(tmp_path / "m.bin")
    assert main(["train", "--data", data, "-o", model]) == 0
    assert main(["classify", data, "--model", model, "--json"]) == 0
    out = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert [o["label"] for o in out] == [r["label"] for r in rows]
    assert main(["evaluate", data, "--model", model]) == 0
    text = capsys.readouterr().out
    assert "macro-F1 1.0000" in text and "| true \\ pred |" in text


def test_hot(tmp_path, capsys):
    rows = [{"id": i, "title": "常平镇搅拌站噪音扰民", "content": "常平镇搅拌站日夜施工噪音粉尘严重",
             "created_at": f"2024-03-0{1 + i % 5} 10:00:00", "likes": i} for i in range(6)]
    rows.append({"id": 99, "title": "咨询公积金", "content": "公积金提取", "received_at": "2024-03-02 08:00:00"})
    f = _write(tmp_path / "hot.jsonl", rows)
    assert main(["hot", f, "--window", "7d", "--top", "3", "--json"]) == 0
    out = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert len(out) == 1 and out[0]["count"] == 6
    assert main(["hot", f]) == 0
    assert "搅拌站" in capsys.readouterr().out


def test_classify_reply_task_json_in_input_order(tmp_path, capsys):
    from streams.text.reply_type import REPLY_TYPES, classify_replies

    replies = ["您好，您的留言已收悉，已转交市住建局调查处理。",
               "经我局执法人员现场核查，该餐馆油烟直排属实，已下达责令整改通知书。",
               None,
               "根据《A市城乡居民最低生活保障办法》第八条规定，申请低保需提供户口簿、身份证等材料。",
               ""]
    f = _write(tmp_path / "replies.jsonl", [{"id": i, "reply": r} for i, r in enumerate(replies)])
    assert main(["classify", "--task", "reply", f, "--json"]) == 0
    out = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert len(out) == len(replies)
    assert all(set(o) == {"reply_type", "confidence"} for o in out)
    assert all(o["reply_type"] in REPLY_TYPES and 0.0 <= o["confidence"] <= 1.0 for o in out)
    # Input order: row i carries the type of reply i (the same as classifying it alone).
    assert [o["reply_type"] for o in out] == [classify_replies([r])[0][0] for r in replies]
    assert [o["reply_type"] for o in out][:3] == ["neither", "onsite", "neither"]


def test_classify_task_item_is_the_default(tmp_path, capsys):
    f = _write(tmp_path / "in.jsonl", [{"id": 7, "title": "公司拖欠工资", "content": "三个月没发工资"}])
    assert main(["classify", f, "--json"]) == main(["classify", "--task", "item", f, "--json"]) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert first == second and json.loads(first)["label"] == "劳动保障"


def test_classify_reply_bad_rows_are_clear_errors(tmp_path, capsys):
    f = tmp_path / "bad.jsonl"
    f.write_text('{"reply": "留言已收悉"}\n{"title": "no reply field"}\n', encoding="utf-8")
    assert main(["classify", "--task", "reply", str(f), "--json"]) == 2
    captured = capsys.readouterr()
    assert "line 2" in captured.err and "'reply'" in captured.err
    assert captured.out == ""  # nothing of the batch holding a bad row is written
    f.write_text('{"reply": "留言已收悉"}\nnot json\n', encoding="utf-8")
    assert main(["classify", "--task", "reply", str(f)]) == 2
    assert "line 2: not JSON" in capsys.readouterr().err
