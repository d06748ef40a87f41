"""Hot issues: group similar complaints incrementally and rank the groups by heat.

Pipeline per message (all incremental, event-time driven, no global re-clustering):

0. near-duplicates first: a MinHash signature of the message's character shingles
   (streams/text/neardup.py) is looked up among the recent posts; a post with estimated
   Jaccard >= ``dup_similarity`` makes this message another *post of the same complaint* and it
   joins that post's cluster directly (the same message posted twice with a word changed, or
   the same letter sent with the estate renamed, is one complaint);
1. anchors: the named places/organisations of the title (魅力之城, 涉外经济学院: whole words
   before a suffix such as 小区/学院/公司, learned and then also recognised without the suffix)
   paired with the message's problem features (title bigrams without names and generic words,
   plus its strongest content terms); a cluster sharing a name and at least ``anchor_terms``
   problem features with the message is joined, and two clusters that come to share a name and
   ``anchor_terms`` problem features are merged (one estate's night stalls, fumes and shop noise
   were two clusters at #4 and #11 of the 2019 year view); a name seen in messages of two
   cities (the anonymised codes A5区/K9县 → A, K) anchors nothing: places and organisations are
   local, common nouns learned as names (自来水 of 自来水公司, 房地产) are written everywhere;
2. key terms: jieba tokens (domain dictionary, stop words removed) of the title (counted
   twice) and the first ``content_chars`` characters; each term weighted tf × idf, idf from a
   sliding document-frequency table over the horizon (day buckets, so it forgets).  The top
   ``key_terms`` terms, plus the place tokens found (A市/A3区-style and Dongguan towns), form
   the message's signature set;
3. candidates: MinHash (``num_perm`` hashes) of the signature set, LSH with ``bands`` bands —
   clusters whose members share a band bucket;
4. verification: idf-weighted overlap of the message's terms with the candidate cluster's
   term profile (its most frequent key terms); join the best cluster at or above
   ``threshold``, otherwise start a new cluster.

Memory is bounded: clusters not seen for ``horizon`` are evicted (with their LSH, near-duplicate
and name entries, and day buckets); learned names are capped at ``max_names``; at most ``max_clusters`` are kept (least recently seen evicted first), and each
cluster keeps at most ``max_members`` recent members.

Heat of a cluster in a window = posts + 0.5·max(0, n − n_prev) + log1p(likes), where posts
are its messages in the window (each one a contact the hotline handled), n the distinct
complaints among them (near-duplicate posts are one complaint), n_prev the complaints in the
window before: growth counts complaints, so a reposting spree is not growth; likes are those of
its messages in the window.  `top()` reports both `count` (posts) and `complaints`.
Deterministic: no salted hashes (crc32, code-point hashes), ties broken by id.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter, OrderedDict, defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .neardup import signature
from .segment import get_tokenizer, normalize, tokens

__all__ = ["HotIssueTracker", "HotCluster", "parse_window", "parse_time"]

_PRIME = (1 << 61) - 1
_PLACE = re.compile(r"^(?:[A-N]\d{0,2}[市县区]|.{1,6}(?:镇|街道|村|社区|小区|花园|新城|公寓|广场|大道|路))$")
# Terms that are frequent in every complaint and never name an issue.
_GENERIC = frozenset("""问题 反映 希望 请求 要求 解决 相关 部门 领导 政府 情况 投诉 咨询 建议 严重 处理 现在 已经 一直 市民 居民 业主
群众 老百姓 谢谢 您好 尊敬 请问 关于 存在 影响 造成 导致 进行 没有 不能 能否 是否 一下 今年 去年 时间 年 月 日 号 市 区 县 镇""".split())


# A named place or organisation: whole words (2–6 Chinese characters) before one of these suffixes.
_NAME_SUFFIX = ("小区", "花园", "新城", "家园", "公寓", "广场", "学院", "学校", "大学", "中学", "小学", "幼儿园",
                "医院", "驾校", "公司", "集团", "商城", "市场", "工地", "楼盘", "项目", "大厦", "山庄", "公园", "酒店")
_NAME = re.compile(r"([\u4e00-\u9fff]{2,6}?)(" + "|".join(_NAME_SUFFIX) + ")")
# Words that fill the name slot without naming anything (我们小区, 附近工地, 安置小区 ...).
_NOT_NAME = frozenset("""投诉 举报 反映 咨询 关于 请求 建议 要求 希望 恳请 强烈 我们 我家 本 该 这个 那个 这些 附近 周边 所在 各个 很多 一些 其他 所有 整个 老旧 安置 农村 城市 新建
我们的 这里 那里 一个 每个 相关 民办 公办 私立 公立 物业 开发 在建 建筑 拆迁 配套 我的 家里 周围 部分 多个 同一 两个""".split())
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_ADMIN = re.compile(r"[A-Z]\d{0,2}[市县区省]|西地省|[\u4e00-\u9fff]{1,3}(?:街道|路|镇|村|社区)")
# Bigrams of words that say nothing about which problem (业主, 严重, 反映 ...): a shared 业主 would
# join an estate's parking, price and school complaints into one.
_GENERIC_BIGRAMS = frozenset("""业主 严重 反映 问题 投诉 请求 要求 希望 相关 部门 领导 政府 解决 处理 关于 能否 是否 什么 为什
么何 何时 怎么 情况 举报 咨询 建议 市民 居民 群众 我们 小区 不能 没有 一直 长期 强烈 恳请 请问 合理 合法 违规 违法 进行 导致
影响 存在 已经 多次 尽快 急需 好痛 痛苦 严防 一下 管一 一管 快烦 烦死""".split())
# Title words that say nothing about the problem; bigrams are taken between them, never across.
_TITLE_FILLER = re.compile("请求解决|请求|解决|问题|咨询|投诉|反映|关于|希望|建议|举报|质疑|请问|相关|一事|事宜|情况|要求|"
                           "强烈|恳请|呼吁|尽快|早日|的|了|和|与|及|等")
# The area (city) of a message: the letter of an anonymised code (A5区, K9县 -> A, K), else none.
_AREA = re.compile(r"(?<![A-Za-z0-9])([A-N])\d{0,2}[市县区]")
_CONTENT_TERMS = 6  # key terms of the message added to its title's problem bigrams
_COMMON_WORD = 2_000  # jieba dictionary count above which a word is common vocabulary, not a name
_DUP_BANDS, _DUP_ROWS = 8, 2  # 16 MinHash values per post; a pair with J = 0.5 meets in a band with p = 0.90


def parse_window(text: str) -> timedelta:
    """'7d', '24h', '30m', '2w' → timedelta."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text or "")
    if not m:
        raise ValueError(f"bad window {text!r}: use e.g. 7d, 24h, 30m, 2w")
    n, unit = float(m.group(1)), m.group(2)
    return timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[unit]: n})


