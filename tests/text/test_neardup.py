import random
import subprocess
import sys
from pathlib import Path

import pytest

import streams
from hypothesis import given, settings, strategies as st

from streams.text import neardup
from streams.text.neardup import ROWS, jaccard, normalise, repeat_key, repeat_keys

BASE = ("某某小区东门外的夜宵摊每天晚上摆到凌晨两点，油烟和噪音严重影响楼上住户休息，多次向城管反映，"
        "来了一次之后又照样经营，请相关部门彻底整治，还居民一个安静的夜晚。")
WORDS = "城管 物业 街道 社区 噪音 油烟 垃圾 停车 施工 路灯 学校 医院 公交 小区 业主 房东".split()


def _rewrite(text: str, rnd: random.Random, edits: int) -> str:
    chars = list(text)
    for _ in range(edits):
        i = rnd.randrange(len(chars))
        chars[i:i + 2] = rnd.choice(WORDS)
    return "".join(chars)


def test_normalise_drops_spaces_digits_punctuation_placeholders_and_folds_full_width():
    assert normalise("\n\t\t电话[手机号]，１２３ ＡＢ c_d！") == "电话ABcd"
    assert normalise(None) == "" and normalise("") == ""


def test_same_complaint_reformatted_or_masked_shares_the_key():
    assert repeat_key(BASE) == repeat_key("  " + BASE.replace("，", ", ") + "！！ 电话[手机号]")


_PIECES = st.sampled_from(["某某小区", "夜宵摊", "噪音", "，", "１２３", "ＡＢ", "c_d", "[手机号]", "[", "]", " ", "\u3000",
                           "\U0001d400", "ｚ", "e\u0301", "走访", BASE[:12]])
_TEXTS = st.one_of(st.none(), st.lists(st.one_of(_PIECES, st.characters(blacklist_categories=("Cs",))),
                                       max_size=40).map("".join))


@settings(max_examples=300, deadline=None)
@given(st.lists(_TEXTS, max_size=12), st.sampled_from([1, 10, 64_000]))
def test_keys_of_a_batch_are_the_keys_of_each_text(texts, chunk_chars):
    # Chunks of 1 character put every text in a chunk of its own; 10 splits batches mid-way.
    old, neardup.KEY_CHUNK_CHARS = neardup.KEY_CHUNK_CHARS, chunk_chars
    try:
        assert repeat_keys(texts) == [repeat_key(t) for t in texts]
        assert repeat_keys(texts, 2) == [repeat_key(t, 2) for t in texts]
    finally:
        neardup.KEY_CHUNK_CHARS = old


def test_keys_of_real_complaints_in_one_batch_are_their_own(shared_dir):
    import json
    with open(shared_dir / "messages_with_replies.jsonl", encoding="utf-8") as fh:
        texts = [json.loads(line)["content"] for line in fh]
    keys = repeat_keys(texts)
    assert keys == [repeat_key(t) for t in texts]
    assert sum(k is not None for k in keys) > 0.9 * len(texts)


def test_short_texts_have_no_key():
    assert repeat_key("请尽快处理！") is None
    assert repeat_key(None) is None


def test_one_word_changed_usually_shares_the_key_and_other_complaints_do_not():
    rnd = random.Random(7)
    near = [_rewrite(BASE, rnd, 1) for _ in range(200)]
    assert all(jaccard(BASE, t) > 0.8 for t in near)
    shared = sum(repeat_key(t) == repeat_key(BASE) for t in near) / len(near)
    assert shared >= 0.75  # J > 0.8 and 3 rows: >= 0.8**3 = 0.51 in theory, ~0.9 for one word
    others = [_rewrite(BASE[::-1], rnd, 0)] + ["".join(rnd.sample(BASE, len(BASE))) for _ in range(200)]
    assert sum(repeat_key(t) == repeat_key(BASE) for t in others) <= 2


def test_key_share_tracks_jaccard_to_the_power_of_rows():
    rnd = random.Random(11)
    heavy = [_rewrite(BASE, rnd, 12) for _ in range(300)]
    expected = sum(jaccard(BASE, t) ** ROWS for t in heavy) / len(heavy)
    observed = sum(repeat_key(t) == repeat_key(BASE) for t in heavy) / len(heavy)
    assert abs(observed - expected) < 0.12, (observed, expected)


def test_key_is_the_same_in_every_process():
    code = f"from streams.text.neardup import repeat_key; print(repeat_key({BASE!r}))"
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": seed, "PYTHONPATH": str(Path(streams.__file__).parents[1])}).stdout.strip()
            for seed in ("1", "2")}
    assert outs == {repeat_key(BASE)}


@pytest.mark.shared
def test_precision_on_labelled_tipdm_pairs(tipdm):
    """The blind-half figures of docs/text.md (precision 0.976, recall 0.550) minus a margin."""
    import io
    from contextlib import redirect_stdout

    from streams.text import evaluate_neardup

    out = io.StringIO()
    with redirect_stdout(out):
        evaluate_neardup.main()
    blind = out.getvalue().split("blind half")[1].split("all labels")[0]
    row = next(line for line in blind.splitlines() if line.startswith(f"minhash rows={ROWS}"))
    precision, recall = map(float, row.split()[2:4])
    exact = next(line for line in blind.splitlines() if line.startswith("exact"))
    assert precision >= 0.93 and recall >= 0.45
    assert recall > float(exact.split()[3]) + 0.15
