"""The fast paths of the text steps give exactly what the straightforward code gives.

Each optimised function is compared with the plain version it replaced (kept here as the
reference) on the shared real texts (skipped without ../shared) and on generated text that
stresses the corners: full-width forms, combining accents, Hangul jamo, characters beyond the
Basic Multilingual Plane, every kind of whitespace, the tipdm artefacts.
"""
from __future__ import annotations

import json
import re
import unicodedata

import pytest
from hypothesis import given, settings, strategies as st

from streams.text import masking, segment
from streams.text.segment import cut, find_words, get_tokenizer, normalize, normalize_all

_ARTEFACT = re.compile(r"_x000[dD]_")
_SPACES = re.compile(r"\s+")


def reference_normalize(text: str | None) -> str:
    """normalize() before the fast paths: NFKC of the whole text, regex whitespace collapse."""
    if not text:
        return ""
    if "_x000" in text:
        text = _ARTEFACT.sub(" ", text)
    text = unicodedata.normalize("NFKC", text)
    return _SPACES.sub(" ", text).strip()


def reference_cut(text: str) -> list[str]:
    return [w for w in get_tokenizer().cut(text, HMM=False) if not w.isspace()]


ONSITE = frozenset({"走访", "约谈", "踏勘", "查勘", "蹲守", "出警"})

# Characters that make NFKC and segmentation interesting, mixed with ordinary Chinese text.
_TRICKY = ("，。！？：；（）“”、…—　\u00a0\t\n\r\x0b\x0c\x1c\u2028\u2009ＡＺａｚ０９＠％＋－．／"
           "e\u0301A\u030a\u1100\u1161\u11a8가ﬁ㎡①Ⅻ\u2f00\uf900ｶﾞ\U0001d400\U0001f600_x000D_x000d"
           "走访约谈踏勘查勘蹲守出警小区物业噪音停车12345热线A市A3区abcXYZ2024+#&._%-")
texts = st.lists(st.one_of(st.sampled_from(list(_TRICKY) + ["_x000D_", "走访", "实地走访"]),
                           st.characters(blacklist_categories=("Cs",))), max_size=80).map("".join)


@settings(max_examples=600, deadline=None)
@given(texts)
def test_normalize_equals_reference_on_generated_text(text):
    assert normalize(text) == reference_normalize(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), texts, st.text(max_size=20),
                          st.sampled_from(["…", "㎡", "\x00", "a\x00b", "\ud800", "e\u0301", "\U0001d400，"])), max_size=12))
def test_normalize_all_equals_normalize_of_each(batch):
    """The batch path: texts with U+0000, several-point foldings (…), lone surrogates, points beyond
    the BMP and compositions across characters among ordinary ones."""
    assert normalize_all(batch) == [normalize(t) for t in batch]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_nfkc_equals_unicodedata(text):
    assert segment._nfkc(text) == unicodedata.normalize("NFKC", text)


def test_nfkc_composition_across_characters():
    # Full-width A + combining ring composes to Å; jamo compose to a syllable; beyond the BMP.
    for text in ("Ａ\u030a", "ｅ\u0301，", "\u1100\u1161\u11a8，", "\U0001d400１", "ﬁ\u0301"):
        assert segment._nfkc(text) == unicodedata.normalize("NFKC", text)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_find_words_equals_filtered_cut(text):
    text = normalize(text)
    assert find_words(text, ONSITE) == [w for w in cut(text) if w in ONSITE]
    assert find_words(text, frozenset({"小", "A"})) == [w for w in cut(text) if w in {"小", "A"}]


def test_find_words_edge_cases():
    assert find_words("", ONSITE) == []
    assert find_words("派人实地走访了解，并约谈物业公司负责人。走访", ONSITE) == \
        [w for w in cut("派人实地走访了解，并约谈物业公司负责人。走访") if w in ONSITE]