def parse_time(value) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, (int, float)):  # epoch seconds → naive UTC
        return datetime.fromtimestamp(value, tz=timezone.utc).replace(tzinfo=None)
    s = str(value).strip().replace("T", " ").replace("Z", "")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d"):
        try:
            return datetime.strptime(s[:19], fmt)
        except ValueError:
            continue
    return datetime.fromisoformat(s).replace(tzinfo=None)


def _term_hash(term: str) -> int:
    return zlib.crc32(term.encode("utf-8"))


@dataclass
class HotCluster:
    cluster_id: int
    first_seen: datetime
    last_seen: datetime
    profile: Counter = field(default_factory=Counter)
    members: deque = field(default_factory=deque)  # (time, message_id, title, likes, terms, complaint, dup_sig)
    band_keys: set = field(default_factory=set)
    dup_keys: set = field(default_factory=set)
    anchors: dict = field(default_factory=dict)  # name -> Counter of problem terms
    size: int = 0


class HotIssueTracker:
    def __init__(self, horizon: timedelta = timedelta(days=30), threshold: float = 0.4,
                 key_terms: int = 10, content_chars: int = 300, num_perm: int = 32, bands: int = 16,
                 max_clusters: int = 50_000, max_members: int = 500, profile_terms: int = 20,
                 dup_similarity: float = 0.5, anchor_terms: int = 2, problem_terms: int = 30,
                 max_names: int = 20_000, max_name_clusters: int = 25, local_names: bool = True,
                 problem_boundaries: bool = True):
        if num_perm % bands:
            raise ValueError("num_perm must be a multiple of bands")
        self.horizon = horizon
        self.threshold = threshold
        self.key_terms = key_terms
        self.content_chars = content_chars
        self.bands, self.rows = bands, num_perm // bands
        self.max_clusters = max_clusters
        self.max_members = max_members
        self.profile_terms = profile_terms
        self.dup_similarity = dup_similarity
        self.anchor_terms = anchor_terms
        self.problem_terms = problem_terms
        self.max_names = max_names
        self.max_name_clusters = max_name_clusters
        self.local_names = local_names
        self.problem_boundaries = problem_boundaries
        # Deterministic MinHash permutations h(x) = (a·x + b) mod p.
        seed = 0x9E3779B97F4A7C15
        self._perm = []
        for i in range(num_perm):
            seed = (seed * 6364136223846793005 + 1442695040888963407) & ((1 << 64) - 1)
            a = (seed >> 3) % (_PRIME - 1) + 1
            seed = (seed * 6364136223846793005 + 1442695040888963407) & ((1 << 64) - 1)
            self._perm.append((a, (seed >> 3) % _PRIME))
        self._clusters: "OrderedDict[int, HotCluster]" = OrderedDict()  # by last_seen order
        self._lsh: dict[tuple[int, int], set[int]] = defaultdict(set)
        self._dup_lsh: dict[tuple[int, tuple], set[int]] = defaultdict(set)
        self._by_name: dict[str, set[int]] = defaultdict(set)
        self._names: "OrderedDict[str, datetime]" = OrderedDict()  # learned names, by last use
        self._name_areas: dict[str, set[str]] = {}  # learned name -> the areas (cities) of the messages naming it
        self._next_complaint = 1
        self._df_days: "OrderedDict[object, Counter]" = OrderedDict()
        self._df: Counter = Counter()
        self._n_docs = 0
        self._next_id = 1
        self._now: datetime | None = None

    # -- features ------------------------------------------------------------------------------
    def _idf(self, term: str) -> float:
        return math.log((1 + self._n_docs) / (1 + self._df[term])) + 1.0

    def _terms(self, title: str, content: str) -> dict[str, float]:
        title_toks = [t for t in tokens(title) if t not in _GENERIC and len(t) > 1]
        body = [t for t in tokens((content or "")[: self.content_chars + 64], max_chars=self.content_chars)
                if t not in _GENERIC and len(t) > 1]
        tf = Counter(title_toks * 2 + body)
        return {t: n for t, n in tf.items()}

    def _signature_terms(self, tf: dict[str, float]) -> dict[str, float]:
        scored = {t: (1 + math.log(n)) * self._idf(t) for t, n in tf.items()}
        top = dict(sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[: self.key_terms])
        for t in tf:
            if _PLACE.match(t) and t not in top:
                top[t] = scored[t]
        return top

    def _band_keys(self, terms) -> set[tuple[int, int]]:
        hashes = [_term_hash(t) for t in terms]
        if not hashes:
            return set()
        sig = [min((a * h + b) % _PRIME for h in hashes) for a, b in self._perm]
        return {(i, hash(tuple(sig[i * self.rows:(i + 1) * self.rows]))) for i in range(self.bands)}

    @staticmethod
    def _dup_signature(title: str, content: str) -> tuple[int, ...] | None:
        values = _DUP_BANDS * _DUP_ROWS
        return signature(content, values) or signature(title + content, values)

    @staticmethod
    def _dup_keys(sig) -> set:
        return {(b, sig[b * _DUP_ROWS:(b + 1) * _DUP_ROWS]) for b in range(_DUP_BANDS)} if sig else set()

    def _find_names(self, title: str, content: str, t: datetime, area: str | None = None) -> set[str]:
        """Named places/organisations of a message: name+suffix in the title (learned, with the
        bare name when it has 3+ characters), and learned names written in the title — or, when
        the title names nothing (投诉小区附近搅拌站噪音扰民), in the first 80 characters of the
        content.  Regex names from the title only: the content also names the neighbours, the
        offices written to and the flat bought (想买套公寓)."""
        found: set[str] = set()
        for m in _NAME.finditer(_ADMIN.sub("|", title)):
            words, suffix = tokens(m.group(1), keep_stopwords=True), m.group(2)
            for j in range(1, len(words) + 1):  # whole words only: 城市建设 yields no 市建设
                name = "".join(words[-j:])
                if len(name) > 6:
                    break
                if len(name) < 2 or name in _NOT_NAME or self._common_words(name):
                    continue
                found.add(name + suffix)
                self._learn(name + suffix, t)
                if len(name) >= 3:
                    self._learn(name, t)
        found |= self._learned_in(title)
        if not found:
            found = self._learned_in(content[:80])
        for name in sorted(found):
            self._learn(name, t)
            if area is not None:
                self._name_areas.setdefault(name, set()).add(area)
        # A name in many live clusters names nothing in particular (a big estate has ~10 issues a year);
        # nor does one written in two cities: a place or organisation is local, 自来水(公司), 房地产(公司),
        # 公交公司 or a chain developer (碧桂园) are written everywhere.
        return {n for n in found if len(self._by_name.get(n, ())) < self.max_name_clusters
                and not (self.local_names and len(self._name_areas.get(n, ())) > 1)}

    @staticmethod
    def _area(title: str, content: str) -> str | None:
        """The city a message is from: its first anonymised place code (title first), or None."""
        m = _AREA.search(title) or _AREA.search(content[:200])
        return m.group(1) if m else None

    @staticmethod
    def _common_words(core: str) -> bool:
        """True when a name slot holds only common words (城市建设, 投诉, 有限, 经济): each a word of
        2+ characters that jieba's dictionary counts >= 2,000 times.  Real names are rare words
        (魅力 997, 涉外经济 3) or unknown ones split into single characters (丽发 -> 丽 发).  A
        static test on purpose: within its burst a hot estate's name is frequent in the stream."""
        freq = get_tokenizer().FREQ
        words = tokens(core, keep_stopwords=True)
        return bool(words) and all(len(w) > 1 and (freq.get(w) or 0) >= _COMMON_WORD for w in words)

    def _learned_in(self, text: str) -> set[str]:
        bare = _ADMIN.sub("|", text)
        return {bare[i:i + n] for n in range(3, 9) for i in range(len(bare) - n + 1) if bare[i:i + n] in self._names}

    def _learn(self, name: str, t: datetime) -> None:
        self._names[name] = t
        self._names.move_to_end(name)
        while len(self._names) > self.max_names:
            old, _ = self._names.popitem(last=False)
            self._name_areas.pop(old, None)

    def _problem(self, title: str, names: set[str], sig: dict[str, float]) -> set[str]:
        """The message's problem: character bigrams of its title once names, places and generic
        words are removed (bigrams, not words: one estate's complaints say 油烟扰民, 油烟味,
        油烟直排 and share 油烟 only below the word level), plus its strongest key terms of the
        content (强制实习 and 组织外出打工 of one college share 学生 学校 there)."""
        rest = title
        for name in sorted(names, key=lambda n: (-len(n), n)):
            rest = rest.replace(name, "|")
        rest = _ADMIN.sub("|", rest)
        if self.problem_boundaries:  # no bigram across 请求解决/问题/的 (求解, 水问, 的饮 join unrelated titles)
            rest = _TITLE_FILLER.sub("|", rest)
        out = set()
        for run in _CJK_RUN.findall(rest):
            out.update(run[i:i + 2] for i in range(len(run) - 1))
        strongest = sorted(sig.items(), key=lambda kv: (-kv[1], kv[0]))
        out.update([t for t, _ in strongest if not _PLACE.match(t) and not any(t in n or n in t for n in names)]
                   [:_CONTENT_TERMS])
        return out - _GENERIC_BIGRAMS

    def _anchor_match(self, cid: int, names: set[str], problem) -> int:
        """Problem terms shared with cluster `cid` under one of the names (the best name)."""
        c = self._clusters.get(cid)
        if c is None:
            return 0
        best = 0
        for name in names:
            terms = c.anchors.get(name)
            if terms:
                top = {t for t, _ in terms.most_common(self.problem_terms)}
                best = max(best, len(top.intersection(problem)))
        return best

    # -- maintenance ---------------------------------------------------------------------------
    def _advance(self, t: datetime) -> None:
        if self._now is None or t > self._now:
            self._now = t
        cutoff = self._now - self.horizon
        while self._df_days and next(iter(self._df_days)) < cutoff.date():
            _, counts = self._df_days.popitem(last=False)
            self._df.subtract(counts)
            self._n_docs -= counts.get("\0docs", 0)
            for k in [k for k, v in counts.items() if self._df[k] <= 0]:
                self._df.pop(k, None)
        while self._clusters:
            cid, c = next(iter(self._clusters.items()))
            if c.last_seen >= cutoff and len(self._clusters) <= self.max_clusters:
                break
            self._drop(cid)

    def _drop(self, cid: int) -> None:
        c = self._clusters.pop(cid)
        self._unindex(cid, c)

    def _unindex(self, cid: int, c: HotCluster) -> None:
        for index, keys in ((self._lsh, c.band_keys), (self._dup_lsh, c.dup_keys), (self._by_name, c.anchors)):
            for key in keys:
                bucket = index.get(key)
                if bucket is not None:
                    bucket.discard(cid)
                    if not bucket:
                        del index[key]

    def _merge(self, into: int, other: int) -> None:
        """Fold cluster `other` into `into` (they share a named place and its problem)."""
        a, b = self._clusters[into], self._clusters.pop(other)
        self._unindex(other, b)
        a.first_seen, a.last_seen = min(a.first_seen, b.first_seen), max(a.last_seen, b.last_seen)
        a.size += b.size
        a.profile.update(b.profile)
        if len(a.profile) > 4 * self.profile_terms:
            a.profile = Counter(dict(a.profile.most_common(2 * self.profile_terms)))
        a.members = deque(sorted(list(a.members) + list(b.members), key=lambda m: (m[0], str(m[1]))))
        while len(a.members) > self.max_members:
            a.members.popleft()
        for name, terms in b.anchors.items():
            a.anchors.setdefault(name, Counter()).update(terms)
        for index, keys, own in ((self._lsh, b.band_keys, a.band_keys), (self._dup_lsh, b.dup_keys, a.dup_keys),
                                 (self._by_name, b.anchors, a.anchors)):
            for key in keys:
                index[key].add(into)
            if isinstance(own, set):
                own |= keys

    def _count_df(self, t: datetime, terms) -> None:
        day = t.date()
        bucket = self._df_days.get(day)
        if bucket is None:
            bucket = self._df_days[day] = Counter()
            # Out-of-order days are rare; keep buckets sorted so eviction stays front-only.
            if len(self._df_days) > 1 and list(self._df_days)[-2] > day:
                for k in sorted(self._df_days):
                    self._df_days.move_to_end(k)
        bucket.update(terms)
        bucket["\0docs"] += 1
        self._df.update(terms)
        self._n_docs += 1

    # -- API -----------------------------------------------------------------------------------
    def add(self, message_id, time, title: str | None, content: str | None = None, likes: int = 0) -> int:
        """Assign a message to a cluster (new or existing) and return the cluster id."""
        t = parse_time(time)
        self._advance(t)
        title, content = normalize(title), normalize(content)
        tf = self._terms(title, content)
        self._count_df(t, tf.keys())
        sig = self._signature_terms(tf)
        names = self._find_names(title, content, t, self._area(title, content))
        problem = self._problem(title, names, sig)
        dup_sig = self._dup_signature(title, content)
        dup_keys = self._dup_keys(dup_sig)
        best, complaint = self._near_duplicate(dup_sig, dup_keys)
        if best is None:
            best = self._anchored(names, problem)
        keys = self._band_keys(sig)
        if best is None:
            best = self._similar(sig, keys, names)
        if best is not None:
            c = self._clusters[best]
            c.last_seen = max(c.last_seen, t)
            c.first_seen = min(c.first_seen, t)
            self._clusters.move_to_end(best)
        else:
            best = self._next_id
            self._next_id += 1
            c = self._clusters[best] = HotCluster(best, t, t)
        if complaint is None:
            complaint = self._next_complaint
            self._next_complaint += 1
        c.size += 1
        c.profile.update(sig.keys())
        if len(c.profile) > 4 * self.profile_terms:  # bounded profile
            c.profile = Counter(dict(c.profile.most_common(2 * self.profile_terms)))
        c.members.append((t, message_id, title, int(likes or 0), tuple(sig), complaint, dup_sig))
        while len(c.members) > self.max_members:
            c.members.popleft()
        for index, new, own in ((self._lsh, keys, c.band_keys), (self._dup_lsh, dup_keys, c.dup_keys)):
            for key in new - own:
                index[key].add(best)
            own |= new
        if problem:
            for name in sorted(names):  # sorted: Counter ties keep insertion order, str hashes are salted
                c.anchors.setdefault(name, Counter()).update(sorted(problem))
                self._by_name[name].add(best)
                if len(c.anchors[name]) > 4 * self.problem_terms:  # bounded
                    c.anchors[name] = Counter(dict(c.anchors[name].most_common(2 * self.problem_terms)))
            best = self._merge_anchored(best, names)
        return best

    def _near_duplicate(self, dup_sig, dup_keys) -> tuple[int | None, int | None]:
        """(cluster, complaint) of the most similar recent post at or above dup_similarity."""
        if not dup_sig:
            return None, None
        candidates = set()
        for key in dup_keys:
            candidates |= self._dup_lsh.get(key, set())
        best, best_sim = (None, None), 0.0
        for cid in sorted(candidates):
            for m in self._clusters[cid].members:
                if m[6] is None:
                    continue
                sim = sum(x == y for x, y in zip(dup_sig, m[6])) / len(dup_sig)
                if sim >= self.dup_similarity and sim > best_sim:
                    best, best_sim = (cid, m[5]), sim
        return best

    def _anchored(self, names: set[str], problem) -> int | None:
        """The cluster sharing a named place and at least anchor_terms problem terms, if any."""
        candidates = set()
        for name in sorted(names):
            candidates |= self._by_name.get(name, set())
        best, best_shared = None, self.anchor_terms - 1
        for cid in sorted(candidates):
            shared = self._anchor_match(cid, names, problem)
            if shared > best_shared:
                best, best_shared = cid, shared
        return best

    def _similar(self, sig: dict[str, float], keys, names: set[str]) -> int | None:
        """The cluster whose term profile overlaps the message's key terms by >= threshold; not
        one anchored on other named places only (two estates' night stalls are two issues)."""
        candidates = set()
        for key in keys:
            candidates |= self._lsh.get(key, set())
        best, best_sim = None, 0.0
        total = sum(sig.values()) or 1.0
        for cid in sorted(candidates):
            c = self._clusters.get(cid)
            if c is None or (names and c.anchors and not names.intersection(c.anchors)):
                continue
            top = dict(c.profile.most_common(self.profile_terms))
            sim = sum(w for term, w in sig.items() if term in top) / total
            if sim > best_sim:
                best, best_sim = cid, sim
        return best if best is not None and best_sim >= self.threshold else None

    def _merge_anchored(self, cid: int, names: set[str]) -> int:
        """Merge the clusters that now share a name and anchor_terms problem terms with `cid`;
        the oldest cluster id survives (so a cluster id is stable once an issue is known)."""
        c = self._clusters[cid]
        group = {cid}
        for name in sorted(names):
            mine = {t for t, _ in c.anchors.get(name, Counter()).most_common(self.problem_terms)}
            for other in sorted(self._by_name.get(name, set()) - group):
                theirs = self._clusters[other].anchors.get(name, Counter())
                if len(mine.intersection(t for t, _ in theirs.most_common(self.problem_terms))) >= self.anchor_terms:
                    group.add(other)
        survivor = min(group)
        for other in sorted(group - {survivor}):
            self._merge(survivor, other)
        return survivor

    def __len__(self) -> int:
        return len(self._clusters)

    def top(self, window_end=None, window: timedelta | str = timedelta(days=7), n: int = 10,
            min_count: int = 2) -> list[dict]:
        """The n hottest clusters active in (window_end − window, window_end]."""
        if isinstance(window, str):
            window = parse_window(window)
        end = parse_time(window_end) if window_end is not None else self._now
        if end is None:
            return []
        start, prev_start = end - window, end - 2 * window
        out = []
        for cid, c in self._clusters.items():
            in_win = [m for m in c.members if start < m[0] <= end]
            if len(in_win) < min_count:
                continue
            complaints = len({m[5] for m in in_win})
            n_prev = len({m[5] for m in c.members if prev_start < m[0] <= start})
            likes = sum(m[3] for m in in_win)
            heat = len(in_win) + 0.5 * max(0, complaints - n_prev) + math.log1p(likes)
            top_terms = [t for t, _ in c.profile.most_common(8)]
            top_set = set(top_terms)
            rep = max(in_win, key=lambda m: (len(top_set.intersection(m[4])), m[3], -m[0].timestamp()))
            out.append({
                "cluster_id": cid, "title": rep[2], "key_terms": top_terms, "count": len(in_win),
                "complaints": complaints,
                "count_previous_window": n_prev, "likes": likes, "total_count": c.size,
                "first_seen": c.first_seen.isoformat(sep=" "), "last_seen": c.last_seen.isoformat(sep=" "),
                "heat": round(heat, 3), "message_ids": [m[1] for m in in_win][:50],
            })
        out.sort(key=lambda d: (-d["heat"], -d["count"], d["cluster_id"]))
        return out[:n]