@pytest.fixture
def real_texts(shared_dir):
    out = []
    for name in ("messages_with_replies.jsonl", "dev_labeled.jsonl"):
        with open(shared_dir / name, encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                out += [row.get(k) or "" for k in ("title", "content", "reply")]
    return out


def test_normalize_equals_reference_on_real_texts(real_texts):
    assert len(real_texts) > 5000
    for text in real_texts:
        assert normalize(text) == reference_normalize(text)
    assert normalize_all(real_texts) == [reference_normalize(t) for t in real_texts]


def test_cut_and_find_words_on_real_replies(real_texts):
    for text in real_texts[2::3][:1500]:  # replies (dev_labeled has none: empty strings)
        t = normalize(text)
        toks = cut(t)
        assert toks == reference_cut(t)
        assert find_words(t, ONSITE) == [w for w in toks if w in ONSITE]


# ---- masking ---------------------------------------------------------------------------------

def reference_matches(text: str) -> list[tuple[str, int, int]]:
    """masking._iter_matches before the fast paths: dict fold, finditer over the whole text."""
    if not text or ("@" not in text and "＠" not in text and not masking._PRECHECK.search(text)):
        return []
    folded = text.translate(masking._FOLD)
    if "%" in folded:
        folded = masking._URL_ESCAPE.sub(lambda m: masking._URL_FOLD[m.group()[2]], folded)
    return [(masking._KIND_OF_GROUP[m.lastgroup], m.start(), m.end()) for m in masking._PATTERN.finditer(folded)
            if m.lastgroup is not None and masking._accept(m.lastgroup, m, folded)]


_NUMBERISH = list("0123456789０１２３４５６７８９ -.－—–/／()（）+＋@＠%xXＸ¥￥$元米号") + [
    "%20", "%2B", "%2d", "86", "+86", "0086", "(0769)", "13812345678", "138 1234 5678", "6222021234567890123",
    "44190019900101123X", "0769-22123456", "电话", "手机", "卡号", "身份证", "GD", "TEL", "phone", "a.b_c",
    "@qq.com", "user", "，", "。", "小区", "2024年", "20240305", "12345", "400-800-1234"]
numberish = st.lists(st.one_of(st.sampled_from(_NUMBERISH), st.characters(blacklist_categories=("Cs",))),
                     max_size=40).map("".join)


@settings(max_examples=1500, deadline=None)
@given(numberish)
def test_masking_matches_equal_reference_on_generated_text(text):
    assert list(masking._iter_matches(text)) == reference_matches(text)


def test_masking_matches_equal_reference_on_real_texts(real_texts):
    for text in real_texts:
        assert list(masking._iter_matches(text)) == reference_matches(text)


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(st.text(alphabet="现场核实根据规定第三条已收悉处理。，ab1", max_size=40), min_size=1, max_size=30),
       chunk=st.integers(1, 120))
def test_char_scores_in_chunks_equal_one_text_at_a_time(texts, chunk):
    """Featurising a long batch in chunks (bounded memory) gives each text the scores it gets alone."""
    import numpy as np

    from streams.text.items import fit_char_featurizer

    char = fit_char_featurizer(["现场核实根据规定", "第三条已收悉处理", "现场处理。已收悉", "ab1现场"] * 2, max_n=3)
    weights = np.random.default_rng(0).normal(size=(char.n_features, 2))
    alone = np.vstack([char.scores([t], weights) for t in texts])
    char.SCORE_CHUNK_CHARS = chunk
    assert np.allclose(char.scores(texts, weights), alone)


def _ungated():
    from streams.text import reply_rules as rr

    plain = lambda pats: re.compile("|".join(f"(?:{p})" for p in pats))  # noqa: E731
    return {"_ON_S": plain(rr._ONSITE_STRONG), "_ON_W": plain(rr._ONSITE_WEAK), "_EX_S": plain(rr._EXPLAIN_STRONG),
            "_EX_W": plain(rr._EXPLAIN_WEAK), "_BOILER": re.compile(rr._BOILER.pattern.split(")(?:", 1)[1][:-1])}


def _cue_fragments() -> list[str]:
    """The words the patterns are made of, single characters of them, and what sits around them."""
    from streams.text import reply_rules as rr

    pats = rr._ONSITE_STRONG + rr._ONSITE_WEAK + rr._EXPLAIN_STRONG + rr._EXPLAIN_WEAK + [rr._BOILER.pattern]
    words = {w for p in pats for w in re.findall(r"[\u3400-\u9fff]+", p)}
    chars = {ch for w in words for ch in w}
    return sorted(words | chars) + list("0123456789 ,.;()[]《》〔〕【】（）٣") + ["2019", "〔2019〕", "《条例》"]  # ٣: \d, not ASCII


@settings(max_examples=400, deadline=None)
@given(text=st.lists(st.sampled_from(_cue_fragments()), max_size=14).map("".join))
def test_gated_cue_patterns_match_exactly_what_the_plain_ones_match(text):
    """The reply rules' patterns carry a lookahead for the characters a match can begin with (speed);
    on any text they find the same matches at the same places as the plain alternations."""
    from streams.text import reply_rules as rr

    for name, plain in _ungated().items():
        gated = getattr(rr, name)
        assert gated.pattern != plain.pattern  # the gate is there
        assert [(m.start(), m.group(0)) for m in gated.finditer(text)] == \
               [(m.start(), m.group(0)) for m in plain.finditer(text)], name


def test_gated_cue_patterns_on_real_texts(real_texts):
    from streams.text import reply_rules as rr

    for name, plain in _ungated().items():
        gated = getattr(rr, name)
        found = 0
        for t in real_texts:
            got = [(m.start(), m.group(0)) for m in gated.finditer(t)]
            assert got == [(m.start(), m.group(0)) for m in plain.finditer(t)], (name, t[:80])
            found += len(got)
        assert found > 50, name


def _keywords() -> list[str]:
    from streams.text.items import LexiconClassifier

    return [w for w, _, _ in LexiconClassifier().keywords]


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.one_of(st.sampled_from(_keywords()), st.sampled_from(sorted({c for w in _keywords() for c in w})),
                               st.sampled_from(list("，。 的了是在"))), max_size=20).map("".join))
def test_lexicon_pattern_grouped_by_first_character_finds_what_the_plain_alternation_finds(text):
    from streams.text.items import LexiconClassifier

    words = _keywords()
    plain = re.compile("|".join(re.escape(w) for w in words))
    grouped = LexiconClassifier()._rx
    assert grouped.pattern != plain.pattern
    assert [(m.start(), m.group(0)) for m in grouped.finditer(text)] == \
           [(m.start(), m.group(0)) for m in plain.finditer(text)]


@settings(max_examples=60, deadline=None)
@given(vocab=st.sets(st.integers(1, 2**63 - 1), max_size=300), probes=st.lists(st.integers(1, 2**63 - 1), max_size=200),
       pick=st.lists(st.integers(0, 10_000), max_size=200))
def test_code_table_lookup_equals_a_dict(vocab, probes, pick):
    """The vectorised open-addressing table finds what a dict finds, collisions and misses included."""
    import numpy as np

    from streams.text.items import _CodeTable

    codes = sorted(vocab)
    table = _CodeTable(codes, list(range(len(codes))))
    asked = probes + ([codes[i % len(codes)] for i in pick] if codes else [])
    ref = {c: i for i, c in enumerate(codes)}
    got = table.lookup(np.array(asked, dtype=np.uint64)) if asked else np.zeros(0, dtype=np.int64)
    assert got.tolist() == [ref.get(c, -1) for c in asked]


def test_char_scores_equal_the_sparse_tfidf_times_weights(real_texts):
    """The sort-and-count scoring path gives transform(texts) @ weights on real texts."""
    import numpy as np

    from streams.text.items import fit_char_featurizer

    texts = real_texts[:300]
    char = fit_char_featurizer(texts[:150], max_n=3, max_features=5_000)
    weights = np.random.default_rng(1).normal(size=(char.n_features, 3))
    assert np.allclose(char.scores(texts, weights), char.transform(texts) @ weights)


def _letters_reference(text: str) -> list[int]:
    """neardup's letters, by definition: full-width forms folded, then letters and non-BMP kept."""
    out = []
    for ch in text:
        c = ord(ch) - 0xFEE0 if 0xFF01 <= ord(ch) <= 0xFF5E else ord(ch)
        if c >= 0x10000 or chr(c).isalpha():
            out.append(c)
    return out


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
       | st.text(alphabet="ＡＢｚ１！　a𠀀b中文[手机号]", max_size=30))
def test_neardup_letters_equal_their_definition(text):
    from streams.text.neardup import _PLACEHOLDER, _letters

    assert _letters(text).tolist() == _letters_reference(_PLACEHOLDER.sub("", text))


def test_neardup_letters_of_every_bmp_character():
    from streams.text.neardup import _letters

    text = "".join(chr(i) for i in range(0x10000) if not 0xD800 <= i < 0xE000 and chr(i) not in "[]")
    assert _letters(text).tolist() == _letters_reference(text)


def _rights_reference(text):
    from streams.text.rights import _cues
    from streams.text.segment import normalize

    t = normalize(text)[:3000]
    if not t:
        return None
    best, best_score = None, 0.0
    for claim, words in _cues().items():
        score = sum(t.count(w) * (1.0 + 0.25 * max(0, len(w) - 2)) for w in words)
        if score > best_score:
            best, best_score = claim, score
    return best


def _cue_words() -> list[str]:
    from streams.text.rights import _cues

    return sorted({w for words in _cues().values() for w in words})


def _cue_alphabet() -> str:
    from streams.text.rights import _cues

    return "".join(sorted({c for words in _cues().values() for w in words for c in w})) + "，的了 a1"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_cue_words()), st.text(alphabet=_cue_alphabet(), max_size=6)),
                max_size=12).map("".join))
def test_rights_cues_equal_counting_every_word(text):
    from streams.text.rights import rights_from_text

    assert rights_from_text(text) == _rights_reference(text)


def test_rights_cues_equal_counting_every_word_on_real_texts(real_texts):
    from streams.text.rights import rights_from_text

    for text in real_texts[:3000]:
        assert rights_from_text(text) == _rights_reference(text)
